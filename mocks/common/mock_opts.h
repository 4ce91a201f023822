/*
 * mock_opts — the command line every mock shares (--listen, --data, --api-key, ...) plus its own.
 *
 * Secrets stay out of argv where it matters: --api-key-file and --webhook-secret-file read the
 * key from a file that only its owner may access (mode 0600 or stricter; anything else is a
 * usage error), one line, trailing whitespace dropped. Without any key the API is open (local
 * use). --allow-callback CIDR (repeatable) lists the networks webhooks and callbacks may go to;
 * without it: this machine only (127.0.0.0/8 and ::1/128), see mock_allow.h.
 */
#ifndef SBX_MOCK_OPTS_H
#define SBX_MOCK_OPTS_H

#include "mock_allow.h"
#include "mock_kv.h"
#include "mock_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A mock-specific option: "--name VALUE" (has_arg) or "--name" (flag, value "1"). */
struct mock_optdef {
	const char *name;   /* without the dashes: "callback-url" */
	bool has_arg;
	const char *env;    /* environment variable used when the option is absent, or NULL */
	const char *help;   /* one line for --help */
};

struct mock_opts {
	char *listen_host;       /* --listen HOST:PORT (default 127.0.0.1:0) */
	int listen_port;
	char *data;              /* --data FILE: SQLite store, NULL = in memory */
	char *api_key;           /* --api-key KEY, --api-key-file FILE or $SBX_MOCK_API_KEY; NULL = no auth */
	size_t max_body;         /* --max-body SIZE (default 1M) */
	size_t max_records;      /* --max-records N per collection (default 10000, oldest evicted) */
	size_t max_store_bytes;  /* --max-store-bytes SIZE per collection (default 128M, oldest evicted) */
	size_t max_conns_per_ip; /* --max-conns-per-ip N open HTTP connections per address (default 256) */
	int64_t idle_timeout_ms; /* --idle-timeout DUR: idle HTTP connections, SMTP sessions (default 30s) */
	size_t webhook_workers;  /* --webhook-workers N deliveries in flight (default 4) */
	size_t webhook_queue;    /* --webhook-queue N deliveries waiting (default 10000) */
	char *webhook_secret;    /* --webhook-secret S, --webhook-secret-file FILE or $SBX_MOCK_WEBHOOK_SECRET */
	struct mock_allow allow_callback; /* --allow-callback CIDR...; default 127.0.0.0/8, ::1/128 */
	bool allow_given;        /* an --allow-callback replaced the default */
	bool callback_numeric;   /* callback hosts must be IP literals: no DNS (fuzzers; no option) */
	int webhook_attempts;    /* --webhook-attempts N (default 5) */
	int64_t webhook_backoff_ms; /* --webhook-backoff MS first retry delay, doubled (default 500) */
	int64_t webhook_timeout_ms; /* --webhook-timeout MS per attempt (default 5000) */
	bool quiet;              /* --quiet: no access log */
	struct mock_kvlist extra; /* mock-specific options by name (see mock_opts_get) */
};

/*
 * Parse argv. `prog` is the program name for --help, `extra` a table of mock-specific options
 * (may be NULL when nextra == 0). Returns 0, 1 when --help was printed (exit 0), or -1 with a
 * message in e (exit 2). Free with mock_opts_free (also after a failure).
 */
int mock_opts_parse(struct mock_opts *o, int argc, char **argv, const char *prog,
		    const struct mock_optdef *extra, size_t nextra, struct mock_err *e) MOCK_WUR;
/* Defaults only (what tests and fuzzers use without a command line). */
void mock_opts_defaults(struct mock_opts *o);
/* The value of a mock-specific option (or its environment variable), or NULL. */
const char *mock_opts_get(const struct mock_opts *o, const char *name);
/*
 * Read a secret from the file at path (a mock's own --NAME-file option): a regular file only its
 * owner may access, one line of at most 4095 bytes, trailing whitespace dropped. 0 and *dst
 * replaced (caller frees), or -1 with a message naming --NAME in e.
 */
int mock_opts_secret_file(const char *name, char **dst, const char *path, struct mock_err *e) MOCK_WUR;
/* Free what the options hold (not the struct itself). */
void mock_opts_free(struct mock_opts *o);

#endif
