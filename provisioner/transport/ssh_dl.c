/* ssh_dl — libssh2, loaded on first use (util/dynlib.h says why). One line per libssh2 function that
 * sandbox calls; the compiler checks each against <libssh2.h>. A new call needs a line here. */
#include <libssh2.h>

#include "dynlib.h"

#ifndef SBX_SONAME_SSH2
#define SBX_SONAME_SSH2 "libssh2.so.1"
#endif

struct dynlib dynlib_ssh2 = DYNLIB_INIT(SBX_SONAME_SSH2, "libssh2-1", NULL);

DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_close, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_eof, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_free, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_get_exit_signal, (LIBSSH2_CHANNEL *channel, char **exitsignal, size_t *exitsignal_len, char **errmsg, size_t *errmsg_len, char **langtag, size_t *langtag_len), (channel, exitsignal, exitsignal_len, errmsg, errmsg_len, langtag, langtag_len))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_get_exit_status, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, LIBSSH2_CHANNEL *, libssh2_channel_open_ex, (LIBSSH2_SESSION *session, const char *channel_type, unsigned int channel_type_len, unsigned int window_size, unsigned int packet_size, const char *message, unsigned int message_len), (session, channel_type, channel_type_len, window_size, packet_size, message, message_len))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_process_startup, (LIBSSH2_CHANNEL *channel, const char *request, unsigned int request_len, const char *message, unsigned int message_len), (channel, request, request_len, message, message_len))
DYNLIB_FN(dynlib_ssh2, ssize_t, libssh2_channel_read_ex, (LIBSSH2_CHANNEL *channel, int stream_id, char *buf, size_t buflen), (channel, stream_id, buf, buflen))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_send_eof, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, int, libssh2_channel_wait_closed, (LIBSSH2_CHANNEL *channel), (channel))
DYNLIB_FN(dynlib_ssh2, ssize_t, libssh2_channel_write_ex, (LIBSSH2_CHANNEL *channel, int stream_id, const char *buf, size_t buflen), (channel, stream_id, buf, buflen))
DYNLIB_VOID(dynlib_ssh2, libssh2_free, (LIBSSH2_SESSION *session, void *ptr), (session, ptr))
DYNLIB_FN(dynlib_ssh2, int, libssh2_init, (int flags), (flags))
DYNLIB_VOID(dynlib_ssh2, libssh2_keepalive_config, (LIBSSH2_SESSION *session, int want_reply, unsigned interval), (session, want_reply, interval))
DYNLIB_FN(dynlib_ssh2, int, libssh2_keepalive_send, (LIBSSH2_SESSION *session, int *seconds_to_next), (session, seconds_to_next))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_block_directions, (LIBSSH2_SESSION *session), (session))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_disconnect_ex, (LIBSSH2_SESSION *session, int reason, const char *description, const char *lang), (session, reason, description, lang))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_free, (LIBSSH2_SESSION *session), (session))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_handshake, (LIBSSH2_SESSION *session, libssh2_socket_t sock), (session, sock))
DYNLIB_FN(dynlib_ssh2, const char *, libssh2_session_hostkey, (LIBSSH2_SESSION *session, size_t *len, int *type), (session, len, type))
DYNLIB_FN(dynlib_ssh2, LIBSSH2_SESSION *, libssh2_session_init_ex, (void *(*my_alloc)(size_t count, void **abstract), void (*my_free)(void *ptr, void **abstract), void *(*my_realloc)(void *ptr, size_t count, void **abstract), void *abstract), (my_alloc, my_free, my_realloc, abstract))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_last_errno, (LIBSSH2_SESSION *session), (session))
DYNLIB_FN(dynlib_ssh2, int, libssh2_session_last_error, (LIBSSH2_SESSION *session, char **errmsg, int *errmsg_len, int want_buf), (session, errmsg, errmsg_len, want_buf))
DYNLIB_VOID(dynlib_ssh2, libssh2_session_set_blocking, (LIBSSH2_SESSION *session, int blocking), (session, blocking))
DYNLIB_FN(dynlib_ssh2, int, libssh2_userauth_publickey_frommemory, (LIBSSH2_SESSION *session, const char *username, size_t username_len, const char *publickeyfiledata, size_t publickeyfiledata_len, const char *privatekeyfiledata, size_t privatekeyfiledata_len, const char *passphrase), (session, username, username_len, publickeyfiledata, publickeyfiledata_len, privatekeyfiledata, privatekeyfiledata_len, passphrase))
