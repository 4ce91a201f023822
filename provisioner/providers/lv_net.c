/* lv_net — libvirt networks: their XML, define, converge (address, mode, DHCP hosts), delete. */
#include "lv_int.h"

#include <stdlib.h>
#include <string.h>

#include "ip4.h"

/* The bridge address (.1) of a /24, or NULL when cidr is not one; caller frees. */
static char *net_gateway(const char *cidr)
{
	return ip4_host(cidr, 1);
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

#define LV_OWNER_TXT "sbx-owner"

/* The DNS TXT record carrying the owner. */
static char *net_owner_txt(const struct lv_owner *o)
{
	char *text = lv_owner_text(o), *v = sbx_xml_escape(text);
	char *s = xasprintf("<txt name='%s' value='%s'/>", LV_OWNER_TXT, v);
	free(text);
	free(v);
	return s;
}

/* The owner read from a network's XML. */
static void net_owner_read(const char *xml, struct lv_owner_rec *out)
{
	const char *p = xml ? strstr(xml, "name='" LV_OWNER_TXT "'") : NULL;
	if (p == NULL && xml)
		p = strstr(xml, "name=\"" LV_OWNER_TXT "\"");
	const char *end = p ? strchr(p, '>') : NULL;
	char *tag = end ? xstrndup(p, (size_t)(end - p)) : NULL;
	char *v = tag ? lv_xml_attr(tag, "value") : NULL;
	lv_owner_parse(v, out);
	free(tag);
	free(v);
}

/* The DHCP range element (.100-.199); caller frees. */
static char *net_range_xml(const char *cidr)
{
	char *lo = ip4_host(cidr, 100), *hi = ip4_host(cidr, 199);
	char *s = xasprintf("<range start='%s' end='%s'/>", lo, hi);
	free(lo);
	free(hi);
	return s;
}

/* Append the <dhcp> element: the range unless machines netboot there, the host entries; none at
 * all when both are absent (libvirt's dnsmasq then serves DNS only). */
static void net_dhcp_xml(struct sbx_buf *b, const struct lv_net_spec *s)
{
	if (s->netboot && s->nhosts == 0)
		return;
	sbx_buf_puts(b, "<dhcp>");
	if (!s->netboot) {
		char *range = net_range_xml(s->cidr);
		sbx_buf_puts(b, range);
		free(range);
	}
	for (size_t i = 0; i < s->nhosts; i++) {
		char *h = net_host_xml(&s->hosts[i]);
		sbx_buf_puts(b, h);
		free(h);
	}
	sbx_buf_puts(b, "</dhcp>");
}

/* The network's XML. The bridge runs no STP: it joins only this network's taps (no loop to break),
 * and with STP on the kernel holds every new port for twice its forward delay (at least 2 s each)
 * before forwarding: a warm pool member's NIC moved here would be unreachable for about 4 s, and a
 * network-booting machine's first DHCP requests would go unanswered. */
static char *net_xml(const struct lv_net_spec *s, const char *gw)
{
	struct sbx_buf b = {0};
	char *bridge = sbx_xml_escape(s->bridge), *txt = net_owner_txt(&s->owner);
	sbx_buf_puts(&b, "<network>");
	lv_xml_elem(&b, "name", s->name);
	if (s->nat)
		sbx_buf_puts(&b, "<forward mode='nat'/>");
	sbx_buf_printf(&b, "<bridge name='%s' stp='off' delay='0'/>", bridge);
	sbx_buf_printf(&b, "<dns>%s</dns>", txt);
	sbx_buf_printf(&b, "<ip address='%s' netmask='255.255.255.0'>", gw);
	net_dhcp_xml(&b, s);
	sbx_buf_puts(&b, "</ip></network>");
	free(bridge);
	free(txt);
	return sbx_buf_steal(&b);
}

/* Define (and mark autostart) the network; a concurrent define by someone else is fine. */
static virNetworkPtr net_define(struct lv *lv, const struct lv_net_spec *s, const char *gw,
	struct sbx_err *err)
{
	char *xml = net_xml(s, gw);
	virNetworkPtr net = virNetworkDefineXML(lv->conn, xml);
	if (net == NULL && (net = virNetworkLookupByName(lv->conn, s->name)) == NULL)
		lv_fail(err, "cannot define network", s->name);
	if (net)
		virNetworkSetAutostart(net, 1);
	free(xml);
	return net;
}

/* Refuse an existing network whose address or forward mode differs from the spec. */
static int net_check(virNetworkPtr net, const struct lv_net_spec *s, const char *gw,
	const char *xml, struct sbx_err *err)
{
	char *want = xasprintf("<ip address='%s'", gw);
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

/* Add or delete the DHCP range as the spec says (live and persistent): a network that machines
 * start to boot from loses it, one they all left gets it back. */
static int net_range_converge(virNetworkPtr net, const struct lv_net_spec *s, const char *xml,
	struct sbx_err *err)
{
	bool have = strstr(xml, "<range ") != NULL;
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	if (have == !s->netboot)
		return 0;
	if (virNetworkIsActive(net) == 1)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	char *range = net_range_xml(s->cidr);
	int rc = virNetworkUpdate(net, have ? VIR_NETWORK_UPDATE_COMMAND_DELETE : VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
		VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, range, flags);
	free(range);
	if (rc < 0)
		return lv_fail(err, have ? "cannot remove the DHCP range of network" : "cannot add a DHCP range to network",
			s->name);
	return 0;
}

/* Replace the network's owner record (live and persistent). */
static int net_owner_retag(virNetworkPtr net, const struct lv_net_spec *s, bool had, struct sbx_err *err)
{
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	if (virNetworkIsActive(net) == 1)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	char *txt = net_owner_txt(&s->owner), *old = xasprintf("<txt name='%s'/>", LV_OWNER_TXT);
	int rc = 0;
	if (had && virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_TXT, -1, old,
		flags) < 0)
		rc = lv_fail(err, "cannot re-tag network", s->name);
	if (rc == 0 && virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_TXT, -1,
		txt, flags) < 0)
		rc = lv_fail(err, "cannot tag network", s->name);
	free(txt);
	free(old);
	return rc;
}

/* Refuse a network of another owner; tag an adoptable one; re-tag a changed protection. */
static int net_owner_converge(virNetworkPtr net, const struct lv_net_spec *s, const char *xml,
	struct sbx_err *err)
{
	struct lv_owner_rec have;
	net_owner_read(xml, &have);
	int rc = lv_owner_check("network", s->name, &have, &s->owner, s->adopt, err);
	if (rc == 1 || (rc == 0 && have.protect != s->owner.protect))
		rc = net_owner_retag(net, s, have.tagged, err);
	lv_owner_rec_clear(&have);
	return rc;
}

/* Converge an existing network: same address and mode, the DHCP range as wanted, every host entry
 * present. */
static int net_converge(virNetworkPtr net, const struct lv_net_spec *s, const char *gw,
	struct sbx_err *err)
{
	char *xml = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
	int rc = -1;
	if (xml == NULL) /* the test driver knows no flags */
		xml = virNetworkGetXMLDesc(net, 0);
	if (xml == NULL)
		return lv_fail(err, "cannot read network", s->name);
	if (net_owner_converge(net, s, xml, err) == 0 && net_check(net, s, gw, xml, err) == 0 &&
		net_range_converge(net, s, xml, err) == 0 && net_hosts_add(net, s, xml, err) == 0)
		rc = 0;
	free(xml);
	return rc;
}

/* One attempt at lv_net_ensure. */
static int net_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_net_spec *s = arg;
	char *gw = net_gateway(s->cidr);
	virNetworkPtr net = NULL;
	int rc = -1;
	(void)out;
	if (gw == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "network %s: cidr '%s' is not an a.b.c.0/24", s->name,
			s->cidr ? s->cidr : "");
		goto out;
	}
	net = virNetworkLookupByName(lv->conn, s->name);
	if (net == NULL && lv_code() != VIR_ERR_NO_NETWORK) {
		lv_fail(err, "cannot look up network", s->name);
		goto out;
	}
	if (net == NULL ? (net = net_define(lv, s, gw, err)) == NULL : net_converge(net, s, gw, err) < 0)
		goto out;
	if (!lv_no_start() && virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0) {
		lv_fail(err, "cannot start network", s->name);
		if (virNetworkIsActive(net) != 1)
			goto out;
		lv_unfail(err); /* started by another client meanwhile */
	}
	rc = 0;
out:
	if (net)
		virNetworkFree(net);
	free(gw);
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
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0) {
		lv_fail(err, "cannot stop network", name);
		if (virNetworkIsActive(net) == 1)
			goto out;
		lv_unfail(err); /* stopped by another client meanwhile */
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

/* One attempt at lv_net_observe. */
static int net_observe_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	struct lv_net_seen *seen = out;
	virNetworkPtr net = virNetworkLookupByName(lv->conn, arg);
	*seen = (struct lv_net_seen){0};
	if (net == NULL)
		return lv_code() == VIR_ERR_NO_NETWORK ? 0 : lv_fail(err, "cannot look up network", arg);
	seen->exists = true;
	seen->active = virNetworkIsActive(net) == 1;
	char *xml = virNetworkGetXMLDesc(net, 0);
	net_owner_read(xml, &seen->owner);
	free(xml);
	virNetworkFree(net);
	return 0;
}

/* What libvirt has for a network. */
int lv_net_observe(struct lv *lv, const char *name, struct lv_net_seen *out, struct sbx_err *err)
{
	return lv_retry(lv, net_observe_once, name, out, err);
}

/* The owner of a network's XML (for the listing). */
void lv_net_owner_of(const char *xml, struct lv_owner_rec *out)
{
	net_owner_read(xml, out);
}
