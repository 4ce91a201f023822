/* sbx-mock-payment — the payment gateway mock. */
#include "mock_server.h"
#include "mock_util.h"
#include "payment.h"

/* Register the payment domain. */
static int setup(struct mock_server *srv, void *arg, struct mock_err *e)
{
	struct payment **app = arg;

	*app = payment_new(srv, e);
	return *app ? 0 : -1;
}

/* Free the payment domain. */
static void teardown(void *arg)
{
	struct payment **app = arg;

	payment_free(*app);
}

/* Run the payment mock until SIGTERM. */
int main(int argc, char **argv)
{
	struct payment *app = NULL;

	return mock_main(argc, argv, "payment", payment_options, payment_noptions, setup, teardown, &app);
}
