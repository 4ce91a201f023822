/* cmd_list — `sandbox list`: every environment the state knows. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cli.h"

/* Time left as text ("permanent", "expired", "3h 5m"). */
static const char *time_left(const struct state_env *e, char *buf, size_t len)
{
	if (e->expires == 0)
		return "permanent";
	int64_t left = e->expires - sbx_now();
	if (left <= 0)
		return "expired";
	return sbx_fmt_duration(left, buf, len);
}

/* One environment as JSON (shared with status). */
json_t *cli_env_json(const struct state_env *e)
{
	char buf[32];
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s, s:s}", "name", e->name, "id", e->id,
		"status", e->status, "blueprint", e->blueprint ? e->blueprint : "", "created", (json_int_t)e->created,
		"expires", (json_int_t)e->expires, "time_left", time_left(e, buf, sizeof(buf)), "protected",
		e->protected, "owner", e->owner ? e->owner : "", "hash", e->bp_hash ? e->bp_hash : "");
}

/*
 * Whether s is UTF-8 jansson accepts: no overlong forms, no surrogates, nothing past U+10FFFF
 * (a string it refuses falls back to jansson itself in cli_env_list_json).
 */
static bool utf8_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s++;
		if (c < 0x80)
			continue;
		int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : -1;
		if (more < 0 || c > 0xF4)
			return false;
		unsigned cp = c & (0x3Fu >> more);
		for (int i = 0; i < more; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (*s & 0x3Fu);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
	}
	return true;
}

/* Append v escaped as json_dumps escapes a string (flags 0: only '"', '\\' and controls), quoted. */
static void put_escaped(struct sbx_buf *b, const char *v)
{
	const char *run = v;
	sbx_buf_add(b, "\"", 1);
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbx_buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		switch (c) {
		case '"': sbx_buf_puts(b, "\\\""); break;
		case '\\': sbx_buf_puts(b, "\\\\"); break;
		case '\b': sbx_buf_puts(b, "\\b"); break;
		case '\f': sbx_buf_puts(b, "\\f"); break;
		case '\n': sbx_buf_puts(b, "\\n"); break;
		case '\r': sbx_buf_puts(b, "\\r"); break;
		case '\t': sbx_buf_puts(b, "\\t"); break;
		default: sbx_buf_printf(b, "\\u%04X", c); break;
		}
	}
	sbx_buf_puts(b, run);
	sbx_buf_add(b, "\"", 1);
}

/* Append one member line: indent, "key": (given quoted in `key`), the value, "," unless last. */
static void put_member(struct sbx_buf *b, const char *key, const char *str, int64_t num, bool last)
{
	sbx_buf_puts(b, "      ");
	sbx_buf_puts(b, key);
	sbx_buf_puts(b, ": ");
	if (str) {
		put_escaped(b, str);
	} else {
		char d[24];
		sbx_buf_add(b, d, (size_t)snprintf(d, sizeof(d), "%lld", (long long)num));
	}
	sbx_buf_puts(b, last ? "\n" : ",\n");
}

/* Append one environment as cli_env_json + cli_print_json print it (keys sorted, indent 2). */
static void put_env(struct sbx_buf *b, const struct state_env *e, bool last)
{
	char buf[32];
	sbx_buf_puts(b, "    {\n");
	put_member(b, "\"blueprint\"", e->blueprint ? e->blueprint : "", 0, false);
	put_member(b, "\"created\"", NULL, e->created, false);
	put_member(b, "\"expires\"", NULL, e->expires, false);
	put_member(b, "\"hash\"", e->bp_hash ? e->bp_hash : "", 0, false);
	put_member(b, "\"id\"", e->id, 0, false);
	put_member(b, "\"name\"", e->name, 0, false);
	put_member(b, "\"owner\"", e->owner ? e->owner : "", 0, false);
	sbx_buf_puts(b, e->protected ? "      \"protected\": true,\n" : "      \"protected\": false,\n");
	put_member(b, "\"status\"", e->status, 0, false);
	put_member(b, "\"time_left\"", time_left(e, buf, sizeof(buf)), 0, true);
	sbx_buf_puts(b, last ? "    }\n" : "    },\n");
}

/* Whether every string of e is one put_env can write as jansson would. */
static bool env_plain(const struct state_env *e)
{
	const char *strs[] = {e->name, e->id, e->status, e->blueprint ? e->blueprint : "",
		e->owner ? e->owner : "", e->bp_hash ? e->bp_hash : ""};
	for (size_t i = 0; i < SBX_NELEM(strs); i++)
		if (!strs[i] || !utf8_ok((const unsigned char *)strs[i]))
			return false;
	return true;
}

/* The list as jansson builds it (the reference; used when a string is not plain UTF-8). */
static char *list_json_jansson(struct state_env **envs, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cli_env_json(envs[i]));
	json_t *o = json_pack("{s:o, s:I}", "items", a, "total", (json_int_t)n);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/*
 * `list --json` of envs (caller frees): byte for byte what cli_print_json prints of
 * {"items": [cli_env_json...], "total": n}, without its newline, written directly (10,000
 * environments through jansson took most of a second).
 */
char *cli_env_list_json(struct state_env **envs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!env_plain(envs[i]))
			return list_json_jansson(envs, n);
	if (n == 0)
		return xstrdup("{\n  \"items\": [],\n  \"total\": 0\n}");
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "{\n  \"items\": [\n");
	for (size_t i = 0; i < n; i++)
		put_env(&b, envs[i], i + 1 == n);
	sbx_buf_printf(&b, "  ],\n  \"total\": %zu\n}", n);
	return sbx_buf_steal(&b);
}

/* List environments. */
int cmd_list(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print JSON"), CLI_END};
	const struct cli_opt_syntax syn = {"list", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct state_env **envs = NULL;
	size_t n = 0;
	if (cli_state_open(&st, &err) < 0 || state_env_list_brief(st, &envs, &n, &err) < 0) {
		state_close(st);
		return cli_fail(&err);
	}
	if (json) {
		char *s = cli_env_list_json(envs, n);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		printf("%-24s %-11s %-12s %-9s %s\n", "NAME", "STATUS", "TIME LEFT", "PROTECTED", "OWNER");
		for (size_t i = 0; i < n; i++) {
			char buf[32];
			printf("%-24s %-11s %-12s %-9s %s\n", envs[i]->name, envs[i]->status,
				time_left(envs[i], buf, sizeof(buf)), envs[i]->protected ? "yes" : "no",
				envs[i]->owner ? envs[i]->owner : "");
		}
	}
	state_env_list_free(envs, n);
	state_close(st);
	return 0;
}
