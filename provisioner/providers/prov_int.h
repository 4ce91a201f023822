/*
 * prov_int — how a provider registers with the table: its connection hooks, its listing and one
 * row per resource type it realises.
 */
#ifndef SBX_PROV_INT_H
#define SBX_PROV_INT_H

#include "prov.h"

/* One resource type a provider realises. */
struct prov_type {
	enum res_type type;
	const char *doing; /* "creating network" */
	int (*ensure)(void *h, const struct res *r, bool adopt, struct sbx_err *err);
	/* where: the container named by a listing (prov_obj.where), NULL = the session's own */
	int (*remove)(void *h, const char *name, const char *where, struct sbx_err *err);
	int (*observe)(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err);
	/* Delete from the recorded resource (NULL: remove by name): what a machine's BMC needs. */
	int (*remove_res)(void *h, const struct res *r, struct sbx_err *err);
};

struct provider {
	const char *name;
	/* Open a connection for cfg (strings in cfg live as long as the session). */
	int (*open)(const struct prov_cfg *cfg, void **h, struct sbx_err *err);
	void (*close)(void *h);
	bool (*is_test)(void *h);
	/* Prepare what creation needs (once; later calls return the first result). */
	int (*prepare)(void *h, struct sbx_err *err);
	/* Objects named like ours with their owners, appended to *objs. */
	int (*list)(void *h, struct prov_obj **objs, size_t *n, struct sbx_err *err);
	/* The console output of a machine (0), or 1 when it cannot be read from here. */
	int (*console)(void *h, const char *name, char **text, struct sbx_err *err);
	/* Address blocks in use at the site, appended to *v. */
	int (*blocks)(void *h, char ***v, size_t *n, struct sbx_err *err);
	const struct prov_type *types;
	size_t ntypes;
	bool machines; /* it runs machines (a session with prov_cfg.no_machines does not open it) */
	/* What its host reports of its capacity (NULL: nothing). */
	int (*host_info)(void *h, struct prov_host *out, struct sbx_err *err);
	/* Take over a running machine of this state (prov_adopt; NULL: not supported). */
	int (*adopt)(void *h, const struct res *r, bool move, char **mac, struct sbx_err *err);
};

extern const struct provider prov_libvirt, prov_k8s, prov_ipmi, prov_netboot;

/* Free one listed object's strings (the struct itself is not freed). */
void prov_obj_list_free_one(struct prov_obj *o);

#endif
