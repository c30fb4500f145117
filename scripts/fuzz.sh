#!/bin/bash
# fuzz.sh BUILD_DIR SECONDS - runs every libFuzzer target in BUILD_DIR (fuzz-NAME) for
# SECONDS each, starting from the committed seed corpus fuzz/corpus/NAME (copied: the
# run's new inputs stay out of the tree). Prints "fuzz NAME: ok (N runs)" or the crash
# with the input that caused it (kept in fuzz/crashes/), and exits non-zero on any
# crash, sanitizer report or leak. `make fuzz` runs long; `make test` runs a few seconds.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
work=$(mktemp -d /tmp/lc-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
ran=0
for bin in "$BUILD"/fuzz-*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=${bin##*/fuzz-}
    mkdir -p "$work/$name" fuzz/crashes
    [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/$name/"
    log="$work/$name.log"
    "$bin" -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="fuzz/crashes/$name-" -print_final_stats=1 "$work/$name" >"$log" 2>&1
    rc=$?
    ran=$((ran + 1))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    if [ "$rc" -ne 0 ] || grep -qE 'runtime error|ERROR: (Address|Leak|Undefined)Sanitizer' "$log"; then
        echo "fuzz $name: FAILED (exit $rc)"
        why=$(grep -E 'runtime error|ERROR:|SUMMARY|Test unit written|ALARM|fuzz harness' "$log" | head -20)
        # none of those: the last words of the run say what stopped it
        if [ -n "$why" ]; then echo "$why"; else tail -n 8 "$log"; fi
        failed=$((failed + 1))
    else
        echo "fuzz $name: ok (${runs:-?} runs in ${SECONDS_EACH} s)"
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "fuzz: no targets in $BUILD"
    exit 1
fi
[ "$failed" -eq 0 ]
