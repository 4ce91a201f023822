/* env_warm — the warm pool's shapes (from --pool specs and from blueprint nodes), the claim `up`
 * makes, the pool's names and key, and destroying a member. */
#include "env_warm.h"
#include "env_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define WARM_MAX_COUNT 32
#define WARM_MAX_CPUS 64
#define WARM_MIN_MEMORY (128ull << 20)

/* A usage error about a --pool spec, saying what is expected. */
static int spec_error(const char *spec, const char *what, struct sbx_err *err)
{
	sbx_err_set(err, SBX_EXIT_USAGE, "--pool %s: %s", spec, what);
	sbx_err_hint(err, "expected recipe=NAME or image=PATH|URL[,sha256=HEX], then cpus=N, memory=SIZE, count=N "
		"(defaults 1, 1Gi, 1), roles=ROLE+ROLE (installed ahead; postgres also started), e.g. --pool "
		"recipe=debian-12,cpus=1,memory=1Gi,count=2,roles=postgres");
	return -1;
}

/* A whole decimal number in [lo, hi]. */
static bool parse_int(const char *s, int lo, int hi, int *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* Whether s is a usable recipe name (the image module's rule). */
static bool recipe_ok(const char *s)
{
	return *s && *s != '.' && strlen(s) <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(s);
}

/* Whether s is 64 hex digits. */
static bool sha_ok(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

/* The canonical key of an image source, cpus and memory. */
static char *shape_key(const char *recipe, const char *image, int cpus, uint64_t memory)
{
	return xasprintf("%s=%s,cpus=%d,memory=%llu", recipe ? "recipe" : "image", recipe ? recipe : image, cpus,
		(unsigned long long)memory);
}

/* A short name for objects: the source's base name (letters, digits, '-'), vCPUs, MiB. */
static char *shape_tag(const char *src, int cpus, uint64_t memory)
{
	const char *base = strrchr(src, '/');
	char t[24];
	size_t k = 0;
	for (const char *p = base ? base + 1 : src; *p && *p != '.' && k < sizeof(t) - 1; p++)
		t[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
	t[k] = '\0';
	return xasprintf("%s-%dc-%llum", k ? t : "image", cpus, (unsigned long long)(memory >> 20));
}

/* The roles of a roles= value in the registry's order ('+'-separated; caller frees), or NULL when
 * one is empty, repeated or not a role this build applies. */
static char *roles_canon(const char *v)
{
	bool seen[32] = {false};
	bool ok = true;
	char *copy = xstrdup(v), *save = NULL;
	size_t n = strlen(v);
	if (n == 0 || v[0] == '+' || v[n - 1] == '+' || strstr(v, "++"))
		ok = false;
	for (char *t = strtok_r(copy, "+", &save); t && ok; t = strtok_r(NULL, "+", &save)) {
		size_t d = role_known(t) ? (size_t)(role_find(t) - role_defs) : SBX_NELEM(seen);
		ok = d < SBX_NELEM(seen) && !seen[d];
		if (ok)
			seen[d] = true;
	}
	free(copy);
	struct sbx_buf b = {0};
	for (size_t d = 0; ok && role_defs[d].name && d < SBX_NELEM(seen); d++)
		if (seen[d])
			sbx_buf_printf(&b, "%s%s", b.len ? "+" : "", role_defs[d].name);
	return ok ? sbx_buf_steal(&b) : NULL;
}

/* Set one key=value of a spec. */
static int spec_set(struct warm_shape *s, const char *spec, const char *k, const char *v, struct sbx_err *err)
{
	if (strcmp(k, "recipe") == 0 && !s->recipe && recipe_ok(v))
		s->recipe = xstrdup(v);
	else if (strcmp(k, "image") == 0 && !s->image && *v)
		s->image = xstrdup(v);
	else if (strcmp(k, "sha256") == 0 && !s->sha256 && sha_ok(v))
		s->sha256 = xstrdup(v);
	else if (strcmp(k, "cpus") == 0 && parse_int(v, 1, WARM_MAX_CPUS, &s->cpus))
		;
	else if (strcmp(k, "count") == 0 && parse_int(v, 0, WARM_MAX_COUNT, &s->count))
		;
	else if (strcmp(k, "memory") == 0 && sbx_parse_size(v, &s->memory) == 0 && s->memory >= WARM_MIN_MEMORY)
		;
	else if (strcmp(k, "roles") == 0 && !s->roles && *v && (s->roles = roles_canon(v)) != NULL)
		;
	else {
		char *what = xasprintf("bad or repeated %s=%s (recipe: a recipe name; sha256: 64 hex digits; cpus 1-%d; "
			"memory at least 128Mi; count 0-%d; roles: names of roles, '+'-separated, each once: router, lb, "
			"postgres, mocks, k3s-server, k3s-agent)", k, v, WARM_MAX_CPUS, WARM_MAX_COUNT);
		spec_error(spec, what, err);
		free(what);
		return -1;
	}
	return 0;
}

/* Check the image source of a parsed spec; an image path becomes absolute and real. */
static int spec_source(struct warm_shape *s, const char *spec, struct sbx_err *err)
{
	char real[PATH_MAX];
	if (!s->recipe == !s->image)
		return spec_error(spec, "exactly one of recipe= or image= is needed", err);
	if (s->image && (strncmp(s->image, "http://", 7) == 0 || strncmp(s->image, "https://", 8) == 0)) {
		if (!s->sha256)
			return spec_error(spec, "an image URL needs sha256=HEX", err);
		return 0;
	}
	if (s->image && (s->image[0] != '/' || realpath(s->image, real) == NULL))
		return spec_error(spec, "image= is an http(s) URL or an absolute path of an existing file", err);
	if (s->image) {
		free(s->image);
		s->image = xstrdup(real);
	}
	return 0;
}

/* Parse a --pool spec. */
int warm_shape_parse(const char *spec, struct warm_shape *out, struct sbx_err *err)
{
	struct warm_shape s = {.cpus = 1, .memory = 1ull << 30, .count = 1};
	size_t len = strlen(spec);
	if (len == 0 || spec[0] == ',' || spec[len - 1] == ',' || strstr(spec, ",,"))
		return spec_error(spec, "each part is key=value", err);
	char *copy = xstrdup(spec), *save = NULL;
	int rc = 0;
	for (char *kv = strtok_r(copy, ",", &save); kv && rc == 0; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL) {
			rc = spec_error(spec, "each part is key=value", err);
			break;
		}
		*eq = '\0';
		rc = spec_set(&s, spec, kv, eq + 1, err);
	}
	free(copy);
	if (rc == 0)
		rc = spec_source(&s, spec, err);
	if (rc < 0) {
		warm_shape_clear(&s);
		return -1;
	}
	s.key = shape_key(s.recipe, s.image, s.cpus, s.memory);
	s.tag = shape_tag(s.recipe ? s.recipe : s.image, s.cpus, s.memory);
	*out = s;
	return 0;
}

/* Free a shape's strings. */
void warm_shape_clear(struct warm_shape *s)
{
	if (!s)
		return;
	free(s->key);
	free(s->tag);
	free(s->recipe);
	free(s->image);
	free(s->sha256);
	free(s->roles);
	*s = (struct warm_shape){0};
}

/* The key of a blueprint node, or 1 when the pool cannot serve it. */
int warm_shape_of_node(const struct bp_blueprint *bp, const struct bp_node *node, char **key, struct sbx_err *err)
{
	const struct bp_image *img = &bp->site.image;
	char real[PATH_MAX];
	(void)err;
	if ((node->provider && strcmp(node->provider, "libvirt") != 0) || node->disk != WARM_DISK || img->kernel ||
		img->initrd || img->cmdline)
		return 1;
	if (img->url) {
		*key = shape_key(NULL, img->url, node->cpus, node->memory);
		return 0;
	}
	if (img->recipe && !img->path) {
		*key = shape_key(img->recipe, NULL, node->cpus, node->memory);
		return 0;
	}
	if (!img->path)
		return 1;
	char *dir = sbx_dirname(bp->file ? bp->file : "."), *joined = sbx_path_join(dir, img->path);
	bool ok = realpath(joined, real) != NULL;
	free(dir);
	free(joined);
	if (!ok)
		return 1;
	*key = shape_key(NULL, real, node->cpus, node->memory);
	return 0;
}

/* Claim a member for a blueprint node. */
int warm_claim_for_node(struct state *st, const struct bp_blueprint *bp, const struct bp_node *bnode,
	const char *image_sha256, const char *env, const char *node, struct warm_member *out, struct sbx_err *err)
{
	const char *roles[WARM_MAX_ROLES], *without[WARM_MAX_ROLES];
	size_t nroles = 0, nwithout = 0;
	char *key = NULL;
	for (size_t i = 0; i < bnode->nroles; i++) {
		if (!role_known(bnode->roles[i])) /* plain: nothing to prepare */
			continue;
		if (nroles == WARM_MAX_ROLES)
			return 0;
		roles[nroles++] = bnode->roles[i];
	}
	for (const struct role_def *d = role_defs; d->name && nwithout < WARM_MAX_ROLES; d++)
		if (d->idle && !bp_node_has_role(bnode, d->name)) /* its services would run on the node */
			without[nwithout++] = d->name;
	int rc = warm_shape_of_node(bp, bnode, &key, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = state_warm_claim_roles(st, key, image_sha256, roles, nroles, without, nwithout, env, node, out, err);
	free(key);
	return rc;
}

/* The pool network's name. */
char *warm_net_name(struct state *st)
{
	return xasprintf(WARM_PREFIX "%.8s.net", state_id(st));
}

/* The pool's private key file. */
char *warm_key_path(struct state *st)
{
	return xasprintf("%s/keys/pool.warm.pem", state_private_dir(st));
}

/* Destroy one named object of a member through the provider table (a volume or its seed). */
static int destroy_obj(struct prov *p, enum res_type type, const char *name, const char *pool, struct sbx_err *err)
{
	struct res r = {.type = type, .name = (char *)name};
	if (type == RES_VOLUME)
		r.u.vol.pool = (char *)pool;
	return prov_delete(p, &r, err);
}

/* Destroy a member's domain and volumes, then forget its row. */
int warm_member_destroy(struct state *st, const char *uri, const char *pool, const struct warm_member *m,
	struct sbx_err *err)
{
	struct prov_cfg pc = {.state_id = state_id(st), .env = WARM_OWNER_ENV, .env_id = WARM_OWNER_ENV, .uri = uri,
		.pool = pool, .pool_path = BP_DEFAULT_POOL_PATH};
	struct prov *p = NULL;
	if (prov_open(&pc, &p, err) < 0)
		return -1;
	int rc = destroy_obj(p, RES_DOMAIN, m->id, pool, err);
	char *vols = xstrdup(m->volumes ? m->volumes : ""), *save = NULL;
	for (char *v = strtok_r(vols, ",", &save); v && rc == 0; v = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(v);
		bool seed = n > 9 && strcmp(v + n - 9, "-seed.iso") == 0;
		rc = destroy_obj(p, seed ? RES_SEED : RES_VOLUME, v, pool, err);
	}
	free(vols);
	prov_close(p);
	if (rc == 0)
		rc = state_warm_delete(st, m->id, err);
	if (rc < 0)
		sbx_err_prefix(err, "warm pool member %s", m->id);
	return rc;
}
