/* netboot — the network boot service's texts: dnsmasq config, iPXE scripts, NoCloud seeds. */
#include "netboot.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cloudinit.h"
#include "installer.h"
#include "util.h"

#define NB_LEASE "10m" /* DHCP lease time: short, the service lives as long as its environment */

/* Whether s is a node instance name. */
bool netboot_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

/* Whether m is "xx:xx:xx:xx:xx:xx" in hex. */
bool netboot_mac_ok(const char *m)
{
	if (m == NULL || strlen(m) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return false;
	return true;
}

/* The base URL of the HTTP side ("http://ADDR:PORT"); caller frees. */
static char *base_url(const struct netboot_net *net)
{
	return xasprintf("http://%s:%d", net->address, net->http_port);
}

/* Append the DHCP hosts: each MAC at its address, tagged for its script URL. */
static void conf_hosts(struct sbx_buf *b, const struct netboot_net *net, const char *base)
{
	for (size_t i = 0; i < net->nhosts; i++) {
		const struct netboot_host *h = &net->hosts[i];
		sbx_buf_printf(b, "dhcp-host=%s,set:h%zu,%s,%s,%s\n", h->mac, i, h->ip, h->name, NB_LEASE);
		sbx_buf_printf(b, "dhcp-boot=tag:ipxe,tag:h%zu,%s%s%s\n", i, base, NETBOOT_PATH_IPXE, h->name);
	}
}

/* Render the dnsmasq configuration. */
char *netboot_dnsmasq_conf(const struct netboot_net *net)
{
	struct sbx_buf b = {0};
	const char *slash = strchr(net->cidr, '/');
	char *base = base_url(net), *first = xstrndup(net->cidr, slash ? (size_t)(slash - net->cidr) : strlen(net->cidr));

	sbx_buf_printf(&b, "# sandbox network boot service: environment %s, interface %s (generated)\n", net->env,
		net->iface);
	sbx_buf_puts(&b, "port=0\nno-resolv\nno-hosts\nbind-interfaces\n");
	sbx_buf_printf(&b, "interface=%s\n", net->iface);
	sbx_buf_printf(&b, "pid-file=%s/dnsmasq.pid\ndhcp-leasefile=%s/dnsmasq.leases\n", net->dir, net->dir);
	sbx_buf_printf(&b, "log-facility=%s/dnsmasq.log\nlog-dhcp\n", net->dir);
	sbx_buf_printf(&b, "dhcp-range=%s,static,255.255.255.0,%s\n", first, NB_LEASE);
	sbx_buf_puts(&b, "dhcp-ignore=tag:!known\n");
	sbx_buf_printf(&b, "dhcp-option=option:router,%s\n", net->address);
	sbx_buf_puts(&b, "dhcp-userclass=set:ipxe,iPXE\ndhcp-match=set:ipxe,175\n");
	conf_hosts(&b, net, base);
	if (net->tftp) {
		sbx_buf_puts(&b, "dhcp-match=set:efi64,option:client-arch,7\ndhcp-match=set:efi64,option:client-arch,9\n");
		sbx_buf_printf(&b, "dhcp-boot=tag:!ipxe,tag:!efi64,%s\n", NETBOOT_TFTP_BIOS);
		sbx_buf_printf(&b, "dhcp-boot=tag:!ipxe,tag:efi64,%s\n", NETBOOT_TFTP_EFI);
		sbx_buf_printf(&b, "enable-tftp=%s\ntftp-root=%s/tftp\ntftp-no-blocksize\n", net->iface, net->dir);
	}
	free(base);
	free(first);
	return sbx_buf_steal(&b);
}

/* The seed URL of a host. */
char *netboot_seed_url(const struct netboot_net *net, const struct netboot_host *h)
{
	return xasprintf("http://%s:%d%s%s/", net->address, net->http_port, NETBOOT_PATH_SEED, h->name);
}

/* Append the kernel line: the seed, what the installer does with the image, the image's own
 * arguments; the root file system (the last root= wins over the image's) of an installed machine
 * is its disk, of a machine that runs from RAM the loop device the installer attaches its image
 * to (mounted read-write there: systemd's fsck of the root is skipped, and the image's fstab
 * entry for / names a disk it does not have). The seed is "nocloud-net": cloud-init 22.4 (Debian
 * 12) takes "ds=nocloud" as dsmode local, fetches the URL seed in its network stage and then skips
 * that stage's modules (users, SSH keys). */
static void script_kernel(struct sbx_buf *b, const struct netboot_net *net, const struct netboot_host *h,
	const char *base)
{
	char *seed = netboot_seed_url(net, h);
	bool install = h->disk && !h->installed, ram = h->disk == NULL;
	sbx_buf_printf(b, "kernel %s%s initrd=initrd%s ip=dhcp ds=nocloud-net;s=%s", base, NETBOOT_PATH_KERNEL,
		install || ram ? " initrd=installer" : "", seed);
	if (install || ram)
		sbx_buf_printf(b, " sandbox.image=%s%s", base, NETBOOT_PATH_IMAGE);
	if (install)
		sbx_buf_printf(b, " sandbox.install=%s sandbox.wipe=%d sandbox.installed=%s%s%s", h->disk, h->wipe ? 1 : 0,
			base, NETBOOT_PATH_INSTALLED, h->name);
	else if (ram)
		sbx_buf_puts(b, " sandbox.ram=1");
	if ((install || ram) && net->sha256)
		sbx_buf_printf(b, " sandbox.sha256=%s", net->sha256);
	if (net->cmdline && *net->cmdline)
		sbx_buf_printf(b, " %s", net->cmdline);
	if (h->disk && h->installed)
		sbx_buf_printf(b, " root=%s", h->disk);
	else if (ram)
		sbx_buf_puts(b, " root=" INSTALLER_LOOP " fsck.mode=skip");
	sbx_buf_puts(b, "\n");
	free(seed);
}

/* The comment line of a script: what the machine does. */
static void script_comment(struct sbx_buf *b, const struct netboot_net *net, const struct netboot_host *h)
{
	sbx_buf_printf(b, "# sandbox: environment %s, machine %s: ", net->env, h->name);
	if (h->disk && h->installed)
		sbx_buf_printf(b, "installed on %s, boot the image's kernel with its root there\n", h->disk);
	else if (h->disk)
		sbx_buf_printf(b, "install the image to %s%s, then boot it\n", h->disk, h->wipe ? " (wiped first)" : "");
	else
		sbx_buf_puts(b, "run the image from RAM (its root on " INSTALLER_LOOP ")\n");
}

/* Render the iPXE script of a host. The image has no boot loader (one ext4 file system on the whole
 * disk, made for direct kernel boot), so an installed machine does not sanboot its disk: it boots
 * the image's kernel and initrd from the service with root= on the disk, the seed on the command
 * line as before the install. */
char *netboot_ipxe_script(const struct netboot_net *net, const struct netboot_host *h)
{
	struct sbx_buf b = {0};
	char *base = base_url(net);

	sbx_buf_puts(&b, "#!ipxe\n");
	script_comment(&b, net, h);
	script_kernel(&b, net, h, base);
	sbx_buf_printf(&b, "initrd --name initrd %s%s\n", base, NETBOOT_PATH_INITRD);
	if (!(h->disk && h->installed))
		sbx_buf_printf(&b, "initrd --name installer %s%s\n", base, NETBOOT_PATH_INSTALLER);
	sbx_buf_puts(&b, "boot\n");
	free(base);
	return sbx_buf_steal(&b);
}

/* Render the seed of a host through cloudinit (the texts a VM's seed has). */
void netboot_seed(const struct netboot_net *net, const struct netboot_host *h, const struct netboot_seed_in *in,
	char **meta_data, char **user_data, char **network_config)
{
	char *addr = xasprintf("%s/24", h->ip);
	const char *keys[1] = {in->pubkey};
	struct cloudinit_nic nic = {h->mac, addr, net->address};
	struct cloudinit_spec s = {.instance_id = in->instance_id, .hostname = h->name, .user = in->user,
		.ssh_keys = keys, .nkeys = in->pubkey ? 1 : 0, .nics = &nic, .nnics = 1};

	*meta_data = cloudinit_meta_data(&s);
	*user_data = cloudinit_user_data(&s);
	*network_config = cloudinit_network_config(&s);
	free(addr);
}
