/*
 * smtp_server — the SMTP listener: an accept thread and one thread per connection, each running
 * an smtp_session over a plain socket that STARTTLS can upgrade to TLS (OpenSSL).
 *
 * Connections over max_conn are answered "421 4.7.0 Too many connections" and closed; a
 * connection idle for idle_timeout_ms is answered "421 4.4.2 Idle timeout" and closed. Stopping
 * closes the listener, answers every open connection "421 4.3.2 Service shutting down" (between
 * commands) and waits for their threads.
 *
 * The hooks run on connection threads, concurrently: they must be thread-safe.
 */
#ifndef SBX_SMTP_SERVER_H
#define SBX_SMTP_SERVER_H

#include "mock_util.h"
#include "smtp_session.h"

#include <stddef.h>
#include <stdint.h>

struct mock_metrics;

struct smtp_server_config {
	const char *host;          /* address to bind ("127.0.0.1", "::", "0.0.0.0") */
	int port;                  /* 0 = any */
	struct smtp_config session; /* protocol limits; tls_available is set by the server */
	struct smtp_hooks hooks;
	const char *tls_cert;      /* PEM certificate chain file, or NULL (no STARTTLS) */
	const char *tls_key;       /* PEM private key file (with tls_cert) */
	size_t max_conn;           /* most simultaneous connections */
	int64_t idle_timeout_ms;   /* per read */
	struct mock_metrics *metrics; /* connection counters, or NULL */
};

struct smtp_server;

/*
 * A server on cfg (copied; its strings and hooks must outlive the server), with the TLS context
 * loaded when tls_cert is set. NULL with e on a bad certificate or key.
 */
struct smtp_server *smtp_server_new(const struct smtp_server_config *cfg, struct mock_err *e);
/* Bind, listen and start accepting. 0 / -1 with e. */
int smtp_server_start(struct smtp_server *s, struct mock_err *e) MOCK_WUR;
/* The bound port (after start). */
int smtp_server_port(const struct smtp_server *s);
/* Print "listening on smtp://HOST:PORT" on stdout and flush. */
void smtp_server_announce(const struct smtp_server *s);
/* Stop accepting, end every connection, wait for their threads. Idempotent. */
void smtp_server_stop(struct smtp_server *s);
/* Stop and free. NULL is a no-op. */
void smtp_server_free(struct smtp_server *s);

#endif
