/*
 * Data transfer in ESTABLISHED: in-order data both ways with correct ACKs,
 * segmentation to the effective send MSS (RFC9293:MUST-15/16), sending within
 * the peer's window, the receive window from free buffer space (SHLD-14),
 * out-of-order segments (MAY-13), buffer limits, and retransmission on RTO
 * with backoff, Karn's rule and RTT estimation (RFC 6298, MUST-18), with the
 * give-up after retries2 or TCP_USER_TIMEOUT (MUST-20, MUST-21).
 */
#include <string.h>

#include "harness.h"

static char pattern[70000];

static void fill_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)('a' + i % 26);
}

/* Data from the peer is delivered in order and every segment is ACKed. */
static void test_established_data_received_acked(void)
{
	harness *h = h_new();
	char buf[32];

	established(h);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "hello ");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 7, .win = 65535 - 6);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 7, .ack = STACK_ISS + 1, .data = "world");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 12, .win = 65535 - 11);
	ASSERT(sf_poll(h->stack, h->sd) & SF_POLLIN);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 11);
	ASSERT_MEM_EQ(buf, "hello world", 11);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), -EAGAIN);
	h_free(h);
}

/* A retransmitted (duplicate) segment is ACKed again and not delivered twice;
 * a segment overlapping old and new data gives only the new part. */
static void test_established_data_duplicate_and_overlap(void)
{
	harness *h = h_new();
	char buf[32];

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 1, .data = "bcde");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 6);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 5);
	ASSERT_MEM_EQ(buf, "abcde", 5);
	h_free(h);
}

/* RFC9293:MAY-13 / SHLD-31's place: a segment beyond RCV.NXT is not kept
 * yet; it is answered with an ACK for RCV.NXT. */
static void test_established_data_out_of_order_acked(void)
{
	harness *h = h_new();
	char buf[32];

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 1, .data = "def");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "abc");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 3);
	h_free(h);
}

/* Sending: data goes out at once, PSH on the segment that empties the
 * buffer (MUST-61), and the ACK frees the send buffer. */
static void test_established_send_data_acked(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_send(h->stack, h->sd, "ping", 4), 4);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "ping");
	ASSERT_EQ(h_info(h, h->sd).snd_queued, 4);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 5, .data = "pong");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 5, .ack = PEER_ISS + 5);
	ASSERT_EQ(h_info(h, h->sd).snd_queued, 0);
	ASSERT_EQ(h_info(h, h->sd).next_timer, UINT64_MAX);
	h_free(h);
}

/* RFC9293:MUST-14/16: segments are cut to the peer's MSS. */
static void test_established_send_segmented_to_mss(void)
{
	harness *h = h_new();

	fill_pattern();
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1000);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT_EQ(sf_send(h->stack, h->sd, pattern, 2500), 2500);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = pattern, .len = 1000);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1001, .ack = PEER_ISS + 1, .data = pattern + 1000,
	       .len = 1000);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 2001, .ack = PEER_ISS + 1,
	       .data = pattern + 2000, .len = 500);
	EXPECT_NONE(h);
	h_free(h);
}

/* RFC9293:MUST-15: without an MSS option the send MSS is 536 (IPv4). */
static void test_established_send_default_mss_536(void)
{
	harness *h = h_new();

	fill_pattern();
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT_EQ(h_info(h, h->sd).snd_mss, 536);
	ASSERT_EQ(sf_send(h->stack, h->sd, pattern, 600), 600);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = pattern, .len = 536);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 537, .ack = PEER_ISS + 1,
	       .data = pattern + 536, .len = 64);
	h_free(h);
}

/* Sending stays within the peer's window; a window update releases more. */
static void test_established_send_within_peer_window(void)
{
	harness *h = h_new();

	fill_pattern();
	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .win = 100);
	ASSERT_EQ(sf_send(h->stack, h->sd, pattern, 300), 300);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = pattern, .len = 100);
	EXPECT_NONE(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 101, .win = 1000);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 101, .ack = PEER_ISS + 1,
	       .data = pattern + 100, .len = 200);
	h_free(h);
}

/* The send buffer is bounded: sf_send() takes what fits, then -EAGAIN. */
static void test_established_send_buffer_limit(void)
{
	harness *h = h_new();

	fill_pattern();
	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .zero_win = true);
	ASSERT_EQ(sf_send(h->stack, h->sd, pattern, 20000), 16384);
	ASSERT_EQ(sf_send(h->stack, h->sd, pattern, 10), -EAGAIN);
	ASSERT(!(sf_poll(h->stack, h->sd) & SF_POLLOUT));
	EXPECT_NONE(h);
	h_free(h);
}

/* The receive window is the free buffer space; reading re-opens it and a
 * window update is sent when it at least doubles (Linux tcp_cleanup_rbuf). */
static void test_established_recv_window_update(void)
{
	sf_config cfg;
	harness *h;
	char buf[2000];

	fill_pattern();
	sf_config_default(&cfg);
	cfg.rcvbuf = 2000;
	h = h_new_cfg(&cfg);
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460,
	       .win = 2000);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = pattern, .len = 1500);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1501, .win = 500);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, 1500), 1500);
	ASSERT_MEM_EQ(buf, pattern, 1500);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1501, .win = 2000);
	h_free(h);
}

/* RFC9293:SHLD-14: shrinking SO_RCVBUF does not move the right edge left. */
static void test_established_recv_window_never_shrinks(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_SO_RCVBUF, 1000), 0);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "abcd");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5, .win = 65535 - 4);
	h_free(h);
}

/* RFC 6298 §5: the earliest unacked segment is retransmitted after RTO
 * (1 s), then 2 s, 4 s later (backoff); an ACK stops the timer. */
static void test_established_timeout_data_backoff(void)
{
	harness *h = h_new();
	sf_tcp_info i;

	established(h);
	ASSERT_EQ(sf_send(h->stack, h->sd, "abc", 3), 3);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	ASSERT_EQ(sf_send(h->stack, h->sd, "de", 2), 2);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 4, .ack = PEER_ISS + 1, .data = "de");
	h_tick(h, 1 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abcde");
	h_tick(h, 3 * SEC - 1);
	EXPECT_NONE(h);
	h_tick(h, 3 * SEC);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abcde");
	i = h_info(h, h->sd);
	ASSERT_EQ(i.retransmits, 2);
	ASSERT_EQ(i.rto, 4 * SEC);
	ASSERT_EQ(i.total_retrans, 2);
	h_tick(h, 7 * SEC);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abcde");
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 6);
	i = h_info(h, h->sd);
	ASSERT_EQ(i.retransmits, 0);
	ASSERT_EQ(i.next_timer, UINT64_MAX);
	/* Karn (RFC6298:3): no RTT sample from the retransmitted segment. */
	ASSERT_EQ(i.rto, 8 * SEC);
	h_free(h);
}

/* RFC 6298 §2: RTT estimation from an unambiguous sample, clamped by rto_min. */
static void test_established_rtt_estimation(void)
{
	sf_config cfg;
	harness *h;

	sf_config_default(&cfg);
	cfg.rto_min = 200 * MS;
	h = h_new_cfg(&cfg);
	syn_received(h);
	h_advance(h, 100 * MS);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, NULL);
	/* First sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR. */
	ASSERT_EQ(h_info(h, h->sd).rto, 300 * MS);
	ASSERT_EQ(sf_send(h->stack, h->sd, "abc", 3), 3);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	h_advance(h, 100 * MS);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 4);
	/* Second sample 100 ms: RTTVAR = 3/4 * 50 = 37.5 ms, SRTT = 100 ms. */
	ASSERT_EQ(h_info(h, h->sd).rto, 250 * MS);
	h_free(h);
}

static void test_established_timeout_data_give_up(void)
{
	sf_config cfg;
	harness *h;
	size_t n = 0;
	char buf[4];

	sf_config_default(&cfg);
	cfg.retries2 = 4;
	h = h_new_cfg(&cfg);
	established(h);
	ASSERT_EQ(sf_send(h->stack, h->sd, "abc", 3), 3);
	h_tick(h, 1000 * SEC);
	while (h_pending(h)) {
		EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
		n++;
	}
	ASSERT_EQ(n, 1 + 4);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSED, SF_CAUSE_TIMEOUT_RETRANS));
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), -ETIMEDOUT);
	h_free(h);
}

/* RFC9293:MUST-21: TCP_USER_TIMEOUT (ms) bounds the retransmission time. */
static void test_established_timeout_user_timeout(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_setsockopt(h->stack, h->sd, SF_TCP_USER_TIMEOUT, 5000), 0);
	ASSERT_EQ(sf_send(h->stack, h->sd, "abc", 3), 3);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	h_tick(h, 3 * SEC);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	h_tick(h, 5 * SEC - 1);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	h_tick(h, 5 * SEC);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_ESTABLISHED, SF_CLOSED, SF_CAUSE_TIMEOUT_USER));
	h_free(h);
}

/* Data both ways between two engine stacks, byte for byte (DESIGN oracle 5). */
static void test_established_bulk_between_stacks(void)
{
	harness *a = h_new(), *b;
	sf_config cfg;
	uint8_t rx[70000];
	size_t got = 0, sent = 0;
	sf_endpoint local = { a->stack_addr, SERVER_PORT }, remote;
	int la, ca, cb = -1;

	fill_pattern();
	sf_config_default(&cfg);
	cfg.local4 = sf_addr_v4(10, 0, 0, 2);
	b = h_new_cfg(&cfg);
	b->isn = 777777;
	remote.addr = a->stack_addr;
	remote.port = SERVER_PORT;
	la = sf_socket(a->stack, SF_AF_INET);
	ASSERT_EQ(sf_bind(a->stack, la, &local), 0);
	ASSERT_EQ(sf_listen(a->stack, la, 4), 0);
	ca = sf_socket(b->stack, SF_AF_INET);
	ASSERT_EQ(sf_connect(b->stack, ca, &remote), -EINPROGRESS);
	for (int round = 0; round < 10000 && got < sizeof(pattern); round++) {
		/* Shuttle captured segments across, in order. */
		while (h_pending(a) || h_pending(b)) {
			while (h_pending(b)) {
				h_out *o = &b->out[b->out_head];

				sf_input(a->stack, &o->seg);
				free(o->payload);
				b->out_head = (b->out_head + 1) % H_MAX_OUT;
				b->out_count--;
			}
			while (h_pending(a)) {
				h_out *o = &a->out[a->out_head];

				sf_input(b->stack, &o->seg);
				free(o->payload);
				a->out_head = (a->out_head + 1) % H_MAX_OUT;
				a->out_count--;
			}
		}
		h_check(a);
		h_check(b);
		if (cb < 0)
			cb = sf_accept(a->stack, la, NULL);
		if (cb >= 0 && sent < sizeof(pattern)) {
			ssize_t n = sf_send(a->stack, cb, pattern + sent, sizeof(pattern) - sent);

			if (n > 0)
				sent += (size_t)n;
		}
		for (;;) {
			ssize_t n = sf_recv(b->stack, ca, rx + got, sizeof(rx) - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	ASSERT_EQ(got, sizeof(pattern));
	ASSERT_MEM_EQ(rx, pattern, sizeof(pattern));
	ASSERT_EQ(h_info(a, cb).total_retrans, 0);
	h_free(a);
	h_free(b);
}

int main(void)
{
	RUN_TEST(test_established_data_received_acked);
	RUN_TEST(test_established_data_duplicate_and_overlap);
	RUN_TEST(test_established_data_out_of_order_acked);
	RUN_TEST(test_established_send_data_acked);
	RUN_TEST(test_established_send_segmented_to_mss);
	RUN_TEST(test_established_send_default_mss_536);
	RUN_TEST(test_established_send_within_peer_window);
	RUN_TEST(test_established_send_buffer_limit);
	RUN_TEST(test_established_recv_window_update);
	RUN_TEST(test_established_recv_window_never_shrinks);
	RUN_TEST(test_established_timeout_data_backoff);
	RUN_TEST(test_established_rtt_estimation);
	RUN_TEST(test_established_timeout_data_give_up);
	RUN_TEST(test_established_timeout_user_timeout);
	RUN_TEST(test_established_bulk_between_stacks);
	return 0;
}
