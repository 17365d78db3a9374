#!/usr/bin/env bash
# start-cpu.sh BIN [RUNS] — the CPU time (user + system, from /proc/PID/stat)
# and the wall time of `BIN serve --demo` from exec until /readyz first
# answers 200, on a data folder where the demo is already loaded (a second
# start), with both password variables set. CPU time moves far less with
# the machine's load than the wall time; compare builds in turn.
#
#   go build -o /tmp/shequ-new ./cmd/shequ && scripts/start-cpu.sh /tmp/shequ-new 3
set -euo pipefail
bin=$(realpath "$1")
runs=${2:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
port=$((20000 + RANDOM % 20000))
export SHEQU_ADMIN_PASSWORD=admin-password-1 SHEQU_DEMO_PASSWORD=demo-password-1
start() { # prints "cpu-ms wall-ms"
	local t0 t1 pid u s
	t0=$(date +%s%N)
	"$bin" serve --demo --http "127.0.0.1:$port" --sia 127.0.0.1:0 >>serve.log 2>&1 &
	pid=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.005; done
	t1=$(date +%s%N)
	read -r u s <<<"$(awk '{print $14, $15}' "/proc/$pid/stat")"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$(((u + s) * 1000 / $(getconf CLK_TCK))) $(((t1 - t0) / 1000000))"
}
start >/dev/null # the first start loads the demo
for i in $(seq 1 "$runs"); do
	read -r cpu wall <<<"$(start)"
	echo "second start $i: cpu ${cpu} ms, exec→/readyz ${wall} ms"
done
