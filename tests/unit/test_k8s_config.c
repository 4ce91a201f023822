/* Unit tests of kubeconfig loading: every field, relative paths, refusals, context choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s_config.h"
#include "tdir.h"

static char dir[] = "/tmp/sbx-k8scfg.XXXXXX";

/* Make the test directory with a CA, a client certificate and key, a token file. */
static int setup(void **state)
{
	(void)state;
	if (tdir_make(dir) < 0)
		return -1;
	tdir_put(dir, "ca.pem", "CA-PEM");
	tdir_put(dir, "client.pem", "CERT-PEM");
	tdir_put(dir, "client.key", "KEY-PEM");
	tdir_put(dir, "token", "tok-from-file\n");
	return 0;
}

/* Remove it. */
static int teardown(void **state)
{
	(void)state;
	return sbx_rm_rf(dir);
}

/* Two clusters, users of each kind, contexts; base64 of "CA-DATA" etc. */
static const char kubeconfig[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: files\n"
	"clusters:\n"
	"- name: c-files\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority: ca.pem\n"
	"- name: c-data\n"
	"  cluster:\n"
	"    server: https://k8s.example:443\n"
	"    certificate-authority-data: Q0EtREFUQQ==\n"
	"- name: c-insecure\n"
	"  cluster:\n"
	"    server: http://127.0.0.1:8080\n"
	"    insecure-skip-tls-verify: true\n"
	"users:\n"
	"- name: u-files\n"
	"  user:\n"
	"    client-certificate: client.pem\n"
	"    client-key: client.key\n"
	"- name: u-data\n"
	"  user:\n"
	"    client-certificate-data: Q0VSVC1EQVRB\n"
	"    client-key-data: |\n"
	"      S0VZLURB\n"
	"      VEE=\n"
	"- name: u-token\n"
	"  user: {token: abc.def}\n"
	"- name: u-tokenfile\n"
	"  user: {tokenFile: token}\n"
	"- name: u-exec\n"
	"  user:\n"
	"    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}\n"
	"- name: u-authp\n"
	"  user: {auth-provider: {name: gcp}}\n"
	"- name: u-basic\n"
	"  user: {username: admin, password: secret}\n"
	"contexts:\n"
	"- {name: files, context: {cluster: c-files, user: u-files}}\n"
	"- {name: data, context: {cluster: c-data, user: u-data, namespace: team-a}}\n"
	"- {name: token, context: {cluster: c-insecure, user: u-token}}\n"
	"- {name: tokenfile, context: {cluster: c-insecure, user: u-tokenfile}}\n"
	"- {name: exec, context: {cluster: c-data, user: u-exec}}\n"
	"- {name: authp, context: {cluster: c-data, user: u-authp}}\n"
	"- {name: basic, context: {cluster: c-data, user: u-basic}}\n"
	"- {name: nouser, context: {cluster: c-data}}\n"
	"- {name: badcluster, context: {cluster: nope, user: u-token}}\n"
	"- {name: baduser, context: {cluster: c-data, user: nope}}\n";

/* Load the kubeconfig above with a context; NULL on failure (err kept in *e). */
static struct k8s_config *load(const char *context, struct sbx_err *e)
{
	struct k8s_config *c = NULL;
	if (k8s_config_from_text("kc.yaml", kubeconfig, strlen(kubeconfig), dir, context, &c, e) < 0)
		return NULL;
	return c;
}

/* Whether a blob holds a text. */
static bool blob_is(const struct k8s_blob *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

/* The current context: files relative to the kubeconfig's directory; the server's '/' trimmed. */
static void test_files(void **state)
{
	(void)state;
	struct sbx_err e = SBX_ERR_INIT;
	struct k8s_config *c = load(NULL, &e);
	assert_non_null(c);
	assert_string_equal(c->context, "files");
	assert_string_equal(c->server, "https://10.0.0.1:6443");
	assert_string_equal(c->namespace, "default");
	assert_true(blob_is(&c->ca, "CA-PEM"));
	assert_true(blob_is(&c->cert, "CERT-PEM"));
	assert_true(blob_is(&c->key, "KEY-PEM"));
	assert_null(c->token);
	assert_false(c->insecure);
	struct k8s_config *d = k8s_config_dup(c);
	assert_true(blob_is(&d->key, "KEY-PEM"));
	k8s_config_free(d);
	k8s_config_free(c);
	/* the same file through k8s_config_load */
	tdir_put(dir, "kc.yaml", kubeconfig);
	char *p = xasprintf("%s/kc.yaml", dir);
	assert_int_equal(k8s_config_load(p, "files", &c, &e), 0);
	assert_true(blob_is(&c->ca, "CA-PEM"));
	k8s_config_free(c);
	free(p);
}

/* -data fields are base64 (line breaks allowed); the context's namespace. */
static void test_data(void **state)
{
	(void)state;
	struct sbx_err e = SBX_ERR_INIT;
	struct k8s_config *c = load("data", &e);
	assert_non_null(c);
	assert_true(blob_is(&c->ca, "CA-DATA"));
	assert_true(blob_is(&c->cert, "CERT-DATA"));
	assert_true(blob_is(&c->key, "KEY-DATA"));
	assert_string_equal(c->namespace, "team-a");
	k8s_config_free(c);
}

/* Tokens, inline or from a file (trimmed); insecure-skip-tls-verify; a context without a user. */
static void test_tokens(void **state)
{
	(void)state;
	struct sbx_err e = SBX_ERR_INIT;
	struct k8s_config *c = load("token", &e);
	assert_non_null(c);
	assert_string_equal(c->token, "abc.def");
	assert_true(c->insecure);
	assert_string_equal(c->server, "http://127.0.0.1:8080");
	k8s_config_free(c);
	c = load("tokenfile", &e);
	assert_non_null(c);
	assert_string_equal(c->token, "tok-from-file");
	k8s_config_free(c);
	c = load("nouser", &e);
	assert_non_null(c);
	assert_null(c->token);
	assert_int_equal(c->key.len, 0);
	k8s_config_free(c);
}

/* Check that loading a context fails with a message containing `part`. */
static void expect_refused(const char *context, const char *part)
{
	struct sbx_err e = SBX_ERR_INIT;
	assert_null(load(context, &e));
	assert_int_equal(e.code, SBX_EXIT_USAGE);
	if (strstr(sbx_err_first(&e), part) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", sbx_err_first(&e), part);
	sbx_err_clear(&e);
}

/* Plugins, passwords, unknown names are refused with a reason. */
static void test_refused(void **state)
{
	(void)state;
	expect_refused("exec", "user \"u-exec\" uses `exec`: refused (an exec plugin would run a command");
	expect_refused("authp", "`auth-provider`: refused");
	expect_refused("basic", "username/password");
	expect_refused("missing", "no context \"missing\" (contexts: files, data, token");
	expect_refused("badcluster", "no cluster \"nope\" (clusters: c-files, c-data, c-insecure)");
	expect_refused("baduser", "no user \"nope\"");
}

/* Load a kubeconfig text that must fail; the message must contain part. */
static void expect_bad(const char *text, const char *part)
{
	struct sbx_err e = SBX_ERR_INIT;
	struct k8s_config *c = NULL;
	assert_int_equal(k8s_config_from_text("k.yaml", text, strlen(text), dir, NULL, &c, &e), -1);
	assert_null(c);
	if (strstr(sbx_err_first(&e), part) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", sbx_err_first(&e), part);
	sbx_err_clear(&e);
}

/* Malformed kubeconfigs. */
static void test_bad(void **state)
{
	(void)state;
	expect_bad("contexts: [{name: a}]\n", "no current-context; choose one of the contexts (a)");
	expect_bad("- 1\n", "not a kubeconfig");
	expect_bad("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		"clusters: [{name: c, cluster: {server: ftp://x}}]\n", "server must be an https:// URL");
	expect_bad("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
		"clusters: [{name: c, cluster: {server: https://x}}]\n"
		"users: [{name: u, user: {client-key-data: '!!!'}}]\n", "client-key-data is not valid base64");
	expect_bad("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
		"clusters: [{name: c, cluster: {server: https://x}}]\n"
		"users: [{name: u, user: {client-certificate: client.pem}}]\n", "needs its key");
	expect_bad("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		"clusters: [{name: c, cluster: {server: https://x, insecure-skip-tls-verify: true, "
		"certificate-authority: ca.pem}}]\n", "exclude each other");
	expect_bad("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		"clusters: [{name: c, cluster: {server: https://x, certificate-authority: nope.pem}}]\n",
		"certificate-authority: cannot open");
	expect_bad("a: [\n", "YAML syntax error");
	struct sbx_err e = SBX_ERR_INIT;
	struct k8s_config *c = NULL;
	assert_int_equal(k8s_config_load("/nonexistent/kubeconfig", NULL, &c, &e), -1);
	assert_non_null(e.hint);
	sbx_err_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
