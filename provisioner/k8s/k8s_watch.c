/* k8s_watch — list, then watch from the list's resourceVersion until a predicate holds. */
#include "k8s_watch.h"
#include "k8s_disc.h"
#include "k8s_http.h"
#include "k8s_int.h"

#include <stdlib.h>
#include <string.h>

#define WATCH_MAX_S 290       /* ask the server to end a stream after this long (then resume) */
#define WATCH_RETRY_MS 250    /* first pause after a broken stream */

/* What a wait works with. */
struct wstate {
	struct k8s *k;
	const struct k8s_wait_spec *w;
	char *coll;         /* the collection path */
	char *query;        /* "&fieldSelector=...&labelSelector=..." (escaped), or "" */
	json_t *objs;       /* "ns/name" → the object */
	char *rv;           /* the last resourceVersion seen */
	int64_t deadline;   /* monotonic ms */
	int done;           /* 1 the predicate holds, -1 it failed */
	bool relist;        /* 410 Gone: list again */
	bool exact;         /* the next list is at spec->resource_version exactly */
	struct sbx_buf why;
};

/* The key of an object: "namespace/name". */
static char *obj_key(const json_t *o)
{
	const json_t *md = json_object_get(o, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	return xasprintf("%s/%s", ns ? ns : "", name ? name : "");
}

/* Remember the resourceVersion of an object (or of a list's metadata). */
static void note_rv(struct wstate *s, const json_t *md)
{
	const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
	if (rv && *rv) {
		free(s->rv);
		s->rv = xstrdup(rv);
	}
}

/* Compare two strings through pointers (qsort). */
static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Ask the predicate about the current objects. */
static void ask(struct wstate *s)
{
	size_t n = json_object_size(s->objs), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	json_t **objs = xcalloc(n + 1, sizeof(*objs)), *v;
	const char *key;
	json_object_foreach(s->objs, key, v) keys[i++] = key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++)
		objs[i] = json_object_get(s->objs, keys[i]);
	s->why.len = 0;
	if (s->why.data)
		s->why.data[0] = '\0';
	int rc = s->w->pred(objs, n, s->w->ud, &s->why);
	s->done = rc > 0 ? 1 : rc < 0 ? -1 : 0;
	free(objs);
	free(keys);
}

/* List the objects (every page) and the resourceVersion to watch from. */
static int do_list(struct wstate *s, struct sbx_err *err)
{
	char *cont = NULL, *at = NULL;
	int rc = 0;
	bool gone = false;
	struct k8s_status st = {0};
	json_object_clear(s->objs);
	if (s->exact) {
		char *e = k8s_escape(s->w->resource_version);
		at = xasprintf("&resourceVersion=%s&resourceVersionMatch=Exact", e);
		free(e);
	}
	do {
		char *path = xasprintf("%s?limit=500%s%s%s%s", s->coll, s->query, at ? at : "", cont ? "&continue=" : "",
			cont ? cont : "");
		struct k8s_req r = {.method = "GET", .path = path};
		json_t *list = NULL, *it;
		size_t i;
		free(cont);
		cont = NULL;
		rc = k8s_call(s->k, &r, &list, &st, err);
		gone = rc < 0 && st.code == 410 && s->exact; /* compacted: the latest state will do */
		if (rc < 0 && st.code && !gone)
			k8s_req_err(&r, &st, err);
		const json_t *md = json_object_get(list, "metadata");
		const char *c = json_string_value(json_object_get(md, "continue"));
		cont = c && *c ? k8s_escape(c) : NULL;
		if (rc == 0 && cont == NULL)
			note_rv(s, md);
		json_array_foreach(json_object_get(list, "items"), i, it) {
			char *key = obj_key(it);
			json_object_set(s->objs, key, it);
			free(key);
		}
		json_decref(list);
		free(path);
	} while (rc == 0 && cont);
	free(cont);
	free(at);
	k8s_status_clear(&st);
	s->relist = gone;
	s->exact = false;
	if (gone)
		return 0;
	if (rc == 0)
		ask(s);
	return rc;
}

/* Apply one watch event. */
static void on_event(struct wstate *s, const char *type, json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	if (strcmp(type, "ERROR") == 0) {
		long code = (long)json_integer_value(json_object_get(obj, "code"));
		s->relist = code == 410;
		return;
	}
	note_rv(s, md);
	if (strcmp(type, "BOOKMARK") == 0)
		return;
	char *key = obj_key(obj);
	if (strcmp(type, "DELETED") == 0)
		json_object_del(s->objs, key);
	else
		json_object_set(s->objs, key, obj);
	free(key);
	ask(s);
}

/* The watch stream's line callback: one JSON event per line. */
static int on_line(char *line, size_t len, void *ud, struct sbx_err *err)
{
	struct wstate *s = ud;
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	(void)err;
	if (type && json_is_object(obj))
		on_event(s, type, obj);
	bool error_event = sbx_streq(type, "ERROR");
	json_decref(ev);
	/* stop on an answer, on 410, and on any other ERROR event (the stream is over then) */
	return s->done || s->relist || error_event ? 1 : 0;
}

/* The time left before the deadline, in ms (0 when it has passed). */
static int64_t left_ms(const struct wstate *s)
{
	int64_t l = s->deadline - sbx_mono_ms();
	return l > 0 ? l : 0;
}

/* One watch request from s->rv. 0: it ended (answer, 410, or a stream to resume); -1: refused. */
static int do_watch(struct wstate *s, struct sbx_err *err)
{
	int64_t left = left_ms(s);
	long max = s->w->watch_s > 0 ? s->w->watch_s : WATCH_MAX_S;
	long secs = (long)(left / 1000) + 1 < max ? (long)(left / 1000) + 1 : max;
	char *rv = k8s_escape(s->rv ? s->rv : "");
	char *path = xasprintf("%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld%s",
		s->coll, rv, secs, s->query);
	struct k8s_req r = {.method = "GET", .path = path, .timeout_ms = left + 1000, .line = on_line, .ud = s};
	struct k8s_resp resp;
	struct sbx_err e = SBX_ERR_INIT;
	int64_t t0 = sbx_mono_ms();
	int rc = 0;
	bool ok = k8s_http(s->k, &r, &resp, &e) == 0;
	sbx_err_clear(&e);
	if (!ok || (s->done == 0 && !s->relist && sbx_mono_ms() - t0 < 1000)) /* broken or brief: pause */
		sbx_sleep_ms(left_ms(s) < WATCH_RETRY_MS ? left_ms(s) : WATCH_RETRY_MS);
	if (!ok) {
		resp = (struct k8s_resp){0}; /* resume from s->rv */
	} else if (resp.code == 410) {
		s->relist = true;
	} else if (resp.code / 100 != 2) {
		struct k8s_status st = {0};
		k8s_status_parse(resp.body, resp.code, &st);
		rc = k8s_req_err(&r, &st, err);
		k8s_status_clear(&st);
	}
	k8s_resp_clear(&resp);
	free(path);
	free(rv);
	return rc;
}

/* What the wait is about, for errors: "Node worker-1", "ConfigMaps (app=web) in demo". */
static char *wait_what(const struct k8s_wait_spec *w)
{
	if (w->name)
		return xasprintf("%s %s", w->kind, w->name);
	return xasprintf("%s objects%s%s%s", w->kind, w->label_selector ? " (" : "",
		w->label_selector ? w->label_selector : "", w->label_selector ? ")" : "");
}

/* Build the collection path and the selector query of a wait. */
static int wait_init(struct wstate *s, struct sbx_err *err)
{
	const struct k8s_wait_spec *w = s->w;
	struct k8s_rtype t = {0};
	if (k8s_disc_resolve(s->k, w->api_version, w->kind, &t, err) < 0)
		return -1;
	s->coll = k8s_rtype_path(&t, w->all_namespaces ? NULL : w->namespace ? w->namespace : k8s_namespace(s->k));
	k8s_rtype_clear(&t);
	struct sbx_buf q = {0};
	sbx_buf_puts(&q, "");
	if (w->name) {
		char *f = xasprintf("metadata.name=%s", w->name), *e = k8s_escape(f);
		sbx_buf_printf(&q, "&fieldSelector=%s", e);
		free(e);
		free(f);
	}
	if (w->label_selector) {
		char *e = k8s_escape(w->label_selector);
		sbx_buf_printf(&q, "&labelSelector=%s", e);
		free(e);
	}
	s->query = sbx_buf_steal(&q);
	return 0;
}

/* Wait until the predicate holds. */
int k8s_wait(struct k8s *k, const struct k8s_wait_spec *spec, struct sbx_err *err)
{
	struct wstate s = {.k = k, .w = spec, .objs = json_object(), .exact = spec->resource_version != NULL,
		.deadline = sbx_mono_ms() + (spec->timeout_ms > 0 ? spec->timeout_ms : 1)};
	int rc = wait_init(&s, err);
	if (rc == 0)
		rc = do_list(&s, err);
	while (rc == 0 && s.done == 0 && left_ms(&s) > 0)
		rc = s.relist ? do_list(&s, err) : do_watch(&s, err);
	char *what = wait_what(spec);
	if (rc == 0 && s.done < 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", what, s.why.len ? s.why.data : "failed");
	else if (rc == 0 && s.done == 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "timed out after %lld s waiting for %s%s%s",
			(long long)(spec->timeout_ms + 999) / 1000, what, s.why.len ? ": " : "", s.why.len ? s.why.data : "");
	free(what);
	sbx_buf_free(&s.why);
	json_decref(s.objs);
	free(s.rv);
	free(s.query);
	free(s.coll);
	return rc;
}

/* The condition `type` of an object, or NULL. */
static const json_t *find_cond(const json_t *obj, const char *type)
{
	const json_t *c;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
		if (sbx_streq(json_string_value(json_object_get(c, "type")), type))
			return c;
	return NULL;
}

/* Every object has a condition at a status. */
int k8s_pred_condition(json_t *const *objs, size_t n, void *ud, struct sbx_buf *why)
{
	const struct k8s_cond *want = ud;
	size_t min = want->min ? want->min : 1, ok = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *c = find_cond(objs[i], want->type);
		const char *st = json_string_value(json_object_get(c, "status"));
		const char *name = json_string_value(json_object_get(json_object_get(objs[i], "metadata"), "name"));
		if (sbx_streq(st, want->status)) {
			ok++;
			continue;
		}
		const char *reason = json_string_value(json_object_get(c, "reason"));
		const char *msg = json_string_value(json_object_get(c, "message"));
		sbx_buf_printf(why, "%s%s: %s=%s%s%s%s%s", why->len ? "; " : "", name ? name : "?", want->type,
			st ? st : "(none)", reason ? " " : "", reason ? reason : "", msg ? ": " : "", msg ? msg : "");
	}
	if (n < min)
		sbx_buf_printf(why, "%s%zu of %zu present", why->len ? "; " : "", n, min);
	return ok == n && n >= min ? 1 : 0;
}

/* Nothing matches any more. */
int k8s_pred_gone(json_t *const *objs, size_t n, void *ud, struct sbx_buf *why)
{
	(void)ud;
	for (size_t i = 0; i < n; i++)
		sbx_buf_printf(why, "%s%s still there", i ? ", " : "",
			json_string_value(json_object_get(json_object_get(objs[i], "metadata"), "name")));
	return n == 0 ? 1 : 0;
}
