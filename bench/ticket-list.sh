#!/bin/bash
# ticket-list.sh [BIN...] - requests per second of GET /api/v1/tickets/ (200 tickets, JWT) with
# `wrk -t2 -c32`, for one or more builds side by side: a server per binary (default
# build/logs-collector), each seeded alike, measured in turns (BENCH_ROUNDS rounds of
# BENCH_DURATION each), then GET /api/v1/check/health/ once each for scale.
#
#   bench/ticket-list.sh /tmp/base/build/logs-collector build/logs-collector
#
# BENCH_PG_ADMIN_URL=postgres://...: every server gets a fresh PostgreSQL database there
# (dropped at the end) instead of SQLite in its DATA_DIR. Servers listen on 127.0.0.1 only
# and are stopped by their PID. BENCH_PATH measures another GET in the rounds (e.g.
# BENCH_PATH=/api/v1/check/health/ BENCH_TICKETS=0 for the health check alone). At the end:
# per server the median req/s and CPU per request of the rounds, and their ratio to server 1.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- build/logs-collector
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
TICKETS=${BENCH_TICKETS:-200}
URL_PATH=${BENCH_PATH:-/api/v1/tickets/}
command -v wrk >/dev/null || { echo "ticket-list.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/lc-bench-list.XXXXXX)
pids=()
dbs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for d in "${dbs[@]}"; do psql -X -q "$BENCH_PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# api PORT METHOD PATH [JSON] - one call with the JWT in $jwt; prints the body.
api() {
    curl -sf -X "$2" "http://127.0.0.1:$1$3" -H "Authorization: Bearer $jwt" \
        -H 'Content-Type: application/json' ${4:+-d "$4"}
}

ports=()
jwts=()
for i in $(seq 1 $#); do
    bin=${!i}
    dir=$work/data$i
    mkdir -m 0750 "$dir"
    port=$(free_port)
    dburl=
    if [ -n "${BENCH_PG_ADMIN_URL:-}" ]; then
        db=lc_bench_$$_$i
        psql -X -q "$BENCH_PG_ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
        dbs+=("$db")
        dburl=${BENCH_PG_ADMIN_URL%/*}/$db
    fi
    env -i PATH="$PATH" DATA_DIR="$dir" BIND="127.0.0.1:$port" ADMIN_USERNAME=admin \
        ADMIN_PASSWORD=bench-password-1 ALLOWED_HOSTS=127.0.0.1 MAX_CONNECTIONS_PER_IP=0 \
        ${dburl:+DB_URL=$dburl} "$bin" serve >"$work/server$i.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/api/v1/check/health/" >/dev/null && break
        sleep 0.1
    done
    jwt=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/token/" -H 'Content-Type: application/json' \
        -d '{"username":"admin","password":"bench-password-1"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')
    api "$port" POST /api/v1/platforms/ '{"name":"vm6","pretty_name":"VMmanager 6"}' >/dev/null
    for n in $(seq 1 "$TICKETS"); do
        api "$port" POST /api/v1/tickets/ "{\"number\":$n,\"platform\":\"vm6\",\"note\":\"ticket $n\"}" >/dev/null
    done
    got=$(api "$port" GET /api/v1/tickets/ | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
    [ "$got" = "$TICKETS" ] || { echo "server $i lists $got tickets, not $TICKETS" >&2; exit 1; }
    ports+=("$port")
    jwts+=("$jwt")
    echo "server $i: $bin on 127.0.0.1:$port, $TICKETS tickets${dburl:+ (PostgreSQL)}"
done

# cpu PID - the process's user + system CPU time so far, in clock ticks.
cpu() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# run I PATH - one wrk run on server I; prints "req/s p50 p99 cpu-us-per-request" (the
# server process's CPU time, which other load on the box disturbs less than req/s).
run() {
    local port=${ports[$1]} jwt=${jwts[$1]} pid=${pids[$1]} before out
    before=$(cpu "$pid")
    out=$(wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $jwt" "http://127.0.0.1:$port$2")
    awk -v ticks=$(($(cpu "$pid") - before)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
        /requests in/ {n=$1}
        END {printf "%s %s %s %.1fus\n", r, p50, p99, n ? ticks / hz / n * 1e6 : 0}' <<<"$out"
}

echo "GET $URL_PATH (wrk -t2 -c32 -d$DURATION): req/s, latency p50, p99, server CPU per request"
reqs=()
cpus=()
for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $(($# - 1))); do
        out=$(run "$i" "$URL_PATH")
        echo "round $round server $((i + 1)): $out"
        read -r rps _ _ us <<<"$out"
        reqs[i]="${reqs[i]:-} $rps"
        cpus[i]="${cpus[i]:-} ${us%us}"
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "medians of the $ROUNDS rounds (ratio to server 1):"
for i in $(seq 0 $(($# - 1))); do
    # shellcheck disable=SC2086 # space-separated numbers
    r=$(median ${reqs[i]})
    # shellcheck disable=SC2086
    c=$(median ${cpus[i]})
    [ "$i" = 0 ] && { r1=$r c1=$c; }
    echo "server $((i + 1)): $r req/s ($(awk -v a="$r" -v b="$r1" 'BEGIN { printf "%.3f", a / b }')), $c us CPU per request ($(awk -v a="$c" -v b="$c1" 'BEGIN { printf "%.3f", a / b }'))"
done
[ "$URL_PATH" != /api/v1/check/health/ ] || exit 0
echo "GET /api/v1/check/health/ (same wrk): req/s, latency p50, p99, server CPU per request"
for i in $(seq 0 $(($# - 1))); do
    echo "server $((i + 1)): $(run "$i" /api/v1/check/health/)"
done
