#!/bin/sh
# Benchmark: POST /v1/messages on sbx-mock-sms vs nginx answering from its config (the machine's
# HTTP limit) and WireMock serving a stub for the same route, in one run, same client (wrk -t2
# -c64 --latency, a Lua script for the same JSON body): requests/s and p99 latency; the mock's RSS
# and thread count after the load; then the idle RSS of each mock. Prints figures, asserts
# nothing; skips nginx or WireMock when they are unavailable (nginx: `make deps`, nginx-light).
# nginx runs with its own prefix and config on a free port, never the system's, and is stopped.
#
#   sh tests/bench/mocks_http.sh        env: BUILD (default build), SBX_BENCH_SECONDS (default 10),
#                                       SBX_BENCH_BASELINE (another sbx-mock-sms binary, e.g. an
#                                       older commit's, measured too in the same run)
# Each mock is also measured with the body posted to a path without a route (a 404), which is the
# HTTP core alone.
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
    rm -f "$work/$1.out"
    "$bin/sbx-mock-$1" --listen 127.0.0.1:0 --quiet >"$work/$1.out" 2>"$work/$1.err" &
    mock_pid=$!
    pids="$pids $mock_pid"
    wait_for "$work/$1.out" '^listening on http://' 20 || { echo "mocks_http: $1 did not start"; return 1; }
    mock_url=$(sed -n 's/^listening on //p' "$work/$1.out" | head -n 1)
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }

# free_port: a TCP port nothing listens on now (bind 0, read it, close).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run_wrk URL LABEL: print requests/s and p99.
run_wrk() {
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$1" >"$work/wrk.txt" 2>&1
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    errs=$(awk '/Non-2xx|Socket errors/' "$work/wrk.txt" | tr '\n' ' ')
    printf '%-22s %12s req/s   p99 %8s   %s\n' "$2" "${rps:-?}" "${p99:-?}" "$errs"
}

echo "POST /v1/messages, wrk -t2 -c$conns -d${secs}s ($(nproc) CPUs shared by client and server)"

# bench_sms BIN LABEL: start BIN quietly, warm up, measure; RSS and threads after the load.
bench_sms() {
    rm -f "$work/sms.out" # else the previous mock's line may be read before this one truncates it
    "$1" --listen 127.0.0.1:0 --quiet >"$work/sms.out" 2>"$work/sms.err" &
    mock_pid=$!
    pids="$pids $mock_pid"
    wait_for "$work/sms.out" '^listening on http://' 20 || { echo "mocks_http: $2 did not start"; return 1; }
    mock_url=$(sed -n 's/^listening on //p' "$work/sms.out" | head -n 1)
    wrk -t2 -c"$conns" -d2s -s "$work/post.lua" "$mock_url/v1/messages" >/dev/null 2>&1 # warm-up
    run_wrk "$mock_url/v1/messages" "$2"
    post_rps=$rps
    echo "$2 after the load: RSS $(rss_kb "$mock_pid") kB, $(threads "$mock_pid") threads"
    # the same body to a path without a route (404): the HTTP core without the SMS handler
    run_wrk "$mock_url/v1/no-route" "$2 (404)"
    kill -TERM "$mock_pid"; wait "$mock_pid" 2>/dev/null
}

# --- sbx-mock-sms (and a baseline binary) ---
start_mock sms || exit 0
sms_idle=$(rss_kb "$mock_pid")
kill -TERM "$mock_pid"; wait "$mock_pid" 2>/dev/null
bench_sms "$bin/sbx-mock-sms" "sbx-mock-sms"
sms_rps=$post_rps
if [ -n "${SBX_BENCH_BASELINE:-}" ] && [ -x "$SBX_BENCH_BASELINE" ]; then
    bench_sms "$SBX_BENCH_BASELINE" "sbx-mock-sms baseline"
fi

# --- nginx answering from its config ---
nginx_bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)
if [ -z "$nginx_bin" ]; then
    echo "nginx: skipped (not installed; make deps installs nginx-light)"
else
    np=$(free_port)
    mkdir -p "$work/nginx/logs"
    cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$np;
        location / {
            default_type application/json;
            return 201 '{"id":"SM0123456789abcdef0123456789abcdef","status":"queued"}';
        }
    }
}
NGINX
    "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx/out" 2>&1 &
    ng_pid=$!
    pids="$pids $ng_pid"
    t0=$(date +%s)
    until curl -s -o /dev/null "http://127.0.0.1:$np/" 2>/dev/null; do
        [ $(( $(date +%s) - t0 )) -ge 20 ] && break
        sleep 0.1
    done
    wrk -t2 -c"$conns" -d2s -s "$work/post.lua" "http://127.0.0.1:$np/v1/messages" >/dev/null 2>&1 # warm-up
    run_wrk "http://127.0.0.1:$np/v1/messages" "nginx $("$nginx_bin" -v 2>&1 | sed 's|.*/||')"
    ng_rps=$rps
    kill -TERM "$ng_pid"; wait "$ng_pid" 2>/dev/null
    if [ -n "$ng_rps" ] && [ -n "$sms_rps" ]; then
        awk -v a="$sms_rps" -v b="$ng_rps" 'BEGIN { if (b > 0) printf "throughput ratio sbx-mock-sms / nginx: %.0f%%\n", 100 * a / b }'
    fi
fi

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
