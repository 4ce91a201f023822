/*
 * netboot — what the network boot service of one environment network says, rendered as text (pure
 * functions, no I/O): the dnsmasq configuration (DHCP for the declared MACs of the environment's
 * bare-metal machines only, each at its planned address; a PXE ROM gets iPXE over TFTP, iPXE gets
 * the HTTP URL of its machine's script), the per-machine iPXE script (the environment's kernel and
 * initrd over HTTP with the installer's, installing to a disk or running from RAM with its root on
 * /dev/loop0; an installed machine boots the image's kernel with its root file system on its disk) and the machine's NoCloud seed (the same
 * cloud-init texts as a VM's).
 *
 * The URL paths the service's HTTP side serves are fixed here too (NETBOOT_PATH_*): the renderer
 * and the server agree on them through this header.
 */
#ifndef SBX_NETBOOT_H
#define SBX_NETBOOT_H

#include <stdbool.h>
#include <stddef.h>

/* The HTTP paths: the script of machine NAME is /ipxe/NAME, its seed /seed/NAME/{meta-data,
 * user-data,network-config}, its "installed" report /installed/NAME; the image's files /boot/kernel,
 * /boot/initrd and /image (the root image as an extent stream: installer.h), and the installer's
 * initrd /boot/installer (appended to the image's: its /init replaces the image's). */
#define NETBOOT_PATH_IPXE      "/ipxe/"
#define NETBOOT_PATH_SEED      "/seed/"
#define NETBOOT_PATH_INSTALLED "/installed/"
#define NETBOOT_PATH_KERNEL    "/boot/kernel"
#define NETBOOT_PATH_INITRD    "/boot/initrd"
#define NETBOOT_PATH_IMAGE     "/image"
#define NETBOOT_PATH_INSTALLER "/boot/installer"

/* The iPXE binaries handed over TFTP to a plain PXE ROM (Debian's `ipxe`): BIOS, then x86-64 UEFI. */
#define NETBOOT_TFTP_BIOS "undionly.kpxe"
#define NETBOOT_TFTP_EFI  "ipxe.efi"

/* One bare-metal machine the service answers. */
struct netboot_host {
	const char *name;   /* node instance ("metal-0"): DHCP host name, script and seed paths */
	const char *mac;    /* "52:54:00:00:00:11" */
	const char *ip;     /* its planned address on the network */
	const char *disk;   /* install the image to this device; NULL: run it from RAM */
	bool wipe;          /* wipe the disk before installing */
	bool installed;     /* the install reported done: the script boots the local disk */
};

/* The service of one network. */
struct netboot_net {
	const char *env;       /* environment name (comments only) */
	const char *iface;     /* the network's bridge: dnsmasq binds it and nothing else */
	const char *cidr;      /* "a.b.c.0/24" */
	const char *address;   /* the host's address on it: DHCP server, router, HTTP server */
	int http_port;         /* the HTTP side's port */
	const char *dir;       /* the service's directory: pid file, leases, log, tftp/ */
	bool tftp;             /* tftp/ holds the iPXE binaries: serve them to PXE ROMs */
	const char *cmdline;   /* extra kernel arguments of the image (NULL: none) */
	const char *sha256;    /* the image stream's SHA-256, hex: the installer checks it (NULL: none) */
	const struct netboot_host *hosts;
	size_t nhosts;
};

/* The dnsmasq configuration (for `dnsmasq --conf-file=`); caller frees. No DNS (port=0), DHCP on
 * net->iface only, for the hosts' MACs only. */
char *netboot_dnsmasq_conf(const struct netboot_net *net);
/* The iPXE script of host h (a "#!ipxe" text); caller frees. */
char *netboot_ipxe_script(const struct netboot_net *net, const struct netboot_host *h);
/* The seed URL of h ("http://ADDR:PORT/seed/NAME/", what `ds=nocloud-net;s=` names); caller frees. */
char *netboot_seed_url(const struct netboot_net *net, const struct netboot_host *h);

/* What the seed of host h says besides the network's facts. */
struct netboot_seed_in {
	const char *instance_id; /* changes when the machine is taken anew or its address changes */
	const char *user;        /* NULL: cloud-init's default of the project ("sandbox") */
	const char *pubkey;      /* the environment's SSH public key, NULL: none */
};

/* The seed's texts for host h (each caller frees): meta-data, user-data, network-config (its
 * address, the host's address as gateway and name server). */
void netboot_seed(const struct netboot_net *net, const struct netboot_host *h, const struct netboot_seed_in *in,
	char **meta_data, char **user_data, char **network_config);

/* Whether s is a name the service may use in a path and a dnsmasq line (a node instance:
 * [a-z0-9-], 1 to 63 characters) and m a MAC ("xx:xx:xx:xx:xx:xx", hex). */
bool netboot_name_ok(const char *s);
bool netboot_mac_ok(const char *m);

#endif
