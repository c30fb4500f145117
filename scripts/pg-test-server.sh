#!/bin/bash
# pg-test-server.sh start|stop|pause|resume|url|admin-url DIR - a throwaway PostgreSQL for the tests.
#
#   start DIR      creates DIR (if needed), initdb's a cluster in DIR/data (trust auth,
#                  superuser "postgres"), starts it on 127.0.0.1 on a free port with its
#                  unix socket in DIR, fsync/synchronous_commit off, waits (30 s at most)
#                  until it accepts connections and prints the admin URL.
#   stop DIR       stops the server (pg_ctl stop -m fast, then SIGKILL by its pid if it
#                  is still there) and removes DIR. Quiet and successful when nothing runs.
#   pause DIR      stops the server (pg_ctl stop -m fast) but keeps its cluster and port:
#                  a database outage, for tests.
#   resume DIR     starts a paused server again on its port and waits (30 s at most)
#                  until it accepts connections.
#   url DIR        prints postgres://postgres@127.0.0.1:PORT (append /DATABASE).
#   admin-url DIR  prints postgres://postgres@127.0.0.1:PORT/postgres.
#
# PG_TEST_PORT=N makes start use that port (no retry on another one).
#
# Uses the newest server under /usr/lib/postgresql/*/bin (Debian's postgresql package).
# As root the server runs as the "postgres" user (runuser); otherwise as the caller.
# Never touches any other PostgreSQL on the machine.
set -eu

die() {
    echo "pg-test-server.sh: $*" >&2
    exit 1
}

[ $# -eq 2 ] || die "usage: pg-test-server.sh start|stop|pause|resume|url|admin-url DIR"
cmd=$1
case "$2" in
    /*) dir=$2 ;;
    *) dir=$PWD/$2 ;;
esac
data=$dir/data
# The postgres user may not be able to enter the caller's directory.
cd /

# The newest installed PostgreSQL's bin directory.
pgbin() {
    local best="" v
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/postgres" ] || continue
        v=$(basename "$(dirname "$d")")
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n1)" = "$v" ]; then
            best=$v
        fi
    done
    [ -n "$best" ] || die "no PostgreSQL server found under /usr/lib/postgresql (install the postgresql package)"
    echo "/usr/lib/postgresql/$best/bin"
}

# Runs a command as the server's user: "postgres" when we are root, else ourselves.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A loopback TCP port nobody listens on right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_of() {
    [ -f "$dir/port" ] || die "no server in $dir (no $dir/port)"
    cat "$dir/port"
}

start() {
    local bin port i
    bin=$(pgbin)
    [ -e "$data/PG_VERSION" ] && die "$data already holds a cluster; stop it first"
    mkdir -p "$dir"
    chmod 0700 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        getent passwd postgres >/dev/null || die "no postgres user (install the postgresql package)"
        chown postgres: "$dir"
    fi
    as_pg "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    cat >>"$data/postgresql.conf" <<EOF

# pg-test-server.sh: throwaway test server, speed over durability
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 400
shared_buffers = 64MB
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF
    # The port may be taken between free_port and the bind: try a few.
    for i in 1 2 3 4 5; do
        port=${PG_TEST_PORT:-$(free_port)}
        echo "$port" >"$dir/port"
        if as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 30 \
            start >/dev/null 2>&1; then
            break
        fi
        as_pg "$bin/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
        if [ "$i" -eq 5 ] || [ -n "${PG_TEST_PORT:-}" ]; then
            tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
            die "the server did not start (log above)"
        fi
    done
    if ready "$bin" "$port"; then
        echo "postgres://postgres@127.0.0.1:$port/postgres"
        return 0
    fi
    tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
    stop >/dev/null 2>&1 || true
    die "the server does not accept connections on 127.0.0.1:$port after 30 s"
}

# ready BIN PORT: pg_ctl -w already waited; pg_isready confirms TCP on 127.0.0.1 (30 s at most).
ready() {
    local i
    for i in $(seq 1 60); do
        "$1/pg_isready" -q -h 127.0.0.1 -p "$2" -U postgres -d postgres && return 0
        sleep 0.5
    done
    return 1
}

pause() {
    [ -f "$data/postmaster.pid" ] || die "no server runs in $dir"
    as_pg "$(pgbin)/pg_ctl" -D "$data" stop -m fast -w -t 30 >/dev/null 2>&1 || die "pg_ctl stop failed"
}

resume() {
    local bin port
    bin=$(pgbin)
    port=$(port_of)
    [ -e "$data/PG_VERSION" ] || die "no cluster in $dir"
    as_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 30 start >/dev/null 2>&1 &&
        ready "$bin" "$port" || {
        tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
        die "the server did not start again on 127.0.0.1:$port"
    }
}

stop() {
    local bin pid i
    if [ -f "$data/postmaster.pid" ]; then
        bin=$(pgbin)
        pid=$(head -n1 "$data/postmaster.pid")
        as_pg "$bin/pg_ctl" -D "$data" stop -m fast -w -t 30 >/dev/null 2>&1 || true
        # Still there (pg_ctl failed or timed out)? Kill that pid, and only it.
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            for i in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
    fi
    # Only remove what looks like ours: a directory holding our port file or cluster.
    if [ -d "$dir" ]; then
        if [ -e "$dir/port" ] || [ -e "$data/PG_VERSION" ] || [ -z "$(ls -A "$dir")" ]; then
            rm -rf "$dir"
        else
            die "$dir does not look like a pg-test-server.sh directory; not removing it"
        fi
    fi
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    pause) pause ;;
    resume) resume ;;
    url)
        port=$(port_of)
        echo "postgres://postgres@127.0.0.1:$port"
        ;;
    admin-url)
        port=$(port_of)
        echo "postgres://postgres@127.0.0.1:$port/postgres"
        ;;
    *) die "unknown command \"$cmd\" (start|stop|pause|resume|url|admin-url)" ;;
esac
