# Helpers the benchmarks share; source after setting T (a scratch directory).
#   now             nanoseconds since the epoch
#   ms T0 T1        the milliseconds between two `now`s
#   secs CMD...     seconds (3 decimals) that CMD takes; its output dropped, its failure reported
#   big_blueprint F a 500-node blueprint in F
now() { date +%s%N; }
# big_blueprint FILE: the 500-node blueprint of plan500 and state_scale (test driver, 4 networks).
big_blueprint() {
    {
        echo "apiVersion: sandbox/v1"; echo "name: big"
        echo "site: { uri: test:///default, image: { recipe: debian-12 } }"
        echo "networks:"; for n in 0 1 2 3; do echo "  - { name: net$n }"; done
        echo "nodes:"
        i=0; while [ $i -lt 500 ]; do echo "  - { name: node$i, memory: 512Mi, roles: [plain], networks: [net$((i % 4))] }"; i=$((i + 1)); done
    } > "$1"
}
ms() { echo $(( ($2 - $1) / 1000000 )); }
secs() {
    _t0=$(date +%s%N)
    "$@" >/dev/null 2>"$T/err" || { echo "failed: $* ($(tail -n 3 "$T/err"))" >&2; }
    _t1=$(date +%s%N)
    awk -v d=$((_t1 - _t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}
