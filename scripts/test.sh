#!/usr/bin/env bash
# test.sh runs Lattice's whole test suite: it makes sure the local test
# images exist (building them from Debian packages the first time, about two
# minutes), then runs every Go test, including the integration tests on the
# real Docker engine and the testscript CLI tests.
#
# Usage: scripts/test.sh [go test flags...]     e.g. scripts/test.sh -run TestApply
#
# With CI set, tests that need Docker fail instead of skipping when the
# engine is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if docker version >/dev/null 2>&1; then
	scripts/test-images.sh all
else
	echo "[test] the Docker engine is not reachable: integration tests will $( [[ -n "${CI:-}" ]] && echo fail || echo be skipped )" >&2
fi

# The suite's slowest tests (kill -9 trials, end-to-end examples) run
# applies on two cores; -p 2 keeps packages from starving each other.
exec go test -count=1 -p 2 -timeout 30m "$@" ./...
