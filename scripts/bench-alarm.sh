#!/usr/bin/env bash
# bench-alarm.sh — the alarm centre's benchmarks, as docs/benchmarks.md
# ("Alarm centre") reports them, each side by side in one run:
#
#   (1) SIA ingest over TCP, AES-128 frames, group commit and durable
#       commit in the real store, against the bare receiver (same frames,
#       a handler that stores nothing): go test -bench IngestTCP, SQLite,
#       PostgreSQL and SQLite with synchronous=FULL, 1/8/64 connections and
#       64 connections paced to 5,000 frames/s; and the writer alone,
#       Store.Ingest at fixed batch sizes (go test -bench IngestStore);
#   (2) the same with processes: `shequ simulate` against `shequ serve`
#       (SQLite, then PostgreSQL on a fresh database) and against
#       `shequ simulate --bare-receiver`, same panels, same loads;
#   (3) event-to-console latency, 1 and 500 SSE subscribers:
#       go test -bench EventToConsole ./web/;
#   (4) MQTT ingest against mosquitto_sub draining the same backlog, and
#       with the real store behind shequ: go test -bench IngestMosquitto.
#
# Everything listens on and talks to 127.0.0.1 only; every step has a
# timeout and every server started here is stopped by its pid (and has a
# timeout of its own). PostgreSQL: SHEQU_TEST_POSTGRES for the Go
# benchmarks (default postgres://postgres@127.0.0.1:5432/test), PG_SERVER
# for the fresh database of (2); skipped when unreachable.
#
# Knobs (environment): OUT, INGEST_N, SSE_N, MQTT_N, SIM_PANELS,
# SIM_DURATION, STEPS (any of: ingest simulate sse mqtt), COMMIT.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-/tmp/shequ-bench-alarm}
INGEST_N=${INGEST_N:-10000}       # frames per IngestTCP sub-benchmark
SSE_N=${SSE_N:-30}                # intrusions per EventToConsole sub-benchmark
MQTT_N=${MQTT_N:-20000}           # messages per IngestMosquitto sub-benchmark
SIM_PANELS=${SIM_PANELS:-1000}    # panels of the simulate runs
SIM_DURATION=${SIM_DURATION:-8s}  # length of one simulate run
STEPS=${STEPS:-ingest simulate sse mqtt}
PG=${SHEQU_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
export SHEQU_TEST_POSTGRES=$PG

mkdir -p "$OUT"
load() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg) ($(date -u +%H:%M:%SZ))"; }
has() { [[ " $STEPS " == *" $1 "* ]]; }

echo "# shequ alarm centre benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
echo "- cores: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//;s/ *$//')"
echo "- $(uptime)"
echo "- $(go version)"
echo

if has ingest; then
	echo "## (1) SIA ingest, go test -bench 'Ingest(TCP|Store)' -benchtime ${INGEST_N}x"
	echo
	load
	timeout 1500 go test -run '^$' -bench 'Ingest(TCP|Store)' -benchtime "${INGEST_N}x" ./alarm/sia/ 2>&1 | grep -v ' INFO ' | tee "$OUT/ingest.txt"
	load
	echo
fi

# wait_log FILE PATTERN: waits up to 60 s for PATTERN in FILE.
wait_log() {
	for _ in $(seq 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1" >&2
	tail -20 "$1" >&2
	return 1
}

# simulate_side NAME ADDR ARGS...: one simulate run, one summary line.
simulate_side() {
	local name=$1 addr=$2
	shift 2
	timeout 120 "$OUT/shequ" simulate --sia "$addr" --panels "$SIM_PANELS" --duration "$SIM_DURATION" --json "$@" >"$OUT/sim-$name.json" || true
	jq -r --arg n "$name" '"\($n)\tsent \(.sent)\tACK \(.sia.ack)\tNAK \(.sia.nak)\tDUH \(.sia.duh)\tnone \(.sia.no_answer)\t\(.sia.acked_per_second) ACKed/s\tp50 \(.sia.ack_latency_ms.p50) ms\tp90 \(.sia.ack_latency_ms.p90) ms\tp99 \(.sia.ack_latency_ms.p99) ms\tmax \(.sia.ack_latency_ms.max) ms\tlate \(.sia.late_sends_share)"' "$OUT/sim-$name.json"
}

simulate_dialect() {
	local dialect=$1 db_args=() dbname=""
	local data="$OUT/data-$dialect"
	rm -rf "$data"
	mkdir -p "$data"
	if [ "$dialect" = postgres ]; then
		dbname="shequ_bench_$$"
		if ! timeout 20 psql "$PG_SERVER/postgres?sslmode=disable" -qc "CREATE DATABASE $dbname" >/dev/null 2>&1; then
			echo "PostgreSQL not reachable at $PG_SERVER: skipped"
			return 0
		fi
		db_args=(--db "$PG_SERVER/$dbname?sslmode=disable" --key "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
	fi
	SHEQU_DEMO_PASSWORD=bench-password-1 timeout 900 "$OUT/shequ" serve --demo --data "$data" --http 127.0.0.1:0 --sia 127.0.0.1:0 --sia-max-conns-per-addr 1024 "${db_args[@]}" >"$OUT/serve-$dialect.log" 2>&1 &
	local serve_pid=$!
	wait_log "$OUT/serve-$dialect.log" "shequ is serving" || true
	if ! grep -q "shequ is serving" "$OUT/serve-$dialect.log"; then
		kill "$serve_pid" 2>/dev/null || true
		return 1
	fi
	local http sia_addr
	http=$(grep -o 'url=http://[^ ]*' "$OUT/serve-$dialect.log" | head -1 | sed 's/^url=//; s#/$##')
	sia_addr=$(grep -o 'SIA DC-09 receiver listening" addr=[^ ]*' "$OUT/serve-$dialect.log" | head -1 | sed 's/.*addr=//')
	timeout 900 "$OUT/shequ" simulate --bare-receiver 127.0.0.1:0 --panels "$SIM_PANELS" --duration 900s 2>"$OUT/bare-$dialect.log" &
	local bare_pid=$!
	wait_log "$OUT/bare-$dialect.log" "bare SIA receiver listening"
	local bare_addr
	bare_addr=$(grep -o 'listening addr=[^ ]*' "$OUT/bare-$dialect.log" | sed 's/.*addr=//')

	echo "### $dialect: serve at $http, SIA $sia_addr; bare receiver at $bare_addr"
	echo
	timeout 300 "$OUT/shequ" simulate --setup --server "$http" --user director --password bench-password-1 --sia "$sia_addr" --panels "$SIM_PANELS" --duration 0 | sed 's/^/    /'
	echo
	local loads=("--concurrency 1 --rate 0" "--concurrency 8 --rate 0" "--concurrency 64 --rate 0" "--concurrency 64 --rate 5000")
	for l in "${loads[@]}"; do
		echo "$l  ($(load))"
		# shellcheck disable=SC2086
		simulate_side "store" "$sia_addr" $l
		# shellcheck disable=SC2086
		simulate_side "bare" "$bare_addr" $l
		echo
	done
	kill -TERM "$serve_pid" "$bare_pid" 2>/dev/null || true
	wait "$serve_pid" "$bare_pid" 2>/dev/null || true
	if [ -n "$dbname" ]; then
		timeout 20 psql "$PG_SERVER/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1 || true
	fi
}

if has simulate; then
	echo "## (2) shequ simulate: serve against the bare receiver, $SIM_PANELS panels, $SIM_DURATION a run"
	echo
	timeout 300 go build -o "$OUT/shequ" ./cmd/shequ
	simulate_dialect sqlite
	simulate_dialect postgres
fi

if has sse; then
	echo "## (3) event to console, go test -bench EventToConsole -benchtime ${SSE_N}x"
	echo
	load
	timeout 900 go test -run '^$' -bench EventToConsole -benchtime "${SSE_N}x" ./web/ 2>&1 | grep -v ' INFO ' | tee "$OUT/sse.txt"
	load
	echo
fi

if has mqtt; then
	echo "## (4) MQTT ingest, go test -bench IngestMosquitto -benchtime ${MQTT_N}x"
	echo
	load
	timeout 1200 go test -run '^$' -bench IngestMosquitto -benchtime "${MQTT_N}x" ./alarm/mqtt/ 2>&1 | grep -v ' INFO ' | tee "$OUT/mqtt.txt"
	load
	echo
fi
