/* state — open, migrate and close the state database; batches of writes. */
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* This state's private directory. */
const char *state_private_dir(const struct state *st)
{
	return st->private_dir;
}

/* The state's id. */
const char *state_id(const struct state *st)
{
	return st->id;
}

/* Set the IPAM pool. */
void state_set_ipam_pool(struct state *st, const char *pool)
{
	free(st->ipam_pool);
	st->ipam_pool = xstrdup(pool);
}

/* Where the state is, without a password. */
const char *state_location(const struct state *st)
{
	return st->shown;
}

/* The directory holding the database, key and locks. */
const char *state_dir(const struct state *st)
{
	return st->dir;
}

/* Refuse a directory another user owns, or that group or others can get into. */
static int check_dir(const char *dir, struct sbx_err *err)
{
	struct stat sb;
	if (lstat(dir, &sb) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot inspect %s: %s", dir, strerror(errno));
	if (S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077) == 0)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED, "the state directory %s must be a directory of yours with mode 0700 "
		"(it is %s, owner uid %u, mode %03o): it holds the environments' keys", dir,
		S_ISDIR(sb.st_mode) ? "a directory" : "not a directory", (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777));
	sbx_err_hint(err, "`chmod 700 %s` if it is yours, or point SANDBOX_STATE at a directory of your own", dir);
	return -1;
}

/* This state's own directory (keys, locks) beside the database: dir/<state id>, 0700. */
static int private_dir(struct state *st, struct sbx_err *err)
{
	st->private_dir = xasprintf("%s/%s", st->dir, st->id);
	return sbx_mkdir_p(st->private_dir, 0700, err) < 0 ? -1 : check_dir(st->private_dir, err);
}

/* Create the directory (0700) and the database file (0600) when missing. */
static int prepare_files(struct state *st, struct sbx_err *err)
{
	if (sbx_mkdir_p(st->dir, 0700, err) < 0 || check_dir(st->dir, err) < 0)
		return -1;
	if (st->be != &db_sqlite)
		return 0; /* a server's database: only the local directory */
	int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open the state database %s: %s",
			st->path, strerror(errno));
	close(fd);
	return 0;
}

/* The schema version. */
static int schema_version(struct state *st, int64_t *v, struct sbx_err *err)
{
	return st->be->version_get(st, v, err);
}

/* Refuse a schema newer than this binary knows. */
static int check_version(struct state *st, int64_t v, int64_t known, struct sbx_err *err)
{
	if (v <= known)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED,
		"the state database %s has schema version %lld, newer than this sandbox knows (%lld)",
		st->path, (long long)v, (long long)known);
	sbx_err_hint(err, "use a newer sandbox binary with this state, or point SANDBOX_STATE elsewhere");
	return -1;
}

/* Apply the steps from version v on (inside the caller's transaction). */
static int apply_steps(struct state *st, int64_t v, int64_t known, struct sbx_err *err)
{
	for (; v < known; v++) {
		if (st->be->run(st, st->be->migrations[v], NULL) < 0)
			return db_fail(st, err, "schema migration");
	}
	return st->be->version_set(st, known, err);
}

/* Bring the schema to the version this binary knows, all steps in one transaction. */
static int migrate(struct state *st, struct sbx_err *err)
{
	int64_t v = 0, known = (int64_t)st->be->nmigrations;
	if (schema_version(st, &v, err) < 0 || check_version(st, v, known, err) < 0)
		return -1;
	if (v == known)
		return 0;
	if (db_begin(st, err) < 0)
		return -1;
	/* Re-read under the write lock: another process may have migrated meanwhile. */
	int rc = schema_version(st, &v, err);
	if (rc == 0)
		rc = check_version(st, v, known, err);
	if (rc == 0 && v < known)
		rc = apply_steps(st, v, known, err);
	return db_end(st, rc, err);
}

/* Allocate a handle for `path` (a file, or a URL with its local directory `dir`). */
static struct state *state_new(const char *path, const char *dir)
{
	struct state *st = xcalloc(1, sizeof(*st));
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->mu, &a);
	pthread_mutexattr_destroy(&a);
	st->path = xstrdup(path);
	st->shown = db_url_shown(path);
	st->be = state_is_url(path) ? &db_pg : &db_sqlite;
	st->dir = st->be == &db_sqlite ? sbx_dirname(st->path) : xstrdup(dir);
	return st;
}

/* Open the state at a file. */
int state_open(const char *path, struct state **out, struct sbx_err *err)
{
	return state_open_at(path, NULL, out, err);
}

/* Open (creating and migrating when needed) the state at a file or PostgreSQL URL. */
int state_open_at(const char *location, const char *local_dir, struct state **out, struct sbx_err *err)
{
	if (location == NULL || *location == '\0')
		return sbx_err_set(err, SBX_EXIT_USAGE, "no state path given");
	if (state_is_url(location) && (local_dir == NULL || *local_dir != '/'))
		return sbx_err_set(err, SBX_EXIT_USAGE, "a PostgreSQL state needs a local directory "
			"(absolute) for its secrets key, SSH keys and locks");
	struct state *st = state_new(location, local_dir);
	int rc = -1;
	if (prepare_files(st, err) < 0)
		goto out;
	if (st->be->open(st, err) < 0 || migrate(st, err) < 0 ||
		db_text(st, err, &st->id, "SELECT value FROM meta WHERE key = 'state_id'", NULL) < 0 ||
		private_dir(st, err) < 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	state_close(st);
	return rc;
}

/* Close the state. */
void state_close(struct state *st)
{
	if (!st)
		return;
	while (st->user_txn > 0)
		state_rollback(st); /* a batch left open is discarded */
	if (st->conn)
		st->be->close(st);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st->shown);
	free(st->dir);
	free(st->ipam_pool);
	free(st->id);
	free(st->private_dir);
	free(st->avoid);
	free(st);
}

/* Start a batch. */
int state_begin(struct state *st, struct sbx_err *err)
{
	st_lock(st);
	if (db_begin(st, err) < 0) {
		st_unlock(st);
		return -1;
	}
	st->user_txn++;
	return 0;
}

/* Commit a batch. */
int state_commit(struct state *st, struct sbx_err *err)
{
	if (st->user_txn <= 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_commit without state_begin");
	int rc = db_commit(st, err);
	st->user_txn--;
	st_unlock(st);
	return rc;
}

/* Abandon a batch. */
void state_rollback(struct state *st)
{
	if (!st || st->user_txn <= 0)
		return;
	db_rollback(st);
	st->user_txn--;
	st_unlock(st);
}
