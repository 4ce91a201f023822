/* stripe_param — the parameters of a Stripe call (form body or query string), checked and typed. */
#include "stripe_int.h"

#include "stripe_form.h"

#include <stdint.h>
#include <string.h>

/* Only expand: what a retrieve or a delete takes. */
const char *const stripe_no_params[] = {"expand", NULL};

/* Check the parameters against what the operation implements: 0, or -1 after a 501. */
int stripe_params_check(struct stripe_call *c, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(c->params, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (!ok) {
			stripe_unsupported(c->req, k, c->resp);
			return -1;
		}
	}
	return 0;
}

/* The parameters of a request: the form body (POST) or the query string; NULL after a 400. */
json_t *stripe_params_parse(const struct mock_req *req, struct mock_resp *resp)
{
	struct mock_err e;
	json_t *doc;

	if (strcmp(req->method, "POST") == 0)
		doc = stripe_form_parse(req->body, req->body_len, &e);
	else
		doc = stripe_form_parse(req->raw_query ? req->raw_query : "",
					req->raw_query ? strlen(req->raw_query) : 0, &e);
	if (!doc)
		stripe_error(resp, 400, "invalid_request_error", "parameter_invalid_string", NULL, NULL,
			     "Invalid request body (application/x-www-form-urlencoded): %s", e.msg);
	return doc;
}

/* A string parameter, or NULL when absent; -1 after a 400 when it is not a string. */
int stripe_param_str(struct stripe_call *c, const char *name, bool required, const char **out)
{
	json_t *v = json_object_get(c->params, name);

	*out = json_string_value(v);
	if (v && !json_is_string(v)) {
		stripe_bad_param(c, "parameter_invalid_string", name, "Invalid string: %s must be a string", name);
		return -1;
	}
	if (required && (!*out || !**out)) {
		stripe_bad_param(c, "parameter_missing", name, "Missing required param: %s.", name);
		return -1;
	}
	return 0;
}

/* An integer parameter in [min, max] (absent and optional: *out untouched); -1 after a 400. */
int stripe_param_int(struct stripe_call *c, const char *name, bool required, int64_t min, int64_t max, int64_t *out)
{
	const char *s;

	if (stripe_param_str(c, name, required, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (mock_parse_int(s, INT64_MIN, INT64_MAX, out) < 0) {
		stripe_bad_param(c, "parameter_invalid_integer", name, "Invalid integer: %.40s", s);
		return -1;
	}
	if (*out < min || *out > max) {
		stripe_bad_param(c, *out < min ? "amount_too_small" : "amount_too_large", name,
				 "Invalid %s: must be between %lld and %lld", name, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* A parameter that must be one of a list of words (NULL-terminated); -1 after a 400. */
int stripe_param_enum(struct stripe_call *c, const char *name, const char *const *words, const char **out)
{
	if (stripe_param_str(c, name, false, out) < 0)
		return -1;
	for (size_t i = 0; *out && words[i]; i++) {
		if (strcmp(*out, words[i]) == 0)
			return 0;
	}
	if (*out && **out) {
		stripe_bad_param(c, "parameter_invalid_string", name, "Invalid %s: %.40s", name, *out);
		return -1;
	}
	*out = NULL;
	return 0;
}

/* Whether a boolean parameter is "true"; -1 after a 400 when it is neither true nor false. */
int stripe_param_bool(struct stripe_call *c, const char *name, bool *out)
{
	const char *s;

	if (stripe_param_str(c, name, false, &s) < 0)
		return -1;
	*out = s && strcmp(s, "true") == 0;
	if (s && !*out && strcmp(s, "false") != 0) {
		stripe_bad_param(c, "parameter_invalid_boolean", name, "Invalid boolean: %.40s", s);
		return -1;
	}
	return 0;
}

/* Apply the metadata parameter to obj: keys set, "" unsets a key, metadata="" clears; -1 after a 400. */
int stripe_metadata_apply(struct stripe_call *c, json_t *obj)
{
	json_t *m = json_object_get(c->params, "metadata"), *cur = json_object_get(obj, "metadata"), *v;
	const char *k;

	if (!m)
		return 0;
	if (json_is_string(m) && !*json_string_value(m)) {
		json_object_set_new(obj, "metadata", json_object());
		return 0;
	}
	if (!json_is_object(m)) {
		stripe_bad_param(c, "parameter_invalid_string", "metadata", "Invalid object: metadata must be a hash");
		return -1;
	}
	json_object_foreach(m, k, v) {
		if (!json_is_string(v) || strlen(k) > 40 || strlen(json_string_value(v)) > 500) {
			stripe_bad_param(c, "parameter_invalid_string", "metadata",
					 "Invalid metadata: keys up to 40 characters, values strings up to 500");
			return -1;
		}
	}
	if (!json_is_object(cur)) {
		cur = json_object();
		json_object_set_new(obj, "metadata", cur);
	}
	json_object_foreach(m, k, v) {
		if (*json_string_value(v))
			json_object_set(cur, k, v);
		else
			json_object_del(cur, k);
	}
	return 0;
}

/* Copy the optional string parameters names into obj ("" sets null); -1 after a 400. */
int stripe_strings_copy(struct stripe_call *c, json_t *obj, const char *const *names)
{
	const char *v;

	for (size_t i = 0; names[i]; i++) {
		if (stripe_param_str(c, names[i], false, &v) < 0)
			return -1;
		if (v)
			json_object_set_new(obj, names[i], *v ? json_string(v) : json_null());
	}
	return 0;
}

/* A string field of a record ("" when absent). */
const char *stripe_field(const json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : "";
}

/* Now in Unix seconds. */
json_t *stripe_now(void)
{
	return json_integer(mock_now_ms() / 1000);
}
