# Shell test harness: assertions, a private state, cleanup on exit. Source it from a test:
#   . "$SBX_TOP/tests/lib/harness.sh"
# Provides: $T (private temp dir), $SANDBOX (the binary under test), run/expect helpers,
# and `on_exit CMD` to register cleanups (run in reverse order, even when the test fails).
set -u
SBX_TOP=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SBX_BIN=${SBX_BIN:-$SBX_TOP/build/asan}
SANDBOX="$SBX_BIN/sandbox"
T=$(mktemp -d /tmp/sbx-test.XXXXXX)
export SANDBOX_STATE="$T/state/state.db"
_cleanups=""
_failures=0
_checks=0

on_exit() { _cleanups="$*
$_cleanups"; }
_run_cleanups() {
    printf '%s\n' "$_cleanups" | while IFS= read -r c; do [ -n "$c" ] && eval "$c" >/dev/null 2>&1; done
    rm -rf "$T"
}
trap '_run_cleanups' EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; _failures=$((_failures + 1)); }
pass() { _checks=$((_checks + 1)); }

# expect_rc CODE CMD...: run CMD, check its exit code; output in $OUT (stdout+stderr).
expect_rc() {
    want=$1; shift
    OUT=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "expected exit $want, got $rc: $*"; printf '%s\n' "$OUT" | tail -n 30 >&2
    else
        pass
    fi
}
# expect_out PATTERN: the last command's output matches the grep -E pattern.
expect_out() {
    if printf '%s\n' "$OUT" | grep -Eq -- "$1"; then pass; else fail "output lacks /$1/"; printf '%s\n' "$OUT" | tail -n 30 >&2; fi
}
expect_no_out() {
    if printf '%s\n' "$OUT" | grep -Eq -- "$1"; then fail "output has /$1/"; printf '%s\n' "$OUT" | tail -n 30 >&2; else pass; fi
}
# finish: exit 0 when every check passed (and at least one ran).
finish() {
    echo "checks: $_checks passed, $_failures failed"
    [ "$_failures" -eq 0 ] && [ "$_checks" -gt 0 ]
    exit $?
}
skip() { echo "$*" >&2; exit 77; }
