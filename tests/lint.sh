#!/bin/sh
# Static checks of provisioner/ and mocks/ (`make lint`; `make check` runs it):
#   1. cppcheck --enable=warning,performance,portability; suppressions with reasons in
#      tests/cppcheck-suppress.txt;
#   2. banned calls: sprintf vsprintf strcpy strcat atoi atol atoll gets system (use snprintf,
#      xasprintf, sbx_buf_*, strtol/strtoul, exec without a shell);
#   3. getenv only in provisioner/env/env_config.c and the files of tests/getenv-allow.txt;
#   4. a comment line directly above every function definition in a .c file (STYLE.md), except
#      tests/comment-allow.txt;
#   5. layering: a file of provisioner/MODULE/ includes only headers of the modules
#      tests/layers.txt allows MODULE (the module graph stays a DAG pointing down).
# Comments and string literals do not count for 2 and 3. Prints FILE:LINE: rule: message.
#
#   sh tests/lint.sh [--no-cppcheck]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
DIRS="provisioner mocks"
ENV_CONFIG=provisioner/env/env_config.c
bad=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Report the problems a check printed into a file; remember that there were some.
report() {
    [ -s "$1" ] || return 0
    sed 's/^/lint: /' "$1"
    bad=1
}

# The non-comment lines of an allow-list.
entries() {
    [ -f "$1" ] && grep -Ev '^[[:space:]]*(#|$)' "$1"
    return 0
}

# 1. cppcheck, without the system headers (fast); library configs tell it about libc and friends.
run_cppcheck() {
    command -v cppcheck >/dev/null 2>&1 ||
        { echo "lint: cppcheck is not installed (make deps)"; bad=1; return; }
    # shellcheck disable=SC2046
    cppcheck -q -j2 --std=c11 -D_GNU_SOURCE --error-exitcode=1 --inline-suppr \
        --enable=warning,performance,portability \
        --library=posix --library=libcurl --library=openssl --library=sqlite3 \
        --library=tests/cppcheck-jansson.cfg \
        --suppress=missingIncludeSystem --suppressions-list=tests/cppcheck-suppress.txt \
        --template='{file}:{line}: cppcheck {severity} [{id}]: {message}' \
        $(find provisioner -type d | sed 's/^/-I/') -Imocks/common $DIRS 2>"$tmp/cppcheck" && return
    report "$tmp/cppcheck"
    echo "lint: a false positive? add \"id:file\" with its reason to tests/cppcheck-suppress.txt"
    bad=1
}

# Every C source and header as FILE:LINE:code, with comments and string/char literals blanked.
code_lines() {
    find $DIRS -name '*.[ch]' | sort | xargs awk '
    FNR == 1 { incom = 0 }
    {
        s = $0; out = ""; i = 1; n = length(s)
        while (i <= n) {
            c = substr(s, i, 1); c2 = substr(s, i, 2)
            if (incom) { if (c2 == "*/") { incom = 0; i += 2 } else i++; continue }
            if (c2 == "/*") { incom = 1; out = out " "; i += 2; continue }
            if (c2 == "//") break
            if (c == "\"" || c == "\047") {
                q = c; i++
                while (i <= n && substr(s, i, 1) != q) i += (substr(s, i, 1) == "\\") ? 2 : 1
                out = out q q; i++; continue
            }
            out = out c; i++
        }
        print FILENAME ":" FNR ":" out
    }'
}

# Print FILE:LINE:NAME for each call of a function whose name matches the ERE $1 (in code lines).
calls() {
    awk -v re="(^|[^A-Za-z0-9_])($1)[ \t]*[(]" '{
        p = index($0, ":"); f = substr($0, 1, p - 1); r = substr($0, p + 1)
        q = index(r, ":"); code = substr(r, q + 1)
        if (match(code, re)) {
            c = substr(code, RSTART, RLENGTH); sub(/^[^A-Za-z_]/, "", c); sub(/[ \t]*[(]$/, "", c)
            print f ":" substr(r, 1, q - 1) ":" c
        }
    }' "$tmp/code"
}

# 2. Banned calls.
banned_calls() {
    calls 'sprintf|vsprintf|strcpy|strcat|atoi|atol|atoll|gets|system' |
        awk -F: '{ print $1 ":" $2 ": banned call " $3 "() (snprintf, xasprintf, sbx_buf_*, strtol, exec)" }'
}

# 3. getenv outside the config module and the allow-list; allow-list lines that are stale.
getenv_calls() {
    calls 'getenv|secure_getenv' >"$tmp/getenv"
    { entries tests/getenv-allow.txt | awk '{ print $1 }'; echo "$ENV_CONFIG"; } >"$tmp/genv-allow"
    awk -F: -v env="$ENV_CONFIG" 'NR == FNR { ok[$0] = 1; next } !($1 in ok) {
        print $1 ":" $2 ": " $3 "() outside " env " (read it there, or list the file in tests/getenv-allow.txt)"
    }' "$tmp/genv-allow" "$tmp/getenv"
    entries tests/getenv-allow.txt | while read -r f _; do
        cut -d: -f1 "$tmp/getenv" | grep -qxF "$f" ||
            echo "tests/getenv-allow.txt: $f no longer calls getenv: delete its line"
    done
}

# 4. Function definitions (a line at column 0 "type name(...", up to a line ending in ")", then
#    "{" alone) without a comment line ("... */" or "// ...") directly above.
uncommented_functions() {
    find $DIRS -name '*.c' | sort | xargs awk '
    function check() { if (above !~ /(\*\/|^[ \t]*\/\/.*)[ \t]*$/) print FILENAME ":" start ":" name }
    FNR == 1 { insig = 0; want = 0; prev = "" }
    {
        line = $0
        if (want && line ~ /^\{[ \t]*$/) check()
        want = 0
        if (insig) {
            if (line ~ /\)[ \t]*$/) { insig = 0; want = 1 }
            else if (line ~ /\)[ \t]*\{[ \t]*$/) { insig = 0; check() }
            else if (line ~ /[;{}][ \t]*$/ || line ~ /^[^ \t]/ || FNR - start > 12) insig = 0
        } else if (line ~ /^[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*][A-Za-z_][A-Za-z0-9_]*\(/ &&
                   line !~ /^(typedef|return|else|extern)[ \t]/ && line !~ /;[ \t]*$/) {
            start = FNR; above = prev
            name = line; sub(/\(.*/, "", name); sub(/.*[ \t*]/, "", name)
            if (line ~ /\)[ \t]*$/) want = 1
            else if (line ~ /\)[ \t]*\{[ \t]*$/) check()
            else insig = 1
        }
        prev = line
    }' >"$tmp/nocomment"
    entries tests/comment-allow.txt | awk '{ print $1 ":" $2 }' >"$tmp/com-allow"
    awk -F: 'NR == FNR { ok[$0] = 1; next } !(($1 ":" $3) in ok) {
        print $1 ":" $2 ": no comment line above " $3 "() (STYLE.md: /* Verb the noun. */)"
    }' "$tmp/com-allow" "$tmp/nocomment"
    awk -F: '{ print $1 ":" $3 }' "$tmp/nocomment" >"$tmp/nocomment-keys"
    while read -r key; do
        grep -qxF "$key" "$tmp/nocomment-keys" ||
            echo "tests/comment-allow.txt: ${key%%:*} ${key#*:} has its comment now (or is gone): delete its line"
    done <"$tmp/com-allow"
}

# 5. Includes of provisioner headers that tests/layers.txt does not allow the including module.
layer_violations() {
    find provisioner -name '*.h' | awk -F/ '{ print $NF " " $(NF-1) }' | sort >"$tmp/hdr-mod"
    entries tests/layers.txt >"$tmp/layers"
    find provisioner -mindepth 2 -name '*.[ch]' | sort | xargs grep -Hn '^#include "' |
    awk -v hm="$tmp/hdr-mod" -v lay="$tmp/layers" '
    BEGIN {
        while ((getline l < hm) > 0) { split(l, a, " "); mod[a[1]] = a[2] }
        while ((getline l < lay) > 0) {
            m = l; sub(/:.*/, "", m); rest = l; sub(/^[^:]*:/, "", rest)
            n = split(rest, d, " "); known[m] = 1
            for (i = 1; i <= n; i++) ok[m " " d[i]] = 1
        }
    }
    {
        split($0, f, ":"); file = f[1]; line = f[2]
        k = split(file, p, "/"); from = p[k - 1]
        h = $0; sub(/.*#include "/, "", h); sub(/".*/, "", h)
        to = mod[h]
        if (to == "" || to == from) next
        if (!(from in known)) { print file ":" line ": module " from " is not in tests/layers.txt"; next }
        if (!((from " " to) in ok)) print file ":" line ": " from " includes " h " of " to " (tests/layers.txt)"
    }'
}

checks="banned calls, getenv, function comments, layering"
if [ "${1:-}" != --no-cppcheck ]; then
    run_cppcheck
    checks="cppcheck, $checks"
fi
code_lines >"$tmp/code"
banned_calls >"$tmp/banned"
report "$tmp/banned"
getenv_calls >"$tmp/getenv-out"
report "$tmp/getenv-out"
uncommented_functions >"$tmp/comments"
report "$tmp/comments"
layer_violations >"$tmp/layering"
report "$tmp/layering"
if [ $bad -ne 0 ]; then
    echo "lint: FAILED"
    exit 1
fi
echo "lint: ok ($checks)"
