/* lv — the libvirt provider's connection: open/close, libvirt error reporting, the retry helper,
 * the domain type, and the XML helpers the other lv_*.c files share (lv_int.h). */
#include "lv_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvm.h"

#define LV_RETRY_MS 30000

/* Whether the last libvirt failure on this thread is worth retrying. */
static __thread bool lv_last_transient;

/* libvirt error codes retried with backoff. */
static const int lv_transient_codes[] = {
	VIR_ERR_OPERATION_TIMEOUT, /* "cannot acquire state change lock" and friends */
	VIR_ERR_AGENT_UNRESPONSIVE,
};

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;

/* Swallow libvirt's default printing of errors: we report them ourselves. */
static void lv_silent(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

/* Initialize libvirt once per process. */
static void lv_init_once(void)
{
	virInitialize();
	virSetErrorFunc(NULL, lv_silent);
}

/* The code of the last libvirt error on this thread (0 when none). */
int lv_code(void)
{
	virErrorPtr e = virGetLastError();
	return e ? e->code : 0;
}

/* Whether a libvirt error code is transient. */
static bool lv_code_transient(int code)
{
	for (size_t i = 0; i < SBX_NELEM(lv_transient_codes); i++)
		if (lv_transient_codes[i] == code)
			return true;
	return false;
}

/* Whether a libvirt error is transient: a code of the list, or a system call that said EAGAIN
 * (libvirtd's "failed to load cgroup BPF prog: Resource temporarily unavailable" when a domain
 * starts while the kernel still frees an earlier one's BPF programs: libbpf retries that too). */
static bool lv_error_transient(virErrorPtr e)
{
	if (e == NULL)
		return false;
	return lv_code_transient(e->code) || (e->code == VIR_ERR_SYSTEM_ERROR && e->message != NULL &&
		strstr(e->message, strerrordesc_np(EAGAIN)) != NULL);
}

/* Report the last libvirt error as "<what> <name>: <message>". Returns -1. */
int lv_fail(struct sbx_err *err, const char *what, const char *name)
{
	virErrorPtr e = virGetLastError();
	lv_last_transient = lv_error_transient(e);
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s %s: %s", what, name,
		e && e->message ? e->message : "unknown libvirt error");
}

/* Take back the lv_fail just made into an attempt's own err. Returns 0. */
int lv_unfail(struct sbx_err *err)
{
	lv_last_transient = false;
	sbx_err_clear(err);
	return 0;
}

/* Copy every message of src into dst. */
void lv_err_move(struct sbx_err *dst, struct sbx_err *src)
{
	for (size_t i = 0; i < src->n; i++)
		sbx_err_set(dst, src->code ? src->code : SBX_EXIT_FAILED, "%s", src->msgs[i].text);
	if (src->hint)
		sbx_err_hint(dst, "%s", src->hint);
	sbx_err_clear(src);
}

/* Run an idempotent operation, retrying transient libvirt errors with backoff. */
int lv_retry(struct lv *lv, lv_op_fn fn, const void *arg, void *out, struct sbx_err *err)
{
	struct sbx_backoff b;
	sbx_backoff_init(&b, LV_RETRY_MS, 250, 4000);
	for (;;) {
		struct sbx_err tmp = SBX_ERR_INIT;
		lv_last_transient = false;
		if (fn(lv, arg, out, &tmp) == 0) {
			sbx_err_clear(&tmp);
			return 0;
		}
		if (!lv_last_transient || sbx_backoff_wait(&b) < 0) {
			lv_err_move(err, &tmp);
			return -1;
		}
		sbx_err_clear(&tmp);
	}
}

/* Run an operation that hands out a libvirt-allocated path through lv_retry; copy the path. */
int lv_retry_path(struct lv *lv, lv_op_fn fn, const void *arg, char **path, struct sbx_err *err)
{
	char *p = NULL;
	if (lv_retry(lv, fn, arg, &p, err) < 0)
		return -1;
	*path = xstrdup(p);
	free(p); /* allocated by libvirt */
	return 0;
}

/* Whether a URI names libvirt's test driver. */
static bool lv_uri_is_test(const char *uri)
{
	return uri && (strncmp(uri, "test:", 5) == 0 || strncmp(uri, "test+", 5) == 0);
}

/* Open a connection, retrying while libvirtd is not answering yet. */
int lv_open(const char *uri, struct lv **out, struct sbx_err *err)
{
	struct sbx_backoff b;
	virConnectPtr conn;
	pthread_once(&lv_once, lv_init_once);
	sbx_backoff_init(&b, 10000, 200, 2000);
	while ((conn = virConnectOpen(uri)) == NULL) {
		int code = lv_code();
		if ((code != VIR_ERR_SYSTEM_ERROR && code != VIR_ERR_NO_CONNECT) || sbx_backoff_wait(&b) < 0) {
			lv_fail(err, "cannot connect to libvirt at", uri ? uri : "(default)");
			sbx_err_hint(err, "is libvirtd running? (sh tests/libvirt-up.sh starts it)");
			return -1;
		}
	}
	struct lv *lv = xcalloc(1, sizeof *lv);
	char *real = virConnectGetURI(conn);
	const char *type = virConnectGetType(conn);
	lv->conn = conn;
	lv->uri = xstrdup(real ? real : uri);
	lv->test = lv_uri_is_test(uri) || lv_uri_is_test(real) || (type && strcasecmp(type, "test") == 0);
	lv->local = !lv->test && strncmp(lv->uri, "qemu:///", 8) == 0;
	free(real);
	*out = lv;
	return 0;
}

/* The free space of a pool (refreshed first); false when it does not exist or cannot be read. */
static bool lv_pool_free(struct lv *lv, const char *name, uint64_t *out)
{
	virStoragePoolInfo info;
	virStoragePoolPtr pool = name ? virStoragePoolLookupByName(lv->conn, name) : NULL;
	bool ok = false;
	if (pool == NULL)
		return false;
	if (virStoragePoolIsActive(pool) == 1)
		(void)virStoragePoolRefresh(pool, 0);
	if (virStoragePoolGetInfo(pool, &info) == 0 && info.state == VIR_STORAGE_POOL_RUNNING) {
		*out = info.available;
		ok = true;
	}
	virStoragePoolFree(pool);
	return ok;
}

/* The whole host's memory (every NUMA cell, and memory no cell lists: /proc/meminfo's view) from
 * virNodeGetMemoryStats: total, and free counting buffers and page cache (reclaimable), in bytes.
 * false when the driver does not report it. */
static bool lv_mem_stats(struct lv *lv, uint64_t *total, uint64_t *avail)
{
	int n = 0;
	if (virNodeGetMemoryStats(lv->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) < 0 || n <= 0 || n > 64)
		return false;
	virNodeMemoryStatsPtr v = xcalloc((size_t)n, sizeof(*v));
	uint64_t t = 0, a = 0;
	bool ok = virNodeGetMemoryStats(lv->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, v, &n, 0) == 0;
	for (int i = 0; ok && i < n; i++) {
		if (strcmp(v[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
			t = v[i].value * 1024;
		else if (strcmp(v[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0 ||
			strcmp(v[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0 ||
			strcmp(v[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0)
			a += v[i].value * 1024;
	}
	free(v);
	if (!ok || t == 0)
		return false;
	*total = t;
	*avail = a < t ? a : t;
	return true;
}

/* Ask the host what it has: memory from the whole host's statistics when the driver has them (NUMA
 * figures, virNodeGetInfo's and virNodeGetFreeMemory's, leave out memory no cell lists), else from
 * virNodeGetInfo and virNodeGetFreeMemory. */
int lv_node_info(struct lv *lv, const char *pool, struct lv_node *out, struct sbx_err *err)
{
	virNodeInfo info;
	struct lv_node h = {0};
	if (virNodeGetInfo(lv->conn, &info) < 0)
		return lv_fail(err, "cannot read the host's resources at", lv->uri);
	h.mem_total = (uint64_t)info.memory * 1024;
	if (!lv_mem_stats(lv, &h.mem_total, &h.mem_free)) {
		unsigned long long free_mem = virNodeGetFreeMemory(lv->conn);
		if (free_mem == 0)
			return lv_fail(err, "cannot read the host's free memory at", lv->uri);
		h.mem_free = free_mem;
	}
	h.cpus = info.cpus;
	h.disk_known = lv_pool_free(lv, pool, &h.disk_free);
	*out = h;
	return 0;
}

/* Close the connection. */
void lv_close(struct lv *lv)
{
	if (lv == NULL)
		return;
	virConnectClose(lv->conn);
	free(lv->uri);
	free(lv);
}

static bool no_start; /* set once at start-up (env_config), before any thread */

/* Define networks and domains without starting them. */
void lv_no_start_set(bool on)
{
	no_start = on;
}

/* Whether networks and domains are only defined. */
bool lv_no_start(void)
{
	return no_start;
}

/* Whether this is libvirt's test driver. */
bool lv_is_test(const struct lv *lv)
{
	return lv->test;
}

/* The connection's URI. */
const char *lv_uri(const struct lv *lv)
{
	return lv->uri;
}

/* The domain type to use. */
const char *lv_domain_type(struct lv *lv, const char *want)
{
	(void)lv;
	if (sbx_streq(want, "kvm") || sbx_streq(want, "qemu"))
		return sbx_streq(want, "kvm") ? "kvm" : "qemu";
	return kvm_usable() ? "kvm" : "qemu";
}

/* Append `<tag>escaped text</tag>`. */
void lv_xml_elem(struct sbx_buf *b, const char *tag, const char *text)
{
	char *t = sbx_xml_escape(text);
	sbx_buf_printf(b, "<%s>%s</%s>", tag, t, tag);
	free(t);
}

/* The value of attribute `attr` in an XML fragment (first occurrence; caller frees), or NULL. */
char *lv_xml_attr(const char *xml, const char *attr)
{
	size_t n = strlen(attr);
	for (const char *p = xml ? strstr(xml, attr) : NULL; p; p = strstr(p + 1, attr)) {
		if (p == xml || (p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n') || p[n] != '=')
			continue;
		char q = p[n + 1];
		const char *end = (q == '\'' || q == '"') ? strchr(p + n + 2, q) : NULL;
		if (end)
			return xstrndup(p + n + 2, (size_t)(end - (p + n + 2)));
	}
	return NULL;
}
