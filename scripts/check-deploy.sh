#!/usr/bin/env bash
# check-deploy.sh: checks the deployment files in deploy/ with what this
# machine has, and runs the HTTP half of issue 16's "kill a node" rule.
#
#   1. deploy/Dockerfile: its build command is run here as written (a static
#      binary, CGO_ENABLED=0); with a Docker daemon the image is built, run
#      and its /readyz polled.
#   2. deploy/compose.yaml: docker compose config, or a YAML parse and
#      checks of what matters (two nodes, their own names and MQTT ids).
#   3. deploy/shequ.service: systemd-analyze verify and security.
#   4. deploy/icecast.xml and deploy/mosquitto.conf: started for real on
#      loopback ports.
#   5. deploy/haproxy.cfg for real: two shequ nodes (the binary from 1) on
#      one PostgreSQL database behind HAProxy with TLS; /readyz and a
#      signed-in request through it; one node SIGKILLed; every request
#      after that must still succeed.
# Every SHEQU_ variable the files set must be one shequ serve reads.
#
# What the machine lacks is skipped with a message, and fails under CI=true
# (except Docker, which CI does not have either: said plainly). PostgreSQL:
# $SHEQU_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# the script makes a database of its own and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
chmod 0711 "$work" # brokers started as root drop to their own user and read here
pids=()
db=""
pgbase=${SHEQU_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
pgserver=${pgbase%/*}

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $db ]]; then
		psql -q "$pgserver/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if [[ -n ${SHEQU_CHECK_KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok   %s\n' "$*"; }
fail() {
	printf 'FAIL %s\n' "$*" >&2
	exit 1
}
# skip: locally a missing tool skips the part; in CI it must be there.
skip() {
	if [[ ${CI:-} == true ]]; then fail "$* (CI=true: it must run)"; fi
	printf 'SKIP %s\n' "$*"
}
have() { command -v "$1" >/dev/null 2>&1; }
# listening PORT: something accepts TCP connections on loopback there.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		listening "$p" || {
			echo "$p"
			return
		}
	done
}
# wait_http URL [CURL-ARGS…]: until URL answers 200, 60 s at most.
wait_http() {
	local url=$1
	shift
	for _ in $(seq 1 240); do
		if curl -fsS -o /dev/null "$@" "$url" 2>/dev/null; then return 0; fi
		sleep 0.25
	done
	return 1
}

# ---------------------------------------------------------------- Dockerfile
step "deploy/Dockerfile"
df=deploy/Dockerfile
gov=$(go env GOVERSION)
grep -qE "^ARG GO_VERSION=${gov#go}\$" $df || fail "$df: ARG GO_VERSION is not this machine's Go (${gov#go})"
[[ $(grep -cE '^FROM ' $df) == 2 ]] || fail "$df: not two stages"
grep -qE '^FROM golang:.* AS build$' $df || fail "$df: no golang build stage"
grep -qE '^USER [1-9][0-9]*:[1-9][0-9]*$' $df || fail "$df: the runtime does not run as a non-root numeric user"
grep -qE '^VOLUME \["/data"\]$' $df || fail "$df: no /data volume"
grep -qE 'HEALTHCHECK .*' $df && grep -q '/readyz' $df || fail "$df: no HEALTHCHECK on /readyz"
grep -qE '^ENTRYPOINT \["/usr/local/bin/shequ", "serve"\]$' $df || fail "$df: the entrypoint is not shequ serve"
tr '\n' ' ' <$df | grep -qE 'apt-get install [^&]*espeak-ng ffmpeg' || fail "$df: the runtime lacks espeak-ng and ffmpeg"
ok "two stages, Go ${gov#go}, non-root, /data, HEALTHCHECK /readyz, entrypoint shequ serve, espeak-ng and ffmpeg"
# The build stage's command, as written there, with the output moved here.
build=$(grep -E '^RUN CGO_ENABLED=0 ' $df | sed -e 's/^RUN //' -e 's/\${VERSION}/check-deploy/' -e "s#-o /out/shequ#-o $work/shequ#")
[[ $build == *"CGO_ENABLED=0"*"go build"* ]] || fail "$df: no CGO_ENABLED=0 go build line"
echo "running: $build"
(eval "$build")
# ldd fails on a static binary, saying so.
linked=$(ldd "$work/shequ" 2>&1 || true)
grep -qE 'not a dynamic executable|statically linked' <<<"$linked" || fail "the binary is not static: $linked"
[[ $("$work/shequ" version) == *check-deploy* ]] || fail "the version did not reach the binary"
ok "the Dockerfile's build command makes a static binary ($(du -m "$work/shequ" | cut -f1) MB)"

# ---------------------------------------------------------------- flags
step "flags: every SHEQU_ variable the deployment files set is read by shequ"
"$work/shequ" serve --help >"$work/serve-help" 2>&1
grep -o '\[SHEQU_[A-Z0-9_]*\]' "$work/serve-help" | tr -d '[]' | sort -u >"$work/flag-env"
# Read by shequ outside the flags (README): the admin's password at start,
# the backup passphrase, the S3 endpoint.
printf '%s\n' SHEQU_ADMIN_PASSWORD SHEQU_BACKUP_PASSPHRASE SHEQU_S3_ENDPOINT >>"$work/flag-env"
used=$(grep -ohE '\bSHEQU_[A-Z0-9_]+' deploy/compose.yaml deploy/env.example deploy/shequ.service docs/deploy.md | sort -u)
for v in $used; do
	case $v in SHEQU_LB_* | SHEQU_NODE1 | SHEQU_NODE2 | SHEQU_TEST_POSTGRES) continue ;; esac # haproxy.cfg's and this script's own
	grep -qx "$v" "$work/flag-env" || fail "$v is set in deploy/ or docs/deploy.md but shequ serve reads no such variable"
done
ok "$(wc -w <<<"$used") variables named, all real"
for f in $(grep -ohE '(^|[ `(])--[a-z][a-z0-9-]+' docs/deploy.md deploy/* | grep -oE -- '--[a-z0-9-]+' | sort -u); do
	case $f in --build | --build-arg | --env-file | --no-install-recommends | --offline | --stanza | --type | --target | --system | --uid | --gid | --home-dir | --no-create-home | --shell | --start-period | --interval | --timeout | --retries | --to | --keep | --now | --always | --force | --verify | --help | --from) ;; # other programs' flags and other shequ commands'
	*) grep -qE -- "^  -${f#--}( |$)" "$work/serve-help" || fail "$f is named in docs/deploy.md or deploy/ but shequ serve has no such flag" ;;
	esac
done
ok "every shequ serve flag named in docs/deploy.md and deploy/ exists"


if have docker && docker info >/dev/null 2>&1; then
	port=$(free_port)
	docker build -f $df -t shequ:check-deploy --build-arg VERSION=check-deploy .
	cid=$(docker run -d --rm -p "127.0.0.1:$port:8080" shequ:check-deploy)
	trap 'docker stop '"$cid"' >/dev/null 2>&1 || true; cleanup' EXIT
	wait_http "http://127.0.0.1:$port/readyz" || fail "the container's /readyz did not answer 200: $(docker logs "$cid" 2>&1 | tail -20)"
	[[ $(docker exec "$cid" id -u) != 0 ]] || fail "the container runs as root"
	docker exec "$cid" sh -c 'command -v espeak-ng && command -v ffmpeg' >/dev/null || fail "espeak-ng or ffmpeg missing in the image"
	for _ in $(seq 1 90); do
		h=$(docker inspect -f '{{.State.Health.Status}}' "$cid")
		[[ $h == healthy ]] && break
		sleep 1
	done
	[[ $h == healthy ]] || fail "the container's HEALTHCHECK says $h"
	ok "image built and run: /readyz 200, non-root, healthy"
else
	# Not a skip that CI fails: CI has no Docker daemon either.
	printf 'NOT RUN: docker build/run of deploy/Dockerfile: no Docker daemon here (%s); the same build command ran above, and the runtime stage was not built.\n' \
		"$(if have docker; then docker info 2>&1 | grep -m1 -i 'cannot connect\|error' || true; else echo 'docker not installed'; fi)"
fi

# ---------------------------------------------------------------- compose
step "deploy/compose.yaml"
cat >"$work/compose.env" <<EOF
SHEQU_KEY=$(openssl rand -hex 32)
POSTGRES_PASSWORD=$(openssl rand -hex 16)
MQTT_PASSWORD=$(openssl rand -hex 16)
ICECAST_SOURCE_PASSWORD=$(openssl rand -hex 16)
ICECAST_ADMIN_PASSWORD=$(openssl rand -hex 16)
EOF
if have docker && docker compose version >/dev/null 2>&1; then
	docker compose --env-file "$work/compose.env" -f deploy/compose.yaml config -q
	ok "docker compose config accepts it"
else
	printf 'NOT RUN: docker compose config (the compose plugin is not installed here); a YAML parse checks it instead.\n'
fi
if have python3 && python3 -c 'import yaml' 2>/dev/null; then
	python3 - deploy/compose.yaml <<'PY'
import os, sys, yaml
path = sys.argv[1]
c = yaml.safe_load(open(path))  # resolves the << merge keys
base = os.path.dirname(path)
s = c["services"]
want = {"shequ-1", "shequ-2", "lb", "postgres", "icecast", "mosquitto"}
assert set(s) == want, f"services {sorted(s)}, want {sorted(want)}"
nodes = [s["shequ-1"], s["shequ-2"]]
for n in nodes:
    assert n["build"]["dockerfile"] == "deploy/Dockerfile", n["build"]
    assert os.path.exists(os.path.join(base, n["build"]["context"], n["build"]["dockerfile"]))
    e = n["environment"]
    for k in ("SHEQU_DB", "SHEQU_KEY", "SHEQU_MQTT", "SHEQU_MQTT_CLIENT_ID", "SHEQU_TRUST_PROXY", "SHEQU_SECURE_COOKIES", "SHEQU_ICECAST"):
        assert k in e, f"a node lacks {k}"
    assert e["SHEQU_DB"].startswith("postgres://") and "@postgres:5432/" in e["SHEQU_DB"]
    assert n["depends_on"]["postgres"]["condition"] == "service_healthy"
assert nodes[0]["hostname"] != nodes[1]["hostname"], "the nodes share a name"
assert nodes[0]["environment"]["SHEQU_MQTT_CLIENT_ID"] == nodes[1]["environment"]["SHEQU_MQTT_CLIENT_ID"], "the nodes must share the deployment's MQTT client id (one subscribes at a time)"
assert nodes[0]["volumes"][0] != nodes[1]["volumes"][0], "the nodes share a data volume"
for n in nodes:
    assert n["environment"]["SHEQU_MEDIA"] == "/media" and "media:/media" in n["volumes"], "the nodes do not share their media"
for svc in s.values():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("./") and not src.startswith("./certs/"):
            assert os.path.exists(os.path.join(base, src)), f"{src} is mounted but missing"
assert "COPY icecast.xml" in s["icecast"]["build"]["dockerfile_inline"]
lb = " ".join(s["lb"]["volumes"])
assert "haproxy.cfg" in lb
print("ok   YAML parses: 6 services, 2 nodes with their own hostname, MQTT client id and volume, files mounted exist")
PY
else
	skip "YAML parse of deploy/compose.yaml (python3 with PyYAML missing)"
fi

# ---------------------------------------------------------------- systemd
step "deploy/shequ.service"
if have systemd-analyze; then
	# verify checks that ExecStart exists: point it at the binary built above.
	sed "s#^ExecStart=/usr/local/bin/shequ#ExecStart=$work/shequ#" deploy/shequ.service >"$work/shequ.service"
	out=$(systemd-analyze verify "$work/shequ.service" 2>&1) || fail "systemd-analyze verify: $out"
	# verify exits 0 on unknown keys and the like: any word from it is a fault.
	[[ -z $out ]] || fail "systemd-analyze verify: $out"
	ok "systemd-analyze verify: no complaint"
	sec=$(systemd-analyze security --offline=yes "$work/shequ.service" 2>&1 | grep -o 'Overall exposure level for shequ.service: [0-9.]*' | grep -o '[0-9.]*$')
	[[ -n $sec ]] || fail "systemd-analyze security gave no exposure level"
	awk -v s="$sec" 'BEGIN { exit !(s <= 2.0) }' || fail "systemd-analyze security: exposure $sec, above 2.0"
	ok "systemd-analyze security --offline: exposure $sec (0 best, 10 worst)"
	echo "not run: the unit under a running systemd (this machine's PID 1 is not systemd)"
else
	skip "deploy/shequ.service (systemd-analyze missing)"
fi

# ---------------------------------------------------------------- Icecast, Mosquitto
step "deploy/icecast.xml and deploy/mosquitto.conf, started for real"
mqport=""
if have icecast2; then
	iport=$(free_port)
	mkdir -m 0777 "$work/icecast-log"
	owner=""
	[[ $(id -u) == 0 ]] && owner='<changeowner><user>nobody</user><group>nogroup</group></changeowner>'
	sed -e "s/@SOURCE_PASSWORD@/src$RANDOM/" -e "s/@ADMIN_PASSWORD@/adm$RANDOM/" -e "s/@PORT@/$iport/" \
		-e "s#@LOGDIR@#$work/icecast-log#" -e "s#@CHANGEOWNER@#$owner#" deploy/icecast.xml >"$work/icecast.xml"
	chmod 0644 "$work/icecast.xml"
	icecast2 -c "$work/icecast.xml" >"$work/icecast.out" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$iport/status-json.xsl" || fail "icecast2 with deploy/icecast.xml did not answer: $(cat "$work/icecast.out")"
	ok "icecast2 runs with deploy/icecast.xml"
else
	skip "deploy/icecast.xml (icecast2 missing)"
fi
if have mosquitto && have mosquitto_passwd; then
	mqport=$(free_port)
	mqpass=$(openssl rand -hex 16)
	mkdir -m 0777 "$work/mosquitto"
	mosquitto_passwd -c -b "$work/mosquitto/passwd" shequ "$mqpass" 2>/dev/null
	# As deploy/compose.yaml leaves it: the broker's own, nobody else's.
	if [[ $(id -u) == 0 ]] && id mosquitto >/dev/null 2>&1; then
		chown mosquitto: "$work/mosquitto/passwd"
		chmod 0600 "$work/mosquitto/passwd"
	else
		chmod 0644 "$work/mosquitto/passwd"
	fi
	sed -e "s#/mosquitto/data/#$work/mosquitto/#" -e "s#^listener 1883#listener $mqport 127.0.0.1#" deploy/mosquitto.conf >"$work/mosquitto.conf"
	mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 40); do listening "$mqport" && break; sleep 0.25; done
	listening "$mqport" || fail "mosquitto with deploy/mosquitto.conf did not listen: $(cat "$work/mosquitto.out")"
	ok "mosquitto runs with deploy/mosquitto.conf (password file, no anonymous clients)"
else
	skip "deploy/mosquitto.conf (mosquitto missing)"
fi

# ---------------------------------------------------------------- HAProxy + 2 nodes
step "deploy/haproxy.cfg for real: two nodes on one PostgreSQL, one killed"
have haproxy || { skip "the HAProxy run (haproxy missing)" && exit 0; }
pg_isready -q -d "$pgbase" || { skip "the HAProxy run (no PostgreSQL at $pgbase)" && exit 0; }
db="shequ_deploy_check_$$"
psql -q "$pgserver/postgres" -c "CREATE DATABASE $db" >/dev/null
dburl="$pgserver/$db?sslmode=disable"
key=$(openssl rand -hex 32)
adminpw="check-$(openssl rand -hex 8)"
# Each node's name is its host name (the lease holder); two processes on
# one host would share it, so each gets a UTS namespace of its own where
# the machine allows (root).
named() { # named NAME CMD…
	local name=$1
	shift
	if unshare -u true 2>/dev/null; then
		exec unshare -u sh -c 'hostname "$0" && exec "$@"' "$name" "$@"
	else
		exec "$@"
	fi
}
unshare -u true 2>/dev/null || echo "note: unshare -u is not allowed here: both nodes carry this host's name (and share the lease holder name)"
declare -A http
start_node() { # start_node N
	local n=$1
	http[$n]=127.0.0.1:$(free_port)
	local mq=()
	[[ -n $mqport ]] && mq=(--mqtt "tcp://127.0.0.1:$mqport" --mqtt-user shequ --mqtt-client-id "shequ-check-$$")
	SHEQU_KEY=$key SHEQU_MQTT_PASSWORD=${mqpass:-} SHEQU_ADMIN_PASSWORD=$adminpw \
		named "check-node-$n" "$work/shequ" serve --db "$dburl" --http "${http[$n]}" --sia "" \
		--data "$work/node-$n" --media "$work/media" --trust-proxy --secure-cookies "${mq[@]}" >"$work/node-$n.log" 2>&1 &
	pids+=($!)
	eval "node${n}_pid=$!"
	wait_http "http://${http[$n]}/readyz" || fail "node $n did not become ready: $(tail -20 "$work/node-$n.log")"
	ok "node $n ready on ${http[$n]} ($(grep -o 'startup=[^ ]*' "$work/node-$n.log" | head -1))"
}
# One after the other: the first start migrates the new database.
start_node 1
start_node 2
# subscribed_as N: node N's log says it subscribed at Mosquitto under the
# deployment's one client id. (Mosquitto's own log is block-buffered into
# its file: ask the node.)
subscribed_as() { grep -q "mqtt: subscribed.*node=check-node-$1 .*client_id=shequ-check-$$ " "$work/node-$1.log"; }
if [[ -n $mqport ]]; then
	# One node subscribes at a time (the mqtt-subscriber lease), under the
	# deployment's client id so the next one takes over its session: node 1
	# started first and leads, node 2 waits.
	for _ in $(seq 1 80); do subscribed_as 1 && break; sleep 0.25; done
	subscribed_as 1 || fail "node 1 did not subscribe at Mosquitto as shequ-check-$$: $(grep -i mqtt "$work/node-1.log" | tail -5)"
	! grep -q "mqtt: subscribed" "$work/node-2.log" || fail "node 2 subscribed while node 1 held the lease: $(grep -i mqtt "$work/node-2.log" | tail -3)"
	ok "node 1 signed in at Mosquitto (deploy/mosquitto.conf) and subscribed; node 2 waits for the lease"
fi

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
cat "$work/tls.crt" "$work/tls.key" >"$work/shequ.pem"
lbs=$(free_port)
lbh=$(free_port)
export SHEQU_LB_HTTPS=127.0.0.1:$lbs SHEQU_LB_HTTP=127.0.0.1:$lbh SHEQU_LB_CERT=$work/shequ.pem SHEQU_NODE1=${http[1]} SHEQU_NODE2=${http[2]}
haproxy -c -q -f deploy/haproxy.cfg || fail "haproxy -c rejects deploy/haproxy.cfg"
haproxy -db -f deploy/haproxy.cfg >"$work/haproxy.log" 2>&1 &
pids+=($!)
lb=https://127.0.0.1:$lbs
wait_http "$lb/readyz" -k || fail "/readyz through HAProxy: $(tail -5 "$work/haproxy.log")"
ok "/readyz answers 200 through HAProxy (TLS ended there)"
[[ $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$lbh/readyz") == "301 https://127.0.0.1:$lbh/readyz" ]] ||
	fail "plain HTTP is not redirected to HTTPS"
ok "plain HTTP redirects to HTTPS"
# Sign in through the proxy: the cookie must be Secure (--secure-cookies).
resp=$(curl -sk -D "$work/login.h" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$adminpw\",\"kind\":\"web\"}" "$lb/api/v1/auth/login")
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$resp")
[[ -n $token ]] || fail "sign-in through HAProxy failed: $resp"
grep -i '^set-cookie:' "$work/login.h" | grep -qi '; *secure' || fail "the session cookie is not Secure: $(grep -i set-cookie "$work/login.h")"
ok "signed in through HAProxy; the session cookie is Secure"
# The session is in the database: both nodes know it.
for n in 1 2; do
	[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://${http[$n]}/api/v1/auth/me") == 200 ]] ||
		fail "node $n does not know the session made through the proxy"
done
ok "the session works on either node"
# Requests before the kill reach both nodes (least connections, no stickiness).
for _ in $(seq 1 20); do curl -fsk -o /dev/null -H "Authorization: Bearer $token" "$lb/api/v1/auth/me"; done
for n in 1 2; do
	grep -q "shequ/shequ-$n .*auth/me" "$work/haproxy.log" || fail "HAProxy sent none of 20 requests to node $n"
done
ok "HAProxy spreads requests over both nodes"
before=$(wc -l <"$work/haproxy.log")

# Kill node 1 the hard way and go on asking at once: HAProxy must send every
# request to node 2 (a refused connection is retried there), before and
# after its health check marks node 1 down.
kill -9 "$node1_pid"
killed=$(date +%s.%N)
okc=0
for i in $(seq 1 60); do
	c1=$(curl -sk -o /dev/null -w '%{http_code}' "$lb/readyz")
	c2=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$lb/api/v1/auth/me")
	[[ $c1 == 200 && $c2 == 200 ]] || fail "request $i after the kill: /readyz $c1, /api/v1/auth/me $c2"
	okc=$((okc + 2))
	sleep 0.1
done
ok "node 1 SIGKILLed: all $okc requests through HAProxy after it succeeded ($(awk -v a="$killed" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s)"
grep -q 'shequ-1 is DOWN' "$work/haproxy.log" || fail "HAProxy never marked shequ-1 down"
# The log's retries field ("+1": redispatched) shows the requests that went
# to the dead node before its check failed and were sent on to node 2.
redispatched=$(tail -n +"$((before + 1))" "$work/haproxy.log" | grep -cE '/\+[1-9] [0-9]+/[0-9]+ "' || true)
[[ $redispatched -gt 0 ]] || fail "no request after the kill was redispatched: the failover path was not exercised"
ok "HAProxy marked shequ-1 down; $redispatched requests that met the dead node were sent on to node 2"
if [[ -n $mqport ]]; then
	for _ in $(seq 1 120); do subscribed_as 2 && break; sleep 0.25; done
	subscribed_as 2 || fail "node 2 did not take over the MQTT subscription after node 1 died: $(grep -i mqtt "$work/node-2.log" | tail -5)"
	ok "node 2 took over the MQTT subscription as shequ-check-$$ ($(awk -v a="$killed" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s after the kill)"
fi
echo "not checked here (the rest of issue 16's rule): alarms, SMS and live streams across the kill, leases taken over"
printf '\nall deploy checks passed\n'
