/*
 * Internals shared by harness.c (events, clock, bookkeeping) and oracles.c
 * (the checks). Not for targets: they use harness.h.
 */
#ifndef SYNFIN_FUZZ_HARNESS_INTERNAL_H
#define SYNFIN_FUZZ_HARNESS_INTERNAL_H

#include "harness.h"

/* What kind of event is being played: transitions are checked against it
 * (a timeout cause outside a timer firing is a bug, and so on). */
typedef enum fz_kind {
	FZ_EV_NONE = 0,
	FZ_EV_INPUT,
	FZ_EV_TIMER,
	FZ_EV_LISTEN,
	FZ_EV_CONNECT,
	FZ_EV_CLOSE,     /* sf_close */
	FZ_EV_SHUTDOWN,
	FZ_EV_ABORT,
	FZ_EV_OTHER_CALL, /* socket, bind, accept, send, recv, poll, *sockopt */
} fz_kind;

/* A flow: the peer's side of a 4-tuple, over every incarnation. */
typedef struct fz_flow {
	sf_endpoint remote;
	uint16_t local_port;
	uint32_t salt;             /* peer payload pattern key */
	/* Union of the options of every SYN the peer sent on this flow: the
	 * engine may only use what one of them offered (RFC 7323 §2.2, §3.2;
	 * RFC 2018 §2). */
	bool syn_seen;
	bool syn_wscale, syn_ts, syn_sack_perm;
	bool syn_without_mss;
	uint16_t syn_mss_max;
	uint8_t syn_wscale_last;   /* window scale of the peer's latest SYN (0: none) */
	uint16_t last_syn_win;     /* window field of the peer's latest SYN */
	/* FINs the peer sent, by the sequence number they occupy. */
	uint32_t fin_seq[4];
	uint8_t fin_count;
	bool fin_overflow;
	/* The peer's payload did not follow the pattern (raw or faulty input):
	 * delivered bytes of this flow cannot be checked. */
	bool tainted;
} fz_flow;

/* The socket options behind a connection's timer limits, as the harness
 * follows them from fz_setsockopt(), a listener's options taken by its
 * SYN-queue entries (the engine's req_promote()), and a socket's options
 * kept when it is opened again under a new conn_id. */
typedef struct fz_policy {
	bool unknown;               /* changed where the harness cannot follow */
	bool keepalive;             /* SO_KEEPALIVE (off by default, RFC9293:MUST-25) */
	uint32_t syncnt;            /* TCP_SYNCNT (cfg.syn_retries) */
	uint32_t user_timeout;      /* TCP_USER_TIMEOUT, ms; 0: give up by count */
	uint32_t ka_cnt;            /* TCP_KEEPCNT (cfg.keepalive_probes) */
} fz_policy;

/* A connection, by the engine's conn_id. */
typedef struct fz_conn {
	uint32_t id;
	bool reported;      /* some state change was reported for it */
	sf_state state;     /* last reported state */
	bool alive;         /* in the latest sf_foreach_conn() walk */
	bool seen;          /* ever seen in a walk */
	uint64_t closed_step; /* the step (fz_harness.step) it went CLOSED in */
	bool from_listen;
	uint32_t synack_timer_sends; /* SYN-ACKs a SYN-queue entry sent on timer events */
	/* Timer policy (oracle "timers", oracles.c): the give-up limits of
	 * the connection's socket options, followed by the harness itself. */
	fz_policy pol;
	/* Timer resends since connect() or since SND.UNA last moved (the
	 * engine's retransmits), and keep-alive probes since the count was
	 * last reset. ka_exact: ka_run is the engine's count, not one that
	 * may be lower (a segment arrived that may have reset it). */
	uint32_t rtx_run, ka_run;
	bool ka_exact;
	uint32_t cur_snd_una;       /* SND.UNA, SND.WND, WL1, WL2 in the latest walk */
	uint32_t cur_snd_wnd, cur_snd_wl1, cur_snd_wl2;
	/* The state a timer event found it in (timer events change a state
	 * only to end the connection, after what it sent on the way), and
	 * a timeout that ended it, judged once the event's segments are
	 * counted (check_timeouts()). */
	sf_state timer_from;
	bool timeout_pending;
	sf_cause timeout_cause;
	sf_endpoint local, remote;
	bool iss_valid, irs_valid;
	uint32_t iss, irs;
	uint32_t cur_snd_nxt;    /* SND.NXT, RCV.NXT, RCV.WND and the state in the latest walk */
	uint32_t cur_rcv_nxt;
	uint32_t cur_rcv_wnd;
	sf_state cur_state;
	uint32_t max_snd_nxt;    /* highest SND.NXT seen */
	uint32_t max_rcv_nxt;    /* highest RCV.NXT seen */
	uint32_t max_right_edge; /* highest SND.UNA + SND.WND seen */
	bool edge_valid;
	uint16_t max_snd_mss;
	/* our own SYN's options, as sent */
	bool our_syn_seen, our_wscale, our_ts, our_sack_perm;
	uint8_t our_wscale_val;
	/* the right edge of the receive window we advertised (ACK + scaled
	 * window of our segments), highest so far */
	bool adv_valid;
	uint32_t max_adv_edge;
	/* What the peer's own segments offered, worked out here rather than
	 * taken from the engine: the largest window (scaled as negotiated) and
	 * the highest acceptable ACK. */
	bool pwin_valid;
	uint32_t pmax_win;
	uint32_t pmax_ack;
	/* the application side */
	uint64_t written;        /* bytes send() accepted */
	uint64_t delivered;      /* bytes recv() returned */
	bool app_closed;         /* close() or shutdown(SHUT_WR) was called */
	bool eof_seen;           /* recv() returned 0 */
	bool shut_rd;            /* shutdown(SHUT_RD or SHUT_RDWR) was called */
} fz_conn;

/* conn_ids at or above this are looked up by a search instead. */
#define FZ_MAX_INDEXED_ID (1u << 16)

/* Octets of the arena inbound packets are placed in (harness.c). */
#define FZ_PKT_ARENA (1u << 20)

/* Octets of the arena the engine's own blocks come from (harness.c,
 * fz_heap_alloc): the stack's 8 MiB memory cap plus its tables. Past it, an
 * input's blocks come from malloc(). */
#define FZ_HEAP_ARENA (9u << 20)

/* One connection as the reference oracle compares it (reference.c). */
typedef struct fz_ref_snap {
	bool valid;
	uint32_t conn_id;
	sf_state state;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, max_snd_wnd, rcv_nxt;
	/* Taken for a connection in TIME-WAIT only: another connection on the
	 * same 4-tuple in SYN-RECEIVED (a new incarnation), if the stack holds
	 * one. */
	bool next_valid;
	uint32_t next_id, next_iss;
} fz_ref_snap;

/* A segment the engine sent during the current event. */
typedef struct fz_out {
	sf_segment seg;
	size_t payload_off;      /* into fz_harness.out_payload */
} fz_out;

struct fz_harness {
	fz_setup setup;
	sf_stack *stack;
	uint64_t now;
	uint32_t isn_count;

	/* the event being played */
	uint64_t event_no;
	uint64_t step;               /* engine calls made (one per begin()) */
	char event_desc[200];        /* text of an fz_event() ... */
	fz_describe_fn describe;     /* ... or how to make it (fz_event_lazy) */
	const void *describe_arg;
	fz_kind kind;
	/* the inbound segment of an FZ_EV_INPUT event, as our parser sees it */
	bool in_valid;
	sf_segment in;

	fz_conn *conns;
	size_t nconns, capconns;
	/* conns index + 1 by conn_id (0: none yet), for ids below
	 * FZ_MAX_INDEXED_ID: the walk after every event looks each
	 * connection up, and ids are small and dense (the stack counts them
	 * from 1). ids_used is one past the highest id set. */
	uint32_t *by_id;
	size_t capby_id, ids_used;
	fz_flow *flows;
	size_t nflows, capflows;

	fz_out *out;
	size_t nout, capout;
	uint8_t *out_payload;
	size_t out_payload_len, out_payload_cap;
	size_t total_out;
	sf_segment last_out;
	uint8_t *last_out_payload;   /* owned copy, SF_MAX_PACKET bytes */

	/* Where inbound packets are placed for the engine (fz_place_packet):
	 * FZ_PKT_ARENA octets, all poisoned for ASan but the packet being
	 * input; each packet goes after the previous one. */
	uint8_t *arena;
	size_t arena_off;

	/* Where the engine's blocks come from (sf_env alloc/free): FZ_HEAP_ARENA
	 * octets, poisoned for ASan but the blocks the engine holds; each block
	 * goes after the previous one and is never reused within an input.
	 * heap_live counts the blocks the engine holds (arena or malloc()). */
	uint8_t *heap;
	size_t heap_off;
	size_t heap_live;

	/* Scratch buffers of SF_MAX_PACKET octets each, never zeroed: clearing
	 * 256 KiB per input would cost more than running the input. */
	uint8_t *pkt;
	uint8_t *payload;
	uint8_t *recvbuf;

	bool timeouts_pending;       /* some fz_conn has timeout_pending */
	uint64_t ka_probes_sent;     /* keep-alive probes in this input so far */

	fz_ref_snap ref_pre;         /* reference.c: the connection before the segment */
	sf_endpoint ref_local, ref_remote; /* reference.c: and its 4-tuple */
};

/* Bookkeeping (harness.c). */
bool fz_endpoint_eq(const sf_endpoint *a, const sf_endpoint *b);
fz_conn *fz_conn_get(fz_harness *h, uint32_t id);
fz_conn *fz_conn_by_tuple(fz_harness *h, const sf_endpoint *local,
			  const sf_endpoint *remote, uint32_t seq);
/* The live connection on a 4-tuple (else the newest): for segments that
 * carry no acknowledgment to tell incarnations apart. */
fz_conn *fz_conn_live_by_tuple(fz_harness *h, const sf_endpoint *local, const sf_endpoint *remote);
fz_flow *fz_flow_get(fz_harness *h, const sf_endpoint *remote, uint16_t local_port);

/* The engine's allocator (sf_env alloc/free, harness.c): blocks from the
 * harness's arena; misuse fails the "memory" oracle. Exposed for the
 * harness's own tests (targets/tests/test_heap.c). */
void *fz_heap_alloc(void *ctx, size_t size);
void fz_heap_free(void *ctx, void *ptr, size_t size);

/* Checks (oracles.c). */
void fz_on_state(void *ctx, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause);
void fz_check_event(fz_harness *h);
void fz_check_output(fz_harness *h, const sf_segment *seg);
void fz_check_recv(fz_harness *h, int sd, const uint8_t *buf, ssize_t n, size_t asked);
void fz_check_result(fz_harness *h, const char *call, long rc);
/* A setsockopt() that succeeded: the timer oracle follows the options
 * that set give-up limits. */
void fz_note_sockopt(fz_harness *h, int sd, sf_sockopt opt, int value);

/* Pattern octets (harness.c): len <= 65536 octets from the given key on. */
const uint8_t *fz_pattern(uint32_t key, size_t len);
const uint8_t *fz_app_pattern(uint32_t conn_id, uint64_t offset);

/* The current event's description, made on demand. */
const char *fz_event_text(fz_harness *h);

/* The reference option decoder (refopts.c), and the check that the
 * engine's decoding of raw[0..len) agrees with it (oracle "codec"). */
void fz_ref_opts_decode(const uint8_t *raw, size_t len, sf_tcp_options *o);
void fz_check_opts_decode(fz_harness *h, const uint8_t *raw, size_t len, const sf_tcp_options *got);

/* The harness's copy of the codec (codec.c): sf_wire_emit(),
 * sf_wire_parse() and sf_wire_length() of core/src/wire.c, same source,
 * without fuzzer instrumentation, for the harness's own emitting and
 * re-parsing. */
int fz_wire_emit(const sf_segment *seg, const sf_emit_faults *faults, uint8_t *buf, size_t cap);
int fz_wire_parse(const uint8_t *pkt, size_t len, sf_segment *seg);
size_t fz_wire_length(const sf_segment *seg);

/* Short text for a segment, for messages: "S. seq 1 ack 2 win 100 len 0". */
void fz_seg_text(const sf_segment *seg, char *buf, size_t cap);

/* The reference oracle (reference.c): fz_ref_before() just before an
 * inbound segment goes in, fz_ref_after() once the other oracles ran;
 * fz_ref_judge() is the decision itself (for the harness's own tests). */
void fz_ref_before(fz_harness *h, const sf_segment *seg);
void fz_ref_after(fz_harness *h);
void fz_ref_judge(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
		  const sf_segment *in, uint64_t written);
/* The reference oracle's ACK and window rules, from the walk after an
 * inbound segment: c still holds the values of the walk before it, now the
 * engine's. */
void fz_ref_ack_walk(fz_harness *h, const fz_conn *c, const sf_conn_peek *now);

#endif /* SYNFIN_FUZZ_HARNESS_INTERNAL_H */
