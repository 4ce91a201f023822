#!/bin/sh
# `sandbox apply` of 500 ConfigMaps to the test API server (tests/lib/k8s.sh), then a no-change
# re-apply, in seconds; next to an anchor: one curl process sending the same 500 server-side-apply
# PATCHes one after the other over one connection. Prints figures, asserts nothing. sandbox sends
# a GET before each PATCH (to tell created/configured/unchanged) and 4 requests at a time.
#   SBX_K8S_HARNESS=/path/to/k8s.sh  where the harness is (default tests/lib/k8s.sh)
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
harness=${SBX_K8S_HARNESS:-$top/tests/lib/k8s.sh}
N=${K8S_BENCH_OBJECTS:-500}
[ -f "$harness" ] || { echo "k8s_apply: skipped: no test API server harness ($harness)"; exit 0; }
SBX_TOP=$top
. "$harness"
why=$(k8s_missing)
[ -z "$why" ] || { echo "k8s_apply: skipped: $why"; exit 0; }
T=$(mktemp -d /tmp/sbx-bench-k8s.XXXXXX)
trap 'k8s_stop; rm -rf "$T"' EXIT
k8s_start "$T/k8s" >/dev/null || { echo "k8s_apply: the test API server did not start"; exit 1; }
mkdir -p "$T/m" "$T/c"
{ echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: bench}"; } >"$T/m/000-ns.yaml"
{ echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: bench-curl}"; } >"$T/ns-curl.yaml"
"$bin" apply --kubeconfig "$K8S_KUBECONFIG" -f "$T/ns-curl.yaml" >/dev/null
i=1
while [ $i -le "$N" ]; do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s, namespace: bench, labels: {app: bench}}\ndata: {index: "%s", text: "some configuration value"}\n' \
        "$i" "$i" >"$T/m/cm-$i.yaml"
    printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%s","namespace":"bench-curl"},"data":{"index":"%s","text":"some configuration value"}}' \
        "$i" "$i" >"$T/c/cm-$i.json"
    [ $i -gt 1 ] && echo next >>"$T/curl.cfg"
    printf 'url = "%s/api/v1/namespaces/bench-curl/configmaps/cm-%s?fieldManager=curl"\nrequest = "PATCH"\nheader = "Content-Type: application/apply-patch+yaml"\ndata-binary = "@%s/c/cm-%s.json"\ncacert = "%s"\ncert = "%s"\nkey = "%s"\noutput = "/dev/null"\nsilent\nfail\n' \
        "$K8S_URL" "$i" "$T" "$i" "$K8S_CA" "$K8S_CERT" "$K8S_KEY" >>"$T/curl.cfg"
    i=$((i + 1))
done
. "$SBX_TOP/tests/bench/lib.sh"
echo "k8s_apply: $N ConfigMaps + 1 Namespace, test API server on loopback (etcd, watch cache)"
echo "  sandbox apply (create)            $(secs "$bin" apply --kubeconfig "$K8S_KUBECONFIG" -f "$T/m") s"
echo "  sandbox apply (no change)         $(secs "$bin" apply --kubeconfig "$K8S_KUBECONFIG" -f "$T/m") s"
echo "  anchor: curl, $N PATCHes (create)   $(secs curl -K "$T/curl.cfg") s"
echo "  anchor: curl, $N PATCHes (no change) $(secs curl -K "$T/curl.cfg") s"
