/*
 * k8s — the Kubernetes API client (libcurl + jansson + libyaml), one header for its public API.
 * Data flows one way: kubeconfig → k8s_config → k8s_open (a connection with its discovery
 * cache) → manifests (k8s_manifests_load) → k8s_apply (a report) / k8s_list_labelled /
 * k8s_delete_labelled / k8s_wait. No function here prints; errors go into struct sbx_err.
 *
 *	struct k8s_config *cfg = NULL;
 *	struct k8s *k = NULL;
 *	struct k8s_manifest_set *set = NULL;
 *	struct k8s_apply_report *rep = NULL;
 *	struct k8s_label env = {"sandbox.dev/env", id};
 *	struct k8s_apply_opts o = {.labels = &env, .nlabels = 1};
 *	if (k8s_config_load(path, NULL, &cfg, err) == 0 && k8s_open(cfg, &k, err) == 0 &&
 *	    k8s_manifests_load(paths, n, &set, err) == 0 && k8s_apply(k, set, &o, &rep, err) == 0)
 *		rc = k8s_apply_report_check(rep, err);
 *	k8s_apply_report_free(rep); k8s_manifests_free(set); k8s_close(k); k8s_config_free(cfg);
 *
 * Threads: one struct k8s may serve several threads at once (its handle pool and discovery
 * cache lock themselves); everything else belongs to the thread that made it.
 */
#ifndef SBX_K8S_H
#define SBX_K8S_H

#include "k8s_apply.h"
#include "k8s_config.h"
#include "k8s_diff.h"
#include "k8s_disc.h"
#include "k8s_http.h"
#include "k8s_manifest.h"
#include "k8s_obj.h"
#include "k8s_status.h"
#include "k8s_watch.h"
#include "k8s_yaml.h"

#endif
