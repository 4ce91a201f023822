/*
 * smtp_load — a small SMTP load generator for tests/bench/mocks_smtp.sh (the same client for every
 * server measured). C=concurrent sessions send N messages of SIZE bytes in total, one message per
 * connection (like postfix's smtp-source without -d) or K messages per connection with -k K.
 *
 *   smtp_load -p PORT [-h 127.0.0.1] [-c 8] [-n 10000] [-s 10240] [-k 1]
 *
 * Prints "messages=N failed=F seconds=S rate=R" (messages/s) on stdout; exit 1 on any failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;
static long total, per_conn = 1, msg_size = 10240;
static long next_msg, failed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *body;

/* Read one (possibly multi-line) reply; returns its code or -1. */
static int reply(int fd, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', *have - (size_t)(line - buf)))) {
			if (nl - line >= 3 && line[3] != '-') {
				int code = (int)strtol(line, NULL, 10);
				size_t rest = *have - (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, rest);
				*have = rest;
				return code;
			}
			line = nl + 1;
		}
		if (*have == cap)
			return -1;
		ssize_t n = recv(fd, buf + *have, cap - *have, 0);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* Send a whole buffer. 0 / -1. */
static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send a command and expect a reply code class. 0 / -1. */
static int cmd(int fd, const char *c, int want, char *buf, size_t cap, size_t *have)
{
	if (c && send_all(fd, c, strlen(c)) < 0)
		return -1;
	return reply(fd, buf, cap, have) / 100 == want / 100 ? 0 : -1;
}

/* Claim up to k message numbers; returns how many. */
static long claim(long k)
{
	long got;

	pthread_mutex_lock(&lock);
	got = total - next_msg < k ? total - next_msg : k;
	next_msg += got;
	pthread_mutex_unlock(&lock);
	return got;
}

/* One connection sending k messages. 0 / -1. */
static int session(long k)
{
	char buf[8192];
	size_t have = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rc = -1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0) {
		perror("smtp_load: connect");
		goto out;
	}
	if (cmd(fd, NULL, 220, buf, sizeof(buf), &have) || cmd(fd, "EHLO load\r\n", 250, buf, sizeof(buf), &have))
		goto out;
	for (long i = 0; i < k; i++) {
		if (cmd(fd, "MAIL FROM:<load@example.org>\r\n", 250, buf, sizeof(buf), &have) ||
		    cmd(fd, "RCPT TO:<sink@example.org>\r\n", 250, buf, sizeof(buf), &have) ||
		    cmd(fd, "DATA\r\n", 354, buf, sizeof(buf), &have) ||
		    cmd(fd, body, 250, buf, sizeof(buf), &have))
			goto out;
	}
	rc = cmd(fd, "QUIT\r\n", 221, buf, sizeof(buf), &have);
out:
	if (rc < 0 && have)
		fprintf(stderr, "smtp_load: unexpected reply: %.*s", (int)have, buf);
	close(fd);
	return rc;
}

/* A sender thread. */
static void *sender(void *arg)
{
	long k;

	(void)arg;
	while ((k = claim(per_conn)) > 0) {
		if (session(k) < 0) {
			pthread_mutex_lock(&lock);
			failed += k;
			pthread_mutex_unlock(&lock);
		}
	}
	return NULL;
}

/* The message: headers, then 78-character lines up to msg_size, then the end of data. */
static char *make_body(long size)
{
	char *b = malloc((size_t)size + 256), *p = b;
	long n = 0;

	p += snprintf(p, 256, "From: load@example.org\r\nTo: sink@example.org\r\nSubject: load\r\n\r\n");
	n = p - b;
	while (n < size) {
		long line = size - n < 80 ? size - n : 80;
		memset(p, 'x', (size_t)line);
		if (line >= 2)
			memcpy(p + line - 2, "\r\n", 2);
		p += line;
		n += line;
	}
	memcpy(p, "\r\n.\r\n", 6);
	return b;
}

int main(int argc, char **argv)
{
	long conc = 8;
	int opt;
	struct timespec t0, t1;
	pthread_t th[256];

	total = 10000;
	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while ((opt = getopt(argc, argv, "h:p:c:n:s:k:")) != -1) {
		switch (opt) {
		case 'h': inet_pton(AF_INET, optarg, &server.sin_addr); break;
		case 'p': server.sin_port = htons((uint16_t)strtol(optarg, NULL, 10)); break;
		case 'c': conc = strtol(optarg, NULL, 10); break;
		case 'n': total = strtol(optarg, NULL, 10); break;
		case 's': msg_size = strtol(optarg, NULL, 10); break;
		case 'k': per_conn = strtol(optarg, NULL, 10); break;
		default: fprintf(stderr, "usage: smtp_load -p PORT [-c C] [-n N] [-s SIZE] [-k K]\n"); return 2;
		}
	}
	if (!server.sin_port || conc < 1 || conc > 256 || per_conn < 1)
		return 2;
	body = make_body(msg_size);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, sender, NULL);
	for (long i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("messages=%ld failed=%ld seconds=%.3f rate=%.0f\n", total, failed, s,
	       (double)(total - failed) / s);
	free(body);
	return failed ? 1 : 0;
}
