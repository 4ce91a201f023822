# A real Kubernetes API server for tests: etcd + build/k8s/sbx-test-apiserver (tests/k8s/README.md).
# Source it from a shell test (after harness.sh, or alone):
#   . "$SBX_TOP/tests/lib/k8s.sh"
#   k8s_require                 # exit 77 (skip) with the reason when the server is not built
#   k8s_start "$T/k8s"          # etcd + API server on free ports; waits for /readyz
#   ... curl/kubectl against $K8S_URL with $K8S_KUBECONFIG ...
#   k8s_stop                    # kill both, remove their data (also safe when nothing runs)
# C tests run the same through tests/k8s/server.sh (start DIR / stop DIR / compact DIR).
#
# k8s_start DIR writes into DIR:
#   kubeconfig         cluster sbx-test, user sandbox-test (CN=sandbox-test, O=system:masters),
#                      CA and client certificate/key embedded as base64 *-data
#   nobody.kubeconfig  the same server with a user in no group (every request: 403)
#   ca.crt client.crt client.key nobody.crt nobody.key   the PEM files themselves
#   url  etcd-url  env (sourceable K8S_* lines)  etcd.log  apiserver.log  *.pid
# and exports K8S_DIR K8S_URL K8S_KUBECONFIG K8S_CA K8S_CERT K8S_KEY K8S_ETCD_URL.
# Knobs: K8S_WATCH_CACHE=0 (serve lists and watches straight from etcd; default 1, as kube-apiserver),
# K8S_APISERVER_ARGS (more flags, e.g. "--emulated-version=1.34
# --feature-gates=AggregatedDiscoveryRemoveBetaType=false"), K8S_START_TIMEOUT (seconds, default 90),
# SBX_K8S_BIN (directory of sbx-test-apiserver, etcd, etcdctl; default $SBX_TOP/build/k8s).

SBX_TOP=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
case ${BUILD:-build} in
/*) K8S_BIN=${SBX_K8S_BIN:-$BUILD/k8s} ;;
*) K8S_BIN=${SBX_K8S_BIN:-$SBX_TOP/${BUILD:-build}/k8s} ;;
esac

# Print why the server cannot run here (nothing when it can).
k8s_missing() {
    for b in sbx-test-apiserver etcd etcdctl; do
        if [ ! -x "$K8S_BIN/$b" ]; then
            echo "$K8S_BIN/$b is not built (make k8s-test-server; needs Debian unstable's archive)"
            return 0
        fi
    done
    command -v openssl >/dev/null 2>&1 || { echo "openssl is not installed"; return 0; }
    command -v curl >/dev/null 2>&1 || echo "curl is not installed"
}

# Exit 77 (skip) with the reason when the server cannot run here.
k8s_require() {
    why=$(k8s_missing)
    [ -z "$why" ] && return 0
    echo "$why" >&2
    exit 77
}

# Print a free TCP port on 127.0.0.1.
k8s_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Make a key and a certificate signed by DIR/ca: k8s_cert DIR NAME SUBJECT EXTENSIONS.
k8s_cert() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$3" \
        -keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null &&
    printf '%s\n' "$4" >"$1/$2.ext" &&
    openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -days 30 \
        -extfile "$1/$2.ext" -out "$1/$2.crt" 2>/dev/null
}

# The CA, the serving certificate (127.0.0.1, localhost) and the two client certificates.
k8s_certs() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=sbx-test-ca -keyout "$1/ca.key" -out "$1/ca.crt" 2>/dev/null &&
    k8s_cert "$1" server /CN=sbx-test-apiserver \
        "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth" &&
    k8s_cert "$1" client "/O=system:masters/CN=sandbox-test" "extendedKeyUsage=clientAuth" &&
    k8s_cert "$1" nobody "/CN=sandbox-nobody" "extendedKeyUsage=clientAuth"
}

# Write a kubeconfig: k8s_kubeconfig DIR USER CERTNAME FILE.
k8s_kubeconfig() {
    cat >"$1/$4" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: sbx-test
  cluster:
    server: $K8S_URL
    certificate-authority-data: $(base64 -w0 <"$1/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 <"$1/$3.crt")
    client-key-data: $(base64 -w0 <"$1/$3.key")
contexts:
- name: sbx-test
  context:
    cluster: sbx-test
    user: $2
    namespace: default
current-context: sbx-test
KUBECONFIG
}

# Wait until CMD succeeds, at most SECONDS, and only while the process of PIDFILE lives
# (PIDFILE "-": no process): k8s_wait SECONDS PIDFILE CMD...
k8s_wait() {
    deadline=$(( $(date +%s) + $1 )) pidfile=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        [ "$pidfile" = - ] || kill -0 "$(cat "$pidfile")" 2>/dev/null || return 1
        sleep 0.2
    done
}

# Start etcd on free ports; sets K8S_ETCD_URL.
k8s_start_etcd() {
    cport=$(k8s_free_port) pport=$(k8s_free_port)
    K8S_ETCD_URL="http://127.0.0.1:$cport"
    "$K8S_BIN/etcd" --name sbx --data-dir "$1/etcd" --log-level warn --unsafe-no-fsync \
        --listen-client-urls "$K8S_ETCD_URL" --advertise-client-urls "$K8S_ETCD_URL" \
        --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
        --initial-cluster "sbx=http://127.0.0.1:$pport" >"$1/etcd.log" 2>&1 </dev/null &
    echo $! >"$1/etcd.pid"
    k8s_wait 30 "$1/etcd.pid" curl -fsS "$K8S_ETCD_URL/health"
}

# Start the API server against K8S_ETCD_URL; sets K8S_URL once /readyz answers ok.
k8s_start_apiserver() {
    cache=true
    [ "${K8S_WATCH_CACHE:-1}" = 0 ] && cache=false
    # shellcheck disable=SC2086 # K8S_APISERVER_ARGS: several flags
    "$K8S_BIN/sbx-test-apiserver" --etcd-servers "$K8S_ETCD_URL" --secure-port 0 --port-file "$1/port" \
        --tls-cert-file "$1/server.crt" --tls-private-key-file "$1/server.key" --client-ca-file "$1/ca.crt" \
        --watch-cache="$cache" ${K8S_APISERVER_ARGS:-} >"$1/apiserver.log" 2>&1 </dev/null &
    echo $! >"$1/apiserver.pid"
    timeout=${K8S_START_TIMEOUT:-90}
    k8s_wait "$timeout" "$1/apiserver.pid" test -s "$1/port" || return 1
    K8S_URL="https://127.0.0.1:$(cat "$1/port")"
    k8s_wait "$timeout" "$1/apiserver.pid" curl -fsS --cacert "$1/ca.crt" --cert "$1/client.crt" --key "$1/client.key" "$K8S_URL/readyz"
}

# Start etcd and the API server with their state in DIR (created); see the header.
k8s_start() {
    K8S_DIR=$1
    mkdir -p "$K8S_DIR" && chmod 0700 "$K8S_DIR" || return 1
    k8s_certs "$K8S_DIR" || { echo "k8s_start: openssl failed" >&2; return 1; }
    if ! k8s_start_etcd "$K8S_DIR"; then
        echo "k8s_start: etcd did not come up; $K8S_DIR/etcd.log:" >&2
        tail -n 20 "$K8S_DIR/etcd.log" >&2
        k8s_stop "$K8S_DIR"
        return 1
    fi
    if ! k8s_start_apiserver "$K8S_DIR"; then
        echo "k8s_start: the API server was not ready in time; $K8S_DIR/apiserver.log:" >&2
        tail -n 40 "$K8S_DIR/apiserver.log" >&2
        k8s_stop "$K8S_DIR"
        return 1
    fi
    K8S_KUBECONFIG="$K8S_DIR/kubeconfig" K8S_CA="$K8S_DIR/ca.crt"
    K8S_CERT="$K8S_DIR/client.crt" K8S_KEY="$K8S_DIR/client.key"
    k8s_kubeconfig "$K8S_DIR" sandbox-test client kubeconfig
    k8s_kubeconfig "$K8S_DIR" sandbox-nobody nobody nobody.kubeconfig
    echo "$K8S_URL" >"$K8S_DIR/url"
    echo "$K8S_ETCD_URL" >"$K8S_DIR/etcd-url"
    export K8S_DIR K8S_URL K8S_KUBECONFIG K8S_CA K8S_CERT K8S_KEY K8S_ETCD_URL
    for v in K8S_DIR K8S_URL K8S_KUBECONFIG K8S_CA K8S_CERT K8S_KEY K8S_ETCD_URL; do
        eval "echo \"$v=\$$v\""
    done >"$K8S_DIR/env"
}

# Kill a process whose pid is in FILE, and wait (at most 10 s) until it is gone.
k8s_kill() {
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || return 0
    k8s_wait 10 - sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
    rm -f "$1"
}

# Stop the API server and etcd of DIR (default: the last k8s_start's) and remove DIR.
k8s_stop() {
    d=${1:-${K8S_DIR:-}}
    [ -n "$d" ] && [ -d "$d" ] || return 0
    k8s_kill "$d/apiserver.pid"
    k8s_kill "$d/etcd.pid"
    rm -rf "$d"
}

# curl with the admin client certificate and the server's CA: k8s_curl CURL-ARGS... "$K8S_URL/PATH".
k8s_curl() {
    curl -sS --cacert "$K8S_CA" --cert "$K8S_CERT" --key "$K8S_KEY" "$@"
}

# Run etcdctl against the server's etcd.
k8s_etcdctl() {
    ETCDCTL_API=3 "$K8S_BIN/etcdctl" --endpoints "$K8S_ETCD_URL" "$@"
}

# Compact etcd up to its current revision (what the server's own compaction does every 5 min),
# and print that revision: resourceVersions below it are gone (410).
k8s_compact() {
    rev=$(k8s_etcdctl endpoint status -w json | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
    [ -n "$rev" ] || return 1
    k8s_etcdctl compact "$rev" >/dev/null && echo "$rev"
}
