#!/bin/sh
# `sandbox apply` against a real Kubernetes API server: the test API server that tests/lib/k8s.sh
# starts (a generic apiserver over etcd built from Debian's Kubernetes libraries, HTTPS with a
# client certificate; k8s_start exports K8S_KUBECONFIG and K8S_URL, k8s_compact compacts etcd). Checks: apply creates,
# re-apply is unchanged, a second field manager's conflicting apply is refused (exit 3, the field
# and the manager named) and --force-conflicts takes it over, --dry-run=server changes nothing and
# shows the diff, a CRD and its object in one file (order + Established wait), bad manifests exit 2
# with FILE:LINE; then the watch waits of the C API (test_k8s_wait: a condition through a watch,
# a resourceVersion compacted away → 410 → relist, objects gone).
# Skips (77) when the harness or its server binary is not there. SBX_K8S_HARNESS overrides where
# the harness is read from (while the server lives on another branch).
. "${SBX_TOP:?}/tests/lib/harness.sh"
harness=${SBX_K8S_HARNESS:-$SBX_TOP/tests/lib/k8s.sh}
[ -f "$harness" ] || skip "no test API server: $harness is not in this tree"
. "$harness"
k8s_require
on_exit k8s_stop
k8s_start "$T/k8s" || { echo "FAIL: the test API server did not start" >&2; exit 1; }
KC=$K8S_KUBECONFIG
A="$SANDBOX apply --kubeconfig $KC"
ns=sbx-itest-$$

# The Secret gives data, not stringData: the apiserver never stores stringData, so each apply of it
# re-records its ownership and writes whenever the clock's second changed ("configured" at random).
cat >"$T/app.yaml" <<Y
apiVersion: v1
kind: Namespace
metadata: {name: $ns, labels: {team: itest}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: $ns}
data: {mode: "1", port: "8080"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: $ns}
data: {password: aHVudGVyMg==}
Y

# apply creates; the namespace goes first
expect_rc 0 $A -f "$T/app.yaml"
expect_out "^Namespace $ns: created"
expect_out "^ConfigMap $ns/app: created"
expect_out "3 object\\(s\\): 3 created"
# re-apply: nothing changes
expect_rc 0 $A -f "$T/app.yaml"
expect_out "3 unchanged"
expect_rc 0 $A -f "$T/app.yaml" --json
expect_out '"event":"apply".*"result":"unchanged"'
expect_out '"event":"summary"'
# an object that owns no field of its own (a bare namespace): the apiserver keeps no managedFields
# entry for the empty apply, so the next apply records "before-first-apply" (a write: configured),
# and only then is it unchanged. This is the apiserver's behaviour, reported as it is.
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s-bare}\n' "$ns" >"$T/bare.yaml"
expect_rc 0 $A -f "$T/bare.yaml"
expect_out "^Namespace $ns-bare: created"
expect_rc 0 $A -f "$T/bare.yaml"
expect_out "^Namespace $ns-bare: configured"
expect_rc 0 $A -f "$T/bare.yaml"
expect_out "^Namespace $ns-bare: unchanged"

# another field manager wants a different value: 409 → exit 3 with the field and the manager
sed 's/mode: "1"/mode: "2"/' "$T/app.yaml" >"$T/other.yaml"
expect_rc 3 $A -f "$T/other.yaml" --field-manager other
expect_out "ConfigMap $ns/app: conflict"
expect_out '\.data\.mode.*"?sandbox"?'
expect_out "force-conflicts"
# a dry run of the same with --force-conflicts: the diff, and nothing changes
expect_rc 0 $A -f "$T/other.yaml" --field-manager other --force-conflicts --dry-run=server
expect_out "ConfigMap $ns/app: configured \\(dry run\\)"
expect_out '~ \.data\.mode: "1" → "2"'
expect_no_out "hunter2"
expect_no_out "aHVudGVyMg"
expect_rc 3 $A -f "$T/other.yaml" --field-manager other
# --force-conflicts takes the field over
expect_rc 0 $A -f "$T/other.yaml" --field-manager other --force-conflicts
expect_out "ConfigMap $ns/app: configured"
# now sandbox's own apply conflicts in turn
expect_rc 3 $A -f "$T/app.yaml"
expect_out '\.data\.mode.*other'

# a CRD and its objects in one file, the objects first: ordered, and waited for
cat >"$T/crd.yaml" <<Y
apiVersion: test.sandbox.dev/v1
kind: Gadget
metadata: {name: g1, namespace: $ns}
spec: {size: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.test.sandbox.dev}
spec:
  group: test.sandbox.dev
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets, singular: gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
Y
expect_rc 0 $A -f "$T/crd.yaml"
expect_out "^CustomResourceDefinition gadgets.test.sandbox.dev: created"
expect_out "^Gadget $ns/g1: created"
expect_rc 0 $A -f "$T/crd.yaml"
expect_out "2 unchanged"

# bad manifests: exit 2 with FILE:LINE, nothing sent
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' >"$T/bad.yaml"
expect_rc 2 $A -f "$T/bad.yaml"
expect_out "bad.yaml:5:[0-9]*:? ConfigMap: no metadata.name"
# a kubeconfig with an exec plugin is refused
printf 'current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "%s"}}]\nusers: [{name: u, user: {exec: {command: sh}}}]\n' "$K8S_URL" >"$T/exec.kc"
expect_rc 2 "$SANDBOX" apply --kubeconfig "$T/exec.kc" -f "$T/app.yaml"
expect_out "exec plugin would run a command"

# the watch waits of the C API (K8S_COMPACT when the harness can compact etcd)
if type k8s_compact >/dev/null 2>&1; then export K8S_COMPACT=". '$harness'; k8s_compact"; fi
expect_rc 0 env K8S_NAMESPACE="$ns" "$SBX_BIN/tests/integration/test_k8s_wait"
finish
