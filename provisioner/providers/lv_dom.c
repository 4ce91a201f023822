/* lv_dom — QEMU domains: their XML (spec hash in the metadata), define, converge, start, delete. */
#include "lv_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LV_NS "https://sandbox.dev/xmlns/1"
#define LV_CONSOLE_DIR "/var/log/libvirt/qemu"

/* The sbx:env element: owner (unless hashing), node, index and the spec hash. `owner` also
 * selects the form virDomainSetMetadata takes (no prefix: libvirt adds the namespace) when
 * bare is set. */
static char *dom_meta_el(const struct lv_dom_spec *s, const char *hash, bool owner, bool bare)
{
	const struct lv_owner *o = &s->owner;
	char *env = sbx_xml_escape(o->env ? o->env : ""), *id = sbx_xml_escape(o->env_id ? o->env_id : "");
	char *st = sbx_xml_escape(o->state ? o->state : ""), *node = sbx_xml_escape(s->node ? s->node : "");
	char *who = owner ? xasprintf(" state='%s' name='%s' id='%s' protect='%d'", st, env, id, o->protect ? 1 : 0) :
		xstrdup("");
	char *ns = bare ? xstrdup("<env") : xasprintf("<sbx:env xmlns:sbx='%s'", LV_NS);
	char *m = xasprintf("%s%s node='%s' index='%d' spec='%s'/>", ns, who, node, s->index, hash);
	free(ns);
	free(env);
	free(id);
	free(st);
	free(node);
	free(who);
	return m;
}

/* Append the <metadata> element. */
static void dom_xml_meta(struct sbx_buf *b, const struct lv_dom_spec *s, const char *hash)
{
	char *m = dom_meta_el(s, hash, *hash != '\0', false);
	sbx_buf_printf(b, "<metadata>%s</metadata>", m);
	free(m);
}

/* Append <os>: direct kernel boot when a kernel is given. */
static void dom_xml_os(struct sbx_buf *b, const struct lv_dom_spec *s)
{
	sbx_buf_puts(b, "<os><type arch='x86_64'>hvm</type>");
	if (s->kernel) {
		lv_xml_elem(b, "kernel", s->kernel);
		if (s->initrd)
			lv_xml_elem(b, "initrd", s->initrd);
		if (s->cmdline)
			lv_xml_elem(b, "cmdline", s->cmdline);
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
	lv_xml_elem(&b, "name", s->name);
	if (uuid)
		lv_xml_elem(&b, "uuid", uuid);
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

/* The value of attribute `attr` of a domain's sbx:env metadata (caller frees), or NULL. */
char *lv_dom_meta_attr(virDomainPtr dom, const char *attr)
{
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LV_NS, VIR_DOMAIN_AFFECT_CONFIG);
	char *v = lv_xml_attr(meta, attr);
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
		struct sbx_err why = SBX_ERR_INIT;
		bool gone = lv_code() == VIR_ERR_NO_DOMAIN;
		lv_fail(&why, "cannot stop domain", name); /* before IsActive resets libvirt's error */
		if (gone || virDomainIsActive(dom) == 0)
			return lv_unfail(&why);
		if (sbx_backoff_wait(&b) < 0) {
			lv_err_move(err, &why);
			return -1;
		}
		sbx_err_clear(&why);
	}
	return 0;
}

/* Whether the defined domain still has the spec's CPUs and memory (someone may have edited it). */
static bool dom_sized_as(virDomainPtr dom, const struct lv_dom_spec *s)
{
	virDomainInfo info;
	if (virDomainGetInfo(dom, &info) < 0)
		return true; /* cannot tell: trust the recorded hash */
	unsigned vcpus = s->vcpus > 0 ? (unsigned)s->vcpus : 1;
	return info.nrVirtCpu == vcpus && (uint64_t)info.maxMem == s->memory / 1024;
}

/* The owner recorded in a domain's metadata. */
void lv_dom_owner_of(virDomainPtr dom, struct lv_owner_rec *out)
{
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LV_NS, VIR_DOMAIN_AFFECT_CONFIG);
	char *state = lv_xml_attr(meta, "state"), *id = lv_xml_attr(meta, "id"), *prot = lv_xml_attr(meta, "protect");
	*out = (struct lv_owner_rec){0};
	if (state && *state && id && *id) {
		*out = (struct lv_owner_rec){state, id, lv_xml_attr(meta, "name"), sbx_streq(prot, "1"), true};
		state = id = NULL;
	}
	free(meta);
	free(state);
	free(id);
	free(prot);
}

/* Rewrite the metadata in place (a changed protection flag needs no restart). */
static int dom_retag(virDomainPtr dom, const struct lv_dom_spec *s, const char *hash, struct sbx_err *err)
{
	char *m = dom_meta_el(s, hash, true, true);
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG | (virDomainIsActive(dom) == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0);
	int rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, m, "sbx", LV_NS, flags);
	free(m);
	return rc < 0 ? lv_fail(err, "cannot update the metadata of domain", s->name) : 0;
}

/* Whether an existing domain may be converged: refuse another owner's; 1 when it needs a
 * redefinition to carry our owner (adopted), 2 when only its protection flag changed. */
static int dom_owner_converge(virDomainPtr dom, const struct lv_dom_spec *s, struct sbx_err *err)
{
	struct lv_owner_rec have;
	lv_dom_owner_of(dom, &have);
	int rc = lv_owner_check("domain", s->name, &have, &s->owner, s->adopt, err);
	if (rc == 0 && have.protect != s->owner.protect)
		rc = 2;
	lv_owner_rec_clear(&have);
	return rc;
}

/* Redefine an existing domain (same UUID) whose recorded spec differs, or whose size was changed
 * behind our back; a running one is stopped. Another owner's domain is refused untouched. */
static int dom_converge(struct lv *lv, virDomainPtr *dom, const struct lv_dom_spec *s, const char *hash,
	struct sbx_err *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	int owner = dom_owner_converge(*dom, s, err);
	if (owner < 0)
		return -1;
	char *have = lv_dom_meta_attr(*dom, "spec");
	bool same = owner != 1 && sbx_streq(have, hash) && dom_sized_as(*dom, s);
	free(have);
	if (same)
		return owner == 2 ? dom_retag(*dom, s, hash, err) : 0;
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
	if (rc == 0 && !lv_no_start() && virDomainIsActive(dom) != 1 && virDomainCreate(dom) < 0) {
		rc = lv_fail(err, "cannot start domain", s->name);
		if (virDomainIsActive(dom) == 1)
			rc = lv_unfail(err); /* started by another client meanwhile */
	}
	if (dom)
		virDomainFree(dom);
	free(draft);
	free(xml);
	return rc;
}

/* Define (or redefine) and start a domain. */
int lv_dom_ensure(struct lv *lv, const struct lv_dom_spec *spec, struct sbx_err *err)
{
	if (spec->name == NULL || spec->disk == NULL || spec->owner.state == NULL || spec->owner.env_id == NULL)
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

/* The name of a libvirt domain state. */
static const char *dom_state_name(int state)
{
	static const char *const names[] = {"no state", "running", "blocked", "paused", "shutting down",
		"shut off", "crashed", "suspended"};
	return state >= 0 && (size_t)state < SBX_NELEM(names) ? names[state] : "unknown";
}

/* One attempt at lv_dom_observe. */
static int dom_observe_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	struct lv_dom_seen *seen = out;
	virDomainInfo info;
	virDomainPtr dom = virDomainLookupByName(lv->conn, arg);
	*seen = (struct lv_dom_seen){0};
	if (dom == NULL)
		return lv_code() == VIR_ERR_NO_DOMAIN ? 0 : lv_fail(err, "cannot look up domain", arg);
	int rc = virDomainGetInfo(dom, &info);
	if (rc == 0) {
		*seen = (struct lv_dom_seen){true, info.state == VIR_DOMAIN_RUNNING, dom_state_name(info.state),
			(int)info.nrVirtCpu, (uint64_t)info.maxMem * 1024, {0}};
		lv_dom_owner_of(dom, &seen->owner);
	}
	virDomainFree(dom);
	return rc == 0 ? 0 : lv_fail(err, "cannot read the state of domain", arg);
}

/* What libvirt has for a domain. */
int lv_dom_observe(struct lv *lv, const char *name, struct lv_dom_seen *out, struct sbx_err *err)
{
	return lv_retry(lv, dom_observe_once, name, out, err);
}

/* Read a domain's console log. */
int lv_dom_console(struct lv *lv, const char *name, char **text, struct sbx_err *err)
{
	if (!lv->local || strchr(name, '/') != NULL)
		return 1;
	char *path = xasprintf("%s/%s-console.log", LV_CONSOLE_DIR, name);
	struct sbx_err e = SBX_ERR_INIT;
	size_t len = 0;
	int rc = sbx_read_file(path, text, &len, &e) == 0 ? 0 : access(path, F_OK) == 0 ? 1 : 0;
	if (rc == 0 && *text == NULL)
		*text = xstrdup(""); /* not written yet: empty so far */
	sbx_err_clear(&e);
	free(path);
	(void)err;
	return rc;
}

/* The MAC of the first <interface> in a domain's XML (caller frees), or NULL. */
static char *xml_first_mac(const char *xml)
{
	const char *i = xml ? strstr(xml, "<interface") : NULL;
	const char *m = i ? strstr(i, "<mac address=") : NULL;
	if (m == NULL)
		return NULL;
	m += strlen("<mac address=");
	char q = *m++;
	const char *e = strchr(m, q);
	return e ? xstrndup(m, (size_t)(e - m)) : NULL;
}

/* The <interface> element of one NIC on a libvirt network. */
static char *nic_xml(const char *mac, const char *network)
{
	char *m = sbx_xml_escape(mac), *n = sbx_xml_escape(network);
	char *x = xasprintf("<interface type='network'><mac address='%s'/><source network='%s'/>"
		"<model type='virtio'/></interface>", m, n);
	free(m);
	free(n);
	return x;
}

/* Move the first NIC (identified by its MAC, which stays) onto the spec's first network, live and
 * in the config; attach the further NICs of the spec that the domain lacks. */
static int dom_move_nics(virDomainPtr dom, const struct lv_dom_spec *s, const char *xml, struct sbx_err *err)
{
	unsigned flags = VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG;
	for (size_t i = 0; i < s->nnics; i++) {
		if (i > 0 && strstr(xml, s->nics[i].mac) != NULL)
			continue; /* attached by an earlier attempt */
		char *nx = nic_xml(s->nics[i].mac, s->nics[i].network);
		int rc = i == 0 ? virDomainUpdateDeviceFlags(dom, nx, flags) : virDomainAttachDeviceFlags(dom, nx, flags);
		free(nx);
		if (rc < 0)
			return lv_fail(err, i == 0 ? "cannot move the network interface of domain" :
				"cannot attach a network interface to domain", s->name);
	}
	return 0;
}

/* Refuse to take over a domain that is not running or not of this session's state. */
static int dom_adoptable(virDomainPtr dom, const struct lv_dom_spec *s, struct sbx_err *err)
{
	struct lv_owner_rec have;
	lv_dom_owner_of(dom, &have);
	bool ok = have.tagged && sbx_streq(have.state, s->owner.state);
	char *who = ok ? NULL : lv_owner_describe(&have);
	lv_owner_rec_clear(&have);
	if (!ok) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "domain %s belongs to %s, not to this state: not taken over", s->name, who);
		free(who);
		return -1;
	}
	if (virDomainIsActive(dom) != 1)
		return sbx_err_set(err, SBX_EXIT_FAILED, "domain %s is not running: not taken over", s->name);
	return 0;
}

/* Tag the domain as the spec's (owner, node, index; title) in its live and persistent metadata. */
static int dom_adopt_tag(virDomainPtr dom, const struct lv_dom_spec *s, struct sbx_err *err)
{
	unsigned flags = VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG;
	char *m = dom_meta_el(s, "adopted", true, true);
	int rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, m, "sbx", LV_NS, flags);
	free(m);
	if (rc == 0 && s->title)
		rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_TITLE, s->title, NULL, NULL, flags);
	return rc < 0 ? lv_fail(err, "cannot update the metadata of domain", s->name) : 0;
}

struct dom_adopt_arg {
	const struct lv_dom_spec *s;
	bool move;
};

/* One attempt at lv_dom_adopt. */
static int dom_adopt_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct dom_adopt_arg *a = arg;
	char *xml = NULL, *mac = NULL;
	int rc = -1;
	virDomainPtr dom = virDomainLookupByName(lv->conn, a->s->name);
	if (dom == NULL)
		return lv_fail(err, "cannot look up domain", a->s->name);
	if (dom_adoptable(dom, a->s, err) < 0)
		goto out;
	if ((xml = virDomainGetXMLDesc(dom, 0)) == NULL) {
		lv_fail(err, "cannot read the definition of domain", a->s->name);
		goto out;
	}
	if ((mac = xml_first_mac(xml)) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "domain %s has no network interface", a->s->name);
		goto out;
	}
	if (a->move && a->s->nnics && strcasecmp(mac, a->s->nics[0].mac) != 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "domain %s: its first NIC is %s, not %s", a->s->name, mac, a->s->nics[0].mac);
		goto out;
	}
	if (dom_adopt_tag(dom, a->s, err) < 0 || (a->move && dom_move_nics(dom, a->s, xml, err) < 0))
		goto out;
	rc = 0;
	if (out) {
		*(char **)out = mac;
		mac = NULL;
	}
out:
	free(xml); /* allocated by libvirt: plain free */
	free(mac);
	virDomainFree(dom);
	return rc;
}

/* Take over a running domain of this state. */
int lv_dom_adopt(struct lv *lv, const struct lv_dom_spec *spec, bool move, char **mac, struct sbx_err *err)
{
	struct dom_adopt_arg a = {spec, move};
	char *m = NULL;
	if (lv->test)
		return sbx_err_set(err, SBX_EXIT_FAILED, "libvirt's test driver runs no machine to take over");
	if (lv_retry(lv, dom_adopt_once, &a, &m, err) < 0)
		return -1;
	if (mac)
		*mac = m;
	else
		free(m);
	return 0;
}
