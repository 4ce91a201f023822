/*
 * res — the typed resources the planner produces, the providers realise and the state records.
 *
 * A resource is a tagged struct: its type, its deterministic name, the node instance it belongs to
 * and its dependencies, plus the fields of its type. JSON exists only at the state boundary:
 * res_encode / res_decode are the one pair that turns a resource's fields into the `spec` column
 * of a state row and back (decode ignores unknown keys, so rows written by an older build still
 * read). res_diff compares two resources field by field, which is what `plan` prints as
 * "old → new". Kubernetes objects (RES_K8S, the Kubernetes provider) are one more type; a
 * bare-metal machine behind a BMC (RES_MACHINE, a node with provider ipmi) another.
 */
#ifndef SBX_RES_H
#define SBX_RES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum res_type {
	RES_NETWORK,
	RES_VOLUME,
	RES_SEED,
	RES_DOMAIN,
	RES_K8S,      /* an object on the environment's Kubernetes cluster */
	RES_MACHINE,  /* a bare-metal machine: powered on and network-booted through its BMC */
	RES_NETBOOT,  /* the network boot service of one network with bare-metal machines */
	RES_NTYPES,
};

/* One NIC of a node instance. */
struct res_nic {
	char *network; /* provider network name (sbx-<env>.<net>) */
	char *net;     /* blueprint network name */
	char *mac;
	char *ip;
	char *gateway;
	int prefix;
	bool primary;
};

struct res_network {
	char *net;    /* blueprint network name */
	char *cidr;   /* "a.b.c.0/24" */
	char *bridge; /* bridge device */
	bool nat;     /* else isolated */
	bool netboot; /* bare-metal machines boot from it: no DHCP of libvirt's there (their network
	                 boot service answers them; the VMs' addresses are static) */
};

/* What a volume is built from (the blueprint's site.image). */
struct res_image {
	char *path, *url, *sha256, *recipe, *kernel, *initrd, *cmdline;
};

struct res_volume {
	struct res_image image;
	uint64_t capacity; /* bytes */
	char *pool;
};

struct res_seed {
	char *hostname;
	char *user;
	struct res_nic *nics;
	size_t nnics;
};

struct res_domain {
	char *node;        /* blueprint node name */
	int index;         /* instance index */
	int vcpus;
	uint64_t memory;   /* bytes */
	char *disk;        /* volume name */
	char *seed;        /* seed name */
	char *domain_type; /* "auto" | "kvm" | "qemu" */
	struct res_nic *nics;
	size_t nnics;
};

/* An object applied to a cluster. Its row key (res.name) is "API_VERSION|KIND|NAMESPACE|NAME"
 * (NAMESPACE "-" when cluster-scoped): res_k8s_key / res_k8s_parse. */
struct res_k8s {
	char *api_version, *kind;
	char *namespace; /* NULL: cluster-scoped */
	char *obj_name;
};

/* A bare-metal machine (a node with provider ipmi): the BMC that powers it and what `up` asks of it.
 * The password is the blueprint's ${secret.NAME} reference, never the value: the value is resolved
 * from the encrypted state when the BMC is contacted. */
struct res_machine {
	char *node;        /* blueprint node name */
	char *bmc_address; /* host or IP of the BMC */
	int bmc_port;      /* its UDP port (623) */
	char *bmc_user;
	char *bmc_password; /* "${secret.NAME}" */
	char *mac;          /* the MAC it network-boots from (NULL: not declared) */
	char *boot;         /* "pxe": the boot device set before power on */
	char *power;        /* "on": the power state `up` wants */
	char *disk;         /* the device the machine installs to ("/dev/sda"), NULL: not declared */
	bool wipe;          /* wipe that disk before installing */
};

/* One bare-metal machine a network boot service answers. */
struct res_host {
	char *name; /* node instance ("db-0"): DHCP host name, script and seed paths */
	char *mac;
	char *ip;   /* its planned address */
	char *disk; /* the device it installs the image to; NULL: it runs the image from RAM */
	bool wipe;
};

/* The network boot service of one environment network: DHCP for its machines' MACs, their iPXE
 * scripts, the image and their seeds over HTTP, on the network's bridge. */
struct res_netboot {
	char *net;     /* blueprint network name */
	char *bridge;  /* the interface it serves */
	char *cidr;
	char *address; /* the host's address on the network: DHCP server, router, HTTP */
	struct res_image image; /* the kernel, initrd and image it serves */
	char *user;    /* the seeds' login user */
	struct res_host *hosts;
	size_t nhosts;
};

struct res {
	enum res_type type;
	char *name;
	char *node;   /* node instance ("web-0") for per-node resources, else NULL */
	char **deps;  /* names of the resources it needs */
	size_t ndeps;
	union {
		struct res_network net;
		struct res_volume vol;
		struct res_seed seed;
		struct res_domain dom;
		struct res_k8s k8s;
		struct res_machine mach;
		struct res_netboot nb;
	} u;
};

/* The type's name as stored in the state ("network", ...); never NULL for a valid type. */
const char *res_type_name(enum res_type t);
/* The type of a stored name; -1 when the name is not a resource type (host keys, outputs). */
int res_type_parse(const char *name);
/* The one delete order: resources of a lower rank are deleted first (cluster objects 0, domains
 * and machines 1, volumes, seeds and network boot services 2, networks 3), the order of `up`'s removals, `down` and `gc`. */
int res_delete_rank(enum res_type t);
#define RES_MAX_RANK 3

/* The row key of a cluster object (caller frees). */
char *res_k8s_key(const char *api_version, const char *kind, const char *ns, const char *name);
/* Split a row key into its parts (fills out, caller frees with res_clear of a RES_K8S resource);
 * -1 when it is not a key. */
int res_k8s_parse(const char *key, struct res_k8s *out);
/* How a resource is named to people (a cluster object: "Kind namespace/name"); caller frees. */
char *res_display(enum res_type type, const char *name);

/* Free what r holds (r itself is not freed); the struct is zeroed. */
void res_clear(struct res *r);
/* A deep copy of src into dst. */
void res_copy(struct res *dst, const struct res *src);
/* Append a dependency (copied). */
void res_dep(struct res *r, const char *name);

/* The fields of r as canonical JSON (sorted keys, compact); caller frees. */
char *res_encode(const struct res *r);
/*
 * Fill *out (type, name, node and fields) from a stored spec. Missing keys leave zero values,
 * unknown keys are ignored; malformed JSON is -1 with err set. *out is written only on success.
 */
int res_decode(enum res_type type, const char *name, const char *node, const char *spec,
	struct res *out, struct sbx_err *err) SBX_WUR;

/* One field that differs: "memory" 536870912 → 1073741824 printed as "512Mi" → "1Gi". */
struct res_change {
	char *field; /* "memory", "nics[1].ip", "image.sha256" */
	char *old;   /* human text, "(none)" when absent */
	char *new;
};

/*
 * The fields of b that differ from a (same type), in a fixed order. *out: caller frees with
 * res_changes_free; *n = 0 when they are equal.
 */
void res_diff(const struct res *a, const struct res *b, struct res_change **out, size_t *n);
void res_changes_free(struct res_change *c, size_t n);
/* The changes as one line: "memory 512Mi → 1Gi, vcpus 1 → 2"; caller frees. */
char *res_changes_text(const struct res_change *c, size_t n);

#endif
