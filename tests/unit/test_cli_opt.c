/* Unit tests of the subcommands' option parser: every kind, the argument forms, every usage error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Where the demo command's options go; the defaults are what the struct starts with. */
struct vals {
	bool json, quiet, verbose;
	const char *name, *format;
	struct cli_list uris;
	struct cli_vars vars;
	int64_t ttl;
	int parallel;
};

/* The positional part of a syntax. */
struct shape {
	const char *args;
	int min, max;
	const char *rest;
};

static const struct shape two_args = {"NAME NODE", 2, 2, NULL};
static const struct shape with_rest = {"NAME NODE", 2, 2, "COMMAND..."};
static const struct shape no_args = {NULL, 0, 0, NULL};

/* What one parse printed and returned. */
struct run {
	int rc;
	char *out, *err;
	struct cli_opt_args a;
};

/* Output of a file descriptor captured into a temporary file. */
struct cap {
	FILE *tmp;
	int fd, saved;
};

/* Start capturing fd. */
static void cap_begin(struct cap *c, int fd)
{
	fflush(NULL);
	c->fd = fd;
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(fd);
	assert_true(dup2(fileno(c->tmp), fd) >= 0);
}

/* Stop capturing; return what was written (caller frees). */
static char *cap_end(struct cap *c)
{
	fflush(NULL);
	dup2(c->saved, c->fd);
	close(c->saved);
	long n = ftell(c->tmp);
	char *s = xcalloc(1, (size_t)n + 1);
	rewind(c->tmp);
	assert_int_equal(fread(s, 1, (size_t)n, c->tmp), (size_t)n);
	fclose(c->tmp);
	return s;
}

/* Parse the NULL-terminated words after "demo" against the demo table and shape into v. */
static struct run parse_words(struct vals *v, const struct shape *sh, const char *const *words)
{
	const struct cli_opt opts[] = {
		CLI_STRING("name", 'n', &v->name, "N", "the name"),
		CLI_FLAG("json", 0, &v->json, "print JSON"),
		CLI_FLAG("quiet", 'q', &v->quiet, "say nothing"),
		CLI_FLAG("verbose", 'v', &v->verbose, "say more"),
		CLI_LIST("uri", 'u', &v->uris, "URI", "a URI (repeatable)"),
		CLI_VARS("var", 0, &v->vars, "a variable (repeatable)"),
		CLI_DURATION("ttl", 0, &v->ttl, "D", "a lifetime"),
		CLI_INT("parallel", 'p', &v->parallel, "N", 1, 64, "workers"),
		CLI_ENUM("format", 'f', &v->format, "text|env|json", "the output format"),
		CLI_END};
	const struct cli_opt_syntax syn = {"demo", opts, sh->args, sh->min, sh->max, sh->rest};
	char *argv[32] = {"demo"};
	int argc = 1;
	while (words[argc - 1] && argc < 31) {
		argv[argc] = (char *)words[argc - 1];
		argc++;
	}
	struct run r;
	struct cap out, err;
	cap_begin(&out, STDOUT_FILENO);
	cap_begin(&err, STDERR_FILENO);
	r.rc = cli_opt_parse(&syn, argc, argv, &r.a);
	r.err = cap_end(&err);
	r.out = cap_end(&out);
	return r;
}

/* The same, the words as arguments. */
static struct run parse(struct vals *v, const struct shape *sh, ...)
{
	const char *words[32];
	size_t n = 0;
	va_list ap;
	va_start(ap, sh);
	while (n < 31 && (words[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	words[n] = NULL;
	return parse_words(v, sh, words);
}

/* Assert a usage error whose message contains want; free the run. */
static void assert_usage_error(struct run r, const char *want)
{
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.a.exit, SBX_EXIT_USAGE);
	if (strstr(r.err, want) == NULL)
		fail_msg("stderr lacks \"%s\":\n%s", want, r.err);
	assert_non_null(strstr(r.err, "sandbox demo: "));
	assert_non_null(strstr(r.err, "\nusage: sandbox demo NAME NODE [--name N]"));
	assert_non_null(strstr(r.err, "\nhint: run `sandbox help demo` for details\n"));
	assert_string_equal(r.out, "");
	free(r.out);
	free(r.err);
}

/* Assert success with nothing printed; free the output. */
static void assert_ok(struct run *r)
{
	if (r->rc != 0)
		fail_msg("parse failed:\n%s", r->err);
	assert_string_equal(r->err, "");
	assert_string_equal(r->out, "");
	free(r->out);
	free(r->err);
}

/* Free what a successful parse filled in. */
static void vals_free(struct vals *v)
{
	cli_list_free(&v->uris);
	cli_vars_free(&v->vars);
}

/* Every kind, in both long forms, with the positional arguments between the options. */
static void test_every_kind(void **ctx)
{
	(void)ctx;
	struct vals v = {.parallel = 7};
	struct run r = parse(&v, &two_args, "--name", "n1", "env", "--json", "--uri=qemu:///a", "--uri", "b",
		"--var", "k=v", "--var=x=y=z", "node", "--ttl", "1h30m", "--parallel=64", "--format", "env", NULL);
	assert_ok(&r);
	assert_string_equal(v.name, "n1");
	assert_true(v.json);
	assert_false(v.quiet);
	assert_int_equal(v.uris.n, 2);
	assert_string_equal(v.uris.v[0], "qemu:///a");
	assert_string_equal(v.uris.v[1], "b");
	assert_int_equal(v.vars.n, 2);
	assert_string_equal(v.vars.v[1].key, "x");
	assert_string_equal(v.vars.v[1].value, "y=z");
	assert_int_equal(v.ttl, 90 * 60);
	assert_int_equal(v.parallel, 64);
	assert_string_equal(v.format, "env");
	assert_int_equal(r.a.npos, 2);
	assert_string_equal(r.a.pos[0], "env");
	assert_string_equal(r.a.pos[1], "node");
	assert_null(r.a.rest);
	vals_free(&v);
}

/* A duration: "--wait-lock 30" means 30 seconds; units and sums as in a blueprint. */
static void test_duration_forms(void **ctx)
{
	(void)ctx;
	static const struct {
		const char *arg;
		int64_t secs;
	} ok[] = {{"30", 30}, {"1", 1}, {"90s", 90}, {"15m", 900}, {"1h30m", 5400}, {"3d", 3 * 86400}, {"007", 7}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct vals v = {0};
		struct run r = parse(&v, &two_args, "a", "b", "--ttl", ok[i].arg, NULL);
		assert_ok(&r);
		assert_int_equal(v.ttl, ok[i].secs);
		vals_free(&v);
	}
}

/* A duration row's min is the shortest accepted ("--ttl 8" is 8 seconds, likely not what was meant). */
static void test_duration_min(void **ctx)
{
	(void)ctx;
	int64_t ttl = 0;
	const struct cli_opt opts[] = {CLI_DURATION("ttl", 0, &ttl, "D", "lifetime", .min = 60), CLI_END};
	const struct cli_opt_syntax syn = {"up", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	char *ok[] = {"up", "--ttl", "60", NULL}, *short_[] = {"up", "--ttl", "8", NULL};
	assert_int_equal(cli_opt_parse(&syn, 3, ok, &a), 0);
	assert_int_equal(ttl, 60);
	struct cap c;
	cap_begin(&c, STDERR_FILENO);
	assert_int_equal(cli_opt_parse(&syn, 3, short_, &a), -1);
	char *err = cap_end(&c);
	assert_int_equal(a.exit, SBX_EXIT_USAGE);
	assert_non_null(strstr(err, "sandbox up: --ttl expects at least 1m 0s, got \"8\" (a bare number is seconds)\n"));
	assert_int_equal(ttl, 60);
	free(err);
}

/* What is not given keeps its default. */
static void test_defaults_kept(void **ctx)
{
	(void)ctx;
	struct vals v = {.name = "dflt", .format = "text", .ttl = 5, .parallel = 3};
	struct run r = parse(&v, &two_args, "a", "b", NULL);
	assert_ok(&r);
	assert_string_equal(v.name, "dflt");
	assert_string_equal(v.format, "text");
	assert_int_equal(v.ttl, 5);
	assert_int_equal(v.parallel, 3);
	assert_false(v.json);
	assert_int_equal(v.uris.n, 0);
	assert_null(v.vars.v);
}

/* Letters: "-n N", "-nN", bundled flags, a bundle ending in an option with a value. */
static void test_short_forms(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &two_args, "-n", "x", "a", "-qv", "-p8", "b", "-qvfjson", "-u", "u1", NULL);
	assert_ok(&r);
	assert_string_equal(v.name, "x");
	assert_true(v.quiet && v.verbose);
	assert_int_equal(v.parallel, 8);
	assert_string_equal(v.format, "json");
	assert_int_equal(v.uris.n, 1);
	vals_free(&v);
	v = (struct vals){0};
	r = parse(&v, &two_args, "-nfoo", "-", "b", NULL);
	assert_ok(&r);
	assert_string_equal(v.name, "foo");
	assert_string_equal(r.a.pos[0], "-"); /* a lone dash is an argument */
}

/* An unambiguous prefix names its option, as with getopt_long. */
static void test_abbreviations(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &two_args, "--verb", "--par", "2", "--form=env", "a", "b", NULL);
	assert_ok(&r);
	assert_true(v.verbose);
	assert_int_equal(v.parallel, 2);
	assert_string_equal(v.format, "env");
}

/* "--" ends the options: the words after it are arguments even when they look like options. */
static void test_double_dash_args(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &two_args, "--json", "--", "--name", "-q", NULL);
	assert_ok(&r);
	assert_true(v.json);
	assert_null(v.name);
	assert_false(v.quiet);
	assert_int_equal(r.a.npos, 2);
	assert_string_equal(r.a.pos[0], "--name");
	assert_string_equal(r.a.pos[1], "-q");
}

/* With a rest (ssh NAME NODE -- CMD...), everything after "--" is passed through untouched. */
static void test_rest_passthrough(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &with_rest, "env", "web", "--", "ls", "--json", "--", "-q", "", NULL);
	assert_ok(&r);
	assert_false(v.json || v.quiet);
	assert_int_equal(r.a.npos, 2);
	assert_int_equal(r.a.nrest, 5);
	assert_string_equal(r.a.rest[0], "ls");
	assert_string_equal(r.a.rest[1], "--json");
	assert_string_equal(r.a.rest[2], "--");
	assert_string_equal(r.a.rest[3], "-q");
	assert_string_equal(r.a.rest[4], "");
	r = parse(&v, &with_rest, "env", "web", "--", NULL);
	assert_ok(&r);
	assert_non_null(r.a.rest);
	assert_int_equal(r.a.nrest, 0);
	r = parse(&v, &with_rest, "env", "web", NULL);
	assert_ok(&r);
	assert_null(r.a.rest);
	assert_usage_error(parse(&v, &with_rest, "env", "--", "web", NULL), "missing NODE");
}

/* Usage errors (demo NAME NODE): the words after "demo", and what stderr must say. */
static const struct {
	const char *words[10];
	const char *want;
} usage_errors[] = {
	/* unknown options; a value given to a flag */
	{{"a", "b", "--bogus"}, "unknown option \"--bogus\""},
	{{"a", "b", "--bogus=1"}, "unknown option \"--bogus\""},
	{{"a", "b", "-qx"}, "unknown option \"-x\""},
	{{"a", "b", "--=x"}, "unknown option \"--\""},
	{{"a", "b", "--json=yes"}, "--json takes no value"},
	{{"--v", "a", "b"}, "option \"--v\" is ambiguous: --verbose or --var"},
	/* an option at the end without its value */
	{{"a", "b", "--name"}, "--name needs a value (--name N)"},
	{{"a", "b", "-n"}, "--name needs a value"},
	{{"a", "b", "--uri"}, "--uri needs a value (--uri URI)"},
	/* a value option given twice */
	{{"--name", "x", "a", "b", "-n", "y"}, "--name may be given only once"},
	{{"--ttl", "1h", "a", "b", "--ttl=2h"}, "--ttl may be given only once"},
	{{"-fenv", "a", "b", "--format", "env"}, "--format may be given only once"},
	/* durations: the wording of cli_duration; zero is not a duration */
	{{"a", "b", "--ttl", "soon"}, "--ttl expects a duration like 90s, 30m, 8h or 3d (a bare number is seconds), "
		"got \"soon\""},
	{{"a", "b", "--ttl", "0"}, "--ttl expects a duration"},
	{{"a", "b", "--ttl", "-30"}, "--ttl expects a duration"},
	{{"a", "b", "--ttl", "30 "}, "--ttl expects a duration"},
	{{"a", "b", "--ttl=0s"}, "--ttl expects a duration"},
	{{"a", "b", "--ttl="}, "--ttl expects a duration like 90s, 30m, 8h or 3d (a bare number is seconds), got \"\""},
	/* enums name their choices, ints their range */
	{{"a", "b", "--format", "yaml"}, "--format expects text, env or json, got \"yaml\""},
	{{"a", "b", "--format", "jso"}, "got \"jso\""},
	{{"a", "b", "--format", "text|env"}, "--format expects"},
	{{"a", "b", "--parallel", "0"}, "--parallel expects a whole number from 1 to 64, got \"0\""},
	{{"a", "b", "-p", "65"}, "from 1 to 64"},
	{{"a", "b", "-p", "4x"}, "got \"4x\""},
	{{"a", "b", "-p", "99999999999999999999"}, "from 1 to 64"},
	/* KEY=VALUE needs a key and an "=" */
	{{"a", "b", "--var", "novalue"}, "--var expects KEY=VALUE, got \"novalue\""},
	{{"a", "b", "--var", "=v"}, "--var expects KEY=VALUE"},
	/* positional arguments */
	{{NULL}, "sandbox demo: missing NAME\n"},
	{{"a", "--json"}, "sandbox demo: missing NODE\n"},
	{{"a", "b", "c"}, "unexpected argument \"c\" (expected NAME NODE)"},
	{{"a", "--", "b", "c"}, "unexpected argument \"c\""},
};

/* Each usage error exits 2 and prints the three lines. */
static void test_usage_errors(void **ctx)
{
	(void)ctx;
	for (size_t i = 0; i < SBX_NELEM(usage_errors); i++) {
		struct vals v = {0};
		assert_usage_error(parse_words(&v, &two_args, usage_errors[i].words), usage_errors[i].want);
		assert_null(v.uris.v);
		assert_null(v.vars.v);
	}
}

/* Flags and lists may repeat. */
static void test_repeatable(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &two_args, "--json", "--json", "-qq", "-u", "1", "--uri", "1", "a", "b", NULL);
	assert_ok(&r);
	assert_true(v.json && v.quiet);
	assert_int_equal(v.uris.n, 2);
	vals_free(&v);
}

/* A command that takes no arguments. */
static void test_no_args(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &no_args, "x", NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.a.exit, SBX_EXIT_USAGE);
	assert_non_null(strstr(r.err, "sandbox demo: takes no arguments, got \"x\"\nusage: sandbox demo [--name N]"));
	free(r.out);
	free(r.err);
	r = parse(&v, &no_args, "--json", NULL);
	assert_ok(&r);
}

/* A required option. */
static void test_required(void **ctx)
{
	(void)ctx;
	bool json = false;
	int64_t ttl = 0;
	const struct cli_opt opts[] = {
		CLI_DURATION("ttl", 0, &ttl, "D", "lifetime", .required = true),
		CLI_FLAG("json", 0, &json, "JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"ext", opts, "NAME", 1, 1, NULL};
	char *argv[] = {"ext", "env", "--json", NULL};
	struct cli_opt_args a;
	struct cap err;
	cap_begin(&err, STDERR_FILENO);
	int rc = cli_opt_parse(&syn, 3, argv, &a);
	char *s = cap_end(&err);
	assert_int_equal(rc, -1);
	assert_int_equal(a.exit, SBX_EXIT_USAGE);
	assert_non_null(strstr(s, "sandbox ext: --ttl is required\nusage: sandbox ext NAME --ttl D [--json]\n"));
	free(s);
	char *ok[] = {"ext", "--ttl", "2h", "env", NULL};
	assert_int_equal(cli_opt_parse(&syn, 4, ok, &a), 0);
	assert_int_equal(ttl, 7200);
}

/* --help and -h print the help to stdout and stop with exit 0, freeing what was collected. */
static void test_help(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	struct run r = parse(&v, &with_rest, "--uri", "x", "--var", "a=b", "--help", "--bogus", NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.a.exit, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out,
		"usage: sandbox demo NAME NODE [--name N] [--json] [--quiet] [--verbose] [--uri URI]... [--var K=V]... "
		"[--ttl D] [--parallel N] [--format text|env|json] [-- COMMAND...]\n\noptions:\n"));
	assert_non_null(strstr(r.out, "\n  -n, --name N                 the name\n"));
	assert_non_null(strstr(r.out, "\n      --ttl D                  a lifetime\n"));
	assert_non_null(strstr(r.out, "\n  -f, --format text|env|json   the output format\n"));
	assert_non_null(strstr(r.out, "\n  -h, --help                   print this help\n"));
	assert_int_equal(v.uris.n, 0);
	assert_null(v.uris.v);
	assert_int_equal(v.vars.n, 0);
	free(r.out);
	free(r.err);
	r = parse(&v, &two_args, "-h", NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.a.exit, 0);
	assert_non_null(strstr(r.out, "usage: sandbox demo NAME NODE"));
	free(r.out);
	free(r.err);
}

/* A usage error after lists were filled frees them (ASan checks the leak). */
static void test_error_frees_lists(void **ctx)
{
	(void)ctx;
	struct vals v = {0};
	assert_usage_error(parse(&v, &two_args, "-u", "1", "-u", "2", "--var", "k=v", "a", "b", "c", NULL),
		"unexpected argument");
	assert_int_equal(v.uris.n, 0);
	assert_null(v.uris.v);
	assert_int_equal(v.vars.n, 0);
	assert_null(v.vars.v);
}

/* cli_opt_error: the same three lines, for checks a table cannot express. */
static void test_cli_opt_error(void **ctx)
{
	(void)ctx;
	const struct cli_opt opts[] = {CLI_END};
	const struct cli_opt_syntax syn = {"ssh", opts, "NAME NODE", 2, 2, "COMMAND..."};
	struct cap err;
	cap_begin(&err, STDERR_FILENO);
	int rc = cli_opt_error(&syn, "--%s and --%s exclude each other", "a", "b");
	char *s = cap_end(&err);
	assert_int_equal(rc, SBX_EXIT_USAGE);
	assert_string_equal(s, "sandbox ssh: --a and --b exclude each other\n"
			       "usage: sandbox ssh NAME NODE [-- COMMAND...]\n"
			       "hint: run `sandbox help ssh` for details\n");
	free(s);
}

/* The real commands' tables: help works for each, and a bad option exits 2 naming it. */
static void test_commands(void **ctx)
{
	(void)ctx;
	for (const struct cli_cmd *c = cli_cmds; c->name; c++) {
		char help[] = "--help", bogus[] = "--bogus";
		struct cap out, err;
		cap_begin(&out, STDOUT_FILENO);
		int rc = c->fn(2, (char *[]){(char *)c->name, help, NULL});
		char *s = cap_end(&out);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(s, "usage: sandbox "));
		assert_non_null(strstr(s, "-h, --help"));
		free(s);
		cap_begin(&err, STDERR_FILENO);
		rc = c->fn(2, (char *[]){(char *)c->name, bogus, NULL});
		s = cap_end(&err);
		assert_int_equal(rc, SBX_EXIT_USAGE);
		assert_non_null(strstr(s, "unknown option \"--bogus\""));
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_duration_forms),
		cmocka_unit_test(test_duration_min),
		cmocka_unit_test(test_defaults_kept),
		cmocka_unit_test(test_short_forms),
		cmocka_unit_test(test_abbreviations),
		cmocka_unit_test(test_double_dash_args),
		cmocka_unit_test(test_rest_passthrough),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_no_args),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_error_frees_lists),
		cmocka_unit_test(test_cli_opt_error),
		cmocka_unit_test(test_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
