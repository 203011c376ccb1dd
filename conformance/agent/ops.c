/*
 * Socket operations of the Linux agent, one function per protocol verb
 * (conformance/AGENT.md). Every socket is non-blocking; calls that wait do
 * so with poll() and the timeout the request gave, so the agent never hangs.
 */
#define _GNU_SOURCE
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest RECV / SEND the protocol allows in one request. */
#define SFC_MAX_IO (1 << 20)

/* Parse a socket id that the agent created. */
static int sfc_arg_sock(const struct sfc_req *r, int i, int *fd)
{
	long v;

	if (i >= r->argc || sfc_parse_long(r->argv[i], 0, SFC_MAX_SOCKS - 1, &v) < 0)
		return -EINVAL;
	if (!sfc_sock_known((int)v))
		return -EBADF;
	*fd = (int)v;
	return 0;
}

/* Parse "<ip> <port>" at argv[i], argv[i+1] into an IPv4 address. */
static int sfc_arg_addr(const struct sfc_req *r, int i, struct sockaddr_in *sa)
{
	long port;

	if (i + 1 >= r->argc || sfc_parse_long(r->argv[i + 1], 0, 65535, &port) < 0)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, r->argv[i], &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/*
 * Common prologue: parse the socket id and answer EBADF for an unknown one.
 * Returns 0 and sets *fd, 1 when the reply was already sent, or -EINVAL.
 */
static int sfc_sock_or_reply(const struct sfc_req *r, int *fd)
{
	int rc = sfc_arg_sock(r, 1, fd);

	if (rc == -EBADF) {
		sfc_err(EBADF, "no such socket");
		return 1;
	}
	return rc;
}

/* Wait up to timeout_ms for events on fd; returns revents or -errno. */
static int sfc_wait(int fd, short events, long timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, (int)timeout_ms);

	if (n < 0)
		return -errno;
	return n ? p.revents : 0;
}

int sfc_op_socket(const struct sfc_req *r)
{
	int family = AF_INET;
	int fd;

	if (r->argc > 2)
		return -EINVAL;
	if (r->argc == 2 && !strcmp(r->argv[1], "6"))
		family = AF_INET6;
	else if (r->argc == 2 && strcmp(r->argv[1], "4"))
		return -EINVAL;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd < 0) {
		sfc_err(errno, NULL);
		return 0;
	}
	if (fd >= SFC_MAX_SOCKS) {
		close(fd);
		sfc_err(EMFILE, "too many sockets");
		return 0;
	}
	sfc_sock_add(fd);
	sfc_ok("%d", fd);
	return 0;
}

int sfc_op_bind(const struct sfc_req *r)
{
	struct sockaddr_in sa;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || sfc_arg_addr(r, 2, &sa) < 0)
		return -EINVAL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

int sfc_op_listen(const struct sfc_req *r)
{
	long backlog;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3 || sfc_parse_long(r->argv[2], 0, 65535, &backlog) < 0)
		return -EINVAL;
	if (listen(fd, (int)backlog) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

int sfc_op_accept(const struct sfc_req *r)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	char ip[INET_ADDRSTRLEN];
	long timeout;
	int fd, nfd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3 || sfc_parse_long(r->argv[2], 0, 600000, &timeout) < 0)
		return -EINVAL;
	rc = sfc_wait(fd, POLLIN, timeout);
	if (rc < 0) {
		sfc_err(-rc, NULL);
		return 0;
	}
	nfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK);
	if (nfd < 0) {
		sfc_err(errno, NULL);
		return 0;
	}
	if (nfd >= SFC_MAX_SOCKS) {
		close(nfd);
		sfc_err(EMFILE, "too many sockets");
		return 0;
	}
	sfc_sock_add(nfd);
	inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
	sfc_ok("%d %s %u", nfd, ip, ntohs(peer.sin_port));
	return 0;
}

int sfc_op_connect(const struct sfc_req *r)
{
	struct sockaddr_in sa;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || sfc_arg_addr(r, 2, &sa) < 0)
		return -EINVAL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		sfc_ok("CONNECTED");
	else if (errno == EINPROGRESS)
		sfc_ok("INPROGRESS");
	else
		sfc_err(errno, NULL);
	return 0;
}

/* Decode lower-case or upper-case hex into a new buffer. */
static int sfc_unhex(const char *hex, unsigned char **out, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned char *buf;

	if (n % 2 || n / 2 > SFC_MAX_IO)
		return -EINVAL;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
			free(buf);
			return -EINVAL;
		}
		buf[i] = (unsigned char)b;
	}
	*out = buf;
	*len = n / 2;
	return 0;
}

int sfc_op_send(const struct sfc_req *r)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	rc = sfc_unhex(r->argv[2], &buf, &len);
	if (rc < 0)
		return rc;
	n = send(fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok("%zd", n);
	free(buf);
	return 0;
}

/* Print OK followed by the bytes as hex. */
static void sfc_ok_hex(const unsigned char *buf, size_t n)
{
	size_t i;

	fputs("OK ", stdout);
	for (i = 0; i < n; i++)
		printf("%02x", buf[i]);
	fputc('\n', stdout);
	fflush(stdout);
}

int sfc_op_recv(const struct sfc_req *r)
{
	unsigned char *buf;
	long max, timeout;
	ssize_t n;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || sfc_parse_long(r->argv[2], 1, SFC_MAX_IO, &max) < 0 ||
	    sfc_parse_long(r->argv[3], 0, 600000, &timeout) < 0)
		return -EINVAL;
	rc = sfc_wait(fd, POLLIN, timeout);
	if (rc < 0) {
		sfc_err(-rc, NULL);
		return 0;
	}
	buf = malloc((size_t)max);
	if (!buf) {
		sfc_err(ENOMEM, NULL);
		return 0;
	}
	n = recv(fd, buf, (size_t)max, 0);
	if (n < 0)
		sfc_err(errno, NULL);
	else if (n == 0)
		sfc_ok("EOF");
	else
		sfc_ok_hex(buf, (size_t)n);
	free(buf);
	return 0;
}

int sfc_op_shutdown(const struct sfc_req *r)
{
	int fd, rc, how;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	if (!strcmp(r->argv[2], "RD"))
		how = SHUT_RD;
	else if (!strcmp(r->argv[2], "WR"))
		how = SHUT_WR;
	else if (!strcmp(r->argv[2], "RDWR"))
		how = SHUT_RDWR;
	else
		return -EINVAL;
	if (shutdown(fd, how) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

int sfc_op_close(const struct sfc_req *r)
{
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 2)
		return -EINVAL;
	sfc_sock_del(fd);
	if (close(fd) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

/* An integer socket option the protocol knows by name. */
struct sfc_opt {
	const char *name;
	int level;
	int opt;
};

static const struct sfc_opt sfc_opts[] = {
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY },
	{ "TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE },
	{ "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL },
	{ "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT },
	{ "TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT },
	{ "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG },
};

static const struct sfc_opt *sfc_find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sfc_opts) / sizeof(sfc_opts[0]); i++)
		if (!strcmp(sfc_opts[i].name, name))
			return &sfc_opts[i];
	return NULL;
}

/* SO_LINGER takes "<onoff>,<seconds>". */
static int sfc_set_linger(int fd, const char *val)
{
	struct linger lg;
	int on, secs;

	if (sscanf(val, "%d,%d", &on, &secs) != 2 || secs < 0)
		return -EINVAL;
	lg.l_onoff = on;
	lg.l_linger = secs;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

int sfc_op_setsockopt(const struct sfc_req *r)
{
	const struct sfc_opt *o;
	long v;
	int fd, rc, iv;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4)
		return -EINVAL;
	if (!strcmp(r->argv[2], "SO_LINGER"))
		return sfc_set_linger(fd, r->argv[3]);
	o = sfc_find_opt(r->argv[2]);
	if (!o) {
		sfc_err(ENOSYS, "unknown option");
		return 0;
	}
	if (sfc_parse_long(r->argv[3], -2147483647L, 2147483647L, &v) < 0)
		return -EINVAL;
	iv = (int)v;
	if (setsockopt(fd, o->level, o->opt, &iv, sizeof(iv)) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok(NULL);
	return 0;
}

/* GETSOCKOPT of SO_ERROR and SO_LINGER, which are not plain integers. */
static int sfc_get_special(int fd, const char *name)
{
	socklen_t len;

	if (!strcmp(name, "SO_ERROR")) {
		int e = 0;

		len = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			sfc_err(errno, NULL);
		else if (e == 0)
			sfc_ok("0");
		else
			sfc_ok("%s", strerrorname_np(e) ? strerrorname_np(e) : "EIO");
		return 1;
	}
	if (!strcmp(name, "SO_LINGER")) {
		struct linger lg;

		len = sizeof(lg);
		if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) < 0)
			sfc_err(errno, NULL);
		else
			sfc_ok("%d,%d", lg.l_onoff, lg.l_linger);
		return 1;
	}
	return 0;
}

int sfc_op_getsockopt(const struct sfc_req *r)
{
	const struct sfc_opt *o;
	socklen_t len;
	int fd, rc, iv = 0;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	if (sfc_get_special(fd, r->argv[2]))
		return 0;
	o = sfc_find_opt(r->argv[2]);
	if (!o) {
		sfc_err(ENOSYS, "unknown option");
		return 0;
	}
	len = sizeof(iv);
	if (getsockopt(fd, o->level, o->opt, &iv, &len) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok("%d", iv);
	return 0;
}

/* Names of poll events, in the order they are printed. */
static const struct {
	const char *name;
	short bit;
} sfc_events[] = {
	{ "IN", POLLIN }, { "OUT", POLLOUT }, { "PRI", POLLPRI }, { "RDHUP", POLLRDHUP },
	{ "ERR", POLLERR }, { "HUP", POLLHUP }, { "NVAL", POLLNVAL },
};

/* Parse a comma list of event names into poll bits. */
static int sfc_parse_events(char *list, short *events)
{
	char *save = NULL, *tok;
	size_t i;

	*events = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(sfc_events) / sizeof(sfc_events[0]); i++)
			if (!strcmp(tok, sfc_events[i].name))
				break;
		if (i == sizeof(sfc_events) / sizeof(sfc_events[0]))
			return -EINVAL;
		*events |= sfc_events[i].bit;
	}
	return 0;
}

/* Print OK followed by the comma list of revents, or "-". */
static void sfc_ok_events(short revents)
{
	size_t i;
	int first = 1;

	fputs("OK ", stdout);
	for (i = 0; i < sizeof(sfc_events) / sizeof(sfc_events[0]); i++) {
		if (!(revents & sfc_events[i].bit))
			continue;
		printf("%s%s", first ? "" : ",", sfc_events[i].name);
		first = 0;
	}
	if (first)
		fputc('-', stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

int sfc_op_poll(const struct sfc_req *r)
{
	long timeout;
	short events;
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || sfc_parse_events(r->argv[2], &events) < 0 ||
	    sfc_parse_long(r->argv[3], 0, 600000, &timeout) < 0)
		return -EINVAL;
	rc = sfc_wait(fd, events, timeout);
	if (rc < 0)
		sfc_err(-rc, NULL);
	else
		sfc_ok_events((short)rc);
	return 0;
}

int sfc_op_state(const struct sfc_req *r)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fd, rc;

	rc = sfc_sock_or_reply(r, &fd);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 2)
		return -EINVAL;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		sfc_err(errno, NULL);
	else
		sfc_ok("%s", sfc_state_name(ti.tcpi_state));
	return 0;
}
