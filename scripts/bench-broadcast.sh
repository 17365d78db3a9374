#!/usr/bin/env bash
# bench-broadcast.sh — one loudspeaker zone served to LISTENERS listeners
# from shequ's own stream (GET /broadcast/zones/g01/stream) and from a
# real icecast2 serving the same zone as mount /zone-g01 (shequ its
# source), side by side in one run, as docs/benchmarks.md "Broadcast"
# reports: CPU (user+system seconds from /proc/PID/stat over SECONDS_
# seconds of listening) and resident memory (VmRSS) of each server, with
# a baseline of each with no listeners. The listeners are curl processes
# (their CPU is not counted). Also the slot rendering benchmark
# (go test -bench BenchmarkRenderSlot).
#
# Everything listens on 127.0.0.1. Knobs: OUT, LISTENERS, SECONDS_,
# RENDER=0 to leave the rendering benchmark out.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-/tmp/shequ-bench-broadcast}
LISTENERS=${LISTENERS:-200}
SECONDS_=${SECONDS_:-30}
rm -rf "$OUT" && mkdir -p "$OUT/data" "$OUT/ice"
chmod 777 "$OUT/ice"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

echo "# shequ broadcast benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "- cores: $(nproc); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $(icecast2 -v 2>&1 | head -1); $(go version)"
echo

timeout 300 go build -o "$OUT/shequ" ./cmd/shequ

ice_port=$(free_port)
owner=""
[ "$(id -u)" = 0 ] && owner="<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
cat > "$OUT/ice/icecast.xml" <<XML
<icecast>
  <limits><clients>$((LISTENERS + 50))</clients><sources>40</sources><queue-size>524288</queue-size><burst-size>65535</burst-size></limits>
  <authentication><source-password>src-secret</source-password><admin-user>admin</admin-user><admin-password>adm-secret</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>$ice_port</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>$OUT/ice</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>$owner</security>
</icecast>
XML
icecast2 -c "$OUT/ice/icecast.xml" >"$OUT/ice/out.log" 2>&1 &
ice_pid=$!
pids+=("$ice_pid")

http_port=$(free_port)
SHEQU_LOG_LEVEL=warn "$OUT/shequ" serve --demo --data "$OUT/data" --http "127.0.0.1:$http_port" --sia "" \
	--icecast "http://source:src-secret@127.0.0.1:$ice_port" >"$OUT/shequ.log" 2>&1 &
shequ_pid=$!
pids+=("$shequ_pid")

for _ in $(seq 1 600); do
	curl -fs "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
for _ in $(seq 1 600); do
	curl -fs -u admin:adm-secret "http://127.0.0.1:$ice_port/admin/stats" 2>/dev/null | grep -q '<source mount="/zone-g01">' && break
	sleep 0.1
done
sleep 3

# measure PID NAME: CPU seconds over SECONDS_ and VmRSS at the end
measure() {
	local pid=$1 t0 t1
	t0=$(ticks "$pid")
	sleep "$SECONDS_"
	t1=$(ticks "$pid")
	awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$SECONDS_" -v r="$(rss "$pid")" \
		'BEGIN { printf "%.2f CPU s in %d s (%.1f%% of a core), VmRSS %.1f MiB", (b-a)/hz, s, 100*(b-a)/hz/s, r/1024 }'
}

listen() { # URL: start LISTENERS curls; their pids in $OUT/curls
	: >"$OUT/curls"
	for _ in $(seq 1 "$LISTENERS"); do
		curl -s -o /dev/null "$1" &
		echo $! >>"$OUT/curls"
	done
	sleep 5 # all connected and streaming
}
stop_listening() {
	xargs kill <"$OUT/curls" 2>/dev/null || true
	sleep 2
}

echo "## Serving one zone to $LISTENERS listeners"
echo
echo "| | shequ (embedded stream, and source of 15 mounts) | icecast2 |"
echo "|---|---|---|"
echo "| no listeners | $(measure "$shequ_pid") | $(measure "$ice_pid") |"
listen "http://127.0.0.1:$http_port/broadcast/zones/g01/stream"
connected=$(ss -tn state established "( sport = :$http_port )" | tail -n +2 | wc -l)
echo "| $LISTENERS listeners on shequ's stream ($connected connected) | $(measure "$shequ_pid") | — |"
stop_listening
listen "http://127.0.0.1:$ice_port/zone-g01"
connected=$(ss -tn state established "( sport = :$ice_port )" | tail -n +2 | wc -l)
ice=$(measure "$ice_pid") # shequ measured in the same window below would double the time: take icecast's, then shequ's
echo "| $LISTENERS listeners on icecast2's mount ($connected connections, with the 15 sources) | $(measure "$shequ_pid") | $ice |"
stop_listening
listeners=$(curl -fs -u admin:adm-secret "http://127.0.0.1:$ice_port/admin/stats" | grep -o '<listeners>[0-9]*</listeners>' | head -1)
echo
echo "- icecast2 /admin/stats after: $listeners"
echo
if [ "${RENDER:-1}" != 0 ]; then
	echo "## Rendering a 20-minute slot"
	echo
	go test -run '^$' -bench BenchmarkRenderSlot -benchtime 2x ./broadcast/render/ 2>/dev/null | grep -E 'x_realtime' || true
	echo
fi
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
