/* k8s_manifest — load manifest files into checked objects; the apply order. */
#include "k8s_manifest.h"
#include "k8s_yaml.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A string member, or NULL when absent, not a string or empty. */
static const char *mf_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : NULL;
}

/* Whether s can be one segment of a URL path (what the API server accepts as a name). */
static bool mf_segment_ok(const char *s)
{
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && strpbrk(s, "/%") == NULL;
}

/* The length of the group part of an apiVersion ("apps/v1" → 4, "v1" → 0). */
static size_t mf_group_len(const char *api_version)
{
	const char *slash = strchr(api_version, '/');
	return slash ? (size_t)(slash - api_version) : 0;
}

/* Whether a and b name the same object (group, kind, namespace, name). */
static bool mf_same(const struct k8s_manifest *a, const struct k8s_manifest *b)
{
	size_t ga = mf_group_len(a->api_version);
	return ga == mf_group_len(b->api_version) && strncmp(a->api_version, b->api_version, ga) == 0 &&
		strcmp(a->kind, b->kind) == 0 && strcmp(a->name, b->name) == 0 &&
		sbx_streq(a->namespace, b->namespace);
}

/* Check one object; fill m's views. Returns -1 after adding the problem at name:line. */
static int mf_check(struct k8s_manifest *m, const char *name, struct sbx_err *err)
{
	const json_t *o = m->obj, *md = json_object_get(o, "metadata");
	if (!json_is_object(o))
		return sbx_err_at(err, name, m->line, 1, "a manifest document must be a mapping (an object)");
	m->api_version = mf_str(o, "apiVersion");
	m->kind = mf_str(o, "kind");
	m->name = mf_str(md, "name");
	m->namespace = mf_str(md, "namespace");
	const char *missing = !m->api_version ? "apiVersion" : !m->kind ? "kind" : !m->name ? "metadata.name" : NULL;
	if (missing)
		return sbx_err_at(err, name, m->line, 1, "%s%s%s: no %s", m->kind ? m->kind : "object",
			m->name ? " " : "", m->name ? m->name : "", missing);
	if (!mf_segment_ok(m->name) || (m->namespace && !mf_segment_ok(m->namespace)))
		return sbx_err_at(err, name, m->line, 1, "%s %s: a name or namespace cannot be \".\" or \"..\" "
			"or contain '/' or '%%'", m->kind, m->name);
	return 0;
}

/* Append one object (consumes obj); a problem with it goes into err. */
static int mf_add(struct k8s_manifest_set *set, json_t *obj, const char *name, int line, struct sbx_err *err)
{
	struct k8s_manifest m = {.obj = obj, .line = line};
	if (mf_check(&m, name, err) < 0) {
		json_decref(obj);
		return -1;
	}
	for (size_t i = 0; i < set->n; i++)
		if (mf_same(&set->v[i], &m)) {
			sbx_err_at(err, name, line, 1, "%s %s is declared twice (first at %s:%d)", m.kind, m.name,
				set->v[i].file, set->v[i].line);
			json_decref(obj);
			return -1;
		}
	m.file = xstrdup(name);
	xgrow(&set->v, &set->cap, set->n + 1, sizeof(*set->v));
	set->v[set->n++] = m;
	return 0;
}

/* Append a document: its items when it is a List, else itself. */
static int mf_add_doc(struct k8s_manifest_set *set, json_t *doc, const char *name, int line, struct sbx_err *err)
{
	const char *kind = mf_str(doc, "kind");
	json_t *items = json_object_get(doc, "items"), *it;
	size_t i;
	int rc = 0;
	if (!(kind && strlen(kind) >= 4 && strcmp(kind + strlen(kind) - 4, "List") == 0 && json_is_array(items)))
		return mf_add(set, json_incref(doc), name, line, err);
	json_array_foreach(items, i, it) if (mf_add(set, json_incref(it), name, line, err) < 0)
		rc = -1;
	return rc;
}

/* Free the objects of set from index `from` on. */
static void mf_truncate(struct k8s_manifest_set *set, size_t from)
{
	for (size_t i = from; i < set->n; i++) {
		json_decref(set->v[i].obj);
		free(set->v[i].file);
	}
	set->n = from;
}

/* Add the objects of a text. */
int k8s_manifests_add_text(struct k8s_manifest_set *set, const char *name, const char *text, size_t len,
	bool json, struct sbx_err *err)
{
	struct k8s_docs docs = {0};
	size_t before = set->n;
	int rc = json ? k8s_json_parse(name, text, len, &docs, err) : k8s_yaml_parse(name, text, len, &docs, err);
	for (size_t i = 0; i < docs.n; i++) /* every bad object is reported, not only the first */
		if (mf_add_doc(set, docs.v[i].json, name, docs.v[i].line, err) < 0)
			rc = -1;
	if (rc < 0)
		mf_truncate(set, before);
	k8s_docs_clear(&docs);
	return rc;
}

/* Read a file (or "-": standard input) and add its objects. */
static int mf_load_file(struct k8s_manifest_set *set, const char *path, struct sbx_err *err)
{
	char *data = NULL;
	size_t len = 0;
	struct sbx_err rerr = SBX_ERR_INIT;
	bool in = strcmp(path, "-") == 0;
	int rc = sbx_read_file(in ? "/dev/stdin" : path, &data, &len, &rerr);
	if (rc < 0) {
		sbx_err_set(err, SBX_EXIT_USAGE, "%s", sbx_err_first(&rerr));
		sbx_err_clear(&rerr);
		return -1;
	}
	size_t n = strlen(path);
	bool json = n > 5 && strcmp(path + n - 5, ".json") == 0;
	rc = k8s_manifests_add_text(set, in ? "<stdin>" : path, data, len, json, err);
	free(data);
	return rc;
}

/* Whether a directory entry is a manifest file by its name (scandir's filter). */
static int mf_wanted(const struct dirent *e)
{
	static const char *const ext[] = {".yaml", ".yml", ".json"};
	size_t n = strlen(e->d_name);
	if (e->d_name[0] == '.')
		return 0;
	for (size_t i = 0; i < SBX_NELEM(ext); i++)
		if (n > strlen(ext[i]) && strcmp(e->d_name + n - strlen(ext[i]), ext[i]) == 0)
			return 1;
	return 0;
}

/* Order directory entries by name, bytewise (scandir's compare). */
static int mf_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Add the manifest files of a directory, sorted by name. */
static int mf_load_dir(struct k8s_manifest_set *set, const char *dir, struct sbx_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, mf_wanted, mf_cmp), rc = 0;
	if (n < 0)
		return sbx_err_set(err, SBX_EXIT_USAGE, "cannot read %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		char *p = sbx_path_join(dir, names[i]->d_name);
		if (mf_load_file(set, p, err) < 0)
			rc = -1;
		free(p);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Load files and directories. */
int k8s_manifests_load(const char *const *paths, size_t n, struct k8s_manifest_set **out, struct sbx_err *err)
{
	struct k8s_manifest_set *set = xcalloc(1, sizeof(*set));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		bool dir = strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode);
		if ((dir ? mf_load_dir(set, paths[i], err) : mf_load_file(set, paths[i], err)) < 0)
			rc = -1;
	}
	if (rc == 0 && set->n == 0)
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "no objects in the manifests given");
	if (rc < 0) {
		k8s_manifests_free(set);
		return -1;
	}
	*out = set;
	return 0;
}

/* Free a set. */
void k8s_manifests_free(struct k8s_manifest_set *set)
{
	if (set == NULL)
		return;
	mf_truncate(set, 0);
	free(set->v);
	free(set);
}

/* Whether m is a CRD. */
bool k8s_manifest_is_crd(const struct k8s_manifest *m)
{
	return strcmp(m->kind, "CustomResourceDefinition") == 0 &&
		sbx_has_prefix(m->api_version, "apiextensions.k8s.io/");
}

/* The rank of an object. */
enum k8s_rank k8s_manifest_rank(const struct k8s_manifest *m, bool namespaced)
{
	if (k8s_manifest_is_crd(m))
		return K8S_RANK_CRD;
	if (strcmp(m->kind, "Namespace") == 0 && strcmp(m->api_version, "v1") == 0)
		return K8S_RANK_NAMESPACE;
	return namespaced ? K8S_RANK_NAMESPACED : K8S_RANK_CLUSTER;
}

/* Order indexes by rank (a counting sort: stable). */
void k8s_order(const enum k8s_rank *ranks, size_t n, size_t *order)
{
	size_t k = 0;
	for (int r = 0; r < K8S_RANK_N; r++)
		for (size_t i = 0; i < n; i++)
			if ((int)ranks[i] == r)
				order[k++] = i;
}

/* Whether a CRD object defines group/version + kind. */
static bool crd_defines(const json_t *crd, const char *api_version, const char *kind)
{
	const json_t *spec = json_object_get(crd, "spec"), *v;
	const char *group = mf_str(spec, "group");
	size_t glen = mf_group_len(api_version), i;
	if (group == NULL || glen != strlen(group) || strncmp(group, api_version, glen) != 0 ||
		!sbx_streq(mf_str(json_object_get(spec, "names"), "kind"), kind))
		return false;
	json_array_foreach(json_object_get(spec, "versions"), i, v) if (sbx_streq(mf_str(v, "name"),
		api_version + glen + 1))
		return true;
	return sbx_streq(mf_str(spec, "version"), api_version + glen + 1);
}

/* The scope a CRD of the set declares for a kind. */
int k8s_manifests_crd_scope(const struct k8s_manifest_set *set, const char *api_version, const char *kind,
	size_t *crd)
{
	if (mf_group_len(api_version) == 0)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		if (!k8s_manifest_is_crd(&set->v[i]) || !crd_defines(set->v[i].obj, api_version, kind))
			continue;
		if (crd)
			*crd = i;
		return sbx_streq(mf_str(json_object_get(set->v[i].obj, "spec"), "scope"), "Cluster") ? 0 : 1;
	}
	return -1;
}
