#!/bin/sh
# Run tests and print one closing line:
#   tests: N passed, N failed, N skipped (N allowed: SUITE/NAME: reason; ...)
#
#   sh tests/run.sh SUITE...          suites: unit mocks integration fuzz e2e
#   sh tests/run.sh SUITE/NAME...     one test, e.g. unit/test_plan, integration/cli_crash
#
# A test is a cmocka binary built from tests/<suite>/test_*.c (build/asan/tests/<suite>/test_*),
# a script tests/<suite>/*.sh, or a fuzzer built from tests/fuzz/fuzz_*.c (build/fuzz/fuzz_*).
# Benchmarks (tests/bench, `make bench`) are not a suite and never counted here.
# Exit 0 = pass, 77 = skip (reason: the last line of its output), anything else = fail. A cmocka
# binary that exits 0 after a case called skip() ("[  SKIPPED ] name") is a skip, not a pass.
# With CI=true a skip is a failure unless tests/skip-allow.txt lists it ("SUITE/NAME  reason").
# An unknown suite or test, or a suite without tests, is an error (exit 2) before anything runs;
# a test that is not built fails. Each test's output goes to build/test-logs/<suite>/<name>.log
# and is printed when it fails.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
SUITES="unit mocks integration fuzz e2e"
ALLOW=tests/skip-allow.txt
export SBX_TOP="$top"
export SBX_BIN="${SBX_BIN:-$top/$BUILD/asan}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=stdout # the format skips are read from
ci=""
case ${CI:-} in true | 1 | yes) ci=1 ;; esac
pass=0 fail=0 skip=0 allowed=0 failed="" allowed_list=""
logs="$top/$BUILD/test-logs"

usage() {
    echo "usage: sh tests/run.sh SUITE|SUITE/NAME...   (suites: $SUITES)" >&2
    exit 2
}

# Print "name path" for each test of a suite.
suite_tests() {
    case $1 in
    fuzz)
        for src in tests/fuzz/fuzz_*.c; do
            [ -f "$src" ] && echo "$(basename "$src" .c) $BUILD/fuzz/$(basename "$src" .c)"
        done ;;
    *)
        for src in tests/"$1"/test_*.c; do
            [ -f "$src" ] && echo "$(basename "$src" .c) $BUILD/asan/tests/$1/$(basename "$src" .c)"
        done
        for t in tests/"$1"/*.sh; do
            [ -f "$t" ] && echo "$(basename "$t" .sh) $t"
        done ;;
    esac
    return 0
}

# Print the tests an argument (SUITE or SUITE/NAME) selects as "suite name path"; complain if none.
select_tests() {
    suite=${1%%/*} want=""
    [ "$suite" = "$1" ] || want=${1#*/}
    case " $SUITES " in
    *" $suite "*) ;;
    *) echo "run.sh: unknown suite '$suite' (suites: $SUITES; benchmarks: sh tests/bench/run.sh)" >&2
       return 1 ;;
    esac
    list=$(suite_tests "$suite" | awk -v s="$suite" -v w="$want" 'w == "" || $1 == w { print s " " $0 }')
    if [ -z "$list" ]; then
        if [ -n "$want" ]; then
            echo "run.sh: no test '$1'; $suite has: $(suite_tests "$suite" | awk '{ printf "%s ", $1 }')" >&2
        else
            echo "run.sh: suite '$suite' has no tests" >&2
        fi
        return 1
    fi
    echo "$list"
}

# The names of the cmocka cases that called skip(), from a log ("" if none).
cmocka_skips() {
    awk '/^\[  SKIPPED \] / && !/ test\(s\), listed below:/ {
        n = $0; sub(/^\[  SKIPPED \] /, "", n); sub(/[ \t\r]+$/, "", n)
        if (!(n in seen)) { seen[n] = 1; s = s (s == "" ? "" : " ") n }
    } END { print s }' "$1"
}

# The reason tests/skip-allow.txt gives for allowing a test's skip ("" if it is not listed).
allow_reason() {
    [ -f "$ALLOW" ] || return 0
    awk -v t="$1" '!/^[ \t]*(#|$)/ && $1 == t { $1 = ""; sub(/^[ \t]+/, ""); print; exit }' "$ALLOW"
}

# Check that every line of the allow-list is "SUITE/NAME  reason".
allow_check() {
    [ -f "$ALLOW" ] || return 0
    awk '!/^[ \t]*(#|$)/ && (NF < 2 || $1 !~ /^[a-z0-9_]+\/[A-Za-z0-9_.-]+$/) {
        printf "run.sh: %s:%d: want \"SUITE/NAME  reason\": %s\n", FILENAME, FNR, $0; bad = 1
    } END { exit bad }' "$ALLOW" >&2
}

# Record a skipped test: allowed, a failure under CI=true, or a plain skip.
record_skip() { # suite/name reason
    why=$(allow_reason "$1")
    if [ -n "$why" ]; then
        skip=$((skip + 1)) allowed=$((allowed + 1))
        allowed_list="$allowed_list${allowed_list:+; }$1: $why"
        echo "skip    $1: $2 (allowed: $why)"
    elif [ -n "$ci" ]; then
        fail=$((fail + 1)) failed="$failed $1"
        echo "FAIL    $1: skipped: $2"
        echo "        (CI=true: a skip fails unless $ALLOW lists it as \"$1  reason\")"
    else
        skip=$((skip + 1))
        echo "skip    $1: $2"
    fi
}

# Run one test and record its result.
run_one() { # suite name cmd...
    suite=$1 name=$2; shift 2
    mkdir -p "$logs/$suite"
    log="$logs/$suite/$name.log"
    t0=$(date +%s)
    "$@" >"$log" 2>&1 </dev/null
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    reason=$(awk 'NF { l = $0 } END { print l }' "$log")
    if [ $rc -eq 0 ] && [ "$1" != sh ]; then
        cases=$(cmocka_skips "$log")
        [ -z "$cases" ] || { rc=77 reason="cmocka skip() in: $cases"; }
    fi
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "ok      $suite/$name (${dt}s)"
    elif [ $rc -eq 77 ]; then
        record_skip "$suite/$name" "$reason"
    else
        fail=$((fail + 1)) failed="$failed $suite/$name"
        echo "FAIL    $suite/$name (exit $rc, ${dt}s); last 60 lines of $log:"
        tail -n 60 "$log" | sed 's/^/    | /'
    fi
}

# Run a selected test: a script, a cmocka binary or a fuzzer; a missing binary fails.
run_test() { # suite name path
    case $3 in
    *.sh) run_one "$1" "$2" sh "$3"; return ;;
    esac
    if [ ! -x "$3" ]; then
        fail=$((fail + 1)) failed="$failed $1/$2"
        echo "FAIL    $1/$2: $3 is not built (make test-bins; fuzzers: make fuzz)"
        return
    fi
    if [ "$1" = fuzz ]; then
        corpus="tests/fuzz/corpus/${2#fuzz_}"
        [ -d "$corpus" ] || corpus=""
        mkdir -p "$logs/fuzz-work/$2"
        # shellcheck disable=SC2086 # $corpus: no argument when there is no corpus
        run_one fuzz "$2" "$3" -max_total_time="${SBX_FUZZ_SECONDS:-30}" -rss_limit_mb=2048 \
            "$logs/fuzz-work/$2" $corpus
    else
        run_one "$1" "$2" "$3"
    fi
}

[ $# -gt 0 ] || usage
allow_check || exit 2
selected=""
for arg in "$@"; do
    sel=$(select_tests "$arg") || exit 2
    selected="$selected$sel
"
done
while read -r suite name path; do
    [ -n "$suite" ] && run_test "$suite" "$name" "$path"
done <<EOF
$selected
EOF
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed, $skip skipped${allowed_list:+ ($allowed allowed: $allowed_list)}"
[ $fail -eq 0 ]
