/*
 * prov_ipmi — bare-metal machines behind a BMC (RES_MACHINE) through ipmi.c. A machine is not
 * created but claimed: ensure sets the boot device (PXE for the next boot) and powers it on,
 * delete powers it off, observe reads the chassis power (a machine that is off "is missing": up
 * powers it on again). The BMC password is resolved per call through prov_cfg.secret from the
 * resource's ${secret.NAME} reference and wiped after use. Which environment may use a machine is
 * the state's lease (env_lease.c), checked before this provider is asked anything.
 */
#include "prov_int.h"

#include "ipmi.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define PI_POWER_WAIT_MS 60000 /* the chassis must read on within this after power on */

struct pi {
	const struct prov_cfg *cfg;
};

/* Keep the session's configuration (its secret resolver). */
static int pi_open(const struct prov_cfg *cfg, void **h, struct sbx_err *err)
{
	struct pi *p = xcalloc(1, sizeof(*p));
	(void)err;
	p->cfg = cfg;
	*h = p;
	return 0;
}

/* Forget it. */
static void pi_close(void *h)
{
	free(h);
}

/* This build installs nothing on a machine yet (no network boot service): no SSH, no roles. */
static bool pi_is_test(void *h)
{
	(void)h;
	return true;
}

/* Nothing to prepare. */
static int pi_prepare(void *h, struct sbx_err *err)
{
	(void)h;
	(void)err;
	return 0;
}

/* Open a session to r's BMC with the resolved password (wiped before returning). */
static int pi_connect(struct pi *p, const struct res *r, struct ipmi_bmc **b, struct sbx_err *err)
{
	const struct res_machine *m = &r->u.mach;
	char *password = NULL;
	int rc;

	if (!p->cfg->secret)
		return sbx_err_set(err, SBX_EXIT_FAILED, "machine %s: no secret store to resolve the BMC password",
			r->name);
	if (p->cfg->secret(p->cfg->secret_ctx, m->bmc_password, &password, err) < 0) {
		sbx_err_prefix(err, "machine %s", r->name);
		return -1;
	}
	struct ipmi_bmc_conf c = {.address = m->bmc_address, .port = m->bmc_port, .user = m->bmc_user ? m->bmc_user : "",
		.password = password, .session_timeout_ms = p->cfg->bmc_timeout_ms};
	rc = ipmi_bmc_open(&c, b, err) == IPMI_OK ? 0 : -1;
	OPENSSL_cleanse(password, strlen(password));
	free(password);
	if (rc < 0)
		sbx_err_prefix(err, "machine %s", r->name);
	return rc;
}

/* Wait until the chassis reads on. */
static int pi_wait_on(struct ipmi_bmc *b, const struct res *r, struct sbx_err *err)
{
	struct sbx_backoff bo;
	bool on = false;

	sbx_backoff_init(&bo, PI_POWER_WAIT_MS, 250, 2000);
	do {
		if (ipmi_bmc_power_status(b, &on, err) != IPMI_OK)
			return -1;
		if (on)
			return 0;
	} while (sbx_backoff_wait(&bo) == 0);
	return sbx_err_set(err, SBX_EXIT_FAILED, "machine %s: the chassis did not read on within %d s of power on",
		r->name, PI_POWER_WAIT_MS / 1000);
}

/* Tell the user that the BMC rejected the boot flags: the machine boots in its own order. */
static void pi_notice_boot(const struct pi *p, const struct res *r, const struct sbx_err *why)
{
	if (!p->cfg->notice)
		return;
	char *msg = xasprintf("machine %s: the BMC %s:%d rejected the boot flags (boot %s for the next boot: %s); "
		"the machine boots in its own boot order, which must start with the network", r->name,
		r->u.mach.bmc_address, r->u.mach.bmc_port, r->u.mach.boot ? r->u.mach.boot : "pxe",
		sbx_err_first(why) ? sbx_err_first(why) : "unsupported");
	p->cfg->notice(p->cfg->notice_ctx, "machine.boot_flags", r->name, r->node, msg);
	free(msg);
}

/* Boot from the network next (a BMC that rejects the boot flags keeps its own boot order: the
 * machine must then boot from the network first by itself; a notice says so), then power on
 * unless it is on. */
static int pi_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct ipmi_bmc *b = NULL;
	struct sbx_err why = SBX_ERR_INIT;
	enum ipmi_rc rc;
	bool on = false;

	(void)adopt;
	if (pi_connect(h, r, &b, err) < 0)
		return -1;
	rc = ipmi_bmc_boot_set(b, IPMI_BOOT_PXE, false, &why);
	if (rc == IPMI_E_UNSUPPORTED)
		pi_notice_boot(h, r, &why);
	sbx_err_clear(&why);
	if (rc == IPMI_OK || rc == IPMI_E_UNSUPPORTED)
		rc = ipmi_bmc_power_status(b, &on, err);
	else
		rc = ipmi_bmc_boot_set(b, IPMI_BOOT_PXE, false, err); /* again, for its message */
	if (rc == IPMI_OK && !on)
		rc = ipmi_bmc_power(b, IPMI_POWER_ON, err) == IPMI_OK && pi_wait_on(b, r, err) == 0 ? IPMI_OK : IPMI_E_FAILED;
	ipmi_bmc_free(b);
	return rc == IPMI_OK ? 0 : -1;
}

/* Power the machine off (off already is success). */
static int pi_remove_res(void *h, const struct res *r, struct sbx_err *err)
{
	struct ipmi_bmc *b = NULL;
	bool on = true;
	int rc;

	if (pi_connect(h, r, &b, err) < 0)
		return -1;
	rc = ipmi_bmc_power_status(b, &on, err) == IPMI_OK && (!on || ipmi_bmc_power(b, IPMI_POWER_OFF, err) == IPMI_OK)
		? 0 : -1;
	ipmi_bmc_free(b);
	return rc;
}

/* A machine is powered off from its recorded row (its BMC), never by name alone. */
static int pi_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	(void)h;
	(void)where;
	return sbx_err_set(err, SBX_EXIT_FAILED, "machine %s: powered off from its recorded row only", name);
}

/* Whether the machine is powered on. */
static int pi_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	struct ipmi_bmc *b = NULL;
	bool on = false;
	int rc;

	if (pi_connect(h, r, &b, err) < 0)
		return -1;
	rc = ipmi_bmc_power_status(b, &on, err) == IPMI_OK ? 0 : -1;
	out->exists = on;
	ipmi_bmc_free(b);
	return rc;
}

/* Machines carry no owner tag to list: their leases are in the state. */
static int pi_list(void *h, struct prov_obj **objs, size_t *n, struct sbx_err *err)
{
	(void)h;
	(void)objs;
	(void)n;
	(void)err;
	return 0;
}

/* A BMC uses no address blocks of the host. */
static int pi_blocks(void *h, char ***v, size_t *n, struct sbx_err *err)
{
	(void)h;
	(void)v;
	(void)n;
	(void)err;
	return 0;
}

static const struct prov_type pi_types[] = {
	{RES_MACHINE, "powering on machine", pi_ensure, pi_remove, pi_observe, pi_remove_res},
};

const struct provider prov_ipmi = {"ipmi", pi_open, pi_close, pi_is_test, pi_prepare, pi_list, NULL, pi_blocks,
	pi_types, SBX_NELEM(pi_types), true, NULL, NULL};
