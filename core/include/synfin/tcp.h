/*
 * synfin TCP engine: a deterministic userspace TCP stack with a socket-like API.
 *
 * The engine has no I/O, reads no clock, uses no global state and no rand():
 * time comes in through sf_tick(), randomness through the ISN source, and every
 * segment it sends leaves through env.output. The same sequence of calls and
 * inputs gives the same outputs, byte for byte. Any number of independent
 * stacks can live in one process.
 *
 * Time is in microseconds on the caller's clock. sf_tick(stack, now) moves the
 * stack's clock forward and fires every timer that is due; every other call
 * acts at the stack's current time. sf_next_timer() says when to call sf_tick()
 * next.
 *
 * Results are 0 or a positive count on success and a negative Linux errno value
 * on failure (-ECONNREFUSED, -EAGAIN, ...); sf_errno_name() prints them.
 */
#ifndef SYNFIN_TCP_H
#define SYNFIN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "synfin/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sequence numbers (RFC 9293 §3.4): compare only through these. ---- */

static inline bool sf_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool sf_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool sf_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool sf_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
/* lo <= x < hi, wrap-safe. */
static inline bool sf_seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
	return sf_seq_le(lo, x) && sf_seq_lt(x, hi);
}

/* ---- States (RFC 9293 §3.3.2). ---- */

typedef enum sf_state {
	SF_CLOSED = 0,
	SF_LISTEN,
	SF_SYN_SENT,
	SF_SYN_RECEIVED,
	SF_ESTABLISHED,
	SF_FIN_WAIT_1,
	SF_FIN_WAIT_2,
	SF_CLOSE_WAIT,
	SF_CLOSING,
	SF_LAST_ACK,
	SF_TIME_WAIT,
	SF_STATE_COUNT
} sf_state;

/* The RFC's name: "SYN-RECEIVED", "FIN-WAIT-1", ... */
const char *sf_state_name(sf_state s);
/* The name `ss` prints for the same Linux state: "SYN-RECV", "ESTAB", "UNCONN", ... */
const char *sf_state_ss_name(sf_state s);
/* The name `netstat` prints: "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSE", ... */
const char *sf_state_netstat_name(sf_state s);

/*
 * What caused a state change: the events of RFC 9293 §3.10 (user calls,
 * segment arrivals, timeouts). Reported with every transition and used to
 * check the transition against the state diagram.
 */
typedef enum sf_cause {
	SF_CAUSE_NONE = 0,
	/* user calls (§3.10.1 - §3.10.6) */
	SF_CAUSE_OPEN_PASSIVE,   /* listen() */
	SF_CAUSE_OPEN_ACTIVE,    /* connect() */
	SF_CAUSE_CLOSE,          /* close() or shutdown(SHUT_WR) */
	SF_CAUSE_ABORT,          /* abort(), or close() with linger zero / unread data */
	/* segment arrivals (§3.10.7) */
	SF_CAUSE_RCV_SYN,
	SF_CAUSE_RCV_SYN_ACK,
	SF_CAUSE_RCV_ACK,        /* an ACK that acknowledges our SYN or FIN */
	SF_CAUSE_RCV_FIN,
	SF_CAUSE_RCV_RST,
	SF_CAUSE_RCV_DATA,       /* data with a valid ACK completing a handshake */
	/* timeouts (§3.10.8) */
	SF_CAUSE_TIMEOUT_RETRANS,   /* retransmission give-up (R2) */
	SF_CAUSE_TIMEOUT_USER,      /* TCP_USER_TIMEOUT */
	SF_CAUSE_TIMEOUT_TIME_WAIT, /* 2*MSL */
	SF_CAUSE_TIMEOUT_FIN_WAIT_2,
	SF_CAUSE_TIMEOUT_KEEPALIVE,
	SF_CAUSE_COUNT
} sf_cause;

const char *sf_cause_name(sf_cause c);

/*
 * Is from -> to, for this cause, an edge of the RFC 9293 state diagram
 * (Figure 5 plus the §3.10 text, e.g. SYN-RECEIVED -> LISTEN on RST)?
 */
bool sf_transition_legal(sf_state from, sf_state to, sf_cause cause);

/* ---- Addresses and the environment. ---- */

typedef struct sf_endpoint {
	sf_addr addr;
	uint16_t port;
} sf_endpoint;

/*
 * The source of initial sequence numbers (RFC9293:MUST-8, MUST-9, SHLD-1).
 * The real one is sf_isn_rfc6528 below; fuzz targets and tests plug in a
 * deterministic one.
 */
typedef struct sf_isn_source {
	uint32_t (*next)(void *self, const sf_endpoint *local,
			 const sf_endpoint *remote, uint64_t now_us);
	void *self;
} sf_isn_source;

/*
 * RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key), with M
 * a clock that ticks every 4 us and F SipHash-2-4 keyed with `key`. The caller
 * chooses the key (from a real random source, outside core/).
 */
typedef struct sf_isn_rfc6528 {
	uint8_t key[16];
} sf_isn_rfc6528;
uint32_t sf_isn_rfc6528_next(void *self, const sf_endpoint *local,
			     const sf_endpoint *remote, uint64_t now_us);

/*
 * What the stack needs from its host. Callbacks may be called from within any
 * sf_* call of that stack, and must not call back into the same stack.
 */
typedef struct sf_env {
	void *ctx;
	/* Every segment the stack sends. seg (and its payload) is valid only during
	 * the call; sf_wire_emit() turns it into bytes. Required. */
	void (*output)(void *ctx, const sf_segment *seg);
	/* Every state change of every connection, with its cause. conn_id is
	 * unique per connection for the stack's life (never reused). Optional. */
	void (*on_state)(void *ctx, uint32_t conn_id, sf_state from, sf_state to,
			 sf_cause cause);
	/* ISN source. Required. */
	sf_isn_source isn;
	/*
	 * Optional allocator for every block the stack itself makes (the stack,
	 * its tables, control blocks, SYN-queue entries, buffers); both NULL
	 * means malloc() and free(). alloc returns size octets, not cleared,
	 * aligned for any type, or NULL (the stack then fails the operation as
	 * when out of memory). free gets back exactly the pointer and the size
	 * alloc was asked for. Either both are set or neither. A fuzz harness
	 * uses them to give each input its own arena with ASan redzones
	 * instead of the sanitizer's costly allocator. Growing tables (handles,
	 * timer heap) are a new block, a copy and a free of the old one.
	 */
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
} sf_env;

/*
 * Stack-wide configuration. sf_config_default() gives Linux's defaults where
 * the RFCs leave a choice, so the engine and Linux compare test for test.
 * Times are in microseconds.
 */
typedef struct sf_config {
	sf_addr local4;              /* our IPv4 address (used by connect without bind) */
	sf_addr local6;              /* our IPv6 address, family 0 if none */
	uint16_t mss;                /* MSS we advertise: 1460 (MTU 1500 - 40) */
	uint32_t sndbuf;             /* default send buffer, bytes: 16384 (tcp_wmem[1]) */
	uint32_t rcvbuf;             /* default receive buffer, bytes: 65535 until window
				      * scaling is in use */
	uint64_t rto_initial;        /* 1 s (RFC6298:2.1) */
	uint64_t rto_min;            /* 1 s (RFC6298:2.4) */
	uint64_t rto_max;            /* 120 s (Linux TCP_RTO_MAX; RFC6298:2.4 allows >= 60 s) */
	uint32_t syn_retries;        /* 6 (net.ipv4.tcp_syn_retries) */
	uint32_t synack_retries;     /* 5 (net.ipv4.tcp_synack_retries) */
	uint32_t retries2;           /* 15 (net.ipv4.tcp_retries2): data/FIN give-up */
	uint64_t time_wait;          /* 60 s (Linux TCP_TIMEWAIT_LEN; RFC9293:MUST-13 says 2*MSL) */
	uint64_t fin_wait_2;         /* 60 s (net.ipv4.tcp_fin_timeout) */
	uint64_t keepalive_idle;     /* 7200 s (RFC9293:MUST-28) */
	uint64_t keepalive_intvl;    /* 75 s */
	uint32_t keepalive_probes;   /* 9 */
	uint64_t oow_ack_interval;   /* 500 ms (net.ipv4.tcp_invalid_ratelimit): at most one
				      * ACK per connection per interval in reply to an
				      * unacceptable segment or as a challenge ACK */
	uint32_t challenge_ack_limit; /* 1000 per second, per connection (RFC5961:7);
				       * per connection, never global (CVE-2016-5696) */
	bool rfc1337;                /* false (net.ipv4.tcp_rfc1337): RST in TIME-WAIT
				      * closes (RFC 9293); true ignores it (RFC1337:3-F1) */
	bool listen_active_open;     /* false: connect() on a listening socket fails with
				      * -EISCONN, as on Linux. true: it is RFC 9293
				      * §3.10.1's active OPEN in LISTEN ("change the
				      * connection from passive to active, select an ISS.
				      * Send a SYN segment ... Enter SYN-SENT state"):
				      * the listener becomes the connecting socket, with
				      * its conn_id and port. Refused with -EBUSY while its
				      * SYN queue or accept queue holds a connection, so
				      * that none is dropped or reset by the change. */
	uint32_t max_backlog;        /* 4096 (net.core.somaxconn): listen() backlog cap */
	uint32_t max_time_wait;      /* 4096: TIME-WAIT entries kept at most; beyond, the
				      * connection closes at once (like tcp_max_tw_buckets) */
	uint32_t max_connections;    /* 65536 full connections per stack */
	size_t mem_limit;            /* 0 = unlimited; else bytes the stack may account */
	uint16_t ephemeral_lo;       /* 32768 (net.ipv4.ip_local_port_range) */
	uint16_t ephemeral_hi;       /* 60999 */
} sf_config;

void sf_config_default(sf_config *cfg);

typedef struct sf_stack sf_stack;

/* Make a stack. Copies *cfg and *env. Returns NULL if out of memory. */
sf_stack *sf_stack_new(const sf_config *cfg, const sf_env *env);
/* Free the stack and every connection and buffer it holds. Sends nothing. */
void sf_stack_free(sf_stack *stack);

/* ---- Time. ---- */

/* Move the stack's clock to now (ignored if earlier) and fire due timers. */
void sf_tick(sf_stack *stack, uint64_t now_us);
/* The stack's current time. */
uint64_t sf_now(const sf_stack *stack);
/* When the next timer is due (absolute), or UINT64_MAX if none is armed. */
uint64_t sf_next_timer(const sf_stack *stack);

/* ---- Input. ---- */

/*
 * Process one parsed segment that arrived for this stack (RFC 9293 §3.10.7),
 * at the stack's current time. Segments for addresses that are not ours are
 * dropped (and counted). Replies go out through env.output before it returns.
 */
void sf_input(sf_stack *stack, const sf_segment *seg);

/*
 * Parse a raw IP packet and process it. Packets that do not parse (bad
 * checksum, truncated, not TCP) are dropped and counted; returns the codec's
 * result (0 if the packet was handed to sf_input()).
 */
int sf_input_packet(sf_stack *stack, const uint8_t *pkt, size_t len);

/* ---- Socket-like API. Handles are small non-negative ints, like fds. ---- */

/* family: SF_AF_INET or SF_AF_INET6. Returns a handle or -EMFILE/-ENOMEM/-EAFNOSUPPORT. */
int sf_socket(sf_stack *stack, int family);
/* -EADDRINUSE if another socket holds the address, including a connection in
 * TIME-WAIT, unless SF_SO_REUSEADDR is set on this socket (DESIGN seed 9). */
int sf_bind(sf_stack *stack, int sd, const sf_endpoint *local);
/* CLOSED -> LISTEN. Backlog bounds the accept queue and the SYN queue
 * (clamped to [1, max_backlog]). Binds an ephemeral port if unbound. */
int sf_listen(sf_stack *stack, int sd, int backlog);
/* Returns a new handle for an established connection, or -EAGAIN. */
int sf_accept(sf_stack *stack, int sd, sf_endpoint *peer);
/* CLOSED -> SYN-SENT, sends the SYN. Always non-blocking: returns
 * -EINPROGRESS; completion shows in sf_poll() and SF_SO_ERROR. On a listener
 * -EISCONN, or with cfg.listen_active_open LISTEN -> SYN-SENT (-EBUSY while
 * its queues hold connections). */
int sf_connect(sf_stack *stack, int sd, const sf_endpoint *remote);
/* Queues up to len bytes; returns the count, -EAGAIN if the buffer is full
 * or the handshake is not complete yet, -EPIPE after shutdown(SHUT_WR)/FIN or
 * on a socket that never connected (Linux), or the pending error
 * (-ECONNRESET, -ETIMEDOUT, ...) once. */
ssize_t sf_send(sf_stack *stack, int sd, const void *buf, size_t len);
/* Returns bytes read, 0 at end of stream (peer's FIN, or after
 * shutdown(SHUT_RD) once the queue is empty), -EAGAIN if nothing is there
 * yet, -ENOTCONN on a listener or a socket that never connected, or the
 * pending error (once; then 0). */
ssize_t sf_recv(sf_stack *stack, int sd, void *buf, size_t len);

enum { SF_SHUT_RD = 0, SF_SHUT_WR = 1, SF_SHUT_RDWR = 2 };
int sf_shutdown(sf_stack *stack, int sd, int how);
/* Releases the handle. The connection goes on closing in the background
 * (orphaned) as RFC 9293 §3.10.4 says; with unread data or linger zero it is
 * aborted with an RST instead (RFC9293:SHLD-3). */
int sf_close(sf_stack *stack, int sd);
/* Sends an RST (in synchronized states), drops everything, releases the handle. */
int sf_abort(sf_stack *stack, int sd);

/* poll() bits, same values as Linux's POLL* */
enum {
	SF_POLLIN = 0x001,
	SF_POLLOUT = 0x004,
	SF_POLLERR = 0x008,
	SF_POLLHUP = 0x010,
	SF_POLLRDHUP = 0x2000,
};
/* Current readiness of a handle (never blocks). Negative errno for a bad handle. */
int sf_poll(sf_stack *stack, int sd);

/*
 * Socket options. Values and units are Linux's, so scripts map one to one:
 * seconds for the keep-alive times, milliseconds for TCP_USER_TIMEOUT,
 * bytes for buffers; SF_SO_LINGER takes -1 (off) or the linger time in seconds
 * (0 means close() aborts with RST); SF_SO_ERROR is read-only, gives the
 * pending error as a positive errno (like Linux) and clears it.
 */
typedef enum sf_sockopt {
	SF_SO_REUSEADDR,
	SF_SO_KEEPALIVE,
	SF_SO_LINGER,
	SF_SO_SNDBUF,
	SF_SO_RCVBUF,
	SF_SO_ERROR,
	SF_TCP_NODELAY,
	SF_TCP_KEEPIDLE,
	SF_TCP_KEEPINTVL,
	SF_TCP_KEEPCNT,
	SF_TCP_USER_TIMEOUT,
	SF_TCP_SYNCNT,
	SF_TCP_MAXSEG,
} sf_sockopt;
int sf_setsockopt(sf_stack *stack, int sd, sf_sockopt opt, int value);
int sf_getsockopt(sf_stack *stack, int sd, sf_sockopt opt, int *value);

/* ---- Observation. ---- */

/* A connection's vital signs, in the spirit of Linux's TCP_INFO. */
typedef struct sf_tcp_info {
	uint32_t conn_id;
	sf_state state;
	bool from_listen;        /* SYN-RECEIVED came from LISTEN (RFC9293:MUST-11) */
	bool orphan;             /* no handle: closed by the user, or not yet accepted */
	sf_endpoint local;
	sf_endpoint remote;
	uint32_t iss, irs;
	uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint32_t rcv_nxt, rcv_wnd;
	uint16_t snd_mss;        /* effective send MSS (RFC9293:MUST-15, MUST-16) */
	uint16_t rcv_mss;        /* MSS we advertised */
	uint64_t rto;            /* current RTO, us */
	uint32_t retransmits;    /* consecutive timeouts of the current timer (backoff) */
	uint32_t total_retrans;  /* segments retransmitted over the connection's life */
	uint32_t snd_queued;     /* bytes in the send buffer (sent or not) */
	uint32_t rcv_queued;     /* bytes received and not yet read */
	uint32_t sndbuf, rcvbuf; /* buffer limits */
	uint64_t next_timer;     /* absolute time of this connection's next timer, or UINT64_MAX */
	int pending_error;       /* negative errno waiting for the user, or 0 */
} sf_tcp_info;

/* Info for a handle (a listener reports its own, with state LISTEN). */
int sf_info(sf_stack *stack, int sd, sf_tcp_info *info);

/*
 * Visit every connection the stack holds: sockets with handles, half-open
 * SYN-queue entries, the accept queue, and orphans such as TIME-WAIT, in a
 * deterministic order. This is what `ss -ta` would list.
 */
typedef void (*sf_conn_visitor)(void *ctx, const sf_tcp_info *info);
void sf_foreach_conn(sf_stack *stack, sf_conn_visitor visit, void *ctx);

/* Counters for traces, tests and benchmarks. */
typedef struct sf_stats {
	uint64_t segs_in, segs_out;
	uint64_t drops_parse;        /* sf_input_packet(): did not parse */
	uint64_t drops_no_conn;      /* no socket for it (answered with RST, U-1) */
	uint64_t drops_unacceptable; /* failed the sequence test (U-10) */
	uint64_t drops_syn_queue_full;
	uint64_t drops_accept_queue_full;
	uint64_t drops_mem;          /* refused for the memory cap */
	uint64_t challenge_acks;     /* RFC 5961 */
	uint64_t challenge_acks_limited;
	uint64_t retransmits;
	uint64_t conns_opened, conns_closed;
	uint64_t drops_not_ours;     /* not addressed to us, or from/to a broadcast or
				      * multicast address (RFC9293:MUST-57, MUST-63) */
} sf_stats;
void sf_get_stats(const sf_stack *stack, sf_stats *stats);

/* Memory accounting (DESIGN "Bounded"). */
typedef struct sf_mem_info {
	size_t in_use;             /* bytes accounted now: control blocks + buffers */
	size_t peak;
	size_t limit;              /* cfg.mem_limit, 0 = none */
	size_t tcb_size;           /* sizeof a full connection control block, no buffers */
	size_t half_open_size;     /* sizeof a SYN-queue entry */
	uint32_t connections;      /* full connections (incl. TIME-WAIT, listeners) */
	uint32_t half_open;        /* SYN-queue entries */
	uint32_t handles;          /* open handles */
} sf_mem_info;
void sf_get_mem(const sf_stack *stack, sf_mem_info *mem);

/*
 * Check every invariant on every connection: SND.UNA <= SND.NXT, buffer and
 * window accounting, queue bounds, timers consistent with the state, memory
 * accounting, and that every transition so far was legal. Returns 0, or -1
 * with a one-line description of the first violation in why (if not NULL).
 * Tests and fuzz targets call it after every event.
 */
int sf_check_invariants(const sf_stack *stack, char *why, size_t cap);

/* "ECONNREFUSED" for -ECONNREFUSED (or ECONNREFUSED); "E?" if unknown. */
const char *sf_errno_name(int err);

/* ---- Light observation (core/src/observe.c). ---- */

/*
 * The few fields of a connection that a checker looking after every event
 * needs, filled without the rest of sf_tcp_info (timers, buffer counts,
 * RTO): a fuzz harness walks every connection after every event, and filling
 * a full sf_tcp_info each time was a tenth of its run time. Each field means
 * exactly what the field of the same name in sf_tcp_info means, and has the
 * same value sf_foreach_conn() would report at that moment.
 */
typedef struct sf_conn_peek {
	uint32_t conn_id;
	sf_state state;
	bool from_listen;            /* SYN-RECEIVED came from LISTEN (RFC9293:MUST-11) */
	const sf_endpoint *local;    /* the engine's own copies: valid during the visit only */
	const sf_endpoint *remote;
	uint32_t iss, irs;
	uint32_t snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2;
	uint32_t rcv_nxt, rcv_wnd;   /* rcv_wnd: up to the right edge last advertised */
	uint16_t snd_mss;            /* effective send MSS (RFC9293:MUST-15, MUST-16) */
} sf_conn_peek;

typedef void (*sf_peek_visitor)(void *ctx, const sf_conn_peek *peek);

/*
 * Visit every connection the stack holds, in the same order and with the
 * same set as sf_foreach_conn() (full connections by conn_id, each followed
 * by its SYN-queue entries). peek is valid only during the visit. The
 * visitor must not call into the same stack.
 */
void sf_foreach_peek(const sf_stack *stack, sf_peek_visitor visit, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* SYNFIN_TCP_H */
