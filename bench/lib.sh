# shellcheck shell=bash
# lib.sh - helpers shared by bench/upload.sh and bench/tus.sh (sourced, not run).
#
# The sourcing script sets BENCH_NAME (for messages) and DEADLINE (seconds since its
# start), SERVER_PID before it calls ticks, and WORK (its temp directory, holding the
# sink built from bench/sink.c) before it calls start_sink.

# Seconds left before the deadline (at least 1); every step runs under `timeout $(left)`.
left() {
    local l=$((DEADLINE - SECONDS))
    if [ "$l" -lt 1 ]; then
        echo "$BENCH_NAME: deadline of $DEADLINE s reached" >&2
        exit 3
    fi
    echo "$l"
}
# Field $1 of the JSON object on stdin.
jget() {
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(v===undefined||v===null?"":v)})' "$1"
}
# MB/s (10^6 bytes) of $1 bytes in $2 seconds.
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
# CPU ticks: "busy iowait steal total" of the whole box, then the server's user+system.
ticks() {
    awk '/^cpu / { printf "%d %d %d %d ", $2 + $3 + $4 + $7 + $8, $6, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
    awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}
# Adds the tick deltas between snapshots $2 and $3 to the array named $1 (5 numbers).
acc_ticks() {
    # shellcheck disable=SC2178 # a nameref to the caller's array
    local -n a=$1
    local -a x y
    read -ra x <<<"$2"
    read -ra y <<<"$3"
    local i
    for i in 0 1 2 3 4; do a[i]=$((${a[i]:-0} + y[i] - x[i])); done
}
# "server CPU: N cores; box: busy %, iowait %, steal %" from accumulated ticks $1 over $2 s.
cpu_line() {
    # shellcheck disable=SC2178 # a nameref to the caller's array
    local -n a=$1
    awk -v b="${a[0]}" -v w="${a[1]}" -v st="${a[2]}" -v t="${a[3]}" -v s="${a[4]}" \
        -v secs="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        printf "server used %.2f cores; the box was %.0f%% busy, %.0f%% iowait, %.0f%% steal",
            s / hz / secs, 100 * b / t, 100 * w / t, 100 * st / t }'
}
# start_sink [--tus] - $WORK/sink serving one connection in the background, once it
# listens: SINK_PID and SINK_PORT get its pid and port (runs in this shell).
start_sink() {
    "$WORK/sink" "$@" 1 >"$WORK/sink.port" &
    # shellcheck disable=SC2034 # read by the sourcing script
    SINK_PID=$!
    local _
    for _ in $(seq 50); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
    # shellcheck disable=SC2034 # read by the sourcing script
    SINK_PORT=$(cat "$WORK/sink.port")
}
free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
