#!/bin/sh
# The API client's TLS from a kubeconfig, against `openssl s_server` on loopback that demands a
# client certificate signed by a test CA: the CA (a file, relative to the kubeconfig), the client
# certificate and key (files, then inline -data) reach libcurl from memory and the handshake
# passes; without a client certificate, or trusting another CA, the connection is refused with a
# clear error. (s_server answers with an HTML page: the client then says it is not an API server.)
. "${SBX_TOP:?}/tests/lib/harness.sh"
command -v openssl >/dev/null 2>&1 || skip "needs the openssl command"
cd "$T" || exit 1
key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sbx-test-ca 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 1 -subj /CN=other 2>/dev/null
key srv /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\n' >ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile ext 2>/dev/null
key cli "/CN=admin/O=system:masters"
openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 1 2>/dev/null
[ -s cli.pem ] && [ -s srv.pem ] || { echo "FAIL: cannot make test certificates" >&2; exit 1; }
port=$((20000 + $$ % 20000))
openssl s_server -www -Verify 1 -verify_return_error -CAfile ca.pem -cert srv.pem -key srv.key \
    -accept "127.0.0.1:$port" </dev/null >server.log 2>&1 &
spid=$!
on_exit "kill $spid"
i=0; while [ $i -lt 50 ] && ! grep -q ACCEPT server.log; do sleep 0.1; i=$((i + 1)); done
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' >m.yaml
kubeconfig() { # FILE CA USER-YAML
    printf 'current-context: t\ncontexts: [{name: t, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:%s", %s}}]\nusers: [{name: u, user: {%s}}]\n' \
        "$port" "$2" "$3" >"$1"
}
b64() { base64 -w0 "$1"; }
kubeconfig files.kc "certificate-authority: ca.pem" "client-certificate: cli.pem, client-key: cli.key"
kubeconfig data.kc "certificate-authority-data: $(b64 ca.pem)" "client-certificate-data: $(b64 cli.pem), client-key-data: $(b64 cli.key)"
kubeconfig nocert.kc "certificate-authority: ca.pem" "token: abc"
kubeconfig wrongca.kc "certificate-authority: other.pem" "client-certificate: cli.pem, client-key: cli.key"

# the handshake passes with the client certificate: the client reaches HTTP and sees no API server
for kc in files data; do
    expect_rc 1 "$SANDBOX" apply --kubeconfig "$kc.kc" -f m.yaml
    expect_out "GET /api: the answer is not a JSON object \\(is https://127.0.0.1:$port a Kubernetes API server\\?\\)"
done
[ "$(grep -c 'CN = admin, O = system:masters' server.log)" -ge 2 ] && pass || fail "s_server did not verify the client certificate"
# without a client certificate the server refuses; with another CA the client refuses
expect_rc 1 "$SANDBOX" apply --kubeconfig nocert.kc -f m.yaml
expect_out "discovery: GET /api: .*certificate required"
expect_rc 1 "$SANDBOX" apply --kubeconfig wrongca.kc -f m.yaml
expect_out "discovery: GET /api: .*(certificate|verify)"
expect_no_out "BEGIN|PRIVATE"
finish
