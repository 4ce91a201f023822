/*
 * The k3s install path up to the real binary: two k3s-server nodes and one k3s-agent node as
 * network namespaces with their own sshd (tests/lib/netns_fix), the roles applied through
 * role_apply_all over SSH exactly as on VMs, from a release bundle whose `k3s` is a FAKE (a shell
 * script: it records how it was started and the config it read, stays up like a server, writes
 * k3s.yaml and answers `k3s kubectl get --raw=/readyz`) and whose airgap images are 8 MiB of
 * random bytes behind zstd's magic. Checked: a digest that does not match stops before any node
 * is touched (artifact_resolve), and an upload that does not match its digest is refused on the
 * node; the artifacts arrive with their digests and modes; config.yaml is 0600 and has the same
 * token on every node (the secret store's), cluster-init on the first server only, the others
 * and the agent join it; the token is in no command line, environment, service definition, log
 * or progress event; a second apply uploads nothing and restarts nothing (and the dry run agrees);
 * the airgap images overwritten in place on one node are found by the quick check and re-uploaded;
 * a config change restarts k3s everywhere; role_k3s_kubeconfig points at the first server; a
 * streamed file that shrinks fails the upload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "netns_fix.h"
#include "role.h"
#include "ssh.h"

#define NHOSTS 3
#define IMAGES_SIZE (8 << 20)
#define IMAGES_NAME "k3s-airgap-images-amd64.tar.zst"

static const char *const node_ids[NHOSTS] = {"srv-0", "srv-1", "agent-0"};

/* The fake k3s: `server|agent --config FILE` records and stays up; `kubectl ... --kubeconfig
 * FILE ... get --raw=/readyz` answers ok while the server runs. */
static const char fake_k3s[] =
	"#!/bin/sh\n"
	"# fake k3s (tests/integration/test_k3s_install.c)\n"
	"set -u\n"
	"mode=${1:-}\n"
	"[ $# -gt 0 ] && shift\n"
	"case $mode in\n"
	"server|agent)\n"
	"	cfg=/etc/rancher/k3s/config.yaml\n"
	"	while [ $# -gt 0 ]; do case $1 in --config) cfg=$2; shift 2 ;; *) shift ;; esac; done\n"
	"	root=${cfg%/etc/rancher/k3s/config.yaml}\n"
	"	st=$root/fake-k3s\n"
	"	mkdir -p \"$st\"\n"
	"	echo $$ >\"$st/pid\"\n"
	"	echo \"$mode\" >>\"$st/starts\"\n"
	"	cp \"$cfg\" \"$st/config-read\"\n"
	"	ls \"$root/var/lib/rancher/k3s/agent/images\" >\"$st/images-seen\"\n"
	"	if [ \"$mode\" = server ]; then\n"
	"		port=$(sed -n 's/^https-listen-port: //p' \"$cfg\")\n"
	"		(umask 077; printf 'apiVersion: v1\\nclusters:\\n- cluster:\\n    certificate-authority-data: RkFLRQ==\\n"
	"    server: https://127.0.0.1:%s\\n  name: default\\nusers:\\n- name: default\\n  user:\\n"
	"    client-key-data: S0VZ\\n' \"$port\" >\"$root/etc/rancher/k3s/k3s.yaml\")\n"
	"	fi\n"
	"	trap 'rm -f \"$st/pid\"; exit 0' TERM INT\n"
	"	while :; do sleep 1 & wait $!; done ;;\n"
	"kubectl)\n"
	"	kc=\n"
	"	while [ $# -gt 0 ]; do case $1 in --kubeconfig) kc=$2; shift 2 ;; *) shift ;; esac; done\n"
	"	root=${kc%/etc/rancher/k3s/k3s.yaml}\n"
	"	p=$(cat \"$root/fake-k3s/pid\" 2>/dev/null) || p=0\n"
	"	if [ \"$p\" -gt 0 ] && kill -0 \"$p\" 2>/dev/null && [ -f \"$kc\" ]; then echo ok; exit 0; fi\n"
	"	echo 'fake k3s: the server is not running' >&2; exit 1 ;;\n"
	"*) echo \"fake k3s: unknown command $mode\" >&2; exit 2 ;;\n"
	"esac\n";

struct fix {
	struct netns_fix *net;
	char *bundle, *cluster;
	struct artifact_set art;
	const char *addrs[NHOSTS][2];
	struct role_host hosts[NHOSTS];
	struct role_ctx ctx;
	struct bp_blueprint bp;
	char *token;               /* the secret store's k3s-token */
	int secret_calls;
	pthread_mutex_t mu;
	struct sbx_buf events;     /* every progress event */
};
static struct fix F;

static char *r_server[] = {"k3s-server"}, *r_agent[] = {"k3s-agent"}, *nets[] = {"lan"};
static struct bp_network bp_nets[] = {{.name = "lan", .cidr = "auto"}};
static struct bp_node bp_nodes[] = {
	{.name = "srv", .count = 2, .roles = r_server, .nroles = 1, .networks = nets, .nnetworks = 1},
	{.name = "agent", .count = 1, .roles = r_agent, .nroles = 1, .networks = nets, .nnetworks = 1},
};

/* Get-or-create the token (the test's stand-in for the state's secret store). */
static int secret_cb(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	(void)ctx;
	(void)err;
	assert_string_equal(name, "k3s-token");
	if (F.token == NULL)
		F.token = sbx_random_token(32);
	F.secret_calls++;
	*value = xstrdup(F.token);
	return 0;
}

/* Keep every progress event (called from the hosts' threads); SBX_K3S_TRACE=1 prints them. */
static void progress_cb(void *ctx, const char *host, const char *role, const char *step)
{
	(void)ctx;
	pthread_mutex_lock(&F.mu);
	sbx_buf_printf(&F.events, "%s %s %s\n", host, role, step);
	if (getenv("SBX_K3S_TRACE"))
		fprintf(stderr, "%8lld %s %s %s\n", (long long)sbx_mono_ms(), host, role, step);
	pthread_mutex_unlock(&F.mu);
}

/* A file of the test's directory: DIR/rel; caller frees. */
static char *in_dir(const char *rel)
{
	return xasprintf("%s/%s", F.net->dir, rel);
}

/* A file below host i's root; caller frees. */
static char *on_node(int i, const char *rel)
{
	return xasprintf("%s%s", F.net->nodes[i].root, rel);
}

/* Write the fake release bundle: k3s, the images, sha256sum-amd64.txt (images' digest `images_sha`
 * when given, else the true one). */
static char *bundle_write(const char *name, const char *images_sha)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *dir = in_dir(name), *p, ksha[65], isha[65];
	unsigned char *img = xmalloc(IMAGES_SIZE);
	sbx_random(img, IMAGES_SIZE);
	memcpy(img, "\x28\xb5\x2f\xfd", 4);
	assert_int_equal(sbx_mkdir_p(dir, 0755, &err), 0);
	assert_int_equal(sbx_write_file(p = xasprintf("%s/k3s", dir), fake_k3s, strlen(fake_k3s), 0755, &err), 0);
	free(p);
	assert_int_equal(sbx_write_file(p = xasprintf("%s/" IMAGES_NAME, dir), img, IMAGES_SIZE, 0644, &err), 0);
	free(p);
	sbx_sha256_hex(fake_k3s, strlen(fake_k3s), ksha);
	sbx_sha256_hex(img, IMAGES_SIZE, isha);
	char *sums = xasprintf("%s  k3s\n%s  k3s-images.txt\n%s  " IMAGES_NAME "\n", ksha, ksha,
		images_sha ? images_sha : isha);
	assert_int_equal(sbx_write_file(p = xasprintf("%s/sha256sum-amd64.txt", dir), sums, strlen(sums), 0644,
		&err), 0);
	free(p), free(sums), free(img);
	return dir;
}

/* Hosts, blueprint, context. */
static void ctx_init(void)
{
	for (int i = 0; i < NHOSTS; i++) {
		struct netns_node *nd = &F.net->nodes[i];
		F.addrs[i][0] = nd->addr;
		F.hosts[i] = (struct role_host){.name = nd->name, .node = i < 2 ? "srv" : "agent", .index = i < 2 ? i : 0,
			.ssh_addr = nd->addr, .addrs = F.addrs[i], .pinned_hostkey = nd->hostkey, .root = nd->root};
	}
	F.bp = (struct bp_blueprint){.name = "t", .networks = bp_nets, .nnetworks = 1, .nodes = bp_nodes,
		.nnodes = 2, .cluster = {.bundle = F.bundle, .api_port = 6443, .present = true}};
	F.ctx = (struct role_ctx){.bp = &F.bp, .env = "t", .hosts = F.hosts, .nhosts = NHOSTS, .ssh_user = "root",
		.ssh_priv_pem = F.net->priv, .cluster_dir = F.cluster, .health_timeout_ms = 30000,
		.secret = secret_cb, .progress = progress_cb,
		.k3s_bin = {F.art.k3s.path, F.art.k3s.sha256, F.art.k3s.name},
		.k3s_images = {F.art.images.path, F.art.images.sha256, F.art.images.name}};
}

/* Namespaces, the bundle (resolved as `up` does), the model. */
static int setup(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	const char *top = getenv("SBX_TOP");
	F.net = netns_fix_up("k3s-it", node_ids, NHOSTS);
	F.cluster = xasprintf("%s/cluster", top ? top : ".");
	pthread_mutex_init(&F.mu, NULL);
	F.bundle = bundle_write("bundle", NULL);
	struct bp_cluster cl = {.bundle = F.bundle};
	if (artifact_resolve(&cl, F.net->dir, ARTIFACT_VERIFY, NULL, NULL, &F.art, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	ctx_init();
	return 0;
}

/* Tear everything down. */
static int teardown(void **state)
{
	(void)state;
	int rc = netns_fix_down(F.net);
	artifact_set_clear(&F.art);
	sbx_buf_free(&F.events);
	pthread_mutex_destroy(&F.mu);
	free(F.bundle), free(F.cluster), free(F.token);
	return rc;
}

/* Apply, printing the error on failure. */
static int apply(struct role_report *rep, struct sbx_err *err)
{
	int rc = role_apply_all(&F.ctx, rep, err);
	if (rc < 0)
		sbx_err_print(err, stderr);
	return rc;
}

/* A file's content (NULL when absent); caller frees. */
static char *slurp(const char *path)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *data = NULL;
	size_t len;
	if (sbx_read_file(path, &data, &len, &err) < 0)
		sbx_err_clear(&err);
	return data;
}

/* Whether host i's root holds anything but what the harness put there. */
static bool node_touched(int i)
{
	char *usr = on_node(i, "/usr"), *etc = on_node(i, "/etc");
	bool t = access(usr, F_OK) == 0 || access(etc, F_OK) == 0;
	free(usr);
	free(etc);
	return t;
}

/* A bundle whose sums do not match its images stops at resolution, naming the file and both
 * digests: the nodes are never contacted. */
static void test_bad_checksum_before_nodes(void **state)
{
	(void)state;
	const char *wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *dir = bundle_write("bad-bundle", wrong);
	struct bp_cluster cl = {.bundle = dir};
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(artifact_resolve(&cl, F.net->dir, ARTIFACT_VERIFY, NULL, NULL, &a, &err), -1);
	char *want = xasprintf("cluster.bundle %s: " IMAGES_NAME ": sha256 mismatch: expected %s, got ", dir, wrong);
	assert_true(sbx_has_prefix(sbx_err_first(&err), want));
	for (int i = 0; i < NHOSTS; i++)
		assert_false(node_touched(i));
	assert_int_equal(F.secret_calls, 0);
	sbx_err_clear(&err);
	free(want);
	free(dir);
}

/* An upload that does not have the digest the roles were given is refused on the node: nothing
 * is installed, no staged file stays. */
static void test_node_refuses_wrong_digest(void **state)
{
	(void)state;
	struct role_report rep;
	struct sbx_err err = SBX_ERR_INIT;
	const char *good = F.ctx.k3s_bin.sha256;
	F.ctx.k3s_bin.sha256 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
	int rc = role_apply_all(&F.ctx, &rep, &err);
	F.ctx.k3s_bin.sha256 = good;
	assert_int_equal(rc, -1);
	fprintf(stderr, "expected failure: %s\n", sbx_err_first(&err));
	assert_non_null(strstr(sbx_err_first(&err), "step validate"));
	assert_non_null(strstr(sbx_err_first(&err), "/usr/local/bin/k3s: the upload does not have sha256 fedcba98"));
	for (int i = 0; i < NHOSTS; i++) {
		char *bin = on_node(i, "/usr/local/bin/k3s"), *staged = on_node(i, "/usr/local/bin/k3s.sbx-new");
		assert_int_not_equal(access(bin, F_OK), 0);
		assert_int_not_equal(access(staged, F_OK), 0);
		free(bin);
		free(staged);
	}
	sbx_err_clear(&err);
}

/* A file's sha256 and mode bits. */
static void file_check(const char *path, const char *sha, unsigned mode)
{
	char have[65];
	struct stat st;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(sbx_sha256_file(path, have, &err), 0);
	assert_string_equal(have, sha);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* The first apply installs everything, starts k3s everywhere and ends healthy; the artifacts
 * have their digests and modes. */
static void test_apply_first(void **state)
{
	(void)state;
	struct role_report rep;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(apply(&rep, &err), 0);
	printf("first apply: %lld ms, %d files, %d starts\n", (long long)rep.total_ms, rep.files_changed, rep.starts);
	/* binary, images, config, service (sbx-svc failed earlier); the 2 servers also Traefik's HelmChartConfig */
	assert_int_equal(rep.files_changed, NHOSTS * 4 + 2);
	assert_int_equal(rep.starts, NHOSTS);
	assert_int_equal(rep.reloads, 0);
	for (int i = 0; i < NHOSTS; i++) {
		char *bin = on_node(i, "/usr/local/bin/k3s"), *img = on_node(i, "/var/lib/rancher/k3s/agent/images/"
			IMAGES_NAME), *cfg = on_node(i, "/etc/rancher/k3s/config.yaml"), *seen = on_node(i, "/fake-k3s/images-seen");
		file_check(bin, F.art.k3s.sha256, 0755);
		char *tcfg = on_node(i, "/var/lib/rancher/k3s/server/manifests/sandbox-traefik-config.yaml");
		struct stat tst;
		assert_int_equal(stat(tcfg, &tst) == 0, i < 2); /* servers only */
		free(tcfg);
		file_check(img, F.art.images.sha256, 0644);
		struct stat st;
		assert_int_equal(stat(cfg, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		char *s = slurp(seen);
		assert_string_equal(s, IMAGES_NAME "\n"); /* in place when k3s started */
		free(s), free(bin), free(img), free(cfg), free(seen);
	}
}

/* config.yaml: the same token on every node (the secret store's), cluster-init on the first
 * server, the others join it; what the fake read is what was written. */
static void test_config_per_node(void **state)
{
	(void)state;
	char *token_line = xasprintf("token: \"%s\"\n", F.token), *join = xasprintf("server: \"https://%s:6443\"\n",
		F.net->nodes[0].addr);
	for (int i = 0; i < NHOSTS; i++) {
		char *p = on_node(i, "/etc/rancher/k3s/config.yaml"), *read = on_node(i, "/fake-k3s/config-read");
		char *cfg = slurp(p), *got = slurp(read), *ip = xasprintf("node-ip: \"%s\"\n", F.net->nodes[i].addr);
		assert_non_null(cfg);
		assert_string_equal(cfg, got);
		assert_non_null(strstr(cfg, token_line));
		assert_non_null(strstr(cfg, ip));
		assert_int_equal(strstr(cfg, "cluster-init: true\n") != NULL, i == 0);
		assert_int_equal(strstr(cfg, join) != NULL, i != 0);
		assert_int_equal(strstr(cfg, "https-listen-port: 6443\n") != NULL, i < 2);
		free(p), free(read), free(cfg), free(got), free(ip);
	}
	free(token_line);
	free(join);
}

/* host i's k3s process (its pid file); caller frees. */
static char *k3s_pid(int i)
{
	char *p = on_node(i, "/fake-k3s/pid"), *pid = slurp(p);
	assert_non_null(pid);
	pid[strcspn(pid, "\n")] = '\0';
	free(p);
	return pid;
}

/* /proc/PID/FILE with its NULs as spaces; caller frees. */
static char *proc_text(const char *pid, const char *file)
{
	char *p = xasprintf("/proc/%s/%s", pid, file), *data = NULL;
	size_t len = 0;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(sbx_read_file(p, &data, &len, &err), 0);
	for (size_t i = 0; i < len; i++)
		data[i] = data[i] ? data[i] : ' ';
	free(p);
	return data;
}

/* The token reaches k3s through config.yaml only: not its command line, not its environment, not
 * the service definition or log, not a progress event. */
static void test_token_not_exposed(void **state)
{
	(void)state;
	assert_non_null(F.token);
	for (int i = 0; i < NHOSTS; i++) {
		char *pid = k3s_pid(i), *cmd = proc_text(pid, "cmdline"), *envs = proc_text(pid, "environ");
		char *conf = on_node(i, "/etc/sbx/svc/k3s.conf"), *log = on_node(i, "/var/log/sbx/k3s.log");
		char *ctext = slurp(conf), *ltext = slurp(log), *want = xasprintf("/usr/local/bin/k3s %s --config ",
			i < 2 ? "server" : "agent");
		printf("%s: k3s pid %s: %s\n", node_ids[i], pid, cmd);
		assert_non_null(strstr(cmd, want));
		assert_null(strstr(cmd, F.token));
		assert_null(strstr(envs, F.token));
		assert_non_null(ctext);
		assert_null(strstr(ctext, F.token));
		assert_true(ltext == NULL || strstr(ltext, F.token) == NULL);
		free(pid), free(cmd), free(envs), free(conf), free(log), free(ctext), free(ltext), free(want);
	}
	assert_non_null(F.events.data);
	assert_non_null(strstr(F.events.data, "k3s-agent done"));
	assert_null(strstr(F.events.data, F.token));
}

/* The k3s processes' pids, joined; caller frees. */
static char *pids(void)
{
	struct sbx_buf b = {0};
	for (int i = 0; i < NHOSTS; i++) {
		char *p = k3s_pid(i), *starts = on_node(i, "/fake-k3s/starts"), *s = slurp(starts);
		sbx_buf_printf(&b, "%s:%s ", p, s);
		free(p), free(starts), free(s);
	}
	return sbx_buf_steal(&b);
}

/* A second apply uploads nothing and restarts nothing; the dry run finds nothing either. */
static void test_second_apply_noop(void **state)
{
	(void)state;
	struct role_report rep;
	struct sbx_err err = SBX_ERR_INIT;
	struct role_change *c = NULL;
	size_t n = 0;
	char *before = pids();
	assert_int_equal(apply(&rep, &err), 0);
	assert_int_equal(rep.files_changed, 0);
	assert_int_equal(rep.reloads, 0);
	assert_int_equal(rep.starts, 0);
	assert_int_equal(rep.hosts_unchanged, NHOSTS); /* the quick check: no health check, no hashing */
	assert_int_equal(rep.health_checks, 0);
	char *after = pids();
	assert_string_equal(before, after);
	assert_int_equal(role_plan_all(&F.ctx, &c, &n, &err), 0);
	assert_int_equal(n, 0);
	role_changes_free(c, n);
	free(before);
	free(after);
}

/* The airgap images overwritten in place on the agent (same size, same inode): the quick check,
 * which compares a blob's identity (inode, size, times) with what was recorded after its apply
 * instead of hashing it, sends the agent through a full apply, which finds the digest wrong,
 * uploads the images again and restarts k3s there only; then everything is unchanged again. */
static void test_blob_overwritten(void **state)
{
	(void)state;
	struct role_report rep;
	struct sbx_err err = SBX_ERR_INIT;
	char *rel = xasprintf("/var/lib/rancher/k3s/agent/images/%s", F.art.images.name), *img = on_node(2, rel);
	char *sh = xasprintf("printf sandbox-tampered | dd of=%s bs=1 seek=100 conv=notrunc status=none", img);
	char *argv[] = {"sh", "-c", sh, NULL};
	struct sbx_err e = SBX_ERR_INIT;
	assert_int_equal(sbx_run(argv, 10000, NULL, &e), 0);
	assert_int_equal(apply(&rep, &err), 0);
	assert_int_equal(rep.files_changed, 1);
	assert_int_equal(rep.reloads, 1);
	assert_int_equal(rep.hosts_unchanged, NHOSTS - 1);
	assert_int_equal(apply(&rep, &err), 0);
	assert_int_equal(rep.files_changed, 0);
	assert_int_equal(rep.hosts_unchanged, NHOSTS);
	free(sh), free(img), free(rel);
}

/* A new API port changes every config.yaml (the servers' port, everybody's join URL): k3s restarts
 * on every node, nothing else is uploaded; then back. */
static void test_config_change_restarts(void **state)
{
	(void)state;
	struct role_report rep;
	struct sbx_err err = SBX_ERR_INIT;
	for (int round = 0; round < 2; round++) {
		char *before = pids();
		F.bp.cluster.api_port = round ? 6443 : 6444;
		assert_int_equal(apply(&rep, &err), 0);
		assert_int_equal(rep.files_changed, NHOSTS);
		assert_int_equal(rep.reloads, NHOSTS);
		assert_int_equal(rep.starts, 0);
		char *after = pids();
		assert_string_not_equal(before, after);
		free(before);
		free(after);
	}
	char *cfg = on_node(2, "/etc/rancher/k3s/config.yaml"), *text = slurp(cfg), *join = xasprintf(
		"server: \"https://%s:6443\"\n", F.net->nodes[0].addr);
	assert_non_null(strstr(text, join));
	free(cfg), free(text), free(join);
}

/* The kubeconfig comes from the first server, pointed at its address. */
static void test_kubeconfig(void **state)
{
	(void)state;
	char *kc = NULL, *want = xasprintf("    server: https://%s:6443\n", F.net->nodes[0].addr);
	struct sbx_err err = SBX_ERR_INIT;
	if (role_k3s_kubeconfig(&F.ctx, &kc, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	assert_non_null(strstr(kc, want));
	assert_null(strstr(kc, "127.0.0.1"));
	assert_non_null(strstr(kc, "client-key-data: S0VZ\n"));
	free(kc);
	free(want);
}

/* A streamed file that is shorter than announced fails the command, naming the file. */
static void test_stream_short_file(void **state)
{
	(void)state;
	struct ssh_target t = {.host = F.net->nodes[0].addr, .user = "root", .priv_pem = F.net->priv,
		.pinned_key = F.net->nodes[0].hostkey};
	struct ssh_conn *c = NULL;
	struct ssh_result r = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct ssh_input in[] = {{.data = "head", .len = 4}, {.path = F.art.k3s.path, .len = 1 << 20}};
	assert_int_equal(ssh_connect(&t, 10000, &c, NULL, &err), 0);
	assert_int_equal(ssh_exec_stream(c, "cat >/dev/null", in, 2, &r, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), ": shorter than 1048576 bytes"));
	sbx_err_clear(&err);
	in[1].len = 100;
	assert_int_equal(ssh_exec_stream(c, "wc -c", in, 2, &r, &err), 0);
	assert_string_equal(r.out, "104\n");
	ssh_result_clear(&r);
	ssh_close(c);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_checksum_before_nodes),
		cmocka_unit_test(test_node_refuses_wrong_digest),
		cmocka_unit_test(test_apply_first),
		cmocka_unit_test(test_config_per_node),
		cmocka_unit_test(test_token_not_exposed),
		cmocka_unit_test(test_second_apply_noop),
		cmocka_unit_test(test_blob_overwritten),
		cmocka_unit_test(test_config_change_restarts),
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_stream_short_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
