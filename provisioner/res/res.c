/* res — typed resources: one field table per type drives encode, decode, copy, clear and diff. */
#include "res.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum fkind { F_STR, F_INT, F_SIZE, F_BOOL, F_MODE, F_LIST, F_IMAGE };

/* One stored key and where its value lives, relative to the struct it describes. */
struct table;
struct field {
	const char *key;
	enum fkind kind;
	size_t off;
	size_t count_off;       /* F_LIST: offset of the count */
	const struct table *sub; /* F_LIST: the fields of one element, */
	size_t size;            /* its size */
	const char *unit;       /* and how a count of them reads ("NIC(s)") */
};

struct table {
	const struct field *f;
	size_t n;
};

#define FLD(T, key, kind, member) {key, kind, offsetof(T, member), 0, NULL, 0, NULL}
#define LIST(T, key, member, count, sub, ET, unit) \
	{key, F_LIST, offsetof(T, member), offsetof(T, count), sub, sizeof(ET), unit}
#define NICS(T) LIST(T, "nics", nics, nnics, &nic_table, struct res_nic, "NIC(s)")
#define TABLE(a) {a, SBX_NELEM(a)}

static const struct table nic_table, host_table, image_table;

static const struct field nic_fields[] = {
	FLD(struct res_nic, "gateway", F_STR, gateway), FLD(struct res_nic, "ip", F_STR, ip),
	FLD(struct res_nic, "mac", F_STR, mac), FLD(struct res_nic, "net", F_STR, net),
	FLD(struct res_nic, "network", F_STR, network), FLD(struct res_nic, "prefix", F_INT, prefix),
	FLD(struct res_nic, "primary", F_BOOL, primary),
};
static const struct field image_fields[] = {
	FLD(struct res_image, "cmdline", F_STR, cmdline), FLD(struct res_image, "initrd", F_STR, initrd),
	FLD(struct res_image, "kernel", F_STR, kernel), FLD(struct res_image, "path", F_STR, path),
	FLD(struct res_image, "recipe", F_STR, recipe), FLD(struct res_image, "sha256", F_STR, sha256),
	FLD(struct res_image, "url", F_STR, url),
};
static const struct field net_fields[] = {
	FLD(struct res_network, "bridge", F_STR, bridge), FLD(struct res_network, "cidr", F_STR, cidr),
	FLD(struct res_network, "mode", F_MODE, nat), FLD(struct res_network, "net", F_STR, net),
	FLD(struct res_network, "netboot", F_BOOL, netboot),
};
static const struct field vol_fields[] = {
	FLD(struct res_volume, "capacity", F_SIZE, capacity), FLD(struct res_volume, "image", F_IMAGE, image),
	FLD(struct res_volume, "pool", F_STR, pool),
};
static const struct field seed_fields[] = {
	FLD(struct res_seed, "hostname", F_STR, hostname), NICS(struct res_seed),
	FLD(struct res_seed, "user", F_STR, user),
};
static const struct field dom_fields[] = {
	FLD(struct res_domain, "disk", F_STR, disk), FLD(struct res_domain, "domain_type", F_STR, domain_type),
	FLD(struct res_domain, "index", F_INT, index), FLD(struct res_domain, "memory", F_SIZE, memory),
	NICS(struct res_domain), FLD(struct res_domain, "node", F_STR, node),
	FLD(struct res_domain, "seed", F_STR, seed), FLD(struct res_domain, "vcpus", F_INT, vcpus),
};

static const struct field k8s_fields[] = {
	FLD(struct res_k8s, "api_version", F_STR, api_version), FLD(struct res_k8s, "kind", F_STR, kind),
	FLD(struct res_k8s, "name", F_STR, obj_name), FLD(struct res_k8s, "namespace", F_STR, namespace),
};

static const struct field host_fields[] = {
	FLD(struct res_host, "disk", F_STR, disk), FLD(struct res_host, "ip", F_STR, ip),
	FLD(struct res_host, "mac", F_STR, mac), FLD(struct res_host, "name", F_STR, name),
	FLD(struct res_host, "wipe", F_BOOL, wipe),
};

static const struct field nb_fields[] = {
	FLD(struct res_netboot, "address", F_STR, address), FLD(struct res_netboot, "bridge", F_STR, bridge),
	FLD(struct res_netboot, "cidr", F_STR, cidr),
	LIST(struct res_netboot, "hosts", hosts, nhosts, &host_table, struct res_host, "host(s)"),
	FLD(struct res_netboot, "image", F_IMAGE, image), FLD(struct res_netboot, "net", F_STR, net),
	FLD(struct res_netboot, "user", F_STR, user),
};

static const struct field mach_fields[] = {
	FLD(struct res_machine, "bmc_address", F_STR, bmc_address),
	FLD(struct res_machine, "bmc_password", F_STR, bmc_password),
	FLD(struct res_machine, "bmc_port", F_INT, bmc_port), FLD(struct res_machine, "bmc_user", F_STR, bmc_user),
	FLD(struct res_machine, "boot", F_STR, boot), FLD(struct res_machine, "disk", F_STR, disk),
	FLD(struct res_machine, "mac", F_STR, mac),
	FLD(struct res_machine, "node", F_STR, node), FLD(struct res_machine, "power", F_STR, power),
	FLD(struct res_machine, "wipe", F_BOOL, wipe),
};

static const struct table nic_table = TABLE(nic_fields), host_table = TABLE(host_fields),
	image_table = TABLE(image_fields);

static const struct {
	const char *name;
	int delete_rank;
	struct table t;
} types[RES_NTYPES] = {
	[RES_NETWORK] = {"network", 3, TABLE(net_fields)},
	[RES_VOLUME] = {"volume", 2, TABLE(vol_fields)},
	[RES_SEED] = {"seed", 2, TABLE(seed_fields)},
	[RES_DOMAIN] = {"domain", 1, TABLE(dom_fields)},
	[RES_K8S] = {"k8s", 0, TABLE(k8s_fields)},
	[RES_MACHINE] = {"machine", 1, TABLE(mach_fields)},
	[RES_NETBOOT] = {"netboot", 2, TABLE(nb_fields)},
};

/* The name of a type. */
const char *res_type_name(enum res_type t)
{
	return (unsigned)t < RES_NTYPES ? types[t].name : "?";
}

/* The type of a stored name. */
int res_type_parse(const char *name)
{
	for (int t = 0; name && t < RES_NTYPES; t++)
		if (strcmp(types[t].name, name) == 0)
			return t;
	return -1;
}

/* The delete rank of a type. */
int res_delete_rank(enum res_type t)
{
	return (unsigned)t < RES_NTYPES ? types[t].delete_rank : RES_MAX_RANK;
}

#define AT(base, f, T) ((T *)((char *)(base) + (f)->off))
#define CAT(base, f, T) ((const T *)((const char *)(base) + (f)->off))
#define COUNT(base, f) ((size_t *)((char *)(base) + (f)->count_off))
#define CCOUNT(base, f) (*(const size_t *)((const char *)(base) + (f)->count_off))

static void fields_clear(const struct table *t, void *base);

/* The i-th element of a list field. */
#define ELEM(arr, f, i) ((void *)((char *)(arr) + (i) * (f)->size))

/* Free the array of a list field. */
static void list_clear(void *base, const struct field *f)
{
	void *arr = *AT(base, f, void *);
	for (size_t i = 0; i < *COUNT(base, f); i++)
		fields_clear(f->sub, ELEM(arr, f, i));
	free(arr);
	*AT(base, f, void *) = NULL;
	*COUNT(base, f) = 0;
}

/* Free every owned member of a struct described by t. */
static void fields_clear(const struct table *t, void *base)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];
		if (f->kind == F_STR) {
			free(*AT(base, f, char *));
			*AT(base, f, char *) = NULL;
		} else if (f->kind == F_LIST) {
			list_clear(base, f);
		} else if (f->kind == F_IMAGE) {
			fields_clear(&image_table, AT(base, f, void));
		}
	}
}

/* Free a resource's contents. */
void res_clear(struct res *r)
{
	if ((unsigned)r->type < RES_NTYPES)
		fields_clear(&types[r->type].t, &r->u);
	free(r->name);
	free(r->node);
	for (size_t i = 0; i < r->ndeps; i++)
		free(r->deps[i]);
	free(r->deps);
	*r = (struct res){0};
}

/* Replace the pointers of a bitwise copy (dst) of src by deep copies. */
static void fields_copy(const struct table *t, void *dst, const void *src)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];
		if (f->kind == F_STR) {
			*AT(dst, f, char *) = xstrdup(*CAT(src, f, char *));
		} else if (f->kind == F_IMAGE) {
			fields_copy(&image_table, AT(dst, f, void), CAT(src, f, void));
		} else if (f->kind == F_LIST) {
			size_t n = CCOUNT(src, f);
			const void *from = *CAT(src, f, void *);
			void *to = xcalloc(n + 1, f->size);
			if (n)
				memcpy(to, from, n * f->size);
			for (size_t k = 0; k < n; k++)
				fields_copy(f->sub, ELEM(to, f, k), (const char *)from + k * f->size);
			*AT(dst, f, void *) = to;
		}
	}
}

/* Deep-copy a resource. */
void res_copy(struct res *dst, const struct res *src)
{
	*dst = (struct res){.type = src->type, .name = xstrdup(src->name), .node = xstrdup(src->node),
		.u = src->u};
	if ((unsigned)src->type < RES_NTYPES)
		fields_copy(&types[src->type].t, &dst->u, &src->u);
	for (size_t i = 0; i < src->ndeps; i++)
		res_dep(dst, src->deps[i]);
}

/* Append a dependency. */
void res_dep(struct res *r, const char *name)
{
	r->deps = xrealloc(r->deps, (r->ndeps + 1) * sizeof(*r->deps));
	r->deps[r->ndeps++] = xstrdup(name);
}

static json_t *fields_encode(const struct table *t, const void *base);

/* The JSON value of one field (NULL: omit). */
static json_t *field_encode(const struct field *f, const void *base)
{
	switch (f->kind) {
	case F_STR:
		return *CAT(base, f, char *) ? json_string(*CAT(base, f, char *)) : NULL;
	case F_INT:
		return json_integer(*CAT(base, f, int));
	case F_SIZE:
		return json_integer((json_int_t)*CAT(base, f, uint64_t));
	case F_BOOL:
		return json_boolean(*CAT(base, f, bool));
	case F_MODE:
		return json_string(*CAT(base, f, bool) ? "nat" : "isolated");
	case F_IMAGE:
		return fields_encode(&image_table, CAT(base, f, void));
	case F_LIST: {
		json_t *a = json_array();
		for (size_t i = 0; i < CCOUNT(base, f); i++)
			json_array_append_new(a, fields_encode(f->sub, ELEM(*CAT(base, f, void *), f, i)));
		return a;
	}
	}
	return NULL;
}

/* A JSON object of a struct described by t. */
static json_t *fields_encode(const struct table *t, const void *base)
{
	json_t *o = json_object();
	for (size_t i = 0; i < t->n; i++) {
		json_t *v = field_encode(&t->f[i], base);
		if (v)
			json_object_set_new(o, t->f[i].key, v);
	}
	return o;
}

/* Canonical JSON of the resource's fields. */
char *res_encode(const struct res *r)
{
	json_t *o = (unsigned)r->type < RES_NTYPES ? fields_encode(&types[r->type].t, &r->u) : json_object();
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static void fields_decode(const struct table *t, json_t *o, void *base);

/* Read one field from its JSON value (wrong JSON types read as zero). */
static void field_decode(const struct field *f, json_t *v, void *base)
{
	switch (f->kind) {
	case F_STR:
		*AT(base, f, char *) = xstrdup(json_string_value(v));
		break;
	case F_INT:
		*AT(base, f, int) = (int)json_integer_value(v);
		break;
	case F_SIZE:
		*AT(base, f, uint64_t) = json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
		break;
	case F_BOOL:
		*AT(base, f, bool) = json_is_true(v);
		break;
	case F_MODE:
		*AT(base, f, bool) = sbx_streq(json_string_value(v), "nat");
		break;
	case F_IMAGE:
		fields_decode(&image_table, v, AT(base, f, void));
		break;
	case F_LIST: {
		size_t n = json_array_size(v);
		void *arr = xcalloc(n + 1, f->size);
		for (size_t i = 0; i < n; i++)
			fields_decode(f->sub, json_array_get(v, i), ELEM(arr, f, i));
		*AT(base, f, void *) = arr;
		*COUNT(base, f) = n;
		break;
	}
	}
}

/* Fill a struct described by t from a JSON object. */
static void fields_decode(const struct table *t, json_t *o, void *base)
{
	for (size_t i = 0; i < t->n; i++)
		field_decode(&t->f[i], json_object_get(o, t->f[i].key), base);
}

/* Read a resource from a stored spec. */
int res_decode(enum res_type type, const char *name, const char *node, const char *spec,
	struct res *out, struct sbx_err *err)
{
	if ((unsigned)type >= RES_NTYPES)
		return sbx_err_set(err, SBX_EXIT_FAILED, "unknown resource type %d", (int)type);
	json_error_t je;
	json_t *o = json_loads(spec ? spec : "{}", 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s %s: the recorded spec is not a JSON object (%s)",
			types[type].name, name, je.text);
	}
	struct res r = {.type = type, .name = xstrdup(name), .node = xstrdup(node)};
	fields_decode(&types[type].t, o, &r.u);
	json_decref(o);
	*out = r;
	return 0;
}

/* Human text of one plain field value. */
static char *value_text(const struct field *f, const void *base)
{
	char buf[32];
	switch (f->kind) {
	case F_STR:
		return xstrdup(*CAT(base, f, char *) ? *CAT(base, f, char *) : "(none)");
	case F_INT:
		return xasprintf("%d", *CAT(base, f, int));
	case F_SIZE:
		return xstrdup(sbx_fmt_size(*CAT(base, f, uint64_t), buf, sizeof(buf)));
	case F_BOOL:
		return xstrdup(*CAT(base, f, bool) ? "true" : "false");
	case F_MODE:
		return xstrdup(*CAT(base, f, bool) ? "nat" : "isolated");
	default:
		return xstrdup("?");
	}
}

struct changes {
	struct res_change *c;
	size_t n, cap;
};

/* Record a change (takes ownership of old and new). */
static void change_add(struct changes *cs, const char *prefix, const char *key, char *old, char *new)
{
	xgrow(&cs->c, &cs->cap, cs->n + 1, sizeof(*cs->c));
	cs->c[cs->n++] = (struct res_change){xasprintf("%s%s", prefix, key), old, new};
}

static void fields_diff(const struct table *t, const char *prefix, const void *a, const void *b,
	struct changes *cs);

/* Compare two lists: the count, then each element both have. */
static void list_diff(const struct field *f, const char *prefix, const void *a, const void *b,
	struct changes *cs)
{
	size_t na = CCOUNT(a, f), nb = CCOUNT(b, f);
	if (na != nb)
		change_add(cs, prefix, f->key, xasprintf("%zu %s", na, f->unit), xasprintf("%zu %s", nb, f->unit));
	for (size_t i = 0; i < na && i < nb; i++) {
		char *p = xasprintf("%s%s[%zu].", prefix, f->key, i);
		fields_diff(f->sub, p, ELEM(*CAT(a, f, void *), f, i), ELEM(*CAT(b, f, void *), f, i), cs);
		free(p);
	}
}

/* Compare two structs described by t field by field. */
static void fields_diff(const struct table *t, const char *prefix, const void *a, const void *b,
	struct changes *cs)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->f[i];
		if (f->kind == F_LIST) {
			list_diff(f, prefix, a, b, cs);
		} else if (f->kind == F_IMAGE) {
			char *p = xasprintf("%s%s.", prefix, f->key);
			fields_diff(&image_table, p, CAT(a, f, void), CAT(b, f, void), cs);
			free(p);
		} else {
			char *va = value_text(f, a), *vb = value_text(f, b);
			if (strcmp(va, vb) != 0) {
				change_add(cs, prefix, f->key, va, vb);
				continue;
			}
			free(va);
			free(vb);
		}
	}
}

/* Field-by-field differences. */
void res_diff(const struct res *a, const struct res *b, struct res_change **out, size_t *n)
{
	struct changes cs = {0};
	if (a->type != b->type || (unsigned)a->type >= RES_NTYPES)
		change_add(&cs, "", "type", xstrdup(res_type_name(a->type)), xstrdup(res_type_name(b->type)));
	else
		fields_diff(&types[a->type].t, "", &a->u, &b->u, &cs);
	*out = cs.c;
	*n = cs.n;
}

/* Free a change list. */
void res_changes_free(struct res_change *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].field);
		free(c[i].old);
		free(c[i].new);
	}
	free(c);
}

/* The changes as one line. */
char *res_changes_text(const struct res_change *c, size_t n)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < n; i++)
		sbx_buf_printf(&b, "%s%s %s → %s", i ? ", " : "", c[i].field, c[i].old, c[i].new);
	return b.len ? sbx_buf_steal(&b) : xstrdup("");
}

/* The row key of a cluster object. */
char *res_k8s_key(const char *api_version, const char *kind, const char *ns, const char *name)
{
	return xasprintf("%s|%s|%s|%s", api_version, kind, ns ? ns : "-", name);
}

/* Split a row key. */
int res_k8s_parse(const char *key, struct res_k8s *out)
{
	const char *a = key, *b = strchr(a, '|'), *c = b ? strchr(b + 1, '|') : NULL, *d = c ? strchr(c + 1, '|') : NULL;
	if (d == NULL || strchr(d + 1, '|') || b == a || c == b + 1 || d == c + 1 || d[1] == '\0')
		return -1;
	char *ns = xstrndup(c + 1, (size_t)(d - c - 1));
	if (strcmp(ns, "-") == 0) {
		free(ns);
		ns = NULL;
	}
	*out = (struct res_k8s){xstrndup(a, (size_t)(b - a)), xstrndup(b + 1, (size_t)(c - b - 1)), ns, xstrdup(d + 1)};
	return 0;
}

/* How a resource is named to people: a cluster object as "Kind namespace/name". */
char *res_display(enum res_type type, const char *name)
{
	struct res r = {.type = RES_K8S};
	if (type != RES_K8S || res_k8s_parse(name, &r.u.k8s) < 0)
		return xstrdup(name);
	const struct res_k8s *o = &r.u.k8s;
	char *s = xasprintf("%s %s%s%s", o->kind, o->namespace ? o->namespace : "", o->namespace ? "/" : "", o->obj_name);
	res_clear(&r);
	return s;
}
