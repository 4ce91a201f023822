#!/bin/sh
# Benchmark: POST /v1/messages on sbx-mock-sms vs WireMock serving a stub for the same route, same
# client (wrk, 64 connections, a Lua script for the body): requests/s and p99 latency; then the
# idle RSS of each mock. Prints figures, asserts nothing; skips WireMock (exit 0) when npm, Java
# or the package are unavailable.
#
#   sh tests/bench/mocks_http.sh        env: BUILD (default build), SBX_BENCH_SECONDS (default 10)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/${BUILD:-build}"
secs=${SBX_BENCH_SECONDS:-10}
conns=64
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-bench/wiremock"

command -v wrk >/dev/null 2>&1 || { echo "mocks_http: wrk is not installed, skipping"; exit 0; }
[ -x "$bin/sbx-mock-sms" ] || { echo "mocks_http: no $bin/sbx-mock-sms (run make first), skipping"; exit 0; }

work=$(mktemp -d /tmp/sbx-bench-mocks.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"to":"+15551234567","from":"Acme","body":"your code is 123456"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# wait_for FILE PATTERN SECONDS: poll with backoff until FILE matches PATTERN.
wait_for() {
    delay=0.05 t0=$(date +%s)
    until grep -q "$2" "$1" 2>/dev/null; do
        [ $(( $(date +%s) - t0 )) -ge "$3" ] && return 1
        sleep "$delay"
        case $delay in 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; esac
    done
}

# start_mock NAME: start build/sbx-mock-NAME quietly; sets mock_pid and mock_url.
start_mock() {
    "$bin/sbx-mock-$1" --listen 127.0.0.1:0 --quiet >"$work/$1.out" 2>"$work/$1.err" &
    mock_pid=$!
    pids="$pids $mock_pid"
    wait_for "$work/$1.out" '^listening on http://' 20 || { echo "mocks_http: $1 did not start"; return 1; }
    mock_url=$(sed -n 's/^listening on //p' "$work/$1.out" | head -n 1)
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# run_wrk URL LABEL: print requests/s and p99.
run_wrk() {
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$1" >"$work/wrk.txt" 2>&1
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    errs=$(awk '/Non-2xx|Socket errors/' "$work/wrk.txt" | tr '\n' ' ')
    printf '%-22s %12s req/s   p99 %8s   %s\n' "$2" "${rps:-?}" "${p99:-?}" "$errs"
}

echo "POST /v1/messages, wrk -t2 -c$conns -d${secs}s ($(nproc) CPUs shared by client and server)"

# --- sbx-mock-sms ---
start_mock sms || exit 0
sms_pid=$mock_pid sms_url=$mock_url
sms_idle=$(rss_kb "$sms_pid")
wrk -t2 -c"$conns" -d2s -s "$work/post.lua" "$sms_url/v1/messages" >/dev/null 2>&1 # warm-up
run_wrk "$sms_url/v1/messages" "sbx-mock-sms"
sms_rps=$rps
echo "sbx-mock-sms RSS after load: $(rss_kb "$sms_pid") kB"
kill -TERM "$sms_pid"; wait "$sms_pid" 2>/dev/null

# --- WireMock ---
wm_rps=""
jar=$(find "$cache/node_modules/wiremock" -name 'wiremock-standalone-*.jar' 2>/dev/null | head -n 1)
if [ -z "$jar" ] && command -v npm >/dev/null 2>&1; then
    mkdir -p "$cache"
    [ -f "$cache/package.json" ] || echo '{"private": true}' >"$cache/package.json"
    (cd "$cache" && timeout 300 npm install --no-audit --no-fund wiremock >"$work/npm.log" 2>&1)
    jar=$(find "$cache/node_modules/wiremock" -name 'wiremock-standalone-*.jar' 2>/dev/null | head -n 1)
fi
if [ -z "$jar" ] || ! command -v java >/dev/null 2>&1; then
    echo "WireMock: skipped (npm package 'wiremock' or Java unavailable)"
else
    java -jar "$jar" --port 0 --bind-address 127.0.0.1 --no-request-journal --disable-request-logging \
        --disable-banner >"$work/wm.out" 2>&1 &
    wm_pid=$!
    pids="$pids $wm_pid"
    if wait_for "$work/wm.out" 'port:' 60; then
        wm_port=$(awk '/port:/ {print $NF; exit}' "$work/wm.out")
        wm_url="http://127.0.0.1:$wm_port"
        curl -s -o /dev/null -X POST "$wm_url/__admin/mappings" -H 'Content-Type: application/json' \
            --data '{"request": {"method": "POST", "url": "/v1/messages"}, "response": {"status": 201,
                     "headers": {"Content-Type": "application/json"},
                     "jsonBody": {"id": "SM0123456789abcdef0123456789abcdef", "status": "queued"}}}'
        wm_idle=$(rss_kb "$wm_pid")
        wrk -t2 -c"$conns" -d5s -s "$work/post.lua" "$wm_url/v1/messages" >/dev/null 2>&1 # JIT warm-up
        run_wrk "$wm_url/v1/messages" "WireMock $(basename "$jar" .jar | sed 's/wiremock-standalone-//')"
        wm_rps=$rps
        echo "WireMock idle RSS: ${wm_idle} kB"
    else
        echo "WireMock: did not start; skipped"; cat "$work/wm.out"
    fi
fi
if [ -n "$wm_rps" ] && [ -n "$sms_rps" ]; then
    awk -v a="$sms_rps" -v b="$wm_rps" 'BEGIN { if (b > 0) printf "throughput ratio sbx-mock-sms / WireMock: %.1fx\n", a / b }'
fi

# --- idle RSS of every mock ---
echo "idle RSS (VmRSS right after start):"
printf '  %-18s %s kB\n' sbx-mock-sms "$sms_idle"
for m in payment mail; do
    [ -x "$bin/sbx-mock-$m" ] || continue
    start_mock "$m" || continue
    printf '  %-18s %s kB\n' "sbx-mock-$m" "$(rss_kb "$mock_pid")"
    kill -TERM "$mock_pid"; wait "$mock_pid" 2>/dev/null
done
exit 0
