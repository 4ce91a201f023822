/* env_artifacts — the k3s install's artifacts of an environment: downloaded and verified before
 * `up` touches anything, then handed to the roles. */
#include "env_int.h"

#include "artifact.h"

/* Whether the blueprint installs k3s (a node carries k3s-server or k3s-agent). */
static bool installs_k3s(const struct bp_blueprint *bp)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (bp_node_has_role(&bp->nodes[i], "k3s-server") || bp_node_has_role(&bp->nodes[i], "k3s-agent"))
			return true;
	return false;
}

/* Where download progress goes. */
struct art_events {
	struct ev_sink *ev;
	const char *env;
};

/* Progress of an artifact download as events. */
static void art_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	const struct art_events *a = ctx;
	if (total)
		ev_emit(a->ev, a->env, "artifact.progress", NULL, NULL, NULL, "k3s artifact: %s %.0f%%", what,
			100.0 * (double)done / (double)total);
	else
		ev_emit(a->ev, a->env, "artifact.progress", NULL, NULL, NULL, "k3s artifact: %s", what);
}

/* Resolve (download, verify) the artifacts before anything is touched. */
int env_artifacts_check(const struct env_config *cfg, const struct bp_blueprint *bp, const char *env,
	struct ev_sink *ev, struct sbx_err *err)
{
	struct art_events a = {ev, env};
	struct artifact_set s = {0};
	if (!installs_k3s(bp))
		return 0;
	ev_emit(ev, env, "artifact.check", NULL, NULL, NULL, "checking the k3s artifacts");
	int rc = artifact_resolve(&bp->cluster, cfg->image_cache, ARTIFACT_VERIFY, art_progress, &a, &s, err);
	artifact_set_clear(&s);
	if (rc < 0 && err->hint == NULL)
		sbx_err_hint(err, "nothing was changed: supply the k3s artifacts, then run `sandbox up` again");
	return rc;
}

/* The artifacts' local files and digests for the roles. */
int env_artifacts_roles(const struct env_config *cfg, const struct bp_blueprint *bp, struct artifact_set *s,
	struct role_ctx *ctx, struct sbx_err *err)
{
	if (!installs_k3s(bp))
		return 0;
	if (artifact_resolve(&bp->cluster, cfg->image_cache, ARTIFACT_LOOKUP, NULL, NULL, s, err) < 0)
		return -1;
	ctx->k3s_bin = (struct role_artifact){s->k3s.path, s->k3s.sha256, s->k3s.name};
	ctx->k3s_images = (struct role_artifact){s->images.path, s->images.sha256, s->images.name};
	return 0;
}
