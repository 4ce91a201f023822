#!/bin/sh
# Run test suites and print one closing line: "tests: N passed, N failed, N skipped".
#
#   sh tests/run.sh SUITE...     suites: unit mocks integration fuzz e2e
#
# A test is an executable: build/asan/tests/<suite>/test_* (cmocka) or tests/<suite>/*.sh.
# Exit 0 = pass, 77 = skip (with a reason on stderr), anything else = fail.
# Each test's output goes to build/test-logs/<suite>/<name>.log and is printed when it fails.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
export SBX_TOP="$top"
export SBX_BIN="${SBX_BIN:-$top/$BUILD/asan}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
pass=0 fail=0 skip=0 failed=""
logs="$top/$BUILD/test-logs"

run_one() { # suite name cmd...
    suite=$1 name=$2; shift 2
    mkdir -p "$logs/$suite"
    log="$logs/$suite/$name.log"
    t0=$(date +%s)
    "$@" >"$log" 2>&1 </dev/null
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "ok      $suite/$name (${dt}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); echo "skip    $suite/$name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed="$failed $suite/$name"
        echo "FAIL    $suite/$name (exit $rc, ${dt}s); last 60 lines of $log:"
        tail -n 60 "$log" | sed 's/^/    | /'
    fi
}

for suite in "$@"; do
    case $suite in
    fuzz)
        for f in "$BUILD"/fuzz/fuzz_*; do
            [ -x "$f" ] || continue
            n=$(basename "$f"); corpus="tests/fuzz/corpus/${n#fuzz_}"
            mkdir -p "$logs/fuzz-work/$n"
            [ -d "$corpus" ] || corpus=""
            run_one fuzz "$n" "$f" -max_total_time="${SBX_FUZZ_SECONDS:-30}" -rss_limit_mb=2048 \
                "$logs/fuzz-work/$n" $corpus
        done ;;
    *)
        for t in "$BUILD"/asan/tests/"$suite"/test_* tests/"$suite"/*.sh; do
            [ -f "$t" ] || continue
            case $t in *.d|*.o) continue ;; esac
            n=$(basename "$t" .sh)
            case $t in *.sh) run_one "$suite" "$n" sh "$t" ;; *) run_one "$suite" "$n" "$t" ;; esac
        done ;;
    esac
done
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
