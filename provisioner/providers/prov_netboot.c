/*
 * prov_netboot — the network boot service of one environment network (RES_NETBOOT): two processes
 * that sandbox starts and stops, with everything they use in one directory per service,
 * <netboot_dir>/<resource name>/:
 *   owner          who it belongs to (state, environment, protection): what `gc` reads
 *   http.pid/port  `sandbox netboot-serve DIR ADDRESS`: the HTTP side (the scripts, seeds, image)
 *   dnsmasq.*      dnsmasq's config, pid file, leases and log (DHCP + TFTP, no DNS)
 *   www/, files    what the HTTP side serves (a fixed set of paths: daemon/daemon_netboot.c)
 *   installer.cpio, image.stream(.sha256)   the installer's initrd, the image as an extent stream
 *                  (installer.h) and its SHA-256 (on the scripts' kernel lines), made once per image
 *   installed/     the machines that reported their install done (their script boots the disk)
 *   tftp/          the iPXE binaries for plain PXE ROMs (when Debian's ipxe is installed)
 * ensure writes the owner first, then (re)starts what is not running and rewrites the files;
 * observe says "missing" when either process is dead, so `up` after a crash restarts it; remove
 * kills every process whose command line names this directory (no pid file needed: what a crash
 * left running is found too) and deletes the directory, so `down` needs nothing but the
 * resource's name.
 */
#include "prov_int.h"

#include "image.h"
#include "installer.h"
#include "netboot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NB_START_MS 10000          /* a process must be up (its pid or port file) within this */
#define NB_STOP_MS 10000           /* and gone within this after SIGTERM (then SIGKILL) */
#define NB_IPXE_DIR "/usr/lib/ipxe" /* Debian's ipxe: the binaries handed to PXE ROMs */
#define NB_DNSMASQ "/usr/sbin/dnsmasq"

struct nbp {
	const struct prov_cfg *cfg;
};

/* Keep the session's configuration. */
static int nb_open(const struct prov_cfg *cfg, void **h, struct sbx_err *err)
{
	struct nbp *p = xcalloc(1, sizeof(*p));
	(void)err;
	p->cfg = cfg;
	*h = p;
	return 0;
}

/* Forget it. */
static void nb_close(void *h)
{
	free(h);
}

/* The service runs no machine itself. */
static bool nb_is_test(void *h)
{
	(void)h;
	return true;
}

/* Nothing to prepare. */
static int nb_prepare(void *h, struct sbx_err *err)
{
	(void)h;
	(void)err;
	return 0;
}

/* The directory of a service (caller frees); NULL when the session has no netboot directory. */
static char *nb_dir(const struct nbp *p, const char *name)
{
	return p->cfg->netboot_dir ? xasprintf("%s/%s", p->cfg->netboot_dir, name) : NULL;
}

/* The pid in DIR/FILE when that process runs and its command line names dir; else 0. */
static pid_t nb_alive(const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file), *text = NULL, *cmd = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	pid_t pid = 0;
	long v = 0;

	if (sbx_read_file(path, &text, &len, &e) == 0 && (v = strtol(text, NULL, 10)) > 1 && kill((pid_t)v, 0) == 0) {
		char *proc = xasprintf("/proc/%ld/cmdline", v);
		if (sbx_read_file(proc, &cmd, &len, &e) == 0) {
			for (size_t i = 0; i + 1 < len; i++)
				if (cmd[i] == '\0')
					cmd[i] = ' ';
			if (strstr(cmd, dir))
				pid = (pid_t)v;
		}
		free(proc);
	}
	sbx_err_clear(&e);
	free(text);
	free(cmd);
	free(path);
	return pid;
}

/* Whether a command line (NULs turned to spaces) names dir as a whole path or its prefix. */
static bool nb_cmd_names(const char *cmd, const char *dir)
{
	size_t k = strlen(dir);
	for (const char *at = strstr(cmd, dir); at; at = strstr(at + 1, dir))
		if (at[k] == '/' || at[k] == ' ' || at[k] == '\0')
			return true;
	return false;
}

/* Signal every process whose command line names dir; how many there were. */
static int nb_signal_all(const char *dir, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d)) != NULL) {
		char *end = NULL;
		long pid = strtol(de->d_name, &end, 10);
		if (pid <= 1 || *end || pid == (long)getpid())
			continue;
		char *proc = xasprintf("/proc/%ld/cmdline", pid), *cmd = NULL;
		size_t len = 0;
		struct sbx_err e = SBX_ERR_INIT;
		if (sbx_read_file(proc, &cmd, &len, &e) == 0) {
			for (size_t i = 0; i + 1 < len; i++)
				if (cmd[i] == '\0')
					cmd[i] = ' ';
			if (nb_cmd_names(cmd, dir) && kill((pid_t)pid, sig) == 0)
				n++;
		}
		sbx_err_clear(&e);
		free(cmd);
		free(proc);
	}
	if (d)
		closedir(d);
	return n;
}

/* Stop every process of the service, found by its directory in their command lines (so pid files
 * are not needed): SIGTERM, then SIGKILL at the deadline; none running is success. */
static int nb_stop_all(const char *dir, struct sbx_err *err)
{
	struct sbx_backoff bo;
	if (nb_signal_all(dir, SIGTERM) == 0)
		return 0;
	sbx_backoff_init(&bo, NB_STOP_MS, 20, 200);
	while (nb_signal_all(dir, 0) > 0)
		if (sbx_backoff_wait(&bo) != 0) {
			nb_signal_all(dir, SIGKILL);
			break;
		}
	sbx_backoff_init(&bo, NB_STOP_MS, 20, 200);
	while (nb_signal_all(dir, 0) > 0)
		if (sbx_backoff_wait(&bo) != 0)
			return sbx_err_set(err, SBX_EXIT_FAILED, "the processes of %s do not stop", dir);
	return 0;
}

/* Stop the process of DIR/FILE (SIGTERM, then SIGKILL at the deadline); gone already is success. */
static int nb_stop(const char *dir, const char *file, struct sbx_err *err)
{
	pid_t pid = nb_alive(dir, file);
	struct sbx_backoff bo;

	if (pid == 0)
		return 0;
	kill(pid, SIGTERM);
	sbx_backoff_init(&bo, NB_STOP_MS, 20, 200);
	while (nb_alive(dir, file) == pid)
		if (sbx_backoff_wait(&bo) != 0) {
			kill(pid, SIGKILL);
			break;
		}
	sbx_backoff_init(&bo, NB_STOP_MS, 20, 200);
	while (nb_alive(dir, file) == pid)
		if (sbx_backoff_wait(&bo) != 0)
			return sbx_err_set(err, SBX_EXIT_FAILED, "%s/%s: process %d does not stop", dir, file, (int)pid);
	return 0;
}

/* Wait until DIR/FILE names a running process of this service. */
static int nb_wait_up(const char *dir, const char *file, const char *what, struct sbx_err *err)
{
	struct sbx_backoff bo;
	sbx_backoff_init(&bo, NB_START_MS, 20, 200);
	while (nb_alive(dir, file) == 0)
		if (sbx_backoff_wait(&bo) != 0)
			return sbx_err_set(err, SBX_EXIT_FAILED, "%s did not start within %d s (its log is in %s)", what,
				NB_START_MS / 1000, dir);
	return 0;
}

/* Start `sandbox netboot-serve DIR ADDRESS`, detached (double fork: no zombie in a long-lived
 * caller; no descriptor of the caller's), its output in DIR/http.log. */
static int nb_spawn_serve(const char *dir, const char *address, struct sbx_err *err)
{
	char *log = xasprintf("%s/http.log", dir);
	pid_t pid = fork();
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0); /* nothing of the caller's (state, sockets, locks) stays open in it */
		char *argv[] = {"sandbox", "netboot-serve", (char *)dir, (char *)address, NULL};
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(log);
	if (pid < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "fork: %s", strerror(errno));
	waitpid(pid, NULL, 0);
	return 0;
}

/* Write len bytes to DIR/REL (rel may name a subdirectory, made first). */
static int nb_put_len(const char *dir, const char *rel, const void *data, size_t len, struct sbx_err *err)
{
	char *path = xasprintf("%s/%s", dir, rel), *parent = sbx_dirname(path);
	int rc = sbx_mkdir_p(parent, 0755, err) < 0 ? -1 : sbx_write_file(path, data, len, 0644, err);
	free(parent);
	free(path);
	return rc;
}

/* Write a text to DIR/REL. */
static int nb_put(const char *dir, const char *rel, const char *text, struct sbx_err *err)
{
	return nb_put_len(dir, rel, text, strlen(text), err);
}

/* The HTTP side's port, started when it does not run, and again when it listens on another
 * address (DIR/http.addr: its network was replaced with another block). */
static int nb_serve(const char *dir, const struct res_netboot *nb, int *port, struct sbx_err *err)
{
	char *path = xasprintf("%s/http.port", dir), *apath = xasprintf("%s/http.addr", dir), *text = NULL, *addr = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	bool moved = sbx_read_file(apath, &addr, &len, &e) < 0 || !sbx_streq(addr, nb->address);
	int rc = 0;

	sbx_err_clear(&e);
	if (nb_alive(dir, "http.pid") != 0 && moved)
		rc = nb_stop(dir, "http.pid", err);
	if (rc == 0 && nb_alive(dir, "http.pid") == 0) {
		unlink(path);
		rc = nb_put(dir, "http.addr", nb->address, err) < 0 || nb_spawn_serve(dir, nb->address, err) < 0 ||
			nb_wait_up(dir, "http.pid", "the HTTP side", err) < 0 ? -1 : 0;
	}
	free(addr);
	free(apath);
	if (rc == 0 && sbx_read_file(path, &text, &len, err) == 0 && (*port = (int)strtol(text, NULL, 10)) <= 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "%s: no port", path);
	else if (rc == 0 && text == NULL)
		rc = -1;
	free(text);
	free(path);
	return rc;
}

/* The owner file: what gc reads. */
static int nb_put_owner(const struct nbp *p, const char *dir, struct sbx_err *err)
{
	char *t = xasprintf("state_id=%s\nenv_id=%s\nenv=%s\nprotect=%d\n", p->cfg->state_id ? p->cfg->state_id : "",
		p->cfg->env_id ? p->cfg->env_id : "", p->cfg->env ? p->cfg->env : "", p->cfg->protect ? 1 : 0);
	int rc = nb_put(dir, "owner", t, err);
	free(t);
	return rc;
}

/* Whether a machine of the service runs the installer: every machine does, to install to its disk
 * or to run the image from RAM. */
static bool nb_installs(const struct res_netboot *nb)
{
	return nb->nhosts > 0;
}

/* Make DIR/image.stream and its SHA-256 in DIR/image.stream.sha256 from the image unless they were
 * made from this very file (its path, size and modification time in DIR/image.from), and write
 * DIR/installer.cpio. */
static int nb_put_install(const char *dir, const char *image, struct sbx_err *err)
{
	struct stat st;
	char *from = xasprintf("%s/image.from", dir), *stream = xasprintf("%s/image.stream", dir), *old = NULL, *cpio = NULL;
	char *sumf = xasprintf("%s.sha256", stream), sum[65];
	char *stamp = stat(image, &st) == 0 ? xasprintf("%s %lld %lld\n", image, (long long)st.st_size,
		(long long)st.st_mtim.tv_sec) : NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	bool same = stamp && sbx_read_file(from, &old, &len, &e) == 0 && strcmp(old, stamp) == 0 && access(stream, R_OK) == 0 &&
		access(sumf, R_OK) == 0;
	int rc = 0;

	sbx_err_clear(&e);
	if (stamp == NULL)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "the image %s: %s", image, strerror(errno));
	else if (!same) {
		unlink(from);
		rc = installer_stream(image, stream, sum, err) < 0 || sbx_write_file(sumf, sum, 64, 0644, err) < 0 ||
			sbx_write_file(from, stamp, strlen(stamp), 0644, err) < 0 ? -1 : 0;
	}
	if (rc == 0 && installer_cpio(INSTALLER_BUSYBOX, &cpio, &len, err) == 0)
		rc = nb_put_len(dir, "installer.cpio", cpio, len, err);
	else
		rc = -1;
	free(cpio);
	free(old);
	free(stamp);
	free(sumf);
	free(stream);
	free(from);
	return rc;
}

/* The image's files as the libvirt provider resolves them (image.c): a path checked, a url
 * downloaded once, a recipe built or taken from the cache, with the kernel, initrd and command line
 * of the recipe's manifest unless the blueprint gives its own. */
static int nb_image(const struct nbp *p, const struct res_image *ri, struct image_files *f, struct sbx_err *err)
{
	struct bp_image img = {ri->path, ri->url, ri->sha256, ri->recipe, ri->kernel, ri->initrd, ri->cmdline, {0}};
	struct image_dirs dirs = {p->cfg->image_cache, p->cfg->recipes_dir};
	if (image_resolve(&img, p->cfg->bp_dir ? p->cfg->bp_dir : ".", &dirs, p->cfg->progress, p->cfg->progress_ctx, f,
			err) < 0)
		return -1;
	if (f->kernel == NULL || f->initrd == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "the image gives no kernel and initrd to boot machines from the network");
		sbx_err_hint(err, "give site.image.kernel and site.image.initrd, or use a recipe (recipe: debian-12)");
		return -1;
	}
	return 0;
}

/* The files map: "kernel PATH", "initrd PATH", "image PATH"; when a machine installs, the image is
 * its stream and the installer's initrd is there too. */
static int nb_put_files(const char *dir, const struct res_netboot *nb, const struct image_files *f,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	const char *keys[] = {"kernel", "initrd", "image"}, *vals[] = {f->kernel, f->initrd, f->disk};
	bool install = nb_installs(nb);
	int rc = 0;
	for (size_t i = 0; i < SBX_NELEM(keys) && rc == 0; i++) {
		const char *v = vals[i];
		if (v && strchr(v, '\n') == NULL && install && strcmp(keys[i], "image") == 0) {
			rc = nb_put_install(dir, v, err);
			sbx_buf_printf(&b, "image %s/image.stream\ninstaller %s/installer.cpio\n", dir, dir);
		} else if (v && strchr(v, '\n') == NULL)
			sbx_buf_printf(&b, "%s %s\n", keys[i], v);
	}
	char *t = b.len ? sbx_buf_steal(&b) : xstrdup("");
	if (rc == 0)
		rc = nb_put(dir, "files", t, err);
	free(t);
	return rc;
}

/* Copy the iPXE binaries into DIR/tftp; false when Debian's ipxe is not installed. */
static bool nb_put_tftp(const char *dir)
{
	const char *names[] = {NETBOOT_TFTP_BIOS, NETBOOT_TFTP_EFI};
	struct sbx_err e = SBX_ERR_INIT;
	bool ok = true;
	for (size_t i = 0; i < SBX_NELEM(names) && ok; i++) {
		char *from = xasprintf("%s/%s", NB_IPXE_DIR, names[i]), *to = xasprintf("tftp/%s", names[i]), *data = NULL;
		size_t len = 0;
		ok = sbx_read_file(from, &data, &len, &e) == 0 && nb_put_len(dir, to, data, len, &e) == 0;
		free(data);
		free(from);
		free(to);
	}
	sbx_err_clear(&e);
	return ok;
}

/* The rendering's view of the resource (hosts: caller frees the array, not the strings). */
static struct netboot_net nb_net(const struct res *r, const char *dir, int port, bool tftp, const char *cmdline)
{
	const struct res_netboot *nb = &r->u.nb;
	struct netboot_host *hosts = xcalloc(nb->nhosts + 1, sizeof(*hosts));
	for (size_t i = 0; i < nb->nhosts; i++)
		hosts[i] = (struct netboot_host){nb->hosts[i].name, nb->hosts[i].mac, nb->hosts[i].ip, nb->hosts[i].disk,
			nb->hosts[i].wipe, false};
	return (struct netboot_net){.env = r->name, .iface = nb->bridge, .cidr = nb->cidr, .address = nb->address,
		.http_port = port, .dir = dir, .tftp = tftp, .cmdline = cmdline, .hosts = hosts,
		.nhosts = nb->nhosts};
}

/* Refuse what must not reach a dnsmasq line or a path: odd names, MACs, interface. */
static int nb_check(const struct res *r, struct sbx_err *err)
{
	const struct res_netboot *nb = &r->u.nb;
	if (!netboot_name_ok(nb->bridge) || nb->address == NULL || nb->cidr == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "netboot %s: no bridge or address recorded", r->name);
	for (size_t i = 0; i < nb->nhosts; i++)
		if (!netboot_name_ok(nb->hosts[i].name) || !netboot_mac_ok(nb->hosts[i].mac) || nb->hosts[i].ip == NULL)
			return sbx_err_set(err, SBX_EXIT_USAGE, "netboot %s: machine %s: expected a MAC like 52:54:00:12:34:56, "
				"got \"%s\"", r->name, nb->hosts[i].name ? nb->hosts[i].name : "?", nb->hosts[i].mac ? nb->hosts[i].mac : "");
	return 0;
}

/* The instance id of a machine's seed: "<env id>.<name>-<8 hex of its address and gateway>". A
 * machine whose network was replaced with another block boots a new instance to cloud-init, which
 * then applies the new address to the disk it keeps (as a VM's seed: prov_libvirt.c). Caller frees. */
static char *nb_instance_id(const struct nbp *p, const struct netboot_net *net, const struct netboot_host *h)
{
	char *a = xasprintf("%s/24 %s;", h->ip, net->address), hex[65];
	sbx_sha256_hex(a, strlen(a), hex);
	free(a);
	return xasprintf("%s.%s-%.8s", p->cfg->env_id ? p->cfg->env_id : "-", h->name, hex);
}

/* Write one machine's scripts (to install or run, and once installed) and its seed. */
static int nb_put_host(const struct nbp *p, const char *dir, const struct netboot_net *net, size_t i,
	struct sbx_err *err)
{
	struct netboot_host h = net->hosts[i];
	char *id = nb_instance_id(p, net, &h);
	struct netboot_seed_in in = {id, NULL, p->cfg->pubkey};
	char *md, *ud, *nc, *script = netboot_ipxe_script(net, &h);
	char *f_ipxe = xasprintf("www/ipxe/%s", h.name), *f_done = xasprintf("www/ipxe/%s.installed", h.name);
	char *f_md = xasprintf("www/seed/%s/meta-data", h.name), *f_ud = xasprintf("www/seed/%s/user-data", h.name);
	char *f_nc = xasprintf("www/seed/%s/network-config", h.name), *f_vd = xasprintf("www/seed/%s/vendor-data", h.name);
	h.installed = true;
	char *done = netboot_ipxe_script(net, &h);
	netboot_seed(net, &h, &in, &md, &ud, &nc);
	int rc = nb_put(dir, f_ipxe, script, err) < 0 || nb_put(dir, f_done, done, err) < 0 || nb_put(dir, f_md, md, err) < 0 ||
		nb_put(dir, f_ud, ud, err) < 0 || nb_put(dir, f_nc, nc ? nc : "", err) < 0 ||
		nb_put(dir, f_vd, "", err) < 0 ? -1 : 0; /* cloud-init 22.4 fails a URL seed without vendor-data */
	char *v[] = {id, md, ud, nc, script, done, f_ipxe, f_done, f_md, f_ud, f_nc, f_vd};
	for (size_t k = 0; k < SBX_NELEM(v); k++)
		free(v[k]);
	return rc;
}

/* (Re)start dnsmasq unless it runs with this very configuration. */
static int nb_dnsmasq(const char *dir, const char *conf, struct sbx_err *err)
{
	char *path = xasprintf("%s/dnsmasq.conf", dir), *old = NULL, *arg = xasprintf("--conf-file=%s", path), *out = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	bool same = sbx_read_file(path, &old, &len, &e) == 0 && strcmp(old, conf) == 0;
	int rc = 0;

	sbx_err_clear(&e);
	if (!(same && nb_alive(dir, "dnsmasq.pid"))) {
		char *argv[] = {NB_DNSMASQ, arg, NULL};
		rc = nb_stop(dir, "dnsmasq.pid", err) < 0 || nb_put(dir, "dnsmasq.conf", conf, err) < 0 ? -1 : 0;
		if (rc == 0 && sbx_run(argv, NB_START_MS, &out, err) < 0) {
			sbx_err_prefix(err, "dnsmasq");
			sbx_err_hint(err, "is dnsmasq installed (Debian: dnsmasq-base) and the network's bridge up?");
			rc = -1;
		}
		if (rc == 0)
			rc = nb_wait_up(dir, "dnsmasq.pid", "dnsmasq", err);
	}
	free(out);
	free(old);
	free(arg);
	free(path);
	return rc;
}

/* The image stream's SHA-256 nb_put_install recorded (caller frees); NULL when there is none. */
static char *nb_stream_sum(const char *dir)
{
	char *path = xasprintf("%s/image.stream.sha256", dir), *sum = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	if (sbx_read_file(path, &sum, &len, &e) < 0 || len != 64 || strspn(sum, "0123456789abcdef") != 64) {
		free(sum);
		sum = NULL;
	}
	sbx_err_clear(&e);
	free(path);
	return sum;
}

/* Write what the service serves with the HTTP side's port, then (re)start dnsmasq. */
static int nb_render(const struct nbp *p, const char *dir, const struct res *r, int port, const char *cmdline,
	struct sbx_err *err)
{
	struct netboot_net net = nb_net(r, dir, port, nb_put_tftp(dir), cmdline);
	char *sum = nb_stream_sum(dir);
	int rc = 0;
	net.sha256 = sum;
	for (size_t i = 0; i < net.nhosts && rc == 0; i++)
		rc = nb_put_host(p, dir, &net, i, err);
	char *conf = rc == 0 ? netboot_dnsmasq_conf(&net) : NULL;
	if (conf)
		rc = nb_dnsmasq(dir, conf, err);
	free(conf);
	free(sum);
	free((void *)net.hosts);
	return rc;
}

/* Start what does not run and write what the service serves; the owner first. */
static int nb_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct nbp *p = h;
	char *dir = nb_dir(p, r->name), *inst = dir ? xasprintf("%s/installed", dir) : NULL;
	struct image_files f = {0};
	int port = 0, rc = -1;

	(void)adopt;
	if (dir == NULL)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "this session has no netboot directory");
	else if (nb_check(r, err) == 0 && nb_image(p, &r->u.nb.image, &f, err) == 0 && sbx_mkdir_p(inst, 0755, err) == 0 &&
		nb_put_owner(p, dir, err) == 0 && nb_put_files(dir, &r->u.nb, &f, err) == 0 &&
		nb_serve(dir, &r->u.nb, &port, err) == 0)
		rc = nb_render(p, dir, r, port, f.cmdline, err);
	if (rc < 0)
		sbx_err_prefix(err, "netboot %s", r->name);
	image_files_clear(&f);
	free(inst);
	free(dir);
	return rc;
}

/* Stop both processes and delete the directory (absent: success). */
static int nb_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	char *dir = nb_dir(h, name);
	int rc = 0;
	(void)where;
	if (dir && nb_stop_all(dir, err) < 0)
		rc = -1;
	if (dir && rc == 0 && sbx_rm_rf(dir) < 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "cannot delete %s: %s", dir, strerror(errno));
	if (rc < 0)
		sbx_err_prefix(err, "netboot %s", name);
	free(dir);
	return rc;
}

/* Whether both processes run (either dead: missing, so up starts it again). */
static int nb_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	char *dir = nb_dir(h, r->name);
	(void)err;
	out->exists = dir && nb_alive(dir, "dnsmasq.pid") && nb_alive(dir, "http.pid");
	free(dir);
	return 0;
}

/* One value of an owner file ("" when absent; caller frees). */
static char *nb_owner_val(const char *text, const char *key)
{
	size_t k = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, k) == 0 && l[k] == '=')
			return xstrndup(l + k + 1, strcspn(l + k + 1, "\n"));
	return xstrdup("");
}

/* The service of directory entry `name` as a listed object. */
static void nb_list_one(const char *root, const char *name, struct prov_obj **objs, size_t *n)
{
	char *path = xasprintf("%s/%s/owner", root, name), *text = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	bool tagged = sbx_read_file(path, &text, &len, &e) == 0;
	char *prot = nb_owner_val(text, "protect");

	*objs = xrealloc(*objs, (*n + 1) * sizeof(**objs));
	(*objs)[(*n)++] = (struct prov_obj){RES_NETBOOT, xstrdup(name), NULL, tagged, nb_owner_val(text, "state_id"),
		nb_owner_val(text, "env_id"), nb_owner_val(text, "env"), strcmp(prot, "1") == 0, NULL};
	free(prot);
	sbx_err_clear(&e);
	free(text);
	free(path);
}

/* Every service directory ("sbx-*.netboot") under the netboot directory. */
static int nb_list(void *h, struct prov_obj **objs, size_t *n, struct sbx_err *err)
{
	const struct nbp *p = h;
	DIR *d = p->cfg->netboot_dir ? opendir(p->cfg->netboot_dir) : NULL;
	struct dirent *de;

	(void)err;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (sbx_has_prefix(de->d_name, "sbx-") && len > 8 && strcmp(de->d_name + len - 8, ".netboot") == 0)
			nb_list_one(p->cfg->netboot_dir, de->d_name, objs, n);
	}
	closedir(d);
	return 0;
}

/* The service uses the network's block, recorded by the network itself. */
static int nb_blocks(void *h, char ***v, size_t *n, struct sbx_err *err)
{
	(void)h;
	(void)v;
	(void)n;
	(void)err;
	return 0;
}

static const struct prov_type nb_types[] = {
	{RES_NETBOOT, "starting network boot service", nb_ensure, nb_remove, nb_observe, NULL},
};

const struct provider prov_netboot = {"netboot", nb_open, nb_close, nb_is_test, nb_prepare, nb_list, NULL, nb_blocks,
	nb_types, SBX_NELEM(nb_types), true, NULL, NULL};
