/*
 * Unit tests of env_adopt's aliases: the alias rows of a taken-over warm pool member rename the
 * node's desired domain, volume and seed (and the domain's disk, seed and dependencies) after the
 * member's objects and give its first NIC the member's MAC, keeping the originals; a node without
 * aliases is untouched. The identity script is valid sh (`sh -n`), quotes what it is given, adds
 * the node's address before the connection closes and moves the keys made ahead into place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_int.h"
#include "state_fix.h"

#define MAC_COLD "52:54:00:aa:aa:aa"
#define MAC_POOL "52:54:00:bb:bb:bb"

/* One NIC on the environment's network "lan". */
static struct res_nic *nic(void)
{
	struct res_nic *n = xcalloc(1, sizeof(*n));
	*n = (struct res_nic){xstrdup("sbx-e.lan"), xstrdup("lan"), xstrdup(MAC_COLD), xstrdup("10.0.0.10"),
		xstrdup("10.0.0.1"), 24, true};
	return n;
}

/* Add one resource of node instance inst. */
static struct res *add(struct plan_desired *d, enum res_type type, const char *name, const char *inst)
{
	d->res = xrealloc(d->res, (d->n + 1) * sizeof(*d->res));
	struct res *r = &d->res[d->n++];
	*r = (struct res){.type = type, .name = xstrdup(name), .node = xstrdup(inst)};
	return r;
}

/* The volume, seed and domain of instance vm-I, as plan_desired makes them. */
static void add_instance(struct plan_desired *d, int i)
{
	char *dom = xasprintf("sbx-e.vm-%d", i), *vol = xasprintf("%s.qcow2", dom), *seed = xasprintf("%s-seed.iso", dom);
	char *inst = xasprintf("vm-%d", i);
	add(d, RES_VOLUME, vol, inst)->u.vol.capacity = 8ull << 30;
	struct res *s = add(d, RES_SEED, seed, inst);
	s->u.seed = (struct res_seed){xstrdup(inst), xstrdup("sandbox"), nic(), 1};
	struct res *r = add(d, RES_DOMAIN, dom, inst);
	r->u.dom = (struct res_domain){xstrdup("vm"), i, 1, 1ull << 30, xstrdup(vol), xstrdup(seed), xstrdup("auto"),
		nic(), 1};
	res_dep(r, vol);
	res_dep(r, seed);
	res_dep(r, "sbx-e.lan");
	free(dom);
	free(vol);
	free(seed);
	free(inst);
}

/* Record an alias row. */
static void alias(struct state *st, const char *cold, const char *spec)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_res row = {"e", ENV_ROW_ALIAS, (char *)cold, NULL, (char *)spec, STATE_RES_CREATED, 0};
	assert_int_equal(state_res_put(st, &row, &err), 0);
}

/* vm-0's resources take the member's names and MAC; vm-1's stay; the originals are kept. */
static void test_alias_apply(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct plan_desired d = {0}, cold = {0};
	struct env_rows rows = {0};
	state_fix_env(f->st, "e", 0, false);
	add_instance(&d, 0);
	add_instance(&d, 1);
	alias(f->st, "sbx-e.vm-0", "sbx-pool.x.m1 " MAC_POOL);
	alias(f->st, "sbx-e.vm-0.qcow2", "sbx-pool.x.m1.qcow2");
	alias(f->st, "sbx-e.vm-0-seed.iso", "sbx-pool.x.m1-seed.iso " MAC_POOL);
	assert_int_equal(env_rows_load(f->st, "e", &rows, &err), 0);
	env_alias_apply(&rows, &d, &cold);
	assert_string_equal(d.res[0].name, "sbx-pool.x.m1.qcow2");
	assert_string_equal(d.res[1].name, "sbx-pool.x.m1-seed.iso");
	assert_string_equal(d.res[1].u.seed.nics[0].mac, MAC_POOL);
	assert_string_equal(d.res[1].u.seed.hostname, "vm-0");
	const struct res_domain *dom = &d.res[2].u.dom;
	assert_string_equal(d.res[2].name, "sbx-pool.x.m1");
	assert_string_equal(dom->disk, "sbx-pool.x.m1.qcow2");
	assert_string_equal(dom->seed, "sbx-pool.x.m1-seed.iso");
	assert_string_equal(dom->nics[0].mac, MAC_POOL);
	assert_string_equal(dom->nics[0].ip, "10.0.0.10");
	assert_string_equal(d.res[2].deps[0], "sbx-pool.x.m1.qcow2");
	assert_string_equal(d.res[2].deps[1], "sbx-pool.x.m1-seed.iso");
	assert_string_equal(d.res[2].deps[2], "sbx-e.lan");
	assert_string_equal(d.res[5].name, "sbx-e.vm-1");
	assert_string_equal(d.res[5].u.dom.disk, "sbx-e.vm-1.qcow2");
	assert_string_equal(d.res[5].u.dom.nics[0].mac, MAC_COLD);
	assert_int_equal(cold.n, 3);
	assert_string_equal(cold.res[2].name, "sbx-e.vm-0");
	assert_string_equal(cold.res[2].u.dom.disk, "sbx-e.vm-0.qcow2");
	assert_string_equal(cold.res[2].u.dom.nics[0].mac, MAC_COLD);
	assert_string_equal(cold.res[2].node, "vm-0");
	env_rows_clear(&rows);
	plan_desired_clear(&d);
	plan_desired_clear(&cold);
}

/* Without alias rows nothing changes and nothing is kept. */
static void test_alias_none(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct plan_desired d = {0}, cold = {0};
	struct env_rows rows = {0};
	state_fix_env(f->st, "e", 0, false);
	add_instance(&d, 0);
	assert_int_equal(env_rows_load(f->st, "e", &rows, &err), 0);
	env_alias_apply(&rows, &d, &cold);
	assert_string_equal(d.res[2].name, "sbx-e.vm-0");
	assert_string_equal(d.res[2].u.dom.seed, "sbx-e.vm-0-seed.iso");
	assert_int_equal(cold.n, 0);
	env_rows_clear(&rows);
	plan_desired_clear(&d);
	plan_desired_clear(&cold);
}

/* Whether sh -n accepts the script. */
static bool sh_syntax_ok(const char *script)
{
	char path[] = "/tmp/sbx-adopt-sh.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	char *cmd = xasprintf("sh -n %s", path);
	int rc = system(cmd);
	free(cmd);
	unlink(path);
	return rc == 0;
}

static void test_adopt_script(void **ctx)
{
	(void)ctx;
	struct res_domain d = {0};
	d.nics = nic();
	d.nnics = 1;
	char *s = env_adopt_script("vm-0", "ssh-ed25519 AAAAC3Nz it's me", &d);
	assert_true(sh_syntax_ok(s));
	/* the quoted inputs */
	assert_non_null(strstr(s, "h='vm-0'\n"));
	assert_non_null(strstr(s, "printf '%s\\n' 'ssh-ed25519 AAAAC3Nz it'\\''s me' > \"$d/.ssh/authorized_keys\"\n"));
	/* the address before the connection closes, the pool's dropped after it */
	const char *add = strstr(s, "addr replace 10.0.0.10/24 dev eth0\n"), *gw = strstr(s, "route replace default via 10.0.0.1 dev eth0\n");
	const char *job = strstr(s, "setsid -f sh -c ");
	assert_non_null(add);
	assert_non_null(gw);
	assert_non_null(job);
	assert_true(add < job && gw < job);
	assert_non_null(strstr(job, "tail --pid=\"$1\""));
	assert_non_null(strstr(job, "[ \"${a%/*}\" = 10.0.0.10 ] || ip addr del \"$a\" dev eth0"));
	/* the keys made ahead are moved, and printed between cloud-init's markers with the hostname */
	const char *mv = strstr(s, "mv -f \"$n\"/ssh_host_* /etc/ssh/\n"), *fp = strstr(s, "-----BEGIN SSH HOST KEY FINGERPRINTS-----");
	assert_non_null(mv);
	assert_non_null(fp);
	assert_true(mv < fp);
	assert_non_null(strstr(s, "n=/etc/ssh/sbx-next\n"));
	assert_non_null(strstr(s, "printf '%s %s root@%s %s\\n' \"$bits\" \"$fp\" \"$h\" \"$ty\"; done < \"$n/fp\""));
	/* the static configuration for later boots */
	assert_non_null(strstr(s, "'auto eth0' 'iface eth0 inet static' '    address 10.0.0.10/24' '    gateway 10.0.0.1'"));
	free(s);
	/* a hostname with quotes stays one word */
	s = env_adopt_script("a'b", "k", &d);
	assert_true(sh_syntax_ok(s));
	assert_non_null(strstr(s, "h='a'\\''b'\n"));
	free(s);
	free(d.nics->network);
	free(d.nics->net);
	free(d.nics->mac);
	free(d.nics->ip);
	free(d.nics->gateway);
	free(d.nics);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alias_apply, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_alias_none, state_fix_setup, state_fix_teardown),
		cmocka_unit_test(test_adopt_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
