/*
 * CLOSED, no connection (RFC 9293 §3.10.7.1, U-1): an RST is dropped, a
 * segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, any other gets
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; plus the address filters of
 * MUST-57/63 and raw packet input.
 */
#include <string.h>

#include "harness.h"

static void test_closed_rst_dropped(void)
{
	harness *h = h_new();

	SEND(h, .flags = SF_RST, .seq = 5);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 5, .ack = 9);
	EXPECT_NONE(h);
	h_free(h);
}

static void test_closed_ack_rst(void)
{
	harness *h = h_new();

	SEND(h, .flags = SF_ACK, .seq = 5, .ack = 4242, .data = "abc");
	EXPECT(h, .flags = SF_RST, .seq = 4242, .zero_win = true);
	h_free(h);
}

/* SEG.LEN counts the SYN and the FIN (seed 3). */
static void test_closed_syn_rst_ack(void)
{
	harness *h = h_new();
	sf_stats st;

	SEND(h, .flags = SF_SYN, .seq = 100);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 101, .zero_win = true);
	SEND(h, .flags = SF_SYN | SF_FIN, .seq = 100, .data = "abcd");
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 106);
	SEND(h, .flags = 0, .seq = 100);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 100);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.drops_no_conn, 3);
	h_free(h);
}

/* A socket that is only bound (CLOSED) does not take segments either. */
static void test_closed_bound_socket_rst(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_bind(h->stack, sd, &local), 0);
	SEND(h, .flags = SF_SYN, .seq = 1);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 2);
	h_free(h);
}

/* RFC9293:MUST-57/63: nothing for other hosts, from broadcast/multicast or
 * unspecified sources, or from port 0, is answered. */
static void test_closed_not_ours_dropped(void)
{
	harness *h = h_new();
	sf_stats st;

	h->stack_addr = sf_addr_v4(10, 0, 0, 99);
	SEND(h, .flags = SF_SYN, .seq = 1);
	h->stack_addr = sf_addr_v4(224, 0, 0, 1);
	SEND(h, .flags = SF_SYN, .seq = 1);
	h->stack_addr = sf_addr_v4(10, 0, 0, 1);
	h->peer_addr = sf_addr_v4(255, 255, 255, 255);
	SEND(h, .flags = SF_SYN, .seq = 1);
	h->peer_addr = sf_addr_v4(0, 0, 0, 0);
	SEND(h, .flags = SF_SYN, .seq = 1);
	h->peer_addr = sf_addr_v4(10, 0, 0, 2);
	h->peer_port = 0; /* port 0 is reserved */
	SEND(h, .flags = SF_SYN, .seq = 1);
	EXPECT_NONE(h);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.drops_not_ours, 5);
	h->peer_addr = sf_addr_v4(10, 0, 0, 2);
	h_free(h);
}

/* Raw packets: a good one is processed, a bad checksum is dropped and
 * counted (RFC9293:MUST-3). */
static void test_closed_input_packet(void)
{
	harness *h = h_new();
	sf_segment seg;
	uint8_t pkt[128];
	sf_emit_faults bad = { .bad_tcp_checksum = true };
	sf_stats st;
	int n;

	memset(&seg, 0, sizeof(seg));
	seg.src = h->peer_addr;
	seg.dst = h->stack_addr;
	seg.sport = PEER_PORT;
	seg.dport = SERVER_PORT;
	seg.seq = 7;
	seg.flags = SF_SYN;
	seg.window = 1000;
	n = sf_wire_emit(&seg, NULL, pkt, sizeof(pkt));
	ASSERT(n > 0);
	ASSERT_EQ(sf_input_packet(h->stack, pkt, (size_t)n), 0);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 8);
	n = sf_wire_emit(&seg, &bad, pkt, sizeof(pkt));
	ASSERT_EQ(sf_input_packet(h->stack, pkt, (size_t)n), SF_WIRE_ECSUM);
	EXPECT_NONE(h);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.drops_parse, 1);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_closed_rst_dropped);
	RUN_TEST(test_closed_ack_rst);
	RUN_TEST(test_closed_syn_rst_ack);
	RUN_TEST(test_closed_bound_socket_rst);
	RUN_TEST(test_closed_not_ours_dropped);
	RUN_TEST(test_closed_input_packet);
	return 0;
}
