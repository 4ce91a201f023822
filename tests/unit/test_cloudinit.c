/*
 * cloudinit: rendered meta-data, user-data and network-config against golden files in
 * tests/unit/data/cloudinit/ (SBX_UPDATE_GOLDEN=1 rewrites them), YAML quoting, and the ISO writer
 * (skipped without genisoimage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cloudinit.h"

static const char *const keys[] = {
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdkNfWuXtH2zOyK8D0u6hWmQkq5XbW7mW+ZkQk0a0n3 sandbox@demo",
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 \"quoted\" \\ back",
};
static const char *const dns[] = {"10.10.1.1"};
static const struct cloudinit_nic nics[] = {
	{"52:54:00:12:34:01", "10.10.1.10/24", "10.10.1.1"},
	{"52:54:00:12:34:02", "10.10.2.10/24", NULL},
};

/* The two-NIC spec of the golden files. */
static struct cloudinit_spec spec(void)
{
	return (struct cloudinit_spec){
		.instance_id = "sbx-demo-lb-0-3f2a", .hostname = "lb-0", .user = NULL,
		.ssh_keys = keys, .nkeys = 2, .nics = nics, .nnics = 2, .dns = dns, .ndns = 1,
	};
}

/* Compare text with the golden file `name` (or rewrite it when SBX_UPDATE_GOLDEN=1). */
static void golden(const char *name, const char *text)
{
	const char *top = getenv("SBX_TOP");
	char *path = xasprintf("%s/tests/unit/data/cloudinit/%s", top ? top : ".", name), *want = NULL;
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

/* meta-data names the instance and the host. */
static void test_meta_data(void **state)
{
	(void)state;
	struct cloudinit_spec s = spec();
	char *t = cloudinit_meta_data(&s);
	golden("two-nics.meta-data", t);
	free(t);
}

/* user-data: the sandbox user with sudo and keys, no root, no passwords, fresh host keys. */
static void test_user_data(void **state)
{
	(void)state;
	struct cloudinit_spec s = spec();
	char *t = cloudinit_user_data(&s);
	golden("two-nics.user-data", t);
	assert_true(strncmp(t, "#cloud-config\n", 14) == 0);
	assert_non_null(strstr(t, "NOPASSWD:ALL"));
	assert_non_null(strstr(t, "ssh_pwauth: false"));
	assert_non_null(strstr(t, "disable_root: true"));
	assert_non_null(strstr(t, "\\\"quoted\\\" \\\\ back")); /* YAML escapes of " and \ */
	free(t);
}

/* network-config v2: static addresses by MAC; gateway and DNS only on the primary NIC. */
static void test_network_config(void **state)
{
	(void)state;
	struct cloudinit_spec s = spec();
	char *t = cloudinit_network_config(&s);
	golden("two-nics.network-config", t);
	const char *eth1 = strstr(t, "eth1:");
	assert_non_null(eth1);
	assert_null(strstr(eth1, "gateway4"));
	assert_null(strstr(eth1, "nameservers"));
	free(t);
}

/* Without NICs there is no network-config; a NIC without address uses DHCP; another user. */
static void test_variants(void **state)
{
	(void)state;
	struct cloudinit_spec s = spec();
	s.nnics = 0;
	assert_null(cloudinit_network_config(&s));
	struct cloudinit_nic dhcp = {"52:54:00:00:00:09", NULL, NULL};
	s.nics = &dhcp;
	s.nnics = 1;
	s.ndns = 0;
	s.user = "ops";
	s.nkeys = 0;
	char *n = cloudinit_network_config(&s), *u = cloudinit_user_data(&s);
	assert_non_null(strstr(n, "dhcp4: true"));
	assert_null(strstr(n, "addresses"));
	assert_non_null(strstr(u, "name: \"ops\""));
	assert_null(strstr(u, "ssh_authorized_keys"));
	assert_null(strstr(u, "write_files"));
	free(n);
	free(u);
}

/* The ISO writer produces an ISO 9660 image labelled cidata. */
static void test_iso(void **state)
{
	(void)state;
	char dir[] = "/tmp/sbx-test-ci.XXXXXX";
	struct sbx_err err = SBX_ERR_INIT;
	if (access("/usr/bin/genisoimage", X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	char *iso = xasprintf("%s/seed.iso", dir), *data = NULL;
	size_t len = 0;
	if (cloudinit_iso_write(iso, "instance-id: a\n", "#cloud-config\n", "version: 2\n", &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	assert_int_equal(sbx_read_file(iso, &data, &len, &err), 0);
	assert_true(len >= 0x8000 + 2048);
	assert_memory_equal(data + 0x8001, "CD001", 5);        /* primary volume descriptor */
	assert_memory_equal(data + 0x8028, "cidata", 6);       /* volume id */
	assert_non_null(memmem(data, len, "network-config", 14)); /* Rock Ridge / Joliet names */
	free(data);
	assert_int_equal(cloudinit_iso_write("/nonexistent-dir/x.iso", "a", "b", NULL, &err), -1);
	assert_true(sbx_err_isset(&err));
	sbx_err_clear(&err);
	sbx_rm_rf(dir);
	free(iso);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_network_config),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_iso),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
