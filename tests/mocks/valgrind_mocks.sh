#!/bin/sh
# Run each mock server (plain build, not ASan) under valgrind for a short scripted session over
# HTTP, stop it with SIGTERM, and fail on any memory error or leak (valgrind exit code 9). The
# mocks run as the mocks role starts them: API key and webhook secret (and the SMS mock's Twilio
# account SID and auth token) from 0600 files, callbacks allowed to one network only (a refused and
# a named callback are part of the SMS session, and its Twilio API).
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin="$top/${BUILD:-build}"
command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }
[ -x "$bin/sbx-mock-sms" ] || { echo "no $bin/sbx-mock-sms: run make BUILD=${BUILD:-build} first"; exit 77; }

work=$(mktemp -d /tmp/sbx-valgrind-mocks.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# wait_line FILE: poll (with backoff, 120 s deadline) until FILE has the "listening on" line.
wait_line() {
    delay=0.05 waited=0
    while ! grep -q '^listening on http://' "$1" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 1
        [ "$waited" -gt 240 ] && return 1
        sleep "$delay"; waited=$((waited + 1))
        case $delay in 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; esac
    done
}

KEY=vg-api-key
printf '%s\n' "$KEY" >"$work/api-key"
printf 'vg-webhook-secret\n' >"$work/webhook-secret"
printf 'ACvg0123456789\n' >"$work/account-sid"
printf 'vg-auth-token\n' >"$work/auth-token"
chmod 600 "$work/api-key" "$work/webhook-secret" "$work/account-sid" "$work/auth-token"

# req METHOD PATH [BODY] [HEADER]: one request with the API key; prints the status code.
req() {
    curl -s -o /dev/null -w '%{http_code}' -X "$1" "$url$2" ${3:+--data-binary "$3"} \
        -H "Authorization: Bearer $KEY" ${4:+-H "$4"}
}

# expect WANT GOT WHAT
expect() {
    [ "$1" = "$2" ] || { echo "FAIL: $3: expected $1, got $2"; fail=1; }
}

session_common() {
    expect 401 "$(curl -s -o /dev/null -w '%{http_code}' "$url/admin/faults")" "no API key"
    expect 200 "$(req GET /healthz)" "healthz"
    expect 200 "$(req GET /metrics)" "metrics"
    expect 404 "$(req GET /nope)" "unknown route"
    expect 400 "$(req PUT /admin/faults '{"error_rate": 7}')" "bad faults"
    expect 200 "$(req PUT /admin/faults '{"latency_ms": {"min": 1, "max": 3}}')" "faults"
    expect 200 "$(req DELETE /admin/faults)" "reset faults"
    big=$(head -c 3000000 /dev/zero | tr '\0' 'a')
    expect 413 "$(printf '%s' "$big" | curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @- \
        -H "Authorization: Bearer $KEY" "$url/v1/x")" "413"
}

session_sms() {
    expect 201 "$(req POST /v1/messages '{"to":"+15551230001","from":"Acme","body":"hi"}')" "send"
    expect 201 "$(req POST /v1/messages '{"to":"+15005550002","from":"Acme","body":"hi"}')" "send unreachable"
    expect 400 "$(req POST /v1/messages '{"to":"+15551230002","from":"Acme","body":"hi","status_callback":"http://169.254.169.254/"}')" "refused callback"
    expect 201 "$(req POST /v1/messages '{"to":"+15551230003","from":"Acme","body":"hi","status_callback":"http://localhost:9/own"}')" "named callback"
    expect 400 "$(req POST /v1/messages '{"to":"123"}')" "invalid"
    expect 400 "$(req POST /v1/messages '{"to":')" "malformed"
    expect 200 "$(req GET '/v1/messages/wait?to=%2B15551230001&status=delivered&timeout=30s')" "wait"
    expect 408 "$(req GET '/v1/messages/wait?to=%2B15550000000&timeout=200ms')" "wait timeout"
    expect 200 "$(req PUT /admin/faults '{"latency_ms": 50}')" "latency"
    expect 201 "$(req POST /v1/messages '{"to":"+15551230009","from":"Acme","body":"late"}')" "delayed send"
    expect 200 "$(req DELETE /admin/faults)" "reset latency"
    expect 200 "$(req GET '/v1/messages?limit=1&offset=1')" "list"
    expect 200 "$(req GET /v1/webhook_deliveries)" "deliveries"
    tw="/2010-04-01/Accounts/ACvg0123456789/Messages"
    expect 201 "$(tw POST "$tw.json" -d 'To=%2B15551230004&From=%2B15005550006&Body=hi+there&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fst')" "twilio send"
    expect 201 "$(tw POST "$tw.json" -d 'To=%2B15005550010&From=Acme&Body=x')" "twilio undelivered"
    expect 400 "$(tw POST "$tw.json" -d 'To=%2B15005550002&From=%2B15005550006&Body=x')" "twilio magic"
    expect 400 "$(tw POST "$tw.json" -d 'To=%zz')" "twilio malformed form"
    expect 401 "$(curl -s -o /dev/null -w '%{http_code}' -u ACvg0123456789:wrong "$url$tw.json")" "twilio 401"
    expect 501 "$(tw GET /2010-04-01/Accounts/ACvg0123456789/Calls.json)" "twilio 501"
    expect 200 "$(tw GET "$tw.json?PageSize=1&Page=1&To=%2B15005550010")" "twilio list"
    expect 200 "$(tw GET "$tw.json?PageSize=1&Page=1&PageToken=PASM0")" "twilio list (token of a message not there)"
    expect 400 "$(tw GET "$tw.json?PageToken=XX")" "twilio malformed PageToken"
    expect 200 "$(req GET '/v1/messages/wait?to=%2B15005550010&status=undelivered&timeout=30s')" "twilio wait"
    expect 404 "$(tw GET "$tw/SM0.json")" "twilio fetch unknown"
    expect 200 "$(req DELETE /v1/messages)" "delete all"
}

# tw METHOD PATH [CURL ARGS]: a Twilio API request with the account SID and auth token; prints the status.
tw() {
    m=$1 p=$2; shift 2
    curl -s -o /dev/null -w '%{http_code}' -X "$m" -u ACvg0123456789:vg-auth-token "$url$p" "$@"
}

session_payment() {
    id=$(curl -s -X POST "$url/v1/payment_intents" -H 'Idempotency-Key: vg1' -H "Authorization: Bearer $KEY" \
        --data-binary '{"amount": 500, "currency": "usd"}' | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
    [ -n "$id" ] || { echo "FAIL: create"; fail=1; return; }
    expect 200 "$(req POST /v1/payment_intents '{"amount": 500, "currency": "usd"}' 'Idempotency-Key: vg1')" "replay"
    expect 409 "$(req POST /v1/payment_intents '{"amount": 501, "currency": "usd"}' 'Idempotency-Key: vg1')" "conflict"
    expect 402 "$(req POST "/v1/payment_intents/$id/confirm" '{"card": "4000000000000002"}')" "decline"
    expect 200 "$(req POST "/v1/payment_intents/$id/confirm" '{"card": "4000000000003220"}')" "3ds"
    expect 200 "$(req POST "/v1/payment_intents/$id/confirm" '{"three_d_secure": "pass"}')" "3ds pass"
    expect 200 "$(req POST "/v1/payment_intents/$id/refund" '{"amount": 100}')" "refund"
    expect 400 "$(req POST "/v1/payment_intents/$id/capture")" "capture"
    expect 200 "$(req GET "/v1/payment_intents?status=succeeded")" "list"
    expect 200 "$(req GET /v1/webhook_deliveries)" "deliveries"
    sp="-H Stripe-Version:2025-01-27.acacia"
    sid=$(stbody POST /v1/payment_intents -d amount=700 -d currency=usd -d 'metadata[order]=7' -d 'payment_method_types[]=card' \
        -H 'Idempotency-Key: vgs1' | sed -n 's/^{.*"id":"\(pi_[^"]*\)".*/\1/p')
    [ -n "$sid" ] || { echo "FAIL: stripe create"; fail=1; return; }
    expect 200 "$(st POST /v1/payment_intents -d amount=700 -d currency=usd -d 'metadata[order]=7' -d 'payment_method_types[]=card' -H 'Idempotency-Key: vgs1')" "stripe replay"
    expect 400 "$(st POST /v1/payment_intents -d amount=701 -d currency=usd -H 'Idempotency-Key: vgs1')" "stripe idempotency conflict"
    expect 402 "$(st POST "/v1/payment_intents/$sid/confirm" -d payment_method=pm_card_chargeDeclined)" "stripe decline"
    expect 200 "$(st POST "/v1/payment_intents/$sid/confirm" -d payment_method=pm_card_threeDSecure2Required -d return_url=https://x.example/r)" "stripe 3ds"
    expect 200 "$(st POST "/v1/payment_intents/$sid/_complete_3ds")" "stripe 3ds complete"
    expect 200 "$(st POST /v1/refunds -d payment_intent="$sid" -d amount=100)" "stripe refund"
    expect 200 "$(st POST /v1/payment_intents -d amount=900 -d currency=eur -d capture_method=manual -d confirm=true -d payment_method=pm_card_visa)" "stripe manual"
    expect 200 "$(st GET "/v1/payment_intents?limit=1&starting_after=$sid" $sp)" "stripe list"
    expect 200 "$(st GET "/v1/payment_intents/$sid" $sp)" "stripe retrieve"
    cus=$(stbody POST /v1/customers -d email=a@example.com | sed -n 's/^{.*"id":"\(cus_[^"]*\)".*/\1/p')
    expect 200 "$(st POST "/v1/customers/$cus" -d 'metadata[k]=v')" "stripe customer update"
    expect 200 "$(st DELETE "/v1/customers/$cus")" "stripe customer delete"
    expect 200 "$(st GET "/v1/customers/$cus" $sp)" "stripe retrieve a deleted customer"
    expect 404 "$(st POST "/v1/customers/$cus" -d name=x)" "stripe update a deleted customer"
    expect 200 "$(st GET /v1/customers $sp)" "stripe customer list"
    expect 501 "$(st GET /v1/customers/search $sp)" "stripe customer search 501"
    expect 400 "$(st POST /v1/payment_intents -d 'a=1&a[b]=2')" "stripe malformed nesting"
    expect 501 "$(st GET /v1/charges $sp)" "stripe 501"
    expect 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk_test_wrongwrongwrong1234' $sp "$url/v1/customers")" "stripe 401"
}

# st METHOD PATH CURL-ARGS...: one Stripe API request (form body) with the API key; prints the status
# code (stbody: the body).
st() {
    m=$1 p=$2; shift 2
    curl -s -o /dev/null -w '%{http_code}' -X "$m" "$url$p" -H "Authorization: Bearer $KEY" "$@"
}
stbody() {
    m=$1 p=$2; shift 2
    curl -s -X "$m" "$url$p" -H "Authorization: Bearer $KEY" "$@"
}

session_mail() {
    expect 200 "$(req GET '/api/v1/messages?limit=5')" "mailpit list"
    expect 200 "$(req GET '/api/v1/search?query=to:x%20%22a%20b%22%20-is:read')" "mailpit search"
    expect 400 "$(req GET '/api/v1/search?query=%22open')" "mailpit malformed query"
    expect 404 "$(req GET /api/v1/message/latest)" "mailpit no latest"
    expect 501 "$(req GET /api/v1/info)" "mailpit other route"
    expect 401 "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/messages")" "mailpit without API key"
    expect 200 "$(req DELETE /api/v1/messages '{"IDs": ["msg_x"]}')" "mailpit delete"
}

fail=0
for mock in sms payment mail; do
    [ -x "$bin/sbx-mock-$mock" ] || { echo "no $bin/sbx-mock-$mock: run make BUILD=${BUILD:-build} first"; exit 77; }
    out="$work/$mock.out" log="$work/$mock.valgrind"
    extra="--api-key-file $work/api-key --webhook-secret-file $work/webhook-secret --allow-callback 127.0.0.1/32"
    [ "$mock" = sms ] && extra="$extra --delivery-delay 5ms --callback-url http://127.0.0.1:9/cb --webhook-backoff 10ms --webhook-attempts 2 --account-sid-file $work/account-sid --auth-token-file $work/auth-token"
    [ "$mock" = payment ] && extra="$extra --webhook-url http://127.0.0.1:9/wh --webhook-backoff 10ms --webhook-attempts 2"
    # shellcheck disable=SC2086
    valgrind --leak-check=full --error-exitcode=9 --log-file="$log" \
        "$bin/sbx-mock-$mock" --listen 127.0.0.1:0 --quiet --data "$work/$mock.db" $extra >"$out" 2>"$work/$mock.err" &
    pid=$!
    if ! wait_line "$out"; then
        echo "FAIL: $mock did not start under valgrind"; cat "$work/$mock.err" "$log"; exit 1
    fi
    url=$(sed -n 's/^listening on //p' "$out" | head -n 1)
    session_common
    "session_$mock"
    # a long-poll still parked at shutdown: answered (408) by the stop
    coll=webhook_deliveries wpath='/v1/webhook_deliveries/wait?event=none&timeout=60s'
    [ "$mock" = mail ] && coll=messages wpath='/v1/messages/wait?to=nobody%40example.invalid&timeout=60s'
    req GET "$wpath" >"$work/parked.code" &
    parked=$! tries=0
    until curl -s -H "Authorization: Bearer $KEY" "$url/metrics" | grep -q "^sbx_mock_waiters{collection=\"$coll\"} 1"; do
        tries=$((tries + 1))
        [ "$tries" -gt 600 ] && { echo "FAIL: $mock: the long-poll never showed in /metrics"; fail=1; break; }
        sleep 0.1
    done
    kill -TERM "$pid"
    wait "$pid"; rc=$?; pid=""
    wait "$parked"
    expect 408 "$(cat "$work/parked.code")" "$mock: parked long-poll at shutdown"
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $mock exited $rc under valgrind"; cat "$log"; fail=1
    else
        echo "ok $mock: $(grep -E 'ERROR SUMMARY|definitely lost' "$log" | sed 's/^==[0-9]*== //' | tr '\n' ' ')"
    fi
done
exit $fail
