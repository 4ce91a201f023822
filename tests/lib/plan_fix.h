/*
 * plan_fix — the planner's test fixture: a demo blueprint (web x2 on front and back, db on back)
 * with its two blocks, loading a blueprint text, and the rows `up` would have recorded for
 * desired resources.
 */
#ifndef SBX_PLAN_FIX_H
#define SBX_PLAN_FIX_H

#include <stddef.h>

#include "bp.h"
#include "plan.h"

/* The demo blueprint (environment "demo") and the blocks of its networks front and back. */
extern const char plan_fix_yaml[];
extern const struct plan_net plan_fix_nets[2];

/* Load a blueprint text as environment "demo" (its errors printed; fails the test when it does
 * not load). Free with bp_free. */
struct bp_blueprint *plan_fix_load(const char *text);
/* The rows `up` would have recorded for d (status created), through the state's JSON boundary;
 * *n gets how many. Free with plan_fix_recs_free. */
struct plan_rec *plan_fix_record_all(const struct plan_desired *d, size_t *n);
void plan_fix_recs_free(struct plan_rec *r, size_t n);

#endif
