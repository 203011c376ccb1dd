/*
 * Half-close with shutdown() (seed 10, RFC9293:MAY-1): SHUT_WR sends a FIN
 * and keeps receiving; SHUT_RD makes recv() return end of stream while data
 * is still ACKed and queued (Linux); SHUT_RDWR does both, after which new
 * data is answered with an RST (Linux, SHLD-3).
 */
#include "harness.h"

/* SHUT_WR: FIN goes out, data from the peer still arrives and is read. */
static void test_established_shutdown_wr(void)
{
	harness *h = h_new();
	char buf[16];

	established(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(sf_send(h->stack, h->sd, "x", 1), -EPIPE);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "still");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 6);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 5);
	ASSERT_MEM_EQ(buf, "still", 5);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 6, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 7);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
	h_free(h);
}

/* SHUT_WR with queued data: the FIN follows the data, on the last segment. */
static void test_established_shutdown_wr_after_data(void)
{
	harness *h = h_new();

	established(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .win = 3);
	ASSERT_EQ(sf_send(h->stack, h->sd, "abcdef", 6), 6);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "abc");
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT_NONE(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 4, .win = 100);
	EXPECT(h, .flags = SF_ACK | SF_PSH | SF_FIN, .seq = STACK_ISS + 4, .ack = PEER_ISS + 1,
	       .data = "def");
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 8);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_2);
	h_free(h);
}

/* SHUT_RD: recv() returns 0 once the queue is empty, but data that arrives
 * is still ACKed and queued, as Linux does; the state does not change. */
static void test_established_shutdown_rd(void)
{
	harness *h = h_new();
	char buf[16];

	established(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_RD), 0);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "more");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 4);
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 0);
	ASSERT_EQ(sf_send(h->stack, h->sd, "ok", 2), 2);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 5, .data = "ok");
	h_free(h);
}

/* SHUT_RDWR: FIN goes out; new data afterwards is answered by an RST. */
static void test_established_shutdown_rdwr(void)
{
	harness *h = h_new();

	established(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_RDWR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT(sf_poll(h->stack, h->sd) & SF_POLLHUP);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2, .data = "x");
	EXPECT(h, .flags = SF_RST, .seq = STACK_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* shutdown() errors and the special states (Linux inet_shutdown()). */
static void test_closed_shutdown_errors(void)
{
	harness *h = h_new();
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_shutdown(h->stack, sd, SF_SHUT_WR), -ENOTCONN);
	ASSERT_EQ(sf_shutdown(h->stack, sd, 7), -EINVAL);
	ASSERT_EQ(sf_shutdown(h->stack, 99, SF_SHUT_WR), -EBADF);
	h_free(h);
	/* SHUT_RD on a listener stops it. */
	h = h_new();
	listening(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->listener, SF_SHUT_RD), 0);
	ASSERT_EQ(h_state(h, h->listener), SF_CLOSED);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = PEER_ISS + 1);
	h_free(h);
	/* shutdown in SYN-SENT disconnects without sending anything. */
	h = h_new();
	syn_sent(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	h_free(h);
}

/* CLOSE-WAIT + SHUT_WR -> LAST-ACK (the handle stays open). */
static void test_close_wait_shutdown_wr_last_ack(void)
{
	harness *h = h_new();

	last_ack(h);
	ASSERT(h_saw(h, SF_CLOSE_WAIT, SF_LAST_ACK, SF_CAUSE_CLOSE));
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 2, .ack = STACK_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSED);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_established_shutdown_wr);
	RUN_TEST(test_established_shutdown_wr_after_data);
	RUN_TEST(test_established_shutdown_rd);
	RUN_TEST(test_established_shutdown_rdwr);
	RUN_TEST(test_closed_shutdown_errors);
	RUN_TEST(test_close_wait_shutdown_wr_last_ack);
	return 0;
}
