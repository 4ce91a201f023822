/*
 * role_mocks — the mocked external services (SMS, mail, payment) on the mocks node.
 *
 * The mocks run as the unprivileged system user sbx-mocks (created by the preparation; their
 * ports are above 1024), which owns their data directory. Their API key and webhook signing
 * secret are per environment (generated into the state: mock-api-key, mock-webhook-secret) and
 * reach them in files only sbx-mocks can read (mode 0600), never in argv or in the world-readable
 * service definitions; so do the SMS mock's Twilio account SID ("AC" and the secret
 * mock-twilio-account-sid) and auth token (mock-twilio-auth-token), and the payment mock's Stripe
 * API key ("sk_test_" and mock-stripe-api-key) and Stripe webhook secret ("whsec_" and the webhook
 * secret). Webhooks and callbacks go
 * only to the environment's own networks (its network blocks, and its VIP block when it has
 * VIPs): --allow-callback. A callback or webhook URL with a ${secret.NAME} in it is resolved from
 * the state and reaches the mock the same way (a 0600 file, --callback-url-file /
 * --webhook-url-file).
 */
#include "role_int.h"

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>

/* One mock of the table. */
struct mock_def {
	const char *name;
	int port;
	size_t bin; /* index into role_env.mock_bin */
};

static const struct mock_def mock_defs[] = {
	{"sms", ROLE_MOCK_SMS_PORT, 0},
	{"mail", ROLE_MOCK_MAIL_PORT, 1},
	{"payment", ROLE_MOCK_PAYMENT_PORT, 2},
};

#define MOCK_DATA "/var/lib/sbx/mocks"
#define MOCK_ETC "/etc/sbx/mocks"

/* Whether mock d sends webhooks (and gets the signing secret and the allow-list). */
static bool mock_signs(const struct mock_def *d)
{
	return d->bin != 1;
}

/* True when the blueprint enables mock i. */
bool role_mock_enabled(const struct bp_mocks *m, size_t i)
{
	const bool on[] = {m->sms, m->mail, m->payment};
	return m->present && i < SBX_NELEM(on) && on[i];
}

/* The mock's name ("sms") or NULL past the end of the table. */
const char *role_mock_name(size_t i)
{
	return i < SBX_NELEM(mock_defs) ? mock_defs[i].name : NULL;
}

/* Append " --flag 'value'" when value is set. */
static void opt(struct sbx_buf *b, const char *flag, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	char *q = sbx_shell_quote(value);
	sbx_buf_printf(b, " %s %s", flag, q);
	free(q);
}

/* Append the networks callbacks may go to: the environment's blocks (else its hosts' addresses)
 * and its VIP block. */
static void allow_opts(struct sbx_buf *b, const struct role_env *env)
{
	const struct role_ctx *ctx = env->ctx;
	for (size_t i = 0; ctx->net_cidrs && i < ctx->bp->nnetworks; i++)
		opt(b, "--allow-callback", ctx->net_cidrs[i]);
	for (size_t i = 0; !ctx->net_cidrs && i < ctx->nhosts; i++)
		for (size_t k = 0; ctx->hosts[i].addrs && ctx->hosts[i].addrs[k]; k++) {
			char *one = xasprintf("%s/32", ctx->hosts[i].addrs[k]);
			opt(b, "--allow-callback", one);
			free(one);
		}
	if (ctx->bp->nvips && ctx->vip_cidr)
		opt(b, "--allow-callback", ctx->vip_cidr);
}

/* The path of one of mock d's secret files ("api-key", "webhook-secret", "auth-token") on host h;
 * caller frees. */
static char *secret_path(const struct role_host *h, const struct mock_def *d, const char *what)
{
	char *rel = xasprintf(MOCK_ETC "/%s.%s", d->name, what), *p = role_path(h, rel);
	free(rel);
	return p;
}

/* The URL mock d sends its callbacks or webhooks to (the blueprint's), or NULL. */
static const char *target_url(const struct bp_mocks *m, const struct mock_def *d)
{
	return d->bin == 0 ? m->sms_callback_url : d->bin == 2 ? m->payment_webhook_url : NULL;
}

/* Whether a blueprint value holds a ${secret.NAME}. */
static bool has_secret(const char *s)
{
	return strstr(s, "${secret.") != NULL;
}

/* The foreground command line of one mock: no secret in it, only the paths of their files (a
 * target URL holding a ${secret.NAME} too: --callback-url-file / --webhook-url-file). */
static char *mock_cmd(const struct role_env *env, const struct role_host *h, const struct mock_def *d)
{
	const struct bp_mocks *m = &env->ctx->bp->mocks;
	struct sbx_buf b = {0};
	char *key = secret_path(h, d, "api-key"), *sig = secret_path(h, d, "webhook-secret");
	sbx_buf_printf(&b, "%s" ROLE_LIBDIR "/sbx-mock-%s --listen 0.0.0.0:%d --data %s" MOCK_DATA "/%s.db "
		"--quiet --api-key-file %s", h->root, d->name, d->port, h->root, d->name, key);
	if (d->bin == 1)
		sbx_buf_printf(&b, " --smtp 0.0.0.0:%d", ROLE_MOCK_SMTP_PORT);
	if (mock_signs(d)) {
		sbx_buf_printf(&b, " --webhook-secret-file %s", sig);
		allow_opts(&b, env);
	}
	if (d->bin == 0) {
		char *sid = secret_path(h, d, "account-sid"), *token = secret_path(h, d, "auth-token");
		sbx_buf_printf(&b, " --account-sid-file %s --auth-token-file %s", sid, token);
		free(sid);
		free(token);
	}
	if (d->bin == 2) {
		char *sk = secret_path(h, d, "stripe-api-key"), *wh = secret_path(h, d, "stripe-webhook-secret");
		sbx_buf_printf(&b, " --stripe-api-key-file %s --stripe-webhook-secret-file %s", sk, wh);
		free(sk);
		free(wh);
	}
	const char *url = target_url(m, d), *flag = d->bin == 0 ? "--callback-url" : "--webhook-url";
	if (url && has_secret(url)) {
		char *f = secret_path(h, d, "target-url");
		sbx_buf_printf(&b, " %s-file %s", flag, f);
		free(f);
	} else if (url) {
		opt(&b, flag, url);
	}
	free(key);
	free(sig);
	return sbx_buf_steal(&b);
}

/* Add one secret file of mock d holding prefix and the secret: 0600, owned by the mocks' user; a
 * change restarts the mock. */
static void secret_file(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	const struct mock_def *d, const char *what, const char *prefix, const char *secret)
{
	const char *v = role_env_secret(env, secret);
	role_unit_file(u, secret_path(h, d, what), xasprintf("%s%s\n", prefix, v ? v : ""), 0600,
		ROLE_MOCK_USER, d->name, true, NULL);
}

/* Add one mock: its binary, its secrets, its service, its health check. */
static void mock_add(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	const struct mock_def *d, struct sbx_buf *health)
{
	char *rel = xasprintf(ROLE_LIBDIR "/sbx-mock-%s", d->name);
	char *data = xmalloc(env->mock_len[d->bin] + 1);
	memcpy(data, env->mock_bin[d->bin], env->mock_len[d->bin]);
	data[env->mock_len[d->bin]] = '\0';
	role_unit_file(u, role_path(h, rel), data, 0755, NULL, d->name, true, NULL);
	u->files[u->nfiles - 1].len = env->mock_len[d->bin]; /* binary: not strlen */
	secret_file(env, h, u, d, "api-key", "", ROLE_MOCK_API_KEY);
	if (mock_signs(d))
		secret_file(env, h, u, d, "webhook-secret", "", ROLE_MOCK_WEBHOOK_SECRET);
	if (d->bin == 0) {
		secret_file(env, h, u, d, "account-sid", "AC", ROLE_MOCK_TWILIO_SID);
		secret_file(env, h, u, d, "auth-token", "", ROLE_MOCK_TWILIO_TOKEN);
	}
	if (d->bin == 2) {
		secret_file(env, h, u, d, "stripe-api-key", "sk_test_", ROLE_MOCK_STRIPE_KEY);
		secret_file(env, h, u, d, "stripe-webhook-secret", "whsec_", ROLE_MOCK_WEBHOOK_SECRET);
	}
	const char *url = target_url(&env->ctx->bp->mocks, d);
	if (url && has_secret(url)) {
		char *v = role_env_expand(env, url);
		role_unit_file(u, secret_path(h, d, "target-url"), xasprintf("%s\n", v ? v : ""), 0600, ROLE_MOCK_USER,
			d->name, true, NULL);
		if (v)
			OPENSSL_cleanse(v, strlen(v));
		free(v);
	}
	char *cmd = mock_cmd(env, h, d);
	role_unit_service(u, h, d->name, cmd, ROLE_MOCK_USER, NULL, NULL, NULL);
	sbx_buf_printf(health, "%stimeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d; "
		"printf \"GET /healthz HTTP/1.0\\r\\n\\r\\n\" >&3; grep -q \"\\\"ok\\\"\" <&3'",
		health->len ? " && " : "", d->port);
	free(cmd);
	free(rel);
}

/* The preparation no environment changes: the mocks' user (idempotent, also when two applies race on one machine), its
 * data directory (taking over the files an earlier root-run mock left: regular files with one
 * link only, never following a link), the secrets' directory. */
char *role_mocks_ahead(const struct role_host *h)
{
	const char *r = h->root;
	return xasprintf("{ id -u " ROLE_MOCK_USER " >/dev/null 2>&1 || useradd --system --user-group "
		"--no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin " ROLE_MOCK_USER " || "
		"id -u " ROLE_MOCK_USER " >/dev/null; } && mkdir -p %s" MOCK_DATA " %s" MOCK_ETC
		" %s/var/log/sbx && chown " ROLE_MOCK_USER ": %s" MOCK_DATA " && chmod 700 %s" MOCK_DATA
		" && find %s" MOCK_DATA " -maxdepth 1 -type f -user root -links 1 -exec chown -h "
		ROLE_MOCK_USER ": {} +", r, r, r, r, r, r);
}

/* The preparation done ahead (role_mocks_ahead), then the run directory. */
static char *mocks_prepare(const struct role_host *h)
{
	return role_prepare_join("mocks", h, xasprintf("mkdir -p %s" ROLE_RUNDIR, h->root));
}

/* Render the mocks role for one host. */
int role_mocks_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err)
{
	const struct bp_mocks *m = &env->ctx->bp->mocks;
	struct sbx_buf health = {0};
	u->role = "mocks";
	u->prepare = mocks_prepare(h);
	for (size_t i = 0; i < SBX_NELEM(mock_defs); i++) {
		if (!role_mock_enabled(m, i))
			continue;
		if (env->mock_bin[i] == NULL) {
			sbx_buf_free(&health);
			return sbx_err_set(err, SBX_EXIT_FAILED, "role mocks on %s: no sbx-mock-%s binary loaded",
				h->node, mock_defs[i].name);
		}
		mock_add(env, h, u, &mock_defs[i], &health);
	}
	u->health = health.len ? sbx_buf_steal(&health) : NULL;
	sbx_buf_free(&health);
	return 0;
}

/* Append a secret output: prefix and the value the secret getter gives (a ${secret.NAME}
 * placeholder when outputs are recorded, so that text output masks it). */
static int secret_output(const struct role_ctx *ctx, const char *key, const char *prefix,
	const char *secret, struct role_output **o, size_t *n, struct sbx_err *err)
{
	char *v = NULL;
	int rc = ctx->secret ? ctx->secret(ctx->secret_ctx, secret, &v, err)
		: sbx_err_set(err, SBX_EXIT_FAILED, "roles: no secret store for %s", secret);
	if (rc == 0 && *prefix) {
		char *pv = xasprintf("%s%s", prefix, v);
		OPENSSL_cleanse(v, strlen(v));
		free(v);
		v = pv;
	}
	if (rc == 0)
		role_output_add(o, n, xstrdup(key), v, true);
	return rc;
}

/* What the Twilio SDK needs to talk to the SMS mock: the account SID, the auth token, the base URL. */
static int twilio_outputs(const struct role_ctx *ctx, const char *addr, struct role_output **o, size_t *n,
	struct sbx_err *err)
{
	if (secret_output(ctx, "TWILIO_ACCOUNT_SID", "AC", ROLE_MOCK_TWILIO_SID, o, n, err) < 0 ||
		secret_output(ctx, "TWILIO_AUTH_TOKEN", "", ROLE_MOCK_TWILIO_TOKEN, o, n, err) < 0)
		return -1;
	role_output_add(o, n, xstrdup("TWILIO_API_BASE"), xasprintf("http://%s:%d", addr, ROLE_MOCK_SMS_PORT), false);
	return 0;
}

/* What the Stripe SDK needs to talk to the payment mock: the API key, the base URL, the webhook
 * signing secret. */
static int stripe_outputs(const struct role_ctx *ctx, const char *addr, struct role_output **o, size_t *n,
	struct sbx_err *err)
{
	if (secret_output(ctx, "STRIPE_API_KEY", "sk_test_", ROLE_MOCK_STRIPE_KEY, o, n, err) < 0)
		return -1;
	role_output_add(o, n, xstrdup("STRIPE_API_BASE"), xasprintf("http://%s:%d", addr, ROLE_MOCK_PAYMENT_PORT),
		false);
	return secret_output(ctx, "STRIPE_WEBHOOK_SECRET", "whsec_", ROLE_MOCK_WEBHOOK_SECRET, o, n, err);
}

/* The mock endpoints on the host's first address, the API key, the webhook signing secret and,
 * with SMS, the Twilio SDK's settings, with payment the Stripe SDK's. */
int role_mocks_outputs(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err)
{
	const char *addr = h->addrs && h->addrs[0] ? h->addrs[0] : h->ssh_addr;
	bool any = false, signs = false;
	for (size_t i = 0; i < SBX_NELEM(mock_defs); i++) {
		if (!role_mock_enabled(&ctx->bp->mocks, i))
			continue;
		char *up = role_output_name(mock_defs[i].name);
		role_output_add(o, n, xasprintf("MOCK_%s_URL", up), xasprintf("http://%s:%d", addr,
			mock_defs[i].port), false);
		free(up);
		any = true;
		signs = signs || mock_signs(&mock_defs[i]);
	}
	if (role_mock_enabled(&ctx->bp->mocks, 1))
		role_output_add(o, n, xstrdup("MOCK_MAIL_SMTP"), xasprintf("%s:%d", addr, ROLE_MOCK_SMTP_PORT),
			false);
	if (any && secret_output(ctx, "MOCK_API_KEY", "", ROLE_MOCK_API_KEY, o, n, err) < 0)
		return -1;
	if (signs && secret_output(ctx, "MOCK_WEBHOOK_SECRET", "", ROLE_MOCK_WEBHOOK_SECRET, o, n, err) < 0)
		return -1;
	if (role_mock_enabled(&ctx->bp->mocks, 0) && twilio_outputs(ctx, addr, o, n, err) < 0)
		return -1;
	if (role_mock_enabled(&ctx->bp->mocks, 2) && stripe_outputs(ctx, addr, o, n, err) < 0)
		return -1;
	return 0;
}
