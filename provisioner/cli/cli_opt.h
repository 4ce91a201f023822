/*
 * cli_opt — the option parser of the subcommands. A command declares its syntax as data: a table
 * of options (long name, optional letter, kind, where the value goes, a one-line help) and its
 * positional arguments; one call parses argv against it, and the same table gives the usage line
 * of errors and the option list of `sandbox help CMD`.
 *
 *	bool json = false;
 *	const char *name = NULL;
 *	const struct cli_opt opts[] = {
 *		CLI_STRING("name", 'n', &name, "N", "the environment's name"),
 *		CLI_FLAG("json", 0, &json, "print JSON"),
 *		CLI_END};
 *	const struct cli_opt_syntax syn = {"plan", opts, "BLUEPRINT", 1, 1, NULL};
 *	struct cli_opt_args a;
 *	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
 *		return a.exit;
 *	... a.pos[0] is the BLUEPRINT ...
 *
 * Accepted: "--name N", "--name=N", an unambiguous prefix of a long name ("--conf" for
 * "--confirm"), "-n N", "-nN", bundled letters ("-qv"), options and positional arguments in any
 * order, "--" ending the options, "-h" / "--help". No global state (unlike getopt).
 */
#ifndef SBX_CLI_OPT_H
#define SBX_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct cli_vars;

/* What an option takes, and the type its dst points to. */
enum cli_opt_kind {
	CLI_OPT_FLAG,     /* bool: set to true; takes no value; may repeat */
	CLI_OPT_STRING,   /* const char *: the argument itself (not copied) */
	CLI_OPT_LIST,     /* struct cli_list: each value copied and appended; repeatable */
	CLI_OPT_VARS,     /* struct cli_vars: KEY=VALUE, appended with cli_vars_add; repeatable */
	CLI_OPT_DURATION, /* int64_t: seconds, > 0 ("90s", "30m", "8h", "3d", or "30" = 30 s;
	                   * sbx_parse_duration_arg) */
	CLI_OPT_INT,      /* int: a whole number in [min, max] */
	CLI_OPT_ENUM,     /* const char *: the argument, one of the choices in arg ("text|env|json") */
};

/* One row of an option table; a table ends with CLI_END. Write rows with the macros below, which
 * check dst's type against the kind. Every kind but FLAG, LIST and VARS may be given once. */
struct cli_opt {
	const char *name;       /* long name without "--": "wait-lock" */
	char letter;            /* short option ('n' for -n), 0 for none */
	enum cli_opt_kind kind;
	void *dst;              /* where the value goes (type: see enum cli_opt_kind) */
	const char *arg;        /* the value in usage ("N", "D", "URI"); ENUM: the choices, '|'-separated */
	const char *help;       /* one line for `sandbox help CMD` */
	int min, max;           /* INT: the accepted range; DURATION: min is the shortest, in seconds */
	bool required;          /* a usage error when absent */
};

/* A repeatable string option's values (CLI_OPT_LIST); the caller frees with cli_list_free. */
struct cli_list {
	char **v;
	size_t n;
};

/* A command's syntax. */
struct cli_opt_syntax {
	const char *cmd;            /* "up": names the command in errors and usage */
	const struct cli_opt *opts; /* ended by CLI_END; at most CLI_OPT_MAX rows */
	const char *args;           /* the positional arguments in usage ("NAME NODE"); NULL: takes none */
	int min, max;               /* how many positional arguments (max <= CLI_OPT_POS_MAX) */
	const char *rest;           /* "COMMAND...": the words after "--" are passed through untouched
	                             * in cli_opt_args.rest; NULL: they are positional arguments */
};

#define CLI_OPT_MAX 64
#define CLI_OPT_POS_MAX 4

/* What cli_opt_parse found besides the options. Pointers point into argv. */
struct cli_opt_args {
	char *pos[CLI_OPT_POS_MAX]; /* the positional arguments, in order */
	int npos;
	char **rest;                /* the words after "--" (syntax with a rest), else NULL */
	int nrest;
	int exit;                   /* after cli_opt_parse returned -1: what the command returns */
};

/* Type-checked rows (a wrong dst type is a compile error under -Werror). Trailing designated
 * initializers may follow the help, e.g. `.required = true`. */
#define CLI_OPT_DST(type, p) (1 ? (p) : (type *)0)
#define CLI_FLAG(n, l, p, h, ...) \
	{.name = (n), .letter = (l), .kind = CLI_OPT_FLAG, .dst = CLI_OPT_DST(bool, p), .help = (h), __VA_ARGS__}
#define CLI_STRING(n, l, p, a, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_STRING, \
	.dst = CLI_OPT_DST(const char *, p), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_LIST(n, l, p, a, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_LIST, \
	.dst = CLI_OPT_DST(struct cli_list, p), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_VARS(n, l, p, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_VARS, \
	.dst = CLI_OPT_DST(struct cli_vars, p), .arg = "K=V", .help = (h), __VA_ARGS__}
#define CLI_DURATION(n, l, p, a, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_DURATION, \
	.dst = CLI_OPT_DST(int64_t, p), .arg = (a), .help = (h), __VA_ARGS__}
#define CLI_INT(n, l, p, a, lo, hi, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_INT, \
	.dst = CLI_OPT_DST(int, p), .arg = (a), .min = (lo), .max = (hi), .help = (h), __VA_ARGS__}
#define CLI_ENUM(n, l, p, choices, h, ...) {.name = (n), .letter = (l), .kind = CLI_OPT_ENUM, \
	.dst = CLI_OPT_DST(const char *, p), .arg = (choices), .help = (h), __VA_ARGS__}
#define CLI_END {.name = NULL}

/*
 * Parse argv[1..argc) (argv[0] is the command's name) against syn, storing each option's value
 * through its row's dst and the positional arguments in *a. Values not given keep what the
 * caller put there (the defaults). Returns 0 when the command should run; -1 when it should
 * return a->exit instead: 0 after printing the help asked for by -h / --help (stdout), or
 * SBX_EXIT_USAGE after printing a usage error to stderr ("sandbox CMD: MESSAGE", the usage line,
 * a hint). On -1 the lists and vars of the table are freed and emptied; on 0 the caller owns them.
 */
int cli_opt_parse(const struct cli_opt_syntax *syn, int argc, char **argv, struct cli_opt_args *a) SBX_WUR;

/* Print "usage: sandbox CMD ARGS [--opt V]..." (one line, derived from the table) to f. */
void cli_opt_usage(const struct cli_opt_syntax *syn, FILE *f);

/* Print the usage line, then every option with its help, to f. */
void cli_opt_help(const struct cli_opt_syntax *syn, FILE *f);

/* Print a usage error of the command (message, usage line, hint) to stderr; return SBX_EXIT_USAGE.
 * For checks the table cannot express (options that exclude each other). */
int cli_opt_error(const struct cli_opt_syntax *syn, const char *fmt, ...) SBX_PRINTF(2, 3);

/* Free a list's values and empty it. */
void cli_list_free(struct cli_list *l);

#endif
