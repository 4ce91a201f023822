#!/bin/sh
# Validate + plan of a 500-node blueprint (pure CPU: parse, merge, validate, plan against an
# empty state). Target: under 50 ms.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$top/tests/bench/lib.sh"
export SANDBOX_STATE="$T/state.db"
big_blueprint "$T/big.yaml"
"$bin" plan "$T/big.yaml" --name big >/dev/null || { echo "plan failed"; exit 1; }
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N -w 3 -r 20 --export-json "$T/h.json" "$bin validate -q $T/big.yaml" "$bin plan $T/big.yaml --name big" >/dev/null 2>&1
    python3 - "$T/h.json" "$T/" "$bin" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    c = r["command"].replace(sys.argv[3], "sandbox").replace(sys.argv[2], "")
    print("%-40s mean %6.1f ms  min %6.1f ms  max %6.1f ms" % (c[:40], r["mean"]*1e3, r["min"]*1e3, r["max"]*1e3))
PY
else
    for c in validate plan; do
        t0=$(date +%s%N); i=0
        while [ $i -lt 20 ]; do
            if [ $c = validate ]; then "$bin" validate -q "$T/big.yaml"; else "$bin" plan "$T/big.yaml" --name big >/dev/null; fi
            i=$((i + 1))
        done
        echo "$c 500 nodes: $(( ($(date +%s%N) - t0) / 20000000 )) ms mean over 20 runs"
    done
fi
