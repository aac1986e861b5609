#!/usr/bin/env bash
# bench-docker-overhead.sh compares the docker backend's cost per stage with
# the docker CLI's: BenchmarkRunTrivial (one executor/docker Run of `true`
# per op) against a shell loop of `docker run --rm IMAGE true`.
#
# The two alternate in short rounds, N runs of each per round, so that a
# machine whose load changes during the benchmark (CI runners, shared
# laptops) skews both sides alike. It prints the ratio of the totals and the
# median of the rounds' ratios; the median shrugs off a round that a burst
# of load hit on one side only.
#
# Usage: scripts/bench-docker-overhead.sh [runs-per-round] [rounds]
#        (defaults: 2 runs per round, 10 rounds: 20 stages each way)
# Environment: GOFLAGS is passed through to `go test`.
set -euo pipefail

readonly N="${1:-2}"
readonly ROUNDS="${2:-10}"
readonly IMAGE="lattice-test/busybox:1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT

log() { printf '[bench] %s\n' "$*" >&2; }

"$ROOT/scripts/test-images.sh" busybox

work="$(mktemp -d "${TMPDIR:-/tmp}/lattice-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "building the benchmark binary"
(cd "$ROOT" && go test -c -o "$work/docker.test" ./executor/docker)

now_ns() { date +%s%N; }

cli_total=0
backend_total=0
ratios=()
for round in $(seq "$ROUNDS"); do
	start=$(now_ns)
	for _ in $(seq "$N"); do
		docker run --rm "$IMAGE" true
	done
	cli=$(($(now_ns) - start))

	# The benchmark times only its loop, leaving out process start, the
	# engine ping and a warm-up Run that negotiates the API version; the
	# CLI pays the equivalent of those on every run, which is the point.
	out="$("$work/docker.test" -test.run '^$' -test.bench '^BenchmarkRunTrivial$' \
		-test.benchtime "${N}x" -test.count 1)"
	ns_per_op="$(awk '/^BenchmarkRunTrivial/ { print $3; exit }' <<<"$out")"
	if [[ -z "$ns_per_op" ]]; then
		log "benchmark printed no result:"
		printf '%s\n' "$out" >&2
		exit 1
	fi
	backend=$((ns_per_op * N))

	ratios+=("$(awk -v b="$backend" -v c="$cli" 'BEGIN { printf "%.4f", b / c }')")
	cli_total=$((cli_total + cli))
	backend_total=$((backend_total + backend))
	awk -v r="$round" -v n="$N" -v c="$cli" -v b="$backend" 'BEGIN {
		printf "[bench] round %d: docker run --rm %7.1f ms/run   backend Run %7.1f ms/run   ratio %.2f\n",
			r, c / n / 1e6, b / n / 1e6, b / c
	}' >&2
done

median="$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ r[NR] = $1 } END {
	printf "%.2f", NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
}')"
awk -v n="$((N * ROUNDS))" -v c="$cli_total" -v b="$backend_total" -v m="$median" 'BEGIN {
	printf "docker run --rm loop:        %d runs, %.1f ms/run\n", n, c / n / 1e6
	printf "backend Run:                 %d runs, %.1f ms/run\n", n, b / n / 1e6
	printf "ratio backend/cli (totals):  %.2f\n", b / c
	printf "ratio backend/cli (median):  %s\n", m
}'
