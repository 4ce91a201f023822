/* util — allocation, errors, time, backoff, units, files, hashing, strings. */
#include "util.h"
#include "term.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Abort on out-of-memory. */
static void oom(size_t n)
{
	fprintf(stderr, "sandbox: out of memory (%zu bytes)\n", n);
	abort();
}

/* Allocate n bytes or abort. */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

/* Allocate a zeroed array or abort. */
void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

/* Resize or abort. */
void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

/* Grow an array to hold at least `need` elements. */
void xgrow(void *pp, size_t *cap, size_t need, size_t size)
{
	void **p = pp;
	size_t c = *cap;
	if (need <= c)
		return;
	if (c < 8)
		c = 8;
	while (c < need)
		c *= 2;
	*p = xrealloc(*p, c * size);
	memset((char *)*p + *cap * size, 0, (c - *cap) * size);
	*cap = c;
}

/* Duplicate a string or abort; NULL stays NULL. */
char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

/* Duplicate at most n bytes of a string. */
char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Format into a new string. */
char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	return s;
}

/* Format into a new string. */
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Append one message to the error object. */
static void err_push(struct sbx_err *e, int code, const char *file, int line, int col, char *text)
{
	if (e == NULL) {
		free(text);
		return;
	}
	xgrow(&e->msgs, &e->cap, e->n + 1, sizeof(*e->msgs));
	e->msgs[e->n++] = (struct sbx_err_msg){xstrdup(file), line, col, text};
	if (e->code == 0)
		e->code = code ? code : SBX_EXIT_FAILED;
}

/* Add an unpositioned message. */
int sbx_err_set(struct sbx_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_push(e, code, NULL, 0, 0, xvasprintf(fmt, ap));
	va_end(ap);
	return -1;
}

/* Add a positioned (blueprint) message. */
int sbx_err_at(struct sbx_err *e, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_push(e, SBX_EXIT_USAGE, file ? file : "<input>", line, col, xvasprintf(fmt, ap));
	va_end(ap);
	return -1;
}

/* Set the next-step hint. */
void sbx_err_hint(struct sbx_err *e, const char *fmt, ...)
{
	va_list ap;
	if (e == NULL)
		return;
	free(e->hint);
	va_start(ap, fmt);
	e->hint = xvasprintf(fmt, ap);
	va_end(ap);
}

/* Prefix every message so far. */
void sbx_err_prefix(struct sbx_err *e, const char *fmt, ...)
{
	va_list ap;
	if (e == NULL)
		return;
	va_start(ap, fmt);
	char *pre = xvasprintf(fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < e->n; i++) {
		char *t = xasprintf("%s: %s", pre, e->msgs[i].text);
		free(e->msgs[i].text);
		e->msgs[i].text = t;
	}
	free(pre);
}

/* Whether anything was reported. */
bool sbx_err_isset(const struct sbx_err *e)
{
	return e != NULL && e->n > 0;
}

/* The first message text. */
const char *sbx_err_first(const struct sbx_err *e)
{
	return (e && e->n) ? e->msgs[0].text : "";
}

/* Print one line "PREFIX: TEXT" with both cleaned for the terminal. */
static void print_clean(FILE *f, const char *prefix, const char *text)
{
	char *p = term_sanitize(prefix), *t = term_sanitize(text);
	fprintf(f, "%s: %s\n", p, t ? t : "");
	free(p);
	free(t);
}

/* Print every message and the hint (remote text in them is cleaned for the terminal). */
void sbx_err_print(const struct sbx_err *e, FILE *f)
{
	for (size_t i = 0; e && i < e->n; i++) {
		const struct sbx_err_msg *m = &e->msgs[i];
		char *at = m->file ? xasprintf("%s:%d:%d", m->file, m->line, m->col) : NULL;
		print_clean(f, at ? at : "sandbox", m->text);
		free(at);
	}
	if (e && e->hint)
		print_clean(f, "hint", e->hint);
}

/* Release every message. */
void sbx_err_clear(struct sbx_err *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->msgs[i].file);
		free(e->msgs[i].text);
	}
	free(e->msgs);
	free(e->hint);
	*e = (struct sbx_err)SBX_ERR_INIT;
}

static _Atomic int64_t fake_now;

/* Set (or with 0 clear) the fake clock. */
void sbx_fake_now_set(int64_t now)
{
	fake_now = now;
}

/* Wall-clock seconds, or the fake clock of the tests. */
int64_t sbx_now(void)
{
	int64_t fake = fake_now;
	return fake ? fake : (int64_t)time(NULL);
}

/* Start a backoff sequence. */
void sbx_backoff_init(struct sbx_backoff *b, int64_t timeout_ms, int64_t initial_ms, int64_t max_ms)
{
	b->deadline_ms = sbx_mono_ms() + timeout_ms;
	b->delay_ms = initial_ms > 0 ? initial_ms : 1;
	b->max_ms = max_ms > b->delay_ms ? max_ms : b->delay_ms;
}

/* Whether the deadline has passed. */
bool sbx_backoff_expired(const struct sbx_backoff *b)
{
	return sbx_mono_ms() >= b->deadline_ms;
}

/* Sleep the next delay, capped by the deadline. */
int sbx_backoff_wait(struct sbx_backoff *b)
{
	int64_t left = b->deadline_ms - sbx_mono_ms();
	if (left <= 0)
		return -1;
	sbx_sleep_ms(b->delay_ms < left ? b->delay_ms : left);
	b->delay_ms *= 2;
	if (b->delay_ms > b->max_ms)
		b->delay_ms = b->max_ms;
	return 0;
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

static const struct unit size_units[] = {
	{"", 1},           {"B", 1},
	{"K", 1000ULL},    {"Ki", 1ULL << 10},
	{"M", 1000000ULL}, {"Mi", 1ULL << 20},
	{"G", 1000000000ULL}, {"Gi", 1ULL << 30},
	{"T", 1000000000000ULL}, {"Ti", 1ULL << 40},
};

static const struct unit duration_units[] = {
	{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800},
};

/* Parse "<digits><suffix>" against a unit table. */
static int parse_unit(const char *s, const struct unit *u, size_t nu, uint64_t *out)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < nu; i++) {
		if (strcmp(end, u[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / u[i].mult)
			return -1;
		*out = v * u[i].mult;
		return 0;
	}
	return -1;
}

/* Parse a size ("512Mi"). */
int sbx_parse_size(const char *s, uint64_t *bytes)
{
	return parse_unit(s, size_units, SBX_NELEM(size_units), bytes);
}

/* Parse a duration: one or more "<n><unit>" terms ("1h30m"). */
int sbx_parse_duration(const char *s, int64_t *secs)
{
	uint64_t total = 0;
	if (s == NULL || *s == '\0')
		return -1;
	while (*s) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 12 || s[n] == '\0')
			return -1;
		char term[32];
		snprintf(term, sizeof(term), "%.*s", (int)(n + 1), s);
		uint64_t v;
		if (parse_unit(term, duration_units, SBX_NELEM(duration_units), &v) < 0)
			return -1;
		total += v;
		if (total > (uint64_t)INT64_MAX / 2)
			return -1;
		s += n + 1;
	}
	*secs = (int64_t)total;
	return 0;
}

/* Parse a duration, or a bare number of seconds. */
int sbx_parse_duration_arg(const char *s, int64_t *secs)
{
	size_t n = s ? strspn(s, "0123456789") : 0;
	if (n == 0 || n > 12 || s[n] != '\0')
		return sbx_parse_duration(s, secs);
	*secs = (int64_t)strtoll(s, NULL, 10);
	return 0;
}

/* Format seconds as "3d 2h", "1h 5m", "45s". */
const char *sbx_fmt_duration(int64_t secs, char *buf, size_t len)
{
	const char *sign = secs < 0 ? "-" : "";
	int64_t s = secs < 0 ? -secs : secs;
	if (s >= 86400)
		snprintf(buf, len, "%s%" PRId64 "d %" PRId64 "h", sign, s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%s%" PRId64 "h %" PRId64 "m", sign, s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(buf, len, "%s%" PRId64 "m %" PRId64 "s", sign, s / 60, s % 60);
	else
		snprintf(buf, len, "%s%" PRId64 "s", sign, s);
	return buf;
}

/* Format a size with the largest exact binary unit. */
const char *sbx_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *suf[] = {"", "Ki", "Mi", "Gi", "Ti"};
	size_t i = 0;
	while (i + 1 < SBX_NELEM(suf) && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%" PRIu64 "%s", bytes, suf[i]);
	return buf;
}

/* Read a whole file, NUL-terminated. */
int sbx_read_file(const char *path, char **data, size_t *len, struct sbx_err *e)
{
	FILE *f = fopen(path, "rb");
	struct sbx_buf b = {0};
	char chunk[65536];
	size_t n;
	if (f == NULL)
		return sbx_err_set(e, SBX_EXIT_FAILED, "cannot open %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sbx_buf_add(&b, chunk, n);
	if (ferror(f)) {
		fclose(f);
		sbx_buf_free(&b);
		return sbx_err_set(e, SBX_EXIT_FAILED, "cannot read %s: %s", path, strerror(errno));
	}
	fclose(f);
	if (len)
		*len = b.len;
	sbx_buf_add(&b, "", 0);
	*data = sbx_buf_steal(&b);
	return 0;
}

/* Write a file atomically with a mode. */
int sbx_write_file(const char *path, const void *data, size_t len, int mode, struct sbx_err *e)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, 0600, a name nobody can predict */
	int rc = -1;
	if (fd < 0) {
		sbx_err_set(e, SBX_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			sbx_err_set(e, SBX_EXIT_FAILED, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		sbx_err_set(e, SBX_EXIT_FAILED, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* mkdir -p. */
int sbx_mkdir_p(const char *path, int mode, struct sbx_err *e)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
			rc = sbx_err_set(e, SBX_EXIT_FAILED, "cannot create directory %s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* nftw callback removing one entry. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf. */
int sbx_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The directory part of a path ("." when none). */
char *sbx_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Join a directory and a relative path. */
char *sbx_path_join(const char *dir, const char *rel)
{
	if (rel[0] == '/' || dir == NULL || *dir == '\0')
		return xstrdup(rel);
	return xasprintf("%s/%s", dir, rel);
}

/* SHA-256 of a file, hex. */
int sbx_sha256_file(const char *path, char out[65], struct sbx_err *e)
{
	FILE *f = fopen(path, "rb");
	unsigned char d[32], chunk[1 << 16];
	unsigned int dl = 0;
	size_t n;
	if (f == NULL)
		return sbx_err_set(e, SBX_EXIT_FAILED, "cannot open %s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		EVP_DigestUpdate(ctx, chunk, n);
	int bad = ferror(f);
	fclose(f);
	EVP_DigestFinal_ex(ctx, d, &dl);
	EVP_MD_CTX_free(ctx);
	if (bad)
		return sbx_err_set(e, SBX_EXIT_FAILED, "cannot read %s", path);
	sbx_sha256_digest_hex(d, out);
	return 0;
}

/* A random alphanumeric token. */
char *sbx_random_token(size_t len)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char *r = xmalloc(len);
	char *s = xmalloc(len + 1);
	sbx_random(r, len);
	for (size_t i = 0; i < len; i++)
		s[i] = set[r[i] % (sizeof(set) - 1)]; /* 62 of 256: slight bias, still > 5.9 bits/char */
	s[len] = '\0';
	free(r);
	return s;
}

/* NULL-safe string equality. */
bool sbx_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Prefix test. */
bool sbx_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* [a-z][a-z0-9-]*, at most 40 characters, not ending in '-'. */
bool sbx_valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 40 || !islower((unsigned char)s[0]) || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Escape &<>"' for XML. */
char *sbx_xml_escape(const char *s)
{
	struct sbx_buf b = {0};
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sbx_buf_puts(&b, "&amp;"); break;
		case '<': sbx_buf_puts(&b, "&lt;"); break;
		case '>': sbx_buf_puts(&b, "&gt;"); break;
		case '"': sbx_buf_puts(&b, "&quot;"); break;
		case '\'': sbx_buf_puts(&b, "&apos;"); break;
		default: sbx_buf_add(&b, s, 1);
		}
	}
	return sbx_buf_steal(&b);
}

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

struct run_io {
	int fd[2];            /* stdout, stderr read ends (-1 once closed) */
	struct sbx_buf buf[2];
};

/* Start argv with stdout/stderr on pipes. */
static int run_spawn(char *const argv[], struct run_io *io, pid_t *pid)
{
	int po[2], pe[2], rc = -1, err;
	posix_spawn_file_actions_t fa;
	if (pipe2(po, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	err = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	if (err == 0)
		rc = 0;
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	io->fd[0] = po[0];
	io->fd[1] = pe[0];
	if (rc < 0) {
		close(po[0]);
		close(pe[0]);
		errno = err;
	}
	return rc;
}

/* Read both pipes until EOF or the deadline (deadline_ms 0 = none). Returns -1 on timeout. */
static int run_drain(struct run_io *io, int64_t deadline_ms)
{
	while (io->fd[0] >= 0 || io->fd[1] >= 0) {
		struct pollfd p[2] = {{io->fd[0], POLLIN, 0}, {io->fd[1], POLLIN, 0}};
		int64_t left = deadline_ms ? deadline_ms - sbx_mono_ms() : 1000;
		if (left <= 0)
			return -1;
		if (poll(p, 2, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < 2; i++) {
			char chunk[4096];
			if (io->fd[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(io->fd[i], chunk, sizeof chunk);
			if (n > 0)
				sbx_buf_add(&io->buf[i], chunk, (size_t)n);
			else if (n == 0 || errno != EINTR) {
				close(io->fd[i]);
				io->fd[i] = -1;
			}
		}
	}
	return 0;
}

/* The last non-empty line of s (a copy; caller frees). */
static char *run_last_line(const char *s)
{
	size_t end = s ? strlen(s) : 0;
	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	return xstrndup(s ? s + start : "", end - start);
}

/* Run a program and wait for it (see util.h). */
int sbx_run(char *const argv[], int64_t timeout_ms, char **out, struct sbx_err *e)
{
	struct run_io io = {{-1, -1}, {{0}, {0}}};
	int status = 0, rc = -1;
	pid_t pid;
	if (run_spawn(argv, &io, &pid) < 0)
		return sbx_err_set(e, SBX_EXIT_FAILED, "cannot run %s: %s", argv[0], strerror(errno));
	bool timed_out = run_drain(&io, timeout_ms > 0 ? sbx_mono_ms() + timeout_ms : 0) < 0;
	if (timed_out)
		kill(pid, SIGKILL);
	for (int i = 0; i < 2; i++)
		if (io.fd[i] >= 0)
			close(io.fd[i]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *last = run_last_line(io.buf[1].data);
	if (timed_out)
		sbx_err_set(e, SBX_EXIT_FAILED, "%s: timed out after %lld ms", argv[0], (long long)timeout_ms);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		sbx_err_set(e, SBX_EXIT_FAILED, "%s failed (%s %d)%s%s", argv[0],
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), *last ? ": " : "", last);
	else {
		if (out)
			*out = sbx_buf_steal(&io.buf[0]);
		rc = 0;
	}
	free(last);
	sbx_buf_free(&io.buf[0]);
	sbx_buf_free(&io.buf[1]);
	return rc;
}

/* Sleep the next delay of the backoff; a caught signal ends the sleep early. */
int sbx_backoff_wait_intr(struct sbx_backoff *b)
{
	int64_t left = b->deadline_ms - sbx_mono_ms();
	if (left <= 0)
		return -1;
	int64_t ms = b->delay_ms < left ? b->delay_ms : left;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	b->delay_ms = b->delay_ms * 2 > b->max_ms ? b->max_ms : b->delay_ms * 2;
	return nanosleep(&ts, NULL) == -1 && errno == EINTR ? 1 : 0;
}

static volatile sig_atomic_t cancelled;

/* Request the cancellation of waits (from a signal handler too). */
void sbx_cancel(void)
{
	cancelled = 1;
}

/* Whether waits were cancelled. */
bool sbx_cancelled(void)
{
	return cancelled != 0;
}

/* Quote a string for a POSIX shell. */
char *sbx_shell_quote(const char *s)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			sbx_buf_puts(&b, "'\\''");
		else
			sbx_buf_add(&b, s, 1);
	}
	sbx_buf_puts(&b, "'");
	return sbx_buf_steal(&b);
}

/* The directory of the running executable. */
char *sbx_exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return sbx_dirname(buf);
}

/* The project's cluster/ directory: the first candidate holding `probe`. */
char *sbx_cluster_dir(const char *given, const char *probe)
{
	char *exe = sbx_exe_dir();
	char *installed = exe ? xasprintf("%s/../share/sandbox/cluster", exe) : NULL;
	char *tree = exe ? xasprintf("%s/../cluster", exe) : NULL, *tree2 = exe ? xasprintf("%s/../../cluster", exe) : NULL;
	const char *cands[] = {given, installed, tree, tree2, "/usr/local/share/sandbox/cluster", "cluster"};
	char *found = NULL;
	for (size_t i = 0; i < SBX_NELEM(cands) && found == NULL; i++) {
		if (cands[i] == NULL || *cands[i] == '\0' || (given && *given && i > 0))
			continue;
		char *p = xasprintf("%s/%s", cands[i], probe);
		if (access(p, R_OK) == 0)
			found = xstrdup(cands[i]);
		free(p);
	}
	free(exe);
	free(installed);
	free(tree);
	free(tree2);
	return found;
}

/* Base64 of n bytes. */
char *sbx_base64(const void *d, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
	return out;
}
