# Helpers the benchmarks share; source after setting T (a scratch directory).
#   now             nanoseconds since the epoch
#   ms T0 T1        the milliseconds between two `now`s
#   secs CMD...     seconds (3 decimals) that CMD takes; its output dropped, its failure reported
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
secs() {
    _t0=$(date +%s%N)
    "$@" >/dev/null 2>"$T/err" || { echo "failed: $* ($(tail -n 3 "$T/err"))" >&2; }
    _t1=$(date +%s%N)
    awk -v d=$((_t1 - _t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}
