#!/bin/sh
# sbx-mock-mail against real SMTP clients (swaks, curl smtp://) on loopback, ephemeral ports:
# MIME multipart with a base64 attachment and a quoted-printable part read back decoded, raw
# source identical after dot-unstuffing, long-poll wait, refusal rules, SIZE/552, line too long,
# PIPELINING, STARTTLS (self-signed cert made here), AUTH PLAIN, the HTTP API, SIGTERM.
. "$(dirname "$0")/../lib/harness.sh"
MAIL="$SBX_BIN/sbx-mock-mail"
[ -x "$MAIL" ] || skip "no $MAIL (make test-bins)"
for tool in swaks curl openssl python3; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is not installed (make deps)"
done

# start_mail NAME ARGS...: start a mail mock, wait for both listening lines; sets NAME_http,
# NAME_smtp (ports) and NAME_pid.
start_mail() {
    name=$1; shift
    "$MAIL" --listen 127.0.0.1:0 --smtp 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pid=$!
    on_exit "kill -KILL $pid"
    deadline=$(( $(date +%s) + 30 )); delay=0.01
    while :; do
        h=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/$name.out")
        s=$(sed -n 's|^listening on smtp://127.0.0.1:\([0-9]*\)$|\1|p' "$T/$name.out")
        [ -n "$h" ] && [ -n "$s" ] && break
        if ! kill -0 $pid 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            cat "$T/$name.err" >&2; echo "FAIL: $name did not start" >&2; exit 1
        fi
        sleep $delay; delay=$(awk "BEGIN { d = $delay * 2; print (d > 0.5 ? 0.5 : d) }")
    done
    eval "${name}_http=$h ${name}_smtp=$s ${name}_pid=$pid"
}

# stop_mail PID: SIGTERM, wait (bounded) and check the exit status is 0 (ASan leak check included).
stop_mail() {
    kill -TERM "$1"
    deadline=$(( $(date +%s) + 30 ))
    while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.05; done
    wait "$1"; rc=$?
    if [ $rc -eq 0 ]; then pass; else fail "mock exited $rc after SIGTERM"; tail -n 40 "$T"/*.err >&2; fi
}

# py EXPR FILE: evaluate a Python expression over the JSON document d loaded from FILE.
py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2"; }
# check_py EXPR FILE WHAT: the expression is True.
check_py() {
    if [ "$(py "$1" "$2" 2>&1)" = "True" ]; then pass; else fail "$3: $1"; head -c 3000 "$2" >&2; echo >&2; fi
}
# get PATH FILE: GET from the main mock into FILE; prints the HTTP status.
get() { curl -s -o "$2" -w '%{http_code}' "http://127.0.0.1:$m_http$1"; }
check_eq() { if [ "$1" = "$2" ]; then pass; else fail "$3: expected '$2', got '$1'"; fi; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || skip "openssl cannot make a certificate"
start_mail m --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
start_mail a --smtp-auth "user:s3cret" --smtp-max-size 64k
perl -MNet::SSLeay -e 1 2>/dev/null || skip "swaks --tls needs Net::SSLeay (libnet-ssleay-perl; make deps)"
SW="swaks --server 127.0.0.1:$m_smtp --helo client.test --timeout 20"

# --- a MIME message: multipart/mixed(alternative(text QP, html), base64 attachment) ---------
head -c 3000 /dev/urandom >"$T/data.bin"
{
    printf 'From: Alice <alice@example.org>\nTo: bob@example.org\n'
    printf 'Subject: =?UTF-8?Q?Caf=C3=A9?= report\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/mixed; boundary="XYZ"\n\nThis is MIME.\n--XYZ\n'
    printf 'Content-Type: multipart/alternative; boundary="ALT"\n\n--ALT\n'
    printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n'
    printf 'Caf=C3=A9 cr=C3=A8me, total =3D 42 and a soft=\n break.\n.leading dot line\n..two dots\n'
    printf -- '--ALT\nContent-Type: text/html; charset=utf-8\n\n<p>Caf&eacute;</p>\n--ALT--\n'
    printf -- '--XYZ\nContent-Type: application/octet-stream; name="data.bin"\n'
    printf 'Content-Disposition: attachment; filename="data.bin"\nContent-Transfer-Encoding: base64\n\n'
    base64 -w 76 "$T/data.bin"
    printf -- '--XYZ--\n'
} | sed 's/$/\r/' >"$T/msg.eml"

# curl smtp:// (dot-stuffs the ".leading" lines itself): the raw source must come back identical.
expect_rc 0 curl -sS --url "smtp://127.0.0.1:$m_smtp" --mail-from alice@example.org \
    --mail-rcpt bob@example.org --mail-rcpt carol@example.org --upload-file "$T/msg.eml"
check_eq "$(get '/v1/messages?to=CAROL@example.org' "$T/list.json")" 200 "list by recipient"
check_py 'd["total"] == 1 and d["items"][0]["subject"] == "Café report"' "$T/list.json" "list"
check_py '"raw" not in d["items"][0] and d["items"][0]["from"] == "alice@example.org"' "$T/list.json" "summary"
id=$(py 'd["items"][0]["id"]' "$T/list.json")
check_eq "$(get "/v1/messages/$id/raw" "$T/raw.eml")" 200 "raw"
if cmp -s "$T/raw.eml" "$T/msg.eml"; then pass; else fail "raw source differs from what was sent"; fi
check_eq "$(get "/v1/messages/$id" "$T/detail.json")" 200 "detail"
check_py 'd["text"] == "Café crème, total = 42 and a soft break.\r\n.leading dot line\r\n..two dots"' "$T/detail.json" "decoded QP text"
check_py 'd["html"] == "<p>Caf&eacute;</p>"' "$T/detail.json" "html part"
check_py 'len(d["parts"]) == 3 and d["parts"][0]["encoding"] == "quoted-printable"' "$T/detail.json" "parts"
sha=$(sha256sum "$T/data.bin" | cut -d' ' -f1)
check_py "[(a['filename'], a['size'], a['sha256'], a['content_type']) for a in d['attachments']] == [('data.bin', 3000, '$sha', 'application/octet-stream')]" "$T/detail.json" "attachments"
idx=$(py 'd["attachments"][0]["index"]' "$T/detail.json")
check_eq "$(get "/v1/messages/$id/attachments/$idx" "$T/att.bin")" 200 "attachment"
if cmp -s "$T/att.bin" "$T/data.bin"; then pass; else fail "attachment bytes differ"; fi
check_eq "$(get "/v1/messages/$id/attachments/0" "$T/x")" 404 "a text part is not an attachment"

# swaks with the same message: parts decoded the same way.
expect_rc 0 $SW --from alice@example.org --to dave@example.org --data "@$T/msg.eml"
check_eq "$(get '/v1/messages?to=dave@example.org' "$T/list.json")" 200 "swaks list"
id2=$(py 'd["items"][0]["id"]' "$T/list.json")
get "/v1/messages/$id2" "$T/d2.json" >/dev/null
check_py 'd["attachments"][0]["sha256"] == "'"$sha"'" and d["text"].startswith("Café crème")' "$T/d2.json" "swaks MIME"

# --- long-poll wait: returns as soon as the message arrives ------------------------------
t0=$(date +%s%N)
curl -s -o "$T/wait.json" -w '%{http_code}' "http://127.0.0.1:$m_http/v1/messages/wait?to=late@example.org&timeout=20s" >"$T/wait.code" &
wpid=$!
on_exit "kill $wpid"
expect_rc 0 $SW --from a@example.org --to late@example.org --header "Subject: late one"
wait $wpid
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "$(cat "$T/wait.code")" 200 "wait status"
check_py 'd["subject"] == "late one" and d["to"] == ["late@example.org"]' "$T/wait.json" "wait result"
if [ "$ms" -lt 15000 ]; then pass; else fail "wait took ${ms}ms: it did not return on arrival"; fi
check_eq "$(get '/v1/messages/wait?to=nobody@example.org&timeout=300ms' "$T/x")" 408 "wait timeout"
check_eq "$(get "/v1/messages/wait?to=late@example.org&timeout=200ms&after=$(py 'd["id"]' "$T/wait.json")" "$T/x")" 408 "wait after"

# --- refusal rules through PUT /admin/faults ----------------------------------------------
check_eq "$(curl -s -o "$T/x" -w '%{http_code}' -X PUT -d '{"targets": {"blocked@example.org": {"status": 550, "message": "5.1.1 mailbox unavailable"}, "@spam.test": {"status": 554}}}' "http://127.0.0.1:$m_http/admin/faults")" 200 "set faults"
expect_rc 24 $SW --from a@example.org --to blocked@example.org
expect_out '<\*\* +550 5\.1\.1 mailbox unavailable'
expect_rc 23 $SW --from someone@spam.test --to bob@example.org
expect_out '<\*\* +554 '
expect_rc 55 curl -sS --url "smtp://127.0.0.1:$m_smtp" --mail-from a@example.org --mail-rcpt blocked@example.org --upload-file "$T/msg.eml"
expect_out '550'
expect_rc 0 curl -sf -X DELETE "http://127.0.0.1:$m_http/admin/faults"
expect_rc 0 $SW --from a@example.org --to blocked@example.org

# --- STARTTLS, PIPELINING ----------------------------------------------------------------
expect_rc 0 $SW --tls --from a@example.org --to tls@example.org --header "Subject: over tls"
expect_out '<- +220 2\.0\.0 Ready to start TLS'
get '/v1/messages?to=tls@example.org' "$T/list.json" >/dev/null
check_py 'd["total"] == 1 and d["items"][0]["tls"] is True' "$T/list.json" "tls flag"
expect_rc 0 $SW --pipeline --from a@example.org --to p1@example.org --to p2@example.org
expect_out 'PIPELINING'
# A raw pipelined batch written in one go: replies come back in order.
python3 - "$m_smtp" >"$T/pipe.out" 2>&1 <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply():
    lines = [f.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(f.readline())
    return lines[-1][:3].decode()
codes = [reply()]
s.sendall(b"EHLO raw\r\nMAIL FROM:<raw@example.org>\r\nRCPT TO:<pipe@example.org>\r\nRCPT TO:<>\r\nDATA\r\n")
codes += [reply() for _ in range(5)]
s.sendall(b"Subject: raw pipe\r\n\r\nbody\r\n.\r\nNOOP\r\n" + b"X" * 1200 + b"\r\nQUIT\r\n")
codes += [reply() for _ in range(4)]
print(" ".join(codes))
EOF
OUT=$(cat "$T/pipe.out")
check_eq "$OUT" "220 250 250 250 501 354 250 250 500 221" "pipelined replies (last: line too long, QUIT)"

# --- limits: line too long, SIZE and 552 (instance "a": 64k), AUTH PLAIN ------------------
awk 'BEGIN { s = ""; for (i = 0; i < 1500; i++) s = s "y"; print "Subject: long\n\n" s }' >"$T/long.eml"
expect_rc 26 $SW --from a@example.org --to long@example.org --data "@$T/long.eml"
expect_out '<\*\* +500 5\.5\.2 Error: line too long'
SA="swaks --server 127.0.0.1:$a_smtp --timeout 20"
expect_rc 23 $SA --from a@example.org --to b@example.org
expect_out '530 5\.7\.0 Authentication required'
expect_rc 28 $SA --auth PLAIN --auth-user user --auth-password wrong --from a@example.org --to b@example.org
expect_out '535 '
expect_rc 0 $SA --auth PLAIN --auth-user user --auth-password s3cret --from a@example.org --to b@example.org
expect_out '235 2\.7\.0 Authentication successful'
awk 'BEGIN { print "Subject: big\n"; for (i = 0; i < 1500; i++) print "0123456789012345678901234567890123456789012345678901234567890123456789" }' >"$T/big.eml"
expect_rc 26 $SA --auth PLAIN --auth-user user --auth-password s3cret --from a@example.org --to b@example.org --data "@$T/big.eml"
expect_out '<\*\* +552 5\.3\.4'
expect_rc 55 curl -sS --url "smtp://127.0.0.1:$a_smtp" --user user:s3cret --mail-from a@example.org --mail-rcpt b@example.org --upload-file "$T/big.eml"
expect_out '552'
curl -s -o "$T/alist.json" "http://127.0.0.1:$a_http/v1/messages"
check_py 'd["total"] == 1 and d["items"][0]["auth_user"] == "user"' "$T/alist.json" "auth user recorded, big ones refused"
check_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$a_http/v1/messages?bogus=1")" 400 "unknown filter"

# --- HTTP API: search, paging, delete, errors, metrics -------------------------------------
get '/v1/messages?subject=CAF' "$T/list.json" >/dev/null
check_py 'd["total"] == 2' "$T/list.json" "subject search (case-insensitive substring)"
get '/v1/messages?limit=2&offset=1' "$T/page.json" >/dev/null
get '/v1/messages' "$T/all.json" >/dev/null
n=$(py 'd["total"]' "$T/all.json")
check_py "d['total'] == $n and len(d['items']) == 2 and d['offset'] == 1" "$T/page.json" "paging"
check_py "[i['id'] for i in d['items']] == $(py '[i["id"] for i in d["items"]][1:3]' "$T/all.json")" "$T/page.json" "paging order"
check_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$m_http/v1/messages/$id")" 204 "delete one"
check_eq "$(get "/v1/messages/$id" "$T/x")" 404 "deleted"
check_eq "$(get "/v1/messages/$id/raw" "$T/x")" 404 "deleted raw"
check_eq "$(get '/v1/nothing' "$T/x")" 404 "unknown route"
check_eq "$(get '/v1/messages?limit=x' "$T/x")" 400 "bad limit"
check_eq "$(get '/v1/messages/wait?timeout=forever' "$T/x")" 400 "bad timeout"
check_eq "$(get '/healthz' "$T/x")" 200 "healthz"
get '/metrics' "$T/metrics.txt" >/dev/null
OUT=$(cat "$T/metrics.txt")
expect_out "^sbx_mock_smtp_messages_total\{result=\"accepted\"\} $n\$"
expect_out '^sbx_mock_smtp_messages_total\{result="refused"\} [1-9]'
expect_out '^sbx_mock_smtp_connections_total\{result="accepted"\} [1-9]'
expect_out 'sbx_mock_http_requests_total\{'
# The JSON-lines log on stderr has one line per SMTP outcome.
OUT=$(cat "$T/m.err")
expect_out '^\{"ts":"[^"]+","level":"info","msg":"smtp","mock":"mail","from":"alice@example.org","to":\["bob@example.org","carol@example.org"\],"result":"accepted","code":250,"id":"'"$id"'"'
expect_out '"msg":"smtp","mock":"mail","recipient":"blocked@example.org","result":"refused","code":550'
curl -s -X DELETE -o "$T/del.json" "http://127.0.0.1:$m_http/v1/messages"
check_py "d['deleted'] == $n - 1" "$T/del.json" "delete all"
get '/v1/messages' "$T/all.json" >/dev/null
check_py 'd["total"] == 0 and d["items"] == []' "$T/all.json" "empty after delete all"

# --- SIGTERM: both exit 0 (with an SMTP client still connected to one) ------------------
python3 -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.recv(100); open(sys.argv[2],"w").write("up"); time.sleep(30)' "$m_smtp" "$T/idle.up" &
idle=$!
on_exit "kill $idle"
deadline=$(( $(date +%s) + 20 ))
while [ ! -s "$T/idle.up" ] && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.05; done
[ -s "$T/idle.up" ] && pass || fail "idle SMTP client did not connect"
stop_mail "$m_pid"
stop_mail "$a_pid"
finish
