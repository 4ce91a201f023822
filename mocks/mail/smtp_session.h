/*
 * smtp_session — the SMTP protocol state machine of one connection, without any I/O.
 *
 * The connection layer feeds received bytes with smtp_session_feed(); the session splits them into
 * command lines (or DATA lines), answers each command into an output buffer the layer sends with
 * smtp_session_output(), and calls the hooks for policy (sender, recipient, credentials) and for
 * delivering a complete message. Replies to pipelined commands accumulate in the output buffer
 * until the layer takes them, so a whole pipelined batch is answered with one write.
 *
 * Supported: EHLO/HELO, MAIL FROM (SIZE=, BODY=), RCPT TO, DATA (dot-unstuffing, the stored
 * message keeps the client's line endings), RSET, NOOP, QUIT, VRFY, HELP, STARTTLS (when the
 * layer can do TLS), AUTH PLAIN (initial response or 334 continuation). Extensions advertised:
 * SIZE, 8BITMIME, PIPELINING, ENHANCEDSTATUSCODES, STARTTLS, AUTH PLAIN.
 *
 * Limits: a line (command or DATA line, line ending included) longer than max_line is answered
 * "500 5.5.2 line too long" (in DATA, once the message ends, and the message is dropped); a message
 * over max_size is answered 552 (at MAIL when SIZE= declares it, else at the end of DATA).
 *
 * Not thread-safe: one session belongs to one connection thread.
 */
#ifndef SBX_SMTP_SESSION_H
#define SBX_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

/* A reply chosen by a hook: an SMTP code (e.g. 550) and a text ("5.1.1 no such user"). */
struct smtp_reply {
	int code;
	char text[256];
};

/* The envelope of a message being delivered (valid during the deliver hook only). */
struct smtp_envelope {
	const char *helo;       /* EHLO/HELO argument */
	const char *from;       /* MAIL FROM address ("" for the null sender) */
	const char *const *rcpt; /* RCPT TO addresses */
	size_t nrcpt;
	const char *auth_user;  /* authenticated user, or NULL */
	bool tls;               /* received over TLS */
	bool esmtp;             /* EHLO (not HELO) was used */
	const char *peer;       /* the client's address (smtp_session_set_peer), or NULL */
};

/*
 * Policy and delivery callbacks; any may be NULL (accept). A hook returns 0 to accept, or -1
 * after filling *r with the refusal. deliver gets the message after dot-unstuffing.
 */
struct smtp_hooks {
	int (*mail)(void *arg, const char *from, struct smtp_reply *r);
	int (*rcpt)(void *arg, const char *to, struct smtp_reply *r);
	int (*auth)(void *arg, const char *user, const char *pass, struct smtp_reply *r);
	int (*deliver)(void *arg, const struct smtp_envelope *env, const char *data, size_t len,
		       struct smtp_reply *r);
	void *arg;
};

struct smtp_config {
	const char *hostname;   /* our name in the greeting and EHLO reply */
	size_t max_line;        /* longest line accepted, ending included (>= 64; RFC 5321: 1000) */
	size_t max_size;        /* largest message accepted (advertised with SIZE) */
	size_t max_rcpt;        /* most recipients per message */
	bool tls_available;     /* advertise and accept STARTTLS */
	bool auth_required;     /* MAIL needs a successful AUTH first */
};

struct smtp_session;

/*
 * A session in the greeting state; the "220" greeting is already in the output. cfg strings
 * and hooks must outlive the session. Free with smtp_session_free.
 */
struct smtp_session *smtp_session_new(const struct smtp_config *cfg, const struct smtp_hooks *hooks);
/* Free the session. NULL is a no-op. */
void smtp_session_free(struct smtp_session *s);

/*
 * Consume received bytes. Processing stops after QUIT (smtp_session_closed) or an accepted
 * STARTTLS (smtp_session_tls_pending); bytes received after those are discarded (no command
 * injection across the TLS upgrade).
 */
void smtp_session_feed(struct smtp_session *s, const char *buf, size_t len);
/* The pending output (replies) and its length; it stays valid until the next call on s. */
const char *smtp_session_output(const struct smtp_session *s, size_t *len);
/* Forget the pending output (after the layer sent it). */
void smtp_session_output_clear(struct smtp_session *s);
/* Whether the client quit (or the session gave up): the layer sends the output and closes. */
bool smtp_session_closed(const struct smtp_session *s);
/* Whether STARTTLS was accepted: the layer sends the output, then does the TLS handshake. */
bool smtp_session_tls_pending(const struct smtp_session *s);
/* Tell the session TLS is up: back to the post-greeting state (RFC 3207: EHLO again). */
void smtp_session_tls_started(struct smtp_session *s);
/* Queue a reply not caused by a command (e.g. "421 idle timeout") and mark the session closed. */
void smtp_session_abort(struct smtp_session *s, int code, const char *text);
/* Record the client's address (copied) for the envelope. */
void smtp_session_set_peer(struct smtp_session *s, const char *peer);
/* How many messages this session delivered. */
size_t smtp_session_delivered(const struct smtp_session *s);

#endif
