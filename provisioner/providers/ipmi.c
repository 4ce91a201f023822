/*
 * ipmi — a BMC over IPMI 2.0 / RMCP+ through libfreeipmi (see ipmi.h). libfreeipmi retransmits a
 * lost packet after the retransmission timeout and gives up after the session timeout; this file
 * picks the cipher suite, maps libfreeipmi's error numbers onto enum ipmi_rc with a message that
 * names the BMC (address:port) and never a credential, and drives the chassis commands.
 */
#include "ipmi.h"
#include "ipmi_dl.h"

#include <freeipmi/freeipmi.h>

#include <stdlib.h>
#include <string.h>

#define IPMI_PORT_DEFAULT 623
#define IPMI_USER_MAX 16     /* IPMI 2.0: user names up to 16 bytes */
#define IPMI_PASSWORD_MAX 20 /* IPMI 2.0: passwords up to 20 bytes */

struct ipmi_bmc {
	ipmi_ctx_t ctx;
	char *target; /* "address:port": what messages name */
	int cipher_suite;
};

/* The cipher suites tried in order: 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128), then 3
 * (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128). Both encrypt; nothing weaker is offered. */
static const uint8_t cipher_suites[] = {17, 3};

/* How libfreeipmi's error numbers map onto enum ipmi_rc, with what to tell the user. */
static const struct {
	int errnum;
	enum ipmi_rc rc;
	const char *what;
} ipmi_errors[] = {
	{IPMI_ERR_USERNAME_INVALID, IPMI_E_AUTH, "wrong user name or password"},
	{IPMI_ERR_PASSWORD_INVALID, IPMI_E_AUTH, "wrong user name or password"},
	{IPMI_ERR_K_G_INVALID, IPMI_E_AUTH, "wrong BMC key (K_g)"},
	{IPMI_ERR_PASSWORD_VERIFICATION_TIMEOUT, IPMI_E_AUTH,
		"wrong user name or password (the BMC stopped answering during authentication)"},
	{IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT, IPMI_E_AUTH, "the user lacks the operator privilege"},
	{IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED, IPMI_E_AUTH, "the user lacks the operator privilege"},
	{IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE, IPMI_E_AUTH, "no common authentication type"},
	{IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE, IPMI_E_UNSUPPORTED, "no common cipher suite (17 or 3)"},
	{IPMI_ERR_IPMI_2_0_UNAVAILABLE, IPMI_E_UNSUPPORTED, "the BMC does not speak IPMI 2.0 (RMCP+)"},
	{IPMI_ERR_CONNECTION_TIMEOUT, IPMI_E_UNREACHABLE, "unreachable: no answer within the session timeout"},
	{IPMI_ERR_SESSION_TIMEOUT, IPMI_E_UNREACHABLE, "unreachable: no answer within the session timeout"},
	{IPMI_ERR_HOSTNAME_INVALID, IPMI_E_UNREACHABLE, "unreachable: the address does not resolve"},
	{IPMI_ERR_MESSAGE_TIMEOUT, IPMI_E_UNREACHABLE, "the BMC timed the command out"},
	{IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED, IPMI_E_UNSUPPORTED,
		"the BMC rejected the command or its parameters as unsupported"},
	{IPMI_ERR_COMMAND_INVALID_FOR_SELECTED_INTERFACE, IPMI_E_UNSUPPORTED,
		"the command is not supported over LAN"},
	{IPMI_ERR_BMC_BUSY, IPMI_E_FAILED, "the BMC is busy"},
	{IPMI_ERR_BAD_RMCPPLUS_STATUS_CODE, IPMI_E_FAILED, "the BMC refused the RMCP+ session"},
};

/* Add a message to err (code: enum sbx_exit); returns IPMI_E_FAILED. */
static enum ipmi_rc SBX_PRINTF(3, 4) ipmi_failf(struct sbx_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	sbx_err_set(err, code, "%s", msg);
	free(msg);
	return IPMI_E_FAILED;
}

/* Record libfreeipmi's error of ctx for `doing` on the BMC b->target; return its enum ipmi_rc. */
static enum ipmi_rc ipmi_fail(ipmi_ctx_t ctx, const char *target, const char *doing, struct sbx_err *err)
{
	int n = ipmi_ctx_errnum(ctx);

	for (size_t i = 0; i < SBX_NELEM(ipmi_errors); i++)
		if (ipmi_errors[i].errnum == n) {
			sbx_err_set(err, SBX_EXIT_FAILED, "BMC %s: %s: %s", target, doing, ipmi_errors[i].what);
			return ipmi_errors[i].rc;
		}
	sbx_err_set(err, SBX_EXIT_FAILED, "BMC %s: %s: %s", target, doing, ipmi_ctx_errormsg(ctx));
	return IPMI_E_FAILED;
}

/* Whether an open that failed with errnum is worth another try with the next (weaker) suite. A BMC
 * without suite 17 may say so (no cipher suite match), refuse the RMCP+ status, or, like OpenIPMI's
 * ipmi_sim, answer the open session request with an "invalid authentication algorithm" status that
 * libfreeipmi reports as an internal IPMI error. */
static bool ipmi_try_next_suite(int errnum)
{
	return errnum == IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE || errnum == IPMI_ERR_BAD_RMCPPLUS_STATUS_CODE ||
		errnum == IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE || errnum == IPMI_ERR_IPMI_ERROR;
}

/* Check what libfreeipmi would reject with a less clear message. */
static enum ipmi_rc ipmi_conf_check(const struct ipmi_bmc_conf *c, struct sbx_err *err)
{
	if (!c->address || !*c->address || c->port < 0 || c->port > 65535)
		return ipmi_failf(err, SBX_EXIT_USAGE, "BMC: an address and a port 1-65535 are needed");
	if (!c->user || strlen(c->user) > IPMI_USER_MAX)
		return ipmi_failf(err, SBX_EXIT_USAGE, "BMC %s: the user name must be 0-%d bytes",
			       c->address, IPMI_USER_MAX);
	if (!c->password || strlen(c->password) > IPMI_PASSWORD_MAX)
		return ipmi_failf(err, SBX_EXIT_USAGE, "BMC %s: the password must be 0-%d bytes",
			       c->address, IPMI_PASSWORD_MAX);
	return IPMI_OK;
}

/* Open ctx with one cipher suite at the operator privilege (enough for chassis control and boot
 * options); libfreeipmi's return. The open session request names that privilege instead of 0
 * ("the highest the user has"): ipmi_sim and some BMCs refuse 0, and the explicit level is what
 * ipmitool sends. */
static int ipmi_open_suite(ipmi_ctx_t ctx, const char *host, const struct ipmi_bmc_conf *c, uint8_t suite)
{
	unsigned int session = c->session_timeout_ms > 0 ? (unsigned int)c->session_timeout_ms : 20000;
	unsigned int retrans = c->retransmit_ms > 0 ? (unsigned int)c->retransmit_ms : 1000;

	if (retrans >= session)
		retrans = session / 2 ? session / 2 : 1;
	return ipmi_ctx_open_outofband_2_0(ctx, host, c->user, c->password, NULL, 0,
		IPMI_PRIVILEGE_LEVEL_OPERATOR, suite, session, retrans,
		IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE, IPMI_FLAGS_DEFAULT);
}

/* Open a session: suite 17, else 3 when the BMC does not offer 17. */
enum ipmi_rc ipmi_bmc_open(const struct ipmi_bmc_conf *conf, struct ipmi_bmc **out, struct sbx_err *err)
{
	enum ipmi_rc rc = ipmi_conf_check(conf, err);
	struct ipmi_bmc *b;
	size_t i;

	if (rc != IPMI_OK)
		return rc;
	b = xcalloc(1, sizeof(*b));
	b->target = xasprintf("%s:%d", conf->address, conf->port ? conf->port : IPMI_PORT_DEFAULT);
	if (!(b->ctx = ipmi_ctx_create())) {
		rc = ipmi_failf(err, SBX_EXIT_FAILED, "BMC %s: cannot create an IPMI context", b->target);
		goto fail;
	}
	for (i = 0; !b->cipher_suite; i++) {
		if (ipmi_open_suite(b->ctx, b->target, conf, cipher_suites[i]) == 0)
			b->cipher_suite = cipher_suites[i];
		else if (i + 1 == SBX_NELEM(cipher_suites) || !ipmi_try_next_suite(ipmi_ctx_errnum(b->ctx))) {
			rc = ipmi_fail(b->ctx, b->target, "opening an RMCP+ session", err);
			goto fail;
		}
	}
	*out = b;
	return IPMI_OK;
fail:
	ipmi_bmc_free(b);
	return rc;
}

/* Close the session. */
void ipmi_bmc_free(struct ipmi_bmc *b)
{
	if (!b)
		return;
	if (b->ctx) {
		ipmi_ctx_close(b->ctx);
		ipmi_ctx_destroy(b->ctx);
	}
	free(b->target);
	free(b);
}

/* The suite the session uses. */
int ipmi_bmc_cipher_suite(const struct ipmi_bmc *b)
{
	return b->cipher_suite;
}

/* A response object for tmpl; aborts on out-of-memory like the x* allocators. */
static fiid_obj_t ipmi_obj(fiid_template_t tmpl)
{
	fiid_obj_t o = fiid_obj_create(tmpl);

	if (!o) {
		fputs("sandbox: out of memory (fiid_obj_create)\n", stderr);
		abort();
	}
	return o;
}

/* Read one field of a response; -1 when the BMC left it out. */
static int ipmi_field(fiid_obj_t o, const char *field, uint64_t *val)
{
	return fiid_obj_get(o, field, val) == 1 ? 0 : -1;
}

/* Chassis status. */
enum ipmi_rc ipmi_bmc_power_status(struct ipmi_bmc *b, bool *on, struct sbx_err *err)
{
	fiid_obj_t o = ipmi_obj(IPMI_TMPL(tmpl_cmd_get_chassis_status_rs));
	enum ipmi_rc rc = IPMI_OK;
	uint64_t v;

	if (ipmi_cmd_get_chassis_status(b->ctx, o) < 0)
		rc = ipmi_fail(b->ctx, b->target, "reading the chassis status", err);
	else if (ipmi_field(o, "current_power_state.power_is_on", &v) < 0)
		rc = ipmi_failf(err, SBX_EXIT_FAILED, "BMC %s: the chassis status lacks the power state",
			     b->target);
	else
		*on = v != 0;
	fiid_obj_destroy(o);
	return rc;
}

/* The chassis control code of each power operation and its name. */
static const struct {
	uint8_t code;
	const char *name;
} power_ops[] = {
	[IPMI_POWER_OFF] = {IPMI_CHASSIS_CONTROL_POWER_DOWN, "off"},
	[IPMI_POWER_ON] = {IPMI_CHASSIS_CONTROL_POWER_UP, "on"},
	[IPMI_POWER_CYCLE] = {IPMI_CHASSIS_CONTROL_POWER_CYCLE, "cycle"},
	[IPMI_POWER_SOFT] = {IPMI_CHASSIS_CONTROL_INITIATE_SOFT_SHUTDOWN, "soft"},
	[IPMI_POWER_RESET] = {IPMI_CHASSIS_CONTROL_HARD_RESET, "reset"},
};

/* The name of a power operation. */
const char *ipmi_power_op_name(enum ipmi_power_op op)
{
	return (size_t)op < SBX_NELEM(power_ops) ? power_ops[op].name : "?";
}

/* Chassis control. */
enum ipmi_rc ipmi_bmc_power(struct ipmi_bmc *b, enum ipmi_power_op op, struct sbx_err *err)
{
	fiid_obj_t o;
	enum ipmi_rc rc = IPMI_OK;

	if ((size_t)op >= SBX_NELEM(power_ops))
		return ipmi_failf(err, SBX_EXIT_FAILED, "BMC %s: unknown power operation", b->target);
	o = ipmi_obj(IPMI_TMPL(tmpl_cmd_chassis_control_rs));
	if (ipmi_cmd_chassis_control(b->ctx, power_ops[op].code, o) < 0) {
		char *doing = xasprintf("power %s", power_ops[op].name);

		rc = ipmi_fail(b->ctx, b->target, doing, err);
		free(doing);
	}
	fiid_obj_destroy(o);
	return rc;
}

/* The boot device selectors of enum ipmi_boot_dev. */
static const uint8_t boot_devices[] = {
	[IPMI_BOOT_NONE] = IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_NO_OVERRIDE,
	[IPMI_BOOT_PXE] = IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE,
	[IPMI_BOOT_DISK] = IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE,
};

/* Set the boot flags (parameter 5): valid, once or persistent, legacy BIOS boot, the device. */
enum ipmi_rc ipmi_bmc_boot_set(struct ipmi_bmc *b, enum ipmi_boot_dev dev, bool persistent, struct sbx_err *err)
{
	fiid_obj_t o;
	enum ipmi_rc rc = IPMI_OK;

	if ((size_t)dev >= SBX_NELEM(boot_devices) || dev == IPMI_BOOT_OTHER)
		return ipmi_failf(err, SBX_EXIT_FAILED, "BMC %s: unknown boot device", b->target);
	o = ipmi_obj(IPMI_TMPL(tmpl_cmd_set_system_boot_options_rs));
	if (ipmi_cmd_set_system_boot_options_boot_flags(b->ctx, IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED,
		    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_PC_COMPATIBLE,
		    persistent ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_PERSISTENTLY
			       : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT,
		    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID, 0, 0, boot_devices[dev], 0, 0,
		    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_CONSOLE_REDIRECTION_DEFAULT, 0, 0, 0,
		    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_FIRMWARE_BIOS_VERBOSITY_DEFAULT, 0, 0, 0, 0, o) < 0)
		rc = ipmi_fail(b->ctx, b->target, "setting the boot device", err);
	fiid_obj_destroy(o);
	return rc;
}

/* Read the boot flags back. */
enum ipmi_rc ipmi_bmc_boot_get(struct ipmi_bmc *b, enum ipmi_boot_dev *dev, bool *valid, struct sbx_err *err)
{
	fiid_obj_t o = ipmi_obj(IPMI_TMPL(tmpl_cmd_get_system_boot_options_boot_flags_rs));
	enum ipmi_rc rc = IPMI_OK;
	uint64_t d, v;

	if (ipmi_cmd_get_system_boot_options_boot_flags(b->ctx, 0, 0, o) < 0)
		rc = ipmi_fail(b->ctx, b->target, "reading the boot device", err);
	else if (ipmi_field(o, "boot_device", &d) < 0 || ipmi_field(o, "boot_flags_valid", &v) < 0)
		rc = ipmi_failf(err, SBX_EXIT_FAILED, "BMC %s: the boot flags lack the device", b->target);
	else {
		*dev = IPMI_BOOT_OTHER;
		for (size_t i = 0; i < SBX_NELEM(boot_devices); i++)
			if (boot_devices[i] == d)
				*dev = (enum ipmi_boot_dev)i;
		*valid = v != 0;
	}
	fiid_obj_destroy(o);
	return rc;
}

/* The short name of an ipmi_rc. */
const char *ipmi_rc_name(enum ipmi_rc rc)
{
	switch (rc) {
	case IPMI_OK: return "ok";
	case IPMI_E_AUTH: return "auth";
	case IPMI_E_UNREACHABLE: return "unreachable";
	case IPMI_E_UNSUPPORTED: return "unsupported";
	case IPMI_E_FAILED: return "failed";
	}
	return "?";
}
