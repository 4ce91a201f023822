/*
 * fuzz_mock_callback — the callback allow-list and target parsing: the input is split at the
 * first newline into --allow-callback networks (space-separated) and a webhook URL, which is
 * parsed by libcurl, resolved (IP literals only: no DNS) and checked against the list.
 */
#include "mock_allow.h"
#include "mock_target.h"
#include "mock_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One input: "CIDR CIDR...\nURL". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = mock_xstrndup((const char *)data, size), *nl = strchr(text, '\n'), *save = NULL;
	struct mock_allow allow = {0};
	struct mock_target t;
	struct mock_err e;

	if (nl)
		*nl = '\0';
	for (char *c = strtok_r(text, " ", &save); c; c = strtok_r(NULL, " ", &save))
		(void)!mock_allow_add(&allow, c, &e);
	if (nl && mock_target_resolve(&t, nl + 1, &allow, true, &e) == 0) {
		if (!mock_target_pinned(&t) || !mock_allow_has(&allow, (const struct sockaddr *)&t.addr))
			abort();
		mock_target_clear(&t);
	}
	free(mock_allow_text(&allow));
	mock_allow_free(&allow);
	free(text);
	return 0;
}
