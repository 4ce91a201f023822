/* k8s_status — parse the Status of an API error and word it. */
#include "k8s_status.h"

#include <stdlib.h>
#include <string.h>

/* A copy of a string member, or NULL. */
static char *st_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? xstrdup(s) : NULL;
}

/* Release a Status. */
void k8s_status_clear(struct k8s_status *st)
{
	free(st->reason);
	free(st->message);
	for (size_t i = 0; i < st->ncauses; i++) {
		free(st->causes[i].type);
		free(st->causes[i].field);
		free(st->causes[i].message);
	}
	free(st->causes);
	*st = (struct k8s_status){0};
}

/* Parse a Status body. */
void k8s_status_parse(const json_t *body, long http_code, struct k8s_status *st)
{
	k8s_status_clear(st);
	st->code = http_code;
	if (!sbx_streq(json_string_value(json_object_get(body, "kind")), "Status"))
		return;
	json_int_t c = json_integer_value(json_object_get(body, "code"));
	if (c >= 100 && c < 600)
		st->code = (long)c;
	st->reason = st_str(body, "reason");
	st->message = st_str(body, "message");
	json_t *causes = json_object_get(json_object_get(body, "details"), "causes"), *e;
	size_t i;
	st->causes = xcalloc(json_array_size(causes) + 1, sizeof(*st->causes));
	json_array_foreach(causes, i, e) st->causes[st->ncauses++] =
		(struct k8s_cause){st_str(e, "reason"), st_str(e, "field"), st_str(e, "message")};
}

/* Word a Status as an error. */
int k8s_status_err(const struct k8s_status *st, const char *what, struct sbx_err *err)
{
	struct sbx_buf causes = {0};
	for (size_t i = 0; i < st->ncauses; i++) {
		const struct k8s_cause *c = &st->causes[i];
		if (st->message && c->field && strstr(st->message, c->field))
			continue;
		sbx_buf_printf(&causes, "%s%s%s%s", causes.len ? "; " : " (", c->field ? c->field : "",
			c->field && c->message ? ": " : "", c->message ? c->message : "");
	}
	sbx_err_set(err, SBX_EXIT_FAILED, "%s: HTTP %ld%s%s%s%s%s%s", what, st->code, st->reason ? " " : "",
		st->reason ? st->reason : "", st->message ? ": " : "", st->message ? st->message : "",
		causes.len ? causes.data : "", causes.len ? ")" : "");
	sbx_buf_free(&causes);
	return -1;
}

/* The manager named by a conflict cause's message. */
char *k8s_cause_manager(const char *message)
{
	static const char lead[] = "conflict with \"";
	const char *p = message ? strstr(message, lead) : NULL;
	if (p == NULL)
		return NULL;
	p += sizeof(lead) - 1;
	const char *q = strchr(p, '"');
	return q ? xstrndup(p, (size_t)(q - p)) : NULL;
}
