/* mock_metrics — a small Prometheus registry: named series with a label string. */
#include "mock_metrics.h"

#include "buf.h"
#include "mock_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct series {
	char *name, *labels;
	double value;
};
struct desc {
	char *name, *type, *help;
};
struct mock_metrics {
	pthread_mutex_t lock;
	struct series *s;
	size_t n, cap;
	struct desc *d;
	size_t nd;
};

/* A new, empty registry. */
struct mock_metrics *mock_metrics_new(void)
{
	struct mock_metrics *m = mock_xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

/* Free the registry. */
void mock_metrics_free(struct mock_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->s[i].name);
		free(m->s[i].labels);
	}
	for (size_t i = 0; i < m->nd; i++) {
		free(m->d[i].name);
		free(m->d[i].type);
		free(m->d[i].help);
	}
	free(m->s);
	free(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Declare type and help of a metric. */
void mock_metrics_describe(struct mock_metrics *m, const char *name, const char *type,
			   const char *help)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nd; i++) {
		if (strcmp(m->d[i].name, name) == 0)
			goto out;
	}
	m->d = mock_xrealloc(m->d, (m->nd + 1) * sizeof(*m->d));
	m->d[m->nd++] = (struct desc){mock_xstrdup(name), mock_xstrdup(type), mock_xstrdup(help)};
out:
	pthread_mutex_unlock(&m->lock);
}

/* Find or create a series (lock held). */
static struct series *series_get(struct mock_metrics *m, const char *name, const char *labels)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->s[i].name, name) == 0 && strcmp(m->s[i].labels, labels) == 0)
			return &m->s[i];
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->s = mock_xrealloc(m->s, m->cap * sizeof(*m->s));
	}
	m->s[m->n] = (struct series){mock_xstrdup(name), mock_xstrdup(labels), 0};
	return &m->s[m->n++];
}

/* Add to a series. */
void mock_metrics_add(struct mock_metrics *m, const char *name, const char *labels, double delta)
{
	pthread_mutex_lock(&m->lock);
	series_get(m, name, labels ? labels : "")->value += delta;
	pthread_mutex_unlock(&m->lock);
}

/* Set a series. */
void mock_metrics_set(struct mock_metrics *m, const char *name, const char *labels, double value)
{
	pthread_mutex_lock(&m->lock);
	series_get(m, name, labels ? labels : "")->value = value;
	pthread_mutex_unlock(&m->lock);
}

/* Read a series. */
double mock_metrics_get(struct mock_metrics *m, const char *name, const char *labels)
{
	double v = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->s[i].name, name) == 0 && strcmp(m->s[i].labels, labels ? labels : "") == 0)
			v = m->s[i].value;
	}
	pthread_mutex_unlock(&m->lock);
	return v;
}

/* Render one metric family: HELP/TYPE (when described) and its series. */
static void render_family(struct mock_metrics *m, const char *name, struct sbx_buf *b)
{
	for (size_t i = 0; i < m->nd; i++) {
		if (strcmp(m->d[i].name, name) == 0)
			sbx_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, m->d[i].help, name,
					m->d[i].type);
	}
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->s[i].name, name) != 0)
			continue;
		if (*m->s[i].labels)
			sbx_buf_printf(b, "%s{%s} %.17g\n", name, m->s[i].labels, m->s[i].value);
		else
			sbx_buf_printf(b, "%s %.17g\n", name, m->s[i].value);
	}
}

/* Whether series i is the first of its name. */
static bool first_of_name(struct mock_metrics *m, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (strcmp(m->s[j].name, m->s[i].name) == 0)
			return false;
	}
	return true;
}

/* Render the text exposition format. */
char *mock_metrics_render(struct mock_metrics *m)
{
	struct sbx_buf b = {0};

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		if (first_of_name(m, i))
			render_family(m, m->s[i].name, &b);
	}
	pthread_mutex_unlock(&m->lock);
	return sbx_buf_steal(&b);
}
