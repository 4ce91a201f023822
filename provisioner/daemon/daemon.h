/*
 * daemon — `sandbox daemon`: the reaper loop and its HTTP side, one process on one state.
 *
 * Every interval it reaps (env_reap_watched: the same claim, lock and ownership checks as
 * `sandbox reap`) and records expiry warnings (24 h, 1 h and 10 min ahead, once per environment,
 * offset and expiry: state_warn_record), POSTing each new one and each reap to the environment's
 * webhook (notify:) from the state's outbox, at least once (daemon_notify.c). It serves GET /healthz, /metrics
 * (Prometheus text) and / (a read-only HTML page of the environments, never a secret) with bounded
 * connections. Logs are JSON lines on stderr. A PostgreSQL state whose connection drops is
 * reconnected with a backoff (state_reconnect), its passes skipped meanwhile. SIGTERM/SIGINT stop
 * it after the teardowns of the current pass; a second signal stops those between steps
 * (journaled: the next reaper resumes them as soon as this daemon's liveness lock is free,
 * state_reaper_hold; `sandbox down ENV` at once);
 * a third exits at once.
 *
 * The warm pool (daemon_warm.c, its own thread): every few seconds, each --pool shape's count of
 * members kept booted and SSH-ready (env_warm.h), members older than their image replaced, the
 * others (no longer in --pool, beyond the count, broken, left booting) destroyed; the pool network
 * deleted once no member is left. Members being booted when it stops stay booting in the state: the
 * next daemon destroys and replaces them.
 */
#ifndef SBX_DAEMON_H
#define SBX_DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "env_config.h"
#include "env_warm.h"
#include "util.h"

struct daemon_opts {
	const char *host;    /* numeric address or name to listen on */
	int port;            /* 0: any free port */
	int64_t interval_s;  /* seconds between reaper passes (> 0) */
	FILE *out;           /* where "listening on http://ADDR:PORT" goes once bound */
	const struct warm_shape *pool; /* --pool: the warm pool's shapes (none: its members are destroyed) */
	size_t npool;
};

/* The offsets (seconds ahead of the expiry) the daemon warns at, largest first. */
extern const int64_t daemon_warn_offsets[];
extern const size_t daemon_nwarn_offsets;

/* Run until SIGTERM/SIGINT. Returns 0 after a clean stop, -1 with err set when it cannot start
 * (state, address). */
int daemon_run(const struct env_config *cfg, const struct daemon_opts *o, struct sbx_err *err) SBX_WUR;

/* `sandbox netboot-serve DIR ADDRESS`: the HTTP side of the network boot service whose files are in
 * DIR (providers/prov_netboot.c), listening on ADDRESS at a free port (written to DIR/http.port,
 * then its pid to DIR/http.pid). Returns after SIGTERM/SIGINT or once DIR/owner is gone (0), or -1
 * when it cannot listen. */
int daemon_netboot_serve(const char *dir, const char *address, struct sbx_err *err) SBX_WUR;

/* Split "HOST:PORT" ("[v6]:PORT" for IPv6) into a copy of the host (caller frees) and the port
 * (0..65535); -1 with a usage error otherwise. */
int daemon_parse_listen(const char *s, char **host, int *port, struct sbx_err *err) SBX_WUR;

#endif
