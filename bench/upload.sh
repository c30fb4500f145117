#!/usr/bin/env bash
# upload.sh - upload throughput and many-slow-uploads benchmark for logs-collector.
#
#   make build && bench/upload.sh
#
# Not part of `make test`: it prints figures measured in one run on this machine.
# Everything happens on 127.0.0.1, in a temp directory (BENCH_DIR, default /tmp, must
# be on the disk you want to measure) that is removed at the end, and within
# BENCH_DEADLINE seconds (default 600). Every process it starts is stopped by PID.
#
# 1. Ceilings: dd of 1 GiB with fsync into DATA_DIR; `curl -T` of a 1 GiB random file
#    into bench/sink.c, an HTTP server that discards the body.
# 2. The same file uploaded to logs-collector (build/logs-collector, or $LC_BIN) with PUT
#    (`curl -T`) and with multipart (`curl -F file=@...`), BENCH_REPEAT times each
#    (default 3): MB/s from curl's time_total (MB = 10^6 bytes), median reported.
# 3. bench/slow-uploads.mjs: 1000 clients each PUT 1.5 MiB paced at 16 KiB per 100 ms,
#    with the server's RSS and health-check latency watched meanwhile.
# 4. A summary table with the targets and the reference implementation's figures.
# BENCH_SAVE=FILE keeps the slow-upload measurements (JSON, with per-second series).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LC_BIN:-$ROOT/build/logs-collector}
DEADLINE=${BENCH_DEADLINE:-600}
REPEAT=${BENCH_REPEAT:-3}
CLIENTS=${BENCH_CLIENTS:-1000}
SIZE=$((1024 * 1024 * 1024))
SLOW_SIZE=$((1536 * 1024))
TICKETS=$(((CLIENTS + 99) / 100 + 1)) # 100 attempts each; the first one is for the big uploads

[ -x "$BIN" ] || { echo "upload.sh: $BIN not found: run 'make build' first" >&2; exit 2; }
for tool in cc curl node dd head; do
    command -v "$tool" >/dev/null || { echo "upload.sh: $tool is required" >&2; exit 2; }
done

# 1000 sockets in the client, 1000 sockets + 1000 temp files in the server.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard"
if [ "$(ulimit -n)" -lt $((2 * CLIENTS + 256)) ]; then
    echo "upload.sh: ulimit -n is $(ulimit -n), need $((2 * CLIENTS + 256))" >&2
    exit 2
fi

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/lc-bench-XXXXXX")
DATA_DIR=$WORK/data
mkdir -p "$DATA_DIR"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "upload.sh: interrupted" >&2; exit 130' INT TERM

BENCH_NAME=upload.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

echo "logs-collector upload benchmark - $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
    "$(uname -r), temp dir $WORK ($(df -PT "$WORK" | awk 'NR==2 { print $2 }'))"

# --- the test file: 1 GiB of random bytes, kept in the page cache ---
timeout "$(left)" head -c "$SIZE" /dev/urandom >"$WORK/big"
sync "$WORK/big" # its writeback must not compete with the measurements
cat "$WORK/big" >/dev/null
BIG_SHA=$(sha256sum "$WORK/big" | cut -d' ' -f1)

# --- 1. ceilings ---
echo
echo "1. Ceilings"
dd_out=$(timeout "$(left)" dd if=/dev/zero of="$DATA_DIR/x" bs=1M count=1024 conv=fsync 2>&1)
dd_s=$(printf '%s\n' "$dd_out" | sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p')
rm -f "$DATA_DIR/x"
DD_MBPS=$(mbps "$SIZE" "$dd_s")
echo "  dd 1 GiB + fsync into DATA_DIR: $dd_s s = $DD_MBPS MB/s"

cc -O2 -o "$WORK/sink" "$ROOT/bench/sink.c"
sink_runs=()
for ((r = 1; r <= REPEAT; r++)); do
    # shellcheck disable=SC2119 # no --tus: a plain sink
    start_sink
    PIDS+=("$SINK_PID")
    out=$(timeout "$(left)" curl -sS -o /dev/null -w '%{http_code} %{time_total}' \
        -T "$WORK/big" "http://127.0.0.1:$SINK_PORT/upload/x/big")
    wait "$SINK_PID" || { echo "upload.sh: sink failed" >&2; exit 1; }
    [ "${out%% *}" = 201 ] || { echo "upload.sh: sink answered $out" >&2; exit 1; }
    sink_runs+=("$(mbps "$SIZE" "${out#* }")")
done
SINK_MBPS=$(median "${sink_runs[@]}")
echo "  curl -T 1 GiB into a discarding sink: ${sink_runs[*]} MB/s, median $SINK_MBPS MB/s"

# --- the server ---
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ADMIN_PW=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# every client comes from 127.0.0.1: lift MAX_CONNECTIONS_PER_IP (default 100)
env -i PATH="$PATH" DATA_DIR="$DATA_DIR" BIND="127.0.0.1:$PORT" ALLOWED_HOSTS=127.0.0.1 \
    MAX_CONNECTIONS_PER_IP=0 ADMIN_USERNAME=bench ADMIN_PASSWORD="$ADMIN_PW" LOG_LEVEL=warning \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for _ in $(seq 200); do
    curl -sf -o /dev/null "$BASE/api/v1/check/health/" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf -o /dev/null "$BASE/api/v1/check/health/" || {
    echo "upload.sh: server not healthy" >&2
    cat "$WORK/server.log" >&2
    exit 1
}
ACCESS=$(curl -sf -X POST "$BASE/api/v1/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\": \"bench\", \"password\": \"$ADMIN_PW\"}" | jget access)
AUTH="Authorization: Bearer $ACCESS"
curl -sf -o /dev/null -X POST "$BASE/api/v1/platforms/" -H "$AUTH" \
    -H 'Content-Type: application/json' -d '{"name": "bench", "pretty_name": "Benchmark"}'
: >"$WORK/tokens"
for ((t = 1; t <= TICKETS; t++)); do
    tok=$(curl -sf -X POST "$BASE/api/v1/tickets/" -H "$AUTH" -H 'Content-Type: application/json' \
        -d "{\"number\": $t, \"platform\": \"bench\", \"attempts\": 100}" | jget token)
    [ -n "$tok" ] || { echo "upload.sh: cannot create ticket $t" >&2; exit 1; }
    if [ "$t" = 1 ]; then BIG_TOKEN=$tok; else echo "$tok" >>"$WORK/tokens"; fi
done

# --- 2. one big upload, PUT and multipart ---
echo
echo "2. 1 GiB upload to logs-collector (server: $BIN, THREADS = $(nproc))"
put_runs=()
form_runs=()
# shellcheck disable=SC2034 # filled through acc_ticks' nameref
put_ticks=() form_ticks=()
put_wall=0
form_wall=0
for ((r = 1; r <= REPEAT; r++)); do
    t0=$(ticks)
    out=$(timeout "$(left)" curl -sS -o "$WORK/put.json" -w '%{http_code} %{time_total}' \
        -T "$WORK/big" "$BASE/upload/$BIG_TOKEN/")
    [ "${out%% *}" = 201 ] || { echo "upload.sh: PUT answered $out: $(cat "$WORK/put.json")" >&2; exit 1; }
    sha=$(jget sha256 <"$WORK/put.json")
    [ "$sha" = "$BIG_SHA" ] || { echo "upload.sh: PUT stored sha256 $sha, want $BIG_SHA" >&2; exit 1; }
    put_runs+=("$(mbps "$SIZE" "${out#* }")")
    acc_ticks put_ticks "$t0" "$(ticks)"
    put_wall=$(awk -v a="$put_wall" -v b="${out#* }" 'BEGIN { print a + b }')

    t0=$(ticks)

    out=$(timeout "$(left)" curl -sS -o "$WORK/form.json" -w '%{http_code} %{time_total}' \
        -H "Upload-Token: $BIG_TOKEN" -F "file=@$WORK/big" "$BASE/api/v1/archives/")
    [ "${out%% *}" = 201 ] || { echo "upload.sh: multipart answered $out: $(cat "$WORK/form.json")" >&2; exit 1; }
    form_runs+=("$(mbps "$SIZE" "${out#* }")")
    acc_ticks form_ticks "$t0" "$(ticks)"
    form_wall=$(awk -v a="$form_wall" -v b="${out#* }" 'BEGIN { print a + b }')
done
PUT_MBPS=$(median "${put_runs[@]}")
FORM_MBPS=$(median "${form_runs[@]}")
echo "  PUT (curl -T):       ${put_runs[*]} MB/s, median $PUT_MBPS MB/s = $(pct "$PUT_MBPS" "$SINK_MBPS") of the sink"
echo "    $(cpu_line put_ticks "$put_wall")"
echo "  multipart (curl -F): ${form_runs[*]} MB/s, median $FORM_MBPS MB/s = $(pct "$FORM_MBPS" "$SINK_MBPS") of the sink"
echo "    $(cpu_line form_ticks "$form_wall")"

# --- 3. many slow uploads ---
echo
echo "3. $CLIENTS concurrent slow uploads (1.5 MiB each, 16 KiB per 100 ms per client)"
timeout "$(left)" node "$ROOT/bench/slow-uploads.mjs" --port "$PORT" --tokens "$WORK/tokens" \
    --pid "$SERVER_PID" --tmpdir "$DATA_DIR/tmp" --out "$WORK/slow.json" --clients "$CLIENTS" \
    --size "$SLOW_SIZE" --chunk 16384 --interval 100 --timeout 180
S() { node -e 'const r=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],r);console.log(typeof v==="number"?(Number.isInteger(v)?v:v.toFixed(2)):JSON.stringify(v))' "$WORK/slow.json" "$1"; }
[ -z "${BENCH_SAVE:-}" ] || cp "$WORK/slow.json" "$BENCH_SAVE"
SLOW_OK=$(S ok)
SLOW_PROG=$(S max_server_progressing_per_s)
SLOW_OPEN=$(S max_open)
SLOW_WALL=$(S wall_s)
SLOW_P50=$(S completion_s.p50)
SLOW_P99=$(S completion_s.p99)
RSS_IDLE=$(S rss_kib.idle)
RSS_MAX=$(S rss_kib.max)
RSS_STREAM=$(S rss_kib.streaming)
H_P50=$(S health_ms.p50)
H_P99=$(S health_ms.p99)
H_MAX=$(S health_ms.max)
H_N=$(S health_ms.n)
H_BETWEEN=$(S health_ms.max_between)
RSS_MAX_MB=$(awk -v k="$RSS_MAX" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
RSS_STREAM_MB=$(awk -v k="$RSS_STREAM" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
RSS_PER=$(awk -v a="$RSS_STREAM" -v b="$RSS_IDLE" -v n="$CLIENTS" 'BEGIN { printf "%.1f", (a - b) / n }')
echo "  server RSS per streaming upload: ($RSS_STREAM - $RSS_IDLE) KiB / $CLIENTS = $RSS_PER KiB"
if [ "$SLOW_OK" != "$CLIENTS" ]; then
    echo "  not every upload succeeded: $(S statuses); first failure: $(S first_failure)"
    echo "  server log (last lines):"
    grep -v '"GET /api/v1/check/health/' "$WORK/server.log" | tail -n 5 | sed 's/^/    /'
fi

# --- 4. summary ---
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == ">=" ? v >= t : v < t; print ok ? "met" : "MISSED" }'; }
echo
echo "Summary ($(date -u '+%Y-%m-%d'), $(nproc) cores; MB = 10^6 bytes)"
printf '  %-44s %16s %12s %10s %8s\n' figure measured target reference verdict
printf '  %-44s %16s %12s %10s %8s\n' "dd 1 GiB + fsync (MB/s)" "$DD_MBPS" - - -
printf '  %-44s %16s %12s %10s %8s\n' "curl -T into discard sink (MB/s)" "$SINK_MBPS" - - -
printf '  %-44s %16s %12s %10s %8s\n' "PUT 1 GiB (MB/s)" "$PUT_MBPS" ">= 450" 154 "$(verdict "$PUT_MBPS" '>=' 450)"
printf '  %-44s %16s %12s %10s %8s\n' "  PUT / sink" "$(pct "$PUT_MBPS" "$SINK_MBPS")" - - -
printf '  %-44s %16s %12s %10s %8s\n' "  PUT / dd" "$(pct "$PUT_MBPS" "$DD_MBPS")" - - -
printf '  %-44s %16s %12s %10s %8s\n' "multipart 1 GiB (MB/s)" "$FORM_MBPS" ">= 450" 154 "$(verdict "$FORM_MBPS" '>=' 450)"
printf '  %-44s %16s %12s %10s %8s\n' "  multipart / sink" "$(pct "$FORM_MBPS" "$SINK_MBPS")" - - -
printf '  %-44s %16s %12s %10s %8s\n' "slow uploads answered 201" "$SLOW_OK/$CLIENTS" "$CLIENTS" - "$(verdict "$SLOW_OK" '>=' "$CLIENTS")"
printf '  %-44s %16s %12s %10s %8s\n' "slow uploads progressing at once (server)" "$SLOW_PROG" "$CLIENTS" 4 "$(verdict "$SLOW_PROG" '>=' "$CLIENTS")"
printf '  %-44s %16s %12s %10s %8s\n' "slow uploads open at once (client)" "$SLOW_OPEN" "$CLIENTS" - -
printf '  %-44s %16s %12s %10s %8s\n' "slow run wall time (s; pacing alone 9.6)" "$SLOW_WALL" - - -
printf '  %-44s %16s %12s %10s %8s\n' "slow upload completion p50 / p99 (s)" "$SLOW_P50 / $SLOW_P99" - - -
printf '  %-44s %16s %12s %10s %8s\n' "server RSS max (MB)" "$RSS_MAX_MB" "< 64" - "$(verdict "$RSS_MAX_MB" '<' 64)"
printf '  %-44s %16s %12s %10s %8s\n' "  while all uploads stream (MB)" "$RSS_STREAM_MB" "< 64" - "$(verdict "$RSS_STREAM_MB" '<' 64)"
printf '  %-44s %16s %12s %10s %8s\n' "  per streaming upload (KiB)" "$RSS_PER" - - -
printf '  %-44s %16s %12s %10s %8s\n' "health p50 / p99 / max (ms, $H_N probes)" "$H_P50 / $H_P99 / $H_MAX" "p99 < 20" "5000-10000" "$(verdict "$H_P99" '<' 20)"
printf '  %-44s %16s %12s %10s %8s\n' "  health max/s, first and last s left out (ms)" "$H_BETWEEN" - - -
printf '  %-44s %16s\n' "  health max per 1 s slot (ms)" "$(S health_ms.max_per_s | tr -d '[]' | tr ',' ' ')"
