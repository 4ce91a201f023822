/* state_lock — one flock per environment, so two commands never work on it at once. */
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct state_lock {
	int fd; /* its own open file description: flock conflicts even between threads */
};

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

/* Take the lock of env. */
int state_env_lock(struct state *st, const char *env, int wait_secs, struct state_lock **out,
	struct sbx_err *err)
{
	int fd = -1;
	if (!state_name_ok(env))
		return sbx_err_set(err, SBX_EXIT_USAGE, "invalid environment name \"%s\"", env ? env : "");
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
	struct state_lock *lk = xmalloc(sizeof(*lk));
	lk->fd = fd;
	*out = lk;
	return 0;
}

/* Release the lock. */
void state_env_unlock(struct state_lock *lk)
{
	if (!lk)
		return;
	close(lk->fd);
	free(lk);
}
