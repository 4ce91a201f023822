/* mock_faults — the fault-injection configuration: parsed in one place, read by the server. */
#include "mock_faults.h"

#include "mock_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct fault_cfg {
	int64_t lat_min, lat_max;  /* ms; equal for a fixed latency */
	double error_rate;
	int error_status;
	json_t *targets;           /* {"key": {"status": n, "message": s}} or NULL */
};

struct mock_faults {
	pthread_mutex_t lock;
	struct fault_cfg cfg;
	atomic_bool active; /* any fault configured: the hot path skips the lock otherwise */
};

/* A configuration with no faults. */
struct mock_faults *mock_faults_new(void)
{
	struct mock_faults *f = mock_xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->cfg.error_status = 500;
	return f;
}

/* Free. */
void mock_faults_free(struct mock_faults *f)
{
	if (!f)
		return;
	json_decref(f->cfg.targets);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* Parse "latency_ms": n | {"min": a, "max": b}. */
static int parse_latency(const json_t *v, struct fault_cfg *c, struct mock_err *e)
{
	const json_t *lo, *hi;

	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 600000) {
		c->lat_min = c->lat_max = json_integer_value(v);
		return 0;
	}
	lo = json_object_get(v, "min");
	hi = json_object_get(v, "max");
	if (!json_is_object(v) || !json_is_integer(lo) || !json_is_integer(hi) ||
	    json_integer_value(lo) < 0 || json_integer_value(hi) < json_integer_value(lo) ||
	    json_integer_value(hi) > 600000)
		return mock_err_set(e, "latency_ms: expected milliseconds (0..600000) or "
				       "{\"min\": MS, \"max\": MS} with min <= max");
	c->lat_min = json_integer_value(lo);
	c->lat_max = json_integer_value(hi);
	return 0;
}

/* Parse "error_rate" and "error_status". */
static int parse_errors(const json_t *doc, struct fault_cfg *c, struct mock_err *e)
{
	const json_t *rate = json_object_get(doc, "error_rate");
	const json_t *st = json_object_get(doc, "error_status");

	if (rate && (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) > 1))
		return mock_err_set(e, "error_rate: expected a number between 0 and 1");
	if (st && (!json_is_integer(st) || json_integer_value(st) < 400 || json_integer_value(st) > 599))
		return mock_err_set(e, "error_status: expected an HTTP status between 400 and 599");
	c->error_rate = rate ? json_number_value(rate) : 0;
	c->error_status = st ? (int)json_integer_value(st) : 500;
	return 0;
}

/* Parse "targets": {"key": {"status": n, "message": s}}. */
static int parse_targets(const json_t *v, struct fault_cfg *c, struct mock_err *e)
{
	const char *key;
	json_t *t;

	if (!v)
		return 0;
	if (!json_is_object(v))
		return mock_err_set(e, "targets: expected an object keyed by recipient or card");
	json_object_foreach((json_t *)v, key, t) {
		const json_t *st = json_object_get(t, "status");
		const json_t *msg = json_object_get(t, "message");
		if (!json_is_object(t) || (st && (!json_is_integer(st) || json_integer_value(st) < 400 ||
						  json_integer_value(st) > 599)) ||
		    (msg && !json_is_string(msg)))
			return mock_err_set(e, "targets.%s: expected {\"status\": 400..599, \"message\": "
					       "\"text\"}", key);
	}
	c->targets = json_deep_copy(v);
	return 0;
}

/* Reject keys the configuration does not know. */
static int check_keys(const json_t *doc, struct mock_err *e)
{
	static const char *const known[] = {"latency_ms", "error_rate", "error_status", "targets"};
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)doc, key, v) {
		size_t i = 0;
		while (i < MOCK_NELEM(known) && strcmp(known[i], key) != 0)
			i++;
		if (i == MOCK_NELEM(known))
			return mock_err_set(e, "unknown key \"%s\" (known: latency_ms, error_rate, "
					       "error_status, targets)", key);
	}
	return 0;
}

/* Replace the configuration. */
int mock_faults_set(struct mock_faults *f, const json_t *doc, struct mock_err *e)
{
	struct fault_cfg c = {0};

	if (!json_is_object(doc))
		return mock_err_set(e, "faults: expected a JSON object");
	if (check_keys(doc, e) < 0 || parse_latency(json_object_get(doc, "latency_ms"), &c, e) < 0 ||
	    parse_errors(doc, &c, e) < 0 || parse_targets(json_object_get(doc, "targets"), &c, e) < 0) {
		json_decref(c.targets);
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	json_decref(f->cfg.targets);
	f->cfg = c;
	atomic_store(&f->active, c.lat_max > 0 || c.error_rate > 0 || c.targets);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* Back to no faults. */
void mock_faults_reset(struct mock_faults *f)
{
	pthread_mutex_lock(&f->lock);
	json_decref(f->cfg.targets);
	memset(&f->cfg, 0, sizeof(f->cfg));
	f->cfg.error_status = 500;
	atomic_store(&f->active, false);
	pthread_mutex_unlock(&f->lock);
}

/* The configuration as JSON. */
json_t *mock_faults_get(struct mock_faults *f)
{
	json_t *doc, *lat;

	pthread_mutex_lock(&f->lock);
	if (f->cfg.lat_min == f->cfg.lat_max)
		lat = json_integer(f->cfg.lat_min);
	else
		lat = json_pack("{s:I,s:I}", "min", (json_int_t)f->cfg.lat_min, "max",
				(json_int_t)f->cfg.lat_max);
	doc = json_pack("{s:o,s:f,s:i,s:o}", "latency_ms", lat, "error_rate", f->cfg.error_rate,
			"error_status", f->cfg.error_status, "targets",
			f->cfg.targets ? json_deep_copy(f->cfg.targets) : json_object());
	pthread_mutex_unlock(&f->lock);
	return doc;
}

/* Where this thread's latencies go instead of being returned (mock_faults_defer). */
static _Thread_local int64_t *defer_sink;

/* Send this thread's latencies to sink (NULL: return them again). */
void mock_faults_defer(int64_t *sink)
{
	defer_sink = sink;
}

/* Latency to add now. */
int64_t mock_faults_latency(struct mock_faults *f)
{
	int64_t lo, hi, ms;

	if (!atomic_load(&f->active))
		return 0;
	pthread_mutex_lock(&f->lock);
	lo = f->cfg.lat_min;
	hi = f->cfg.lat_max;
	pthread_mutex_unlock(&f->lock);
	ms = mock_rand_range(lo, hi);
	if (!defer_sink)
		return ms;
	*defer_sink += ms;
	return 0;
}

/* Roll the error-rate dice. */
int mock_faults_roll(struct mock_faults *f)
{
	double rate;
	int status;

	if (!atomic_load(&f->active))
		return 0;
	pthread_mutex_lock(&f->lock);
	rate = f->cfg.error_rate;
	status = f->cfg.error_status;
	pthread_mutex_unlock(&f->lock);
	if (rate <= 0)
		return 0;
	return rate >= 1 || mock_rand_unit() < rate ? status : 0;
}

/* Look a deterministic failure up. */
int mock_faults_target(struct mock_faults *f, const char *key, int *status, char **message)
{
	const json_t *t;
	int found = 0;

	if (!atomic_load(&f->active))
		return 0;
	pthread_mutex_lock(&f->lock);
	t = key && f->cfg.targets ? json_object_get(f->cfg.targets, key) : NULL;
	if (t) {
		const json_t *st = json_object_get(t, "status");
		const char *msg = json_string_value(json_object_get(t, "message"));
		*status = st ? (int)json_integer_value(st) : 500;
		*message = mock_xstrdup(msg ? msg : "injected failure for this target");
		found = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}
