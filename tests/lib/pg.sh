# A private PostgreSQL server for a test, stopped on exit even when the test fails. Source it after
# harness.sh, then call pg_start: it sets $PG_URL (a postgresql:// URL to the database "postgres"
# as the superuser "sbx", over a unix socket in $T/pg) and $PG_BIN. The server listens on no TCP
# address; its socket name carries a port number picked by binding port 0. initdb refuses root:
# as root the server runs as the user postgres (else nobody). Skips (77) without PostgreSQL.
pg_start() {
    PG_BIN=""
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN=$d; done
    [ -n "$PG_BIN" ] || skip "needs the PostgreSQL server binaries (initdb, pg_ctl: apt-get install postgresql)"
    PG_DIR="$T/pg"
    mkdir -p "$PG_DIR/sock"
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as=""
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        id "$user" >/dev/null 2>&1 || user=nobody
        chown -R "$user" "$PG_DIR"
        chmod 0755 "$T"
        as="runuser -u $user --"
    fi
    $as "$PG_BIN/initdb" -D "$PG_DIR/data" -U sbx -A trust -E UTF8 --locale=C --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; fail "initdb"; return 1; }
    on_exit "$as '$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m immediate -w stop"
    $as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 \
        -o "-p $PG_PORT -k $PG_DIR/sock -c listen_addresses='' -c fsync=off -c max_connections=200" \
        start >/dev/null 2>&1 || { cat "$PG_DIR/server.log" >&2; fail "pg_ctl start"; return 1; }
    PG_URL="postgresql:///postgres?host=$PG_DIR/sock&port=$PG_PORT&user=sbx"
    export PG_URL
}
