#!/bin/sh
# Benchmark of the node roles on network namespaces (router + 2 LB + backend + DB, real sshd,
# BIRD, HAProxy, PostgreSQL, pgbouncer): time from "all nodes SSH-ready" to "all roles healthy"
# with a per-role breakdown, a no-change re-apply with the quick check next to a full (--refresh)
# one (single runs, then the medians of 5 of each, alternating), failover time from HAProxy stop
# on one LB to the route's withdrawal on the router, and pgbench -S at 100 clients through
# pgbouncer vs direct.
# Prints figures, asserts nothing. Needs root. SBX_PGBENCH_SECONDS (default 10) bounds each run.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-build}
bin="$top/$build/asan/tests/integration/test_roles"
if [ ! -x "$bin" ]; then
    make -C "$top" -s BUILD="$build" "$build/asan/tests/integration/test_roles" >/dev/null || exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
SBX_TOP="$top" SBX_BIN="$top/$build/asan" SBX_ROLES_BENCH=1 LSAN_OPTIONS="suppressions=$top/tests/lsan.supp" "$bin" >"$log" 2>&1
rc=$?
grep -E "^(first apply|second apply|refresh apply|no-change apply|failover|pgbench)" "$log"
[ $rc -eq 0 ] || { echo "roles_apply: test_roles exited $rc; log:"; tail -n 40 "$log"; }
