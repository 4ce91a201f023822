#!/bin/sh
# An environment on an attached Kubernetes cluster, through the CLI against a real API server
# (tests/lib/k8s.sh: etcd + the generic apiserver built from Debian's Kubernetes libraries): `up`
# of a blueprint with no machines creates the team namespaces with their platform defaults
# (NetworkPolicy, LimitRange, ResourceQuota), the sandbox-env ConfigMap and Secret and the apps,
# every object labelled with the environment; a second environment from the same blueprint gets
# its own namespaces and leaves the first's alone; a second `up` changes nothing; an object taken
# out of the blueprint is pruned; a manifest naming a namespace that is not the environment's is
# refused; `sandbox apply ENV` and `sandbox kubeconfig ENV`; `down` deletes everything it made,
# waits until the cluster has finished, and lists it in the receipt; gc of orphans and foreign
# objects; a Helm chart app through `helm template` (a stand-in: Debian packages no helm).
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/k8s.sh"
k8s_require
on_exit "k8s_stop '$T/k8s'"
k8s_start "$T/k8s" >/dev/null || { echo "the test API server did not start" >&2; exit 1; }
KUBECTL="$K8S_BIN/kubectl --kubeconfig $K8S_KUBECONFIG"
A=cla$$
B=clb$$
on_exit "$SANDBOX down $A; $SANDBOX down $B"

D="$T/bp"
mkdir -p "$D/app"
cp "$K8S_KUBECONFIG" "$D/kubeconfig"
cat > "$D/attached.yaml" <<'EOF'
apiVersion: sandbox/v1
name: attached
cluster:
  kubeconfig: kubeconfig
  namespaces:
    - name: web
      quota: { cpu: "2", memory: 4Gi, pods: 20 }
      limits: { cpu: 500m, memory: 512Mi }
    - name: api
apps:
  - name: hello
    manifests: app
    namespace: web
EOF
cat > "$D/app/10-config.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: { name: hello }
data: { greeting: hello }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: runner, namespace: api }
EOF
cat > "$D/app/20-secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata: { name: token, namespace: api }
data: { value: bm90LXByaW50ZWQtNGQxZg== }  # not-printed-4d1f
EOF

# labels KIND NS NAME: the object's sandbox.dev labels, one per line, sorted
labels() {
    $KUBECTL get "$1" -n "$2" "$3" -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' 2>&1 |
        grep '^sandbox.dev/' | sort
}
# rv KIND NS NAME: the object's resourceVersion
rv() { $KUBECTL get "$1" -n "$2" "$3" -o go-template='{{.metadata.resourceVersion}}' 2>&1; }

# plan: a server-side dry run; nothing is created
expect_rc 0 "$SANDBOX" plan "$D/attached.yaml" --name "$A"
expect_out "^\\+ Namespace $A-web$"
expect_out "^\\+ ConfigMap $A-web/hello$"
expect_out "^\\+ Secret $A-api/token$"
expect_out "Cluster \\(server-side dry run\\): 16 to create, 0 to change, 0 to prune, 0 unchanged, 0 would fail"
expect_no_out "not-printed-4d1f|bm90LXByaW50ZWQtNGQxZg"
expect_rc 1 $KUBECTL get namespace "$A-web"
expect_rc 0 "$SANDBOX" plan "$D/attached.yaml" --name "$A" --no-refresh
expect_out "^Cluster: not checked \\(--no-refresh\\)"

# up: no machines, so no libvirt; everything applied and labelled
expect_rc 0 "$SANDBOX" up "$D/attached.yaml" --name "$A"
expect_out "environment $A is ready"
expect_no_out "not-printed-4d1f|bm90LXByaW50ZWQtNGQxZg"
for ns in "$A-web" "$A-api"; do
    expect_rc 0 $KUBECTL get namespace "$ns"
    expect_rc 0 $KUBECTL get networkpolicy -n "$ns" default-deny
    expect_rc 0 $KUBECTL get limitrange -n "$ns" sandbox-defaults
    expect_rc 0 $KUBECTL get configmap -n "$ns" sandbox-env
    expect_rc 0 $KUBECTL get secret -n "$ns" sandbox-env
done
expect_rc 0 $KUBECTL get resourcequota -n "$A-web" sandbox-quota
expect_out "sandbox-quota"
expect_rc 1 $KUBECTL get resourcequota -n "$A-api" sandbox-quota
expect_rc 0 $KUBECTL get resourcequota -n "$A-web" sandbox-quota -o go-template='{{index .spec.hard "limits.memory"}} {{.spec.hard.pods}}'
expect_out "^4Gi 20$"
expect_rc 0 $KUBECTL get limitrange -n "$A-web" sandbox-defaults -o go-template='{{range .spec.limits}}{{.default.cpu}} {{.default.memory}}{{end}}'
expect_out "^500m 512Mi$"
# the app: a namespace-less object in the app's team namespace, a team name mapped to its namespace
expect_rc 0 $KUBECTL get configmap -n "$A-web" hello -o go-template='{{.data.greeting}}'
expect_out "^hello$"
expect_rc 0 $KUBECTL get serviceaccount -n "$A-api" runner
expect_rc 0 $KUBECTL get secret -n "$A-api" token -o go-template='{{.data.value}}'
expect_out "^$(printf not-printed-4d1f | base64)$"
ID=$(sqlite3 "$SANDBOX_STATE" "select id from env where name='$A'" 2>/dev/null)
[ -n "$ID" ] && pass || fail "no id recorded for $A"
L=$(labels configmap "$A-web" hello)
STATE_ID=$(sqlite3 "$SANDBOX_STATE" "select value from meta where key='state_id'" 2>/dev/null)
for want in "sandbox.dev/env=$A" "sandbox.dev/env-id=$ID" "sandbox.dev/state=$STATE_ID"; do
    printf '%s\n' "$L" | grep -qx "$want" && pass || fail "hello's labels lack $want: $L"
done
L=$(labels namespace "" "$A-web")
case "$L" in *"sandbox.dev/env-id=$ID"*) pass ;; *) fail "namespace labels: $L" ;; esac
# outputs and the kubeconfig command
expect_rc 0 "$SANDBOX" outputs "$A" --format env
expect_out "^KUBECONFIG=$D/kubeconfig$"
expect_out "^K8S_NAMESPACE_WEB=$A-web$"
expect_out "^K8S_NAMESPACE_API=$A-api$"
expect_rc 0 "$SANDBOX" kubeconfig "$A"
expect_out "^$D/kubeconfig$"
expect_rc 0 "$SANDBOX" kubeconfig "$A" --json
expect_out "\"$A-web\""
expect_rc 0 "$SANDBOX" status "$A"
expect_out "k8s +ConfigMap $A-web/hello +created"

# a second environment from the same blueprint: its own namespaces, the first's untouched
R1=$(rv configmap "$A-web" hello)
expect_rc 0 "$SANDBOX" up "$D/attached.yaml" --name "$B"
expect_rc 0 $KUBECTL get configmap -n "$B-web" hello
[ "$(rv configmap "$A-web" hello)" = "$R1" ] && pass || fail "$B's up changed $A's ConfigMap"
L=$(labels configmap "$B-web" hello)
case "$L" in *"sandbox.dev/env=$B"*) pass ;; *) fail "$B's labels: $L" ;; esac

# a second up changes nothing on the cluster
RNS=$(rv namespace "" "$A-web")
expect_rc 0 "$SANDBOX" up "$D/attached.yaml" --name "$A"
expect_no_out ": (created|configured)"
[ "$(rv configmap "$A-web" hello)" = "$R1" ] && pass || fail "a no-op up changed the ConfigMap"
[ "$(rv namespace "" "$A-web")" = "$RNS" ] && pass || fail "a no-op up changed the namespace"

expect_rc 0 "$SANDBOX" plan "$D/attached.yaml" --name "$A" --json
expect_out '"cluster_checked": true'
expect_no_out '"action": "(create|change|prune)"'

# prune: the Secret leaves the blueprint's app, so it leaves the cluster and the state; plan says so
# first, and shows what a changed object would become
rm "$D/app/20-secret.yaml"
sed -i 's/greeting: hello/greeting: bonjour/' "$D/app/10-config.yaml"
expect_rc 0 "$SANDBOX" plan "$D/attached.yaml" --name "$A"
expect_out "^- Secret $A-api/token \\(no longer declared\\)$"
expect_out "^~ ConfigMap $A-web/hello$"
expect_out "^    ~ .data.greeting: \"?hello\"? → \"?bonjour\"?$"
expect_out "0 to create, 1 to change, 1 to prune, 14 unchanged"
expect_rc 0 $KUBECTL get secret -n "$A-api" token
expect_rc 0 "$SANDBOX" up "$D/attached.yaml" --name "$A"
expect_out "Secret $A-api/token: no longer declared"
expect_rc 1 $KUBECTL get secret -n "$A-api" token
expect_rc 0 $KUBECTL get secret -n "$B-api" token
expect_rc 0 $KUBECTL get configmap -n "$A-web" hello -o go-template='{{.data.greeting}}'
expect_out "^bonjour$"
expect_rc 0 "$SANDBOX" status "$A"
expect_no_out "token"

# an attached cluster is shared: a namespace that is not the environment's is refused (file:line)
cat > "$D/app/30-bad.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: { name: sneaky, namespace: kube-system }
EOF
expect_rc 2 "$SANDBOX" up "$D/attached.yaml" --name "$A"
expect_out "30-bad.yaml:[0-9]+.*ConfigMap sneaky names namespace kube-system, which is not one of this environment's"
expect_rc 1 $KUBECTL get configmap -n kube-system sneaky
rm "$D/app/30-bad.yaml"
cat > "$D/app/30-bad.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: { name: somebody-elses }
EOF
expect_rc 2 "$SANDBOX" up "$D/attached.yaml" --name "$A"
expect_out "cluster-scoped Namespace somebody-elses: on a shared cluster its name must start with the environment's name"
expect_rc 1 $KUBECTL get namespace somebody-elses
rm "$D/app/30-bad.yaml"

# sandbox apply ENV: the environment's labels and namespaces (a team name), dry run first
cat > "$T/extra.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: { name: extra, namespace: api }
data: { k: v }
EOF
expect_rc 0 "$SANDBOX" apply "$A" -f "$T/extra.yaml" --dry-run=server
expect_out "ConfigMap $A-api/extra: created \\(dry run\\)"
expect_rc 1 $KUBECTL get configmap -n "$A-api" extra
expect_rc 0 "$SANDBOX" apply "$A" -f "$T/extra.yaml"
expect_out "ConfigMap $A-api/extra: created"
L=$(labels configmap "$A-api" extra)
case "$L" in *"sandbox.dev/env-id=$ID"*) pass ;; *) fail "extra's labels: $L" ;; esac
expect_rc 2 "$SANDBOX" apply "$A" -f "$T/extra.yaml" -n nope
expect_out "nope is not a namespace of $A"
expect_rc 2 "$SANDBOX" apply -f "$T/extra.yaml"
expect_out "give an environment name or --kubeconfig"
expect_rc 1 "$SANDBOX" apply nosuchenv -f "$T/extra.yaml"
expect_out "no environment named"

# down: everything of A goes (namespaces finished by the cluster), B stays
expect_rc 0 "$SANDBOX" down "$A"
expect_out "removed +k8s Namespace $A-web$"
expect_out "removed +k8s ConfigMap $A-api/sandbox-env$"
expect_out "removed +k8s ConfigMap $A-api/extra$"
expect_out "re-query: nothing tagged with $A remains"
expect_rc 1 $KUBECTL get namespace "$A-web"
expect_rc 1 $KUBECTL get namespace "$A-api"
expect_rc 0 $KUBECTL get configmap -l "sandbox.dev/env-id=$ID" -A -o name
[ -z "$OUT" ] && pass || fail "objects of $A remain: $OUT"
expect_rc 0 $KUBECTL get configmap -n "$B-web" hello
expect_rc 1 "$SANDBOX" status "$A"

# gc: an object of B the state forgot is an orphan of ours (deleted); another state's are foreign
C=clc$$
S2="$T/state2/state.db"
on_exit "SANDBOX_STATE='$S2' $SANDBOX down $C"
expect_rc 0 env SANDBOX_STATE="$S2" "$SANDBOX" up "$D/attached.yaml" --name "$C"
sqlite3 "$SANDBOX_STATE" "DELETE FROM res WHERE env = '$B' AND type = 'k8s' AND name LIKE '%|hello'"
expect_rc 0 "$SANDBOX" gc
expect_out "^k8s +ConfigMap $B-web/hello +orphan +present env $B \\(kubeconfig $D/kubeconfig\\)"
expect_out "ConfigMap $C-web/hello +foreign +present env $C"
expect_rc 0 env SANDBOX_STATE="$S2" "$SANDBOX" gc --kubeconfig "$D/kubeconfig" --json
expect_out '"class": "foreign"'
expect_no_out "$C-web"
expect_rc 3 "$SANDBOX" gc --kubeconfig "$D/kubeconfig" --delete
expect_out "ConfigMap $B-web/hello +orphan +deleted"
expect_out "ConfigMap $C-web/hello +foreign +kept: not this state's"
expect_rc 1 $KUBECTL get configmap -n "$B-web" hello
expect_rc 0 $KUBECTL get configmap -n "$C-web" hello
expect_rc 0 "$SANDBOX" down "$B"
expect_rc 1 $KUBECTL get namespace "$B-web"
expect_rc 0 $KUBECTL get namespace "$C-web"
expect_rc 0 env SANDBOX_STATE="$S2" "$SANDBOX" down "$C"
expect_rc 1 $KUBECTL get namespace "$C-web"

# a Helm chart app: rendered by `helm template NAME CHART --namespace NS --values FILE` (Debian has
# no helm package: a stand-in on PATH records its arguments and prints what helm would), applied
# in the team's namespace with the environment's labels; without helm, up says to install it
H=clh$$
on_exit "$SANDBOX down $H"
mkdir -p "$D/charts/shop" "$T/bin"
printf 'apiVersion: v2\nname: shop\nversion: 0.1.0\n' > "$D/charts/shop/Chart.yaml"
printf 'replicas: 1\n' > "$D/charts/shop-values.yaml"
cat > "$D/charted.yaml" <<'EOF'
apiVersion: sandbox/v1
name: charted
cluster:
  kubeconfig: kubeconfig
  namespaces: [ { name: web } ]
apps:
  - { name: shop, chart: charts/shop, values: charts/shop-values.yaml, namespace: web }
EOF
cat > "$T/bin/helm" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/helm-args"
printf -- '---\n# Source: shop/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\ndata:\n  release: "%s"\n' "\$2" "\$2"
EOF
chmod +x "$T/bin/helm"
expect_rc 0 env PATH="$T/bin:$PATH" "$SANDBOX" up "$D/charted.yaml" --name "$H"
expect_out "environment $H is ready"
[ "$(sed -n 1,3p "$T/helm-args" | tr '\n' ' ')" = "template shop $(cd "$D" && pwd -P)/charts/shop " ] && pass ||
    fail "helm was called with: $(tr '\n' ' ' < "$T/helm-args")"
grep -qx -- "--namespace" "$T/helm-args" && grep -qx "$H-web" "$T/helm-args" && pass || fail "helm got no --namespace $H-web"
grep -qx -- "--values" "$T/helm-args" && grep -q "/charts/shop-values.yaml$" "$T/helm-args" && pass || fail "helm got no --values"
expect_rc 0 $KUBECTL get configmap -n "$H-web" shop-config -o go-template='{{.data.release}}'
expect_out "^shop$"
L=$(labels configmap "$H-web" shop-config)
case "$L" in *"sandbox.dev/env=$H"*) pass ;; *) fail "shop-config's labels: $L" ;; esac
rm "$T/bin/helm"
expect_rc 1 env PATH="$T/bin:/usr/bin:/bin" "$SANDBOX" up "$D/charted.yaml" --name "$H"
expect_out "apps\\[shop\\] is a Helm chart: install helm on this host"
expect_rc 0 "$SANDBOX" down "$H"
expect_rc 1 $KUBECTL get namespace "$H-web"
finish
