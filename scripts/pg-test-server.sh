#!/bin/sh
# pg-test-server.sh: starts and stops a throw-away PostgreSQL 15 server for the tests
# (DESIGN.md section 2.2: both backends run the same suite against a real server).
#
#   scripts/pg-test-server.sh start DIR   # prints postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-test-server.sh stop DIR    # stops the server and removes DIR
#
# The server listens on 127.0.0.1 on a free port, trusts every local connection, keeps its
# unix socket in DIR and runs with fsync on (the tests must see real durability costs).
# When run as root it runs as the `postgres` OS user. A stale DIR left by an earlier run is
# stopped and removed first. `start` also writes the URL to DIR/url.
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=postgres
START_ATTEMPTS=5     # ports are picked then bound by the server: another process may win
READY_TIMEOUT_S=60

log() {
    echo "pg-test-server: $*" >&2
}

die() {
    log "$*"
    exit 1
}

usage() {
    die "usage: $0 start DIR | stop DIR"
}

# Runs a command as the PostgreSQL OS user when we are root (the server refuses to run as
# root), as ourselves otherwise.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Whether the postmaster of DIR/data runs. A killed server leaves postmaster.pid behind, and
# its process may linger as a zombie (containers whose init does not reap): pg_ctl would
# wait for it in vain.
server_alive() {
    pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d ' ' -f 1)
    [ "$state" != Z ]
}

# Stops the server of DIR/data if it runs; never fails.
stop_server() {
    dir=$1
    server_alive "$dir" || return 0
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >&2 2>&1 ||
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >&2 2>&1 ||
        log "pg_ctl stop failed"
}

prepare_dir() {
    dir=$1
    if [ -e "$dir" ]; then
        log "removing stale $dir"
        stop_server "$dir"
        rm -rf "$dir"
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_USER:" "$dir"
        as_pg test -w "$dir" || die "$dir is not reachable by user $PG_USER (check parents)"
    fi
    # The socket path must fit in sun_path (108 bytes) with "/.s.PGSQL.NNNNN.lock".
    [ "${#dir}" -le 80 ] || die "DIR path too long for a unix socket: $dir"
}

init_cluster() {
    dir=$1
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" -A trust -E UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    }
}

# Tries to start the server on PORT; returns non-zero if it did not come up.
try_start() {
    dir=$1
    port=$2
    opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir"
    opts="$opts -c max_connections=200 -c fsync=on"
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w \
        -t "$READY_TIMEOUT_S" start >&2 2>&1 || return 1
    i=0
    while [ "$i" -lt "$READY_TIMEOUT_S" ]; do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
            return 0
        fi
        i=$((i + 1))
        sleep 1
    done
    return 1
}

start() {
    dir=$(realpath -m "$1")
    prepare_dir "$dir"
    init_cluster "$dir"
    attempt=1
    while [ "$attempt" -le "$START_ATTEMPTS" ]; do
        port=$(free_port)
        if try_start "$dir" "$port"; then
            url="postgresql://$PG_USER@127.0.0.1:$port/postgres"
            echo "$url" >"$dir/url"
            log "server running in $dir"
            echo "$url"
            return 0
        fi
        log "start on port $port failed (attempt $attempt of $START_ATTEMPTS)"
        stop_server "$dir"
        attempt=$((attempt + 1))
    done
    tail -n 30 "$dir/server.log" >&2 || true
    die "could not start PostgreSQL in $dir"
}

stop() {
    dir=$(realpath -m "$1")
    [ -e "$dir" ] || return 0
    stop_server "$dir"
    rm -rf "$dir"
}

[ $# -eq 2 ] || usage
[ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL binaries not found in $PG_BIN"
case "$1" in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
