#!/usr/bin/env bash
# bench-foundation.sh — the foundation's benchmarks, as docs/benchmarks.md
# reports them:
#
#   (a) start-up time, exec to the first 200 of /readyz, on SQLite and on
#       PostgreSQL: first start with --demo on an empty store, a second
#       start with --demo (demo already there) and a plain start;
#   (b) memory at idle: VmRSS after start, after a warm-up, after 5 s idle;
#   (c) GET /api/v1/homes?limit=50 throughput against a bare Go server
#       sending the same bytes, side by side in one run: over loopback
#       between processes (shequ-bench), and in "go test -bench
#       BenchmarkHomes", repeated BENCH_RUNS times.
#
# Everything listens on and talks to 127.0.0.1 only; each step has a
# timeout. PostgreSQL: a fresh database per run is created (and dropped)
# through SHEQU_TEST_POSTGRES; when the server is not reachable the
# PostgreSQL part is skipped, except with CI=true.
#
# Knobs (environment): OUT, RUNS, ROUNDS, LOAD, BENCHTIME, BENCH_RUNS,
# SHEQU_TEST_POSTGRES, COMMIT (for a tree without .git).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-/tmp/shequ-bench-out}
RUNS=${RUNS:-5}            # start-up runs of each kind
ROUNDS=${ROUNDS:-3}        # loopback load rounds, api and bare each round
LOAD=${LOAD:-3s}           # length of one side's load in a round
BENCHTIME=${BENCHTIME:-2s} # go test -benchtime
BENCH_RUNS=${BENCH_RUNS:-3}
PG=${SHEQU_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export SHEQU_TEST_POSTGRES=$PG

mkdir -p "$OUT"
echo "# shequ foundation benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
echo "- cores: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//;s/ *$//'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "- $(go version)"
echo

timeout 300 go build -o "$OUT/shequ" ./cmd/shequ
timeout 300 go build -o "$OUT/shequ-bench" ./cmd/shequ-bench

pg_ok=1
if ! timeout 10 "$OUT/shequ-bench" -bin "$OUT/shequ" -dialect postgres -runs 1 -probe >/dev/null 2>&1; then
	pg_ok=0
	if [ "${CI:-}" = true ]; then
		echo "PostgreSQL not reachable at $PG, and CI=true" >&2
		exit 1
	fi
fi

echo "## (a, b, c1) start-up, memory, loopback load"
echo
timeout 900 "$OUT/shequ-bench" -bin "$OUT/shequ" -dialect sqlite -runs "$RUNS" -rounds "$ROUNDS" -load "$LOAD" | tee "$OUT/sqlite.txt"
if [ $pg_ok = 1 ]; then
	timeout 900 "$OUT/shequ-bench" -bin "$OUT/shequ" -dialect postgres -pg "$PG" -runs "$RUNS" -rounds "$ROUNDS" -load "$LOAD" | tee "$OUT/postgres.txt"
else
	echo "PostgreSQL not reachable at $PG: its part is skipped" | tee "$OUT/postgres.txt"
fi

echo "## (c2) go test -bench BenchmarkHomes, $BENCH_RUNS runs"
echo
: >"$OUT/gobench.txt"
for i in $(seq "$BENCH_RUNS"); do
	# One go test per run, so that each run measures api and bare one
	# right after the other; -count would run each side N times in a row.
	timeout 600 go test -run '^$' -bench BenchmarkHomes -benchtime="$BENCHTIME" -count=1 ./web/ 2>&1 | tee -a "$OUT/gobench.txt"
done
echo
"$OUT/shequ-bench" summarize <"$OUT/gobench.txt" | tee "$OUT/gobench-summary.md"
