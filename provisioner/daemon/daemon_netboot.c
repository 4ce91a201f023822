/*
 * daemon_netboot — `sandbox netboot-serve DIR ADDRESS`: the HTTP side of one network boot service
 * (providers/prov_netboot.c starts it, detached, and writes DIR). It listens on ADDRESS (the
 * network's bridge address) at a port the kernel picks, writes DIR/http.port then DIR/http.pid,
 * and answers a fixed set of paths (netboot.h's NETBOOT_PATH_*) from DIR only:
 *   GET /ipxe/NAME               DIR/www/ipxe/NAME, or NAME.installed once DIR/installed/NAME exists
 *   GET /seed/NAME/FILE          DIR/www/seed/NAME/FILE for meta-data, user-data, vendor-data,
 *                                network-config
 *   GET /installed/NAME          records DIR/installed/NAME (a machine whose script exists)
 *   GET /boot/kernel, /boot/initrd, /boot/installer, /image   the files DIR/files names (the
 *                                environment's image; the installer's initrd and the image's stream)
 * NAME must be a node instance name (netboot_name_ok): no path is ever built from anything else,
 * so nothing outside DIR is reachable. Anything else is 404, other methods 405. Bounds: 2 threads,
 * 32 connections (8 per address), 30 s idle timeout, 32 KiB per connection. One log line per
 * request on stdout. It exits on SIGTERM/SIGINT, or when DIR/owner is gone (its service deleted).
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "netboot.h"

#define NBS_THREADS 2
#define NBS_CONN_LIMIT 32
#define NBS_PER_IP_LIMIT 8
#define NBS_TIMEOUT_S 30
#define NBS_MEM_LIMIT (32 * 1024)

static volatile sig_atomic_t nbs_stop;

/* Ask the loop to stop. */
static void nbs_on_signal(int sig)
{
	(void)sig;
	nbs_stop = 1;
}

/* The file a seed path names ("NAME/FILE"), relative to DIR; NULL when it names none. */
static char *nbs_seed(const char *rest)
{
	static const char *const files[] = {"meta-data", "user-data", "vendor-data", "network-config"};
	const char *slash = strchr(rest, '/');
	char *name = slash ? xstrndup(rest, (size_t)(slash - rest)) : NULL, *out = NULL;
	for (size_t i = 0; name && netboot_name_ok(name) && i < SBX_NELEM(files); i++)
		if (strcmp(slash + 1, files[i]) == 0)
			out = xasprintf("www/seed/%s/%s", name, files[i]);
	free(name);
	return out;
}

/* The image file a path names, from DIR/files ("kernel PATH" lines); NULL when not listed. */
static char *nbs_image(const char *dir, const char *key)
{
	char *path = xasprintf("%s/files", dir), *text = NULL, *out = NULL;
	size_t len = 0, k = strlen(key);
	struct sbx_err e = SBX_ERR_INIT;
	if (sbx_read_file(path, &text, &len, &e) == 0)
		for (const char *l = text; l && *l && !out; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, key, k) == 0 && l[k] == ' ')
				out = xstrndup(l + k + 1, strcspn(l + k + 1, "\n"));
	sbx_err_clear(&e);
	free(text);
	free(path);
	return out;
}

/* Whether DIR/REL exists. */
static bool nbs_exists(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	bool ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

/* Record that a machine installed (only one that has a script); the path of the answer's file. */
static char *nbs_installed(const char *dir, const char *name, unsigned *status)
{
	char *script = xasprintf("www/ipxe/%s", name);
	if (!netboot_name_ok(name) || !nbs_exists(dir, script)) {
		free(script);
		return NULL;
	}
	char *mark = xasprintf("%s/installed/%s", dir, name);
	int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	else
		close(fd);
	free(mark);
	free(script);
	return xasprintf("%s/installed/%s", dir, name);
}

/* The absolute file a URL path names, NULL when none (404). */
static char *nbs_route(const char *dir, const char *url, unsigned *status)
{
	char *rel = NULL;
	if (sbx_has_prefix(url, NETBOOT_PATH_IPXE) && netboot_name_ok(url + strlen(NETBOOT_PATH_IPXE))) {
		const char *name = url + strlen(NETBOOT_PATH_IPXE);
		char *mark = xasprintf("installed/%s", name);
		rel = xasprintf("www/ipxe/%s%s", name, nbs_exists(dir, mark) ? ".installed" : "");
		free(mark);
	} else if (sbx_has_prefix(url, NETBOOT_PATH_SEED)) {
		rel = nbs_seed(url + strlen(NETBOOT_PATH_SEED));
	} else if (sbx_has_prefix(url, NETBOOT_PATH_INSTALLED)) {
		return nbs_installed(dir, url + strlen(NETBOOT_PATH_INSTALLED), status);
	} else if (strcmp(url, NETBOOT_PATH_KERNEL) == 0 || strcmp(url, NETBOOT_PATH_INITRD) == 0 ||
		strcmp(url, NETBOOT_PATH_INSTALLER) == 0 || strcmp(url, NETBOOT_PATH_IMAGE) == 0) {
		return nbs_image(dir, strrchr(url, '/') + 1);
	}
	char *abs = rel ? xasprintf("%s/%s", dir, rel) : NULL;
	free(rel);
	return abs;
}

/* Queue a file (or a short text when the file cannot be opened). */
static enum MHD_Result nbs_send(struct MHD_Connection *c, const char *path, unsigned *status)
{
	struct MHD_Response *r = NULL;
	int fd = path && *status == MHD_HTTP_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
		fd = -1;
	} else {
		if (*status == MHD_HTTP_OK)
			*status = MHD_HTTP_NOT_FOUND;
		const char *msg = *status == MHD_HTTP_NOT_FOUND ? "not found\n" : "refused\n";
		r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	}
	if (fd >= 0)
		close(fd);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result rc = MHD_queue_response(c, *status, r);
	MHD_destroy_response(r);
	return rc;
}

/* One request: route, answer, log. */
static enum MHD_Result nbs_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	const char *dir = cls;
	unsigned status = MHD_HTTP_OK;
	char *path = NULL;
	(void)version;
	(void)upload;
	(void)con_cls;
	*upload_size = 0;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	else if ((path = nbs_route(dir, url, &status)) == NULL)
		status = MHD_HTTP_NOT_FOUND;
	enum MHD_Result rc = nbs_send(c, path, &status);
	printf("%.8s %.200s %u\n", method, url, status);
	fflush(stdout);
	free(path);
	return rc;
}

/* Write DIR/NAME with a number (atomically). */
static int nbs_put_num(const char *dir, const char *name, long v, struct sbx_err *err)
{
	char *path = xasprintf("%s/%s", dir, name), *t = xasprintf("%ld\n", v);
	int rc = sbx_write_file(path, t, strlen(t), 0644, err);
	free(t);
	free(path);
	return rc;
}

/* Listen on ADDRESS at a port the kernel picks. */
static struct MHD_Daemon *nbs_listen(const char *dir, const char *address, struct sbx_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		sbx_err_set(err, SBX_EXIT_USAGE, "netboot-serve: %s is not an IPv4 address", address);
		return NULL;
	}
	struct MHD_Daemon *m = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, nbs_request, (void *)dir, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)NBS_THREADS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)NBS_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)NBS_PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)NBS_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NBS_MEM_LIMIT, MHD_OPTION_END);
	if (m == NULL)
		sbx_err_set(err, SBX_EXIT_FAILED, "netboot-serve: cannot listen on %s (not an address of this host yet?)",
			address);
	return m;
}

/* Serve until a signal, or until the service's directory loses its owner file. */
int daemon_netboot_serve(const char *dir, const char *address, struct sbx_err *err)
{
	struct MHD_Daemon *m = nbs_listen(dir, address, err);
	if (m == NULL)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m, MHD_DAEMON_INFO_BIND_PORT);
	struct sigaction sa = {.sa_handler = nbs_on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = di && di->port ? 0 : sbx_err_set(err, SBX_EXIT_FAILED, "netboot-serve: no port bound");
	if (rc == 0 && (nbs_put_num(dir, "http.port", di->port, err) < 0 || nbs_put_num(dir, "http.pid", getpid(), err) < 0))
		rc = -1;
	printf("listening on http://%s:%d for %s\n", address, rc == 0 ? di->port : 0, dir);
	fflush(stdout);
	while (rc == 0 && !nbs_stop && nbs_exists(dir, "owner")) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(m);
	return rc;
}
