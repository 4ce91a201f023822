/*
 * Unit tests of the API client over HTTP against a scripted fake API server on loopback (a thread
 * of this test): discovery (aggregated, and the legacy fallback), server-side apply results
 * (created / unchanged / configured / conflict / forced / dry run with diff), the CRD wait and
 * the discovery refresh, list and delete by label, and watch waits that resume after a broken
 * stream and relist on 410. What only the real API server can show (managedFields, the real
 * conflict rules, TLS with client certificates) is in tests/integration/test_k8s_apply.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "k8s.h"

#define D "tests/unit/data/k8s/"

/* The fake server. Every response closes its connection. */
struct fake {
	int fd, port;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	bool legacy;           /* serve only the legacy discovery documents */
	json_t *store;         /* "res/ns/name" → object */
	long rv;
	json_t *log;           /* "METHOD path" of every request */
	int watch_step;        /* the Node watch script's step */
	bool gadget_served;    /* the Gadget CRD is established: discovery serves its kind */
};

static struct fake F;

/* One parsed request. */
struct freq {
	char method[16];
	char *path, *query;    /* query without '?', "" when none */
	char *body;
};

/* A fixture's text (caller frees). */
static char *fixture_text(const char *name)
{
	char *p = xasprintf(D "%s", name), *data = NULL;
	size_t len;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(sbx_read_file(p, &data, &len, &err), 0);
	free(p);
	return data;
}

/* Append a complete HTTP response. */
static void reply(struct sbx_buf *out, int code, const char *body)
{
	sbx_buf_printf(out, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n%s", code, strlen(body), body);
}

/* Reply with a JSON value (consumed). */
static void reply_json(struct sbx_buf *out, int code, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	reply(out, code, s);
	free(s);
	json_decref(j);
}

/* Reply with a Status. */
static void reply_status(struct sbx_buf *out, int code, const char *reason, const char *msg, json_t *causes)
{
	json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "reason", reason,
		"message", msg, "code", code);
	if (causes)
		json_object_set_new(st, "details", json_pack("{s:o}", "causes", causes));
	reply_json(out, code, st);
}

/* The value of a query parameter (caller frees), or NULL. */
static char *query_get(const char *query, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			char *raw = xstrndup(p + kl + 1, len - kl - 1);
			char *v = curl_easy_unescape(NULL, raw, 0, NULL);
			char *r = xstrdup(v);
			curl_free(v);
			free(raw);
			return r;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

/* Split an object path into resource, namespace ("" for none) and name (NULL for a collection). */
static bool split_path(const char *path, char **res, char **ns, char **name)
{
	const char *p = sbx_has_prefix(path, "/api/v1/") ? path + 8 : NULL;
	if (sbx_has_prefix(path, "/apis/")) {
		p = strchr(path + 6, '/');
		p = p ? strchr(p + 1, '/') : NULL;
		p = p ? p + 1 : NULL;
	}
	if (p == NULL)
		return false;
	char *seg[4] = {0};
	int n = 0;
	char *dup = xstrdup(p), *save = NULL;
	for (char *t = strtok_r(dup, "/", &save); t && n < 4; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	bool nsd = n >= 3 && strcmp(seg[0], "namespaces") == 0;
	*ns = xstrdup(nsd ? seg[1] : "");
	*res = xstrdup(nsd ? seg[2] : seg[0]);
	*name = xstrdup(nsd ? seg[3] : seg[1]);
	free(dup);
	return true;
}

/* Whether an object carries the label k=v of a selector (NULL: every object). */
static bool label_match(const json_t *o, const char *sel)
{
	if (sel == NULL)
		return true;
	const char *eq = strchr(sel, '=');
	char *k = xstrndup(sel, (size_t)(eq - sel));
	const char *v = json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), k));
	free(k);
	return sbx_streq(v, eq + 1);
}

/* Serve discovery: aggregated (the Gadget group once its CRD is established) or legacy. */
static bool serve_discovery(const struct freq *q, struct sbx_buf *out)
{
	static const char *const legacy[][2] = {{"/api", "disc_legacy_api.json"}, {"/apis", "disc_legacy_apis.json"},
		{"/api/v1", "disc_legacy_api_v1.json"}, {"/apis/apps/v1", "disc_legacy_apps_v1.json"},
		{"/apis/example.com/v2", "disc_legacy_example_v2.json"}, {"/apis/example.com/v1", "disc_legacy_example_v1.json"}};
	for (size_t i = 0; F.legacy && i < SBX_NELEM(legacy); i++)
		if (strcmp(q->path, legacy[i][0]) == 0) {
			char *s = fixture_text(legacy[i][1]);
			reply(out, 200, s);
			free(s);
			return true;
		}
	if (F.legacy || (strcmp(q->path, "/api") != 0 && strcmp(q->path, "/apis") != 0))
		return false;
	char *s = fixture_text(strcmp(q->path, "/api") == 0 ? "disc_api_v2.json" : "disc_apis_v2.json");
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	if (F.gadget_served && strcmp(q->path, "/apis") == 0)
		json_array_append_new(json_object_get(j, "items"), json_loads("{\"metadata\":{\"name\":\"test.dev\"},"
			"\"versions\":[{\"version\":\"v1\",\"resources\":[{\"resource\":\"gadgets\",\"responseKind\":"
			"{\"group\":\"test.dev\",\"version\":\"v1\",\"kind\":\"Gadget\"},\"scope\":\"Cluster\","
			"\"verbs\":[\"get\",\"list\",\"patch\",\"create\",\"delete\",\"watch\"]}]}]}", 0, NULL));
	reply_json(out, 200, j);
	return true;
}

/* The owner of each `data` key: kept in metadata.managedFields (a simplified form). */
static json_t *owners_of(const json_t *o)
{
	return json_object_get(json_object_get(o, "metadata"), "managedFields");
}

/* The `data` keys another manager owns with a different value (the conflicts of an apply). */
static json_t *conflicts(const json_t *live, const json_t *want, const char *manager)
{
	json_t *causes = json_array(), *owners = owners_of(live), *v;
	const char *k;
	json_object_foreach(json_object_get(want, "data"), k, v) {
		const char *owner = json_string_value(json_object_get(owners, k));
		if (owner && strcmp(owner, manager) != 0 &&
			!json_equal(v, json_object_get(json_object_get(live, "data"), k))) {
			char *field = xasprintf(".data.%s", k), *msg = xasprintf("conflict with \"%s\" using v1", owner);
			json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldManagerConflict",
				"message", msg, "field", field));
			free(field);
			free(msg);
		}
	}
	return causes;
}

/* Server-side apply, simplified: `data` keys have owners; labels and other fields merge. */
static void serve_apply(const struct freq *q, const char *key, struct sbx_buf *out)
{
	json_t *want = json_loads(q->body, 0, NULL), *live = json_object_get(F.store, key);
	char *fm = query_get(q->query, "fieldManager"), *force = query_get(q->query, "force");
	char *dry = query_get(q->query, "dryRun");
	json_t *causes = live ? conflicts(live, want, fm) : json_array();
	if (json_array_size(causes) && force == NULL) {
		reply_status(out, 409, "Conflict", "Apply failed with conflicts", json_incref(causes));
	} else {
		json_t *next = live ? json_deep_copy(live) : json_pack("{s:{s:{}}}", "metadata", "managedFields"), *v;
		const char *k;
		json_object_foreach(want, k, v) if (strcmp(k, "metadata") != 0 && strcmp(k, "data") != 0)
			json_object_set(next, k, v);
		json_object_update(json_object_get(next, "metadata"), json_object_get(want, "metadata"));
		if (json_object_get(want, "data") && json_object_get(next, "data") == NULL)
			json_object_set_new(next, "data", json_object());
		json_object_foreach(json_object_get(want, "data"), k, v) {
			json_object_set(json_object_get(next, "data"), k, v);
			json_object_set_new(owners_of(next), k, json_string(fm));
		}
		json_t *md = json_object_get(next, "metadata");
		bool changed = live == NULL || !json_equal(live, next);
		if (changed) {
			char *rv = xasprintf("%ld", dry ? F.rv : ++F.rv);
			json_object_set_new(md, "resourceVersion", json_string(rv));
			free(rv);
		}
		if (dry == NULL)
			json_object_set(F.store, key, next);
		reply_json(out, live ? 200 : 201, next);
	}
	json_decref(causes);
	json_decref(want);
	free(fm);
	free(force);
	free(dry);
}

/* A list of the stored objects of a resource (namespace "" = all) that match a label selector. */
static json_t *list_of(const char *res, const char *ns, const char *sel)
{
	json_t *items = json_array(), *o;
	const char *key;
	char *prefix = xasprintf("%s/", res);
	json_object_foreach(F.store, key, o) {
		const char *ons = json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
		if (sbx_has_prefix(key, prefix) && (*ns == '\0' || sbx_streq(ons, ns)) && label_match(o, sel))
			json_array_append(items, o);
	}
	free(prefix);
	char *rv = xasprintf("%ld", F.rv);
	json_t *l = json_pack("{s:s, s:{s:s}, s:o}", "kind", "List", "metadata", "resourceVersion", rv, "items", items);
	free(rv);
	return l;
}

/* Append one watch event line (consumes obj). */
static void event(struct sbx_buf *b, const char *type, json_t *obj)
{
	json_t *e = json_pack("{s:s, s:o}", "type", type, "object", obj);
	char *s = json_dumps(e, JSON_COMPACT);
	sbx_buf_printf(b, "%s\n", s);
	free(s);
	json_decref(e);
}

/* A node object, Ready or not, at a resourceVersion. */
static json_t *node(const char *rv, const char *ready)
{
	return json_pack("{s:{s:s, s:s}, s:{s:[{s:s, s:s, s:s}]}}", "metadata", "name", "n1", "resourceVersion", rv,
		"status", "conditions", "type", "Ready", "status", ready, "reason", "KubeletNotReady");
}

/* The Node watch script: a broken stream, a 410 ERROR event, a bookmark, then Ready. */
static void watch_nodes(const struct freq *q, struct sbx_buf *out)
{
	char *rv = query_get(q->query, "resourceVersion");
	struct sbx_buf ev = {0};
	int step = F.watch_step++;
	if (step == 0) {                 /* from the list's rv: one event, then the stream breaks */
		assert_string_equal(rv, "10");
		event(&ev, "MODIFIED", node("11", "False"));
		sbx_buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n%s",
			ev.data);
	} else if (step == 1) {          /* resumed from the event's rv: 410 as an ERROR event */
		assert_string_equal(rv, "11");
		event(&ev, "ERROR", json_pack("{s:s, s:i, s:s}", "kind", "Status", "code", 410, "reason", "Expired"));
	} else if (step == 2) {          /* after the relist: the watch itself answers 410 */
		reply_status(out, 410, "Expired", "too old resource version", NULL);
	} else {                         /* after the second relist: a bookmark, then Ready */
		event(&ev, "BOOKMARK", json_pack("{s:{s:s}}", "metadata", "resourceVersion", "30"));
		event(&ev, "MODIFIED", node("31", "True"));
	}
	if (step == 1 || step >= 3)
		sbx_buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n%s",
			ev.data ? ev.data : "");
	sbx_buf_free(&ev);
	free(rv);
}

/* A watch: the Node script, or (CRDs) the objects now Established. */
static void serve_watch(const struct freq *q, const char *res, struct sbx_buf *out)
{
	struct sbx_buf ev = {0};
	if (strcmp(res, "nodes") == 0) {
		watch_nodes(q, out);
		return;
	}
	json_t *o;
	const char *key;
	json_object_foreach(F.store, key, o) if (sbx_has_prefix(key, "customresourcedefinitions/")) {
		json_object_set_new(o, "status", json_pack("{s:[{s:s, s:s}]}", "conditions", "type", "Established",
			"status", "True"));
		F.gadget_served = true;
		event(&ev, "MODIFIED", json_incref(o));
	}
	sbx_buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n%s",
		ev.data ? ev.data : "");
	sbx_buf_free(&ev);
}

/* A collection GET: a list, or a watch. Nodes are the wait test's: the list's rv is 10 then 20. */
static void serve_collection(const struct freq *q, const char *res, const char *ns, struct sbx_buf *out)
{
	char *sel = query_get(q->query, "labelSelector"), *watch = query_get(q->query, "watch");
	if (watch) {
		serve_watch(q, res, out);
	} else if (strcmp(res, "nodes") == 0 && strstr(q->query, "resourceVersionMatch=Exact")) {
		reply_status(out, 410, "Expired", "The resourceVersion for the provided list is too old.", NULL);
	} else if (strcmp(res, "nodes") == 0 && sel == NULL) {
		const char *rv = F.watch_step == 0 ? "10" : "20";
		reply_json(out, 200, json_pack("{s:{s:s}, s:[o]}", "metadata", "resourceVersion", rv, "items",
			node(rv, "False")));
	} else {
		reply_json(out, 200, list_of(res, ns, sel));
	}
	free(sel);
	free(watch);
}

/* Route one request (under the lock). */
static void route(const struct freq *q, struct sbx_buf *out)
{
	char *res = NULL, *ns = NULL, *name = NULL;
	json_array_append_new(F.log, json_sprintf("%s %s", q->method, q->path));
	if (serve_discovery(q, out))
		return;
	if (!split_path(q->path, &res, &ns, &name)) {
		reply_status(out, 404, "NotFound", "no such path", NULL);
		return;
	}
	char *key = xasprintf("%s/%s/%s", res, ns, name ? name : "");
	json_t *o = json_object_get(F.store, key);
	if (name == NULL)
		serve_collection(q, res, ns, out);
	else if (strcmp(q->method, "PATCH") == 0)
		serve_apply(q, key, out);
	else if (o == NULL)
		reply_status(out, 404, "NotFound", "not found", NULL);
	else if (strcmp(q->method, "DELETE") == 0) {
		reply_json(out, 200, json_incref(o));
		json_object_del(F.store, key);
	} else
		reply_json(out, 200, json_incref(o));
	free(key);
	free(res);
	free(ns);
	free(name);
}

/* Read one request from a connection. */
static bool read_req(int fd, struct freq *q)
{
	struct sbx_buf b = {0};
	char chunk[4096], *end = NULL;
	ssize_t n;
	while ((end = b.data ? strstr(b.data, "\r\n\r\n") : NULL) == NULL && (n = read(fd, chunk, sizeof(chunk))) > 0)
		sbx_buf_add(&b, chunk, (size_t)n);
	if (end == NULL) {
		sbx_buf_free(&b);
		return false;
	}
	const char *cl = strcasestr(b.data, "\r\nContent-Length:");
	size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0, head = (size_t)(end - b.data) + 4;
	if (strcasestr(b.data, "Expect: 100-continue") && write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		want = 0;
	while (b.len - head < want && (n = read(fd, chunk, sizeof(chunk))) > 0)
		sbx_buf_add(&b, chunk, (size_t)n);
	char target[4096] = "";
	sscanf(b.data, "%15s %4095s", q->method, target);
	char *qm = strchr(target, '?');
	q->query = xstrdup(qm ? qm + 1 : "");
	if (qm)
		*qm = '\0';
	q->path = xstrdup(target);
	q->body = xstrndup(b.data + head, b.len - head);
	sbx_buf_free(&b);
	return true;
}

/* The server thread: one request per connection. */
static void *serve(void *arg)
{
	(void)arg;
	while (!F.stop) {
		struct pollfd p = {F.fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(F.fd, NULL, NULL);
		struct freq q = {0};
		struct sbx_buf out = {0};
		if (c >= 0 && read_req(c, &q)) {
			pthread_mutex_lock(&F.mu);
			route(&q, &out);
			pthread_mutex_unlock(&F.mu);
			for (size_t off = 0; off < out.len;) {
				ssize_t w = write(c, out.data + off, out.len - off);
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		if (c >= 0)
			close(c);
		sbx_buf_free(&out);
		free(q.path);
		free(q.query);
		free(q.body);
	}
	return NULL;
}

/* Start the fake server and open a client to it. */
static struct k8s *fake_start(bool legacy)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	F = (struct fake){.legacy = legacy, .store = json_object(), .log = json_array(), .rv = 100};
	pthread_mutex_init(&F.mu, NULL);
	F.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(F.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(F.fd, 64), 0);
	getsockname(F.fd, (struct sockaddr *)&a, &al);
	F.port = ntohs(a.sin_port);
	pthread_create(&F.th, NULL, serve, NULL);
	struct k8s_config cfg = {.server = xasprintf("http://127.0.0.1:%d", F.port), .namespace = "default",
		.token = "t0ken", .timeout_ms = 5000};
	struct k8s *k = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_open(&cfg, &k, &err), 0);
	free(cfg.server);
	return k;
}

/* Stop it. */
static void fake_stop(struct k8s *k)
{
	k8s_close(k);
	F.stop = 1;
	pthread_join(F.th, NULL);
	close(F.fd);
	json_decref(F.store);
	json_decref(F.log);
	pthread_mutex_destroy(&F.mu);
}

/* How many requests the log has that start with a prefix. */
static size_t logged(const char *prefix)
{
	size_t n = 0, i;
	json_t *e;
	pthread_mutex_lock(&F.mu);
	json_array_foreach(F.log, i, e) n += sbx_has_prefix(json_string_value(e), prefix);
	pthread_mutex_unlock(&F.mu);
	return n;
}

/* Load manifests from text (fails the test on error). */
static struct k8s_manifest_set *manifests(const char *yaml)
{
	struct k8s_manifest_set *set = xcalloc(1, sizeof(*set));
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_manifests_add_text(set, "m.yaml", yaml, strlen(yaml), false, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	return set;
}

/* Apply and return the report (fails the test when apply cannot run). */
static struct k8s_apply_report *apply(struct k8s *k, const struct k8s_manifest_set *set, struct k8s_apply_opts *o)
{
	struct k8s_apply_report *r = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_apply(k, set, o, &r, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	return r;
}

static const char two_maps[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns1}\ndata: {k: \"1\"}\n"
	"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: \"2\"}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n";

/* Create, then unchanged, then configured; namespaces first; the default namespace; labels. */
static void test_apply(void **state)
{
	(void)state;
	struct k8s *k = fake_start(false);
	struct k8s_manifest_set *set = manifests(two_maps);
	struct k8s_label env = {"sandbox.dev/env", "e1"};
	struct k8s_apply_opts o = {.labels = &env, .nlabels = 1, .parallel = 3};
	struct k8s_apply_report *r = apply(k, set, &o);
	assert_int_equal(r->count[K8S_APPLY_CREATED], 3);
	assert_string_equal(r->v[0].src->kind, "Namespace");
	assert_null(r->v[0].namespace);
	assert_string_equal(r->v[2].namespace, "default");
	json_t *b = json_object_get(F.store, "configmaps/default/b");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(b, "metadata"), "labels"),
		"sandbox.dev/env")), "e1");
	assert_int_equal(logged("PATCH /api/v1/namespaces/ns1/configmaps/a"), 1);
	assert_int_equal(logged("GET /api"), 2 + 3); /* discovery (2), one GET per object (3) */
	k8s_apply_report_free(r);
	r = apply(k, set, &o);
	assert_int_equal(r->count[K8S_APPLY_UNCHANGED], 3);
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_apply_report_check(r, &err), 0);
	k8s_apply_report_free(r);
	k8s_manifests_free(set);
	set = manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: \"3\"}\n");
	r = apply(k, set, &o);
	assert_int_equal(r->count[K8S_APPLY_CONFIGURED], 1);
	k8s_apply_report_free(r);
	k8s_manifests_free(set);
	fake_stop(k);
}

/* Another manager's field: a conflict with the field and the manager; --force takes it; a dry run
 * changes nothing and shows the diff. */
static void test_conflict(void **state)
{
	(void)state;
	struct k8s *k = fake_start(false);
	struct k8s_manifest_set *set = manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"1\"}\n");
	struct k8s_apply_opts other = {.field_manager = "other"}, mine = {0};
	struct k8s_apply_report *r = apply(k, set, &other);
	k8s_apply_report_free(r);
	k8s_manifests_free(set);
	set = manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"2\"}\n");
	r = apply(k, set, &mine);
	assert_int_equal(r->count[K8S_APPLY_CONFLICT], 1);
	assert_int_equal(r->v[0].nconflicts, 1);
	assert_string_equal(r->v[0].conflicts[0].field, ".data.k");
	assert_string_equal(r->v[0].conflicts[0].manager, "other");
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_apply_report_check(r, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_string_equal(sbx_err_first(&err), "m.yaml:1: ConfigMap default/c: conflict: .data.k is owned by \"other\"");
	assert_non_null(err.hint);
	sbx_err_clear(&err);
	k8s_apply_report_free(r);
	mine.dry_run = true;
	mine.force = true;
	r = apply(k, set, &mine);
	assert_int_equal(r->count[K8S_APPLY_CONFIGURED], 1);
	assert_int_equal(r->v[0].diff.n, 1);
	assert_string_equal(r->v[0].diff.v[0].path, ".data.k");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(F.store,
		"configmaps/default/c"), "data"), "k")), "1"); /* the dry run changed nothing */
	k8s_apply_report_free(r);
	mine.dry_run = false;
	r = apply(k, set, &mine);
	assert_int_equal(r->count[K8S_APPLY_CONFIGURED], 1);
	assert_int_equal(logged("PATCH /api/v1/namespaces/default/configmaps/c"), 4);
	k8s_apply_report_free(r);
	k8s_manifests_free(set);
	fake_stop(k);
}

/* A CRD and its object in one set: the CRD first, waited for (watch), discovery refreshed. An
 * unknown kind fails alone. */
static void test_crd(void **state)
{
	(void)state;
	struct k8s *k = fake_start(false);
	struct k8s_manifest_set *set = manifests("apiVersion: test.dev/v1\nkind: Gadget\nmetadata: {name: g1}\n---\n"
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.test.dev}\n"
		"spec: {group: test.dev, scope: Cluster, names: {kind: Gadget, plural: gadgets}, versions: [{name: v1}]}\n"
		"---\napiVersion: nope.dev/v1\nkind: Nope\nmetadata: {name: n}\n");
	struct k8s_apply_opts o = {.timeout_ms = 5000};
	struct k8s_apply_report *r = apply(k, set, &o);
	assert_string_equal(r->v[0].src->kind, "CustomResourceDefinition");
	assert_int_equal(r->v[0].result, K8S_APPLY_CREATED);
	assert_string_equal(r->v[1].src->kind, "Gadget");
	assert_int_equal(r->v[1].result, K8S_APPLY_CREATED);
	assert_null(r->v[1].namespace);
	assert_int_equal(r->v[2].result, K8S_APPLY_FAILED);
	assert_non_null(strstr(r->v[2].error, "no resource type for kind Nope"));
	assert_int_equal(logged("PATCH /apis/test.dev/v1/gadgets/g1"), 1);
	assert_true(logged("GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions") >= 2); /* list + watch */
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_apply_report_check(r, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_FAILED);
	sbx_err_clear(&err);
	k8s_apply_report_free(r);
	k8s_manifests_free(set);
	fake_stop(k);
}

/* Legacy discovery when the server has no aggregated form. */
static void test_legacy(void **state)
{
	(void)state;
	struct k8s *k = fake_start(true);
	struct k8s_rtype t = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_disc_resolve(k, "apps/v1", "Deployment", &t, &err), 0);
	assert_string_equal(t.resource, "deployments");
	k8s_rtype_clear(&t);
	assert_int_equal(k8s_disc_resolve(k, "example.com/v1", "Widget", &t, &err), 0);
	assert_false(t.preferred);
	k8s_rtype_clear(&t);
	assert_int_equal(logged("GET /apis/example.com/v"), 2);
	assert_int_equal(k8s_disc_resolve(k, "v1", "Nothing", &t, &err), -1);
	assert_string_equal(sbx_err_first(&err), "the server has no resource type for kind Nothing in v1");
	sbx_err_clear(&err);
	fake_stop(k);
}

/* List by label across types, delete in order (namespaced first, Namespaces after), with uids. */
static void test_labelled(void **state)
{
	(void)state;
	struct k8s *k = fake_start(false);
	struct k8s_manifest_set *set = manifests(two_maps);
	struct k8s_label env = {"sandbox.dev/env", "e2"};
	struct k8s_apply_opts o = {.labels = &env, .nlabels = 1};
	k8s_apply_report_free(apply(k, set, &o));
	k8s_manifests_free(set);
	set = manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n");
	k8s_apply_report_free(apply(k, set, &(struct k8s_apply_opts){0}));
	k8s_manifests_free(set);
	struct k8s_refs refs = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_list_labelled(k, "sandbox.dev/env=e2", &refs, &err), 0);
	assert_int_equal(refs.n, 3);
	k8s_refs_clear(&refs);
	assert_int_equal(k8s_delete_labelled(k, "sandbox.dev/env=e2", K8S_PROPAGATE_FOREGROUND, &refs, &err), 0);
	assert_int_equal(refs.n, 3);
	assert_string_equal(refs.v[2].kind, "Namespace");
	assert_null(refs.v[2].namespace);
	assert_int_equal(json_object_size(F.store), 1); /* the unlabelled ConfigMap stays */
	k8s_refs_clear(&refs);
	json_t *got = NULL;
	assert_int_equal(k8s_get(k, "v1", "ConfigMap", NULL, "other", &got, &err), 0);
	json_decref(got);
	assert_int_equal(k8s_get(k, "v1", "ConfigMap", NULL, "a", &got, &err), 1);
	struct k8s_wait_spec w = {.api_version = "v1", .kind = "ConfigMap", .label_selector = "sandbox.dev/env=e2",
		.all_namespaces = true, .pred = k8s_pred_gone, .timeout_ms = 2000};
	assert_int_equal(k8s_wait(k, &w, &err), 0);
	fake_stop(k);
}

/* A wait survives a broken stream (resumes from the last rv) and 410 twice (relists). */
static void test_wait(void **state)
{
	(void)state;
	struct k8s *k = fake_start(false);
	struct k8s_cond ready = {"Ready", "True", 1};
	struct k8s_wait_spec w = {.api_version = "v1", .kind = "Node", .pred = k8s_pred_condition, .ud = &ready,
		.timeout_ms = 10000};
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_wait(k, &w, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	assert_int_equal(F.watch_step, 4);
	assert_int_equal(logged("GET /api/v1/nodes"), 3 + 4); /* 3 lists, 4 watches */
	/* from a resourceVersion that is compacted: the exact list answers 410, the latest is listed */
	F.watch_step = 3;
	w.resource_version = "5";
	assert_int_equal(k8s_wait(k, &w, &err), 0);
	assert_int_equal(logged("GET /api/v1/nodes"), 7 + 3); /* the exact list, the list, a watch */
	w.resource_version = NULL;
	/* a deadline that passes: the error says what is missing */
	F.watch_step = 1000;
	struct k8s_cond never = {"Ready", "Unknown", 1};
	w.ud = &never;
	w.timeout_ms = 600;
	assert_int_equal(k8s_wait(k, &w, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "timed out after 1 s waiting for Node objects: n1: Ready=True"));
	sbx_err_clear(&err);
	fake_stop(k);
}

/* A transport failure names the request; an HTTP error carries the Status. */
static void test_errors(void **state)
{
	(void)state;
	struct k8s_config cfg = {.server = "http://127.0.0.1:1", .timeout_ms = 2000};
	struct k8s *k = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_open(&cfg, &k, &err), 0);
	struct k8s_req r = {.method = "GET", .path = "/version?x=1"};
	assert_int_equal(k8s_call(k, &r, NULL, NULL, &err), -1);
	assert_true(sbx_has_prefix(sbx_err_first(&err), "GET /version: "));
	sbx_err_clear(&err);
	k8s_close(k);
	k = fake_start(false);
	struct k8s_req g = {.method = "GET", .path = "/nowhere"};
	assert_int_equal(k8s_call(k, &g, NULL, NULL, &err), -1);
	assert_string_equal(sbx_err_first(&err), "GET /nowhere: HTTP 404 NotFound: no such path");
	sbx_err_clear(&err);
	fake_stop(k);
}

/* Start libcurl once. */
static int setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* Stop it. */
static int teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_crd),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_labelled),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
