/* stripe_list — Stripe lists ({object: "list", data, has_more, url}, newest first) and one-record answers. */
#include "stripe_int.h"

#include "mock_kv.h"

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* The position of the record with this id in a list, or -1 after a 400 naming the cursor. */
static ssize_t cursor_at(struct stripe_call *c, const json_t *all, const char *name, const char *id, const char *what)
{
	size_t i;
	json_t *r;

	json_array_foreach(all, i, r) {
		if (strcmp(stripe_field(r, "id"), id) == 0)
			return (ssize_t)i;
	}
	stripe_error(c->resp, 400, "invalid_request_error", "resource_missing", name, NULL, "No such %s: '%.60s'", what, id);
	return -1;
}

/* Drop the deleted objects ({id, object, deleted: true}, kept for retrieves) from a list: Stripe lists skip them. */
static void drop_deleted(json_t *all)
{
	for (size_t i = json_array_size(all); i-- > 0;) {
		if (json_is_true(json_object_get(json_array_get(all, i), "deleted")))
			json_array_remove(all, i);
	}
}

/* GET a list: Stripe's paging over the store's records (newest first) matching filter. */
void stripe_list_page(struct stripe_call *c, struct mock_store *s, const struct mock_kvlist *filter, const char *url,
		      const char *what, json_t *(*view)(const json_t *rec))
{
	int64_t limit = 10;
	const char *after, *before;
	size_t total, start = 0, end;
	json_t *all, *data;
	ssize_t at;

	if (stripe_param_int(c, "limit", false, 1, 100, &limit) < 0 || stripe_param_str(c, "starting_after", false, &after) < 0 ||
	    stripe_param_str(c, "ending_before", false, &before) < 0)
		return;
	all = mock_store_list(s, filter, 0, SIZE_MAX, &total);
	drop_deleted(all);
	end = json_array_size(all);
	if (after && (at = cursor_at(c, all, "starting_after", after, what)) < 0)
		goto out;
	if (after)
		start = (size_t)at + 1;
	if (before && (at = cursor_at(c, all, "ending_before", before, what)) < 0)
		goto out;
	if (before) {
		end = (size_t)at;
		start = !after && end > (size_t)limit ? end - (size_t)limit : start;
	}
	data = json_array();
	for (size_t i = start; i < end && json_array_size(data) < (size_t)limit; i++)
		json_array_append_new(data, view(json_array_get(all, i)));
	mock_resp_json(c->resp, 200, json_pack("{s:s,s:o,s:b,s:s}", "object", "list", "data", data, "has_more",
					       before && !after ? start > 0 : start + json_array_size(data) < end,
					       "url", url));
out:
	json_decref(all);
}

/* A record as it is (refunds and customers are stored in Stripe's shape): a new reference. */
json_t *stripe_as_is(const json_t *rec)
{
	return json_deep_copy(rec);
}

/* Answer one record of a store (the path's id), or 404. */
void stripe_answer_one(struct stripe_call *c, struct mock_store *s, const char *what)
{
	const char *id = mock_req_param(c->req, "id");
	json_t *rec = mock_store_get(s, id);

	if (!rec) {
		stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL, "No such %s: '%.60s'",
			     what, id);
		return;
	}
	mock_resp_json(c->resp, 200, rec);
}

/* GET /v1/refunds/{id} or /v1/customers/{id}. */
void stripe_get_one(struct stripe_call *c, struct mock_store *s, const char *what)
{
	if (stripe_params_check(c, stripe_no_params) == 0)
		stripe_answer_one(c, s, what);
}
