/*
 * sfc-agent main loop: read one request line, dispatch it on its verb,
 * answer with one reply line. See conformance/AGENT.md for the protocol.
 */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Which file descriptors the agent created (its socket ids). */
static unsigned char sfc_socks[SFC_MAX_SOCKS];

void sfc_ok(const char *fmt, ...)
{
	va_list ap;

	fputs("OK", stdout);
	if (fmt && fmt[0]) {
		fputc(' ', stdout);
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

void sfc_err(int err, const char *text)
{
	const char *name = strerrorname_np(err);

	printf("ERR %s%s%s\n", name ? name : "EIO", text ? " " : "", text ? text : "");
	fflush(stdout);
}

int sfc_sock_known(int fd)
{
	return fd >= 0 && fd < SFC_MAX_SOCKS && sfc_socks[fd];
}

void sfc_sock_add(int fd)
{
	if (fd >= 0 && fd < SFC_MAX_SOCKS)
		sfc_socks[fd] = 1;
}

void sfc_sock_del(int fd)
{
	if (fd >= 0 && fd < SFC_MAX_SOCKS)
		sfc_socks[fd] = 0;
}

int sfc_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

const char *sfc_state_name(int st)
{
	/* Same spelling as ss(8)'s sstate_name[] table (seed item 15). */
	static const char *const names[] = {
		"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
		"FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK",
		"LISTEN", "CLOSING", "SYN-RECV", /* TCP_NEW_SYN_RECV: a request sock */
	};

	if (st < 0 || st >= (int)(sizeof(names) / sizeof(names[0])))
		return "UNKNOWN";
	return names[st];
}

/* RESET closes every socket the agent made; the table lives here. */
int sfc_op_reset(const struct sfc_req *r)
{
	int fd;

	(void)r;
	for (fd = 0; fd < SFC_MAX_SOCKS; fd++) {
		if (!sfc_socks[fd])
			continue;
		/* Linger 0 turns close() into an abort, so nothing of this test
		 * lingers in FIN-WAIT or TIME-WAIT to disturb the next one. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		sfc_socks[fd] = 0;
	}
	sfc_ok(NULL);
	return 0;
}

struct sfc_verb {
	const char *name;
	int (*fn)(const struct sfc_req *r);
};

static const struct sfc_verb sfc_verbs[] = {
	{ "SOCKET", sfc_op_socket },     { "BIND", sfc_op_bind },
	{ "LISTEN", sfc_op_listen },     { "ACCEPT", sfc_op_accept },
	{ "CONNECT", sfc_op_connect },   { "SEND", sfc_op_send },
	{ "RECV", sfc_op_recv },         { "SHUTDOWN", sfc_op_shutdown },
	{ "CLOSE", sfc_op_close },       { "SETSOCKOPT", sfc_op_setsockopt },
	{ "GETSOCKOPT", sfc_op_getsockopt }, { "POLL", sfc_op_poll },
	{ "STATE", sfc_op_state },       { "STATES", sfc_op_states },
	{ "RESET", sfc_op_reset },
};

/* Split a line in place into space-separated fields. */
static int sfc_split(char *line, struct sfc_req *r)
{
	char *save = NULL;
	char *tok;

	r->argc = 0;
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (r->argc == SFC_MAX_ARGS)
			return -EINVAL;
		r->argv[r->argc++] = tok;
	}
	return r->argc ? 0 : -EINVAL;
}

/* Answer one request line. Returns 1 when the agent should exit. */
static int sfc_dispatch(char *line)
{
	struct sfc_req r;
	size_t i;

	if (sfc_split(line, &r) < 0) {
		sfc_err(EINVAL, "empty or too long request");
		return 0;
	}
	if (!strcmp(r.argv[0], "QUIT")) {
		sfc_ok(NULL);
		return 1;
	}
	if (!strcmp(r.argv[0], "INFO")) {
		sfc_ok("stack=linux");
		return 0;
	}
	for (i = 0; i < sizeof(sfc_verbs) / sizeof(sfc_verbs[0]); i++) {
		if (strcmp(r.argv[0], sfc_verbs[i].name))
			continue;
		if (sfc_verbs[i].fn(&r) < 0)
			sfc_err(EINVAL, "malformed request");
		return 0;
	}
	sfc_err(ENOSYS, "unknown verb");
	return 0;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	int done = 0;

	/* A send on a reset connection must give EPIPE, not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	printf("HELLO synfin-agent 1 linux\n");
	fflush(stdout);
	while (!done && getline(&line, &cap, stdin) >= 0)
		done = sfc_dispatch(line);
	free(line);
	return 0;
}
