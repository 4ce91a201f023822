/* Unit tests of the state's secrets: AES-256-GCM under a 0600 key file, tamper-evident. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_fix.h"

/* A private state for the test. */
static int setup(void **ctx)
{
	struct state_fix *f = state_fix_new("secret", "s");
	*ctx = f;
	return 0;
}

/* Close and remove everything. */
static int teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* Run one SQL statement on the database directly. */
static void raw_sql(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* Read the hex of one blob column of a secret row directly. */
static char *raw_hex(const char *db, const char *col, const char *name)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	char *sql = xasprintf("SELECT hex(%s) FROM secret WHERE name = '%s'", col, name);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	char *v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(sql);
	return v;
}

/* Flip the lowest bit of the last ciphertext byte of secret `name`, directly. */
static void raw_flip_bit(const char *db, const char *name)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT ct FROM secret WHERE name = ?", -1, &s, NULL), 0);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int n = sqlite3_column_bytes(s, 0);
	assert_true(n > 0);
	unsigned char *ct = xmalloc((size_t)n);
	memcpy(ct, sqlite3_column_blob(s, 0), (size_t)n);
	sqlite3_finalize(s);
	ct[n - 1] ^= 1;
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE secret SET ct = ? WHERE name = ?", -1, &s, NULL), 0);
	sqlite3_bind_blob(s, 1, ct, n, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(ct);
}

/* Expect get to fail (and leave *value alone) with a message containing needle. */
static void get_fails(struct state *st, const char *env, const char *name, const char *needle)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *v = (char *)"untouched";
	assert_int_equal(state_secret_get(st, env, name, &v, &err), -1);
	assert_string_equal(v, "untouched");
	if (!strstr(sbx_err_first(&err), needle))
		fail_msg("\"%s\" does not mention \"%s\"", sbx_err_first(&err), needle);
	sbx_err_clear(&err);
}

/* Put then get returns the value; absent is NULL; put replaces; empty values work. */
static void test_round_trip(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *v = (char *)"unset";
	assert_int_equal(state_secret_get(f->st, "demo", "db", &v, &err), 0);
	assert_null(v);
	assert_int_equal(state_secret_put(f->st, "demo", "db", "s3cr3t-Pässwörd", &err), 0);
	assert_int_equal(state_secret_get(f->st, "demo", "db", &v, &err), 0);
	assert_string_equal(v, "s3cr3t-Pässwörd");
	free(v);
	assert_int_equal(state_secret_put(f->st, "demo", "db", "second", &err), 0);
	assert_int_equal(state_secret_put(f->st, "demo", "empty", "", &err), 0);
	assert_int_equal(state_secret_get(f->st, "demo", "db", &v, &err), 0);
	assert_string_equal(v, "second");
	free(v);
	assert_int_equal(state_secret_get(f->st, "demo", "empty", &v, &err), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(state_secret_get(f->st, "other", "db", &v, &err), 0);
	assert_null(v);
}

/* The value never appears in the database file; the same value twice gets two nonces. */
static void test_sealed_and_fresh_nonces(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	const char *secret = "PLAINTEXT-MARKER-0123456789";
	assert_int_equal(state_secret_put(f->st, "demo", "x", secret, &err), 0);
	char *n1 = raw_hex(f->db, "nonce", "x"), *c1 = raw_hex(f->db, "ct", "x");
	assert_int_equal(state_secret_put(f->st, "demo", "x", secret, &err), 0);
	char *n2 = raw_hex(f->db, "nonce", "x"), *c2 = raw_hex(f->db, "ct", "x");
	assert_int_equal(state_secret_put(f->st, "demo", "y", secret, &err), 0);
	char *n3 = raw_hex(f->db, "nonce", "y");
	assert_int_equal(strlen(n1), 24);
	assert_string_not_equal(n1, n2);
	assert_string_not_equal(n1, n3);
	assert_string_not_equal(c1, c2);
	state_close(f->st); /* checkpoint the WAL into the file */
	f->st = NULL;
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(sbx_read_file(f->db, &data, &len, &err), 0);
	assert_null(memmem(data, len, secret, strlen(secret)));
	assert_non_null(memmem(data, len, "demo", 4)); /* the scan does see the rows */
	free(data);
	assert_int_equal(state_open(f->db, &f->st, &err), 0);
	free(n1);
	free(n2);
	free(n3);
	free(c1);
	free(c2);
}

/* A changed ciphertext, tag or nonce, or a value moved to another name, fails clearly. */
static void test_tampering_detected(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(state_secret_put(f->st, "demo", "a", "alpha-value", &err), 0);
	assert_int_equal(state_secret_put(f->st, "demo", "b", "bravo-value", &err), 0);
	assert_int_equal(state_secret_put(f->st, "demo", "c", "charlie-val", &err), 0);
	assert_int_equal(state_secret_put(f->st, "demo", "d", "delta-value", &err), 0);
	/* flip the last byte of a's ciphertext */
	raw_flip_bit(f->db, "a");
	get_fails(f->st, "demo", "a", "tampered");
	raw_sql(f->db, "UPDATE secret SET tag = zeroblob(16) WHERE name = 'b'");
	get_fails(f->st, "demo", "b", "tampered");
	raw_sql(f->db, "UPDATE secret SET nonce = zeroblob(12) WHERE name = 'c'");
	get_fails(f->st, "demo", "c", "tampered");
	/* d's sealed value copied under the name e: the AAD binds it to d */
	raw_sql(f->db, "INSERT INTO secret (env, name, nonce, tag, ct) SELECT env, 'e', nonce, tag, ct"
		" FROM secret WHERE name = 'd'");
	get_fails(f->st, "demo", "e", "tampered");
	raw_sql(f->db, "UPDATE secret SET nonce = zeroblob(5) WHERE name = 'd'");
	get_fails(f->st, "demo", "d", "corrupt");
}

/* The key file is 32 bytes, mode 0600, in a 0700 directory. */
static void test_key_file(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct stat sb;
	assert_int_equal(stat(f->key, &sb), -1); /* created on first use only */
	assert_int_equal(state_secret_put(f->st, "demo", "k", "v", &err), 0);
	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 32);
	char *dir = sbx_dirname(f->key);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	free(dir);
}

/* Another key decrypts nothing: a clear error; a key readable by others is refused. */
static void test_wrong_key(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	unsigned char other[32];
	assert_int_equal(state_secret_put(f->st, "demo", "db", "pw", &err), 0);
	state_close(f->st);
	sbx_random(other, sizeof(other));
	assert_int_equal(sbx_write_file(f->key, other, sizeof(other), 0600, &err), 0);
	assert_int_equal(state_open(f->db, &f->st, &err), 0);
	get_fails(f->st, "demo", "db", "wrong key");
	state_close(f->st);
	assert_int_equal(chmod(f->key, 0644), 0);
	assert_int_equal(state_open(f->db, &f->st, &err), 0);
	get_fails(f->st, "demo", "db", "readable by others");
	state_close(f->st);
	assert_int_equal(sbx_write_file(f->key, "short", 5, 0600, &err), 0);
	assert_int_equal(state_open(f->db, &f->st, &err), 0);
	get_fails(f->st, "demo", "db", "32-byte");
}

struct goc {
	struct state *st;
	char *value;
};

/* get_or_create from a thread, with its own handle. */
static void *goc_thread(void *arg)
{
	struct goc *g = arg;
	struct sbx_err err = SBX_ERR_INIT;
	if (state_secret_get_or_create(g->st, "demo", "k3s-token", &g->value, &err) < 0)
		g->value = NULL;
	sbx_err_clear(&err);
	return NULL;
}

/* get_or_create makes a 32-char token once; concurrent callers on other handles agree. */
static void test_get_or_create(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct goc g[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		g[i].value = NULL;
		assert_int_equal(state_open(f->db, &g[i].st, &err), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, goc_thread, &g[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	char *v = NULL;
	assert_int_equal(state_secret_get_or_create(f->st, "demo", "k3s-token", &v, &err), 0);
	assert_int_equal(strlen(v), 32);
	for (int i = 0; i < 4; i++) {
		assert_non_null(g[i].value);
		assert_string_equal(g[i].value, v);
		free(g[i].value);
		state_close(g[i].st);
	}
	free(v);
	char *w = NULL;
	assert_int_equal(state_secret_get_or_create(f->st, "demo", "other", &w, &err), 0);
	assert_int_equal(strlen(w), 32);
	free(w);
}

/* delete_env removes every secret of that env only. */
static void test_delete_env(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *v = NULL;
	assert_int_equal(state_secret_put(f->st, "a", "x", "1", &err), 0);
	assert_int_equal(state_secret_put(f->st, "a", "y", "2", &err), 0);
	assert_int_equal(state_secret_put(f->st, "b", "x", "3", &err), 0);
	assert_int_equal(state_secret_delete_env(f->st, "a", &err), 0);
	assert_int_equal(state_secret_get(f->st, "a", "x", &v, &err), 0);
	assert_null(v);
	assert_int_equal(state_secret_get(f->st, "b", "x", &v, &err), 0);
	assert_string_equal(v, "3");
	free(v);
}

/* One secret is deleted by name; names are listed sorted, per environment. */
static void test_delete_and_names(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char **names = NULL, *v = NULL;
	size_t n = 9;
	assert_int_equal(state_secret_names(f->st, "a", &names, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(names, n);
	assert_int_equal(state_secret_put(f->st, "a", "zeta", "1", &err), 0);
	assert_int_equal(state_secret_put(f->st, "a", "alpha", "2", &err), 0);
	assert_int_equal(state_secret_put(f->st, "b", "beta", "3", &err), 0);
	assert_int_equal(state_secret_names(f->st, "a", &names, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "alpha");
	assert_string_equal(names[1], "zeta");
	state_strv_free(names, n);
	assert_int_equal(state_secret_delete(f->st, "a", "zeta", &err), 0);
	assert_int_equal(state_secret_delete(f->st, "a", "zeta", &err), 0); /* absent: not an error */
	assert_int_equal(state_secret_get(f->st, "a", "zeta", &v, &err), 0);
	assert_null(v);
	assert_int_equal(state_secret_get(f->st, "b", "beta", &v, &err), 0);
	assert_string_equal(v, "3");
	free(v);
	assert_int_equal(state_secret_names(f->st, "a", &names, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "alpha");
	state_strv_free(names, n);
	assert_false(sbx_err_isset(&err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_and_fresh_nonces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampering_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_or_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
