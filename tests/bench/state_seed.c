/*
 * state_seed — fill a state with N environments for tests/bench/state_scale.sh, through the state
 * API (state_env_create, state_res_put) so every row is one `up` could have written. Each
 * environment records the resolved blueprint given (BP_JSON, from `sandbox validate --json`), one
 * network, and per node (2) a volume, a seed, a domain (specs from res_encode) and a host key.
 * A third are permanent, a third expire in a day, a third expired an hour ago.
 *
 *   state_seed STATE_DB N BP_JSON
 *
 * Exit 1 with the reason on any failure. Built by the benchmark against build/obj.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res.h"
#include "state.h"

#define NODES 2

/* Record one resource row; its spec from res_encode. */
static int put(struct state *st, const char *env, const struct res *r, struct sbx_err *err)
{
	char *spec = res_encode(r);
	struct state_res row = {.env = (char *)env, .type = (char *)res_type_name(r->type), .name = r->name,
		.provider_id = r->name, .spec = spec, .status = STATE_RES_CREATED};
	int rc = state_res_put(st, &row, err);
	free(spec);
	return rc;
}

/* The network row of environment number i. */
static int put_network(struct state *st, const char *env, int i, struct sbx_err *err)
{
	char *name = xasprintf("sbx-%s.lan", env), *cidr = xasprintf("10.%d.%d.0/24", 100 + i / 256, i % 256);
	char *bridge = xasprintf("sbxbr%d", i);
	struct res r = {.type = RES_NETWORK, .name = name,
		.u.net = {.net = "lan", .cidr = cidr, .bridge = bridge, .nat = true}};
	int rc = put(st, env, &r, err);
	free(name);
	free(cidr);
	free(bridge);
	return rc;
}

/* The rows of node instance k of environment number i: volume, seed, domain, host key. */
static int put_node(struct state *st, const char *env, int i, int k, struct sbx_err *err)
{
	char *net = xasprintf("sbx-%s.lan", env), *ip = xasprintf("10.%d.%d.%d", 100 + i / 256, i % 256, 10 + k);
	char *gw = xasprintf("10.%d.%d.1", 100 + i / 256, i % 256), *mac = xasprintf("52:54:00:%02x:%02x:%02x",
		(i >> 8) & 0xff, i & 0xff, k);
	char *vol = xasprintf("sbx-%s-vm-%d.qcow2", env, k), *seed = xasprintf("sbx-%s-vm-%d-seed.iso", env, k);
	char *dom = xasprintf("sbx-%s-vm-%d", env, k), *inst = xasprintf("vm-%d", k);
	struct res_nic nic = {.network = net, .net = "lan", .mac = mac, .ip = ip, .gateway = gw, .prefix = 24,
		.primary = true};
	struct res rv = {.type = RES_VOLUME, .name = vol, .node = inst,
		.u.vol = {.image = {.recipe = "debian-12"}, .capacity = 10ULL << 30, .pool = "default"}};
	struct res rs = {.type = RES_SEED, .name = seed, .node = inst,
		.u.seed = {.hostname = inst, .user = "sandbox", .nics = &nic, .nnics = 1}};
	struct res rd = {.type = RES_DOMAIN, .name = dom, .node = inst,
		.u.dom = {.node = "vm", .index = k, .vcpus = 1, .memory = 1ULL << 30, .disk = vol, .seed = seed,
			.domain_type = "auto", .nics = &nic, .nnics = 1}};
	struct state_res hk = {.env = (char *)env, .type = "hostkey", .name = dom,
		.spec = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBench",
		.status = STATE_RES_CREATED};
	int rc = put(st, env, &rv, err) < 0 || put(st, env, &rs, err) < 0 || put(st, env, &rd, err) < 0 ||
		state_res_put(st, &hk, err) < 0 ? -1 : 0;
	char *strs[] = {net, ip, gw, mac, vol, seed, dom, inst};
	for (size_t j = 0; j < SBX_NELEM(strs); j++)
		free(strs[j]);
	return rc;
}

/* Environment number i and its rows. */
static int seed_env(struct state *st, int i, const char *bp_json, struct sbx_err *err)
{
	char name[32];
	snprintf(name, sizeof(name), "env%05d", i);
	int64_t now = sbx_now();
	int64_t expires = i % 3 == 0 ? 0 : i % 3 == 1 ? now + 86400 : now - 3600;
	struct state_env e = {.name = name, .blueprint = "/home/me/bench/blueprint.yaml", .bp_hash =
		"5f2b4c0e9d8a7b6c5f2b4c0e9d8a7b6c5f2b4c0e9d8a7b6c5f2b4c0e9d8a7b6c", .bp_json = (char *)bp_json,
		.status = STATE_ENV_READY, .owner = "me@bench", .expires = expires, .protected = i % 10 == 0};
	if (state_env_create(st, &e, err) < 0 || put_network(st, name, i, err) < 0)
		return -1;
	for (int k = 0; k < NODES; k++)
		if (put_node(st, name, i, k, err) < 0)
			return -1;
	return 0;
}

/* Read a whole file (caller frees). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	do {
		xgrow(&buf, &cap, len + 4097, 1);
		got = fread(buf + len, 1, 4096, f);
		len += got;
	} while (got > 0);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Seed the state. */
int main(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	if (argc != 4) {
		fprintf(stderr, "usage: state_seed STATE_DB N BP_JSON\n");
		return 2;
	}
	int n = (int)strtol(argv[2], NULL, 10);
	char *bp = slurp(argv[3]);
	int rc = bp && state_open(argv[1], &st, &err) == 0 && state_begin(st, &err) == 0 ? 0 : -1;
	for (int i = 0; rc == 0 && i < n; i++)
		rc = seed_env(st, i, bp, &err);
	if (rc == 0)
		rc = state_commit(st, &err);
	if (rc < 0)
		fprintf(stderr, "state_seed: %s\n", bp ? sbx_err_first(&err) : "cannot read the blueprint JSON");
	state_close(st);
	free(bp);
	return rc == 0 ? 0 : 1;
}
