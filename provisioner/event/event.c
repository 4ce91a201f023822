/* event — progress as JSON lines, a live TTY view, or plain lines. */
#include "event.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "term.h"

struct ev_row {
	char *node;
	char *text;
	int64_t started_ms;
};

struct ev_sink {
	enum ev_mode mode;
	FILE *out;
	pthread_mutex_t mu;
	struct ev_row *rows; /* TTY view: one row per node, in first-seen order */
	size_t nrows, caprows;
	size_t drawn;        /* rows currently on screen */
	int64_t t0;
};

/* Create a sink. */
struct ev_sink *ev_sink_new(enum ev_mode mode, FILE *out)
{
	struct ev_sink *s = xcalloc(1, sizeof(*s));
	s->mode = mode;
	s->out = out;
	s->t0 = sbx_mono_ms();
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

/* Free a sink. */
void ev_sink_free(struct ev_sink *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrows; i++) {
		free(s->rows[i].node);
		free(s->rows[i].text);
	}
	free(s->rows);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The sink's mode. */
enum ev_mode ev_sink_mode(const struct ev_sink *s)
{
	return s ? s->mode : EV_QUIET;
}

/* Format the current UTC time as RFC 3339. */
static void now_rfc3339(char *buf, size_t len)
{
	time_t t = (time_t)sbx_now();
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Write one JSON line. */
static void emit_json(struct ev_sink *s, const char *env, const char *kind, const char *type,
	const char *name, const char *node, const char *msg)
{
	char ts[32];
	now_rfc3339(ts, sizeof(ts));
	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "event", json_string(kind));
	if (env)
		json_object_set_new(o, "env", json_string(env));
	if (type)
		json_object_set_new(o, "type", json_string(type));
	if (name)
		json_object_set_new(o, "name", json_string(name));
	if (node)
		json_object_set_new(o, "node", json_string(node));
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "elapsed_ms", json_integer(sbx_mono_ms() - s->t0));
	char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	fprintf(s->out, "%s\n", line);
	fflush(s->out);
	free(line);
	json_decref(o);
}

/* Find or add the TTY row of a node. */
static struct ev_row *row_of(struct ev_sink *s, const char *node)
{
	for (size_t i = 0; i < s->nrows; i++)
		if (strcmp(s->rows[i].node, node) == 0)
			return &s->rows[i];
	xgrow(&s->rows, &s->caprows, s->nrows + 1, sizeof(*s->rows));
	struct ev_row *r = &s->rows[s->nrows++];
	*r = (struct ev_row){xstrdup(node), xstrdup(""), sbx_mono_ms()};
	return r;
}

/* Redraw the per-node rows in place. */
static void redraw(struct ev_sink *s)
{
	if (s->drawn)
		fprintf(s->out, "\033[%zuA", s->drawn);
	for (size_t i = 0; i < s->nrows; i++) {
		struct ev_row *r = &s->rows[i];
		fprintf(s->out, "\r\033[K  %-24s %5.1fs  %s\n", r->node,
			(double)(sbx_mono_ms() - r->started_ms) / 1000.0, r->text);
	}
	s->drawn = s->nrows;
	fflush(s->out);
}

/* Update the live view (node events) or print above it (others). */
static void emit_tty(struct ev_sink *s, const char *kind, const char *node, const char *msg)
{
	if (node == NULL) {
		if (s->drawn)
			fprintf(s->out, "\033[%zuA\r\033[J", s->drawn);
		s->drawn = 0;
		fprintf(s->out, "%s\n", msg);
		redraw(s);
		return;
	}
	struct ev_row *r = row_of(s, node);
	free(r->text);
	r->text = xasprintf("%s%s", strstr(kind, "fail") ? "FAILED: " : "", msg);
	redraw(s);
}

/* Emit an event in the sink's mode, its message cleaned for a terminal. */
void ev_emit(struct ev_sink *s, const char *env, const char *kind, const char *type, const char *name,
	const char *node, const char *fmt, ...)
{
	if (s == NULL || s->mode == EV_QUIET)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap), *msg = term_sanitize(raw);
	va_end(ap);
	free(raw);
	pthread_mutex_lock(&s->mu);
	switch (s->mode) {
	case EV_JSON:
		emit_json(s, env, kind, type, name, node, msg);
		break;
	case EV_TTY:
		emit_tty(s, kind, node, msg);
		break;
	default:
		fprintf(s->out, "%s%s%s\n", node ? node : "", node ? ": " : "", msg);
		fflush(s->out);
	}
	pthread_mutex_unlock(&s->mu);
	free(msg);
}
