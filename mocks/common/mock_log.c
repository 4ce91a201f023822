/* mock_log — JSON lines on stderr, one write per line. */
#include "mock_log.h"

#include "mock_util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_bool access_on = true;

/* Enable or disable the access log. */
void mock_log_access_enable(bool on)
{
	atomic_store(&access_on, on);
}

/* Whether the access log is on. */
bool mock_log_access_enabled(void)
{
	return atomic_load(&access_on);
}

/* Write a whole buffer to stderr. */
static void write_all(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Print one JSON line. */
void mock_log_event(const char *level, const char *msg, json_t *fields)
{
	json_t *line = json_object();
	char ts[32], *text;

	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level));
	json_object_set_new(line, "msg", json_string(msg));
	if (fields && json_is_object(fields))
		json_object_update(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (!text)
		return;
	size_t len = strlen(text);
	text = mock_xrealloc(text, len + 2);
	text[len] = '\n';
	write_all(text, len + 1);
	free(text);
}

/* Print a formatted line. */
void mock_log(const char *level, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mock_log_event(level, msg, NULL);
}
