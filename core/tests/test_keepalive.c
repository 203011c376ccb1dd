/*
 * Keep-alive (seed 12, RFC9293:MUST-24..29, SHLD-12, RFC1122:4.2.3.6-a/b):
 * off by default, idle 7200 s / interval 75 s / 9 probes, all configurable
 * per socket in seconds like Linux; probes <SEQ=SND.NXT-1><ACK=RCV.NXT>
 * without data; after the last unanswered probe, RST and ETIMEDOUT.
 */
#include "harness.h"

/* MUST-25: off by default, nothing is sent however long the idle time. */
static void test_established_keepalive_off_by_default(void)
{
	harness *h = h_new();
	int v;

	established(h);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, &v), 0);
	ASSERT_EQ(v, 0);
	h_advance(h, 3 * 7200 * SEC);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_free(h);
}

/* MUST-28 defaults: first probe after 7200 s idle, then every 75 s; an
 * answer (MUST-29: one lost probe is not fatal) makes the connection idle
 * again. */
static void test_established_keepalive_defaults(void)
{
	harness *h = h_new();
	int v;

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_TCP_KEEPIDLE, &v), 0);
	ASSERT_EQ(v, 7200);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_TCP_KEEPINTVL, &v), 0);
	ASSERT_EQ(v, 75);
	ASSERT_EQ(sf_getsockopt(h->stack, h->sd, SF_TCP_KEEPCNT, &v), 0);
	ASSERT_EQ(v, 9);
	h_tick(h, 7200 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 7200 * SEC);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1);
	h_tick(h, 7275 * SEC);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h_tick(h, 7275 * SEC + 7200 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 7275 * SEC + 7200 * SEC);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1);
	h_free(h);
}

/* Seed 12: after keepcnt unanswered probes the connection is reset with
 * ETIMEDOUT (Linux tcp_keepalive_timer()). */
static void test_established_keepalive_timeout_give_up(void)
{
	harness *h = h_new();
	char buf[4];

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPIDLE, 10), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPINTVL, 5), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPCNT, 3), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, 1), 0);
	for (uint64_t t = 10; t <= 20; t += 5) {
		h_tick(h, t * SEC - 1);
		EXPECT_NONE(h);
		h_tick(h, t * SEC);
		EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1);
	}
	h_tick(h, 25 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 25 * SEC);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .zero_win = true);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSED, SF_CAUSE_TIMEOUT_KEEPALIVE));
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), -ETIMEDOUT);
	h_free(h);
}

/* MUST-26: received data restarts the idle time. */
static void test_established_keepalive_idle_restarts_on_data(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPIDLE, 10), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, 1), 0);
	h_tick(h, 8 * SEC);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "x");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	h_tick(h, 18 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 18 * SEC);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 2);
	h_free(h);
}

/* MUST-26: no probe while sent data is unacknowledged (the retransmission
 * timer is in charge then). */
static void test_established_keepalive_not_with_outstanding_data(void)
{
	sf_config cfg;
	harness *h;

	sf_config_default(&cfg);
	cfg.retries2 = 100;
	cfg.rto_max = 30 * SEC;
	h = h_new_cfg(&cfg);
	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_KEEPIDLE, 10), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(sf_send(h->stack, h->sd, "d", 1), 1);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "d");
	h_tick(h, 40 * SEC);
	for (size_t i = 0; h_pending(h); i++)
		EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1,
		       .data = "d");
	h_free(h);
}

/* Option ranges follow Linux. */
static void test_closed_keepalive_option_ranges(void)
{
	harness *h = h_new();
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_setsockopt(h->stack, sd, SF_TCP_KEEPIDLE, 0), -EINVAL);
	ASSERT_EQ(sf_setsockopt(h->stack, sd, SF_TCP_KEEPIDLE, 32768), -EINVAL);
	ASSERT_EQ(sf_setsockopt(h->stack, sd, SF_TCP_KEEPCNT, 128), -EINVAL);
	ASSERT_EQ(sf_setsockopt(h->stack, sd, SF_TCP_KEEPINTVL, 1), 0);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_established_keepalive_off_by_default);
	RUN_TEST(test_established_keepalive_defaults);
	RUN_TEST(test_established_keepalive_timeout_give_up);
	RUN_TEST(test_established_keepalive_idle_restarts_on_data);
	RUN_TEST(test_established_keepalive_not_with_outstanding_data);
	RUN_TEST(test_closed_keepalive_option_ranges);
	return 0;
}
