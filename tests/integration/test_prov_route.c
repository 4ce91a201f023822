/*
 * A provider session over two libvirt hosts (prov_cfg.routes): two in-process test drivers, whose
 * worlds are separate (test:///default and a test:///FILE of an empty node), stand for two hosts. An
 * object named by a route is created, observed, listed (with its host) and deleted at the route's
 * host, every other one at the session's (each exactly once: the listing of both hosts has two);
 * the address blocks in use are those of both hosts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prov.h"

static char *other_uri, *node_file;

/* Write the empty node the second test driver starts from. */
static int setup(void **ctx)
{
	(void)ctx;
	char dir[] = "/tmp/sbx-route-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return -1;
	node_file = xasprintf("%s/node.xml", dir);
	FILE *f = fopen(node_file, "w");
	if (f == NULL)
		return -1;
	fputs("<node/>\n", f);
	fclose(f);
	other_uri = xasprintf("test://%s", node_file);
	return 0;
}

/* Remove the node file and its directory. */
static int teardown(void **ctx)
{
	(void)ctx;
	char *dir = sbx_dirname(node_file);
	unlink(node_file);
	rmdir(dir);
	free(dir);
	free(node_file);
	free(other_uri);
	return 0;
}

/* A network resource. */
static struct res net_res(const char *name, const char *net, const char *cidr, const char *bridge)
{
	struct res r = {.type = RES_NETWORK, .name = (char *)name};
	r.u.net = (struct res_network){(char *)net, (char *)cidr, (char *)bridge, false, false};
	return r;
}

/* The host a listing gives name, "" when the session's own, NULL when absent. */
static const char *listed_at(const struct prov_obj *objs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(objs[i].name, name) == 0)
			return objs[i].uri ? objs[i].uri : "";
	return NULL;
}

/* Whether blocks holds cidr. */
static bool has_block(char **blocks, size_t n, const char *cidr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(blocks[i], cidr) == 0)
			return true;
	return false;
}

/* Each object goes to its host, and only there. */
static void test_route(void **ctx)
{
	(void)ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct prov_route routes[] = {{"sbx-rt.b", other_uri}};
	struct prov_cfg cfg = {.state_id = "0123456789abcdef", .env = "rt", .env_id = "feedfacefeedface",
		.uri = "test:///default", .routes = routes, .nroutes = 1};
	struct prov *p = NULL;
	struct prov_obj *objs = NULL;
	struct prov_seen seen;
	char **blocks = NULL;
	size_t n = 0, nb = 0;
	struct res a = net_res("sbx-rt.a", "a", "10.250.8.0/24", "sbxrta"), b = net_res("sbx-rt.b", "b", "10.250.9.0/24",
		"sbxrtb");
	if (prov_open(&cfg, &p, &err) < 0)
		fail_msg("open: %s", sbx_err_first(&err));
	assert_string_equal(prov_uri_of(p, "sbx-rt.b"), other_uri);
	assert_string_equal(prov_uri_of(p, "sbx-rt.a"), "test:///default");
	assert_int_equal(prov_ensure(p, &a, false, false, &err), 0);
	assert_int_equal(prov_ensure(p, &b, false, false, &err), 0);
	assert_int_equal(prov_observe(p, &b, &seen, &err), 0);
	assert_true(seen.exists);
	assert_null(seen.foreign);
	prov_seen_clear(&seen);
	assert_int_equal(prov_list(p, true, &objs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(listed_at(objs, n, "sbx-rt.a"), "");
	assert_string_equal(listed_at(objs, n, "sbx-rt.b"), other_uri);
	assert_int_equal(prov_used_blocks(p, &blocks, &nb, &err), 0);
	assert_true(has_block(blocks, nb, "10.250.8.0/24"));
	assert_true(has_block(blocks, nb, "10.250.9.0/24"));
	for (size_t i = 0; i < nb; i++)
		free(blocks[i]);
	free(blocks);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(prov_obj_delete(p, &objs[i], &err), 0);
	prov_obj_list_free(objs, n);
	assert_int_equal(prov_list(p, true, &objs, &n, &err), 0);
	assert_int_equal(n, 0);
	prov_obj_list_free(objs, n);
	prov_close(p);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
