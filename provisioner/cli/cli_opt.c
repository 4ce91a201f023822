/* cli_opt — the table-driven option parser of the subcommands. */
#include "cli_opt.h"
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One parse in progress. */
struct parse {
	const struct cli_opt_syntax *syn;
	int argc;
	char **argv;
	int i;         /* the argument being read */
	uint64_t seen; /* the rows given, one bit each */
	struct cli_opt_args *a;
};

/* Print a usage error of syn (va_list form). */
static void error_v(const struct cli_opt_syntax *syn, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	fprintf(stderr, "sandbox %s: %s\n", syn->cmd, msg);
	cli_opt_usage(syn, stderr);
	fprintf(stderr, "hint: run `sandbox help %s` for details\n", syn->cmd);
	free(msg);
}

/* Report a usage error of the command. */
int cli_opt_error(const struct cli_opt_syntax *syn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(syn, fmt, ap);
	va_end(ap);
	return SBX_EXIT_USAGE;
}

/* Report a usage error during a parse; returns -1. */
static int parse_error(struct parse *p, const char *fmt, ...) SBX_PRINTF(2, 3);
static int parse_error(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(p->syn, fmt, ap);
	va_end(ap);
	p->a->exit = SBX_EXIT_USAGE;
	return -1;
}

/* The value's name of a row in usage ("N"), NULL for a flag. */
static const char *opt_arg(const struct cli_opt *o)
{
	if (o->kind == CLI_OPT_FLAG)
		return NULL;
	return o->arg ? o->arg : "VALUE";
}

/* Print the usage line. */
void cli_opt_usage(const struct cli_opt_syntax *syn, FILE *f)
{
	fprintf(f, "usage: sandbox %s%s%s", syn->cmd, syn->args ? " " : "", syn->args ? syn->args : "");
	for (const struct cli_opt *o = syn->opts; o->name; o++) {
		const char *arg = opt_arg(o);
		bool many = o->kind == CLI_OPT_LIST || o->kind == CLI_OPT_VARS;
		fprintf(f, " %s--%s%s%s%s%s", o->required ? "" : "[", o->name, arg ? " " : "", arg ? arg : "",
			o->required ? "" : "]", many ? "..." : "");
	}
	if (syn->rest)
		fprintf(f, " [-- %s]", syn->rest);
	fputc('\n', f);
}

/* One line of the help: "  -n, --name N    the environment's name". */
static void help_line(char letter, const char *name, const char *arg, const char *help, FILE *f)
{
	char form[64];
	snprintf(form, sizeof(form), "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
	if (letter)
		fprintf(f, "  -%c, %-24s %s\n", letter, form, help ? help : "");
	else
		fprintf(f, "      %-24s %s\n", form, help ? help : "");
}

/* Print the usage line and every option with its help. */
void cli_opt_help(const struct cli_opt_syntax *syn, FILE *f)
{
	cli_opt_usage(syn, f);
	fprintf(f, "\noptions:\n");
	for (const struct cli_opt *o = syn->opts; o->name; o++)
		help_line(o->letter, o->name, opt_arg(o), o->help, f);
	help_line('h', "help", NULL, "print this help", f);
}

/* Free a list. */
void cli_list_free(struct cli_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct cli_list){0};
}

/* Set a flag. */
static int set_flag(struct parse *p, const struct cli_opt *o, char *v)
{
	(void)p;
	(void)v;
	*(bool *)o->dst = true;
	return 0;
}

/* Point a string option at its argument. */
static int set_string(struct parse *p, const struct cli_opt *o, char *v)
{
	(void)p;
	*(const char **)o->dst = v;
	return 0;
}

/* Append a copy of the value to a list. */
static int set_list(struct parse *p, const struct cli_opt *o, char *v)
{
	struct cli_list *l = o->dst;
	(void)p;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(v);
	return 0;
}

/* Append KEY=VALUE to the vars (cli_vars_add's message names --var). */
static int set_vars(struct parse *p, const struct cli_opt *o, char *v)
{
	struct sbx_err err = SBX_ERR_INIT;
	if (cli_vars_add(o->dst, v, &err) == 0)
		return 0;
	parse_error(p, "%s", sbx_err_first(&err));
	sbx_err_clear(&err);
	return -1;
}

/* Parse a duration (a bare number is seconds; > 0 and at least the row's min). */
static int set_duration(struct parse *p, const struct cli_opt *o, char *v)
{
	int64_t secs;
	char least[32];
	if (sbx_parse_duration_arg(v, &secs) != 0 || secs <= 0)
		return parse_error(p, "--%s expects a duration like 90s, 30m, 8h or 3d (a bare number is seconds), "
			"got \"%s\"", o->name, v);
	if (secs < o->min)
		return parse_error(p, "--%s expects at least %s, got \"%s\" (a bare number is seconds)", o->name,
			sbx_fmt_duration(o->min, least, sizeof(least)), v);
	*(int64_t *)o->dst = secs;
	return 0;
}

/* Parse a whole number in the row's range. */
static int set_int(struct parse *p, const struct cli_opt *o, char *v)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < o->min || n > o->max)
		return parse_error(p, "--%s expects a whole number from %d to %d, got \"%s\"", o->name, o->min,
			o->max, v);
	*(int *)o->dst = (int)n;
	return 0;
}

/* Whether v is one of the '|'-separated choices. */
static bool enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *c = choices;; c++) {
		size_t len = strcspn(c, "|");
		if (len == n && strncmp(c, v, n) == 0)
			return true;
		c += len;
		if (*c == '\0')
			return false;
	}
}

/* "text|env|json" as "text, env or json" (caller frees). */
static char *enum_text(const char *choices)
{
	const char *last = strrchr(choices, '|');
	struct sbx_buf b = {0};
	for (const char *c = choices; *c; c++) {
		if (*c != '|')
			sbx_buf_add(&b, c, 1);
		else
			sbx_buf_puts(&b, c == last ? " or " : ", ");
	}
	return sbx_buf_steal(&b);
}

/* Accept one of the choices. */
static int set_enum(struct parse *p, const struct cli_opt *o, char *v)
{
	if (enum_has(o->arg, v)) {
		*(const char **)o->dst = v;
		return 0;
	}
	char *text = enum_text(o->arg);
	parse_error(p, "--%s expects %s, got \"%s\"", o->name, text, v);
	free(text);
	return -1;
}

/* Per kind: whether it takes a value, whether it may repeat, how a value is stored. */
static const struct {
	bool value, repeats;
	int (*set)(struct parse *p, const struct cli_opt *o, char *v);
} kinds[] = {
	[CLI_OPT_FLAG] = {false, true, set_flag},
	[CLI_OPT_STRING] = {true, false, set_string},
	[CLI_OPT_LIST] = {true, true, set_list},
	[CLI_OPT_VARS] = {true, true, set_vars},
	[CLI_OPT_DURATION] = {true, false, set_duration},
	[CLI_OPT_INT] = {true, false, set_int},
	[CLI_OPT_ENUM] = {true, false, set_enum},
};

/* The bit of a row in parse.seen. */
static uint64_t row_bit(const struct parse *p, const struct cli_opt *o)
{
	return UINT64_C(1) << (o - p->syn->opts);
}

/* Store one value of o (NULL for a flag). */
static int opt_set(struct parse *p, const struct cli_opt *o, char *v)
{
	if ((p->seen & row_bit(p, o)) && !kinds[o->kind].repeats)
		return parse_error(p, "--%s may be given only once", o->name);
	p->seen |= row_bit(p, o);
	return kinds[o->kind].set(p, o, v);
}

/* Store o with its value: the inline one ("--name=N", "-nN"), else the next argument. */
static int opt_take(struct parse *p, const struct cli_opt *o, char *inl)
{
	if (!kinds[o->kind].value)
		return opt_set(p, o, NULL);
	if (inl)
		return opt_set(p, o, inl);
	if (p->i + 1 >= p->argc)
		return parse_error(p, "--%s needs a value (--%s %s)", o->name, o->name, opt_arg(o));
	return opt_set(p, o, p->argv[++p->i]);
}

/* The row named by s[0..len): the exact name, else the only one it abbreviates; NULL after an error. */
static const struct cli_opt *find_long(struct parse *p, const char *s, size_t len)
{
	const struct cli_opt *hit[2] = {NULL, NULL};
	int nhit = 0;
	for (const struct cli_opt *o = p->syn->opts; o->name && len; o++) {
		if (strncmp(o->name, s, len) != 0)
			continue;
		if (o->name[len] == '\0')
			return o;
		if (nhit < 2)
			hit[nhit] = o;
		nhit++;
	}
	if (nhit == 1)
		return hit[0];
	if (nhit == 0)
		parse_error(p, "unknown option \"--%.*s\"", (int)len, s);
	else
		parse_error(p, "option \"--%.*s\" is ambiguous: --%s or --%s", (int)len, s, hit[0]->name, hit[1]->name);
	return NULL;
}

/* Read "--name", "--name=VALUE" or "--name VALUE". */
static int read_long(struct parse *p)
{
	char *s = p->argv[p->i] + 2, *eq = strchr(s, '=');
	const struct cli_opt *o = find_long(p, s, eq ? (size_t)(eq - s) : strlen(s));
	if (o == NULL)
		return -1;
	if (eq && !kinds[o->kind].value)
		return parse_error(p, "--%s takes no value", o->name);
	return opt_take(p, o, eq ? eq + 1 : NULL);
}

/* Read "-q", "-qv" (flags bundled), "-nVALUE" or "-n VALUE". */
static int read_short(struct parse *p)
{
	for (char *c = p->argv[p->i] + 1; *c; c++) {
		const struct cli_opt *o = p->syn->opts;
		while (o->name && o->letter != *c)
			o++;
		if (o->name == NULL)
			return parse_error(p, "unknown option \"-%c\"", *c);
		if (kinds[o->kind].value)
			return opt_take(p, o, c[1] ? c + 1 : NULL);
		if (opt_set(p, o, NULL) < 0)
			return -1;
	}
	return 0;
}

/* Take a positional argument. */
static int read_pos(struct parse *p, char *arg)
{
	if (p->a->npos >= p->syn->max && p->syn->args == NULL)
		return parse_error(p, "takes no arguments, got \"%s\"", arg);
	if (p->a->npos >= p->syn->max)
		return parse_error(p, "unexpected argument \"%s\" (expected %s)", arg, p->syn->args);
	p->a->pos[p->a->npos++] = arg;
	return 0;
}

/* After "--": pass the rest through untouched, or take it as positional arguments. */
static int read_rest(struct parse *p)
{
	int i = p->i + 1;
	p->i = p->argc - 1;
	if (p->syn->rest) {
		p->a->rest = p->argv + i;
		p->a->nrest = p->argc - i;
		return 0;
	}
	for (; i < p->argc; i++)
		if (read_pos(p, p->argv[i]) < 0)
			return -1;
	return 0;
}

/* Read the argument at p->i (and the value it takes). */
static int read_arg(struct parse *p)
{
	char *arg = p->argv[p->i];
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		cli_opt_help(p->syn, stdout);
		p->a->exit = SBX_EXIT_OK;
		return -1;
	}
	if (strcmp(arg, "--") == 0)
		return read_rest(p);
	if (strncmp(arg, "--", 2) == 0)
		return read_long(p);
	if (arg[0] == '-' && arg[1] != '\0')
		return read_short(p);
	return read_pos(p, arg);
}

/* Check the required options and that no positional argument is missing. */
static int check_done(struct parse *p)
{
	for (const struct cli_opt *o = p->syn->opts; o->name; o++)
		if (o->required && !(p->seen & row_bit(p, o)))
			return parse_error(p, "--%s is required", o->name);
	if (p->a->npos >= p->syn->min)
		return 0;
	const char *w = p->syn->args ? p->syn->args : "ARGUMENT";
	for (int k = 0; k < p->a->npos && w[strcspn(w, " ")]; k++)
		w += strcspn(w, " ") + 1;
	return parse_error(p, "missing %.*s", (int)strcspn(w, " "), w);
}

/* Free and empty the lists and vars of a table. */
static void free_lists(const struct cli_opt *opts)
{
	for (const struct cli_opt *o = opts; o->name; o++) {
		if (o->kind == CLI_OPT_LIST)
			cli_list_free(o->dst);
		else if (o->kind == CLI_OPT_VARS)
			cli_vars_free(o->dst);
	}
}

/* Parse a command line against a syntax. */
int cli_opt_parse(const struct cli_opt_syntax *syn, int argc, char **argv, struct cli_opt_args *a)
{
	struct parse p = {syn, argc, argv, 1, 0, a};
	size_t nopts = 0;
	while (syn->opts[nopts].name)
		nopts++;
	if (nopts > CLI_OPT_MAX || syn->max > CLI_OPT_POS_MAX) {
		fprintf(stderr, "sandbox %s: the option table exceeds CLI_OPT_MAX or CLI_OPT_POS_MAX\n", syn->cmd);
		abort();
	}
	*a = (struct cli_opt_args){0};
	int rc = 0;
	for (; rc == 0 && p.i < argc; p.i++)
		rc = read_arg(&p);
	if (rc == 0)
		rc = check_done(&p);
	if (rc < 0)
		free_lists(syn->opts);
	return rc;
}
