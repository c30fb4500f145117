#!/bin/sh
# format-check.sh - fails when a C file differs from what .clang-format makes of it.
set -eu
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'fuzz/*.h' 2>/dev/null); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "format: $f is not clang-formatted (run: make format)" >&2
        bad=1
    fi
done
exit $bad
