/* lv — the libvirt provider: networks, a dir storage pool, overlay and seed volumes, domains. */
#include "lv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cloudinit.h"
#include "kvm.h"

#define LV_NS "https://sandbox.dev/xmlns/1"
#define LV_RETRY_MS 30000
#define LV_CONSOLE_DIR "/var/log/libvirt/qemu"

struct lv {
	virConnectPtr conn;
	char *uri;
	bool test;
};

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
static int lv_code(void)
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

/* Report the last libvirt error as "<what> <name>: <message>". Returns -1. */
static int lv_fail(struct sbx_err *err, const char *what, const char *name)
{
	virErrorPtr e = virGetLastError();
	lv_last_transient = e && lv_code_transient(e->code);
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s %s: %s", what, name,
		e && e->message ? e->message : "unknown libvirt error");
}

typedef int (*lv_op_fn)(struct lv *lv, const void *arg, void *out, struct sbx_err *err);

/* Copy every message of src into dst. */
static void lv_err_move(struct sbx_err *dst, struct sbx_err *src)
{
	for (size_t i = 0; i < src->n; i++)
		sbx_err_set(dst, src->code ? src->code : SBX_EXIT_FAILED, "%s", src->msgs[i].text);
	if (src->hint)
		sbx_err_hint(dst, "%s", src->hint);
	sbx_err_clear(src);
}

/* Run an idempotent operation, retrying transient libvirt errors with backoff. */
static int lv_retry(struct lv *lv, lv_op_fn fn, const void *arg, void *out, struct sbx_err *err)
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
	free(real);
	*out = lv;
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

/* --- XML helpers -------------------------------------------------------------------------- */

/* Append `<tag>escaped text</tag>`. */
static void xml_elem(struct sbx_buf *b, const char *tag, const char *text)
{
	char *t = sbx_xml_escape(text);
	sbx_buf_printf(b, "<%s>%s</%s>", tag, t, tag);
	free(t);
}

/* The value of attribute `attr` in an XML fragment (first occurrence; caller frees), or NULL. */
static char *xml_attr(const char *xml, const char *attr)
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

/* --- networks ----------------------------------------------------------------------------- */

/* "a.b.c.0/24" → "a.b.c" (caller frees), or NULL when not a /24. */
static char *net_prefix(const char *cidr)
{
	struct in_addr a;
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (slash == NULL || strcmp(slash, "/24") != 0)
		return NULL;
	char *ip = xstrndup(cidr, (size_t)(slash - cidr));
	char *dot = strrchr(ip, '.');
	if (inet_pton(AF_INET, ip, &a) != 1 || dot == NULL) {
		free(ip);
		return NULL;
	}
	*dot = '\0';
	return ip;
}

/* One <host/> DHCP entry. */
static char *net_host_xml(const struct lv_host *h)
{
	char *mac = sbx_xml_escape(h->mac), *ip = sbx_xml_escape(h->ip), *name = sbx_xml_escape(h->name);
	char *s = xasprintf("<host mac='%s' name='%s' ip='%s'/>", mac, name, ip);
	free(mac);
	free(ip);
	free(name);
	return s;
}

/* The network's XML. */
static char *net_xml(const struct lv_net_spec *s, const char *prefix)
{
	struct sbx_buf b = {0};
	char *bridge = sbx_xml_escape(s->bridge);
	sbx_buf_puts(&b, "<network>");
	xml_elem(&b, "name", s->name);
	if (s->nat)
		sbx_buf_puts(&b, "<forward mode='nat'/>");
	sbx_buf_printf(&b, "<bridge name='%s' stp='on' delay='0'/>", bridge);
	sbx_buf_printf(&b, "<ip address='%s.1' netmask='255.255.255.0'><dhcp>", prefix);
	sbx_buf_printf(&b, "<range start='%s.100' end='%s.199'/>", prefix, prefix);
	for (size_t i = 0; i < s->nhosts; i++) {
		char *h = net_host_xml(&s->hosts[i]);
		sbx_buf_puts(&b, h);
		free(h);
	}
	sbx_buf_puts(&b, "</dhcp></ip></network>");
	free(bridge);
	return sbx_buf_steal(&b);
}

/* Define (and mark autostart) the network; a concurrent define by someone else is fine. */
static virNetworkPtr net_define(struct lv *lv, const struct lv_net_spec *s, const char *prefix,
	struct sbx_err *err)
{
	char *xml = net_xml(s, prefix);
	virNetworkPtr net = virNetworkDefineXML(lv->conn, xml);
	if (net == NULL && (net = virNetworkLookupByName(lv->conn, s->name)) == NULL)
		lv_fail(err, "cannot define network", s->name);
	if (net)
		virNetworkSetAutostart(net, 1);
	free(xml);
	return net;
}

/* Refuse an existing network whose address or forward mode differs from the spec. */
static int net_check(virNetworkPtr net, const struct lv_net_spec *s, const char *prefix,
	const char *xml, struct sbx_err *err)
{
	char *want = xasprintf("<ip address='%s.1'", prefix);
	bool ip_ok = strstr(xml, want) != NULL;
	bool nat = strstr(xml, "<forward mode='nat'") != NULL;
	free(want);
	(void)net;
	if (ip_ok && nat == s->nat)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED, "network %s exists with a different %s", s->name,
		ip_ok ? "forward mode" : "address");
	sbx_err_hint(err, "delete it (`sandbox down`) or choose another network cidr");
	return -1;
}

/* Add the DHCP host entries the network does not have yet (live and persistent). */
static int net_hosts_add(virNetworkPtr net, const struct lv_net_spec *s, const char *xml,
	struct sbx_err *err)
{
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	if (virNetworkIsActive(net) == 1)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	for (size_t i = 0; i < s->nhosts; i++) {
		char *needle = xasprintf("mac='%s'", s->hosts[i].mac);
		bool have = strcasestr(xml, needle) != NULL;
		free(needle);
		if (have)
			continue;
		char *h = net_host_xml(&s->hosts[i]);
		int rc = virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
			VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, h, flags);
		free(h);
		if (rc < 0)
			return lv_fail(err, "cannot add a DHCP host to network", s->name);
	}
	return 0;
}

/* Converge an existing network: same address and mode, every host entry present. */
static int net_converge(virNetworkPtr net, const struct lv_net_spec *s, const char *prefix,
	struct sbx_err *err)
{
	char *xml = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
	int rc = -1;
	if (xml == NULL) /* the test driver knows no flags */
		xml = virNetworkGetXMLDesc(net, 0);
	if (xml == NULL)
		return lv_fail(err, "cannot read network", s->name);
	if (net_check(net, s, prefix, xml, err) == 0 && net_hosts_add(net, s, xml, err) == 0)
		rc = 0;
	free(xml);
	return rc;
}

/* One attempt at lv_net_ensure. */
static int net_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_net_spec *s = arg;
	char *prefix = net_prefix(s->cidr);
	virNetworkPtr net = NULL;
	int rc = -1;
	(void)out;
	if (prefix == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "network %s: cidr '%s' is not an a.b.c.0/24", s->name,
			s->cidr ? s->cidr : "");
		goto out;
	}
	net = virNetworkLookupByName(lv->conn, s->name);
	if (net == NULL && lv_code() != VIR_ERR_NO_NETWORK) {
		lv_fail(err, "cannot look up network", s->name);
		goto out;
	}
	if (net == NULL ? (net = net_define(lv, s, prefix, err)) == NULL : net_converge(net, s, prefix, err) < 0)
		goto out;
	if (virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0 && virNetworkIsActive(net) != 1) {
		lv_fail(err, "cannot start network", s->name);
		goto out;
	}
	rc = 0;
out:
	if (net)
		virNetworkFree(net);
	free(prefix);
	return rc;
}

/* Create or converge a network. */
int lv_net_ensure(struct lv *lv, const struct lv_net_spec *spec, struct sbx_err *err)
{
	if (spec->bridge == NULL || strlen(spec->bridge) > 15 || spec->bridge[0] == '\0')
		return sbx_err_set(err, SBX_EXIT_USAGE, "network %s: bridge name must be 1-15 characters",
			spec->name);
	return lv_retry(lv, net_ensure_once, spec, NULL, err);
}

/* One attempt at lv_net_delete. */
static int net_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const char *name = arg;
	int rc = -1;
	(void)out;
	virNetworkPtr net = virNetworkLookupByName(lv->conn, name);
	if (net == NULL)
		return lv_code() == VIR_ERR_NO_NETWORK ? 0 : lv_fail(err, "cannot look up network", name);
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0 && virNetworkIsActive(net) == 1) {
		lv_fail(err, "cannot stop network", name);
		goto out;
	}
	if (virNetworkUndefine(net) < 0 && lv_code() != VIR_ERR_NO_NETWORK) {
		lv_fail(err, "cannot undefine network", name);
		goto out;
	}
	rc = 0;
out:
	virNetworkFree(net);
	return rc;
}

/* Stop and undefine a network; absent is success. */
int lv_net_delete(struct lv *lv, const char *name, struct sbx_err *err)
{
	return lv_retry(lv, net_delete_once, name, NULL, err);
}

/* --- storage pool ------------------------------------------------------------------------- */

struct pool_arg {
	const char *name, *path;
};

/* Define, build and mark autostart the dir pool. */
static virStoragePoolPtr pool_define(struct lv *lv, const struct pool_arg *a, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "<pool type='dir'>");
	xml_elem(&b, "name", a->name);
	sbx_buf_puts(&b, "<target>");
	xml_elem(&b, "path", a->path);
	sbx_buf_puts(&b, "<permissions><mode>0755</mode></permissions></target></pool>");
	char *xml = sbx_buf_steal(&b);
	virStoragePoolPtr pool = virStoragePoolDefineXML(lv->conn, xml, 0);
	free(xml);
	if (pool == NULL && (pool = virStoragePoolLookupByName(lv->conn, a->name)) == NULL) {
		lv_fail(err, "cannot define storage pool", a->name);
		return NULL;
	}
	if (!lv->test)
		virStoragePoolBuild(pool, 0);
	virStoragePoolSetAutostart(pool, 1);
	return pool;
}

/* One attempt at lv_pool_ensure. */
static int pool_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct pool_arg *a = arg;
	int rc = -1;
	(void)out;
	if (!lv->test && sbx_mkdir_p(a->path, 0755, err) < 0)
		return -1;
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, a->name);
	if (pool == NULL && lv_code() != VIR_ERR_NO_STORAGE_POOL)
		return lv_fail(err, "cannot look up storage pool", a->name);
	if (pool == NULL && (pool = pool_define(lv, a, err)) == NULL)
		return -1;
	if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0 &&
		virStoragePoolIsActive(pool) != 1) {
		lv_fail(err, "cannot start storage pool", a->name);
		goto out;
	}
	rc = 0;
out:
	virStoragePoolFree(pool);
	return rc;
}

/* Create/start the dir pool when absent. */
int lv_pool_ensure(struct lv *lv, const char *pool, const char *path, struct sbx_err *err)
{
	struct pool_arg a = {pool, path};
	return lv_retry(lv, pool_ensure_once, &a, NULL, err);
}

/* Look up a pool that must exist. */
static virStoragePoolPtr pool_get(struct lv *lv, const char *name, struct sbx_err *err)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, name);
	if (pool == NULL) {
		lv_fail(err, "cannot find storage pool", name);
		sbx_err_hint(err, "the pool is created by lv_pool_ensure (sandbox up)");
	}
	return pool;
}

/* --- volumes ------------------------------------------------------------------------------ */

/* The virtual size of a qcow2 (header) or raw (file size) image. */
static int image_virtual_size(const char *path, uint64_t *size, struct sbx_err *err)
{
	unsigned char h[32];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open base image %s: %s", path, strerror(errno));
	}
	ssize_t n = read(fd, h, sizeof h);
	close(fd);
	uint64_t v = (uint64_t)st.st_size;
	if (n == (ssize_t)sizeof h && memcmp(h, "QFI\xfb", 4) == 0) {
		v = 0;
		for (int i = 24; i < 32; i++)
			v = (v << 8) | h[i];
	}
	*size = v;
	return 0;
}

/* The overlay's XML: a qcow2 volume backed by spec->backing (or empty). */
static char *vol_xml(const struct lv_vol_spec *s, uint64_t capacity)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "<volume type='file'>");
	xml_elem(&b, "name", s->name);
	sbx_buf_printf(&b, "<capacity unit='bytes'>%llu</capacity>", (unsigned long long)capacity);
	sbx_buf_puts(&b, "<target><format type='qcow2'/><permissions><mode>0644</mode></permissions></target>");
	if (s->backing) {
		char *fmt = sbx_xml_escape(s->backing_format ? s->backing_format : "qcow2");
		sbx_buf_puts(&b, "<backingStore>");
		xml_elem(&b, "path", s->backing);
		sbx_buf_printf(&b, "<format type='%s'/></backingStore>", fmt);
		free(fmt);
	}
	sbx_buf_puts(&b, "</volume>");
	return sbx_buf_steal(&b);
}

/* Create the overlay volume in pool. */
static virStorageVolPtr vol_create(struct lv *lv, virStoragePoolPtr pool, const struct lv_vol_spec *s,
	struct sbx_err *err)
{
	uint64_t cap = s->capacity, base = 0;
	if (s->backing && !lv->test && image_virtual_size(s->backing, &base, err) < 0)
		return NULL;
	if (cap < base)
		cap = base;
	if (cap == 0)
		cap = 1ULL << 30;
	char *xml = vol_xml(s, cap);
	virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (vol == NULL && (vol = virStorageVolLookupByName(pool, s->name)) == NULL)
		lv_fail(err, "cannot create volume", s->name);
	return vol;
}

/* One attempt at lv_vol_ensure. */
static int vol_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_vol_spec *s = arg;
	virStorageVolPtr vol = NULL;
	char *path = NULL;
	virStoragePoolPtr pool = pool_get(lv, s->pool, err);
	if (pool == NULL)
		return -1;
	vol = virStorageVolLookupByName(pool, s->name);
	if (vol == NULL && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		lv_fail(err, "cannot look up volume", s->name);
	else if (vol == NULL)
		vol = vol_create(lv, pool, s, err);
	if (vol && (path = virStorageVolGetPath(vol)) == NULL)
		lv_fail(err, "cannot get the path of volume", s->name);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	if (path == NULL)
		return -1;
	*(char **)out = path;
	return 0;
}

/* Create the overlay volume when absent. */
int lv_vol_ensure(struct lv *lv, const struct lv_vol_spec *spec, char **path, struct sbx_err *err)
{
	char *p = NULL;
	if (lv_retry(lv, vol_ensure_once, spec, &p, err) < 0)
		return -1;
	*path = xstrdup(p);
	free(p); /* allocated by libvirt */
	return 0;
}

struct vol_arg {
	const char *pool, *name;
};

/* One attempt at lv_vol_delete. */
static int vol_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct vol_arg *a = arg;
	int rc = 0;
	(void)out;
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, a->pool);
	if (pool == NULL)
		return lv_code() == VIR_ERR_NO_STORAGE_POOL ? 0 : lv_fail(err, "cannot look up storage pool", a->pool);
	virStorageVolPtr vol = virStorageVolLookupByName(pool, a->name);
	if (vol == NULL && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		rc = lv_fail(err, "cannot look up volume", a->name);
	if (vol && virStorageVolDelete(vol, 0) < 0 && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		rc = lv_fail(err, "cannot delete volume", a->name);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

/* Delete a volume; an absent pool or volume is success. */
int lv_vol_delete(struct lv *lv, const char *pool, const char *name, struct sbx_err *err)
{
	struct vol_arg a = {pool, name};
	return lv_retry(lv, vol_delete_once, &a, NULL, err);
}

/* --- seeds -------------------------------------------------------------------------------- */

/* Stream source: read the next chunk of the ISO. */
static int seed_read(virStreamPtr st, char *buf, size_t n, void *opaque)
{
	(void)st;
	return (int)read(*(int *)opaque, buf, n);
}

/* Upload a local file into a volume. */
static int seed_upload(struct lv *lv, virStorageVolPtr vol, const char *file, uint64_t size,
	const char *name, struct sbx_err *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = -1;
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open %s: %s", file, strerror(errno));
	virStreamPtr st = virStreamNew(lv->conn, 0);
	if (st == NULL || virStorageVolUpload(vol, st, 0, size, 0) < 0) {
		lv_fail(err, "cannot upload seed", name);
		goto out;
	}
	if (virStreamSendAll(st, seed_read, &fd) < 0 || virStreamFinish(st) < 0) {
		lv_fail(err, "cannot upload seed", name);
		virStreamAbort(st);
		goto out;
	}
	rc = 0;
out:
	if (st)
		virStreamFree(st);
	close(fd);
	return rc;
}

/* (Re)create the seed volume with `size` bytes and fill it from `file` (NULL: test driver). */
static virStorageVolPtr seed_create(struct lv *lv, virStoragePoolPtr pool, const char *name,
	const char *file, uint64_t size, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
	if (vol) {
		virStorageVolDelete(vol, 0);
		virStorageVolFree(vol);
	}
	sbx_buf_puts(&b, "<volume type='file'>");
	xml_elem(&b, "name", name);
	sbx_buf_printf(&b, "<capacity unit='bytes'>%llu</capacity>", (unsigned long long)size);
	sbx_buf_puts(&b, "<target><format type='raw'/><permissions><mode>0644</mode></permissions></target></volume>");
	char *xml = sbx_buf_steal(&b);
	vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (vol == NULL) {
		lv_fail(err, "cannot create seed volume", name);
		return NULL;
	}
	if (file && seed_upload(lv, vol, file, size, name, err) < 0) {
		virStorageVolDelete(vol, 0);
		virStorageVolFree(vol);
		return NULL;
	}
	return vol;
}

/* Build the ISO in a temp dir and put it into the pool as volume spec->name. */
static virStorageVolPtr seed_build(struct lv *lv, virStoragePoolPtr pool, const struct lv_seed_spec *s,
	struct sbx_err *err)
{
	char tmpl[] = "/tmp/sbx-seed.XXXXXX";
	struct stat st;
	virStorageVolPtr vol = NULL;
	if (lv->test) /* no files behind test-driver volumes */
		return seed_create(lv, pool, s->name, NULL, 2048 * 16, err);
	if (mkdtemp(tmpl) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot create a temp dir: %s", strerror(errno));
		return NULL;
	}
	char *iso = sbx_path_join(tmpl, "seed.iso");
	if (cloudinit_iso_write(iso, s->meta_data, s->user_data, s->network_config, err) == 0 &&
		stat(iso, &st) == 0)
		vol = seed_create(lv, pool, s->name, iso, (uint64_t)st.st_size, err);
	sbx_rm_rf(tmpl);
	free(iso);
	return vol;
}

/* One attempt at lv_seed_ensure. */
static int seed_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_seed_spec *s = arg;
	char *path = NULL;
	virStoragePoolPtr pool = pool_get(lv, s->pool, err);
	if (pool == NULL)
		return -1;
	virStorageVolPtr vol = seed_build(lv, pool, s, err);
	if (vol && (path = virStorageVolGetPath(vol)) == NULL)
		lv_fail(err, "cannot get the path of volume", s->name);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	if (path == NULL)
		return -1;
	*(char **)out = path;
	return 0;
}

/* Write the seed volume (rewritten on every call, so it always matches the spec). */
int lv_seed_ensure(struct lv *lv, const struct lv_seed_spec *spec, char **path, struct sbx_err *err)
{
	char *p = NULL;
	if (lv_retry(lv, seed_ensure_once, spec, &p, err) < 0)
		return -1;
	*path = xstrdup(p);
	free(p);
	return 0;
}

/* --- domains ------------------------------------------------------------------------------ */

/* Append the <metadata> element. */
static void dom_xml_meta(struct sbx_buf *b, const struct lv_dom_spec *s, const char *hash)
{
	char *env = sbx_xml_escape(s->env), *id = sbx_xml_escape(s->env_id ? s->env_id : "");
	char *node = sbx_xml_escape(s->node ? s->node : "");
	sbx_buf_printf(b, "<metadata><sbx:env xmlns:sbx='%s' name='%s' id='%s' node='%s' index='%d'"
		" spec='%s'/></metadata>", LV_NS, env, id, node, s->index, hash);
	free(env);
	free(id);
	free(node);
}

/* Append <os>: direct kernel boot when a kernel is given. */
static void dom_xml_os(struct sbx_buf *b, const struct lv_dom_spec *s)
{
	sbx_buf_puts(b, "<os><type arch='x86_64'>hvm</type>");
	if (s->kernel) {
		xml_elem(b, "kernel", s->kernel);
		if (s->initrd)
			xml_elem(b, "initrd", s->initrd);
		if (s->cmdline)
			xml_elem(b, "cmdline", s->cmdline);
	}
	sbx_buf_puts(b, "<boot dev='hd'/></os><features><acpi/><apic/></features><clock offset='utc'/>"
		"<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>");
}

/* Append a file-backed disk. */
static void dom_xml_disk(struct sbx_buf *b, const char *device, const char *fmt, const char *file,
	const char *target)
{
	char *f = sbx_xml_escape(file);
	sbx_buf_printf(b, "<disk type='file' device='%s'><driver name='qemu' type='%s'/><source file='%s'/>"
		"<target dev='%s' bus='%s'/>%s</disk>", device, fmt, f, target,
		strcmp(device, "cdrom") == 0 ? "ide" : "virtio",
		strcmp(device, "cdrom") == 0 ? "<readonly/>" : "");
	free(f);
}

/* Append the NICs. */
static void dom_xml_nics(struct sbx_buf *b, const struct lv_dom_spec *s)
{
	for (size_t i = 0; i < s->nnics; i++) {
		char *mac = sbx_xml_escape(s->nics[i].mac), *net = sbx_xml_escape(s->nics[i].network);
		sbx_buf_printf(b, "<interface type='network'><mac address='%s'/><source network='%s'/>"
			"<model type='virtio'/></interface>", mac, net);
		free(mac);
		free(net);
	}
}

/* The domain's XML; `hash` goes into the metadata (the spec hash, "" while computing it); `uuid`
 * is the existing domain's when redefining, else NULL. */
static char *dom_xml(struct lv *lv, const struct lv_dom_spec *s, const char *hash, const char *uuid)
{
	struct sbx_buf b = {0};
	sbx_buf_printf(&b, "<domain type='%s'>", lv->test ? "test" : s->type ? s->type : "qemu");
	xml_elem(&b, "name", s->name);
	if (uuid)
		xml_elem(&b, "uuid", uuid);
	dom_xml_meta(&b, s, hash);
	sbx_buf_printf(&b, "<memory unit='KiB'>%llu</memory><vcpu>%d</vcpu>",
		(unsigned long long)(s->memory / 1024), s->vcpus > 0 ? s->vcpus : 1);
	dom_xml_os(&b, s);
	sbx_buf_puts(&b, "<devices>");
	dom_xml_disk(&b, "disk", "qcow2", s->disk, "vda");
	if (s->seed)
		dom_xml_disk(&b, "cdrom", "raw", s->seed, "hdc");
	dom_xml_nics(&b, s);
	if (!lv->test) {
		char *name = sbx_xml_escape(s->name);
		sbx_buf_printf(&b, "<serial type='pty'><log file='%s/%s-console.log' append='off'/>"
			"<target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>"
			"<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
			"<memballoon model='none'/>", LV_CONSOLE_DIR, name);
		free(name);
	}
	sbx_buf_puts(&b, "</devices></domain>");
	return sbx_buf_steal(&b);
}

/* The spec hash recorded in a domain's metadata (caller frees), or NULL. */
static char *dom_meta_attr(virDomainPtr dom, const char *attr)
{
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LV_NS, VIR_DOMAIN_AFFECT_CONFIG);
	char *v = xml_attr(meta, attr);
	free(meta);
	return v;
}

/* Define the domain from xml; a concurrent define of the same XML is fine. */
static virDomainPtr dom_define(struct lv *lv, const char *name, const char *xml, struct sbx_err *err)
{
	virDomainPtr dom = virDomainDefineXML(lv->conn, xml);
	if (dom == NULL && (dom = virDomainLookupByName(lv->conn, name)) == NULL)
		lv_fail(err, "cannot define domain", name);
	return dom;
}

/* Hard-stop a running domain, retrying while QEMU is slow to die. */
static int dom_stop(virDomainPtr dom, const char *name, struct sbx_err *err)
{
	struct sbx_backoff b;
	sbx_backoff_init(&b, 20000, 100, 2000);
	while (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
		if (lv_code() == VIR_ERR_NO_DOMAIN || virDomainIsActive(dom) == 0)
			return 0;
		if (sbx_backoff_wait(&b) < 0)
			return lv_fail(err, "cannot stop domain", name);
	}
	return 0;
}

/* Redefine an existing domain (same UUID) whose recorded spec differs; a running one is stopped. */
static int dom_converge(struct lv *lv, virDomainPtr *dom, const struct lv_dom_spec *s, const char *hash,
	struct sbx_err *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *have = dom_meta_attr(*dom, "spec");
	bool same = sbx_streq(have, hash);
	free(have);
	if (same)
		return 0;
	if (virDomainGetUUIDString(*dom, uuid) < 0)
		return lv_fail(err, "cannot read the uuid of domain", s->name);
	if (virDomainIsActive(*dom) == 1 && dom_stop(*dom, s->name, err) < 0)
		return -1;
	char *xml = dom_xml(lv, s, hash, uuid);
	virDomainPtr d = virDomainDefineXML(lv->conn, xml);
	free(xml);
	if (d == NULL)
		return lv_fail(err, "cannot redefine domain", s->name);
	virDomainFree(*dom);
	*dom = d;
	return 0;
}

/* One attempt at lv_dom_ensure. */
static int dom_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_dom_spec *s = arg;
	char hash[65];
	int rc = -1;
	(void)out;
	char *draft = dom_xml(lv, s, "", NULL);
	sbx_sha256_hex(draft, strlen(draft), hash);
	char *xml = dom_xml(lv, s, hash, NULL);
	virDomainPtr dom = virDomainLookupByName(lv->conn, s->name);
	if (dom == NULL && lv_code() != VIR_ERR_NO_DOMAIN)
		lv_fail(err, "cannot look up domain", s->name);
	else if (dom == NULL ? (dom = dom_define(lv, s->name, xml, err)) != NULL
			     : dom_converge(lv, &dom, s, hash, err) == 0)
		rc = 0;
	if (rc == 0 && virDomainIsActive(dom) != 1 && virDomainCreate(dom) < 0 && virDomainIsActive(dom) != 1)
		rc = lv_fail(err, "cannot start domain", s->name);
	if (dom)
		virDomainFree(dom);
	free(draft);
	free(xml);
	return rc;
}

/* Define (or redefine) and start a domain. */
int lv_dom_ensure(struct lv *lv, const struct lv_dom_spec *spec, struct sbx_err *err)
{
	if (spec->name == NULL || spec->disk == NULL || spec->env == NULL)
		return sbx_err_set(err, SBX_EXIT_USAGE, "domain spec needs a name, an env and a disk");
	return lv_retry(lv, dom_ensure_once, spec, NULL, err);
}

/* One attempt at lv_dom_delete. */
static int dom_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const char *name = arg;
	int rc = -1;
	(void)out;
	virDomainPtr dom = virDomainLookupByName(lv->conn, name);
	if (dom == NULL)
		return lv_code() == VIR_ERR_NO_DOMAIN ? 0 : lv_fail(err, "cannot look up domain", name);
	if (dom_stop(dom, name, err) < 0)
		goto out;
	if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0 && lv_code() != VIR_ERR_NO_DOMAIN) {
		lv_fail(err, "cannot undefine domain", name);
		goto out;
	}
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

/* Destroy and undefine a domain (and drop its console log); absent is success. */
int lv_dom_delete(struct lv *lv, const char *name, struct sbx_err *err)
{
	if (lv_retry(lv, dom_delete_once, name, NULL, err) < 0)
		return -1;
	if (!lv->test && strchr(name, '/') == NULL) {
		char *log = xasprintf("%s/%s-console.log", LV_CONSOLE_DIR, name);
		unlink(log);
		free(log);
	}
	return 0;
}

/* --- listing and gc ----------------------------------------------------------------------- */

struct obj_list {
	struct lv_obj *v;
	size_t n, cap;
};

/* Append an object. */
static void objs_add(struct obj_list *l, const char *kind, const char *name, char *env, const char *pool)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = (struct lv_obj){xstrdup(kind), xstrdup(name), env, xstrdup(pool)};
}

/* Our domains (name sbx-*), env from metadata. */
static int list_domains(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(lv->conn, &doms, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "domains");
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "domain", name, dom_meta_attr(doms[i], "name"), NULL);
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

/* Our networks (name sbx-*). */
static int list_networks(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(lv->conn, &nets, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "networks");
	for (int i = 0; i < n; i++) {
		const char *name = virNetworkGetName(nets[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "network", name, NULL, NULL);
		virNetworkFree(nets[i]);
	}
	free(nets);
	return 0;
}

/* Our volumes (name sbx-*) in one active pool. */
static void list_pool_volumes(virStoragePoolPtr pool, struct obj_list *l)
{
	virStorageVolPtr *vols = NULL;
	const char *pname = virStoragePoolGetName(pool);
	virStoragePoolRefresh(pool, 0);
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "volume", name, NULL, pname);
		virStorageVolFree(vols[i]);
	}
	free(vols);
}

/* Our volumes in every active pool. */
static int list_volumes(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(lv->conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	if (n < 0)
		return lv_fail(err, "cannot list", "storage pools");
	for (int i = 0; i < n; i++) {
		list_pool_volumes(pools[i], l);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return 0;
}

/* The environment owning an object without metadata: the longest known env whose prefix
 * "sbx-<env>-" its name carries (env names may contain '-'), or NULL. */
static const char *obj_owner(const struct obj_list *l, const char *want, const char *name)
{
	const char *best = NULL;
	for (size_t i = 0; i <= l->n; i++) {
		const char *e = i < l->n ? l->v[i].env : want;
		if (e == NULL || (best && strlen(e) <= strlen(best)))
			continue;
		size_t n = strlen(e);
		if (strncmp(name, "sbx-", 4) == 0 && strncmp(name + 4, e, n) == 0 && name[4 + n] == '-')
			best = e;
	}
	return best;
}

/* Whether a listed object belongs to env. */
static bool obj_keep(const struct obj_list *l, const struct lv_obj *o, const char *env)
{
	if (env == NULL)
		return true;
	if (o->env)
		return strcmp(o->env, env) == 0;
	return sbx_streq(obj_owner(l, env, o->name), env);
}

/* Free one object's strings. */
static void obj_clear(struct lv_obj *o)
{
	free(o->kind);
	free(o->name);
	free(o->env);
	free(o->pool);
}

/* List our objects, optionally only those of one environment. */
int lv_list_ours(struct lv *lv, const char *env, struct lv_obj **out, size_t *n, struct sbx_err *err)
{
	struct obj_list l = {0};
	size_t kept = 0;
	if (list_domains(lv, &l, err) < 0 || list_networks(lv, &l, err) < 0 || list_volumes(lv, &l, err) < 0) {
		lv_obj_list_free(l.v, l.n);
		return -1;
	}
	bool *keep = xcalloc(l.n + 1, sizeof *keep);
	for (size_t i = 0; i < l.n; i++)
		keep[i] = obj_keep(&l, &l.v[i], env);
	for (size_t i = 0; i < l.n; i++) {
		if (keep[i])
			l.v[kept++] = l.v[i];
		else
			obj_clear(&l.v[i]);
	}
	free(keep);
	*out = l.v;
	*n = kept;
	return 0;
}

/* Free a list from lv_list_ours. */
void lv_obj_list_free(struct lv_obj *objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		obj_clear(&objs[i]);
	free(objs);
}

/* Delete a domain or network object. */
static int obj_delete_named(struct lv *lv, const struct lv_obj *o, struct sbx_err *err)
{
	return sbx_streq(o->kind, "domain") ? lv_dom_delete(lv, o->name, err) : lv_net_delete(lv, o->name, err);
}

/* Delete a volume object. */
static int obj_delete_vol(struct lv *lv, const struct lv_obj *o, struct sbx_err *err)
{
	return lv_vol_delete(lv, o->pool ? o->pool : "", o->name, err);
}

/* How each kind of object is deleted. */
static const struct {
	const char *kind;
	int (*del)(struct lv *, const struct lv_obj *, struct sbx_err *);
} obj_deleters[] = {
	{"domain", obj_delete_named},
	{"network", obj_delete_named},
	{"volume", obj_delete_vol},
};

/* Delete one listed object. */
int lv_obj_delete(struct lv *lv, const struct lv_obj *obj, struct sbx_err *err)
{
	for (size_t i = 0; i < SBX_NELEM(obj_deleters); i++)
		if (sbx_streq(obj->kind, obj_deleters[i].kind))
			return obj_deleters[i].del(lv, obj, err);
	return sbx_err_set(err, SBX_EXIT_FAILED, "cannot delete %s %s: unknown kind", obj->kind, obj->name);
}

/* One attempt at lv_pool_delete. */
static int pool_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const char *name = arg;
	int rc = -1;
	(void)out;
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, name);
	if (pool == NULL)
		return lv_code() == VIR_ERR_NO_STORAGE_POOL ? 0 : lv_fail(err, "cannot look up storage pool", name);
	if (virStoragePoolIsActive(pool) == 1 && virStoragePoolDestroy(pool) < 0 &&
		virStoragePoolIsActive(pool) == 1) {
		lv_fail(err, "cannot stop storage pool", name);
		goto out;
	}
	if (virStoragePoolUndefine(pool) < 0 && lv_code() != VIR_ERR_NO_STORAGE_POOL) {
		lv_fail(err, "cannot undefine storage pool", name);
		goto out;
	}
	rc = 0;
out:
	virStoragePoolFree(pool);
	return rc;
}

/* Stop and undefine a pool; absent is success. */
int lv_pool_delete(struct lv *lv, const char *pool, struct sbx_err *err)
{
	return lv_retry(lv, pool_delete_once, pool, NULL, err);
}
