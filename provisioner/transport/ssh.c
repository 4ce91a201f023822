/* ssh — libssh2 sessions on non-blocking sockets: connect, pin, authenticate, exec, upload. */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "term.h"

#define SSH_DEFAULT_OP_MS 300000
#define SSH_KEEPALIVE_S 15
/* One attempt of ssh_connect_wait: the TCP connect may take SSH_CONNECT_MAX_MS (a booting guest
 * answers or refuses well within it), the handshake, authentication and probe once connected
 * SSH_SESSION_MAX_MS: a guest that accepted the connection is making progress, and under TCG on a
 * busy host its sshd can need tens of seconds, so giving up early only restarts the same work. */
#define SSH_CONNECT_MAX_MS 10000
#define SSH_SESSION_MAX_MS 60000
/* The pauses between attempts: short at first (a node taken over from the warm pool answers within
 * a second or so of its NIC move), at most 2 s (an attempt that reaches a booting guest's sshd
 * costs the guest a key exchange under TCG: retrying faster slows its boot). */
#define SSH_RETRY_FIRST_MS 100
#define SSH_RETRY_MAX_MS 2000

struct ssh_conn {
	int fd;
	LIBSSH2_SESSION *s;
	char *label;      /* user@host:port, for messages */
	int op_ms;        /* bound on one operation */
	char *priv;       /* prefix for upload/download commands ("sudo -n"), or NULL */
	int execs;        /* commands started (channels opened) */
};

/* Why a connection attempt failed (connect_wait retries all but SSH_FAIL_HOSTKEY). */
enum ssh_fail { SSH_FAIL_NET = 1, SSH_FAIL_HOSTKEY };

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

/* Initialise libssh2 exactly once per process. */
static void ssh_lib_init(void)
{
	if (libssh2_init(0) != 0)
		abort();
}

/* Append the SSH wire encoding of a string. */
static void wire_string(struct sbx_buf *b, const void *data, size_t len)
{
	unsigned char l[4] = {len >> 24, len >> 16, len >> 8, len};
	sbx_buf_add(b, l, 4);
	sbx_buf_add(b, data, len);
}

/* Base64-decode (padding honoured); caller frees *out. */
static int b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	unsigned char *d = xmalloc(3 * (slen / 4) + 3);
	int n = EVP_DecodeBlock(d, (const unsigned char *)s, (int)slen);
	if (n < 0 || slen % 4 != 0) {
		free(d);
		return -1;
	}
	for (size_t i = slen; i > 0 && s[i - 1] == '='; i--)
		n--;
	*out = d;
	*outlen = (size_t)n;
	return 0;
}

/* Write the private key as PEM (SEC1 "EC PRIVATE KEY", the form libssh2 reads). */
static char *pem_private(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	if (bio == NULL)
		abort();
	if (PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL, 0, NULL, NULL) == 1) {
		long n = BIO_get_mem_data(bio, &p);
		out = xstrndup(p, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

/* Build "ecdsa-sha2-nistp256 BASE64 comment" from the key's public point. */
static char *pub_line(EVP_PKEY *pk, const char *comment)
{
	unsigned char q[133];
	size_t qlen = 0;
	struct sbx_buf b = {0};
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q, sizeof(q),
		&qlen) != 1)
		return NULL;
	wire_string(&b, "ecdsa-sha2-nistp256", 19);
	wire_string(&b, "nistp256", 8);
	wire_string(&b, q, qlen);
	char *enc = sbx_base64(b.data, b.len);
	char *line = xasprintf("ecdsa-sha2-nistp256 %s%s%s", enc, comment && *comment ? " " : "",
		comment ? comment : "");
	free(enc);
	sbx_buf_free(&b);
	return line;
}

/* Generate an ECDSA P-256 key pair. */
int ssh_keygen(const char *comment, char **priv_pem, char **pub, struct sbx_err *err)
{
	int rc = -1;
	char *pem = NULL, *line = NULL;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	if (pk == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "ssh keygen: OpenSSL could not generate a P-256 key");
		goto out;
	}
	pem = pem_private(pk);
	line = pub_line(pk, comment);
	if (pem == NULL || line == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "ssh keygen: could not encode the key");
		goto out;
	}
	*priv_pem = pem;
	*pub = line;
	pem = line = NULL;
	rc = 0;
out:
	free(pem);
	free(line);
	EVP_PKEY_free(pk);
	return rc;
}


/* The key type named inside a public key blob ("ssh-ed25519", ...); caller frees. */
static char *blob_type(const unsigned char *k, size_t len)
{
	if (len < 4)
		return NULL;
	uint32_t n = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
	if (n == 0 || n > len - 4)
		return NULL;
	return xstrndup((const char *)k + 4, n);
}

/* OpenSSH-style fingerprint "SHA256:..." of a key blob; caller frees. */
static char *blob_fingerprint(const unsigned char *k, size_t len)
{
	unsigned char md[32];
	EVP_Digest(k, len, md, NULL, EVP_sha256(), NULL);
	char *enc = sbx_base64(md, sizeof(md));
	enc[strcspn(enc, "=")] = '\0';
	char *fp = xasprintf("SHA256:%s", enc);
	free(enc);
	return fp;
}

/* Fingerprint of a "TYPE BASE64 [comment]" key line; caller frees. */
char *ssh_fingerprint(const char *keyline)
{
	const char *sp = keyline ? strchr(keyline, ' ') : NULL;
	unsigned char *blob = NULL;
	size_t n = 0;
	if (sp == NULL || b64_decode(sp + 1, strcspn(sp + 1, " \n"), &blob, &n) < 0)
		return xstrdup("(unparsable key)");
	char *fp = blob_fingerprint(blob, n);
	free(blob);
	return fp;
}

/* True when two key lines name the same key (comments ignored). */
static bool key_same(const char *a, const char *b)
{
	size_t la = strcspn(a, " "), lb = strcspn(b, " ");
	if (la != lb || strncmp(a, b, la) != 0 || a[la] != ' ' || b[lb] != ' ')
		return false;
	a += la + 1;
	b += lb + 1;
	la = strcspn(a, " \n");
	return la == strcspn(b, " \n") && strncmp(a, b, la) == 0;
}

/* Milliseconds left until a monotonic deadline (0 when passed). */
static int ms_left(int64_t deadline)
{
	int64_t left = deadline - sbx_mono_ms();
	return left > 0 ? (int)left : 0;
}

/* Wait until fd is ready for `events` or the deadline passes (-1). */
static int fd_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	for (;;) {
		int left = ms_left(deadline);
		if (left == 0)
			return -1;
		int n = poll(&p, 1, left > 1000 ? 1000 : left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connect one address without blocking past the deadline; returns the fd or -1 (errno set). */
static int tcp_try(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (fd_wait(fd, POLLOUT, deadline) < 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
		return fd;
	errno = soerr ? soerr : EIO;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Open a TCP connection to host:port before the deadline. */
static int tcp_connect(const char *host, int port, int64_t deadline, int *out, struct sbx_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char svc[16];
	snprintf(svc, sizeof(svc), "%d", port);
	int g = getaddrinfo(host, svc, &hints, &res);
	if (g != 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot resolve %s: %s", host, gai_strerror(g));
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = tcp_try(ai, deadline);
		e = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "connect: %s", strerror(e));
	*out = fd;
	return 0;
}

/* Wait for the socket in the direction libssh2 is blocked on; -1 on timeout. */
static int sess_wait(struct ssh_conn *c, int64_t deadline)
{
	int dir = libssh2_session_block_directions(c->s);
	short ev = 0;
	int next = 0;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		ev |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= POLLOUT;
	libssh2_keepalive_send(c->s, &next);
	if (ev == 0)
		ev = POLLIN;
	struct pollfd p = {.fd = c->fd, .events = ev};
	int left = ms_left(deadline);
	if (left == 0)
		return -1;
	if (poll(&p, 1, left > 1000 ? 1000 : left) < 0 && errno != EINTR)
		return -1;
	return 0;
}

/* Record libssh2's last error for `what`. */
static int sess_err(struct ssh_conn *c, int rc, const char *what, struct sbx_err *err)
{
	char *msg = NULL;
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: %s: timed out", c->label, what);
	libssh2_session_last_error(c->s, &msg, NULL, 0);
	return sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: %s: %s", c->label, what,
		msg && *msg ? msg : "failed");
}

/* Run a libssh2 call that may return LIBSSH2_ERROR_EAGAIN until it completes or times out. */
#define SSH_RETRY(c, deadline, rc, call)                                      \
	do {                                                                  \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN)                \
			if (sess_wait((c), (deadline)) < 0)                   \
				break;                                        \
	} while (0)

/* The server's host key as "TYPE BASE64"; caller frees. */
static char *sess_hostkey(struct ssh_conn *c)
{
	size_t len = 0;
	int type = 0;
	const char *k = libssh2_session_hostkey(c->s, &len, &type);
	char *t = k ? blob_type((const unsigned char *)k, len) : NULL;
	if (t == NULL)
		return NULL;
	char *enc = sbx_base64(k, len);
	char *line = xasprintf("%s %s", t, enc);
	free(t);
	free(enc);
	return line;
}

/* Check the offered host key against the pinned one. */
static int hostkey_check(struct ssh_conn *c, const char *pinned, const char *got, struct sbx_err *err)
{
	if (pinned == NULL || *pinned == '\0' || key_same(pinned, got))
		return 0;
	char *fp_pin = ssh_fingerprint(pinned), *fp_got = ssh_fingerprint(got);
	sbx_err_set(err, SBX_EXIT_FAILED,
		"ssh %s: host key changed: pinned %s, the host offered %s", c->label, fp_pin, fp_got);
	sbx_err_hint(err, "something else answers at that address, or the machine was rebuilt outside "
		"sandbox (the caller knows what to do next)");
	free(fp_pin);
	free(fp_got);
	return -1;
}

/* "user@host:port" of a target; caller frees. */
char *ssh_target_label(const struct ssh_target *t)
{
	return xasprintf("%s@%s:%d", t->user ? t->user : "root", t->host, t->port > 0 ? t->port : 22);
}

/* Allocate an unconnected handle. */
static struct ssh_conn *conn_new(const struct ssh_target *t)
{
	struct ssh_conn *c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	c->op_ms = SSH_DEFAULT_OP_MS;
	c->label = ssh_target_label(t);
	if (!sbx_streq(t->user ? t->user : "root", "root"))
		c->priv = xstrdup("sudo -n");
	return c;
}

/* Close a connection; NULL is a no-op. */
void ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->s) {
		libssh2_session_disconnect(c->s, "bye"); /* best effort, never waits */
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR); /* pending channel closes then fail at once */
		for (int i = 0; i < 100 && libssh2_session_free(c->s) == LIBSSH2_ERROR_EAGAIN; i++)
			;
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->label);
	free(c->priv);
	free(c);
}

/* Handshake and authenticate on an open socket; returns 0, -1 or -SSH_FAIL_HOSTKEY. */
static int sess_start(struct ssh_conn *c, const struct ssh_target *t, int64_t dl, char **hk,
	struct sbx_err *err)
{
	int rc;
	const char *user = t->user ? t->user : "root";
	c->s = libssh2_session_init();
	if (c->s == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: cannot create a session", c->label);
	libssh2_session_set_blocking(c->s, 0);
	SSH_RETRY(c, dl, rc, libssh2_session_handshake(c->s, c->fd));
	if (rc != 0)
		return sess_err(c, rc, "handshake", err);
	*hk = sess_hostkey(c);
	if (*hk == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: no usable host key", c->label);
	if (hostkey_check(c, t->pinned_key, *hk, err) < 0)
		return -SSH_FAIL_HOSTKEY;
	SSH_RETRY(c, dl, rc, libssh2_userauth_publickey_frommemory(c->s, user, strlen(user), NULL, 0,
		t->priv_pem, strlen(t->priv_pem), NULL));
	if (rc != 0)
		return sess_err(c, rc, "authentication", err);
	libssh2_keepalive_config(c->s, 1, SSH_KEEPALIVE_S);
	return 0;
}

/* One connection attempt: the TCP connect by tcp_dl, the whole attempt by dl (monotonic ms);
 * returns 0, -1, or -SSH_FAIL_HOSTKEY. */
static int connect_once(const struct ssh_target *t, int64_t tcp_dl, int64_t dl, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err)
{
	int port = t->port > 0 ? t->port : 22;
	char *hk = NULL;
	struct ssh_conn *c = conn_new(t);
	int rc;
	pthread_once(&ssh_once, ssh_lib_init);
	if (t->priv_pem == NULL) {
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: no private key", c->label);
		goto out;
	}
	rc = tcp_connect(t->host, port, tcp_dl < dl ? tcp_dl : dl, &c->fd, err);
	if (rc < 0) {
		sbx_err_prefix(err, "ssh %s", c->label);
		goto out;
	}
	rc = sess_start(c, t, dl, &hk, err);
	if (rc < 0)
		goto out;
	*out = c;
	c = NULL;
	if (hostkey) {
		*hostkey = hk;
		hk = NULL;
	}
out:
	free(hk);
	ssh_close(c);
	return rc;
}

/* Connect and authenticate once. */
int ssh_connect(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out, char **hostkey,
	struct sbx_err *err)
{
	int64_t dl = sbx_mono_ms() + timeout_ms;
	return connect_once(t, dl, dl, out, hostkey, err) < 0 ? -1 : 0;
}

/* Copy every message of one error object into another. */
static void err_copy(struct sbx_err *dst, const struct sbx_err *src)
{
	for (size_t i = 0; i < src->n; i++)
		sbx_err_set(dst, src->code ? src->code : SBX_EXIT_FAILED, "%s", src->msgs[i].text);
	if (src->hint)
		sbx_err_hint(dst, "%s", src->hint);
}

/* Prove the session works: `true` exits 0 within timeout_ms. */
int ssh_probe(struct ssh_conn *c, int timeout_ms, struct sbx_err *err)
{
	struct ssh_result r = {0};
	ssh_set_timeout(c, timeout_ms);
	int rc = ssh_exec(c, "true", NULL, &r, err);
	if (rc == 0 && r.status != 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: `true` exited %d", c->label, r.status);
	ssh_result_clear(&r);
	ssh_set_timeout(c, SSH_DEFAULT_OP_MS);
	return rc;
}

/* Connect once (TCP by tcp_dl, everything by dl) and, when probe, prove the session works by
 * running `true`. */
static int connect_probe(const struct ssh_target *t, bool probe, int64_t tcp_dl, int64_t dl,
	struct ssh_conn **out, char **hk, struct sbx_err *err)
{
	struct ssh_conn *c = NULL;
	char *key = NULL;
	int rc = connect_once(t, tcp_dl, dl, &c, &key, err);
	if (rc < 0)
		return rc;
	int left = ms_left(dl);
	if (probe && ssh_probe(c, left > 2000 ? left : 2000, err) < 0) {
		ssh_close(c);
		free(key);
		return -1;
	}
	*out = c;
	if (hk)
		*hk = key;
	else
		free(key);
	return 0;
}

/* The smaller of ms from now and the deadline, at least 500 ms from now. */
static int64_t attempt_dl(int64_t deadline, int ms)
{
	int left = ms_left(deadline);
	return sbx_mono_ms() + (left < 500 ? 500 : left > ms ? ms : left);
}

/* Connect with retry and backoff until the deadline, each attempt proven by `true` when probe. */
static int connect_wait(const struct ssh_target *t, bool probe, int timeout_ms, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err)
{
	struct sbx_backoff b;
	struct sbx_err last = SBX_ERR_INIT;
	int rc = -1, attempts = 0;
	sbx_backoff_init(&b, timeout_ms, SSH_RETRY_FIRST_MS, SSH_RETRY_MAX_MS);
	for (;;) {
		attempts++;
		sbx_err_clear(&last);
		rc = connect_probe(t, probe, attempt_dl(b.deadline_ms, SSH_CONNECT_MAX_MS),
			attempt_dl(b.deadline_ms, SSH_SESSION_MAX_MS), out, hostkey, &last);
		if (rc == 0 || rc == -SSH_FAIL_HOSTKEY || sbx_cancelled() || sbx_backoff_wait_intr(&b) < 0 ||
			sbx_cancelled())
			break;
	}
	if (rc < 0 && rc != -SSH_FAIL_HOSTKEY && sbx_cancelled()) {
		sbx_err_set(err, SBX_EXIT_FAILED, "interrupted while waiting for %s:%d to answer SSH (%d attempt(s))",
			t->host, t->port > 0 ? t->port : 22, attempts);
		rc = -1;
	} else if (rc < 0) {
		err_copy(err, &last);
		sbx_err_set(err, SBX_EXIT_FAILED, "%s:%d not ready after %d attempt(s) in %d s", t->host,
			t->port > 0 ? t->port : 22, attempts, timeout_ms / 1000);
		rc = -1;
	}
	sbx_err_clear(&last);
	return rc;
}

/* Connect with retry and backoff until the deadline, each attempt proven by `true`. */
int ssh_connect_wait(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err)
{
	return connect_wait(t, true, timeout_ms, out, hostkey, err);
}

/* ssh_connect_wait without the `true`. */
int ssh_connect_wait_unproven(const struct ssh_target *t, int timeout_ms, struct ssh_conn **out,
	char **hostkey, struct sbx_err *err)
{
	return connect_wait(t, false, timeout_ms, out, hostkey, err);
}

/* Bound every later operation on this connection. */
void ssh_set_timeout(struct ssh_conn *c, int timeout_ms)
{
	c->op_ms = timeout_ms > 0 ? timeout_ms : SSH_DEFAULT_OP_MS;
}

/* How many commands were started on the connection. */
int ssh_exec_count(const struct ssh_conn *c)
{
	return c ? c->execs : 0;
}

/* A label "user@host:port" for messages (owned by the connection). */
const char *ssh_label(const struct ssh_conn *c)
{
	return c->label;
}

/* Free the result's buffers. */
void ssh_result_clear(struct ssh_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

/* A local failure while feeding stdin (pump.ioerr says what). */
#define PUMP_LOCAL_ERROR (-10000)
#define PUMP_CHUNK 32768

/* The state of one exec while it pumps data. */
struct pump {
	const struct ssh_input *in;
	size_t nin, cur;       /* the piece of stdin being sent */
	uint64_t off;          /* bytes of it sent */
	int fd;                /* the current piece's file, or -1 */
	char buf[PUMP_CHUNK];  /* bytes of that file read, from boff to blen not yet sent */
	size_t blen, boff;
	char *ioerr;           /* what went wrong locally */
	bool eof_sent;
	struct sbx_buf out, err;
};

/* Read what is available from one stream; returns bytes read, 0, or a libssh2 error. */
static ssize_t pump_read(LIBSSH2_CHANNEL *ch, int stream, struct sbx_buf *b)
{
	char buf[16384];
	ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof(buf));
	if (n > 0)
		sbx_buf_add(b, buf, (size_t)n);
	return n;
}

/* Fill the buffer from the current piece's file (opened on first use). */
static int pump_fill(struct pump *p, const struct ssh_input *in)
{
	if (p->fd < 0 && (p->fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0) {
		p->ioerr = xasprintf("cannot open %s: %s", in->path, strerror(errno));
		return -1;
	}
	uint64_t want = in->len - p->off;
	ssize_t n = read(p->fd, p->buf, want < sizeof(p->buf) ? (size_t)want : sizeof(p->buf));
	if (n <= 0) {
		p->ioerr = n < 0 ? xasprintf("cannot read %s: %s", in->path, strerror(errno))
			: xasprintf("%s: shorter than %llu bytes (changed while sent?)", in->path,
				(unsigned long long)in->len);
		return -1;
	}
	p->blen = (size_t)n;
	p->boff = 0;
	return 0;
}

/* The next bytes of stdin to send (*n 0: all sent); -1 on a local error. */
static int pump_chunk(struct pump *p, const char **chunk, size_t *n)
{
	*n = 0;
	while (p->cur < p->nin) {
		const struct ssh_input *in = &p->in[p->cur];
		if (p->off == in->len) {
			if (p->fd >= 0)
				close(p->fd);
			p->fd = -1;
			p->cur++;
			p->off = 0;
			continue;
		}
		if (in->data) {
			uint64_t left = in->len - p->off;
			*chunk = (const char *)in->data + p->off;
			*n = left < PUMP_CHUNK ? (size_t)left : PUMP_CHUNK;
			return 0;
		}
		if (p->boff == p->blen && pump_fill(p, in) < 0)
			return -1;
		*chunk = p->buf + p->boff;
		*n = p->blen - p->boff;
		return 0;
	}
	return 0;
}

/* Feed stdin; then send EOF. Returns >0 on progress, 0 when blocked, <0 on error. */
static ssize_t pump_write(LIBSSH2_CHANNEL *ch, struct pump *p)
{
	const char *chunk = NULL;
	size_t len = 0;
	if (pump_chunk(p, &chunk, &len) < 0)
		return PUMP_LOCAL_ERROR;
	if (len > 0) {
		ssize_t n = libssh2_channel_write(ch, chunk, len);
		if (n > 0) {
			p->off += (uint64_t)n;
			if (p->in[p->cur].data == NULL)
				p->boff += (size_t)n;
		}
		return n == LIBSSH2_ERROR_EAGAIN ? 0 : n;
	}
	if (p->eof_sent)
		return 0;
	int rc = libssh2_channel_send_eof(ch);
	if (rc == 0)
		p->eof_sent = true;
	return rc == LIBSSH2_ERROR_EAGAIN ? 0 : rc == 0 ? 1 : rc;
}

/* Move data both ways until the remote side closes stdout. */
static int pump_run(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, struct pump *p, int64_t dl)
{
	for (;;) {
		ssize_t w = pump_write(ch, p);
		ssize_t o = pump_read(ch, 0, &p->out);
		ssize_t e = pump_read(ch, SSH_EXTENDED_DATA_STDERR, &p->err);
		if (w < 0 || (o < 0 && o != LIBSSH2_ERROR_EAGAIN) || (e < 0 && e != LIBSSH2_ERROR_EAGAIN))
			return (int)(w < 0 ? w : o < 0 && o != LIBSSH2_ERROR_EAGAIN ? o : e);
		if (o == 0 && e == 0 && libssh2_channel_eof(ch))
			return 0;
		if (w <= 0 && o <= 0 && e <= 0 && sess_wait(c, dl) < 0)
			return LIBSSH2_ERROR_EAGAIN;
	}
}

/* Open a session channel and start `cmd`. */
static LIBSSH2_CHANNEL *chan_start(struct ssh_conn *c, const char *cmd, int64_t dl, struct sbx_err *err)
{
	LIBSSH2_CHANNEL *ch;
	int rc;
	while ((ch = libssh2_channel_open_session(c->s)) == NULL &&
		libssh2_session_last_errno(c->s) == LIBSSH2_ERROR_EAGAIN)
		if (sess_wait(c, dl) < 0)
			break;
	if (ch == NULL) {
		sess_err(c, libssh2_session_last_errno(c->s), "open channel", err);
		return NULL;
	}
	c->execs++;
	SSH_RETRY(c, dl, rc, libssh2_channel_exec(ch, cmd));
	if (rc != 0) {
		sess_err(c, rc, "exec", err);
		libssh2_channel_free(ch);
		return NULL;
	}
	return ch;
}

/* Close the channel and collect the exit status (-1 when killed by a signal). */
static int chan_finish(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int64_t dl, int *status,
	struct sbx_err *err)
{
	int rc;
	char *sig = NULL;
	size_t siglen = 0;
	SSH_RETRY(c, dl, rc, libssh2_channel_close(ch));
	if (rc == 0)
		SSH_RETRY(c, dl, rc, libssh2_channel_wait_closed(ch));
	if (rc != 0)
		return sess_err(c, rc, "close channel", err);
	*status = libssh2_channel_get_exit_status(ch);
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL) == 0 && sig) {
		*status = -1;
		libssh2_free(c->s, sig);
	}
	return 0;
}

/* Run a command with stdin from pieces of memory and local files. */
int ssh_exec_stream(struct ssh_conn *c, const char *cmd, const struct ssh_input *in, size_t nin,
	struct ssh_result *res, struct sbx_err *err)
{
	int64_t dl = sbx_mono_ms() + c->op_ms;
	struct pump *p = xcalloc(1, sizeof(*p));
	int status = 0, rc = -1;
	*p = (struct pump){.in = in, .nin = in ? nin : 0, .fd = -1};
	LIBSSH2_CHANNEL *ch = chan_start(c, cmd, dl, err);
	if (ch == NULL)
		goto out;
	int prc = pump_run(c, ch, p, dl);
	if (prc == PUMP_LOCAL_ERROR)
		sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: exec: %s", c->label, p->ioerr);
	else if (prc != 0)
		sess_err(c, prc, "exec", err);
	if (prc != 0 || chan_finish(c, ch, dl, &status, err) < 0)
		goto out;
	res->status = status;
	res->out_len = p->out.len;
	res->err_len = p->err.len;
	res->out = sbx_buf_steal(&p->out);
	res->err = sbx_buf_steal(&p->err);
	rc = 0;
out:
	if (ch)
		libssh2_channel_free(ch);
	if (p->fd >= 0)
		close(p->fd);
	sbx_buf_free(&p->out);
	sbx_buf_free(&p->err);
	free(p->ioerr);
	free(p);
	return rc;
}

/* Run a command with binary stdin. */
int ssh_exec_input(struct ssh_conn *c, const char *cmd, const void *input, size_t input_len,
	struct ssh_result *res, struct sbx_err *err)
{
	struct ssh_input in = {.data = input ? input : "", .len = input ? input_len : 0};
	return ssh_exec_stream(c, cmd, &in, 1, res, err);
}

/* Run a command, feeding `input` (may be NULL) on stdin. */
int ssh_exec(struct ssh_conn *c, const char *cmd, const char *input, struct ssh_result *res,
	struct sbx_err *err)
{
	return ssh_exec_input(c, cmd, input, input ? strlen(input) : 0, res, err);
}

/* Wrap a command for the connection's privilege prefix; caller frees. */
static char *priv_cmd(struct ssh_conn *c, const char *script)
{
	char *q = sbx_shell_quote(script);
	char *cmd = xasprintf("%s%ssh -c %s", c->priv ? c->priv : "", c->priv ? " " : "", q);
	free(q);
	return cmd;
}

/* Run a helper command; a non-zero status is an error carrying the node's stderr (cleaned). */
static int run_checked(struct ssh_conn *c, const char *script, const void *in, size_t in_len,
	const char *what, struct ssh_result *r, struct sbx_err *err)
{
	char *cmd = priv_cmd(c, script);
	int rc = ssh_exec_input(c, cmd, in, in_len, r, err);
	free(cmd);
	if (rc == 0 && r->status != 0) {
		char *msg = term_sanitize_n(r->err ? r->err : "", r->err ? r->err_len : 0);
		sbx_err_set(err, SBX_EXIT_FAILED, "ssh %s: %s failed (exit %d): %s", c->label, what, r->status, msg);
		free(msg);
		ssh_result_clear(r);
		return -1;
	}
	return rc;
}

/* Upload data to path with mode, atomically. */
int ssh_upload(struct ssh_conn *c, const char *path, const void *data, size_t len, int mode,
	struct sbx_err *err)
{
	struct ssh_result r = {0};
	char *qp = sbx_shell_quote(path);
	char *script = xasprintf("set -e; mkdir -p -- \"$(dirname -- %s)\"; "
		"t=$(mktemp -- %s.sbx-XXXXXX); trap 'rm -f -- \"$t\"' EXIT; cat > \"$t\"; "
		"chmod %o \"$t\"; mv -f -- \"$t\" %s; trap - EXIT", qp, qp, (unsigned)mode & 07777, qp);
	char *what = xasprintf("upload to %s", path);
	int rc = run_checked(c, script, data, len, what, &r, err);
	ssh_result_clear(&r);
	free(what);
	free(script);
	free(qp);
	return rc;
}

/* Download a remote file. */
int ssh_download(struct ssh_conn *c, const char *path, char **data, size_t *len, struct sbx_err *err)
{
	struct ssh_result r = {0};
	char *qp = sbx_shell_quote(path);
	char *script = xasprintf("cat -- %s", qp);
	char *what = xasprintf("download of %s", path);
	int rc = run_checked(c, script, NULL, 0, what, &r, err);
	if (rc == 0) {
		*data = r.out;
		*len = r.out_len;
		r.out = NULL;
	}
	ssh_result_clear(&r);
	free(what);
	free(script);
	free(qp);
	return rc;
}

/* The text between a BEGIN and an END marker line of cloud-init's output (caller frees), or NULL
 * when the block is not complete. The last complete block counts (a reboot prints again). */
static char *console_block(const char *console, const char *what)
{
	char *begin = xasprintf("-----BEGIN SSH HOST KEY %s-----", what), *end = xasprintf("-----END SSH HOST KEY %s-----", what);
	const char *b = NULL, *e = NULL;
	for (const char *p = console; (p = strstr(p, begin)) != NULL; p += strlen(begin)) {
		const char *q = strstr(p, end);
		if (q)
			b = p, e = q;
	}
	char *block = b ? xstrndup(b, (size_t)(e - b)) : NULL;
	free(begin);
	free(end);
	return block;
}

/* Whether the console vouches for a host key. */
int ssh_hostkey_on_console(const char *console, const char *keyline)
{
	char *keys = console ? console_block(console, "KEYS") : NULL;
	char *fps = console ? console_block(console, "FINGERPRINTS") : NULL;
	const char *sp = keyline ? strchr(keyline, ' ') : NULL;
	char *b64 = sp ? xstrndup(sp + 1, strcspn(sp + 1, " \n")) : NULL, *fp = ssh_fingerprint(keyline);
	int rc = keys == NULL && fps == NULL ? 0 : -1;
	if ((keys && b64 && *b64 && strstr(keys, b64)) || (fps && strstr(fps, fp)))
		rc = 1;
	free(keys);
	free(fps);
	free(b64);
	free(fp);
	return rc;
}
