/* role_node — apply a rendered unit to one host over SSH: compare, stage, validate, swap, reload. */
#include "role_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "term.h"

/* The node answered SSH moments ago (readiness); this bounds a reconnect to a guest that may be
 * starved of CPU while its peers boot or install, not a boot. */
#define CONNECT_TIMEOUT_MS 120000
#define STAGED ".sbx-new"
/* The manifest of the units applied on a host (below its root; /run: gone after a reboot). */
#define APPLIED ROLE_RUNDIR "/applied"
/* The bound on one staging command: 5 min, plus 1 s per 256 KiB uploaded (blobs of 200+ MB over
 * a slow guest's SSH). */
#define STAGE_BASE_MS 300000
#define STAGE_BYTES_PER_MS 262

/* Report progress, if anyone listens. */
static void progress(const struct role_node *n, const char *role, const char *step)
{
	const struct role_ctx *ctx = n->env->ctx;
	if (ctx->progress)
		ctx->progress(ctx->progress_ctx, n->h->name, role, step);
}

/* Whether the SSH user is root (no sudo needed). */
static bool as_root(const struct role_node *n)
{
	return sbx_streq(n->env->ctx->ssh_user ? n->env->ctx->ssh_user : "root", "root");
}

/* Prefix a quoted script with sudo when the SSH user is not root (priv) or run it as that user
 * (!priv); caller frees. */
static char *priv_wrap(const struct role_node *n, const char *script, bool priv)
{
	return xasprintf("%ssh -c %s", priv && !as_root(n) ? "sudo -n " : "", script);
}

/* The last `max` bytes of s without trailing blanks, cleaned for a terminal, for messages; caller frees. */
static char *tail_of(const char *s, size_t len, size_t max)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	return len > max ? term_sanitize_n(s + len - max, max) : term_sanitize_n(s, len);
}

/*
 * Run a script on the node (as root when priv, else as the SSH user) with stdin from pieces of
 * memory and local files. A non-zero exit is
 * an error naming host, role and step with the node's stderr (or stdout when stderr is empty).
 * *out (optional) receives stdout on success.
 */
static int node_run_as(struct role_node *n, bool priv, const char *role, const char *step,
	const char *script, const struct ssh_input *in, size_t nin, char **out, struct sbx_err *err)
{
	char *q = sbx_shell_quote(script), *cmd = priv_wrap(n, q, priv);
	struct ssh_result r = {0};
	int rc = ssh_exec_stream(n->c, cmd, in, nin, &r, err);
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

/* Run a script on the node as root (see node_run_as). */
static int node_run_in(struct role_node *n, const char *role, const char *step, const char *script,
	const struct ssh_input *in, size_t nin, char **out, struct sbx_err *err)
{
	return node_run_as(n, true, role, step, script, in, nin, out, err);
}

/* Run a script on the node as root, `input` (may be NULL) on its stdin (see node_run_as). */
static int node_run(struct role_node *n, const char *role, const char *step, const char *script,
	const struct sbx_buf *input, char **out, struct sbx_err *err)
{
	struct ssh_input in = {.data = input && input->data ? input->data : "", .len = input ? input->len : 0};
	return node_run_in(n, role, step, script, &in, 1, out, err);
}

/* Connect to the host, or take its open connection from readiness. */
int role_node_connect(struct role_node *n, struct sbx_err *err)
{
	const struct role_ctx *ctx = n->env->ctx;
	struct ssh_target t = {.host = n->h->ssh_addr, .port = n->h->ssh_port,
		.user = ctx->ssh_user ? ctx->ssh_user : "root", .priv_pem = ctx->ssh_priv_pem,
		.pinned_key = n->h->pinned_hostkey};
	progress(n, "-", "connect");
	n->c = n->unproven ? ssh_pool_take_unproven(ctx->pool, &t) : ssh_pool_take(ctx->pool, &t);
	n->pooled = n->unproven && n->c != NULL;
	int ms = n->connect_ms > 0 ? n->connect_ms : CONNECT_TIMEOUT_MS;
	if (n->c == NULL && ssh_pool_gave_up(ctx->pool, &t))
		return sbx_err_set(err, SBX_EXIT_FAILED, "node %s (%s): not ready, roles not applied", n->h->node,
			n->h->name);
	if (n->c == NULL && ssh_connect_wait(&t, ms, &n->c, NULL, err) < 0) {
		sbx_err_prefix(err, "node %s (%s)", n->h->node, n->h->name);
		return -1;
	}
	n->exec_base = ssh_exec_count(n->c);
	return 0;
}

/* Close the host's connection. */
void role_node_close(struct role_node *n)
{
	if (n->c)
		n->execs += ssh_exec_count(n->c) - n->exec_base;
	ssh_close(n->c);
	n->c = NULL;
}

/* Append " 'a' 'b' ..." (every file's path + suffix, quoted) to b. */
static void add_paths(struct sbx_buf *b, const struct role_unit *u, const bool *only, const char *suffix)
{
	for (size_t i = 0; i < u->nfiles; i++) {
		if (only && !only[i])
			continue;
		char *p = xasprintf("%s%s", u->files[i].path, suffix), *q = sbx_shell_quote(p);
		sbx_buf_printf(b, " %s", q);
		free(q);
		free(p);
	}
}

/* Whether sha256sum's output `out` lacks file f with its rendered content; *missing: lacks it at all. */
static bool file_differs(const char *out, const struct role_file *f, bool *missing)
{
	char want[65], *line = xasprintf("  %s\n", f->path);
	if (f->data == NULL) /* a blob */
		snprintf(want, sizeof want, "%s", f->sha256 ? f->sha256 : "");
	else
		sbx_sha256_hex(f->data, f->len, want);
	const char *hit = strstr(out, line);
	bool differs = hit == NULL || hit < out + 64 || strncmp(hit - 64, want, 64) != 0;
	if (missing)
		*missing = hit == NULL;
	free(line);
	return differs;
}

/* Run the unit's preparation (when `prepare`), then read the sha256 of every target file; mark
 * those that differ, and (missing: optional) those the node does not have. */
static int mark_changed(struct role_node *n, const struct role_unit *u, bool prepare, bool *changed,
	bool *missing, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	char *out = NULL;
	if (prepare && u->prepare)
		sbx_buf_printf(&b, "( %s ) >&2 || exit 1\n", u->prepare);
	sbx_buf_puts(&b, "sha256sum --");
	add_paths(&b, u, NULL, "");
	sbx_buf_puts(&b, " 2>/dev/null; true");
	int rc = node_run(n, u->role, prepare ? "prepare" : "compare", b.data, NULL, &out, err);
	for (size_t i = 0; rc == 0 && i < u->nfiles; i++)
		changed[i] = file_differs(out, &u->files[i], missing ? &missing[i] : NULL);
	free(out);
	sbx_buf_free(&b);
	return rc;
}

/* Replace every "{}" in a validate command with the staged path; caller frees. */
static char *subst_staged(const char *tmpl, const char *staged)
{
	struct sbx_buf b = {0};
	char *q = sbx_shell_quote(staged);
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

/*
 * The shell that writes one staged file from stdin (exactly len bytes), then chown/chmod/validate.
 * Whatever is at the staged path (a file left by an interrupted run, a link someone planted) is
 * removed, and the file is created anew with O_EXCL (noclobber), so a link is never followed;
 * it is born 0600 root (umask 077 of the stage script) and gets its owner and mode only once
 * its content is complete. Missing directories are created 0755. A blob is copied with head (no
 * block of its size in memory) and must then have its digest.
 */
static void stage_script(struct sbx_buf *b, const struct role_file *f, uint64_t len)
{
	char *staged = xasprintf("%s" STAGED, f->path), *q = sbx_shell_quote(staged);
	bool blob = f->data == NULL;
	sbx_buf_printf(b, "(umask 022; mkdir -p \"$(dirname %s)\")\nrm -f %s\n", q, q);
	if (blob)
		sbx_buf_printf(b, "(set -C; head -c %llu > %s)\n", (unsigned long long)len, q);
	else if (len)
		sbx_buf_printf(b, "(set -C; dd bs=%llu count=1 iflag=fullblock status=none > %s)\n",
			(unsigned long long)len, q);
	else
		sbx_buf_printf(b, "(set -C; : > %s)\n", q);
	sbx_buf_printf(b, "[ \"$(stat -c %%s %s)\" = %llu ]\n", q, (unsigned long long)len);
	if (blob) {
		char *qs = sbx_shell_quote(f->sha256 ? f->sha256 : ""), *qp = sbx_shell_quote(f->path);
		sbx_buf_printf(b, "[ \"$(sha256sum < %s | cut -c1-64)\" = %s ] || { printf '%%s: the upload does not "
			"have sha256 %%s\\n' %s %s >&2; exit 1; }\n", q, qs, qp, qs);
		free(qs);
		free(qp);
	}
	if (f->owner)
		sbx_buf_printf(b, "chown %s: %s\n", f->owner, q);
	sbx_buf_printf(b, "chmod %o %s\n", (unsigned)f->mode, q);
	if (f->validate) {
		char *v = subst_staged(f->validate, staged);
		sbx_buf_printf(b, "%s\n", v);
		free(v);
	}
	free(q);
	free(staged);
}

/* The stdin piece of one changed file: its rendered data, or its blob's local file (*size: its
 * size now); -1 when the blob has no local file. */
static int stage_input(const struct role_node *n, const struct role_unit *u, const struct role_file *f,
	struct ssh_input *in, uint64_t *size, struct sbx_err *err)
{
	struct stat st;
	if (f->data) {
		*in = (struct ssh_input){.data = f->data, .len = f->len};
		*size = f->len;
		return 0;
	}
	if (f->src == NULL || stat(f->src, &st) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "node %s (%s), role %s: no local file to upload to %s%s%s",
			n->h->node, n->h->name, u->role, f->path, f->src ? ": " : "", f->src ? strerror(errno) : "");
	*in = (struct ssh_input){.path = f->src, .len = (uint64_t)st.st_size};
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Upload every changed file next to its target and validate it there, in one command (stdin:
 * the files one after the other, blobs streamed from their local files); a failure removes
 * every staged file. */
static int stage_all(struct role_node *n, const struct role_unit *u, const bool *changed,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	struct ssh_input *in = xcalloc(u->nfiles + 1, sizeof(*in));
	uint64_t size = 0, total = 0;
	size_t nin = 0;
	int rc = 0;
	sbx_buf_puts(&b, "set -e\numask 077\ntrap 'rm -f");
	add_paths(&b, u, changed, STAGED);
	sbx_buf_puts(&b, "' EXIT\n");
	for (size_t i = 0; rc == 0 && i < u->nfiles; i++) {
		if (!changed[i] || (rc = stage_input(n, u, &u->files[i], &in[nin++], &size, err)) < 0)
			continue;
		stage_script(&b, &u->files[i], size);
		total += size;
	}
	sbx_buf_puts(&b, "trap - EXIT\n");
	ssh_set_timeout(n->c, (int)(STAGE_BASE_MS + total / STAGE_BYTES_PER_MS));
	if (rc == 0)
		rc = node_run_in(n, u->role, "validate", b.data, in, nin, NULL, err);
	ssh_set_timeout(n->c, 0);
	sbx_buf_free(&b);
	free(in);
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
		char *q = sbx_shell_quote(u->files[i].path);
		sbx_buf_printf(&b, "; mv -f %s" STAGED " %s", q, q);
		free(q);
	}
	int rc = node_run(n, u->role, "swap", b.data, NULL, NULL, err);
	sbx_buf_free(&b);
	return rc;
}

/* Append "sbx-svc ROOT ACTION NAME" for the host. */
static void svc_cmd(struct sbx_buf *b, const struct role_node *n, const char *action, const char *name)
{
	const char *root = n->h->root ? n->h->root : "";
	char *qr = sbx_shell_quote(root);
	sbx_buf_printf(b, "%s" ROLE_LIBDIR "/sbx-svc %s %s %s", root, qr, action, name);
	free(qr);
}

/* Run one sbx-svc action on the node. */
static int svc(struct role_node *n, const char *role, const char *action, const char *name,
	char **out, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	svc_cmd(&b, n, action, name);
	char *step = xasprintf("%s %s", action, name);
	int rc = node_run(n, role, step, b.data, NULL, out, err);
	free(step);
	sbx_buf_free(&b);
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

/* Ensure every service runs (one sbx-svc ensure-all: under systemd one daemon-reload and one
 * start for all); *started gets "NAME started|running" lines. */
static int svc_ensure_all(struct role_node *n, const struct role_unit *u, char **started,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	svc_cmd(&b, n, "ensure-all", u->services[0]);
	for (size_t i = 1; i < u->nservices; i++)
		sbx_buf_printf(&b, " %s", u->services[i]);
	int rc = node_run(n, u->role, "start", b.data, NULL, started, err);
	sbx_buf_free(&b);
	return rc;
}

/* Start services that are not running; reload or restart those whose files changed. */
static int services(struct role_node *n, const struct role_unit *u, const bool *changed,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	char *out = NULL;
	progress(n, u->role, "reload");
	if (u->nservices == 0 || svc_ensure_all(n, u, &out, err) < 0)
		return u->nservices == 0 ? 0 : -1;
	sbx_buf_puts(&b, "set -e");
	for (size_t i = 0; i < u->nservices; i++) {
		char *line = xasprintf("%s started\n", u->services[i]);
		bool started = strstr(out, line) != NULL;
		int need = started ? 0 : svc_need(u, changed, u->services[i]);
		n->starts += started;
		n->reloads += need != 0;
		if (need) {
			sbx_buf_puts(&b, "; ");
			svc_cmd(&b, n, need == 2 ? "restart" : "reload", u->services[i]);
		}
		free(line);
	}
	int rc = b.len > 6 ? node_run(n, u->role, "reload", b.data, NULL, NULL, err) : 0;
	sbx_buf_free(&b);
	free(out);
	return rc;
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
	n->health_checks++;
	progress(n, u->role, "health");
	int ms = ctx->health_timeout_ms > 0 ? ctx->health_timeout_ms : 120000;
	sbx_backoff_init(&b, u->health_ms > ms ? u->health_ms : ms, 100, 500);
	do {
		sbx_err_clear(&last);
		rc = node_run(n, u->role, "health", u->health, NULL, NULL, &last);
	} while (rc < 0 && !sbx_cancelled() && sbx_backoff_wait_intr(&b) >= 0 && !sbx_cancelled());
	if (rc < 0 && sbx_cancelled()) {
		for (size_t i = 0; i < last.n; i++)
			sbx_err_set(err, SBX_EXIT_FAILED, "%s (interrupted while waiting for it)", last.msgs[i].text);
	} else if (rc < 0) {
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

/* Apply one unit. */
int role_node_apply(struct role_node *n, const struct role_unit *u, struct sbx_err *err)
{
	bool *changed = xcalloc(u->nfiles + 1, sizeof(bool));
	size_t nchanged = 0;
	int rc = -1;
	progress(n, u->role, "prepare");
	if (mark_changed(n, u, true, changed, NULL, err) < 0)
		goto out;
	for (size_t i = 0; i < u->nfiles; i++)
		nchanged += changed[i];
	progress(n, u->role, "upload");
	if (nchanged && (stage_all(n, u, changed, err) < 0 || swap_all(n, u, changed, err) < 0))
		goto out;
	n->files_changed += (int)nchanged;
	if (services(n, u, changed, err) < 0)
		goto out;
	if (n->gate && !n->gate(n->gate_arg)) {
		sbx_err_set(err, SBX_EXIT_FAILED, "node %s (%s), role %s: %s", n->h->node, n->h->name,
			u->role, n->gate_msg ? n->gate_msg : "a prerequisite failed");
		goto out;
	}
	if (health(n, u, err) < 0)
		goto out;
	struct sbx_buf in = {.data = u->post_input, .len = u->post_input ? strlen(u->post_input) : 0};
	if (u->post && node_run(n, u->role, "configure", u->post, &in, NULL, err) < 0)
		goto out;
	progress(n, u->role, "done");
	rc = 0;
out:
	free(changed);
	return rc;
}

/* Append one change of a dry run. */
void role_change_add(struct role_change **c, size_t *nc, const struct role_host *h, const char *role,
	enum role_change_kind kind, char *what)
{
	*c = xrealloc(*c, (*nc + 1) * sizeof(**c));
	(*c)[*nc] = (struct role_change){.host = xstrdup(h->name), .role = role, .kind = kind, .what = what};
	(*nc)++;
}

/* Append the shell that prints "running NAME" for each of the unit's services that runs. */
static void svc_running_script(struct sbx_buf *b, const struct role_node *n, const struct role_unit *u)
{
	for (size_t i = 0; i < u->nservices; i++) {
		sbx_buf_puts(b, "if ");
		svc_cmd(b, n, "running", u->services[i]);
		sbx_buf_printf(b, " >/dev/null 2>&1; then echo 'running %s'; fi\n", u->services[i]);
	}
}

/* Whether svc_running_script's output says service `name` runs. */
static bool svc_says_running(const char *out, const char *name)
{
	char *line = xasprintf("running %s\n", name);
	bool yes = strstr(out, line) != NULL;
	free(line);
	return yes;
}

/* Which of the unit's services run (sbx-svc running: reads pid files or systemd, starts nothing). */
static int svc_running(struct role_node *n, const struct role_unit *u, bool *running,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	char *out = NULL;
	svc_running_script(&b, n, u);
	sbx_buf_puts(&b, "true");
	int rc = node_run(n, u->role, "status", b.data, NULL, &out, err);
	for (size_t i = 0; rc == 0 && i < u->nservices; i++)
		running[i] = svc_says_running(out, u->services[i]);
	free(out);
	sbx_buf_free(&b);
	return rc;
}

/* Dry-run one unit. */
int role_node_plan(struct role_node *n, const struct role_unit *u, struct role_change **c, size_t *nc,
	struct sbx_err *err)
{
	bool *changed = xcalloc(u->nfiles + 1, sizeof(bool)), *missing = xcalloc(u->nfiles + 1, sizeof(bool));
	bool running[SBX_NELEM(u->services)] = {0};
	int rc = -1;
	if (mark_changed(n, u, false, changed, missing, err) < 0 ||
		(u->nservices && svc_running(n, u, running, err) < 0))
		goto out;
	for (size_t i = 0; i < u->nfiles; i++)
		if (changed[i])
			role_change_add(c, nc, n->h, u->role, missing[i] ? ROLE_CHANGE_CREATE : ROLE_CHANGE_UPDATE,
				xstrdup(u->files[i].path));
	for (size_t i = 0; i < u->nservices; i++) {
		int need = running[i] ? svc_need(u, changed, u->services[i]) : 0;
		enum role_change_kind k = !running[i] ? ROLE_CHANGE_START : need == 2 ? ROLE_CHANGE_RESTART
			: ROLE_CHANGE_RELOAD;
		if (!running[i] || need)
			role_change_add(c, nc, n->h, u->role, k, xstrdup(u->services[i]));
	}
	rc = 0;
out:
	free(changed);
	free(missing);
	return rc;
}

/* Append one field of a digest's input: its length, then its bytes (NULL differs from ""). */
static void digest_field(struct sbx_buf *b, const char *s, size_t len)
{
	if (s == NULL) {
		sbx_buf_puts(b, "-\n");
		return;
	}
	sbx_buf_printf(b, "%zu:", len);
	sbx_buf_add(b, s, len);
	sbx_buf_puts(b, "\n");
}

/* Append a NUL-terminated field (NULL allowed). */
static void digest_str(struct sbx_buf *b, const char *s)
{
	digest_field(b, s, s ? strlen(s) : 0);
}

/* The digest of everything a unit renders. */
void role_unit_digest(const struct role_unit *u, char out[65])
{
	struct sbx_buf b = {0};
	char h[65];
	digest_str(&b, u->role);
	digest_str(&b, u->prepare);
	digest_str(&b, u->health);
	digest_str(&b, u->post);
	digest_str(&b, u->post_input);
	for (size_t i = 0; i < u->nservices; i++)
		digest_str(&b, u->services[i]);
	for (size_t i = 0; i < u->nfiles; i++) {
		const struct role_file *f = &u->files[i];
		if (f->data)
			sbx_sha256_hex(f->data, f->len, h);
		digest_str(&b, f->path);
		digest_str(&b, f->data ? h : f->sha256);
		sbx_buf_printf(&b, "%o %d\n", (unsigned)f->mode, f->restart);
		digest_str(&b, f->owner);
		digest_str(&b, f->service);
		digest_str(&b, f->validate);
	}
	sbx_sha256_hex(b.data ? b.data : "", b.len, out);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len); /* the post step's input may hold verifiers */
	sbx_buf_free(&b);
}

/* Append the quoted paths of the files (rendered and blobs) of the units u[k] with ok[k] (ok NULL:
 * all); returns how many. */
static size_t add_paths_of(struct sbx_buf *b, const struct role_unit *const *u, size_t nu, const bool *ok)
{
	size_t n = 0;
	for (size_t k = 0; k < nu; k++)
		for (size_t i = 0; (ok == NULL || ok[k]) && i < u[k]->nfiles; i++) {
			char *q = sbx_shell_quote(u[k]->files[i].path);
			sbx_buf_printf(b, " %s", q);
			free(q);
			n++;
		}
	return n;
}

/* Append `cmd`, run as the SSH user, then (when that fails and the user is not root) under sudo. */
static void user_or_root(struct sbx_buf *b, const struct role_node *n, const char *cmd, const char *retry)
{
	sbx_buf_printf(b, "%s 2>/dev/null", cmd);
	if (!as_root(n))
		sbx_buf_printf(b, " || sudo -n %s 2>/dev/null", retry ? retry : cmd);
	sbx_buf_puts(b, "\n");
}

/* Append the shell that prints "running NAME" for each running service of the units: under
 * systemd a process in the unit's cgroup (read by the shell itself: no process started), else
 * sbx-svc running-all (pid files; under sudo, as it signals the daemons). */
static void check_services(struct sbx_buf *b, const struct role_node *n, const struct role_unit *const *u,
	size_t nu)
{
	bool sys = n->h->root == NULL || *n->h->root == '\0';
	if (sys)
		sbx_buf_puts(b, "C=/sys/fs/cgroup/system.slice\nif [ -d /run/systemd/system ] && [ -d $C ]; then\n"
			"for s in");
	for (size_t k = 0; sys && k < nu; k++)
		for (size_t i = 0; i < u[k]->nservices; i++)
			sbx_buf_printf(b, " %s", u[k]->services[i]);
	if (sys)
		sbx_buf_puts(b, "; do p=; { read -r p <$C/sbx-$s.service/cgroup.procs; } 2>/dev/null; "
			"[ -z \"$p\" ] || echo \"running $s\"; done\nelse\n");
	for (size_t k = 0; k < nu; k++) {
		if (u[k]->nservices == 0)
			continue;
		if (!as_root(n))
			sbx_buf_puts(b, "sudo -n ");
		svc_cmd(b, n, "running-all", u[k]->services[0]);
		for (size_t i = 1; i < u[k]->nservices; i++)
			sbx_buf_printf(b, " %s", u[k]->services[i]);
		sbx_buf_puts(b, " 2>/dev/null\n");
	}
	sbx_buf_puts(b, sys ? "true\nfi\n" : "");
}

/*
 * The one command of a quick check, run as the SSH user (sudo costs most of a second on a slow
 * guest; it is used only for what the user cannot read), starting as few processes as it can
 * (each costs a tenth of a second on a busy TCG guest): the manifest (read by the shell), the
 * identity of every file (inode, size, mtime, ctime, which need no read access: a file was
 * compared with its rendering or digest when it was applied, and any write, replacement, chmod or
 * chown since changes one of them; hashing is what the check avoids), the running services.
 */
static char *check_script(const struct role_node *n, const struct role_unit *const *u, size_t nu)
{
	struct sbx_buf b = {0}, st = {0};
	char *m = role_path(n->h, APPLIED), *q = sbx_shell_quote(m);
	char *rd = xasprintf("{ while IFS= read -r l; do printf '%%s\\n' \"$l\"; done <%s; }", q),
		*cat = xasprintf("cat %s", q);
	user_or_root(&b, n, rd, cat);
	sbx_buf_puts(&st, "stat -c 'now %n %i %s %.9Y %.9Z' --");
	if (add_paths_of(&st, u, nu, NULL) == 0)
		sbx_buf_puts(&st, " /dev/null");
	user_or_root(&b, n, st.data, NULL);
	check_services(&b, n, u, nu);
	sbx_buf_puts(&b, "true");
	sbx_buf_free(&st);
	free(rd);
	free(cat);
	free(q);
	free(m);
	return sbx_buf_steal(&b);
}

/* Whether a quick check's output shows file f as the manifest recorded it after its apply. */
static bool file_same(const char *out, const struct role_file *f)
{
	char *now = xasprintf("\nnow %s ", f->path);
	const char *hit = strstr(out, now), *rest = hit ? hit + strlen(now) : NULL;
	bool same = false;
	if (rest) {
		char *want = xasprintf("\nblob %s %.*s\n", f->path, (int)strcspn(rest, "\n"), rest);
		same = strstr(out, want) != NULL;
		free(want);
	}
	free(now);
	return same;
}

/* Whether a quick check's output (after a leading newline) shows unit u unchanged. */
static bool check_same(const char *out, const struct role_unit *u)
{
	char d[65];
	role_unit_digest(u, d);
	char *line = xasprintf("\napplied %s %s\n", u->role, d);
	bool same = strstr(out, line) != NULL;
	free(line);
	for (size_t i = 0; same && i < u->nfiles; i++)
		same = file_same(out, &u->files[i]);
	for (size_t i = 0; same && i < u->nservices; i++)
		same = svc_says_running(out, u->services[i]);
	return same;
}

/* Quick-check n units in one command. */
int role_node_check(struct role_node *n, const struct role_unit *const *u, size_t nu, bool *same,
	struct sbx_err *err)
{
	char *script = check_script(n, u, nu), *out = NULL;
	struct sbx_err e = SBX_ERR_INIT;
	progress(n, "-", "check");
	struct ssh_input none = {.data = "", .len = 0};
	int rc = node_run_as(n, false, "-", "check", script, &none, 1, &out, &e);
	if (rc < 0 && n->pooled) { /* the kept connection died since readiness: connect anew */
		sbx_err_clear(&e);
		role_node_close(n);
		n->unproven = false;
		rc = role_node_connect(n, &e) < 0 ? -1 : node_run_as(n, false, "-", "check", script, &none, 1, &out, &e);
	}
	n->pooled = false;
	if (rc < 0) {
		for (size_t i = 0; i < e.n; i++)
			sbx_err_set(err, SBX_EXIT_FAILED, "%s", e.msgs[i].text);
	}
	char *all = rc == 0 ? xasprintf("\n%s", out) : NULL;
	for (size_t k = 0; rc == 0 && k < nu; k++)
		same[k] = check_same(all, u[k]);
	sbx_err_clear(&e);
	free(all);
	free(out);
	free(script);
	return rc;
}

/* Write the node's manifest of the units applied or found unchanged: their digests, and the
 * identity of their files ("blob PATH INODE SIZE MTIME CTIME", rendered files too); owned by the
 * SSH user, whose quick check reads it without sudo. */
int role_node_record(struct role_node *n, const struct role_unit *const *u, const bool *ok, size_t nu,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	char *m = role_path(n->h, APPLIED), *q = sbx_shell_quote(m);
	sbx_buf_printf(&b, "set -e\numask 077\nmkdir -p \"$(dirname %s)\"\nrm -f %s" STAGED "\n"
		"(set -C; printf '%%s\\n' ''", q, q);
	for (size_t k = 0; k < nu; k++) {
		char d[65];
		if (!ok[k])
			continue;
		role_unit_digest(u[k], d);
		sbx_buf_printf(&b, " 'applied %s %s'", u[k]->role, d);
	}
	sbx_buf_printf(&b, " > %s" STAGED ")\n", q);
	sbx_buf_puts(&b, "stat -c 'blob %n %i %s %.9Y %.9Z' --");
	if (add_paths_of(&b, u, nu, ok) == 0)
		sbx_buf_puts(&b, " /dev/null");
	sbx_buf_printf(&b, " >> %s" STAGED "\n", q);
	if (!as_root(n)) {
		char *user = sbx_shell_quote(n->env->ctx->ssh_user);
		sbx_buf_printf(&b, "chown %s %s" STAGED "\n", user, q);
		free(user);
	}
	sbx_buf_printf(&b, "mv -f %s" STAGED " %s", q, q);
	int rc = node_run(n, "-", "record", b.data, NULL, NULL, err);
	sbx_buf_free(&b);
	free(q);
	free(m);
	return rc;
}
