#!/bin/sh
# sbx-mock-mail read by Mailpit's own Node client, mailpit-api (the version tests/sdk/package-lock.json
# pins; make deps installs it with npm ci): mail sent with swaks, then mailpit_client.js lists, searches, waits for,
# reads (message, source, headers, attachment) and deletes through the client with the mock's
# API key, and sees 501 / 400 / 404 as errors.
. "$(dirname "$0")/../lib/harness.sh"
. "$SBX_TOP/tests/lib/mockproc.sh"
MAIL="$SBX_BIN/sbx-mock-mail"
SDK="$(cd "$(dirname "$0")/../sdk" && pwd)"
MODULE="$SDK/node_modules/mailpit-api"
[ -x "$MAIL" ] || skip "no $MAIL (make test-bins)"
for tool in node swaks base64; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is not installed (make deps)"
done
[ -f "$MODULE/package.json" ] || skip "mailpit-api is not installed in tests/sdk (make deps: npm ci)"

"$MAIL" --listen 127.0.0.1:0 --smtp 127.0.0.1:0 --api-key mp-key --quiet >"$T/out" 2>"$T/err" &
pid=$!
on_exit "kill -KILL $pid"
mockproc_wait $pid "$T/out" '^listening on http://127\.0\.0\.1:[0-9]+$' "$T/err" sbx-mock-mail
mockproc_wait $pid "$T/out" '^listening on smtp://127\.0\.0\.1:[0-9]+$' "$T/err" sbx-mock-mail
h=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/out")
s=$(sed -n 's|^listening on smtp://127.0.0.1:\([0-9]*\)$|\1|p' "$T/out")

head -c 3000 /dev/urandom >"$T/terms.pdf"
SW="swaks --server 127.0.0.1:$s --timeout 30 --from shop@example.org"
expect_rc 0 $SW --to ann@example.org --header "Subject: Welcome" --body "Hello Ann" \
    --attach-type application/pdf --attach-name terms.pdf --attach @"$T/terms.pdf"
expect_rc 0 $SW --to bob@example.org --header "Subject: Receipt" --body "Thanks Bob"

MP_MODULE="$MODULE" MP_URL="http://127.0.0.1:$h" MP_KEY=mp-key MP_PDF=$(base64 -w0 "$T/terms.pdf")
export MP_MODULE MP_URL MP_KEY MP_PDF
expect_rc 0 node "$SDK/mailpit_client.js"
expect_out "mailpit-api checks passed"
[ $_failures -eq 0 ] || cat "$T/err" >&2

mockproc_stop $pid "$T/err" sbx-mock-mail
finish
