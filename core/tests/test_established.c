/*
 * ESTABLISHED (RFC 9293 §3.10.7.4): the sequence test (U-10), RST (U-12,
 * RFC5961:3.2-a/b/c), SYN (U-13, RFC5961:4.2), no ACK (U-14), the ACK checks
 * (U-15, RFC5961:5.2), the send-window update (U-16), the per-connection
 * challenge-ACK rate limit (RFC5961:7) and MUST-66.
 */
#include "harness.h"

/* RFC9293:U-10: a segment outside the window gets <SEQ=SND.NXT><ACK=RCV.NXT>
 * <CTL=ACK> and is dropped; its data is not delivered. */
static void test_established_unacceptable_ack(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1 + 70000, .ack = STACK_ISS + 1, .data = "far");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS - 10, .ack = STACK_ISS + 1, .data = "old");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 0);
	h_free(h);
}

/* RFC9293:U-10: a zero-length segment out of the window is answered too,
 * rate limited to one per oow_ack_interval (Linux tcp_invalid_ratelimit). */
static void test_established_unacceptable_pure_ack_rate_limited(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS - 1000, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS - 1000, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	h_advance(h, 500 * MS);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS - 1000, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_free(h);
}

/* RFC9293:U-12, RFC5961:3.2-b: RST exactly at RCV.NXT -> CLOSED, ECONNRESET. */
static void test_established_rst_exact_closed(void)
{
	harness *h = h_new();
	char buf[4];

	established(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSED, SF_CAUSE_RCV_RST));
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), -ECONNRESET);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	ASSERT_EQ(sf_send(h->stack, h->sd, "x", 1), -EPIPE);
	/* A socket that was connected cannot connect again (Linux EISCONN). */
	ASSERT_EQ(sf_connect(h->stack, h->sd, &(sf_endpoint){ h->peer_addr, 80 }), -EISCONN);
	h_free(h);
}

/* RFC9293:SHLD-2: an RST carrying data (diagnostic text) is accepted. */
static void test_established_rst_with_payload(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1,
	     .data = "go away");
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* RFC5961:3.2-c: an RST in the window but not at RCV.NXT -> challenge ACK,
 * connection unchanged. */
static void test_established_rst_in_window_challenge_ack(void)
{
	harness *h = h_new();
	sf_stats st;

	established(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 100);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.challenge_acks, 1);
	/* The peer's answer: a reset at the exact number. */
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* RFC5961:3.2-a, U-10: an RST outside the window is dropped silently. */
static void test_established_rst_out_of_window_dropped(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1 + 65535);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_free(h);
}

/* RFC9293:U-13, RFC5961:4.2: a SYN in ESTABLISHED, in or out of the window,
 * gets a challenge ACK and changes nothing. */
static void test_established_syn_challenge_ack(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 10);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_advance(h, 1 * SEC);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 1000000);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_free(h);
}

/* RFC5961:7: challenge ACKs are rate limited per connection: a second one
 * within oow_ack_interval is suppressed, but another connection still gets
 * its own (no global counter, CVE-2016-5696). */
static void test_established_rst_challenge_ack_rate_limit_per_conn(void)
{
	harness *h = h_new();
	sf_stats st;

	established(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 100);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 101);
	EXPECT_NONE(h);
	/* A second connection from another port. */
	h_use_peer(h, PEER_PORT + 1);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 100);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.challenge_acks, 2);
	ASSERT_EQ(st.challenge_acks_limited, 1);
	h_free(h);
}

/* RFC5961:7: the per-second limit (challenge_ack_limit) also applies. */
static void test_established_syn_challenge_ack_limit_per_second(void)
{
	sf_config cfg;
	harness *h;

	sf_config_default(&cfg);
	cfg.oow_ack_interval = 0;
	cfg.challenge_ack_limit = 2;
	h = h_new_cfg(&cfg);
	established(h);
	for (int i = 0; i < 5; i++)
		SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 10);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	EXPECT_NONE(h);
	h_advance(h, 1 * SEC);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 10);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	h_free(h);
}

/* RFC9293:U-14: an acceptable segment without ACK is dropped. */
static void test_established_no_ack_dropped(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_PSH, .seq = PEER_ISS + 1, .data = "abc");
	EXPECT_NONE(h);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 0);
	h_free(h);
}

/* RFC9293:U-15: SEG.ACK > SND.NXT -> ACK, segment dropped (data too). */
static void test_established_ack_future_acked(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 100, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 0);
	h_free(h);
}

/* RFC5961:5.2: SEG.ACK below SND.UNA - MAX.SND.WND -> ACK and drop; an
 * older ACK within that range is a duplicate and its data is accepted. */
static void test_established_ack_too_old_dropped(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1 - 70000, .data = "bad");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 0);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1 - 1000, .data = "ok");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 3);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 2);
	h_free(h);
}

/* RFC9293:U-16: the send window changes only from a newer segment
 * (SND.WL1 < SEG.SEQ, or equal and SND.WL2 =< SEG.ACK). */
static void test_established_ack_window_update(void)
{
	harness *h = h_new();
	sf_tcp_info i;

	established(h);
	ASSERT_EQ(h_info(h, h->sd).snd_wnd, 65535);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .win = 1000);
	ASSERT_EQ(h_info(h, h->sd).snd_wnd, 1000);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "ab", .win = 2000);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 3);
	i = h_info(h, h->sd);
	ASSERT_EQ(i.snd_wnd, 2000);
	ASSERT_EQ(i.snd_wl1, PEER_ISS + 1);
	/* An old segment (SEG.SEQ < SND.WL1) does not change the window. */
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .data = "xab", .win = 5);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 3);
	ASSERT_EQ(h_info(h, h->sd).snd_wnd, 2000);
	ASSERT_EQ(h_info(h, h->sd).max_snd_wnd, 65535);
	h_free(h);
}

/* RFC9293:MUST-66: with a zero receive window, an RST at RCV.NXT still
 * resets and data is not accepted (but is ACKed). */
static void test_established_zero_window_rst(void)
{
	sf_config cfg;
	harness *h;
	char big[300];

	sf_config_default(&cfg);
	cfg.rcvbuf = 256;
	h = h_new_cfg(&cfg);
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460,
	       .win = 256);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	memset(big, 'a', sizeof(big));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = big, .len = 300);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 257, .zero_win = true);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 257, .ack = STACK_ISS + 1, .data = "x");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 257, .zero_win = true);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 257);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* Seed 3: SYN and FIN take one sequence number each, a bare ACK none, and
 * the third handshake segment may carry data. */
static void test_established_sequence_space(void)
{
	harness *h = h_new();
	sf_tcp_info i;

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	i = h_info(h, h->sd);
	ASSERT_EQ(i.snd_nxt, STACK_ISS + 1);  /* SYN: one */
	ASSERT_EQ(i.rcv_nxt, PEER_ISS + 4);   /* SYN + 3 octets */
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_info(h, h->sd).rcv_nxt, PEER_ISS + 4); /* bare ACK: none */
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5); /* FIN: one */
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5);
	ASSERT_EQ(h_info(h, h->sd).snd_nxt, STACK_ISS + 2);
	h_free(h);
}

/* RFC9293:U-10, Table 6 at the window edges (RCV.WND = 65535). */
static void test_established_sequence_test_table6(void)
{
	harness *h = h_new();
	const uint32_t nxt = PEER_ISS + 1, end = PEER_ISS + 1 + 65535;

	established(h);
	/* Length 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND. */
	SEND(h, .flags = SF_ACK, .seq = end - 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	SEND(h, .flags = SF_ACK, .seq = end, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = nxt);
	h_advance(h, 1 * SEC);
	SEND(h, .flags = SF_ACK, .seq = nxt - 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = nxt);
	/* Length > 0: the first or the last octet in the window. */
	SEND(h, .flags = SF_ACK, .seq = nxt - 2, .ack = STACK_ISS + 1, .data = "xyab");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = nxt + 2);
	SEND(h, .flags = SF_ACK, .seq = nxt - 4, .ack = STACK_ISS + 1, .data = "old!");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = nxt + 2);
	ASSERT_EQ(h_info(h, h->sd).rcv_queued, 2);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_established_unacceptable_ack);
	RUN_TEST(test_established_unacceptable_pure_ack_rate_limited);
	RUN_TEST(test_established_rst_exact_closed);
	RUN_TEST(test_established_rst_with_payload);
	RUN_TEST(test_established_rst_in_window_challenge_ack);
	RUN_TEST(test_established_rst_out_of_window_dropped);
	RUN_TEST(test_established_syn_challenge_ack);
	RUN_TEST(test_established_rst_challenge_ack_rate_limit_per_conn);
	RUN_TEST(test_established_syn_challenge_ack_limit_per_second);
	RUN_TEST(test_established_no_ack_dropped);
	RUN_TEST(test_established_ack_future_acked);
	RUN_TEST(test_established_ack_too_old_dropped);
	RUN_TEST(test_established_ack_window_update);
	RUN_TEST(test_established_zero_window_rst);
	RUN_TEST(test_established_sequence_space);
	RUN_TEST(test_established_sequence_test_table6);
	return 0;
}
