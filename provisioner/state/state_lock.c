/* state_lock — one flock per environment, so two commands never work on it at once. */
#include "state_db.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct state_lock {
	int fd; /* its own open file description: flock conflicts even between threads */
	/* PostgreSQL: the lease and its heartbeat thread */
	struct state *st;
	char *env, *token;
	bool beating, stop;
	pthread_t hb;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* This host's name. */
static void host_name(char host[HOST_NAME_MAX + 1])
{
	memset(host, 0, HOST_NAME_MAX + 1);
	if (gethostname(host, HOST_NAME_MAX) < 0 || !*host)
		snprintf(host, HOST_NAME_MAX + 1, "localhost");
}

/* s as a JSON string (quoted, escaped); caller frees. */
static char *json_str(const char *s)
{
	struct sbx_buf b = {0};
	sbx_buf_add(&b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			sbx_buf_printf(&b, "\\%c", *p);
		else if (*p < 0x20)
			sbx_buf_printf(&b, "\\u%04x", *p);
		else
			sbx_buf_add(&b, p, 1);
	}
	sbx_buf_add(&b, "\"", 1);
	return sbx_buf_steal(&b);
}

/* The lease row of env: *found, its host (caller frees), pid and expiry. */
static int lease_read(struct state *st, const char *env, bool *found, char **host, int64_t *pid,
	int64_t *expires, struct sbx_err *err)
{
	bool f2 = false;
	*host = NULL;
	*pid = *expires = 0;
	if (db_text(st, err, host, "SELECT host FROM env_lock WHERE env = ?", "s", env) < 0)
		return -1;
	*found = *host != NULL;
	if (!*found)
		return 0;
	if (db_int(st, err, pid, &f2, "SELECT pid FROM env_lock WHERE env = ?", "s", env) < 0 ||
		db_int(st, err, expires, &f2, "SELECT expires FROM env_lock WHERE env = ?", "s", env) < 0)
		return -1;
	return 0;
}

/* Whether a lease is still held: not expired, and not by a process of this host that is gone. */
static bool lease_live(const char *host, int64_t pid, int64_t expires, const char *me)
{
	if (expires <= sbx_now())
		return false;
	if (strcmp(host, me) == 0 && pid > 0 && pid <= INT_MAX && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	return true;
}

/*
 * Take env's lease inside a write transaction: 1 = taken (a dead holder's taken over, logged),
 * 0 = busy (*holder: "HOST pid PID", caller frees), -1 = error.
 */
static int lease_take_tx(struct state *st, const char *env, const char *token, char **holder,
	struct sbx_err *err)
{
	char me[HOST_NAME_MAX + 1], *host = NULL;
	int64_t pid = 0, expires = 0, now = sbx_now();
	bool found = false;
	host_name(me);
	if (lease_read(st, env, &found, &host, &pid, &expires, err) < 0)
		return -1;
	int rc = 1;
	if (found && lease_live(host, pid, expires, me)) {
		*holder = xasprintf("%s pid %lld", host, (long long)pid);
		rc = 0;
	} else if (found) {
		char *h = json_str(host);
		char *detail = xasprintf("{\"host\":%s,\"pid\":%lld,\"expires\":%lld,\"expired\":%s}", h,
			(long long)pid, (long long)expires, expires <= now ? "true" : "false");
		rc = state_event_add(st, env, "lock.takeover", detail, err) < 0 ? -1 : 1;
		free(h);
		free(detail);
	}
	if (rc == 1 && db_exec(st, err, NULL,
		"INSERT INTO env_lock (env, token, host, pid, since, heartbeat, expires)"
		" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (env) DO UPDATE SET token = excluded.token,"
		" host = excluded.host, pid = excluded.pid, since = excluded.since,"
		" heartbeat = excluded.heartbeat, expires = excluded.expires",
		"sssiiii", env, token, me, (int64_t)getpid(), now, now, now + STATE_LOCK_LEASE_S) < 0)
		rc = -1;
	free(host);
	return rc;
}

/* Try env's lease once (its own transaction): 1 taken, 0 busy, -1 error. */
static int lease_try(struct state *st, const char *env, const char *token, char **holder,
	struct sbx_err *err)
{
	int got = -1;
	st_lock(st);
	if (db_begin(st, err) == 0) {
		got = lease_take_tx(st, env, token, holder, err);
		if (db_end(st, got < 0 ? -1 : 0, err) < 0)
			got = -1;
	}
	st_unlock(st);
	return got;
}

/* Renew the lease every STATE_LOCK_LEASE_S / 3 seconds until told to stop. */
static void *heartbeat(void *arg)
{
	struct state_lock *lk = arg;
	pthread_mutex_lock(&lk->mu);
	while (!lk->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STATE_LOCK_LEASE_S / 3;
		while (!lk->stop && pthread_cond_timedwait(&lk->cv, &lk->mu, &ts) != ETIMEDOUT)
			;
		if (lk->stop)
			break;
		pthread_mutex_unlock(&lk->mu);
		st_lock(lk->st);
		int64_t now = sbx_now();
		(void)db_exec(lk->st, NULL, NULL, "UPDATE env_lock SET heartbeat = ?, expires = ?"
			" WHERE env = ? AND token = ?", "iiss", now, now + STATE_LOCK_LEASE_S, lk->env, lk->token);
		st_unlock(lk->st);
		pthread_mutex_lock(&lk->mu);
	}
	pthread_mutex_unlock(&lk->mu);
	return NULL;
}

/* Take env's lease within wait_secs (< 0: forever) and start its heartbeat. */
static int lease_acquire(struct state *st, struct state_lock *lk, const char *env, int wait_secs,
	struct sbx_err *err)
{
	struct sbx_backoff b;
	char *holder = NULL;
	int got;
	sbx_backoff_init(&b, wait_secs < 0 ? INT64_MAX / 4 : (int64_t)wait_secs * 1000, 10, 500);
	lk->token = sbx_random_token(16);
	while ((got = lease_try(st, env, lk->token, &holder, err)) == 0 && wait_secs != 0 &&
		sbx_backoff_wait_intr(&b) == 0) {
		free(holder);
		holder = NULL;
	}
	if (got == 0) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is locked by %s", env, holder);
		sbx_err_hint(err, "another sandbox command holds the lock of environment %s; retry, pass "
			"--wait-lock SECONDS, or once its holder is gone for good `sandbox unlock %s`", env, env);
	}
	free(holder);
	if (got <= 0)
		return -1;
	lk->st = st;
	lk->env = xstrdup(env);
	pthread_mutex_init(&lk->mu, NULL);
	pthread_cond_init(&lk->cv, NULL);
	lk->beating = pthread_create(&lk->hb, NULL, heartbeat, lk) == 0;
	return 0;
}

/* Stop the heartbeat and drop the lease (if it is still ours). */
static void lease_release(struct state_lock *lk)
{
	if (!lk->st)
		return;
	if (lk->beating) {
		pthread_mutex_lock(&lk->mu);
		lk->stop = true;
		pthread_cond_signal(&lk->cv);
		pthread_mutex_unlock(&lk->mu);
		pthread_join(lk->hb, NULL);
	}
	pthread_mutex_destroy(&lk->mu);
	pthread_cond_destroy(&lk->cv);
	for (int attempt = 0; attempt < 2; attempt++) {
		st_lock(lk->st);
		int rc = db_exec(lk->st, NULL, NULL, "DELETE FROM env_lock WHERE env = ? AND token = ?", "ss",
			lk->env, lk->token);
		st_unlock(lk->st);
		/* a connection the server dropped (a restart) is opened again once: else the lease
		 * would stay until it runs out, and the holder look alive that long */
		if (rc == 0 || attempt > 0 || !state_conn_lost(lk->st) || state_reconnect(lk->st, NULL) < 0)
			break;
	}
}

/* Drop env's lease whoever holds it, and log it. */
int state_env_lock_break(struct state *st, const char *env, const char *by, bool *held,
	struct sbx_err *err)
{
	char *host = NULL, *detail = NULL, *b = json_str(by);
	int64_t pid = 0, expires = 0;
	bool found = false;
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0) {
		rc = lease_read(st, env, &found, &host, &pid, &expires, err);
		if (rc == 0 && found) {
			char *h = json_str(host);
			detail = xasprintf("{\"held\":true,\"host\":%s,\"pid\":%lld,\"by\":%s}", h,
				(long long)pid, b);
			free(h);
			rc = db_exec(st, err, NULL, "DELETE FROM env_lock WHERE env = ?", "s", env);
		} else if (rc == 0) {
			detail = xasprintf("{\"held\":false,\"by\":%s}", b);
		}
		if (rc == 0)
			rc = state_event_add(st, env, "lock.unlock", detail, err);
		rc = db_end(st, rc, err);
	}
	st_unlock(st);
	if (rc == 0)
		*held = found;
	free(host);
	free(detail);
	free(b);
	return rc;
}

/* Open (creating) the lock file of env. */
static int lock_open(struct state *st, const char *env, int *fd, struct sbx_err *err)
{
	char *dir = sbx_path_join(st->private_dir, "locks");
	char *path = xasprintf("%s/%s.lock", dir, env);
	int rc = sbx_mkdir_p(dir, 0700, err);
	if (rc == 0) {
		*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (*fd < 0)
			rc = sbx_err_set(err, SBX_EXIT_FAILED, "cannot open the lock %s: %s", path,
				strerror(errno));
	}
	free(dir);
	free(path);
	return rc;
}

/*
 * Try once: 1 = taken, 0 = busy, -1 = error. A blocking wait interrupted by a signal (Ctrl-C
 * with a handler installed) is an error, so the user can give up waiting.
 */
static int lock_try(int fd, int op)
{
	for (;;) {
		if (flock(fd, op) == 0)
			return 1;
		if (errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR || !(op & LOCK_NB))
			return -1;
	}
}

/*
 * Take the lock within wait_secs (< 0: forever): 1 = taken, 0 = busy, -1 = error (errno set;
 * EINTR when a signal interrupted the wait).
 */
static int lock_wait(int fd, int wait_secs)
{
	struct sbx_backoff b;
	int got, slept = 0;
	if (wait_secs < 0)
		return lock_try(fd, LOCK_EX);
	sbx_backoff_init(&b, (int64_t)wait_secs * 1000, 10, 500);
	while ((got = lock_try(fd, LOCK_EX | LOCK_NB)) == 0 && (slept = sbx_backoff_wait_intr(&b)) == 0)
		;
	if (got == 0 && slept == 1) {
		errno = EINTR;
		return -1;
	}
	return got;
}

/* Record the holder's pid in the lock file (for humans; the flock is what counts). */
static void lock_note_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return; /* best effort */
}

static int lock_take(struct state *st, const char *env, int wait_secs, struct state_lock **out,
	struct sbx_err *err);

/* Take the lock of env. */
int state_env_lock(struct state *st, const char *env, int wait_secs, struct state_lock **out,
	struct sbx_err *err)
{
	if (!state_name_ok(env))
		return sbx_err_set(err, SBX_EXIT_USAGE, "invalid environment name \"%s\"", env ? env : "");
	return lock_take(st, env, wait_secs, out, err);
}

/* The lock key of a reaper id: "reaper~" and the id, with what a file name should not hold as '_'. */
static char *reaper_key(const char *reaper)
{
	char *k = xasprintf("reaper~%s", reaper);
	for (char *p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("~@:._-", *p))
			*p = '_';
	return k;
}

/* A new reaper id. */
char *state_reaper_id(const char *kind)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	uint32_t r = 0;
	gethostname(host, sizeof(host) - 1);
	sbx_random(&r, sizeof(r));
	return xasprintf("%s@%s:%d.%08x", kind, host, (int)getpid(), (unsigned)r);
}

/* Hold the liveness lock of a reaper id (not waiting). */
int state_reaper_hold(struct state *st, const char *reaper, struct state_lock **out, struct sbx_err *err)
{
	char *k = reaper_key(reaper);
	struct sbx_err e = SBX_ERR_INIT;
	int rc = lock_take(st, k, 0, out, &e);
	if (rc < 0 && e.code == SBX_EXIT_REFUSED)
		sbx_err_set(err, SBX_EXIT_REFUSED, "reaper %s is already running (its liveness lock %s is held)", reaper, k);
	else if (rc < 0)
		for (size_t i = 0; i < e.n; i++)
			sbx_err_set(err, e.code, "%s", e.msgs[i].text);
	sbx_err_clear(&e);
	free(k);
	return rc;
}

/* Take the lock of key (an environment name or a reaper key). */
static int lock_take(struct state *st, const char *env, int wait_secs, struct state_lock **out,
	struct sbx_err *err)
{
	int fd = -1;
	if (lock_open(st, env, &fd, err) < 0)
		return -1;
	int got = lock_wait(fd, wait_secs);
	if (got <= 0) {
		if (got < 0 && errno == EINTR) {
			sbx_err_set(err, SBX_EXIT_FAILED, "interrupted while waiting for the lock of environment %s",
				env);
		} else if (got < 0) {
			sbx_err_set(err, SBX_EXIT_FAILED, "cannot lock environment %s: %s", env, strerror(errno));
		} else {
			sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is locked", env);
			sbx_err_hint(err, "another sandbox command holds the lock of environment %s; retry, or "
				"pass --wait-lock SECONDS", env);
		}
		close(fd);
		return -1;
	}
	lock_note_pid(fd);
	struct state_lock *lk = xcalloc(1, sizeof(*lk));
	lk->fd = fd;
	if (st->be == &db_pg && lease_acquire(st, lk, env, wait_secs, err) < 0) {
		state_env_unlock(lk);
		return -1;
	}
	*out = lk;
	return 0;
}

/* Release the lock. */
void state_env_unlock(struct state_lock *lk)
{
	if (!lk)
		return;
	lease_release(lk);
	close(lk->fd);
	free(lk->env);
	free(lk->token);
	free(lk);
}
