/*
 * netboot: the network boot service's dnsmasq configuration, iPXE scripts (install to a disk, run
 * from RAM: both with the installer and the stream's SHA-256; installed: the kernel with its root on the disk) and seed against golden files in tests/unit/data/netboot/
 * (SBX_UPDATE_GOLDEN=1 rewrites them), and the name and MAC checks that keep what reaches a dnsmasq
 * line or a URL path plain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netboot.h"
#include "util.h"

static const struct netboot_host hosts[] = {
	{"db-0", "52:54:00:00:00:11", "10.20.3.249", "/dev/sda", true, false},
	{"cache-0", "52:54:00:00:00:12", "10.20.3.248", NULL, false, false},
};

#define SUM "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* The network of the golden files: two machines, TFTP on. */
static struct netboot_net net(void)
{
	return (struct netboot_net){.env = "demo", .iface = "sbx1a2b3c4d", .cidr = "10.20.3.0/24",
		.address = "10.20.3.1", .http_port = 40123, .dir = "/var/lib/sandbox/netboot/sbx-demo.front.netboot",
		.tftp = true, .cmdline = "console=ttyS0 root=/dev/vda", .sha256 = SUM, .hosts = hosts, .nhosts = 2};
}

/* Compare text with the golden file `name` (or rewrite it when SBX_UPDATE_GOLDEN=1). */
static void golden(const char *name, const char *text)
{
	const char *top = getenv("SBX_TOP");
	char *path = xasprintf("%s/tests/unit/data/netboot/%s", top ? top : ".", name), *want = NULL;
	size_t len = 0;
	struct sbx_err err = SBX_ERR_INIT;
	if (getenv("SBX_UPDATE_GOLDEN"))
		assert_int_equal(sbx_write_file(path, text, strlen(text), 0644, &err), 0);
	if (sbx_read_file(path, &want, &len, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	if (strcmp(want, text) != 0)
		fail_msg("%s differs from the rendering:\n--- golden\n%s--- rendered\n%s", path, want, text);
	free(want);
	free(path);
}

/* dnsmasq: no DNS, its bridge only, the declared MACs only at their planned addresses, iPXE by
 * user class to its machine's script, PXE ROMs to iPXE over TFTP. */
static void test_dnsmasq_conf(void **state)
{
	(void)state;
	struct netboot_net n = net();
	char *t = netboot_dnsmasq_conf(&n);
	golden("demo.dnsmasq.conf", t);
	assert_non_null(strstr(t, "\nport=0\n"));
	assert_non_null(strstr(t, "\ndhcp-ignore=tag:!known\n"));
	assert_non_null(strstr(t, "\ndhcp-host=52:54:00:00:00:11,set:h0,10.20.3.249,db-0,"));
	assert_non_null(strstr(t, "\ndhcp-boot=tag:ipxe,tag:h1,http://10.20.3.1:40123/ipxe/cache-0\n"));
	assert_non_null(strstr(t, "\ndhcp-userclass=set:ipxe,iPXE\n"));
	free(t);
	/* without the iPXE binaries: no TFTP at all */
	n.tftp = false;
	t = netboot_dnsmasq_conf(&n);
	assert_null(strstr(t, "tftp"));
	assert_null(strstr(t, "kpxe"));
	free(t);
}

/* The scripts: install to the disk (wiped; the installer's initrd after the image's), run from RAM
 * (the installer too, the root on its loop device after the image's root=), both with the stream's
 * SHA-256 when known; once installed the image's kernel with its root on the disk (no installer). */
static void test_ipxe_scripts(void **state)
{
	(void)state;
	struct netboot_net n = net();
	char *t = netboot_ipxe_script(&n, &hosts[0]);
	golden("db-0.install.ipxe", t);
	assert_non_null(strstr(t, " ds=nocloud-net;s=http://10.20.3.1:40123/seed/db-0/ "));
	assert_non_null(strstr(t, " sandbox.install=/dev/sda sandbox.wipe=1 "));
	assert_non_null(strstr(t, "/installed/db-0 sandbox.sha256=" SUM " console=ttyS0 root=/dev/vda\n"));
	assert_non_null(strstr(t, "\ninitrd --name initrd http://10.20.3.1:40123/boot/initrd\n"
				  "initrd --name installer http://10.20.3.1:40123/boot/installer\nboot\n"));
	free(t);
	t = netboot_ipxe_script(&n, &hosts[1]);
	golden("cache-0.ram.ipxe", t);
	assert_non_null(strstr(t, " initrd=initrd initrd=installer "));
	assert_non_null(strstr(t, " sandbox.image=http://10.20.3.1:40123/image sandbox.ram=1 sandbox.sha256=" SUM " "));
	assert_non_null(strstr(t, " root=/dev/vda root=/dev/loop0 fsck.mode=skip\n"));
	assert_non_null(strstr(t, "\ninitrd --name installer http://10.20.3.1:40123/boot/installer\nboot\n"));
	assert_null(strstr(t, "sandbox.install"));
	free(t);
	/* a RAM machine that reported an install (it does not): the same script */
	struct netboot_host ram = hosts[1];
	ram.installed = true;
	char *again = netboot_ipxe_script(&n, &ram);
	t = netboot_ipxe_script(&n, &hosts[1]);
	assert_string_equal(again, t);
	free(again);
	free(t);
	/* no stream sum known: no sandbox.sha256 */
	n.sha256 = NULL;
	t = netboot_ipxe_script(&n, &hosts[0]);
	assert_null(strstr(t, "sha256"));
	free(t);
	n.sha256 = SUM;
	struct netboot_host done = hosts[0];
	done.installed = true;
	t = netboot_ipxe_script(&n, &done);
	golden("db-0.installed.ipxe", t);
	assert_null(strstr(t, "installer"));
	assert_null(strstr(t, "sandbox."));
	assert_non_null(strstr(t, " ds=nocloud-net;s=http://10.20.3.1:40123/seed/db-0/ "));
	assert_non_null(strstr(t, " console=ttyS0 root=/dev/vda root=/dev/sda\n"));
	free(t);
}

/* The seed: the same cloud-init texts as a VM's, the machine's planned address, the host as gateway. */
static void test_seed(void **state)
{
	(void)state;
	struct netboot_net n = net();
	struct netboot_seed_in in = {"sbx-demo.db-0-1", NULL, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdk sandbox@demo"};
	char *md, *ud, *nc;
	netboot_seed(&n, &hosts[0], &in, &md, &ud, &nc);
	golden("db-0.meta-data", md);
	golden("db-0.user-data", ud);
	golden("db-0.network-config", nc);
	assert_non_null(strstr(ud, "sandbox@demo"));
	assert_non_null(strstr(nc, "10.20.3.249/24"));
	free(md);
	free(ud);
	free(nc);
}

/* Names and MACs: what may reach a dnsmasq line or a URL path. */
static void test_checks(void **state)
{
	(void)state;
	assert_true(netboot_name_ok("db-0"));
	assert_false(netboot_name_ok(""));
	assert_false(netboot_name_ok("../etc"));
	assert_false(netboot_name_ok("a,b"));
	assert_false(netboot_name_ok("-x"));
	assert_true(netboot_mac_ok("52:54:00:aB:00:11"));
	assert_false(netboot_mac_ok("52:54:00:00:00:1"));
	assert_false(netboot_mac_ok("52:54:00:00:00:1g"));
	assert_false(netboot_mac_ok("52-54-00-00-00-11"));
	assert_false(netboot_mac_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnsmasq_conf),
		cmocka_unit_test(test_ipxe_scripts),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
