/*
 * bp_schema — the blueprint's schema engine (internal to the blueprint module).
 *
 * A schema is a table of fields for one mapping; a field's type says how its value is converted
 * and where in the model it goes. Converting a mapping reports unknown keys (suggesting a close
 * one), missing required keys and malformed values at their FILE:LINE:COL, and fills what it could.
 * It fills no defaults and checks nothing across fields: those are the passes that follow
 * (bp_defaults.c, then bp_validate.c). The tables themselves are in bp_tables.c.
 */
#ifndef SBX_BP_SCHEMA_H
#define SBX_BP_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "bp_int.h"

#define BP_KIB (INT64_C(1) << 10)
#define BP_MIB (INT64_C(1) << 20)
#define BP_GIB (INT64_C(1) << 30)
#define BP_TIB (INT64_C(1) << 40)

/* An optional offset into an object: 0 means none. */
#define BP_OPT(T, member) (offsetof(T, member) + 1)

enum bp_ftype {
	BP_F_STR,     /* a string */
	BP_F_NAME,    /* a resource name ("<env>" counts as valid while validating without an environment) */
	BP_F_CHOICE,  /* a string from .choices */
	BP_F_ENUM,    /* the index into .choices, stored as an int */
	BP_F_LITERAL, /* exactly .choices[0] */
	BP_F_INT,     /* an int within .min .. .max */
	BP_F_U32,     /* a uint32_t within .min .. .max */
	BP_F_BOOL,    /* true or false */
	BP_F_SIZE,    /* "512Mi", "2Gi": a uint64_t of bytes within .min .. .max */
	BP_F_DISK,    /* a size like BP_F_SIZE at .off, or a device path "/dev/sda" (absolute, under
	               * /dev/, no ".." and no empty part) as a new string at .off_n */
	BP_F_DUR,     /* "8h", "3d": an int64_t of seconds within .min .. .max */
	BP_F_STRS,    /* a list of strings: a new char ** at .off, its count (size_t) at .off_n */
	BP_F_TAGS,    /* a mapping of names to strings ({size: large}): "key=value" strings like BP_F_STRS */
	BP_F_SHA256,  /* 64 hex digits, stored lowercase */
	BP_F_MAC,     /* aa:bb:cc:dd:ee:ff, stored lowercase */
	BP_F_CIDR,    /* "auto" or an IPv4 /24 network a.b.c.0/24 (the blocks IPAM serves) */
	BP_F_URL,     /* an http://, https:// or file:// URL */
	BP_F_WEBURL,  /* an http:// or https:// URL (something sandbox itself sends to) */
	BP_F_ABSPATH, /* an absolute path */
	BP_F_PGNAME,  /* a PostgreSQL identifier [a-z_][a-z0-9_]{0,62} */
	BP_F_PATH,    /* a file path inside the tree of the file that set it or an image directory
	               * (bp_file_resolve), stored resolved */
	BP_F_URI,     /* a libvirt URI of an allowed transport (bp_uri_problem) */
	BP_F_SECRET,  /* a credential: exactly a ${secret.NAME} reference, never a literal */
	BP_F_QUANTITY,/* a Kubernetes quantity: digits with an optional fraction and suffix (m, k, M, G,
	               * T, Ki, Mi, Gi, Ti): "500m", "2", "8Gi" */
	BP_F_SUB,     /* a nested mapping (.sub) stored at .off */
	BP_F_LIST,    /* a list of mappings (.sub): a new array at .off, its count (size_t) at .off_n;
	               * at least .min items */
};

struct bp_schema;

struct bp_field {
	const char *key;
	enum bp_ftype type;
	size_t off, off_n;          /* where the value goes; off_n: the count of a list */
	int64_t min, max;           /* bounds of numbers; BP_F_LIST: the fewest items */
	const char *const *choices; /* BP_F_CHOICE, BP_F_ENUM, BP_F_LITERAL (NULL-terminated) */
	const struct bp_schema *sub; /* BP_F_SUB, BP_F_LIST */
	bool required;
};

struct bp_schema {
	const char *what; /* for messages: "node", "site" */
	const struct bp_field *fields;
	size_t n;
	size_t size;    /* the size of the object it fills (an element of a list) */
	size_t pos;     /* BP_OPT: the struct bp_pos that receives the mapping's position */
	size_t present; /* BP_OPT: the bool set when the mapping is given */
};

/* Convert the mapping m (a null value counts as an empty mapping) into obj with schema s.
 * Errors are reported through c; obj is filled as far as possible and owns what was stored. */
void bp_schema_conv_map(struct bp_ctx *c, const struct bp_tree *m, const struct bp_schema *s, void *obj);

/* Free every string, list and nested mapping the schema stored into obj (obj itself is not
 * freed). Fields of a mapping stored in its parent (BP_F_SUB at offset 0 with fields of the same
 * struct) are freed once, through the sub-schema. */
void bp_schema_free(const struct bp_schema *s, void *obj);

/* Report names given twice in a converted list of n elements of schema s (an element's name is its
 * first member, its position at s->pos). */
void bp_schema_dup_names(struct bp_ctx *c, const void *arr, size_t n, const struct bp_schema *s);

/* The names of a converted list of n elements of schema s, sorted (bp_keys_sort); caller frees the
 * array (the names stay owned by the list). */
struct bp_key *bp_schema_keys(const void *arr, size_t n, const struct bp_schema *s, size_t *nk);

/* The tables (bp_tables.c): the whole blueprint, and the lists of named items. */
extern const struct bp_schema bp_tables_blueprint;
extern const struct bp_schema bp_tables_network, bp_tables_node, bp_tables_machine, bp_tables_vip, bp_tables_db,
	bp_tables_namespace, bp_tables_app;

#endif
