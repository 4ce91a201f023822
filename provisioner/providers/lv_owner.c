/* lv_owner — owner tags of libvirt objects: text form, comparison, and the volume file's xattr. */
#include "lv_owner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define LV_OWNER_XATTR "user.sbx.owner"

/* The text form. */
char *lv_owner_text(const struct lv_owner *o)
{
	return xasprintf("state=%s;env_id=%s;env=%s;protect=%d", o->state ? o->state : "", o->env_id ? o->env_id : "",
		o->env ? o->env : "", o->protect ? 1 : 0);
}

/* The value of key in "k=v;k=v" (caller frees), or NULL. */
static char *field(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return xstrndup(p + n + 1, strcspn(p + n + 1, ";"));
	return NULL;
}

/* Parse the text form. */
void lv_owner_parse(const char *text, struct lv_owner_rec *out)
{
	*out = (struct lv_owner_rec){0};
	char *state = field(text, "state"), *id = field(text, "env_id"), *prot = field(text, "protect");
	if (state && *state && id && *id) {
		*out = (struct lv_owner_rec){state, id, field(text, "env"), sbx_streq(prot, "1"), true};
		state = id = NULL;
	}
	free(state);
	free(id);
	free(prot);
}

/* Free a read owner. */
void lv_owner_rec_clear(struct lv_owner_rec *r)
{
	free(r->state);
	free(r->env_id);
	free(r->env);
	*r = (struct lv_owner_rec){0};
}

/* Whether have is o's state and environment. */
bool lv_owner_is(const struct lv_owner_rec *have, const struct lv_owner *o)
{
	return have->tagged && sbx_streq(have->state, o->state) && sbx_streq(have->env_id, o->env_id);
}

/* A description of an owner for messages. */
char *lv_owner_describe(const struct lv_owner_rec *have)
{
	if (!have->tagged)
		return xstrdup("no owner tag (not created by this version of sandbox)");
	return xasprintf("environment %s (id %s) of state %s%s", have->env ? have->env : "?", have->env_id,
		have->state, have->protect ? ", protected" : "");
}

/* Decide whether an ensure may act on an existing object. */
int lv_owner_check(const char *kind, const char *name, const struct lv_owner_rec *have,
	const struct lv_owner *want, bool adopt, struct sbx_err *err)
{
	if (lv_owner_is(have, want))
		return 0;
	if (!have->tagged && adopt)
		return 1;
	char *who = lv_owner_describe(have);
	sbx_err_set(err, SBX_EXIT_REFUSED, "%s %s already exists and belongs to %s: nothing was changed", kind,
		name, who);
	sbx_err_hint(err, "choose another environment name, or remove that environment with the sandbox state "
		"that owns it (`sandbox gc` lists objects of other states)");
	free(who);
	return -1;
}

/* Read the owner of a volume file. */
void lv_owner_file_read(const char *path, struct lv_owner_rec *out)
{
	char buf[512];
	ssize_t n = path ? getxattr(path, LV_OWNER_XATTR, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	lv_owner_parse(n > 0 ? buf : NULL, out);
}

/* Tag a volume file. */
int lv_owner_file_write(const char *path, const struct lv_owner *o, struct sbx_err *err)
{
	char *text = lv_owner_text(o);
	int rc = setxattr(path, LV_OWNER_XATTR, text, strlen(text), 0);
	free(text);
	if (rc < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot tag %s with its owner (xattr %s): %s", path,
			LV_OWNER_XATTR, strerror(errno));
	return 0;
}
