/*
 * ssh — the transport to every node: libssh2 sessions authenticated with the environment's key,
 * host keys pinned on first contact (a changed key is an error), exec with exit status and
 * separate stdout/stderr, stdin streamed from memory or local files, upload with mode and atomic
 * rename, keepalive, and connect-with-retry until a deadline (backoff, never a fixed sleep).
 */
#ifndef SBX_SSH_H
#define SBX_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Generate an environment key pair (ECDSA P-256 via OpenSSL): the private key as PEM and the
 * public key in OpenSSH authorized_keys form ("ecdsa-sha2-nistp256 AAAA... comment").
 * Both caller-freed. */
int ssh_keygen(const char *comment, char **priv_pem, char **pub_line, struct sbx_err *err) SBX_WUR;

struct ssh_target {
	const char *host;
	int port;                 /* 0 = 22 */
	const char *user;         /* e.g. "sandbox" */
	const char *priv_pem;     /* private key (PEM text) */
	const char *pinned_key;   /* expected host key "TYPE BASE64" (NULL = first contact: accept) */
};

struct ssh_conn;

/* Connect and authenticate once (timeout_ms bounds the attempt). *hostkey = the server's key
 * "TYPE BASE64" (caller frees) for pinning. A pinned key mismatch fails with a clear error. */
int ssh_connect(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out, char **hostkey,
	struct sbx_err *err) SBX_WUR;
/* Connect with retry and backoff (100 ms, doubling up to 2 s) until timeout_ms (for booting
 * nodes), each attempt proven by running `true`. Refused connections, timeouts and authentication failures (cloud-init not done
 * yet) are retried; a pinned host key mismatch is not. On failure err holds the last attempt's
 * error followed by "HOST:PORT not ready after N attempt(s) in S s". Sessions use non-blocking
 * sockets: no call blocks past its deadline. */
int ssh_connect_wait(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err) SBX_WUR;
/* ssh_connect_wait, each attempt ending once authenticated, with no `true` run: for a caller whose
 * first command proves the session and reconnects when it fails (see ssh_pool_take_unproven). */
int ssh_connect_wait_unproven(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err) SBX_WUR;
void ssh_close(struct ssh_conn *c); /* NULL is a no-op */

struct ssh_result {
	int status;   /* exit status; -1 when killed by a signal */
	char *out;    /* stdout (NUL-terminated, caller frees via ssh_result_clear) */
	char *err;    /* stderr */
	size_t out_len, err_len;
};
/* Run `cmd` (through the remote shell), feeding `input` (may be NULL) on stdin. A non-zero exit
 * status is not an error of this call: check res->status. */
int ssh_exec(struct ssh_conn *c, const char *cmd, const char *input, struct ssh_result *res,
	struct sbx_err *err) SBX_WUR;
void ssh_result_clear(struct ssh_result *res);
/* Upload `data` to `path` with `mode`, atomically (write a temp file next to it, chmod, rename;
 * missing parent directories are created). Runs through the remote shell (`cat`, `mv -f`), as
 * root through `sudo -n` when the connection's user is not root. A failure carries the node's
 * stderr. */
int ssh_upload(struct ssh_conn *c, const char *path, const void *data, size_t len, int mode,
	struct sbx_err *err) SBX_WUR;
/* Download a remote file (caller frees *data; NUL-terminated, *len excludes the NUL); as root
 * through `sudo -n` when the user is not root. */
int ssh_download(struct ssh_conn *c, const char *path, char **data, size_t *len, struct sbx_err *err) SBX_WUR;

/* Like ssh_exec with binary stdin of input_len bytes (input may be NULL). */
int ssh_exec_input(struct ssh_conn *c, const char *cmd, const void *input, size_t input_len,
	struct ssh_result *res, struct sbx_err *err) SBX_WUR;

/* One piece of a command's stdin: `len` bytes at `data`, or (data NULL) the first `len` bytes of
 * the local file `path`, read while they are sent. */
struct ssh_input {
	const void *data;
	const char *path;
	uint64_t len;
};
/*
 * Like ssh_exec_input with stdin the concatenation of n pieces: a streaming upload (files of
 * hundreds of megabytes go through a 32 KiB buffer, never whole into memory). A file that cannot
 * be read, or ends before its len, fails the call ("ssh LABEL: exec: PATH: shorter than N bytes");
 * the remote command then sees its stdin cut short. The operation's bound (ssh_set_timeout)
 * covers the whole transfer: raise it for large files.
 */
int ssh_exec_stream(struct ssh_conn *c, const char *cmd, const struct ssh_input *in, size_t n,
	struct ssh_result *res, struct sbx_err *err) SBX_WUR;
/* Bound every later operation (exec, upload, download) on c to timeout_ms (default 300 s;
 * <= 0 restores the default). A dead host fails the operation with "timed out". */
void ssh_set_timeout(struct ssh_conn *c, int timeout_ms);
/* Prove the session works: `true` exits 0 within timeout_ms (later operations get the default
 * bound again). */
int ssh_probe(struct ssh_conn *c, int timeout_ms, struct sbx_err *err) SBX_WUR;
/* How many commands (exec, upload, download, probe: one channel each) were started on c since it
 * connected, the connection's own probe included; 0 for NULL. For reports and tests: a round trip
 * to a slow guest is what a fast path saves. */
int ssh_exec_count(const struct ssh_conn *c);
/* "user@host:port", for messages; owned by c. */
const char *ssh_label(const struct ssh_conn *c);
/* The same label for a target; caller frees. */
char *ssh_target_label(const struct ssh_target *t);

/*
 * A hand-over of open, authenticated connections from one phase to the next (readiness → roles),
 * keyed by "user@host:port", so a node is not asked for a second handshake, the slow part of a
 * connection to a TCG guest (seconds of key exchange on a busy host). Thread-safe.
 */
struct ssh_pool;
struct ssh_pool *ssh_pool_new(void);
/* Keep c for a later take (the pool owns it; an older one with the same label is closed).
 * A NULL pool closes c. */
void ssh_pool_put(struct ssh_pool *p, struct ssh_conn *c);
/* The kept connection for t, proven alive by running `true`; NULL when there is none or it is
 * dead (then it is closed). A NULL pool has none. */
struct ssh_conn *ssh_pool_take(struct ssh_pool *p, const struct ssh_target *t);
/* The kept connection for t as it is, not proven alive (no round trip): for a caller whose first
 * command notices a dead connection and then connects anew. NULL when there is none. While t is
 * expected (ssh_pool_expect), waits for its put or its ssh_pool_give_up. */
struct ssh_conn *ssh_pool_take_unproven(struct ssh_pool *p, const struct ssh_target *t);
/* A connection for t is on its way (readiness runs alongside the roles): takes of t wait for it. */
void ssh_pool_expect(struct ssh_pool *p, const struct ssh_target *t);
/* The expected connection for t will not come (its node is not ready): takes of t return NULL,
 * and ssh_pool_gave_up says so. */
void ssh_pool_give_up(struct ssh_pool *p, const struct ssh_target *t);
/* Whether ssh_pool_give_up was called for t. */
bool ssh_pool_gave_up(struct ssh_pool *p, const struct ssh_target *t);
/* Close every connection not taken; NULL is a no-op. */
void ssh_pool_free(struct ssh_pool *p);
/*
 * Whether a machine's console output vouches for a host key line "TYPE BASE64": cloud-init's
 * keys_to_console prints the host keys between "-----BEGIN SSH HOST KEY KEYS-----" and
 * "-----END SSH HOST KEY KEYS-----" and their fingerprints between "...FINGERPRINTS-----" markers.
 * 1: the key (or its SHA256 fingerprint) is listed; 0: no complete block printed yet; -1: a
 * complete block lists other keys only (someone else answered on the node's address).
 */
int ssh_hostkey_on_console(const char *console, const char *keyline);
/* The OpenSSH fingerprint ("SHA256:...") of a key line "TYPE BASE64 [comment]"; caller frees. */
char *ssh_fingerprint(const char *keyline);

#endif
