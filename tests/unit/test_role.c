/*
 * Unit tests of the roles' rendering: every file, command and service definition a role
 * produces for a hand-built model, compared with golden files in tests/unit/data/roles/
 * (SBX_UPDATE_GOLDEN=1 rewrites them). Plus VIP addressing, the outputs, the role registry
 * checked against the blueprint's known roles, and the SCRAM verifiers that replace the database
 * passwords on the node (known answers from Python's hashlib/hmac and RFC 7677's exchange).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "role_int.h"

static char *r_router[] = {"router"}, *r_lb[] = {"lb"}, *r_pg[] = {"postgres"}, *r_mocks[] = {"mocks"};
static char *n_front[] = {"front"}, *n_both[] = {"front", "back"}, *n_back[] = {"back"};
static struct bp_network nets[] = {{.name = "front", .cidr = "auto"}, {.name = "back", .cidr = "auto"}};
static struct bp_node nodes[] = {
	{.name = "router", .count = 1, .roles = r_router, .nroles = 1, .networks = n_front, .nnetworks = 1},
	{.name = "lb", .count = 2, .roles = r_lb, .nroles = 1, .networks = n_both, .nnetworks = 2},
	{.name = "k8s", .count = 2, .networks = n_back, .nnetworks = 1},
	{.name = "db", .count = 1, .roles = r_pg, .nroles = 1, .networks = n_back, .nnetworks = 1},
	{.name = "mock", .count = 1, .roles = r_mocks, .nroles = 1, .networks = n_back, .nnetworks = 1},
};
static struct bp_vip vips[] = {
	{.name = "www", .port = 443, .backend_nodes = "k8s", .backend_port = 30443},
	{.name = "api", .port = 80, .backend_nodes = "k8s", .backend_port = 30080, .rate_limit = true,
		.rate_per_10s = 50},
};
static struct bp_db dbs[] = {{.name = "dilosi", .owner = "dilosi"}, {.name = "audit", .owner = "dilosi"},
	{.name = "pay", .owner = "pay-svc"}};
static const char *a_router[] = {"10.0.1.2", NULL}, *a_lb0[] = {"10.0.1.11", "10.0.2.11", NULL},
	*a_lb1[] = {"10.0.1.12", "10.0.2.12", NULL}, *a_k0[] = {"10.0.2.21", NULL},
	*a_k1[] = {"10.0.2.22", NULL}, *a_db[] = {"10.0.2.30", NULL}, *a_mock[] = {"10.0.2.40", NULL};
static const struct role_host hosts[] = {
	{"sbx-demo-router-0", "router", 0, "10.0.1.2", 0, a_router, NULL, ""},
	{"sbx-demo-lb-0", "lb", 0, "10.0.1.11", 0, a_lb0, NULL, ""},
	{"sbx-demo-lb-1", "lb", 1, "10.0.1.12", 0, a_lb1, NULL, ""},
	{"sbx-demo-k8s-0", "k8s", 0, "10.0.2.21", 0, a_k0, NULL, ""},
	{"sbx-demo-k8s-1", "k8s", 1, "10.0.2.22", 0, a_k1, NULL, ""},
	{"sbx-demo-db-0", "db", 0, "10.0.2.30", 0, a_db, NULL, "/srv/db0"},
	{"sbx-demo-mock-0", "mock", 0, "10.0.2.40", 0, a_mock, NULL, ""},
};
static const char *cidrs[] = {"10.0.1.0/24", "10.0.2.0/24"};
static struct bp_blueprint bp = {.name = "demo", .networks = nets, .nnetworks = 2, .nodes = nodes,
	.nnodes = 5, .mocks = {.sms = true, .mail = true, .payment = true,
		.payment_webhook_url = "http://10.0.2.21:30080/hooks/pay", .present = true}, .bgp = {65000, 65001}, .vips = vips, .nvips = 2,
	.database = {.dbs = dbs, .ndbs = 3, .pool_mode = "transaction", .default_pool_size = 20,
		.max_client_conn = 200, .present = true}};

/* A deterministic secret store: "pw-<name>", or "p@ss/word" for pay-svc (escaping). */
static int secret_cb(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	(void)ctx;
	(void)err;
	*value = sbx_streq(name, "db-pay-svc") ? xstrdup("p@ss/word") : xasprintf("pw-%s", name);
	return 0;
}

static char mockdir[] = "/tmp/sbx-role-unit-XXXXXX";
static char *cluster;
static struct role_ctx ctx = {.bp = &bp, .env = "demo", .hosts = hosts, .nhosts = 7,
	.ssh_user = "sandbox", .vip_cidr = "10.0.9.0/24", .net_cidrs = cidrs, .secret = secret_cb};

/* Point the roles at the repository's cluster/ directory. */
static int setup(void **state)
{
	(void)state;
	const char *top = getenv("SBX_TOP");
	cluster = xasprintf("%s/cluster", top ? top : ".");
	ctx.cluster_dir = cluster;
	struct sbx_err err = SBX_ERR_INIT;
	assert_non_null(mkdtemp(mockdir));
	for (size_t i = 0; role_mock_name(i); i++) { /* stand-ins for the mock binaries */
		char *p = xasprintf("%s/sbx-mock-%s", mockdir, role_mock_name(i));
		assert_int_equal(sbx_write_file(p, "\x7f" "ELF fake\0binary", 16, 0755, &err), 0);
		free(p);
	}
	ctx.mock_bin_dir = mockdir;
	return 0;
}

/* Remove the stand-in binaries. */
static int teardown(void **state)
{
	(void)state;
	sbx_rm_rf(mockdir);
	free(cluster);
	return 0;
}

/* A unit as text: every file (scripts by size only), then the commands. */
static char *unit_text(const struct role_unit *u)
{
	struct sbx_buf b = {0};
	sbx_buf_printf(&b, "=== role %s\n--- prepare\n%s\n", u->role, u->prepare ? u->prepare : "");
	for (size_t i = 0; i < u->nfiles; i++) {
		const struct role_file *f = &u->files[i];
		sbx_buf_printf(&b, "--- file %s mode %o owner %s service %s%s validate %s\n", f->path,
			(unsigned)f->mode, f->owner ? f->owner : "root", f->service ? f->service : "-",
			f->restart ? " (restart)" : "", f->validate ? f->validate : "-");
		if (strstr(f->path, ROLE_LIBDIR))
			sbx_buf_puts(&b, "(node-side program, not shown)\n");
		else
			sbx_buf_add(&b, f->data, f->len);
	}
	sbx_buf_puts(&b, "--- services");
	for (size_t i = 0; i < u->nservices; i++)
		sbx_buf_printf(&b, " %s", u->services[i]);
	sbx_buf_printf(&b, "\n--- health\n%s\n--- post\n%s\n--- post input\n%s", u->health ? u->health : "",
		u->post ? u->post : "", u->post_input ? u->post_input : "");
	return sbx_buf_steal(&b);
}

/* Compare text with tests/unit/data/roles/NAME (or rewrite it). */
static void golden(const char *name, const char *text)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *top = getenv("SBX_TOP");
	char *path = xasprintf("%s/tests/unit/data/roles/%s", top ? top : ".", name), *want = NULL;
	size_t len = 0;
	if (getenv("SBX_UPDATE_GOLDEN")) {
		assert_int_equal(sbx_write_file(path, text, strlen(text), 0644, &err), 0);
	} else {
		if (sbx_read_file(path, &want, &len, &err) < 0)
			sbx_err_print(&err, stderr);
		assert_non_null(want);
		if (strcmp(want, text) != 0)
			fprintf(stderr, "golden %s differs; got:\n%s\n", name, text);
		assert_string_equal(want, text);
	}
	free(want);
	free(path);
	sbx_err_clear(&err);
}

typedef int (*render_fn)(const struct role_env *, const struct role_host *, struct role_unit *,
	struct sbx_err *);

/* Render one role for one host and compare with its golden file. */
static void check_render(render_fn fn, size_t host, const char *name)
{
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	assert_int_equal(fn(&env, &hosts[host], &u, &err), 0);
	char *text = unit_text(&u);
	golden(name, text);
	free(text);
	role_unit_clear(&u);
	role_env_clear(&env);
}

/* The router peers with both LBs from its front address. */
static void test_router_render(void **state)
{
	(void)state;
	check_render(role_router_render, 0, "router.golden");
}

/* The second LB: VIPs, backends on the back network, rate limiting, BGP towards the router. */
static void test_lb_render(void **state)
{
	(void)state;
	check_render(role_lb_render, 2, "lb-1.golden");
}

/* PostgreSQL under a root prefix with databases, owners (shared once) and pgbouncer. */
static void test_postgres_render(void **state)
{
	(void)state;
	check_render(role_postgres_render, 5, "postgres.golden");
}

/* The mocks: binaries (16 bytes here, NULs included), services, health checks. */
static void test_mocks_render(void **state)
{
	(void)state;
	check_render(role_mocks_render, 6, "mocks.golden");
}

/* The mocks' API key and webhook secret, the SMS mock's Twilio account SID and auth token, and
 * the payment mock's Stripe API key and Stripe webhook secret reach the node only in files that the mocks' user alone can read (one per mock and secret),
 * never in a command line or a world-readable file; every mock runs as that user and gets the
 * environment's networks as its callback allow-list. */
static void test_mocks_secrets_private(void **state)
{
	(void)state;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t keys = 0, sigs = 0, sids = 0, tokens = 0, stripe_keys = 0;
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	assert_int_equal(role_mocks_render(&env, &hosts[6], &u, &err), 0);
	for (size_t i = 0; i < u.nfiles; i++) {
		const struct role_file *f = &u.files[i];
		bool key = strstr(f->data, "pw-mock-api-key") != NULL, sig = strstr(f->data, "pw-mock-webhook-secret") != NULL;
		bool sid = strstr(f->data, "pw-mock-twilio-account-sid") != NULL;
		bool token = strstr(f->data, "pw-mock-twilio-auth-token") != NULL;
		bool sk = strstr(f->data, "pw-mock-stripe-api-key") != NULL;
		if (key || sig || sid || token || sk) {
			assert_int_equal(f->mode, 0600);
			assert_string_equal(f->owner, "sbx-mocks");
		}
		if (sid)
			assert_string_equal(f->data, "ACpw-mock-twilio-account-sid\n");
		if (sk)
			assert_string_equal(f->data, "sk_test_pw-mock-stripe-api-key\n");
		if (sig && strstr(f->path, "stripe-webhook-secret"))
			assert_string_equal(f->data, "whsec_pw-mock-webhook-secret\n");
		keys += key;
		sigs += sig;
		sids += sid;
		tokens += token;
		stripe_keys += sk;
		if (strstr(f->path, "/etc/sbx/svc/")) {
			assert_non_null(strstr(f->data, "\nRUNAS='sbx-mocks'\n"));
			assert_non_null(strstr(f->data, " --api-key-file /etc/sbx/mocks/"));
		}
		if (strstr(f->path, "/etc/sbx/svc/") && strstr(f->path, "sms"))
			assert_non_null(strstr(f->data, " --account-sid-file /etc/sbx/mocks/sms.account-sid "
				"--auth-token-file /etc/sbx/mocks/sms.auth-token"));
		if (strstr(f->path, "/etc/sbx/svc/") && strstr(f->path, "payment"))
			assert_non_null(strstr(f->data, " --stripe-api-key-file /etc/sbx/mocks/payment.stripe-api-key "
				"--stripe-webhook-secret-file /etc/sbx/mocks/payment.stripe-webhook-secret"));
		if (strstr(f->path, "/etc/sbx/svc/") && !strstr(f->path, "mail"))
			assert_non_null(strstr(f->data, " --allow-callback '\\''10.0.1.0/24'\\'' "
				"--allow-callback '\\''10.0.2.0/24'\\'' --allow-callback '\\''10.0.9.0/24'\\''"));
	}
	assert_int_equal(keys, 3); /* sms, mail, payment */
	assert_int_equal(sigs, 3); /* sms, payment (and its Stripe form): mail sends no webhooks */
	assert_int_equal(sids, 1); /* sms: its Twilio API */
	assert_int_equal(tokens, 1);
	assert_int_equal(stripe_keys, 1); /* payment: its Stripe API */
	assert_non_null(strstr(u.prepare, "useradd --system"));
	role_unit_clear(&u);
	role_env_clear(&env);
}

/* A webhook URL with a ${secret.NAME}: resolved from the blueprint's secrets (BP_SECRET_STORE
 * names) into a 0600 file of the mocks' user, given as --webhook-url-file; the command line and
 * the service definition hold neither the token nor the URL. The SMS mock, whose callback URL has
 * no secret, keeps --callback-url. */
static void test_mocks_secret_url(void **state)
{
	(void)state;
	struct bp_blueprint b2 = bp;
	char *names[] = {"hook-tok"};
	b2.mocks.payment_webhook_url = "https://hooks.example/p/${secret.hook-tok}?x=1";
	b2.mocks.sms_callback_url = "http://10.0.2.21:30080/sms";
	b2.secret_names = names;
	b2.nsecret_names = 1;
	struct role_ctx c2 = ctx;
	c2.bp = &b2;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(role_env_init(&c2, &env, &err), 0);
	assert_int_equal(role_mocks_render(&env, &hosts[6], &u, &err), 0);
	size_t urls = 0;
	for (size_t i = 0; i < u.nfiles; i++) {
		const struct role_file *f = &u.files[i];
		if (strcmp(f->path, "/etc/sbx/mocks/payment.target-url") == 0) {
			assert_string_equal(f->data, "https://hooks.example/p/pw-user/hook-tok?x=1\n");
			assert_int_equal(f->mode, 0600);
			assert_string_equal(f->owner, "sbx-mocks");
			assert_string_equal(f->service, "payment");
			urls++;
		} else if (f->data) {
			assert_null(strstr(f->data, "pw-user/hook-tok"));
		}
		if (strcmp(f->path, "/etc/sbx/svc/payment.conf") == 0) {
			assert_non_null(strstr(f->data, " --webhook-url-file /etc/sbx/mocks/payment.target-url"));
			assert_null(strstr(f->data, "hooks.example"));
		}
		if (strcmp(f->path, "/etc/sbx/svc/sms.conf") == 0)
			assert_non_null(strstr(f->data, "--callback-url '\\''http://10.0.2.21:30080/sms'\\''"));
	}
	assert_int_equal(urls, 1);
	/* a secret the blueprint does not name is not loaded: nothing resolved */
	char *out = role_env_expand(&env, "a ${secret.nope} b");
	assert_null(out);
	out = role_env_expand(&env, "no secret here");
	assert_string_equal(out, "no secret here");
	free(out);
	role_unit_clear(&u);
	role_env_clear(&env);
}

/* The base unit as a renderer. */
static int base_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err)
{
	(void)err;
	role_base_render(env, h, u);
	return 0;
}

/* Every host gets the node scripts; those sharing a network with the router (lb-0 on front)
 * also the VIP route via it; not the router itself, nor k8s (back only: no direct path). */
static void test_base_render(void **state)
{
	(void)state;
	check_render(base_render, 1, "base-lb-0.golden");
	check_render(base_render, 0, "base-router.golden");
	check_render(base_render, 3, "base-k8s-0.golden");
}

/* An LB without any router in the model is a blueprint error. */
static void test_lb_needs_router(void **state)
{
	(void)state;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	nodes[0].nroles = 0;
	int rc = role_lb_render(&env, &hosts[1], &u, &err);
	nodes[0].nroles = 1;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(sbx_err_first(&err), "no router"));
	role_unit_clear(&u);
	role_env_clear(&env);
	sbx_err_clear(&err);
}

/* VIP i is .(10+i) of a /24; anything else is refused. */
static void test_vip_addr(void **state)
{
	(void)state;
	char *a = role_vip_addr("10.0.9.0/24", 0);
	assert_string_equal(a, "10.0.9.10");
	free(a);
	a = role_vip_addr("10.0.9.77/24", 3);
	assert_string_equal(a, "10.0.9.13");
	free(a);
	assert_null(role_vip_addr("10.0.9.0/16", 0));
	assert_null(role_vip_addr("nonsense/24", 0));
	assert_null(role_vip_addr(NULL, 0));
	assert_null(role_vip_addr("10.0.9.0/24", 250));
	char *id = role_ident("lb-a", 1);
	assert_string_equal(id, "lb_a_1");
	free(id);
}

/* DATABASE_URL through pgbouncer with the escaped password; VIP URLs. */
static void test_outputs(void **state)
{
	(void)state;
	struct role_output *o = NULL;
	size_t n = 0;
	struct sbx_err err = SBX_ERR_INIT;
	struct sbx_buf b = {0};
	assert_int_equal(role_outputs(&ctx, &o, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		sbx_buf_printf(&b, "%s=%s%s\n", o[i].key, o[i].value, o[i].secret ? " (secret)" : "");
	assert_string_equal(b.data,
		"DATABASE_URL=postgresql://dilosi:pw-db-dilosi@10.0.2.30:6432/dilosi (secret)\n"
		"DATABASE_URL_DILOSI=postgresql://dilosi:pw-db-dilosi@10.0.2.30:6432/dilosi (secret)\n"
		"DATABASE_URL_AUDIT=postgresql://dilosi:pw-db-dilosi@10.0.2.30:6432/audit (secret)\n"
		"DATABASE_URL_PAY=postgresql://pay-svc:p%40ss%2Fword@10.0.2.30:6432/pay (secret)\n"
		"VIP_WWW_ADDR=10.0.9.10:443\nVIP_WWW_URL=tcp://10.0.9.10:443\n"
		"VIP_API_ADDR=10.0.9.11:80\nVIP_API_URL=tcp://10.0.9.11:80\n"
		"MOCK_SMS_URL=http://10.0.2.40:8081\nMOCK_MAIL_URL=http://10.0.2.40:8082\n"
		"MOCK_PAYMENT_URL=http://10.0.2.40:8083\nMOCK_MAIL_SMTP=10.0.2.40:2525\n"
		"MOCK_API_KEY=pw-mock-api-key (secret)\nMOCK_WEBHOOK_SECRET=pw-mock-webhook-secret (secret)\n"
		"TWILIO_ACCOUNT_SID=ACpw-mock-twilio-account-sid (secret)\n"
		"TWILIO_AUTH_TOKEN=pw-mock-twilio-auth-token (secret)\nTWILIO_API_BASE=http://10.0.2.40:8081\n"
		"STRIPE_API_KEY=sk_test_pw-mock-stripe-api-key (secret)\nSTRIPE_API_BASE=http://10.0.2.40:8083\n"
		"STRIPE_WEBHOOK_SECRET=whsec_pw-mock-webhook-secret (secret)\n");
	sbx_buf_free(&b);
	role_outputs_free(o, n);
}

/* True when name is in the NULL-terminated list. */
static bool listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (sbx_streq(list[i], name))
			return true;
	return false;
}

/* The preparation done ahead: guarded by its marker, the role's own preparation starts with it;
 * none for roles with nothing to do ahead. */
static void test_prepare_ahead(void **state)
{
	(void)state;
	char *pg = role_prepare_ahead("postgres", "");
	assert_non_null(pg);
	assert_non_null(strstr(pg, "m=/var/lib/sbx/prepared/postgres; [ \"$(cat \"$m\" 2>/dev/null)\" = "));
	assert_non_null(strstr(pg, "initdb -D /var/lib/sbx/postgresql/15"));
	assert_null(strstr(pg, "/run/sbx"));
	char *mocks = role_prepare_ahead("mocks", "/srv/m");
	assert_non_null(strstr(mocks, "m=/srv/m/var/lib/sbx/prepared/mocks;"));
	assert_non_null(strstr(mocks, "useradd"));
	assert_null(role_prepare_ahead("k3s-server", ""));
	assert_null(role_prepare_ahead("plain", ""));
	assert_null(role_prepare_ahead("nosuch", ""));
	free(pg);
	free(mocks);
}

/* The registry and the blueprint know the same roles: every registry row is a blueprint role,
 * every blueprint role has a row, and the rows without a renderer are exactly the roles this
 * build does not apply. */
static void test_registry_matches_blueprint(void **state)
{
	(void)state;
	static const char *const not_applied[] = {"plain", NULL};
	size_t n = 0;
	for (const struct role_def *d = role_defs; d->name; d++, n++) {
		assert_true(listed(bp_known_roles, d->name));
		assert_true(role_find(d->name) == d);
		assert_int_equal(d->render == NULL, listed(not_applied, d->name));
		assert_int_equal(role_known(d->name), d->render != NULL);
		assert_true(d->after == NULL || role_known(d->after));
	}
	for (size_t i = 0; bp_known_roles[i]; i++)
		assert_non_null(role_find(bp_known_roles[i]));
	for (size_t i = 0; not_applied[i]; i++)
		assert_false(role_known(not_applied[i]));
	assert_int_equal(n, 7);
	assert_null(role_find("k3s"));
	assert_false(role_known(NULL));
	assert_true(role_known("lb"));
	assert_string_equal(role_find("lb")->after, "router");
	assert_true(role_known("k3s-server"));
	assert_string_equal(role_find("k3s-agent")->after, "k3s-server");
}

/* The verbs a plan prints. */
static void test_change_verbs(void **state)
{
	(void)state;
	assert_string_equal(role_change_verb(ROLE_CHANGE_CREATE), "create");
	assert_string_equal(role_change_verb(ROLE_CHANGE_UPDATE), "update");
	assert_string_equal(role_change_verb(ROLE_CHANGE_START), "start");
	assert_string_equal(role_change_verb(ROLE_CHANGE_RELOAD), "reload");
	assert_string_equal(role_change_verb(ROLE_CHANGE_RESTART), "restart");
	assert_string_equal(role_change_verb(ROLE_CHANGE_UNREACHABLE), "unreachable");
}

/* Known answers computed with Python (hashlib.pbkdf2_hmac, hmac, base64) as in the comment of
 * role_scram_verifier; PostgreSQL accepting such a verifier is the integration test's part. */
static void test_scram_known_answers(void **state)
{
	(void)state;
	unsigned char seq[16];
	for (int i = 0; i < 16; i++)
		seq[i] = (unsigned char)i;
	char *v = role_scram_verifier("pw-db-dilosi", seq, 16, 4096);
	assert_string_equal(v, "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$"
		"Ye9FvA30grg04uOD0tGAR4ugJy5lzQ/QCM+QJThDITE=:aR69qg0SQDfEg/1Ijdf/nNiPWBocCCbcmqkNO4MBICI=");
	free(v);
	v = role_scram_verifier("correct horse battery staple", (const unsigned char *)"0123456789abcdef", 16, 4096);
	assert_string_equal(v, "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"
		"5uVcxEsM9g7qPWkT/Usq98S+VIB8ZwsV7h8MtqvDrsw=:w3JcoKUbh5ZrGRqalbS6V0TZabsE2hsOQi9C15FvDZk=");
	free(v);
	assert_null(role_scram_verifier("p\xc3\xa4ss", seq, 16, 4096)); /* would need SASLprep */
	assert_null(role_scram_verifier(NULL, seq, 16, 4096));
	assert_null(role_scram_verifier("pw", seq, 16, 0));
}

/* The 32 bytes a base64 key of a verifier encodes. */
static void b64_key(const char *b64, unsigned char out[32])
{
	unsigned char buf[48];
	assert_int_equal(strlen(b64), 44);
	assert_true(EVP_DecodeBlock(buf, (const unsigned char *)b64, 44) >= 32);
	memcpy(out, buf, 32);
}

/* RFC 7677's SCRAM-SHA-256 exchange (user "user", password "pencil"): the verifier's ServerKey
 * signs the AuthMessage as the RFC's server does, and its StoredKey verifies the RFC's client proof. */
static void test_scram_rfc7677(void **state)
{
	(void)state;
	static const char am[] = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	unsigned char salt[32], stored[32], server[32], proof[32], sig[32], h[32];
	unsigned int n = 32;
	assert_int_equal(EVP_DecodeBlock(salt, (const unsigned char *)"W22ZaJ0SNY7soEsUEjb6gQ==", 24), 18);
	char *v = role_scram_verifier("pencil", salt, 16, 4096);
	assert_true(sbx_has_prefix(v, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
	char *keys = strrchr(v, '$') + 1;
	keys[44] = '\0';
	b64_key(keys, stored);
	b64_key(keys + 45, server);
	HMAC(EVP_sha256(), server, 32, (const unsigned char *)am, strlen(am), sig, &n);
	b64_key("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", h); /* the RFC's v= */
	assert_memory_equal(sig, h, 32);
	HMAC(EVP_sha256(), stored, 32, (const unsigned char *)am, strlen(am), sig, &n);
	b64_key("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", proof); /* the RFC's p= */
	for (int i = 0; i < 32; i++)
		proof[i] ^= sig[i]; /* = ClientKey */
	SHA256(proof, 32, h);
	assert_memory_equal(h, stored, 32);
	free(v);
}

/* Salts are stable for one seed, and differ between owners, environments and seeds. */
static void test_scram_salt(void **state)
{
	(void)state;
	unsigned char a[ROLE_SCRAM_SALT_LEN], b[ROLE_SCRAM_SALT_LEN];
	role_scram_salt("seed", "demo", "app", a);
	role_scram_salt("seed", "demo", "app", b);
	assert_memory_equal(a, b, sizeof(a));
	role_scram_salt("seed", "demo", "app2", b);
	assert_memory_not_equal(a, b, sizeof(a));
	role_scram_salt("seed", "demo2", "app", b);
	assert_memory_not_equal(a, b, sizeof(a));
	role_scram_salt("seed2", "demo", "app", b);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* True when any file, command or input of the unit contains s. */
static bool unit_mentions(const struct role_unit *u, const char *s)
{
	bool hit = (u->prepare && strstr(u->prepare, s)) || (u->post && strstr(u->post, s)) ||
		(u->post_input && strstr(u->post_input, s)) || (u->health && strstr(u->health, s));
	for (size_t i = 0; i < u->nfiles; i++)
		hit = hit || memmem(u->files[i].data, u->files[i].len, s, strlen(s)) != NULL;
	return hit;
}

/* Secrets with a non-ASCII password for pay-svc. */
static int secret_umlaut(void *c, const char *name, char **value, struct sbx_err *err)
{
	if (sbx_streq(name, "db-pay-svc"))
		return *value = xstrdup("p\xc3\xa4ss"), 0;
	return secret_cb(c, name, value, err);
}

/* No password reaches the node, only verifiers: userlist.txt holds the one the SQL sets (salt
 * from the seed secret); a password the verifier cannot be made for here is refused. */
static void test_postgres_no_plaintext(void **state)
{
	(void)state;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	unsigned char salt[ROLE_SCRAM_SALT_LEN];
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	assert_int_equal(role_postgres_render(&env, &hosts[5], &u, &err), 0);
	assert_false(unit_mentions(&u, "pw-db-dilosi"));
	assert_false(unit_mentions(&u, "p@ss/word"));
	role_scram_salt("pw-" ROLE_SCRAM_SEED, "demo", "pay-svc", salt);
	char *v = role_scram_verifier("p@ss/word", salt, sizeof(salt), 4096), *line = xasprintf("\"pay-svc\" \"%s\"\n", v);
	assert_non_null(strstr(u.files[3].data, line));
	assert_non_null(strstr(u.post_input, v));
	free(line);
	free(v);
	role_unit_clear(&u);
	role_env_clear(&env);
	ctx.secret = secret_umlaut;
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	assert_int_equal(role_postgres_render(&env, &hosts[5], &u, &err), -1);
	ctx.secret = secret_cb;
	assert_non_null(strstr(sbx_err_first(&err), "password of owner pay-svc is not ASCII"));
	role_unit_clear(&u);
	role_env_clear(&env);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_render),
		cmocka_unit_test(test_lb_render),
		cmocka_unit_test(test_postgres_render),
		cmocka_unit_test(test_mocks_render),
		cmocka_unit_test(test_mocks_secrets_private),
		cmocka_unit_test(test_mocks_secret_url),
		cmocka_unit_test(test_base_render),
		cmocka_unit_test(test_lb_needs_router),
		cmocka_unit_test(test_vip_addr),
		cmocka_unit_test(test_outputs),
		cmocka_unit_test(test_registry_matches_blueprint),
		cmocka_unit_test(test_prepare_ahead),
		cmocka_unit_test(test_change_verbs),
		cmocka_unit_test(test_scram_known_answers),
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_salt),
		cmocka_unit_test(test_postgres_no_plaintext),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
