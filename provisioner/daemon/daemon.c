/* daemon — the reaper loop, the signals that stop it, and the --listen address. */
#include "daemon_int.h"

#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAEMON_SIG_POLL_MS 200

/* The signal thread's state. */
struct sigwatch {
	struct daemon *d;
	pthread_t t;
	atomic_bool done;   /* set by the main thread once the loop is over */
};

/* Ask the loop to stop and wake it. */
static void daemon_stop(struct daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->mu);
}

/* React to the n-th stop signal: stop, then interrupt the teardowns, then exit. */
static void on_signal(struct daemon *d, int sig, int n)
{
	if (n == 1) {
		ev_emit(d->log, NULL, "daemon.stopping", NULL, NULL, NULL, "signal %d: stopping after the teardowns "
			"in progress", sig);
		daemon_stop(d);
	} else if (n == 2) {
		ev_emit(d->log, NULL, "daemon.interrupt", NULL, NULL, NULL, "signal %d again: stopping the teardowns "
			"between steps (the next reaper resumes them)", sig);
		env_interrupt();
	} else {
		_exit(128 + sig);
	}
}

/* Wait for SIGTERM/SIGINT (blocked in every thread) until the loop is over. */
static void *sig_main(void *arg)
{
	struct sigwatch *w = arg;
	sigset_t set;
	int n = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (!w->done) {
		struct timespec ts = {0, DAEMON_SIG_POLL_MS * 1000000L};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			on_signal(w->d, sig, ++n);
	}
	return NULL;
}

/* Sleep until the next pass is due or a stop; whether to go on. */
static bool daemon_sleep(struct daemon *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)d->o->interval_s;
	pthread_mutex_lock(&d->mu);
	while (!d->stop && pthread_cond_timedwait(&d->wake, &d->mu, &ts) != ETIMEDOUT)
		;
	bool go = !d->stop;
	pthread_mutex_unlock(&d->mu);
	return go;
}

/* Initialise the daemon's synchronisation (the sleep on the monotonic clock). */
static void daemon_init(struct daemon *d, const struct env_config *cfg, const struct daemon_opts *o)
{
	*d = (struct daemon){.cfg = cfg, .o = o};
	d->reaper = state_reaper_id("daemon");
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->evs.mu, NULL);
	sbx_cond_init_mono(&d->wake);
	d->log = ev_sink_new(EV_JSON, stderr);
}

/* Release what daemon_init and daemon_run took. */
static void daemon_fini(struct daemon *d)
{
	daemon_http_stop(d->http);
	daemon_warm_stop(d->warm);
	daemon_notify_stop(d->notify);
	state_env_unlock(d->alive);
	state_close(d->st);
	ev_sink_free(d->log);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->evs.mu);
	free(d->reaper);
}

/* Open the state, listen, say where. */
static int daemon_start(struct daemon *d, struct sbx_err *err)
{
	int port = 0;
	char *addr = NULL;
	if (env_state_open(d->cfg, &d->st, err) < 0 || state_reaper_hold(d->st, d->reaper, &d->alive, err) < 0 ||
		daemon_notify_start(d, &d->notify, err) < 0 ||
		daemon_http_start(d, d->o->host, d->o->port, &port, &addr, &d->http, err) < 0 ||
		daemon_warm_start(d, &d->warm, err) < 0)
		return -1;
	fprintf(d->o->out, "listening on http://%s:%d\n", addr, port);
	fflush(d->o->out);
	ev_emit(d->log, NULL, "daemon.start", NULL, NULL, NULL, "listening on http://%s:%d, state %s, a reaper "
		"pass every %llds as %s", addr, port, state_location(d->st), (long long)d->o->interval_s, d->reaper);
	free(addr);
	return 0;
}

/* Run the daemon. */
int daemon_run(const struct env_config *cfg, const struct daemon_opts *o, struct sbx_err *err)
{
	struct daemon d;
	struct sigwatch w = {.d = &d};
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old); /* before any thread starts: they all inherit it */
	daemon_init(&d, cfg, o);
	int rc = daemon_start(&d, err);
	if (rc == 0 && pthread_create(&w.t, NULL, sig_main, &w) != 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "cannot start the signal thread");
	if (rc == 0) {
		do
			daemon_pass(&d);
		while (daemon_sleep(&d));
		ev_emit(d.log, NULL, "daemon.stop", NULL, NULL, NULL, "stopped");
		w.done = true;
		pthread_join(w.t, NULL);
	}
	daemon_fini(&d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* A usage error about --listen. */
static int listen_error(const char *s, struct sbx_err *err)
{
	sbx_err_set(err, SBX_EXIT_USAGE, "--listen %s: expected HOST:PORT (port 0-65535, 0 = any free port)", s);
	sbx_err_hint(err, "for example --listen 127.0.0.1:9090, or --listen [::1]:0");
	return -1;
}

/* Split HOST:PORT. */
int daemon_parse_listen(const char *s, char **host, int *port, struct sbx_err *err)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen = colon ? (size_t)(colon - s) : 0;
	char *end = NULL;
	if (colon == NULL || hlen == 0 || colon[1] == '\0')
		return listen_error(s, err);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			return listen_error(s, err);
		h = s + 1;
		hlen -= 2;
	}
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 0 || p > 65535 || memchr(h, ']', hlen) || (s[0] != '[' && memchr(h, ':', hlen)))
		return listen_error(s, err);
	*host = xstrndup(h, hlen);
	*port = (int)p;
	return 0;
}
