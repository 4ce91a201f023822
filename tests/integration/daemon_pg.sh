#!/bin/sh
# Two `sandbox daemon`s on one PostgreSQL state (tests/lib/pg.sh) reap 200 environments that
# expire over ten seconds while both run (so their passes compete for them): every one torn down exactly once (one down.start event each, one reap.done line in
# the two logs together), none left. The environments are state rows whose blueprint has no
# nodes or networks (site: libvirt's in-process test driver), so a teardown deletes only rows.
# Then the server restarts under them: each logs state.lost, reconnects (state.reconnected) and
# both reap 20 more; a `down --wait-lock` whose connection a second restart drops exits 1 saying so.
# Last, a daemon SIGKILLed mid-reap leaves one environment claimed, and another daemon (its clock
# not moved: the dead daemon's liveness lease is taken over, lock.takeover) finishes it and the
# rest, each torn down once. On the way, `status` and /healthz show a queued webhook delivery.
. "$(dirname "$0")/../lib/harness.sh"
. "$SBX_TOP/tests/lib/pg.sh"
. "$SBX_TOP/tests/lib/daemon.sh"

N=200
pg_start || finish
export SANDBOX_STATE="$PG_URL" SANDBOX_STATE_DIR="$T/local"
psql_q() { "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -d "$PG_URL" -c "$1"; }

expect_rc 0 "$SANDBOX" list # creates the schema
psql_q "INSERT INTO env (name, id, blueprint, bp_hash, bp_json, status, owner, created, updated, expires)
    SELECT 'r' || i, lpad(to_hex(i), 16, '0'), '/bp.yaml', 'h', '{\"site\":{\"uri\":\"test:///default\"}}',
        'ready', 'me@host', 1, 1, floor(extract(epoch FROM now()))::bigint + 3 + i % 10
        FROM generate_series(1, $N) AS i" >/dev/null && pass || fail "insert"
[ "$(psql_q "SELECT count(*) FROM env")" = "$N" ] && pass || fail "not $N environments"

# a webhook delivery queued 10 min ago for r1 (not due for years): r1's status and /healthz show it
psql_q "INSERT INTO outbox (id, env, env_id, event, body, url, created, next_at)
    VALUES ('r1.reap.done', 'r1', lpad(to_hex(1), 16, '0'), 'reap.done', '{}', 'http://127.0.0.1:1/',
        floor(extract(epoch FROM now()))::bigint - 600, 9999999999)" >/dev/null && pass || fail "outbox insert"
"$SANDBOX" status r1 --json | python3 -c 'import json, sys
w = json.load(sys.stdin)["webhooks"]
sys.exit(0 if w["pending"] == 1 and 600 <= w["oldest_age_s"] < 900 else print(w) or 1)' && pass || fail "status --json: webhooks"
OUT=$("$SANDBOX" status r2 2>&1)
expect_out '^  webhooks:  none pending$'

# daemon 1 with a password in its URL (trust auth ignores it): its log must not show it
SANDBOX_STATE="postgresql://sbx:s3cret-pw@/postgres?host=$PG_DIR/sock&port=$PG_PORT" daemon_up 1 --interval 1
OUT=$(curl -s --max-time 10 "$URL/healthz")
expect_out '^outbox_pending 1$'
expect_out '^outbox_oldest_age_seconds (6|7|8)[0-9][0-9]$'
psql_q "DELETE FROM outbox" >/dev/null && pass || fail "outbox delete"
daemon_up 2 --interval 1

none_left() { [ "$(psql_q "SELECT count(*) FROM env")" = 0 ]; }
until_true 180 none_left && pass || fail "$(psql_q "SELECT count(*) FROM env") environments left after 180 s"

# exactly once each
[ "$(psql_q "SELECT count(*) FROM event WHERE kind = 'down.start'")" = "$N" ] && pass ||
    fail "down.start events: $(psql_q "SELECT count(*) FROM event WHERE kind = 'down.start'"), not $N"
[ "$(psql_q "SELECT count(DISTINCT env) FROM event WHERE kind = 'down.start'")" = "$N" ] && pass ||
    fail "not every environment was torn down"
# the server restarts under both daemons: each logs the loss, reconnects, and they reap again
$as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 120 restart >/dev/null 2>&1 && pass || fail "pg_ctl restart"
for i in 1 2; do
    until_true 60 grep -q '"event":"state.reconnected"' "$T/d$i.err" && pass || fail "daemon $i did not reconnect"
    grep -q '"event":"state.lost"' "$T/d$i.err" && pass || fail "daemon $i logged no state.lost"
done
psql_q "INSERT INTO env (name, id, blueprint, bp_hash, bp_json, status, owner, created, updated, expires)
    SELECT 'p' || i, lpad(to_hex(1000 + i), 16, '0'), '/bp.yaml', 'h', '{\"site\":{\"uri\":\"test:///default\"}}',
        'ready', 'me@host', 1, 1, floor(extract(epoch FROM now()))::bigint - 1 FROM generate_series(1, 20) AS i" >/dev/null &&
    pass || fail "insert after the restart"
until_true 120 none_left && pass || fail "$(psql_q "SELECT count(*) FROM env") environments left after the restart"
[ "$(psql_q "SELECT count(*) FROM event WHERE kind = 'down.start' AND env LIKE 'p%'")" = 20 ] && pass ||
    fail "down.start events after the restart: $(psql_q "SELECT count(*) FROM event WHERE kind = 'down.start' AND env LIKE 'p%'")"
N=$((N + 20))

# a CLI command whose connection drops (down waiting for a lock another host holds): exit 1, saying so
psql_q "INSERT INTO env (name, id, blueprint, bp_hash, bp_json, status, owner, created, updated, expires)
    VALUES ('w1', 'ffff000000000001', '/bp.yaml', 'h', '{}', 'ready', 'me@host', 1, 1, 0);
    INSERT INTO env_lock (env, token, host, pid, since, heartbeat, expires)
    VALUES ('w1', 't', 'elsewhere', 1, 1, floor(extract(epoch FROM now()))::bigint, floor(extract(epoch FROM now()))::bigint + 3600)" >/dev/null &&
    pass || fail "insert w1 and its lock"
( PGAPPNAME=sbx-cli-wait "$SANDBOX" down w1 --wait-lock 300 >"$T/w.out" 2>&1; echo $? >"$T/w.rc" ) &
waiting() { [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sbx-cli-wait'")" -ge 1 ]; }
until_true 60 waiting && pass || fail "down --wait-lock is not waiting on the server"
$as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 120 restart >/dev/null 2>&1 && pass || fail "second pg_ctl restart"
until_true 60 test -s "$T/w.rc" && pass || fail "down did not end after the server restarted"
[ "$(cat "$T/w.rc" 2>/dev/null)" = 1 ] && pass || fail "down exited $(cat "$T/w.rc" 2>/dev/null), want 1"
OUT=$(cat "$T/w.out")
expect_out 'lost the connection to the state database postgresql:///postgres\?host=.* \(the server restarted, stopped or is unreachable\)'
expect_out 'run it again once the server answers'
psql_q "DELETE FROM env_lock WHERE env = 'w1'; DELETE FROM env WHERE name = 'w1'" >/dev/null && pass || fail "drop w1"

daemon_down 1 30
daemon_down 2 30
r1=$(grep -c '"event":"reap.done"' "$T/d1.err") r2=$(grep -c '"event":"reap.done"' "$T/d2.err")
echo "reaped: daemon 1 $r1, daemon 2 $r2"
[ $((r1 + r2)) -eq "$N" ] && pass || fail "reap.done lines: $r1 + $r2, not $N"
grep -h '"event":"reap.done"' "$T/d1.err" "$T/d2.err" | grep -o '"env":"[^"]*"' | sort | uniq -d >"$T/dups"
[ ! -s "$T/dups" ] && pass || fail "reaped twice: $(head -3 "$T/dups")"
grep -h '"event":"reap.fail"\|"event":"reap.error"' "$T/d1.err" "$T/d2.err" | grep -v 'lost the connection' >"$T/errs"
[ ! -s "$T/errs" ] && pass || { fail "reap failures"; head -5 "$T/errs" >&2; }
[ "$(psql_q "SELECT count(*) FROM env_lock")" = 0 ] && pass || fail "lock leases left: $(psql_q "SELECT env, host, pid FROM env_lock")"
grep -q '"event":"daemon.start".*state postgresql://sbx@/postgres' "$T/d1.err" && pass || fail "daemon.start does not name the state"
! grep -q 's3cret-pw' "$T/d1.err" "$T/d1.out" && pass || fail "the daemon logged the password"

# a daemon SIGKILLed mid-reap (a crash point before its third network delete): the environment it
# was tearing down stays claimed ("reaping", with the others of its pass); another daemon, long before the claims' staleness
# (1 h), takes over the dead daemon's liveness lease (its pid is gone) and so its claims, and
# finishes them: the one cut short and the ones the first never reached
K=10
psql_q "INSERT INTO env (name, id, blueprint, bp_hash, bp_json, status, owner, created, updated, expires)
    SELECT 'k' || i, lpad(to_hex(2000 + i), 16, '0'), '/bp.yaml', 'h', '{\"site\":{\"uri\":\"test:///default\"}}',
        'ready', 'me@host', 1, 1, floor(extract(epoch FROM now()))::bigint - 1 FROM generate_series(1, $K) AS i;
    INSERT INTO res (env, type, name, status, updated)
        SELECT 'k' || i, 'network', 'sbx-k' || i || '.net', 'created', 1 FROM generate_series(1, $K) AS i" >/dev/null &&
    pass || fail "insert the k environments"
# (one teardown at a time: exactly one is cut short)
SANDBOX_REAP_PARALLEL=1 SANDBOX_TEST_CRASH=network:before:3 daemon_start 3 --interval 1
until_true 120 test -s "$T/d3.rc" && pass || fail "the crash point did not kill daemon 3"
[ "$(cat "$T/d3.rc" 2>/dev/null)" = 137 ] && pass || fail "daemon 3 exited $(cat "$T/d3.rc" 2>/dev/null), want 137 (SIGKILL)"
# (on PostgreSQL a pass claims every expired environment in one statement: all stay claimed)
[ "$(psql_q "SELECT count(*) FROM env")" = $((K - 2)) ] && pass || fail "daemon 3 did not reap 2 before it died"
[ "$(psql_q "SELECT count(*) FROM env WHERE status = 'reaping' AND claimed_by LIKE 'daemon@%'")" = $((K - 2)) ] &&
    pass || fail "not every one left is claimed: $(psql_q "SELECT name, status, claimed_by FROM env")"
CRASHED=$(psql_q "SELECT DISTINCT env FROM event WHERE kind = 'down.start' AND env IN (SELECT name FROM env)")
[ -n "$CRASHED" ] && [ "$(printf '%s\n' "$CRASHED" | wc -l)" = 1 ] && pass || fail "want one teardown cut short: '$CRASHED'"
daemon_up 4 --interval 1
until_true 120 none_left && pass || fail "daemon 4 left $(psql_q "SELECT count(*) FROM env") environments"
kind_count() { psql_q "SELECT count(*) FROM event WHERE kind = '$1' AND env = '$2'"; }
[ "$(psql_q "SELECT count(*) FROM event WHERE kind = 'lock.takeover' AND env LIKE 'reaper~daemon@%'")" = 1 ] && pass ||
    fail "no lock.takeover of the dead daemon's liveness lease: $(psql_q "SELECT env, detail FROM event WHERE kind = 'lock.takeover'")"
[ "$(kind_count down.start "$CRASHED")" = 2 ] && [ "$(kind_count down.done "$CRASHED")" = 1 ] && pass ||
    fail "$CRASHED: $(kind_count down.start "$CRASHED") down.start, $(kind_count down.done "$CRASHED") down.done; want 2 and 1"
[ "$(psql_q "SELECT count(DISTINCT env) FROM event WHERE kind = 'down.done' AND env LIKE 'k%'")" = $K ] &&
    [ "$(psql_q "SELECT count(*) FROM event WHERE kind = 'down.done' AND env LIKE 'k%'")" = $K ] && pass ||
    fail "not each k environment torn down once"
grep -q "\"env\":\"$CRASHED\",\"event\":\"reap.done\"" "$T/d4.err" && pass || fail "daemon 4 did not reap $CRASHED"
[ "$(grep -c '"event":"reap.done"' "$T/d3.err")" = 2 ] && pass || fail "daemon 3: $(grep -c '"event":"reap.done"' "$T/d3.err") reap.done, want 2"
[ "$(grep -c '"event":"reap.done"' "$T/d4.err")" = $((K - 2)) ] && pass || fail "daemon 4: not $((K - 2)) reap.done"
daemon_down 4 30
[ "$(psql_q "SELECT count(*) FROM env_lock")" = 0 ] && pass || fail "lock leases left after daemon 4: $(psql_q "SELECT env, host, pid FROM env_lock")"

finish
