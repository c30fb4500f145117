#!/bin/bash
# test.sh BUILD_DIR - runs every suite and ends with the summary line
# "N passed, N failed"; exit status 0 only when N failed is 0.
#
# Suites, in order: format check; layering (libmicrohttpd only in src/http/); cmocka
# unit tests (meson suite "unit", under ASan + UBSan); the libFuzzer targets for a few
# seconds each (scripts/fuzz.sh); a throwaway
# PostgreSQL (scripts/pg-test-server.sh); the store tests
# (test-store, once: SQLite and PostgreSQL in one run); the black-box API tests
# against real servers on SQLite, then on PostgreSQL (files marked
# "// lc-test: postgres-only" run in the PostgreSQL run alone); the browser tests
# (tests/e2e/: the console in Debian's headless Chromium, on SQLite).
#
# A suite counts as failed, and adds to "N failed", for anything that did not pass: a
# failed, cancelled or timed-out test, a hook that threw, a program that ran fewer
# tests than it defines or none, a program killed by a sanitizer report (every process
# gets halt_on_error + abort_on_error), a runner that hit its time limit or exited
# non-zero, processes a suite left behind. Skipped tests are printed and counted as
# skipped; with CI=true they count as failed. How the counting works:
# tests/api/README.md.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build-test}
case "$BUILD" in
    /*) export LC_BIN="$BUILD/logs-collector" ;;
    *) export LC_BIN="$PWD/$BUILD/logs-collector" ;;
esac

# Time limits (seconds) of whole suites; a suite past its limit is killed with its
# whole process group and counts as failed. Within them: each cmocka program has
# meson's timeout (meson.build), and node's --test-timeout (API_TEST_LIMIT_MS) bounds
# every API test and, in node 20, every test file as a whole too (a file past it is
# killed and counts as one failure).
FORMAT_LIMIT=120
UNIT_LIMIT=600
PG_LIMIT=120
STORE_LIMIT=600
API_LIMIT=900
API_TEST_LIMIT_MS=120000
E2E_LIMIT=600
E2E_TEST_LIMIT_MS=240000
FUZZ_LIMIT=300
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${TEST_FUZZ_SECONDS:-5} # per target; `make fuzz` runs them for minutes

# Every process the tests start reports sanitizer errors as fatal (SIGABRT).
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1

# Marks every process of this run (the harness passes it on to servers and CLIs), so
# that leftovers are found by their environment, whatever process group they are in.
RUN_ID=lc-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
# Test files and data directories live under one directory, removed at the end (the
# PostgreSQL user must be able to pass through it: 0711).
RUN_DIR=$(mktemp -d /tmp/lc-run.XXXXXX)
chmod 0711 "$RUN_DIR"
mkdir -m 0711 "$RUN_DIR/tmp" "$RUN_DIR/logs"
logdir=$RUN_DIR/logs
pgdir=$RUN_DIR/pg

passed=0
failed=0
skipped=0
summary=()    # one line per suite
skip_list=()  # one line per skipped test
fail_list=()  # what failed, a line each: repeated just above the summary line, so that
              # the last lines of a long run (all a CI page may show) say what broke
current=      # pid (= process group) of the running suite

# add LABEL PASSED FAILED SKIPPED [NOTE]: counts one suite's result.
add() {
    local label=$1 p=$2 f=$3 s=$4 note=${5:-}
    if [ "$s" -gt 0 ] && [ "${CI:-}" = true ]; then
        note="${note:+$note; }$s skipped under CI=true: counted as failed"
        f=$((f + s))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    summary+=("$(printf '%-34s %4d passed, %d failed, %d skipped%s' "$label:" "$p" "$f" "$s" "${note:+ ($note)}")")
    echo "$label: $p passed, $f failed, $s skipped${note:+ ($note)}"
}

# hard_fail LABEL WHY: a failure that is not a test's: loud, and counted as one.
hard_fail() {
    echo "FAILED: $1: $2"
    fail_list+=("$1: $2")
    add "$1" 0 1 0 "$2"
}

# limited SECONDS CMD...: runs CMD in a process group of its own (timeout(1) makes it
# one) for at most SECONDS; then CMD and its group get SIGTERM, 10 s later SIGKILL.
# Returns CMD's status (124 or 137: it hit the limit). Run in the background and
# waited for, so that INT/TERM reach the trap at once.
limited() {
    local secs=$1 rc
    shift
    timeout -k 10 "$secs" "$@" &
    current=$!
    wait "$current"
    rc=$?
    kill -KILL -- "-$current" 2>/dev/null
    current=
    return "$rc"
}

# The pids of processes of this run still alive (their environment has LC_TEST_RUN).
leftovers() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = "$$" ] && continue
        grep -qzx "LC_TEST_RUN=$RUN_ID" "$d/environ" 2>/dev/null && echo "$pid"
    done
}

# Kills what a suite left running; prints them and returns 1 when there were any.
reap() {
    local pids
    pids=$(leftovers)
    [ -z "$pids" ] && return 0
    echo "!! processes left running after the suite (killed):"
    # shellcheck disable=SC2086
    ps -o pid,pgid,etime,args -p "$(echo $pids | tr ' ' ,)" 2>/dev/null
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    return 1
}

# Unmounts what tests mounted under RUN_DIR (tmpfs DATA_DIRs), deepest first.
unmount_run_dir() {
    awk -v d="$RUN_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
}

cleanup() {
    trap - EXIT INT TERM
    [ -n "$current" ] && kill -TERM -- "-$current" 2>/dev/null && sleep 1 &&
        kill -KILL -- "-$current" 2>/dev/null
    reap >/dev/null
    scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1
    unmount_run_dir
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted"; exit 130' INT TERM

# meson_suite SUITE LABEL LIMIT [ENV=VALUE...]: one meson test suite, counted by
# tests/unit/cmocka-count.py from meson's log of that run.
meson_suite() {
    local suite=$1 label=$2 secs=$3 rc out p f s
    shift 3
    meson test -C "$BUILD" --list --suite "$suite" 2>/dev/null | grep ' / ' >"$logdir/$suite.names"
    rm -f "$BUILD/meson-logs/$suite.json" "$BUILD/meson-logs/$suite.txt"
    limited "$secs" env "$@" meson test -C "$BUILD" --no-rebuild --print-errorlogs \
        --suite "$suite" --logbase "$suite" >"$logdir/$suite.txt" 2>&1
    rc=$?
    grep -E '^ *[0-9]+/[0-9]+ ' "$logdir/$suite.txt"
    out=$(python3 tests/unit/cmocka-count.py "$BUILD/meson-logs/$suite.json" "$logdir/$suite.names")
    echo "$out" | grep -v '^TOTAL '
    read -r _ p f s <<<"$(echo "$out" | grep '^TOTAL ')"
    while IFS= read -r l; do fail_list+=("$label: $l"); done < <(echo "$out" | sed -n 's/^  \(FAILED .*\)/\1/p')
    while IFS= read -r l; do skip_list+=("$l"); done < <(echo "$out" | sed -n 's/^  SKIPPED //p')
    local note=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        note="hit its time limit of $secs s"
        [ "$f" -eq 0 ] && f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        note="meson test exited $rc"
        f=1
    fi
    [ -n "$note" ] && fail_list+=("$label: $note")
    [ "$f" -gt 0 ] && tail -n 150 "$logdir/$suite.txt"
    add "$label" "$p" "$f" "$s" "$note"
}

# node_run LABEL LC_DB LIMIT TEST_LIMIT_MS FILE...: a node:test suite (the black-box
# API tests, the browser tests) once, on the files given, counted by
# tests/api/lib/count-reporter.mjs.
node_run() {
    local label=$1 db=$2 limit=$3 test_limit=$4 counts rc p f s note="" n
    shift 4
    counts="$logdir/node-$db-$(echo "$label" | tr -c 'a-z0-9' '-').json"
    n=$#
    limited "$limit" env LC_TEST_RUN="$RUN_ID" LC_DB="$db" LC_TEST_FILES="$*" \
        TMPDIR="$RUN_DIR/tmp" node --test --test-concurrency=2 \
        --test-timeout="$test_limit" \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=./tests/api/lib/count-reporter.mjs --test-reporter-destination="$counts" \
        "$@"
    rc=$?
    if [ -s "$counts" ] && read -r p f s < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["passed"], c["failed"] + c["todo"], c["skipped"])
for x in c["failures"]: print("FAILED", x["file"], "::", x["test"], "::", x["why"], file=sys.stderr)
for x in c["skips"]: print("SKIPPED", x["file"], "::", x["test"], "::", x["why"], file=sys.stderr)
' "$counts" 2>"$counts.list"); then
        :
    else
        p=0 f=1 s=0
        note="no counts: the run did not finish"
    fi
    sed 's/^/  /' "$counts.list" 2>/dev/null
    while IFS= read -r l; do fail_list+=("$label: $l"); done < <(grep '^FAILED ' "$counts.list" 2>/dev/null)
    while IFS= read -r l; do skip_list+=("$l"); done < <(sed -n 's/^SKIPPED //p' "$counts.list" 2>/dev/null)
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        note="${note:+$note; }hit its time limit of $limit s"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        note="${note:+$note; }node exited $rc without a failed test: counted as one"
        f=1
    fi
    if [ $((p + f + s)) -eq 0 ]; then
        note="${note:+$note; }ran no tests"
        f=1
    fi
    if ! reap; then
        note="${note:+$note; }left processes running"
        f=$((f + 1))
    fi
    [ -n "$note" ] && fail_list+=("$label: $note")
    add "${label%)}, $n files)" "$p" "$f" "$s" "$note"
}

echo "== format check"
if limited "$FORMAT_LIMIT" scripts/format-check.sh; then
    add "format check" 1 0 0
else
    fail_list+=("format check: scripts/format-check.sh failed (its output is above)")
    add "format check" 0 1 0
fi

# shared/DESIGN.md's layering: only src/http/ knows the HTTP engine.
echo "== layering: libmicrohttpd only under src/http/"
leaks=$(grep -rl microhttpd src/ | grep -v '^src/http/' || true)
if [ -z "$leaks" ]; then
    add "layering" 1 0 0
else
    echo "layering: outside src/http/: $leaks" >&2
    fail_list+=("layering: libmicrohttpd named outside src/http/: $leaks")
    add "layering" 0 1 0
fi

echo "== unit tests (cmocka, ASan+UBSan)"
meson_suite unit "unit (cmocka)" "$UNIT_LIMIT"

echo "== fuzz targets (libFuzzer + ASan + UBSan, ${FUZZ_SECONDS}s each from fuzz/corpus)"
if [ -d "$FUZZ_BUILD" ]; then
    limited "$FUZZ_LIMIT" scripts/fuzz.sh "$FUZZ_BUILD" "$FUZZ_SECONDS" >"$logdir/fuzz.txt" 2>&1
    frc=$?
    cat "$logdir/fuzz.txt"
    fp=$(grep -c '^fuzz [a-z]*: ok' "$logdir/fuzz.txt")
    ff=$(grep -c '^fuzz [a-z]*: FAILED' "$logdir/fuzz.txt")
    if [ "$frc" -ne 0 ] && [ "$ff" -eq 0 ]; then
        ff=1 # the runner itself failed or hit its limit
        fail_list+=("fuzz: scripts/fuzz.sh exited $frc")
    fi
    # each failed target with the lines that say why (scripts/fuzz.sh prints them under it)
    while IFS= read -r l; do fail_list+=("$l"); done < <(sed -n '/^fuzz [a-z]*: FAILED/,/^fuzz [a-z]*: ok/{/^fuzz [a-z]*: ok/!p}' "$logdir/fuzz.txt" | head -n 40)
    add "fuzz ($FUZZ_BUILD)" "$fp" "$ff" 0
else
    hard_fail "fuzz" "no fuzz build in $FUZZ_BUILD (make build-fuzz)"
fi

echo "== PostgreSQL test server"
pg_ok=0
if limited "$PG_LIMIT" scripts/pg-test-server.sh start "$pgdir" >"$logdir/pg-url.txt" 2>"$logdir/pg.txt" </dev/null; then
    LC_PG_ADMIN_URL=$(cat "$logdir/pg-url.txt")
    export LC_PG_ADMIN_URL
    pgbase=$(scripts/pg-test-server.sh url "$pgdir")
    echo "PostgreSQL at $pgbase"
    pg_ok=1
    # Is the PostgreSQL backend built? `migrate` on a fresh database says so.
    probe_dir=$(mktemp -d "$RUN_DIR/tmp/probe.XXXXXX")
    if ! psql -X -q "$LC_PG_ADMIN_URL" -c 'CREATE DATABASE lc_probe' -c 'CREATE DATABASE lc_unit_store' \
        >"$logdir/psql.txt" 2>&1; then
        cat "$logdir/psql.txt"
        echo "!! cannot create the test databases"
        pg_ok=0
    elif ! DATA_DIR="$probe_dir" DB_URL="$pgbase/lc_probe" timeout 60 "$LC_BIN" migrate >"$logdir/probe.txt" 2>&1; then
        cat "$logdir/probe.txt"
        grep -qi 'not built' "$logdir/probe.txt" &&
            echo "!! the PostgreSQL backend is NOT BUILT into $LC_BIN: PostgreSQL runs fail"
        echo "!! logs-collector migrate on PostgreSQL failed"
        pg_ok=0
    fi
else
    cat "$logdir/pg.txt"
    echo "!! could not start a PostgreSQL test server (is the postgresql package installed?)"
fi

if [ "$pg_ok" -eq 1 ]; then
    echo "== store tests, SQLite and PostgreSQL (cmocka, LC_TEST_PG_URL)"
    meson_suite store "store (SQLite + PostgreSQL)" "$STORE_LIMIT" LC_TEST_PG_URL="$pgbase/lc_unit_store"
else
    echo "== store tests, SQLite only (no PostgreSQL)"
    meson_suite store "store (SQLite)" "$STORE_LIMIT"
    hard_fail "store (PostgreSQL)" "not run: no working PostgreSQL test server"
fi

mapfile -t api_files < <(ls tests/api/*.test.mjs)
mapfile -t pg_only < <(grep -l '^// lc-test: postgres-only' "${api_files[@]}")
sqlite_files=()
for f in "${api_files[@]}"; do
    case " ${pg_only[*]} " in *" $f "*) ;; *) sqlite_files+=("$f") ;; esac
done

echo "== API tests (node --test, real servers, SQLite; PostgreSQL-only files: ${pg_only[*]##*/})"
node_run "api (SQLite)" sqlite "$API_LIMIT" "$API_TEST_LIMIT_MS" "${sqlite_files[@]}"

echo "== API tests (node --test, real servers, PostgreSQL)"
if [ "$pg_ok" -eq 1 ]; then
    node_run "api (PostgreSQL)" postgres "$API_LIMIT" "$API_TEST_LIMIT_MS" "${api_files[@]}"
else
    hard_fail "api (PostgreSQL)" "not run: no working PostgreSQL test server"
fi

echo "== browser tests (tests/e2e/: Debian's headless Chromium, playwright-core, axe-core)"
mapfile -t e2e_files < <(ls tests/e2e/*.test.mjs)
node_run "browser (Chromium)" sqlite "$E2E_LIMIT" "$E2E_TEST_LIMIT_MS" "${e2e_files[@]}"

scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || hard_fail "stopping the PostgreSQL test server" "failed"

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ "${#fail_list[@]}" -gt 0 ]; then
    echo "failed (${#fail_list[@]} lines; details higher up):"
    printf '  %s\n' "${fail_list[@]:0:60}"
fi
if [ "${#skip_list[@]}" -gt 0 ]; then
    echo "skipped ($skipped):"
    printf '  %s\n' "${skip_list[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
