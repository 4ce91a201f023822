/* mhd_dl — libmicrohttpd, loaded on first use (util/dynlib.h says why): only the daemon serves HTTP.
 * One line per libmicrohttpd function that sandbox calls; the compiler checks each against
 * <microhttpd.h>. A new call needs a line here. */
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "dynlib.h"

#ifndef SBX_SONAME_MHD
#define SBX_SONAME_MHD "libmicrohttpd.so.12"
#endif

struct dynlib dynlib_mhd = DYNLIB_INIT(SBX_SONAME_MHD, "libmicrohttpd12", NULL);

DYNLIB_FN(dynlib_mhd, enum MHD_Result, MHD_add_response_header, (struct MHD_Response *response, const char *header, const char *content), (response, header, content))
DYNLIB_FN(dynlib_mhd, struct MHD_Response *, MHD_create_response_from_fd, (uint64_t size, int fd), (size, fd))
DYNLIB_FN(dynlib_mhd, struct MHD_Response *, MHD_create_response_from_buffer, (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))
DYNLIB_VOID(dynlib_mhd, MHD_destroy_response, (struct MHD_Response *response), (response))
DYNLIB_FN(dynlib_mhd, enum MHD_Result, MHD_queue_response, (struct MHD_Connection *connection, unsigned int status_code, struct MHD_Response *response), (connection, status_code, response))
DYNLIB_VOID(dynlib_mhd, MHD_stop_daemon, (struct MHD_Daemon *daemon), (daemon))
DYNLIB_FN(dynlib_mhd, struct MHD_Daemon *, MHD_start_daemon_va, (unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, va_list ap), (flags, port, apc, apc_cls, dh, dh_cls, ap))

/* MHD_start_daemon's options are a variable list: hand them to MHD_start_daemon_va. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

static __typeof__(&MHD_get_daemon_info) MHD_get_daemon_info_dl_;
/* MHD_get_daemon_info takes no argument after the info type for the types sandbox asks for
 * (MHD_DAEMON_INFO_BIND_PORT). */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon, enum MHD_DaemonInfoType info_type, ...)
{
	DYNLIB_CALL_(dynlib_mhd, MHD_get_daemon_info, ())
	return fp_(daemon, info_type);
}
