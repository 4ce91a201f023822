/*
 * k8s_http — a connection to one API server (struct k8s): libcurl handles kept in a small pool
 * (a thread takes one per request, so one struct k8s serves several threads), TLS material handed
 * to libcurl from memory (CURLOPT_*_BLOB), the bearer token as a header, timeouts, JSON bodies.
 * Requests answer with the HTTP status and the body; errors carry the Kubernetes Status.
 * Nothing secret is printed or logged (no verbose mode, no headers in messages).
 */
#ifndef SBX_K8S_HTTP_H
#define SBX_K8S_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "k8s_config.h"
#include "k8s_status.h"
#include "util.h"

struct k8s;

/*
 * Open a connection to the cluster cfg describes. cfg is copied (the caller keeps and frees its
 * own); nothing is sent yet (the first request connects).
 * On success *out is the caller's, closed with k8s_close.
 */
int k8s_open(const struct k8s_config *cfg, struct k8s **out, struct sbx_err *err) SBX_WUR;
/* Close every connection, wipe the copied secrets, free k; NULL is a no-op. No request of
 * another thread may be running. */
void k8s_close(struct k8s *k);
/* The namespace the config's context names ("default" when it names none). */
const char *k8s_namespace(const struct k8s *k);

/* One request. `path` starts with '/' and is already escaped (see k8s_escape). */
struct k8s_req {
	const char *method;   /* "GET", "PATCH", "DELETE", "POST", "PUT" */
	const char *path;     /* "/api/v1/namespaces?labelSelector=a%3Db" */
	const char *accept;   /* NULL: application/json */
	const char *ctype;    /* the body's Content-Type; NULL: application/json */
	const json_t *body;   /* NULL: none */
	int64_t timeout_ms;   /* 0: the config's timeout */
	/* Streaming (watch): each line of a 2xx body goes to `line` (NUL-terminated, without its
	 * '\n') as it arrives; it returns 0 to go on, 1 to stop the transfer (a success), -1 to fail
	 * (then it has set the error it was given). The response then has no body. */
	int (*line)(char *line, size_t len, void *ud, struct sbx_err *err);
	void *ud;
};

/* What came back. */
struct k8s_resp {
	long code;      /* HTTP status */
	json_t *body;   /* the parsed JSON body, or NULL (not JSON, empty, or streamed) */
	char *ctype;    /* the response's Content-Type, or NULL */
	bool stopped;   /* streaming: the line callback stopped it */
};

/*
 * Send a request and read the answer into *resp (the caller frees with k8s_resp_clear). Returns
 * 0 when an HTTP answer came back, whatever its status; -1 (err: what failed) when none did
 * (connection, TLS, timeout, a body larger than 256 MiB) or the line callback failed.
 */
int k8s_http(struct k8s *k, const struct k8s_req *r, struct k8s_resp *resp, struct sbx_err *err) SBX_WUR;
/* Free what a response holds. */
void k8s_resp_clear(struct k8s_resp *resp);

/*
 * Send a request that should succeed: on a 2xx answer return 0 and hand its JSON body to *out
 * (when out is not NULL; the caller decrefs; may be NULL for an empty body). Otherwise return -1:
 * when no answer came back, err says why (and st->code is 0); on an HTTP error, st == NULL adds
 * "METHOD PATH: HTTP CODE REASON: MESSAGE" to err, while st != NULL only parses the Status into
 * *st (the caller decides: 404 may be fine; k8s_req_err words it). The caller clears *st.
 */
int k8s_call(struct k8s *k, const struct k8s_req *r, json_t **out, struct k8s_status *st,
	struct sbx_err *err) SBX_WUR;
/* Add the error of request r that answered st to err (as k8s_call words it). Returns -1. */
int k8s_req_err(const struct k8s_req *r, const struct k8s_status *st, struct sbx_err *err);

/* s escaped for a URL path segment or query value (caller frees). */
char *k8s_escape(const char *s);

#endif
