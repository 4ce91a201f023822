/* mock_metrics — a Prometheus counter/gauge registry, rendered in the text exposition format. */
#ifndef SBX_MOCK_METRICS_H
#define SBX_MOCK_METRICS_H

/* A registry; thread-safe. */
struct mock_metrics;
/* A new, empty registry. Free with mock_metrics_free. */
struct mock_metrics *mock_metrics_new(void);
/* Free a registry. NULL is a no-op. */
void mock_metrics_free(struct mock_metrics *m);
/* Declare a metric's type ("counter" / "gauge") and help text (optional, once). */
void mock_metrics_describe(struct mock_metrics *m, const char *name, const char *type,
			   const char *help);
/* Add delta to the series name{labels}; labels is the inside of the braces ("" for none). */
void mock_metrics_add(struct mock_metrics *m, const char *name, const char *labels, double delta);
/* Set a gauge series. */
void mock_metrics_set(struct mock_metrics *m, const char *name, const char *labels, double value);
/* The current value of a series (0 when absent). */
double mock_metrics_get(struct mock_metrics *m, const char *name, const char *labels);
/* Render the Prometheus text exposition format; caller frees. */
char *mock_metrics_render(struct mock_metrics *m);

#endif
