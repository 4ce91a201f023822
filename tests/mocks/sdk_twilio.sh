#!/bin/sh
# sbx-mock-sms against the official twilio SDK for Node (pinned in tests/sdk/package.json,
# installed by `make deps`): tests/sdk/twilio_flow.js sends, fetches, lists over several pages,
# waits for delivery, gets Twilio's documented errors and magic-number errors, a 401, a 501, and
# verifies every signed status callback with twilio.validateRequest. The mock runs as the mocks
# role starts it: account SID, auth token and API key from 0600 files.
. "$(dirname "$0")/../lib/harness.sh"
. "$SBX_TOP/tests/lib/mockproc.sh"
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
mockproc_wait $pid "$T/sms.out" '^listening on http://' "$T/sms.err" sbx-mock-sms
base=$(sed -n 's/^listening on //p' "$T/sms.out")

expect_rc 0 env TWILIO_ACCOUNT_SID="$SID" TWILIO_AUTH_TOKEN="$(cat "$T/token")" TWILIO_API_BASE="$base" \
    MOCK_API_KEY=sdk-api-key node "$SDK/twilio_flow.js"
printf '%s\n' "$OUT"
expect_out '^twilio 5\.[0-9.]+: [0-9]+ checks, 0 failed$'

# The JSON API is still there next to the Twilio one, behind the API key.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sdk-api-key' "$base/v1/messages?status=delivered")
if [ "$code" = 200 ]; then pass; else fail "GET /v1/messages: $code"; fi

mockproc_stop $pid "$T/sms.err" sbx-mock-sms
finish
