/* mock_opts — the common command line of the mocks plus each mock's own options. */
#include "mock_opts.h"

#include "mock_kv.h"
#include "mock_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_id {
	OPT_LISTEN, OPT_DATA, OPT_API_KEY, OPT_API_KEY_FILE, OPT_MAX_BODY, OPT_MAX_RECORDS, OPT_SECRET,
	OPT_SECRET_FILE, OPT_ALLOW, OPT_WH_ATTEMPTS, OPT_WH_BACKOFF, OPT_WH_TIMEOUT, OPT_WH_WORKERS,
	OPT_WH_QUEUE, OPT_MAX_BYTES, OPT_CONNS_IP, OPT_IDLE, OPT_QUIET, OPT_HELP,
};

/* The common options, in --help order. */
static const struct {
	enum opt_id id;
	struct mock_optdef def;
} common_opts[] = {
	{OPT_LISTEN, {"listen", true, NULL, "HOST:PORT to listen on (default 127.0.0.1:0, 0 = any port)"}},
	{OPT_DATA, {"data", true, NULL, "SQLite FILE to persist records in (default: memory only)"}},
	{OPT_API_KEY, {"api-key", true, "SBX_MOCK_API_KEY", "require Authorization: Bearer KEY (or X-Api-Key)"}},
	{OPT_API_KEY_FILE, {"api-key-file", true, NULL, "read the API key from FILE (mode 0600)"}},
	{OPT_MAX_BODY, {"max-body", true, NULL, "largest request body (default 1M; larger: 413)"}},
	{OPT_MAX_RECORDS, {"max-records", true, NULL, "records kept per collection (default 10000)"}},
	{OPT_MAX_BYTES, {"max-store-bytes", true, NULL, "bytes of records kept per collection (default 128M)"}},
	{OPT_CONNS_IP, {"max-conns-per-ip", true, NULL, "open HTTP connections per client address (default 256)"}},
	{OPT_IDLE, {"idle-timeout", true, NULL, "drop idle HTTP connections and SMTP sessions (default 30s)"}},
	{OPT_SECRET, {"webhook-secret", true, "SBX_MOCK_WEBHOOK_SECRET", "HMAC-SHA256 key of webhooks"}},
	{OPT_SECRET_FILE, {"webhook-secret-file", true, NULL, "read the webhook key from FILE (mode 0600)"}},
	{OPT_ALLOW, {"allow-callback", true, NULL, "CIDR webhooks may go to (repeatable; default: loopback)"}},
	{OPT_WH_ATTEMPTS, {"webhook-attempts", true, NULL, "delivery attempts per webhook (default 5)"}},
	{OPT_WH_BACKOFF, {"webhook-backoff", true, NULL, "first retry delay, doubled (default 500ms)"}},
	{OPT_WH_TIMEOUT, {"webhook-timeout", true, NULL, "timeout of one attempt (default 5s)"}},
	{OPT_WH_WORKERS, {"webhook-workers", true, NULL, "deliveries in flight at once (default 4)"}},
	{OPT_WH_QUEUE, {"webhook-queue", true, NULL, "deliveries waiting at most (default 10000; more: failed)"}},
	{OPT_QUIET, {"quiet", false, NULL, "no access log"}},
	{OPT_HELP, {"help", false, NULL, "print this help"}},
};

/* Fill in the defaults. */
void mock_opts_defaults(struct mock_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_host = mock_xstrdup("127.0.0.1");
	o->max_body = 1 << 20;
	o->max_records = 10000;
	o->max_store_bytes = (size_t)128 << 20;
	o->max_conns_per_ip = 256;
	o->idle_timeout_ms = 30000;
	o->webhook_workers = 4;
	o->webhook_queue = 10000;
	o->webhook_attempts = 5;
	o->webhook_backoff_ms = 500;
	o->webhook_timeout_ms = 5000;
	o->api_key = mock_xstrdup(getenv("SBX_MOCK_API_KEY"));
	o->webhook_secret = mock_xstrdup(getenv("SBX_MOCK_WEBHOOK_SECRET"));
	if (mock_allow_add(&o->allow_callback, "127.0.0.0/8", NULL) < 0 ||
	    mock_allow_add(&o->allow_callback, "::1/128", NULL) < 0)
		abort(); /* constants */
	if (o->api_key && !*o->api_key) {
		free(o->api_key);
		o->api_key = NULL;
	}
}

/* Parse "HOST:PORT" ("[::1]:80" too). */
static int parse_listen(struct mock_opts *o, const char *v, struct mock_err *e)
{
	const char *colon = strrchr(v, ':');
	int64_t port;
	size_t hlen;

	if (!colon || mock_parse_int(colon + 1, 0, 65535, &port) < 0)
		return mock_err_set(e, "--listen: expected HOST:PORT, got \"%s\"", v);
	hlen = (size_t)(colon - v);
	if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
		v++;
		hlen -= 2;
	}
	if (hlen == 0)
		return mock_err_set(e, "--listen: missing host in \"%s\"", v);
	free(o->listen_host);
	o->listen_host = mock_xstrndup(v, hlen);
	o->listen_port = (int)port;
	return 0;
}

/* Parse a duration option into *out. */
static int opt_duration(const char *name, const char *v, int64_t *out, struct mock_err *e)
{
	if (mock_parse_duration_ms(v, out) < 0)
		return mock_err_set(e, "--%s: bad duration \"%s\" (e.g. 500ms, 5s)", name, v);
	return 0;
}

/* Parse a count between lo and hi. */
static int opt_count(const char *name, const char *v, int64_t lo, int64_t hi, size_t *out,
		     struct mock_err *e)
{
	int64_t n;

	if (mock_parse_int(v, lo, hi, &n) < 0)
		return mock_err_set(e, "--%s: bad count \"%s\" (%lld to %lld)", name, v, (long long)lo,
				    (long long)hi);
	*out = (size_t)n;
	return 0;
}

/* Replace a string option. */
static int opt_string(char **dst, const char *v)
{
	free(*dst);
	*dst = mock_xstrdup(v);
	return 0;
}

/* Open a secret file only its owner may access; the descriptor, or -1 with e. */
static int secret_open(const char *name, const char *path, struct mock_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return mock_err_set(e, "--%s: cannot open %s: %s", name, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		return mock_err_set(e, "--%s: %s must be a regular file that only its owner can access "
				    "(chmod 600)", name, path);
	}
	return fd;
}

/* Replace *dst by the secret in a file: one line, trailing whitespace dropped. */
int mock_opts_secret_file(const char *name, char **dst, const char *path, struct mock_err *e)
{
	char buf[4097];
	int fd = secret_open(name, path, e);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	int rc = 0;

	if (fd >= 0)
		close(fd);
	if (fd < 0)
		return -1;
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		n--;
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || n >= (ssize_t)sizeof(buf) - 1 || strpbrk(buf, "\r\n"))
		rc = mock_err_set(e, "--%s: %s must hold one line of at most 4095 bytes", name, path);
	else
		opt_string(dst, buf);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* Add a network to the callback allow-list (the first one replaces the default). */
static int opt_allow(struct mock_opts *o, const char *v, struct mock_err *e)
{
	if (!o->allow_given)
		mock_allow_free(&o->allow_callback);
	o->allow_given = true;
	return mock_allow_add(&o->allow_callback, v, e);
}

/* Store the value of a common option. */
static int set_common(struct mock_opts *o, enum opt_id id, const char *v, struct mock_err *e)
{
	int64_t n;

	switch (id) {
	case OPT_LISTEN: return parse_listen(o, v, e);
	case OPT_DATA: return opt_string(&o->data, v);
	case OPT_API_KEY: return opt_string(&o->api_key, *v ? v : NULL);
	case OPT_API_KEY_FILE: return mock_opts_secret_file("api-key-file", &o->api_key, v, e);
	case OPT_SECRET: return opt_string(&o->webhook_secret, v);
	case OPT_SECRET_FILE: return mock_opts_secret_file("webhook-secret-file", &o->webhook_secret, v, e);
	case OPT_ALLOW: return opt_allow(o, v, e);
	case OPT_MAX_BODY:
		if (mock_parse_size(v, &o->max_body) < 0 || o->max_body == 0)
			return mock_err_set(e, "--max-body: bad size \"%s\"", v);
		return 0;
	case OPT_MAX_RECORDS:
		if (mock_parse_int(v, 1, 100000000, &n) < 0)
			return mock_err_set(e, "--max-records: bad count \"%s\"", v);
		o->max_records = (size_t)n;
		return 0;
	case OPT_WH_ATTEMPTS:
		if (mock_parse_int(v, 1, 100, &n) < 0)
			return mock_err_set(e, "--webhook-attempts: bad count \"%s\"", v);
		o->webhook_attempts = (int)n;
		return 0;
	case OPT_MAX_BYTES:
		if (mock_parse_size(v, &o->max_store_bytes) < 0 || o->max_store_bytes == 0)
			return mock_err_set(e, "--max-store-bytes: bad size \"%s\"", v);
		return 0;
	case OPT_CONNS_IP: return opt_count("max-conns-per-ip", v, 1, 100000, &o->max_conns_per_ip, e);
	case OPT_WH_WORKERS: return opt_count("webhook-workers", v, 1, 64, &o->webhook_workers, e);
	case OPT_WH_QUEUE: return opt_count("webhook-queue", v, 1, 10000000, &o->webhook_queue, e);
	case OPT_IDLE:
		if (opt_duration("idle-timeout", v, &o->idle_timeout_ms, e) < 0)
			return -1;
		if (o->idle_timeout_ms < 1000)
			return mock_err_set(e, "--idle-timeout: at least 1s");
		return 0;
	case OPT_WH_BACKOFF: return opt_duration("webhook-backoff", v, &o->webhook_backoff_ms, e);
	case OPT_WH_TIMEOUT: return opt_duration("webhook-timeout", v, &o->webhook_timeout_ms, e);
	case OPT_QUIET: o->quiet = true; return 0;
	case OPT_HELP: return 0;
	}
	return 0;
}

/* Print --help. */
static void usage(const char *prog, const struct mock_optdef *extra, size_t nextra)
{
	char name[64];

	printf("usage: %s [OPTION]...\n", prog);
	for (size_t i = 0; i < MOCK_NELEM(common_opts); i++) {
		const struct mock_optdef *d = &common_opts[i].def;
		snprintf(name, sizeof(name), "%s%s", d->name, d->has_arg ? " X" : "");
		printf("  --%-20s %s\n", name, d->help);
	}
	for (size_t i = 0; i < nextra; i++) {
		snprintf(name, sizeof(name), "%s%s", extra[i].name, extra[i].has_arg ? " X" : "");
		printf("  --%-20s %s\n", name, extra[i].help);
	}
	if (nextra)
		printf("  each of these options with a value X also takes --OPTION-file FILE: X read from FILE (mode 0600)\n");
}

/* Split "--name=value" / "--name value"; returns the name length. */
static size_t opt_name(const char *arg, const char **inline_val)
{
	const char *eq = strchr(arg, '=');

	*inline_val = eq ? eq + 1 : NULL;
	return eq ? (size_t)(eq - arg) : strlen(arg);
}

/* Look a name up in a table of definitions. */
static const struct mock_optdef *find_def(const struct mock_optdef *defs, size_t n, size_t stride,
					  const char *name, size_t len, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		const struct mock_optdef *d = (const void *)((const char *)defs + i * stride);
		if (strlen(d->name) == len && strncmp(d->name, name, len) == 0) {
			*idx = i;
			return d;
		}
	}
	return NULL;
}

/* Take the option's value from "=value" or the next argument. */
static int opt_value(const struct mock_optdef *d, const char *inl, int argc, char **argv, int *i,
		     const char **val, struct mock_err *e)
{
	if (!d->has_arg) {
		if (inl)
			return mock_err_set(e, "--%s takes no value", d->name);
		*val = "1";
		return 0;
	}
	if (inl) {
		*val = inl;
		return 0;
	}
	if (*i + 1 >= argc)
		return mock_err_set(e, "--%s needs a value", d->name);
	*val = argv[++*i];
	return 0;
}

/* "--NAME-file PATH" for a mock-specific option NAME that takes a value: the value is read from
 * PATH (one line, a file only its owner can access), so a value holding a credential (a webhook
 * URL with a token) never appears on a command line. */
static int parse_file_opt(struct mock_opts *o, int argc, char **argv, int *i,
			  const struct mock_optdef *extra, size_t nextra, struct mock_err *e)
{
	const char *arg = argv[*i] + 2, *inl, *path = NULL;
	size_t len = opt_name(arg, &inl), idx;
	const struct mock_optdef *d = extra ? find_def(extra, nextra, sizeof(*extra), arg, len - 5, &idx) : NULL;
	char *v = NULL, name[80];

	if (!d || !d->has_arg)
		return mock_err_set(e, "unknown option \"--%.*s\" (see --help)", (int)len, arg);
	snprintf(name, sizeof(name), "%s-file", d->name);
	struct mock_optdef fd = {name, true, NULL, NULL};
	if (opt_value(&fd, inl, argc, argv, i, &path, e) < 0 || mock_opts_secret_file(name, &v, path, e) < 0)
		return -1;
	mock_kv_add(&o->extra, d->name, v);
	mock_wipe_str(v);
	free(v);
	return 0;
}

/* Parse one "--..." argument at argv[*i]. Returns 1 for --help. */
static int parse_one(struct mock_opts *o, int argc, char **argv, int *i,
		     const struct mock_optdef *extra, size_t nextra, struct mock_err *e)
{
	const char *arg = argv[*i], *inl, *val;
	const struct mock_optdef *d;
	size_t len, idx;

	if (strncmp(arg, "--", 2) != 0)
		return mock_err_set(e, "unexpected argument \"%s\"", arg);
	len = opt_name(arg + 2, &inl);
	d = find_def(&common_opts[0].def, MOCK_NELEM(common_opts), sizeof(common_opts[0]), arg + 2,
		     len, &idx);
	if (d) {
		if (opt_value(d, inl, argc, argv, i, &val, e) < 0)
			return -1;
		return common_opts[idx].id == OPT_HELP ? 1 : set_common(o, common_opts[idx].id, val, e);
	}
	d = extra ? find_def(extra, nextra, sizeof(*extra), arg + 2, len, &idx) : NULL;
	if (!d && len > 5 && strncmp(arg + 2 + len - 5, "-file", 5) == 0)
		return parse_file_opt(o, argc, argv, i, extra, nextra, e);
	if (!d)
		return mock_err_set(e, "unknown option \"%.*s\" (see --help)", (int)(len + 2), arg);
	if (opt_value(d, inl, argc, argv, i, &val, e) < 0)
		return -1;
	mock_kv_add(&o->extra, d->name, val);
	return 0;
}

/* Fill extra options that are absent from their environment variables. */
static void extra_env(struct mock_opts *o, const struct mock_optdef *extra, size_t nextra)
{
	for (size_t i = 0; i < nextra; i++) {
		const char *v = extra[i].env ? getenv(extra[i].env) : NULL;
		if (v && *v && !mock_kv_get(&o->extra, extra[i].name, false))
			mock_kv_add(&o->extra, extra[i].name, v);
	}
}

/* Parse the command line. */
int mock_opts_parse(struct mock_opts *o, int argc, char **argv, const char *prog,
		    const struct mock_optdef *extra, size_t nextra, struct mock_err *e)
{
	mock_opts_defaults(o);
	for (int i = 1; i < argc; i++) {
		int rc = parse_one(o, argc, argv, &i, extra, nextra, e);
		if (rc == 1) {
			usage(prog, extra, nextra);
			return 1;
		}
		if (rc < 0)
			return -1;
	}
	extra_env(o, extra, nextra);
	return 0;
}

/* A mock-specific option's value. */
const char *mock_opts_get(const struct mock_opts *o, const char *name)
{
	return mock_kv_get(&o->extra, name, false);
}

/* Free what the options own. */
void mock_opts_free(struct mock_opts *o)
{
	free(o->listen_host);
	free(o->data);
	free(o->api_key);
	free(o->webhook_secret);
	mock_allow_free(&o->allow_callback);
	mock_kv_free(&o->extra);
	memset(o, 0, sizeof(*o));
}
