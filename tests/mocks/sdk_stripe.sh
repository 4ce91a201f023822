#!/bin/sh
# sbx-mock-payment against the official stripe SDK for Node (pinned in tests/sdk/package.json,
# installed by `make deps`): tests/sdk/stripe_flow.js creates and confirms, declines, goes through
# 3-D Secure, captures, cancels, refunds, pages lists, does customers CRUD, replays and conflicts
# Idempotency-Keys, gets a 401 and 501s, and verifies every webhook with
# stripe.webhooks.constructEvent. The mock runs as the mocks role starts it: API key and Stripe
# webhook secret from 0600 files; its --webhook-url is the driver's receiver (started first).
. "$(dirname "$0")/../lib/harness.sh"
. "$SBX_TOP/tests/lib/mockproc.sh"
PAY="$SBX_BIN/sbx-mock-payment"
SDK="$SBX_TOP/tests/sdk"
[ -x "$PAY" ] || skip "no $PAY (make test-bins)"
command -v node >/dev/null 2>&1 || skip "node is not installed (make deps)"
[ -f "$SDK/node_modules/stripe/package.json" ] || skip "the stripe SDK is not installed in tests/sdk (make deps: npm ci)"

KEY=sk_test_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
WHSEC=whsec_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$KEY" >"$T/stripe-key"
printf 'sdk-api-key\n' >"$T/api-key"
printf '%s\n' "$WHSEC" >"$T/whsec"
printf 'generic-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$T/webhook-secret"
chmod 600 "$T/stripe-key" "$T/api-key" "$T/whsec" "$T/webhook-secret"

# The driver first: it starts its webhook receiver and says on which port.
STRIPE_API_KEY="$KEY" STRIPE_WEBHOOK_SECRET="$WHSEC" MOCK_API_KEY=sdk-api-key RX_PORT_FILE="$T/rx.port" \
    BASE_FILE="$T/base" node "$SDK/stripe_flow.js" >"$T/flow.out" 2>&1 &
npid=$!
on_exit "kill -KILL $npid"
mockproc_wait $npid "$T/rx.port" '[0-9]' "$T/flow.out" "the driver's webhook receiver"

"$PAY" --listen 127.0.0.1:0 --quiet --api-key-file "$T/api-key" --stripe-api-key-file "$T/stripe-key" --webhook-secret-file "$T/webhook-secret" \
    --stripe-webhook-secret-file "$T/whsec" --webhook-url "http://127.0.0.1:$(cat "$T/rx.port")/stripe/hooks" \
    --webhook-backoff 50ms --allow-callback 127.0.0.1/32 >"$T/pay.out" 2>"$T/pay.err" &
pid=$!
on_exit "kill -KILL $pid"
mockproc_wait $pid "$T/pay.out" '^listening on http://' "$T/pay.err" sbx-mock-payment
base=$(sed -n 's/^listening on //p' "$T/pay.out")
printf '%s\n' "$base" >"$T/base.tmp" && mv "$T/base.tmp" "$T/base"

wait $npid; rc=$?
OUT=$(cat "$T/flow.out")
printf '%s\n' "$OUT"
if [ $rc -eq 0 ]; then pass; else fail "stripe_flow.js exited $rc"; fi
expect_out '^stripe 22\.[0-9.]+: [0-9]+ checks, 0 failed$'

# Requests on the JSON API's paths without Stripe-Version or a form body are still the JSON API's.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer sdk-api-key" "$base/v1/payment_intents?status=succeeded")
if [ "$code" = 200 ]; then pass; else fail "GET /v1/payment_intents (JSON API): $code"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer sdk-api-key" "$base/v1/charges")
if [ "$code" = 404 ]; then pass; else fail "GET /v1/charges without Stripe-Version: $code (want the JSON API's 404)"; fi
# With --stripe-api-key, the Stripe API wants that key, not the JSON API's (and the other way round).
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer sdk-api-key" "$base/v1/customers")
if [ "$code" = 401 ]; then pass; else fail "the JSON API's key on the Stripe API: $code"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$KEY:" "$base/v1/customers")
if [ "$code" = 200 ]; then pass; else fail "Basic auth with the Stripe key as the user: $code"; fi

mockproc_stop $pid "$T/pay.err" sbx-mock-payment
finish
