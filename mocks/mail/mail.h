/*
 * mail — the mail mock: an SMTP sink (smtp_server) that stores every accepted message in the
 * "messages" store, and the HTTP inspection API over it (mail_api).
 *
 * Fault injection (PUT /admin/faults) applies to SMTP:
 *   targets {"addr@x": {"status": 550, "message": "5.1.1 no such user"}} refuses that sender
 *     (at MAIL) or recipient (at RCPT) with that code; a key "@domain" refuses a whole domain;
 *   latency_ms delays the reply to the end of DATA;
 *   error_rate / error_status fail that fraction of messages at the end of DATA, with
 *     error_status as the SMTP code when it is one (421, 450-452, 550-554), else 451.
 */
#ifndef SBX_MOCK_MAIL_H
#define SBX_MOCK_MAIL_H

#include "mock_opts.h"
#include "mock_util.h"

#include <stddef.h>

struct mock_server;

/* Mock-specific options: --smtp, --tls-cert, --tls-key, --smtp-auth, --smtp-max-* ... */
extern const struct mock_optdef mail_options[];
extern const size_t mail_noptions;

struct mail;
/*
 * The mail domain on srv: registers the HTTP routes and starts the SMTP listener. NULL with e on a
 * bad option or when the SMTP port cannot be bound. Free (which stops SMTP) before srv is freed.
 */
struct mail *mail_new(struct mock_server *srv, struct mock_err *e);
/* Print "listening on smtp://HOST:PORT" on stdout and flush. */
void mail_announce(const struct mail *m);
/* Stop the SMTP listener and free. NULL is a no-op. */
void mail_free(struct mail *m);
/* The bound SMTP port. */
int mail_smtp_port(const struct mail *m);

#endif
