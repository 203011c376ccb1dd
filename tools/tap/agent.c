/*
 * The DUT agent protocol (conformance/AGENT.md) on the synfin engine.
 *
 * Requests, replies and errno names are those of the Linux agent
 * (conformance/agent/), so the conformance suite drives both DUTs alike.
 * Socket ids are the engine's handles. The calls that wait (ACCEPT, RECV,
 * POLL) never block the event loop: the request is parked in a tap_pending
 * and answered by tap_agent_poll() once the stack is ready or the request's
 * timeout has passed, while frames and timers go on being processed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Largest RECV / SEND the protocol allows in one request (as the Linux agent). */
#define TAP_MAX_IO (1 << 20)
#define TAP_MAX_ARGS 8
#define TAP_MAX_WAIT_MS 600000L

struct req {
	int argc;
	char *argv[TAP_MAX_ARGS];
};

/* ---- Replies ---- */

static void reply_ok(tap_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply_ok(tap_agent *a, const char *fmt, ...)
{
	va_list ap;

	fputs("OK", a->out);
	if (fmt && fmt[0]) {
		fputc(' ', a->out);
		va_start(ap, fmt);
		vfprintf(a->out, fmt, ap);
		va_end(ap);
	}
	fputc('\n', a->out);
	fflush(a->out);
}

/* The Linux name of a negative or positive errno value: glibc's table,
 * exactly what the Linux agent prints; the engine's own names otherwise. */
static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);

	if (!name)
		name = sf_errno_name(err);
	return strcmp(name, "E?") ? name : "EIO";
}

/* err is a negative errno, as the engine returns it. */
static void reply_err(tap_agent *a, int err, const char *text)
{
	fprintf(a->out, "ERR %s%s%s\n", errno_name(err), text ? " " : "", text ? text : "");
	fflush(a->out);
}

/* ---- Arguments ---- */

static int parse_long(const char *s, long lo, long hi, long *out)
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

static bool known(const tap_agent *a, int sd)
{
	return sd >= 0 && sd < TAP_MAX_SOCKS && a->known[sd];
}

/*
 * Parse the socket id in argv[1]. Returns 0 and sets *sd, 1 when the
 * EBADF reply was already sent, or -EINVAL for a malformed request.
 */
static int sock_or_reply(tap_agent *a, const struct req *r, int *sd)
{
	long v;

	if (r->argc < 2 || parse_long(r->argv[1], 0, TAP_MAX_SOCKS - 1, &v) < 0)
		return -EINVAL;
	if (!known(a, (int)v)) {
		reply_err(a, -EBADF, "no such socket");
		return 1;
	}
	*sd = (int)v;
	return 0;
}

/* Parse "<ip> <port>" at argv[i], argv[i+1]. */
static int parse_endpoint(const struct req *r, int i, sf_endpoint *ep)
{
	long port;

	if (i + 1 >= r->argc || parse_long(r->argv[i + 1], 0, 65535, &port) < 0)
		return -EINVAL;
	memset(ep, 0, sizeof(*ep));
	if (sf_addr_parse(r->argv[i], &ep->addr) < 0)
		return -EINVAL;
	ep->port = (uint16_t)port;
	return 0;
}

static void format_addr(const sf_addr *addr, char *buf, size_t cap)
{
	if (addr->family != SF_AF_INET && addr->family != SF_AF_INET6)
		snprintf(buf, cap, "0.0.0.0"); /* unbound: INADDR_ANY, as sock_diag shows it */
	else
		sf_addr_format(addr, buf, cap);
}

/* ---- Verbs that answer at once ---- */

static int op_socket(tap_agent *a, const struct req *r)
{
	int family = SF_AF_INET, sd;

	if (r->argc > 2)
		return -EINVAL;
	if (r->argc == 2 && !strcmp(r->argv[1], "6"))
		family = SF_AF_INET6;
	else if (r->argc == 2 && strcmp(r->argv[1], "4"))
		return -EINVAL;
	sd = sf_socket(a->stack, family);
	if (sd < 0) {
		reply_err(a, sd, NULL);
		return 0;
	}
	if (sd >= TAP_MAX_SOCKS) {
		sf_abort(a->stack, sd);
		reply_err(a, -EMFILE, "too many sockets");
		return 0;
	}
	a->known[sd] = 1;
	reply_ok(a, "%d", sd);
	return 0;
}

/* Reply OK or the error of an engine call that returns 0 / -errno. */
static void reply_rc(tap_agent *a, int rc)
{
	if (rc < 0)
		reply_err(a, rc, NULL);
	else
		reply_ok(a, NULL);
}

static int op_bind(tap_agent *a, const struct req *r)
{
	sf_endpoint ep;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || parse_endpoint(r, 2, &ep) < 0)
		return -EINVAL;
	reply_rc(a, sf_bind(a->stack, sd, &ep));
	return 0;
}

static int op_listen(tap_agent *a, const struct req *r)
{
	long backlog;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3 || parse_long(r->argv[2], 0, 65535, &backlog) < 0)
		return -EINVAL;
	reply_rc(a, sf_listen(a->stack, sd, (int)backlog));
	return 0;
}

static int op_connect(tap_agent *a, const struct req *r)
{
	sf_endpoint ep;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || parse_endpoint(r, 2, &ep) < 0)
		return -EINVAL;
	rc = sf_connect(a->stack, sd, &ep);
	if (rc == 0)
		reply_ok(a, "CONNECTED");
	else if (rc == -EINPROGRESS)
		reply_ok(a, "INPROGRESS");
	else
		reply_err(a, rc, NULL);
	return 0;
}

static int unhex(const char *hex, unsigned char **out, size_t *len)
{
	size_t n = strlen(hex);
	unsigned char *buf;

	if (n % 2 || n / 2 > TAP_MAX_IO)
		return -EINVAL;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
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

static int op_send(tap_agent *a, const struct req *r)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	rc = unhex(r->argv[2], &buf, &len);
	if (rc < 0)
		return rc;
	n = sf_send(a->stack, sd, buf, len);
	if (n < 0)
		reply_err(a, (int)n, NULL);
	else
		reply_ok(a, "%zd", n);
	free(buf);
	return 0;
}

static int op_shutdown(tap_agent *a, const struct req *r)
{
	int sd, how, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	if (!strcmp(r->argv[2], "RD"))
		how = SF_SHUT_RD;
	else if (!strcmp(r->argv[2], "WR"))
		how = SF_SHUT_WR;
	else if (!strcmp(r->argv[2], "RDWR"))
		how = SF_SHUT_RDWR;
	else
		return -EINVAL;
	reply_rc(a, sf_shutdown(a->stack, sd, how));
	return 0;
}

static int op_close(tap_agent *a, const struct req *r)
{
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 2)
		return -EINVAL;
	a->known[sd] = 0;
	reply_rc(a, sf_close(a->stack, sd));
	return 0;
}

/* Options with integer values, by protocol name. SO_REUSEPORT and
 * TCP_QUICKACK are not in the engine: they answer ENOSYS (AGENT.md). */
static const struct {
	const char *name;
	sf_sockopt opt;
} opts[] = {
	{ "SO_REUSEADDR", SF_SO_REUSEADDR },   { "SO_KEEPALIVE", SF_SO_KEEPALIVE },
	{ "SO_SNDBUF", SF_SO_SNDBUF },         { "SO_RCVBUF", SF_SO_RCVBUF },
	{ "TCP_NODELAY", SF_TCP_NODELAY },     { "TCP_KEEPIDLE", SF_TCP_KEEPIDLE },
	{ "TCP_KEEPINTVL", SF_TCP_KEEPINTVL }, { "TCP_KEEPCNT", SF_TCP_KEEPCNT },
	{ "TCP_SYNCNT", SF_TCP_SYNCNT },       { "TCP_USER_TIMEOUT", SF_TCP_USER_TIMEOUT },
	{ "TCP_MAXSEG", SF_TCP_MAXSEG },
};

static int find_opt(const char *name, sf_sockopt *opt)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!strcmp(opts[i].name, name)) {
			*opt = opts[i].opt;
			return 0;
		}
	}
	return -ENOSYS;
}

/* SO_LINGER "<onoff>,<seconds>" maps to the engine's -1 (off) or seconds. */
static int set_linger(tap_agent *a, int sd, const char *val)
{
	int on, secs;
	char tail;

	if (sscanf(val, "%d,%d%c", &on, &secs, &tail) != 2 || secs < 0)
		return -EINVAL;
	reply_rc(a, sf_setsockopt(a->stack, sd, SF_SO_LINGER, on ? secs : -1));
	return 0;
}

static int op_setsockopt(tap_agent *a, const struct req *r)
{
	sf_sockopt opt;
	long v;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4)
		return -EINVAL;
	if (!strcmp(r->argv[2], "SO_LINGER"))
		return set_linger(a, sd, r->argv[3]);
	if (find_opt(r->argv[2], &opt) < 0) {
		reply_err(a, -ENOSYS, "unknown option");
		return 0;
	}
	if (parse_long(r->argv[3], -2147483647L, 2147483647L, &v) < 0)
		return -EINVAL;
	reply_rc(a, sf_setsockopt(a->stack, sd, opt, (int)v));
	return 0;
}

static int op_getsockopt(tap_agent *a, const struct req *r)
{
	sf_sockopt opt;
	int sd, v = 0, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3)
		return -EINVAL;
	if (!strcmp(r->argv[2], "SO_ERROR")) {
		rc = sf_getsockopt(a->stack, sd, SF_SO_ERROR, &v);
		if (rc < 0)
			reply_err(a, rc, NULL);
		else if (v == 0)
			reply_ok(a, "0");
		else
			reply_ok(a, "%s", errno_name(v));
		return 0;
	}
	if (!strcmp(r->argv[2], "SO_LINGER")) {
		rc = sf_getsockopt(a->stack, sd, SF_SO_LINGER, &v);
		if (rc < 0)
			reply_err(a, rc, NULL);
		else
			reply_ok(a, "%d,%d", v >= 0, v >= 0 ? v : 0);
		return 0;
	}
	if (find_opt(r->argv[2], &opt) < 0) {
		reply_err(a, -ENOSYS, "unknown option");
		return 0;
	}
	rc = sf_getsockopt(a->stack, sd, opt, &v);
	if (rc < 0)
		reply_err(a, rc, NULL);
	else
		reply_ok(a, "%d", v);
	return 0;
}

static int op_state(tap_agent *a, const struct req *r)
{
	sf_tcp_info ti;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 2)
		return -EINVAL;
	rc = sf_info(a->stack, sd, &ti);
	if (rc < 0)
		reply_err(a, rc, NULL);
	else
		reply_ok(a, "%s", sf_state_ss_name(ti.state));
	return 0;
}

/* ---- STATES ---- */

/* Collected while walking the stack, printed after the count. */
struct states_walk {
	tap_agent *a;
	uint64_t now;
	uint32_t *ids;   /* conn_id of each known handle, or 0 */
	char *lines;
	size_t used, cap;
	int n;
};

static int sock_of_conn(const struct states_walk *w, uint32_t conn_id)
{
	for (int sd = 0; sd < TAP_MAX_SOCKS; sd++)
		if (w->a->known[sd] && w->ids[sd] == conn_id)
			return sd;
	return -1;
}

static void states_visit(void *ctx, const sf_tcp_info *ti)
{
	struct states_walk *w = ctx;
	char lip[64], rip[64], sock[16], timer[24], line[256];
	sf_addr any = sf_addr_v4(0, 0, 0, 0);
	bool closed = ti->state == SF_CLOSED;
	int sd, len;

	/* Linux's sock_diag lists a CLOSED socket only while it holds a bound
	 * port, with no peer (tcp_disconnect() clears it). */
	if (closed && ti->local.port == 0)
		return;
	sd = ti->orphan ? -1 : sock_of_conn(w, ti->conn_id);
	format_addr(&ti->local.addr, lip, sizeof(lip));
	format_addr(closed ? &any : &ti->remote.addr, rip, sizeof(rip));
	if (sd >= 0)
		snprintf(sock, sizeof(sock), "%d", sd);
	else
		snprintf(sock, sizeof(sock), "-");
	/* A listener has no timer in sock_diag; everything else shows the time
	 * left on its next timer, rounded up to ms like jiffies_to_msecs(). */
	if (ti->next_timer != UINT64_MAX && ti->state != SF_LISTEN && !closed)
		snprintf(timer, sizeof(timer), "%llu",
			 (unsigned long long)((ti->next_timer > w->now ? ti->next_timer - w->now : 0) +
					      999) / 1000);
	else
		snprintf(timer, sizeof(timer), "-");
	len = snprintf(line, sizeof(line), "%s %s %u %s %u %s %s\n", sf_state_ss_name(ti->state),
		       lip, ti->local.port, rip, closed ? 0 : ti->remote.port, sock, timer);
	if (len < 0 || (size_t)len >= sizeof(line))
		return;
	if (w->used + (size_t)len + 1 > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		char *p;

		while (cap < w->used + (size_t)len + 1)
			cap *= 2;
		p = realloc(w->lines, cap);
		if (!p)
			return;
		w->lines = p;
		w->cap = cap;
	}
	memcpy(w->lines + w->used, line, (size_t)len + 1);
	w->used += (size_t)len;
	w->n++;
}

static int op_states(tap_agent *a, const struct req *r, uint64_t now)
{
	struct states_walk w = { .a = a, .now = now };
	sf_tcp_info ti;

	if (r->argc != 1)
		return -EINVAL;
	w.ids = calloc(TAP_MAX_SOCKS, sizeof(*w.ids));
	if (!w.ids) {
		reply_err(a, -ENOMEM, NULL);
		return 0;
	}
	for (int sd = 0; sd < TAP_MAX_SOCKS; sd++)
		if (a->known[sd] && sf_info(a->stack, sd, &ti) == 0)
			w.ids[sd] = ti.conn_id;
	sf_foreach_conn(a->stack, states_visit, &w);
	fprintf(a->out, "OK %d\n%s", w.n, w.lines ? w.lines : "");
	fflush(a->out);
	free(w.lines);
	free(w.ids);
	return 0;
}

/* ---- SYSCTL: stack-wide settings, by their Linux sysctl names ---- */

/* An extension of AGENT.md for DUTs without a kernel: the suite's
 * linux_sysctl() helper can set the same tunable on the engine. Values and
 * units are those of the sysctl. */
static const struct {
	const char *name;
	size_t offset;   /* into sf_config */
	int kind;        /* SC_U32, SC_U64 (times), SC_BOOL */
	uint64_t scale;  /* sysctl unit -> engine unit (us for times) */
} sysctls[] = {
#define SC_U32 0
#define SC_U64 1
#define SC_BOOL 2
	{ "net.ipv4.tcp_syn_retries", offsetof(sf_config, syn_retries), SC_U32, 1 },
	{ "net.ipv4.tcp_synack_retries", offsetof(sf_config, synack_retries), SC_U32, 1 },
	{ "net.ipv4.tcp_retries2", offsetof(sf_config, retries2), SC_U32, 1 },
	{ "net.ipv4.tcp_fin_timeout", offsetof(sf_config, fin_wait_2), SC_U64, 1000000 },
	{ "net.ipv4.tcp_keepalive_time", offsetof(sf_config, keepalive_idle), SC_U64, 1000000 },
	{ "net.ipv4.tcp_keepalive_intvl", offsetof(sf_config, keepalive_intvl), SC_U64, 1000000 },
	{ "net.ipv4.tcp_keepalive_probes", offsetof(sf_config, keepalive_probes), SC_U32, 1 },
	{ "net.ipv4.tcp_invalid_ratelimit", offsetof(sf_config, oow_ack_interval), SC_U64, 1000 },
	{ "net.ipv4.tcp_challenge_ack_limit", offsetof(sf_config, challenge_ack_limit), SC_U32, 1 },
	{ "net.ipv4.tcp_rfc1337", offsetof(sf_config, rfc1337), SC_BOOL, 1 },
	{ "net.core.somaxconn", offsetof(sf_config, max_backlog), SC_U32, 1 },
};

static int set_sysctl(sf_config *cfg, const char *name, const char *text)
{
	long v;

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		char *field = (char *)cfg + sysctls[i].offset;

		if (strcmp(sysctls[i].name, name))
			continue;
		if (parse_long(text, 0, 2147483647L, &v) < 0)
			return -EINVAL;
		if (sysctls[i].kind == SC_U32) {
			uint32_t u = (uint32_t)v;

			memcpy(field, &u, sizeof(u));
		} else if (sysctls[i].kind == SC_U64) {
			uint64_t u = (uint64_t)v * sysctls[i].scale;

			memcpy(field, &u, sizeof(u));
		} else {
			bool b = v != 0;

			memcpy(field, &b, sizeof(b));
		}
		return 0;
	}
	return -ENOSYS;
}

/* The current value of a setting, in its sysctl unit; -ENOSYS if unknown. */
static int get_sysctl(const sf_config *cfg, const char *name, long long *out)
{
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		const char *field = (const char *)cfg + sysctls[i].offset;

		if (strcmp(sysctls[i].name, name))
			continue;
		if (sysctls[i].kind == SC_U32) {
			uint32_t u;

			memcpy(&u, field, sizeof(u));
			*out = u;
		} else if (sysctls[i].kind == SC_U64) {
			uint64_t u;

			memcpy(&u, field, sizeof(u));
			*out = (long long)(u / sysctls[i].scale);
		} else {
			bool b;

			memcpy(&b, field, sizeof(b));
			*out = b;
		}
		return 0;
	}
	return -ENOSYS;
}

static bool holds_sockets(const tap_agent *a)
{
	for (int sd = 0; sd < TAP_MAX_SOCKS; sd++)
		if (a->known[sd])
			return true;
	return false;
}

/* Rebuild the stack with the changed settings once no socket is held. */
static void apply_config(tap_agent *a)
{
	if (!a->cfg_dirty || holds_sockets(a) || !a->rebuild)
		return;
	if (a->rebuild(a->rebuild_ctx, &a->cfg, &a->stack) == 0)
		a->cfg_dirty = false;
}

static int op_sysctl(tap_agent *a, const struct req *r)
{
	int rc;

	if (r->argc == 2) { /* SYSCTL <name>: read */
		long long v;

		if (get_sysctl(&a->cfg, r->argv[1], &v) < 0)
			reply_err(a, -ENOSYS, "unknown setting");
		else
			reply_ok(a, "%lld", v);
		return 0;
	}
	if (r->argc != 3)
		return -EINVAL;
	rc = set_sysctl(&a->cfg, r->argv[1], r->argv[2]);
	if (rc == -ENOSYS) {
		reply_err(a, rc, "unknown setting");
		return 0;
	}
	if (rc < 0)
		return rc;
	a->cfg_dirty = true;
	apply_config(a);
	reply_ok(a, a->cfg_dirty ? "DEFERRED" : NULL);
	return 0;
}

void tap_agent_info(const sf_config *c, char *buf, size_t cap)
{
	snprintf(buf, cap,
		 "stack=synfin syn_retries=%u synack_retries=%u retries2=%u fin_timeout=%llu "
		 "time_wait=%llu keepalive_time=%llu keepalive_intvl=%llu keepalive_probes=%u "
		 "invalid_ratelimit_ms=%llu challenge_ack_limit=%u rfc1337=%d rto_min_ms=%llu "
		 "rto_initial_ms=%llu rto_max_ms=%llu somaxconn=%u mss=%u",
		 c->syn_retries, c->synack_retries, c->retries2,
		 (unsigned long long)(c->fin_wait_2 / 1000000), (unsigned long long)(c->time_wait / 1000000),
		 (unsigned long long)(c->keepalive_idle / 1000000),
		 (unsigned long long)(c->keepalive_intvl / 1000000), c->keepalive_probes,
		 (unsigned long long)(c->oow_ack_interval / 1000), c->challenge_ack_limit, c->rfc1337,
		 (unsigned long long)(c->rto_min / 1000), (unsigned long long)(c->rto_initial / 1000),
		 (unsigned long long)(c->rto_max / 1000), c->max_backlog, c->mss);
}

static int op_reset(tap_agent *a, const struct req *r)
{
	(void)r;
	for (int sd = 0; sd < TAP_MAX_SOCKS; sd++) {
		if (!a->known[sd])
			continue;
		/* Linger 0 turns close() into an abort (RST where the state has
		 * one), exactly what the Linux agent does. */
		if (sf_setsockopt(a->stack, sd, SF_SO_LINGER, 0) < 0 || sf_close(a->stack, sd) < 0)
			sf_abort(a->stack, sd);
		a->known[sd] = 0;
	}
	apply_config(a);
	reply_ok(a, NULL);
	return 0;
}

/* ---- Verbs that wait ---- */

static const struct {
	const char *name;
	int bit;
} events[] = {
	{ "IN", SF_POLLIN }, { "OUT", SF_POLLOUT }, { "PRI", 0x002 }, { "RDHUP", SF_POLLRDHUP },
	{ "ERR", SF_POLLERR }, { "HUP", SF_POLLHUP }, { "NVAL", 0x020 },
};

static int parse_events(char *list, int *bits)
{
	char *save = NULL, *tok;

	*bits = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			if (!strcmp(tok, events[i].name))
				break;
		if (i == sizeof(events) / sizeof(events[0]))
			return -EINVAL;
		*bits |= events[i].bit;
	}
	return 0;
}

static void reply_events(tap_agent *a, int revents)
{
	bool first = true;

	fputs("OK ", a->out);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		if (!(revents & events[i].bit))
			continue;
		fprintf(a->out, "%s%s", first ? "" : ",", events[i].name);
		first = false;
	}
	if (first)
		fputc('-', a->out);
	fputc('\n', a->out);
	fflush(a->out);
}

/* poll(2) always reports ERR and HUP, whatever was asked for. */
static int ready_events(tap_agent *a, int sd, int want)
{
	int rev = sf_poll(a->stack, sd);

	if (rev < 0)
		return rev;
	return rev & (want | SF_POLLERR | SF_POLLHUP);
}

static void finish_accept(tap_agent *a, int sd)
{
	sf_endpoint peer;
	char ip[64];
	int nsd = sf_accept(a->stack, sd, &peer);

	if (nsd < 0) {
		reply_err(a, nsd, NULL);
		return;
	}
	if (nsd >= TAP_MAX_SOCKS) {
		sf_abort(a->stack, nsd);
		reply_err(a, -EMFILE, "too many sockets");
		return;
	}
	a->known[nsd] = 1;
	format_addr(&peer.addr, ip, sizeof(ip));
	reply_ok(a, "%d %s %u", nsd, ip, peer.port);
}

static void finish_recv(tap_agent *a, int sd, long max)
{
	unsigned char *buf = malloc((size_t)max);
	ssize_t n;

	if (!buf) {
		reply_err(a, -ENOMEM, NULL);
		return;
	}
	n = sf_recv(a->stack, sd, buf, (size_t)max);
	if (n < 0) {
		reply_err(a, (int)n, NULL);
	} else if (n == 0) {
		reply_ok(a, "EOF");
	} else {
		fputs("OK ", a->out);
		for (ssize_t i = 0; i < n; i++)
			fprintf(a->out, "%02x", buf[i]);
		fputc('\n', a->out);
		fflush(a->out);
	}
	free(buf);
}

/* Answer the parked request; `ready` holds its revents (0 on timeout). */
static void finish_pending(tap_agent *a, int ready)
{
	tap_pending p = a->pending;

	a->pending.active = false;
	if (!known(a, p.sd)) {
		reply_err(a, -EBADF, "no such socket");
		return;
	}
	if (ready < 0) {
		reply_err(a, ready, NULL);
		return;
	}
	switch (p.verb) {
	case TAP_WAIT_ACCEPT:
		finish_accept(a, p.sd);
		break;
	case TAP_WAIT_RECV:
		finish_recv(a, p.sd, p.max);
		break;
	default:
		reply_events(a, ready);
		break;
	}
}

void tap_agent_poll(tap_agent *a, uint64_t now_us)
{
	int ready;

	if (!a->pending.active)
		return;
	ready = ready_events(a, a->pending.sd, a->pending.events);
	if (ready != 0 || now_us >= a->pending.deadline_us)
		finish_pending(a, ready);
}

uint64_t tap_agent_next_timer(const tap_agent *a)
{
	return a->pending.active ? a->pending.deadline_us : UINT64_MAX;
}

/* Park a waiting request, then answer it at once if it is already done. */
static void wait_for(tap_agent *a, int verb, int sd, int ev, long max, long timeout_ms,
		     uint64_t now)
{
	a->pending = (tap_pending){ .active = true, .verb = verb, .sd = sd, .events = ev,
				    .max = max, .deadline_us = now + (uint64_t)timeout_ms * 1000u };
	tap_agent_poll(a, now);
}

static int op_accept(tap_agent *a, const struct req *r, uint64_t now)
{
	long timeout;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 3 || parse_long(r->argv[2], 0, TAP_MAX_WAIT_MS, &timeout) < 0)
		return -EINVAL;
	wait_for(a, TAP_WAIT_ACCEPT, sd, SF_POLLIN, 0, timeout, now);
	return 0;
}

static int op_recv(tap_agent *a, const struct req *r, uint64_t now)
{
	long max, timeout;
	int sd, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || parse_long(r->argv[2], 1, TAP_MAX_IO, &max) < 0 ||
	    parse_long(r->argv[3], 0, TAP_MAX_WAIT_MS, &timeout) < 0)
		return -EINVAL;
	wait_for(a, TAP_WAIT_RECV, sd, SF_POLLIN, max, timeout, now);
	return 0;
}

static int op_poll(tap_agent *a, const struct req *r, uint64_t now)
{
	long timeout;
	int sd, ev, rc = sock_or_reply(a, r, &sd);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (r->argc != 4 || parse_events(r->argv[2], &ev) < 0 ||
	    parse_long(r->argv[3], 0, TAP_MAX_WAIT_MS, &timeout) < 0)
		return -EINVAL;
	wait_for(a, TAP_WAIT_POLL, sd, ev, 0, timeout, now);
	return 0;
}

/* ---- Dispatch ---- */

static int split(char *line, struct req *r)
{
	char *save = NULL, *tok;

	r->argc = 0;
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (r->argc == TAP_MAX_ARGS)
			return -EINVAL;
		r->argv[r->argc++] = tok;
	}
	return r->argc ? 0 : -EINVAL;
}

static int dispatch(tap_agent *a, const struct req *r, uint64_t now)
{
	const char *v = r->argv[0];

	if (!strcmp(v, "SOCKET")) return op_socket(a, r);
	if (!strcmp(v, "BIND")) return op_bind(a, r);
	if (!strcmp(v, "LISTEN")) return op_listen(a, r);
	if (!strcmp(v, "ACCEPT")) return op_accept(a, r, now);
	if (!strcmp(v, "CONNECT")) return op_connect(a, r);
	if (!strcmp(v, "SEND")) return op_send(a, r);
	if (!strcmp(v, "RECV")) return op_recv(a, r, now);
	if (!strcmp(v, "SHUTDOWN")) return op_shutdown(a, r);
	if (!strcmp(v, "CLOSE")) return op_close(a, r);
	if (!strcmp(v, "SETSOCKOPT")) return op_setsockopt(a, r);
	if (!strcmp(v, "GETSOCKOPT")) return op_getsockopt(a, r);
	if (!strcmp(v, "POLL")) return op_poll(a, r, now);
	if (!strcmp(v, "STATE")) return op_state(a, r);
	if (!strcmp(v, "STATES")) return op_states(a, r, now);
	if (!strcmp(v, "RESET")) return op_reset(a, r);
	if (!strcmp(v, "SYSCTL")) return op_sysctl(a, r);
	reply_err(a, -ENOSYS, "unknown verb");
	return 0;
}

void tap_agent_request(tap_agent *a, char *line, uint64_t now_us)
{
	struct req r;

	if (split(line, &r) < 0) {
		reply_err(a, -EINVAL, "empty or too long request");
		return;
	}
	if (!strcmp(r.argv[0], "QUIT")) {
		reply_ok(a, NULL);
		a->quit = true;
		return;
	}
	if (!strcmp(r.argv[0], "INFO")) {
		char info[512];

		tap_agent_info(&a->cfg, info, sizeof(info));
		reply_ok(a, "%s", info);
		return;
	}
	if (dispatch(a, &r, now_us) < 0)
		reply_err(a, -EINVAL, "malformed request");
}
