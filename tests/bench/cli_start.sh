#!/bin/sh
# How fast the CLI starts: `sandbox version`, `validate` of the quickstart and `list` of an empty
# state, next to `git --version` (the anchor: a small C program that starts and exits) in the same
# run, with the number of shared libraries each maps. Target: version and validate under 5 ms.
# SBX_BENCH_OTHER=PATH adds another sandbox binary (e.g. an older build) to the same run.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export SANDBOX_STATE="$T/state.db"
command -v hyperfine >/dev/null 2>&1 || { echo "cli_start: hyperfine is not installed (tests/deps.sh installs it)"; exit 0; }
qs=$top/examples/quickstart.yaml
"$bin" validate -q "$qs" || { echo "validate failed"; exit 1; }
set -- "git --version"
i=0
for b in "$bin" ${SBX_BENCH_OTHER:-}; do
    i=$((i + 1))
    "$b" --state "$T/s$i.db" list >/dev/null # each binary its own state (an older one refuses a newer schema)
    set -- "$@" "$b version" "$b validate -q $qs" "$b --state $T/s$i.db list"
done
hyperfine -N -w 5 -r 40 --export-json "$T/h.json" "$@" >/dev/null 2>&1
for b in "$bin" ${SBX_BENCH_OTHER:-}; do
    echo "$b maps $(LD_DEBUG=files "$b" version 2>&1 >/dev/null | grep -c 'file=.*\[0\];  needed by') libraries at start"
done
python3 - "$T/h.json" "$top/" "--state $T/" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    c = r["command"].replace(sys.argv[2], "").replace(sys.argv[3], "")
    print("%-60s mean %6.2f ms  median %6.2f ms  min %6.2f ms" % (c[-60:], r["mean"]*1e3, r["median"]*1e3, r["min"]*1e3))
PY
