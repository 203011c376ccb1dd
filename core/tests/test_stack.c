/*
 * The stack as a whole: state names (seed 15), the transition table, several
 * independent stacks in one process, byte-for-byte determinism, the memory
 * cap, ephemeral ports, IPv6, observation calls and API errors.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Seed 15: RFC names, `ss` names and `netstat` names. */
static void test_stack_state_names(void)
{
	static const struct {
		sf_state s;
		const char *rfc, *ss, *netstat;
	} names[] = {
		{ SF_CLOSED, "CLOSED", "UNCONN", "CLOSE" },
		{ SF_LISTEN, "LISTEN", "LISTEN", "LISTEN" },
		{ SF_SYN_SENT, "SYN-SENT", "SYN-SENT", "SYN_SENT" },
		{ SF_SYN_RECEIVED, "SYN-RECEIVED", "SYN-RECV", "SYN_RECV" },
		{ SF_ESTABLISHED, "ESTABLISHED", "ESTAB", "ESTABLISHED" },
		{ SF_FIN_WAIT_1, "FIN-WAIT-1", "FIN-WAIT-1", "FIN_WAIT1" },
		{ SF_FIN_WAIT_2, "FIN-WAIT-2", "FIN-WAIT-2", "FIN_WAIT2" },
		{ SF_CLOSE_WAIT, "CLOSE-WAIT", "CLOSE-WAIT", "CLOSE_WAIT" },
		{ SF_CLOSING, "CLOSING", "CLOSING", "CLOSING" },
		{ SF_LAST_ACK, "LAST-ACK", "LAST-ACK", "LAST_ACK" },
		{ SF_TIME_WAIT, "TIME-WAIT", "TIME-WAIT", "TIME_WAIT" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ASSERT_STR_EQ(sf_state_name(names[i].s), names[i].rfc);
		ASSERT_STR_EQ(sf_state_ss_name(names[i].s), names[i].ss);
		ASSERT_STR_EQ(sf_state_netstat_name(names[i].s), names[i].netstat);
	}
	ASSERT_STR_EQ(sf_state_name(SF_STATE_COUNT), "?");
	ASSERT_STR_EQ(sf_cause_name(SF_CAUSE_RCV_SYN_ACK), "rcv-syn-ack");
	ASSERT_STR_EQ(sf_errno_name(-ECONNREFUSED), "ECONNREFUSED");
	ASSERT_STR_EQ(sf_errno_name(ETIMEDOUT), "ETIMEDOUT");
	ASSERT_STR_EQ(sf_errno_name(-99999), "E?");
}

/* The state diagram: some edges and some non-edges. */
static void test_stack_transition_table(void)
{
	ASSERT(sf_transition_legal(SF_CLOSED, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE));
	ASSERT(sf_transition_legal(SF_SYN_SENT, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN));
	ASSERT(sf_transition_legal(SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_RST));
	ASSERT(sf_transition_legal(SF_FIN_WAIT_1, SF_CLOSING, SF_CAUSE_RCV_FIN));
	ASSERT(sf_transition_legal(SF_TIME_WAIT, SF_CLOSED, SF_CAUSE_TIMEOUT_TIME_WAIT));
	/* Figure 5's two rarer edges: OPEN in LISTEN (§3.10.1) and Note 2. */
	ASSERT(sf_transition_legal(SF_LISTEN, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE));
	ASSERT(sf_transition_legal(SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN));
	ASSERT(!sf_transition_legal(SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_ACK));
	ASSERT(!sf_transition_legal(SF_LISTEN, SF_SYN_SENT, SF_CAUSE_RCV_SYN));
	ASSERT(!sf_transition_legal(SF_CLOSED, SF_ESTABLISHED, SF_CAUSE_RCV_ACK));
	ASSERT(!sf_transition_legal(SF_LISTEN, SF_ESTABLISHED, SF_CAUSE_RCV_ACK));
	ASSERT(!sf_transition_legal(SF_ESTABLISHED, SF_TIME_WAIT, SF_CAUSE_RCV_FIN));
	ASSERT(!sf_transition_legal(SF_FIN_WAIT_2, SF_FIN_WAIT_1, SF_CAUSE_CLOSE));
	ASSERT(!sf_transition_legal(SF_ESTABLISHED, SF_CLOSE_WAIT, SF_CAUSE_RCV_RST));
	ASSERT(!sf_transition_legal(SF_STATE_COUNT, SF_CLOSED, SF_CAUSE_NONE));
}

/* A scripted conversation; returns the hash of every byte the stack sent. */
static uint64_t scripted_run(uint64_t *count)
{
	harness *h = h_new();
	uint64_t hash;
	char buf[64];

	established(h);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "GET /");
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 5);
	ASSERT_EQ(sf_send(h->stack, h->sd, "200 OK", 6), 6);
	h_advance(h, 1 * SEC);
	SEND(h, .flags = SF_RST, .seq = PEER_ISS + 9);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 6, .ack = STACK_ISS + 7);
	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	h_advance(h, 5 * SEC);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 6, .ack = STACK_ISS + 8);
	h_advance(h, 100 * SEC);
	hash = h->bytes_hash;
	*count = h->emitted;
	h_free(h);
	return hash;
}

/* Same inputs, same output bytes (DESIGN "Deterministic"). */
static void test_stack_determinism_byte_for_byte(void)
{
	uint64_t n1, n2, a = scripted_run(&n1), b = scripted_run(&n2);

	ASSERT(n1 >= 6);
	ASSERT_EQ(n1, n2);
	ASSERT_EQ(a, b);
}

/* Two stacks in one process do not share anything: connection ids, stats and
 * timers are per stack. */
static void test_stack_several_independent(void)
{
	harness *a = h_new(), *b = h_new();
	sf_stats sa, sb;

	established(a);
	listening(b);
	SEND(b, .flags = SF_SYN, .seq = 1);
	EXPECT(b, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = 2, .mss = 1460);
	ASSERT_EQ(h_info(a, a->sd).conn_id, 2); /* listener 1, connection 2 */
	sf_get_stats(a->stack, &sa);
	sf_get_stats(b->stack, &sb);
	ASSERT_EQ(sa.segs_in, 2);
	ASSERT_EQ(sb.segs_in, 1);
	ASSERT_EQ(sf_next_timer(a->stack), UINT64_MAX);
	ASSERT_EQ(sf_next_timer(b->stack), 1 * SEC);
	h_free(a);
	h_free(b);
}

/* The memory cap refuses new connections (SYN dropped) and sockets. */
static void test_stack_mem_limit(void)
{
	sf_config cfg;
	harness *h;
	sf_mem_info m;
	sf_stats st;

	sf_config_default(&cfg);
	cfg.mem_limit = 1;
	h = h_new_cfg(&cfg);
	ASSERT_EQ(sf_socket(h->stack, SF_AF_INET), -ENOMEM);
	h_free(h);
	sf_config_default(&cfg);
	h = h_new();
	sf_get_mem(h->stack, &m);
	cfg.mem_limit = m.tcb_size; /* room for the listener only */
	h_free(h);
	h = h_new_cfg(&cfg);
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	EXPECT_NONE(h);
	sf_get_stats(h->stack, &st);
	ASSERT_EQ(st.drops_mem, 1);
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.in_use, m.tcb_size);
	ASSERT_EQ(m.limit, m.tcb_size);
	h_free(h);
}

/* Ephemeral ports are handed out in order and skip ports in use. */
static void test_stack_ephemeral_ports_deterministic(void)
{
	harness *h = h_new();
	sf_endpoint remote = { h->peer_addr, SERVER_PORT };
	sf_endpoint taken = { h->stack_addr, EPHEMERAL_PORT + 1 };
	int a = sf_socket(h->stack, SF_AF_INET), b = sf_socket(h->stack, SF_AF_INET);
	int c = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_bind(h->stack, c, &taken), 0);
	ASSERT_EQ(sf_connect(h->stack, a, &remote), -EINPROGRESS);
	ASSERT_EQ(sf_connect(h->stack, b, &remote), -EINPROGRESS);
	ASSERT_EQ(h_info(h, a).local.port, EPHEMERAL_PORT);
	ASSERT_EQ(h_info(h, b).local.port, EPHEMERAL_PORT + 2);
	h_free(h);
}

/* IPv6: active open advertising MSS 1440 (MUST-67: MTU 1500 - 40 - 20),
 * and MSS 1220 without an MSS option from the peer (MUST-15). */
static void test_syn_sent_ipv6(void)
{
	sf_config cfg;
	harness *h;
	sf_endpoint remote;
	int sd;

	sf_config_default(&cfg);
	ASSERT_EQ(sf_addr_parse("2001:db8::1", &cfg.local6), 0);
	h = h_new_cfg(&cfg);
	h->stack_addr = cfg.local6;
	ASSERT_EQ(sf_addr_parse("2001:db8::2", &h->peer_addr), 0);
	remote.addr = h->peer_addr;
	remote.port = SERVER_PORT;
	sd = sf_socket(h->stack, SF_AF_INET6);
	ASSERT_EQ(sf_connect(h->stack, sd, &remote), -EINPROGRESS);
	h->sd = sd;
	h->stack_port = EPHEMERAL_PORT;
	h->peer_port = SERVER_PORT;
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1440);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_info(h, sd).snd_mss, 1220);
	h_free(h);
}

/* API errors follow Linux. */
static void test_stack_api_errors(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	sf_endpoint mcast = { sf_addr_v4(224, 0, 0, 1), 80 };
	sf_endpoint remote = { h->peer_addr, 80 };
	char buf[4];
	int a, b, v;

	ASSERT_EQ(sf_socket(h->stack, 5), -EAFNOSUPPORT);
	ASSERT_EQ(sf_close(h->stack, 42), -EBADF);
	a = sf_socket(h->stack, SF_AF_INET);
	b = sf_socket(h->stack, SF_AF_INET);
	ASSERT_EQ(sf_recv(h->stack, a, buf, sizeof(buf)), -ENOTCONN);
	ASSERT_EQ(sf_send(h->stack, a, "x", 1), -EPIPE);
	ASSERT_EQ(sf_accept(h->stack, a, NULL), -EINVAL);
	ASSERT_EQ(sf_bind(h->stack, a, &local), 0);
	ASSERT_EQ(sf_bind(h->stack, a, &local), -EINVAL);
	ASSERT_EQ(sf_bind(h->stack, b, &local), -EADDRINUSE);
	ASSERT_EQ(sf_connect(h->stack, b, &mcast), -ENETUNREACH); /* MUST-46 */
	/* Our own address: no loopback, nothing would answer (a fuzz find). */
	ASSERT_EQ(sf_connect(h->stack, b, &(sf_endpoint){ h->stack_addr, 80 }), -ENETUNREACH);
	ASSERT_EQ(sf_listen(h->stack, a, 0), 0);
	ASSERT_EQ(sf_recv(h->stack, a, buf, sizeof(buf)), -ENOTCONN);
	ASSERT_EQ(sf_connect(h->stack, a, &remote), -EISCONN);
	ASSERT_EQ(sf_connect(h->stack, b, &remote), -EINPROGRESS);
	ASSERT_EQ(sf_connect(h->stack, b, &remote), -EALREADY);
	ASSERT_EQ(sf_getsockopt(h->stack, b, SF_SO_ERROR, &v), 0);
	ASSERT_EQ(v, 0);
	/* A refused attempt reports its error to the next connect() once. */
	h->stack_port = EPHEMERAL_PORT;
	h->peer_port = 80;
	SEND(h, .flags = SF_RST | SF_ACK, .seq = 0, .ack = STACK_ISS + 1);
	ASSERT_EQ(sf_connect(h->stack, b, &remote), -ECONNREFUSED);
	ASSERT_EQ(sf_connect(h->stack, b, &remote), -EINPROGRESS);
	ASSERT_EQ(sf_setsockopt(h->stack, b, SF_SO_ERROR, 1), -ENOPROTOOPT);
	ASSERT_EQ(sf_setsockopt(h->stack, b, SF_TCP_MAXSEG, 10), -EINVAL);
	h_free(h);
}

/* sf_stack_free() releases everything still held, in any state: SYN-queue
 * entries with queued SYN text, accept queues, buffers, TIME-WAIT (LSan
 * checks that nothing leaks). */
static void test_stack_free_with_everything_held(void)
{
	harness *h = h_new();
	sf_stack *s;

	established(h);
	ASSERT_EQ(sf_send(h->stack, h->sd, "unacked", 7), 7);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "unread");
	h_use_peer(h, PEER_PORT + 1);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .data = "syn text");
	h_use_peer(h, PEER_PORT + 2);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1, .data = "queued");
	h_check(h);
	s = h->stack;
	sf_stack_free(s);
	h_clear(h);
	free(h);
}

/* Only one socket may listen on a port, even with SO_REUSEADDR. */
static void test_stack_listen_port_conflict(void)
{
	harness *h = h_new();
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	int a = sf_socket(h->stack, SF_AF_INET), b = sf_socket(h->stack, SF_AF_INET);

	ASSERT_EQ(sf_setsockopt(h->stack, a, SF_SO_REUSEADDR, 1), 0);
	ASSERT_EQ(sf_setsockopt(h->stack, b, SF_SO_REUSEADDR, 1), 0);
	ASSERT_EQ(sf_bind(h->stack, a, &local), 0);
	ASSERT_EQ(sf_bind(h->stack, b, &local), 0);
	ASSERT_EQ(sf_listen(h->stack, a, 4), 0);
	ASSERT_EQ(sf_listen(h->stack, b, 4), -EADDRINUSE);
	h_free(h);
}

/* sf_foreach_conn() lists listeners, SYN-queue entries and connections. */
static void visit(void *ctx, const sf_tcp_info *info)
{
	int *counts = ctx;

	counts[info->state]++;
}

static void test_stack_foreach_conn(void)
{
	harness *h = h_new();
	int counts[SF_STATE_COUNT] = { 0 };

	established(h);
	h_use_peer(h, PEER_PORT + 1);
	SEND(h, .flags = SF_SYN, .seq = 1);
	sf_foreach_conn(h->stack, visit, counts);
	ASSERT_EQ(counts[SF_LISTEN], 1);
	ASSERT_EQ(counts[SF_ESTABLISHED], 1);
	ASSERT_EQ(counts[SF_SYN_RECEIVED], 1);
	ASSERT_EQ(h_info(h, h->listener).state, SF_LISTEN);
	h_free(h);
}

/* A clock that goes back is ignored; timers fire at their own times. */
static void test_stack_tick_monotonic(void)
{
	harness *h = h_new();

	syn_sent(h);
	h_tick(h, 5 * SEC);
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460); /* at 1 s */
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460); /* at 3 s */
	EXPECT_NONE(h);
	h_tick(h, 2 * SEC);
	ASSERT_EQ(sf_now(h->stack), 5 * SEC);
	ASSERT_EQ(sf_next_timer(h->stack), 7 * SEC);
	h_free(h);
}

int main(void)
{
	RUN_TEST(test_stack_state_names);
	RUN_TEST(test_stack_transition_table);
	RUN_TEST(test_stack_determinism_byte_for_byte);
	RUN_TEST(test_stack_several_independent);
	RUN_TEST(test_stack_mem_limit);
	RUN_TEST(test_stack_ephemeral_ports_deterministic);
	RUN_TEST(test_syn_sent_ipv6);
	RUN_TEST(test_stack_api_errors);
	RUN_TEST(test_stack_free_with_everything_held);
	RUN_TEST(test_stack_listen_port_conflict);
	RUN_TEST(test_stack_foreach_conn);
	RUN_TEST(test_stack_tick_monotonic);
	return 0;
}
