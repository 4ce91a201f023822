/* Unit tests of term (text cleaned for a terminal) and of the printers that use it: sbx_err_print
 * and the event sink (ev_emit) in every mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "term.h"
#include "util.h"

/* Clean s and compare with want. */
static void check(const char *s, const char *want)
{
	char *got = term_sanitize(s);
	if (strcmp(got, want) != 0)
		fail_msg("term_sanitize(\"%s\"): wanted \"%s\", got \"%s\"", s, want, got);
	free(got);
}

/* Printable text, newlines, tabs and well-formed UTF-8 pass unchanged. */
static void test_kept(void **state)
{
	(void)state;
	check("", "");
	check("plain ASCII: ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", "plain ASCII: ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./");
	check("two\nlines\tand a tab\n", "two\nlines\tand a tab\n");
	check("Pässwörd ✓ 日本 \xf0\x9f\x98\x80", "Pässwörd ✓ 日本 \xf0\x9f\x98\x80");
	check("dos\r\nline\r\n", "dos\nline\n");
	assert_null(term_sanitize(NULL));
}

/* Controls, escape sequences, C1 controls and broken UTF-8 become one '?' each. */
static void test_replaced(void **state)
{
	(void)state;
	check("a\x07" "b\x08" "c\x7f" "d\re", "a?b?c?d?e");
	check("\x1b[31mred\x1b[0m", "?red?");
	check("\x1b[2J\x1b[1;1H" "wiped", "??wiped");
	check("\x1b[?1049h", "?");
	check("\x1b]0;pwned title\x07" "after", "?after");
	check("\x1b]8;;http://evil\x1b\\" "link\x1b]8;;\x1b\\", "?link?");
	check("\x1bPdcs string\x1b\\" "x", "?x");
	check("\x1b" "c reset", "? reset");
	check("\x1b(B charset", "? charset");
	check("osc without end\x1b]2;title\nnext line", "osc without end?\nnext line");
	check("lone esc at the end \x1b", "lone esc at the end ?");
	check("csi cut short \x1b[12", "csi cut short ?");
	check("c1 csi \xc2\x9b" "31m, c1 nel \xc2\x85.", "c1 csi ?31m, c1 nel ?.");
	check("raw 8-bit csi \x9b" "2J", "raw 8-bit csi ?2J");
	check("bad utf-8 \xff\xfe" ", cut \xe2\x9c" ", overlong \xc0\x9b" " \xe0\x80\x9b", "bad utf-8 ??, cut ??, overlong ?? ???");
	check("surrogate \xed\xa0\x80" " past max \xf4\x90\x80\x80", "surrogate ??? past max ????");
	char *s = term_sanitize_n("nul\0byte", 8);
	assert_string_equal(s, "nul?byte");
	free(s);
}

/* What a function printed to a temporary file (caller frees). */
static char *read_back(FILE *f)
{
	long n = ftell(f);
	char *s = xcalloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* sbx_err_print cleans messages, positions and the hint. */
static void test_err_print(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	FILE *f = tmpfile();
	sbx_err_set(&err, SBX_EXIT_FAILED, "node web-0: exit 1: \x1b]0;owned\x07" "\x1b[2J" "boom\r\n");
	sbx_err_at(&err, "bp\x1b[1m.yaml", 3, 4, "bad\x9b" "value");
	sbx_err_hint(&err, "look at \x1b[31mthis\x1b[0m");
	sbx_err_print(&err, f);
	char *out = read_back(f);
	assert_string_equal(out, "sandbox: node web-0: exit 1: ??boom\n\n"
		"bp?.yaml:3:4: bad?value\nhint: look at ?this?\n");
	free(out);
	sbx_err_clear(&err);
}

/* Emit one event carrying a guest's escape sequences in mode m; return the output. */
static char *emit_in(enum ev_mode m)
{
	FILE *f = tmpfile();
	struct ev_sink *s = ev_sink_new(m, f);
	ev_emit(s, "demo", "step.fail", "role", "postgres", "db-0", "role failed: %s", "\x1b]0;pwned\x07\x1b[1Aoops\x07");
	ev_emit(s, "demo", "up.fail", NULL, NULL, NULL, "environment failed: %s", "\x1b[2J\xc2\x9b" "done");
	ev_sink_free(s);
	return read_back(f);
}

/* ev_emit cleans the message in every mode (the TTY view still draws with its own sequences). */
static void test_event_modes(void **state)
{
	(void)state;
	static const struct {
		enum ev_mode mode;
		const char *has[2];
	} want[] = {
		{EV_PLAIN, {"db-0: role failed: ??oops?\n", "\nenvironment failed: ??done\n"}},
		{EV_JSON, {"\"message\":\"role failed: ??oops?\"", "\"message\":\"environment failed: ??done\""}},
		{EV_TTY, {"FAILED: role failed: ??oops?\n", "environment failed: ??done\n"}},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *out = emit_in(want[i].mode);
		for (size_t k = 0; k < 2; k++)
			if (strstr(out, want[i].has[k]) == NULL)
				fail_msg("mode %d: no \"%s\" in:\n%s", (int)want[i].mode, want[i].has[k], out);
		assert_null(strstr(out, "pwned"));
		assert_null(strstr(out, "\x07"));
		assert_null(strstr(out, "\\u001b"));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_replaced),
		cmocka_unit_test(test_err_print),
		cmocka_unit_test(test_event_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
