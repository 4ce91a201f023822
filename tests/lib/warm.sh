# The warm pool of a test's state, for tests that run `sandbox daemon --pool`. Source it after
# harness.sh and daemon.sh.
#   members       the names of the pool's members (`sandbox pool --json`)
#   pool_empty    whether the state records no member
#   empty_pool    leave no member: a daemon without --pool destroys them (fails after 300 s); then
#                 `gc` deletes the pool network, which outlives its last member once it is claimed
members() { "$SANDBOX" pool --json 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'; }
pool_empty() { [ -z "$(members)" ]; }
empty_pool() {
    if ! pool_empty; then
        daemon_start "" --interval 1
        until_true 300 pool_empty || fail "the daemon without --pool left members: $(members)"
        daemon_stop ""
    fi
    "$SANDBOX" gc --env sbx-pool --delete >/dev/null 2>&1
}
