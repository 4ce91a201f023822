/*
 * cloudinit — the cloud-init NoCloud seed of a node: meta-data, user-data (#cloud-config) and
 * network-config (version 2) rendered as text (pure functions), and the seed ISO (ISO 9660,
 * volume id "cidata", Joliet + Rock Ridge) written with genisoimage.
 */
#ifndef SBX_CLOUDINIT_H
#define SBX_CLOUDINIT_H

#include <stddef.h>

#include "util.h"

/* One NIC, matched in the guest by its MAC address. */
struct cloudinit_nic {
	const char *mac;     /* 52:54:00:xx:xx:xx */
	const char *address; /* "10.1.2.10/24" */
	const char *gateway; /* only on the primary NIC; NULL elsewhere */
};

struct cloudinit_spec {
	const char *instance_id; /* changes only when the machine is recreated */
	const char *hostname;
	const char *user;        /* login user, default "sandbox" (sudo without password) */
	const char *const *ssh_keys; /* OpenSSH public keys ("ssh-ed25519 AAAA... comment") */
	size_t nkeys;
	const struct cloudinit_nic *nics; /* nics[0] is the primary NIC */
	size_t nnics;
	const char *const *dns;  /* name servers, set on the primary NIC only */
	size_t ndns;
};

/* The texts of the seed; each returns a new string (caller frees). */
char *cloudinit_meta_data(const struct cloudinit_spec *s);
char *cloudinit_user_data(const struct cloudinit_spec *s);
/* NULL when the spec has no NICs (the guest then uses DHCP on eth0). */
char *cloudinit_network_config(const struct cloudinit_spec *s);

/* Write the NoCloud ISO at `path` (replaced atomically) from the three texts (network_config may
 * be NULL). Runs genisoimage (package genisoimage). */
int cloudinit_iso_write(const char *path, const char *meta_data, const char *user_data,
	const char *network_config, struct sbx_err *err) SBX_WUR;

#endif
