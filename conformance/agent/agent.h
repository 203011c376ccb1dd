/*
 * sfc-agent: the Linux DUT agent of the synfin conformance suite.
 *
 * It reads requests of the text protocol described in conformance/AGENT.md
 * on stdin and answers on stdout. This header is shared by the agent's
 * three source files; nothing here is a public library interface.
 */
#ifndef SFC_AGENT_H
#define SFC_AGENT_H

#include <stddef.h>
#include <stdio.h>

/* Highest socket id (file descriptor) the agent tracks. */
#define SFC_MAX_SOCKS 1024

/* Maximum number of space-separated fields in one request. */
#define SFC_MAX_ARGS 8

/*
 * One parsed request: argv[0] is the verb, the rest its arguments.
 * The strings point into the line buffer the request was read into.
 */
struct sfc_req {
	int argc;
	char *argv[SFC_MAX_ARGS];
};

/*
 * Reply helpers. Each prints exactly one line on stdout and flushes it.
 * sfc_err() takes a positive errno value and prints its Linux name.
 */
void sfc_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sfc_err(int err, const char *text);

/* True if fd was created by the agent and is still open. */
int sfc_sock_known(int fd);

/* Remember / forget that fd belongs to the agent. */
void sfc_sock_add(int fd);
void sfc_sock_del(int fd);

/*
 * Socket operations, one per protocol verb. Each validates its arguments,
 * performs the call and prints the reply. They return 0 when the request
 * was answered, or -EINVAL for a malformed request (the caller replies).
 */
int sfc_op_socket(const struct sfc_req *r);
int sfc_op_bind(const struct sfc_req *r);
int sfc_op_listen(const struct sfc_req *r);
int sfc_op_accept(const struct sfc_req *r);
int sfc_op_connect(const struct sfc_req *r);
int sfc_op_send(const struct sfc_req *r);
int sfc_op_recv(const struct sfc_req *r);
int sfc_op_shutdown(const struct sfc_req *r);
int sfc_op_close(const struct sfc_req *r);
int sfc_op_setsockopt(const struct sfc_req *r);
int sfc_op_getsockopt(const struct sfc_req *r);
int sfc_op_poll(const struct sfc_req *r);
int sfc_op_state(const struct sfc_req *r);
int sfc_op_reset(const struct sfc_req *r);

/*
 * STATES: list every TCP socket of the network namespace through
 * NETLINK_SOCK_DIAG, so that SYN-RECV requests and TIME-WAIT entries, which
 * have no file descriptor, are visible too.
 */
int sfc_op_states(const struct sfc_req *r);

/* The ss(8) name of a Linux TCP state number (TCP_ESTABLISHED, ...). */
const char *sfc_state_name(int linux_state);

/* Parse a decimal integer in [lo, hi]; returns 0 or -EINVAL. */
int sfc_parse_long(const char *s, long lo, long hi, long *out);

#endif /* SFC_AGENT_H */
