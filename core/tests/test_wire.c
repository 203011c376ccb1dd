/*
 * The wire codec (core/src/wire.c): checksums against known answers, every
 * TCP option kind and every illegal option length (RFC9293:MUST-4..7,
 * MUST-64, MUST-68, MUST-69), IPv4 options and IPv6 extension headers
 * (RFC9293:MUST-50), every parse error, truncation at every length,
 * emit -> parse -> emit identity, emit faults, and the address helpers.
 *
 * The known-answer packets were built once with scapy 2.5 (raw(IP()/TCP()))
 * and pasted here, so the checksums come from an independent implementation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synfin/wire.h"

/* ---- Known-answer packets (scapy). ---- */

/* IP(src="192.0.2.1", dst="198.51.100.2", id=0x1234, flags="DF", ttl=64) /
 * TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240,
 *     options=[MSS 1460, SAckOK, Timestamp (12345, 0), NOP, WScale 7]):
 * Linux's SYN layout. TCP checksum 0x9026, IP checksum 0x3c51. */
static const uint8_t kat_v4_syn[] = {
	0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x3c, 0x51,
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50,
	0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0x90, 0x26, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
	0x00, 0x00, 0x30, 0x39, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=64) /
 * TCP(sport=443, dport=50000, seq=0x01020304, ack=0xa0b0c0d0, flags="PA",
 *     window=502, options=[NOP, NOP, Timestamp (1, 2)]) / "hello".
 * TCP checksum 0xaadd. */
static const uint8_t kat_v6_data[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x25, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x01, 0xbb, 0xc3, 0x50, 0x01, 0x02, 0x03, 0x04,
	0xa0, 0xb0, 0xc0, 0xd0, 0x80, 0x18, 0x01, 0xf6, 0xaa, 0xdd, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
	0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

/* IPv6(hlim=255) / Hop-by-Hop (PadN) / Routing (type 0, segleft 0) /
 * Destination Options (PadN) / TCP(sport=1, dport=2, seq=7, ack=9, flags="A",
 * window=100) / "xyz". TCP checksum 0x616c. */
static const uint8_t kat_v6_ext[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x2f, 0x00, 0xff, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x01, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x09, 0x50, 0x10, 0x00, 0x64, 0x61, 0x6c, 0x00, 0x00,
	0x78, 0x79, 0x7a,
};
#define KAT_V6_EXT_TCP_OFF 64

/* IP(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=32, tos=0x10,
 *    options=4 x NOP) / TCP(sport=1234, dport=5678, seq=0xfffffff0, ack=1,
 * flags="FA", window=0) / "odd" (odd length). IHL 6, TCP checksum 0xad77,
 * IP checksum 0x83ae. */
static const uint8_t kat_v4_ipopts[] = {
	0x46, 0x10, 0x00, 0x2f, 0x00, 0x07, 0x00, 0x00, 0x20, 0x06, 0x83, 0xae,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01,
	0x04, 0xd2, 0x16, 0x2e, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x01,
	0x50, 0x11, 0x00, 0x00, 0xad, 0x77, 0x00, 0x00, 0x6f, 0x64, 0x64,
};

struct kat {
	const char *name;
	const uint8_t *pkt;
	size_t len;
};

static const struct kat kats[] = {
	{"v4_syn", kat_v4_syn, sizeof(kat_v4_syn)},
	{"v6_data", kat_v6_data, sizeof(kat_v6_data)},
	{"v6_ext", kat_v6_ext, sizeof(kat_v6_ext)},
	{"v4_ipopts", kat_v4_ipopts, sizeof(kat_v4_ipopts)},
};
#define N_KATS (sizeof(kats) / sizeof(kats[0]))

/* ---- Helpers. ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parse from an exact-size heap copy, so ASan sees any read past the end. */
static int parse_exact(const uint8_t *pkt, size_t len, sf_segment *seg)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	ASSERT(copy != NULL);
	if (len)
		memcpy(copy, pkt, len);
	rc = sf_wire_parse(copy, len, seg);
	free(copy);
	/* The payload pointed into the copy, which is gone. */
	seg->payload = NULL;
	return rc;
}

/* Recompute the IPv4 header checksum after a test changed the header. */
static void fix_ip4_csum(uint8_t *pkt)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;

	put16(pkt + 10, 0);
	put16(pkt + 10, sf_csum_fold(sf_csum_partial(pkt, ihl, 0)));
}

static void addrs_of(const uint8_t *pkt, sf_addr *src, sf_addr *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (pkt[0] >> 4 == 4) {
		src->family = dst->family = SF_AF_INET;
		memcpy(src->bytes, pkt + 12, 4);
		memcpy(dst->bytes, pkt + 16, 4);
	} else {
		src->family = dst->family = SF_AF_INET6;
		memcpy(src->bytes, pkt + 8, 16);
		memcpy(dst->bytes, pkt + 24, 16);
	}
}

/* Recompute the TCP checksum of the segment at tcp_off..len. */
static void fix_tcp_csum(uint8_t *pkt, size_t tcp_off, size_t len)
{
	sf_addr src, dst;

	addrs_of(pkt, &src, &dst);
	put16(pkt + tcp_off + 16, 0);
	put16(pkt + tcp_off + 16, sf_tcp_checksum(&src, &dst, pkt + tcp_off, len - tcp_off));
}

static sf_segment base_segment(int family)
{
	sf_segment s;

	memset(&s, 0, sizeof(s));
	if (family == SF_AF_INET) {
		s.src = sf_addr_v4(192, 0, 2, 1);
		s.dst = sf_addr_v4(198, 51, 100, 2);
	} else {
		ASSERT_EQ(sf_addr_parse("2001:db8::1", &s.src), 0);
		ASSERT_EQ(sf_addr_parse("2001:db8::2", &s.dst), 0);
	}
	s.ttl = 64;
	s.sport = 40000;
	s.dport = 80;
	s.seq = 0x11223344;
	s.ack = 0x55667788;
	s.flags = SF_ACK;
	s.window = 29200;
	return s;
}

static size_t emit_ok(const sf_segment *s, const sf_emit_faults *f, uint8_t *buf, size_t cap)
{
	int n = sf_wire_emit(s, f, buf, cap);

	ASSERT(n > 0);
	return (size_t)n;
}

/* ---- Checksums. ---- */

/* RFC 1071 §3's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
static void test_csum_rfc1071_example(void)
{
	static const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint32_t sum = sf_csum_partial(data, sizeof(data), 0);

	ASSERT_EQ(sf_csum_fold(sum), (uint16_t)~0xddf2);
	/* Chained in even-length pieces, the sum is the same. */
	sum = sf_csum_partial(data + 4, 4, sf_csum_partial(data, 4, 0));
	ASSERT_EQ(sf_csum_fold(sum), (uint16_t)~0xddf2);
	/* An odd tail is padded with a zero octet: 01 -> word 0x0100. */
	ASSERT_EQ(sf_csum_fold(sf_csum_partial(data + 1, 1, 0)), (uint16_t)~0x0100);
}

/* The sum of long data, checked against a plain 16-bit reference sum at
 * every length and start offset (the fast path reads 32 and 8 octets at a
 * time, unaligned). */
static void test_csum_matches_reference_sum(void)
{
	uint8_t data[300];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len + off <= sizeof(data); len++) {
			uint32_t ref = 0;

			for (size_t i = 0; i < len; i += 2) {
				uint32_t hi = data[off + i];
				uint32_t lo = i + 1 < len ? data[off + i + 1] : 0;

				ref += hi << 8 | lo;
			}
			ASSERT_EQ(sf_csum_fold(sf_csum_partial(data + off, len, 0)),
				  sf_csum_fold(ref));
		}
	}
}

/* RFC9293:MUST-2, MUST-3: the known answers' checksums, with both
 * pseudo-headers, recomputed from the segments with the field zeroed. */
static void test_csum_known_answers(void)
{
	static const struct {
		const uint8_t *pkt;
		size_t len, tcp_off;
		uint16_t csum;
	} cases[] = {
		{kat_v4_syn, sizeof(kat_v4_syn), 20, 0x9026},
		{kat_v6_data, sizeof(kat_v6_data), 40, 0xaadd},
		{kat_v6_ext, sizeof(kat_v6_ext), KAT_V6_EXT_TCP_OFF, 0x616c},
		{kat_v4_ipopts, sizeof(kat_v4_ipopts), 24, 0xad77},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[128];
		sf_addr src, dst;
		size_t tcp_len = cases[i].len - cases[i].tcp_off;

		memcpy(buf, cases[i].pkt, cases[i].len);
		addrs_of(buf, &src, &dst);
		/* Over the segment as received, the checksum verifies to 0. */
		ASSERT_EQ(sf_tcp_checksum(&src, &dst, buf + cases[i].tcp_off, tcp_len), 0);
		put16(buf + cases[i].tcp_off + 16, 0);
		ASSERT_EQ(sf_tcp_checksum(&src, &dst, buf + cases[i].tcp_off, tcp_len),
			  cases[i].csum);
	}
	/* IPv4 header checksums. */
	ASSERT_EQ(sf_csum_fold(sf_csum_partial(kat_v4_syn, 20, 0)), 0);
	ASSERT_EQ(sf_csum_fold(sf_csum_partial(kat_v4_ipopts, 24, 0)), 0);
}

/* ---- Parsing the known answers. ---- */

static void test_parse_v4_linux_syn(void)
{
	sf_segment s;
	char text[64];

	ASSERT_EQ(sf_wire_parse(kat_v4_syn, sizeof(kat_v4_syn), &s), SF_WIRE_OK);
	ASSERT_STR_EQ(sf_addr_format(&s.src, text, sizeof(text)), "192.0.2.1");
	ASSERT_STR_EQ(sf_addr_format(&s.dst, text, sizeof(text)), "198.51.100.2");
	ASSERT_EQ(s.ttl, 64);
	ASSERT_EQ(s.tos, 0);
	ASSERT_EQ(s.ip_id, 0x1234);
	ASSERT(s.dont_frag);
	ASSERT_EQ(s.sport, 40000);
	ASSERT_EQ(s.dport, 80);
	ASSERT_EQ(s.seq, 1000);
	ASSERT_EQ(s.ack, 0);
	ASSERT_EQ(s.flags, SF_SYN);
	ASSERT_EQ(s.reserved, 0);
	ASSERT_EQ(s.window, 64240);
	ASSERT_EQ(s.urg_ptr, 0);
	ASSERT_EQ(s.opt_len, 20);
	ASSERT_MEM_EQ(s.opt_raw, kat_v4_syn + 40, 20);
	ASSERT(s.opts.has_mss);
	ASSERT_EQ(s.opts.mss, 1460);
	ASSERT(s.opts.sack_permitted);
	ASSERT(s.opts.has_ts);
	ASSERT_EQ(s.opts.ts_val, 12345);
	ASSERT_EQ(s.opts.ts_ecr, 0);
	ASSERT(s.opts.has_wscale);
	ASSERT_EQ(s.opts.wscale, 7);
	ASSERT_EQ(s.opts.sack_count, 0);
	ASSERT_EQ(s.opts.unknown_count, 0);
	ASSERT(!s.opts.malformed);
	ASSERT(!s.opts.nonzero_padding);
	ASSERT_EQ(s.payload_len, 0);
	ASSERT(s.payload == kat_v4_syn + sizeof(kat_v4_syn));
}

static void test_parse_v6_data(void)
{
	sf_segment s;
	char text[64];

	ASSERT_EQ(sf_wire_parse(kat_v6_data, sizeof(kat_v6_data), &s), SF_WIRE_OK);
	ASSERT_EQ(s.src.family, SF_AF_INET6);
	ASSERT_STR_EQ(sf_addr_format(&s.src, text, sizeof(text)), "2001:db8::1");
	ASSERT_STR_EQ(sf_addr_format(&s.dst, text, sizeof(text)), "2001:db8::2");
	ASSERT_EQ(s.ttl, 64);
	ASSERT_EQ(s.sport, 443);
	ASSERT_EQ(s.dport, 50000);
	ASSERT_EQ(s.seq, 0x01020304);
	ASSERT_EQ(s.ack, 0xa0b0c0d0);
	ASSERT_EQ(s.flags, SF_PSH | SF_ACK);
	ASSERT_EQ(s.window, 502);
	ASSERT_EQ(s.opt_len, 12);
	ASSERT(s.opts.has_ts);
	ASSERT_EQ(s.opts.ts_val, 1);
	ASSERT_EQ(s.opts.ts_ecr, 2);
	ASSERT(!s.opts.has_mss);
	ASSERT_EQ(s.payload_len, 5);
	ASSERT_MEM_EQ(s.payload, "hello", 5);
}

/* RFC9293:MUST-50 and RFC 8200 §4: Hop-by-Hop, Routing (no segments left)
 * and Destination Options headers are skipped to reach TCP. */
static void test_parse_v6_extension_headers(void)
{
	sf_segment s;

	ASSERT_EQ(sf_wire_parse(kat_v6_ext, sizeof(kat_v6_ext), &s), SF_WIRE_OK);
	ASSERT_EQ(s.ttl, 255);
	ASSERT_EQ(s.sport, 1);
	ASSERT_EQ(s.dport, 2);
	ASSERT_EQ(s.seq, 7);
	ASSERT_EQ(s.ack, 9);
	ASSERT_EQ(s.flags, SF_ACK);
	ASSERT_EQ(s.window, 100);
	ASSERT_EQ(s.payload_len, 3);
	ASSERT_MEM_EQ(s.payload, "xyz", 3);
}

/* RFC9293:MUST-50: IPv4 options are skipped; odd payload length. */
static void test_parse_v4_ip_options(void)
{
	sf_segment s;

	ASSERT_EQ(sf_wire_parse(kat_v4_ipopts, sizeof(kat_v4_ipopts), &s), SF_WIRE_OK);
	ASSERT_EQ(s.tos, 0x10);
	ASSERT_EQ(s.ttl, 32);
	ASSERT_EQ(s.ip_id, 7);
	ASSERT(!s.dont_frag);
	ASSERT_EQ(s.sport, 1234);
	ASSERT_EQ(s.dport, 5678);
	ASSERT_EQ(s.seq, 0xfffffff0);
	ASSERT_EQ(s.flags, SF_FIN | SF_ACK);
	ASSERT_EQ(s.window, 0);
	ASSERT_EQ(s.opt_len, 0);
	ASSERT_EQ(s.payload_len, 3);
	ASSERT_MEM_EQ(s.payload, "odd", 3);
}

/* Link-layer padding after the IP total length is not part of the packet. */
static void test_parse_ignores_trailing_padding(void)
{
	uint8_t buf[sizeof(kat_v4_ipopts) + 13];
	sf_segment s;

	memset(buf, 0xee, sizeof(buf));
	memcpy(buf, kat_v4_ipopts, sizeof(kat_v4_ipopts));
	ASSERT_EQ(sf_wire_parse(buf, sizeof(buf), &s), SF_WIRE_OK);
	ASSERT_EQ(s.payload_len, 3);
}

/* The TCP header's 4 reserved bits come through as they are. */
static void test_parse_reserved_bits(void)
{
	uint8_t buf[sizeof(kat_v6_data)];
	sf_segment s;

	memcpy(buf, kat_v6_data, sizeof(buf));
	buf[40 + 12] |= 0x0b;
	fix_tcp_csum(buf, 40, sizeof(buf));
	ASSERT_EQ(sf_wire_parse(buf, sizeof(buf), &s), SF_WIRE_OK);
	ASSERT_EQ(s.reserved, 0x0b);
}

/* ---- Options: decoding, table-driven. ---- */

struct opt_case {
	const char *name;
	uint8_t raw[SF_MAX_OPT_LEN + 8];
	size_t len;
	/* expected */
	int mss;          /* -1: absent */
	int wscale;       /* -1: absent */
	bool sack_perm;
	int sack_count;
	long long ts_val; /* -1: absent */
	uint32_t ts_ecr;
	int unknown;
	bool malformed;
	bool nonzero_padding;
};

#define TS_BYTES(v, e)                                                        \
	8, 10, (v) >> 24 & 0xff, (v) >> 16 & 0xff, (v) >> 8 & 0xff, (v) & 0xff,  \
		(e) >> 24 & 0xff, (e) >> 16 & 0xff, (e) >> 8 & 0xff, (e) & 0xff

static const struct opt_case opt_cases[] = {
	{"empty", {0}, 0, -1, -1, false, 0, -1, 0, 0, false, false},
	/* RFC9293:MUST-4: EOL, NOP and MSS are mandatory. */
	{"eol_only", {0}, 1, -1, -1, false, 0, -1, 0, 0, false, false},
	{"eol_zero_padding", {0, 0, 0, 0}, 4, -1, -1, false, 0, -1, 0, 0, false, false},
	{"nops", {1, 1, 1, 1}, 4, -1, -1, false, 0, -1, 0, 0, false, false},
	{"mss", {2, 4, 0x05, 0xb4}, 4, 1460, -1, false, 0, -1, 0, 0, false, false},
	{"mss_zero", {2, 4, 0, 0}, 4, 0, -1, false, 0, -1, 0, 0, false, false},
	{"wscale", {1, 3, 3, 14}, 4, -1, 14, false, 0, -1, 0, 0, false, false},
	/* The window scale is reported as received; clamping is the engine's. */
	{"wscale_over_14", {1, 3, 3, 200}, 4, -1, 200, false, 0, -1, 0, 0, false, false},
	{"sack_perm", {1, 1, 4, 2}, 4, -1, -1, true, 0, -1, 0, 0, false, false},
	{"ts", {1, 1, TS_BYTES(0xdeadbeefu, 0x01020304u)}, 12, -1, -1, false, 0,
	 0xdeadbeefLL, 0x01020304, 0, false, false},
	{"sack_1", {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}, 12, -1, -1, false, 1, -1, 0, 0,
	 false, false},
	{"sack_2", {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}, 20, -1, -1,
	 false, 2, -1, 0, 0, false, false},
	{"sack_3", {1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
		    0, 0, 0, 6}, 28, -1, -1, false, 3, -1, 0, 0, false, false},
	{"sack_4", {1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
		    0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}, 36, -1, -1, false, 4, -1, 0, 0, false,
	 false},
	/* A full 40-octet area: 4 SACK blocks and padding. */
	{"sack_4_full_area", {5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
			      0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8, 1, 1, 1, 1, 1, 0}, 40, -1, -1,
	 false, 4, -1, 0, 0, false, false},
	{"linux_syn", {2, 4, 0x05, 0xb4, 4, 2, TS_BYTES(12345u, 0u), 1, 3, 3, 7}, 20, 1460, 7,
	 true, 0, 12345, 0, 0, false, false},
	/* RFC9293:MUST-64: options that do not start on a word boundary. */
	{"unaligned", {1, 2, 4, 0x02, 0x18, 3, 3, 5, TS_BYTES(7u, 8u), 4, 2, 1, 1, 1}, 23, 536,
	 5, true, 0, 7, 8, 0, false, false},
	{"unaligned_sack", {1, 5, 10, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0, 0}, 13, -1, -1,
	 false, 1, -1, 0, 0, false, false},
	/* RFC9293:MUST-6: unknown kinds with a length are skipped. */
	{"unknown_kind", {0xfe, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4}, 8, 1460, -1, false, 0, -1, 0,
	 1, false, false},
	{"unknown_kind_len2", {30, 2, 2, 4, 0x05, 0xb4, 0, 0}, 8, 1460, -1, false, 0, -1, 0, 1,
	 false, false},
	{"unknown_kind_fills_area", {253, 40}, 40, -1, -1, false, 0, -1, 0, 1, false, false},
	/* Known kinds with the wrong length are ignored, like Linux. */
	{"mss_len3", {2, 3, 5, 2, 4, 0x05, 0xb4, 0}, 8, 1460, -1, false, 0, -1, 0, 1, false,
	 false},
	{"mss_len6", {2, 6, 0, 0, 5, 0xb4, 0, 0}, 8, -1, -1, false, 0, -1, 0, 1, false, false},
	{"wscale_len4", {3, 4, 7, 0}, 4, -1, -1, false, 0, -1, 0, 1, false, false},
	{"sack_perm_len3", {4, 3, 0, 0}, 4, -1, -1, false, 0, -1, 0, 1, false, false},
	{"ts_len9", {8, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 12, -1, -1, false, 0, -1, 0, 1, false,
	 false},
	{"sack_len9", {5, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 12, -1, -1, false, 0, -1, 0, 1,
	 false, false},
	{"sack_len2", {5, 2, 1, 1}, 4, -1, -1, false, 0, -1, 0, 1, false, false},
	/* RFC9293:MUST-7: illegal lengths stop decoding, keeping what came before. */
	{"len0", {2, 4, 0x05, 0xb4, 8, 0, 3, 3, 7, 0, 0, 0}, 12, 1460, -1, false, 0, -1, 0, 0,
	 true, false},
	{"len1", {2, 4, 0x05, 0xb4, 0xfe, 1, 3, 3, 7, 0, 0, 0}, 12, 1460, -1, false, 0, -1, 0, 0,
	 true, false},
	{"len0_first", {0xfe, 0, 2, 4, 0x05, 0xb4, 0, 0}, 8, -1, -1, false, 0, -1, 0, 0, true,
	 false},
	{"len_past_end", {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, 8, -1, -1, false, 0, -1, 0, 0,
	 true, false},
	{"len_255", {2, 4, 0x05, 0xb4, 0xfe, 255, 0, 0}, 8, 1460, -1, false, 0, -1, 0, 0, true,
	 false},
	{"mss_truncated", {1, 1, 1, 2, 4, 0x05}, 6, -1, -1, false, 0, -1, 0, 0, true, false},
	/* RFC9293:MUST-68: a kind other than EOL/NOP needs its length octet. */
	{"kind_without_length", {1, 1, 1, 2}, 4, -1, -1, false, 0, -1, 0, 0, true, false},
	{"unknown_without_length", {1, 3, 3, 9, 1, 1, 1, 0xfe}, 8, -1, 9, false, 0, -1, 0, 0, true,
	 false},
	/* RFC9293:MUST-69: octets after EOL are padding and must be zero; what
	 * follows EOL is not decoded. */
	{"eol_nonzero_padding", {3, 3, 2, 0, 2, 4, 0x05, 0xb4}, 8, -1, 2, false, 0, -1, 0, 0, false,
	 true},
	{"eol_then_zero", {1, 1, 4, 2, 0, 0, 0, 0}, 8, -1, -1, true, 0, -1, 0, 0, false, false},
	/* A later option of the same kind wins, as in Linux. */
	{"duplicate_mss", {2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18}, 8, 536, -1, false, 0, -1, 0, 0,
	 false, false},
};

static void check_opts(const struct opt_case *c, const sf_tcp_options *o)
{
	printf("  option case %s\n", c->name);
	ASSERT_EQ(o->has_mss, c->mss >= 0);
	if (c->mss >= 0)
		ASSERT_EQ(o->mss, c->mss);
	ASSERT_EQ(o->has_wscale, c->wscale >= 0);
	if (c->wscale >= 0)
		ASSERT_EQ(o->wscale, c->wscale);
	ASSERT_EQ(o->sack_permitted, c->sack_perm);
	ASSERT_EQ(o->sack_count, c->sack_count);
	for (int i = 0; i < c->sack_count; i++) {
		ASSERT(o->sack[i].left != 0 || o->sack[i].right != 0);
		ASSERT_EQ(o->sack[i].right, o->sack[i].left + 1);
	}
	ASSERT_EQ(o->has_ts, c->ts_val >= 0);
	if (c->ts_val >= 0) {
		ASSERT_EQ(o->ts_val, c->ts_val);
		ASSERT_EQ(o->ts_ecr, c->ts_ecr);
	}
	ASSERT_EQ(o->unknown_count, c->unknown);
	ASSERT_EQ(o->malformed, c->malformed);
	ASSERT_EQ(o->nonzero_padding, c->nonzero_padding);
}

/* RFC9293:MUST-4..7, MUST-64, MUST-68, MUST-69: every case decoded from an
 * exact-size copy (so ASan catches a read past the area). */
static void test_opts_decode_table(void)
{
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];
		uint8_t *raw = malloc(c->len ? c->len : 1);
		sf_tcp_options o;

		ASSERT(raw != NULL);
		memcpy(raw, c->raw, c->len);
		sf_opts_decode(raw, c->len, &o);
		free(raw);
		check_opts(c, &o);
	}
}

/* SACK block values are decoded in order, as 32-bit network-order pairs. */
static void test_opts_decode_sack_values(void)
{
	static const uint8_t raw[] = {1, 1, 5, 18, 0x80, 0, 0, 1, 0x80, 0, 0x10, 0,
				      0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10};
	sf_tcp_options o;

	sf_opts_decode(raw, sizeof(raw), &o);
	ASSERT_EQ(o.sack_count, 2);
	ASSERT_EQ(o.sack[0].left, 0x80000001u);
	ASSERT_EQ(o.sack[0].right, 0x80001000u);
	ASSERT_EQ(o.sack[1].left, 0xfffffff0u);
	ASSERT_EQ(o.sack[1].right, 0x10u);
}

/* RFC9293:MUST-5: options are parsed on any segment, here a plain ACK with
 * unaligned options inside a full packet. */
static void test_parse_options_on_non_syn(void)
{
	sf_segment s = base_segment(SF_AF_INET), p;
	static const uint8_t raw[] = {1, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0};
	uint8_t buf[128];
	size_t n;

	memcpy(s.opt_raw, raw, sizeof(raw));
	s.opt_len = sizeof(raw);
	n = emit_ok(&s, NULL, buf, sizeof(buf));
	ASSERT_EQ(parse_exact(buf, n, &p), SF_WIRE_OK);
	ASSERT(p.opts.has_ts);
	ASSERT_EQ(p.opts.ts_val, 9);
	ASSERT_EQ(p.opts.ts_ecr, 3);
}

/* ---- Options: encoding in Linux's layout. ---- */

static void test_opts_encode_linux_syn(void)
{
	/* tcpdump of a Linux SYN: "mss 1460,sackOK,TS val 12345 ecr 0,nop,wscale 7" */
	sf_tcp_options o;
	uint8_t raw[SF_MAX_OPT_LEN];

	memset(&o, 0, sizeof(o));
	o.has_mss = true;
	o.mss = 1460;
	o.sack_permitted = true;
	o.has_ts = true;
	o.ts_val = 12345;
	o.has_wscale = true;
	o.wscale = 7;
	ASSERT_EQ(sf_opts_encode(&o, raw), 20);
	/* Byte for byte what Linux (and scapy's packet above) carry. */
	ASSERT_MEM_EQ(raw, kat_v4_syn + 40, 20);
}

struct enc_case {
	const char *name;
	sf_tcp_options in;
	size_t len;
	uint8_t raw[SF_MAX_OPT_LEN];
};

static const struct enc_case enc_cases[] = {
	{"none", {0}, 0, {0}},
	{"mss_only", {.has_mss = true, .mss = 536}, 4, {2, 4, 2, 0x18}},
	{"ts_without_sack_perm", {.has_ts = true, .ts_val = 1, .ts_ecr = 2}, 12,
	 {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
	{"sack_perm_without_ts", {.has_mss = true, .mss = 1460, .sack_permitted = true,
				  .has_wscale = true, .wscale = 7},
	 12, {2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
	{"syn_no_sack_perm", {.has_mss = true, .mss = 1460, .has_ts = true, .ts_val = 5,
			      .has_wscale = true, .wscale = 0},
	 20, {2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 0, 1, 3, 3, 0}},
	{"sack_1_with_ts", {.has_ts = true, .ts_val = 1, .ts_ecr = 2, .sack_count = 1,
			    .sack = {{10, 20}}},
	 24, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20}},
	/* With timestamps only 3 blocks fit in 40 octets (RFC 2018 §3). */
	{"sack_4_with_ts_gives_3", {.has_ts = true, .ts_val = 1, .ts_ecr = 2, .sack_count = 4,
				    .sack = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
	 40, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2,
	      0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}},
	{"sack_4_without_ts", {.sack_count = 4, .sack = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
	 36, {1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
	      0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
	/* A count above the maximum is capped, never read past sack[3]. */
	{"sack_count_over_max", {.sack_count = 200, .sack = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
	 36, {1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
	      0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
	/* Everything at once: two SACK blocks fill the 40 octets. */
	{"all_with_sack", {.has_mss = true, .mss = 1, .sack_permitted = true, .has_ts = true,
			   .has_wscale = true, .wscale = 1, .sack_count = 2,
			   .sack = {{1, 2}, {3, 4}}},
	 40, {2, 4, 0, 1, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 1, 1, 1, 5, 18,
	      0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}},
};

/* Every layout of Linux's tcp_options_write(), and decode(encode(x)) == x. */
static void test_opts_encode_table(void)
{
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *c = &enc_cases[i];
		uint8_t raw[SF_MAX_OPT_LEN];
		sf_tcp_options back;
		size_t n;

		printf("  encode case %s\n", c->name);
		memset(raw, 0xcc, sizeof(raw));
		n = sf_opts_encode(&c->in, raw);
		ASSERT_EQ(n, c->len);
		ASSERT_EQ(n % 4, 0);
		ASSERT_MEM_EQ(raw, c->raw, n);
		sf_opts_decode(raw, n, &back);
		ASSERT_EQ(back.has_mss, c->in.has_mss);
		ASSERT_EQ(back.mss, c->in.mss);
		ASSERT_EQ(back.has_wscale, c->in.has_wscale);
		ASSERT_EQ(back.wscale, c->in.wscale);
		ASSERT_EQ(back.sack_permitted, c->in.sack_permitted);
		ASSERT_EQ(back.has_ts, c->in.has_ts);
		ASSERT_EQ(back.ts_val, c->in.ts_val);
		ASSERT_EQ(back.ts_ecr, c->in.ts_ecr);
		ASSERT(back.sack_count <= c->in.sack_count);
		for (int b = 0; b < back.sack_count; b++) {
			ASSERT_EQ(back.sack[b].left, c->in.sack[b].left);
			ASSERT_EQ(back.sack[b].right, c->in.sack[b].right);
		}
		ASSERT_EQ(back.unknown_count, 0);
		ASSERT(!back.malformed);
	}
}

/* ---- Parse errors. ---- */

enum mutation {
	MUT_VERSION_5,
	MUT_IHL_4,
	MUT_IHL_PAST_END,
	MUT_TOTAL_LT_IHL,
	MUT_TOTAL_PAST_END,
	MUT_IP_CSUM,
	MUT_MORE_FRAGMENTS,
	MUT_FRAG_OFFSET,
	MUT_PROTO_UDP,
	MUT_DOFF_4,
	MUT_DOFF_0,
	MUT_DOFF_PAST_END,
	MUT_TCP_CSUM,
	MUT_TCP_CSUM_PAYLOAD,
};

struct err_case {
	const char *name;
	enum mutation mut;
	int expect;
};

/* Apply one mutation to a copy of kat_v4_ipopts (IHL 6, TCP at 24) and keep
 * every checksum right except the one the mutation is about. */
static size_t mutate_v4(enum mutation m, uint8_t *buf)
{
	size_t len = sizeof(kat_v4_ipopts);

	memcpy(buf, kat_v4_ipopts, len);
	switch (m) {
	case MUT_VERSION_5: buf[0] = 0x56; break;
	case MUT_IHL_4: buf[0] = 0x44; break;
	case MUT_IHL_PAST_END: buf[0] = 0x4f; len = 40; put16(buf + 2, 40); break;
	case MUT_TOTAL_LT_IHL: put16(buf + 2, 20); break;
	case MUT_TOTAL_PAST_END: put16(buf + 2, (uint16_t)(len + 1)); break;
	case MUT_IP_CSUM: buf[10] ^= 1; return len;
	case MUT_MORE_FRAGMENTS: put16(buf + 6, 0x2000); break;
	case MUT_FRAG_OFFSET: put16(buf + 6, 0x0001); break;
	case MUT_PROTO_UDP: buf[9] = 17; break;
	case MUT_DOFF_4: buf[24 + 12] = 0x40; fix_tcp_csum(buf, 24, len); break;
	case MUT_DOFF_0: buf[24 + 12] = 0x00; fix_tcp_csum(buf, 24, len); break;
	case MUT_DOFF_PAST_END: buf[24 + 12] = 0x70; fix_tcp_csum(buf, 24, len); break;
	case MUT_TCP_CSUM: buf[24 + 17] ^= 0x80; break;
	case MUT_TCP_CSUM_PAYLOAD: buf[len - 1] ^= 0x01; break;
	}
	fix_ip4_csum(buf);
	return len;
}

static void test_parse_errors_ipv4(void)
{
	static const struct err_case cases[] = {
		{"version_5", MUT_VERSION_5, SF_WIRE_EVERSION},
		{"ihl_4", MUT_IHL_4, SF_WIRE_EHDR},
		{"ihl_past_end", MUT_IHL_PAST_END, SF_WIRE_ETRUNC},
		{"total_lt_ihl", MUT_TOTAL_LT_IHL, SF_WIRE_EHDR},
		{"total_past_end", MUT_TOTAL_PAST_END, SF_WIRE_ETRUNC},
		/* RFC9293:MUST-3 for the IPv4 header checksum too */
		{"ip_csum", MUT_IP_CSUM, SF_WIRE_ECSUM},
		{"more_fragments", MUT_MORE_FRAGMENTS, SF_WIRE_EFRAG},
		{"frag_offset", MUT_FRAG_OFFSET, SF_WIRE_EFRAG},
		{"proto_udp", MUT_PROTO_UDP, SF_WIRE_ENOTTCP},
		{"doff_4", MUT_DOFF_4, SF_WIRE_EHDR},
		{"doff_0", MUT_DOFF_0, SF_WIRE_EHDR},
		{"doff_past_end", MUT_DOFF_PAST_END, SF_WIRE_ETRUNC},
		/* RFC9293:MUST-3: a segment failing the checksum is not processed */
		{"tcp_csum", MUT_TCP_CSUM, SF_WIRE_ECSUM},
		{"tcp_csum_payload", MUT_TCP_CSUM_PAYLOAD, SF_WIRE_ECSUM},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[64];
		sf_segment s;
		size_t len = mutate_v4(cases[i].mut, buf);

		printf("  error case %s\n", cases[i].name);
		ASSERT_EQ(parse_exact(buf, len, &s), cases[i].expect);
	}
	{
		sf_segment s;

		ASSERT_EQ(sf_wire_parse(kat_v4_syn, 0, &s), SF_WIRE_ETRUNC);
	}
}

/*
 * IPv6 packets built from parts: header + extension headers (each 8 octets,
 * given as next-header, length, type-specific octets) + a bare TCP ACK.
 */
static size_t build_v6(uint8_t *buf, const uint8_t *first_nh_and_exts, size_t n_ext)
{
	static const uint8_t tcp[20] = {0, 1, 0, 2, 0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x10, 0, 100};
	size_t off = 40, len;

	memcpy(buf, kat_v6_data, 40);
	buf[6] = first_nh_and_exts[0];
	for (size_t i = 0; i < n_ext; i++) {
		memcpy(buf + off, first_nh_and_exts + 1 + 8 * i, 8);
		off += 8;
	}
	memcpy(buf + off, tcp, sizeof(tcp));
	len = off + sizeof(tcp);
	put16(buf + 4, (uint16_t)(len - 40));
	fix_tcp_csum(buf, off, len);
	return len;
}

static void test_parse_errors_ipv6(void)
{
	static const struct {
		const char *name;
		uint8_t parts[1 + 8 * 3];
		size_t n_ext;
		int expect;
	} cases[] = {
		{"no_ext", {6}, 0, SF_WIRE_OK},
		{"hbh", {0, 6, 0, 1, 4, 0, 0, 0, 0}, 1, SF_WIRE_OK},
		{"dstopts_routing_dstopts", {60, 43, 0, 1, 4, 0, 0, 0, 0, 60, 0, 2, 0, 0, 0, 0, 0,
					     6, 0, 1, 4, 0, 0, 0, 0}, 3, SF_WIRE_OK},
		/* RFC 8200 §4.5: fragments are not reassembled here. */
		{"fragment", {44, 6, 0, 0, 0, 0, 0, 0, 1}, 1, SF_WIRE_EFRAG},
		{"hbh_then_fragment", {0, 44, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 1}, 2,
		 SF_WIRE_EFRAG},
		{"udp", {17}, 0, SF_WIRE_ENOTTCP},
		{"no_next_header", {59}, 0, SF_WIRE_ENOTTCP},
		{"esp", {60, 50, 0, 1, 4, 0, 0, 0, 0}, 1, SF_WIRE_ENOTTCP},
		/* RFC 8200 §4.3: Hop-by-Hop only directly after the IPv6 header. */
		{"hbh_not_first", {60, 0, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0}, 2,
		 SF_WIRE_EHDR},
		/* RFC 8200 §4.4: segments left means we are not the destination. */
		{"routing_segments_left", {43, 6, 0, 0, 1, 0, 0, 0, 0}, 1, SF_WIRE_EHDR},
		/* An extension header whose length runs past the packet. */
		{"ext_len_past_end", {60, 6, 9, 1, 4, 0, 0, 0, 0}, 1, SF_WIRE_ETRUNC},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[128];
		sf_segment s;
		size_t len = build_v6(buf, cases[i].parts, cases[i].n_ext);

		printf("  error case %s\n", cases[i].name);
		ASSERT_EQ(parse_exact(buf, len, &s), cases[i].expect);
		if (cases[i].expect == SF_WIRE_OK) {
			ASSERT_EQ(s.seq, 7);
			ASSERT_EQ(s.ack, 9);
			ASSERT_EQ(s.payload_len, 0);
		}
	}
	{
		uint8_t buf[sizeof(kat_v6_data)];
		sf_segment s;

		/* payload length past the end of the buffer */
		memcpy(buf, kat_v6_data, sizeof(buf));
		put16(buf + 4, (uint16_t)(sizeof(buf) - 40 + 1));
		ASSERT_EQ(parse_exact(buf, sizeof(buf), &s), SF_WIRE_ETRUNC);
		/* a flipped payload bit fails the IPv6 pseudo-header checksum */
		memcpy(buf, kat_v6_data, sizeof(buf));
		buf[sizeof(buf) - 2] ^= 0x20;
		ASSERT_EQ(parse_exact(buf, sizeof(buf), &s), SF_WIRE_ECSUM);
		/* a changed source address fails it too */
		memcpy(buf, kat_v6_data, sizeof(buf));
		buf[8 + 15] ^= 0x01;
		ASSERT_EQ(parse_exact(buf, sizeof(buf), &s), SF_WIRE_ECSUM);
	}
}

/* sf_tcp_parse: a bare TCP header with addresses given out of band. */
static void test_tcp_parse_bare(void)
{
	sf_addr src, dst;
	sf_segment s;
	uint8_t tcp[sizeof(kat_v4_syn) - 20];

	addrs_of(kat_v4_syn, &src, &dst);
	memcpy(tcp, kat_v4_syn + 20, sizeof(tcp));
	ASSERT_EQ(sf_tcp_parse(tcp, sizeof(tcp), &src, &dst, true, &s), SF_WIRE_OK);
	ASSERT_EQ(s.opts.mss, 1460);
	ASSERT(sf_addr_eq(&s.src, &src));
	tcp[16] ^= 0xff;
	ASSERT_EQ(sf_tcp_parse(tcp, sizeof(tcp), &src, &dst, true, &s), SF_WIRE_ECSUM);
	/* Transports without checksums can skip the check. */
	ASSERT_EQ(sf_tcp_parse(tcp, sizeof(tcp), &src, &dst, false, &s), SF_WIRE_OK);
	ASSERT_EQ(s.seq, 1000);
	ASSERT_EQ(sf_tcp_parse(tcp, 19, &src, &dst, false, &s), SF_WIRE_ETRUNC);
	dst.family = SF_AF_INET6;
	ASSERT_EQ(sf_tcp_parse(tcp, sizeof(tcp), &src, &dst, false, &s), SF_WIRE_EINVAL);
}

/* ---- Truncation: every length of every valid packet. ---- */

static void check_truncations(const char *name, const uint8_t *pkt, size_t len)
{
	uint8_t *copy;
	sf_segment s;

	printf("  truncations of %s (%zu octets)\n", name, len);
	for (size_t n = 0; n < len; n++) {
		int rc = parse_exact(pkt, n, &s);

		ASSERT(rc == SF_WIRE_ETRUNC || rc == SF_WIRE_EHDR);
	}
	/* Also with the IP length field shrunk to match, so only the TCP
	 * segment itself is short (checksums fixed where they still exist). */
	copy = malloc(len);
	ASSERT(copy != NULL);
	for (size_t n = (pkt[0] >> 4 == 4) ? (size_t)(pkt[0] & 0xf) * 4 : 40; n < len; n++) {
		int rc;

		memcpy(copy, pkt, n);
		if (pkt[0] >> 4 == 4) {
			put16(copy + 2, (uint16_t)n);
			fix_ip4_csum(copy);
		} else {
			put16(copy + 4, (uint16_t)(n - 40));
		}
		rc = parse_exact(copy, n, &s);
		ASSERT(rc == SF_WIRE_ETRUNC || rc == SF_WIRE_EHDR || rc == SF_WIRE_ECSUM);
	}
	free(copy);
	ASSERT_EQ(parse_exact(pkt, len, &s), SF_WIRE_OK);
}

static void test_parse_truncated_every_length(void)
{
	for (size_t i = 0; i < N_KATS; i++)
		check_truncations(kats[i].name, kats[i].pkt, kats[i].len);
}

/* ---- Emit. ---- */

/* The known answers re-emitted from their parsed form give the same bytes
 * (for the ones without IP options or extension headers, which emit does
 * not produce). */
static void test_emit_reproduces_known_answers(void)
{
	const struct kat *plain[] = {&kats[0], &kats[1]};

	for (size_t i = 0; i < 2; i++) {
		sf_segment s;
		uint8_t buf[128];

		ASSERT_EQ(sf_wire_parse(plain[i]->pkt, plain[i]->len, &s), SF_WIRE_OK);
		ASSERT_EQ(sf_wire_length(&s), plain[i]->len);
		ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), (int)plain[i]->len);
		ASSERT_MEM_EQ(buf, plain[i]->pkt, plain[i]->len);
	}
	/* The TCP part of the others is reproduced under a plain IP header. */
	{
		sf_segment s;
		uint8_t buf[128];

		ASSERT_EQ(sf_wire_parse(kat_v6_ext, sizeof(kat_v6_ext), &s), SF_WIRE_OK);
		ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)),
			  (int)(40 + sizeof(kat_v6_ext) - KAT_V6_EXT_TCP_OFF));
		ASSERT_MEM_EQ(buf + 40, kat_v6_ext + KAT_V6_EXT_TCP_OFF,
			      sizeof(kat_v6_ext) - KAT_V6_EXT_TCP_OFF);
		ASSERT_EQ(sf_wire_parse(kat_v4_ipopts, sizeof(kat_v4_ipopts), &s), SF_WIRE_OK);
		ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), (int)sizeof(kat_v4_ipopts) - 4);
		ASSERT_MEM_EQ(buf + 20, kat_v4_ipopts + 24, sizeof(kat_v4_ipopts) - 24);
	}
}

/* emit -> parse -> emit gives identical bytes and the same fields, for both
 * families, every option layout, odd option lengths (padded with EOL) and
 * payload sizes around word boundaries. */
static void test_emit_parse_emit_identity(void)
{
	static uint8_t payload[1500];
	static const size_t payload_lens[] = {0, 1, 2, 3, 7, 8, 9, 31, 32, 33, 536, 1460};
	static uint8_t buf1[SF_MAX_PACKET], buf2[SF_MAX_PACKET];
	int count = 0;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	for (int fam = 0; fam < 2; fam++) {
		for (size_t e = 0; e < sizeof(enc_cases) / sizeof(enc_cases[0]); e++) {
			for (size_t p = 0; p < sizeof(payload_lens) / sizeof(payload_lens[0]); p++) {
				sf_segment s = base_segment(fam ? SF_AF_INET6 : SF_AF_INET), q;
				size_t n1, n2;

				s.opt_len = (uint8_t)sf_opts_encode(&enc_cases[e].in, s.opt_raw);
				/* Option areas that are not a whole number of words
				 * are padded with EOL octets on emit. */
				if (p % 2 && s.opt_len < SF_MAX_OPT_LEN)
					s.opt_raw[s.opt_len++] = SF_OPT_NOP;
				s.payload = payload;
				s.payload_len = payload_lens[p];
				s.tos = (uint8_t)(p * 4);
				s.ip_id = (uint16_t)(e * 1000 + p);
				s.dont_frag = (p & 1) != 0;
				s.flags = (uint8_t)(SF_ACK | (p & 1 ? SF_PSH : 0) | (e & 1 ? SF_FIN : 0));
				s.reserved = (uint8_t)(p & 0xf);
				s.urg_ptr = (uint16_t)p;
				s.seq += (uint32_t)p * 0x10000001u;
				n1 = emit_ok(&s, NULL, buf1, sizeof(buf1));
				ASSERT_EQ(n1, sf_wire_length(&s));
				ASSERT_EQ(sf_wire_parse(buf1, n1, &q), SF_WIRE_OK);
				ASSERT(sf_addr_eq(&q.src, &s.src));
				ASSERT(sf_addr_eq(&q.dst, &s.dst));
				ASSERT_EQ(q.seq, s.seq);
				ASSERT_EQ(q.ack, s.ack);
				ASSERT_EQ(q.flags, s.flags);
				ASSERT_EQ(q.reserved, s.reserved);
				ASSERT_EQ(q.urg_ptr, s.urg_ptr);
				ASSERT_EQ(q.window, s.window);
				ASSERT_EQ(q.tos, s.tos);
				ASSERT_EQ(q.ttl, s.ttl);
				if (!fam) {
					ASSERT_EQ(q.ip_id, s.ip_id);
					ASSERT_EQ(q.dont_frag, s.dont_frag);
				}
				ASSERT_EQ(q.opt_len, (s.opt_len + 3) & ~3);
				ASSERT_MEM_EQ(q.opt_raw, s.opt_raw, s.opt_len);
				ASSERT_EQ(q.payload_len, s.payload_len);
				ASSERT_MEM_EQ(q.payload, payload, s.payload_len);
				n2 = emit_ok(&q, NULL, buf2, sizeof(buf2));
				ASSERT_EQ(n2, n1);
				ASSERT_MEM_EQ(buf1, buf2, n1);
				count++;
			}
		}
	}
	ASSERT_EQ(count, 2 * (int)(sizeof(enc_cases) / sizeof(enc_cases[0])) *
				 (int)(sizeof(payload_lens) / sizeof(payload_lens[0])));
}

/* A parsed packet re-emitted into its own buffer: the payload moves back
 * over the extension headers (or IP options) without being damaged. */
static void test_emit_in_place(void)
{
	const struct kat *withext[] = {&kats[2], &kats[3]};

	for (size_t i = 0; i < 2; i++) {
		uint8_t *buf = malloc(withext[i]->len);
		uint8_t expect[128];
		sf_segment s, q;
		int n;

		ASSERT(buf != NULL);
		memcpy(buf, withext[i]->pkt, withext[i]->len);
		ASSERT_EQ(sf_wire_parse(buf, withext[i]->len, &s), SF_WIRE_OK);
		n = sf_wire_emit(&s, NULL, expect, sizeof(expect));
		ASSERT(n > 0);
		ASSERT_EQ(sf_wire_emit(&s, NULL, buf, withext[i]->len), n);
		ASSERT_MEM_EQ(buf, expect, (size_t)n);
		ASSERT_EQ(sf_wire_parse(buf, (size_t)n, &q), SF_WIRE_OK);
		free(buf);
	}
}

/* A TTL of 0 means the default of 64 on emit. */
static void test_emit_default_ttl(void)
{
	sf_segment s = base_segment(SF_AF_INET), q;
	uint8_t buf[64];

	s.ttl = 0;
	ASSERT_EQ(parse_exact(buf, emit_ok(&s, NULL, buf, sizeof(buf)), &q), SF_WIRE_OK);
	ASSERT_EQ(buf[8], 64);
	s = base_segment(SF_AF_INET6);
	s.ttl = 0;
	emit_ok(&s, NULL, buf, sizeof(buf));
	ASSERT_EQ(buf[7], 64);
}

static void test_emit_errors(void)
{
	sf_segment s = base_segment(SF_AF_INET);
	uint8_t buf[128];

	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, 39), SF_WIRE_ENOSPC);
	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, 40), 40);
	s.opt_len = SF_MAX_OPT_LEN + 1;
	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), SF_WIRE_EINVAL);
	ASSERT_EQ(sf_wire_length(&s), 0);
	s = base_segment(SF_AF_INET);
	s.dst.family = SF_AF_INET6;
	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), SF_WIRE_EINVAL);
	s.src.family = s.dst.family = 0;
	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), SF_WIRE_EINVAL);
	s = base_segment(SF_AF_INET);
	s.payload_len = 1;
	s.payload = NULL;
	ASSERT_EQ(sf_wire_emit(&s, NULL, buf, sizeof(buf)), SF_WIRE_EINVAL);
	/* Longer than the 16-bit IP length fields allow. */
	{
		static uint8_t big[SF_MAX_PACKET];

		s.payload = big;
		s.payload_len = SF_MAX_PACKET - 40;
		ASSERT_EQ(sf_wire_length(&s), SF_MAX_PACKET);
		s.payload_len++;
		ASSERT_EQ(sf_wire_length(&s), 0);
		s = base_segment(SF_AF_INET6);
		s.payload = big;
		s.payload_len = SF_MAX_PACKET - 20;
		ASSERT_EQ(sf_wire_length(&s), SF_MAX_PACKET + 40);
		s.payload_len++;
		ASSERT_EQ(sf_wire_length(&s), 0);
	}
}

/* Each fault does exactly its damage, which the parser then reports. */
static void test_emit_faults(void)
{
	static uint8_t pay[100];

	for (int fam = 0; fam < 2; fam++) {
		sf_segment s = base_segment(fam ? SF_AF_INET6 : SF_AF_INET), q;
		uint8_t good[256], bad[256];
		size_t iph = fam ? 40 : 20, n;
		sf_emit_faults f;

		s.payload = pay;
		s.payload_len = sizeof(pay);
		s.opt_len = 4;
		s.opt_raw[0] = 2; s.opt_raw[1] = 4; s.opt_raw[2] = 5; s.opt_raw[3] = 0xb4;
		n = emit_ok(&s, NULL, good, sizeof(good));

		memset(&f, 0, sizeof(f));
		ASSERT_EQ(emit_ok(&s, &f, bad, sizeof(bad)), n);
		ASSERT_MEM_EQ(good, bad, n);

		/* bad_tcp_checksum: only the TCP checksum field differs. */
		f.bad_tcp_checksum = true;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT(get16(bad + iph + 16) != get16(good + iph + 16));
		ASSERT_MEM_EQ(bad, good, iph + 16);
		ASSERT_MEM_EQ(bad + iph + 18, good + iph + 18, n - iph - 18);
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_ECSUM);

		/* bad_ip_checksum: IPv4 header checksum only; no effect on IPv6. */
		memset(&f, 0, sizeof(f));
		f.bad_ip_checksum = true;
		emit_ok(&s, &f, bad, sizeof(bad));
		if (!fam) {
			ASSERT(get16(bad + 10) != get16(good + 10));
			ASSERT_MEM_EQ(bad + 12, good + 12, n - 12);
			ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_ECSUM);
		} else {
			ASSERT_MEM_EQ(bad, good, n);
		}

		/* ip_len_delta: the length field says more than is there, or less. */
		memset(&f, 0, sizeof(f));
		f.ip_len_delta = 1;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(get16(bad + (fam ? 4 : 2)), get16(good + (fam ? 4 : 2)) + 1);
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_ETRUNC);
		f.ip_len_delta = -1;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(get16(bad + (fam ? 4 : 2)), get16(good + (fam ? 4 : 2)) - 1);
		/* The segment looks one octet shorter, which the checksum catches. */
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_ECSUM);
		f.ip_len_delta = (int16_t)(-(int)(n - iph) - 1);
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(parse_exact(bad, n, &q), fam ? SF_WIRE_ETRUNC : SF_WIRE_EHDR);

		/* data_off_delta: the data offset moves; the checksum stays right, so
		 * the damage is what the parser sees. */
		memset(&f, 0, sizeof(f));
		f.data_off_delta = -1;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(bad[iph + 12] >> 4, 5);
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_OK);
		ASSERT_EQ(q.opt_len, 0);
		ASSERT_EQ(q.payload_len, sizeof(pay) + 4); /* the MSS option became data */
		f.data_off_delta = 2;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(bad[iph + 12] >> 4, 8);
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_OK);
		/* MSS, then 8 zero payload octets read as EOL and padding. */
		ASSERT_EQ(q.opt_len, 12);
		ASSERT(q.opts.has_mss);
		ASSERT_EQ(q.opts.mss, 1460);
		ASSERT(!q.opts.malformed && !q.opts.nonzero_padding);
		ASSERT_EQ(q.payload_len, sizeof(pay) - 8);
		f.data_off_delta = -3;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_EHDR);
		/* Past the end of a short segment: no payload to cover it. */
		s.payload_len = 0;
		n = emit_ok(&s, NULL, good, sizeof(good));
		f.data_off_delta = 9;
		emit_ok(&s, &f, bad, sizeof(bad));
		ASSERT_EQ(bad[iph + 12] >> 4, 15);
		ASSERT_EQ(parse_exact(bad, n, &q), SF_WIRE_ETRUNC);
	}
}

/*
 * A correct checksum of 0x0000 and 0xffff are the same one's complement
 * number, so flipping all bits of a 0x0000 checksum would still verify. Find
 * segments whose checksum is each of those and check the fault still breaks
 * them.
 */
static void test_emit_bad_checksum_on_zero_checksum(void)
{
	sf_segment s = base_segment(SF_AF_INET), q;
	sf_emit_faults f = {.bad_tcp_checksum = true};
	uint8_t buf[64];
	int found = 0;

	/* A complemented sum is 0x0000 when the folded sum is 0xffff; roughly
	 * one sequence number in 65535 gives that. */
	for (uint32_t seq = 0; seq < 0x80000 && found < 3; seq++) {
		s.seq = seq;
		emit_ok(&s, NULL, buf, sizeof(buf));
		if (get16(buf + 20 + 16) != 0x0000)
			continue;
		found++;
		ASSERT_EQ(parse_exact(buf, 40, &q), SF_WIRE_OK);
		/* The all-ones form of the same checksum verifies too ... */
		put16(buf + 20 + 16, 0xffff);
		ASSERT_EQ(parse_exact(buf, 40, &q), SF_WIRE_OK);
		/* ... but the fault's damage never does. */
		emit_ok(&s, &f, buf, sizeof(buf));
		ASSERT_EQ(parse_exact(buf, 40, &q), SF_WIRE_ECSUM);
	}
	ASSERT_EQ(found, 3);
}

/* ---- Robustness: random bytes and random damage never crash. ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void test_parse_random_damage(void)
{
	int ok = 0;

	for (int i = 0; i < 20000; i++) {
		const struct kat *k = &kats[rng() % N_KATS];
		size_t len = k->len;
		uint8_t buf[128];
		sf_segment s;
		int rc, flips = 1 + (int)(rng() % 4);

		memcpy(buf, k->pkt, len);
		for (int f = 0; f < flips; f++)
			buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
		/* Half the time, fix the IP checksum and the lengths so the damage
		 * reaches TCP and the option parser. */
		if (rng() % 2 && buf[0] >> 4 == 4 && (buf[0] & 0xf) >= 5 &&
		    (size_t)(buf[0] & 0xf) * 4 <= len) {
			put16(buf + 2, (uint16_t)len);
			fix_ip4_csum(buf);
		}
		len = rng() % 8 == 0 ? rng() % (len + 1) : len;
		rc = parse_exact(buf, len, &s);
		ASSERT(rc <= 0 && rc >= SF_WIRE_EINVAL);
		if (rc == SF_WIRE_OK) {
			ok++;
			ASSERT(s.opt_len <= SF_MAX_OPT_LEN);
		}
	}
	/* Pure noise, including valid version nibbles. */
	for (int i = 0; i < 20000; i++) {
		uint8_t buf[96];
		size_t len = rng() % sizeof(buf);
		sf_segment s;
		sf_tcp_options o;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rng();
		if (len)
			buf[0] = (uint8_t)((rng() % 2 ? 0x40 : 0x60) | (buf[0] & 0xf));
		(void)parse_exact(buf, len, &s);
		sf_opts_decode(buf, len < SF_MAX_OPT_LEN ? len : SF_MAX_OPT_LEN, &o);
	}
	printf("  %d damaged packets still parsed\n", ok);
}

/* ---- Addresses and names. ---- */

static void test_addr_helpers(void)
{
	sf_addr a, b;
	char text[64];

	ASSERT_EQ(sf_addr_parse("192.0.2.1", &a), 0);
	b = sf_addr_v4(192, 0, 2, 1);
	ASSERT(sf_addr_eq(&a, &b));
	ASSERT_EQ(a.family, SF_AF_INET);
	for (int i = 4; i < 16; i++)
		ASSERT_EQ(a.bytes[i], 0);
	ASSERT(!sf_addr_is_any(&a));
	ASSERT_EQ(sf_addr_parse("0.0.0.0", &a), 0);
	ASSERT(sf_addr_is_any(&a));
	ASSERT_EQ(sf_addr_parse("::", &a), 0);
	ASSERT_EQ(a.family, SF_AF_INET6);
	ASSERT(sf_addr_is_any(&a));
	ASSERT_EQ(sf_addr_parse("2001:db8::1", &a), 0);
	ASSERT_EQ(a.bytes[0], 0x20);
	ASSERT_EQ(a.bytes[15], 1);
	ASSERT_STR_EQ(sf_addr_format(&a, text, sizeof(text)), "2001:db8::1");
	ASSERT_STR_EQ(sf_addr_format(&b, text, sizeof(text)), "192.0.2.1");
	/* IPv4 and IPv6 addresses never compare equal. */
	ASSERT_EQ(sf_addr_parse("::c000:201", &a), 0);
	ASSERT(!sf_addr_eq(&a, &b));
	ASSERT_EQ(sf_addr_parse("", &a), -1);
	ASSERT_EQ(sf_addr_parse("256.1.1.1", &a), -1);
	ASSERT_EQ(sf_addr_parse("1.2.3", &a), -1);
	ASSERT_EQ(sf_addr_parse("2001:db8:::1", &a), -1);
	ASSERT_EQ(sf_addr_parse("example.com", &a), -1);
	/* Too small a buffer gives "?", never a cut-off address. */
	ASSERT_STR_EQ(sf_addr_format(&b, text, 5), "?");
	a.family = 9;
	ASSERT_STR_EQ(sf_addr_format(&a, text, sizeof(text)), "?");
	ASSERT(sf_addr_format(&b, text, 0) == text);
}

static void test_strerror_names(void)
{
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_OK), "OK");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_ETRUNC), "ETRUNC");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_EVERSION), "EVERSION");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_ENOTTCP), "ENOTTCP");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_EHDR), "EHDR");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_ECSUM), "ECSUM");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_EFRAG), "EFRAG");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_ENOSPC), "ENOSPC");
	ASSERT_STR_EQ(sf_wire_strerror(SF_WIRE_EINVAL), "EINVAL");
	ASSERT_STR_EQ(sf_wire_strerror(-99), "E?");
}

int main(void)
{
	RUN_TEST(test_csum_rfc1071_example);
	RUN_TEST(test_csum_matches_reference_sum);
	RUN_TEST(test_csum_known_answers);
	RUN_TEST(test_parse_v4_linux_syn);
	RUN_TEST(test_parse_v6_data);
	RUN_TEST(test_parse_v6_extension_headers);
	RUN_TEST(test_parse_v4_ip_options);
	RUN_TEST(test_parse_ignores_trailing_padding);
	RUN_TEST(test_parse_reserved_bits);
	RUN_TEST(test_opts_decode_table);
	RUN_TEST(test_opts_decode_sack_values);
	RUN_TEST(test_parse_options_on_non_syn);
	RUN_TEST(test_opts_encode_linux_syn);
	RUN_TEST(test_opts_encode_table);
	RUN_TEST(test_parse_errors_ipv4);
	RUN_TEST(test_parse_errors_ipv6);
	RUN_TEST(test_tcp_parse_bare);
	RUN_TEST(test_parse_truncated_every_length);
	RUN_TEST(test_emit_reproduces_known_answers);
	RUN_TEST(test_emit_parse_emit_identity);
	RUN_TEST(test_emit_in_place);
	RUN_TEST(test_emit_default_ttl);
	RUN_TEST(test_emit_errors);
	RUN_TEST(test_emit_faults);
	RUN_TEST(test_emit_bad_checksum_on_zero_checksum);
	RUN_TEST(test_parse_random_damage);
	RUN_TEST(test_addr_helpers);
	RUN_TEST(test_strerror_names);
	return 0;
}
