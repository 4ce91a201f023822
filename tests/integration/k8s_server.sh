#!/bin/sh
# The test Kubernetes API server (tests/k8s, build/k8s/sbx-test-apiserver) is the real thing:
# checked with curl alone, as the C client will talk to it. Skips (77) when it is not built.
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/k8s.sh"
k8s_require
on_exit "k8s_stop $T/k8s"
# Secrets bypass the watch cache, so that lists and watches from compacted versions reach etcd
# (410); configmaps go through it, as on a real server (bookmarks).
K8S_APISERVER_ARGS="--watch-cache-sizes=secrets#0" k8s_start "$T/k8s" || { fail "k8s_start"; finish; }
APPLY='Content-Type: application/apply-patch+yaml'
AGG='Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
NS="$K8S_URL/api/v1/namespaces"

# json FILE PYTHON-EXPR: evaluate EXPR on the JSON document in FILE (bound to d).
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# req [CURL ARGS...] URL: the response body in $T/body, the status code in $CODE.
req() { CODE=$(k8s_curl -o "$T/body" -w '%{http_code}' "$@"); }
# expect_code WANT WHAT: the last req answered WANT.
expect_code() {
    if [ "$CODE" = "$1" ]; then pass; else fail "$2: HTTP $CODE, want $1"; head -c 600 "$T/body" >&2; fi
}
# expect_json PYTHON-EXPR WHAT: EXPR is true of the last req's body.
expect_json() {
    if [ "$(json "$T/body" "$1" 2>&1)" = True ]; then pass; else fail "$2: not ($1)"; head -c 600 "$T/body" >&2; fi
}

# --- authentication and authorization
CODE=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$K8S_CA" "$K8S_URL/api")
[ "$CODE" = 401 ] && pass || fail "no client certificate: HTTP $CODE, want 401"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$K8S_CA" --cert "$K8S_DIR/nobody.crt" \
    --key "$K8S_DIR/nobody.key" "$NS")
[ "$CODE" = 403 ] && pass || fail "user outside system:masters: HTTP $CODE, want 403"

# --- discovery, both forms
req "$K8S_URL/version"; expect_code 200 version
expect_json 'd["major"] == "1" and d["gitVersion"].startswith("v1.")' "version"
req "$K8S_URL/api"; expect_code 200 "legacy /api"; expect_json '"v1" in d["versions"]' "legacy /api"
req "$K8S_URL/apis"; expect_code 200 "legacy /apis"
expect_json '{"networking.k8s.io", "apiextensions.k8s.io"} <= {g["name"] for g in d["groups"]}' "legacy /apis"
req "$K8S_URL/api/v1"; expect_code 200 "/api/v1"
expect_json '{"namespaces", "configmaps", "secrets", "serviceaccounts", "resourcequotas", "limitranges", "namespaces/finalize"} <= {r["name"] for r in d["resources"]}' "/api/v1 resources"
req -H "$AGG" "$K8S_URL/api"; expect_code 200 "aggregated /api"
expect_json 'd["apiVersion"] == "apidiscovery.k8s.io/v2" and "configmaps" in [r["resource"] for r in d["items"][0]["versions"][0]["resources"]]' "aggregated /api"
req -H "$AGG" "$K8S_URL/apis"; expect_code 200 "aggregated /apis"
expect_json '[r["scope"] for g in d["items"] if g["metadata"]["name"] == "networking.k8s.io" for r in g["versions"][0]["resources"] if r["resource"] == "networkpolicies"] == ["Namespaced"]' "aggregated /apis"

# --- server-side apply, conflicts, force, managedFields
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\ndata: {a: "1", b: "2"}\n' >"$T/cm1"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\ndata: {a: "X"}\n' >"$T/cm2"
CM="$NS/default/configmaps/app"
req -X PATCH -H "$APPLY" --data-binary @"$T/cm1" "$CM?fieldManager=sandbox"; expect_code 201 "apply create"
rv=$(json "$T/body" 'd["metadata"]["resourceVersion"]')
req -X PATCH -H "$APPLY" --data-binary @"$T/cm2" "$CM?fieldManager=other"; expect_code 409 "conflicting apply"
expect_json 'd["reason"] == "Conflict" and any(c["field"] == ".data.a" and "sandbox" in c["message"] for c in d["details"]["causes"])' "409 names .data.a and its manager"
# A watch from the creation's resourceVersion sees the forced change; while events flow, the watch
# cache also sends bookmarks (2 s before the watch's timeout; a quiet watch may get none).
k8s_curl -N "$NS/default/configmaps?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=5" \
    >"$T/watch" 2>&1 &
watcher=$!
sleep 1
req -X PATCH -H "$APPLY" --data-binary @"$T/cm2" "$CM?fieldManager=other&force=true"; expect_code 200 "forced apply"
expect_json 'd["data"] == {"a": "X", "b": "2"}' "forced apply took .data.a"
expect_json 'sorted((m["manager"], m["operation"]) for m in d["metadata"]["managedFields"]) == [("other", "Apply"), ("sandbox", "Apply")]' "managedFields lists both managers"
expect_json '[m for m in d["metadata"]["managedFields"] if m["manager"] == "other"][0]["fieldsV1"] == {"f:data": {"f:a": {}}}' "other owns .data.a"
req -X PATCH -H "$APPLY" --data-binary @"$T/cm1" "$CM?fieldManager=sandbox&dryRun=All"; expect_code 409 "dry-run apply conflicts too"
wait $watcher
grep -q '"type":"MODIFIED".*"name":"app".*"a":"X"' "$T/watch" && pass || { fail "watch from $rv missed the change"; cat "$T/watch" >&2; }
grep -q '"type":"BOOKMARK"' "$T/watch" && pass || { fail "no BOOKMARK event"; cat "$T/watch" >&2; }

# --- 410 Gone once etcd is compacted past a resourceVersion
SEC="$NS/default/secrets"
req -X PATCH -H "$APPLY" --data-binary 'apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: default}
stringData: {DATABASE_URL: "postgres://db/app"}' "$SEC/s1?fieldManager=sandbox"; expect_code 201 "secret apply"
expect_json 'd["type"] == "Opaque" and "DATABASE_URL" in d["data"] and "stringData" not in d' "secret defaults and stringData"
old=$(json "$T/body" 'd["metadata"]["resourceVersion"]')
for n in 2 3; do
    req -X POST -H 'Content-Type: application/json' --data "{\"metadata\":{\"name\":\"s$n\"}}" "$SEC"; expect_code 201 "secret s$n"
done
k8s_compact >/dev/null && pass || fail "etcdctl compact"
req "$SEC?resourceVersion=$old&resourceVersionMatch=Exact"; expect_code 410 "list at a compacted resourceVersion"
expect_json 'd["reason"] == "Expired"' "410 reason"
k8s_curl -N "$SEC?watch=1&resourceVersion=$old&timeoutSeconds=3" >"$T/watch410"
grep -q '"type":"ERROR".*"code":410' "$T/watch410" && pass || { fail "watch from a compacted version: no 410 ERROR"; cat "$T/watch410" >&2; }

# --- a CRD: established, discovered, its objects applied
req -X PATCH -H "$APPLY" --data-binary 'apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.sandbox.dev}
spec:
  group: example.sandbox.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}' \
    "$K8S_URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.sandbox.dev?fieldManager=sandbox"
expect_code 201 "CRD apply"
established() {
    req "$K8S_URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.sandbox.dev"
    [ "$(json "$T/body" '[c["status"] for c in d["status"].get("conditions", []) if c["type"] == "Established"] == ["True"]')" = True ]
}
k8s_wait 30 - established && pass || fail "CRD not Established within 30 s"
listed() { req "$K8S_URL/apis"; [ "$(json "$T/body" '"example.sandbox.dev" in [g["name"] for g in d["groups"]]')" = True ]; }
k8s_wait 10 - listed && pass || fail "CRD group not in legacy /apis"
req -H "$AGG" "$K8S_URL/apis"
expect_json '"example.sandbox.dev" in [g["metadata"]["name"] for g in d["items"]]' "CRD group in aggregated /apis"
W="$K8S_URL/apis/example.sandbox.dev/v1/namespaces/default/widgets/w1"
req -X PATCH -H "$APPLY" --data-binary 'apiVersion: example.sandbox.dev/v1
kind: Widget
metadata: {name: w1, namespace: default}
spec: {size: 3}' "$W?fieldManager=sandbox"; expect_code 201 "custom resource apply"
req -X PATCH -H "$APPLY" --data-binary 'apiVersion: example.sandbox.dev/v1
kind: Widget
metadata: {name: w1, namespace: default}
spec: {size: 4}' "$W?fieldManager=other"; expect_code 409 "custom resource conflict"

# --- namespaces: lifecycle admission, Terminating, finalized, gone
req -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"x"}}' "$NS/missing/configmaps"
expect_code 404 "object in a missing namespace"
req -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"team-a"}}' "$NS"; expect_code 201 "namespace"
expect_json 'd["spec"]["finalizers"] == ["kubernetes"] and d["status"]["phase"] == "Active" and d["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a"' "new namespace"
for r in configmaps secrets serviceaccounts limitranges resourcequotas; do
    req -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"x"},"spec":{}}' "$NS/team-a/$r"
    expect_code 201 "team-a/$r"
done
req -X POST -H 'Content-Type: application/json' --data '{"metadata":{"name":"deny"},"spec":{"podSelector":{}}}' \
    "$K8S_URL/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies"; expect_code 201 "networkpolicy"
expect_json 'd["spec"]["policyTypes"] == ["Ingress"]' "networkpolicy defaults"
req -X DELETE "$NS/team-a"; expect_code 200 "namespace delete"
expect_json 'd["status"]["phase"] == "Terminating" and "deletionTimestamp" in d["metadata"]' "namespace Terminating"
gone() { req "$NS/team-a"; [ "$CODE" = 404 ]; }
k8s_wait 30 - gone && pass || { fail "namespace still there after 30 s"; head -c 600 "$T/body" >&2; }
req "$NS/team-a/configmaps"; expect_json 'd["items"] == []' "namespace emptied"
req -X DELETE "$NS/default"; expect_code 403 "default namespace cannot be deleted"

k8s_stop "$T/k8s"
# the server and etcd are gone
[ ! -d "$T/k8s" ] && ! curl -s --max-time 2 -k "$K8S_URL/readyz" >/dev/null 2>&1 && pass || fail "k8s_stop left something running"
finish
