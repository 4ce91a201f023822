/* sbx-mock-mail — the mail mock: an SMTP sink with an HTTP inspection API. */
#include "mail.h"

/* Register the mail domain and start SMTP. */
static int setup(struct mock_server *srv, void *arg, struct mock_err *e)
{
	struct mail **app = arg;

	*app = mail_new(srv, e);
	return *app ? 0 : -1;
}

/* Stop SMTP and free the mail domain. */
static void teardown(void *arg)
{
	struct mail **app = arg;

	mail_free(*app);
}

/* Run the mail mock until SIGTERM. */
int main(int argc, char **argv)
{
	struct mail *app = NULL;

	return mock_main(argc, argv, "mail", mail_options, mail_noptions, setup, teardown, &app);
}
