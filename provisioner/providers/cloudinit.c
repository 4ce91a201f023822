/* cloudinit — render a NoCloud seed (meta-data, user-data, network-config v2) and write its ISO. */
#include "cloudinit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CI_DEFAULT_USER "sandbox"

/* Append s as a YAML double-quoted scalar. */
static void yaml_str(struct sbx_buf *b, const char *s)
{
	sbx_buf_puts(b, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sbx_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			sbx_buf_puts(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			sbx_buf_printf(b, "\\x%02x", c);
		else
			sbx_buf_add(b, s, 1);
	}
	sbx_buf_puts(b, "\"");
}

/* Append `<indent>key: "value"\n`. */
static void yaml_kv(struct sbx_buf *b, const char *indent, const char *key, const char *value)
{
	sbx_buf_printf(b, "%s%s: ", indent, key);
	yaml_str(b, value);
	sbx_buf_puts(b, "\n");
}

/* Append a block list of quoted strings. */
static void yaml_list(struct sbx_buf *b, const char *indent, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sbx_buf_printf(b, "%s- ", indent);
		yaml_str(b, v[i]);
		sbx_buf_puts(b, "\n");
	}
}

/* Render meta-data. */
char *cloudinit_meta_data(const struct cloudinit_spec *s)
{
	struct sbx_buf b = {0};
	yaml_kv(&b, "", "instance-id", s->instance_id);
	yaml_kv(&b, "", "local-hostname", s->hostname);
	return sbx_buf_steal(&b);
}

/* Append the login user: passwordless sudo, key-only. */
static void user_data_user(struct sbx_buf *b, const struct cloudinit_spec *s)
{
	sbx_buf_puts(b, "users:\n");
	yaml_kv(b, "  - ", "name", s->user ? s->user : CI_DEFAULT_USER);
	sbx_buf_puts(b, "    shell: /bin/bash\n"
		"    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
		"    lock_passwd: true\n");
	if (s->nkeys > 0) {
		sbx_buf_puts(b, "    ssh_authorized_keys:\n");
		yaml_list(b, "      ", s->ssh_keys, s->nkeys);
	}
}

/* Append /etc/resolv.conf (static addressing gets no DNS from DHCP). */
static void user_data_dns(struct sbx_buf *b, const struct cloudinit_spec *s)
{
	struct sbx_buf r = {0};
	if (s->ndns == 0)
		return;
	for (size_t i = 0; i < s->ndns; i++)
		sbx_buf_printf(&r, "nameserver %s\n", s->dns[i]);
	char *text = sbx_buf_steal(&r);
	sbx_buf_puts(b, "write_files:\n  - path: /etc/resolv.conf\n    permissions: \"0644\"\n");
	yaml_kv(b, "    ", "content", text);
	free(text);
}

/* Render user-data (#cloud-config). */
char *cloudinit_user_data(const struct cloudinit_spec *s)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "#cloud-config\n");
	yaml_kv(&b, "", "hostname", s->hostname);
	sbx_buf_puts(&b, "manage_etc_hosts: true\n");
	user_data_user(&b, s);
	sbx_buf_puts(&b, "disable_root: true\n"
		"ssh_pwauth: false\n"
		"ssh_deletekeys: true\n"
		"ssh_genkeytypes: [ed25519, ecdsa]\n");
	user_data_dns(&b, s);
	return sbx_buf_steal(&b);
}

/* Append one ethernet of network-config v2. */
static void net_nic(struct sbx_buf *b, const struct cloudinit_spec *s, size_t i)
{
	const struct cloudinit_nic *n = &s->nics[i];
	sbx_buf_printf(b, "  eth%zu:\n    match:\n", i);
	yaml_kv(b, "      ", "macaddress", n->mac);
	sbx_buf_printf(b, "    set-name: eth%zu\n", i);
	if (n->address == NULL) {
		sbx_buf_puts(b, "    dhcp4: true\n");
		return;
	}
	sbx_buf_puts(b, "    addresses:\n");
	yaml_list(b, "      ", &n->address, 1);
	if (n->gateway)
		yaml_kv(b, "    ", "gateway4", n->gateway);
	if (i == 0 && s->ndns > 0) {
		sbx_buf_puts(b, "    nameservers:\n      addresses:\n");
		yaml_list(b, "        ", s->dns, s->ndns);
	}
}

/* Render network-config v2 (NULL without NICs). */
char *cloudinit_network_config(const struct cloudinit_spec *s)
{
	struct sbx_buf b = {0};
	if (s->nnics == 0)
		return NULL;
	sbx_buf_puts(&b, "version: 2\nethernets:\n");
	for (size_t i = 0; i < s->nnics; i++)
		net_nic(&b, s, i);
	return sbx_buf_steal(&b);
}

/* Write one seed file into dir; returns its path (caller frees) or NULL. */
static char *iso_file(const char *dir, const char *name, const char *text, struct sbx_err *err)
{
	char *path = sbx_path_join(dir, name);
	if (sbx_write_file(path, text, strlen(text), 0644, err) == 0)
		return path;
	free(path);
	return NULL;
}

/* Write the NoCloud ISO. */
int cloudinit_iso_write(const char *path, const char *meta_data, const char *user_data,
	const char *network_config, struct sbx_err *err)
{
	char dir[] = "/tmp/sbx-cidata.XXXXXX";
	char *files[3] = {NULL, NULL, NULL}, *tmp = NULL;
	int rc = -1;
	if (mkdtemp(dir) == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot create a temp dir: %s", strerror(errno));
	if ((files[0] = iso_file(dir, "meta-data", meta_data, err)) == NULL ||
		(files[1] = iso_file(dir, "user-data", user_data, err)) == NULL ||
		(network_config && (files[2] = iso_file(dir, "network-config", network_config, err)) == NULL))
		goto out;
	tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	char *argv[] = {"genisoimage", "-quiet", "-output", tmp, "-volid", "cidata", "-joliet", "-rock",
		files[0], files[1], files[2], NULL};
	if (sbx_run(argv, 60000, NULL, err) < 0)
		goto out;
	if (rename(tmp, path) < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tmp && rc < 0)
		unlink(tmp);
	for (size_t i = 0; i < 3; i++)
		free(files[i]);
	free(tmp);
	sbx_rm_rf(dir);
	return rc;
}
