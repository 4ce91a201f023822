#!/bin/sh
# sbx-mock-sms against the official twilio SDK for Node (pinned in tests/sdk/package.json,
# installed by `make deps`): tests/sdk/twilio_flow.js sends, fetches, lists over several pages,
# waits for delivery, gets Twilio's documented errors and magic-number errors, a 401, a 501, and
# verifies every signed status callback with twilio.validateRequest. The mock runs as the mocks
# role starts it: account SID, auth token and API key from 0600 files.
. "$(dirname "$0")/../lib/harness.sh"
SMS="$SBX_BIN/sbx-mock-sms"
SDK="$SBX_TOP/tests/sdk"
[ -x "$SMS" ] || skip "no $SMS (make test-bins)"
command -v node >/dev/null 2>&1 || skip "node is not installed (make deps)"
[ -f "$SDK/node_modules/twilio/package.json" ] || skip "the twilio SDK is not installed in tests/sdk (make deps: npm ci)"

SID=AC$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$SID" >"$T/sid"
printf 'tok-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$T/token"
printf 'sdk-api-key\n' >"$T/api-key"
chmod 600 "$T/sid" "$T/token" "$T/api-key"

"$SMS" --listen 127.0.0.1:0 --quiet --account-sid-file "$T/sid" --auth-token-file "$T/token" \
    --api-key-file "$T/api-key" --delivery-delay 20ms --webhook-backoff 50ms --allow-callback 127.0.0.1/32 \
    >"$T/sms.out" 2>"$T/sms.err" &
pid=$!
on_exit "kill -KILL $pid"
deadline=$(( $(date +%s) + 30 )); delay=0.01
while ! grep -q '^listening on http://' "$T/sms.out"; do
    if ! kill -0 $pid 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
        cat "$T/sms.err" >&2; echo "FAIL: sbx-mock-sms did not start" >&2; exit 1
    fi
    sleep $delay; delay=$(awk "BEGIN { d = $delay * 2; print (d > 0.5 ? 0.5 : d) }")
done
base=$(sed -n 's/^listening on //p' "$T/sms.out")

expect_rc 0 env TWILIO_ACCOUNT_SID="$SID" TWILIO_AUTH_TOKEN="$(cat "$T/token")" TWILIO_API_BASE="$base" \
    MOCK_API_KEY=sdk-api-key node "$SDK/twilio_flow.js"
printf '%s\n' "$OUT"
expect_out '^twilio 5\.[0-9.]+: [0-9]+ checks, 0 failed$'

# The JSON API is still there next to the Twilio one, behind the API key.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sdk-api-key' "$base/v1/messages?status=delivered")
if [ "$code" = 200 ]; then pass; else fail "GET /v1/messages: $code"; fi

kill -TERM $pid
deadline=$(( $(date +%s) + 30 ))
while kill -0 $pid 2>/dev/null && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.05; done
wait $pid; rc=$?
if [ $rc -eq 0 ]; then pass; else fail "sbx-mock-sms exited $rc after SIGTERM"; tail -n 40 "$T/sms.err" >&2; fi
finish
