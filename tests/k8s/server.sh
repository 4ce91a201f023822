#!/bin/sh
# The test API server for programs that cannot source tests/lib/k8s.sh (C tests):
#   sh tests/k8s/server.sh start DIR     start etcd + sbx-test-apiserver; DIR/env, DIR/kubeconfig...
#                                        (tests/lib/k8s.sh); prints DIR/env; exit 77 + reason when
#                                        the server is not built, 1 when it did not come up
#   sh tests/k8s/server.sh stop DIR      stop both, remove DIR
#   sh tests/k8s/server.sh compact DIR   compact etcd to its current revision, print it
#   sh tests/k8s/server.sh missing       print why the server cannot run here (nothing: it can)
# The processes outlive this script; their pids are in DIR/*.pid.
set -u
SBX_TOP=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SBX_TOP/tests/lib/k8s.sh"
case ${1:-} in
start)
    [ $# -eq 2 ] || exit 2
    why=$(k8s_missing)
    [ -z "$why" ] || { echo "$why"; exit 77; }
    k8s_start "$2" || exit 1
    cat "$2/env" ;;
stop)
    [ $# -eq 2 ] || exit 2
    k8s_stop "$2" ;;
compact)
    [ $# -eq 2 ] || exit 2
    K8S_ETCD_URL=$(cat "$2/etcd-url") || exit 1
    k8s_compact ;;
missing)
    k8s_missing ;;
*)
    echo "usage: sh tests/k8s/server.sh start|stop|compact DIR | missing" >&2
    exit 2 ;;
esac
