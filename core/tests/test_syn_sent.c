/*
 * SYN-SENT (RFC 9293 §3.10.7.3): active open (seed 2), simultaneous open
 * (seed 8, MUST-10/11), losses in the handshake (seed 13), the old duplicate
 * SYN (seed 14), U-6..U-9, RFC5961:3.2-d and the SYN retransmission give-up.
 */
#include <string.h>

#include "harness.h"

/* Seed 2: connect sends SYN seq=x; SYN-ACK ack=x+1 -> ESTABLISHED, answered
 * by ACK seq=x+1 ack=y+1. Seed 3: SYN takes one sequence number. */
static void test_syn_sent_syn_ack_established(void)
{
	harness *h = h_new();
	sf_tcp_info i;

	syn_sent(h);
	ASSERT(h_saw(h, SF_CLOSED, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE));
	ASSERT_EQ(h_info(h, h->sd).snd_nxt, STACK_ISS + 1);
	ASSERT_EQ(sf_send(h->stack, h->sd, "x", 1), -EAGAIN);
	ASSERT_EQ(sf_recv(h->stack, h->sd, (char[4]){ 0 }, 4), -EAGAIN);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .mss = 1000);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .win = 65535);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_ESTABLISHED, SF_CAUSE_RCV_SYN_ACK));
	i = h_info(h, h->sd);
	ASSERT_EQ(i.state, SF_ESTABLISHED);
	ASSERT_EQ(i.snd_una, STACK_ISS + 1);
	ASSERT_EQ(i.rcv_nxt, PEER_ISS + 1);
	ASSERT_EQ(i.snd_mss, 1000);
	ASSERT_EQ(i.from_listen, false);
	ASSERT(sf_poll(h->stack, h->sd) & SF_POLLOUT);
	h_free(h);
}

/* RFC9293:U-8: text (and FIN) on a SYN-ACK is taken and acknowledged. */
static void test_syn_sent_syn_ack_with_data(void)
{
	harness *h = h_new();
	char buf[16];

	syn_sent(h);
	SEND(h, .flags = SF_SYN | SF_ACK | SF_FIN, .seq = PEER_ISS, .ack = STACK_ISS + 1,
	     .data = "hello");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 7);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSE_WAIT);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 5);
	ASSERT_MEM_EQ(buf, "hello", 5);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	h_free(h);
}

/* RFC9293:U-8: text on a SYN in SYN-SENT (simultaneous open) is queued
 * until ESTABLISHED. */
static void test_syn_sent_syn_with_data_queued(void)
{
	harness *h = h_new();
	char buf[16];

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .data = "abc");
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), -EAGAIN);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 3);
	h_free(h);
}

/* RFC9293:U-6: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>; with RST set
 * it is just dropped. */
static void test_syn_sent_bad_ack_rst(void)
{
	harness *h = h_new();

	syn_sent(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS);
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS + 2);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 5);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_SYN_SENT);
	h_free(h);
}

/* RFC9293:U-7, RFC5961:3.2-d: an RST counts only if its ACK acknowledges
 * our SYN; it then means "connection refused". */
static void test_syn_sent_rst_refused(void)
{
	harness *h = h_new();
	int v;

	syn_sent(h);
	SEND(h, .flags = SF_RST, .seq = 0);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_SYN_SENT);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_CLOSED, SF_CAUSE_RCV_RST));
	ASSERT(sf_poll(h->stack, h->sd) & SF_POLLERR);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_SO_ERROR, &v), 0);
	ASSERT_EQ(v, ECONNREFUSED);
	h_free(h);
}

/* connect() again after a refused attempt is a new connection with a new
 * conn_id (ids are never reused). */
static void test_syn_sent_rst_reconnect_new_id(void)
{
	harness *h = h_new();
	sf_endpoint remote = { h->peer_addr, SERVER_PORT };
	uint32_t first;
	int v;

	syn_sent(h);
	first = h_info(h, h->sd).conn_id;
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = STACK_ISS + 1);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_SO_ERROR, &v), 0);
	ASSERT_EQ(sf_connect(h->stack, h->sd, &remote), -EINPROGRESS);
	h->stack_port = EPHEMERAL_PORT + 1;
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	ASSERT(h_info(h, h->sd).conn_id != first);
	ASSERT_EQ(h->trans[h->ntrans - 1].conn_id, h_info(h, h->sd).conn_id);
	h_free(h);
}

/* RFC9293:U-9: neither SYN nor RST: dropped. */
static void test_syn_sent_ack_only_dropped(void)
{
	harness *h = h_new();

	syn_sent(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1);
	SEND(h, .flags = SF_FIN, .seq = PEER_ISS);
	SEND(h, .flags = 0, .seq = PEER_ISS, .data = "x");
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_SYN_SENT);
	h_free(h);
}

/* Seed 8, RFC9293:MUST-10/11, U-8: SYN without ACK in SYN-SENT ->
 * SYN-RECEIVED (not from LISTEN), SYN-ACK <SEQ=ISS><ACK=RCV.NXT>; the peer's
 * SYN-ACK then completes one connection. */
static void test_syn_sent_syn_simultaneous_open(void)
{
	harness *h = h_new();
	sf_tcp_info i;

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1460);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	i = h_info(h, h->sd);
	ASSERT_EQ(i.state, SF_SYN_RECEIVED);
	ASSERT_EQ(i.from_listen, false);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN));
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .mss = 1460);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	ASSERT_EQ(h_count_to(h, SF_ESTABLISHED), 1);
	h_free(h);
}

/* Simultaneous open where the peer answers with a bare ACK; the SYN-ACK is
 * retransmitted on timeout while it does not. */
static void test_syn_received_ack_simultaneous_open(void)
{
	harness *h = h_new();

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	/* RFC6298:2.1: the SYN timer fired, so RTO is 3 s for data. */
	ASSERT_EQ(h_info(h, h->sd).rto, 3 * SEC);
	h_free(h);
}

/* RFC9293:MUST-11, U-11: SYN-RECEIVED from an active open + RST ->
 * CLOSED with "connection refused". */
static void test_syn_received_rst_active_refused(void)
{
	harness *h = h_new();
	int v;

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_CLOSED, SF_CAUSE_RCV_RST));
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_SO_ERROR, &v), 0);
	ASSERT_EQ(v, ECONNREFUSED);
	h_free(h);
}

/* Seed 13: a lost SYN is retransmitted after the initial RTO (1 s) and the
 * connection completes; RTO is 3 s afterwards (RFC6298:2.1). */
static void test_syn_sent_timeout_lost_syn(void)
{
	harness *h = h_new();

	syn_sent(h);
	h_tick(h, 1 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_info(h, h->sd).snd_mss, 536); /* MUST-15: no MSS option */
	ASSERT_EQ(h_info(h, h->sd).rto, 3 * SEC);
	h_free(h);
}

/* RFC9293:MUST-22, MUST-23: SYN retransmitted at 1, 3, 7, 15, 31, 63 s and
 * given up at 127 s after syn_retries (6) with ETIMEDOUT. */
static void test_syn_sent_timeout_give_up(void)
{
	harness *h = h_new();
	const uint64_t at[] = { 1, 3, 7, 15, 31, 63 };
	int v;

	syn_sent(h);
	for (size_t i = 0; i < 6; i++) {
		h_tick(h, at[i] * SEC - 1);
		EXPECT_NONE(h);
		h_tick(h, at[i] * SEC);
		EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	}
	h_tick(h, 127 * SEC - 1);
	ASSERT_EQ(h_state(h, h->sd), SF_SYN_SENT);
	h_tick(h, 127 * SEC);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_CLOSED, SF_CAUSE_TIMEOUT_RETRANS));
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_SO_ERROR, &v), 0);
	ASSERT_EQ(v, ETIMEDOUT);
	h_free(h);
}

/* SF_TCP_SYNCNT per socket (RFC9293:MUST-21). */
static void test_syn_sent_timeout_syncnt(void)
{
	harness *h = h_new();
	sf_endpoint remote = { h->peer_addr, SERVER_PORT };
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_setsockopt(h->stack, sd, SF_TCP_SYNCNT, 2), 0);
	ASSERT_EQ(sf_connect(h->stack, sd, &remote), -EINPROGRESS);
	h->stack_port = EPHEMERAL_PORT;
	h->peer_port = SERVER_PORT;
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	h_tick(h, 3 * SEC);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	h_tick(h, 7 * SEC);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, sd), SF_CLOSED);
	ASSERT_EQ(sf_recv(h->stack, sd, (char[4]){ 0 }, 4), -ETIMEDOUT);
	h_free(h);
}

/* Seed 14 (RFC 9293 Figure 9), client side: a SYN-ACK for an old duplicate
 * SYN acknowledges the wrong number and is refused with an RST. */
static void test_syn_sent_old_duplicate_synack_rst(void)
{
	harness *h = h_new();

	syn_sent(h);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS + 300, .ack = STACK_ISS - 9);
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS - 9);
	ASSERT_EQ(h_state(h, h->sd), SF_SYN_SENT);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_free(h);
}

/* Seed 14, server side: the client's RST for the stale request sends the
 * SYN-RECEIVED entry back to LISTEN without telling the user (U-11). */
static void test_syn_received_rst_back_to_listen(void)
{
	harness *h = h_new();
	sf_mem_info m;

	syn_received(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_RST));
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 0);
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	ASSERT_EQ(sf_accept(h->stack, h->listener, NULL), -EAGAIN);
	/* The listener takes a new SYN as before. */
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 1000);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1001, .mss = 1460);
	h_free(h);
}

/* RFC5961:3.2-c in SYN-RECEIVED (every state but SYN-SENT): an RST in the
 * window but not at RCV.NXT gets a challenge ACK; the entry stays. */
static void test_syn_received_rst_in_window_challenge_ack(void)
{
	harness *h = h_new();
	sf_mem_info m;

	syn_received(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1 + 65535);
	EXPECT_NONE(h);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	h_free(h);
}

/* Seed 13: a lost SYN-ACK is recovered by the client's retransmitted SYN,
 * which gets the SYN-ACK again. */
static void test_syn_received_syn_retransmitted(void)
{
	harness *h = h_new();

	syn_received(h);
	h_tick(h, 500 * MS);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1460);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	ASSERT(sf_accept(h->stack, h->listener, NULL) >= 0);
	h_free(h);
}

/* Seed 13: a lost third ACK: the server retransmits its SYN-ACK, and the
 * client in ESTABLISHED answers it with an ACK (a challenge ACK, RFC5961:4.2),
 * which completes the server's side. */
static void test_established_synack_retransmitted_acked(void)
{
	harness *h = h_new();

	established_active(h);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .mss = 1460);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_free(h);
}

/* Seed 13 + seed 3: data with a valid ACK completes a half-open connection
 * (the third handshake segment may carry data). */
static void test_syn_received_data_completes(void)
{
	harness *h = h_new();
	char buf[16];
	int sd;

	syn_received(h);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "hi");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 3);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_CAUSE_RCV_DATA));
	sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT(sd >= 0);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), 2);
	ASSERT_MEM_EQ(buf, "hi", 2);
	h_free(h);
}

/* RFC9293:U-15 for SYN-RECEIVED: an ACK that does not acknowledge our SYN
 * gets <SEQ=SEG.ACK><CTL=RST>; the entry stays. */
static void test_syn_received_bad_ack_rst(void)
{
	harness *h = h_new();
	sf_mem_info m;

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 7);
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS + 7);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	ASSERT(sf_accept(h->stack, h->listener, NULL) >= 0);
	h_free(h);
}

/* RFC9293:U-13 in SYN-RECEIVED from LISTEN: an in-window SYN resets the
 * entry, which goes back to LISTEN. */
static void test_syn_received_syn_in_window_rst(void)
{
	harness *h = h_new();

	syn_received(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 5);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = PEER_ISS + 6);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_SYN));
	h_free(h);
}

/* RFC9293:U-10 and U-14 in SYN-RECEIVED: an out-of-window segment gets an
 * ACK; an in-window segment without ACK is dropped. */
static void test_syn_received_unacceptable_ack(void)
{
	harness *h = h_new();

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 100000, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = 0, .seq = PEER_ISS + 1, .data = "zz");
	EXPECT_NONE(h);
	h_free(h);
}

/* Found by the active_open fuzz target (oracle stream-integrity; input kept
 * as corpora/active_open/regression-reopen-after-close): a close in
 * SYN-RECEIVED after a simultaneous open, data and FIN from the peer, then
 * TIME-WAIT -> CLOSED. The socket got past the handshake, so it stays
 * connected (Linux SS_CONNECTING/SS_CONNECTED): listen() and connect() are
 * refused, and the data it still holds is read as the old connection's,
 * never as a new one's (RFC9293:MUST-13 ends the connection, not the
 * socket's unread data). */
static void test_syn_received_close_then_reopen_refused(void)
{
	harness *h = h_new();
	sf_endpoint peer = { .addr = h->peer_addr, .port = PEER_PORT };
	char buf[16];

	syn_sent(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_1);
	h_clear(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "old");
	h_clear(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 5, .ack = STACK_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_advance(h, 60 * SEC);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT_EQ(sf_listen(h->stack, h->sd, 4), -EINVAL);
	ASSERT_EQ(sf_connect(h->stack, h->sd, &peer), -EISCONN);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof buf), 3);
	ASSERT_EQ(memcmp(buf, "old", 3), 0);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof buf), 0);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_syn_sent_syn_ack_established);
	RUN_TEST(test_syn_sent_syn_ack_with_data);
	RUN_TEST(test_syn_sent_syn_with_data_queued);
	RUN_TEST(test_syn_sent_bad_ack_rst);
	RUN_TEST(test_syn_sent_rst_refused);
	RUN_TEST(test_syn_sent_rst_reconnect_new_id);
	RUN_TEST(test_syn_sent_ack_only_dropped);
	RUN_TEST(test_syn_sent_syn_simultaneous_open);
	RUN_TEST(test_syn_received_ack_simultaneous_open);
	RUN_TEST(test_syn_received_rst_active_refused);
	RUN_TEST(test_syn_received_close_then_reopen_refused);
	RUN_TEST(test_syn_sent_timeout_lost_syn);
	RUN_TEST(test_syn_sent_timeout_give_up);
	RUN_TEST(test_syn_sent_timeout_syncnt);
	RUN_TEST(test_syn_sent_old_duplicate_synack_rst);
	RUN_TEST(test_syn_received_rst_back_to_listen);
	RUN_TEST(test_syn_received_rst_in_window_challenge_ack);
	RUN_TEST(test_syn_received_syn_retransmitted);
	RUN_TEST(test_established_synack_retransmitted_acked);
	RUN_TEST(test_syn_received_data_completes);
	RUN_TEST(test_syn_received_bad_ack_rst);
	RUN_TEST(test_syn_received_syn_in_window_rst);
	RUN_TEST(test_syn_received_unacceptable_ack);
	return 0;
}
