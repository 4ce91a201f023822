/* daemon_page — GET /: a read-only HTML page of the environments (no secret is ever read). */
#include "daemon_int.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_REFRESH_MIN_S 5
#define PAGE_REFRESH_MAX_S 60

/* Append s HTML-escaped. */
static void esc(struct sbx_buf *b, const char *s)
{
	char *e = sbx_xml_escape(s ? s : "");
	sbx_buf_puts(b, e);
	free(e);
}

/* Time left as text. */
static const char *time_left(const struct state_env *e, char *buf, size_t len)
{
	if (e->expires == 0)
		return "permanent";
	if (e->expires <= sbx_now())
		return "expired";
	return sbx_fmt_duration(e->expires - sbx_now(), buf, len);
}

/* The environment's machines (its recorded domains), comma-separated and escaped. */
static int nodes(struct daemon *d, struct sbx_buf *b, const struct state_env *e, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	size_t n = 0, k = 0;
	char *prefix = xasprintf("sbx-%s.", e->name);
	int rc = state_res_list(d->st, e->name, &rows, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!sbx_streq(rows[i].type, "domain"))
			continue;
		sbx_buf_puts(b, k++ ? ", " : "");
		esc(b, sbx_has_prefix(rows[i].name, prefix) ? rows[i].name + strlen(prefix) : rows[i].name);
	}
	if (rc == 0 && k == 0)
		sbx_buf_puts(b, "&mdash;");
	state_res_list_free(rows, n);
	free(prefix);
	return rc;
}

/* One row of the table. */
static int row(struct daemon *d, struct sbx_buf *b, const struct state_env *e, struct sbx_err *err)
{
	char buf[32];
	sbx_buf_puts(b, "<tr><td>");
	esc(b, e->name);
	sbx_buf_puts(b, e->protected ? " <small>(protected)</small></td><td>" : "</td><td>");
	esc(b, e->owner);
	sbx_buf_puts(b, "</td><td>");
	esc(b, e->status);
	sbx_buf_puts(b, "</td><td>");
	esc(b, time_left(e, buf, sizeof(buf)));
	sbx_buf_puts(b, "</td><td>");
	int rc = nodes(d, b, e, err);
	sbx_buf_puts(b, "</td></tr>\n");
	return rc;
}

/* The page's head: refresh, title, style. */
static void page_head(struct daemon *d, struct sbx_buf *b, size_t n)
{
	int64_t r = d->o->interval_s;
	r = r < PAGE_REFRESH_MIN_S ? PAGE_REFRESH_MIN_S : r > PAGE_REFRESH_MAX_S ? PAGE_REFRESH_MAX_S : r;
	sbx_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"refresh\" content=\"%lld\">\n<title>sandbox environments</title>\n"
		"<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		"th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head>\n"
		"<body><h1>sandbox environments</h1>\n<p>%zu environment(s) in state ", (long long)r, n);
	esc(b, state_id(d->st));
	sbx_buf_puts(b, "; read-only, refreshes itself.</p>\n<table id=\"envs\"><thead><tr><th>name</th>"
		"<th>owner</th><th>status</th><th>time left</th><th>nodes</th></tr></thead><tbody>\n");
}

/* Render /. */
int daemon_page(struct daemon *d, char **out, struct sbx_err *err)
{
	struct state_env **envs = NULL;
	size_t n = 0;
	struct sbx_buf b = {0};
	int rc = state_env_list_brief(d->st, &envs, &n, err);
	if (rc == 0)
		page_head(d, &b, n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = row(d, &b, envs[i], err);
	state_env_list_free(envs, n);
	if (rc < 0) {
		sbx_buf_free(&b);
		return -1;
	}
	sbx_buf_puts(&b, "</tbody></table>\n</body></html>\n");
	*out = sbx_buf_steal(&b);
	return 0;
}
