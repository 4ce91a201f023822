#!/bin/sh
# The netns harness (tests/lib/netns.sh) itself: `up` gives reachable nodes with a working sshd,
# pinned host keys and sessions that do not run the host's dotfiles; `down` leaves no netns, veth,
# bridge, process or file behind; a failing `up` cleans up after itself.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
h="$top/tests/lib/netns.sh"
[ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] || { echo "skip: needs root and sshd" >&2; exit 77; }
dir=$(mktemp -d /tmp/sbx-netns-self-XXXXXX)
trap 'sh "$h" down "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sh "$h" up "$dir" n1 n-2 || fail "up"
. "$dir/env"
[ "$NODES" = "n1 n-2" ] || fail "NODES=$NODES"
for v in n1 n_2; do
    eval "ns=\$NODE_${v}_NS addr=\$NODE_${v}_ADDR root=\$NODE_${v}_ROOT hk=\$NODE_${v}_HOSTKEY"
    [ -d "$root" ] || fail "no root $root"
    echo "$addr $hk" >"$dir/known_hosts"
    out=$(ssh -q -o BatchMode=yes -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
        -i "$dir/id" "root@$addr" 'echo "HOME=$HOME"; ip -o -4 addr show dev eth0') || fail "ssh to $addr"
    case $out in *"$addr/24"*) ;; *) fail "eth0 of $v: $out" ;; esac
    # the host's ~/.bashrc stays out of the sessions (HOME is the harness's empty dir)
    case $out in "HOME=$dir/home"*) ;; *) fail "session HOME of $v: $out" ;; esac
done
ip netns exec "$NODE_n1_NS" bash -c "exec 3<>/dev/tcp/$NODE_n_2_ADDR/22" || fail "n1 cannot reach n-2"
ip netns exec "$NODE_n1_NS" sh -c 'sleep 300 </dev/null >/dev/null 2>&1 &' # a stray process in a node
sh "$h" down "$dir" || fail "down"
ip netns list | grep -q "$NODE_n1_NS" && fail "netns left"
ip link show "$BRIDGE" >/dev/null 2>&1 && fail "bridge left"
[ -e "$dir" ] && fail "dir left"
ip netns pids "$NODE_n1_NS" 2>/dev/null | grep -q . && fail "processes left"

# names are checked before anything is created
sh "$h" up "$dir" ok "bad name" 2>/dev/null && fail "up with a bad node name succeeded"
# a failing `up` (the second netns of the same name cannot be created) cleans up after itself
sh "$h" up "$dir" dup dup 2>/dev/null && fail "up with a duplicate node succeeded"
[ -e "$dir" ] && fail "failed up left $dir"
ip netns list | grep -q '^sbx[0-9a-f]*-dup' && fail "failed up left a netns"
echo "netns harness ok"
