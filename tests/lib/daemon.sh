# `sandbox daemon` for a test, killed on exit even when the test fails. Source it after harness.sh.
#
#   daemon_start ID [OPTIONS...]  start `$SANDBOX daemon --listen 127.0.0.1:0 OPTIONS...`; its
#                                 stdout goes to $T/dID.out (anew), its stderr (the JSON-lines log)
#                                 is appended to $T/dID.err. The environment is the caller's, plus
#                                 the VAR=VALUE words of $DAEMON_ENV (no spaces in values). Waits up
#                                 to 60 s for "listening on"; sets DPID and URL and returns 0, or
#                                 prints the log's tail and returns 1. ID may be empty ($T/d.*).
#   daemon_stop ID [SECONDS]      SIGTERM, then wait up to SECONDS (default 60) for the exit; sets
#                                 DRC to the exit code and returns 0, or kills it (DRC=killed) and
#                                 returns 1.
#   daemon_pid ID                 the daemon's pid (empty once stopped).
daemon_pid() { [ -s "$T/d$1.pid" ] && [ ! -s "$T/d$1.rc" ] && cat "$T/d$1.pid"; }
# daemon_kill ID: SIGKILL (the cleanup, or a test's crash); waits for the exit code file.
daemon_kill() {
    _p=$(daemon_pid "$1") || return 0
    kill -KILL "$_p" 2>/dev/null
    until_true 30 test -s "$T/d$1.rc"
}
_daemon_up_or_gone() { grep -q '^listening on ' "$T/d$1.out" 2>/dev/null || test -s "$T/d$1.rc"; }
daemon_start() {
    _id=$1; shift
    rm -f "$T/d$_id.pid" "$T/d$_id.rc" "$T/d$_id.out"
    # shellcheck disable=SC2086 # DAEMON_ENV is a list of words
    ( sh -c 'echo $$ > "$0"; exec "$@"' "$T/d$_id.pid" env ${DAEMON_ENV:-} \
        "$SANDBOX" daemon --listen 127.0.0.1:0 "$@" >"$T/d$_id.out" 2>>"$T/d$_id.err"; echo $? >"$T/d$_id.rc" ) &
    case " ${_daemon_ids-} " in *" [$_id] "*) ;; *) _daemon_ids="${_daemon_ids-} [$_id]"; on_exit "daemon_kill '$_id'" ;; esac
    until_true 60 _daemon_up_or_gone "$_id"
    if ! grep -q '^listening on ' "$T/d$_id.out"; then
        echo "daemon $_id not listening (exit code: $(cat "$T/d$_id.rc" 2>/dev/null || echo none after 60 s)); its log ends:" >&2
        tail -n 5 "$T/d$_id.err" 2>/dev/null | cut -c1-400 >&2
        return 1
    fi
    DPID=$(cat "$T/d$_id.pid")
    URL=$(sed -n '1s/^listening on //p' "$T/d$_id.out")
}
daemon_stop() {
    _p=$(daemon_pid "$1") || { DRC=$(cat "$T/d$1.rc" 2>/dev/null); return 0; }
    kill -TERM "$_p" 2>/dev/null
    if until_true "${2:-60}" test -s "$T/d$1.rc"; then
        DRC=$(cat "$T/d$1.rc")
        return 0
    fi
    daemon_kill "$1"
    DRC=killed
    return 1
}
# daemon_up ID [OPTIONS...] / daemon_down ID [SECONDS]: the same, as checks: the daemon must
# listen; it must exit 0 after SIGTERM within SECONDS (default 60).
daemon_up() { daemon_start "$@" && pass || fail "daemon $1 not listening"; }
daemon_down() {
    daemon_stop "$1" "${2:-60}" && pass || fail "daemon $1 still running ${2:-60} s after SIGTERM"
    [ "$DRC" = 0 ] && pass || fail "daemon $1 exited $DRC after SIGTERM"
}
