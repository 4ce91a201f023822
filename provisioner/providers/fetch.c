/* fetch — download a URL once into a cache file verified by its sha256 (libcurl). */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

/* Whether s is a 64-digit hex sha256. */
bool fetch_sha_ok(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

/* Check a file's sha256 against `want` (hex, case-insensitive). */
int fetch_verify(const char *path, const char *label, const char *want, struct sbx_err *err)
{
	char have[65];
	if (sbx_sha256_file(path, have, err) < 0)
		return -1;
	if (strcasecmp(have, want) != 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s: sha256 mismatch: expected %s, got %s",
			label ? label : path, want, have);
	return 0;
}

/* Make a directory of the cache (0755 so libvirt's QEMU can read what is inside). */
char *fetch_cache_dir(const char *cache, const char *sub, struct sbx_err *err)
{
	char *dir = sbx_path_join(cache, sub);
	int rc = sbx_mkdir_p(dir, 0755, err);
	if (rc == 0) {
		chmod(cache, 0755);
		chmod(dir, 0755);
		return dir;
	}
	free(dir);
	return NULL;
}

/* Take an exclusive flock on `path` (created); returns the fd or -1. */
int fetch_lock(const char *path, struct sbx_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open lock %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return sbx_err_set(err, SBX_EXIT_FAILED, "cannot lock %s: %s", path, strerror(errno));
		}
	}
	return fd;
}

/* Release a lock from fetch_lock. */
void fetch_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* One download in progress. */
struct dl {
	fetch_progress_fn progress;
	void *ctx;
	const char *what;
	int64_t last_ms;
};

/* libcurl progress: forward at most every 200 ms. */
static int dl_progress(void *p, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
	struct dl *d = p;
	(void)ut;
	(void)un;
	int64_t t = sbx_mono_ms();
	if (d->progress && (t - d->last_ms >= 200 || (total > 0 && now == total))) {
		d->last_ms = t;
		d->progress(d->ctx, d->what, (uint64_t)now, (uint64_t)total);
	}
	return 0;
}

/* Download url into the open file f. */
static int dl_fetch(const char *url, FILE *f, struct dl *d, struct sbx_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	if (h == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot initialize libcurl");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, dl_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot download %s: %s", url,
			*ebuf ? ebuf : curl_easy_strerror(rc));
	return fflush(f) == 0 ? 0 : sbx_err_set(err, SBX_EXIT_FAILED, "cannot write download: %s", strerror(errno));
}

/* Download into a temp file in dir, verify, rename to `final`. *fetch_failed tells a network
 * failure (worth a fallback) from a verification failure. */
static int dl_into_cache(const char *url, const char *sha, const char *dir, const char *final,
	struct dl *d, bool *fetch_failed, struct sbx_err *err)
{
	char *tmp = xasprintf("%s/.dl-%s.XXXXXX", dir, sha);
	int rc = -1, fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (f == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	*fetch_failed = dl_fetch(url, f, d, err) < 0;
	if (*fetch_failed || fetch_verify(tmp, url, sha, err) < 0)
		goto out;
	fchmod(fd, 0644);
	if (rename(tmp, final) < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The cached file of url, downloaded and verified when it is not there yet. */
int fetch_cached(const char *url, const char *sha256, const char *dir, fetch_progress_fn progress,
	void *ctx, char **path, bool *fetch_failed, struct sbx_err *err)
{
	char sha[65], *final = NULL, *lock = NULL;
	bool failed = false;
	int rc = -1, lfd = -1;
	struct dl d = {progress, ctx, url, 0};
	if (!fetch_sha_ok(sha256))
		return sbx_err_set(err, SBX_EXIT_USAGE, "%s needs a sha256 (64 hex digits)", url);
	for (size_t i = 0; i < 65; i++)
		sha[i] = (char)(i < 64 ? (sha256[i] | 0x20) : '\0'); /* lowercase hex */
	final = xasprintf("%s/%s", dir, sha);
	lock = xasprintf("%s/%s.lock", dir, sha);
	if ((lfd = fetch_lock(lock, err)) < 0)
		goto out;
	if (access(final, R_OK) != 0 && dl_into_cache(url, sha, dir, final, &d, &failed, err) < 0)
		goto out;
	*path = final;
	final = NULL;
	rc = 0;
out:
	if (fetch_failed)
		*fetch_failed = failed;
	fetch_unlock(lfd);
	free(final);
	free(lock);
	return rc;
}
