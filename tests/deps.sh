#!/bin/sh
# Install every build, test and runtime dependency of sandbox on Debian 12, then make sure the
# libvirt daemons run. Idempotent; needs root (or sudo). Called by `make deps`.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

PKGS="build-essential pkg-config clang libclang-rt-14-dev cppcheck
 libvirt-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libssh2-1-dev libsqlite3-dev libpq-dev libssl-dev
 libcmocka-dev libmicrohttpd-dev libgmime-3.0-dev libfreeipmi-dev
 libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils dnsmasq-base
 isc-dhcp-client ipxe ipxe-qemu busybox-static
 debootstrap cloud-image-utils e2fsprogs openssh-server openssh-client
 bird2 haproxy postgresql postgresql-contrib pgbouncer openipmi ipmitool iproute2
 wrk nginx-light swaks libnet-ssleay-perl libio-socket-ssl-perl hyperfine curl valgrind sqlite3 python3 procps psmisc
 genisoimage netcat-openbsd sudo openssl util-linux chromium"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
else
    echo "deps: all packages present"
fi

# Node.js for the tests with the providers' official SDKs (tests/mocks/sdk_*.sh): Debian's nodejs
# and npm, unless a node with its npm is installed already (NodeSource's nodejs bundles npm and
# conflicts with Debian's). Then the SDKs and clients at the versions tests/sdk/package-lock.json
# pins (twilio for tests/mocks/sdk_twilio.sh, stripe for tests/mocks/sdk_stripe.sh, mailpit-api for
# tests/mocks/mailpit_client.sh).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "deps: installing nodejs npm"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
echo "deps: npm ci in tests/sdk"
(cd "$(dirname "$0")/sdk" && npm ci --no-audit --no-fund --loglevel=error)

# Package post-install scripts start daemons we do not want holding ports or CPUs in tests.
for svc in haproxy bird pgbouncer; do
    pkill -x "$svc" 2>/dev/null || true
done

# No systemd as PID 1 on these machines: start the libvirt daemons by hand when they are not running.
$SUDO sh "$(dirname "$0")/libvirt-up.sh"
