/*
 * The shared fuzz harness: one engine on a virtual clock, driven one event at
 * a time, with every oracle of DESIGN.md ("Oracles") checked after each event.
 *
 * A fuzz target makes a harness (fz_new), plays events through the fz_*
 * wrappers below, and frees it (fz_free). Every wrapper is one event: it calls
 * the engine, then checks
 *
 *   invariants       sf_check_invariants() on every connection;
 *   transition       every state change reported through env.on_state is an
 *                    edge of the RFC 9293 diagram for its cause
 *                    (sf_transition_legal()), and starts from the state the
 *                    connection was last reported in; an edge taken on an
 *                    RST or an ACK needs the right one (RFC5961:3.2, 3.2-d;
 *                    RFC9293:U-15, U-18: an RST at RCV.NXT, an ACK of our
 *                    SYN or of our FIN);
 *   output-sanity    every emitted segment re-parses with our own parser to
 *                    the same fields with a correct checksum, has a legal
 *                    flag combination, belongs to a connection (or is an
 *                    RST), and carries sequence and acknowledgement numbers
 *                    the connection may send (RFC 9293 §3.4, §3.8.6.2.1);
 *                    a SYN-queue entry resends its SYN-ACK on its timer at
 *                    most synack_retries times (DESIGN seed 11);
 *   stream-integrity bytes delivered by recv are exactly the in-order bytes
 *                    the peer sent, and the bytes in outgoing segments are
 *                    exactly what the application wrote, at the right place,
 *                    with the FIN right after the last byte written;
 *   window           RCV.NXT stays inside the window the connection
 *                    advertised; SND.WND and the data sent stay inside what
 *                    the peer's own segments offered (RFC 9293 §3.8.6,
 *                    RFC 7323 §2.2);
 *   codec            the engine's option decoder agrees with an independent
 *                    reading of the option rules (refopts.c);
 *   timers           after the clock moves, no timer is left due and unfired,
 *                    and timers never fire in an endless loop; timer resends
 *                    and keep-alive probes follow the connection's socket
 *                    options, which the harness follows itself: at most
 *                    TCP_SYNCNT SYN, synack_retries SYN-ACK and retries2
 *                    data/FIN resends without progress, and a give-up by
 *                    count only once they are used up (by time instead
 *                    with TCP_USER_TIMEOUT); probes only with SO_KEEPALIVE
 *                    on, nothing unacknowledged, at most TCP_KEEPCNT, and
 *                    no keep-alive reset before that many (RFC9293:MUST-20..26,
 *                    MUST-29);
 *   api              results are in range (send/recv never report more than
 *                    asked, errors are negative errno values);
 *   memory           every block the engine takes from the harness's arena
 *                    (sf_env alloc/free) is given back once, with the size
 *                    it was asked for, and none is held after
 *                    sf_stack_free() (a leak; LeakSanitizer does not see
 *                    the arena). Reads and writes outside a held block are
 *                    ASan reports (use-after-poison), as with malloc.
 *
 * A failure prints one line naming the oracle and the event, then aborts, so
 * libFuzzer, AFL++ and the sanitizers all see a crash:
 *
 *   synfin-fuzz: oracle output-sanity failed at event #7 (segment in S. seq+0 ack+1):
 *   SYN-ACK acknowledges 1001, beyond RCV.NXT 1000
 *
 * Payload bytes are not taken from the input: the harness fills every inbound
 * payload with a pattern that is a function of the flow and the absolute
 * sequence number, and every application write with a pattern that is a
 * function of the connection and the stream offset. That makes both stream
 * oracles exact (a byte out of place or from another connection is caught)
 * and costs the fuzzer nothing, since TCP never looks inside the payload.
 *
 * Nothing here reads a real clock or a random source: the same input gives
 * the same run, which is what makes replay and minimization work.
 */
#ifndef SYNFIN_FUZZ_HARNESS_H
#define SYNFIN_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "synfin/tcp.h"
#include "synfin/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The addresses packetdrill uses, so that decompiled inputs read the same. */
#define FZ_LOCAL_ADDR_V4 192, 168, 0, 1
#define FZ_REMOTE_ADDR_V4 192, 0, 2, 1
#define FZ_LOCAL_PORT 8080
#define FZ_REMOTE_PORT 40000

/*
 * Process-wide switches, set by the standalone replayer's command line
 * (replay_main.c) before any input runs; fuzzers leave them off.
 */
typedef struct fz_process_options {
	bool trace;              /* harnesses trace every event to stderr */
	const char *emit_path;   /* scenario targets write prologue + input here,
				  * in the binary form, for `synfin run` / `decompile` */
} fz_process_options;
extern fz_process_options fz_options;

/* How a harness is made. fz_setup_default() fills sensible values. */
typedef struct fz_setup {
	sf_config cfg;       /* engine configuration */
	uint32_t isn_base;   /* first ISN the engine gets; later ones are spaced out */
	bool quiet;          /* do not print the failure line (tests of the harness) */
	bool trace;          /* print every event, segment and state change to stderr */
} fz_setup;

/*
 * Linux defaults (sf_config_default()) with our address 192.168.0.1, and an
 * ISN close to 2^32 so that sequence numbers wrap within the first kilobyte:
 * every input that moves data also exercises wrap-safe arithmetic.
 */
void fz_setup_default(fz_setup *s);

typedef struct fz_harness fz_harness;

/* Make a harness with a fresh stack at virtual time 0. Aborts if out of memory. */
fz_harness *fz_new(const fz_setup *s);
/* Free the stack and everything the harness holds. */
void fz_free(fz_harness *h);

/* The stack, for targets that need to look (never to act: acting goes through
 * the wrappers so that the oracles run). */
sf_stack *fz_stack(fz_harness *h);
/* The virtual clock, in microseconds. */
uint64_t fz_now(const fz_harness *h);

/*
 * Name the event about to be played, for failure messages: printf-style.
 * The event counter advances by one on each call.
 */
void fz_event(fz_harness *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The same without formatting on the hot path: describe(arg, buf, cap) is
 * called only when a message or a trace needs the text, so arg must stay
 * valid until the next event.
 */
typedef void (*fz_describe_fn)(const void *arg, char *buf, size_t cap);
void fz_event_lazy(fz_harness *h, fz_describe_fn describe, const void *arg);

/* Report a failed oracle and abort. Also usable by targets for their own
 * oracles (e.g. the codec round trip of the single-packet target). */
void fz_fail(fz_harness *h, const char *oracle, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* The same for targets without a harness (the tool parsers' targets). */
void fz_fail_tool(const char *oracle, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* ---- Events. Each runs the oracles afterwards. ---- */

/*
 * Payload octets of one inbound segment, at most. The engine advertises an
 * MSS of 1460, so 4 KiB covers every case a peer can make (more than the MSS,
 * more than the window) while a fuzzer's favourite length, 65535, would spend
 * most of each run on copying and checksums.
 */
#define FZ_MAX_INPUT_PAYLOAD 4096

/*
 * An inbound segment. The harness replaces the payload with the peer's
 * pattern for (flow, sequence number), emits the segment as bytes with the
 * given faults (NULL for none) and hands the bytes to sf_input_packet(), so
 * the codec is on the path too. payload_len says how long the payload is
 * (cut to FZ_MAX_INPUT_PAYLOAD); seg->payload is ignored, and so is
 * seg->opts: the options are opt_raw[0..opt_len), decoded here.
 */
void fz_input(fz_harness *h, const sf_segment *seg, const sf_emit_faults *faults);
/* Raw bytes as an inbound IP packet (no pattern, no stream tracking). */
void fz_input_raw(fz_harness *h, const uint8_t *pkt, size_t len);

/* Move the virtual clock forward by delta_us, firing every timer at its own
 * due time on the way (each firing is checked like an event). */
void fz_advance(fz_harness *h, uint64_t delta_us);
/* Move to the next due timer plus offset_us (which may be negative: just
 * before the deadline). Nothing happens if no timer is armed. */
void fz_advance_to_timer(fz_harness *h, int64_t offset_us);

/* Socket calls: the engine's API, with oracles. They return what the engine
 * returned. fz_send writes len bytes of the application pattern; fz_recv reads
 * up to len bytes and checks them against what the peer sent. */
int fz_socket(fz_harness *h, int family);
int fz_bind(fz_harness *h, int sd, const sf_endpoint *local);
int fz_listen(fz_harness *h, int sd, int backlog);
int fz_accept(fz_harness *h, int sd);
int fz_connect(fz_harness *h, int sd, const sf_endpoint *remote);
ssize_t fz_send(fz_harness *h, int sd, size_t len);
ssize_t fz_recv(fz_harness *h, int sd, size_t len);
int fz_shutdown(fz_harness *h, int sd, int how);
int fz_close(fz_harness *h, int sd);
int fz_abort(fz_harness *h, int sd);
int fz_setsockopt(fz_harness *h, int sd, sf_sockopt opt, int value);
int fz_getsockopt(fz_harness *h, int sd, sf_sockopt opt, int *value);
int fz_poll(fz_harness *h, int sd);

/* ---- Looking at the run. ---- */

/* Info of the connection a handle refers to; returns sf_info()'s result. */
int fz_info(fz_harness *h, int sd, sf_tcp_info *info);
/* Segments the engine has sent so far, and the last one (NULL if none); the
 * last segment's payload is valid until the next event. */
size_t fz_output_count(const fz_harness *h);
const sf_segment *fz_last_output(const fz_harness *h);

/*
 * Transition counts over the life of the process, for `synfin coverage`:
 * fz_transition_count(from, to, cause). Counting is always on; it is a few
 * array increments per state change.
 */
uint64_t fz_transition_count(sf_state from, sf_state to, sf_cause cause);

/* Do two decoded option sets mean the same (MSS, window scale, SACK-permitted,
 * SACK blocks, timestamps)? */
bool fz_opts_same(const sf_tcp_options *a, const sf_tcp_options *b);

/* Pattern bytes (exposed for the harness's own tests). */
uint8_t fz_peer_byte(uint32_t flow_salt, uint32_t seq);
uint8_t fz_app_byte(uint32_t conn_id, uint64_t offset);

#ifdef __cplusplus
}
#endif
#endif /* SYNFIN_FUZZ_HARNESS_H */
