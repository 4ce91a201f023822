/* role_mocks — the mocked external services (SMS, mail, payment) on the mocks node. */
#include "role_int.h"

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

/* The foreground command line of one mock. */
static char *mock_cmd(const struct role_env *env, const struct role_host *h, const struct mock_def *d)
{
	const struct bp_mocks *m = &env->ctx->bp->mocks;
	struct sbx_buf b = {0};
	sbx_buf_printf(&b, "%s" ROLE_LIBDIR "/sbx-mock-%s --listen 0.0.0.0:%d --data %s/var/lib/sbx/mocks/%s.db "
		"--quiet", h->root, d->name, d->port, h->root, d->name);
	if (d->bin == 1)
		sbx_buf_printf(&b, " --smtp 0.0.0.0:%d", ROLE_MOCK_SMTP_PORT);
	if (d->bin == 0)
		opt(&b, "--callback-url", m->sms_callback_url);
	if (d->bin == 2)
		opt(&b, "--webhook-url", m->payment_webhook_url);
	return sbx_buf_steal(&b);
}

/* Add one mock: its binary, its service, its health check. */
static void mock_add(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	const struct mock_def *d, struct sbx_buf *health)
{
	char *rel = xasprintf(ROLE_LIBDIR "/sbx-mock-%s", d->name);
	char *data = xmalloc(env->mock_len[d->bin] + 1);
	memcpy(data, env->mock_bin[d->bin], env->mock_len[d->bin]);
	data[env->mock_len[d->bin]] = '\0';
	role_unit_file(u, role_path(h, rel), data, 0755, NULL, d->name, true, NULL);
	u->files[u->nfiles - 1].len = env->mock_len[d->bin]; /* binary: not strlen */
	char *cmd = mock_cmd(env, h, d);
	role_unit_service(u, h, d->name, cmd, NULL, NULL, NULL, NULL);
	sbx_buf_printf(health, "%stimeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d; "
		"printf \"GET /healthz HTTP/1.0\\r\\n\\r\\n\" >&3; grep -q \"\\\"ok\\\"\" <&3'",
		health->len ? " && " : "", d->port);
	free(cmd);
	free(rel);
}

/* Render the mocks role for one host. */
int role_mocks_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err)
{
	const struct bp_mocks *m = &env->ctx->bp->mocks;
	struct sbx_buf health = {0};
	u->role = "mocks";
	u->prepare = xasprintf("mkdir -p %s/var/lib/sbx/mocks %s" ROLE_RUNDIR " %s/var/log/sbx", h->root,
		h->root, h->root);
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

/* The mock endpoints on the host's first address. */
int role_mocks_outputs(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err)
{
	const char *addr = h->addrs && h->addrs[0] ? h->addrs[0] : h->ssh_addr;
	(void)err;
	for (size_t i = 0; i < SBX_NELEM(mock_defs); i++) {
		if (!role_mock_enabled(&ctx->bp->mocks, i))
			continue;
		char *up = role_output_name(mock_defs[i].name);
		role_output_add(o, n, xasprintf("MOCK_%s_URL", up), xasprintf("http://%s:%d", addr,
			mock_defs[i].port), false);
		free(up);
	}
	if (role_mock_enabled(&ctx->bp->mocks, 1))
		role_output_add(o, n, xstrdup("MOCK_MAIL_SMTP"), xasprintf("%s:%d", addr, ROLE_MOCK_SMTP_PORT),
			false);
	return 0;
}
