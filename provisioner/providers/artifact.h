/*
 * artifact — the files a k3s install needs (the k3s binary, the airgap images tarball) as local
 * files checked against their sha256, from the blueprint's cluster section:
 *   - `bundle: DIR`: the assets of one k3s release as published: DIR/k3s,
 *     DIR/k3s-airgap-images-amd64.tar.zst (or .tar, .tar.gz: the first found in that order) and
 *     DIR/sha256sum-amd64.txt, whose lines ("HEX  NAME") give the digests. A file must lie in DIR
 *     after resolving symlinks (the blueprint's confinement stays true for what DIR holds).
 *   - `k3s: {path|url, sha256}` and `images: {path|url, sha256}`: a path (confined by the
 *     blueprint) is checked; a url is downloaded once (fetch.h) into CACHE/artifacts/<sha256>,
 *     verified, then reused.
 * Every error says what is missing or wrong, what to supply and where to get it, e.g.
 *   cluster.bundle /x/y: no k3s-airgap-images-amd64.tar.zst (or .tar, .tar.gz): put the assets of
 *   one k3s release (https://github.com/k3s-io/k3s/releases) there: k3s,
 *   k3s-airgap-images-amd64.tar.zst, sha256sum-amd64.txt
 * and a digest mismatch names the file, the expected and the actual digest. Missing or malformed
 * inputs are SBX_EXIT_USAGE; a mismatch, a failed download or an I/O error SBX_EXIT_FAILED.
 */
#ifndef SBX_ARTIFACT_H
#define SBX_ARTIFACT_H

#include "bp.h"
#include "fetch.h"
#include "util.h"

/* One artifact as a local file. */
struct artifact_file {
	char *path;   /* absolute; NULL only in ARTIFACT_LOOKUP for a url not downloaded yet */
	char *sha256; /* lowercase hex */
	char *name;   /* its file name on a node: "k3s", or "k3s-airgap-images-amd64" + ".tar.zst",
	                 ".tar.gz" or ".tar" (k3s picks the decompressor by the name), from the
	                 bundle's file name or the file's first bytes */
};

/* The artifacts of a k3s install. */
struct artifact_set {
	struct artifact_file k3s;
	struct artifact_file images;
};

enum artifact_mode {
	ARTIFACT_VERIFY, /* download what is missing, hash every file and compare (before `up`) */
	ARTIFACT_LOOKUP, /* no download, no hashing: the files that are there and their declared
	                    digests (the roles, whose nodes check every upload against the digest;
	                    `plan`). Missing bundle files are still errors. */
};

/*
 * Resolve the artifacts of cluster `cl` (its bundle, or its k3s and images) into *out (cleared
 * with artifact_set_clear; written only on success). `cache` is the image cache (env_config):
 * downloads go to CACHE/artifacts/. progress (may be NULL) sees each download (what = the URL).
 * A cluster without k3s artifacts (attached, or none) fails with SBX_EXIT_USAGE.
 */
int artifact_resolve(const struct bp_cluster *cl, const char *cache, enum artifact_mode mode,
	fetch_progress_fn progress, void *ctx, struct artifact_set *out, struct sbx_err *err) SBX_WUR;
void artifact_set_clear(struct artifact_set *a);

#endif
