/*
 * Test harness for the engine, in the smoltcp manner: one stack on a virtual
 * clock with a fixed ISN, a queue that captures every segment it sends,
 * segment templates with absolute (constant-based) sequence numbers, and three
 * helpers: SEND (inject this segment), EXPECT (the next segment sent is
 * exactly this), EXPECT_NONE (nothing was sent).
 *
 * Every SEND, clock step, EXPECT and EXPECT_NONE runs sf_check_invariants()
 * (so socket calls are checked by the expectation that follows them);
 * h_free() closes everything, lets the clock run until every connection has
 * gone, checks that no memory is still accounted, and frees the stack
 * (ASan/LSan find real leaks).
 *
 * Fixtures derive from each other: listening() -> syn_received() ->
 * established() -> fin_wait_1() -> fin_wait_2() -> time_wait(), and so on.
 * Passive fixtures put the stack at 10.0.0.1:80 and the peer at
 * 10.0.0.2:40000; active ones at 10.0.0.1:32768 -> 10.0.0.2:80.
 */
#ifndef SYNFIN_HARNESS_H
#define SYNFIN_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "synfin/tcp.h"

#define STACK_ISS 10000u
#define PEER_ISS 50000u
#define SERVER_PORT 80
#define PEER_PORT 40000
#define EPHEMERAL_PORT 32768
#define SEC 1000000ull
#define MS 1000ull

#define H_MAX_OUT 4096
#define H_MAX_TRANS 4096

/* A segment template. Unset fields are zero: no payload, no MSS option. */
typedef struct tseg {
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t win;       /* send: 0 means 65535; expect: 0 means "do not check" */
	bool zero_win;      /* send or expect a window of exactly 0 */
	const char *data;   /* payload; len = strlen(data) unless len is set */
	size_t len;
	uint16_t mss;       /* MSS option (0: none; on expect: must be absent) */
	bool any_mss;       /* expect: do not check the MSS option */
	uint16_t sport, dport; /* 0: the harness's current peer/stack ports */
} tseg;

typedef struct h_out {
	sf_segment seg;
	uint8_t *payload;
} h_out;

typedef struct h_trans {
	uint32_t conn_id;
	sf_state from, to;
	sf_cause cause;
} h_trans;

typedef struct harness {
	sf_stack *stack;
	sf_config cfg;
	uint32_t isn;              /* what the ISN source returns */
	sf_addr stack_addr, peer_addr;
	uint16_t stack_port, peer_port;
	int listener, sd;          /* handles made by fixtures */
	h_out out[H_MAX_OUT];
	size_t out_head, out_count;
	h_trans trans[H_MAX_TRANS];
	size_t ntrans;
	uint64_t bytes_hash;       /* FNV-1a over every emitted packet, in order */
	uint64_t emitted;
} harness;

harness *h_new(void);
harness *h_new_cfg(const sf_config *cfg);
void h_free(harness *h);

/* Invariants hold now (fails the test otherwise). */
void h_check_(harness *h, const char *file, int line);
#define h_check(h) h_check_((h), __FILE__, __LINE__)

void h_send_(harness *h, tseg t, const char *file, int line);
void h_expect_(harness *h, tseg t, const char *file, int line);
void h_expect_none_(harness *h, const char *file, int line);
#define SEND(h, ...) h_send_((h), (tseg){ __VA_ARGS__ }, __FILE__, __LINE__)
#define EXPECT(h, ...) h_expect_((h), (tseg){ __VA_ARGS__ }, __FILE__, __LINE__)
#define EXPECT_NONE(h) h_expect_none_((h), __FILE__, __LINE__)

/* Drop whatever was captured so far. */
void h_clear(harness *h);
/* Number of captured segments not yet expected. */
size_t h_pending(const harness *h);

/* Move the clock to an absolute time, or by a delta. */
void h_tick(harness *h, uint64_t abs_us);
void h_advance(harness *h, uint64_t delta_us);

sf_state h_state(harness *h, int sd);
sf_tcp_info h_info(harness *h, int sd);
/* Was from -> to (cause) reported, for any connection? */
bool h_saw(const harness *h, sf_state from, sf_state to, sf_cause cause);
/* How many transitions into `to` were reported. */
size_t h_count_to(const harness *h, sf_state to);

/* Passive fixtures (stack = server). */
int listening(harness *h);
void syn_received(harness *h);
int established(harness *h);
void fin_wait_1(harness *h);      /* shutdown(SHUT_WR): the handle stays open */
void fin_wait_2(harness *h);
void time_wait(harness *h);
void closing(harness *h);
void close_wait(harness *h);
void last_ack(harness *h);        /* shutdown(SHUT_WR) in CLOSE-WAIT */

/* Active fixtures (stack = client). */
int syn_sent(harness *h);
int established_active(harness *h);

/* Switch the harness's default peer (for a second connection). */
void h_use_peer(harness *h, uint16_t peer_port);

#endif /* SYNFIN_HARNESS_H */
