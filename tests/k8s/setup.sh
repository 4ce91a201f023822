#!/bin/sh
# Build the test Kubernetes API server (build/k8s/sbx-test-apiserver) and install etcd, etcdctl and
# kubectl beside it, all from Debian packages: Go, the k8s.io/* Go libraries (Debian unstable only)
# and etcd are downloaded with apt-get into a private directory and unpacked there with dpkg-deb;
# the host's apt sources and installed packages are never touched. Idempotent: once built, nothing
# is fetched or compiled again until tests/k8s/ changes. Prints how long each step took.
#
#   sh tests/k8s/setup.sh            (make k8s-test-server)
#
# Environment: BUILD (default build), SBX_K8S_CACHE (downloads, unpacked packages, Go build cache;
# default /var/cache/sandbox/k8s-test, or $BUILD/k8s-cache when that is not writable),
# SBX_K8S_SUITE (default unstable), SBX_K8S_MIRROR (default http://deb.debian.org/debian).
# Exit 0: built (or up to date); 1: failed, with the step and its log.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
case $BUILD in /*) out="$BUILD/k8s" ;; *) out="$top/$BUILD/k8s" ;; esac
cache=${SBX_K8S_CACHE:-/var/cache/sandbox/k8s-test}
suite=${SBX_K8S_SUITE:-unstable}
mirror=${SBX_K8S_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$out"
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache="$out-cache"
    mkdir -p "$cache"
fi
log="$out/setup.log"
# One setup at a time per cache (several worktrees may share it).
exec 9>"$cache/.lock"
flock 9
# The roots whose dependency closure is fetched when go-packages.txt is not enough.
ROOTS="golang-k8s-apiserver-dev golang-k8s-apiextensions-apiserver-dev golang-k8s-api-dev
 golang-k8s-apimachinery-dev golang-k8s-client-go-dev golang-k8s-component-base-dev golang-k8s-kube-openapi-dev"
TOOLS="etcd-server etcd-client kube-openapi kubectl"

# The hash of what the build depends on in this tree.
stamp() {
    cat tests/k8s/setup.sh tests/k8s/go-packages.txt tests/k8s/apiserver/*.go | sha256sum | cut -c1-16
}

if [ -x "$out/sbx-test-apiserver" ] && [ -x "$out/etcd" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$(stamp)" ]; then
    echo "k8s-test-server: up to date ($out/sbx-test-apiserver; $(tr '\n' ' ' <"$out/VERSIONS" 2>/dev/null))"
    exit 0
fi
: >"$log"
t_all=$(date +%s)

# Run a step, timing it; its output goes to the log, and on failure the log's tail is shown.
step() {
    name=$1; shift
    t0=$(date +%s)
    echo "== $name" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        echo "k8s-test-server: step '$name' failed after $(( $(date +%s) - t0 ))s; last lines of $log:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    echo "k8s-test-server: $name: $(( $(date +%s) - t0 ))s"
}

apt_dir="$cache/apt"
APT="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=/dev/null
 -o Dir::State::Lists=$apt_dir/lists -o Dir::State::status=$apt_dir/status -o Dir::Cache=$apt_dir/cache
 -o Dir::Cache::Archives=$apt_dir/archives -o APT::Architecture=amd64 -o Debug::NoLocking=1
 -o APT::Sandbox::User=root -o Acquire::Retries=3"

# Refresh the private package lists of $suite (at most once every 6 hours).
apt_update() {
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$apt_dir/archives/partial"
    touch "$apt_dir/status"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$apt_dir/sources.list"
    if [ -n "$(find "$apt_dir/lists" -maxdepth 1 -name '*_Packages*' -mmin -360 2>/dev/null)" ]; then
        echo "lists are fresh"
        return 0
    fi
    # shellcheck disable=SC2086
    apt-get $APT update
}

# Print the Go toolchain package that golang-go depends on (golang-1.NN-go).
go_package() {
    # shellcheck disable=SC2086
    apt-cache $APT depends golang-go | sed -n 's/^ *Depends: \(golang-1\.[0-9]*-go\)$/\1/p' | head -n 1
}

# Print the golang-*-dev packages in the dependency closure of ROOTS.
closure() {
    # shellcheck disable=SC2086
    apt-cache $APT depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances $ROOTS | grep '^golang-.*-dev$' | sort -u
}

# Download the packages named on stdin that are not in the cache yet.
fetch() {
    mkdir -p "$cache/debs"
    cd "$cache/debs"
    missing=""
    while read -r p; do
        ls "${p}"_*.deb >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        apt-get $APT download $missing || return 1
    fi
    cd "$top"
}

# Unpack the packages named on stdin into $cache/root (unless exactly those files already are).
unpack() {
    while read -r p; do
        ls "$cache/debs/${p}"_*.deb || return 1
    done >"$cache/debs.new"
    if cmp -s "$cache/debs.new" "$cache/root/.debs"; then
        echo "already unpacked"
        return 0
    fi
    rm -rf "$cache/root"
    mkdir -p "$cache/root"
    while read -r d; do
        dpkg-deb -x "$d" "$cache/root" || return 1
    done <"$cache/debs.new"
    mv "$cache/debs.new" "$cache/root/.debs"
}

# The packages to fetch: the tools, the toolchain and the Go sources ($1: "full" for the closure).
package_list() {
    for t in $TOOLS; do echo "$t"; done
    gp=$(go_package)
    [ -n "$gp" ] || { echo "setup: golang-go in $suite names no golang-1.NN-go" >&2; return 1; }
    echo "$gp"
    echo "${gp%-go}-src"
    if [ "${1:-}" = full ]; then closure; else grep -v '^#' tests/k8s/go-packages.txt; fi
}

# The environment of the Go toolchain unpacked in $cache/root, building in GOPATH mode as Debian does.
go_env() {
    GOROOT=$(ls -d "$cache"/root/usr/lib/go-1.* | sort -V | tail -n 1)
    export GOROOT PATH="$GOROOT/bin:$PATH"
    export GOPATH="$out/gopath:$cache/root/usr/share/gocode" GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local
    export GOCACHE="$cache/gocache" GOFLAGS="" CGO_ENABLED=0
}

# Generate the OpenAPI definitions of core/v1 and networking/v1 with Debian's openapi-gen.
openapi() {
    src="$out/gopath/src/sbx-test-apiserver"
    rm -rf "$src"
    mkdir -p "$src/openapi"
    cp tests/k8s/apiserver/*.go "$src/" || return 1
    echo "// Generated by tests/k8s/setup.sh with openapi-gen; do not edit." >"$out/openapi-header.txt"
    cd "$src" || return 1
    "$cache/root/usr/bin/openapi-gen" --output-dir "$src/openapi" --output-pkg sbx-test-apiserver/openapi \
        --output-file zz_generated.openapi.go --go-header-file "$out/openapi-header.txt" \
        --report-filename "$out/openapi-violations.txt" \
        k8s.io/api/core/v1 k8s.io/api/networking/v1 k8s.io/apimachinery/pkg/apis/meta/v1 \
        k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version \
        k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/util/intstr || return 1
    cd "$top"
}

# The upstream version of an unpacked package (e.g. 0.36.4).
deb_version() {
    v=$(ls "$cache/debs/${1}"_*.deb | head -n 1)
    v=${v##*/"$1"_}; v=${v%%_*}; v=${v#*:}
    echo "${v%%-*}"
}

# Compile the server, its version set to the Kubernetes libraries' (k8s.io/apiserver 0.N.P = 1.N.P).
compile() {
    kv=$(deb_version golang-k8s-apiserver-dev)
    minor=$(echo "$kv" | cut -d. -f2)
    gitv="v1.${kv#0.}"
    v=k8s.io/component-base/version
    ldflags="-s -w -X $v.gitVersion=$gitv -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean
 -X $v.gitCommit=debian-golang-k8s-apiserver-dev-$kv -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cd "$out/gopath/src/sbx-test-apiserver" || return 1
    go build -p "${SBX_K8S_JOBS:-2}" -trimpath -ldflags "$ldflags" -o "$out/sbx-test-apiserver.new" . || return 1
    cd "$top"
    mv "$out/sbx-test-apiserver.new" "$out/sbx-test-apiserver"
}

# Copy etcd, etcdctl and kubectl beside the server and record the versions used.
install_tools() {
    for b in etcd etcdctl kubectl; do
        install -m 0755 "$cache/root/usr/bin/$b" "$out/$b" || return 1
    done
    {
        echo "go $(go env GOVERSION)"
        for p in golang-k8s-apiserver-dev golang-k8s-apiextensions-apiserver-dev golang-k8s-apimachinery-dev \
            golang-k8s-api-dev golang-k8s-client-go-dev etcd-server kubectl; do
            echo "$p $(deb_version "$p")"
        done
    } >"$out/VERSIONS"
}

build() { # full|""
    package_list "${1:-}" >"$out/packages.txt"
    step "fetch packages ($(wc -l <"$out/packages.txt"))" fetch <"$out/packages.txt"
    step "unpack packages" unpack <"$out/packages.txt"
    go_env
    step "openapi-gen" openapi
    step "go build" compile
}

step "apt-get update ($suite, private lists)" apt_update
if ! (build) ; then
    # A package list that fell behind unstable shows as a missing Go package: fetch the closure.
    grep -q "cannot find package\|could not import\|is not in std\|no required module" "$log" || exit 1
    echo "k8s-test-server: go-packages.txt is incomplete for $suite today; retrying with the full closure"
    build full
fi
go_env
step "install etcd, etcdctl, kubectl" install_tools
stamp >"$out/.stamp"
echo "k8s-test-server: built $out/sbx-test-apiserver in $(( $(date +%s) - t_all ))s ($(tr '\n' ' ' <"$out/VERSIONS"))"
