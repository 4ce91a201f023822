/* ipmi_dl — libfreeipmi, loaded on first use (util/dynlib.h says why). One line per libfreeipmi function
 * that sandbox calls; the compiler checks each against <freeipmi/freeipmi.h>. A new call needs a line
 * here. The response templates are data, not functions: ipmi_dl_tmpl looks them up by name. */
#include <freeipmi/freeipmi.h>

#include "dynlib.h"
#include "ipmi_dl.h"

#ifndef SBX_SONAME_IPMI
#define SBX_SONAME_IPMI "libfreeipmi.so.17"
#endif

struct dynlib dynlib_ipmi = DYNLIB_INIT(SBX_SONAME_IPMI, "libfreeipmi17", NULL);

/* The template named name (e.g. "tmpl_cmd_get_chassis_status_rs"). */
struct fiid_field *ipmi_dl_tmpl(const char *name)
{
	return dynlib_sym(&dynlib_ipmi, name);
}

DYNLIB_FN(dynlib_ipmi, fiid_obj_t, fiid_obj_create, (fiid_template_t tmpl), (tmpl))
DYNLIB_VOID(dynlib_ipmi, fiid_obj_destroy, (fiid_obj_t obj), (obj))
DYNLIB_FN(dynlib_ipmi, int, fiid_obj_get, (fiid_obj_t obj, const char *field, uint64_t *val), (obj, field, val))
DYNLIB_FN(dynlib_ipmi, int, ipmi_cmd_chassis_control, (ipmi_ctx_t ctx, uint8_t chassis_control, fiid_obj_t obj_cmd_rs), (ctx, chassis_control, obj_cmd_rs))
DYNLIB_FN(dynlib_ipmi, int, ipmi_cmd_get_chassis_status, (ipmi_ctx_t ctx, fiid_obj_t obj_cmd_rs), (ctx, obj_cmd_rs))
DYNLIB_FN(dynlib_ipmi, int, ipmi_cmd_get_system_boot_options_boot_flags, (ipmi_ctx_t ctx, uint8_t set_selector, uint8_t block_selector, fiid_obj_t obj_cmd_rs), (ctx, set_selector, block_selector, obj_cmd_rs))
DYNLIB_FN(dynlib_ipmi, int, ipmi_cmd_set_system_boot_options_boot_flags, (ipmi_ctx_t ctx, uint8_t parameter_valid, uint8_t bios_boot_type, uint8_t boot_flags_persistent, uint8_t boot_flags_valid, uint8_t lock_out_reset_button, uint8_t screen_blank, uint8_t boot_device, uint8_t lock_keyboard, uint8_t cmos_clear, uint8_t console_redirection, uint8_t lock_out_sleep_button, uint8_t user_password_bypass, uint8_t force_progress_event_traps, uint8_t firmware_bios_verbosity, uint8_t lock_out_via_power_button, uint8_t bios_mux_control_override, uint8_t bios_shared_mode_override, uint8_t device_instance_selector, fiid_obj_t obj_cmd_rs), (ctx, parameter_valid, bios_boot_type, boot_flags_persistent, boot_flags_valid, lock_out_reset_button, screen_blank, boot_device, lock_keyboard, cmos_clear, console_redirection, lock_out_sleep_button, user_password_bypass, force_progress_event_traps, firmware_bios_verbosity, lock_out_via_power_button, bios_mux_control_override, bios_shared_mode_override, device_instance_selector, obj_cmd_rs))
DYNLIB_FN(dynlib_ipmi, int, ipmi_ctx_close, (ipmi_ctx_t ctx), (ctx))
DYNLIB_FN(dynlib_ipmi, ipmi_ctx_t, ipmi_ctx_create, (void), ())
DYNLIB_VOID(dynlib_ipmi, ipmi_ctx_destroy, (ipmi_ctx_t ctx), (ctx))
DYNLIB_FN(dynlib_ipmi, int, ipmi_ctx_errnum, (ipmi_ctx_t ctx), (ctx))
DYNLIB_FN(dynlib_ipmi, char *, ipmi_ctx_errormsg, (ipmi_ctx_t ctx), (ctx))
DYNLIB_FN(dynlib_ipmi, int, ipmi_ctx_open_outofband_2_0, (ipmi_ctx_t ctx, const char *hostname, const char *username, const char *password, const unsigned char *k_g, unsigned int k_g_len, uint8_t privilege_level, uint8_t cipher_suite_id, unsigned int session_timeout, unsigned int retransmission_timeout, unsigned int workaround_flags, unsigned int flags), (ctx, hostname, username, password, k_g, k_g_len, privilege_level, cipher_suite_id, session_timeout, retransmission_timeout, workaround_flags, flags))
