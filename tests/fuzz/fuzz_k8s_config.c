/* libFuzzer target: a kubeconfig must never crash, leak or hang k8s_config_from_text (relative
 * paths resolve under a directory that does not exist: nothing is read from disk). */
#include <stddef.h>
#include <stdint.h>

#include "k8s_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load one input, with its current context and with a named one. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const contexts[] = {NULL, "a"};
	for (size_t i = 0; i < 2; i++) {
		struct sbx_err err = SBX_ERR_INIT;
		struct k8s_config *c = NULL;
		if (k8s_config_from_text("fuzz", (const char *)data, size, "/nonexistent-fuzz-dir", contexts[i], &c, &err) == 0)
			k8s_config_free(c);
		sbx_err_clear(&err);
	}
	return 0;
}
