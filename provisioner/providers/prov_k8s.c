/*
 * prov_k8s — the Kubernetes provider's row in the table: objects an environment applied to its
 * cluster (RES_K8S) are observed, listed with their owners (labels sandbox.dev/state, env-id,
 * env, protect) and deleted here. They are applied as one ordered set by the env layer's cluster
 * phase (CRDs, then namespaces, then the rest), not one by one: ensure refuses.
 */
#include "prov_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "k8s.h"

struct kp {
	struct k8s *k; /* NULL: the session has no cluster */
};

/* Connect to the session's cluster, when it has one. */
static int kp_open(const struct prov_cfg *cfg, void **h, struct sbx_err *err)
{
	struct kp *p = xcalloc(1, sizeof(*p));
	struct k8s_config *kc = NULL;
	int rc = 0;
	if (cfg->kubeconfig && (k8s_config_load(cfg->kubeconfig, cfg->kube_context, &kc, err) < 0 ||
		k8s_open(kc, &p->k, err) < 0))
		rc = -1;
	k8s_config_free(kc);
	if (rc < 0) {
		free(p);
		return -1;
	}
	*h = p;
	return 0;
}

/* Disconnect. */
static void kp_close(void *h)
{
	struct kp *p = h;
	k8s_close(p->k);
	free(p);
}

/* A cluster runs no machines: it never makes a site "real". */
static bool kp_is_test(void *h)
{
	(void)h;
	return true;
}

/* Nothing to prepare. */
static int kp_prepare(void *h, struct sbx_err *err)
{
	(void)h;
	(void)err;
	return 0;
}

/* Fail for a session without a cluster. */
static int no_cluster(struct sbx_err *err)
{
	return sbx_err_set(err, SBX_EXIT_FAILED, "this environment has no Kubernetes cluster to act on");
}

/* Objects are applied as a set by the cluster phase. */
static int obj_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	(void)h;
	(void)adopt;
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s is applied with its set by the cluster phase", r->name);
}

/* A reference from a row key. */
static int key_ref(const char *key, struct k8s_ref *ref, struct res_k8s *parts, struct sbx_err *err)
{
	if (res_k8s_parse(key, parts) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "not a cluster object: %s", key);
	*ref = (struct k8s_ref){parts->api_version, parts->kind, parts->namespace, parts->obj_name, NULL, NULL, NULL};
	return 0;
}

/* Delete one object (in the background: a namespace takes its contents with it). */
static int obj_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	struct kp *p = h;
	struct k8s_ref ref;
	struct res_k8s parts = {0};
	(void)where;
	if (p->k == NULL)
		return no_cluster(err);
	int rc = key_ref(name, &ref, &parts, err) < 0 ? -1 : k8s_delete(p->k, &ref, K8S_PROPAGATE_BACKGROUND, err);
	struct res tmp = {.type = RES_K8S, .u.k8s = parts};
	res_clear(&tmp);
	return rc;
}

/* A label's value, or NULL. */
static const char *label(const json_t *labels, const char *key)
{
	return json_string_value(json_object_get(labels, key));
}

/* Whether an object exists and whose it is. */
static int obj_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	struct kp *p = h;
	json_t *obj = NULL;
	if (p->k == NULL)
		return no_cluster(err);
	const struct res_k8s *o = &r->u.k8s;
	int got = k8s_get(p->k, o->api_version, o->kind, o->namespace, o->obj_name, &obj, err);
	if (got < 0)
		return -1;
	out->exists = got == 0;
	json_decref(obj);
	return 0;
}

/* Objects of sandbox's on the cluster, with the owners their labels name. */
static int kp_list(void *h, struct prov_obj **objs, size_t *n, struct sbx_err *err)
{
	struct kp *p = h;
	struct k8s_refs refs = {0};
	if (p->k == NULL)
		return 0;
	if (k8s_list_labelled(p->k, "sandbox.dev/state", &refs, err) < 0)
		return -1;
	*objs = xrealloc(*objs, (*n + refs.n + 1) * sizeof(**objs));
	for (size_t i = 0; i < refs.n; i++) {
		const struct k8s_ref *f = &refs.v[i];
		const json_t *l = f->labels;
		(*objs)[(*n)++] = (struct prov_obj){RES_K8S, res_k8s_key(f->api_version, f->kind, f->namespace, f->name),
			NULL, label(l, "sandbox.dev/env-id") != NULL, xstrdup(label(l, "sandbox.dev/state")),
			xstrdup(label(l, "sandbox.dev/env-id")), xstrdup(label(l, "sandbox.dev/env")),
			sbx_streq(label(l, "sandbox.dev/protect"), "true"), NULL};
	}
	k8s_refs_clear(&refs);
	return 0;
}

/* A cluster uses no address blocks of the host. */
static int kp_blocks(void *h, char ***v, size_t *n, struct sbx_err *err)
{
	(void)h;
	(void)v;
	(void)n;
	(void)err;
	return 0;
}

static const struct prov_type kp_types[] = {
	{RES_K8S, "applying to the cluster", obj_ensure, obj_remove, obj_observe, NULL},
};

const struct provider prov_k8s = {"kubernetes", kp_open, kp_close, kp_is_test, kp_prepare, kp_list, NULL,
	kp_blocks, kp_types, SBX_NELEM(kp_types), false, NULL, NULL};
