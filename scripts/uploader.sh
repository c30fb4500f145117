#!/usr/bin/env bash
# uploader.sh - sends a log archive to a logs-collector server with an upload token.
# Needs only bash and curl. Exit code 0 on success, 1 on a failed upload, 2 on bad usage.
set -u

VERSION="1.0.0"
FILE=""
TOKEN=""
DST=""
URL=""
INSECURE=""

usage() {
    cat <<USAGE
Usage: $0 -f FILE -t TOKEN -d SERVER [options]

Uploads FILE to the logs-collector at SERVER using the upload TOKEN your
support engineer gave you. Shows a progress bar; prints the result.

Options:
  -f, --file FILE      the archive to send (required)
  -t, --token TOKEN    the upload token (required)
  -d, --dst SERVER     server address, e.g. https://logs.example.com
  -u, --url URL        full upload URL instead of --dst, e.g.
                       https://logs.example.com/upload/TOKEN/ (a URL ending in
                       /api/v1/archives/ uploads as a form, like the old script)
  -k, --insecure       do not verify the server's TLS certificate
  -v, --version        print the version
  -h, --help           print this help
USAGE
}

die_usage() {
    echo "error: $1" >&2
    echo "Run '$0 --help' for usage." >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    -f | --file) FILE="${2:-}"; shift ;;
    -t | --token) TOKEN="${2:-}"; shift ;;
    -d | --dst) DST="${2:-}"; shift ;;
    -u | --url) URL="${2:-}"; shift ;;
    -k | --insecure) INSECURE="--insecure" ;;
    -v | --version) echo "$VERSION"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    *) die_usage "unknown option '$1'" ;;
    esac
    shift
done

command -v curl >/dev/null 2>&1 || {
    echo "error: curl is not installed (apt install curl / yum install curl)" >&2
    exit 1
}
[ -n "$FILE" ] || die_usage "--file is required"
[ -n "$TOKEN" ] || die_usage "--token is required"
[ -f "$FILE" ] || die_usage "'$FILE' is not a file"
[ -r "$FILE" ] || die_usage "'$FILE' is not readable"
[ -s "$FILE" ] || die_usage "'$FILE' is empty"
if [ -z "$URL" ]; then
    [ -n "$DST" ] || die_usage "--dst (or --url) is required"
    case "$DST" in
    http://* | https://*) ;;
    *) DST="https://$DST" ;;
    esac
    URL="${DST%/}/upload/${TOKEN}/"
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

echo "Uploading $(basename -- "$FILE") ($(wc -c <"$FILE" | tr -d ' ') bytes) ..." >&2
case "$URL" in
*/api/v1/archives | */api/v1/archives/)
    code=$(curl $INSECURE --progress-bar --fail-early -o "$out" -w '%{http_code}' \
        -H "Upload-Token: $TOKEN" -H 'Accept: application/json' \
        -F "file=@${FILE}" "$URL")
    rc=$?
    ;;
*)
    code=$(curl $INSECURE --progress-bar -o "$out" -w '%{http_code}' \
        -H 'Accept: application/json' -T "$FILE" "$URL")
    rc=$?
    ;;
esac

body=$(cat "$out")
# the server's "detail" message, without needing a JSON tool
detail=$(printf '%s' "$body" | sed -n 's/.*"detail" *: *"\([^"]*\)".*/\1/p')

if [ "$rc" -ne 0 ] && [ "${code:-000}" = "000" ]; then
    echo "error: could not reach the server at $URL (curl exit code $rc)." >&2
    case "$rc" in
    35)
        echo "The TLS handshake failed: the server may speak plain HTTP. If so, give the address with http://, e.g.:" >&2
        host=${URL#*://}
        echo "  $0 -f '$FILE' -t TOKEN -d http://${host%%/*}" >&2
        ;;
    60) echo "The TLS certificate was not accepted; use --insecure if you trust this server." >&2 ;;
    esac
    exit 1
fi

# The SHA-256 of what was sent, when this machine has a tool for it.
local_sha() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$FILE" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$FILE" | cut -d' ' -f1
    fi
}

case "$code" in
201)
    echo "Done: the archive was received."
    sha=$(printf '%s' "$body" | sed -n 's/.*"sha256" *: *"\([0-9a-f]*\)".*/\1/p')
    mine=$(local_sha)
    if [ -n "$sha" ]; then
        echo "SHA-256 on the server: $sha"
        if [ -n "$mine" ] && [ "$mine" != "$sha" ]; then
            echo "error: the file here has SHA-256 $mine: it changed while it was sent, or was damaged on the way. Send it again." >&2
            exit 1
        fi
    elif [ -n "$mine" ]; then
        # the form upload (--url .../api/v1/archives/) answers, as the original
        # product did, without a checksum: give the local one to compare
        echo "SHA-256 of the file sent: $mine (the form upload does not report the server's; your support engineer sees it on the ticket)"
    fi
    exit 0
    ;;
401) msg="the upload token is missing." ;;
403) msg="the upload token is not valid. Check it with your support engineer." ;;
413) msg="the file is larger than the server accepts." ;;
423) msg="the upload link can no longer be used (the ticket is closed, its uploads are used up, or it expired). Ask your support engineer to reopen the ticket or send a new link." ;;
429) msg="too many attempts with unknown tokens; wait a minute and try again." ;;
507) msg="the server does not have enough free space right now." ;;
*) msg="the server answered with HTTP status $code." ;;
esac
echo "error: upload failed: $msg" >&2
[ -n "$detail" ] && echo "server says: $detail" >&2
exit 1
