/*
 * single_packet: one raw IPv4 or IPv6 packet.
 *
 * 1. The codec (oracle "codec"): a packet that parses must emit, the
 *    emitted bytes must parse back to the same fields, options and payload,
 *    emitting that again must give the same bytes, sf_tcp_parse() on the
 *    TCP part must agree with sf_wire_parse(), and the decoded options must
 *    survive sf_opts_encode() -> sf_opts_decode(), and sf_opts_decode()
 *    must agree with an independent reading of the option rules
 *    (harness/refopts.c).
 * 2. The engine: one stack holds a connection in every RFC 9293 state
 *    (brought there by textbook exchanges, each step checked). The packet is
 *    re-addressed to each of them in turn, its seq and ack read as offsets
 *    from that connection's RCV.NXT and SND.NXT, and fed in; then the clock
 *    runs to the next two timers. The raw bytes also go in unchanged, so the
 *    codec path of sf_input_packet() sees every malformed packet too.
 * Every oracle of the harness runs after every event.
 */
#include <stdio.h>
#include <string.h>

#include "harness/drive.h"
#include "harness/harness_internal.h"

static const sf_state states[] = {
	SF_CLOSED, SF_LISTEN, SF_SYN_SENT, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_FIN_WAIT_1,
	SF_FIN_WAIT_2, SF_CLOSE_WAIT, SF_CLOSING, SF_LAST_ACK, SF_TIME_WAIT,
};
#define NSTATES (sizeof states / sizeof states[0])

static bool same_fields(const sf_segment *a, const sf_segment *b)
{
	return sf_addr_eq(&a->src, &b->src) && sf_addr_eq(&a->dst, &b->dst) &&
	       a->sport == b->sport && a->dport == b->dport && a->seq == b->seq &&
	       a->ack == b->ack && a->flags == b->flags && a->reserved == b->reserved &&
	       a->window == b->window && a->urg_ptr == b->urg_ptr && a->tos == b->tos &&
	       a->opt_len == b->opt_len && !memcmp(a->opt_raw, b->opt_raw, a->opt_len) &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len || !memcmp(a->payload, b->payload, a->payload_len)) &&
	       fz_opts_same(&a->opts, &b->opts);
}

static bool same_ip_fields(const sf_segment *a, const sf_segment *b)
{
	if (a->ttl && a->ttl != b->ttl)
		return false;
	if (a->src.family != SF_AF_INET)
		return true;
	return a->ip_id == b->ip_id && a->dont_frag == b->dont_frag;
}

/* Decoded options -> sf_opts_encode() -> sf_opts_decode() keeps their
 * meaning (SACK blocks may be cut to what fits beside the timestamps). */
static void check_options_codec(fz_harness *h, const sf_tcp_options *o)
{
	uint8_t raw[SF_MAX_OPT_LEN];
	sf_tcp_options back;
	size_t n = sf_opts_encode(o, raw);
	if (n > SF_MAX_OPT_LEN || n % 4)
		fz_fail(h, "codec", "sf_opts_encode() wrote %zu octets", n);
	sf_opts_decode(raw, n, &back);
	if (back.malformed || back.unknown_count || back.nonzero_padding)
		fz_fail(h, "codec", "sf_opts_encode() wrote options that do not decode cleanly");
	if (back.has_mss != o->has_mss || (o->has_mss && back.mss != o->mss) ||
	    back.has_wscale != o->has_wscale || (o->has_wscale && back.wscale != o->wscale) ||
	    back.sack_permitted != o->sack_permitted || back.has_ts != o->has_ts ||
	    (o->has_ts && (back.ts_val != o->ts_val || back.ts_ecr != o->ts_ecr)))
		fz_fail(h, "codec", "options change meaning through sf_opts_encode()/decode()");
	if (back.sack_count > o->sack_count)
		fz_fail(h, "codec", "sf_opts_encode() invented SACK blocks");
	for (uint8_t i = 0; i < back.sack_count && i < SF_MAX_SACK_BLOCKS; i++)
		if (back.sack[i].left != o->sack[i].left || back.sack[i].right != o->sack[i].right)
			fz_fail(h, "codec", "SACK block %u changed through sf_opts_encode()", i);
}

static uint8_t b1[SF_MAX_PACKET], b2[SF_MAX_PACKET];

/* Returns true (with *p1 filled) if the packet parses. */
static bool check_codec(fz_harness *h, const uint8_t *data, size_t size, sf_segment *p1)
{
	sf_segment p2, p3, again;
	fz_event(h, "codec round trip of the input packet");
	if (sf_wire_parse(data, size, p1) != 0)
		return false;
	int n1 = sf_wire_emit(p1, NULL, b1, sizeof b1);
	if (n1 < 0)
		fz_fail(h, "codec", "a packet that parsed cannot be emitted: %s", sf_wire_strerror(n1));
	if ((size_t)n1 != sf_wire_length(p1))
		fz_fail(h, "codec", "emitted %d octets, sf_wire_length() says %zu", n1,
			sf_wire_length(p1));
	int rc = sf_wire_parse(b1, (size_t)n1, &p2);
	if (rc != 0)
		fz_fail(h, "codec", "an emitted packet does not parse: %s", sf_wire_strerror(rc));
	if (!same_fields(p1, &p2) || !same_ip_fields(p1, &p2))
		fz_fail(h, "codec", "parse -> emit -> parse changes the segment");
	int n2 = sf_wire_emit(&p2, NULL, b2, sizeof b2);
	if (n2 != n1 || memcmp(b1, b2, (size_t)n1) != 0)
		fz_fail(h, "codec", "emit is not stable: emitting the re-parsed packet gives other bytes");
	size_t ip = p1->src.family == SF_AF_INET6 ? SF_IPV6_HDR_LEN : SF_IPV4_HDR_LEN;
	rc = sf_tcp_parse(b1 + ip, (size_t)n1 - ip, &p1->src, &p1->dst, true, &p3);
	if (rc != 0)
		fz_fail(h, "codec", "sf_tcp_parse() rejects what sf_wire_parse() accepted: %s",
			sf_wire_strerror(rc));
	/* A bare TCP header carries no IP fields: take those from the packet. */
	p3.tos = p2.tos;
	if (!same_fields(&p2, &p3))
		fz_fail(h, "codec", "sf_tcp_parse() and sf_wire_parse() disagree");
	sf_opts_decode(p1->opt_raw, p1->opt_len, &again.opts);
	if (!fz_opts_same(&again.opts, &p1->opts) ||
	    again.opts.malformed != p1->opts.malformed ||
	    again.opts.nonzero_padding != p1->opts.nonzero_padding)
		fz_fail(h, "codec", "sf_opts_decode() disagrees with sf_wire_parse() on the options");
	fz_check_opts_decode(h, p1->opt_raw, p1->opt_len, &p1->opts);
	check_options_codec(h, &p1->opts);
	return true;
}

/* The parsed packet, re-addressed to one connection, numbers as offsets. */
static void feed_to(fz_harness *h, const sf_segment *p, const fz_conn_ref *r, sf_state st)
{
	sf_segment s = *p;
	s.src = r->remote.addr;
	s.dst = r->local.addr;
	s.sport = r->remote.port;
	s.dport = r->local.port;
	s.seq = p->seq + r->peer_nxt;
	s.ack = p->ack + r->our_nxt;
	s.payload = NULL;
	char text[160];
	snprintf(text, sizeof text, "the input packet, to the connection in %s", sf_state_name(st));
	fz_event(h, "%s", text);
	fz_input(h, &s, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_setup setup;
	fz_conn_ref refs[NSTATES];
	sf_segment p;
	int listener = -1;

	fz_setup_default(&setup);
	fz_harness *h = fz_new(&setup);
	bool parsed = check_codec(h, data, size, &p);
	for (size_t i = 0; i < NSTATES; i++)
		fz_drive(h, states[i], (uint16_t)(40001 + i), &listener, &refs[i]);
	fz_event(h, "the input packet as it is");
	fz_input_raw(h, data, size);
	for (size_t i = 0; parsed && i < NSTATES; i++)
		feed_to(h, &p, &refs[i], states[i]);
	fz_event(h, "wait for the next timer");
	fz_advance_to_timer(h, 0);
	fz_event(h, "wait for the next timer");
	fz_advance_to_timer(h, 0);
	fz_free(h);
	return 0;
}
