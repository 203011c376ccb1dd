/*
 * LISTEN and the SYN queue (RFC 9293 §3.10.7.2): passive open (seed 1), the
 * LISTEN rules U-2..U-5, the bounded SYN and accept queues, SYN-ACK
 * retransmission with backoff and give-up, and a SYN flood (seed 11).
 */
#include "harness.h"

/* Seed 1: CLOSED -> LISTEN -> SYN-RECEIVED (SYN-ACK seq=y ack=x+1, one
 * SYN-queue entry) -> ESTABLISHED on ack=y+1, moved to the accept queue. */
static void test_listen_syn_passive_open(void)
{
	harness *h = h_new();
	sf_mem_info m;
	sf_endpoint peer;

	listening(h);
	ASSERT(h_saw(h, SF_CLOSED, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE));
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1460);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT(h_saw(h, SF_LISTEN, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN));
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	ASSERT_EQ(sf_accept(h->stack, h->listener, &peer), -EAGAIN);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_CAUSE_RCV_ACK));
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 0);
	ASSERT(sf_poll(h->stack, h->listener) & SF_POLLIN);
	h->sd = sf_accept(h->stack, h->listener, &peer);
	ASSERT(h->sd >= 0);
	ASSERT(sf_addr_eq(&peer.addr, &h->peer_addr));
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	ASSERT_EQ(h_info(h, h->sd).from_listen, true);
	ASSERT_EQ(h_info(h, h->sd).snd_mss, 1460);
	h_free(h);
}

/* RFC9293:U-2: an RST at a listener is ignored. */
static void test_listen_rst_ignored(void)
{
	harness *h = h_new();

	listening(h);
	SEND(h, .flags = SF_RST, .seq = 1);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 1, .ack = 7);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	h_free(h);
}

/* RFC9293:U-3: an ACK at a listener gets <SEQ=SEG.ACK><CTL=RST>. */
static void test_listen_ack_rst(void)
{
	harness *h = h_new();

	listening(h);
	SEND(h, .flags = SF_ACK, .seq = 1234, .ack = 777);
	EXPECT(h, .flags = SF_RST, .seq = 777);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = 1234, .ack = 999);
	EXPECT(h, .flags = SF_RST, .seq = 999);
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	h_free(h);
}

/* RFC9293:U-4: text on a SYN is queued: the SYN-ACK acknowledges only the
 * SYN (and carries only the MSS option); once ESTABLISHED the text is
 * delivered and acknowledged. */
static void test_listen_syn_with_data_queued(void)
{
	harness *h = h_new();
	char buf[16];
	int sd;

	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .data = "hello");
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460,
	       .win = 65535);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 6);
	sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), 5);
	ASSERT_MEM_EQ(buf, "hello", 5);
	h_free(h);
}

/* The peer may resend the SYN's text on the third ACK: it is not delivered
 * twice. */
static void test_listen_syn_with_data_resent(void)
{
	harness *h = h_new();
	char buf[16];
	int sd;

	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .data = "hello");
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "hello!");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 7);
	sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), 6);
	ASSERT_MEM_EQ(buf, "hello!", 6);
	h_free(h);
}

/* RFC9293:U-5: no SYN, ACK or RST: dropped silently. */
static void test_listen_other_dropped(void)
{
	harness *h = h_new();

	listening(h);
	SEND(h, .flags = SF_FIN, .seq = 5);
	SEND(h, .flags = SF_PSH, .seq = 5, .data = "x");
	SEND(h, .flags = 0, .seq = 5);
	EXPECT_NONE(h);
	h_free(h);
}

/* Seed 11: the SYN-ACK is resent at 1, 3, 7, 15, 31 s (intervals 1, 2, 4, 8,
 * 16 s) and the entry is dropped at 63 s after synack_retries (5). */
static void test_syn_received_timeout_synack_backoff(void)
{
	harness *h = h_new();
	const uint64_t at[] = { 1, 3, 7, 15, 31 };
	sf_mem_info m;

	syn_received(h);
	for (size_t i = 0; i < 5; i++) {
		h_tick(h, at[i] * SEC - 1);
		EXPECT_NONE(h);
		h_tick(h, at[i] * SEC);
		EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1,
		       .mss = 1460);
	}
	h_tick(h, 63 * SEC - 1);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	h_tick(h, 63 * SEC);
	EXPECT_NONE(h);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 0);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_CLOSED, SF_CAUSE_TIMEOUT_RETRANS));
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	h_free(h);
}

/* Seed 11: the SYN queue is bounded by the backlog; a flood of SYNs from
 * many ports at a full queue is dropped silently and memory stays flat. */
static void test_listen_syn_flood_bounded(void)
{
	harness *h = h_new();
	sf_mem_info before, after;
	sf_stats st;

	listening(h); /* backlog 8 */
	for (uint16_t p = 0; p < 8; p++) {
		SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .sport = (uint16_t)(1000 + p));
		EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1,
		       .mss = 1460, .dport = (uint16_t)(1000 + p));
	}
	sf_get_mem(h->stack, &before);
	ASSERT_EQ(before.half_open, 8);
	for (uint16_t p = 0; p < 5000; p++)
		SEND(h, .flags = SF_SYN, .seq = PEER_ISS + p, .sport = (uint16_t)(2000 + p));
	EXPECT_NONE(h);
	sf_get_mem(h->stack, &after);
	ASSERT_EQ(after.half_open, 8);
	ASSERT_EQ(after.in_use, before.in_use);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.drops_syn_queue_full, 5000);
	h_free(h);
}

/* A half-open entry is much smaller than a full control block. */
static void test_listen_entry_sizes(void)
{
	harness *h = h_new();
	sf_mem_info m;

	sf_get_mem(h->stack, &m);
	ASSERT(m.half_open_size < 512);
	ASSERT(m.tcb_size < 1024);
	ASSERT(m.half_open_size < m.tcb_size);
	h_free(h);
}

/* Accept queue full: the third ACK is dropped, the entry stays half-open
 * and its SYN-ACK is retransmitted (Linux tcp_abort_on_overflow = 0); once
 * the application accepts, the next ACK completes the handshake. */
static void syn_from(harness *h, uint16_t port)
{
	h_use_peer(h, port);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
}

static void ack_from(harness *h, uint16_t port)
{
	h_use_peer(h, port);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
}

static void test_syn_received_ack_accept_queue_full(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, SERVER_PORT }, peer;
	int l = sf_socket(h->stack, SF_AF_INET);
	sf_mem_info m;

	ASSERT_EQ(sf_bind(h->stack, l, &local), 0);
	ASSERT_EQ(sf_listen(h->stack, l, 2), 0); /* accept queue holds backlog + 1 = 3 */
	h->listener = l;
	syn_from(h, 1);
	ack_from(h, 1);
	syn_from(h, 2);
	ack_from(h, 2);
	syn_from(h, 3);
	syn_from(h, 4);
	ack_from(h, 3); /* the accept queue is now full */
	ack_from(h, 4); /* dropped: stays half-open */
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	/* A new SYN at a full accept queue is dropped. */
	h_use_peer(h, 5);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT_NONE(h);
	h_use_peer(h, 4);
	h_tick(h, 1 * SEC);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	EXPECT_NONE(h);
	ASSERT(sf_accept(h->stack, l, &peer) >= 0);
	ASSERT_EQ(peer.port, 1);
	ack_from(h, 4);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 0);
	ASSERT(sf_accept(h->stack, l, &peer) >= 0);
	ASSERT(sf_accept(h->stack, l, &peer) >= 0);
	ASSERT(sf_accept(h->stack, l, &peer) >= 0);
	ASSERT_EQ(peer.port, 4);
	ASSERT_EQ(sf_accept(h->stack, l, &peer), -EAGAIN);
	h_free(h);
}

/* Closing a listener drops SYN-queue entries silently and resets children
 * that were never accepted (Linux inet_csk_listen_stop()). */
static void test_listen_close_resets_children(void)
{
	harness *h = h_new();

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h_use_peer(h, PEER_PORT + 1);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT_EQ(sf_close(h->stack, h->listener), 0);
	h_use_peer(h, PEER_PORT);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .zero_win = true);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_LISTEN, SF_CLOSED, SF_CAUSE_CLOSE));
	/* The port is closed now: U-1. */
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = PEER_ISS + 1);
	h_free(h);
}

/* A connection reset while it waits in the accept queue is still handed
 * out by accept(), which then reports the reset (Linux). */
static void test_established_rst_before_accept(void)
{
	harness *h = h_new();
	char buf[4];
	int sd;

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	EXPECT_NONE(h);
	sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT(sd >= 0);
	ASSERT_EQ(h_state(h, sd), SF_CLOSED);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), -ECONNRESET);
	h_free(h);
}

/* A FIN that arrives before accept() is seen by the application. */
static void test_established_fin_before_accept(void)
{
	harness *h = h_new();
	char buf[8];
	int sd;

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "req");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 4);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 4, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5);
	sd = sf_accept(h->stack, h->listener, NULL);
	ASSERT_EQ(h_state(h, sd), SF_CLOSE_WAIT);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), 3);
	ASSERT_EQ(sf_recv(h->stack, sd, buf, sizeof(buf)), 0);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_listen_syn_passive_open);
	RUN_TEST(test_listen_rst_ignored);
	RUN_TEST(test_listen_ack_rst);
	RUN_TEST(test_listen_syn_with_data_queued);
	RUN_TEST(test_listen_syn_with_data_resent);
	RUN_TEST(test_listen_other_dropped);
	RUN_TEST(test_syn_received_timeout_synack_backoff);
	RUN_TEST(test_listen_syn_flood_bounded);
	RUN_TEST(test_listen_entry_sizes);
	RUN_TEST(test_syn_received_ack_accept_queue_full);
	RUN_TEST(test_listen_close_resets_children);
	RUN_TEST(test_established_rst_before_accept);
	RUN_TEST(test_established_fin_before_accept);
	return 0;
}
