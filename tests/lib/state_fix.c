/* state_fix — a private state for a test, and environments in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "state_fix.h"

/* Whether the states are on PostgreSQL. */
bool state_fix_pg(void)
{
	const char *u = getenv("SBX_TEST_PG_URL");
	return u && *u;
}

/* The schema of path: s_ and 16 hex digits of its hash. */
static void schema_of(const char *path, char out[19])
{
	char hex[65];
	sbx_sha256_hex(path, strlen(path), hex);
	snprintf(out, 19, "s_%.16s", hex);
}

/* Ignore the server's notices ("schema already exists, skipping"). */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Run one statement on the scratch server as its superuser; fails the test on error. */
static void pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("SBX_TEST_PG_URL"));
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", getenv("SBX_TEST_PG_URL"), PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	const char *steps[] = {"SELECT pg_advisory_lock(4242)", sql, "SELECT pg_advisory_unlock(4242)"};
	for (size_t i = 0; i < 3; i++) {
		PGresult *r = PQexec(c, steps[i]);
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			fail_msg("%s: %s", steps[i], PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(c);
}

/* The location of path. */
char *state_fix_location(const char *path)
{
	if (!state_fix_pg())
		return xstrdup(path);
	char schema[19];
	schema_of(path, schema);
	char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", schema);
	pg_admin(sql);
	free(sql);
	return xasprintf("%s&options=-csearch_path%%3D%s", getenv("SBX_TEST_PG_URL"), schema);
}

/* Open the state of path. */
int state_fix_open(const char *path, struct state **st, struct sbx_err *err)
{
	if (!state_fix_pg())
		return state_open(path, st, err);
	char *loc = state_fix_location(path), *dir = sbx_dirname(path);
	int rc = state_open_at(loc, dir, st, err);
	free(loc);
	free(dir);
	return rc;
}

/* A temp dir and a state in it. */
struct state_fix *state_fix_new(const char *tag, const char *sub)
{
	struct state_fix *f = xcalloc(1, sizeof(*f));
	struct sbx_err err = SBX_ERR_INIT;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sbx-test-%s-XXXXXX", tag);
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp %s failed", f->dir);
	f->db = sub ? xasprintf("%s/%s/state.db", f->dir, sub) : xasprintf("%s/state.db", f->dir);
	f->key = sub ? xasprintf("%s/%s/key", f->dir, sub) : xasprintf("%s/key", f->dir);
	if (state_fix_open(f->db, &f->st, &err) < 0)
		fail_msg("state_open %s: %s", f->db, sbx_err_first(&err));
	return f;
}

/* Close and remove everything. */
void state_fix_free(struct state_fix *f)
{
	if (f == NULL)
		return;
	state_close(f->st);
	sbx_rm_rf(f->dir);
	free(f->db);
	free(f->key);
	free(f);
}

/* cmocka setup. */
int state_fix_setup(void **ctx)
{
	*ctx = state_fix_new("state", NULL);
	return 0;
}

/* cmocka teardown. */
int state_fix_teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* Record an environment. */
void state_fix_env(struct state *st, const char *name, int64_t expires, bool protect)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env e = {.name = (char *)name, .blueprint = "/bp.yaml", .bp_hash = "h1", .bp_json = "{}",
		.owner = "me@host", .expires = expires, .protected = protect};
	if (state_env_create(st, &e, &err) < 0)
		fail_msg("create %s: %s", name, sbx_err_first(&err));
}

/* Whether the file at path holds the bytes s. */
bool state_fix_file_has(const char *path, const char *s)
{
	char *data = NULL;
	size_t len = 0;
	struct sbx_err err = SBX_ERR_INIT;
	if (sbx_read_file(path, &data, &len, &err) < 0) {
		sbx_err_clear(&err);
		return false;
	}
	bool has = memmem(data, len, s, strlen(s)) != NULL;
	free(data);
	return has;
}
