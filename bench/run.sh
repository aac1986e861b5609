#!/usr/bin/env bash
# run.sh runs Lattice's benchmark suite and writes the figures, with the
# machine they were measured on, to bench/RESULTS.md. See bench/README.md.
#
# Usage: bench/run.sh [--quick] [--runs N] [--head] [--out FILE] [--keep] [SECTION...]
#
#   SECTION   validate, plan, hash, apply, tools (default: all, in that order)
#   --quick   smaller sizes and 2 runs: a smoke check of the suite itself
#   --runs N  timed runs per measurement (default 5; 2 with --quick)
#   --head    measure HEAD, built in a clean worktree, not the working tree
#   --out F   write the results to F. The default is bench/RESULTS.md for a
#             full run of every section, and a file in $TMPDIR otherwise, so
#             that a smoke check never replaces the recorded figures.
#   --keep    keep the scratch directory (projects, logs, raw timings)
#
# Environment: TMPDIR picks where the scratch directory goes (it needs about
# 3 GiB); SNAKE_BUILD_MAX (default 1000) is the largest pipeline that
# Snakemake builds itself in the tools section.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly ALL_SECTIONS=(validate plan hash apply tools)
readonly BUSYBOX="lattice-test/busybox:1"
COMMAND_LINE="bench/run.sh${*:+ $*}"
readonly COMMAND_LINE

QUICK=0
RUNS=""
USE_HEAD=0
OUT=""
KEEP=0
SECTIONS=()
while (($#)); do
	case "$1" in
	--quick) QUICK=1 ;;
	--runs) RUNS="${2:?--runs needs a number}"; shift ;;
	--runs=*) RUNS="${1#--runs=}" ;;
	--head) USE_HEAD=1 ;;
	--out) OUT="${2:?--out needs a file}"; shift ;;
	--out=*) OUT="${1#--out=}" ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*)
		if [[ " ${ALL_SECTIONS[*]} " != *" $1 "* ]]; then
			echo "run.sh: unknown section $1; sections: ${ALL_SECTIONS[*]}" >&2
			exit 2
		fi
		SECTIONS+=("$1")
		;;
	esac
	shift
done
FULL=0
if ((${#SECTIONS[@]} == 0)); then
	SECTIONS=("${ALL_SECTIONS[@]}")
	((QUICK)) || FULL=1
fi
if [[ -z "$OUT" ]]; then
	if ((FULL)); then
		OUT="$ROOT/bench/RESULTS.md"
	else
		OUT="${TMPDIR:-/tmp}/lattice-bench-results.md"
	fi
fi
[[ -n "$RUNS" ]] || { ((QUICK)) && RUNS=2 || RUNS=5; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs wants a positive number" >&2; exit 2; }

# Sizes. --quick shrinks everything so that the whole suite runs in a few
# minutes; its figures do not answer the targets, which are about the full
# sizes, and the results say so.
if ((QUICK)); then
	VALIDATE_SIZES=(100 1000)
	PLAN_SIZES=(100 1000)
	TOOLS_SIZES=(100 1000)
	HASH_FILE_SIZE=$((64 << 20))
	HASH_TREE_FILES=10000
	GO_BENCHTIME=1x
	GO_BENCHCOUNT=1
	SLEEP_STAGES=4
	TRIVIAL_STAGES=5
	SNAKE_BUILD_MAX="${SNAKE_BUILD_MAX:-100}"
else
	VALIDATE_SIZES=(1000 10000)
	PLAN_SIZES=(1000 10000)
	TOOLS_SIZES=(100 1000 10000)
	HASH_FILE_SIZE=$((1 << 30))
	HASH_TREE_FILES=100000
	GO_BENCHTIME=3x
	GO_BENCHCOUNT="$RUNS"
	SLEEP_STAGES=10
	TRIVIAL_STAGES=20
	SNAKE_BUILD_MAX="${SNAKE_BUILD_MAX:-1000}"
fi
# A run of any timed command that takes longer than this is killed and
# reported as "> N s" (Snakemake's dry run on large pipelines).
readonly RUN_TIMEOUT=300

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------------------
# Setup: tools, scratch directory, binaries.

as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root (or sudo) to install $*"
	fi
}

APT_UPDATED=0
# need CMD PACKAGE installs PACKAGE with apt-get when CMD is missing.
need() {
	command -v "$1" >/dev/null && return 0
	command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get to install $2"
	if ((!APT_UPDATED)); then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
	log "installing $2 (for $1)"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
	command -v "$1" >/dev/null || die "installed $2 but $1 is still missing"
}

has_section() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }

command -v go >/dev/null || die "go is not on PATH"
command -v git >/dev/null || die "git is not on PATH"
need jq jq
if has_section tools; then
	need make make
	need snakemake snakemake
fi
if has_section apply; then
	command -v docker >/dev/null || die "the apply section needs docker"
	docker info >/dev/null 2>&1 || die "the apply section needs a running Docker engine (docker info failed)"
	if ! docker image inspect "$BUSYBOX" >/dev/null 2>&1; then
		log "building $BUSYBOX"
		"$ROOT/scripts/test-images.sh" busybox
	fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-bench.XXXXXX")"
readonly WORK
WORKTREE=""
cleanup() {
	if [[ -n "$WORKTREE" ]]; then
		git -C "$ROOT" worktree remove --force "$WORKTREE" >/dev/null 2>&1 || true
	fi
	if ((KEEP)); then
		log "kept the scratch directory $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
mkdir -p "$WORK/bin" "$WORK/logs" "$WORK/tsv" "$WORK/md" "$WORK/tmp"
# No run may touch the user's output cache.
export LATTICE_CACHE="$WORK/cache"
export NO_COLOR=1

# The bench tools use the standard library only, so they build from this
# checkout even while other packages are mid-edit.
log "building bench/timeit, bench/gen and bench/mkdata"
(cd "$ROOT" && go build -o "$WORK/bin/timeit" ./bench/timeit &&
	go build -o "$WORK/bin/gen" ./bench/gen &&
	go build -o "$WORK/bin/mkdata" ./bench/mkdata)
readonly TIMEIT="$WORK/bin/timeit" GEN="$WORK/bin/gen" MKDATA="$WORK/bin/mkdata"

COMMIT="$(git -C "$ROOT" rev-parse HEAD)"
COMMIT_SUBJECT="$(git -C "$ROOT" log -1 --format=%s | tr -d '|`')"
DIRTY="$(git -C "$ROOT" status --porcelain --untracked-files=normal -- . ':!bench' | wc -l)"
# use_head builds from a clean worktree of HEAD.
use_head() {
	WORKTREE="$WORK/src"
	git -C "$ROOT" worktree add --detach "$WORKTREE" HEAD >/dev/null 2>&1 || die "git worktree add failed"
	SRC="$WORKTREE"
	SOURCE="HEAD \`${COMMIT:0:12}\` (${COMMIT_SUBJECT}), built from a clean worktree"
}
SRC="$ROOT"
if ((USE_HEAD)); then
	use_head
elif ((DIRTY > 0)); then
	SOURCE="the working tree: HEAD \`${COMMIT:0:12}\` (${COMMIT_SUBJECT}) plus uncommitted changes to ${DIRTY} paths outside bench/"
else
	SOURCE="HEAD \`${COMMIT:0:12}\` (${COMMIT_SUBJECT}), clean working tree"
fi
log "building lattice from $SRC"
if ! (cd "$SRC" && go build -o "$WORK/bin/lattice" ./cmd/lattice) 2>"$WORK/logs/build.log"; then
	if ((USE_HEAD)); then
		cat "$WORK/logs/build.log" >&2
		die "HEAD does not build"
	fi
	log "the working tree does not build (log below); measuring HEAD from a clean worktree instead"
	sed 's/^/    /' "$WORK/logs/build.log" >&2
	use_head
	SOURCE="$SOURCE, because the working tree did not build"
	(cd "$SRC" && go build -o "$WORK/bin/lattice" ./cmd/lattice) || die "HEAD does not build either"
fi
readonly LATTICE="$WORK/bin/lattice"

# ---------------------------------------------------------------------------
# Helpers for timing and for formatting results.

# timeit OUT.tsv ARGS... runs bench/timeit with the suite's run count and
# timeout, writing its table to OUT.tsv.
timeit() {
	local out="$1"
	shift
	"$TIMEIT" -n "$RUNS" -timeout "${RUN_TIMEOUT}s" "$@" >"$out"
}

# col TSV NAME FIELD prints one field of the row NAME of a timeit table.
col() {
	awk -F'\t' -v name="$2" -v field="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == field) c = i; next }
		$1 == name { print $c; found = 1 }
		END { if (!found || !c) exit 1 }' "$1"
}

# secs S formats a duration in seconds.
secs() {
	awk -v s="$1" 'BEGIN {
		if (s < 0.001) printf "%.1f µs", s * 1e6
		else if (s < 0.1) printf "%.1f ms", s * 1000
		else if (s < 10) printf "%.3f s", s
		else printf "%.1f s", s }'
}

# cell TSV NAME FIELD formats a timing for a table: the value, or why there
# is none.
cell() {
	local status
	status="$(col "$1" "$2" status)"
	case "$status" in
	ok) secs "$(col "$1" "$2" "$3")" ;;
	timeout) printf '> %d s (timed out)' "$RUN_TIMEOUT" ;;
	*) printf '%s' "$status" ;;
	esac
}

# mib TSV NAME formats the peak RSS of a row.
mib() { awk -v m="$(col "$1" "$2" maxrss_mib)" 'BEGIN { printf "%.0f MiB", m }'; }

# ok TSV NAME succeeds when every run of NAME succeeded.
ok() { [[ "$(col "$1" "$2" status)" == ok ]]; }

# calc EXPR evaluates an awk expression.
calc() { awk "BEGIN { print $1 }"; }

# yesno COND prints whether an awk condition holds.
yesno() { awk "BEGIN { if ($1) print \"yes\"; else print \"**no**\" }"; }

# num N prints N with thousands separators.
num() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta' <<<"$1"; }

# stats reads numbers, one a line, and prints their median and minimum.
stats() {
	sort -g | awk '{ v[++n] = $1 } END {
		if (n == 0) { print "nan nan"; exit }
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print m, v[1] }'
}

# ratio_rounds TSV A B prints the median over rounds of A's time divided by
# B's: round i of A and round i of B ran back to back.
ratio_rounds() {
	paste <(col "$1" "$2" times_s | tr ',' '\n') <(col "$1" "$3" times_s | tr ',' '\n') |
		awk '$1 > 0 && $2 > 0 { print $1 / $2 }' | stats | awk '{ printf "%.3f", $1 }'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# settle waits until files written just now are old enough for the stat
# cache to trust: it re-reads any file whose entry was recorded less than
# 2 s after the file's modification time (racily clean, as git calls it).
# A warm measurement right after writing files would be partly cold.
settle() { sleep 3; }

# gen_project N DIR [FLAGS] writes a generated pipeline once.
gen_project() {
	local n="$1" dir="$2"
	shift 2
	[[ -e "$dir/pipeline.cue" ]] && return 0
	log "generating a pipeline of $(num "$n") stages in $dir"
	"$GEN" -stages "$n" -out "$dir" "$@"
}

# lat N ARGS... runs lattice in $WORK/lat-N with that project's own output
# cache. Each size has its own cache: workspaces that restore the same blob
# by hard link share its inode, so a restore in one changes the ctime of the
# other's outputs and makes its stat cache miss.
lat() {
	local n="$1"
	shift
	(cd "$WORK/lat-$n" && LATTICE_CACHE="$WORK/cache-lat-$n" "$LATTICE" "$@")
}

# lattice_project N prepares $WORK/lat-N: a generated pipeline of N local
# stages, applied once with -j 2 and planned once so that the stat cache and
# the spec cache are warm. The plan and tools sections share it. It records
# the apply's time in lat-N/applied, and the first plan's time and files
# hashed in lat-N/first-plan.
lattice_project() {
	local n="$1" dir="$WORK/lat-$1"
	[[ -e "$dir/applied" ]] && return 0
	gen_project "$n" "$dir"
	settle
	log "lattice apply -j 2 on $(num "$n") local stages (once, to have outputs)"
	local start=$SECONDS
	lat "$n" apply -j 2 >"$WORK/logs/apply-lat-$n.log" 2>&1 ||
		{ tail -20 "$WORK/logs/apply-lat-$n.log" >&2; die "apply failed on lat-$n"; }
	echo $((SECONDS - start)) >"$dir/applied"
	settle
	local t0 t1 hashed
	t0="$(date +%s%N)"
	hashed="$(lat "$n" plan --stats -json | jq -r .stats.files_hashed)"
	t1="$(date +%s%N)"
	echo "$(calc "($t1 - $t0) / 1e9") $hashed" >"$dir/first-plan"
	# A no-op really is one: plan --detailed-exitcode exits 2 on changes.
	lat "$n" plan --detailed-exitcode >/dev/null || die "lat-$n: plan still has changes after apply"
}

# ---------------------------------------------------------------------------
# Sections. Each writes its part of the results to $WORK/md/NAME.md.

bench_validate() {
	local md="$WORK/md/validate.md" tsv="$WORK/tsv/validate.tsv" args=() n
	for n in "${VALIDATE_SIZES[@]}"; do
		gen_project "$n" "$WORK/spec-$n"
		args+=(-name "$n" -dir "$WORK/spec-$n" -cmd "$LATTICE validate")
	done
	log "validate: timing lattice validate at ${VALIDATE_SIZES[*]} stages"
	timeit "$tsv" -warmup 1 "${args[@]}"
	{
		echo "## validate"
		echo
		echo "\`lattice validate\` on generated specs (stages in chains of 5, each with a"
		echo "parameter block, a file input, a stage input and an output). Validate has no"
		echo "cache: every run parses and evaluates the whole spec. One untimed warm-up run,"
		echo "then $RUNS timed runs; the commands take turns."
		echo
		echo "| Stages | Median | Min | Max | CPU time (median) | Peak RSS |"
		echo "|---:|---:|---:|---:|---:|---:|"
		for n in "${VALIDATE_SIZES[@]}"; do
			echo "| $(num "$n") | $(cell "$tsv" "$n" median_s) | $(cell "$tsv" "$n" min_s) | $(cell "$tsv" "$n" max_s) | $(secs "$(col "$tsv" "$n" cpu_median_s)") | $(mib "$tsv" "$n") |"
		done
		echo
		printf '**Target:** 10,000 stages in < 2 s and < 500 MiB. **Met:** '
		if has_size 10000 "${VALIDATE_SIZES[@]}" && ok "$tsv" 10000; then
			local t m
			t="$(col "$tsv" 10000 median_s)"
			m="$(col "$tsv" 10000 maxrss_mib)"
			echo "time $(yesno "$t < 2") (median $(secs "$t")), memory $(yesno "$m < 500") ($(mib "$tsv" 10000))."
		else
			echo "not measured in this run."
		fi
	} >"$md"
}

has_size() {
	local want="$1" s
	shift
	for s in "$@"; do [[ "$s" == "$want" ]] && return 0; done
	return 1
}

bench_plan() {
	local md="$WORK/md/plan.md" n
	for n in "${PLAN_SIZES[@]}"; do
		lattice_project "$n"
	done
	{
		echo "## plan"
		echo
		echo "A no-op \`lattice plan\` on generated pipelines of local stages, each with its"
		echo "own small input file (so N stages mean N input files and N output files to"
		echo "check). Set-up, once per size: \`lattice apply -j 2\`, then one \`lattice plan\`"
		echo "to warm the stat cache and the spec cache (its time and the files it re-read"
		echo "are in the last column: see the note below). *Warm* is the plan after that;"
		echo "*cold* deletes \`.lattice/spec.cache\` and \`.lattice/statcache\` before each"
		echo "run, so the spec is evaluated and every file read and hashed again (the page"
		echo "cache stays warm). Warm and cold runs take turns; one untimed warm-up each."
		echo
		echo "| Stages | Warm median | Warm min | Warm peak RSS | Cold median | Cold min | Cold peak RSS | Warm hashing stats | Set-up apply | First plan after apply |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
	} >"$md"
	for n in "${PLAN_SIZES[@]}"; do
		local dir="$WORK/lat-$n" tsv="$WORK/tsv/plan-$n.tsv" stats checked hashed hits
		read -r checked hashed hits < <(lat "$n" plan --stats -json | jq -r '.stats | [.files_checked, .files_hashed, .stat_cache_hits] | @tsv')
		stats="$(num "$checked") checked, $(num "$hashed") hashed, $(num "$hits") stat-cache hits"
		log "plan: timing warm and cold lattice plan at $(num "$n") stages"
		timeit "$tsv" -warmup 1 \
			-name warm -dir "$dir" -env "LATTICE_CACHE=$WORK/cache-lat-$n" -cmd "$LATTICE plan" \
			-name cold -dir "$dir" -env "LATTICE_CACHE=$WORK/cache-lat-$n" -prep "rm -f .lattice/spec.cache .lattice/statcache" -cmd "$LATTICE plan"
		local first_t first_hashed
		read -r first_t first_hashed <"$dir/first-plan"
		echo "| $(num "$n") | $(cell "$tsv" warm median_s) | $(cell "$tsv" warm min_s) | $(mib "$tsv" warm) | $(cell "$tsv" cold median_s) | $(cell "$tsv" cold min_s) | $(mib "$tsv" cold) | $stats | $(cat "$dir/applied") s | $(secs "$first_t"), $(num "$first_hashed") files re-read |" >>"$md"
	done
	{
		echo
		printf '**Target:** 10,000 stages ≤ 1 s warm. **Met:** '
		if has_size 10000 "${PLAN_SIZES[@]}" && ok "$WORK/tsv/plan-10000.tsv" warm; then
			local t
			t="$(col "$WORK/tsv/plan-10000.tsv" warm median_s)"
			echo "$(yesno "$t <= 1") (median $(secs "$t"))."
		else
			echo "not measured in this run."
		fi
		echo
		echo "Note: the first plan after an apply reads every output the apply wrote. The"
		echo "apply hashes outputs without the workspace's stat cache and then restores"
		echo "them from the output cache, so the stat cache has no entry for them until"
		echo "that plan records one. The warm plans above come after it."
	} >>"$md"
}

# gobench_stat FILE NAME UNIT STAT prints the median or the min (STAT) of
# one metric of a Go benchmark over its -count runs.
gobench_stat() {
	awk -v name="$2" -v unit="$3" '
		$1 ~ /^Benchmark/ {
			b = $1; sub(/-[0-9]+$/, "", b)
			if (b != name) next
			for (i = 3; i < NF; i += 2) if ($(i + 1) == unit) print $i
		}' "$1" | stats | awk -v stat="$4" '{ print (stat == "min" ? $2 : $1) }'
}

# hash_project DIR KIND writes a project whose one dataset is data/big.bin
# (file) or data/samples (tree), read by one local stage.
hash_project() {
	local dir="$1" kind="$2"
	mkdir -p "$dir"
	if [[ "$kind" == file ]]; then
		[[ -e "$dir/data/big.bin" ]] || "$MKDATA" -file "$dir/data/big.bin" -size "$HASH_FILE_SIZE"
		cat >"$dir/pipeline.cue" <<-'EOF'
			name: "bench-hash-file"
			datasets: big: path: "data/big.bin"
			stages: size: {
				backend: "local"
				cmd: ["sh", "-c", "wc -c < ${inputs.data} > ${outputs.size}"]
				inputs: data: dataset: "big"
				outputs: size: path: "out/size.txt"
			}
		EOF
	else
		[[ -e "$dir/data/samples" ]] || "$MKDATA" -tree "$dir/data/samples" -files "$HASH_TREE_FILES"
		cat >"$dir/pipeline.cue" <<-'EOF'
			name: "bench-hash-tree"
			datasets: samples: path: "data/samples"
			stages: count: {
				backend: "local"
				cmd: ["sh", "-c", "find ${inputs.data} -type f | wc -l > ${outputs.count}"]
				inputs: data: dataset: "samples"
				outputs: count: path: "out/count.txt"
			}
		EOF
	fi
}

bench_hash() {
	local md="$WORK/md/hash.md" raw="$WORK/logs/gobench-digest.txt"
	log "hash: go test -bench in compiler/digest (-benchtime $GO_BENCHTIME -count $GO_BENCHCOUNT); setup writes 1 GiB and 100,000 files"
	(cd "$SRC" && TMPDIR="$WORK/tmp" go test -run '^$' \
		-bench 'BenchmarkHashFile1GiB|BenchmarkTree100kFiles' \
		-benchtime "$GO_BENCHTIME" -count "$GO_BENCHCOUNT" ./compiler/digest/) >"$raw" 2>&1 ||
		{ cat "$raw" >&2; die "the digest benchmarks failed"; }
	local b ns_med ns_min cpu files
	{
		echo "## hash"
		echo
		echo "### Go benchmarks (compiler/digest)"
		echo
		echo "\`go test -run '^\$' -bench 'BenchmarkHashFile1GiB|BenchmarkTree100kFiles' -benchtime $GO_BENCHTIME -count $GO_BENCHCOUNT ./compiler/digest/\`"
		echo "(TMPDIR on the same disk as the rest of the suite). *cold* hashes with no stat"
		echo "cache (the page cache is warm: the bytes are read, not fetched from disk);"
		echo "*warm* re-checks with every file a stat-cache hit; *warm+load* is a whole"
		echo "second run: load the saved stat cache, then re-check. Median and min are over"
		echo "the $GO_BENCHCOUNT samples of \`-count\`, each the mean of \`$GO_BENCHTIME\` iterations."
		echo
		echo "| Benchmark | Median time/op | Min time/op | Throughput (median) | CPU time/op (median) |"
		echo "|---|---:|---:|---:|---:|"
		for b in HashFile1GiB/cold HashFile1GiB/warm Tree100kFiles/cold Tree100kFiles/warm Tree100kFiles/warm+load; do
			ns_med="$(gobench_stat "$raw" "Benchmark$b" ns/op median)"
			ns_min="$(gobench_stat "$raw" "Benchmark$b" ns/op min)"
			cpu="$(gobench_stat "$raw" "Benchmark$b" cpu-ms/op median)"
			if [[ "$b" == HashFile1GiB/cold ]]; then
				files="$(calc "sprintf(\"%.2f GB/s\", 1073741824 / $ns_med)")"
			elif [[ "$b" == HashFile1GiB/* ]]; then
				files="(no bytes read)"
			else
				files="$(num "$(calc "sprintf(\"%.0f\", 100000 / ($ns_med / 1e9))")") files/s"
			fi
			echo "| $b | $(secs "$(calc "$ns_med / 1e9")") | $(secs "$(calc "$ns_min / 1e9")") | $files | $(secs "$(calc "$cpu / 1e3")") |"
		done
		echo
		local gbs warm wl
		gbs="$(calc "1073741824 / $(gobench_stat "$raw" BenchmarkHashFile1GiB/cold ns/op median)")"
		warm="$(calc "$(gobench_stat "$raw" BenchmarkTree100kFiles/warm ns/op median) / 1e9")"
		wl="$(calc "$(gobench_stat "$raw" 'BenchmarkTree100kFiles/warm+load' ns/op median) / 1e9")"
		echo "**Targets:** 1 GiB hashed at ≥ 2 GB/s; 100,000 small files re-checked warm in ≤ 0.3 s."
		echo "**Met:** 1 GiB $(yesno "$gbs >= 2") ($(calc "sprintf(\"%.2f\", $gbs)") GB/s);"
		echo "100,000 files warm $(yesno "$warm <= 0.3") ($(secs "$warm")), warm+load $(yesno "$wl <= 0.3") ($(secs "$wl"))."
		echo
	} >"$md"

	local fdir="$WORK/hash-file" tdir="$WORK/hash-tree" kind dir tsv label
	log "hash: writing a $((HASH_FILE_SIZE >> 20)) MiB dataset and a tree of $(num "$HASH_TREE_FILES") files"
	hash_project "$fdir" file
	hash_project "$tdir" tree
	settle
	{
		echo "### Through the CLI: \`lattice plan --stats -json\`"
		echo
		echo "A project whose one dataset is a file of $((HASH_FILE_SIZE >> 20)) MiB, and one whose"
		echo "dataset is a directory of $(num "$HASH_TREE_FILES") small files (64 to 1,024 bytes, 1,000 per"
		echo "directory). *Cold* deletes \`.lattice/statcache\` before each run (the spec"
		echo "cache stays); *warm* is the next plan. Cold and warm runs take turns after"
		echo "one warm-up each. The last columns are the \`stats\` object of one extra run."
		echo
		echo "| Dataset | Pass | Median | Min | Peak RSS | Files checked | Files hashed | Bytes hashed | Stat-cache hits | Rate (median) |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	} >>"$md"
	for kind in file tree; do
		dir="$WORK/hash-$kind"
		tsv="$WORK/tsv/hash-$kind.tsv"
		(cd "$dir" && "$LATTICE" plan >/dev/null)
		log "hash: timing cold and warm lattice plan on the $kind dataset"
		timeit "$tsv" -warmup 1 \
			-name cold -dir "$dir" -prep "rm -f .lattice/statcache" -cmd "$LATTICE plan" \
			-name warm -dir "$dir" -cmd "$LATTICE plan"
		for pass in cold warm; do
			[[ "$pass" == cold ]] && rm -f "$dir/.lattice/statcache"
			local stats rate t
			local checked hashed bytes hits
			read -r checked hashed bytes hits < <(cd "$dir" && "$LATTICE" plan --stats -json | jq -r '.stats | [.files_checked, .files_hashed, .bytes_hashed, .stat_cache_hits] | @tsv')
			stats="$(num "$checked") | $(num "$hashed") | $(num "$bytes") | $(num "$hits")"
			t="$(col "$tsv" "$pass" median_s)"
			if [[ "$kind" == file ]]; then
				label="1 file, $((HASH_FILE_SIZE >> 20)) MiB"
				rate="$(calc "sprintf(\"%.2f GB/s\", $HASH_FILE_SIZE / $t / 1e9)")"
				[[ "$pass" == warm ]] && rate="—"
			else
				label="$(num "$HASH_TREE_FILES") files"
				rate="$(num "$(calc "sprintf(\"%.0f\", $HASH_TREE_FILES / $t)")") files/s"
			fi
			echo "| $label | $pass | $(cell "$tsv" "$pass" median_s) | $(cell "$tsv" "$pass" min_s) | $(mib "$tsv" "$pass") | $stats | $rate |" >>"$md"
		done
	done
	{
		echo
		echo "The CLI figures include process start, loading the spec (from its cache),"
		echo "loading and saving the stat cache and writing the plan, so they sit above"
		echo "the Go benchmarks'; they are context, not the targets' measure."
	} >>"$md"
}

# docker_project DIR NAME N CMD writes N independent docker stages running
# the busybox shell command CMD (which may use ${outputs.out}).
docker_project() {
	local dir="$1" name="$2" n="$3" cmd="$4" i
	mkdir -p "$dir"
	{
		echo "name: \"$name\""
		for i in $(seq -w 1 "$n"); do
			printf 'stages: s%s: {\n\timage: "%s"\n\tcmd: ["sh", "-c", "%s"]\n\toutputs: out: path: "out/s%s.txt"\n}\n' \
				"$i" "$BUSYBOX" "${cmd//@/$i}" "$i"
		done
	} >"$dir/pipeline.cue"
}

bench_apply() {
	local md="$WORK/md/apply.md"
	# Every timed apply below is a real run: the prep step empties its
	# output cache and deletes the lockfile and the outputs.
	local reset='rm -rf "$LATTICE_CACHE" lattice.lock out'

	# (a) parallel sleeps.
	local sdir="$WORK/apply-sleep" stsv="$WORK/tsv/apply-sleep.tsv"
	docker_project "$sdir" bench-sleep "$SLEEP_STAGES" 'sleep 1 && echo @ > ${outputs.out}'
	log "apply (a): lattice apply -j 2 on $SLEEP_STAGES stages that sleep 1 s, against xargs -P 2 docker run"
	timeit "$stsv" \
		-name lattice -dir "$sdir" -env "LATTICE_CACHE=$WORK/cache-sleep" -prep "$reset" -cmd "$LATTICE apply -j 2" \
		-name xargs -cmd "seq $SLEEP_STAGES | xargs -P 2 -I{} docker run --rm $BUSYBOX sleep 1"
	local floor=$(((SLEEP_STAGES + 1) / 2))
	{
		echo "## apply"
		echo
		echo "### (a) $SLEEP_STAGES independent stages that each sleep 1 s, \`-j 2\` (docker backend)"
		echo
		echo "Each run starts from an empty output cache, no lockfile and no outputs, so"
		echo "every stage runs. For reference, in the same rounds: the same $SLEEP_STAGES sleeps as"
		echo "\`docker run --rm\`, two at a time (\`xargs -P 2\`). The floor is ${floor} s of sleeping."
		echo
		echo "| Command | Median | Min | Max | Peak RSS |"
		echo "|---|---:|---:|---:|---:|"
		echo "| \`lattice apply -j 2\` | $(cell "$stsv" lattice median_s) | $(cell "$stsv" lattice min_s) | $(cell "$stsv" lattice max_s) | $(mib "$stsv" lattice) |"
		echo "| \`xargs -P 2 docker run --rm\` | $(cell "$stsv" xargs median_s) | $(cell "$stsv" xargs min_s) | $(cell "$stsv" xargs max_s) | — |"
		echo
		printf '**Target:** well under 10 s (ideal: 5 s plus overhead); read here as ≤ 8 s. **Met:** '
		if ((SLEEP_STAGES == 10)) && ok "$stsv" lattice; then
			local t
			t="$(col "$stsv" lattice median_s)"
			echo "$(yesno "$t <= 8") (median $(secs "$t"); $(calc "sprintf(\"%.2f\", ($t - 5) / 5)") s of overhead per pair of stages, vs $(calc "sprintf(\"%.2f\", ($(col "$stsv" xargs median_s) - 5) / 5)") s for \`docker run\`)."
		else
			echo "not measured in this run."
		fi
		echo
	} >"$md"

	# (b) no-op apply.
	local ndir="$WORK/apply-noop" ntsv="$WORK/tsv/apply-noop.tsv"
	gen_project 5 "$ndir" -backend docker
	log "apply (b): a no-op lattice apply of 5 docker stages"
	(cd "$ndir" && LATTICE_CACHE="$WORK/cache-noop" "$LATTICE" apply -j 2) >"$WORK/logs/apply-noop.log" 2>&1 ||
		{ tail -20 "$WORK/logs/apply-noop.log" >&2; die "the set-up apply of apply-noop failed"; }
	timeit "$ntsv" -warmup 1 -name noop -dir "$ndir" -env "LATTICE_CACHE=$WORK/cache-noop" -cmd "$LATTICE apply -j 2"
	local summary
	summary="$(cd "$ndir" && LATTICE_CACHE="$WORK/cache-noop" "$LATTICE" apply -j 2 2>/dev/null | tail -1)"
	{
		echo "### (b) A second, no-op \`lattice apply\` of a 5-stage docker pipeline"
		echo
		echo "One chain of 5 docker stages (from \`bench/gen -backend docker\`), applied once,"
		echo "then timed; it says: \`$summary\`"
		echo
		echo "| Command | Median | Min | Max | Peak RSS |"
		echo "|---|---:|---:|---:|---:|"
		echo "| \`lattice apply -j 2\` (no-op) | $(cell "$ntsv" noop median_s) | $(cell "$ntsv" noop min_s) | $(cell "$ntsv" noop max_s) | $(mib "$ntsv" noop) |"
		echo
		printf '**Target:** < 1 s. **Met:** '
		if ok "$ntsv" noop; then
			echo "$(yesno "$(col "$ntsv" noop median_s) < 1") (median $(cell "$ntsv" noop median_s))."
		else
			echo "no: the runs failed."
		fi
		echo
	} >>"$md"

	# (c) per-stage overhead against the docker CLI.
	local tdir="$WORK/apply-trivial" ttsv="$WORK/tsv/apply-trivial.tsv"
	docker_project "$tdir" bench-trivial "$TRIVIAL_STAGES" 'echo @ > ${outputs.out}'
	log "apply (c): lattice apply -j 1 on $TRIVIAL_STAGES trivial stages against a loop of docker run --rm, in alternating rounds"
	timeit "$ttsv" \
		-name lattice -dir "$tdir" -env "LATTICE_CACHE=$WORK/cache-trivial" -prep "$reset" -cmd "$LATTICE apply -j 1" \
		-name loop -cmd "for i in \$(seq $TRIVIAL_STAGES); do docker run --rm $BUSYBOX true; done"
	{
		echo "### (c) Per-stage overhead: $TRIVIAL_STAGES trivial stages, \`-j 1\`, against \`docker run --rm\`"
		echo
		echo "\`lattice apply -j 1\` on $TRIVIAL_STAGES independent docker stages that each write a"
		echo "one-line output (every run a real run: empty cache, no lockfile, no outputs),"
		echo "against a shell loop of $TRIVIAL_STAGES \`docker run --rm $BUSYBOX true\`. The two"
		echo "alternate, one run each per round, the order flipping every round."
		echo
		echo "| Command | Median | Min | Max | Per stage (median) |"
		echo "|---|---:|---:|---:|---:|"
		local name
		for name in lattice loop; do
			local label="\`lattice apply -j 1\`"
			[[ "$name" == loop ]] && label="loop of \`docker run --rm\`"
			echo "| $label | $(cell "$ttsv" "$name" median_s) | $(cell "$ttsv" "$name" min_s) | $(cell "$ttsv" "$name" max_s) | $(secs "$(calc "$(col "$ttsv" "$name" median_s) / $TRIVIAL_STAGES")") |"
		done
		echo
		if ok "$ttsv" lattice && ok "$ttsv" loop; then
			local r rr
			r="$(calc "sprintf(\"%.3f\", $(col "$ttsv" lattice median_s) / $(col "$ttsv" loop median_s))")"
			rr="$(ratio_rounds "$ttsv" lattice loop)"
			echo "Ratio lattice / loop: **$rr** (median of the per-round ratios; ratio of the medians: $r)."
			echo
			echo "**Target:** apply ≤ 0.8× the loop. **Met:** $(yesno "$rr <= 0.8")."
		else
			echo "**Target:** apply ≤ 0.8× the loop. **Met:** no: the runs failed."
		fi
	} >>"$md"
}

bench_tools() {
	local md="$WORK/md/tools.md" n
	{
		echo "## tools"
		echo
		echo "No-op checks on the same generated DAG, side by side: GNU make's \`make -q\`"
		echo "(after \`make -j2\` built everything), Snakemake's dry run \`snakemake -n --cores 1 -q\`"
		echo "(which reports \"Nothing to be done\"), \`lattice status\` and \`lattice plan\` (after"
		echo "\`lattice apply -j 2\` and one plan). Each tool works in its own copy of the"
		echo "project. At each size the four commands take turns, one run each per round,"
		echo "after one warm-up each; the ratio is the median over rounds of the tool's"
		echo "time over \`lattice status\`'s time in the same round."
		echo
		echo "$(make --version | head -1); Snakemake $(snakemake --version)."
		echo
		echo "| Tool | Stages | Median | Min | Peak RSS | Ratio to lattice status |"
		echo "|---|---:|---:|---:|---:|---:|"
	} >"$md"
	local notes=()
	for n in "${TOOLS_SIZES[@]}"; do
		lattice_project "$n"
		local mdir="$WORK/make-$n" sdir="$WORK/snake-$n" ldir="$WORK/lat-$n" tsv="$WORK/tsv/tools-$n.tsv"
		if [[ ! -e "$mdir/built" ]]; then
			gen_project "$n" "$mdir" -make
			log "tools: make -j2 on $(num "$n") stages"
			(cd "$mdir" && make -j2 -s) >"$WORK/logs/make-$n.log" 2>&1
			touch "$mdir/built"
		fi
		(cd "$mdir" && make -q) || die "make-$n: make -q says something is out of date after a build"
		if [[ ! -e "$sdir/built" ]]; then
			gen_project "$n" "$sdir" -snakemake -make
			if ((n <= SNAKE_BUILD_MAX)); then
				log "tools: snakemake --cores 2 on $(num "$n") stages (once, so that outputs exist)"
				local start=$SECONDS
				(cd "$sdir" && snakemake --cores 2 -q) >"$WORK/logs/snake-$n.log" 2>&1 ||
					{ tail -20 "$WORK/logs/snake-$n.log" >&2; die "snakemake failed on snake-$n"; }
				echo "built by \`snakemake --cores 2\` in $((SECONDS - start)) s" >"$sdir/built"
			else
				log "tools: building the $(num "$n") outputs for snakemake with make -j2"
				(cd "$sdir" && make -j2 -s) >"$WORK/logs/snake-$n.log" 2>&1
				echo "outputs built by \`make -j2\` with the same commands, since the suite lets Snakemake build only pipelines of up to $(num "$SNAKE_BUILD_MAX") stages (SNAKE_BUILD_MAX; see bench/README.md); the dry run reports nothing to do" >"$sdir/built"
			fi
		fi
		local dry
		dry="$(cd "$sdir" && snakemake -n --cores 1 -q 2>&1)" || true
		[[ "$dry" == *"Nothing to be done"* ]] || die "snake-$n: the dry run would run jobs: $(tail -5 <<<"$dry")"
		notes+=("$(num "$n") stages: $(cat "$sdir/built").")
		log "tools: timing lattice status, lattice plan, make -q and snakemake -n at $(num "$n") stages"
		timeit "$tsv" -warmup 1 \
			-name status -dir "$ldir" -env "LATTICE_CACHE=$WORK/cache-lat-$n" -cmd "$LATTICE status" \
			-name plan -dir "$ldir" -env "LATTICE_CACHE=$WORK/cache-lat-$n" -cmd "$LATTICE plan" \
			-name make -dir "$mdir" -cmd "make -q" \
			-name snakemake -dir "$sdir" -cmd "snakemake -n --cores 1 -q"
		local row label
		for row in status plan make snakemake; do
			case "$row" in
			status) label="\`lattice status\`" ;;
			plan) label="\`lattice plan\`" ;;
			make) label="\`make -q\`" ;;
			snakemake) label="\`snakemake -n\`" ;;
			esac
			local ratio="1.00"
			if [[ "$row" != status ]]; then
				if ok "$tsv" "$row" && ok "$tsv" status; then
					ratio="$(ratio_rounds "$tsv" "$row" status)"
					ratio="$(calc "sprintf(\"%.2f\", $ratio)")"
				elif [[ "$(col "$tsv" "$row" status)" == timeout ]]; then
					ratio="> $(calc "sprintf(\"%.0f\", $RUN_TIMEOUT / $(col "$tsv" status median_s))")"
				else
					ratio="—"
				fi
			fi
			echo "| $label | $(num "$n") | $(cell "$tsv" "$row" median_s) | $(cell "$tsv" "$row" min_s) | $(mib "$tsv" "$row") | $ratio |" >>"$md"
		done
	done
	{
		echo
		echo "How Snakemake's outputs were made:"
		echo
		local note
		for note in "${notes[@]}"; do echo "- $note"; done
		echo
		echo "No target: these figures are context for the ones above."
	} >>"$md"
}

# ---------------------------------------------------------------------------
# Run the sections and write the results.

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
START_LOAD="$(loadavg)"
log "scratch directory: $WORK; $RUNS runs per measurement; sections: ${SECTIONS[*]}"
FAILED=()
declare -A ELAPSED LOADS
for s in "${SECTIONS[@]}"; do
	log "=== $s"
	t0=$SECONDS
	l0="$(loadavg)"
	# A section that fails is reported and the others still run. The
	# subshell is not tested with || or if, so set -e stays in force in it.
	set +e
	(
		set -e
		"bench_$s"
	)
	rc=$?
	set -e
	ELAPSED[$s]=$((SECONDS - t0))
	LOADS[$s]="$l0 → $(loadavg)"
	if ((rc != 0)); then
		FAILED+=("$s")
		log "section $s FAILED (exit $rc); continuing"
		printf '## %s\n\n**This section failed** (exit status %d); see the output of the run.\n' "$s" "$rc" >"$WORK/md/$s.md"
	fi
	log "=== $s done in ${ELAPSED[$s]} s"
done
TOTAL=$SECONDS

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
os="$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")"
docker_version="$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unavailable)"
mkdir -p "$(dirname "$OUT")"
{
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh\`; see [README.md](README.md) for what each section"
	echo "measures. Times are wall-clock, over $RUNS runs unless said otherwise; peak RSS is"
	echo "the largest resident set of the command and the processes it waited for."
	if ((QUICK)); then
		echo
		echo "**This is a --quick run:** sizes are smaller than the targets', so the"
		echo "targets are not judged."
	fi
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| Date | $START_DATE |"
	echo "| Command | \`$COMMAND_LINE\` |"
	echo "| Measured | $SOURCE |"
	echo "| Total run time | $((TOTAL / 60)) min $((TOTAL % 60)) s |"
	echo "| CPU | ${cpu_model:-unknown}, $(nproc) cores |"
	echo "| Memory | $mem |"
	echo "| OS, kernel | $os, $(uname -sr) |"
	echo "| Docker Engine | $docker_version |"
	echo "| Go | $(go version | cut -d' ' -f3-) |"
	echo "| Load average (1, 5, 15 min) at start | $START_LOAD |"
	echo
	echo "The machine is shared and its load varies: compare ratios measured in the same"
	echo "run (commands that were compared ran in alternating rounds), and read absolute"
	echo "times with the load averages below in mind."
	echo
	echo "| Section | Time | Load average before → after |"
	echo "|---|---:|---|"
	for s in "${SECTIONS[@]}"; do
		echo "| [$s](#$s) | ${ELAPSED[$s]} s | ${LOADS[$s]} |"
	done
	for s in "${SECTIONS[@]}"; do
		echo
		cat "$WORK/md/$s.md"
	done
} >"$OUT"
log "wrote $OUT (total $((TOTAL / 60)) min $((TOTAL % 60)) s)"
if ((${#FAILED[@]})); then
	log "failed sections: ${FAILED[*]}"
	exit 1
fi
