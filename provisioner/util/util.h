/*
 * util — allocation that aborts on out-of-memory, the error object every module reports into,
 * backoff against a deadline, units, small file and hashing helpers. It includes the helpers the
 * mocks share (buf.h, clock.h, random.h, sha256.h: each stands alone, the mocks compile them too).
 */
#ifndef SBX_UTIL_H
#define SBX_UTIL_H

#include "buf.h"
#include "clock.h"
#include "random.h"
#include "sha256.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SBX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SBX_WUR __attribute__((warn_unused_result))
#define SBX_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes of the CLI contract. */
enum sbx_exit {
	SBX_EXIT_OK = 0,
	SBX_EXIT_FAILED = 1,  /* the operation failed */
	SBX_EXIT_USAGE = 2,   /* usage or blueprint error */
	SBX_EXIT_REFUSED = 3, /* protected, locked, no capacity */
};

/* Allocation wrappers: never return NULL (abort with a message on out-of-memory). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow *p (an array of *cap elements of size `size`) so that it holds at least `need`. */
void xgrow(void *pp, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);        /* xstrdup(NULL) == NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) SBX_PRINTF(1, 2); /* caller frees */
char *xvasprintf(const char *fmt, va_list ap);

/*
 * The error object. Modules add messages and return -1; only the top level prints.
 * A message added with a position prints as "FILE:LINE:COL: message".
 * `hint` is what the user should do next ("run `sandbox down demo` first").
 */
struct sbx_err_msg {
	char *file; /* NULL when the message has no position */
	int line, col;
	char *text;
};
struct sbx_err {
	int code;                  /* enum sbx_exit; 0 until something is added */
	struct sbx_err_msg *msgs;
	size_t n, cap;
	char *hint;
};
#define SBX_ERR_INIT {0, NULL, 0, 0, NULL}

/* Add a message (code = enum sbx_exit; the first non-zero code sticks). Returns -1. */
int sbx_err_set(struct sbx_err *e, int code, const char *fmt, ...) SBX_PRINTF(3, 4);
/* Add a message at FILE:LINE:COL (a blueprint error, code SBX_EXIT_USAGE). Returns -1. */
int sbx_err_at(struct sbx_err *e, const char *file, int line, int col, const char *fmt, ...)
	SBX_PRINTF(5, 6);
/* Set the next-step hint (replaces a previous one). */
void sbx_err_hint(struct sbx_err *e, const char *fmt, ...) SBX_PRINTF(2, 3);
/* Prefix every message added so far with "prefix: ". */
void sbx_err_prefix(struct sbx_err *e, const char *fmt, ...) SBX_PRINTF(2, 3);
bool sbx_err_isset(const struct sbx_err *e);
/* The first message's text (without position), or "" when empty. */
const char *sbx_err_first(const struct sbx_err *e);
/* Print every message ("sandbox: " prefix when unpositioned) and the hint to f, each cleaned for a
 * terminal (term_sanitize): messages may carry a guest's or a remote daemon's text. */
void sbx_err_print(const struct sbx_err *e, FILE *f);
/* Release the messages; the object can be reused. */
void sbx_err_clear(struct sbx_err *e);

/* Time. */
int64_t sbx_now(void);     /* wall clock, seconds since the epoch (or the fake clock) */
/* Tests: make sbx_now() return `now` (0: the real clock again). Set from env_config. */
void sbx_fake_now_set(int64_t now);

/*
 * Backoff against a deadline: first delay `initial_ms`, doubled up to `max_ms`, never past the
 * deadline. sbx_backoff_wait() sleeps and returns 0, or returns -1 (without sleeping) once
 * the deadline has passed.
 */
struct sbx_backoff {
	int64_t deadline_ms; /* monotonic */
	int64_t delay_ms, max_ms;
};
void sbx_backoff_init(struct sbx_backoff *b, int64_t timeout_ms, int64_t initial_ms, int64_t max_ms);
int sbx_backoff_wait(struct sbx_backoff *b);
bool sbx_backoff_expired(const struct sbx_backoff *b);

/* Units: "512Mi", "2Gi", "1G", "4096" (bytes) → bytes; "90s", "15m", "8h", "3d", "1w" → seconds. */
int sbx_parse_size(const char *s, uint64_t *bytes);
int sbx_parse_duration(const char *s, int64_t *secs);
/* The same, where a bare number is seconds ("30" = 30 s): what command-line options and SANDBOX_*
 * variables take (a blueprint keeps the unit required: "ttl: 8" is more likely 8 hours). */
int sbx_parse_duration_arg(const char *s, int64_t *secs);
/* "1h 5m", "3d 2h", "45s": for humans; writes into buf. */
const char *sbx_fmt_duration(int64_t secs, char *buf, size_t len);
/* "512Mi", "2Gi": exact binary unit when possible. */
const char *sbx_fmt_size(uint64_t bytes, char *buf, size_t len);

/* Files. */
int sbx_read_file(const char *path, char **data, size_t *len, struct sbx_err *e); /* NUL-terminated */
/* Write atomically with the given mode: a temp file beside path created exclusively (mkostemp:
 * unpredictable name, O_EXCL, mode 0600 until written), then rename. */
int sbx_write_file(const char *path, const void *data, size_t len, int mode, struct sbx_err *e);
int sbx_mkdir_p(const char *path, int mode, struct sbx_err *e);
/* Remove a directory tree; missing is not an error. */
int sbx_rm_rf(const char *path);
char *sbx_dirname(const char *path);                       /* caller frees */
char *sbx_path_join(const char *dir, const char *rel);     /* rel if absolute; caller frees */

/* Base64 (standard alphabet, padded, no line breaks) of n bytes; caller frees. */
char *sbx_base64(const void *d, size_t n);

/* Hashing: lowercase hex SHA-256 of a file (out has 65 bytes); sbx_sha256_hex is in sha256.h. */
int sbx_sha256_file(const char *path, char out[65], struct sbx_err *e);
/* A random token of `len` characters from [A-Za-z0-9]; caller frees. */
char *sbx_random_token(size_t len);

/* Strings. */
bool sbx_streq(const char *a, const char *b); /* NULL-safe */
bool sbx_has_prefix(const char *s, const char *prefix);
/* A name usable in resource names: [a-z0-9-], starting with a letter, at most 40 chars. */
bool sbx_valid_name(const char *s);
/* The warm pool's objects are named like an environment's ("sbx-pool.<state>.*", owner tag
 * "sbx-pool"): no environment may take that name. */
#define SBX_POOL_ENV    "pool"
#define SBX_POOL_PREFIX "sbx-" SBX_POOL_ENV "."

/* An XML-escaped copy of s (for libvirt XML and templates); caller frees. */
char *sbx_xml_escape(const char *s);
/* The directory of the running executable (caller frees), or NULL. */
char *sbx_exe_dir(void);
/* The project's cluster/ directory (node scripts, manifests): `given` when set, else found next to
 * the binary (PREFIX/bin → PREFIX/share/sandbox/cluster; build/sandbox or build/asan/sandbox in the
 * tree), /usr/local/share/sandbox/cluster, ./cluster: the first that holds the file `probe`.
 * Caller frees; NULL when none does. */
char *sbx_cluster_dir(const char *given, const char *probe);
/* s quoted for a POSIX shell: '...', each ' written as '\'' ; caller frees. */
char *sbx_shell_quote(const char *s);

/*
 * Processes. Run argv (argv[0] looked up in PATH; no shell) with stdin from /dev/null and wait at
 * most timeout_ms (<= 0: no limit; on expiry the child is killed with SIGKILL). When out != NULL,
 * stdout is captured into *out (NUL-terminated, caller frees; written only on success), else it
 * is discarded. On failure the error names argv[0] and the last line of its stderr.
 * Returns 0 when the child exits with status 0.
 */
int sbx_run(char *const argv[], int64_t timeout_ms, char **out, struct sbx_err *e) SBX_WUR;

/*
 * Like sbx_backoff_wait, but a signal caught during the sleep (a Ctrl-C handler installed without
 * SA_RESTART) ends it: returns 0 after a full sleep, 1 when interrupted, -1 once the deadline passed.
 */
int sbx_backoff_wait_intr(struct sbx_backoff *b);

/*
 * Process-wide cancellation: set once by a stop request (the CLI's first SIGINT/SIGTERM, the
 * daemon's second) and never cleared. Waits for a machine (SSH readiness, its console, a role's
 * health check) give up when it is set, so an interrupted `up` ends within a backoff step.
 * sbx_cancel is async-signal-safe.
 */
void sbx_cancel(void);
bool sbx_cancelled(void);

#endif
