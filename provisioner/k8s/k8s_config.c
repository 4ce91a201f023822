/* k8s_config — kubeconfig: select a context, resolve its cluster and user, read their files. */
#include "k8s_config.h"
#include "k8s_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define K8S_SECRET_MAX (4u << 20)

/* What one load works with. */
struct kc_load {
	const char *name, *dir;
	json_t *root;
	struct sbx_err *err;
	struct k8s_config *c;
};

/* Wipe len bytes at p, then free p. */
void k8s_secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* Read a whole file into one allocation of its size. */
int k8s_secret_read(const char *path, unsigned char **data, size_t *len, struct sbx_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > K8S_SECRET_MAX) {
		close(fd);
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s: not a regular file of at most %u bytes", path,
			K8S_SECRET_MAX);
	}
	size_t n = (size_t)st.st_size, got = 0;
	unsigned char *buf = xmalloc(n + 1);
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != n) {
		k8s_secret_free(buf, n + 1);
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot read %s", path);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* Wipe every string of a JSON tree in place (the parsed kubeconfig held keys and tokens). */
static void json_scrub(json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;
	if (json_is_string(j))
		OPENSSL_cleanse((char *)json_string_value(j), json_string_length(j));
	json_array_foreach(j, i, v) json_scrub(v);
	json_object_foreach(j, k, v) json_scrub(v);
}

/* A string member of obj, or NULL. */
static const char *kc_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : NULL;
}

/* The "names" of a kubeconfig list, comma-separated (for errors); caller frees. */
static char *kc_names(const json_t *list)
{
	struct sbx_buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) sbx_buf_printf(&b, "%s%s", i ? ", " : "", kc_str(e, "name") ?
		kc_str(e, "name") : "?");
	return b.len ? sbx_buf_steal(&b) : xstrdup("none");
}

/* Find the entry `name` of the list `kind` ("clusters") and return its `field` ("cluster"). */
static json_t *kc_find(struct kc_load *l, const char *kind, const char *field, const char *name)
{
	json_t *list = json_object_get(l->root, kind), *e;
	size_t i;
	json_array_foreach(list, i, e) if (sbx_streq(kc_str(e, "name"), name)) {
		json_t *v = json_object_get(e, field);
		if (json_is_object(v))
			return v;
		sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: %s \"%s\" has no %s", l->name, kind, name, field);
		return NULL;
	}
	char *names = kc_names(list);
	sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: no %.*s \"%s\" (%s: %s)", l->name, (int)strlen(kind) - 1,
		kind, name, kind, names);
	free(names);
	return NULL;
}

/* Decode base64 (white space allowed) into a blob. */
static int kc_base64(struct kc_load *l, const char *what, const char *s, struct k8s_blob *out)
{
	size_t n = strlen(s), m = 0, pad = 0;
	char *clean = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			clean[m++] = s[i];
	clean[m] = '\0';
	unsigned char *buf = xmalloc(m / 4 * 3 + 3);
	int r = m % 4 == 0 ? EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)m) : -1;
	pad = (m > 0 && clean[m - 1] == '=') + (m > 1 && clean[m - 2] == '=');
	k8s_secret_free(clean, n + 1);
	if (r < 0 || m == 0) {
		k8s_secret_free(buf, m / 4 * 3 + 3);
		return sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: %s is not valid base64", l->name, what);
	}
	out->data = buf;
	out->len = (size_t)r - pad;
	return 0;
}

/* Fill a blob from KEY-data (base64) or KEY (a file, relative to the kubeconfig). */
static int kc_blob(struct kc_load *l, const json_t *obj, const char *key, struct k8s_blob *out)
{
	char data_key[64];
	snprintf(data_key, sizeof(data_key), "%s-data", key);
	const char *b64 = kc_str(obj, data_key), *file = kc_str(obj, key);
	if (b64)
		return kc_base64(l, data_key, b64, out);
	if (file == NULL)
		return 0;
	char *path = l->dir ? sbx_path_join(l->dir, file) : xstrdup(file);
	int rc = k8s_secret_read(path, &out->data, &out->len, l->err);
	if (rc < 0)
		sbx_err_prefix(l->err, "%s: %s", l->name, key);
	free(path);
	return rc;
}

/* Read the cluster: server, CA, TLS check. */
static int kc_cluster(struct kc_load *l, const json_t *cl)
{
	const char *server = kc_str(cl, "server");
	if (server == NULL || !(sbx_has_prefix(server, "https://") || sbx_has_prefix(server, "http://")))
		return sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: cluster \"%s\": server must be an https:// URL",
			l->name, l->c->cluster);
	l->c->server = xstrdup(server);
	size_t n = strlen(l->c->server);
	while (n > 0 && l->c->server[n - 1] == '/')
		l->c->server[--n] = '\0';
	l->c->insecure = json_is_true(json_object_get(cl, "insecure-skip-tls-verify"));
	if (kc_blob(l, cl, "certificate-authority", &l->c->ca) < 0)
		return -1;
	if (l->c->insecure && l->c->ca.len)
		return sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: cluster \"%s\": a certificate authority and "
			"insecure-skip-tls-verify exclude each other", l->name, l->c->cluster);
	return 0;
}

/* Read the token or tokenFile (trailing white space trimmed). */
static int kc_token(struct kc_load *l, const json_t *u)
{
	const char *tok = kc_str(u, "token"), *file = kc_str(u, "tokenFile");
	if (tok) {
		l->c->token = xstrdup(tok);
		return 0;
	}
	if (file == NULL)
		return 0;
	unsigned char *data;
	size_t len;
	char *path = l->dir ? sbx_path_join(l->dir, file) : xstrdup(file);
	int rc = k8s_secret_read(path, &data, &len, l->err);
	free(path);
	if (rc < 0) {
		sbx_err_prefix(l->err, "%s: tokenFile", l->name);
		return -1;
	}
	while (len > 0 && strchr(" \t\r\n", data[len - 1]))
		data[--len] = '\0';
	l->c->token = (char *)data;
	return 0;
}

/* Read the user: refuse plugins and passwords, then certificate and key, token. */
static int kc_user(struct kc_load *l, const json_t *u)
{
	static const char *const refused[][2] = {
		{"exec", "an exec plugin would run a command on this host"},
		{"auth-provider", "an auth-provider plugin would run a command on this host"},
		{"username", "username/password authentication is not supported"},
		{"password", "username/password authentication is not supported"},
	};
	for (size_t i = 0; i < SBX_NELEM(refused); i++)
		if (json_object_get(u, refused[i][0]) && !json_is_null(json_object_get(u, refused[i][0]))) {
			sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: user \"%s\" uses `%s`: refused (%s)", l->name,
				l->c->user, refused[i][0], refused[i][1]);
			sbx_err_hint(l->err, "use a kubeconfig with a client certificate and key, or a token "
				"(for example a ServiceAccount token)");
			return -1;
		}
	if (kc_blob(l, u, "client-certificate", &l->c->cert) < 0 || kc_blob(l, u, "client-key", &l->c->key) < 0)
		return -1;
	if ((l->c->cert.len == 0) != (l->c->key.len == 0))
		return sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: user \"%s\": a client certificate needs its key "
			"and a key its certificate", l->name, l->c->user);
	return kc_token(l, u);
}

/* Resolve the chosen context into l->c. */
static int kc_resolve(struct kc_load *l, const char *context)
{
	const char *name = context ? context : kc_str(l->root, "current-context");
	if (name == NULL) {
		char *names = kc_names(json_object_get(l->root, "contexts"));
		sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: no current-context; choose one of the contexts (%s)",
			l->name, names);
		free(names);
		return -1;
	}
	l->c->context = xstrdup(name);
	json_t *ctx = kc_find(l, "contexts", "context", name);
	if (ctx == NULL)
		return -1;
	l->c->cluster = xstrdup(kc_str(ctx, "cluster"));
	l->c->user = xstrdup(kc_str(ctx, "user"));
	l->c->namespace = xstrdup(kc_str(ctx, "namespace") ? kc_str(ctx, "namespace") : "default");
	if (l->c->cluster == NULL)
		return sbx_err_set(l->err, SBX_EXIT_USAGE, "%s: context \"%s\" names no cluster", l->name, name);
	json_t *cl = kc_find(l, "clusters", "cluster", l->c->cluster);
	if (cl == NULL || kc_cluster(l, cl) < 0)
		return -1;
	if (l->c->user == NULL)
		return 0;
	json_t *u = kc_find(l, "users", "user", l->c->user);
	return u ? kc_user(l, u) : -1;
}

/* Load a kubeconfig from text. */
int k8s_config_from_text(const char *name, const char *text, size_t len, const char *dir,
	const char *context, struct k8s_config **out, struct sbx_err *err)
{
	struct k8s_docs docs = {0};
	struct kc_load l = {.name = name, .dir = dir, .err = err, .c = xcalloc(1, sizeof(*l.c))};
	int rc = -1;
	if (k8s_yaml_parse(name, text, len, &docs, err) < 0)
		goto out;
	if (docs.n != 1 || !json_is_object(docs.v[0].json)) {
		sbx_err_set(err, SBX_EXIT_USAGE, "%s: not a kubeconfig (expected one mapping with clusters, "
			"users and contexts)", name);
		goto out;
	}
	l.root = docs.v[0].json;
	rc = kc_resolve(&l, context);
out:
	for (size_t i = 0; i < docs.n; i++)
		json_scrub(docs.v[i].json);
	k8s_docs_clear(&docs);
	if (rc == 0)
		*out = l.c;
	else
		k8s_config_free(l.c);
	return rc;
}

/* Load a kubeconfig file. */
int k8s_config_load(const char *path, const char *context, struct k8s_config **out, struct sbx_err *err)
{
	unsigned char *text;
	size_t len;
	struct sbx_err rerr = SBX_ERR_INIT;
	if (k8s_secret_read(path, &text, &len, &rerr) < 0) {
		sbx_err_set(err, SBX_EXIT_USAGE, "kubeconfig: %s", sbx_err_first(&rerr));
		sbx_err_hint(err, "pass the cluster's kubeconfig with --kubeconfig FILE");
		sbx_err_clear(&rerr);
		return -1;
	}
	char *dir = sbx_dirname(path);
	int rc = k8s_config_from_text(path, (const char *)text, len, dir, context, out, err);
	free(dir);
	k8s_secret_free(text, len + 1);
	return rc;
}

/* A copy of a blob. */
static struct k8s_blob blob_dup(struct k8s_blob b)
{
	struct k8s_blob r = {NULL, b.len};
	if (b.data) {
		r.data = xmalloc(b.len + 1);
		memcpy(r.data, b.data, b.len);
		r.data[b.len] = '\0';
	}
	return r;
}

/* Copy a config. */
struct k8s_config *k8s_config_dup(const struct k8s_config *c)
{
	struct k8s_config *d = xcalloc(1, sizeof(*d));
	d->context = xstrdup(c->context);
	d->cluster = xstrdup(c->cluster);
	d->user = xstrdup(c->user);
	d->server = xstrdup(c->server);
	d->namespace = xstrdup(c->namespace);
	d->insecure = c->insecure;
	d->ca = blob_dup(c->ca);
	d->cert = blob_dup(c->cert);
	d->key = blob_dup(c->key);
	d->token = xstrdup(c->token);
	d->timeout_ms = c->timeout_ms;
	return d;
}

/* Free a config, wiping its secrets. */
void k8s_config_free(struct k8s_config *c)
{
	if (c == NULL)
		return;
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->server);
	free(c->namespace);
	free(c->ca.data);
	free(c->cert.data);
	k8s_secret_free(c->key.data, c->key.len);
	if (c->token)
		k8s_secret_free(c->token, strlen(c->token));
	free(c);
}
