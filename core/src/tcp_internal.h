/*
 * Internal types of the synfin TCP engine, shared by the files of core/src.
 * Nothing here is part of the public API (core/include/synfin/tcp.h).
 *
 * Reading order of the engine: stack.c (the stack, memory, time), conn.c
 * (control blocks, lookup, set_state), api.c (socket calls), input.c
 * (RFC 9293 §3.10.7 segment arrival), listen.c (SYN queue), output.c
 * (everything sent), timers.c (§3.10.8 timeouts), ring.c (buffers),
 * invariants.c, names.c. core/README.md walks them in more detail.
 */
#ifndef SYNFIN_TCP_INTERNAL_H
#define SYNFIN_TCP_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/tcp.h"

#define SF_API __attribute__((visibility("default")))

/* A timer that is not armed. */
#define SF_NEVER UINT64_MAX

/* RFC9293:MUST-15: send MSS without an MSS option, per family. */
#define SF_DEFAULT_MSS4 536
#define SF_DEFAULT_MSS6 1220
/* The largest window a segment can carry without window scaling (RFC 9293 §3.1). */
#define SF_MAX_WINDOW 65535
/* RFC6298:2.1: RTO is reset to 3 s when data transfer begins after a
 * handshake timeout (TCP_TIMEOUT_FALLBACK in Linux). */
#define SF_RTO_FALLBACK 3000000u
/* Hash buckets for the 4-tuple lookup; a fixed, seedless hash keeps the
 * engine deterministic. The table is sized by cfg.max_connections (a power
 * of two from SF_HASH_BUCKETS_MIN to SF_HASH_BUCKETS), so a small stack (a
 * fuzz input's) does not allocate and clear 32 KiB it never uses. */
#define SF_HASH_BUCKETS 4096u
#define SF_HASH_BUCKETS_MIN 64u
/* Buckets of bound sockets by local port (bind conflicts, port choice),
 * sized like the hash: a quarter of it, at least SF_PORT_BUCKETS_MIN. */
#define SF_PORT_BUCKETS 1024u
#define SF_PORT_BUCKETS_MIN 16u

enum { SF_NODE_CONN = 1, SF_NODE_REQ = 2 };

/* Membership in the stack's 4-tuple hash: both full connections and
 * SYN-queue entries start with this, so one lookup finds either. */
typedef struct sf_node {
	struct sf_node *hnext;
	uint8_t kind;
	bool hashed;
	sf_endpoint local;
	sf_endpoint remote;
	/* Timer heap membership: the object's earliest deadline, ties broken by
	 * conn_id so that firing order is deterministic. */
	uint32_t heap_pos;            /* 1-based position, 0 = not in the heap */
	uint32_t tie;                 /* conn_id */
	uint64_t key;
} sf_node;

/* A byte ring used for the send and receive buffers. Allocated on first use. */
typedef struct sf_ring {
	uint8_t *data;
	uint32_t cap;   /* allocated size (0 = not allocated) */
	uint32_t head;  /* index of the first byte */
	uint32_t len;   /* bytes held */
} sf_ring;

struct sf_conn;

/*
 * A half-open (SYN-queue) entry, like Linux's request_sock: only what is
 * needed to answer the handshake. It becomes a full sf_conn on the third ACK.
 */
typedef struct sf_req {
	sf_node node;
	struct sf_req *next;          /* the listener's SYN queue, oldest first */
	struct sf_conn *listener;
	uint32_t conn_id;
	uint32_t iss, irs;
	uint32_t snd_wnd;             /* window of the peer's SYN */
	uint16_t peer_mss;            /* 0 if the SYN had no MSS option */
	uint16_t rcv_mss;
	uint16_t rcv_wnd;             /* window sent on our SYN-ACK */
	uint8_t num_timeout;          /* SYN-ACK timeouts so far */
	bool acked;                   /* third ACK seen while the accept queue was full */
	uint64_t deadline;            /* next SYN-ACK retransmission or drop */
	uint64_t synack_sent;         /* first SYN-ACK time, for the RTT sample */
	uint64_t last_oow_ack;        /* rate limit (Linux req->last_oow_ack_time) */
	uint8_t *syn_data;            /* text that came with the SYN (RFC9293:U-4) */
	uint16_t syn_len;
} sf_req;

/* The full control block (TCB) of RFC 9293 §3.3.1, without its buffers. */
typedef struct sf_conn {
	sf_node node;
	struct sf_conn *next, *prev;  /* stack's list, in conn_id order */
	struct sf_conn *listener;     /* set while in a listener's accept queue */
	struct sf_conn *lnext;        /* stack's list of listeners */
	struct sf_conn *bnext;        /* port bucket chain (while bound) */
	struct sf_conn *aq_next;      /* accept queue link */
	uint32_t conn_id;
	int sd;                       /* handle, or -1 when orphaned / not accepted */
	uint8_t state;                /* sf_state */
	uint8_t family;

	/* Flags. */
	bool bound;
	bool from_listen;             /* RFC9293:MUST-11 */
	bool shut_rd;                 /* user shutdown(SHUT_RD) or close() */
	bool shut_wr;                 /* user shutdown(SHUT_WR) or close(): FIN queued */
	bool fin_sent;                /* our FIN has a sequence number */
	bool fin_rcvd;                /* peer's FIN consumed (RCV.NXT stepped over it) */
	bool ooo_fin;                 /* a bare FIN beyond RCV.NXT waits at ooo_fin_seq */
	bool syn_timed_out;           /* SYN or SYN-ACK retransmitted (RFC6298:2.1) */
	bool rtt_active;              /* a segment is being timed (Karn) */
	bool has_srtt;
	bool reuseaddr, keepalive, nodelay;
	bool in_accept_queue;
	bool used;                    /* has left CLOSED before (a new open gets a new id) */
	bool connected;               /* reached a synchronized state once (Linux SS_CONNECTED) */

	/* Send sequence variables (RFC 9293 §3.3.1). */
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint32_t snd_data_seq;        /* sequence number of send-buffer byte 0 */
	/* Receive sequence variables. */
	uint32_t irs, rcv_nxt, rcv_wnd;
	uint32_t rcv_adv;             /* right edge advertised (SHLD-14: never shrinks) */
	uint32_t ooo_fin_seq;

	uint16_t snd_mss;             /* effective send MSS (MUST-15/16) */
	uint16_t rcv_mss;             /* MSS we advertise */
	uint16_t peer_mss;            /* from the peer's SYN, 0 if none */
	uint16_t user_mss;            /* TCP_MAXSEG, 0 if unset */

	/* RFC 6298 state. */
	uint64_t rto, srtt, rttvar;
	uint32_t rtt_seq;             /* timed segment ends at this sequence number */
	uint64_t rtt_start;
	uint32_t retransmits;         /* consecutive timeouts (backoff) */
	uint32_t total_retrans;
	uint64_t rtx_start;           /* first transmission of the oldest unacked segment */

	/* Timers (absolute times, SF_NEVER when not armed). */
	uint64_t rtx_at;              /* SYN, SYN-ACK, FIN, data retransmission */
	uint64_t ka_at;               /* keep-alive */
	uint64_t wait_at;             /* TIME-WAIT 2*MSL or the FIN-WAIT-2 timeout */
	uint64_t last_rcv;            /* last segment accepted (keep-alive idle) */
	uint32_t ka_probes;           /* unanswered keep-alive probes */

	/* Rate limits (RFC 5961 §7, per connection). */
	uint64_t last_oow_ack;
	uint64_t chal_window_start;
	uint32_t chal_count;

	/* Per-socket options. */
	int linger;                   /* -1 off, else seconds */
	uint32_t ka_idle, ka_intvl;   /* seconds */
	uint32_t ka_cnt;
	uint32_t user_timeout;        /* ms, 0 = off */
	uint32_t syn_retries;
	uint32_t sndbuf, rcvbuf;      /* limits */
	int pending_error;            /* negative errno, 0 if none */

	/* Listener part (state LISTEN). */
	uint32_t backlog;
	uint32_t qbound;              /* queue lengths when listen() lowered the backlog */
	uint32_t syn_count, aq_count;
	sf_req *syn_head, *syn_tail;
	struct sf_conn *aq_head, *aq_tail;

	sf_ring snd, rcv;
	/* Text that came with the peer's SYN, queued until ESTABLISHED
	 * (RFC9293:U-4, U-8). */
	uint8_t *early;
	uint16_t early_len;
} sf_conn;

/* The first illegal transition seen, for sf_check_invariants(). */
typedef struct sf_bad_transition {
	bool seen;
	uint32_t conn_id;
	uint8_t from, to, cause;
} sf_bad_transition;

struct sf_stack {
	sf_config cfg;
	sf_env env;
	uint64_t now;
	uint32_t next_conn_id;
	uint16_t next_ephemeral;
	sf_conn *head, *tail;         /* every full connection, by conn_id */
	sf_node **hash;               /* hash_mask + 1 chains */
	sf_conn **ports;              /* port_mask + 1 chains of bound sockets */
	uint32_t hash_mask, port_mask; /* table sizes - 1 (powers of two) */
	sf_conn *listeners;           /* every socket in LISTEN, in listen() order */
	sf_node **heap;               /* min-heap of objects with an armed timer */
	uint32_t heap_len, heap_cap;
	sf_conn **handles;
	int nhandles;                 /* size of the handle table */
	uint32_t nconns, nreqs, nhandles_open, ntime_wait;
	size_t mem_in_use, mem_peak;
	uint8_t *scratch;             /* contiguous copy of a payload that wraps;
				       * made with the first ring (sf_stack_scratch) */
	sf_stats stats;
	sf_bad_transition bad;
	bool isn_override_set;        /* the next SYN-queue entry uses isn_override */
	uint32_t isn_override;
};

/* ---- stack.c: memory accounting. Every allocation goes through here. ---- */
void *sf_mem_alloc(sf_stack *s, size_t size);
/* Like sf_mem_alloc(), but the bytes are not cleared: for buffers that are
 * always written before they are read (rings), so that a connection does not
 * clear 80 KiB it may never use (MSan then also sees a read of a byte never
 * written). */
void *sf_mem_alloc_buf(sf_stack *s, size_t size);
void sf_mem_free(sf_stack *s, void *p, size_t size);
/* realloc() for the stack's growing tables (handles, timer heap), through the
 * host's allocator: the first old_size octets move; NULL leaves p as it was. */
void *sf_table_grow(sf_stack *s, void *p, size_t old_size, size_t new_size);
bool sf_mem_allows(const sf_stack *s, size_t size);
/* Make s->scratch if there is none yet: 0, or -1 out of memory. */
int sf_stack_scratch(sf_stack *s);

/* ---- ring.c ---- */
int sf_ring_reserve(sf_stack *s, sf_ring *r, uint32_t cap);
void sf_ring_free(sf_stack *s, sf_ring *r);
uint32_t sf_ring_write(sf_ring *r, const uint8_t *src, uint32_t n);
uint32_t sf_ring_read(sf_ring *r, uint8_t *dst, uint32_t n);
void sf_ring_drop(sf_ring *r, uint32_t n);
const uint8_t *sf_ring_peek(const sf_ring *r, uint32_t off, uint32_t n, uint8_t *scratch);

/* ---- conn.c ---- */
sf_conn *sf_conn_new(sf_stack *s, int family);
sf_conn *sf_conn_new_id(sf_stack *s, int family, uint32_t conn_id);
void sf_conn_free(sf_stack *s, sf_conn *c);
void sf_set_state(sf_stack *s, sf_conn *c, sf_state to, sf_cause cause);
void sf_report(sf_stack *s, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause);
void sf_hash_add(sf_stack *s, sf_node *n);
void sf_hash_del(sf_stack *s, sf_node *n);
sf_node *sf_hash_find(sf_stack *s, const sf_endpoint *local, const sf_endpoint *remote);
sf_conn *sf_find_listener(sf_stack *s, const sf_endpoint *local);
bool sf_addr_is_group(const sf_addr *a);
bool sf_port_in_use(sf_stack *s, const sf_conn *self, const sf_endpoint *local);
void sf_bind_conn(sf_stack *s, sf_conn *c, const sf_endpoint *local);
void sf_unbind_conn(sf_stack *s, sf_conn *c);
void sf_conn_reset(sf_stack *s, sf_conn *c, int err, sf_cause cause);
void sf_conn_closed(sf_stack *s, sf_conn *c, sf_cause cause);
void sf_enter_time_wait(sf_stack *s, sf_conn *c, sf_cause cause);
bool sf_is_synchronized(const sf_conn *c);
uint32_t sf_rcv_space(const sf_conn *c);
void sf_update_rcv_wnd(sf_conn *c);
uint16_t sf_peer_mss(const sf_segment *seg);
uint16_t sf_effective_mss(const sf_conn *c, uint16_t peer_mss);
void sf_rtt_sample(sf_stack *s, sf_conn *c, uint64_t rtt);
void sf_fill_info(const sf_conn *c, sf_tcp_info *info);
void sf_fill_req_info(const sf_req *r, sf_tcp_info *info);
void sf_apply_socket_defaults(sf_stack *s, sf_conn *c);
uint16_t sf_family_mss(const sf_stack *s, int family);

/* ---- listen.c ---- */
void sf_listen_input(sf_stack *s, sf_conn *l, const sf_segment *seg);
void sf_req_input(sf_stack *s, sf_req *r, const sf_segment *seg);
void sf_req_timer(sf_stack *s, sf_req *r);
void sf_req_drop(sf_stack *s, sf_req *r, sf_state to, sf_cause cause);
void sf_listener_close(sf_stack *s, sf_conn *l);
bool sf_acceptq_full(const sf_conn *l);

/* ---- input.c ---- */
void sf_conn_input(sf_stack *s, sf_conn *c, const sf_segment *seg);
uint32_t sf_seg_len(const sf_segment *seg);

/* ---- output.c ---- */
void sf_send_syn(sf_stack *s, sf_conn *c, bool with_ack);
void sf_send_synack_req(sf_stack *s, const sf_req *r);
void sf_send_ack(sf_stack *s, sf_conn *c);
void sf_send_ack_at(sf_stack *s, sf_conn *c, uint32_t seq);
void sf_send_rst_conn(sf_stack *s, sf_conn *c);
void sf_send_rst_reply(sf_stack *s, const sf_segment *seg);
void sf_send_req_ack(sf_stack *s, const sf_req *r);
void sf_free_early(sf_stack *s, sf_conn *c);
uint8_t *sf_copy_syn_text(sf_stack *s, const sf_segment *seg, uint32_t wnd, uint16_t *len);
bool sf_output(sf_stack *s, sf_conn *c);
void sf_retransmit(sf_stack *s, sf_conn *c);
bool sf_oow_limited(sf_stack *s, uint64_t *last);
bool sf_oow_limited_seg(sf_stack *s, uint64_t *last, const sf_segment *in);
void sf_send_challenge_ack(sf_stack *s, sf_conn *c);
void sf_send_dupack(sf_stack *s, sf_conn *c, const sf_segment *seg);

/* ---- timers.c ---- */
void sf_arm_rtx(sf_stack *s, sf_conn *c);
void sf_arm_keepalive(sf_stack *s, sf_conn *c);
uint64_t sf_conn_next_timer(const sf_conn *c);
void sf_timers_changed(sf_stack *s, sf_conn *c);
void sf_req_timer_changed(sf_stack *s, sf_req *r);
void sf_timer_remove(sf_stack *s, sf_node *n);
void sf_fire_next_timer(sf_stack *s);

/* ---- api.c ---- */
void sf_handle_release(sf_stack *s, sf_conn *c);
int sf_handle_assign(sf_stack *s, sf_conn *c);

/* ---- names.c / invariants.c ---- */
void sf_record_transition(sf_stack *s, uint32_t conn_id, sf_state from, sf_state to,
			  sf_cause cause);

#endif /* SYNFIN_TCP_INTERNAL_H */
