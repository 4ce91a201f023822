/*
 * image — resolve a blueprint's base image to local files: a `path` (sha256 checked when given),
 * a `url` (downloaded once by fetch.c: progress, sha256 verified, cached under the image cache's
 * url/), or a `recipe` (the project's image recipe, built with debootstrap and cached, keyed by a
 * hash of the recipe). With url + recipe, the recipe is the fallback when the url cannot be fetched.
 * Cache: a directory given by the caller (env_config: SANDBOX_IMAGE_CACHE or its default);
 * directories are 0755 so libvirt's QEMU can read them.
 */
#ifndef SBX_IMAGE_H
#define SBX_IMAGE_H

#include "bp.h"
#include "fetch.h"
#include "util.h"

struct image_files {
	char *disk;    /* absolute path of the base disk */
	char *format;  /* "qcow2" | "raw" */
	char *kernel;  /* NULL unless direct kernel boot */
	char *initrd;
	char *cmdline;
	char *sha256;  /* of the disk */
};

/* Progress callback for downloads and builds: `what` is a short phrase; done/total in bytes
 * (total 0 = unknown). The downloader's (fetch.h). */
typedef fetch_progress_fn image_progress_fn;

/* Where images are cached and recipes found. */
struct image_dirs {
	const char *cache;   /* the image cache */
	const char *recipes; /* searched first for recipes (NULL: only the directories next to the
	                        binary: ../examples/image, ../../examples/image, ../share/sandbox/images) */
};

/* Resolve the image; `bp_dir` is the blueprint's directory (relative paths). */
int image_resolve(const struct bp_image *img, const char *bp_dir, const struct image_dirs *dirs,
	image_progress_fn progress, void *ctx, struct image_files *out, struct sbx_err *err) SBX_WUR;
void image_files_clear(struct image_files *f);

#endif
