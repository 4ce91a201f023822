#!/bin/sh
# netns.sh — nodes as network namespaces, each with a real sshd, for integration tests.
#
#   sh tests/lib/netns.sh up DIR NODE...   one netns per NODE on a fresh bridge and /24
#   sh tests/lib/netns.sh down DIR         kill every process in those netns, delete them, rm DIR
#
# `up` creates DIR (mode 0755; PostgreSQL must traverse it), a bridge with .1 in a random free
# 10.x.y.0/24, and per NODE k: netns "sbx<id>-NODE" with eth0 = 10.x.y.(10+k) and lo up, a
# per-node root prefix DIR/NODE/root, an ed25519 host key DIR/NODE/hostkey(.pub), and sshd on
# eth0:22 that lets root in with the keys of DIR/authorized_keys only (generated with a PEM key
# DIR/id when the file is missing). It writes DIR/env (sourceable):
#   BRIDGE=.. SUBNET=10.x.y.0/24 GATEWAY=10.x.y.1 NODES="a b .."
#   NODE_<n>_NS=.. NODE_<n>_ADDR=.. NODE_<n>_ROOT=.. NODE_<n>_HOSTKEY="ssh-ed25519 AAAA.."
# (<n> = NODE with '-' as '_') and returns once every sshd accepts TCP connections.
# `down` is idempotent and also cleans up after a half-done `up`.
set -eu
cmd=$1 dir=$2
shift 2

die() { echo "netns.sh: $*" >&2; exit 1; }

down() {
	[ -f "$dir/ns.list" ] || { rm -rf "$dir"; return 0; }
	while IFS= read -r ns; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill $pids 2>/dev/null || true
	done <"$dir/ns.list"
	i=0
	while IFS= read -r ns; do
		while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $i -lt 100 ]; do
			sleep 0.05; i=$((i + 1))
		done
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done <"$dir/ns.list"
	[ -f "$dir/bridge" ] && ip link del "$(cat "$dir/bridge")" 2>/dev/null || true
	rm -rf "$dir"
}

pick_subnet() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		a=$(( $(od -An -N1 -tu1 /dev/urandom) % 100 + 100 ))
		b=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
		ip route show | grep -q "^10\.$a\.$b\." || { echo "10.$a.$b"; return 0; }
	done
	die "no free 10.x.y.0/24"
}

node_up() { # k name
	k=$1 name=$2 ns="sbx$id-$2" var=$(echo "$2" | tr -- - _)
	addr="$net.$((10 + k))" nd="$dir/$name"
	mkdir -p "$nd/root"
	chmod 755 "$nd" "$nd/root"
	echo "$ns" >>"$dir/ns.list"
	ip netns add "$ns"
	ip link add "sv$id$k" type veth peer name "sp$id$k"
	ip link set "sp$id$k" netns "$ns"
	ip link set "sv$id$k" master "$br" up
	ip -n "$ns" link set "sp$id$k" name eth0
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$nd/hostkey"
	# HOME=an empty dir: the host's ~/.bashrc (which bash runs for ssh commands: pyenv and the
	# like, slow and racing on its locks) stays out of the nodes' sessions, as on a clean VM.
	cat >"$nd/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $nd/hostkey
PidFile $nd/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 100
MaxStartups 100
LogLevel ERROR
SetEnv HOME=$dir/home
EOF
	ip netns exec "$ns" /usr/sbin/sshd -f "$nd/sshd_config" -E "$nd/sshd.log"
	hk=$(cut -d' ' -f1,2 "$nd/hostkey.pub")
	printf 'NODE_%s_NS=%s\nNODE_%s_ADDR=%s\nNODE_%s_ROOT=%s\nNODE_%s_HOSTKEY="%s"\n' \
		"$var" "$ns" "$var" "$addr" "$var" "$nd/root" "$var" "$hk" >>"$dir/env"
}

wait_sshd() { # addr
	i=0
	until timeout 1 bash -c "exec 3<>/dev/tcp/$1/22" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "sshd on $1 did not come up"
		sleep 0.05
	done
}

up() {
	[ "$(id -u)" -eq 0 ] || die "needs root"
	[ -x /usr/sbin/sshd ] || die "needs /usr/sbin/sshd"
	for n in "$@"; do
		case $n in *[!a-z0-9-]* | "" | -*) die "bad node name '$n' (expected [a-z0-9-])" ;; esac
	done
	mkdir -p "$dir/home" /run/sshd
	chmod 755 "$dir" "$dir/home"
	trap 'down' EXIT
	id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	net=$(pick_subnet)
	br="sbxb$id"
	echo "$br" >"$dir/bridge"
	: >"$dir/ns.list"
	ip link add "$br" type bridge
	ip addr add "$net.1/24" dev "$br"
	ip link set "$br" up
	if [ ! -f "$dir/authorized_keys" ]; then
		ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C netns -f "$dir/id"
		cp "$dir/id.pub" "$dir/authorized_keys"
	fi
	chmod 644 "$dir/authorized_keys" # sshd reads it as the logging-in user (non-root users too)
	printf 'BRIDGE=%s\nSUBNET=%s.0/24\nGATEWAY=%s.1\nNODES="%s"\n' "$br" "$net" "$net" "$*" >"$dir/env"
	k=0
	for n in "$@"; do
		node_up $k "$n"
		k=$((k + 1))
	done
	k=0
	for n in "$@"; do
		wait_sshd "$net.$((10 + k))"
		k=$((k + 1))
	done
	trap - EXIT
}

case $cmd in
up) up "$@" ;;
down) down ;;
*) die "usage: netns.sh up DIR NODE... | down DIR" ;;
esac
