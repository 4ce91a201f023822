/*
 * fetch — download a URL into a cache file verified by its sha256: the one downloader of the
 * provisioner (base images, the cluster's artifacts). A file is downloaded (libcurl, redirects
 * followed, progress reported) into a temp file of the cache directory, verified, then renamed
 * to DIR/<sha256>; a file already there is reused without a request. One downloader per file at
 * a time (flock on DIR/<sha256>.lock); a failed download or a digest mismatch leaves nothing in
 * the cache. Also the small pieces the callers share: a file's digest check, the 0755 cache
 * directories (libvirt's QEMU reads images from them), the lock.
 */
#ifndef SBX_FETCH_H
#define SBX_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Progress of a download (or of a build, for images): `what` is a short phrase (the URL);
 * done/total in bytes (total 0 = unknown). Called at most every 200 ms, and at the end. */
typedef void (*fetch_progress_fn)(void *ctx, const char *what, uint64_t done, uint64_t total);

/* Whether s is a sha256 in hex (64 digits, either case). */
bool fetch_sha_ok(const char *s);

/* Check path's sha256 against `want` (hex, case-insensitive). A mismatch fails with
 * "LABEL: sha256 mismatch: expected WANT, got HAVE" (SBX_EXIT_FAILED); label NULL: the path. */
int fetch_verify(const char *path, const char *label, const char *want, struct sbx_err *err) SBX_WUR;

/* The directory CACHE/SUB, created (0755, the cache itself too) when missing; caller frees;
 * NULL with an error. */
char *fetch_cache_dir(const char *cache, const char *sub, struct sbx_err *err);

/* Take an exclusive flock on `path` (created 0644); returns the fd for fetch_unlock, or -1. */
int fetch_lock(const char *path, struct sbx_err *err) SBX_WUR;
/* Release a lock from fetch_lock (-1 is a no-op). */
void fetch_unlock(int fd);

/*
 * The file of `url` in cache directory `dir` (made with fetch_cache_dir): DIR/<sha256, lowercase>,
 * downloaded and verified against sha256 unless it is there already (a mismatch names the URL). *path (caller frees) is
 * written on success. *fetch_failed (may be NULL) tells a download that failed (network, HTTP
 * error: worth a fallback) from a file that arrived but does not match its sha256 (a usage
 * problem: the URL or the sha256 is wrong). sha256 must satisfy fetch_sha_ok (else
 * SBX_EXIT_USAGE).
 */
int fetch_cached(const char *url, const char *sha256, const char *dir, fetch_progress_fn progress,
	void *ctx, char **path, bool *fetch_failed, struct sbx_err *err) SBX_WUR;

#endif
