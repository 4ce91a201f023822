#!/bin/sh
# The release binary links none of libvirt, libssh2, libcurl, libfreeipmi, libmicrohttpd and libpq: it loads
# each when a command first uses it (provisioner/util/dynlib.h), so a command that needs none starts
# without mapping them. Checked on the release build (the other tests run the ASan build, which links
# them all):
#   - ldd lists none of them, nor libcrypto; version, validate, list and status load none of them
#     (LD_DEBUG=files), version and validate -q not libcrypto either;
#   - up and down of a blank-disk VM on real libvirt work through the loaded libvirt;
#   - the daemon serves HTTP through the loaded libmicrohttpd (MHD_start_daemon's option list passed on);
#   - a library that cannot be loaded (bind-mounted over by an empty file in a private mount
#     namespace) stops `up` before it touches anything, naming the library and the package.
. "$SBX_TOP/tests/lib/harness.sh"
REL=$(cd "$SBX_BIN/.." && pwd)/sandbox
[ -x "$REL" ] || skip "no release binary at $REL (make builds it)"
use_real_libvirt
command -v curl >/dev/null || skip "curl is not installed"
command -v unshare >/dev/null || skip "unshare is not installed"
E=dl$$
on_exit "$REL down $E"
on_exit '[ -s "$T/d.pid" ] && kill -KILL "$(cat "$T/d.pid")"'
LAZY='libvirt\.so|libssh2\.so|libcurl\.so|libfreeipmi\.so|libmicrohttpd\.so|libpq\.so'

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: dl
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: net } ]
nodes: [ { name: web, memory: 64Mi, networks: [net] } ]
YAML

# the libraries a command maps, one "file=NAME" line each
loaded() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -Eo 'file=[^ ]+' | sort -u; }

# 1. not linked, not loaded by the commands that need none of them
OUT=$(ldd "$REL" 2>&1)
expect_out 'libc\.so'
expect_no_out "$LAZY|libcrypto\\.so"
OUT=$(loaded "$REL" version)
expect_out 'libc\.so'
expect_no_out "$LAZY"
for cmd in "validate $T/bp.yaml" "list" "list --json" "status $E"; do
    OUT=$(loaded "$REL" $cmd)
    expect_out 'libyaml|libsqlite3|libc\.so'
    expect_no_out "$LAZY"
done
expect_rc 0 "$REL" validate "$T/bp.yaml"
# nor libcrypto, for the two that need no hash, key or secret
for cmd in "version" "validate -q $T/bp.yaml"; do
    OUT=$(loaded "$REL" $cmd)
    expect_no_out 'libcrypto\.so'
done

# 2. up and down through the loaded libvirt (up loads what it needs before it starts)
OUT=$(loaded "$REL" up "$T/bp.yaml" --name "$E" --no-wait --ttl 1h)
expect_out 'file=libvirt\.so'
expect_rc 0 "$REL" status "$E"
expect_out 'web'
[ "$(leftovers "$E")" -ge 2 ] && pass || fail "up created no libvirt objects for $E"
expect_rc 0 "$REL" down "$E"
[ "$(leftovers "$E")" -eq 0 ] && pass || fail "down left objects of $E"

# 3. the daemon's HTTP through the loaded libmicrohttpd
"$REL" daemon --listen 127.0.0.1:0 --interval 1h > "$T/d.out" 2> "$T/d.err" &
echo $! > "$T/d.pid"
deadline=$(($(date +%s) + 60))
until grep -q '^listening on ' "$T/d.out" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
URL=$(sed -n '1s/^listening on //p' "$T/d.out")
if [ -n "$URL" ]; then
    pass
    expect_rc 0 curl -sS --max-time 20 "$URL/metrics"
    expect_out '^sandbox_'
    expect_rc 0 curl -sS --max-time 20 -o /dev/null -w '%{http_code}' "$URL/nope"
    expect_out '^404$'
else
    fail "daemon not listening"; tail -5 "$T/d.err" >&2
fi
kill -TERM "$(cat "$T/d.pid")"
wait "$(cat "$T/d.pid")" && pass || fail "daemon did not exit 0 on SIGTERM"
: > "$T/d.pid"

# 4. libvirt that cannot be loaded: up stops first, naming it, and creates nothing
LIB=$(ldconfig -p | awk '/libvirt\.so\.0 .*x86-64|libvirt\.so\.0 \(libc6,AArch64/ {print $NF; exit}')
[ -n "$LIB" ] || LIB=$(ldconfig -p | awk '/libvirt\.so\.0 / {print $NF; exit}')
expect_rc 1 unshare -m sh -c "mount --bind /dev/null '$LIB' && exec '$REL' up '$T/bp.yaml' --name '$E' --no-wait --ttl 1h"
expect_out "cannot load libvirt\\.so\\.0"
expect_out "install Debian's libvirt0"
expect_rc 0 "$REL" list --json
expect_no_out "\"$E\""
[ "$(leftovers "$E")" -eq 0 ] && pass || fail "a failed load left objects of $E"
finish
