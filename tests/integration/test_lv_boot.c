/*
 * One real VM through the libvirt provider on qemu:///system: the recipe image (resolved through
 * image_resolve, so from the cache), a NAT network with a static lease, an overlay volume, a
 * cloud-init seed carrying a generated key, a domain of the probed type; wait until SSH answers,
 * check the domain type and the overlay, delete everything and check libvirt holds nothing of the
 * run. Prints figures (overlay creation, define+start, SSH-ready).
 *
 * A VM test: it runs only when SBX_LV_BOOT=1 (tests/e2e/lv_boot.sh sets it after building or
 * reusing the image); otherwise it exits 77.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>

#include "cloudinit.h"
#include "env_config.h"
#include "image.h"
#include "lv.h"

#define URI "qemu:///system"
#define POOL "sandbox"
#define POOL_PATH "/var/lib/sandbox/pool"
#define SSH_DEADLINE_MS (6 * 60 * 1000)

static struct lv *lv;
static char env[32], keydir[] = "/tmp/sbx-lvboot.XXXXXX";
static char *net, *bridge, *dom, *vol, *seed, *ip, *gw, *cidr, *mac, *pub, *xml, *want_type;
static struct image_files img;

/* Delete everything of the run; errors are printed, not fatal (teardown). */
static void cleanup(void)
{
	struct sbx_err err = SBX_ERR_INIT;
	if (lv && (lv_dom_delete(lv, dom, &err) < 0 || lv_vol_delete(lv, POOL, vol, &err) < 0 ||
		lv_vol_delete(lv, POOL, seed, &err) < 0 || lv_net_delete(lv, net, &err) < 0))
		fprintf(stderr, "cleanup: %s\n", sbx_err_first(&err));
	sbx_err_clear(&err);
}

/* Names of the run. */
static int setup(void **state)
{
	unsigned char r[4];
	(void)state;
	if (!sbx_streq(getenv("SBX_LV_BOOT"), "1")) {
		fprintf(stderr, "VM boot test: run through tests/e2e/lv_boot.sh (SBX_LV_BOOT=1)\n");
		exit(77);
	}
	sbx_random(r, sizeof r);
	snprintf(env, sizeof env, "lvb%02x%02x%02x", r[0], r[1], r[2]);
	net = xasprintf("sbx-%s.net", env);
	bridge = xasprintf("sbx%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	dom = xasprintf("sbx-%s.vm-0", env);
	vol = xasprintf("sbx-%s.vm-0.qcow2", env);
	seed = xasprintf("sbx-%s.vm-0-seed.iso", env);
	mac = xasprintf("52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]);
	int third = 200 + r[3] % 50, fourth = r[2];
	cidr = xasprintf("10.%d.%d.0/24", third, fourth);
	ip = xasprintf("10.%d.%d.10", third, fourth);
	gw = xasprintf("10.%d.%d.1", third, fourth);
	assert_non_null(mkdtemp(keydir));
	struct sbx_err err = SBX_ERR_INIT;
	if (lv_open(URI, &lv, &err) < 0) {
		fprintf(stderr, "%s\n", sbx_err_first(&err));
		exit(77);
	}
	return 0;
}

/* Remove the run's objects and files. */
static int teardown(void **state)
{
	(void)state;
	cleanup();
	lv_close(lv);
	sbx_rm_rf(keydir);
	free(net);
	free(bridge);
	free(dom);
	free(vol);
	free(seed);
	free(mac);
	free(cidr);
	free(ip);
	free(gw);
	free(pub);
	free(xml);
	free(want_type);
	image_files_clear(&img);
	return 0;
}

/* Generate an ed25519 key pair; returns the public key line (caller frees). */
static char *make_key(void)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *priv = xasprintf("%s/key", keydir), *pub = xasprintf("%s/key.pub", keydir), *text = NULL;
	size_t len = 0;
	char *argv[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lv-boot", "-f", priv, NULL};
	if (sbx_run(argv, 30000, NULL, &err) < 0 || sbx_read_file(pub, &text, &len, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	text[strcspn(text, "\n")] = '\0';
	free(priv);
	free(pub);
	return text;
}

/* Poll `ssh sandbox@ip true` with backoff until it succeeds or the deadline passes. */
static int wait_ssh(void)
{
	struct sbx_backoff b;
	char *key = xasprintf("%s/key", keydir), *dest = xasprintf("sandbox@%s", ip);
	char *argv[] = {"ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", dest, "true", NULL};
	int rc = -1;
	sbx_backoff_init(&b, SSH_DEADLINE_MS, 1000, 4000);
	do {
		struct sbx_err err = SBX_ERR_INIT;
		rc = sbx_run(argv, 20000, NULL, &err);
		sbx_err_clear(&err);
	} while (rc != 0 && sbx_backoff_wait(&b) == 0);
	free(key);
	free(dest);
	return rc;
}

/* Count lines of `virsh ARGS` output that mention the run's env. */
static int virsh_mentions(const char *a1, const char *a2, const char *a3)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *out = NULL;
	char *argv[] = {"virsh", "-c", URI, (char *)a1, (char *)a2, (char *)a3, NULL};
	if (sbx_run(argv, 30000, &out, &err) < 0)
		fail_msg("virsh %s: %s", a1, sbx_err_first(&err));
	int n = 0;
	for (const char *p = out; (p = strstr(p, env)) != NULL; p++)
		n++;
	free(out);
	return n;
}

/* How many listed objects carry the run's owner tag. */
static size_t owned_by_run(void)
{
	const struct lv_owner owner = {"lvboot", "id", env, false};
	struct sbx_err err = SBX_ERR_INIT;
	struct lv_obj *o = NULL;
	size_t n = 0, k = 0;
	assert_int_equal(lv_list_all(lv, NULL, &o, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		k += lv_owner_is(&o[i].owner, &owner);
	lv_obj_list_free(o, n);
	return k;
}

/* The network, overlay, seed and domain of the run; returns ms timings. */
static void create_all(const struct image_files *img, const char *pubkey, int64_t *vol_ms, int64_t *dom_ms)
{
	char *disk = NULL, *seedpath = NULL, *addr = xasprintf("%s/24", ip);
	const struct lv_host host = {mac, ip, "vm-0"};
	const struct lv_owner owner = {"lvboot", "id", env, false};
	const struct lv_net_spec ns = {net, bridge, cidr, true, &host, 1, owner, false, false};
	struct sbx_err err = SBX_ERR_INIT;
	if (lv_pool_ensure(lv, POOL, POOL_PATH, &err) < 0 || lv_net_ensure(lv, &ns, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	const struct lv_vol_spec vs = {POOL, vol, img->disk, img->format, 0, owner, false};
	int64_t t0 = sbx_mono_ms();
	if (lv_vol_ensure(lv, &vs, &disk, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	*vol_ms = sbx_mono_ms() - t0;

	const char *keys[] = {pubkey}, *dns[] = {gw};
	const struct cloudinit_nic nic = {mac, addr, gw};
	const struct cloudinit_spec cs = {env, "vm-0", NULL, keys, 1, &nic, 1, dns, 1};
	char *md = cloudinit_meta_data(&cs), *ud = cloudinit_user_data(&cs), *nc = cloudinit_network_config(&cs);
	const struct lv_seed_spec ss = {POOL, seed, md, ud, nc, owner, false};
	if (lv_seed_ensure(lv, &ss, &seedpath, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));

	const struct lv_nic nics[] = {{net, mac}};
	const struct lv_dom_spec ds = {dom, owner, false, "vm", 0, lv_domain_type(lv, "auto"), 1, 1ULL << 30,
		disk, seedpath, img->kernel, img->initrd, img->cmdline, nics, 1, NULL};
	t0 = sbx_mono_ms();
	if (lv_dom_ensure(lv, &ds, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	*dom_ms = sbx_mono_ms() - t0;
	free(md);
	free(ud);
	free(nc);
	free(disk);
	free(seedpath);
	free(addr);
}

/* Boot one VM, reach it over SSH, delete it, leave nothing behind. */
static void test_boot(void **state)
{
	(void)state;
	struct bp_image want = {.recipe = "debian-12"};
	struct sbx_err err = SBX_ERR_INIT;
	struct env_config cfg;
	if (env_config_load(&cfg, NULL, &err) < 0)
		fail_msg("config: %s", sbx_err_first(&err));
	struct image_dirs dirs = {cfg.image_cache, cfg.recipes_dir};
	if (image_resolve(&want, ".", &dirs, NULL, NULL, &img, &err) < 0)
		fail_msg("image: %s", sbx_err_first(&err));
	env_config_clear(&cfg);
	pub = make_key();
	int64_t vol_ms, dom_ms, t0 = sbx_mono_ms();
	create_all(&img, pub, &vol_ms, &dom_ms);
	int ssh = wait_ssh();
	int64_t ready_ms = sbx_mono_ms() - t0;
	fprintf(stderr, "figures: overlay volume %lld ms, define+start %lld ms, SSH-ready %.1f s (type %s)\n",
		(long long)vol_ms, (long long)dom_ms, ready_ms / 1000.0, lv_domain_type(lv, "auto"));
	assert_int_equal(ssh, 0);

	virConnectPtr c = virConnectOpen(URI);
	virDomainPtr d = virDomainLookupByName(c, dom);
	xml = virDomainGetXMLDesc(d, 0);
	want_type = xasprintf("<domain type='%s'", lv_domain_type(lv, "auto"));
	assert_non_null(strstr(xml, want_type));
	assert_non_null(strstr(xml, "<backingStore type='file'")); /* the overlay's chain */
	assert_non_null(strstr(xml, img.disk));
	/* A second ensure of the same spec neither redefines nor restarts the running domain. */
	unsigned int id = virDomainGetID(d);
	create_all(&img, pub, &vol_ms, &dom_ms);
	virDomainPtr again = virDomainLookupByName(c, dom);
	assert_int_equal(virDomainGetID(again), id);
	virDomainFree(again);
	virDomainFree(d);
	virConnectClose(c);

	/* gc sees exactly the run's domain, network, overlay and seed, each tagged with its owner. */
	assert_int_equal(owned_by_run(), 4);

	cleanup();
	assert_int_equal(virsh_mentions("list", "--all", "--name"), 0);
	assert_int_equal(virsh_mentions("net-list", "--all", "--name"), 0);
	assert_int_equal(virsh_mentions("vol-list", POOL, NULL), 0);
	assert_int_equal(owned_by_run(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
