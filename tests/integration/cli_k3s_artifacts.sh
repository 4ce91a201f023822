#!/bin/sh
# `up` of a blueprint that installs k3s resolves the cluster's artifacts before it touches
# anything: a missing bundle, a missing file or a wrong checksum stops it with a message saying
# what to supply and where to get it, and leaves no environment, lock or machine behind; a good
# bundle goes through; a url artifact is downloaded once into the image cache's artifacts/ (a
# file:// URL here) and reused. Needs no libvirtd: `up` runs against libvirt's in-process test
# driver (test:///default), which applies no roles.
. "$SBX_TOP/tests/lib/harness.sh"
E=k3s$$
B="$T/bp"
K="$B/k3s-bundle"
export SANDBOX_IMAGE_CACHE="$T/cache"
mkdir -p "$B" "$K"
on_exit "$SANDBOX down $E"
printf 'QFI\373' > "$B/blank.img"
PUT='put the assets of one k3s release \(https://github.com/k3s-io/k3s/releases\) there: k3s, k3s-airgap-images-amd64.tar.zst, sha256sum-amd64.txt'

# bp CLUSTER: a blueprint with one k3s server and one agent, and the given cluster section
bp() { printf 'apiVersion: sandbox/v1\nname: x\nsite: { uri: test:///default, image: { path: blank.img } }
networks: [ { name: f } ]
nodes:
  - { name: cp, memory: 64Mi, networks: [f], roles: [k3s-server] }
  - { name: w, memory: 64Mi, networks: [f], roles: [k3s-agent] }
cluster: %s\n' "$1" > "$B/x.yaml"; }
# refused RC PATTERN: up fails with RC and PATTERN and records nothing ($OUT stays up's output)
refused() {
    expect_rc "$1" "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
    expect_out "$2"
    expect_no_out 'bringing up'
    UP_OUT=$OUT
    expect_rc 1 "$SANDBOX" status $E
    OUT=$UP_OUT
}
no_lock() { [ -z "$(find "$T/state" -name "$E.lock" 2>/dev/null)" ] && pass || fail "up took a lock before checking the artifacts"; }

bp "{ bundle: nowhere }"
expect_rc 0 "$SANDBOX" validate "$B/x.yaml"
refused 2 "^sandbox: cluster.bundle $B/nowhere: no such directory: $PUT"

bp "{ bundle: k3s-bundle }"
refused 2 "^sandbox: cluster.bundle $K: no k3s: $PUT"
expect_out "^sandbox: cluster.bundle $K: no k3s-airgap-images-amd64.tar.zst \(or .tar, .tar.gz\): $PUT"
expect_out "^sandbox: cluster.bundle $K: no sha256sum-amd64.txt: $PUT"
expect_out "hint: nothing was changed: supply the k3s artifacts"

printf '#!/bin/sh\necho fake k3s\n' > "$K/k3s"
head -c 100000 /dev/urandom > "$K/k3s-airgap-images-amd64.tar.zst"
KSHA=$(sha256sum < "$K/k3s" | cut -c1-64)
ISHA=$(sha256sum < "$K/k3s-airgap-images-amd64.tar.zst" | cut -c1-64)
printf '%s  k3s\n%s  k3s-airgap-images-amd64.tar.zst\n' "$ISHA" "$ISHA" > "$K/sha256sum-amd64.txt"
refused 1 "^sandbox: cluster.bundle $K: k3s: sha256 mismatch: expected $ISHA, got $KSHA$"
expect_out "hint: a file of the bundle is damaged or from another release than its sha256sum-amd64.txt: download them again from https://github.com/k3s-io/k3s/releases"
no_lock

printf '%s  k3s\n%s  k3s-airgap-images-amd64.tar.zst\n' "$KSHA" "$ISHA" > "$K/sha256sum-amd64.txt"
expect_rc 0 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_out "checking the k3s artifacts"
expect_out "environment $E is ready"
expect_rc 0 "$SANDBOX" down $E
expect_out 'state: environment removed'

# artifacts by url (file://): downloaded once into the image cache's artifacts/, then reused
mkdir -p "$T/dl"
cp "$K/k3s" "$T/dl/k3s"
cp "$K/k3s-airgap-images-amd64.tar.zst" "$T/dl/images.tar.zst"
bp "{ k3s: { url: \"file://$T/dl/k3s\", sha256: $KSHA }, images: { url: \"file://$T/dl/images.tar.zst\", sha256: $ISHA } }"
expect_rc 0 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_out "k3s artifact: file://$T/dl/images.tar.zst 100%"
cmp -s "$T/cache/artifacts/$KSHA" "$K/k3s" && pass || fail "k3s not in the artifact cache"
cmp -s "$T/cache/artifacts/$ISHA" "$K/k3s-airgap-images-amd64.tar.zst" && pass || fail "images not in the artifact cache"
rm "$T/dl/k3s" "$T/dl/images.tar.zst"
expect_rc 0 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_no_out 'k3s artifact:'
expect_rc 0 "$SANDBOX" down $E

# a url whose content does not match its sha256 leaves nothing in the cache
printf 'other' > "$T/dl/k3s"
bp "{ k3s: { url: \"file://$T/dl/k3s\", sha256: $ISHA }, images: { url: \"file://$T/dl/images.tar.zst\", sha256: $ISHA } }"
rm "$T/cache/artifacts/$ISHA"
refused 1 "^sandbox: cluster.k3s.url: file://$T/dl/k3s: sha256 mismatch: expected $ISHA, got "
expect_out "^sandbox: cluster.images.url: cannot download file://$T/dl/images.tar.zst"
[ ! -e "$T/cache/artifacts/$ISHA" ] && pass || fail "a mismatching download stayed in the cache"

# examples/k3s.yaml takes its bundle through a variable and an image directory
expect_rc 2 "$SANDBOX" validate "$SBX_TOP/examples/k3s.yaml"
expect_out 'unknown variable "k3s_bundle"'
expect_rc 0 env SANDBOX_IMAGE_DIRS="$K" "$SANDBOX" validate "$SBX_TOP/examples/k3s.yaml" --var k3s_bundle="$K" --json
expect_out "\"bundle\": \"$K\""
finish
