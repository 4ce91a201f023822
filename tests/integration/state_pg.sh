#!/bin/sh
# The state module's unit tests (tests/unit/test_state.c) against a real PostgreSQL server started
# here (tests/lib/pg.sh): the same assertions as on SQLite, each case on a schema of its own.
. "$(dirname "$0")/../lib/harness.sh"
. "$SBX_TOP/tests/lib/pg.sh"

BIN="$SBX_BIN/tests/unit/test_state"
[ -x "$BIN" ] || { fail "$BIN is not built (make test-bins)"; finish; }
pg_start || finish

# the server answers
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "SELECT 1"
expect_out '^1$'

# on_pg NAME SQLITE_ONLY: every case of the unit test NAME on PostgreSQL (SBX_TEST_PG_URL), all but
# the SQLITE_ONLY ones (about SQLite files) passed
on_pg() {
    OUT=$(SBX_TEST_PG_URL="$PG_URL" "$SBX_BIN/tests/unit/$1" 2>&1); rc=$?
    printf '%s\n' "$OUT" | grep -E '^\[ +(OK|FAILED|PASSED|SKIPPED) +\]' >&2
    if [ "$rc" -eq 0 ]; then pass; else fail "$1 on PostgreSQL exited $rc"; printf '%s\n' "$OUT" | tail -n 60 >&2; fi
    all=$(sed -n '/^int main/,$p' "$SBX_TOP/tests/unit/$1.c" | grep -c 'cmocka_unit_test')
    expect_out "\\[  PASSED  \\] $((all - $2)) test"
    expect_no_out 'SKIPPED|FAILED'
}
# test_state (but test_not_a_database), and test_ipam (the warm pool's block among them)
on_pg test_state 1
on_pg test_ipam 0

# the CLI on a PostgreSQL state: --state URL, local files in SANDBOX_STATE_DIR; the secret is sealed
# with the local key file before it reaches the server
export SANDBOX_STATE_DIR="$T/local"
expect_rc 0 "$SANDBOX" --state "$PG_URL" list
[ -d "$T/local" ] && [ "$(stat -c %a "$T/local")" = 700 ] && pass || fail "SANDBOX_STATE_DIR not made 0700"
OUT=$(printf 'hunter2-pg\n' | "$SANDBOX" --state "$PG_URL" secret set demo db_password 2>&1) && pass || fail "secret set: $OUT"
expect_rc 0 "$SANDBOX" --state "$PG_URL" secret list demo
expect_out 'db_password'
# the release binary links no libpq: it loads it for a PostgreSQL state (util/dynlib.c)
REL=$(cd "$SBX_BIN/.." && pwd)/sandbox
if [ -x "$REL" ]; then
    expect_rc 0 "$REL" --state "$PG_URL" secret list demo
    expect_out 'db_password'
    OUT=$(LD_DEBUG=files "$REL" --state "$PG_URL" list 2>&1 >/dev/null)
    expect_out 'file=libpq\.so'
fi
[ "$(stat -c %a "$T/local/key")" = 600 ] && pass || fail "the key file is not $T/local/key, mode 600"
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "SELECT count(*) FROM secret WHERE env = 'demo'"
expect_out '^1$'
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "SELECT encode(ct, 'escape') FROM secret"
expect_no_out 'hunter2'
# sandbox unlock: a lease left by a holder on another host is dropped and logged
expect_rc 0 "$SANDBOX" --state "$PG_URL" unlock demo
expect_out 'demo held no lock lease'
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "INSERT INTO env_lock VALUES ('demo', 't', 'elsewhere', 4242, 1, 1, 9999999999)"
expect_rc 0 "$SANDBOX" --state "$PG_URL" unlock demo
expect_out '^unlocked demo'
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "SELECT count(*) FROM env_lock"
expect_out '^0$'
expect_rc 0 "$PG_BIN/psql" -X -At -d "$PG_URL" -c "SELECT detail FROM event WHERE kind = 'lock.unlock' ORDER BY id"
expect_out '^\{"held":false,'
expect_out '"host":"elsewhere","pid":4242'

# admission's records on PostgreSQL: test_env_capacity's state cases (claims, caps, live counts),
# and the caps from the CLI
on_pg test_env_capacity 0
expect_rc 0 "$SANDBOX" --state "$PG_URL" caps set --per-owner 3 --total 10
expect_out '^per-owner cap: 3 '
expect_out '^total cap: +10 '

# a bad URL fails with a hint, without printing the password
expect_rc 1 "$SANDBOX" --state "postgresql://sbx:s3cret@/nodb?host=$PG_DIR/sock&port=$PG_PORT" list
expect_out 'connect'
expect_no_out 's3cret'

finish
