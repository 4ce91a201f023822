/* state_secret — secrets sealed with AES-256-GCM under the key file beside the database. */
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define TOKEN_LEN 32

/* Read exactly the key from an open key file, checking its type, size and mode. */
static int key_read_fd(struct state *st, int fd, const char *path, struct sbx_err *err)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode) || sb.st_size != STATE_KEY_LEN)
		return sbx_err_set(err, SBX_EXIT_FAILED, "the secrets key %s is not a %d-byte file", path,
			STATE_KEY_LEN);
	if (sb.st_mode & 077) {
		sbx_err_set(err, SBX_EXIT_FAILED, "the secrets key %s is readable by others (mode %04o)",
			path, (unsigned)(sb.st_mode & 07777));
		sbx_err_hint(err, "chmod 600 %s", path);
		return -1;
	}
	if (read(fd, st->key, STATE_KEY_LEN) != STATE_KEY_LEN)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot read %s", path);
	st->have_key = true;
	return 0;
}

/* Load the key file at path; *missing = it does not exist. */
static int key_read(struct state *st, const char *path, bool *missing, struct sbx_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	*missing = fd < 0 && errno == ENOENT;
	if (fd < 0)
		return *missing ? 0 : sbx_err_set(err, SBX_EXIT_FAILED, "cannot open %s: %s", path,
			strerror(errno));
	int rc = key_read_fd(st, fd, path, err);
	close(fd);
	return rc;
}

/* Write a fresh random key to tmp (0600) and publish it as path unless one appeared meanwhile. */
static int key_create(const char *path, const char *tmp, struct sbx_err *err)
{
	unsigned char key[STATE_KEY_LEN];
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
	sbx_random(key, sizeof(key));
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* link() never replaces: of two processes creating the key at once, one key wins. */
	if (link(tmp, path) < 0 && errno != EEXIST) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	unlink(tmp);
	return rc;
}

/* Load the key, creating it on first use. */
int state_key_load(struct state *st, struct sbx_err *err)
{
	bool missing = false;
	if (st->have_key)
		return 0;
	char *path = sbx_path_join(st->dir, "key"), *rnd = sbx_random_token(8);
	char *tmp = xasprintf("%s.tmp.%d.%s", path, (int)getpid(), rnd);
	int rc = key_read(st, path, &missing, err);
	if (rc == 0 && missing)
		rc = key_create(path, tmp, err);
	if (rc == 0 && missing)
		rc = key_read(st, path, &missing, err);
	free(path);
	free(tmp);
	free(rnd);
	return rc;
}

/* The additional data binding a value to its place: env NUL name. */
static unsigned char *aad_of(const char *env, const char *name, int *len)
{
	size_t le = strlen(env), ln = strlen(name);
	unsigned char *a = xmalloc(le + ln + 1);
	memcpy(a, env, le + 1);
	memcpy(a + le + 1, name, ln);
	*len = (int)(le + ln + 1);
	return a;
}

/* Run AES-256-GCM over in → out (enc: seal and write the tag; else check it). 0 or -1. */
static int gcm(const unsigned char *key, int enc, const unsigned char *aad, int aadlen,
	const unsigned char *in, int len, unsigned char *out, unsigned char nonce[DB_NONCE_LEN],
	unsigned char tag[DB_TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, rc = -1;
	if (!c || EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, DB_NONCE_LEN, NULL) != 1 ||
		EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
		EVP_CipherUpdate(c, NULL, &n, aad, aadlen) != 1 ||
		(len > 0 && EVP_CipherUpdate(c, out, &n, in, len) != 1))
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, DB_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + (len > 0 ? n : 0), &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, DB_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* Seal value for (env, name). */
int db_seal(struct state *st, const char *env, const char *name, const char *value, struct db_sealed *s,
	struct sbx_err *err)
{
	int aadlen;
	unsigned char *aad = aad_of(env, name, &aadlen);
	s->len = strlen(value);
	s->ct = xmalloc(s->len + 1);
	sbx_random(s->nonce, DB_NONCE_LEN);
	int rc = gcm(st->key, 1, aad, aadlen, (const unsigned char *)value, (int)s->len, s->ct,
		s->nonce, s->tag);
	free(aad);
	if (rc < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot encrypt secret %s of environment %s", name, env);
	return 0;
}

/* Open a sealed value of (env, name): a wrong key or a changed byte is an error, never garbage. */
int db_unseal(struct state *st, const char *env, const char *name, struct db_sealed *s, char **value,
	struct sbx_err *err)
{
	int aadlen;
	unsigned char *aad = aad_of(env, name, &aadlen);
	char *pt = xmalloc(s->len + 1);
	int rc = gcm(st->key, 0, aad, aadlen, s->ct, (int)s->len, (unsigned char *)pt, s->nonce, s->tag);
	free(aad);
	if (rc < 0) {
		OPENSSL_cleanse(pt, s->len);
		free(pt);
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot decrypt secret %s of environment %s: wrong key or "
			"tampered value", name, env);
		sbx_err_hint(err, "the key file %s/key must be the one the secret was stored with", st->dir);
		return -1;
	}
	pt[s->len] = '\0';
	*value = pt;
	return 0;
}

/* Copy a blob column of exactly len bytes into dst. */
static bool col_fixed(struct db_rows *stmt, int i, unsigned char *dst, int len)
{
	size_t n = 0;
	const void *p = db_col_blob(stmt, i, &n);
	if (n != (size_t)len)
		return false;
	memcpy(dst, p, (size_t)len);
	return true;
}

/* Read a sealed value from columns first (nonce), first + 1 (tag) and first + 2 (ciphertext) of the
 * current row into s (s->ct: caller frees); false when the nonce or tag has the wrong size. */
bool db_sealed_cols(struct db_rows *r, int first, struct db_sealed *s)
{
	const void *ct = db_col_blob(r, first + 2, &s->len);
	s->ct = xmalloc(s->len + 1);
	if (s->len)
		memcpy(s->ct, ct, s->len);
	return col_fixed(r, first, s->nonce, DB_NONCE_LEN) && col_fixed(r, first + 1, s->tag, DB_TAG_LEN);
}

/* Read the sealed value of (env, name); *found = whether it exists. */
static int sealed_read(struct state *st, const char *env, const char *name, struct db_sealed *s,
	bool *found, struct sbx_err *err)
{
	struct db_rows *stmt = NULL;
	if (db_query(st, &stmt, err, "SELECT nonce, tag, ct FROM secret WHERE env = ? AND name = ?",
		"ss", env, name) < 0)
		return -1;
	int rc = db_next(st, stmt, err);
	*found = rc == 1;
	if (rc == 1 && !db_sealed_cols(stmt, 0, s))
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "secret %s of environment %s is corrupt", name, env);
	db_done(st, stmt);
	return rc < 0 ? -1 : 0;
}

/* Get inside the lock. */
static int secret_get_locked(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err)
{
	struct db_sealed s = {.ct = NULL};
	bool found = false;
	char *v = NULL;
	int rc = state_key_load(st, err);
	if (rc == 0)
		rc = sealed_read(st, env, name, &s, &found, err);
	if (rc == 0 && found)
		rc = db_unseal(st, env, name, &s, &v, err);
	free(s.ct);
	if (rc == 0)
		*value = v;
	return rc;
}

/* Put inside the lock. */
static int secret_put_locked(struct state *st, const char *env, const char *name, const char *value,
	struct sbx_err *err)
{
	struct db_sealed s = {.ct = NULL};
	int rc = state_key_load(st, err);
	if (rc == 0)
		rc = db_seal(st, env, name, value, &s, err);
	if (rc == 0)
		rc = db_exec(st, err, NULL,
			"INSERT INTO secret (env, name, nonce, tag, ct) VALUES (?, ?, ?, ?, ?)"
			" ON CONFLICT (env, name) DO UPDATE SET nonce = excluded.nonce, tag = excluded.tag,"
			" ct = excluded.ct",
			"ssbbb", env, name, s.nonce, DB_NONCE_LEN, s.tag, DB_TAG_LEN, s.ct, (int)s.len);
	free(s.ct);
	return rc;
}

/* Check the arguments every secret call needs. */
static int secret_args(const char *env, const char *name, struct sbx_err *err)
{
	if (!env || !name || !*name)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state secrets: env and name are required");
	return 0;
}

/* Read a secret (*value = NULL when absent). */
int state_secret_get(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err)
{
	if (secret_args(env, name, err) < 0)
		return -1;
	st_lock(st);
	int rc = secret_get_locked(st, env, name, value, err);
	st_unlock(st);
	return rc;
}

/* Store a secret. */
int state_secret_put(struct state *st, const char *env, const char *name, const char *value,
	struct sbx_err *err)
{
	if (secret_args(env, name, err) < 0)
		return -1;
	if (!value)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_secret_put: value is required");
	st_lock(st);
	int rc = secret_put_locked(st, env, name, value, err);
	st_unlock(st);
	return rc;
}

/* Get, or generate and store, inside the caller's transaction. */
static int get_or_create_tx(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err)
{
	char *v = NULL;
	if (secret_get_locked(st, env, name, &v, err) < 0)
		return -1;
	if (!v) {
		v = sbx_random_token(TOKEN_LEN);
		if (secret_put_locked(st, env, name, v, err) < 0) {
			OPENSSL_cleanse(v, TOKEN_LEN);
			free(v);
			return -1;
		}
	}
	*value = v;
	return 0;
}

/* Read a secret, generating a random token when absent (one value even under races). */
int state_secret_get_or_create(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err)
{
	char *v = NULL;
	int rc = -1;
	if (secret_args(env, name, err) < 0)
		return -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, get_or_create_tx(st, env, name, &v, err), err);
	st_unlock(st);
	if (rc == 0) {
		*value = v;
	} else if (v) {
		OPENSSL_cleanse(v, strlen(v));
		free(v);
	}
	return rc;
}

/* Forget every secret of env. */
int state_secret_delete_env(struct state *st, const char *env, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM secret WHERE env = ?", "s", env);
	st_unlock(st);
	return rc;
}

/* Forget one secret of env. */
int state_secret_delete(struct state *st, const char *env, const char *name, struct sbx_err *err)
{
	if (secret_args(env, name, err) < 0)
		return -1;
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM secret WHERE env = ? AND name = ?", "ss", env, name);
	st_unlock(st);
	return rc;
}

/* The names of env's secrets, sorted. */
int state_secret_names(struct state *st, const char *env, char ***names, size_t *n, struct sbx_err *err)
{
	struct db_rows *stmt = NULL;
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	st_lock(st);
	if (db_query(st, &stmt, err, "SELECT name FROM secret WHERE env = ? ORDER BY name", "s", env) == 0)
		while ((rc = db_next(st, stmt, err)) == 1) {
			xgrow(&v, &cap, len + 1, sizeof(*v));
			v[len++] = db_col_str(stmt, 0);
		}
	db_done(st, stmt);
	st_unlock(st);
	if (rc < 0) {
		state_strv_free(v, len);
		return -1;
	}
	*names = v;
	*n = len;
	return 0;
}
