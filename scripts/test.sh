#!/bin/bash
# test.sh BUILD_DIR - runs every suite (format check, cmocka unit tests under
# ASan+UBSan, black-box API tests against the real server) and ends with the
# summary line "N passed, N failed". Exit status 0 only when nothing failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build-test}
export LC_BIN="$PWD/$BUILD/logs-collector"
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

echo "== API tests (node --test, real server, SQLite)"
node --test --test-concurrency=2 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$logdir/api.tap" \
    tests/api/ 2>&1 | tail -n 400
ap=$(grep -E '^# pass ' "$logdir/api.tap" | awk '{print $3}')
af=$(grep -E '^# fail ' "$logdir/api.tap" | awk '{print $3}')
ap=${ap:-0}
af=${af:-1}
echo "api: $ap passed, $af failed"
passed=$((passed + ap))
failed=$((failed + af))

rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
