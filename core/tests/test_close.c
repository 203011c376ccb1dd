/*
 * Closing (RFC 9293 §3.10.4, §3.10.7.4 steps 5 and 8): active close (seed 4),
 * passive close (seed 5), the FIN-WAIT-2 timeout (seed 6), simultaneous close
 * (seed 7), U-17, U-18, close with unread data or linger zero (SHLD-3), and
 * FIN retransmission with backoff.
 */
#include "harness.h"

/* Seed 4: ESTABLISHED -> FIN-WAIT-1 (FIN seq=u) -> FIN-WAIT-2 (its ACK) ->
 * TIME-WAIT (peer's FIN, ACKed) -> CLOSED after 2*MSL (60 s like Linux).
 * Seed 3: the FIN takes one sequence number. */
static void test_established_close_active(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_FIN_WAIT_1, SF_CAUSE_CLOSE));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK));
	h_advance(h, 10 * SEC);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT(h_saw(h, SF_FIN_WAIT_2, SF_TIME_WAIT, SF_CAUSE_RCV_FIN));
	h_advance(h, 60 * SEC - 1);
	ASSERT(!h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	h_advance(h, 1);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	EXPECT_NONE(h);
	h_free(h);
}

/* The segment just sent made exactly one state change, from -> to (cause). */
static void assert_one_change(const harness *h, size_t before, sf_state from, sf_state to,
			      sf_cause cause)
{
	ASSERT_EQ(h->ntrans, before + 1);
	ASSERT_EQ(h->trans[before].from, from);
	ASSERT_EQ(h->trans[before].to, to);
	ASSERT_EQ(h->trans[before].cause, cause);
}

/* RFC 9293 Figure 5, Note 2, and §3.10.7.4, eighth step, FIN-WAIT-1: "If
 * our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT".
 * One segment that acknowledges our FIN and carries the peer's is one
 * change, FIN-WAIT-1 -> TIME-WAIT (U-17, U-18), with no FIN-WAIT-2 between. */
static void test_fin_wait_1_fin_ack_time_wait(void)
{
	harness *h = h_new();
	size_t before;

	fin_wait_1(h);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
	ASSERT(!h_saw(h, SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK));
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	ASSERT_EQ(h_info(h, h->sd).snd_una, STACK_ISS + 2);
	ASSERT_EQ(h_info(h, h->sd).rcv_nxt, PEER_ISS + 2);
	h_free(h);
}

/* Note 2 with the handle open and keep-alive on: TIME-WAIT's only timer is
 * 2*MSL from the FIN; neither the keep-alive nor any FIN-WAIT-2 timeout
 * comes along (RFC9293:MUST-13; §3.10.7.4 "turn off the other timers"). */
static void test_fin_wait_1_fin_ack_timers(void)
{
	sf_config cfg;
	harness *h;
	uint64_t t;

	sf_config_default(&cfg);
	cfg.fin_wait_2 = 30 * SEC;
	h = h_new_cfg(&cfg);
	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPIDLE, 10), 0);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_advance(h, 100 * MS);
	t = sf_now(h->stack);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	ASSERT_EQ(h_info(h, h->sd).next_timer, t + 60 * SEC);
	ASSERT_EQ(sf_next_timer(h->stack), t + 60 * SEC);
	h_tick(h, t + 60 * SEC - 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_tick(h, t + 60 * SEC);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	EXPECT_NONE(h);
	h_free(h);
}

/* Note 2 for an orphan (after close()): the FIN-WAIT-2 timeout (30 s here)
 * must not leak into TIME-WAIT, which lasts its full 60 s (seed 6, seed 4). */
static void test_fin_wait_1_fin_ack_orphan(void)
{
	sf_config cfg;
	harness *h;
	sf_mem_info m;
	size_t before;
	uint64_t t;

	sf_config_default(&cfg);
	cfg.fin_wait_2 = 30 * SEC;
	h = h_new_cfg(&cfg);
	established(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	t = sf_now(h->stack);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
	ASSERT_EQ(sf_next_timer(h->stack), t + 60 * SEC);
	h_tick(h, t + 30 * SEC);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 2); /* the listener and the TIME-WAIT orphan */
	ASSERT(!h_saw(h, SF_FIN_WAIT_2, SF_CLOSED, SF_CAUSE_TIMEOUT_FIN_WAIT_2));
	h_tick(h, t + 60 * SEC);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 1);
	EXPECT_NONE(h);
	h_free(h);
}

/* Note 2 with text: data, FIN and the ACK of our FIN in one segment. The
 * text is delivered, the ACK covers text and FIN, one change. */
static void test_fin_wait_1_data_fin_ack_time_wait(void)
{
	harness *h = h_new();
	char buf[8];
	size_t before;

	fin_wait_1(h);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "bye");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 5);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 3);
	ASSERT_MEM_EQ(buf, "bye", 3);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	h_free(h);
}

/* The ACK of our FIN with a FIN that is not in sequence yet (beyond
 * RCV.NXT): the FIN is not taken, so the segment only moves FIN-WAIT-1 ->
 * FIN-WAIT-2 (U-18); the data that fills the gap then brings the waiting FIN
 * in, FIN-WAIT-2 -> TIME-WAIT (U-17, MAY-13). */
static void test_fin_wait_1_ack_fin_out_of_order(void)
{
	harness *h = h_new();
	size_t before;

	fin_wait_1(h);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 1);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK);
	before = h->ntrans;
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 5);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_2, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
	h_free(h);
}

/* Note 2 through a waiting FIN: a bare FIN beyond RCV.NXT waits in
 * FIN-WAIT-1; one segment then fills the gap and acknowledges our FIN, so
 * the waiting FIN is taken with our FIN acknowledged: FIN-WAIT-1 ->
 * TIME-WAIT in one change. */
static void test_fin_wait_1_gap_filled_with_ack_time_wait(void)
{
	harness *h = h_new();
	size_t before;

	fin_wait_1(h);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 1);
	ASSERT_EQ(h->ntrans, before);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 5);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
	h_free(h);
}

/* The ACK of our FIN with a FIN whose text the receive buffer cannot take
 * whole: the FIN is not in sequence after the text step, so FIN-WAIT-2. */
static void test_fin_wait_1_ack_fin_text_trimmed(void)
{
	harness *h = h_new();
	static char big[70000];
	size_t before;

	memset(big, 'x', sizeof(big));
	fin_wait_1(h);
	before = h->ntrans;
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = big,
	     .len = 65536);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 1 + 65535);
	EXPECT_NONE(h);
	assert_one_change(h, before, SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK);
	h_free(h);
}

/* RFC9293:SHLD-3 in FIN-WAIT-1: data after close() on the segment that
 * acknowledges our FIN. The acknowledgement is taken first (FIN-WAIT-2), then
 * the data resets the connection, as before Note 2 was followed. */
static void test_fin_wait_1_ack_data_after_close_rst(void)
{
	harness *h = h_new();
	size_t before;

	established(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	before = h->ntrans;
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "late");
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS + 2);
	EXPECT_NONE(h);
	ASSERT_EQ(h->ntrans, before + 2);
	ASSERT(h_saw(h, SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK));
	ASSERT(h_saw(h, SF_FIN_WAIT_2, SF_CLOSED, SF_CAUSE_RCV_DATA));
	h_free(h);
}

/* Seed 7: FIN-WAIT-1 -> CLOSING (peer's FIN) -> TIME-WAIT (ACK of ours). */
static void test_closing_ack_time_wait(void)
{
	harness *h = h_new();

	closing(h);
	ASSERT(h_saw(h, SF_FIN_WAIT_1, SF_CLOSING, SF_CAUSE_RCV_FIN));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 2);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	ASSERT(h_saw(h, SF_CLOSING, SF_TIME_WAIT, SF_CAUSE_RCV_ACK));
	h_free(h);
}

/* CLOSING: our FIN is retransmitted on RTO until it is acknowledged. */
static void test_closing_timeout_fin_retransmitted(void)
{
	harness *h = h_new();

	closing(h);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	h_free(h);
}

/* Seed 5: ESTABLISHED -> CLOSE-WAIT (FIN, ACK=u+1); data still flows toward
 * the closer; close -> LAST-ACK (FIN) -> CLOSED on its ACK (U-18). */
static void test_close_wait_close_passive(void)
{
	harness *h = h_new();
	char buf[8];

	close_wait(h);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSE_WAIT, SF_CAUSE_RCV_FIN));
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0); /* end of stream (MUST-12) */
	ASSERT(sf_poll(h->stack, h->sd) & SF_POLLRDHUP);
	ASSERT_EQ(sf_send(h->stack, h->sd, "data", 4), 4);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2, .data = "data");
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 5);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 5, .ack = PEER_ISS + 2);
	ASSERT(h_saw(h, SF_CLOSE_WAIT, SF_LAST_ACK, SF_CAUSE_CLOSE));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 6);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_LAST_ACK, SF_CLOSED, SF_CAUSE_RCV_ACK));
	h_free(h);
}

/* LAST-ACK: the FIN is retransmitted with backoff (1 s, then 2 s later). */
static void test_last_ack_timeout_fin_backoff(void)
{
	harness *h = h_new();

	last_ack(h);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	h_tick(h, 3 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 3 * SEC);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* LAST-ACK: a retransmitted FIN from the peer is acknowledged again. */
static void test_last_ack_fin_retransmitted_acked(void)
{
	harness *h = h_new();

	last_ack(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_LAST_ACK);
	h_free(h);
}

/* FIN-WAIT-1: the FIN is retransmitted with exponential backoff; with
 * retries2 exhausted the connection gives up with ETIMEDOUT. */
static void test_fin_wait_1_timeout_fin_give_up(void)
{
	sf_config cfg;
	harness *h;
	const uint64_t at[] = { 1, 3, 7 };

	sf_config_default(&cfg);
	cfg.retries2 = 3;
	h = h_new_cfg(&cfg);
	fin_wait_1(h);
	for (size_t i = 0; i < 3; i++) {
		h_tick(h, at[i] * SEC - 1);
		EXPECT_NONE(h);
		h_tick(h, at[i] * SEC);
		EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	}
	h_tick(h, 15 * SEC);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_FIN_WAIT_1, SF_CLOSED, SF_CAUSE_TIMEOUT_RETRANS));
	ASSERT_EQ(sf_send(h->stack, h->sd, "x", 1), -ETIMEDOUT);
	h_free(h);
}

/* Seed 6: an orphaned FIN-WAIT-2 (after close()) ends after fin_wait_2 (60 s)
 * silently, as in Linux. */
static void test_fin_wait_2_timeout_orphan(void)
{
	harness *h = h_new();
	sf_mem_info m;

	established(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	h_tick(h, 60 * SEC - 1);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 2); /* the listener and the orphan */
	h_tick(h, 60 * SEC);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_FIN_WAIT_2, SF_CLOSED, SF_CAUSE_TIMEOUT_FIN_WAIT_2));
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 1);
	h_free(h);
}

/* After shutdown(SHUT_WR) with the handle still open, FIN-WAIT-2 waits for
 * the peer without a timeout (Linux), and still receives data. */
static void test_fin_wait_2_no_timeout_with_handle(void)
{
	harness *h = h_new();
	char buf[8];

	fin_wait_2(h);
	h_advance(h, 3600 * SEC);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_2);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "late");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 5);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 4);
	h_free(h);
}

/* RFC9293:SHLD-3: close() with unread data sends an RST and aborts. */
static void test_established_close_unread_rst(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "unread");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 7);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 7, .zero_win = true);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSED, SF_CAUSE_ABORT));
	h_free(h);
}

/* SO_LINGER 0: close() sends an RST and aborts (Linux). */
static void test_established_close_linger_zero_rst(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_LINGER, 0), 0);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .zero_win = true);
	EXPECT_NONE(h);
	h_free(h);
}

/* RFC 9293 §3.10.5: ABORT sends an RST in ESTABLISHED; none in SYN-SENT. */
static void test_established_abort_rst(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_abort(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .zero_win = true);
	h_free(h);
	h = h_new();
	syn_sent(h);
	ASSERT_EQ(sf_abort(h->stack, h->sd), 0);
	EXPECT_NONE(h);
	h_free(h);
}

/* RFC9293:SHLD-3: data arriving after close() in FIN-WAIT-1/2 is answered by
 * an RST and the connection is reset (Linux). */
static void test_fin_wait_2_data_after_close_rst(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "late");
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS + 2);
	ASSERT(h_saw(h, SF_FIN_WAIT_2, SF_CLOSED, SF_CAUSE_RCV_DATA));
	h_free(h);
}

/* RFC9293:U-12: RST in CLOSE-WAIT -> CLOSED (Linux reports EPIPE); in
 * CLOSING and LAST-ACK -> CLOSED. */
static void test_close_wait_rst_closed(void)
{
	harness *h = h_new();

	close_wait(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT_EQ(sf_send(h->stack, h->sd, "x", 1), -EPIPE);
	h_free(h);
	h = h_new();
	closing(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	ASSERT(h_saw(h, SF_CLOSING, SF_CLOSED, SF_CAUSE_RCV_RST));
	h_free(h);
	h = h_new();
	last_ack(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	ASSERT(h_saw(h, SF_LAST_ACK, SF_CLOSED, SF_CAUSE_RCV_RST));
	h_free(h);
}

/* RFC9293:U-12 in FIN-WAIT-1 and FIN-WAIT-2. */
static void test_fin_wait_rst_closed(void)
{
	harness *h = h_new();

	fin_wait_1(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	ASSERT(h_saw(h, SF_FIN_WAIT_1, SF_CLOSED, SF_CAUSE_RCV_RST));
	h_free(h);
	h = h_new();
	fin_wait_2(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	ASSERT(h_saw(h, SF_FIN_WAIT_2, SF_CLOSED, SF_CAUSE_RCV_RST));
	h_free(h);
}

/* RFC9293:U-17: a FIN beyond RCV.NXT (out of order) is not taken yet. */
static void test_established_fin_out_of_order_ignored(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 5, .ack = STACK_ISS + 1, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_free(h);
}

/* RFC9293:U-17, MAY-13: a bare FIN beyond RCV.NXT is acknowledged with
 * RCV.NXT and waits; the data that fills the gap brings it in sequence. */
static void test_established_fin_out_of_order_waits_for_gap(void)
{
	harness *h = h_new();
	char buf[16];

	established(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 11, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1,
	     .data = "0123456789");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 12);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSE_WAIT);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 10);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	h_free(h);
}

/* Close in SYN-RECEIVED (simultaneous open) -> FIN-WAIT-1; the FIN waits for
 * the ACK of our SYN. */
static void test_syn_received_close_fin_wait_1(void)
{
	harness *h = h_new();

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_FIN_WAIT_1, SF_CAUSE_CLOSE));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_established_close_active);
	RUN_TEST(test_fin_wait_1_fin_ack_time_wait);
	RUN_TEST(test_fin_wait_1_fin_ack_timers);
	RUN_TEST(test_fin_wait_1_fin_ack_orphan);
	RUN_TEST(test_fin_wait_1_data_fin_ack_time_wait);
	RUN_TEST(test_fin_wait_1_ack_fin_out_of_order);
	RUN_TEST(test_fin_wait_1_gap_filled_with_ack_time_wait);
	RUN_TEST(test_fin_wait_1_ack_fin_text_trimmed);
	RUN_TEST(test_fin_wait_1_ack_data_after_close_rst);
	RUN_TEST(test_closing_ack_time_wait);
	RUN_TEST(test_closing_timeout_fin_retransmitted);
	RUN_TEST(test_close_wait_close_passive);
	RUN_TEST(test_last_ack_timeout_fin_backoff);
	RUN_TEST(test_last_ack_fin_retransmitted_acked);
	RUN_TEST(test_fin_wait_1_timeout_fin_give_up);
	RUN_TEST(test_fin_wait_2_timeout_orphan);
	RUN_TEST(test_fin_wait_2_no_timeout_with_handle);
	RUN_TEST(test_established_close_unread_rst);
	RUN_TEST(test_established_close_linger_zero_rst);
	RUN_TEST(test_established_abort_rst);
	RUN_TEST(test_fin_wait_2_data_after_close_rst);
	RUN_TEST(test_close_wait_rst_closed);
	RUN_TEST(test_fin_wait_rst_closed);
	RUN_TEST(test_established_fin_out_of_order_ignored);
	RUN_TEST(test_established_fin_out_of_order_waits_for_gap);
	RUN_TEST(test_syn_received_close_fin_wait_1);
	return 0;
}
