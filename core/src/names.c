/*
 * Names for traces: states the RFC way and the `ss` way (DESIGN seed 15),
 * causes, and Linux errno names. Read-only tables only.
 */
#include <errno.h>

#include "tcp_internal.h"

static const char rfc_names[SF_STATE_COUNT][16] = {
	[SF_CLOSED] = "CLOSED",           [SF_LISTEN] = "LISTEN",
	[SF_SYN_SENT] = "SYN-SENT",       [SF_SYN_RECEIVED] = "SYN-RECEIVED",
	[SF_ESTABLISHED] = "ESTABLISHED", [SF_FIN_WAIT_1] = "FIN-WAIT-1",
	[SF_FIN_WAIT_2] = "FIN-WAIT-2",   [SF_CLOSE_WAIT] = "CLOSE-WAIT",
	[SF_CLOSING] = "CLOSING",         [SF_LAST_ACK] = "LAST-ACK",
	[SF_TIME_WAIT] = "TIME-WAIT",
};

/* What iproute2's `ss` prints (misc/ss.c sstate_name[]). */
static const char ss_names[SF_STATE_COUNT][16] = {
	[SF_CLOSED] = "UNCONN",         [SF_LISTEN] = "LISTEN",
	[SF_SYN_SENT] = "SYN-SENT",     [SF_SYN_RECEIVED] = "SYN-RECV",
	[SF_ESTABLISHED] = "ESTAB",     [SF_FIN_WAIT_1] = "FIN-WAIT-1",
	[SF_FIN_WAIT_2] = "FIN-WAIT-2", [SF_CLOSE_WAIT] = "CLOSE-WAIT",
	[SF_CLOSING] = "CLOSING",       [SF_LAST_ACK] = "LAST-ACK",
	[SF_TIME_WAIT] = "TIME-WAIT",
};

/* What net-tools' `netstat` prints (netstat.c tcp_state[]). */
static const char netstat_names[SF_STATE_COUNT][16] = {
	[SF_CLOSED] = "CLOSE",           [SF_LISTEN] = "LISTEN",
	[SF_SYN_SENT] = "SYN_SENT",      [SF_SYN_RECEIVED] = "SYN_RECV",
	[SF_ESTABLISHED] = "ESTABLISHED", [SF_FIN_WAIT_1] = "FIN_WAIT1",
	[SF_FIN_WAIT_2] = "FIN_WAIT2",   [SF_CLOSE_WAIT] = "CLOSE_WAIT",
	[SF_CLOSING] = "CLOSING",        [SF_LAST_ACK] = "LAST_ACK",
	[SF_TIME_WAIT] = "TIME_WAIT",
};

static const char cause_names[SF_CAUSE_COUNT][24] = {
	[SF_CAUSE_NONE] = "none",
	[SF_CAUSE_OPEN_PASSIVE] = "open-passive",
	[SF_CAUSE_OPEN_ACTIVE] = "open-active",
	[SF_CAUSE_CLOSE] = "close",
	[SF_CAUSE_ABORT] = "abort",
	[SF_CAUSE_RCV_SYN] = "rcv-syn",
	[SF_CAUSE_RCV_SYN_ACK] = "rcv-syn-ack",
	[SF_CAUSE_RCV_ACK] = "rcv-ack",
	[SF_CAUSE_RCV_FIN] = "rcv-fin",
	[SF_CAUSE_RCV_RST] = "rcv-rst",
	[SF_CAUSE_RCV_DATA] = "rcv-data",
	[SF_CAUSE_TIMEOUT_RETRANS] = "timeout-retrans",
	[SF_CAUSE_TIMEOUT_USER] = "timeout-user",
	[SF_CAUSE_TIMEOUT_TIME_WAIT] = "timeout-time-wait",
	[SF_CAUSE_TIMEOUT_FIN_WAIT_2] = "timeout-fin-wait-2",
	[SF_CAUSE_TIMEOUT_KEEPALIVE] = "timeout-keepalive",
};

SF_API const char *sf_state_name(sf_state s)
{
	return (unsigned)s < SF_STATE_COUNT ? rfc_names[s] : "?";
}

SF_API const char *sf_state_ss_name(sf_state s)
{
	return (unsigned)s < SF_STATE_COUNT ? ss_names[s] : "?";
}

SF_API const char *sf_state_netstat_name(sf_state s)
{
	return (unsigned)s < SF_STATE_COUNT ? netstat_names[s] : "?";
}

SF_API const char *sf_cause_name(sf_cause c)
{
	return (unsigned)c < SF_CAUSE_COUNT ? cause_names[c] : "?";
}

/* Names are stored inline (not as pointers) so the table is truly read-only. */
typedef struct errno_name {
	int err;
	char name[16];
} errno_name;

static const errno_name errno_names[] = {
	{ EPERM, "EPERM" },           { ENOENT, "ENOENT" },
	{ EINTR, "EINTR" },           { EIO, "EIO" },
	{ EBADF, "EBADF" },           { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },         { EACCES, "EACCES" },
	{ EFAULT, "EFAULT" },         { EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },         { EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" },         { EMFILE, "EMFILE" },
	{ ENOSPC, "ENOSPC" },         { EPIPE, "EPIPE" },
	{ ERANGE, "ERANGE" },         { ENOTSOCK, "ENOTSOCK" },
	{ EDESTADDRREQ, "EDESTADDRREQ" }, { EMSGSIZE, "EMSGSIZE" },
	{ EPROTOTYPE, "EPROTOTYPE" }, { ENOPROTOOPT, "ENOPROTOOPT" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ EAFNOSUPPORT, "EAFNOSUPPORT" }, { EADDRINUSE, "EADDRINUSE" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { ENETDOWN, "ENETDOWN" },
	{ ENETUNREACH, "ENETUNREACH" }, { ENETRESET, "ENETRESET" },
	{ ECONNABORTED, "ECONNABORTED" }, { ECONNRESET, "ECONNRESET" },
	{ ENOBUFS, "ENOBUFS" },       { EISCONN, "EISCONN" },
	{ ENOTCONN, "ENOTCONN" },     { ESHUTDOWN, "ESHUTDOWN" },
	{ ETIMEDOUT, "ETIMEDOUT" },   { ECONNREFUSED, "ECONNREFUSED" },
	{ EHOSTDOWN, "EHOSTDOWN" },   { EHOSTUNREACH, "EHOSTUNREACH" },
	{ EALREADY, "EALREADY" },     { EINPROGRESS, "EINPROGRESS" },
};

SF_API const char *sf_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return "E?";
}
