/* mail — the mail mock's domain: options, SMTP policy and delivery hooks, wiring. */
#include "mail.h"

#include "clock.h"
#include "mail_api.h"
#include "mail_msg.h"
#include "mailpit_api.h"
#include "mailpit_msg.h"
#include "mock_faults.h"
#include "mock_log.h"
#include "mock_metrics.h"
#include "mock_opts.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"
#include "smtp_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct mock_optdef mail_options[] = {
	{"smtp", true, "SBX_MOCK_SMTP", "HOST:PORT for SMTP (default 127.0.0.1:0, 0 = any port)"},
	{"tls-cert", true, "SBX_MOCK_TLS_CERT", "PEM certificate: enables STARTTLS"},
	{"tls-key", true, "SBX_MOCK_TLS_KEY", "PEM private key of --tls-cert (default: the cert file)"},
	{"smtp-auth", true, "SBX_MOCK_SMTP_AUTH", "USER:PASS required with AUTH PLAIN before MAIL"},
	{"smtp-hostname", true, NULL, "name in the SMTP greeting (default sbx-mock-mail)"},
	{"smtp-max-size", true, NULL, "largest message (default 10M; advertised with SIZE)"},
	{"smtp-max-line", true, NULL, "longest line, CRLF included (default 1000)"},
	{"smtp-max-conn", true, NULL, "most simultaneous SMTP connections (default 100)"},
	{"smtp-max-rcpt", true, NULL, "most recipients per message (default 100)"},
	{"smtp-idle-timeout", true, NULL, "idle SMTP connections are closed after this (default: --idle-timeout, 30s)"},
};
const size_t mail_noptions = MOCK_NELEM(mail_options);

struct mail {
	struct mock_store *store;
	struct mock_faults *faults;
	struct mock_metrics *metrics;
	struct smtp_server *smtp;
	char *host;      /* --smtp host */
	char *user;      /* --smtp-auth user (NULL: any credentials) */
	char *pass;
	bool log;        /* JSON-lines log of SMTP outcomes (off with --quiet) */
};

/* Count an SMTP outcome. */
static void count(struct mail *m, const char *result)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "result=\"%s\"", result);
	mock_metrics_add(m->metrics, "sbx_mock_smtp_messages_total", labels, 1);
}

/* Log the outcome of a message: its envelope, result, reply code and id (or NULL). */
static void smtp_log(struct mail *m, const struct smtp_envelope *env, const char *result, int code,
		     const char *id)
{
	json_t *to;

	if (!m->log)
		return;
	to = json_array();
	for (size_t i = 0; i < env->nrcpt; i++)
		json_array_append_new(to, json_string(env->rcpt[i]));
	mock_log_event("info", "smtp", json_pack("{s:s,s:s?,s:o,s:s,s:i,s:s?,s:s?}", "mock", "mail",
						  "from", env->from, "to", to, "result", result,
						  "code", code, "id", id, "remote", env->peer));
}

/* Apply a refusal rule (faults target addr or "@domain") to an address. 0 / -1 with r. */
static int policy(struct mail *m, const char *addr, const char *what, struct smtp_reply *r)
{
	const char *at = strrchr(addr, '@');
	char *msg = NULL;
	int status = 0;

	if (!mock_faults_target(m->faults, addr, &status, &msg) &&
	    !(at && mock_faults_target(m->faults, at, &status, &msg)))
		return 0;
	r->code = status;
	if (msg && *msg)
		snprintf(r->text, sizeof(r->text), "%s", msg);
	else
		snprintf(r->text, sizeof(r->text), "%s <%.200s> refused", what, addr);
	free(msg);
	count(m, "refused");
	if (m->log)
		mock_log_event("info", "smtp", json_pack("{s:s,s:s,s:s,s:i}", "mock", "mail",
							 what, addr, "result", "refused", "code",
							 r->code));
	return -1;
}

/* The MAIL hook. */
static int hook_mail(void *arg, const char *from, struct smtp_reply *r)
{
	return policy(arg, from, "sender", r);
}

/* The RCPT hook. */
static int hook_rcpt(void *arg, const char *to, struct smtp_reply *r)
{
	return policy(arg, to, "recipient", r);
}

/* The AUTH hook: check --smtp-auth, or accept anything without it. */
static int hook_auth(void *arg, const char *user, const char *pass, struct smtp_reply *r)
{
	struct mail *m = arg;

	if (!m->user || (!strcmp(user, m->user) && !strcmp(pass, m->pass)))
		return 0;
	r->code = 535;
	snprintf(r->text, sizeof(r->text), "5.7.8 Authentication credentials invalid");
	return -1;
}

/* The SMTP code for an injected failure status. */
static int fault_code(int status)
{
	static const int smtp[] = {421, 450, 451, 452, 550, 551, 552, 553, 554};

	for (size_t i = 0; i < MOCK_NELEM(smtp); i++)
		if (smtp[i] == status)
			return status;
	return 451;
}

/* The DATA hook: faults, then store the message. */
static int hook_deliver(void *arg, const struct smtp_envelope *env, const char *data, size_t len,
			struct smtp_reply *r)
{
	struct mail *m = arg;
	int64_t delay = mock_faults_latency(m->faults);
	int status = mock_faults_roll(m->faults);
	json_t *rec;
	char *id;

	if (delay > 0)
		sbx_sleep_ms(delay);
	if (status) {
		r->code = fault_code(status);
		snprintf(r->text, sizeof(r->text), "%s injected failure", r->code >= 500 ? "5.3.0" : "4.3.0");
		count(m, "failed");
		smtp_log(m, env, "failed", r->code, NULL);
		return -1;
	}
	rec = mail_msg_new(env, data, len);
	json_object_set_new(rec, "mailpit", mailpit_msg_index(data, len));
	id = mock_xstrdup(json_string_value(json_object_get(rec, "id")));
	if (mock_store_put(m->store, rec) < 0) {
		free(id);
		r->code = 451;
		snprintf(r->text, sizeof(r->text), "4.3.0 cannot store the message");
		return -1;
	}
	r->code = 250;
	snprintf(r->text, sizeof(r->text), "2.0.0 Ok: queued as %s", id);
	count(m, "accepted");
	smtp_log(m, env, "accepted", 250, id);
	free(id);
	return 0;
}

/* Parse HOST:PORT ("[::1]:25" too) into a fresh host and a port. 0 / -1 with e. */
static int hostport_parse(const char *v, char **host, int *port, struct mock_err *e)
{
	const char *colon = strrchr(v, ':');
	const char *h = v, *he = colon;
	int64_t p;

	if (!colon || mock_parse_int(colon + 1, 0, 65535, &p) < 0)
		return mock_err_set(e, "--smtp: expected HOST:PORT, got \"%s\"", v);
	if (*h == '[' && he > h && he[-1] == ']')
		h++, he--;
	if (he == h)
		return mock_err_set(e, "--smtp: missing host in \"%s\"", v);
	*host = mock_xstrndup(h, (size_t)(he - h));
	*port = (int)p;
	return 0;
}

/* Read a size option (default when absent) into *out. 0 / -1 with e. */
static int opt_size(const struct mock_opts *o, const char *name, size_t dflt, size_t min,
		    size_t *out, struct mock_err *e)
{
	const char *v = mock_opts_get(o, name);

	*out = dflt;
	if (v && (mock_parse_size(v, out) < 0 || *out < min))
		return mock_err_set(e, "--%s: expected a size of at least %zu, got \"%s\"", name, min, v);
	return 0;
}

/* Fill the SMTP limits from the options. 0 / -1 with e. */
static int limits_parse(const struct mock_opts *o, struct smtp_server_config *c, struct mock_err *e)
{
	const char *idle = mock_opts_get(o, "smtp-idle-timeout");
	const char *name = mock_opts_get(o, "smtp-hostname");

	c->session.hostname = name ? name : "sbx-mock-mail";
	c->idle_timeout_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 30000; /* --idle-timeout */
	if (idle && (mock_parse_duration_ms(idle, &c->idle_timeout_ms) < 0 || c->idle_timeout_ms < 1))
		return mock_err_set(e, "--smtp-idle-timeout: expected a duration, got \"%s\"", idle);
	if (opt_size(o, "smtp-max-size", 10 << 20, 1, &c->session.max_size, e) < 0 ||
	    opt_size(o, "smtp-max-line", 1000, 64, &c->session.max_line, e) < 0 ||
	    opt_size(o, "smtp-max-conn", 100, 1, &c->max_conn, e) < 0 ||
	    opt_size(o, "smtp-max-rcpt", 100, 1, &c->session.max_rcpt, e) < 0)
		return -1;
	return 0;
}

/* Read --smtp-auth USER:PASS. 0 / -1 with e. */
static int auth_parse(struct mail *m, const char *v, struct mock_err *e)
{
	const char *colon = v ? strchr(v, ':') : NULL;

	if (!v)
		return 0;
	if (!colon || colon == v)
		return mock_err_set(e, "--smtp-auth: expected USER:PASS");
	m->user = mock_xstrndup(v, (size_t)(colon - v));
	m->pass = mock_xstrdup(colon + 1);
	return 0;
}

/* Configure and start the SMTP server. 0 / -1 with e. */
static int smtp_start(struct mail *m, const struct mock_opts *o, struct mock_err *e)
{
	const char *listen = mock_opts_get(o, "smtp");
	struct smtp_server_config c = {0};
	struct smtp_hooks hooks = {hook_mail, hook_rcpt, hook_auth, hook_deliver, m};

	if (hostport_parse(listen ? listen : "127.0.0.1:0", &m->host, &c.port, e) < 0 ||
	    limits_parse(o, &c, e) < 0 || auth_parse(m, mock_opts_get(o, "smtp-auth"), e) < 0)
		return -1;
	c.host = m->host;
	c.hooks = hooks;
	c.session.auth_required = m->user != NULL;
	c.tls_cert = mock_opts_get(o, "tls-cert");
	c.tls_key = mock_opts_get(o, "tls-key");
	if (c.tls_key && !c.tls_cert)
		return mock_err_set(e, "--tls-key needs --tls-cert");
	c.metrics = m->metrics;
	m->smtp = smtp_server_new(&c, e);
	if (!m->smtp || smtp_server_start(m->smtp, e) < 0)
		return -1;
	return 0;
}

/* Create the mail domain (see mail.h). */
struct mail *mail_new(struct mock_server *srv, struct mock_err *e)
{
	struct mail *m = mock_xcalloc(1, sizeof(*m));

	m->faults = mock_server_faults(srv);
	m->log = !mock_server_opts(srv)->quiet;
	m->metrics = mock_server_metrics(srv);
	mock_metrics_describe(m->metrics, "sbx_mock_smtp_messages_total", "counter",
			      "SMTP messages, by result (accepted, refused, failed).");
	m->store = mock_server_store(srv, "messages", e);
	if (!m->store)
		goto fail;
	mock_store_set_match(m->store, mailpit_msg_match, NULL);
	mock_store_set_tag(m->store, mailpit_msg_tags);
	mock_store_set_index(m->store, mailpit_msg_store_index, mailpit_msg_index_match);
	mail_api_register(srv, m->store);
	mailpit_api_register(srv, m->store);
	if (smtp_start(m, mock_server_opts(srv), e) < 0)
		goto fail;
	return m;
fail:
	mail_free(m);
	return NULL;
}

/* Stop SMTP and free. */
void mail_free(struct mail *m)
{
	if (!m)
		return;
	smtp_server_free(m->smtp);
	free(m->host);
	free(m->user);
	free(m->pass);
	free(m);
}

/* Print the SMTP listening line. */
void mail_announce(const struct mail *m)
{
	smtp_server_announce(m->smtp);
}

/* The SMTP port. */
int mail_smtp_port(const struct mail *m)
{
	return m->smtp ? smtp_server_port(m->smtp) : 0;
}
