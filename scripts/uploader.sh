#!/usr/bin/env bash
# uploader.sh - sends a log archive to a logs-collector server with an upload token.
# Needs only bash, curl and coreutils. By default the upload is resumable (tus 1.0.0):
# when the connection breaks it asks the server how much arrived and sends the rest,
# and a run that gave up is continued by running the same command again.
# Exit code 0 on success, 1 on a failed upload, 2 on bad usage.
set -u

VERSION="2.0.0"
FILE=""
TOKEN=""
DST=""
URL=""
INSECURE=""
RETRIES=${UPLOADER_RETRIES:-20}

usage() {
    cat <<USAGE
Usage: $0 -f FILE -t TOKEN -d SERVER [options]

Uploads FILE to the logs-collector at SERVER using the upload TOKEN your
support engineer gave you. Shows a progress bar; prints the result. A broken
connection does not lose what was sent: the script resumes where it stopped,
and if it gives up, running the same command again continues the upload.

Options:
  -f, --file FILE      the archive to send (required)
  -t, --token TOKEN    the upload token (required)
  -d, --dst SERVER     server address, e.g. https://logs.example.com
  -u, --url URL        full upload URL instead of --dst: .../api/v1/uploads/ (resumable),
                       .../upload/TOKEN/ (one request, no resume), or .../api/v1/archives/
                       (a form upload, like the old script)
  -r, --retries N      attempts to resume after a broken connection (default $RETRIES)
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
    -r | --retries) RETRIES="${2:-}"; shift ;;
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
case "$RETRIES" in '' | *[!0-9]*) die_usage "--retries takes a whole number" ;; esac
if [ -z "$URL" ]; then
    [ -n "$DST" ] || die_usage "--dst (or --url) is required"
    case "$DST" in
    http://* | https://*) ;;
    *) DST="https://$DST" ;;
    esac
    URL="${DST%/}/api/v1/uploads/"
fi

SIZE=$(wc -c <"$FILE" | tr -d ' ')
NAME=$(basename -- "$FILE")
WORK=$(mktemp -d) || exit 1
trap 'rm -rf "$WORK"' EXIT

# The SHA-256 of what was sent, when this machine has a tool for it.
local_sha() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$FILE" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$FILE" | cut -d' ' -f1
    fi
}

# A header's value from a saved response head (case-insensitive name).
header() {
    tr -d '\r' <"$WORK/head" | sed -n "s/^$1: *//Ip" | tail -n 1
}

# The server's "detail" message, without needing a JSON tool.
detail() {
    sed -n 's/.*"detail" *: *"\([^"]*\)".*/\1/p' "$WORK/body" 2>/dev/null
}

# explain CODE: the reason of a refusal in plain words, then exit 1.
explain() {
    local msg
    case "$1" in
    401) msg="the upload token is missing." ;;
    403) msg="the upload token is not valid (mistyped, or replaced by a new one). Check it with your support engineer." ;;
    404) msg="the server has no such upload any more (it expired or was removed); run the command again to start over." ;;
    413) msg="the file is larger than the server accepts." ;;
    423) msg="the upload link can no longer be used (the ticket is closed, its uploads are used up, or it expired). Ask your support engineer to reopen the ticket or send a new link." ;;
    429) msg="too many attempts with unknown tokens; wait a minute and try again." ;;
    507) msg="the server does not have enough free space right now." ;;
    *) msg="the server answered with HTTP status $1." ;;
    esac
    echo "error: upload failed: $msg" >&2
    local d
    d=$(detail)
    [ -n "$d" ] && echo "server says: $d" >&2
    exit 1
}

# unreachable RC: curl could not talk to the server at all.
unreachable() {
    echo "error: could not reach the server at $URL (curl exit code $1)." >&2
    case "$1" in
    35)
        echo "The TLS handshake failed: the server may speak plain HTTP. If so, give the address with http://, e.g.:" >&2
        host=${URL#*://}
        echo "  $0 -f '$FILE' -t TOKEN -d http://${host%%/*}" >&2
        ;;
    60) echo "The TLS certificate was not accepted; use --insecure if you trust this server." >&2 ;;
    esac
}

# The end: the server's SHA-256 against this file's.
done_ok() {
    local sha=$1 mine
    echo "Done: the archive was received."
    mine=$(local_sha)
    if [ -n "$sha" ]; then
        echo "SHA-256 on the server: $sha"
        if [ -n "$mine" ] && [ "$mine" != "$sha" ]; then
            echo "error: the file here has SHA-256 $mine: it changed while it was sent, or was damaged on the way. Send it again." >&2
            exit 1
        fi
    elif [ -n "$mine" ]; then
        # the form upload answers, as the original product did, without a checksum
        echo "SHA-256 of the file sent: $mine (the form upload does not report the server's; your support engineer sees it on the ticket)"
    fi
    exit 0
}

echo "Uploading $NAME ($SIZE bytes) ..." >&2

# --- one request: the form, or PUT /upload/TOKEN/ ---
case "$URL" in
*/api/v1/uploads | */api/v1/uploads/) ;;
*)
    case "$URL" in
    */api/v1/archives | */api/v1/archives/)
        code=$(curl $INSECURE --progress-bar --fail-early -o "$WORK/body" -w '%{http_code}' \
            -H "Upload-Token: $TOKEN" -H 'Accept: application/json' -F "file=@${FILE}" "$URL")
        rc=$?
        ;;
    *)
        code=$(curl $INSECURE --progress-bar -o "$WORK/body" -w '%{http_code}' \
            -H 'Accept: application/json' -T "$FILE" "$URL")
        rc=$?
        ;;
    esac
    if [ "$rc" -ne 0 ] && [ "${code:-000}" = "000" ]; then
        unreachable "$rc"
        exit 1
    fi
    [ "$code" = 201 ] || explain "$code"
    done_ok "$(sed -n 's/.*"sha256" *: *"\([0-9a-f]*\)".*/\1/p' "$WORK/body")"
    ;;
esac

# --- resumable (tus): create once, then send from wherever the server stands ---
TUS=(-H "Tus-Resumable: 1.0.0" -H "Upload-Token: $TOKEN")
# Where an unfinished upload of this file with this token is remembered between runs.
STATE_DIR=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/logs-collector-uploader
KEY=$(printf '%s\n' "$URL" "$TOKEN" "$(cd "$(dirname -- "$FILE")" && pwd)/$NAME" "$SIZE" | cksum | tr ' ' '-')
STATE="$STATE_DIR/$KEY"

# request ARGS...: one curl call; sets CODE (000 when the server was not reached) and RC.
request() {
    CODE=$(curl $INSECURE -sS -o "$WORK/body" -D "$WORK/head" -w '%{http_code}' "$@" 2>"$WORK/err")
    RC=$?
    [ -n "$CODE" ] || CODE=000
}

# offset_of: asks the server where the upload stands; sets OFFSET or returns 1.
offset_of() {
    request -I "${TUS[@]}" "$LOCATION"
    [ "$CODE" = 200 ] || return 1
    OFFSET=$(header Upload-Offset)
    case "$OFFSET" in '' | *[!0-9]*) return 1 ;; esac
}

LOCATION=""
if [ -f "$STATE" ]; then
    LOCATION=$(cat "$STATE")
    if offset_of; then
        echo "Resuming the upload started earlier: $OFFSET of $SIZE bytes are on the server." >&2
    else
        LOCATION=""
    fi
fi
if [ -z "$LOCATION" ]; then
    meta="filename $(printf '%s' "$NAME" | base64 | tr -d '\n')"
    request -X POST "${TUS[@]}" -H "Upload-Length: $SIZE" -H "Upload-Metadata: $meta" "$URL"
    if [ "$CODE" = 000 ]; then
        unreachable "$RC"
        exit 1
    fi
    [ "$CODE" = 201 ] || explain "$CODE"
    LOCATION=$(header Location)
    [ -n "$LOCATION" ] || { echo "error: the server did not say where to send the file." >&2; exit 1; }
    mkdir -p "$STATE_DIR" 2>/dev/null && printf '%s\n' "$LOCATION" >"$STATE"
    OFFSET=0
fi

tries=0
delay=1
while :; do
    # complete already: the answer to the last bytes was lost on the way, and the
    # server, asked, names the archive they became
    if [ "$OFFSET" = "$SIZE" ] && [ -n "$(header Archive-Id)" ]; then
        rm -f "$STATE"
        done_ok "$(header Archive-Sha256)"
    fi
    if [ "$OFFSET" -gt 0 ]; then
        echo "Sending bytes $OFFSET..$SIZE ($((OFFSET * 100 / SIZE))% already on the server)" >&2
    fi
    # the rest of the file, streamed (tail seeks; nothing is read twice)
    CODE=$(tail -c +$((OFFSET + 1)) -- "$FILE" | curl $INSECURE --progress-bar -o "$WORK/body" \
        -D "$WORK/head" -w '%{http_code}' -X PATCH "${TUS[@]}" -H "Upload-Offset: $OFFSET" \
        -H 'Content-Type: application/offset+octet-stream' -T - "$LOCATION")
    RC=$?
    [ -n "$CODE" ] || CODE=000
    if [ "$CODE" = 204 ] && [ "$(header Upload-Offset)" = "$SIZE" ]; then
        rm -f "$STATE"
        done_ok "$(header Archive-Sha256)"
    fi
    case "$CODE" in
    000 | 1?? | 204 | 409 | 500 | 502 | 503 | 504) ;; # broken off, busy or not all sent: resume
    423)
        # "receiving bytes right now": an earlier request of ours still ends
        case "$(detail)" in
        *"receiving bytes"*) ;;
        *)
            rm -f "$STATE"
            explain "$CODE"
            ;;
        esac
        ;;
    *)
        [ "$CODE" = 404 ] && rm -f "$STATE"
        explain "$CODE"
        ;;
    esac
    tries=$((tries + 1))
    if [ "$tries" -gt "$RETRIES" ]; then
        echo "error: the connection keeps breaking; gave up after $RETRIES attempts to resume." >&2
        [ "$CODE" = 000 ] && unreachable "$RC"
        echo "What arrived is kept on the server for a day: run the same command again to continue." >&2
        exit 1
    fi
    echo "The connection broke; resuming in $delay s (attempt $tries of $RETRIES) ..." >&2
    sleep "$delay"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
    until offset_of; do
        case "$CODE" in
        000 | 5*) ;; # not reachable, or busy: try again
        *)
            [ "$CODE" = 404 ] && rm -f "$STATE"
            explain "$CODE"
            ;;
        esac
        tries=$((tries + 1))
        if [ "$tries" -gt "$RETRIES" ]; then
            echo "error: the server cannot be reached; gave up after $RETRIES attempts to resume." >&2
            unreachable "$RC"
            echo "What arrived is kept on the server for a day: run the same command again to continue." >&2
            exit 1
        fi
        echo "The server does not answer; trying again in $delay s (attempt $tries of $RETRIES) ..." >&2
        sleep "$delay"
        delay=$((delay * 2 > 60 ? 60 : delay * 2))
    done
done
