/* mock_log — JSON lines on stderr (events and the access log), one write per line. */
#ifndef SBX_MOCK_LOG_H
#define SBX_MOCK_LOG_H

#include "mock_util.h"

#include <jansson.h>
#include <stdbool.h>

/* Enable or disable the access log (mock_log_event always prints). */
void mock_log_access_enable(bool on);
/* Whether the access log is on (what the server asks before logging a request). */
bool mock_log_access_enabled(void);
/*
 * Print one JSON line on stderr: {"ts":..,"level":..,"msg":..} plus the fields of `fields` (a JSON
 * object, may be NULL; the function steals the reference).
 */
void mock_log_event(const char *level, const char *msg, json_t *fields);
/* Print a formatted info/warn/error line without extra fields. */
void mock_log(const char *level, const char *fmt, ...) MOCK_PRINTF(2, 3);

#endif
