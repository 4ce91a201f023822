/*
 * mock_dl — libcurl and libcrypto, loaded on first use (as the provisioner's util/dynlib.h does for
 * the CLI). A mock that sends no webhook and checks no signature (the SMS mock under a plain POST
 * load) never maps them: linked, libcurl brought about 25 libraries (GnuTLS, Kerberos, LDAP, ...)
 * and libcrypto ~3.4 MB of resident pages. One line per function the mocks call, checked by the
 * compiler against the library's header; a new call needs a line here. The binaries link neither
 * library (the mail mock links libssl for STARTTLS, so its libcrypto is there from the start: the
 * wrappers then forward to it); the tests' ASan builds link both, and these definitions win.
 */
#define CURL_DISABLE_TYPECHECK 1 /* curl.h would make curl_easy_setopt a macro */
#include "mock_dl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* A library loaded on first use. */
struct mock_lib {
	const char *soname;
	void (*on_load)(void *handle); /* after a successful dlopen, or NULL */
	pthread_once_t once;
	void *handle;
};

/* libcurl's global set-up, once, when it is loaded (before any other thread can use it). */
static void curl_loaded(void *handle)
{
	CURLcode (*init)(long) = (CURLcode(*)(long))dlsym(handle, "curl_global_init");

	if (init)
		init(CURL_GLOBAL_DEFAULT);
}

/* The SONAMEs of the libraries the headers came from (the Makefile's, as the provisioner's
 * dynlib.h), else Debian 12's. */
#ifndef SBX_SONAME_CURL
#define SBX_SONAME_CURL "libcurl.so.4"
#endif
#ifndef SBX_SONAME_CRYPTO
#define SBX_SONAME_CRYPTO "libcrypto.so.3"
#endif

static struct mock_lib lib_curl = {SBX_SONAME_CURL, curl_loaded, PTHREAD_ONCE_INIT, NULL};
static struct mock_lib lib_crypto = {SBX_SONAME_CRYPTO, NULL, PTHREAD_ONCE_INIT, NULL};

/* dlopen each library once (pthread_once runs a function without an argument). */
static void open_lib(struct mock_lib *l)
{
	l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (l->handle && l->on_load)
		l->on_load(l->handle);
}
static void open_curl(void)
{
	open_lib(&lib_curl);
}
static void open_crypto(void)
{
	open_lib(&lib_crypto);
}

/*
 * Unload what was loaded (at exit, once every thread has stopped): libcurl's global clean-up, then
 * dlclose, which also frees what dlopen allocated for the libraries' dependencies.
 */
void mock_dl_unload(void)
{
	void (*cleanup)(void);

	if (lib_curl.handle) {
		cleanup = (void (*)(void))dlsym(lib_curl.handle, "curl_global_cleanup");
		if (cleanup)
			cleanup();
		dlclose(lib_curl.handle);
		lib_curl.handle = NULL;
	}
	if (lib_crypto.handle) {
		dlclose(lib_crypto.handle);
		lib_crypto.handle = NULL;
	}
}

/* The address of name in l (loading it first); a library or function missing ends the process. */
static void *lib_sym(struct mock_lib *l, const char *name)
{
	void *p;

	pthread_once(&l->once, l == &lib_curl ? open_curl : open_crypto);
	p = l->handle ? dlsym(l->handle, name) : NULL;
	if (!p) {
		fprintf(stderr, "sbx-mock: cannot load %s from %s: %s\n", name, l->soname,
			l->handle ? "no such function" : "library not found (install libcurl4 / libssl3)");
		abort();
	}
	return p;
}

/* The cached address of a wrapped function (fp_ in the wrapper). */
#define DL_CALL_(lib, name)                                                                       \
	__typeof__(&name) fp_ = __atomic_load_n(&name##_dl_, __ATOMIC_ACQUIRE);                  \
	if (!fp_) {                                                                               \
		fp_ = (__typeof__(&name))lib_sym(&(lib), #name);                                  \
		__atomic_store_n(&name##_dl_, fp_, __ATOMIC_RELEASE);                             \
	}
/* Define the wrapper of `name` returning ret: params with names, args the same names. */
#define DL_FN(lib, ret, name, params, args)                                                       \
	static __typeof__(&name) name##_dl_;                                                      \
	ret name params                                                                           \
	{                                                                                         \
		DL_CALL_(lib, name)                                                               \
		return fp_ args;                                                                  \
	}
/* The same for a function returning void. */
#define DL_VOID(lib, name, params, args)                                                          \
	static __typeof__(&name) name##_dl_;                                                      \
	void name params                                                                          \
	{                                                                                         \
		DL_CALL_(lib, name)                                                               \
		fp_ args;                                                                         \
	}

DL_VOID(lib_curl, curl_easy_cleanup, (CURL *curl), (curl))
DL_FN(lib_curl, CURL *, curl_easy_init, (void), ())
DL_FN(lib_curl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
DL_VOID(lib_curl, curl_easy_reset, (CURL *curl), (curl))
DL_FN(lib_curl, const char *, curl_easy_strerror, (CURLcode code), (code))
DL_VOID(lib_curl, curl_free, (void *p), (p))
DL_FN(lib_curl, CURLcode, curl_global_init, (long flags), (flags))
DL_FN(lib_curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data))
DL_VOID(lib_curl, curl_slist_free_all, (struct curl_slist *list), (list))
DL_FN(lib_curl, CURLU *, curl_url, (void), ())
DL_VOID(lib_curl, curl_url_cleanup, (CURLU *handle), (handle))
DL_FN(lib_curl, CURLUcode, curl_url_get, (CURLU *handle, CURLUPart what, char **part, unsigned int flags), (handle, what, part, flags))
DL_FN(lib_curl, CURLUcode, curl_url_set, (CURLU *handle, CURLUPart what, const char *part, unsigned int flags), (handle, what, part, flags))

static __typeof__(&curl_easy_setopt) curl_easy_setopt_dl_;
/* curl_easy_setopt takes one argument after the option, of the type its number range gives. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;

	DL_CALL_(lib_curl, curl_easy_setopt)
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = fp_(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fp_(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = fp_(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = fp_(curl, option, va_arg(ap, curl_off_t));
	else
		rc = fp_(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

static __typeof__(&curl_easy_getinfo) curl_easy_getinfo_dl_;
/* curl_easy_getinfo takes one pointer after the info code. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	DL_CALL_(lib_curl, curl_easy_getinfo)
	va_start(ap, info);
	rc = fp_(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

DL_FN(lib_crypto, int, EVP_Digest, (const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, ENGINE *impl), (data, count, md, size, type, impl))
DL_FN(lib_crypto, int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
DL_FN(lib_crypto, int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
DL_FN(lib_crypto, const EVP_MD *, EVP_sha1, (void), ())
DL_FN(lib_crypto, const EVP_MD *, EVP_sha256, (void), ())
DL_FN(lib_crypto, unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, size_t data_len, unsigned char *md, unsigned int *md_len), (evp_md, key, key_len, data, data_len, md, md_len))
