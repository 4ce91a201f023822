/* curl_dl — libcurl, loaded on first use (dynlib.h says why). One line per libcurl function that
 * sandbox calls; the compiler checks each against <curl/curl.h>. A new call needs a line here.
 * Loading it also runs curl_global_init, so no caller has to. */
#define CURL_DISABLE_TYPECHECK 1 /* curl.h would make curl_easy_setopt a macro */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>

#include "dynlib.h"

#ifndef SBX_SONAME_CURL
#define SBX_SONAME_CURL "libcurl.so.4"
#endif

/* libcurl's global set-up, run once when the library is loaded (before any other thread uses it). */
static void curl_loaded(void *handle)
{
	CURLcode (*init)(long) = (CURLcode(*)(long))dlsym(handle, "curl_global_init");

	if (init)
		init(CURL_GLOBAL_DEFAULT);
}

struct dynlib dynlib_curl = DYNLIB_INIT(SBX_SONAME_CURL, "libcurl4", curl_loaded);

DYNLIB_VOID(dynlib_curl, curl_easy_cleanup, (CURL *curl), (curl))
DYNLIB_FN(dynlib_curl, char *, curl_easy_escape, (CURL *handle, const char *string, int length), (handle, string, length))
DYNLIB_FN(dynlib_curl, CURL *, curl_easy_init, (void), ())
DYNLIB_FN(dynlib_curl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
DYNLIB_VOID(dynlib_curl, curl_easy_reset, (CURL *curl), (curl))
DYNLIB_FN(dynlib_curl, const char *, curl_easy_strerror, (CURLcode code), (code))
DYNLIB_VOID(dynlib_curl, curl_free, (void *p), (p))
DYNLIB_VOID(dynlib_curl, curl_global_cleanup, (void), ())
DYNLIB_FN(dynlib_curl, CURLcode, curl_global_init, (long flags), (flags))
DYNLIB_FN(dynlib_curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data))
DYNLIB_VOID(dynlib_curl, curl_slist_free_all, (struct curl_slist *list), (list))

static __typeof__(&curl_easy_setopt) curl_easy_setopt_dl_;
/* curl_easy_setopt takes one argument after the option, whose type the option's number range gives
 * (curl.h: CURLOPTTYPE_*): read it as that type and pass it on. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;

	DYNLIB_CALL_(dynlib_curl, curl_easy_setopt, ())
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
/* curl_easy_getinfo takes one pointer after the info code, whatever the type it points to. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	DYNLIB_CALL_(dynlib_curl, curl_easy_getinfo, ())
	va_start(ap, info);
	rc = fp_(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
