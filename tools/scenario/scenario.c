/*
 * The scenario model's helpers: memory (init, append, free, copy) and the
 * name tables every front and back end shares (calls, errno values, socket
 * options, states, flags).
 *
 * Nothing here calls the engine, so the parser, printer and JSON writer link
 * without it.
 */
#include "scenario.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Memory. ---- */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static uint8_t *dup_bytes(const uint8_t *src, size_t len)
{
	/* malloc(0) may return NULL; a zero-length buffer is kept as one byte so
	 * that "payload given, empty" stays distinct from "no payload". */
	uint8_t *d = malloc(len ? len : 1);

	if (d && len)
		memcpy(d, src, len);
	return d;
}

int sc_scenario_init(sc_scenario *scn, const char *file)
{
	memset(scn, 0, sizeof(*scn));
	if (file) {
		scn->file = dup_str(file);
		if (!scn->file)
			return -ENOMEM;
	}
	return 0;
}

static void event_free_buffers(sc_event *ev)
{
	if (ev->kind == SC_EV_INBOUND || ev->kind == SC_EV_OUTBOUND)
		free(ev->pkt.payload);
	else if (ev->kind == SC_EV_CALL)
		free(ev->call.data);
}

void sc_scenario_free(sc_scenario *scn)
{
	size_t i;

	if (!scn)
		return;
	for (i = 0; i < scn->count; i++)
		event_free_buffers(&scn->ev[i]);
	for (i = 0; i < scn->opt_count; i++) {
		free(scn->opts[i].name);
		free(scn->opts[i].value);
	}
	free(scn->ev);
	free(scn->opts);
	free(scn->file);
	memset(scn, 0, sizeof(*scn));
}

int sc_scenario_reserve(sc_scenario *scn, size_t n)
{
	sc_event *ev;

	if (n > SC_MAX_EVENTS)
		n = SC_MAX_EVENTS;
	if (n <= scn->cap)
		return 0;
	ev = realloc(scn->ev, n * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	scn->ev = ev;
	scn->cap = n;
	return 0;
}

static int grow_events(sc_scenario *scn)
{
	return sc_scenario_reserve(scn, scn->cap ? scn->cap * 2 : 16);
}

/* Deep-copy the buffers an event points to, so the scenario owns them. */
static int event_copy_buffers(sc_event *dst)
{
	if (dst->kind == SC_EV_INBOUND || dst->kind == SC_EV_OUTBOUND) {
		if (dst->pkt.payload) {
			dst->pkt.payload = dup_bytes(dst->pkt.payload, dst->pkt.len);
			if (!dst->pkt.payload)
				return -ENOMEM;
		}
	} else if (dst->kind == SC_EV_CALL) {
		if (dst->call.data) {
			dst->call.data = dup_bytes(dst->call.data, dst->call.len);
			if (!dst->call.data)
				return -ENOMEM;
		}
	}
	return 0;
}

sc_event *sc_scenario_append(sc_scenario *scn, const sc_event *ev)
{
	sc_event *dst;

	if (scn->count >= SC_MAX_EVENTS)
		return NULL;
	if (scn->count == scn->cap && grow_events(scn) < 0)
		return NULL;
	dst = &scn->ev[scn->count];
	*dst = *ev;
	if (event_copy_buffers(dst) < 0)
		return NULL;
	scn->count++;
	return dst;
}

int sc_scenario_set_option(sc_scenario *scn, const char *name, const char *value,
			   sc_pos pos)
{
	char *v = dup_str(value ? value : "");
	sc_option *opts;
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < scn->opt_count; i++) {
		if (strcmp(scn->opts[i].name, name) == 0) {
			free(scn->opts[i].value);
			scn->opts[i].value = v;
			scn->opts[i].pos = pos;
			return 0;
		}
	}
	opts = realloc(scn->opts, (scn->opt_count + 1) * sizeof(*opts));
	if (!opts) {
		free(v);
		return -ENOMEM;
	}
	scn->opts = opts;
	opts[scn->opt_count].name = dup_str(name);
	if (!opts[scn->opt_count].name) {
		free(v);
		return -ENOMEM;
	}
	opts[scn->opt_count].value = v;
	opts[scn->opt_count].pos = pos;
	scn->opt_count++;
	return 0;
}

const char *sc_scenario_option(const sc_scenario *scn, const char *name)
{
	size_t i;

	for (i = 0; i < scn->opt_count; i++)
		if (strcmp(scn->opts[i].name, name) == 0)
			return scn->opts[i].value;
	return NULL;
}

int sc_scenario_copy(sc_scenario *dst, const sc_scenario *src)
{
	size_t i;
	int err = sc_scenario_init(dst, src->file);

	if (err < 0)
		goto out;
	for (i = 0; i < src->opt_count; i++) {
		err = sc_scenario_set_option(dst, src->opts[i].name, src->opts[i].value,
					     src->opts[i].pos);
		if (err < 0)
			goto out;
	}
	for (i = 0; i < src->count; i++) {
		if (!sc_scenario_append(dst, &src->ev[i])) {
			err = -ENOMEM;
			goto out;
		}
	}
out:
	if (err < 0)
		sc_scenario_free(dst);
	return err;
}

/* ---- Names. ---- */

const char *sc_event_kind_name(sc_event_kind k)
{
	static const char *const names[SC_EV_COUNT] = {
		[SC_EV_INBOUND] = "inbound", [SC_EV_OUTBOUND] = "outbound",
		[SC_EV_CALL] = "call",       [SC_EV_WAIT] = "wait",
		[SC_EV_STATE] = "state",
	};

	return (unsigned)k < SC_EV_COUNT ? names[k] : "?";
}

static const char *const call_names[SC_CALL_COUNT] = {
	[SC_CALL_SOCKET] = "socket",         [SC_CALL_BIND] = "bind",
	[SC_CALL_LISTEN] = "listen",         [SC_CALL_ACCEPT] = "accept",
	[SC_CALL_CONNECT] = "connect",       [SC_CALL_WRITE] = "write",
	[SC_CALL_SEND] = "send",             [SC_CALL_READ] = "read",
	[SC_CALL_RECV] = "recv",             [SC_CALL_SHUTDOWN] = "shutdown",
	[SC_CALL_CLOSE] = "close",           [SC_CALL_ABORT] = "abort",
	[SC_CALL_SETSOCKOPT] = "setsockopt", [SC_CALL_GETSOCKOPT] = "getsockopt",
	[SC_CALL_FCNTL] = "fcntl",           [SC_CALL_POLL] = "poll",
};

const char *sc_call_name(sc_call_kind k)
{
	return (unsigned)k < SC_CALL_COUNT ? call_names[k] : "?";
}

int sc_call_from_name(const char *name)
{
	int k;

	for (k = 0; k < SC_CALL_COUNT; k++)
		if (strcmp(call_names[k], name) == 0)
			return k;
	return -1;
}

const char *sc_num_mode_name(sc_num_mode m)
{
	switch (m) {
	case SC_NUM_SCRIPT: return "script";
	case SC_NUM_ABS: return "abs";
	case SC_NUM_STATE: return "state";
	}
	return "?";
}

const char *sc_time_kind_name(sc_time_kind k)
{
	switch (k) {
	case SC_TIME_ABS: return "abs";
	case SC_TIME_REL: return "rel";
	case SC_TIME_ANY: return "any";
	}
	return "?";
}

/*
 * Letters first, then the ACK dot, so that packetdrill's grammar (a WORD of
 * flag letters followed by an optional '.') reads what we print: "S.",
 * "FP.", "SEW", "SE.". 'A' is the AE bit (RFC 9768), which lives in the
 * reserved bits and so is not part of the flags byte; see sc_packet.reserved.
 */
char *sc_flags_format(uint8_t flags, char *buf)
{
	static const struct { uint8_t bit; char c; } order[] = {
		{ SF_FIN, 'F' }, { SF_SYN, 'S' }, { SF_RST, 'R' }, { SF_PSH, 'P' },
		{ SF_URG, 'U' }, { SF_ECE, 'E' }, { SF_CWR, 'W' },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (flags & order[i].bit)
			buf[n++] = order[i].c;
	if (flags & SF_ACK)
		buf[n++] = '.';
	if (n == 0)
		buf[n++] = '-';
	buf[n] = '\0';
	return buf;
}

/* ---- errno (Linux values, so scripts mean the same on every host). ---- */

static const struct errno_entry {
	int value;
	const char *name;
	const char *text;
} errno_table[] = {
	{ 1, "EPERM", "Operation not permitted" },
	{ 2, "ENOENT", "No such file or directory" },
	{ 4, "EINTR", "Interrupted system call" },
	{ 5, "EIO", "Input/output error" },
	{ 9, "EBADF", "Bad file descriptor" },
	{ 11, "EAGAIN", "Resource temporarily unavailable" },
	{ 11, "EWOULDBLOCK", "Resource temporarily unavailable" },
	{ 12, "ENOMEM", "Cannot allocate memory" },
	{ 13, "EACCES", "Permission denied" },
	{ 14, "EFAULT", "Bad address" },
	{ 16, "EBUSY", "Device or resource busy" },
	{ 22, "EINVAL", "Invalid argument" },
	{ 24, "EMFILE", "Too many open files" },
	{ 28, "ENOSPC", "No space left on device" },
	{ 32, "EPIPE", "Broken pipe" },
	{ 88, "ENOTSOCK", "Socket operation on non-socket" },
	{ 90, "EMSGSIZE", "Message too long" },
	{ 92, "ENOPROTOOPT", "Protocol not available" },
	{ 93, "EPROTONOSUPPORT", "Protocol not supported" },
	{ 95, "EOPNOTSUPP", "Operation not supported" },
	{ 97, "EAFNOSUPPORT", "Address family not supported by protocol" },
	{ 98, "EADDRINUSE", "Address already in use" },
	{ 99, "EADDRNOTAVAIL", "Cannot assign requested address" },
	{ 100, "ENETDOWN", "Network is down" },
	{ 101, "ENETUNREACH", "Network is unreachable" },
	{ 103, "ECONNABORTED", "Software caused connection abort" },
	{ 104, "ECONNRESET", "Connection reset by peer" },
	{ 105, "ENOBUFS", "No buffer space available" },
	{ 106, "EISCONN", "Transport endpoint is already connected" },
	{ 107, "ENOTCONN", "Transport endpoint is not connected" },
	{ 108, "ESHUTDOWN", "Cannot send after transport endpoint shutdown" },
	{ 110, "ETIMEDOUT", "Connection timed out" },
	{ 111, "ECONNREFUSED", "Connection refused" },
	{ 113, "EHOSTUNREACH", "No route to host" },
	{ 114, "EALREADY", "Operation already in progress" },
	{ 115, "EINPROGRESS", "Operation now in progress" },
};

#define TABLE_LEN(t) (sizeof(t) / sizeof((t)[0]))

int sc_errno_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < TABLE_LEN(errno_table); i++)
		if (strcmp(errno_table[i].name, name) == 0)
			return errno_table[i].value;
	return 0;
}

const char *sc_errno_to_name(int err)
{
	size_t i;

	for (i = 0; i < TABLE_LEN(errno_table); i++)
		if (errno_table[i].value == err)
			return errno_table[i].name;
	return NULL;
}

const char *sc_errno_text(int err)
{
	size_t i;

	for (i = 0; i < TABLE_LEN(errno_table); i++)
		if (errno_table[i].value == err)
			return errno_table[i].text;
	return "";
}

/* ---- Socket options. ---- */

static const struct sockopt_entry {
	const char *name;
	int level;
	sf_sockopt opt;
} sockopt_table[] = {
	{ "SO_REUSEADDR", SC_SOL_SOCKET, SF_SO_REUSEADDR },
	{ "SO_KEEPALIVE", SC_SOL_SOCKET, SF_SO_KEEPALIVE },
	{ "SO_LINGER", SC_SOL_SOCKET, SF_SO_LINGER },
	{ "SO_SNDBUF", SC_SOL_SOCKET, SF_SO_SNDBUF },
	{ "SO_RCVBUF", SC_SOL_SOCKET, SF_SO_RCVBUF },
	{ "SO_ERROR", SC_SOL_SOCKET, SF_SO_ERROR },
	{ "TCP_NODELAY", SC_SOL_TCP, SF_TCP_NODELAY },
	{ "TCP_KEEPIDLE", SC_SOL_TCP, SF_TCP_KEEPIDLE },
	{ "TCP_KEEPINTVL", SC_SOL_TCP, SF_TCP_KEEPINTVL },
	{ "TCP_KEEPCNT", SC_SOL_TCP, SF_TCP_KEEPCNT },
	{ "TCP_USER_TIMEOUT", SC_SOL_TCP, SF_TCP_USER_TIMEOUT },
	{ "TCP_SYNCNT", SC_SOL_TCP, SF_TCP_SYNCNT },
	{ "TCP_MAXSEG", SC_SOL_TCP, SF_TCP_MAXSEG },
};

int sc_sockopt_from_name(const char *name, int *level, sf_sockopt *opt)
{
	size_t i;

	for (i = 0; i < TABLE_LEN(sockopt_table); i++) {
		if (strcmp(sockopt_table[i].name, name) == 0) {
			*level = sockopt_table[i].level;
			*opt = sockopt_table[i].opt;
			return 0;
		}
	}
	return -1;
}

const char *sc_sockopt_name(sf_sockopt opt)
{
	size_t i;

	for (i = 0; i < TABLE_LEN(sockopt_table); i++)
		if (sockopt_table[i].opt == opt)
			return sockopt_table[i].name;
	return "?";
}

const char *sc_level_name(int level)
{
	if (level == SC_SOL_SOCKET)
		return "SOL_SOCKET";
	if (level == SC_SOL_TCP)
		return "SOL_TCP";
	return "?";
}

/* ---- States. ---- */

static const struct state_entry {
	const char *name;
	sf_state state;
} state_table[] = {
	/* RFC 9293 names */
	{ "CLOSED", SF_CLOSED },           { "LISTEN", SF_LISTEN },
	{ "SYN-SENT", SF_SYN_SENT },       { "SYN-RECEIVED", SF_SYN_RECEIVED },
	{ "ESTABLISHED", SF_ESTABLISHED }, { "FIN-WAIT-1", SF_FIN_WAIT_1 },
	{ "FIN-WAIT-2", SF_FIN_WAIT_2 },   { "CLOSE-WAIT", SF_CLOSE_WAIT },
	{ "CLOSING", SF_CLOSING },         { "LAST-ACK", SF_LAST_ACK },
	{ "TIME-WAIT", SF_TIME_WAIT },
	/* ss / netstat names that differ */
	{ "UNCONN", SF_CLOSED },           { "SYN-RECV", SF_SYN_RECEIVED },
	{ "ESTAB", SF_ESTABLISHED },       { "CLOSE", SF_CLOSED },
	/* netstat's (after '_' -> '-'): SYN_RECV, FIN_WAIT1, FIN_WAIT2 */
	{ "FIN-WAIT1", SF_FIN_WAIT_1 },    { "FIN-WAIT2", SF_FIN_WAIT_2 },
	/* Linux's TCP_* constants (packetdrill's tcpi_state) */
	{ "TCP_CLOSE", SF_CLOSED },        { "TCP_LISTEN", SF_LISTEN },
	{ "TCP_SYN_SENT", SF_SYN_SENT },   { "TCP_SYN_RECV", SF_SYN_RECEIVED },
	{ "TCP_ESTABLISHED", SF_ESTABLISHED }, { "TCP_FIN_WAIT1", SF_FIN_WAIT_1 },
	{ "TCP_FIN_WAIT2", SF_FIN_WAIT_2 }, { "TCP_CLOSE_WAIT", SF_CLOSE_WAIT },
	{ "TCP_CLOSING", SF_CLOSING },     { "TCP_LAST_ACK", SF_LAST_ACK },
	{ "TCP_TIME_WAIT", SF_TIME_WAIT },
};

int sc_state_from_name(const char *name, sf_state *out)
{
	char norm[32];
	size_t i, n = strlen(name);

	if (n >= sizeof(norm))
		return -1;
	/* "TIME_WAIT" and "time-wait" mean "TIME-WAIT"; TCP_* keep underscores. */
	for (i = 0; i <= n; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		norm[i] = c;
	}
	for (i = 0; i < TABLE_LEN(state_table); i++) {
		if (strcmp(state_table[i].name, norm) == 0) {
			*out = state_table[i].state;
			return 0;
		}
	}
	if (strncmp(norm, "TCP_", 4) != 0) {
		for (i = 0; i < n; i++)
			if (norm[i] == '_')
				norm[i] = '-';
		for (i = 0; i < TABLE_LEN(state_table); i++) {
			if (strcmp(state_table[i].name, norm) == 0) {
				*out = state_table[i].state;
				return 0;
			}
		}
	}
	return -1;
}

/* ---- Connections. ---- */

uint8_t sc_conn_of_ports(const sc_packet *pkt, bool inbound)
{
	uint16_t remote = inbound ? pkt->sport : pkt->dport;

	if (remote >= SC_REMOTE_PORT && remote - SC_REMOTE_PORT <= UINT8_MAX)
		return (uint8_t)(remote - SC_REMOTE_PORT);
	return 0;
}

int sc_write_text(char *text, FILE *out)
{
	int rc = 0;

	if (!text)
		return -ENOMEM;
	if (fputs(text, out) == EOF)
		rc = -EIO;
	free(text);
	return rc;
}
