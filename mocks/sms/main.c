/* sbx-mock-sms — the SMS gateway mock. */
#include "mock_server.h"
#include "mock_util.h"
#include "sms.h"

/* Register the SMS domain. */
static int setup(struct mock_server *srv, void *arg, struct mock_err *e)
{
	struct sms **app = arg;

	*app = sms_new(srv, e);
	return *app ? 0 : -1;
}

/* Free the SMS domain. */
static void teardown(void *arg)
{
	struct sms **app = arg;

	sms_free(*app);
}

/* Run the SMS mock until SIGTERM. */
int main(int argc, char **argv)
{
	struct sms *app = NULL;

	return mock_main(argc, argv, "sms", sms_options, sms_noptions, setup, teardown, &app);
}
