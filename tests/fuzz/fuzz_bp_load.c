/* libFuzzer target: bp_load_string on arbitrary bytes must never crash, leak or hang; a blueprint
 * that loads must render to JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bp_var vars[] = {{"branch", "main"}, {"n", "3"}};
	struct bp_load_opts o = {.vars = vars, .nvars = 2, .env_name = size % 2 ? "fuzz" : NULL};
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	if (bp_load_string("fuzz.yaml", (const char *)data, size, &o, &bp, &err) == 0) {
		free(bp_to_json(bp));
		for (size_t i = 0; i < bp->nnodes; i++)
			(void)bp_node_find(bp, bp->nodes[i].name);
		bp_free(bp);
	}
	sbx_err_clear(&err);
	return 0;
}
