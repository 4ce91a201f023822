# The libvirt objects a test made on $V (use_real_libvirt), by name. Source it after harness.sh.
#   lv_names REGEX   the names of domains, networks and volumes of pool "sandbox" matching REGEX (grep -E)
#   lv_count REGEX   how many there are
#   lv_purge REGEX   destroy and undefine/delete them all (a cleanup: state or not)
lv_names() {
    { $V list --all --name; $V net-list --all --name; $V vol-list sandbox 2>/dev/null | awk 'NR > 2 { print $1 }'; } |
        grep -E "$1"
}
lv_count() { lv_names "$1" | grep -c .; }
lv_purge() {
    for d in $($V list --all --name | grep -E "$1"); do $V destroy "$d"; $V undefine "$d"; done
    for n in $($V net-list --all --name | grep -E "$1"); do $V net-destroy "$n"; $V net-undefine "$n"; done
    for v in $($V vol-list sandbox 2>/dev/null | awk 'NR > 2 { print $1 }' | grep -E "$1"); do
        $V vol-delete "$v" --pool sandbox
    done
}
# lv_seed_envs BIN BLUEPRINT PREFIX COUNT: environments PREFIX1..PREFIXCOUNT, each by its own
# `BIN up --no-wait` (two at a time) with SANDBOX_TEST_NO_START=1: their networks, volumes, seeds
# and domains defined, not started. Returns 1 when an up failed: their names in $T/up-failed,
# their output in $T/up-NAME.log.
lv_seed_envs() {
    : >"$T/up-failed"
    i=1; while [ "$i" -le "$4" ]; do echo "$3$i"; i=$((i + 1)); done |
        SANDBOX_TEST_NO_START=1 SANDBOX_CPU_OVERCOMMIT=1000 xargs -P 2 -I{} sh -c \
            '"$0" up "$1" --name "$2" --no-wait >"$3/up-$2.log" 2>&1 || echo "$2" >>"$3/up-failed"' \
            "$1" "$2" {} "$T"
    [ ! -s "$T/up-failed" ]
}
