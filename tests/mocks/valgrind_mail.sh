#!/bin/sh
# sbx-mock-mail (plain, non-ASan build) under valgrind --leak-check=full: a short scripted session
# (plain and STARTTLS SMTP, MIME with an attachment, the HTTP API and Mailpit's, 1,000 mails of 10 KB
# past --max-store-bytes 8M: records made text and evicted, a text search over them; SIGTERM) must end
# with exit 0 and no memory errors or leaks (valgrind exits 9 on any).
. "$(dirname "$0")/../lib/harness.sh"
BIN="$SBX_TOP/${BUILD:-build}/sbx-mock-mail"
[ -x "$BIN" ] || skip "no $BIN (make)"
for tool in valgrind swaks curl openssl; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is not installed (make deps)"
done
perl -MNet::SSLeay -e 1 2>/dev/null || skip "swaks --tls needs Net::SSLeay (make deps)"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || skip "openssl cannot make a certificate"
valgrind --leak-check=full --error-exitcode=9 --errors-for-leak-kinds=definite,indirect \
    --log-file="$T/vg.log" "$BIN" --listen 127.0.0.1:0 --smtp 127.0.0.1:0 --max-store-bytes 8M \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" >"$T/out" 2>"$T/err" &
pid=$!
on_exit "kill -KILL $pid"
deadline=$(( $(date +%s) + 120 )); delay=0.05
while :; do
    h=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/out")
    s=$(sed -n 's|^listening on smtp://127.0.0.1:\([0-9]*\)$|\1|p' "$T/out")
    [ -n "$h" ] && [ -n "$s" ] && break
    if ! kill -0 $pid 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
        cat "$T/err" "$T/vg.log" >&2; echo "FAIL: the mock did not start under valgrind" >&2; exit 1
    fi
    sleep $delay; delay=$(awk "BEGIN { d = $delay * 2; print (d > 0.5 ? 0.5 : d) }")
done
api="http://127.0.0.1:$h"

head -c 2000 /dev/urandom >"$T/a.bin"
SW="swaks --server 127.0.0.1:$s --timeout 60 --from a@example.org"
expect_rc 0 $SW --to v1@example.org --header "Subject: =?UTF-8?Q?Caf=C3=A9?=" --attach @"$T/a.bin" \
    --body "line one
.dotted line"
expect_rc 0 $SW --tls --pipeline --to v2@example.org --to v3@example.org
expect_rc 0 curl -sf -o "$T/list.json" "$api/v1/messages?to=v1@example.org"
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/list.json")
expect_rc 0 curl -sf -o "$T/detail.json" "$api/v1/messages/$id"
OUT=$(cat "$T/detail.json")
expect_out '"subject":"Café"'
expect_out '"attachments":\[\{'
expect_rc 0 curl -sf -o "$T/raw" "$api/v1/messages/$id/raw"
expect_rc 0 curl -sf -o "$T/att" "$api/v1/messages/$id/attachments/1"
if cmp -s "$T/att" "$T/a.bin"; then pass; else fail "attachment differs"; fi
expect_rc 0 curl -sf -o /dev/null "$api/v1/messages/wait?to=v3@example.org&timeout=5s"
expect_rc 0 curl -sf -o /dev/null -X PUT -d '{"targets": {"no@example.org": {"status": 550}}}' "$api/admin/faults"
expect_rc 24 $SW --to no@example.org
expect_rc 0 curl -sf -o /dev/null "$api/metrics"
# Mailpit's API: list, message, headers, raw, part, search (and its parser's errors), 501, deletes
expect_rc 0 curl -sf -o /dev/null "$api/api/v1/messages?start=0&limit=2"
expect_rc 0 curl -sf -o "$T/mp.json" "$api/api/v1/message/$id"
part=$(sed -n 's/.*"Attachments":\[{"PartID":"\([0-9]*\)".*/\1/p' "$T/mp.json")
expect_rc 0 curl -sf -o "$T/mpatt" "$api/api/v1/message/$id/part/$part"
if cmp -s "$T/mpatt" "$T/a.bin"; then pass; else fail "Mailpit part $part differs"; fi
expect_rc 0 curl -sf -o /dev/null "$api/api/v1/message/latest/headers"
expect_rc 0 curl -sf -o /dev/null "$api/api/v1/message/latest/raw"
expect_rc 0 curl -sf -o "$T/search.json" "$api/api/v1/search?query=subject:caf%C3%A9%20%22line%20one%22%20-is:unread%20to:v1"
OUT=$(cat "$T/search.json")
expect_out '"messages_count":1'
expect_rc 22 curl -sf -o /dev/null "$api/api/v1/search?query=%22open"
expect_rc 22 curl -sf -o /dev/null "$api/api/v1/search?query=tag:x"
expect_rc 22 curl -sf -o /dev/null "$api/api/v1/info"
expect_rc 0 curl -sf -o /dev/null -X DELETE "$api/api/v1/search?query=to:v2"
expect_rc 0 curl -sf -o /dev/null -X DELETE -d '{"IDs": ["msg_unknown"]}' "$api/api/v1/messages"
expect_rc 0 curl -sf -o /dev/null -X DELETE "$api/v1/messages/$id"
# 1,000 mails of 10 KB over one connection: past 512 records the oldest are kept as text, past 8M evicted
expect_rc 0 python3 -c 'import smtplib,sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
for i in range(1000):
    s.sendmail("bulk@example.org", ["bulk@example.org"], "Subject: bulk %d\r\n\r\nbulk%04d\r\n" % (i, i) + ("x" * 100 + "\r\n") * 100)
s.quit()' "$s"
expect_rc 0 curl -sf -o "$T/metrics" "$api/metrics"
OUT=$(cat "$T/metrics")
expect_out 'sbx_mock_store_evictions_total{collection="messages"} [1-9]'
expect_rc 0 curl -sf -o "$T/bulk.json" "$api/api/v1/search?query=bulk0999"
OUT=$(cat "$T/bulk.json")
expect_out '"messages_count":1'
expect_rc 0 curl -sf -o /dev/null -X DELETE "$api/v1/messages"

kill -TERM $pid
deadline=$(( $(date +%s) + 120 ))
while kill -0 $pid 2>/dev/null && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.1; done
wait $pid; rc=$?
if [ $rc -eq 0 ]; then pass; else fail "exit $rc under valgrind"; tail -n 60 "$T/vg.log" >&2; fi
grep -q "ERROR SUMMARY: 0 errors" "$T/vg.log" && pass || { fail "valgrind reported errors"; grep -A20 "ERROR SUMMARY\|definitely lost" "$T/vg.log" | tail -40 >&2; }
finish
