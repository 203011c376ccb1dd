/*
 * Active OPEN on a listening connection (RFC 9293 §3.10.1, OPEN call, LISTEN
 * STATE; Figure 5's LISTEN -> SYN-SENT edge): refused with EISCONN by
 * default, as on Linux; with cfg.listen_active_open the listener becomes the
 * connecting socket ("change the connection from passive to active, select
 * an ISS. Send a SYN segment, set SND.UNA to ISS, SND.NXT to ISS+1. Enter
 * SYN-SENT state"), refused with EBUSY while its queues hold connections.
 */
#include "harness.h"

static harness *h_new_listen_active(void)
{
	sf_config cfg;

	sf_config_default(&cfg);
	cfg.listen_active_open = true;
	return h_new_cfg(&cfg);
}

static sf_endpoint peer_at(const harness *h, uint16_t port)
{
	sf_endpoint e = { h->peer_addr, port };

	return e;
}

/* A SYN from peer port `port` is answered with a SYN-ACK: still listening. */
static void assert_still_listening(harness *h, uint16_t port)
{
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .sport = port);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460,
	       .dport = port);
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
}

/* Default: connect() on a listener fails as on Linux (EISCONN) and changes
 * nothing; the listener goes on answering SYNs. */
static void test_listen_connect_refused_by_default(void)
{
	harness *h = h_new();
	sf_endpoint remote;

	listening(h);
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EISCONN);
	EXPECT_NONE(h);
	ASSERT(!h_saw(h, SF_LISTEN, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE));
	assert_still_listening(h, PEER_PORT + 1);
	h_free(h);
}

/* §3.10.1 OPEN in LISTEN: LISTEN -> SYN-SENT (open-active), the SYN
 * <SEQ=ISS><CTL=SYN> leaves from the listener's port, SND.UNA = ISS and
 * SND.NXT = ISS+1; the connection keeps its conn_id (the same connection
 * changed from passive to active) and completes like any active open. */
static void test_listen_connect_active_open(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote;
	sf_tcp_info before, i;
	char buf[8];

	listening(h);
	before = h_info(h, h->listener);
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460, .win = 65535);
	EXPECT_NONE(h);
	ASSERT_EQ(h->trans[h->ntrans - 1].from, SF_LISTEN);
	ASSERT_EQ(h->trans[h->ntrans - 1].to, SF_SYN_SENT);
	ASSERT_EQ(h->trans[h->ntrans - 1].cause, SF_CAUSE_OPEN_ACTIVE);
	ASSERT_EQ(h->trans[h->ntrans - 1].conn_id, before.conn_id);
	i = h_info(h, h->listener);
	ASSERT_EQ(i.state, SF_SYN_SENT);
	ASSERT_EQ(i.conn_id, before.conn_id);
	ASSERT_EQ(i.iss, STACK_ISS);
	ASSERT_EQ(i.snd_una, STACK_ISS);
	ASSERT_EQ(i.snd_nxt, STACK_ISS + 1);
	ASSERT_EQ(i.local.port, SERVER_PORT);
	ASSERT_EQ(i.remote.port, PEER_PORT);
	ASSERT_EQ(i.from_listen, false);
	/* It is no listener any more. */
	ASSERT_EQ(sf_accept(h->stack, h->listener, NULL), -EINVAL);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EALREADY);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .mss = 1460);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_ESTABLISHED, SF_CAUSE_RCV_SYN_ACK));
	ASSERT_EQ(sf_send(h->stack, h->listener, "hi", 2), 2);
	EXPECT(h, .flags = SF_ACK | SF_PSH, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1, .data = "hi");
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 3, .data = "yo");
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 3, .ack = PEER_ISS + 3);
	ASSERT_EQ(sf_recv(h->stack, h->listener, buf, sizeof(buf)), 2);
	ASSERT_MEM_EQ(buf, "yo", 2);
	h_free(h);
}

/* Once the port is the active connection's, a SYN from another peer finds
 * no listener and no TCB: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (U-1). */
static void test_listen_connect_no_longer_accepts(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote;

	listening(h);
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	SEND(h, .flags = SF_SYN, .seq = 777, .sport = PEER_PORT + 1);
	EXPECT(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = 778, .dport = PEER_PORT + 1);
	EXPECT_NONE(h);
	h_free(h);
}

/* The listener's queued connections are never dropped by the change: with a
 * SYN-queue entry, and then with an established connection not yet
 * accepted, connect() fails with EBUSY and the listener carries on. */
static void test_listen_connect_busy_with_queued(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote, peer;
	sf_mem_info m;
	int sd;

	syn_received(h);
	remote = peer_at(h, PEER_PORT + 5);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EBUSY);
	EXPECT_NONE(h);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.half_open, 1);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EBUSY);
	ASSERT_EQ(h_state(h, h->listener), SF_LISTEN);
	sd = sf_accept(h->stack, h->listener, &peer);
	ASSERT(sd >= 0);
	/* Queues empty: the change is made; the accepted connection stays. */
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460, .dport = PEER_PORT + 5);
	ASSERT_EQ(h_state(h, sd), SF_ESTABLISHED);
	ASSERT_EQ(h_state(h, h->listener), SF_SYN_SENT);
	h_free(h);
}

/* The 4-tuple of a connection the listener accepted is taken: connecting
 * the listener to that same peer fails (EADDRNOTAVAIL) and the listener
 * stays, as it does for every other refused OPEN (MUST-46: ENETUNREACH for a
 * multicast address; EAFNOSUPPORT for the other family). */
static void test_listen_connect_failure_keeps_listening(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote, group = { sf_addr_v4(224, 0, 0, 1), 80 }, v6 = { { 0 }, 80 };

	established(h);
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EADDRNOTAVAIL);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &group), -ENETUNREACH);
	ASSERT_EQ(sf_addr_parse("2001:db8::2", &v6.addr), 0);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &v6), -EAFNOSUPPORT);
	EXPECT_NONE(h);
	ASSERT(!h_saw(h, SF_LISTEN, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE));
	assert_still_listening(h, PEER_PORT + 1);
	h_free(h);
}

/* A listener on the wildcard address sends its SYN from the stack's own
 * address, as connect() without bind does. */
static void test_listen_connect_wildcard_local(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint any = { { .family = SF_AF_INET }, SERVER_PORT }, remote;
	int sd = sf_socket(h->stack, SF_AF_INET);
	sf_tcp_info i;

	ASSERT(sd >= 0);
	ASSERT_EQ(sf_bind(h->stack, sd, &any), 0);
	ASSERT_EQ(sf_listen(h->stack, sd, 4), 0);
	h->listener = sd;
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, sd, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	i = h_info(h, sd);
	ASSERT(sf_addr_eq(&i.local.addr, &h->stack_addr));
	h_free(h);
}

/* U-7: the peer refuses (RST with an acceptable ACK): SYN-SENT -> CLOSED,
 * ECONNREFUSED. The socket may then listen again, as a new connection. */
static void test_listen_connect_refused_then_listen_again(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote;
	uint32_t id;
	int err = 0;

	listening(h);
	id = h_info(h, h->listener).conn_id;
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_CLOSED, SF_CAUSE_RCV_RST));
	ASSERT_EQ(sf_getsockopt(h->stack, h->listener, SF_SO_ERROR, &err), 0);
	ASSERT_EQ(err, ECONNREFUSED);
	/* CLOSED released the port, so listen() binds an ephemeral one (as
	 * after any failed connect()). */
	ASSERT_EQ(sf_listen(h->stack, h->listener, 4), 0);
	ASSERT_NE(h_info(h, h->listener).conn_id, id);
	ASSERT_EQ(h->trans[h->ntrans - 1].from, SF_CLOSED);
	ASSERT_EQ(h->trans[h->ntrans - 1].to, SF_LISTEN);
	h->stack_port = h_info(h, h->listener).local.port;
	assert_still_listening(h, PEER_PORT + 1);
	h_free(h);
}

/* Simultaneous open from there (MUST-10): SYN-SENT + SYN -> SYN-RECEIVED,
 * which came from SYN-SENT, not LISTEN (MUST-11), so a reset then refuses
 * the connection (U-11: CLOSED, ECONNREFUSED) instead of going back to LISTEN. */
static void test_listen_connect_simultaneous_open_rst(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote;
	int err = 0;

	listening(h);
	remote = peer_at(h, PEER_PORT);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1460);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460);
	ASSERT(h_saw(h, SF_SYN_SENT, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN));
	ASSERT_EQ(h_info(h, h->listener).from_listen, false);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 1);
	ASSERT(h_saw(h, SF_SYN_RECEIVED, SF_CLOSED, SF_CAUSE_RCV_RST));
	ASSERT(!h_saw(h, SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_RST));
	ASSERT_EQ(sf_getsockopt(h->stack, h->listener, SF_SO_ERROR, &err), 0);
	ASSERT_EQ(err, ECONNREFUSED);
	h_free(h);
}

/* The SYN is retransmitted on RTO (RFC6298:2.1, 1 s) like any active open's. */
static void test_listen_connect_syn_retransmitted(void)
{
	harness *h = h_new_listen_active();
	sf_endpoint remote;
	uint64_t t;

	listening(h);
	remote = peer_at(h, PEER_PORT);
	t = sf_now(h->stack);
	ASSERT_EQ(sf_connect(h->stack, h->listener, &remote), -EINPROGRESS);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	ASSERT_EQ(sf_next_timer(h->stack), t + 1 * SEC);
	h_tick(h, t + 1 * SEC);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_listen_connect_refused_by_default);
	RUN_TEST(test_listen_connect_active_open);
	RUN_TEST(test_listen_connect_no_longer_accepts);
	RUN_TEST(test_listen_connect_busy_with_queued);
	RUN_TEST(test_listen_connect_failure_keeps_listening);
	RUN_TEST(test_listen_connect_wildcard_local);
	RUN_TEST(test_listen_connect_refused_then_listen_again);
	RUN_TEST(test_listen_connect_simultaneous_open_rst);
	RUN_TEST(test_listen_connect_syn_retransmitted);
	return 0;
}
