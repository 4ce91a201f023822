#!/bin/sh
# End to end, opt-in: examples/k3s.yaml for real (a k3s server and an agent on VMs), only when
# SANDBOX_K3S_BUNDLE names a directory with one k3s release's assets (k3s,
# k3s-airgap-images-amd64.tar.zst, sha256sum-amd64.txt); nothing can be downloaded here, so
# without it this test skips (77; tests/skip-allow.txt lists it for CI).
#   1. `up` installs k3s from the bundle, fetches the kubeconfig and waits for both nodes Ready.
#   2. `sandbox kubeconfig` prints it; outputs give KUBECONFIG (a 0600 file).
#   3. through the API (kubectl from the k3s binary on the server): both nodes Ready, the team
#      namespace with its NetworkPolicy, LimitRange and ResourceQuota, sandbox-env, the hello app.
#   4. hello answers on NodePort 30090 from this host; Traefik's NodePorts are the pinned ones.
#   5. a second `up` changes nothing in the cluster; `down` leaves nothing tagged in libvirt.
. "$SBX_TOP/tests/lib/harness.sh"
[ -n "${SANDBOX_K3S_BUNDLE:-}" ] || skip "set SANDBOX_K3S_BUNDLE to a k3s release bundle directory to run k3s on VMs"
[ -d "$SANDBOX_K3S_BUNDLE" ] || skip "SANDBOX_K3S_BUNDLE=$SANDBOX_K3S_BUNDLE is not a directory"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, image build)"
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
sh "$SBX_TOP/tests/image/build.sh" debian-12 >/dev/null || skip "cannot build the test image"
B=$(cd "$SANDBOX_K3S_BUNDLE" && pwd -P)
export SANDBOX_IMAGE_DIRS="$(dirname "$B")${SANDBOX_IMAGE_DIRS:+:$SANDBOX_IMAGE_DIRS}"

E=k3s$$
on_exit "$SANDBOX down $E"
# 1. up
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/k3s.yaml" --name $E --var k3s_bundle="$B" --json
[ "$rc" -eq 0 ] || { fail "up failed: the remaining checks need the environment"; finish; }
expect_out '"event":"k8s.nodes"'
expect_out '"event":"k8s.done"'
# 2. the kubeconfig
expect_rc 0 "$SANDBOX" kubeconfig $E
expect_out '^kind: Config|"kind": *"Config"'
expect_out 'server: https://[0-9.]+:6443'
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_out '^KUBECONFIG=/'
KC=$(printf '%s\n' "$OUT" | sed -n 's/^KUBECONFIG=//p')
[ "$(stat -c %a "$KC" 2>/dev/null)" = 600 ] && pass "kubeconfig file 0600" || fail "kubeconfig $KC is not 0600"
# 3. through the API, with the k3s binary's kubectl on the server
K="$SANDBOX ssh $E server -- sudo k3s kubectl"
expect_rc 0 $K get nodes --no-headers
expect_out "server +Ready"
expect_out "agent +Ready"
expect_rc 0 $K get namespace $E-demo
expect_rc 0 $K -n $E-demo get networkpolicy,limitrange,resourcequota,configmap/sandbox-env,secret/sandbox-env --no-headers
expect_out "networkpolicy"
expect_out "limitrange"
expect_out "resourcequota"
expect_rc 0 $K -n $E-demo rollout status deployment/hello --timeout=600s
expect_rc 0 $K -n kube-system get service traefik -o 'jsonpath={.spec.type} {.spec.ports[*].nodePort}'
expect_out "NodePort 30080 30443|NodePort 30443 30080"
# 4. hello from this host, on the agent's address
expect_rc 0 "$SANDBOX" outputs $E --format env
AGENT=$(printf '%s\n' "$OUT" | sed -n 's/^SANDBOX_NODE_AGENT_0_IP=//p')
expect_rc 0 curl -sS --max-time 20 --retry 30 --retry-all-errors --retry-delay 2 "http://$AGENT:30090/"
expect_out "hello from k3s"
# 5. a second up changes nothing in the cluster; down cleans up
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/k3s.yaml" --name $E --var k3s_bundle="$B" --json
expect_out '"event":"k8s.apply".*: unchanged"'
expect_no_out '"event":"k8s.apply"[^}]*: (created|configured)"'
expect_rc 0 "$SANDBOX" down $E
expect_rc 0 $V list --all --name
expect_no_out "$E"
finish
