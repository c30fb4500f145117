#!/bin/sh
# deps.sh [build|test] - installs the Debian packages logs-collector needs that are
# missing. Quiet and fast (one dpkg-query) when everything is there.
set -eu

BUILD_PKGS="gcc make meson ninja-build pkg-config python3 tzdata ca-certificates
libmicrohttpd-dev libsqlite3-dev libpq-dev libjansson-dev libsodium-dev libssl-dev
libjwt-dev"
TEST_PKGS="libcmocka-dev curl clang-format postgresql clang libclang-rt-dev strace"

want="$BUILD_PKGS"
if [ "${1:-build}" = test ]; then
    want="$want $TEST_PKGS"
    # any Node.js >= 18 runs the API tests; only install Debian's when there is none
    command -v node >/dev/null 2>&1 || want="$want nodejs"
fi

missing=""
for p in $want; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing on a fresh machine; refresh them once.
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
