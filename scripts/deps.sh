#!/bin/sh
# deps.sh [build|test] - installs the Debian packages logs-collector needs that are
# missing, the console's npm packages of web/package.json (bootstrap, bootstrap-icons,
# swagger-ui-dist: the build embeds them) and for tests those of tests/package.json
# (playwright-core, axe-core, ...) and Debian's chromium; npm ci, from the committed
# lock files. Quiet and fast (one dpkg-query, one cmp a directory) when everything is there.
set -eu
cd "$(dirname "$0")/.."

# npm_ready DIR: node_modules of DIR matches its package-lock.json (npm ci otherwise).
npm_ready() {
    if [ -f "$1/node_modules/.package-lock.json" ] && [ -f "$1/node_modules/.ci-stamp" ] &&
        cmp -s "$1/package-lock.json" "$1/node_modules/.ci-stamp"; then
        return 0
    fi
    echo "deps.sh: npm ci in $1" >&2
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$1/package-lock.json" "$1/node_modules/.ci-stamp"
}

BUILD_PKGS="gcc make meson ninja-build pkg-config python3 tzdata ca-certificates
libmicrohttpd-dev libsqlite3-dev libpq-dev libjansson-dev libsodium-dev libssl-dev
libjwt-dev libcurl4-openssl-dev liboath-dev libqrencode-dev libmd4c-dev libmd4c-html0-dev"
# prometheus: its promtool checks the /metrics output (tests/api/metrics.test.mjs)
TEST_PKGS="libcmocka-dev curl clang-format postgresql clang libclang-rt-dev strace prometheus
chromium fonts-dejavu-core"

want="$BUILD_PKGS"
# any Node.js >= 18 with npm builds the console and runs the tests; only install
# Debian's when there is none
command -v node >/dev/null 2>&1 || want="$want nodejs"
command -v npm >/dev/null 2>&1 || want="$want npm"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"

missing=""
npm_dirs="web"
[ "${1:-build}" = test ] && npm_dirs="web tests"
for p in $want; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
if [ -z "$missing" ]; then
    for d in $npm_dirs; do npm_ready "$d"; done
    exit 0
fi

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing on a fresh machine; refresh them once.
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
for d in $npm_dirs; do npm_ready "$d"; done
