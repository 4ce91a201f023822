/* role_node — apply a rendered unit to one host over SSH: compare, stage, validate, swap, reload. */
#include "role_int.h"

#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 30000
#define STAGED ".sbx-new"

/* Report progress, if anyone listens. */
static void progress(const struct role_node *n, const char *role, const char *step)
{
	const struct role_ctx *ctx = n->env->ctx;
	if (ctx->progress)
		ctx->progress(ctx->progress_ctx, n->h->name, role, step);
}

/* Prefix a script with sudo when the SSH user is not root; caller frees. */
static char *priv_wrap(const struct role_node *n, const char *script)
{
	if (sbx_streq(n->env->ctx->ssh_user ? n->env->ctx->ssh_user : "root", "root"))
		return xasprintf("sh -c %s", script);
	return xasprintf("sudo -n sh -c %s", script);
}

/* The last `max` bytes of s without trailing blanks, for messages; caller frees. */
static char *tail_of(const char *s, size_t len, size_t max)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	return len > max ? xstrndup(s + len - max, max) : xstrndup(s, len);
}

/*
 * Run a script on the node. A non-zero exit is an error naming host, role and step with the
 * node's stderr (or stdout when stderr is empty). *out (optional) receives stdout on success.
 */
static int node_run(struct role_node *n, const char *role, const char *step, const char *script,
	const char *input, char **out, struct sbx_err *err)
{
	char *q = ssh_quote(script), *cmd = priv_wrap(n, q);
	struct ssh_result r = {0};
	int rc = ssh_exec(n->c, cmd, input, &r, err);
	if (rc == 0 && r.status != 0) {
		const char *msg = r.err_len ? r.err : r.out ? r.out : "";
		size_t mlen = r.err_len ? r.err_len : r.out_len;
		char *m = tail_of(msg, mlen, 1500);
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "node %s (%s), role %s, step %s: exit %d: %s",
			n->h->node, n->h->name, role, step, r.status, m);
		free(m);
	} else if (rc < 0) {
		sbx_err_prefix(err, "node %s (%s), role %s, step %s", n->h->node, n->h->name, role, step);
	} else if (out) {
		*out = r.out;
		r.out = NULL;
	}
	ssh_result_clear(&r);
	free(cmd);
	free(q);
	return rc;
}

/* Connect to the host. */
int role_node_connect(struct role_node *n, struct sbx_err *err)
{
	const struct role_ctx *ctx = n->env->ctx;
	struct ssh_target t = {.host = n->h->ssh_addr, .port = n->h->ssh_port,
		.user = ctx->ssh_user ? ctx->ssh_user : "root", .priv_pem = ctx->ssh_priv_pem,
		.pinned_key = n->h->pinned_hostkey};
	progress(n, "-", "connect");
	if (ssh_connect_wait(&t, CONNECT_TIMEOUT_MS, &n->c, NULL, err) < 0) {
		sbx_err_prefix(err, "node %s (%s)", n->h->node, n->h->name);
		return -1;
	}
	return 0;
}

/* Close the host's connection. */
void role_node_close(struct role_node *n)
{
	ssh_close(n->c);
	n->c = NULL;
}

/* Ask the node for the sha256 of every target file; mark those that differ. */
static int mark_changed(struct role_node *n, const struct role_unit *u, bool *changed,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	char *out = NULL;
	sbx_buf_puts(&b, "sha256sum --");
	for (size_t i = 0; i < u->nfiles; i++) {
		char *q = ssh_quote(u->files[i].path);
		sbx_buf_printf(&b, " %s", q);
		free(q);
	}
	sbx_buf_puts(&b, " 2>/dev/null; true");
	int rc = node_run(n, u->role, "compare", b.data, NULL, &out, err);
	for (size_t i = 0; rc == 0 && i < u->nfiles; i++) {
		char want[65], *line = xasprintf("  %s\n", u->files[i].path);
		sbx_sha256_hex(u->files[i].data, u->files[i].len, want);
		const char *hit = strstr(out, line);
		changed[i] = hit == NULL || hit < out + 64 || strncmp(hit - 64, want, 64) != 0;
		free(line);
	}
	free(out);
	sbx_buf_free(&b);
	return rc;
}

/* Replace every "{}" in a validate command with the staged path; caller frees. */
static char *subst_staged(const char *tmpl, const char *staged)
{
	struct sbx_buf b = {0};
	char *q = ssh_quote(staged);
	for (const char *p = tmpl; *p;) {
		const char *hit = strstr(p, "{}");
		size_t n = hit ? (size_t)(hit - p) : strlen(p);
		sbx_buf_add(&b, p, n);
		if (hit == NULL)
			break;
		sbx_buf_puts(&b, q);
		p = hit + 2;
	}
	free(q);
	return sbx_buf_steal(&b);
}

/* Upload one changed file next to its target, chown it, validate it there. */
static int stage_one(struct role_node *n, const struct role_unit *u, const struct role_file *f,
	struct sbx_err *err)
{
	char *staged = xasprintf("%s" STAGED, f->path), *qs = ssh_quote(staged);
	struct sbx_buf b = {0};
	int rc = ssh_upload(n->c, staged, f->data, f->len, f->mode, err);
	if (rc < 0)
		sbx_err_prefix(err, "node %s (%s), role %s, step upload", n->h->node, n->h->name, u->role);
	if (rc == 0 && f->owner)
		sbx_buf_printf(&b, "chown %s: %s && ", f->owner, qs);
	if (rc == 0 && f->validate) {
		char *v = subst_staged(f->validate, staged);
		sbx_buf_printf(&b, "%s || { rm -f %s; exit 1; }; ", v, qs);
		free(v);
	}
	if (rc == 0 && b.len) {
		sbx_buf_puts(&b, "true");
		char *step = xasprintf("validate %s", f->path);
		rc = node_run(n, u->role, step, b.data, NULL, NULL, err);
		free(step);
	}
	sbx_buf_free(&b);
	free(qs);
	free(staged);
	return rc;
}

/* Move every staged file over its target in one command. */
static int swap_all(struct role_node *n, const struct role_unit *u, const bool *changed,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "set -e");
	for (size_t i = 0; i < u->nfiles; i++) {
		if (!changed[i])
			continue;
		char *q = ssh_quote(u->files[i].path);
		sbx_buf_printf(&b, "; mv -f %s" STAGED " %s", q, q);
		free(q);
	}
	int rc = node_run(n, u->role, "swap", b.data, NULL, NULL, err);
	sbx_buf_free(&b);
	return rc;
}

/* Run the node's service helper: sbx-svc ROOT ACTION NAME. */
static int svc(struct role_node *n, const char *role, const char *action, const char *name,
	char **out, struct sbx_err *err)
{
	const char *root = n->h->root ? n->h->root : "";
	char *qr = ssh_quote(root);
	char *script = xasprintf("%s" ROLE_LIBDIR "/sbx-svc %s %s %s", root, qr, action, name);
	char *step = xasprintf("%s %s", action, name);
	int rc = node_run(n, role, step, script, NULL, out, err);
	free(step);
	free(script);
	free(qr);
	return rc;
}

/* What a file change asks of its running service: 0 nothing, 1 reload, 2 restart. */
static int svc_need(const struct role_unit *u, const bool *changed, const char *name)
{
	int need = 0;
	for (size_t i = 0; i < u->nfiles; i++)
		if (changed[i] && sbx_streq(u->files[i].service, name))
			need = need > (u->files[i].restart ? 2 : 1) ? need : u->files[i].restart ? 2 : 1;
	return need;
}

/* Start services that are not running; reload or restart those whose files changed. */
static int services(struct role_node *n, const struct role_unit *u, const bool *changed,
	struct sbx_err *err)
{
	for (size_t i = 0; i < u->nservices; i++) {
		char *out = NULL;
		progress(n, u->role, "reload");
		if (svc(n, u->role, "ensure", u->services[i], &out, err) < 0)
			return -1;
		bool started = sbx_has_prefix(out, "started");
		free(out);
		int need = started ? 0 : svc_need(u, changed, u->services[i]);
		n->starts += started;
		if (need && svc(n, u->role, need == 2 ? "restart" : "reload", u->services[i], NULL, err) < 0)
			return -1;
		n->reloads += need != 0;
	}
	return 0;
}

/* Poll the health check with backoff until it passes or the deadline. */
static int health(struct role_node *n, const struct role_unit *u, struct sbx_err *err)
{
	const struct role_ctx *ctx = n->env->ctx;
	struct sbx_backoff b;
	struct sbx_err last = SBX_ERR_INIT;
	int rc;
	if (u->health == NULL)
		return 0;
	progress(n, u->role, "health");
	sbx_backoff_init(&b, ctx->health_timeout_ms > 0 ? ctx->health_timeout_ms : 120000, 100, 1000);
	do {
		sbx_err_clear(&last);
		rc = node_run(n, u->role, "health", u->health, NULL, NULL, &last);
	} while (rc < 0 && sbx_backoff_wait(&b) == 0);
	if (rc < 0) {
		for (size_t i = 0; i < last.n; i++)
			sbx_err_set(err, SBX_EXIT_FAILED, "%s (gave up at the deadline)", last.msgs[i].text);
		for (size_t i = 0; i < u->nservices; i++) {
			char *out = NULL;
			if (svc(n, u->role, "logs", u->services[i], &out, &last) == 0 && out && *out)
				sbx_err_set(err, SBX_EXIT_FAILED, "log of %s on %s:\n%s", u->services[i],
					n->h->name, out);
			free(out);
		}
	}
	sbx_err_clear(&last);
	return rc;
}

/* Stage and validate every changed file. */
static int stage_all(struct role_node *n, const struct role_unit *u, const bool *changed,
	struct sbx_err *err)
{
	for (size_t i = 0; i < u->nfiles; i++)
		if (changed[i] && stage_one(n, u, &u->files[i], err) < 0)
			return -1;
	return 0;
}

/* Apply one unit. */
int role_node_apply(struct role_node *n, const struct role_unit *u, struct sbx_err *err)
{
	bool *changed = xcalloc(u->nfiles + 1, sizeof(bool));
	size_t nchanged = 0;
	int rc = -1;
	progress(n, u->role, "prepare");
	if (u->prepare && node_run(n, u->role, "prepare", u->prepare, NULL, NULL, err) < 0)
		goto out;
	if (u->nfiles && mark_changed(n, u, changed, err) < 0)
		goto out;
	for (size_t i = 0; i < u->nfiles; i++)
		nchanged += changed[i];
	progress(n, u->role, "upload");
	if (nchanged && (stage_all(n, u, changed, err) < 0 || swap_all(n, u, changed, err) < 0))
		goto out;
	n->files_changed += (int)nchanged;
	if (services(n, u, changed, err) < 0 || health(n, u, err) < 0)
		goto out;
	if (u->post && node_run(n, u->role, "configure", u->post, u->post_input, NULL, err) < 0)
		goto out;
	progress(n, u->role, "done");
	rc = 0;
out:
	free(changed);
	return rc;
}
