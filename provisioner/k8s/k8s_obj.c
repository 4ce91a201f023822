/* k8s_obj — get, list by label and delete objects. */
#include "k8s_obj.h"
#include "k8s_http.h"
#include "k8s_int.h"

#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 500

/* Free references. */
void k8s_refs_clear(struct k8s_refs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct k8s_ref *f = &r->v[i];
		free(f->api_version);
		free(f->kind);
		free(f->namespace);
		free(f->name);
		free(f->uid);
		free(f->resource_version);
		json_decref(f->labels);
	}
	free(r->v);
	*r = (struct k8s_refs){0};
}

/* The path of one object. */
char *k8s_obj_path(const struct k8s_rtype *t, const char *ns, const char *name)
{
	char *coll = k8s_rtype_path(t, ns), *e = k8s_escape(name);
	char *p = xasprintf("%s/%s", coll, e);
	free(coll);
	free(e);
	return p;
}

/* GET one object. */
int k8s_get(struct k8s *k, const char *api_version, const char *kind, const char *ns, const char *name,
	json_t **out, struct sbx_err *err)
{
	struct k8s_rtype t = {0};
	struct k8s_status st = {0};
	if (k8s_disc_resolve(k, api_version, kind, &t, err) < 0)
		return -1;
	char *path = k8s_obj_path(&t, ns ? ns : k8s_namespace(k), name);
	struct k8s_req r = {.method = "GET", .path = path};
	int rc = k8s_call(k, &r, out, &st, err);
	if (rc < 0 && st.code == 404)
		rc = 1;
	else if (rc < 0 && st.code)
		k8s_req_err(&r, &st, err);
	k8s_status_clear(&st);
	k8s_rtype_clear(&t);
	free(path);
	return rc;
}

/* Whether a uid is among the references. */
static bool refs_have_uid(const struct k8s_refs *r, const char *uid)
{
	for (size_t i = 0; uid && i < r->n; i++)
		if (sbx_streq(r->v[i].uid, uid))
			return true;
	return false;
}

/* Append the items of one list page as references of type t. */
static void refs_add_items(struct k8s_refs *out, const struct k8s_rtype *t, const json_t *list)
{
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(list, "items"), i, it) {
		const json_t *md = json_object_get(it, "metadata");
		const char *uid = json_string_value(json_object_get(md, "uid"));
		if (refs_have_uid(out, uid))
			continue;
		xgrow(&out->v, &out->cap, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = (struct k8s_ref){k8s_rtype_api_version(t), xstrdup(t->kind),
			t->namespaced ? xstrdup(json_string_value(json_object_get(md, "namespace"))) : NULL,
			xstrdup(json_string_value(json_object_get(md, "name"))), xstrdup(uid),
			xstrdup(json_string_value(json_object_get(md, "resourceVersion"))),
			json_incref(json_object_get(md, "labels"))};
	}
}

/* List one type cluster-wide by selector, page by page. A type that is gone (404) lists nothing. */
static int list_type(struct k8s *k, const struct k8s_rtype *t, const char *selector, struct k8s_refs *out,
	struct sbx_err *err)
{
	char *coll = k8s_rtype_path(t, NULL), *sel = k8s_escape(selector), *cont = NULL;
	int rc = 0;
	do {
		char *path = xasprintf("%s?labelSelector=%s&limit=%d%s%s", coll, sel, LIST_PAGE,
			cont ? "&continue=" : "", cont ? cont : "");
		struct k8s_req r = {.method = "GET", .path = path};
		struct k8s_status st = {0};
		json_t *list = NULL;
		free(cont);
		cont = NULL;
		rc = k8s_call(k, &r, &list, &st, err);
		if (rc == 0) {
			refs_add_items(out, t, list);
			const char *c = json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
			cont = c && *c ? k8s_escape(c) : NULL;
		}
		if (rc < 0 && st.code == 404)
			rc = 0;
		else if (rc < 0 && st.code)
			k8s_req_err(&r, &st, err);
		k8s_status_clear(&st);
		json_decref(list);
		free(path);
	} while (rc == 0 && cont);
	free(cont);
	free(sel);
	free(coll);
	return rc;
}

/* List by selector across the discovered types. */
int k8s_list_labelled(struct k8s *k, const char *selector, struct k8s_refs *out, struct sbx_err *err)
{
	struct k8s_rtype *types = NULL;
	size_t n = 0;
	struct k8s_refs got = {0};
	int rc = k8s_disc_types(k, &types, &n, err);
	const unsigned need = K8S_VERB_LIST | K8S_VERB_DELETE;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((types[i].verbs & need) == need && (types[i].verbs & (K8S_VERB_CREATE | K8S_VERB_PATCH)))
			rc = list_type(k, &types[i], selector, &got, err);
	k8s_rtypes_free(types, n);
	if (rc < 0) {
		k8s_refs_clear(&got);
		return -1;
	}
	if (got.n) {
		xgrow(&out->v, &out->cap, out->n + got.n, sizeof(*out->v));
		memcpy(out->v + out->n, got.v, got.n * sizeof(*got.v));
		out->n += got.n;
	}
	free(got.v);
	return 0;
}

/* Delete one object. */
int k8s_delete(struct k8s *k, const struct k8s_ref *ref, enum k8s_propagation p, struct sbx_err *err)
{
	static const char *const policy[] = {"Background", "Foreground", "Orphan"};
	struct k8s_rtype t = {0};
	struct k8s_status st = {0};
	if (k8s_disc_resolve(k, ref->api_version, ref->kind, &t, err) < 0)
		return -1;
	char *path = k8s_obj_path(&t, ref->namespace ? ref->namespace : k8s_namespace(k), ref->name);
	json_t *body = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
		"propagationPolicy", policy[p]);
	if (ref->uid)
		json_object_set_new(body, "preconditions", json_pack("{s:s}", "uid", ref->uid));
	struct k8s_req r = {.method = "DELETE", .path = path, .body = body};
	int rc = k8s_call(k, &r, NULL, &st, err);
	if (rc < 0 && (st.code == 404 || (st.code == 409 && ref->uid)))
		rc = 0; /* gone, or another object has the name now */
	else if (rc < 0 && st.code)
		k8s_req_err(&r, &st, err);
	k8s_status_clear(&st);
	json_decref(body);
	k8s_rtype_clear(&t);
	free(path);
	return rc;
}

/* The delete rank of a reference: namespaced, cluster-scoped, Namespaces, CRDs. */
static int delete_rank(const struct k8s_ref *r)
{
	if (strcmp(r->kind, "CustomResourceDefinition") == 0 && sbx_has_prefix(r->api_version, "apiextensions.k8s.io/"))
		return 3;
	if (strcmp(r->kind, "Namespace") == 0 && strcmp(r->api_version, "v1") == 0)
		return 2;
	return r->namespace ? 0 : 1;
}

/* Copy a reference. */
static struct k8s_ref ref_dup(const struct k8s_ref *r)
{
	return (struct k8s_ref){xstrdup(r->api_version), xstrdup(r->kind), xstrdup(r->namespace),
		xstrdup(r->name), xstrdup(r->uid), xstrdup(r->resource_version), json_incref(r->labels)};
}

/* Delete everything a selector matches, in the delete order. */
int k8s_delete_labelled(struct k8s *k, const char *selector, enum k8s_propagation p, struct k8s_refs *deleted,
	struct sbx_err *err)
{
	struct k8s_refs all = {0};
	int rc = 0;
	if (k8s_list_labelled(k, selector, &all, err) < 0)
		return -1;
	for (int rank = 0; rank < 4; rank++)
		for (size_t i = 0; i < all.n; i++) {
			if (delete_rank(&all.v[i]) != rank)
				continue;
			if (k8s_delete(k, &all.v[i], p, err) < 0) {
				rc = -1;
				continue;
			}
			if (deleted) {
				xgrow(&deleted->v, &deleted->cap, deleted->n + 1, sizeof(*deleted->v));
				deleted->v[deleted->n++] = ref_dup(&all.v[i]);
			}
		}
	k8s_refs_clear(&all);
	return rc;
}
