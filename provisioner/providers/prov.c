/* prov — the provider table and the dispatch of the lifecycle's calls through it. */
#include "prov_int.h"

#include <stdlib.h>
#include <string.h>

/* Every provider this build has. */
static const struct provider *const providers[] = {&prov_libvirt, &prov_k8s, &prov_ipmi, &prov_netboot};
#define NPROV SBX_NELEM(providers)

struct prov {
	struct prov_cfg cfg; /* with owned copies of its strings */
	void *h[NPROV];      /* one connection per provider */
	struct prov **sub;   /* a session per other host of cfg.routes: the libvirt provider only */
	size_t nsub;
};

/* The row of a type, and the index of its provider. */
static const struct prov_type *type_row(enum res_type type, size_t *pi)
{
	for (size_t i = 0; i < NPROV; i++)
		for (size_t k = 0; k < providers[i]->ntypes; k++)
			if (providers[i]->types[k].type == type) {
				if (pi)
					*pi = i;
				return &providers[i]->types[k];
			}
	return NULL;
}

/* Copy the routes of cfg into p. */
static void copy_routes(struct prov *p, const struct prov_cfg *cfg)
{
	struct prov_route *r = xcalloc(cfg->nroutes + 1, sizeof(*r));
	for (size_t i = 0; i < cfg->nroutes; i++)
		r[i] = (struct prov_route){xstrdup(cfg->routes[i].name), xstrdup(cfg->routes[i].uri)};
	p->cfg.routes = r;
	p->cfg.nroutes = cfg->nroutes;
}

/* The session of host uri among p's others, or NULL. */
static struct prov *sub_of(const struct prov *p, const char *uri)
{
	for (size_t i = 0; i < p->nsub; i++)
		if (sbx_streq(p->sub[i]->cfg.uri, uri))
			return p->sub[i];
	return NULL;
}

/* Open a session for each host of the routes other than p's own (libvirt only: machines live there). */
static int open_subs(struct prov *p, struct sbx_err *err)
{
	for (size_t i = 0; i < p->cfg.nroutes; i++) {
		const char *uri = p->cfg.routes[i].uri;
		if (sbx_streq(uri, p->cfg.uri) || sub_of(p, uri))
			continue;
		struct prov_cfg c = p->cfg;
		c.uri = uri;
		c.routes = NULL;
		c.nroutes = 0;
		c.kubeconfig = c.kube_context = NULL;
		c.no_machines = false;
		struct prov *s = NULL;
		if (prov_open_only(&c, RES_DOMAIN, &s, err) < 0)
			return -1;
		p->sub = xrealloc(p->sub, (p->nsub + 1) * sizeof(*p->sub));
		p->sub[p->nsub++] = s;
	}
	return 0;
}

/* Open every provider (only: the one of that type, or RES_NTYPES for all). */
static int open_providers(struct prov *p, const struct prov_cfg *cfg, enum res_type only, struct sbx_err *err)
{
	size_t want = NPROV;
	if (only != RES_NTYPES)
		(void)type_row(only, &want);
	for (size_t i = 0; i < NPROV; i++)
		if ((want == NPROV || i == want) && !(cfg->no_machines && providers[i]->machines) &&
			providers[i]->open(&p->cfg, &p->h[i], err) < 0)
			return -1;
	return 0;
}

/* Open every provider. */
int prov_open(const struct prov_cfg *cfg, struct prov **out, struct sbx_err *err)
{
	return prov_open_only(cfg, RES_NTYPES, out, err);
}

/* Open the providers (only: the one realising that type; RES_NTYPES: all), and the routes' hosts. */
int prov_open_only(const struct prov_cfg *cfg, enum res_type only, struct prov **out, struct sbx_err *err)
{
	struct prov *p = xcalloc(1, sizeof(*p));
	p->cfg = *cfg;
	p->cfg.state_id = xstrdup(cfg->state_id);
	p->cfg.env = xstrdup(cfg->env);
	p->cfg.env_id = xstrdup(cfg->env_id);
	p->cfg.uri = xstrdup(cfg->uri);
	p->cfg.pool = xstrdup(cfg->pool);
	p->cfg.pool_path = xstrdup(cfg->pool_path);
	p->cfg.pubkey = xstrdup(cfg->pubkey);
	p->cfg.bp_dir = xstrdup(cfg->bp_dir);
	p->cfg.image_cache = xstrdup(cfg->image_cache);
	p->cfg.recipes_dir = xstrdup(cfg->recipes_dir);
	p->cfg.kubeconfig = xstrdup(cfg->kubeconfig);
	p->cfg.kube_context = xstrdup(cfg->kube_context);
	p->cfg.netboot_dir = xstrdup(cfg->netboot_dir);
	copy_routes(p, cfg);
	if (open_providers(p, cfg, only, err) < 0 || open_subs(p, err) < 0) {
		prov_close(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* Close every connection. */
void prov_close(struct prov *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i])
			providers[i]->close(p->h[i]);
	for (size_t i = 0; i < p->nsub; i++)
		prov_close(p->sub[i]);
	free(p->sub);
	for (size_t i = 0; i < p->cfg.nroutes; i++) {
		free((char *)p->cfg.routes[i].name);
		free((char *)p->cfg.routes[i].uri);
	}
	free((struct prov_route *)p->cfg.routes);
	free((char *)p->cfg.state_id);
	free((char *)p->cfg.env);
	free((char *)p->cfg.env_id);
	free((char *)p->cfg.uri);
	free((char *)p->cfg.pool);
	free((char *)p->cfg.pool_path);
	free((char *)p->cfg.pubkey);
	free((char *)p->cfg.bp_dir);
	free((char *)p->cfg.image_cache);
	free((char *)p->cfg.recipes_dir);
	free((char *)p->cfg.kubeconfig);
	free((char *)p->cfg.kube_context);
	free((char *)p->cfg.netboot_dir);
	free(p);
}

/* Whether every provider runs against a test driver. */
bool prov_is_test(const struct prov *p)
{
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i] && !providers[i]->is_test(p->h[i]))
			return false;
	for (size_t i = 0; i < p->nsub; i++)
		if (!prov_is_test(p->sub[i]))
			return false;
	return true;
}

/* The session's libvirt URI. */
const char *prov_uri(const struct prov *p)
{
	return p->cfg.uri;
}

/* The host of the object name. */
const char *prov_uri_of(const struct prov *p, const char *name)
{
	for (size_t i = 0; name && i < p->cfg.nroutes; i++)
		if (strcmp(p->cfg.routes[i].name, name) == 0)
			return p->cfg.routes[i].uri;
	return p->cfg.uri;
}

/* The session the object name lives in: a route's host, else p. */
static struct prov *route(struct prov *p, const char *name)
{
	struct prov *s = sub_of(p, prov_uri_of(p, name));
	return s ? s : p;
}

/* Prepare every provider for creation, at every host. */
int prov_prepare(struct prov *p, struct sbx_err *err)
{
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i] && providers[i]->prepare(p->h[i], err) < 0)
			return -1;
	for (size_t i = 0; i < p->nsub; i++)
		if (prov_prepare(p->sub[i], err) < 0)
			return -1;
	return 0;
}

/* The progress phrase of a type. */
const char *prov_doing(enum res_type type)
{
	const struct prov_type *t = type_row(type, NULL);
	return t ? t->doing : "creating";
}

/* Fail for a type no provider realises. */
static int no_provider(enum res_type type, struct sbx_err *err)
{
	return sbx_err_set(err, SBX_EXIT_FAILED, "no provider in this build handles %s resources",
		res_type_name(type));
}

/* The row of a type whose provider this session opened (else NULL with err). */
static const struct prov_type *session_row(const struct prov *p, enum res_type type, size_t *pi,
	struct sbx_err *err)
{
	const struct prov_type *t = type_row(type, pi);
	if (t == NULL)
		no_provider(type, err);
	else if (p->h[*pi] == NULL)
		sbx_err_set(err, SBX_EXIT_FAILED, "this environment has no machines: %s %s is not managed here",
			providers[*pi]->name, res_type_name(type));
	return t && p->h[*pi] ? t : NULL;
}

/* Create or converge one resource. */
int prov_ensure(struct prov *p, const struct res *r, bool replace, bool adopt, struct sbx_err *err)
{
	size_t i;
	p = route(p, r->name);
	const struct prov_type *t = session_row(p, r->type, &i, err);
	if (t == NULL)
		return -1;
	if (replace && (t->remove_res ? t->remove_res(p->h[i], r, err) : t->remove(p->h[i], r->name, NULL, err)) < 0)
		return -1;
	return t->ensure(p->h[i], r, adopt, err);
}

/* Take over an object of this state as the session's. */
int prov_adopt(struct prov *p, const struct res *r, bool move, char **mac, struct sbx_err *err)
{
	size_t i;
	p = route(p, r->name);
	if (session_row(p, r->type, &i, err) == NULL)
		return -1;
	if (providers[i]->adopt == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "the %s provider cannot take over %s %s", providers[i]->name,
			res_type_name(r->type), r->name);
	return providers[i]->adopt(p->h[i], r, move, mac, err);
}

/* Delete one object. */
int prov_delete(struct prov *p, const struct res *r, struct sbx_err *err)
{
	size_t i;
	p = route(p, r->name);
	const struct prov_type *t = session_row(p, r->type, &i, err);
	if (t == NULL)
		return -1;
	return t->remove_res ? t->remove_res(p->h[i], r, err) : t->remove(p->h[i], r->name, NULL, err);
}

/* Observe one resource. */
int prov_observe(struct prov *p, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	size_t i;
	p = route(p, r->name);
	const struct prov_type *t = session_row(p, r->type, &i, err);
	*out = (struct prov_seen){0};
	return t ? t->observe(p->h[i], r, out, err) : -1;
}

/* Free an observation. */
void prov_seen_clear(struct prov_seen *s)
{
	free(s->foreign);
	res_changes_free(s->drift, s->ndrift);
	*s = (struct prov_seen){0};
}

/* Sort objects into the delete order (rank, then name). */
static int cmp_obj(const void *a, const void *b)
{
	const struct prov_obj *x = a, *y = b;
	int ra = res_delete_rank(x->type), rb = res_delete_rank(y->type);
	return ra != rb ? ra - rb : strcmp(x->name, y->name);
}

/* Whether a listed object carries this session's owner. */
static bool obj_mine(const struct prov *p, const struct prov_obj *o)
{
	return o->tagged && sbx_streq(o->state_id, p->cfg.state_id) && sbx_streq(o->env_id, p->cfg.env_id);
}

/* Keep only the objects of this session's environment. */
static void keep_mine(const struct prov *p, struct prov_obj *objs, size_t *n)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (obj_mine(p, &objs[i]))
			objs[k++] = objs[i];
		else
			prov_obj_list_free_one(&objs[i]);
	}
	*n = k;
}

/* Append the objects of p's own providers to objs (uri: the host to note on them, NULL for none). */
static int list_at(struct prov *p, const char *uri, struct prov_obj **objs, size_t *nobj, struct sbx_err *err)
{
	size_t from = *nobj;
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i] && providers[i]->list(p->h[i], objs, nobj, err) < 0)
			return -1;
	for (size_t i = from; i < *nobj; i++)
		(*objs)[i].uri = uri;
	return 0;
}

/* Objects of ours from every provider, at every host. */
int prov_list(struct prov *p, bool mine, struct prov_obj **out, size_t *n, struct sbx_err *err)
{
	struct prov_obj *objs = NULL;
	size_t nobj = 0;
	int rc = list_at(p, NULL, &objs, &nobj, err);
	for (size_t i = 0; rc == 0 && i < p->nsub; i++)
		rc = list_at(p->sub[i], p->sub[i]->cfg.uri, &objs, &nobj, err);
	if (rc < 0) {
		prov_obj_list_free(objs, nobj);
		return -1;
	}
	if (mine)
		keep_mine(p, objs, &nobj);
	if (nobj)
		qsort(objs, nobj, sizeof(*objs), cmp_obj);
	*out = objs;
	*n = nobj;
	return 0;
}

/* Free one listed object's strings. */
void prov_obj_list_free_one(struct prov_obj *o)
{
	free(o->name);
	free(o->where);
	free(o->state_id);
	free(o->env_id);
	free(o->env);
}

/* Free a listing. */
void prov_obj_list_free(struct prov_obj *objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		prov_obj_list_free_one(&objs[i]);
	free(objs);
}

/* A machine's console output, from the provider that has it. */
int prov_console(struct prov *p, const char *name, char **text, struct sbx_err *err)
{
	size_t i;
	*text = NULL;
	p = route(p, name);
	if (type_row(RES_DOMAIN, &i) == NULL || providers[i]->console == NULL || p->h[i] == NULL)
		return 1;
	return providers[i]->console(p->h[i], name, text, err);
}

/* What the machine host reports of its capacity. */
int prov_host_info(struct prov *p, struct prov_host *out, struct sbx_err *err)
{
	*out = (struct prov_host){0};
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i] && providers[i]->host_info && providers[i]->host_info(p->h[i], out, err) < 0)
			return -1;
	return 0;
}

/* Append the blocks p's own providers use. */
static int blocks_at(struct prov *p, char ***v, size_t *m, struct sbx_err *err)
{
	for (size_t i = 0; i < NPROV; i++)
		if (p->h[i] && providers[i]->blocks(p->h[i], v, m, err) < 0)
			return -1;
	return 0;
}

/* Address blocks in use at the site, at every host. */
int prov_used_blocks(struct prov *p, char ***out, size_t *n, struct sbx_err *err)
{
	char **v = NULL;
	size_t m = 0;
	int rc = blocks_at(p, &v, &m, err);
	for (size_t i = 0; rc == 0 && i < p->nsub; i++)
		rc = blocks_at(p->sub[i], &v, &m, err);
	if (rc < 0) {
		for (size_t k = 0; k < m; k++)
			free(v[k]);
		free(v);
		return -1;
	}
	*out = v;
	*n = m;
	return 0;
}

/* Delete a listed object. */
int prov_obj_delete(struct prov *p, const struct prov_obj *o, struct sbx_err *err)
{
	size_t i;
	if (o->uri && sub_of(p, o->uri))
		p = sub_of(p, o->uri);
	const struct prov_type *t = session_row(p, o->type, &i, err);
	return t ? t->remove(p->h[i], o->name, o->where, err) : -1;
}
