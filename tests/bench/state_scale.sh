#!/bin/sh
# State at scale: `sandbox list` (text and --json) and `sandbox status ENV` with 10,000
# environments in a private state (seeded through the state API by tests/bench/state_seed.c:
# 10,000 environments x 9 resource rows), and validate + `plan --no-refresh` of a 500-node
# blueprint; anchors in the same run: `sqlite3 STATE 'select count(*) from env'` and
# `git --version`. Targets: each sandbox command under 50 ms. Needs the release objects
# (`make BUILD=...`) and hyperfine; prints figures, asserts nothing.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bdir=${SBX_BIN_PLAIN:-$top/build}
bin=$bdir/sandbox
N=${SBX_BENCH_ENVS:-10000}
command -v hyperfine >/dev/null 2>&1 || { echo "state_scale bench: hyperfine not installed, skipped"; exit 0; }
[ -x "$bin" ] && [ -d "$bdir/obj/provisioner/state" ] || { echo "state_scale bench: build $bdir first, skipped"; exit 0; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$top/tests/bench/lib.sh"
mkdir -m 700 "$T/st"
export SANDBOX_STATE="$T/st/state.db"

# The seeder, linked like the provisioner against the release objects of state, res and util.
# shellcheck disable=SC2046
${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -pthread $(find "$top/provisioner" -type d | sed 's/^/-I/') \
    -o "$T/state_seed" "$top/tests/bench/state_seed.c" \
    "$bdir"/obj/provisioner/state/*.o "$bdir"/obj/provisioner/res/*.o "$bdir"/obj/provisioner/util/*.o \
    $(pkg-config --libs sqlite3 jansson openssl) -lm 2>"$T/cc.err" ||
    { echo "state_scale bench: cannot build the seeder: $(head -n 5 "$T/cc.err")"; exit 0; }

# What each environment records as its resolved blueprint: a 2-node blueprint, as `up` would.
cat > "$T/small.yaml" <<'YAML'
apiVersion: sandbox/v1
name: bench
site: { uri: test:///default, image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, count: 2, memory: 1Gi, networks: [lan] } ]
YAML
"$bin" validate --json "$T/small.yaml" > "$T/small.json" || { echo "validate --json failed"; exit 1; }
t0=$(date +%s%N)
"$T/state_seed" "$SANDBOX_STATE" "$N" "$T/small.json" || { echo "seeding failed"; exit 1; }
echo "seeded $N environments in $(( ($(date +%s%N) - t0) / 1000000 )) ms" \
    "($(sqlite3 "$SANDBOX_STATE" 'select count(*) from res') resource rows," \
    "$(( $(stat -c %s "$SANDBOX_STATE") / 1048576 )) MB)"
mid=$(printf 'env%05d' $((N / 2)))

# The 500-node blueprint of tests/bench/plan500.sh.
big_blueprint "$T/big.yaml"
"$bin" plan --no-refresh "$T/big.yaml" --name big >/dev/null || { echo "plan failed"; exit 1; }

hyperfine -N -w 3 -r "${SBX_BENCH_RUNS:-20}" --export-json "$T/h.json" \
    "git --version" \
    "sqlite3 $SANDBOX_STATE 'select count(*) from env'" \
    "$bin list" \
    "$bin list --json" \
    "$bin status $mid" \
    "$bin validate -q $T/big.yaml" \
    "$bin plan --no-refresh $T/big.yaml --name big" >/dev/null 2>"$T/hf.err" ||
    { echo "hyperfine failed: $(tail -n 5 "$T/hf.err")"; exit 0; }
python3 - "$T/h.json" "$T/" "$bin" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    c = r["command"].replace(sys.argv[3], "sandbox").replace(sys.argv[2], "")
    print("%-48s mean %6.1f ms  min %6.1f ms  max %6.1f ms" % (c[:48], r["mean"]*1e3, r["min"]*1e3, r["max"]*1e3))
PY
