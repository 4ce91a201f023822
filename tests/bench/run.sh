#!/bin/sh
# Run every benchmark under tests/bench (they print figures and assert nothing).
#   sh tests/bench/run.sh [NAME...]     e.g. plan500 up
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export SBX_TOP="$top"
export SBX_BIN_PLAIN="${SBX_BIN_PLAIN:-$top/${BUILD:-build}}"
for b in "$top"/tests/bench/*.sh; do
    n=$(basename "$b" .sh)
    case $n in run | lib) continue ;; esac
    if [ $# -gt 0 ]; then
        case " $* " in *" $n "*) ;; *) continue ;; esac
    fi
    echo "== $n"
    sh "$b" || echo "bench $n exited $?"
done
