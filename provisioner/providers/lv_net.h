/*
 * lv_net — libvirt networks of the libvirt provider (see lv.h): a /24 bridge, NAT or isolated,
 * with a DHCP range and static host entries.
 */
#ifndef SBX_LV_NET_H
#define SBX_LV_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "lv_owner.h"
#include "util.h"

struct lv;

/* A static DHCP host entry. */
struct lv_host {
	const char *mac;  /* 52:54:00:xx:xx:xx */
	const char *ip;
	const char *name;
};

struct lv_net_spec {
	const char *name;   /* libvirt network name: sbx-<env>.<net> */
	const char *bridge; /* bridge device (<= 15 chars), e.g. sbx<8 hex of sha256(name)> */
	const char *cidr;   /* "a.b.c.0/24": the host is .1, DHCP range .100-.199 (unless netboot) */
	bool nat;           /* NAT forward, else isolated */
	const struct lv_host *hosts;
	size_t nhosts;
	struct lv_owner owner; /* tagged as a DNS TXT record "sbx-owner" */
	bool adopt;            /* an existing untagged network may be tagged and used */
	bool netboot;          /* bare-metal machines boot from it: no DHCP range (libvirt's dnsmasq answers
	                          no unknown MAC; the network boot service is its one DHCP server) */
};
/* Define (autostart) and start the network when absent. An existing one must be the owner's
 * (else SBX_EXIT_REFUSED, see lv_owner_check) and have the same address and forward mode (else an
 * error); missing DHCP host entries are added to it, its DHCP range added or removed as netboot
 * says (live: libvirt restarts its dnsmasq), a changed protection flag is re-tagged. */
int lv_net_ensure(struct lv *lv, const struct lv_net_spec *spec, struct sbx_err *err) SBX_WUR;
/* Stop and undefine a network; absent is success. */
int lv_net_delete(struct lv *lv, const char *name, struct sbx_err *err) SBX_WUR;

/* What libvirt reports about a network. */
struct lv_net_seen {
	bool exists;
	bool active;
	struct lv_owner_rec owner; /* free with lv_owner_rec_clear */
};
/* Observe a network (absent: exists false, not an error). */
int lv_net_observe(struct lv *lv, const char *name, struct lv_net_seen *out, struct sbx_err *err) SBX_WUR;

#endif
