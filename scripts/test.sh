#!/bin/bash
# test.sh BUILD_DIR - runs every suite (format check, cmocka unit tests under
# ASan+UBSan, black-box API tests against the real server on SQLite, then a
# throwaway PostgreSQL (scripts/pg-test-server.sh) for the store tests and the
# API suite again on it) and ends with the summary line "N passed, N failed".
# Exit status 0 only when nothing failed.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build-test}
case "$BUILD" in
    /*) export LC_BIN="$BUILD/logs-collector" ;;
    *) export LC_BIN="$PWD/$BUILD/logs-collector" ;;
esac
passed=0
failed=0
logdir=$(mktemp -d /tmp/lc-test.XXXXXX)

echo "== format check"
if scripts/format-check.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== unit tests (cmocka, ASan+UBSan)"
meson test -C "$BUILD" --print-errorlogs --no-rebuild >"$logdir/unit.txt" 2>&1
unit_rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$logdir/unit.txt" || true
log="$BUILD/meson-logs/testlog.txt"
up=$(grep -ho '\[  PASSED  \] [0-9]* test' "$log" 2>/dev/null | awk '{s+=$4} END {print s+0}')
uf=$(grep -ho '\[  FAILED  \] [0-9]* test' "$log" 2>/dev/null | awk '{s+=$4} END {print s+0}')
if [ "$unit_rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
    uf=$(grep -oE '^Fail: *[0-9]+|^Timeout: *[0-9]+' "$logdir/unit.txt" | awk -F: '{s+=$2} END {print s+0}')
    [ "$uf" -eq 0 ] && uf=1
    cat "$logdir/unit.txt"
fi
echo "unit: $up passed, $uf failed"
passed=$((passed + up))
failed=$((failed + uf))

# api_run LABEL TAPFILE [ENV=VALUE...]: the black-box suite once; adds its counts.
api_run() {
    local label=$1 tap=$2 ap af
    shift 2
    env "$@" node --test --test-concurrency=2 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" \
        tests/api/ 2>&1 | tail -n 400
    ap=$(grep -E '^# pass ' "$tap" | awk '{print $3}')
    af=$(grep -E '^# fail ' "$tap" | awk '{print $3}')
    ap=${ap:-0}
    af=${af:-1}
    echo "api ($label): $ap passed, $af failed"
    passed=$((passed + ap))
    failed=$((failed + af))
}

# A failure that is not a test's: loud, and counted.
hard_fail() {
    echo "FAILED: $*"
    failed=$((failed + 1))
}

echo "== API tests (node --test, real server, SQLite)"
api_run SQLite "$logdir/api-sqlite.tap" LC_DB=sqlite

# ---- PostgreSQL: a throwaway server (scripts/pg-test-server.sh), stopped on any exit.
pgdir=$(mktemp -d /tmp/lc-pg.XXXXXX) # not under $logdir: the postgres user must reach it
cleanup() {
    scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$logdir" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== PostgreSQL test server"
if ! LC_PG_ADMIN_URL=$(scripts/pg-test-server.sh start "$pgdir" </dev/null); then
    hard_fail "could not start a PostgreSQL test server (is the postgresql package installed?)"
    hard_fail "store tests against PostgreSQL not run"
    hard_fail "API tests against PostgreSQL not run"
else
    export LC_PG_ADMIN_URL
    pgbase=$(scripts/pg-test-server.sh url "$pgdir")
    echo "PostgreSQL at $pgbase"
    pg_ok=1
    # Is the PostgreSQL backend built? `migrate` on a fresh database says so.
    probe_dir=$(mktemp -d "$logdir/probe.XXXXXX")
    psql -X -q "$LC_PG_ADMIN_URL" -c 'CREATE DATABASE lc_probe' -c 'CREATE DATABASE lc_unit_store' \
        >"$logdir/psql.txt" 2>&1 || { cat "$logdir/psql.txt"; hard_fail "cannot create test databases"; }
    DATA_DIR="$probe_dir" DB_URL="$pgbase/lc_probe" ASAN_OPTIONS=detect_leaks=1 "$LC_BIN" migrate \
        >"$logdir/probe.txt" 2>&1
    probe_rc=$?
    if [ "$probe_rc" -ne 0 ]; then
        cat "$logdir/probe.txt"
        if grep -qi 'not built' "$logdir/probe.txt"; then
            echo "!! the PostgreSQL backend is NOT BUILT into $LC_BIN: PostgreSQL runs fail"
        fi
        hard_fail "logs-collector migrate on PostgreSQL exited $probe_rc"
        pg_ok=0
    fi

    echo "== store tests against PostgreSQL (cmocka, LC_TEST_PG_URL)"
    if [ "$pg_ok" -eq 1 ] && [ -x "$BUILD/test-store" ]; then
        LC_TEST_PG_URL="$pgbase/lc_unit_store" "$BUILD/test-store" >"$logdir/store-pg.txt" 2>&1
        sp_rc=$?
        sp=$(grep -ho '\[  PASSED  \] [0-9]* test' "$logdir/store-pg.txt" | awk '{s+=$4} END {print s+0}')
        sf=$(grep -ho '\[  FAILED  \] [0-9]* test' "$logdir/store-pg.txt" | awk '{s+=$4} END {print s+0}')
        if [ "$sp_rc" -ne 0 ] || [ "$sf" -ne 0 ]; then
            cat "$logdir/store-pg.txt"
            [ "$sf" -eq 0 ] && sf=1
        fi
        echo "store (PostgreSQL): $sp passed, $sf failed"
        passed=$((passed + sp))
        failed=$((failed + sf))
    else
        hard_fail "store tests against PostgreSQL not run"
    fi

    echo "== API tests (node --test, real server, PostgreSQL)"
    if [ "$pg_ok" -eq 1 ]; then
        api_run PostgreSQL "$logdir/api-pg.tap" LC_DB=postgres
    else
        hard_fail "API tests against PostgreSQL not run (backend not working, see above)"
    fi
fi

scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || hard_fail "stopping the PostgreSQL test server"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
