/*
 * Unit tests of the k3s roles' rendering: the first server starts the cluster (cluster-init), the
 * second server and the agent join it at the first server's address on their shared network;
 * config.yaml (0600) carries the token YAML-quoted, node name and address, the servers' API port,
 * certificate names and disabled servicelb; servers carry Traefik's HelmChartConfig (NodePorts from
 * cluster.ingress, 30080/30443 by default); the binary and the images are blobs (local file +
 * digest); the k3s service runs `k3s server|agent --config ...` with k3s's systemd settings; the
 * join token is fetched only when a host carries a k3s role; missing artifacts are an error; the
 * kubeconfig's `server:` is rewritten.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "role_int.h"

#define SHA_BIN "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_IMG "2222222222222222222222222222222222222222222222222222222222222222"

static char *r_server[] = {"k3s-server"}, *r_agent[] = {"k3s-agent"}, *r_pg[] = {"postgres"};
static char *n_both[] = {"back", "front"}, *n_back[] = {"back"};
static struct bp_network nets[] = {{.name = "back", .cidr = "auto"}, {.name = "front", .cidr = "auto"}};
static struct bp_node nodes[] = {
	{.name = "cp", .count = 2, .roles = r_server, .nroles = 1, .networks = n_both, .nnetworks = 2},
	{.name = "web", .count = 1, .roles = r_agent, .nroles = 1, .networks = n_back, .nnetworks = 1},
	{.name = "db", .count = 1, .roles = r_pg, .nroles = 1, .networks = n_back, .nnetworks = 1},
};
static const char *a_cp0[] = {"10.0.2.11", "10.0.1.11", NULL}, *a_cp1[] = {"10.0.2.12", "10.0.1.12", NULL},
	*a_web[] = {"10.0.2.21", NULL}, *a_db[] = {"10.0.2.30", NULL};
static const struct role_host hosts[] = {
	{"sbx-demo-cp-0", "cp", 0, "10.0.2.11", 0, a_cp0, NULL, ""},
	{"sbx-demo-cp-1", "cp", 1, "10.0.2.12", 0, a_cp1, NULL, ""},
	{"sbx-demo-web-0", "web", 0, "10.0.2.21", 0, a_web, NULL, "/srv/web0"},
	{"sbx-demo-db-0", "db", 0, "10.0.2.30", 0, a_db, NULL, ""},
};
static struct bp_blueprint bp = {.name = "demo", .networks = nets, .nnetworks = 2, .nodes = nodes,
	.nnodes = 3, .cluster = {.bundle = "/b", .api_port = 6444, .present = true}};

static char asked[256]; /* the secrets asked for, space-separated */

/* A secret store that remembers what it was asked; the token needs quoting in YAML. */
static int secret_cb(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	(void)ctx;
	(void)err;
	strncat(asked, name, sizeof asked - strlen(asked) - 2);
	strncat(asked, " ", sizeof asked - strlen(asked) - 1);
	*value = xstrdup(sbx_streq(name, ROLE_K3S_TOKEN) ? "s3cr\"t\\" : "pw");
	return 0;
}

static char *cluster;
static struct role_ctx ctx = {.bp = &bp, .env = "demo", .hosts = hosts, .nhosts = 3, .ssh_user = "sandbox",
	.secret = secret_cb, .k3s_bin = {"/b/k3s", SHA_BIN, "k3s"},
	.k3s_images = {"/b/k3s-airgap-images-amd64.tar.zst", SHA_IMG, "k3s-airgap-images-amd64.tar.zst"}};

/* Point the roles at the repository's cluster/ directory. */
static int setup(void **state)
{
	(void)state;
	const char *top = getenv("SBX_TOP");
	cluster = xasprintf("%s/cluster", top ? top : ".");
	ctx.cluster_dir = cluster;
	return 0;
}

/* Free the path. */
static int teardown(void **state)
{
	(void)state;
	free(cluster);
	return 0;
}

typedef int (*render_fn)(const struct role_env *, const struct role_host *, struct role_unit *,
	struct sbx_err *);

/* Render host i with fn into *u (cleared by the caller). */
static void render(render_fn fn, size_t i, struct role_unit *u)
{
	struct role_env env;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	if (fn(&env, &hosts[i], u, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	role_env_clear(&env);
}

/* The binary and the images are blobs restarting k3s; config.yaml 0600; a server's Traefik
 * HelmChartConfig (restarting nothing: k3s applies it); the service definition. */
static void check_files(const struct role_unit *u, const char *root, const char *mode)
{
	bool server = sbx_streq(mode, "server");
	size_t last = server ? 4 : 3;
	char *bin = xasprintf("%s/usr/local/bin/k3s", root),
		*img = xasprintf("%s/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst", root),
		*cfg = xasprintf("%s/etc/rancher/k3s/config.yaml", root), *svc = xasprintf("%s/etc/sbx/svc/k3s.conf", root),
		*cmd = xasprintf("CMD='%s/usr/local/bin/k3s %s --config %s/etc/rancher/k3s/config.yaml'\n", root, mode, root);
	assert_int_equal(u->nfiles, last + 1);
	assert_string_equal(u->files[0].path, bin);
	assert_string_equal(u->files[0].src, "/b/k3s");
	assert_string_equal(u->files[0].sha256, SHA_BIN);
	assert_null(u->files[0].data);
	assert_int_equal(u->files[0].mode, 0755);
	assert_string_equal(u->files[1].path, img);
	assert_string_equal(u->files[1].sha256, SHA_IMG);
	assert_int_equal(u->files[1].mode, 0644);
	assert_string_equal(u->files[2].path, cfg);
	assert_int_equal(u->files[2].mode, 0600);
	assert_string_equal(u->files[last].path, svc);
	assert_non_null(strstr(u->files[last].data, cmd));
	assert_non_null(strstr(u->files[last].data, "SYSTEMD='KillMode=process\nDelegate=yes\n"));
	for (size_t i = 0; i <= last; i++) {
		if (server && i == 3) {
			char *tcfg = xasprintf("%s/var/lib/rancher/k3s/server/manifests/sandbox-traefik-config.yaml", root);
			assert_string_equal(u->files[i].path, tcfg);
			assert_null(u->files[i].service);
			free(tcfg);
			continue;
		}
		assert_string_equal(u->files[i].service, "k3s");
		assert_true(u->files[i].restart);
	}
	assert_int_equal(u->nservices, 1);
	assert_string_equal(u->services[0], "k3s");
	free(bin), free(img), free(cfg), free(svc), free(cmd);
}

/* Render host i as a server or an agent (under root) and check its files; *u cleared by the caller. */
static const char *render_checked(size_t i, bool server, const char *root, struct role_unit *u)
{
	render(server ? role_k3s_server_render : role_k3s_agent_render, i, u);
	assert_string_equal(u->role, server ? "k3s-server" : "k3s-agent");
	check_files(u, root, server ? "server" : "agent");
	return u->files[2].data;
}

/* The first server starts the cluster with embedded etcd. */
static void test_server_first(void **state)
{
	(void)state;
	struct role_unit u = {0};
	assert_string_equal(render_checked(0, true, "", &u),
		"# k3s server configuration (generated by sandbox; the token is the environment's secret k3s-token)\n"
		"token: \"s3cr\\\"t\\\\\"\n"
		"node-name: \"sbx-demo-cp-0\"\n"
		"node-ip: \"10.0.2.11\"\n"
		"https-listen-port: 6444\n"
		"write-kubeconfig-mode: \"0600\"\n"
		"tls-san:\n  - \"10.0.2.11\"\n  - \"10.0.1.11\"\n"
		"# the lb role provides the VIPs; Traefik (the ingress controller) stays\n"
		"disable:\n  - \"servicelb\"\n"
		"cluster-init: true\n");
	assert_string_equal(u.health, "out=$(/usr/local/bin/k3s kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml "
		"--request-timeout=5s get --raw=/readyz) && [ \"$out\" = ok ]");
	assert_int_equal(u.health_ms, 600000);
	role_unit_clear(&u);
}

/* Every server carries the HelmChartConfig that puts Traefik on cluster.ingress's NodePorts. */
static void test_server_traefik(void **state)
{
	(void)state;
	struct role_unit u = {0};
	bp.cluster.ingress_http = 31080;
	bp.cluster.ingress_https = 31443;
	render_checked(1, true, "", &u);
	bp.cluster.ingress_http = bp.cluster.ingress_https = 0;
	const char *t = u.files[3].data;
	assert_non_null(strstr(t, "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n"
		"  namespace: kube-system\nspec:\n  valuesContent: |-\n    service:\n      type: NodePort\n"
		"    ports:\n      web:\n        nodePort: 31080\n      websecure:\n        nodePort: 31443\n"));
	assert_int_equal(u.files[3].mode, 0600);
	role_unit_clear(&u);
	char *def = role_k3s_traefik_config(&bp.cluster);
	assert_non_null(strstr(def, "nodePort: 30080\n"));
	assert_non_null(strstr(def, "nodePort: 30443\n"));
	free(def);
}

/* The second server joins the first. */
static void test_server_join(void **state)
{
	(void)state;
	struct role_unit u = {0};
	const char *cfg = render_checked(1, true, "", &u);
	assert_non_null(strstr(cfg, "node-name: \"sbx-demo-cp-1\"\nnode-ip: \"10.0.2.12\"\n"));
	assert_non_null(strstr(cfg, "tls-san:\n  - \"10.0.2.12\"\n  - \"10.0.1.12\"\n"));
	assert_true(sbx_has_prefix(strstr(cfg, "disable:"), "disable:\n  - \"servicelb\"\n"
		"server: \"https://10.0.2.11:6444\"\n"));
	assert_null(strstr(cfg, "cluster-init"));
	role_unit_clear(&u);
}

/* An agent (under a root prefix) joins the first server; its health is its k3s running. */
static void test_agent(void **state)
{
	(void)state;
	struct role_unit u = {0};
	assert_string_equal(render_checked(2, false, "/srv/web0", &u),
		"# k3s agent configuration (generated by sandbox; the token is the environment's secret k3s-token)\n"
		"token: \"s3cr\\\"t\\\\\"\n"
		"node-name: \"sbx-demo-web-0\"\n"
		"node-ip: \"10.0.2.21\"\n"
		"server: \"https://10.0.2.11:6444\"\n");
	assert_string_equal(u.health, "/srv/web0/usr/local/lib/sbx/sbx-svc '/srv/web0' running k3s");
	assert_int_equal(u.health_ms, 0);
	role_unit_clear(&u);
}

/* The token is asked for when a host carries a k3s role, and only then. */
static void test_token_asked(void **state)
{
	(void)state;
	struct role_env env;
	struct sbx_err err = SBX_ERR_INIT;
	asked[0] = '\0';
	assert_int_equal(role_env_init(&ctx, &env, &err), 0);
	assert_string_equal(asked, "k3s-token ");
	role_env_clear(&env);
	struct role_ctx plain = ctx;
	plain.hosts = &hosts[3];
	plain.nhosts = 1;
	asked[0] = '\0';
	assert_int_equal(role_env_init(&plain, &env, &err), 0);
	assert_string_equal(asked, "");
	role_env_clear(&env);
}

/* Without resolved artifacts the roles refuse to render (and say why). */
static void test_no_artifacts(void **state)
{
	(void)state;
	struct role_ctx c = ctx;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	c.k3s_images = (struct role_artifact){0};
	assert_int_equal(role_env_init(&c, &env, &err), 0);
	assert_int_equal(role_k3s_agent_render(&env, &hosts[2], &u, &err), -1);
	assert_string_equal(sbx_err_first(&err), "role k3s-agent on web: the cluster's artifacts (the k3s binary, "
		"the airgap images) were not resolved");
	role_unit_clear(&u);
	role_env_clear(&env);
	sbx_err_clear(&err);
}

/* A dry run has the digests but maybe no local file: the blob is still compared. */
static void test_dry_run_blob(void **state)
{
	(void)state;
	struct role_ctx c = ctx;
	struct role_env env;
	struct role_unit u = {0};
	struct sbx_err err = SBX_ERR_INIT;
	c.k3s_bin.path = NULL;
	assert_int_equal(role_env_init(&c, &env, &err), 0);
	assert_int_equal(role_k3s_server_render(&env, &hosts[0], &u, &err), 0);
	assert_null(u.files[0].src);
	assert_string_equal(u.files[0].sha256, SHA_BIN);
	role_unit_clear(&u);
	role_env_clear(&env);
}

/* Every `server:` of k3s.yaml points at the given address and port; the rest is kept. */
static void test_kubeconfig_rewrite(void **state)
{
	(void)state;
	const char *in = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n"
		"    server: https://127.0.0.1:6444\n  name: default\nusers:\n- name: default\n  user:\n"
		"    client-key-data: S0VZ\n";
	char *out = role_k3s_kubeconfig_rewrite(in, "10.0.2.11", 6444);
	assert_string_equal(out, "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n"
		"    server: https://10.0.2.11:6444\n  name: default\nusers:\n- name: default\n  user:\n"
		"    client-key-data: S0VZ\n");
	free(out);
	out = role_k3s_kubeconfig_rewrite("server: https://[::1]:6443", "192.0.2.1", 443);
	assert_string_equal(out, "server: https://192.0.2.1:443");
	free(out);
	out = role_k3s_kubeconfig_rewrite("", "192.0.2.1", 443);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_first),
		cmocka_unit_test(test_server_traefik),
		cmocka_unit_test(test_server_join),
		cmocka_unit_test(test_agent),
		cmocka_unit_test(test_token_asked),
		cmocka_unit_test(test_no_artifacts),
		cmocka_unit_test(test_dry_run_blob),
		cmocka_unit_test(test_kubeconfig_rewrite),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
