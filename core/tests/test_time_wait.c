/*
 * TIME-WAIT (seed 9): the retransmitted FIN is ACKed again and restarts the
 * timer (U-17), old duplicates are kept out, the address stays in use unless
 * SO_REUSEADDR, RST handling (U-12 vs RFC1337:3-F1), the max_time_wait bound,
 * and reopening by a new SYN (RFC9293:MAY-2).
 */
#include "harness.h"

/* Seed 9, U-17: a retransmitted FIN is ACKed again and restarts 2*MSL. */
static void test_time_wait_fin_reacked_restarts_timer(void)
{
	harness *h = h_new();

	time_wait(h);
	h_advance(h, 50 * SEC);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	/* A FIN occupies sequence space: its ACK is not rate limited (Linux). */
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	h_advance(h, 59 * SEC);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_advance(h, 1 * SEC);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	h_free(h);
}

/* RFC9293:MUST-13: TIME-WAIT lasts cfg.time_wait (configurable). */
static void test_time_wait_timeout_configured(void)
{
	sf_config cfg;
	harness *h;

	sf_config_default(&cfg);
	cfg.time_wait = 240 * SEC; /* 2 * MSL with the RFC's MSL of 2 minutes */
	h = h_new_cfg(&cfg);
	time_wait(h);
	h_advance(h, 240 * SEC - 1);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_advance(h, 1);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* Seed 9: old duplicates from the previous incarnation are kept out: data
 * and an old SYN are answered by an ACK and never delivered. */
static void test_time_wait_old_duplicates_kept_out(void)
{
	harness *h = h_new();
	char buf[8];

	time_wait(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS - 100, .ack = STACK_ISS + 2, .data = "old");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	h_advance(h, 1 * SEC);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS - 5);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	h_free(h);
}

/* Seed 9: the port stays in use while TIME-WAIT holds it; SO_REUSEADDR
 * lifts that; after TIME-WAIT ends the port is free. */
static void test_time_wait_bind_eaddrinuse(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	int a, b;

	time_wait(h);
	ASSERT_EQ(sf_close(h->stack, h->listener), 0);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	a = sf_socket(h->stack, SF_AF_INET);
	ASSERT_EQ(sf_bind(h->stack, a, &local), -EADDRINUSE);
	b = sf_socket(h->stack, SF_AF_INET);
	ASSERT_EQ(sf_setsockopt(h->stack, b, SF_SO_REUSEADDR, 1), 0);
	ASSERT_EQ(sf_bind(h->stack, b, &local), 0);
	ASSERT_EQ(sf_close(h->stack, b), 0);
	h_advance(h, 60 * SEC);
	ASSERT_EQ(sf_bind(h->stack, a, &local), 0);
	h_free(h);
}

/* The same on the active side: the ephemeral port is held too. */
static void test_time_wait_bind_eaddrinuse_active(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, EPHEMERAL_PORT };
	int a;

	established_active(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	a = sf_socket(h->stack, SF_AF_INET);
	ASSERT_EQ(sf_bind(h->stack, a, &local), -EADDRINUSE);
	h_free(h);
}

/* RFC9293:U-10/U-14: a bare segment at RCV.NXT, with or without ACK, is
 * dropped silently (and restarts the timer, as in Linux). */
static void test_time_wait_bare_segment_silent(void)
{
	harness *h = h_new();

	time_wait(h);
	h_advance(h, 30 * SEC);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 2);
	SEND(h, .flags = 0, .seq = PEER_ISS + 2);
	EXPECT_NONE(h);
	h_advance(h, 60 * SEC - 1);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_advance(h, 1);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* RFC9293:U-12: an RST at RCV.NXT in TIME-WAIT -> CLOSED (Linux default). */
static void test_time_wait_rst_closed(void)
{
	harness *h = h_new();

	time_wait(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_RCV_RST));
	h_free(h);
}

/* RFC5961:3.2-c: an RST in the window but not at RCV.NXT gets a challenge
 * ACK in TIME-WAIT too; outside the window it is dropped. */
static void test_time_wait_rst_in_window_challenge_ack(void)
{
	harness *h = h_new();

	time_wait(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 10);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_free(h);
}

/* RFC1337:3-F1: with cfg.rfc1337 the RST is ignored. */
static void test_time_wait_rst_ignored_rfc1337(void)
{
	sf_config cfg;
	harness *h;

	sf_config_default(&cfg);
	cfg.rfc1337 = true;
	h = h_new_cfg(&cfg);
	time_wait(h);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 2);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_free(h);
}

/* Past max_time_wait, a connection skips TIME-WAIT (Linux tw_buckets). */
static void test_time_wait_max_time_wait_bound(void)
{
	sf_config cfg;
	harness *h;
	sf_mem_info m;

	sf_config_default(&cfg);
	cfg.max_time_wait = 0;
	h = h_new_cfg(&cfg);
	fin_wait_2(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 1);
	h_free(h);
}

/* RFC9293:MAY-2 / U-13: a new SYN above RCV.NXT reopens the connection from
 * TIME-WAIT through the listener, with an ISN above the old SND.NXT. */
static void test_time_wait_syn_new_reopens(void)
{
	harness *h = h_new();
	uint32_t isn = STACK_ISS + 2 + 65535 + 2;

	time_wait(h);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS + 100000);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = isn, .ack = PEER_ISS + 100001, .mss = 1460);
	ASSERT(h_saw(h, SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_RCV_SYN));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 100001, .ack = isn + 1);
	ASSERT(sf_accept(h->stack, h->listener, NULL) >= 0);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_time_wait_fin_reacked_restarts_timer);
	RUN_TEST(test_time_wait_timeout_configured);
	RUN_TEST(test_time_wait_old_duplicates_kept_out);
	RUN_TEST(test_time_wait_bind_eaddrinuse);
	RUN_TEST(test_time_wait_bind_eaddrinuse_active);
	RUN_TEST(test_time_wait_bare_segment_silent);
	RUN_TEST(test_time_wait_rst_closed);
	RUN_TEST(test_time_wait_rst_in_window_challenge_ack);
	RUN_TEST(test_time_wait_rst_ignored_rfc1337);
	RUN_TEST(test_time_wait_max_time_wait_bound);
	RUN_TEST(test_time_wait_syn_new_reopens);
	return 0;
}
