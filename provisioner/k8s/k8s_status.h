/*
 * k8s_status — the Kubernetes `Status` object an API error carries
 * ({"kind":"Status","code":409,"reason":"Conflict","message":...,"details":{"causes":[...]}}),
 * parsed into plain data and turned into an error message.
 */
#ifndef SBX_K8S_STATUS_H
#define SBX_K8S_STATUS_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* One entry of details.causes: "FieldManagerConflict", ".data.a", "conflict with \"x\"". */
struct k8s_cause {
	char *type, *field, *message;
};

/* A parsed Status; zero-initialise, free with k8s_status_clear. */
struct k8s_status {
	long code;        /* the HTTP status (the Status' own code when the body has one) */
	char *reason;     /* "Conflict", "NotFound", "Expired", ... or NULL */
	char *message;    /* the server's message, or NULL */
	struct k8s_cause *causes;
	size_t ncauses;
};

/* Fill st from a response: its HTTP code and body (a Status, anything else, or NULL). Replaces
 * what st held. */
void k8s_status_parse(const json_t *body, long http_code, struct k8s_status *st);
/* Add "WHAT: HTTP 409 Conflict: MESSAGE" to err (the causes follow the message unless it already
 * names them); code SBX_EXIT_FAILED. Returns -1. */
int k8s_status_err(const struct k8s_status *st, const char *what, struct sbx_err *err);
/* Release st's strings; st can be reused. */
void k8s_status_clear(struct k8s_status *st);
/* For a FieldManagerConflict cause message ("conflict with \"kubectl\" using apps/v1"): the other
 * manager's name (caller frees), or NULL when the message has another shape. */
char *k8s_cause_manager(const char *message);

#endif
