/* libFuzzer target: manifest YAML (and JSON, when the first byte is '{') must never crash, leak or
 * hang in k8s_manifests_add_text; what loads must order and diff. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "k8s_diff.h"
#include "k8s_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_manifest_set set = {0};
	struct sbx_err err = SBX_ERR_INIT;
	bool json = size > 0 && data[0] == '{';
	if (k8s_manifests_add_text(&set, "fuzz.yaml", (const char *)data, size, json, &err) == 0 && set.n > 0) {
		enum k8s_rank *ranks = calloc(set.n + 1, sizeof(*ranks));
		size_t *order = calloc(set.n + 1, sizeof(*order));
		for (size_t i = 0; i < set.n; i++)
			ranks[i] = k8s_manifest_rank(&set.v[i], k8s_manifests_crd_scope(&set, set.v[i].api_version,
				set.v[i].kind, NULL) != 0);
		k8s_order(ranks, set.n, order);
		struct k8s_diff d = {0};
		k8s_diff_objects(set.v[0].obj, set.v[set.n - 1].obj, &d);
		k8s_diff_clear(&d);
		free(order);
		free(ranks);
		for (size_t i = 0; i < set.n; i++) {
			json_decref(set.v[i].obj);
			free(set.v[i].file);
		}
	}
	free(set.v);
	sbx_err_clear(&err);
	return 0;
}
