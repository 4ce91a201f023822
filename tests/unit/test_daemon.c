/* Unit tests of the daemon module without a network or libvirt: --listen parsing, the expiry
 * warnings, /metrics and the HTML page rendered from a private state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "state_fix.h"

#define NOW 1700000000

static const struct daemon_opts opts = {"127.0.0.1", 0, 30, NULL, NULL, 0};

/* A daemon over a private state, without its threads. */
static int setup(void **ctx)
{
	struct state_fix *f = state_fix_new("daemon", NULL);
	struct daemon *d = xcalloc(1, sizeof(*d));
	d->o = &opts;
	d->st = f->st;
	d->log = ev_sink_new(EV_QUIET, NULL);
	d->reaper = xstrdup("daemon@test:1");
	pthread_mutex_init(&d->mu, NULL);
	sbx_fake_now_set(NOW);
	void **pair = xcalloc(2, sizeof(*pair));
	pair[0] = f;
	pair[1] = d;
	*ctx = pair;
	return 0;
}

/* Free the daemon and the state. */
static int teardown(void **ctx)
{
	void **pair = *ctx;
	struct daemon *d = pair[1];
	ev_sink_free(d->log);
	pthread_mutex_destroy(&d->mu);
	free(d->reaper);
	free(d);
	state_fix_free(pair[0]);
	free(pair);
	sbx_fake_now_set(0);
	return 0;
}

/* Record an environment with an owner. */
static void add_env(struct state *st, const char *name, const char *owner, int64_t expires, bool protect)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env e = {.name = (char *)name, .blueprint = "/bp.yaml", .bp_json = "{}", .owner = (char *)owner,
		.status = STATE_ENV_READY, .expires = expires, .protected = protect};
	assert_int_equal(state_env_create(st, &e, &err), 0);
}

/* The number of expiry.warning events of env with before_s == before. */
static size_t warnings(struct state *st, const char *env, int64_t before)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0, k = 0;
	char *want = xasprintf("\"before_s\":%lld,", (long long)before);
	assert_int_equal(state_event_list(st, env, 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		k += strcmp(ev[i].kind, "expiry.warning") == 0 && strstr(ev[i].detail, want) != NULL;
	state_event_list_free(ev, n);
	free(want);
	return k;
}

/* HOST:PORT, [v6]:PORT and what is refused. */
static void test_parse_listen(void **ctx)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *host = NULL;
	int port = -1;
	(void)ctx;
	assert_int_equal(daemon_parse_listen("127.0.0.1:0", &host, &port, &err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 0);
	free(host);
	assert_int_equal(daemon_parse_listen("[::1]:9090", &host, &port, &err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9090);
	free(host);
	const char *bad[] = {"127.0.0.1", ":80", "h:", "h:65536", "h:-1", "h:8x", "::1:80", "[::1]80", "[]:1"};
	for (size_t i = 0; i < SBX_NELEM(bad); i++) {
		assert_int_equal(daemon_parse_listen(bad[i], &host, &port, &err), -1);
		assert_int_equal(err.code, SBX_EXIT_USAGE);
		sbx_err_clear(&err);
	}
}

/* The smallest offset crossed is warned once; a later pass repeats nothing; an expired, a
 * protected and a permanent environment get no warning. */
static void test_warn_offsets(void **ctx)
{
	struct daemon *d = ((void **)*ctx)[1];
	struct sbx_err err = SBX_ERR_INIT;
	add_env(d->st, "a", "me", NOW + 87400, false);  /* 24 h 16 min: nothing yet */
	add_env(d->st, "b", "me", NOW + 3000, false);   /* 50 min: the 1 h warning */
	add_env(d->st, "gone", "me", NOW - 5, false);
	add_env(d->st, "prot", "me", NOW + 300, true);
	add_env(d->st, "perm", "me", 0, false);
	assert_int_equal(daemon_warn(d, &err), 0);
	assert_int_equal(warnings(d->st, "a", 86400), 0);
	assert_int_equal(warnings(d->st, "b", 3600), 1);
	assert_int_equal(warnings(d->st, "b", 86400), 0);
	assert_int_equal(d->stats.warnings, 1);
	sbx_fake_now_set(NOW + 2500);                    /* a: 23 h 35 min left; b: 8 min 20 s */
	assert_int_equal(daemon_warn(d, &err), 0);
	assert_int_equal(daemon_warn(d, &err), 0);
	assert_int_equal(warnings(d->st, "a", 86400), 1);
	assert_int_equal(warnings(d->st, "b", 3600), 1);
	assert_int_equal(warnings(d->st, "b", 600), 1);
	const char *none[] = {"gone", "prot", "perm"};
	for (size_t i = 0; i < SBX_NELEM(none); i++)
		for (size_t k = 0; k < daemon_nwarn_offsets; k++)
			assert_int_equal(warnings(d->st, none[i], daemon_warn_offsets[k]), 0);
	assert_int_equal(d->stats.warnings, 3);
}

/* The value of the metric line that starts with `series ` in text (fails when absent). */
static long long metric(const char *text, const char *series)
{
	char *want = xasprintf("\n%s ", series);
	const char *p = strstr(text, want);
	if (p == NULL)
		fail_msg("no series %s in:\n%s", series, text);
	long long v = strtoll(p + strlen(want), NULL, 10);
	free(want);
	return v;
}

/* Environments by status (every known status present), seconds to expiry, the histogram. */
static void test_metrics(void **ctx)
{
	struct daemon *d = ((void **)*ctx)[1];
	struct sbx_err err = SBX_ERR_INIT;
	char *m = NULL;
	add_env(d->st, "x1", "me", NOW + 100, false);
	add_env(d->st, "x2", "me", NOW - 7, false);
	add_env(d->st, "we\"ird", "me", 0, false);
	assert_int_equal(state_env_set_status(d->st, "x2", STATE_ENV_FAILED, &err), 0);
	daemon_stats_teardown(d, 700, true);
	daemon_stats_teardown(d, 45000, false);
	assert_int_equal(daemon_metrics(d, &m, &err), 0);
	assert_int_equal(metric(m, "sandbox_environments{status=\"ready\"}"), 2);
	assert_int_equal(metric(m, "sandbox_environments{status=\"failed\"}"), 1);
	assert_int_equal(metric(m, "sandbox_environments{status=\"reaping\"}"), 0);
	assert_int_equal(metric(m, "sandbox_environment_expiry_seconds{env=\"x1\"}"), 100);
	assert_int_equal(metric(m, "sandbox_environment_expiry_seconds{env=\"x2\"}"), -7);
	assert_null(strstr(m, "we\\\"ird\"} ")); /* permanent: no expiry series */
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_bucket{le=\"0.5\"}"), 0);
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_bucket{le=\"1\"}"), 1);
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_bucket{le=\"30\"}"), 1);
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_bucket{le=\"60\"}"), 2);
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_bucket{le=\"+Inf\"}"), 2);
	assert_int_equal(metric(m, "sandbox_reap_duration_seconds_count"), 2);
	assert_int_equal(metric(m, "sandbox_reap_failures_total"), 1);
	assert_int_equal(metric(m, "sandbox_reaped_total"), 1);
	assert_int_equal(metric(m, "sandbox_reaper_last_success_age_seconds"), -1);
	assert_non_null(strstr(m, "# TYPE sandbox_reap_duration_seconds histogram\n"));
	free(m);
}

/* The page escapes every value, lists the nodes, refreshes itself and holds no secret value. */
static void test_page(void **ctx)
{
	struct daemon *d = ((void **)*ctx)[1];
	struct sbx_err err = SBX_ERR_INIT;
	char *html = NULL;
	add_env(d->st, "p1", "<script>alert(1)</script>&'\"@h", NOW + 7200, false);
	struct state_res r = {.env = "p1", .type = "domain", .name = "sbx-p1.web-0", .spec = "{}",
		.status = STATE_RES_CREATED};
	assert_int_equal(state_res_put(d->st, &r, &err), 0);
	assert_int_equal(state_secret_put(d->st, "p1", "db", "s3cr3t-VALUE", &err), 0);
	assert_int_equal(daemon_page(d, &html, &err), 0);
	assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"30\">"));
	assert_non_null(strstr(html, "<td>p1</td>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&apos;&quot;@h"));
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "<td>web-0</td>"));
	assert_non_null(strstr(html, "<td>2h"));
	assert_null(strstr(html, "s3cr3t-VALUE"));
	free(html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_listen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
