/* tdir — a private temporary directory for a test, and files written into it. */
#include "tdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Make the directory. */
int tdir_make(char *template)
{
	return mkdtemp(template) ? 0 : -1;
}

/* Write a file into it. */
void tdir_put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct sbx_err err = SBX_ERR_INIT;
	if (sbx_write_file(p, text, strlen(text), 0600, &err) < 0) {
		sbx_err_print(&err, stderr);
		abort();
	}
	free(p);
}
