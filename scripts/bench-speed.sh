#!/usr/bin/env bash
# bench-speed.sh — issue 13's table, every row side by side with its bare
# peer in one run, on SQLite and (when reachable) PostgreSQL:
#
#   lists and pages   BenchmarkHomes, BenchmarkLists (notices, open
#                     incidents, the resident's home page),
#                     BenchmarkResidentFeed (10,000 notices): the real
#                     server against a bare handler writing the same bytes
#                     with the same headers, over loopback, 32 clients (p50 and p99 reported)
#   Open311           BenchmarkOpen311Requests, 1,000 requests
#   statistics        BenchmarkAssociationStats, five years of services
#   start and memory  shequ-bench: exec → /readyz and VmRSS, both password
#                     variables set
#   MQTT              BenchmarkIngestMosquitto against mosquitto_sub on the
#                     same broker (skipped without mosquitto)
#
# Give BASE=<commit> to run the same table on an older build right after,
# for a before/after in one sitting. Knobs: BENCHTIME (default 2000x),
# OUT (default /tmp/shequ-speed).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-2000x}
OUT=${OUT:-/tmp/shequ-speed}
mkdir -p "$OUT"

table() { # dir label
	local dir=$1 label=$2
	echo "## $label ($(cd "$dir" && git rev-parse --short HEAD 2>/dev/null || echo tree))"
	echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	(cd "$dir" && go test -c -o "$OUT/web-$label.test" ./web/ \
		&& go test -c -o "$OUT/sqlstore-$label.test" ./sqlstore/ \
		&& go test -c -o "$OUT/mqtt-$label.test" ./alarm/mqtt/ \
		&& go build -o "$OUT/shequ-$label" ./cmd/shequ \
		&& go build -o "$OUT/shequ-bench-$label" ./cmd/shequ-bench)
	echo '```'
	# One pattern a run: go test splits a -bench pattern at every "/",
	# alternatives included, so "A/x|B/y" is not two benchmarks.
	for pattern in 'BenchmarkHomes/.*/loopback' 'BenchmarkLists/.*/.*/loopback' \
		'BenchmarkResidentFeed/.*/loopback' 'BenchmarkOpen311Requests/.*/.*/loopback'; do
		(cd "$dir/web" && timeout 1800 "$OUT/web-$label.test" -test.run '^$' -test.benchtime "$BENCHTIME" \
			-test.bench "$pattern" 2>&1 | grep -E '^(Benchmark|--- FAIL|FAIL)' || true)
	done
	(cd "$dir/sqlstore" && timeout 1800 "$OUT/sqlstore-$label.test" -test.run '^$' -test.benchtime 50x \
		-test.bench 'BenchmarkAssociationStats' 2>&1 | grep -E '^(Benchmark|--- FAIL|FAIL)' || true)
	if command -v mosquitto >/dev/null; then
		(cd "$dir/alarm/mqtt" && timeout 1800 "$OUT/mqtt-$label.test" -test.run '^$' -test.benchtime 20000x \
			-test.bench 'BenchmarkIngestMosquitto(Store)?$' 2>&1 | grep -E '^(Benchmark|--- FAIL|FAIL)' || true)
	fi
	echo '```'
	SHEQU_ADMIN_PASSWORD=admin-password-1 timeout 900 "$OUT/shequ-bench-$label" -bin "$OUT/shequ-$label" -load 0 -runs 3 -warmup 200 2>&1 | grep -E '^\|' || true
	echo
}

echo "# issue 13's table, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(go version | cut -d' ' -f3)"
echo
table . new
if [[ -n ${BASE:-} ]]; then
	base="$OUT/base-tree"
	rm -rf "$base"
	git worktree add --detach "$base" "$BASE" >/dev/null
	trap 'git worktree remove --force "$base"' EXIT
	# The old tree gets today's benchmark files, so both sides measure alike.
	cp web/bench_test.go web/lists_bench_test.go "$base/web/"
	# Open311 and statistics: the same percentiles, CPU and 32 clients.
	cp web/open311_test.go "$base/web/"
	cp sqlstore/stats_bench_test.go "$base/sqlstore/"
	table "$base" base
fi
