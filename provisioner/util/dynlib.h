/* dynlib — load a shared library on first use, so that a command that never calls it does not pay for it.
 *
 * `sandbox version`, `validate`, `list` and `status` need no libvirt, libssh2, libcurl, libfreeipmi,
 * libmicrohttpd or libpq (and the first two no libcrypto), yet linking them made every start map and
 * relocate about 60 libraries. The binary links none of them: each has a file of wrappers
 * (providers/lv_dl.c, transport/ssh_dl.c, util/curl_dl.c, providers/ipmi_dl.c, daemon/mhd_dl.c,
 * state/pq_dl.c, util/crypto_dl.c) that define the library's own functions, open the library with
 * dlopen on the first call and forward to it. The wrappers are checked
 * against the library's header by the compiler (same name, same prototype).
 */
#ifndef SBX_DYNLIB_H
#define SBX_DYNLIB_H

#include <stdbool.h>

#include "util.h"

struct dynlib {
	const char *soname;              /* "libvirt.so.0" (the Makefile reads it from the library) */
	const char *package;             /* the Debian package that ships it, for the hint */
	void (*on_load)(void *handle);   /* run once after a successful dlopen (use dlsym), or NULL */
	bool tried;                      /* dlopen has run (under dynlib's lock) */
	void *handle;                    /* NULL until loaded, or when loading failed */
	char why[256];                   /* dlerror() of a failed load */
};

#define DYNLIB_INIT(so, pkg, hook) {.soname = (so), .package = (pkg), .on_load = (hook)}

/* The libraries behind the wrappers (each defined in its wrapper file). */
extern struct dynlib dynlib_virt, dynlib_ssh2, dynlib_curl, dynlib_ipmi, dynlib_mhd, dynlib_pq, dynlib_crypto;

/* Load l (once per process). 0, or -1 with err saying which library and package are missing. */
int dynlib_open(struct dynlib *l, struct sbx_err *err);
/* The address of the function name in l, loading l first. A library or a function that cannot be
 * found ends the process with status 1 and a message naming it: a wrapper has no error to return. */
void *dynlib_sym(struct dynlib *l, const char *name);

/* Define the wrapper of library function `name` (returning `ret`) in lib: `params` is its parameter
 * list with names, `args` the same names in parentheses. The resolved address is cached. */
#define DYNLIB_CALL_(lib, name, args)                                                            \
	__typeof__(&name) fp_ = __atomic_load_n(&name##_dl_, __ATOMIC_ACQUIRE);                  \
	if (!fp_) {                                                                               \
		fp_ = (__typeof__(&name))dynlib_sym(&(lib), #name);                               \
		__atomic_store_n(&name##_dl_, fp_, __ATOMIC_RELEASE);                             \
	}
#define DYNLIB_FN(lib, ret, name, params, args)                                                  \
	static __typeof__(&name) name##_dl_;                                                      \
	ret name params                                                                           \
	{                                                                                         \
		DYNLIB_CALL_(lib, name, args)                                                     \
		return fp_ args;                                                                  \
	}
/* The same for a function returning void. */
#define DYNLIB_VOID(lib, name, params, args)                                                     \
	static __typeof__(&name) name##_dl_;                                                      \
	void name params                                                                          \
	{                                                                                         \
		DYNLIB_CALL_(lib, name, args)                                                     \
		fp_ args;                                                                         \
	}

#endif
