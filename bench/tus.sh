#!/usr/bin/env bash
# tus.sh - resumable uploads (tus 1.0.0 at /api/v1/uploads/) against this server's PUT and
# against the Node reference implementation of tus, side by side in one run.
#
#   make build && bench/tus.sh
#
# Not part of `make test`: it prints figures measured in one run on this machine.
# Everything happens on 127.0.0.1, in a temp directory (BENCH_DIR, default /tmp, must be on
# the disk you want to measure) that is removed at the end, and within BENCH_DEADLINE
# seconds (default 900). Every process it starts is stopped by its PID. Peak disk use
# about 7 GiB (a 1 GiB test file, a 4 GiB partial upload, one 1 GiB upload at a time:
# every upload is deleted as soon as it is measured).
#
# 1. One 1 GiB upload (random bytes, in the page cache), BENCH_REPEAT rounds (default 3),
#    the kinds in turns, each round starting at the next kind:
#      put         curl -T to PUT /upload/TOKEN/ (what bench/upload.sh measures)
#      put-node    the same PUT from bench/tus-client.mjs (the client of the 8 MiB runs)
#      tus-1       tus to this server: creation POST + one PATCH of the file, both curl
#      tus-8m      tus to this server: bench/tus-client.mjs, PATCHes of 8 MiB on one
#                  keep-alive connection, each waiting for the previous answer (what
#                  tus-js-client sends when given chunkSize: 8 MiB)
#      node-1      tus-1 against @tus/server + @tus/file-store (bench/tus-node-server.mjs)
#      node-8m     tus-8m against @tus/server + @tus/file-store
#      sink-8m     tus-8m against bench/sink.c --tus, which answers every PATCH and throws
#                  its bytes away: what the client alone can send
#      tusjs-8m, tusjs-node-8m, tusjs-sink-8m
#                  the same three with tus-js-client itself (bench/tusjs-client.mjs: its
#                  Node build, an fs.ReadStream and chunkSize 8 MiB, as a customer's script
#                  sends), which streams each chunk in 64 KiB reads through a Transform and
#                  needs about four times the CPU of the bench client
#    MB/s = 2^30 bytes / seconds from the creation request to the last answer (MB = 10^6
#    bytes); for this server the last answer comes after fsync, rename and row, and its
#    SHA-256 is checked against sha256sum of the file. Ratios are taken within each round
#    (both figures measured a few seconds apart); their median is the verdict.
#    The 8 MiB client reads each chunk from the file before it sends it, and no server
#    gets a byte meanwhile: its reads (read_ms) plus the bytes at PUT's speed give, per
#    round, the most that any server as fast as our PUT could reach with it ("bound").
#    The node clients' own CPU time per GiB is reported beside the server's: client and
#    server share the box's cores.
# 2. Resume after a restart: a tus upload of 4 GiB + 3 MiB gets 4 GiB (four 1 GiB PATCHes),
#    then the server is stopped with SIGTERM and started again, and HEAD and the first
#    PATCH (1 MiB) are timed; then kill -9 right after a completed PATCH, start, HEAD and
#    PATCH again; the last PATCH completes it and its SHA-256 must equal sha256sum of the
#    bytes sent. A 1 MiB partial upload restarts alongside as the control, and the
#    server's read syscalls (rchar of /proc/PID/io) are counted over HEAD and PATCH. The
#    cost of re-reading the 4 GiB: sha256sum and md5sum of the partial file, once with the
#    file dropped from the page cache (dd iflag=nocache) and once from the cache.
# 3. bench/slow-uploads.mjs --mode tus: BENCH_CLIENTS (default 1000) clients, each a
#    creation POST then one PATCH of 1.5 MiB paced at 16 KiB per 100 ms, with the server's
#    RSS and the health check's latency watched; then the same with PUT (what
#    bench/upload.sh measures), in turns, BENCH_SLOW_ROUNDS rounds (default 2), each run
#    on a freshly started server, with the cores the server used and how busy the box was.
# 4. A summary with the goals of issue 11.
# BENCH_SAVE=PREFIX keeps the slow-upload measurements as PREFIX-tus-N.json, PREFIX-put-N.json.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LC_BIN:-$ROOT/build/logs-collector}
DEADLINE=${BENCH_DEADLINE:-900}
REPEAT=${BENCH_REPEAT:-3}
CLIENTS=${BENCH_CLIENTS:-1000}
SLOW_ROUNDS=${BENCH_SLOW_ROUNDS:-2}
GIB=$((1024 * 1024 * 1024))
MIB=$((1024 * 1024))
SIZE=$GIB
CHUNK=$((8 * MIB))
BIG_LEN=$((4 * GIB + 3 * MIB))
SLOW_SIZE=$((1536 * 1024))
SLOW_TICKETS=$(((CLIENTS + 99) / 100))
BENCH_NAME=tus.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

[ -x "$BIN" ] || { echo "tus.sh: $BIN not found: run 'make build' first" >&2; exit 2; }
for tool in cc curl node npm dd head sha256sum md5sum; do
    command -v "$tool" >/dev/null || { echo "tus.sh: $tool is required" >&2; exit 2; }
done

# @tus/server, @tus/file-store and tus-js-client from bench/package-lock.json (node_modules is not committed).
if [ ! -f "$ROOT/bench/node_modules/.package-lock.json" ] ||
    [ "$ROOT/bench/package-lock.json" -nt "$ROOT/bench/node_modules/.package-lock.json" ]; then
    echo "tus.sh: npm ci in bench/ (@tus/server, @tus/file-store, tus-js-client)"
    (cd "$ROOT/bench" && timeout "$(left)" npm ci --no-audit --no-fund --loglevel=error) >&2
fi

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard"
if [ "$(ulimit -n)" -lt $((2 * CLIENTS + 256)) ]; then
    echo "tus.sh: ulimit -n is $(ulimit -n), need $((2 * CLIENTS + 256))" >&2
    exit 2
fi

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/lc-bench-tus-XXXXXX")
DATA_DIR=$WORK/data
NODE_DIR=$WORK/tus-node
mkdir -p "$DATA_DIR" "$NODE_DIR"
PIDS=()
SERVER_PID=
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "tus.sh: interrupted" >&2; exit 130' INT TERM

# Seconds (3 decimals) between two $EPOCHREALTIME readings.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# "min-max" of the numbers given as arguments.
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a "-" b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == ">=" ? v >= t : v < t; print ok ? "met" : "MISSED" }'; }
# Bytes the process $1 has read through syscalls so far (rchar: page cache or disk).
rchar() { awk '/^rchar:/ { print $2 }' "/proc/$1/io"; }

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ADMIN_PW=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SERVER_RUNS=0

# Drops PID $1 from PIDS once it has been waited for (its number may be reused).
forget() {
    local -a keep=()
    local p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# Starts logs-collector on PORT with DATA_DIR (again after a stop: same data) and waits
# until it answers; START_S gets the seconds that took. Runs in this shell (not in $(...)).
start_server() {
    local t0=$EPOCHREALTIME
    SERVER_RUNS=$((SERVER_RUNS + 1))
    # every client comes from 127.0.0.1: lift MAX_CONNECTIONS_PER_IP (default 100)
    env -i PATH="$PATH" DATA_DIR="$DATA_DIR" BIND="127.0.0.1:$PORT" ALLOWED_HOSTS=127.0.0.1 \
        MAX_CONNECTIONS_PER_IP=0 ADMIN_USERNAME=bench ADMIN_PASSWORD="$ADMIN_PW" LOG_LEVEL=warning \
        "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local _
    for _ in $(seq 300); do
        if curl -sf -o /dev/null "$BASE/api/v1/check/health/"; then
            START_S=$(secs "$t0" "$EPOCHREALTIME")
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.02
    done
    echo "tus.sh: server not healthy" >&2
    tail -n 20 "$WORK/server.log" >&2
    exit 1
}
# Stops the server with signal $1 (TERM or KILL) and waits for it; STOP_S gets the seconds.
stop_server() {
    local t0=$EPOCHREALTIME
    kill "-$1" "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    forget "$SERVER_PID"
    STOP_S=$(secs "$t0" "$EPOCHREALTIME")
}
# api METHOD PATH [JSON] - a staff call; prints the body.
api() {
    curl -sf -X "$1" "$BASE$2" -H "Authorization: Bearer $ACCESS" \
        -H 'Content-Type: application/json' ${3:+-d "$3"}
}
NEXT_TICKET=1
# new_ticket ATTEMPTS - a new ticket; NEW_TOKEN gets its upload token (runs in this shell).
new_ticket() {
    NEW_TOKEN=$(api POST /api/v1/tickets/ "{\"number\": $NEXT_TICKET, \"platform\": \"bench\", \"attempts\": $1}" | jget token)
    [ -n "$NEW_TOKEN" ] || { echo "tus.sh: cannot create ticket $NEXT_TICKET" >&2; exit 1; }
    NEXT_TICKET=$((NEXT_TICKET + 1))
}
# tus_create BASEURL LENGTH [curl args...] - creation POST; prints "seconds path".
tus_create() {
    local url=$1 len=$2
    shift 2
    local out
    out=$(curl -sS --max-time "$(left)" -o /dev/null -D "$WORK/create.h" -w '%{http_code} %{time_total}' -X POST \
        -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $len" "$@" "$url")
    [ "${out%% *}" = 201 ] || { echo "tus.sh: creation at $url answered $out" >&2; exit 1; }
    local loc
    loc=$(tr -d '\r' <"$WORK/create.h" | awk 'tolower($1) == "location:" { print $2 }')
    echo "${out#* } $(node -e 'console.log(new URL(process.argv[1]).pathname)' "$loc")"
}
# tus_patch BASE PATH OFFSET FILE [curl args...] - one PATCH of FILE (curl -T); the answer's
# headers go to $WORK/patch.h; prints "status seconds".
tus_patch() {
    local base=$1 path=$2 off=$3 file=$4
    shift 4
    curl -sS --max-time "$(left)" -o "$WORK/patch.body" -D "$WORK/patch.h" -w '%{http_code} %{time_total}' -X PATCH \
        -H 'Tus-Resumable: 1.0.0' -H "Upload-Offset: $off" \
        -H 'Content-Type: application/offset+octet-stream' "$@" -T "$file" "$base$path"
}
# hdr NAME - a header of the last PATCH's answer.
hdr() { tr -d '\r' <"$WORK/patch.h" | awk -v n="$1:" 'tolower($1) == tolower(n) { print $2 }'; }

echo "logs-collector tus benchmark - $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
    "$(uname -r), temp dir $WORK ($(df -PT "$WORK" | awk 'NR==2 { print $2 }')), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the test file: 1 GiB of random bytes, kept in the page cache ---
timeout "$(left)" head -c "$SIZE" /dev/urandom >"$WORK/big"
sync "$WORK/big" # its writeback must not compete with the measurements
cat "$WORK/big" >/dev/null
BIG_SHA=$(sha256sum "$WORK/big" | cut -d' ' -f1)
head -c "$MIB" /dev/urandom >"$WORK/m1"
head -c "$MIB" /dev/urandom >"$WORK/m2"
head -c "$MIB" /dev/urandom >"$WORK/m3"

# --- the servers ---
cc -O2 -o "$WORK/sink" "$ROOT/bench/sink.c"
start_server
LC_PID0=$SERVER_PID
ACCESS=$(curl -sf -X POST "$BASE/api/v1/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\": \"bench\", \"password\": \"$ADMIN_PW\"}" | jget access)
api POST /api/v1/platforms/ '{"name": "bench", "pretty_name": "Benchmark"}' >/dev/null
new_ticket 100
TOKEN=$NEW_TOKEN

NODE_PORT=$(free_port)
NODE_BASE=http://127.0.0.1:$NODE_PORT
node "$ROOT/bench/tus-node-server.mjs" --port "$NODE_PORT" --dir "$NODE_DIR" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
for _ in $(seq 100); do grep -q listening "$WORK/node.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/node.log" || { echo "tus.sh: @tus/server did not start" >&2; cat "$WORK/node.log" >&2; exit 1; }
NODE_VERSION=$(node -p 'require(process.argv[1]).version' "$ROOT/bench/node_modules/@tus/server/package.json")
FSTORE_VERSION=$(node -p 'require(process.argv[1]).version' "$ROOT/bench/node_modules/@tus/file-store/package.json")

# --- 1. one 1 GiB upload ---
echo
echo "1. 1 GiB upload, $REPEAT rounds (this server: $BIN, THREADS = $(nproc);" \
    "@tus/server $NODE_VERSION + @tus/file-store $FSTORE_VERSION on node $(node --version))"

# A finished upload of this server: SHA-256 checked, then the archive deleted.
check_ours() {
    [ "$2" = "$BIG_SHA" ] || { echo "tus.sh: $1 stored sha256 '$2', want $BIG_SHA" >&2; exit 1; }
    api DELETE "/api/v1/archives/$3/" >/dev/null || { echo "tus.sh: cannot delete archive $3" >&2; exit 1; }
}
# run_kind KIND - one upload of the kind; prints its seconds.
run_kind() {
    local out s path r
    case $1 in
    put)
        out=$(timeout "$(left)" curl -sS -o "$WORK/put.json" -w '%{http_code} %{time_total}' \
            -T "$WORK/big" "$BASE/upload/$TOKEN/")
        [ "${out%% *}" = 201 ] || { echo "tus.sh: PUT answered $out: $(cat "$WORK/put.json")" >&2; exit 1; }
        check_ours PUT "$(jget sha256 <"$WORK/put.json")" "$(jget id <"$WORK/put.json")"
        echo "${out#* }"
        ;;
    put-node)
        out=$(timeout "$(left)" node "$ROOT/bench/tus-client.mjs" --put --url "$BASE/upload/$TOKEN/big" --file "$WORK/big") ||
            { echo "tus.sh: PUT (node client): $out" >&2; exit 1; }
        check_ours "PUT (node client)" "$(jget sha256 <<<"$out")" "$(jget archive_id <<<"$out")"
        jget seconds <<<"$out"
        ;;
    tus-1 | node-1)
        local base=$BASE url=$BASE/api/v1/uploads/ auth=(-H "Upload-Token: $TOKEN")
        if [ "$1" = node-1 ]; then base=$NODE_BASE url=$NODE_BASE/files/ auth=(); fi
        out=$(tus_create "$url" "$SIZE" "${auth[@]}")
        read -r s path <<<"$out"
        out=$(tus_patch "$base" "$path" 0 "$WORK/big" "${auth[@]}")
        [ "${out%% *}" = 204 ] || { echo "tus.sh: $1 PATCH answered $out: $(cat "$WORK/patch.body")" >&2; exit 1; }
        [ "$(hdr Upload-Offset)" = "$SIZE" ] || { echo "tus.sh: $1 ended at offset $(hdr Upload-Offset)" >&2; exit 1; }
        if [ "$1" = tus-1 ]; then
            check_ours "tus (one PATCH)" "$(hdr Archive-Sha256)" "$(hdr Archive-Id)"
        else
            rm -f "$NODE_DIR"/*
        fi
        awk -v a="$s" -v b="${out#* }" 'BEGIN { print a + b }'
        ;;
    tus-8m | node-8m | sink-8m | tusjs-8m | tusjs-node-8m | tusjs-sink-8m)
        # 8 MiB PATCHes: from the bench client, or with tusjs- from tus-js-client, to this
        # server, @tus/server (node-) or the sink (sink-)
        local client=tus-client.mjs target=${1#tusjs-}
        [ "$target" = "$1" ] || client=tusjs-client.mjs
        local url=$BASE/api/v1/uploads/ auth=(--header "Upload-Token: $TOKEN")
        case $target in
        node-8m) url=$NODE_BASE/files/ auth=() ;;
        sink-8m)
            # (run_kind runs in a subshell: the sink is not in PIDS, so a failure stops it here)
            start_sink --tus
            url=http://127.0.0.1:$SINK_PORT/files/ auth=()
            ;;
        esac
        out=$(timeout "$(left)" node "$ROOT/bench/$client" --url "$url" --file "$WORK/big" \
            --chunk "$CHUNK" "${auth[@]}") || {
            [ "$target" = sink-8m ] && kill "$SINK_PID" 2>/dev/null
            echo "tus.sh: ${LABEL[$1]}: $out" >&2
            exit 1
        }
        case $target in
        node-8m) rm -f "$NODE_DIR"/* ;;
        sink-8m) wait "$SINK_PID" || { echo "tus.sh: sink failed" >&2; exit 1; } ;;
        *) check_ours "${LABEL[$1]}" "$(jget sha256 <<<"$out")" "$(jget archive_id <<<"$out")" ;;
        esac
        [ "$1" = tus-8m ] && jget read_ms <<<"$out" >>"$WORK/read-ms"
        # the node clients' own CPU time, for the table (one line per run, in run order)
        echo "$1 $(jget cpu_ms <<<"$out")" >>"$WORK/client-cpu"
        jget seconds <<<"$out"
        ;;
    esac
}

KINDS=(put put-node tus-1 tus-8m node-1 node-8m sink-8m tusjs-8m tusjs-node-8m tusjs-sink-8m)
declare -A LABEL=([put]="PUT, curl -T" [put-node]="PUT, node client"
    [tus-1]="tus, one PATCH (curl)" [tus-8m]="tus, 8 MiB PATCHes (node client)"
    [node-1]="@tus/server, one PATCH (curl)" [node-8m]="@tus/server, 8 MiB PATCHes (node client)"
    [sink-8m]="sink, 8 MiB PATCHes (node client)" [tusjs-8m]="tus, 8 MiB PATCHes (tus-js-client)"
    [tusjs-node-8m]="@tus/server, 8 MiB PATCHes (tus-js-client)"
    [tusjs-sink-8m]="sink, 8 MiB PATCHes (tus-js-client)")
declare -A RUNS CPU BUSY
for k in "${KINDS[@]}"; do RUNS[$k]="" CPU[$k]="" BUSY[$k]=""; done
# "busy total" CPU ticks of the whole box
boxticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
for ((r = 0; r < REPEAT; r++)); do
    for ((j = 0; j < ${#KINDS[@]}; j++)); do
        k=${KINDS[$(((r + j) % ${#KINDS[@]}))]}
        pid=$LC_PID0
        case $k in *node-*) pid=$NODE_PID ;; *sink-*) pid=$$ ;; esac
        c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        b0=$(boxticks)
        s=$(run_kind "$k")
        b1=$(boxticks)
        c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        RUNS[$k]+="$(mbps "$SIZE" "$s") "
        case $k in
        *sink-*) CPU[$k]+="- " ;; # not a server: its CPU is not what the column is about
        *) CPU[$k]+="$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }') " ;;
        esac
        BUSY[$k]+="$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }') "
    done
    echo "  round $((r + 1)):$(for k in "${KINDS[@]}"; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        set -- ${RUNS[$k]}
        shift "$r"
        printf ' %s %s' "$k" "$1"
    done) MB/s"
done
declare -A MED CCPU
for k in "${KINDS[@]}"; do
    # shellcheck disable=SC2086
    MED[$k]=$(median ${RUNS[$k]})
    # the node client's own CPU per GiB, median over the rounds (curl's is not measured)
    CCPU[$k]=$(awk -v k="$k" '$1 == k { print $2 / 1000 }' "$WORK/client-cpu" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.2f s", v[int((NR + 1) / 2)]; else print "-" }')
    # shellcheck disable=SC2086
    printf '  %-46s %-18s median %5s MB/s; CPU per GiB: server %s s, client %s; box busy %s%%\n' \
        "${LABEL[$k]}:" "${RUNS[$k]}" "${MED[$k]}" "$(median ${CPU[$k]})" "${CCPU[$k]}" "$(median ${BUSY[$k]})"
done
# per-round ratios A/B: "median (min-max)"
round_ratio() {
    local -a a b q
    read -ra a <<<"${RUNS[$1]}"
    read -ra b <<<"${RUNS[$2]}"
    local i
    for i in "${!a[@]}"; do q+=("$(ratio "${a[i]}" "${b[i]}")"); done
    echo "$(median "${q[@]}") ($(range "${q[@]}"))"
}
R_T1_PUT=$(round_ratio tus-1 put)
R_T8_PUT=$(round_ratio tus-8m put)
R_T8_PUTN=$(round_ratio tus-8m put-node)
R_T1_NODE=$(round_ratio tus-1 node-1)
R_T8_NODE=$(round_ratio tus-8m node-8m)
R_PUT_NODE=$(round_ratio put node-1)
# per round: the bound of 8 MiB PATCHes (the client's reads + the bytes at PUT's speed),
# as MB/s and as a ratio to PUT
mapfile -t READ_MS <"$WORK/read-ms"
read -ra PUT_RUNS <<<"${RUNS[put]}"
read -ra T8_RUNS <<<"${RUNS[tus-8m]}"
read -ra N8_RUNS <<<"${RUNS[node-8m]}"
BOUND=() Q_BOUND=() Q_T8_BOUND=() Q_N8_BOUND=()
for i in "${!PUT_RUNS[@]}"; do
    bnd=$(awk -v size="$SIZE" -v put="${PUT_RUNS[i]}" -v ms="${READ_MS[i]}" \
        'BEGIN { printf "%.0f", size / (size / (put * 1e6) + ms / 1000) / 1e6 }')
    BOUND+=("$bnd")
    Q_BOUND+=("$(ratio "$bnd" "${PUT_RUNS[i]}")")
    Q_T8_BOUND+=("$(ratio "${T8_RUNS[i]}" "$bnd")")
    Q_N8_BOUND+=("$(ratio "${N8_RUNS[i]}" "$bnd")")
done
R_BOUND_PUT="$(median "${Q_BOUND[@]}") ($(range "${Q_BOUND[@]}"))"
R_T8_BOUND="$(median "${Q_T8_BOUND[@]}") ($(range "${Q_T8_BOUND[@]}"))"
R_N8_BOUND="$(median "${Q_N8_BOUND[@]}") ($(range "${Q_N8_BOUND[@]}"))"
R_T8_SINK=$(round_ratio tus-8m sink-8m)
R_J8_PUT=$(round_ratio tusjs-8m put)
R_J8_NODE=$(round_ratio tusjs-8m tusjs-node-8m)
R_J8_SINK=$(round_ratio tusjs-8m tusjs-sink-8m)
echo "  per-round ratios, median (range):"
echo "    tus one PATCH / PUT:                 $R_T1_PUT"
echo "    tus 8 MiB PATCHes / PUT:             $R_T8_PUT"
echo "    tus 8 MiB PATCHes / PUT (node client): $R_T8_PUTN"
echo "    tus one PATCH / @tus/server:         $R_T1_NODE"
echo "    tus 8 MiB / @tus/server 8 MiB:       $R_T8_NODE"
echo "    PUT / @tus/server one PATCH:         $R_PUT_NODE"
echo "    8 MiB client's reads per GiB (ms):   ${READ_MS[*]}"
echo "    bound of 8 MiB PATCHes (MB/s):       ${BOUND[*]}"
echo "    bound / PUT:                         $R_BOUND_PUT"
echo "    tus 8 MiB PATCHes / bound:           $R_T8_BOUND"
echo "    @tus/server 8 MiB / bound:           $R_N8_BOUND"
echo "    tus 8 MiB / sink 8 MiB:              $R_T8_SINK"
echo "    tus-js-client: tus 8 MiB / PUT:      $R_J8_PUT"
echo "    tus-js-client: tus / @tus/server:    $R_J8_NODE"
echo "    tus-js-client: tus / sink:           $R_J8_SINK"
kill "$NODE_PID" 2>/dev/null || true
wait "$NODE_PID" 2>/dev/null || true
forget "$NODE_PID"

# --- 2. resume after a restart ---
echo
echo "2. Resume after a restart: a partial upload of 4 GiB (of $BIG_LEN bytes) and one of 1 MiB"
new_ticket 10
RAUTH=(-H "Upload-Token: $NEW_TOKEN")
out=$(tus_create "$BASE/api/v1/uploads/" "$BIG_LEN" "${RAUTH[@]}")
read -r _ BIG_PATH <<<"$out"
BIG_ID=${BIG_PATH##*/}
t0=$EPOCHREALTIME
for ((g = 0; g < 4; g++)); do
    out=$(tus_patch "$BASE" "$BIG_PATH" $((g * GIB)) "$WORK/big" "${RAUTH[@]}")
    [ "${out%% *}" = 204 ] || { echo "tus.sh: PATCH $g answered $out: $(cat "$WORK/patch.body")" >&2; exit 1; }
done
FILL_S=$(secs "$t0" "$EPOCHREALTIME")
out=$(tus_create "$BASE/api/v1/uploads/" $((3 * MIB)) "${RAUTH[@]}")
read -r _ SMALL_PATH <<<"$out"
out=$(tus_patch "$BASE" "$SMALL_PATH" 0 "$WORK/m1" "${RAUTH[@]}")
[ "${out%% *}" = 204 ] || { echo "tus.sh: small PATCH answered $out" >&2; exit 1; }
PARTIAL=$DATA_DIR/partial/$BIG_ID.data
echo "  4 GiB sent in four 1 GiB PATCHes in $FILL_S s ($(mbps $((4 * GIB)) "$FILL_S") MB/s);" \
    "partial/$BIG_ID.data holds $(stat -c %s "$PARTIAL") bytes"

# What resuming would cost if it re-read the bytes (the server stopped meanwhile).
stop_server TERM
STOP_TERM_S=$STOP_S
dd if="$PARTIAL" iflag=nocache count=0 status=none # drop the file from the page cache
t0=$EPOCHREALTIME
timeout "$(left)" sha256sum "$PARTIAL" >/dev/null
REREAD_COLD_S=$(secs "$t0" "$EPOCHREALTIME")
t0=$EPOCHREALTIME
timeout "$(left)" md5sum "$PARTIAL" >/dev/null
MD5_WARM_S=$(secs "$t0" "$EPOCHREALTIME")
t0=$EPOCHREALTIME
timeout "$(left)" sha256sum "$PARTIAL" >/dev/null
SHA_WARM_S=$(secs "$t0" "$EPOCHREALTIME")
dd if="$PARTIAL" iflag=nocache count=0 status=none # the server starts with a cold file too
echo "  re-reading the 4 GiB: sha256sum from disk $REREAD_COLD_S s; from the page cache" \
    "sha256sum $SHA_WARM_S s, md5sum $MD5_WARM_S s"

# resume_probe LABEL OFFSET_BIG FILE_BIG OFFSET_SMALL FILE_SMALL - right after a start: HEAD
# and one 1 MiB PATCH on each upload, timed, with the server's read bytes counted.
resume_probe() {
    local rc0 rc1 h hs p ps off
    rc0=$(rchar "$SERVER_PID")
    h=$(curl -sS -o /dev/null -D "$WORK/patch.h" -w '%{http_code} %{time_total}' -I \
        -H 'Tus-Resumable: 1.0.0' "${RAUTH[@]}" "$BASE$BIG_PATH")
    off=$(hdr Upload-Offset)
    if [ "${h%% *}" != 200 ] || [ "$off" != "$2" ]; then
        echo "tus.sh: $1: HEAD answered $h at offset '$off', want $2" >&2
        exit 1
    fi
    p=$(tus_patch "$BASE" "$BIG_PATH" "$2" "$3" "${RAUTH[@]}")
    [ "${p%% *}" = 204 ] || { echo "tus.sh: $1: PATCH answered $p: $(cat "$WORK/patch.body")" >&2; exit 1; }
    rc1=$(rchar "$SERVER_PID")
    hs=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -I -H 'Tus-Resumable: 1.0.0' \
        "${RAUTH[@]}" "$BASE$SMALL_PATH")
    ps=$(tus_patch "$BASE" "$SMALL_PATH" "$4" "$5" "${RAUTH[@]}")
    if [ "${hs%% *}" != 200 ] || [ "${ps%% *}" != 204 ]; then
        echo "tus.sh: $1: small upload: $hs / $ps" >&2
        exit 1
    fi
    # steady state: ten more HEADs of the big one
    local -a more=()
    for _ in $(seq 10); do
        more+=("$(curl -sS -o /dev/null -w '%{time_total}' -I -H 'Tus-Resumable: 1.0.0' \
            "${RAUTH[@]}" "$BASE$BIG_PATH")")
    done
    echo "${h#* } ${p#* } ${hs#* } ${ps#* } $((rc1 - rc0)) $(median "${more[@]}")"
}

start_server
START_TERM_S=$START_S
out=$(resume_probe "after SIGTERM" $((4 * GIB)) "$WORK/m1" "$MIB" "$WORK/m2")
read -r T_HEAD T_PATCH T_SHEAD T_SPATCH T_READ T_HEAD10 <<<"$out"
echo "  SIGTERM: stopped in $STOP_TERM_S s, healthy again $START_TERM_S s after the start"
echo "    4 GiB upload: HEAD $(ms "$T_HEAD") ms, first PATCH (1 MiB, saved) $(ms "$T_PATCH") ms;" \
    "the server read $T_READ bytes meanwhile; later HEADs $(ms "$T_HEAD10") ms (median of 10)"
echo "    1 MiB upload: HEAD $(ms "$T_SHEAD") ms, first PATCH $(ms "$T_SPATCH") ms"

# kill -9 right after a completed PATCH: nothing gets the chance to save on the way out
stop_server KILL
dd if="$PARTIAL" iflag=nocache count=0 status=none
start_server
START_KILL_S=$START_S
out=$(resume_probe "after kill -9" $((4 * GIB + MIB)) "$WORK/m2" $((2 * MIB)) "$WORK/m3")
read -r K_HEAD K_PATCH K_SHEAD K_SPATCH K_READ K_HEAD10 <<<"$out"
echo "  kill -9: healthy again $START_KILL_S s after the start"
echo "    4 GiB upload: HEAD $(ms "$K_HEAD") ms, first PATCH (1 MiB, saved) $(ms "$K_PATCH") ms;" \
    "the server read $K_READ bytes meanwhile; later HEADs $(ms "$K_HEAD10") ms (median of 10)"
echo "    1 MiB upload: HEAD $(ms "$K_SHEAD") ms, first PATCH $(ms "$K_SPATCH") ms"

# the last MiB completes it: the archive's SHA-256 against the bytes sent
out=$(tus_patch "$BASE" "$BIG_PATH" $((4 * GIB + 2 * MIB)) "$WORK/m3" "${RAUTH[@]}")
[ "${out%% *}" = 204 ] || { echo "tus.sh: last PATCH answered $out: $(cat "$WORK/patch.body")" >&2; exit 1; }
GOT_SHA=$(hdr Archive-Sha256)
WANT_SHA=$(cat "$WORK/big" "$WORK/big" "$WORK/big" "$WORK/big" "$WORK/m1" "$WORK/m2" "$WORK/m3" | sha256sum | cut -d' ' -f1)
if [ "$GOT_SHA" = "$WANT_SHA" ]; then SHA_OK=yes; else SHA_OK=NO; fi
echo "  last PATCH (1 MiB, completes $BIG_LEN bytes: fsync, rename, row) $(ms "${out#* }") ms;" \
    "archive SHA-256 equals sha256sum of the bytes sent: $SHA_OK"
api DELETE "/api/v1/archives/$(hdr Archive-Id)/" >/dev/null || true
[ "$SHA_OK" = yes ] || { echo "tus.sh: archive sha256 $GOT_SHA, want $WANT_SHA" >&2; exit 1; }
RESUME_TERM=$(awk -v a="$T_HEAD" -v b="$T_PATCH" 'BEGIN { printf "%.1f", (a + b) * 1000 }')
RESUME_KILL=$(awk -v a="$K_HEAD" -v b="$K_PATCH" 'BEGIN { printf "%.1f", (a + b) * 1000 }')

# --- 3. many slow uploads ---
# slow_run MODE ROUND - a fresh server, SLOW_TICKETS tickets of 100 attempts, slow-uploads.mjs;
# then how many cores the server used and how busy the box was meanwhile.
slow_run() {
    stop_server TERM
    start_server
    : >"$WORK/tokens"
    for ((t = 0; t < SLOW_TICKETS; t++)); do
        new_ticket 100
        echo "$NEW_TOKEN" >>"$WORK/tokens"
    done
    local dir=$DATA_DIR/tmp out=$WORK/slow-$1-$2.json t0 t1 w0=$EPOCHREALTIME
    [ "$1" = tus ] && dir=$DATA_DIR/partial
    t0=$(ticks)
    timeout "$(left)" node "$ROOT/bench/slow-uploads.mjs" --mode "$1" --port "$PORT" \
        --tokens "$WORK/tokens" --pid "$SERVER_PID" --tmpdir "$dir" --out "$out" \
        --clients "$CLIENTS" --size "$SLOW_SIZE" --chunk 16384 --interval 100 --timeout 180 | sed 's/^/  /'
    t1=$(ticks)
    # shellcheck disable=SC2034 # filled through acc_ticks' nameref
    local -a tk=()
    acc_ticks tk "$t0" "$t1"
    echo "    $(cpu_line tk "$(secs "$w0" "$EPOCHREALTIME")")"
    [ -z "${BENCH_SAVE:-}" ] || cp "$out" "$BENCH_SAVE-$1-$2.json"
}
# S MODE ROUND FIELD - a figure of one slow run (dotted path into its JSON).
S() { node -e 'const r=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],r);console.log(typeof v==="number"?(Number.isInteger(v)?v:v.toFixed(2)):JSON.stringify(v))' "$WORK/slow-$1-$2.json" "$3"; }
# SR MODE FIELD - that figure of every round, space-separated.
SR() {
    local r
    for ((r = 1; r <= SLOW_ROUNDS; r++)); do printf '%s ' "$(S "$1" "$r" "$2")"; done
}
MB() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
echo
echo "3. $CLIENTS concurrent slow uploads (1.5 MiB at 16 KiB per 100 ms): tus (creation, then one PATCH)" \
    "and PUT in turns, $SLOW_ROUNDS rounds, each on a freshly started server"
for ((r = 1; r <= SLOW_ROUNDS; r++)); do
    echo "  round $r, tus:"
    slow_run tus "$r"
    echo "  round $r, PUT:"
    slow_run put "$r"
done

# --- 4. summary ---
gmin() { awk -v r="$1" 'BEGIN { split(r, a, " "); print a[1] }'; }
echo
echo "Summary ($(date -u '+%Y-%m-%d'), $(nproc) cores; MB = 10^6 bytes; ratios: median of the per-round ratios;" \
    "slow uploads: every round, met when every round meets the goal)"
row() { printf '  %-50s %26s %10s %8s\n' "$@"; }
# goal_row LABEL RATIO LIMIT - a per-round ratio "median (range)" whose median must be >= LIMIT
goal_row() { row "$1" "$2" ">= $3" "$(verdict "$(gmin "$2")" '>=' "$3")"; }
row figure measured goal verdict
row "PUT 1 GiB, curl (MB/s)" "${MED[put]}" - -
row "tus one PATCH (MB/s)" "${MED[tus-1]}" - -
row "tus 8 MiB PATCHes (MB/s)" "${MED[tus-8m]}" - -
row "@tus/server one PATCH / 8 MiB (MB/s)" "${MED[node-1]} / ${MED[node-8m]}" - -
goal_row "  tus one PATCH / PUT" "$R_T1_PUT" 0.90
goal_row "  tus 8 MiB PATCHes / PUT" "$R_T8_PUT" 0.90
row "  tus 8 MiB PATCHes / PUT, same node client" "$R_T8_PUTN" - -
goal_row "  tus one PATCH / @tus/server one PATCH" "$R_T1_NODE" 1.3
goal_row "  tus 8 MiB / @tus/server 8 MiB" "$R_T8_NODE" 1.3
row "  PUT / @tus/server one PATCH" "$R_PUT_NODE" - -
row "sink 8 MiB PATCHes: the client alone (MB/s)" "${MED[sink-8m]}" - -
row "  bound of 8 MiB PATCHes / PUT" "$R_BOUND_PUT" - -
row "  tus 8 MiB PATCHes / bound" "$R_T8_BOUND" - -
row "  @tus/server 8 MiB / bound" "$R_N8_BOUND" - -
row "tus-js-client, 8 MiB: tus / @tus/server / sink (MB/s)" "${MED[tusjs-8m]} / ${MED[tusjs-node-8m]} / ${MED[tusjs-sink-8m]}" - -
goal_row "  tus-js-client: tus 8 MiB / PUT" "$R_J8_PUT" 0.90
goal_row "  tus-js-client: tus / @tus/server" "$R_J8_NODE" 1.3
row "  tus-js-client: client CPU per GiB, ours / @tus/server" "${CCPU[tusjs-8m]} / ${CCPU[tusjs-node-8m]}" - -
row "resume after SIGTERM: HEAD + first PATCH (ms)" "$RESUME_TERM" "< 50" "$(verdict "$RESUME_TERM" '<' 50)"
row "resume after kill -9: HEAD + first PATCH (ms)" "$RESUME_KILL" "< 50" "$(verdict "$RESUME_KILL" '<' 50)"
row "  same for the 1 MiB partial (ms)" "$(ms "$(awk -v a="$T_SHEAD" -v b="$T_SPATCH" 'BEGIN { print a + b }')") / $(ms "$(awk -v a="$K_SHEAD" -v b="$K_SPATCH" 'BEGIN { print a + b }')")" - -
row "  bytes the server read (HEAD + PATCH)" "$T_READ / $K_READ" - -
row "  sha256sum of the 4 GiB, from disk (ms)" "$(ms "$REREAD_COLD_S")" - -
# every OP LIMIT VALUE... - "met" when every value meets the goal, else "MISSED (k/n)"
every() {
    local op=$1 lim=$2 k=0 n=0 x
    shift 2
    for x in "$@"; do
        n=$((n + 1))
        [ "$(verdict "$x" "$op" "$lim")" = met ] && k=$((k + 1))
    done
    if [ "$k" = "$n" ]; then echo met; else echo "MISSED ($k/$n)"; fi
}
for m in tus put; do
    ok=$(SR $m ok)
    # shellcheck disable=SC2086 # space-separated numbers
    row "$m: slow uploads answered $(S $m 1 ok_status)" "$ok" "$CLIENTS" "$(every '>=' "$CLIENTS" $ok)"
    row "$m: progressing at once (server)" "$(SR $m max_server_progressing_per_s)" "$CLIENTS" -
    row "$m: completion p99 (s)" "$(SR $m completion_s.p99)" - -
    rss=()
    for x in $(SR $m rss_kib.max); do rss+=("$(MB "$x")"); done
    [ "$m" = tus ] && goal="< 80" v=$(every '<' 80 "${rss[@]}") || goal="(< 64)" v=-
    row "$m: server RSS max (MB)" "${rss[*]}" "$goal" "$v"
    h99=$(SR $m health_ms.p99)
    # shellcheck disable=SC2086
    [ "$m" = tus ] && v=$(every '<' 20 $h99) || v=-
    row "$m: health p99 (ms)" "$h99" "< 20" "$v"
    row "$m: health p50 / max (ms), round 1" "$(S $m 1 health_ms.p50) / $(S $m 1 health_ms.max)" - -
done
row "tus: creation p50 / p99 (ms), round 1" "$(S tus 1 create_ms.p50) / $(S tus 1 create_ms.p99)" - -
