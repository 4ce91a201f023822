/*
 * event — where `up`/`down`/`reap` report progress: JSON lines for CI (--json), a live per-node
 * view on a TTY, plain lines otherwise. Thread-safe: the executor's workers emit concurrently.
 * Messages never carry secret values (callers pass names, never values).
 */
#ifndef SBX_EVENT_H
#define SBX_EVENT_H

#include <stdio.h>

#include "util.h"

enum ev_mode {
	EV_PLAIN, /* one human line per event */
	EV_TTY,   /* live view: one line per node, redrawn in place */
	EV_JSON,  /* one JSON object per line */
	EV_QUIET, /* nothing */
};

struct ev_sink;

/* A sink writing to `out` (not owned). */
struct ev_sink *ev_sink_new(enum ev_mode mode, FILE *out);
void ev_sink_free(struct ev_sink *s); /* NULL is a no-op; finishes the TTY view */
enum ev_mode ev_sink_mode(const struct ev_sink *s);

/*
 * Emit an event. `kind` is a dotted name ("step.start", "step.done", "step.fail", "node.ready",
 * "up.done", ...); `type`/`name` identify the resource (may be NULL); `node` is the node instance
 * ("web-0") the TTY view groups by (may be NULL); `msg` is for humans. In every mode the message
 * is cleaned for a terminal first (term_sanitize: it may carry a guest's output or a remote error).
 */
void ev_emit(struct ev_sink *s, const char *env, const char *kind, const char *type, const char *name,
	const char *node, const char *fmt, ...) SBX_PRINTF(7, 8);

#endif
