/*
 * k8s_config — a kubeconfig file read into the one cluster + user a context names: the server
 * URL, the CA to trust, the client certificate and key or a bearer token. Plain data, no I/O
 * after loading. Files a kubeconfig names (certificate-authority, client-certificate, client-key,
 * tokenFile) are relative to the kubeconfig's directory and are read at load time.
 *
 * Refused with an error that says why: `exec` and `auth-provider` users (they would run commands
 * on this host), username/password, a context, cluster or user that is not there, a server that
 * is not http(s)://. Secrets (the key, the token) are never printed; k8s_config_free wipes them
 * (OPENSSL_cleanse), and so does loading for the text it read. Never reads $KUBECONFIG: the
 * caller passes the path.
 */
#ifndef SBX_K8S_CONFIG_H
#define SBX_K8S_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* PEM bytes (not NUL-terminated in general). */
struct k8s_blob {
	unsigned char *data;
	size_t len;
};

struct k8s_config {
	char *context;          /* the context used */
	char *cluster, *user;   /* the names it refers to */
	char *server;           /* "https://10.0.0.1:6443" (no trailing '/') */
	char *namespace;        /* the context's namespace, or "default" */
	bool insecure;          /* insecure-skip-tls-verify: no server certificate check */
	struct k8s_blob ca;     /* certificate-authority(-data); empty: the system's CAs */
	struct k8s_blob cert;   /* client-certificate(-data); empty: none */
	struct k8s_blob key;    /* client-key(-data); secret */
	char *token;            /* token or tokenFile's content (trimmed); secret; NULL: none */
	int64_t timeout_ms;     /* per request (watches use their own deadline); 0: 30 s */
};

/*
 * Load the kubeconfig at path and select `context` (NULL: its current-context). On success *out
 * is a new config the caller frees with k8s_config_free; on failure *out is untouched and err says
 * what is wrong (SBX_EXIT_USAGE for a kubeconfig that cannot be read, is bad or is refused;
 * SBX_EXIT_FAILED when a file it names cannot be read).
 */
int k8s_config_load(const char *path, const char *context, struct k8s_config **out,
	struct sbx_err *err) SBX_WUR;
/*
 * The same from text in memory: `name` names it in errors, relative paths are resolved against
 * `dir` (NULL: the current directory).
 */
int k8s_config_from_text(const char *name, const char *text, size_t len, const char *dir,
	const char *context, struct k8s_config **out, struct sbx_err *err) SBX_WUR;
/* A deep copy of c (the caller frees it with k8s_config_free). */
struct k8s_config *k8s_config_dup(const struct k8s_config *c);
/* Wipe the secrets and free the config; NULL is a no-op. */
void k8s_config_free(struct k8s_config *c);

/* Read a file that holds a secret into memory allocated once (nothing left in freed buffers),
 * NUL-terminated; at most 1 MiB. The caller wipes and frees it with k8s_secret_free. */
int k8s_secret_read(const char *path, unsigned char **data, size_t *len, struct sbx_err *err) SBX_WUR;
/* Wipe len bytes at p, then free p; NULL is a no-op. */
void k8s_secret_free(void *p, size_t len);

#endif
