/* plan_fix — the planner's test fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_fix.h"
#include "state.h"

const char plan_fix_yaml[] =
	"apiVersion: sandbox/v1\n"
	"name: demo\n"
	"site: { image: { recipe: debian-12 } }\n"
	"networks: [ { name: front }, { name: back, mode: isolated } ]\n"
	"nodes:\n"
	"  - { name: web, count: 2, memory: 512Mi, networks: [front, back] }\n"
	"  - { name: db, networks: [back] }\n";

const struct plan_net plan_fix_nets[2] = {{"front", "10.211.1.0/24"}, {"back", "10.211.2.0/24"}};

/* Load a blueprint from text. */
struct bp_blueprint *plan_fix_load(const char *text)
{
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_load_opts o = {.env_name = "demo"};
	if (bp_load_string("test.yaml", text, strlen(text), &o, &bp, &err) < 0)
		sbx_err_print(&err, stderr);
	sbx_err_clear(&err);
	assert_non_null(bp);
	return bp;
}

/* The recorded rows of desired resources. */
struct plan_rec *plan_fix_record_all(const struct plan_desired *d, size_t *n)
{
	struct plan_rec *r = calloc(d->n + 1, sizeof(*r));
	struct sbx_err err = SBX_ERR_INIT;
	for (size_t i = 0; i < d->n; i++) {
		char *spec = res_encode(&d->res[i]);
		assert_int_equal(res_decode(d->res[i].type, d->res[i].name, d->res[i].node, spec, &r[i].res, &err), 0);
		r[i].status = STATE_RES_CREATED;
		free(spec);
	}
	*n = d->n;
	return r;
}

/* Free recorded rows. */
void plan_fix_recs_free(struct plan_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		res_clear(&r[i].res);
	free(r);
}
