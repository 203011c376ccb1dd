/*
 * The binary fuzz form (tools/scenario/binary.c, format in targets/README.md).
 *
 * Checks: events -> binary -> events gives the same events, field by field;
 * the decoder is total (random, truncated and hostile byte strings all
 * decode) and its output is canonical (binary -> events -> binary ->
 * events -> binary is stable after one pass); the documented layout (header,
 * tags modulo 3, extended lengths, zero-filled short bodies, wait units,
 * timer waits, the three number modes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "check.h"

/* ---- Event comparison, field by field ---- */

static void assert_num_eq(sc_num a, sc_num b)
{
	ASSERT_EQ(a.mode, b.mode);
	ASSERT_EQ(a.value, b.value);
}

static void assert_packet_eq(const sc_packet *a, const sc_packet *b)
{
	ASSERT_EQ(a->flags, b->flags);
	assert_num_eq(a->seq, b->seq);
	assert_num_eq(a->ack, b->ack);
	ASSERT_EQ(a->len, b->len);
	ASSERT_EQ(a->has_ack, b->has_ack);
	ASSERT_EQ(a->has_win, b->has_win);
	ASSERT_EQ(a->win, b->win);
	ASSERT_EQ(a->has_urg, b->has_urg);
	ASSERT_EQ(a->urg, b->urg);
	ASSERT_EQ(a->opts_mode, b->opts_mode);
	ASSERT_EQ(a->opt_len, b->opt_len);
	ASSERT_MEM_EQ(a->opt_raw, b->opt_raw, a->opt_len);
	ASSERT_EQ(a->sport, b->sport);
	ASSERT_EQ(a->dport, b->dport);
	ASSERT_EQ(a->conn, b->conn);
	ASSERT_EQ(a->tos_check, b->tos_check);
	ASSERT_EQ(a->tos, b->tos);
	ASSERT_EQ(a->has_ttl, b->has_ttl);
	ASSERT_EQ(a->ttl, b->ttl);
	ASSERT_EQ(a->reserved, b->reserved);
	ASSERT_EQ(a->faults.bad_tcp_checksum, b->faults.bad_tcp_checksum);
	ASSERT_EQ(a->faults.bad_ip_checksum, b->faults.bad_ip_checksum);
	ASSERT_EQ(a->faults.ip_len_delta, b->faults.ip_len_delta);
	ASSERT_EQ(a->faults.data_off_delta, b->faults.data_off_delta);
	ASSERT_EQ(a->payload == NULL, b->payload == NULL);
	if (a->payload)
		ASSERT_MEM_EQ(a->payload, b->payload, a->len);
}

static void assert_call_eq(const sc_call *a, const sc_call *b)
{
	ASSERT_EQ(a->kind, b->kind);
	ASSERT_EQ(a->fd, b->fd);
	ASSERT_EQ(a->family, b->family);
	ASSERT_EQ(a->has_addr, b->has_addr);
	ASSERT_MEM_EQ(&a->addr.addr, &b->addr.addr, sizeof(a->addr.addr));
	ASSERT_EQ(a->addr.port, b->addr.port);
	ASSERT_EQ(a->backlog, b->backlog);
	ASSERT_EQ(a->how, b->how);
	ASSERT_EQ(a->len, b->len);
	ASSERT_EQ(a->data == NULL, b->data == NULL);
	if (a->data)
		ASSERT_MEM_EQ(a->data, b->data, a->len);
	ASSERT_EQ(a->msg_flags, b->msg_flags);
	ASSERT_EQ(a->level, b->level);
	ASSERT_EQ(a->opt, b->opt);
	ASSERT_EQ(a->optval, b->optval);
	ASSERT_EQ(a->optval_any, b->optval_any);
	ASSERT_EQ(a->fcntl_cmd, b->fcntl_cmd);
	ASSERT_EQ(a->fcntl_flags, b->fcntl_flags);
	ASSERT_EQ(a->poll_events, b->poll_events);
	ASSERT_EQ(a->poll_revents, b->poll_revents);
	ASSERT_EQ(a->poll_timeout_ms, b->poll_timeout_ms);
	ASSERT_EQ(a->ret.check, b->ret.check);
}

static void assert_scenario_eq(const sc_scenario *a, const sc_scenario *b)
{
	ASSERT_EQ(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const sc_event *x = &a->ev[i], *y = &b->ev[i];

		ASSERT_EQ(x->kind, y->kind);
		ASSERT_EQ(x->time.kind, y->time.kind);
		ASSERT_EQ(x->time.us, y->time.us);
		if (x->kind == SC_EV_INBOUND)
			assert_packet_eq(&x->pkt, &y->pkt);
		else if (x->kind == SC_EV_CALL)
			assert_call_eq(&x->call, &y->call);
	}
}

/* decode(b) -> encode -> decode -> encode: the two encodings must be equal
 * and the two decoded scenarios too. Returns the first decoding's count. */
static size_t check_canonical(const uint8_t *b, size_t n)
{
	sc_scenario s1, s2;
	uint8_t *e1, *e2;
	size_t l1, l2, count;

	ASSERT_EQ(sc_binary_decode(b, n, NULL, &s1), 0);
	/* One event per record, in an array allocated once at its size. */
	ASSERT_EQ(s1.cap, s1.count);
	ASSERT_EQ(sc_binary_encode(&s1, &e1, &l1), 0);
	ASSERT_EQ(sc_binary_decode(e1, l1, NULL, &s2), 0);
	assert_scenario_eq(&s1, &s2);
	ASSERT_EQ(sc_binary_encode(&s2, &e2, &l2), 0);
	ASSERT_EQ(l1, l2);
	ASSERT_MEM_EQ(e1, e2, l1);
	count = s1.count;
	free(e1);
	free(e2);
	sc_scenario_free(&s1);
	sc_scenario_free(&s2);
	return count;
}

/* ---- Building events ---- */

static sc_event ev_at(sc_event_kind kind, int64_t rel_us)
{
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.time.kind = SC_TIME_REL;
	ev.time.us = rel_us;
	return ev;
}

static void add(sc_scenario *s, const sc_event *ev)
{
	ASSERT(sc_scenario_append(s, ev) != NULL);
}

/* A scenario that uses every field the format carries. */
static void build_everything(sc_scenario *s)
{
	static uint8_t data[300];
	sc_event ev;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ASSERT_EQ(sc_scenario_init(s, "built"), 0);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_SOCKET;
	ev.call.family = SF_AF_INET6;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_BIND;
	ev.call.fd = 3;
	ev.call.has_addr = true;
	sf_addr_parse("2001:db8::5", &ev.call.addr.addr);
	ev.call.addr.port = 8081;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_CONNECT;
	ev.call.fd = 4;
	ev.call.has_addr = true;
	ev.call.addr.addr = sf_addr_v4(192, 0, 2, 9);
	ev.call.addr.port = 443;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_LISTEN;
	ev.call.fd = 3;
	ev.call.backlog = -5;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_SETSOCKOPT;
	ev.call.fd = 3;
	ev.call.opt = SF_TCP_KEEPIDLE;
	ev.call.level = SC_SOL_TCP;
	ev.call.optval = 7200;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_GETSOCKOPT;
	ev.call.fd = 3;
	ev.call.opt = SF_SO_ERROR;
	ev.call.level = SC_SOL_SOCKET;
	ev.call.optval_any = true;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_FCNTL;
	ev.call.fd = 3;
	ev.call.fcntl_cmd = SC_F_SETFL;
	ev.call.fcntl_flags = SC_O_RDWR | SC_O_NONBLOCK;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_SEND;
	ev.call.fd = 4;
	ev.call.len = sizeof(data);
	ev.call.data = data;
	ev.call.msg_flags = SC_MSG_DONTWAIT;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_READ;
	ev.call.fd = 4;
	ev.call.len = 1000;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_SHUTDOWN;
	ev.call.fd = 4;
	ev.call.how = SF_SHUT_RDWR;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_POLL;
	ev.call.fd = 4;
	ev.call.poll_events = SF_POLLIN | SF_POLLRDHUP;
	ev.call.poll_timeout_ms = -1;
	add(s, &ev);
	ev = ev_at(SC_EV_WAIT, 75000000);
	add(s, &ev);
	ev = ev_at(SC_EV_WAIT, 1234567);
	add(s, &ev);
	ev = ev_at(SC_EV_WAIT, 0);
	ev.time.kind = SC_TIME_ANY;
	ev.time.us = -1;
	add(s, &ev);
	ev = ev_at(SC_EV_WAIT, 0);
	ev.time.kind = SC_TIME_ANY;
	ev.time.us = 0;
	add(s, &ev);
	ev = ev_at(SC_EV_INBOUND, 0);
	ev.pkt.flags = SF_SYN | SF_ECE | SF_CWR;
	ev.pkt.seq.mode = SC_NUM_SCRIPT;
	ev.pkt.seq.value = 0;
	ev.pkt.ack.mode = SC_NUM_ABS;
	ev.pkt.ack.value = 0xfffffff0u;
	ev.pkt.has_win = true;
	ev.pkt.win = 29200;
	ev.pkt.opts_mode = SC_OPTS_LIST;
	ev.pkt.opt_len = 4;
	memcpy(ev.pkt.opt_raw, "\x02\x04\x05\xb4", 4);
	ev.pkt.conn = 3;
	ev.pkt.sport = 5555;
	ev.pkt.dport = 8081;
	ev.pkt.tos_check = SC_TOS_FULL;
	ev.pkt.tos = 0x10;
	ev.pkt.has_ttl = true;
	ev.pkt.ttl = 1;
	ev.pkt.reserved = 0xa;
	ev.pkt.faults.bad_tcp_checksum = true;
	ev.pkt.faults.bad_ip_checksum = true;
	ev.pkt.faults.ip_len_delta = -300;
	ev.pkt.faults.data_off_delta = -2;
	add(s, &ev);
	ev = ev_at(SC_EV_INBOUND, 0);
	ev.pkt.flags = SF_ACK | SF_PSH | SF_URG;
	ev.pkt.seq.mode = SC_NUM_STATE;
	ev.pkt.seq.value = (uint32_t)-1;
	ev.pkt.ack.mode = SC_NUM_STATE;
	ev.pkt.has_ack = true;
	ev.pkt.has_urg = true;
	ev.pkt.urg = 3;
	ev.pkt.has_win = true;
	ev.pkt.win = 0;
	ev.pkt.len = sizeof(data);
	ev.pkt.payload = data;
	add(s, &ev);
	ev = ev_at(SC_EV_INBOUND, 0);
	ev.pkt.flags = SF_ACK;
	ev.pkt.has_ack = true;
	ev.pkt.len = 1448; /* filler payload */
	ev.pkt.has_win = true;
	ev.pkt.win = SC_DEFAULT_WIN;
	add(s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_ABORT;
	ev.call.fd = 4;
	add(s, &ev);
}

/* Every event the format carries comes back exactly. */
static void test_events_round_trip(void)
{
	sc_scenario s, d;
	uint8_t *b;
	size_t n;

	build_everything(&s);
	ASSERT_EQ(sc_binary_encode(&s, &b, &n), 0);
	ASSERT_EQ(b[0], SC_BINARY_VERSION);
	ASSERT_EQ(sc_binary_decode(b, n, "x.bin", &d), 0);
	ASSERT_STR_EQ(d.file, "x.bin");
	assert_scenario_eq(&s, &d);
	/* Positions: event index and byte offset of the record. */
	ASSERT_EQ(d.ev[0].pos.line, 1);
	ASSERT_EQ(d.ev[0].pos.col, SC_BINARY_HDR_LEN + 1);
	ASSERT_EQ(d.ev[1].pos.line, 2);
	ASSERT(d.ev[1].pos.col > d.ev[0].pos.col);
	ASSERT_EQ(check_canonical(b, n), s.count);
	free(b);
	sc_scenario_free(&s);
	sc_scenario_free(&d);
}

/* Script time columns become wait records; expectations are dropped. */
static void test_time_and_expectations(void)
{
	sc_scenario s, d;
	sc_event ev;
	uint8_t *b;
	size_t n;

	ASSERT_EQ(sc_scenario_init(&s, NULL), 0);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_SOCKET;
	ev.time.kind = SC_TIME_ABS;
	add(&s, &ev);
	ev = ev_at(SC_EV_OUTBOUND, 1000000);   /* expectation at t=1 s */
	ev.pkt.flags = SF_SYN;
	add(&s, &ev);
	ev = ev_at(SC_EV_INBOUND, 500000);     /* t=1.5 s */
	ev.pkt.flags = SF_SYN | SF_ACK;
	add(&s, &ev);
	ev = ev_at(SC_EV_STATE, 0);
	ev.state.state = SF_ESTABLISHED;
	add(&s, &ev);
	ev = ev_at(SC_EV_CALL, 0);
	ev.call.kind = SC_CALL_CLOSE;
	ev.time.kind = SC_TIME_ABS;
	ev.time.us = 7200000000LL + 5;         /* t=7200.000005 s */
	add(&s, &ev);
	ASSERT_EQ(sc_binary_encode(&s, &b, &n), 0);
	ASSERT_EQ(sc_binary_decode(b, n, NULL, &d), 0);
	/* socket, wait 1.5 s, inbound, wait(s) to 7200.000005, close */
	ASSERT_EQ(d.ev[0].kind, SC_EV_CALL);
	ASSERT_EQ(d.ev[1].kind, SC_EV_WAIT);
	ASSERT_EQ(d.ev[1].time.us, 1500000);
	ASSERT_EQ(d.ev[2].kind, SC_EV_INBOUND);
	{
		int64_t total = 0;
		size_t i = 3;

		for (; d.ev[i].kind == SC_EV_WAIT; i++)
			total += d.ev[i].time.us;
		ASSERT_EQ(total, 7200000005LL - 1500000);
		ASSERT_EQ(d.ev[i].kind, SC_EV_CALL);
		ASSERT_EQ(d.ev[i].call.kind, SC_CALL_CLOSE);
		ASSERT_EQ(i + 1, d.count);
	}
	for (size_t i = 0; i < d.count; i++)
		if (d.ev[i].kind != SC_EV_WAIT)
			ASSERT_EQ(d.ev[i].time.us, 0);
	check_canonical(b, n);
	free(b);
	sc_scenario_free(&s);
	sc_scenario_free(&d);
}

/* The documented layout, byte by byte. */
static void test_layout(void)
{
	sc_scenario d;
	/* header; wait 2 s; tag 4 (= call 1) socket; tag 3 (= segment) with a
	 * 2-octet body: flags SYN, ctl 0 (state mode), rest zero. */
	const uint8_t in[] = {1, 0, 0, 0,
			      2, 5, 0x04, 0, 0, 0, 2,
			      4, 2, 0, 0,
			      3, 2, SF_SYN, 0};

	ASSERT_EQ(sc_binary_decode(in, sizeof(in), NULL, &d), 0);
	ASSERT_EQ(d.count, 3);
	ASSERT_EQ(d.ev[0].kind, SC_EV_WAIT);
	ASSERT_EQ(d.ev[0].time.kind, SC_TIME_REL);
	ASSERT_EQ(d.ev[0].time.us, 2000000);
	ASSERT_EQ(d.ev[1].kind, SC_EV_CALL);
	ASSERT_EQ(d.ev[1].call.kind, SC_CALL_SOCKET);
	ASSERT_EQ(d.ev[1].call.family, SF_AF_INET);
	ASSERT_EQ(d.ev[2].kind, SC_EV_INBOUND);
	ASSERT_EQ(d.ev[2].pkt.flags, SF_SYN);
	ASSERT_EQ(d.ev[2].pkt.seq.mode, SC_NUM_STATE);
	ASSERT_EQ(d.ev[2].pkt.seq.value, 0);
	ASSERT_EQ(d.ev[2].pkt.opts_mode, SC_OPTS_NONE);
	ASSERT(d.ev[2].pkt.payload == NULL);
	sc_scenario_free(&d);

	/* A timer wait of -1 ms; an extended length (255, then 2 octets) that
	 * runs past the end of the input is cut there. */
	const uint8_t in2[] = {9, 9, 9, 9,
			       2, 5, 0x03, 0xff, 0xff, 0xff, 0xff,
			       0, 255, 0x7f, 0xff, SF_ACK, 0x80 | 0x10};
	ASSERT_EQ(sc_binary_decode(in2, sizeof(in2), NULL, &d), 0);
	ASSERT_EQ(d.count, 2);
	ASSERT(sc_wait_is_timer(&d.ev[0]));
	ASSERT_EQ(d.ev[0].time.us, -1000);
	ASSERT_EQ(d.ev[1].pkt.flags, SF_ACK);
	ASSERT(d.ev[1].pkt.has_ack);
	/* Inline payload asked for, but no octets left: inline and empty. */
	ASSERT(d.ev[1].pkt.payload != NULL);
	ASSERT_EQ(d.ev[1].pkt.len, 0);
	sc_scenario_free(&d);

	/* Header only, short header, empty input: empty scenarios. */
	ASSERT_EQ(sc_binary_decode(in, 4, NULL, &d), 0);
	ASSERT_EQ(d.count, 0);
	sc_scenario_free(&d);
	ASSERT_EQ(sc_binary_decode(in, 2, NULL, &d), 0);
	ASSERT_EQ(d.count, 0);
	sc_scenario_free(&d);
	ASSERT_EQ(sc_binary_decode(NULL, 0, NULL, &d), 0);
	ASSERT_EQ(d.count, 0);
	sc_scenario_free(&d);
}

/* Out-of-range values fold into range. */
static void test_folding(void)
{
	sc_scenario d;
	const uint8_t in[] = {1, 0, 0, 0,
			      1, 3, 16 + 2, 3, 0,         /* call 18 % 16 = listen */
			      1, 3, 9, 4, 7,              /* shutdown how 7 % 3 = 1 */
			      1, 3, 12, 3, 200,           /* setsockopt opt 200 % 13 */
			      0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99}; /* opt_len 99 -> 40 */

	ASSERT_EQ(sc_binary_decode(in, sizeof(in), NULL, &d), 0);
	ASSERT_EQ(d.count, 4);
	ASSERT_EQ(d.ev[0].call.kind, SC_CALL_LISTEN);
	ASSERT_EQ(d.ev[1].call.how, 1);
	ASSERT_EQ(d.ev[2].call.opt, (sf_sockopt)(200 % 13));
	ASSERT_EQ(d.ev[3].pkt.opt_len, SF_MAX_OPT_LEN);
	ASSERT_EQ(d.ev[3].pkt.opts_mode, SC_OPTS_LIST);
	sc_scenario_free(&d);
	check_canonical(in, sizeof(in));
}

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Random bytes of every length up to 2 KiB, with record-ish structure
 * sometimes: all decode, and all are canonical after one pass. */
static void test_random_bytes(void)
{
	static uint8_t buf[2048];
	size_t events = 0;

	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rnd() % sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		if (iter % 3 == 0) /* small lengths make many short records */
			for (size_t i = 5; i < n; i += 7)
				buf[i] = (uint8_t)(rnd() % 40);
		events += check_canonical(buf, n);
	}
	printf("  3000 random inputs, %zu events decoded\n", events);
	ASSERT(events > 3000);
}

/* Every prefix of a real encoding decodes (truncation is never an error). */
static void test_truncation(void)
{
	sc_scenario s;
	uint8_t *b;
	size_t n;

	build_everything(&s);
	ASSERT_EQ(sc_binary_encode(&s, &b, &n), 0);
	for (size_t cut = 0; cut <= n; cut++)
		check_canonical(b, cut);
	free(b);
	sc_scenario_free(&s);
}

/* The event limit holds for an input of nothing but tiny records. */
static void test_event_limit(void)
{
	size_t n = 4 + 2 * (SC_MAX_EVENTS + 10);
	uint8_t *b = calloc(1, n);
	sc_scenario d;

	ASSERT(b != NULL);
	for (size_t i = 4; i + 1 < n; i += 2)
		b[i] = 2; /* wait records with empty bodies */
	ASSERT_EQ(sc_binary_decode(b, n, NULL, &d), 0);
	ASSERT_EQ(d.count, SC_MAX_EVENTS);
	sc_scenario_free(&d);
	free(b);
}

int main(void)
{
	RUN_TEST(test_events_round_trip);
	RUN_TEST(test_time_and_expectations);
	RUN_TEST(test_layout);
	RUN_TEST(test_folding);
	RUN_TEST(test_random_bytes);
	RUN_TEST(test_truncation);
	RUN_TEST(test_event_limit);
	return 0;
}
