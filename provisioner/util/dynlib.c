/* dynlib — load a shared library on first use (see dynlib.h). */
#include "dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Recursive: loading one library can call into another's wrapper (libcurl's global init calls
 * libssh2_init, which is ours in a binary that links both, as the tests do). */
static pthread_mutex_t dynlib_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* dlopen l unless that was tried already; once per process, whichever thread comes first. */
static void dynlib_once(struct dynlib *l)
{
	if (__atomic_load_n(&l->tried, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&dynlib_mu);
	if (!l->tried) {
		l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
		if (!l->handle) {
			const char *why = dlerror();
			snprintf(l->why, sizeof(l->why), "%s", why ? why : "not found");
		} else if (l->on_load) {
			l->on_load(l->handle);
		}
		__atomic_store_n(&l->tried, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&dynlib_mu);
}

/* Load l; 0, or -1 with err. */
int dynlib_open(struct dynlib *l, struct sbx_err *err)
{
	dynlib_once(l);
	if (l->handle)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED, "cannot load %s: %s", l->soname, l->why);
	sbx_err_hint(err, "install Debian's %s (`make deps` installs everything sandbox needs)", l->package);
	return -1;
}

/* The address of name in l; exits with a message when it cannot be had. */
void *dynlib_sym(struct dynlib *l, const char *name)
{
	struct sbx_err err = SBX_ERR_INIT;
	void *p;

	if (dynlib_open(l, &err) < 0) {
		sbx_err_print(&err, stderr);
		exit(SBX_EXIT_FAILED);
	}
	p = dlsym(l->handle, name);
	if (!p) {
		fprintf(stderr, "sandbox: %s has no function %s (too old a version?)\nhint: install Debian 12's %s or newer\n",
			l->soname, name, l->package);
		exit(SBX_EXIT_FAILED);
	}
	return p;
}
