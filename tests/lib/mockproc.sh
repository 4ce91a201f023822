# A mock server as a background process in a shell test (after harness.sh):
#   "$BIN" --listen 127.0.0.1:0 ... >"$T/x.out" 2>"$T/x.err" &
#   pid=$!; on_exit "kill -KILL $pid"
#   mockproc_wait $pid "$T/x.out" '^listening on http://' "$T/x.err" NAME   # exits 1 if it never comes
#   ...
#   mockproc_stop $pid "$T/x.err" NAME                                      # pass: exit 0 after SIGTERM

# mockproc_wait PID OUT PATTERN ERR NAME [SECONDS]: poll OUT with backoff until a line matches PATTERN
# (grep -E); when the process dies or SECONDS (default 30) pass first, print ERR and fail the test.
mockproc_wait() {
    _mp_deadline=$(( $(date +%s) + ${6:-30} )); _mp_delay=0.01
    while ! grep -Eq -- "$3" "$2" 2>/dev/null; do
        if ! kill -0 "$1" 2>/dev/null || [ "$(date +%s)" -gt "$_mp_deadline" ]; then
            cat "$4" >&2; echo "FAIL: $5 did not start" >&2; exit 1
        fi
        sleep $_mp_delay; _mp_delay=$(awk "BEGIN { d = $_mp_delay * 2; print (d > 0.5 ? 0.5 : d) }")
    done
}

# mockproc_stop PID ERR NAME: SIGTERM, wait up to 30 s; a check that passes when it exited 0.
mockproc_stop() {
    kill -TERM "$1"
    _mp_deadline=$(( $(date +%s) + 30 ))
    while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -le "$_mp_deadline" ]; do sleep 0.05; done
    wait "$1"; _mp_rc=$?
    if [ $_mp_rc -eq 0 ]; then pass; else fail "$3 exited $_mp_rc after SIGTERM"; tail -n 40 "$2" >&2; fi
}
