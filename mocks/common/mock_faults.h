/*
 * mock_faults — fault injection, configured as a whole by PUT /admin/faults:
 *   {"latency_ms": 200}                      fixed added latency
 *   {"latency_ms": {"min": 10, "max": 80}}   uniform range
 *   {"error_rate": 0.25, "error_status": 503} fraction of requests failed (status default 500)
 *   {"targets": {"+15551230000": {"status": 503, "message": "..."}}}
 *                                            deterministic failures per recipient / card, looked
 *                                            up by the mock with mock_faults_target()
 * Latency and error rate apply to routes flagged MOCK_ROUTE_FAULTS (the API under test), not to
 * the inspection, admin, health and metrics routes. Thread-safe.
 */
#ifndef SBX_MOCK_FAULTS_H
#define SBX_MOCK_FAULTS_H

#include "mock_util.h"

#include <jansson.h>
#include <stdint.h>

struct mock_faults;
/* An empty configuration (no faults). Free with mock_faults_free. */
struct mock_faults *mock_faults_new(void);
/* Free a configuration. NULL is a no-op. */
void mock_faults_free(struct mock_faults *f);
/* Replace the configuration from a JSON document; -1 with a message on a bad document. */
int mock_faults_set(struct mock_faults *f, const json_t *doc, struct mock_err *e) MOCK_WUR;
/* Back to no faults. */
void mock_faults_reset(struct mock_faults *f);
/* The configuration as JSON (caller decrefs). */
json_t *mock_faults_get(struct mock_faults *f);
/*
 * Latency to add now (ms, 0 = none). While mock_faults_defer has a sink on this thread, the
 * latency is added to the sink and 0 is returned: a handler that sleeps for the result sleeps
 * for nothing and the pipeline delays its answer instead (no thread held).
 */
int64_t mock_faults_latency(struct mock_faults *f);
/* Make this thread's mock_faults_latency add to *sink (NULL: return the latency again). */
void mock_faults_defer(int64_t *sink);
/* Whether to fail this request: returns the status to answer, or 0. */
int mock_faults_roll(struct mock_faults *f);
/* Whether key has a deterministic failure: 1 with *status and *message (caller frees), else 0. */
int mock_faults_target(struct mock_faults *f, const char *key, int *status, char **message);

#endif
