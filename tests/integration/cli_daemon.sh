#!/bin/sh
# `sandbox daemon` on real libvirt (blank-disk VMs, up --no-wait) and a private state, the clock
# moved with SANDBOX_FAKE_NOW between daemon runs:
#   - it prints where it listens (port 0: a free port) and serves /healthz, /metrics (parsed: the
#     environments by status agree with `sandbox list`), / (escaped, no secret value), 404, 405,
#     400 for a malformed request; the webhook outbox's depth in /metrics, /healthz and `status`;
#   - an expired environment is torn down within a deadline, a live one stays;
#   - the warnings 24 h, 1 h and 10 min ahead are each recorded exactly once, also across restarts;
#   - /metrics' up/down duration histograms come from the state's event log (the CLI's runs count),
#     their buckets cumulative up to +Inf = _count; the leases held gauge follows the lease table;
#   - SIGTERM exits 0 promptly; a daemon killed mid-teardown leaves the environment claimed
#     ("reaping") and the next daemon, its clock not moved, finishes it at once (the dead daemon's
#     liveness lock went with it).
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/daemon.sh"
use_real_libvirt
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v chromium >/dev/null || skip "chromium is not installed (tests/deps.sh installs it)"
E=dmn$$
A=${E}a B=${E}b C=${E}c
SECRET=topsecret-$$-value
DB=$SANDBOX_STATE
on_exit "$SANDBOX down $A; $SANDBOX down $B; $SANDBOX down $C"

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: dmn
lifetime: { ttl: 1h, max_ttl: 30h }
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: net } ]
nodes: [ { name: web, memory: 64Mi, networks: [net] } ]
YAML

# start_daemon NOW [VAR=VALUE...]: the daemon with the clock at NOW; sets DPID and URL.
start_daemon() {
    _now=$1; shift
    DAEMON_ENV="SANDBOX_FAKE_NOW=$_now $*" daemon_start "" --interval 1 || { fail "daemon not listening"; return 1; }
    printf '%s\n' "$URL" | grep -Eq '^http://127\.0\.0\.1:[1-9][0-9]*$' && pass || fail "first line: $(head -1 "$T/d.out")"
}
# stop_daemon: SIGTERM, then its exit code must be 0 within 30 s.
stop_daemon() { daemon_down "" 30; }
# metric SERIES: its value in /metrics (empty when absent).
metric() { curl -s --max-time 10 "$URL/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
metric_ge() { v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
# hist_ok NAME COUNT: histogram NAME has COUNT observations, buckets non-decreasing in le order
# ending at +Inf = COUNT, a sum > 0 when COUNT > 0.
hist_ok() {
    curl -s --max-time 10 "$URL/metrics" | awk -v n="$1" -v want="$2" '
        index($1, n "_bucket{le=\"") == 1 { v = $2 + 0; if (v < last) bad = 1; last = v; nb++;
            if ($1 == n "_bucket{le=\"+Inf\"}") inf = v }
        $1 == n "_count" { cnt = $2 }
        $1 == n "_sum" { sum = $2 + 0 }
        END { ok = !bad && nb == 13 && inf == want && cnt == want && (want == 0 || sum > 0);
            if (!ok) printf "%s: %d buckets, +Inf %s, count %s, sum %s, monotonic %s\n", n, nb, inf, cnt, sum, !bad > "/dev/stderr";
            exit !ok }'
}
# warns ENV OFFSET: expiry.warning events of ENV for OFFSET in the state's event log.
warns() {
    sqlite3 "$DB" "SELECT count(*) FROM event WHERE env = '$1' AND kind = 'expiry.warning'
        AND json_extract(detail, '\$.before_s') = $2"
}
gone() { ! "$SANDBOX" status "$1" >/dev/null 2>&1; }
expires_of() { "$SANDBOX" status "$1" --json | sed -n 's/^ *"expires": \([0-9]*\),*$/\1/p'; }
status_of() { sqlite3 "$DB" "SELECT status FROM env WHERE name = '$1'"; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }

expect_rc 0 env SUDO_USER='<b>o&k' "$SANDBOX" up "$T/bp.yaml" --no-wait --name $A --ttl 25h
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $B --ttl 1h
printf '%s' "$SECRET" | "$SANDBOX" secret set $A token >/dev/null 2>&1 && pass || fail "secret set"
EXPA=$(expires_of $A) EXPB=$(expires_of $B)
[ -n "$EXPA" ] && [ -n "$EXPB" ] && pass || fail "no expiry read back ($EXPA, $EXPB)"

# 1. B expired 5 s ago, A has 24 h minus about 5 s left
NOW1=$((EXPB + 5))
start_daemon $NOW1
until_true 120 gone $B && pass || fail "the daemon did not reap $B within 120 s"
[ "$(leftovers $B)" -eq 0 ] && pass || fail "objects of $B left: $(leftovers $B)"
[ "$(leftovers $A)" -eq 4 ] && pass || fail "the live $A lost objects: $(leftovers $A) left"
until_true 30 test "$(code "$URL/healthz")" = 200 && pass || fail "/healthz not 200"
OUT=$(curl -s --max-time 10 "$URL/healthz")
expect_out '^ok$'
expect_out '^last_successful_pass_age_seconds [0-9]+$'
until_true 30 metric_ge sandbox_reaped_total 1 && pass || fail "sandbox_reaped_total did not reach 1"
LIST=$("$SANDBOX" list --json)
for s in creating ready failed destroying reaping; do
    want=$(printf '%s\n' "$LIST" | grep -c "\"status\": \"$s\"")
    got=$(metric "sandbox_environments{status=\"$s\"}")
    [ "$got" = "$want" ] && pass || fail "metrics: $s=$got, sandbox list: $want"
done
[ "$(metric "sandbox_environments{status=\"ready\"}")" = 1 ] && pass || fail "want 1 ready environment"
[ "$(metric "sandbox_environment_expiry_seconds{env=\"$A\"}")" = $((EXPA - NOW1)) ] && pass ||
    fail "expiry of $A: $(metric "sandbox_environment_expiry_seconds{env=\"$A\"}"), want $((EXPA - NOW1))"
[ -z "$(metric "sandbox_environment_expiry_seconds{env=\"$B\"}")" ] && pass || fail "the reaped $B is still in /metrics"
[ "$(metric sandbox_reaped_total)" = 1 ] && pass || fail "sandbox_reaped_total $(metric sandbox_reaped_total)"
[ "$(metric sandbox_reap_duration_seconds_count)" = 1 ] && pass || fail "histogram count"
[ "$(metric 'sandbox_reap_duration_seconds_bucket{le="+Inf"}')" = 1 ] && pass || fail "histogram +Inf bucket"
[ "$(metric sandbox_reap_failures_total)" = 0 ] && pass || fail "reap failures $(metric sandbox_reap_failures_total)"
# up and down from the event log: the CLI's two ups (before this daemon started), the daemon's down of B
hist_ok sandbox_up_duration_seconds 2 && pass || fail "up duration histogram"
hist_ok sandbox_down_duration_seconds 1 && pass || fail "down duration histogram"
[ "$(metric sandbox_up_failed_total)" = 0 ] && pass || fail "up failures $(metric sandbox_up_failed_total)"
[ "$(metric sandbox_leases_held)" = 0 ] && pass || fail "leases held $(metric sandbox_leases_held), want 0"
sqlite3 "$DB" "INSERT INTO lease (machine, env, node, since) VALUES ('ipmi:127.0.0.1:1', '$A', 'web', 1)" && pass || fail "lease insert"
[ "$(metric sandbox_leases_held)" = 1 ] && pass || fail "leases held $(metric sandbox_leases_held), want 1"
# the webhook outbox's depth: a row not due for years, queued 10 min ago, counts in /metrics,
# /healthz and its environment's status (not another's), and goes with its deletion
[ "$(metric sandbox_notify_queued)" = 0 ] && pass || fail "notify queued $(metric sandbox_notify_queued), want 0"
OUT=$(curl -s --max-time 10 "$URL/healthz")
expect_out '^outbox_pending 0$'
expect_out '^outbox_oldest_age_seconds 0$'
IDA=$("$SANDBOX" status $A --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
[ -n "$IDA" ] && pass || fail "no id of $A"
sqlite3 "$DB" "INSERT INTO outbox (id, env, env_id, event, body, url, created, next_at)
    VALUES ('$IDA.reap.done', '$A', '$IDA', 'reap.done', '{}', 'http://127.0.0.1:1/', $((NOW1 - 600)), 9999999999),
    ('x.reap.done', 'gone', 'x', 'reap.done', '{}', 'http://127.0.0.1:1/', $((NOW1 - 60)), 9999999999)" && pass ||
    fail "outbox insert"
[ "$(metric sandbox_notify_queued)" = 2 ] && pass || fail "notify queued $(metric sandbox_notify_queued), want 2"
OUT=$(curl -s --max-time 10 "$URL/healthz")
expect_out '^outbox_pending 2$'
expect_out '^outbox_oldest_age_seconds 600$'
OUT=$(SANDBOX_FAKE_NOW=$NOW1 "$SANDBOX" status $A 2>&1)
expect_out '^  webhooks:  1 pending, the oldest queued 10m 0s ago$'
SANDBOX_FAKE_NOW=$NOW1 "$SANDBOX" status $A --json | python3 -c 'import json, sys
w = json.load(sys.stdin)["webhooks"]
sys.exit(0 if w == {"pending": 1, "oldest_age_s": 600} else print(w) or 1)' && pass || fail "status --json: webhooks"
sqlite3 "$DB" "DELETE FROM outbox" && pass || fail "outbox delete"
OUT=$("$SANDBOX" status $A 2>&1)
expect_out '^  webhooks:  none pending$'
grep -q "\"event\":\"reap.done\".*\"env\":\"$B\"\\|\"env\":\"$B\".*\"event\":\"reap.done\"" "$T/d.err" && pass || fail "no reap.done for $B in the log"
# every line of the log is one JSON object
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/d.err" && pass || fail "stderr is not JSON lines"

# the page: the environment, its node, its owner escaped, a refresh, no secret
OUT=$(curl -s --max-time 10 "$URL/")
expect_out "<td>$A</td>"
expect_out '<td>web-0</td>'
expect_out '&lt;b&gt;o&amp;k@'
expect_no_out '<b>o&k'
expect_out '<meta http-equiv="refresh" content="[0-9]+">'
expect_no_out "$SECRET"
expect_no_out 'PRIVATE KEY'
expect_no_out "<td>$B</td>"
# the page as a browser parses it: one row per environment, the owner a text node (no element
# injected), the refresh kept
DOM=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --dump-dom "$URL/" 2>"$T/chromium.err")
printf '%s\n' "$DOM" > "$T/dom.html"
python3 - "$T/dom.html" "$A" "$(printf '%s\n' "$LIST" | grep -c '"name": ')" <<'PY' && pass || fail "the page as Chromium parsed it"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.cell = None; self.tags = set(); self.refresh = False; self.tb = False
    def handle_starttag(self, t, a):
        self.tags.add(t); a = dict(a)
        if t == "meta" and a.get("http-equiv") == "refresh": self.refresh = True
        if t == "tbody": self.tb = True
        if t == "tr" and self.tb: self.rows.append([])
        if t == "td": self.cell = ""
    def handle_endtag(self, t):
        if t == "td" and self.rows: self.rows[-1].append(self.cell); self.cell = None
        if t == "tbody": self.tb = False
    def handle_data(self, d):
        if self.cell is not None: self.cell += d
p = P(); p.feed(open(sys.argv[1]).read())
env, n = sys.argv[2], int(sys.argv[3])
row = [r for r in p.rows if r and r[0] == env]
ok = p.refresh and len(p.rows) == n and len(row) == 1 and row[0][1].startswith("<b>o&k@") and row[0][4] == "web-0" \
    and "b" not in p.tags and "script" not in p.tags
if not ok: print("rows", p.rows, "tags", sorted(p.tags), "refresh", p.refresh, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
[ "$(code "$URL/nope")" = 404 ] && pass || fail "/nope: not 404"
[ "$(code -X POST "$URL/")" = 405 ] && pass || fail "POST /: not 405"
[ "$(code -X DELETE "$URL/metrics")" = 405 ] && pass || fail "DELETE /metrics: not 405"
BAD=$(python3 - "${URL##*:}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nthis header has no colon\r\n\r\n")
print(s.recv(64).split(b"\r\n")[0].decode())
PY
)
printf '%s\n' "$BAD" | grep -Eq '^HTTP/1\.[01] 4[0-9][0-9] ' && pass || fail "malformed request answered \"$BAD\""
# bounds: 16 connections from one address, the 17th closed unanswered; an idle connection closed
# by the server's timeout (10 s); then a new connection is answered
python3 - "${URL##*:}" <<'PY' && pass || fail "connection bounds"
import socket, sys, time
port = int(sys.argv[1])
conn = lambda: socket.create_connection(("127.0.0.1", port), timeout=30)
idle = [conn() for _ in range(16)]
time.sleep(0.5)
def refused():  # closed (FIN or RST) without an answer
    try:
        extra = conn()
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        return extra.recv(64) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
refused = refused()
for s in idle[1:]:
    s.close()
t0 = time.time()
closed = idle[0].recv(64) == b""
waited = time.time() - t0
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
answered = s.recv(64).startswith(b"HTTP/1.1 200")
print("17th refused", refused, "idle closed", closed, "after %.1fs" % waited, "then answered", answered)
sys.exit(0 if refused and closed and 5 <= waited <= 30 and answered else 1)
PY
until_true 30 test "$(warns $A 86400)" -ge 1 && pass || fail "no 24 h warning for $A"
stop_daemon

# 2. a restart at the same time repeats no warning
start_daemon $NOW1
until_true 30 metric_ge sandbox_reap_passes_ok_total 2 && pass || fail "the restarted daemon made no 2 passes"
stop_daemon
[ "$(warns $A 86400)" = 1 ] && pass || fail "24 h warnings of $A: $(warns $A 86400), want 1"
[ "$(warns $A 3600)" = 0 ] && pass || fail "a 1 h warning 24 h ahead"

# 3. 50 min left: the 1 h warning; 5 min left: the 10 min warning; each exactly once
for step in "3000 3600" "300 600"; do
    set -- $step
    start_daemon $((EXPA - $1))
    until_true 30 test "$(warns $A $2)" -ge 1 && pass || fail "no $2 s warning for $A"
    until_true 30 metric_ge sandbox_reap_passes_ok_total 2 && pass || fail "no 2 passes"
    stop_daemon
done
for off in 86400 3600 600; do
    [ "$(warns $A $off)" = 1 ] && pass || fail "$off s warnings of $A: $(warns $A $off), want 1"
done
[ "$(grep '"event":"expiry.warning"' "$T/d.err" | grep -c "\"env\":\"$A\"")" = 3 ] && pass ||
    fail "want 3 expiry.warning lines for $A in the daemon's log"
[ "$(leftovers $A)" -eq 4 ] && pass || fail "$A lost objects before it expired"

# 4. killed mid-teardown (a crash point before the domain's delete): the claim stays; the next
#    daemon takes it over at once, well before the claim's staleness (one hour): the dead daemon's
#    liveness lock is free, and finishes the teardown
start_daemon $((EXPA + 5)) SANDBOX_TEST_CRASH=domain:before
until_true 120 test -s "$T/d.rc" && pass || fail "the crash point did not kill the daemon"
[ "$(cat "$T/d.rc" 2>/dev/null)" = 137 ] && pass || fail "daemon exit $(cat "$T/d.rc" 2>/dev/null), want 137 (SIGKILL)"
[ "$(status_of $A)" = reaping ] && pass || fail "$A is $(status_of $A) after the crash, want reaping"
start_daemon $((EXPA + 6))
until_true 120 gone $A && pass || fail "the next daemon did not finish $A within 120 s"
[ "$(leftovers $A)" -eq 0 ] && pass || fail "objects of $A left: $(leftovers $A)"
until_true 30 test "$(metric sandbox_leases_held)" = 0 && pass || fail "leases held $(metric sandbox_leases_held) after $A went"
# this daemon read the whole log: 2 ups, the downs of B and A (the killed daemon's logged no end)
hist_ok sandbox_up_duration_seconds 2 && pass || fail "up duration histogram after a restart"
hist_ok sandbox_down_duration_seconds 2 && pass || fail "down duration histogram after a restart"
stop_daemon
[ "$(sqlite3 "$DB" "SELECT count(*) FROM warning")" = 0 ] && pass || fail "warning rows outlived $A"

# 5. SIGTERM while a teardown runs: it finishes (the environment is gone), then exit 0
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $C --ttl 1h
EXPC=$(expires_of $C)
L=$(wc -l < "$T/d.err")
start_daemon $((EXPC + 5))
i=0
while ! grep -q "\"env\":\"$C\",\"event\":\"down.start\"" "$T/d.err" && [ $i -lt 2400 ]; do i=$((i + 1)); sleep 0.05; done
stop_daemon
gone $C && pass || fail "SIGTERM abandoned the teardown of $C (status $(status_of $C))"
[ "$(leftovers $C)" -eq 0 ] && pass || fail "objects of $C left: $(leftovers $C)"
ORDER=$(tail -n +$((L + 1)) "$T/d.err" | grep -E '"event":"daemon.stopping"|"env":"'"$C"'","event":"reap.done"' | sed 's/.*"event":"\([a-z.]*\)".*/\1/' | tr '\n' ' ')
case $ORDER in
"daemon.stopping reap.done ") pass ;;
"reap.done daemon.stopping ") echo "note: the teardown of $C ended before SIGTERM arrived; in-flight case not exercised" ;;
*) fail "log order: $ORDER" ;;
esac
finish
