#!/bin/sh
# Benchmark (prints figures, asserts nothing): SMTP ingestion of sbx-mock-mail vs postfix's
# smtp-sink (which stores nothing: the machine's SMTP limit) and maildev (npm), in one run, 10 KB
# messages, 8 concurrent senders. Two clients: postfix's smtp-source (one message per connection,
# and with -d all of a sender's messages over one connection) and tests/bench/smtp_load.c (compiled
# here; 1 and 100 messages per connection). Also sbx-mock-mail's idle RSS and its RSS after the
# load. smtp-source and smtp-sink come from an installed postfix or else from Debian's postfix
# package fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
# $SBX_BENCH_CACHE/postfix (default ~/.cache/sandbox-bench; nothing is installed, no postfix daemon
# is started), run with LD_LIBRARY_PATH at its usr/lib/postfix (they need libpostfix-global and
# libpostfix-util only); without them "smtp-sink: not measured (REASON)" and no smtp-sink ratio.
# maildev is installed with npm into $SBX_BENCH_CACHE. Skips (exit 0 with a message) when the mock
# or the load client is missing.
#
#   BUILD=build sh tests/bench/mocks_smtp.sh
#   SBX_BENCH_MESSAGES=20000 SBX_BENCH_MAILDEV_MESSAGES=1000 ...   (message counts)
#   SBX_BENCH_BASELINE=OLD/sbx-mock-mail ...   (also time searches on this build and OLD, each fed
#                                              the same SBX_BENCH_SEARCH_MESSAGES, default N, mails)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$top/${BUILD:-build}/sbx-mock-mail"
CACHE=${SBX_BENCH_CACHE:-$HOME/.cache/sandbox-bench}
N=${SBX_BENCH_MESSAGES:-10000}
NMD=${SBX_BENCH_MAILDEV_MESSAGES:-1000}
T=$(mktemp -d /tmp/sbx-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
skip() { echo "mocks_smtp: skipped: $*"; exit 0; }

[ -x "$BIN" ] || skip "no $BIN (run make)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -pthread -o "$T/smtp_load" "$top/tests/bench/smtp_load.c" ||
    skip "cannot compile the load client"

# wait_for CMD...: retry CMD with backoff for up to 60 s.
wait_for() {
    deadline=$(( $(date +%s) + 60 )); delay=0.05
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -gt "$deadline" ] && return 1
        sleep $delay; delay=$(awk "BEGIN { d = $delay * 2; print (d > 1 ? 1 : d) }")
    done
}
port_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
rate() { sed -n 's/.*rate=\([0-9]*\).*/\1/p' "$1"; }

# load NAME PORT COUNT K: run the client, keep its output in $T/NAME.
load() {
    "$T/smtp_load" -p "$2" -c 8 -n "$3" -s 10240 -k "$4" >"$T/$1" 2>&1 || { echo "  load failed: $(cat "$T/$1")"; echo "rate=0" >"$T/$1"; }
    echo "  $1: $(cat "$T/$1")"
}

# source NAME PORT COUNT [FLAGS]: postfix's smtp-source, 8 sessions of 10 KB messages; the rate
# (messages/s, from the wall time) in $T/NAME.
source_load() {
    if [ -z "$src" ]; then echo "  $1: not measured ($why)"; return; fi
    t0=$(date +%s.%N)
    if timeout 300 env LD_LIBRARY_PATH="$pflib" "$src" $4 -s 8 -l 10240 -m "$3" -f bench@example.com -t sink@example.com "127.0.0.1:$2" \
        >"$T/$1.log" 2>&1; then
        awk -v n="$3" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "rate=%d\n", n / (t1 - t0) }' >"$T/$1"
    else
        echo "rate=0" >"$T/$1"; echo "  $1: smtp-source failed: $(tail -n 2 "$T/$1.log")"
    fi
    echo "  $1 (smtp-source $4): $(rate "$T/$1") messages/s"
}
# postfix_runs DIR: whether DIR/usr/sbin/smtp-source starts with DIR/usr/lib/postfix as its
# library path (its usage message, not a loader error).
postfix_runs() {
    LD_LIBRARY_PATH="$1/usr/lib/postfix" "$1/usr/sbin/smtp-source" 2>&1 | grep -q 'usage:'
}
# postfix_tools: set src, sink and pflib (their LD_LIBRARY_PATH), or why (the reason they are not
# there): an installed postfix, else Debian's package unpacked into $CACHE/postfix.
postfix_tools() {
    src=$(command -v smtp-source || ls /usr/sbin/smtp-source 2>/dev/null || true)
    sink=$(command -v smtp-sink || ls /usr/sbin/smtp-sink 2>/dev/null || true)
    pflib=""; why=""
    [ -n "$src" ] && [ -n "$sink" ] && return
    pf="$CACHE/postfix"
    if ! postfix_runs "$pf"; then
        command -v apt-get >/dev/null 2>&1 || { why="no postfix and no apt-get"; src=""; return; }
        mkdir -p "$T/deb" && rm -rf "$pf" && mkdir -p "$pf" || { why="cannot create $pf"; src=""; return; }
        # apt's _apt user cannot write into $T (mode 0700): as root it then downloads unsandboxed.
        if ! (cd "$T/deb" && apt-get download postfix) >"$T/apt.log" 2>&1; then
            why="apt-get download postfix failed: $(grep -v '^W:' "$T/apt.log" | tail -n 1)"; src=""; return
        fi
        if ! dpkg-deb -x "$T"/deb/postfix_*.deb "$pf" 2>"$T/dpkg.log"; then
            why="dpkg-deb -x failed: $(tail -n 1 "$T/dpkg.log")"; src=""; return
        fi
        dpkg-deb -f "$T"/deb/postfix_*.deb Version >"$pf/VERSION" 2>/dev/null
        postfix_runs "$pf" || {
            why="the unpacked smtp-source does not run: $(LD_LIBRARY_PATH="$pf/usr/lib/postfix" "$pf/usr/sbin/smtp-source" 2>&1 | head -n 1)"
            src=""; return
        }
    fi
    src="$pf/usr/sbin/smtp-source"; sink="$pf/usr/sbin/smtp-sink"; pflib="$pf/usr/lib/postfix"
    echo "mocks_smtp: smtp-source and smtp-sink of Debian's postfix $(cat "$pf/VERSION" 2>/dev/null) unpacked in $pf"
}
postfix_tools
[ -n "$src" ] || echo "smtp-sink: not measured ($why)"

# --- smtp-sink (postfix; stores nothing) --------------------------------------------------------
if [ -n "$sink" ] && [ -n "$src" ]; then
    kport=$(free_port)
    # -u: smtp-sink refuses to run as root without a user to switch to.
    if [ "$(id -u)" = 0 ]; then kuser="-u nobody"; else kuser=""; fi
    env LD_LIBRARY_PATH="$pflib" "$sink" $kuser "127.0.0.1:$kport" 256 >"$T/sink.log" 2>&1 &
    kpid=$!; pids="$pids $kpid"
    if wait_for port_open "$kport"; then
        echo "smtp-sink (${N} messages of 10 KB, 8 sessions)"
        source_load sink-src1 "$kport" "$N" ""
        source_load sink-srcd "$kport" "$N" "-d"
    else
        echo "mocks_smtp: smtp-sink did not start: $(tail -n 3 "$T/sink.log")"
    fi
    kill $kpid 2>/dev/null
fi

# --- sbx-mock-mail ------------------------------------------------------------------------
"$BIN" --listen 127.0.0.1:0 --smtp 127.0.0.1:0 --quiet --max-records 100000 --max-store-bytes 2G >"$T/sbx.out" 2>"$T/sbx.err" &
sbx=$!; pids="$pids $sbx"
wait_for grep -q '^listening on http://' "$T/sbx.out" || skip "sbx-mock-mail did not start: $(cat "$T/sbx.err")"
sport=$(sed -n 's|^listening on smtp://127.0.0.1:\([0-9]*\)$|\1|p' "$T/sbx.out")
idle=$(rss_kb $sbx)
echo "sbx-mock-mail (${N} messages of 10 KB, 8 senders)"
echo "  idle RSS: ${idle} kB"
load sbx-1 "$sport" "$N" 1
load sbx-100 "$sport" "$N" 100
source_load sbx-src1 "$sport" "$N" ""
source_load sbx-srcd "$sport" "$N" "-d"
stored=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/v1/messages?limit=1"))["total"])' \
    "$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$T/sbx.out" | head -n 1)" 2>/dev/null || echo "?")
sent=$((2 * N)); [ -n "$src" ] && sent=$((4 * N))
echo "  messages stored: $stored of $sent sent"
# the list endpoints over the stored messages (seconds, 5 runs each; a list reads only its page).
# Searches: header terms and a word found in the headers are decided from the store's index; a word
# the headers lack (zzzz: in no message) makes the mock read each message's body.
if command -v curl >/dev/null 2>&1; then
    http=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$T/sbx.out" | head -n 1)
    for u in "/v1/messages?limit=50" "/api/v1/messages?limit=50" "/api/v1/search?query=subject:x&limit=50" \
        "/api/v1/search?query=to:sink&limit=50" "/api/v1/search?query=from:nobody&limit=50" \
        "/api/v1/search?query=sink%20-subject:x&limit=50" "/api/v1/search?query=zzzz&limit=50"; do
        times=""
        for i in 1 2 3 4 5; do times="$times $(curl -s -o /dev/null -w '%{time_total}' "$http$u")"; done
        echo "  GET $u (s):$times"
    done
fi
echo "  RSS after $sent messages (100000 kept at most): $(rss_kb $sbx) kB"
kill $sbx

# --- searches: this build and SBX_BENCH_BASELINE over the same mails --------------------------
# mail_up BIN NAME: start BIN quietly; sets up_pid, up_http and up_smtp (the SMTP port).
mail_up() {
    "$1" --listen 127.0.0.1:0 --smtp 127.0.0.1:0 --quiet --max-records 100000 --max-store-bytes 2G \
        >"$T/$2.out" 2>"$T/$2.err" &
    up_pid=$!; pids="$pids $up_pid"
    wait_for grep -q '^listening on smtp://' "$T/$2.out" || return 1
    up_http=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$T/$2.out" | head -n 1)
    up_smtp=$(sed -n 's|^listening on smtp://127.0.0.1:\([0-9]*\)$|\1|p' "$T/$2.out")
}
base=${SBX_BENCH_BASELINE:-}
if [ -n "$base" ] && [ -x "$base" ] && command -v curl >/dev/null 2>&1; then
    NS=${SBX_BENCH_SEARCH_MESSAGES:-$N}; new_pid="" up_pid=""
    echo "searches over the same $NS messages of 10 KB (smtp_load), seconds, 3 runs each: this build | baseline $base"
    if mail_up "$BIN" search-new && load search-new "$up_smtp" "$NS" 100 && new_http=$up_http &&
        new_pid=$up_pid && mail_up "$base" search-base && load search-base "$up_smtp" "$NS" 100; then
        echo "  RSS with the messages: this build $(rss_kb "$new_pid") kB, baseline $(rss_kb "$up_pid") kB"
        for q in subject:x to:sink from:nobody sink%20-subject:x load zzzz; do
            a="" b=""
            for i in 1 2 3; do
                a="$a $(curl -s -o /dev/null -w '%{time_total}' "$new_http/api/v1/search?query=$q&limit=50")"
                b="$b $(curl -s -o /dev/null -w '%{time_total}' "$up_http/api/v1/search?query=$q&limit=50")"
            done
            echo "  GET /api/v1/search?query=$q&limit=50:$a |$b"
        done
    fi
    [ -n "$new_pid$up_pid" ] && kill $new_pid $up_pid 2>/dev/null
fi

# --- maildev ----------------------------------------------------------------------------------
md="$CACHE/node_modules/.bin/maildev"
if [ ! -f "$md" ]; then
    command -v npm >/dev/null 2>&1 || skip "npm is not installed: no maildev comparison"
    mkdir -p "$CACHE"
    (cd "$CACHE" && npm install --no-audit --no-fund maildev >"$T/npm.log" 2>&1) ||
        skip "npm install maildev failed: $(tail -n 3 "$T/npm.log")"
fi
command -v node >/dev/null 2>&1 || skip "node is not installed: no maildev comparison"
mport=$(free_port); wport=$(free_port)
node "$md" --smtp "$mport" --ip 127.0.0.1 --web "$wport" --web-ip 127.0.0.1 --max-emails 100000 \
    >"$T/maildev.log" 2>&1 &
mpid=$!; pids="$pids $mpid"
wait_for port_open "$mport" || skip "maildev did not start: $(tail -n 5 "$T/maildev.log")"
echo "maildev $(node "$md" --version 2>/dev/null) (${NMD} messages of 10 KB, 8 senders)"
echo "  idle RSS: $(rss_kb $mpid) kB"
load maildev-1 "$mport" "$NMD" 1
load maildev-100 "$mport" "$((NMD * 4))" 100
source_load maildev-src1 "$mport" "$NMD" ""
source_load maildev-srcd "$mport" "$NMD" "-d"
kill $mpid

# ratio LABEL A B FMT: A's rate over B's (files in $T) with printf format FMT, or "not measured".
ratio() {
    a=$(rate "$T/$2" 2>/dev/null); b=$(rate "$T/$3" 2>/dev/null)
    if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = 0 ] || [ "$b" = 0 ]; then
        echo "  $1: not measured"
    else
        awk -v l="$1" -v a="$a" -v b="$b" -v f="$4" 'BEGIN { printf "  %s: " f "\n", l, a / b }'
    fi
}
if [ -s "$T/sink-src1" ] || [ -s "$T/sink-srcd" ]; then
    echo "ratio sbx-mock-mail / smtp-sink (smtp-source, messages/s; goal at least 0.5):"
    ratio "1 message per connection" sbx-src1 sink-src1 "%.2f"
    ratio "one connection per sender (-d)" sbx-srcd sink-srcd "%.2f"
else
    echo "smtp-sink: not measured (${why:-smtp-sink did not start}): no ratio"
fi
if [ -n "$src" ]; then
    echo "ratio sbx-mock-mail / maildev (smtp-source, messages/s):"
    ratio "1 message per connection" sbx-src1 maildev-src1 "%.1fx"
    ratio "one connection per sender (-d)" sbx-srcd maildev-srcd "%.1fx"
fi
echo "ratio sbx-mock-mail / maildev (smtp_load, messages/s):"
ratio "1 message per connection" sbx-1 maildev-1 "%.1fx"
ratio "100 messages per connection" sbx-100 maildev-100 "%.1fx"
