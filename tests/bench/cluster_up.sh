#!/bin/sh
# `sandbox up` of an environment on an attached cluster (the test API server, tests/lib/k8s.sh):
# 10 team namespaces with their platform defaults (namespace, 2 NetworkPolicies, LimitRange,
# ResourceQuota, sandbox-env ConfigMap and Secret: 70 objects) and an app of 100 ConfigMaps; then
# a no-change `up`, a `plan` (server-side dry run) and `down` (waits until the namespaces are
# gone). Anchor in the same run: kubectl (the build's, 1.36) applying the same 170 objects
# server-side, re-applying them, and deleting the namespaces with --wait. Prints, asserts nothing.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
SBX_TOP=$top
. "$top/tests/lib/k8s.sh"
why=$(k8s_missing)
[ -z "$why" ] || { echo "cluster_up: skipped: $why"; exit 0; }
T=$(mktemp -d /tmp/sbx-bench-cl.XXXXXX)
export SANDBOX_STATE="$T/state/state.db"
trap '"$bin" down bench >/dev/null 2>&1; k8s_stop; rm -rf "$T"' EXIT
k8s_start "$T/k8s" >/dev/null || { echo "cluster_up: the test API server did not start"; exit 1; }
kubectl="$K8S_BIN/kubectl --kubeconfig $K8S_KUBECONFIG"
mkdir -p "$T/bp/app"
cp "$K8S_KUBECONFIG" "$T/bp/kubeconfig"
{
    printf 'apiVersion: sandbox/v1\nname: bench\ncluster:\n  kubeconfig: kubeconfig\n  namespaces:\n'
    for t in 0 1 2 3 4 5 6 7 8 9; do printf '    - { name: team%s, quota: { cpu: "4", memory: 8Gi, pods: 40 } }\n' $t; done
    printf 'apps:\n  - { name: app, manifests: app, namespace: team0 }\n'
} >"$T/bp/bench.yaml"
i=1
while [ $i -le 100 ]; do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s}\ndata: {index: "%s"}\n' $i $i >>"$T/bp/app/cms.yaml"
    i=$((i + 1))
done
. "$SBX_TOP/tests/bench/lib.sh"
echo "cluster_up: 10 team namespaces (70 platform objects) + an app of 100 ConfigMaps, test API server on loopback"
echo "  sandbox up (create)                 $(secs "$bin" up "$T/bp/bench.yaml") s"
echo "  sandbox up (no change)              $(secs "$bin" up "$T/bp/bench.yaml") s"
echo "  sandbox plan (server-side dry run)  $(secs "$bin" plan "$T/bp/bench.yaml") s"
echo "  sandbox down (namespaces gone)      $(secs "$bin" down bench) s"
# the anchor: the same objects, rendered, in other namespaces
mkdir -p "$T/k"
for t in 0 1 2 3 4 5 6 7 8 9; do
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: k-team%s}\n' $t >>"$T/k/00-ns.yaml"
    for k in default-deny allow; do
        printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: k-team%s}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n' $k $t >>"$T/k/10-ns.yaml"
    done
    printf -- '---\napiVersion: v1\nkind: LimitRange\nmetadata: {name: d, namespace: k-team%s}\nspec: {limits: [{type: Container, default: {cpu: 500m, memory: 512Mi}}]}\n' $t >>"$T/k/10-ns.yaml"
    printf -- '---\napiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: k-team%s}\nspec: {hard: {limits.cpu: "4", pods: "40"}}\n' $t >>"$T/k/10-ns.yaml"
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, namespace: k-team%s}\ndata: {A: b}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: k-team%s}\ndata: {A: Yg==}\n' $t $t >>"$T/k/10-ns.yaml"
done
sed 's/^metadata: {name: cm-\([0-9]*\)}/metadata: {name: cm-\1, namespace: k-team0}/' "$T/bp/app/cms.yaml" >"$T/k/20-app.yaml"
echo "  anchor: kubectl apply --server-side (create)    $(secs $kubectl apply --server-side -f "$T/k/00-ns.yaml" -f "$T/k/10-ns.yaml" -f "$T/k/20-app.yaml") s"
echo "  anchor: kubectl apply --server-side (no change) $(secs $kubectl apply --server-side -f "$T/k/00-ns.yaml" -f "$T/k/10-ns.yaml" -f "$T/k/20-app.yaml") s"
echo "  anchor: kubectl delete namespaces --wait        $(secs $kubectl delete -f "$T/k/00-ns.yaml" --wait=true) s"
