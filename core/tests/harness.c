/*
 * The engine test harness (see harness.h).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fixed_isn(void *self, const sf_endpoint *local, const sf_endpoint *remote,
			  uint64_t now_us)
{
	(void)local;
	(void)remote;
	(void)now_us;
	return ((harness *)self)->isn;
}

static void capture(void *ctx, const sf_segment *seg)
{
	harness *h = ctx;
	uint8_t pkt[SF_MAX_PACKET];
	int n = sf_wire_emit(seg, NULL, pkt, sizeof(pkt));
	h_out *o;

	/* Every emitted segment must be encodable (DESIGN oracle 4). */
	ASSERT(n > 0);
	for (int i = 0; i < n; i++)
		h->bytes_hash = (h->bytes_hash ^ pkt[i]) * 1099511628211ull;
	h->emitted++;
	if (h->out_count == H_MAX_OUT) {
		free(h->out[h->out_head].payload);
		h->out_head = (h->out_head + 1) % H_MAX_OUT;
		h->out_count--;
	}
	o = &h->out[(h->out_head + h->out_count) % H_MAX_OUT];
	o->seg = *seg;
	o->payload = NULL;
	if (seg->payload_len) {
		o->payload = malloc(seg->payload_len);
		ASSERT(o->payload);
		memcpy(o->payload, seg->payload, seg->payload_len);
	}
	o->seg.payload = o->payload;
	h->out_count++;
}

static void on_state(void *ctx, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause)
{
	harness *h = ctx;

	if (h->ntrans < H_MAX_TRANS)
		h->trans[h->ntrans++] = (h_trans){ conn_id, from, to, cause };
}

harness *h_new_cfg(const sf_config *cfg)
{
	harness *h = calloc(1, sizeof(*h));
	sf_env env;

	ASSERT(h);
	h->cfg = *cfg;
	h->isn = STACK_ISS;
	h->stack_addr = cfg->local4;
	h->peer_addr = sf_addr_v4(10, 0, 0, 2);
	h->stack_port = SERVER_PORT;
	h->peer_port = PEER_PORT;
	h->listener = h->sd = -1;
	h->bytes_hash = 14695981039346656037ull;
	memset(&env, 0, sizeof(env));
	env.ctx = h;
	env.output = capture;
	env.on_state = on_state;
	env.isn.next = fixed_isn;
	env.isn.self = h;
	h->stack = sf_stack_new(cfg, &env);
	ASSERT(h->stack);
	h_check(h);
	return h;
}

harness *h_new(void)
{
	sf_config cfg;

	sf_config_default(&cfg);
	return h_new_cfg(&cfg);
}

void h_clear(harness *h)
{
	while (h->out_count) {
		free(h->out[h->out_head].payload);
		h->out_head = (h->out_head + 1) % H_MAX_OUT;
		h->out_count--;
	}
}

size_t h_pending(const harness *h)
{
	return h->out_count;
}

void h_check_(harness *h, const char *file, int line)
{
	char why[256];

	if (sf_check_invariants(h->stack, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, why);
		abort();
	}
}

/* Teardown: abort every handle, run the clock until every orphan (TIME-WAIT,
 * FIN-WAIT-2, retransmitting) has gone, and check that nothing is left. */
void h_free(harness *h)
{
	sf_mem_info m;

	h_check(h);
	for (int sd = 0; sd < 4096; sd++)
		if (sf_poll(h->stack, sd) >= 0)
			ASSERT_EQ(sf_abort(h->stack, sd), 0);
	h_check(h);
	for (int i = 0; i < 64 && sf_next_timer(h->stack) != UINT64_MAX; i++) {
		sf_tick(h->stack, sf_now(h->stack) + 4000 * SEC);
		h_check(h);
	}
	sf_get_mem(h->stack, &m);
	ASSERT_EQ(m.connections, 0);
	ASSERT_EQ(m.half_open, 0);
	ASSERT_EQ(m.handles, 0);
	ASSERT_EQ(m.in_use, 0);
	ASSERT_EQ(sf_next_timer(h->stack), UINT64_MAX);
	sf_stack_free(h->stack);
	h_clear(h);
	free(h);
}

static size_t tseg_len(const tseg *t)
{
	return t->len ? t->len : (t->data ? strlen(t->data) : 0);
}

void h_send_(harness *h, tseg t, const char *file, int line)
{
	sf_segment seg;

	(void)file;
	(void)line;
	memset(&seg, 0, sizeof(seg));
	seg.src = h->peer_addr;
	seg.dst = h->stack_addr;
	seg.ttl = 64;
	seg.sport = t.sport ? t.sport : h->peer_port;
	seg.dport = t.dport ? t.dport : h->stack_port;
	seg.seq = t.seq;
	seg.ack = t.ack;
	seg.flags = t.flags;
	seg.window = t.zero_win ? 0 : (uint16_t)(t.win ? t.win : 65535);
	if (t.mss) {
		seg.opts.has_mss = true;
		seg.opts.mss = t.mss;
		seg.opt_len = (uint8_t)sf_opts_encode(&seg.opts, seg.opt_raw);
	}
	seg.payload = (const uint8_t *)t.data;
	seg.payload_len = tseg_len(&t);
	sf_input(h->stack, &seg);
	h_check_(h, file, line);
}

static void flags_str(uint8_t f, char *buf)
{
	static const char names[] = "FSRPAUEC";

	for (int i = 0; i < 8; i++)
		*buf++ = (f & (1u << i)) ? names[i] : '.';
	*buf = 0;
}

static void dump_seg(const char *what, const sf_segment *s)
{
	char f[9];

	flags_str(s->flags, f);
	fprintf(stderr, "  %s: %u -> %u flags %s seq %u ack %u win %u len %zu mss %s%u\n", what,
		s->sport, s->dport, f, s->seq, s->ack, s->window, s->payload_len,
		s->opts.has_mss ? "" : "none/", s->opts.mss);
}

void h_expect_(harness *h, tseg t, const char *file, int line)
{
	h_out o;
	size_t len = tseg_len(&t);
	uint16_t sport = t.sport ? t.sport : h->stack_port;
	uint16_t dport = t.dport ? t.dport : h->peer_port;
	bool ok;

	/* The API call that sent it ran since the last check. */
	h_check_(h, file, line);
	if (h->out_count == 0) {
		fprintf(stderr, "%s:%d: expected a segment, none was sent\n", file, line);
		abort();
	}
	o = h->out[h->out_head];
	h->out_head = (h->out_head + 1) % H_MAX_OUT;
	h->out_count--;
	ok = o.seg.flags == t.flags && o.seg.seq == t.seq && o.seg.ack == t.ack &&
	     o.seg.sport == sport && o.seg.dport == dport &&
	     sf_addr_eq(&o.seg.src, &h->stack_addr) && sf_addr_eq(&o.seg.dst, &h->peer_addr) &&
	     o.seg.payload_len == len &&
	     (len == 0 || memcmp(o.seg.payload, t.data, len) == 0);
	if (t.zero_win)
		ok = ok && o.seg.window == 0;
	else if (t.win)
		ok = ok && o.seg.window == t.win;
	if (!t.any_mss)
		ok = ok && o.seg.opts.has_mss == (t.mss != 0) && (!t.mss || o.seg.opts.mss == t.mss);
	if (!ok) {
		sf_segment want;

		memset(&want, 0, sizeof(want));
		want.sport = sport;
		want.dport = dport;
		want.flags = t.flags;
		want.seq = t.seq;
		want.ack = t.ack;
		want.window = (uint16_t)t.win;
		want.payload_len = len;
		want.opts.has_mss = t.mss != 0;
		want.opts.mss = t.mss;
		fprintf(stderr, "%s:%d: segment differs\n", file, line);
		dump_seg("want", &want);
		dump_seg("got ", &o.seg);
		abort();
	}
	free(o.payload);
}

void h_expect_none_(harness *h, const char *file, int line)
{
	h_check_(h, file, line);
	if (h->out_count) {
		fprintf(stderr, "%s:%d: expected no segment, got %zu\n", file, line, h->out_count);
		dump_seg("got ", &h->out[h->out_head].seg);
		abort();
	}
}

void h_tick(harness *h, uint64_t abs_us)
{
	sf_tick(h->stack, abs_us);
	h_check(h);
}

void h_advance(harness *h, uint64_t delta_us)
{
	h_tick(h, sf_now(h->stack) + delta_us);
}

sf_tcp_info h_info(harness *h, int sd)
{
	sf_tcp_info i;

	ASSERT_EQ(sf_info(h->stack, sd, &i), 0);
	return i;
}

sf_state h_state(harness *h, int sd)
{
	return h_info(h, sd).state;
}

bool h_saw(const harness *h, sf_state from, sf_state to, sf_cause cause)
{
	for (size_t i = 0; i < h->ntrans; i++)
		if (h->trans[i].from == from && h->trans[i].to == to && h->trans[i].cause == cause)
			return true;
	return false;
}

size_t h_count_to(const harness *h, sf_state to)
{
	size_t n = 0;

	for (size_t i = 0; i < h->ntrans; i++)
		n += h->trans[i].to == to;
	return n;
}

void h_use_peer(harness *h, uint16_t peer_port)
{
	h->peer_port = peer_port;
}

/* ---- Fixtures ---- */

int listening(harness *h)
{
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT(sd >= 0);
	ASSERT_EQ(sf_bind(h->stack, sd, &local), 0);
	ASSERT_EQ(sf_listen(h->stack, sd, 8), 0);
	h->listener = sd;
	h->stack_port = SERVER_PORT;
	h_check(h);
	return sd;
}

void syn_received(harness *h)
{
	listening(h);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 1460);
	EXPECT(h, .flags = SF_SYN | SF_ACK, .seq = STACK_ISS, .ack = PEER_ISS + 1, .mss = 1460,
	       .win = 65535);
}

int established(harness *h)
{
	sf_endpoint peer;

	syn_received(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT_NONE(h);
	h->sd = sf_accept(h->stack, h->listener, &peer);
	ASSERT(h->sd >= 0);
	ASSERT_EQ(peer.port, h->peer_port);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	return h->sd;
}

void fin_wait_1(harness *h)
{
	established(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_1);
}

void fin_wait_2(harness *h)
{
	fin_wait_1(h);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT_NONE(h);
	ASSERT_EQ(h_state(h, h->sd), SF_FIN_WAIT_2);
}

void time_wait(harness *h)
{
	fin_wait_2(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 2);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_TIME_WAIT);
}

void closing(harness *h)
{
	fin_wait_1(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 2, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSING);
}

void close_wait(harness *h)
{
	established(h);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_CLOSE_WAIT);
}

void last_ack(harness *h)
{
	close_wait(h);
	ASSERT_EQ(sf_shutdown(h->stack, h->sd, SF_SHUT_WR), 0);
	EXPECT(h, .flags = SF_FIN | SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 2);
	ASSERT_EQ(h_state(h, h->sd), SF_LAST_ACK);
}

int syn_sent(harness *h)
{
	sf_endpoint remote = { h->peer_addr, SERVER_PORT };
	int sd = sf_socket(h->stack, SF_AF_INET);

	ASSERT(sd >= 0);
	ASSERT_EQ(sf_connect(h->stack, sd, &remote), -EINPROGRESS);
	h->sd = sd;
	h->stack_port = EPHEMERAL_PORT;
	h->peer_port = SERVER_PORT;
	EXPECT(h, .flags = SF_SYN, .seq = STACK_ISS, .mss = 1460, .win = 65535);
	ASSERT_EQ(h_state(h, sd), SF_SYN_SENT);
	return sd;
}

int established_active(harness *h)
{
	syn_sent(h);
	SEND(h, .flags = SF_SYN | SF_ACK, .seq = PEER_ISS, .ack = STACK_ISS + 1, .mss = 1460);
	EXPECT(h, .flags = SF_ACK, .seq = STACK_ISS + 1, .ack = PEER_ISS + 1);
	ASSERT_EQ(h_state(h, h->sd), SF_ESTABLISHED);
	return h->sd;
}
