/*
 * The IPMI client (provisioner/providers/ipmi.c) against OpenIPMI's ipmi_sim fronting a real QEMU
 * machine: ipmi_sim's startcmd launches QEMU with an ipmi-bmc-extern device connected back to the
 * sim's VM serial port, so "power on" starts a process and "power off" ends it.
 *
 * Ports: ipmi_sim listens on 127.0.0.1 on a UDP port picked by binding port 0 (and its VM serial
 * port on a TCP port picked the same way); libfreeipmi takes "address:port", so no network
 * namespace is needed to free 623 and the test needs no root. Every process dies with the test:
 * ipmi_sim gets PR_SET_PDEATHSIG from here, QEMU gets it from setpriv(1) in the startcmd (ipmi_sim
 * execs the startcmd as its own child), and the teardown kills both by pid.
 *
 * A second sim has a `chassis_control` program (a script written here): ipmi_sim accepts Set System
 * Boot Options (boot flags) only when one is configured, and hands the device to it.
 */
#include "ipmi.h"
#include "tdir.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define IPMI_SIM "/usr/bin/ipmi_sim"
#define QEMU "/usr/bin/qemu-system-x86_64"
#define SETPRIV "/usr/bin/setpriv"
#define PASSWORD "sbx-Test-pw1"
#define DEADLINE_MS 60000 /* TCG on a loaded 2-core machine: generous, never slept through */

struct sim {
	char dir[64];
	int port, serial_port;
	pid_t pid;
};

static struct sim sim_vm, sim_boot;

/* Monotonic milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A free port of the given socket type on 127.0.0.1 (bind 0, read back, close). */
static int free_port(int type)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Whether someone has UDP port `port` on 127.0.0.1 bound (our bind fails with EADDRINUSE). */
static int udp_port_taken(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), taken;

	taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* Write the sim's lan.conf and emu file; chassis_control names a program or is NULL. */
static void sim_write_config(struct sim *s, const char *chassis_control)
{
	char *conf, *cc = chassis_control ? xasprintf("  chassis_control \"%s\"\n", chassis_control) : xstrdup("");

	conf = xasprintf("name \"sbx\"\nset_working_mc 0x20\n"
			 "  startlan 1\n    addr 127.0.0.1 %d\n    priv_limit admin\n"
			 "    allowed_auths_admin none md2 md5 straight\n"
			 "    guid a123456789abcdefa123456789abcdef\n  endlan\n"
			 "  serial 15 127.0.0.1 %d codec VM\n"
			 "  startcmd \"" SETPRIV " --pdeathsig KILL " QEMU " -machine pc -accel tcg -nodefaults"
			 " -display none -m 64 -pidfile %s/qemu.pid"
			 " -chardev socket,id=ipmi0,host=127.0.0.1,port=%d,reconnect=1"
			 " -device ipmi-bmc-extern,chardev=ipmi0,id=bmc0 -device isa-ipmi-bt,bmc=bmc0\"\n"
			 "%s  startnow false\n  poweroff_wait 2\n  kill_wait 2\n"
			 "  user 2 true \"admin\" \"" PASSWORD "\" admin 10 none md2 md5 straight\n",
		s->port, s->serial_port, s->dir, s->serial_port, cc);
	tdir_put(s->dir, "lan.conf", conf);
	tdir_put(s->dir, "sim.emu",
		"mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
		"sel_enable 0x20 1000 0x0a\nmc_enable 0x20\n");
	free(conf);
	free(cc);
}

/* Start ipmi_sim in s->dir (config written first); wait until it has its UDP port. */
static int sim_start(struct sim *s, const char *chassis_control)
{
	pid_t parent = getpid();
	long long deadline;

	s->port = free_port(SOCK_DGRAM);
	s->serial_port = free_port(SOCK_STREAM);
	if (s->port < 0 || s->serial_port < 0)
		return -1;
	sim_write_config(s, chassis_control);
	if ((s->pid = fork()) < 0)
		return -1;
	if (s->pid == 0) {
		char conf[128], emu[128], state[128], log[128];
		int fd;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		snprintf(conf, sizeof(conf), "%s/lan.conf", s->dir);
		snprintf(emu, sizeof(emu), "%s/sim.emu", s->dir);
		snprintf(state, sizeof(state), "%s/state", s->dir);
		snprintf(log, sizeof(log), "%s/sim.log", s->dir);
		mkdir(state, 0700);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(IPMI_SIM, IPMI_SIM, "-c", conf, "-f", emu, "-s", state, "-n", (char *)NULL);
		_exit(127);
	}
	for (deadline = now_ms() + DEADLINE_MS; now_ms() < deadline; usleep(20000)) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
			return s->pid = 0, -1;
		if (udp_port_taken(s->port))
			return 0;
	}
	return -1;
}

/* The pid of the sim's live QEMU (from its pidfile, checked in /proc), or 0. */
static pid_t qemu_pid(const struct sim *s)
{
	char path[160], buf[512] = "";
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/qemu.pid", s->dir);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* "pid (comm) S ...": a zombie (Z) or a reused pid of another program is not our machine. */
	if (!strstr(buf, "(qemu-system-x86") || strstr(buf, ") Z "))
		return 0;
	return (pid_t)pid;
}

/* Kill the sim and its QEMU, whatever state they are in. */
static void sim_stop(struct sim *s)
{
	pid_t q = qemu_pid(s);

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (q > 0)
		kill(q, SIGKILL);
}

/* The connection settings for a sim (password: the right one unless given). */
static struct ipmi_bmc_conf conf_for(const struct sim *s, const char *password)
{
	struct ipmi_bmc_conf c = {.address = "127.0.0.1", .port = s->port, .user = "admin",
		.password = password ? password : PASSWORD, .session_timeout_ms = 5000, .retransmit_ms = 500};
	return c;
}

/* Open a session to s; fails the test on error. */
static struct ipmi_bmc *open_bmc(const struct sim *s)
{
	struct ipmi_bmc_conf c = conf_for(s, NULL);
	struct sbx_err err = SBX_ERR_INIT;
	struct ipmi_bmc *b = NULL;
	enum ipmi_rc rc = ipmi_bmc_open(&c, &b, &err);

	if (rc != IPMI_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", sbx_err_first(&err));
		sbx_err_clear(&err);
		fail_msg("open: %s", msg);
	}
	return b;
}

/* Wait until the chassis reads `on` and QEMU is alive (on) or gone (off), and not `old_pid`. */
static pid_t wait_power(struct ipmi_bmc *b, const struct sim *s, bool want_on, pid_t old_pid)
{
	long long deadline = now_ms() + DEADLINE_MS;
	struct sbx_err err = SBX_ERR_INIT;
	bool on = !want_on;
	pid_t q = 0;

	while (now_ms() < deadline) {
		assert_int_equal(ipmi_bmc_power_status(b, &on, &err), IPMI_OK);
		q = qemu_pid(s);
		if (on == want_on && (want_on ? q > 0 && q != old_pid : q == 0))
			return q;
		usleep(100000);
	}
	fail_msg("power %s: chassis reads %s, qemu pid %d after %d ms", want_on ? "on" : "off",
		on ? "on" : "off", (int)q, DEADLINE_MS);
	return 0;
}

/* Power on: the chassis reads on and a QEMU process runs; the session used suite 3 (the sim has
 * no suite 17, so this is the fallback). */
static void test_power_on(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_vm);
	struct sbx_err err = SBX_ERR_INIT;
	bool on = true;

	(void)state;
	assert_int_equal(ipmi_bmc_cipher_suite(b), 3);
	assert_int_equal(ipmi_bmc_power_status(b, &on, &err), IPMI_OK);
	assert_false(on);
	assert_int_equal(qemu_pid(&sim_vm), 0);
	assert_int_equal(ipmi_bmc_power(b, IPMI_POWER_ON, &err), IPMI_OK);
	assert_true(wait_power(b, &sim_vm, true, 0) > 0);
	ipmi_bmc_free(b);
}

/* Cycle: a new QEMU process replaces the old one and the chassis reads on. */
static void test_power_cycle(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_vm);
	struct sbx_err err = SBX_ERR_INIT;
	pid_t before = wait_power(b, &sim_vm, true, 0);

	(void)state;
	assert_int_equal(ipmi_bmc_power(b, IPMI_POWER_CYCLE, &err), IPMI_OK);
	assert_true(wait_power(b, &sim_vm, true, before) != before);
	ipmi_bmc_free(b);
}

/* Soft: accepted (the machine has no OS to act on the ACPI request, so it stays on). */
static void test_power_soft(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_vm);
	struct sbx_err err = SBX_ERR_INIT;
	bool on = false;

	(void)state;
	assert_int_equal(ipmi_bmc_power(b, IPMI_POWER_SOFT, &err), IPMI_OK);
	assert_int_equal(ipmi_bmc_power_status(b, &on, &err), IPMI_OK);
	assert_true(on);
	ipmi_bmc_free(b);
}

/* Power off: the chassis reads off and the QEMU process is gone. */
static void test_power_off(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_vm);
	struct sbx_err err = SBX_ERR_INIT;

	(void)state;
	assert_int_equal(ipmi_bmc_power(b, IPMI_POWER_OFF, &err), IPMI_OK);
	assert_int_equal(wait_power(b, &sim_vm, false, 0), 0);
	ipmi_bmc_free(b);
}

/* Without a chassis_control program the sim answers the boot flags with "invalid data field":
 * the unsupported-command error, naming the BMC. */
static void test_bootdev_unsupported(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_vm);
	struct sbx_err err = SBX_ERR_INIT;
	char want[64];

	(void)state;
	assert_int_equal(ipmi_bmc_boot_set(b, IPMI_BOOT_PXE, false, &err), IPMI_E_UNSUPPORTED);
	snprintf(want, sizeof(want), "BMC 127.0.0.1:%d: setting the boot device:", sim_vm.port);
	assert_non_null(strstr(sbx_err_first(&err), want));
	assert_non_null(strstr(sbx_err_first(&err), "unsupported"));
	sbx_err_clear(&err);
	ipmi_bmc_free(b);
}

/* With a chassis_control program: PXE once and persistent are accepted, handed to the program and
 * read back. */
static void test_bootdev_pxe(void **state)
{
	struct ipmi_bmc *b = open_bmc(&sim_boot);
	struct sbx_err err = SBX_ERR_INIT;
	enum ipmi_boot_dev dev = IPMI_BOOT_NONE;
	bool valid = true;
	char path[128], line[64] = "";
	FILE *f;

	(void)state;
	assert_int_equal(ipmi_bmc_boot_get(b, &dev, &valid, &err), IPMI_OK);
	assert_int_equal(dev, IPMI_BOOT_NONE);
	assert_int_equal(ipmi_bmc_boot_set(b, IPMI_BOOT_PXE, false, &err), IPMI_OK);
	assert_int_equal(ipmi_bmc_boot_get(b, &dev, &valid, &err), IPMI_OK);
	assert_int_equal(dev, IPMI_BOOT_PXE);
	snprintf(path, sizeof(path), "%s/boot", sim_boot.dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "pxe\n");
	assert_int_equal(ipmi_bmc_boot_set(b, IPMI_BOOT_DISK, true, &err), IPMI_OK);
	assert_int_equal(ipmi_bmc_boot_get(b, &dev, &valid, &err), IPMI_OK);
	assert_int_equal(dev, IPMI_BOOT_DISK); /* the sim calls device 2 (hard drive) "default" */
	assert_false(sbx_err_isset(&err));
	ipmi_bmc_free(b);
}

/* A wrong password: the auth error, quickly, and the message holds neither password. */
static void test_wrong_password(void **state)
{
	struct ipmi_bmc_conf c = conf_for(&sim_vm, "not-the-Password9");
	struct sbx_err err = SBX_ERR_INIT;
	struct ipmi_bmc *b = NULL;
	long long t0 = now_ms();

	(void)state;
	assert_int_equal(ipmi_bmc_open(&c, &b, &err), IPMI_E_AUTH);
	assert_null(b);
	assert_true(now_ms() - t0 < c.session_timeout_ms + 2000);
	assert_non_null(strstr(sbx_err_first(&err), "wrong user name or password"));
	assert_null(strstr(sbx_err_first(&err), "not-the-Password9"));
	assert_null(strstr(sbx_err_first(&err), PASSWORD));
	sbx_err_clear(&err);
}

/* A dead BMC port (bound here, never answered): the unreachable error within the session timeout
 * plus a margin, for each cipher suite tried at most once. */
static void test_dead_port(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ipmi_bmc_conf c = conf_for(&sim_vm, NULL);
	struct sbx_err err = SBX_ERR_INIT;
	struct ipmi_bmc *b = NULL;
	long long t0, took;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	c.port = ntohs(a.sin_port);
	c.session_timeout_ms = 2000;
	c.retransmit_ms = 250;
	t0 = now_ms();
	assert_int_equal(ipmi_bmc_open(&c, &b, &err), IPMI_E_UNREACHABLE);
	took = now_ms() - t0;
	close(fd);
	assert_null(b);
	assert_true(took >= 1500);
	assert_true(took < 2 * c.session_timeout_ms + 3000);
	assert_non_null(strstr(sbx_err_first(&err), "unreachable"));
	sbx_err_clear(&err);
}

/* The chassis_control program of the boot sim: remembers the boot device, reports power off. */
static const char chassis_script[] =
	"#!/bin/sh\n"
	"# ipmi_sim chassis_control: PROG get PARM... | PROG set PARM VAL...\n"
	"dir=$(dirname \"$0\")\n"
	"op=$1; shift\n"
	"case $op in\n"
	"get) for p in \"$@\"; do case $p in\n"
	"     power) echo power:0 ;;\n"
	"     boot) echo \"boot:$(cat \"$dir/boot\" 2>/dev/null || echo none)\" ;;\n"
	"     *) echo \"unknown parameter $p\"; exit 1 ;; esac; done ;;\n"
	"set) while [ $# -ge 2 ]; do case $1 in\n"
	"     boot) echo \"$2\" >\"$dir/boot\" ;;\n"
	"     power|reset|shutdown) ;;\n"
	"     *) echo \"unknown parameter $1\"; exit 1 ;; esac; shift 2; done ;;\n"
	"*) exit 1 ;;\n"
	"esac\n";

/* Start both sims (skip without ipmi_sim, QEMU or setpriv). */
static int setup(void **state)
{
	char prog[128];

	(void)state;
	if (access(IPMI_SIM, X_OK) || access(QEMU, X_OK) || access(SETPRIV, X_OK)) {
		printf("skip: needs %s (openipmi), %s (qemu-system-x86), %s (util-linux)\n", IPMI_SIM, QEMU,
			SETPRIV);
		exit(77);
	}
	snprintf(sim_vm.dir, sizeof(sim_vm.dir), "/tmp/sbx-ipmi-vm.XXXXXX");
	snprintf(sim_boot.dir, sizeof(sim_boot.dir), "/tmp/sbx-ipmi-boot.XXXXXX");
	if (tdir_make(sim_vm.dir) < 0 || tdir_make(sim_boot.dir) < 0)
		return -1;
	tdir_put(sim_boot.dir, "chassis", chassis_script);
	snprintf(prog, sizeof(prog), "%s/chassis", sim_boot.dir);
	if (chmod(prog, 0700) < 0)
		return -1;
	if (sim_start(&sim_vm, NULL) < 0 || sim_start(&sim_boot, prog) < 0) {
		fprintf(stderr, "ipmi_sim did not start (see %s/sim.log, %s/sim.log)\n", sim_vm.dir, sim_boot.dir);
		return -1;
	}
	return 0;
}

/* Kill both sims and their machines; remove the directories. */
static int teardown(void **state)
{
	char *cmd[2];

	(void)state;
	sim_stop(&sim_vm);
	sim_stop(&sim_boot);
	cmd[0] = sim_vm.dir;
	cmd[1] = sim_boot.dir;
	for (int i = 0; i < 2; i++) {
		pid_t p = fork();

		if (p == 0) {
			execl("/bin/rm", "rm", "-rf", cmd[i], (char *)NULL);
			_exit(127);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	return 0;
}

/* The cases run in order on the first sim: on, cycle, soft, off. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_on),
		cmocka_unit_test(test_power_cycle),
		cmocka_unit_test(test_power_soft),
		cmocka_unit_test(test_power_off),
		cmocka_unit_test(test_bootdev_unsupported),
		cmocka_unit_test(test_bootdev_pxe),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_dead_port),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
