/*
 * The wire codec: IPv4/IPv6 packets carrying TCP <-> sf_segment.
 *
 * Everything here works in one pass over caller-owned memory, allocates
 * nothing and never reads or writes outside the buffers it is given, whatever
 * their contents: the parser is fed raw fuzz input. Multi-octet fields are
 * read and written octet by octet in network order, so the code does not care
 * about the host's byte order or alignment.
 */
#include "synfin/wire.h"

#include <arpa/inet.h>
#include <string.h>

/* The library is built with hidden visibility; the public API is exported. */
#define SF_WIRE_API __attribute__((visibility("default")))

#define IPPROTO_TCP_ 6
#define IP6_NH_HOPOPTS 0
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_DSTOPTS 60

#define IP4_FLAG_DF 0x4000
#define IP4_FLAG_MF 0x2000
#define IP4_FRAG_OFFSET_MASK 0x1fff

/*
 * Faults flip checksum bits with a mask below 0xffff. Flipping all 16 bits
 * would turn a checksum of 0x0000 into 0xffff, which is the same one's
 * complement number ("negative zero") and would still verify; a smaller mask
 * changes the value by a non-zero amount less than 0xffff, so the damaged
 * checksum can never verify.
 */
#define CSUM_FAULT_MASK 0x5a5a

/* ---- Byte access. ---- */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- Internet checksum (RFC 1071). ---- */

/*
 * One's complement addition in 64 bits: 2^64 = 1 (mod 0xffff), so the end-
 * around carry keeps the sum congruent to the 16-bit one's complement sum
 * (RFC 1071 §2(C), "parallel summation").
 */
static inline uint64_t add_carry64(uint64_t a, uint64_t b)
{
	uint64_t s;

	if (__builtin_add_overflow(a, b, &s))
		s++;
	return s;
}

/*
 * Sum data as native-order 32-bit words into 64-bit accumulators. Since
 * 2^32 = 1 (mod 0xffff), the result folds to the one's complement sum of the
 * data's 16-bit words in host order (RFC 1071 §2(B): byte order independence);
 * native_to_value() turns that into network-order meaning.
 */
static uint64_t sum_native(const uint8_t *p, size_t len, uint64_t acc)
{
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, w;
	uint32_t h[8];

	/* Four independent accumulators and no carry chain, so the adds run in
	 * parallel (and vectorize). Each step adds less than 2^33, so the
	 * accumulators cannot overflow below 2^31 steps (64 GiB of data). */
	while (len >= 32) {
		memcpy(h, p, 32);
		a0 += (uint64_t)h[0] + h[4];
		a1 += (uint64_t)h[1] + h[5];
		a2 += (uint64_t)h[2] + h[6];
		a3 += (uint64_t)h[3] + h[7];
		p += 32;
		len -= 32;
	}
	/* The rest (headers are mostly shorter than 32 octets) in straight
	 * steps of 16, 8 and 4 octets rather than a loop. */
	if (len >= 16) {
		memcpy(h, p, 16);
		a0 += h[0];
		a1 += h[1];
		a2 += h[2];
		a3 += h[3];
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(h, p, 8);
		a0 += h[0];
		a1 += h[1];
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(h, p, 4);
		a2 += h[0];
		p += 4;
		len -= 4;
	}
	if (len > 0) {
		/* The tail is padded with zero octets, as RFC 9293 §3.1 pads an
		 * odd-length segment for the checksum. Copying into a zeroed word
		 * keeps each octet in its 16-bit lane on either byte order. */
		h[0] = 0;
		memcpy(h, p, len);
		a0 += h[0];
	}
	w = add_carry64(a0 + a1, a2 + a3);
	return add_carry64(acc, w);
}

/* Fold a native 64-bit one's complement sum to 16 bits. */
static inline uint16_t fold_native(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* A folded native sum as the number a network-order reader would see. */
static inline uint16_t native_to_value(uint16_t native)
{
	uint8_t b[2];

	memcpy(b, &native, 2);
	return get16(b);
}

SF_WIRE_API uint32_t sf_csum_partial(const void *data, size_t len, uint32_t sum)
{
	uint64_t s = (uint64_t)sum + native_to_value(fold_native(sum_native(data, len, 0)));

	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

SF_WIRE_API uint16_t sf_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The one's complement sum of memory, as a network-order value. */
static inline uint32_t value_sum(const uint8_t *p, size_t len)
{
	return native_to_value(fold_native(sum_native(p, len, 0)));
}

/* Fold a sum of network-order values and complement it. */
static inline uint16_t value_csum(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)~s;
}

/* Native sum of an address's octets: 4 for IPv4, 16 for IPv6. Straight-line
 * code, since the general loop's set-up costs more than these few words. */
static inline uint64_t addr_native_sum(const sf_addr *a)
{
	uint32_t w[4];

	if (a->family == SF_AF_INET6) {
		memcpy(w, a->bytes, 16);
		return (uint64_t)w[0] + w[1] + w[2] + w[3];
	}
	memcpy(w, a->bytes, 4);
	return w[0];
}

/* A 32-bit field as the sum of its two 16-bit words. */
static inline uint32_t words32(uint32_t v)
{
	return (v >> 16) + (v & 0xffff);
}

/*
 * The TCP pseudo-header's sum (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for
 * IPv6), from its values: the addresses, the protocol and the TCP length.
 *
 * Checksums are computed from values wherever we have them, here and in
 * emit, rather than from octets just written to memory one by one: wide
 * loads of freshly written octets stall on store forwarding, which cost more
 * than the rest of emit together.
 */
static uint64_t pseudo_sum(const sf_addr *src, const sf_addr *dst, size_t tcp_len)
{
	uint64_t addrs = addr_native_sum(src) + addr_native_sum(dst);

	return (uint64_t)native_to_value(fold_native(addrs)) + IPPROTO_TCP_ +
	       words32((uint32_t)tcp_len);
}

SF_WIRE_API uint16_t sf_tcp_checksum(const sf_addr *src, const sf_addr *dst, const uint8_t *tcp,
				     size_t len)
{
	return value_csum(pseudo_sum(src, dst, len) + value_sum(tcp, len));
}

static uint16_t ip4_header_checksum(const uint8_t *hdr, size_t len)
{
	return value_csum(value_sum(hdr, len));
}

/* ---- Errors. ---- */

SF_WIRE_API const char *sf_wire_strerror(int err)
{
	switch (err) {
	case SF_WIRE_OK: return "OK";
	case SF_WIRE_ETRUNC: return "ETRUNC";
	case SF_WIRE_EVERSION: return "EVERSION";
	case SF_WIRE_ENOTTCP: return "ENOTTCP";
	case SF_WIRE_EHDR: return "EHDR";
	case SF_WIRE_ECSUM: return "ECSUM";
	case SF_WIRE_EFRAG: return "EFRAG";
	case SF_WIRE_ENOSPC: return "ENOSPC";
	case SF_WIRE_EINVAL: return "EINVAL";
	default: return "E?";
	}
}

/* ---- TCP options. ---- */

static void count_unknown(sf_tcp_options *o)
{
	if (o->unknown_count < UINT8_MAX)
		o->unknown_count++;
}

/*
 * Decode the body of one option with a length octet. A known kind with the
 * wrong length for it is ignored like an unknown one, as Linux does in
 * tcp_parse_options(); a later option of the same kind overrides an earlier.
 */
static void decode_one(uint8_t kind, const uint8_t *body, size_t blen, sf_tcp_options *o)
{
	switch (kind) {
	case SF_OPT_MSS:
		if (blen != 2)
			break;
		o->has_mss = true;
		o->mss = get16(body);
		return;
	case SF_OPT_WSCALE:
		if (blen != 1)
			break;
		o->has_wscale = true;
		o->wscale = body[0];
		return;
	case SF_OPT_SACK_PERM:
		if (blen != 0)
			break;
		o->sack_permitted = true;
		return;
	case SF_OPT_SACK:
		/* RFC 2018 §3: 8 octets per block, at least one block. */
		if (blen == 0 || blen % 8 != 0 || blen / 8 > SF_MAX_SACK_BLOCKS)
			break;
		o->sack_count = (uint8_t)(blen / 8);
		for (size_t i = 0; i < o->sack_count; i++) {
			o->sack[i].left = get32(body + 8 * i);
			o->sack[i].right = get32(body + 8 * i + 4);
		}
		return;
	case SF_OPT_TS:
		if (blen != 8)
			break;
		o->has_ts = true;
		o->ts_val = get32(body);
		o->ts_ecr = get32(body + 4);
		return;
	default:
		/* RFC9293:MUST-6: an unknown kind with a length is skipped. */
		break;
	}
	count_unknown(o);
}

static bool any_nonzero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc != 0;
}

SF_WIRE_API void sf_opts_decode(const uint8_t *raw, size_t len, sf_tcp_options *o)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	/* Options may start at any octet (RFC9293:MUST-64), so the walk is
	 * octet by octet with no alignment assumption. */
	while (i < len) {
		uint8_t kind = raw[i];
		uint8_t olen;

		if (kind == SF_OPT_EOL) {
			/* RFC9293:MUST-69: what follows EOL is padding and must be
			 * zero; we note a violation and keep what we decoded. */
			o->nonzero_padding = any_nonzero(raw + i + 1, len - i - 1);
			return;
		}
		if (kind == SF_OPT_NOP) {
			i++;
			continue;
		}
		/* RFC9293:MUST-68: every other kind has a length octet, and
		 * RFC9293:MUST-7: a length of 0 or 1, or one running past the
		 * option area, is illegal; decoding stops there. */
		if (len - i < 2) {
			o->malformed = true;
			return;
		}
		olen = raw[i + 1];
		if (olen < 2 || olen > len - i) {
			o->malformed = true;
			return;
		}
		decode_one(kind, raw + i + 2, (size_t)olen - 2, o);
		i += olen;
	}
}

/*
 * Linux's tcp_options_write() layout. Every option group is one aligned
 * 32-bit word (or three for timestamps), padded with NOPs in front.
 */
SF_WIRE_API size_t sf_opts_encode(const sf_tcp_options *o, uint8_t *raw)
{
	size_t n = 0;
	bool sack_perm_pending = o->sack_permitted;
	size_t blocks;

	if (o->has_mss) {
		raw[n++] = SF_OPT_MSS;
		raw[n++] = 4;
		put16(raw + n, o->mss);
		n += 2;
	}
	if (o->has_ts) {
		/* "sackOK,TS" shares the timestamp's leading pad word. */
		raw[n++] = sack_perm_pending ? SF_OPT_SACK_PERM : SF_OPT_NOP;
		raw[n++] = sack_perm_pending ? 2 : SF_OPT_NOP;
		raw[n++] = SF_OPT_TS;
		raw[n++] = 10;
		put32(raw + n, o->ts_val);
		put32(raw + n + 4, o->ts_ecr);
		n += 8;
		sack_perm_pending = false;
	}
	if (sack_perm_pending) {
		raw[n++] = SF_OPT_NOP;
		raw[n++] = SF_OPT_NOP;
		raw[n++] = SF_OPT_SACK_PERM;
		raw[n++] = 2;
	}
	if (o->has_wscale) {
		raw[n++] = SF_OPT_NOP;
		raw[n++] = SF_OPT_WSCALE;
		raw[n++] = 3;
		raw[n++] = o->wscale;
	}
	/* As many SACK blocks as fit in what is left (RFC 2018 §3: at most 3
	 * next to timestamps, 4 without). */
	blocks = o->sack_count < SF_MAX_SACK_BLOCKS ? o->sack_count : SF_MAX_SACK_BLOCKS;
	if (blocks > 0 && SF_MAX_OPT_LEN - n >= 4 + 8) {
		size_t fit = (SF_MAX_OPT_LEN - n - 4) / 8;

		if (blocks > fit)
			blocks = fit;
		raw[n++] = SF_OPT_NOP;
		raw[n++] = SF_OPT_NOP;
		raw[n++] = SF_OPT_SACK;
		raw[n++] = (uint8_t)(2 + 8 * blocks);
		for (size_t i = 0; i < blocks; i++) {
			put32(raw + n, o->sack[i].left);
			put32(raw + n + 4, o->sack[i].right);
			n += 8;
		}
	}
	return n;
}

/* ---- Parsing. ---- */

SF_WIRE_API int sf_tcp_parse(const uint8_t *tcp, size_t len, const sf_addr *src, const sf_addr *dst,
		 bool check_csum, sf_segment *seg)
{
	size_t hlen;

	if (len < SF_TCP_HDR_LEN)
		return SF_WIRE_ETRUNC;
	hlen = (size_t)(tcp[12] >> 4) * 4;
	if (hlen < SF_TCP_HDR_LEN)
		return SF_WIRE_EHDR;
	if (hlen > len)
		return SF_WIRE_ETRUNC;
	if (src->family != dst->family ||
	    (src->family != SF_AF_INET && src->family != SF_AF_INET6))
		return SF_WIRE_EINVAL;
	/* RFC9293:MUST-3: a segment with a bad checksum is not processed. */
	if (check_csum && sf_tcp_checksum(src, dst, tcp, len) != 0)
		return SF_WIRE_ECSUM;

	seg->src = *src;
	seg->dst = *dst;
	/* No IP header here; sf_wire_parse() fills these after us. */
	seg->ttl = 0;
	seg->tos = 0;
	seg->ip_id = 0;
	seg->dont_frag = false;
	seg->sport = get16(tcp);
	seg->dport = get16(tcp + 2);
	seg->seq = get32(tcp + 4);
	seg->ack = get32(tcp + 8);
	seg->reserved = tcp[12] & 0x0f;
	seg->flags = tcp[13];
	seg->window = get16(tcp + 14);
	seg->urg_ptr = get16(tcp + 18);
	seg->opt_len = (uint8_t)(hlen - SF_TCP_HDR_LEN);
	memcpy(seg->opt_raw, tcp + SF_TCP_HDR_LEN, seg->opt_len);
	/* Zero the unused tail so equal packets give byte-equal segments. */
	memset(seg->opt_raw + seg->opt_len, 0, SF_MAX_OPT_LEN - seg->opt_len);
	/* RFC9293:MUST-5: options are decoded on every segment, not only SYNs. */
	sf_opts_decode(seg->opt_raw, seg->opt_len, &seg->opts);
	seg->payload = tcp + hlen;
	seg->payload_len = len - hlen;
	return SF_WIRE_OK;
}

static void set_addr(sf_addr *a, uint8_t family, const uint8_t *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, bytes, family == SF_AF_INET ? 4 : 16);
}

static int parse_ipv4(const uint8_t *pkt, size_t len, sf_segment *seg)
{
	size_t ihl, total;
	uint16_t frag;
	sf_addr src, dst;
	int rc;

	if (len < SF_IPV4_HDR_LEN)
		return SF_WIRE_ETRUNC;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < SF_IPV4_HDR_LEN)
		return SF_WIRE_EHDR;
	if (ihl > len)
		return SF_WIRE_ETRUNC;
	total = get16(pkt + 2);
	if (total < ihl)
		return SF_WIRE_EHDR;
	/* Octets beyond the total length (link-layer padding) are not ours. */
	if (total > len)
		return SF_WIRE_ETRUNC;
	if (ip4_header_checksum(pkt, ihl) != 0)
		return SF_WIRE_ECSUM;
	frag = get16(pkt + 6);
	if ((frag & IP4_FLAG_MF) || (frag & IP4_FRAG_OFFSET_MASK))
		return SF_WIRE_EFRAG;
	if (pkt[9] != IPPROTO_TCP_)
		return SF_WIRE_ENOTTCP;

	set_addr(&src, SF_AF_INET, pkt + 12);
	set_addr(&dst, SF_AF_INET, pkt + 16);
	/* IP options (octets 20..ihl) are skipped (RFC9293:MUST-50). */
	rc = sf_tcp_parse(pkt + ihl, total - ihl, &src, &dst, true, seg);
	if (rc != SF_WIRE_OK)
		return rc;
	seg->tos = pkt[1];
	seg->ip_id = get16(pkt + 4);
	seg->dont_frag = (frag & IP4_FLAG_DF) != 0;
	seg->ttl = pkt[8];
	return SF_WIRE_OK;
}

/*
 * Walk IPv6 extension headers from `off` (RFC 8200 §4). Returns the offset of
 * the TCP header, or a negative SF_WIRE_E* code. Each header is at least 8
 * octets, so the walk ends within len / 8 steps.
 */
static int skip_ipv6_ext(const uint8_t *pkt, size_t len, uint8_t nh, size_t off)
{
	for (;;) {
		size_t ext_len;

		switch (nh) {
		case IPPROTO_TCP_:
			return (int)off;
		case IP6_NH_FRAGMENT:
			return SF_WIRE_EFRAG;
		case IP6_NH_HOPOPTS:
			/* RFC 8200 §4.3: Hop-by-Hop comes first or not at all. */
			if (off != SF_IPV6_HDR_LEN)
				return SF_WIRE_EHDR;
			break;
		case IP6_NH_ROUTING:
		case IP6_NH_DSTOPTS:
			break;
		default:
			return SF_WIRE_ENOTTCP;
		}
		if (len - off < 8)
			return SF_WIRE_ETRUNC;
		/* RFC 8200 §4.4: a Routing header with segments left is for a
		 * router to act on; a host that is the final destination never
		 * sees one, so it is not ours to process. */
		if (nh == IP6_NH_ROUTING && pkt[off + 3] != 0)
			return SF_WIRE_EHDR;
		ext_len = ((size_t)pkt[off + 1] + 1) * 8;
		if (ext_len > len - off)
			return SF_WIRE_ETRUNC;
		nh = pkt[off];
		off += ext_len;
	}
}

static int parse_ipv6(const uint8_t *pkt, size_t len, sf_segment *seg)
{
	size_t total;
	sf_addr src, dst;
	int off, rc;

	if (len < SF_IPV6_HDR_LEN)
		return SF_WIRE_ETRUNC;
	total = SF_IPV6_HDR_LEN + (size_t)get16(pkt + 4);
	if (total > len)
		return SF_WIRE_ETRUNC;
	off = skip_ipv6_ext(pkt, total, pkt[6], SF_IPV6_HDR_LEN);
	if (off < 0)
		return off;

	set_addr(&src, SF_AF_INET6, pkt + 8);
	set_addr(&dst, SF_AF_INET6, pkt + 24);
	rc = sf_tcp_parse(pkt + off, total - (size_t)off, &src, &dst, true, seg);
	if (rc != SF_WIRE_OK)
		return rc;
	seg->tos = (uint8_t)(get16(pkt) >> 4);
	seg->ttl = pkt[7];
	return SF_WIRE_OK;
}

SF_WIRE_API int sf_wire_parse(const uint8_t *pkt, size_t len, sf_segment *seg)
{
	if (len < 1)
		return SF_WIRE_ETRUNC;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_ipv4(pkt, len, seg);
	case 6:
		return parse_ipv6(pkt, len, seg);
	default:
		return SF_WIRE_EVERSION;
	}
}

/* ---- Emitting. ---- */

static size_t ip_header_len(const sf_segment *seg)
{
	return seg->src.family == SF_AF_INET ? SF_IPV4_HDR_LEN : SF_IPV6_HDR_LEN;
}

static bool emittable(const sf_segment *seg)
{
	if (seg->src.family != seg->dst.family)
		return false;
	if (seg->src.family != SF_AF_INET && seg->src.family != SF_AF_INET6)
		return false;
	if (seg->opt_len > SF_MAX_OPT_LEN)
		return false;
	if (seg->payload_len > 0 && seg->payload == NULL)
		return false;
	return true;
}

SF_WIRE_API size_t sf_wire_length(const sf_segment *seg)
{
	size_t tcp_len;

	if (!emittable(seg) || seg->payload_len > SF_MAX_PACKET)
		return 0;
	tcp_len = SF_TCP_HDR_LEN + (((size_t)seg->opt_len + 3) & ~(size_t)3) + seg->payload_len;
	/* IPv4 total length and IPv6 payload length are 16-bit fields. */
	if (seg->src.family == SF_AF_INET && tcp_len + SF_IPV4_HDR_LEN > SF_MAX_PACKET)
		return 0;
	if (seg->src.family == SF_AF_INET6 && tcp_len > SF_MAX_PACKET)
		return 0;
	return ip_header_len(seg) + tcp_len;
}

static void emit_ipv4(const sf_segment *seg, uint16_t len_field, bool bad_csum, uint8_t *p)
{
	uint8_t ttl = seg->ttl ? seg->ttl : 64;
	uint16_t csum;

	p[0] = 0x45;
	p[1] = seg->tos;
	put16(p + 2, len_field);
	put16(p + 4, seg->ip_id);
	put16(p + 6, seg->dont_frag ? IP4_FLAG_DF : 0);
	p[8] = ttl;
	p[9] = IPPROTO_TCP_;
	p[10] = 0;
	p[11] = 0;
	memcpy(p + 12, seg->src.bytes, 4);
	memcpy(p + 16, seg->dst.bytes, 4);
	csum = value_csum((uint32_t)(0x45 << 8 | seg->tos) + len_field + seg->ip_id +
			  (seg->dont_frag ? IP4_FLAG_DF : 0) + (uint32_t)(ttl << 8 | IPPROTO_TCP_) +
			  native_to_value(fold_native(addr_native_sum(&seg->src) +
						      addr_native_sum(&seg->dst))));
	if (bad_csum)
		csum ^= CSUM_FAULT_MASK;
	put16(p + 10, csum);
}

static void emit_ipv6(const sf_segment *seg, uint16_t len_field, uint8_t *p)
{
	/* Version 6, traffic class, flow label 0. */
	put32(p, (uint32_t)6 << 28 | (uint32_t)seg->tos << 20);
	put16(p + 4, len_field);
	p[6] = IPPROTO_TCP_;
	p[7] = seg->ttl ? seg->ttl : 64;
	memcpy(p + 8, seg->src.bytes, 16);
	memcpy(p + 24, seg->dst.bytes, 16);
}

/*
 * TCP checksum of the segment emit_tcp() writes, from its parts: the
 * pseudo-header, the header's fields (checksum field zero), the options and
 * the payload. Options start at an even offset and their zero padding adds
 * nothing; the payload starts at a multiple of 4; so the pieces sum apart.
 */
static uint16_t emit_tcp_csum(const sf_segment *seg, uint16_t doff_word, size_t tcp_len)
{
	uint64_t s = pseudo_sum(&seg->src, &seg->dst, tcp_len);

	s += (uint32_t)seg->sport + seg->dport + words32(seg->seq) + words32(seg->ack);
	s += (uint32_t)doff_word + seg->window + seg->urg_ptr;
	s += value_sum(seg->opt_raw, seg->opt_len);
	if (seg->payload_len > 0)
		s += value_sum(seg->payload, seg->payload_len);
	return value_csum(s);
}

/* Octets 12-13 of the TCP header: data offset, reserved bits, flags. */
static uint16_t doff_flags_word(const sf_segment *seg, size_t hlen, int doff_delta)
{
	return (uint16_t)((((int)(hlen / 4) + doff_delta) & 0x0f) << 12 |
			  (seg->reserved & 0x0f) << 8 | seg->flags);
}

static void emit_tcp(const sf_segment *seg, size_t hlen, uint16_t doff_word, uint16_t csum,
		     uint8_t *p)
{
	size_t padded = hlen - SF_TCP_HDR_LEN;

	put16(p, seg->sport);
	put16(p + 2, seg->dport);
	put32(p + 4, seg->seq);
	put32(p + 8, seg->ack);
	put16(p + 12, doff_word);
	put16(p + 14, seg->window);
	put16(p + 16, csum);
	put16(p + 18, seg->urg_ptr);
	memcpy(p + SF_TCP_HDR_LEN, seg->opt_raw, seg->opt_len);
	/* Pad with EOL octets, which are zero (RFC9293:MUST-69). */
	memset(p + SF_TCP_HDR_LEN + seg->opt_len, 0, padded - seg->opt_len);
	/* memmove: re-emitting a parsed packet into the buffer it was parsed
	 * from moves the payload back over IP options or extension headers. */
	if (seg->payload_len > 0)
		memmove(p + hlen, seg->payload, seg->payload_len);
}

SF_WIRE_API int sf_wire_emit(const sf_segment *seg, const sf_emit_faults *faults, uint8_t *buf,
		 size_t cap)
{
	sf_emit_faults no_faults = {0};
	size_t total = sf_wire_length(seg);
	size_t iph, tcp_len, hlen;
	uint16_t csum, len_field, doff_word;

	if (faults == NULL)
		faults = &no_faults;
	if (total == 0)
		return SF_WIRE_EINVAL;
	if (total > cap)
		return SF_WIRE_ENOSPC;
	iph = ip_header_len(seg);
	tcp_len = total - iph;
	hlen = SF_TCP_HDR_LEN + (((size_t)seg->opt_len + 3) & ~(size_t)3);

	doff_word = doff_flags_word(seg, hlen, faults->data_off_delta);
	csum = emit_tcp_csum(seg, doff_word, tcp_len);
	if (faults->bad_tcp_checksum)
		csum ^= CSUM_FAULT_MASK;
	emit_tcp(seg, hlen, doff_word, csum, buf + iph);

	if (seg->src.family == SF_AF_INET) {
		len_field = (uint16_t)((long)total + faults->ip_len_delta);
		emit_ipv4(seg, len_field, faults->bad_ip_checksum, buf);
	} else {
		len_field = (uint16_t)((long)tcp_len + faults->ip_len_delta);
		emit_ipv6(seg, len_field, buf);
	}
	return (int)total;
}

/* ---- Addresses. ---- */

SF_WIRE_API bool sf_addr_eq(const sf_addr *a, const sf_addr *b)
{
	/* Two 8-octet loads a side instead of memcmp(): this runs for every
	 * connection lookup, and a sanitizer's memcmp interceptor costs far
	 * more than the compare. */
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a->bytes, 8);
	memcpy(&a1, a->bytes + 8, 8);
	memcpy(&b0, b->bytes, 8);
	memcpy(&b1, b->bytes + 8, 8);
	return a->family == b->family && a0 == b0 && a1 == b1;
}

SF_WIRE_API bool sf_addr_is_any(const sf_addr *a)
{
	return !any_nonzero(a->bytes, sizeof(a->bytes));
}

SF_WIRE_API int sf_addr_parse(const char *text, sf_addr *out)
{
	sf_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, a.bytes) == 1) {
		a.family = SF_AF_INET;
	} else if (inet_pton(AF_INET6, text, a.bytes) == 1) {
		a.family = SF_AF_INET6;
	} else {
		return -1;
	}
	*out = a;
	return 0;
}

SF_WIRE_API char *sf_addr_format(const sf_addr *a, char *buf, size_t cap)
{
	int af = a->family == SF_AF_INET ? AF_INET : a->family == SF_AF_INET6 ? AF_INET6 : -1;

	if (cap == 0)
		return buf;
	if (af < 0 || inet_ntop(af, a->bytes, buf, (socklen_t)(cap > 64 ? 64 : cap)) == NULL) {
		/* Unknown family or too small a buffer: say so rather than print
		 * a partial address that could be mistaken for another. */
		buf[0] = cap > 1 ? '?' : '\0';
		if (cap > 1)
			buf[1] = '\0';
	}
	return buf;
}

SF_WIRE_API sf_addr sf_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	sf_addr r;

	memset(&r, 0, sizeof(r));
	r.family = SF_AF_INET;
	r.bytes[0] = a;
	r.bytes[1] = b;
	r.bytes[2] = c;
	r.bytes[3] = d;
	return r;
}
