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

# The output's first error lines, printed right under a FAIL line: CI shows a failing log's head
# and tail, and the middle of a long output (where the error often is) can be folded away.
_errlines() { printf '%s\n' "$OUT" | grep -Ei -m 3 'error|cannot|fail' | sed 's/^/  error line: /' >&2; }
# expect_rc CODE CMD...: run CMD, check its exit code; output in $OUT (stdout+stderr).
expect_rc() {
    want=$1; shift
    OUT=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "expected exit $want, got $rc: $*"; _errlines
        printf '%s\n' "$OUT" | tail -n 30 >&2
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
# until_true SECS CMD...: run CMD until it succeeds; fail (return 1) once SECS have passed.
until_true() {
    _d=$(( $(date +%s) + $1 )); shift
    while ! "$@"; do
        [ "$(date +%s)" -lt "$_d" ] || return 1
        sleep 0.2
    done
}

# Real libvirt (qemu:///system) for CLI tests whose VMs need not boot an OS: a blank qcow2 base
# image (QEMU runs, SeaBIOS finds nothing to boot and idles) with `up --no-wait`. Sets $URI, $V,
# $BLANK and a private IPAM pool so concurrent test states never pick the same bridge addresses.
use_real_libvirt() {
    [ "$(id -u)" -eq 0 ] || skip "needs root for qemu:///system"
    URI=qemu:///system
    V="virsh -c $URI"
    $V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
    chmod 0755 "$T"
    BLANK="$T/blank.qcow2"
    qemu-img create -q -f qcow2 "$BLANK" 16M || skip "qemu-img cannot create an image"
    export SANDBOX_IPAM_POOL="10.$((150 + $$ % 100)).0.0/16"
}
# Number of libvirt objects named sbx-ENV.* (domains, networks, volumes of the pool "sandbox").
leftovers() { { $V list --all --name; $V net-list --all --name; $V vol-list sandbox 2>/dev/null; } | grep -c "sbx-$1\\." ; }
