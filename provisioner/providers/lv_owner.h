/*
 * lv_owner — who owns an object of the libvirt provider: the state that created it, the
 * environment (id and name) and whether that environment is protected. Every object lv creates
 * carries it where `gc` (and a second state on the same host) can read it back:
 *   domains   <metadata><sbx:env state=".." id=".." name=".." protect="0|1" .../>
 *   networks  a DNS TXT record "sbx-owner" (libvirt before 9.7 has no network metadata)
 *   volumes   the extended attribute "user.sbx.owner" of the volume's file (local libvirt only)
 * as "state=S;env_id=I;env=E;protect=0|1" for the last two.
 */
#ifndef SBX_LV_OWNER_H
#define SBX_LV_OWNER_H

#include <stdbool.h>

#include "util.h"

/* The owner an ensure call tags with (strings not owned). */
struct lv_owner {
	const char *state;  /* state id */
	const char *env_id;
	const char *env;    /* environment name */
	bool protect;
};

/* An owner read back from an object (owned strings; tagged false when it carries none). */
struct lv_owner_rec {
	char *state, *env_id, *env;
	bool protect;
	bool tagged;
};

/* The text form "state=S;env_id=I;env=E;protect=0|1"; caller frees. */
char *lv_owner_text(const struct lv_owner *o);
/* Parse the text form (NULL or malformed: untagged). */
void lv_owner_parse(const char *text, struct lv_owner_rec *out);
void lv_owner_rec_clear(struct lv_owner_rec *r);
/* Whether have is o's state and environment. */
bool lv_owner_is(const struct lv_owner_rec *have, const struct lv_owner *o);
/* "environment E (id I) of state S", or "no owner tag"; caller frees. */
char *lv_owner_describe(const struct lv_owner_rec *have);
/*
 * May an ensure call act on an existing object with owner `have`? 0: it is want's; 1: it carries
 * no tag and adopt is set (the state journaled it before a crash could tag it): the caller tags
 * it; -1: refused (SBX_EXIT_REFUSED, err names the object and its owner; nothing was changed).
 */
int lv_owner_check(const char *kind, const char *name, const struct lv_owner_rec *have,
	const struct lv_owner *want, bool adopt, struct sbx_err *err) SBX_WUR;

/* Read / write the owner of a volume's file (xattr user.sbx.owner); reading a file without it
 * gives an untagged record. */
void lv_owner_file_read(const char *path, struct lv_owner_rec *out);
int lv_owner_file_write(const char *path, const struct lv_owner *o, struct sbx_err *err) SBX_WUR;

#endif
