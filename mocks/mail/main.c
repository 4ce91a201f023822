/*
 * sbx-mock-mail — the mail mock: an SMTP sink with an HTTP inspection API.
 *
 * Like mock_main(), plus the SMTP listener: once both listen, prints "listening on http://..."
 * then "listening on smtp://...", and on SIGTERM/SIGINT stops HTTP, then SMTP, and exits 0.
 */
#include "mail.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_server.h"
#include "mock_util.h"

#include <stdio.h>

/* Create the server and the mail domain, start both and announce them. 0 / -1 with e. */
static int start(const struct mock_opts *o, struct mock_server **srv, struct mail **app,
		 struct mock_err *e)
{
	*srv = mock_server_new("mail", o, e);
	if (!*srv)
		return -1;
	*app = mail_new(*srv, e);
	if (!*app || mock_server_start(*srv, e) < 0)
		return -1;
	mock_server_announce(*srv);
	mail_announce(*app);
	mock_log_event("info", "listening", json_pack("{s:s,s:i,s:i}", "mock", "mail", "port",
						      mock_server_port(*srv), "smtp_port",
						      mail_smtp_port(*app)));
	return 0;
}

/* Run the mail mock until SIGTERM or SIGINT. */
int main(int argc, char **argv)
{
	struct mock_opts o;
	struct mock_err e = {{0}};
	struct mock_server *srv = NULL;
	struct mail *app = NULL;
	int rc;

	mock_signals_block();
	rc = mock_opts_parse(&o, argc, argv, argv[0], mail_options, mail_noptions, &e);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "sbx-mock-mail: %s\n", e.msg);
		mock_opts_free(&o);
		return rc < 0 ? 2 : 0;
	}
	mock_log_access_enable(!o.quiet);
	rc = start(&o, &srv, &app, &e);
	if (rc == 0) {
		int sig = mock_signals_wait();
		mock_log_event("info", "shutting down", json_pack("{s:s,s:i}", "mock", "mail", "signal", sig));
	} else {
		fprintf(stderr, "sbx-mock-mail: %s\n", e.msg);
	}
	if (srv)
		mock_server_stop(srv);
	mail_free(app);
	mock_server_free(srv);
	mock_opts_free(&o);
	return rc == 0 ? 0 : 1;
}
