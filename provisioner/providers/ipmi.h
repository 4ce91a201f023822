/*
 * ipmi — a BMC over IPMI 2.0 / RMCP+ through FreeIPMI's libfreeipmi: chassis status, power on / off /
 * cycle / soft, the boot device (PXE or disk, once or persistent). One session per struct ipmi_bmc;
 * a session is opened with cipher suite 17 (HMAC-SHA256) and, when the BMC does not offer it, 3
 * (HMAC-SHA1, AES-CBC-128). Credentials arrive resolved (the caller resolves ${secret.NAME}) and are
 * never logged, printed, put into an error message or into a process's argv; this module keeps no
 * copy (libfreeipmi keeps its own inside the session until ipmi_bmc_free).
 */
#ifndef SBX_IPMI_H
#define SBX_IPMI_H

#include "util.h"

#include <stdbool.h>

/* What went wrong, for the caller's decision; the message in struct sbx_err says it for a human. */
enum ipmi_rc {
	IPMI_OK = 0,
	IPMI_E_AUTH = -1,        /* wrong user name or password (or a user without the privilege) */
	IPMI_E_UNREACHABLE = -2, /* no answer from the BMC within the session timeout */
	IPMI_E_UNSUPPORTED = -3, /* the BMC rejected the command or its parameters */
	IPMI_E_FAILED = -4,      /* anything else (busy BMC, bad answer, out of memory) */
};

struct ipmi_bmc_conf {
	const char *address;  /* host name or IP of the BMC */
	int port;             /* UDP port; 0: 623 */
	const char *user;
	const char *password; /* resolved; never logged */
	int session_timeout_ms;   /* the whole session setup / one command; 0: 20000 */
	int retransmit_ms;        /* a lost packet is sent again after this; 0: 1000 */
};

enum ipmi_power_op {
	IPMI_POWER_OFF,   /* hard off */
	IPMI_POWER_ON,
	IPMI_POWER_CYCLE, /* off, then on after the BMC's interval */
	IPMI_POWER_SOFT,  /* ask the OS to shut down (ACPI) */
	IPMI_POWER_RESET, /* hard reset */
};

enum ipmi_boot_dev {
	IPMI_BOOT_NONE, /* no override: the firmware's order */
	IPMI_BOOT_PXE,
	IPMI_BOOT_DISK,
	IPMI_BOOT_OTHER, /* read back only: a device this module does not set */
};

struct ipmi_bmc;

/* Open a session; *out (freed with ipmi_bmc_free) on IPMI_OK, else the error in err. */
enum ipmi_rc ipmi_bmc_open(const struct ipmi_bmc_conf *conf, struct ipmi_bmc **out, struct sbx_err *err)
	SBX_WUR;
/* Close the session and wipe the credentials. NULL is a no-op. */
void ipmi_bmc_free(struct ipmi_bmc *b);
/* The cipher suite the session was opened with (17 or 3). */
int ipmi_bmc_cipher_suite(const struct ipmi_bmc *b);

/* Chassis status: *on = the chassis power is on. */
enum ipmi_rc ipmi_bmc_power_status(struct ipmi_bmc *b, bool *on, struct sbx_err *err) SBX_WUR;
/* Chassis control. */
enum ipmi_rc ipmi_bmc_power(struct ipmi_bmc *b, enum ipmi_power_op op, struct sbx_err *err) SBX_WUR;
/* Set the boot device (Set System Boot Options, boot flags) for the next boot or persistently. */
enum ipmi_rc ipmi_bmc_boot_set(struct ipmi_bmc *b, enum ipmi_boot_dev dev, bool persistent,
	struct sbx_err *err) SBX_WUR;
/* Read the boot flags back: the device and whether the BMC marks them valid. */
enum ipmi_rc ipmi_bmc_boot_get(struct ipmi_bmc *b, enum ipmi_boot_dev *dev, bool *valid,
	struct sbx_err *err) SBX_WUR;

/* "on", "off", "cycle", "soft", "reset". */
const char *ipmi_power_op_name(enum ipmi_power_op op);
/* A short name of an ipmi_rc ("auth", "unreachable", ...). */
const char *ipmi_rc_name(enum ipmi_rc rc);

#endif
