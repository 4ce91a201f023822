/* tdir — a private temporary directory for a test, and files written into it. */
#ifndef SBX_TDIR_H
#define SBX_TDIR_H

/* Make a directory from a mkdtemp template ("/tmp/sbx-x.XXXXXX", rewritten in place); -1 on error. */
int tdir_make(char *template);
/* Write text to DIR/NAME (mode 0600); aborts the test program when it cannot. */
void tdir_put(const char *dir, const char *name, const char *text);

#endif
