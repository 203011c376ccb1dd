/*
 * synfin wire codec: bytes <-> parsed segments.
 *
 * Parsing is separate from processing (DESIGN.md, "The engine"): raw IPv4 or
 * IPv6 packets carrying TCP are turned into a validated sf_segment here, and
 * the engine only ever sees that parsed form. The same structure is what the
 * engine emits, and sf_wire_emit() turns it back into bytes.
 *
 * Nothing in this file allocates, reads a clock or does I/O.
 */
#ifndef SYNFIN_WIRE_H
#define SYNFIN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TCP header flag bits, as they sit in the 14th octet of the header. */
enum {
	SF_FIN = 0x01,
	SF_SYN = 0x02,
	SF_RST = 0x04,
	SF_PSH = 0x08,
	SF_ACK = 0x10,
	SF_URG = 0x20,
	SF_ECE = 0x40,
	SF_CWR = 0x80,
};

/* Address families. The values are the IP version numbers. */
enum {
	SF_AF_INET = 4,
	SF_AF_INET6 = 6,
};

/*
 * An IPv4 or IPv6 address. IPv4 uses bytes[0..3] in network order and leaves
 * the rest zero, so two addresses compare equal with memcmp() of the struct
 * (sf_addr_eq() does exactly that). All-zero bytes is the wildcard address of
 * its family (INADDR_ANY / in6addr_any).
 */
typedef struct sf_addr {
	uint8_t family; /* SF_AF_INET or SF_AF_INET6 */
	uint8_t bytes[16];
} sf_addr;

/* TCP option kinds (RFC 9293 §3.1, RFC 7323, RFC 2018). */
enum {
	SF_OPT_EOL = 0,
	SF_OPT_NOP = 1,
	SF_OPT_MSS = 2,
	SF_OPT_WSCALE = 3,
	SF_OPT_SACK_PERM = 4,
	SF_OPT_SACK = 5,
	SF_OPT_TS = 8,
};

#define SF_TCP_HDR_LEN 20
#define SF_MAX_OPT_LEN 40 /* data offset is 4 bits of 32-bit words: 60 - 20 */
#define SF_MAX_SACK_BLOCKS 4
#define SF_IPV4_HDR_LEN 20
#define SF_IPV6_HDR_LEN 40
#define SF_MAX_PACKET 65535

/* A SACK block: [left, right) in sequence space (RFC 2018 §3). */
typedef struct sf_sack_block {
	uint32_t left;
	uint32_t right;
} sf_sack_block;

/*
 * The decoded meaning of a segment's options. Decoding follows Linux's
 * tcp_parse_options(): options of unknown kind are skipped by their length
 * (RFC9293:MUST-6); an illegal length (0, 1, or past the end of the option
 * area) stops decoding at that point and sets `malformed` (RFC9293:MUST-7),
 * keeping whatever was decoded before it. Known options with the wrong length
 * for their kind are ignored and counted in `unknown_count`.
 */
typedef struct sf_tcp_options {
	bool has_mss;
	uint16_t mss;
	bool has_wscale;
	uint8_t wscale; /* as received, not yet clamped to 14 (RFC7323:2.3) */
	bool sack_permitted;
	uint8_t sack_count;
	sf_sack_block sack[SF_MAX_SACK_BLOCKS];
	bool has_ts;
	uint32_t ts_val;
	uint32_t ts_ecr;
	uint8_t unknown_count;  /* options skipped: unknown kind or bad length for kind */
	bool malformed;         /* an illegal option length stopped decoding */
	bool nonzero_padding;   /* a non-zero octet after EOL (RFC9293:MUST-69) */
} sf_tcp_options;

/*
 * One TCP segment with its IP-level fields, in parsed form.
 *
 * opt_raw/opt_len hold the option area exactly as it is (or will be) on the
 * wire; `opts` is its decoded meaning. sf_wire_parse() fills both. When
 * building a segment to send, fill `opts` and call sf_opts_encode() to make
 * opt_raw, or write opt_raw directly (scripts that want a given option order
 * or a malformed option do that) and call sf_opts_decode().
 *
 * `payload` points into the buffer that was parsed, or to memory the builder
 * owns; a segment never owns its payload.
 */
typedef struct sf_segment {
	/* IP level */
	sf_addr src;
	sf_addr dst;
	uint8_t ttl;       /* IPv4 TTL or IPv6 hop limit; 0 on emit means 64 */
	uint8_t tos;       /* IPv4 TOS or IPv6 traffic class (DSCP + ECN) */
	uint16_t ip_id;    /* IPv4 identification; unused for IPv6 */
	bool dont_frag;    /* IPv4 DF bit */

	/* TCP header */
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;     /* SF_FIN | SF_SYN | ... */
	uint8_t reserved;  /* the 4 reserved header bits (RFC 9293 §3.1), low bits */
	uint16_t window;   /* as on the wire: unscaled, unsigned (RFC9293:MUST-1) */
	uint16_t urg_ptr;
	uint8_t opt_len;   /* octets of options, 0..40, a multiple of 4 on emit */
	uint8_t opt_raw[SF_MAX_OPT_LEN];
	sf_tcp_options opts;

	const uint8_t *payload;
	size_t payload_len;
} sf_segment;

/*
 * Faults that sf_wire_emit() can put into a packet on purpose, for crafted
 * input (fuzz inputs and scripts carry these). All zero means a correct packet.
 */
typedef struct sf_emit_faults {
	bool bad_tcp_checksum;   /* flip bits of the TCP checksum */
	bool bad_ip_checksum;    /* IPv4 only: flip bits of the header checksum */
	int16_t ip_len_delta;    /* added to the IP total/payload length field */
	int8_t data_off_delta;   /* added to the TCP data offset (in 32-bit words) */
} sf_emit_faults;

/* Errors of the codec (negative return values). */
enum {
	SF_WIRE_OK = 0,
	SF_WIRE_ETRUNC = -1,    /* shorter than its headers say */
	SF_WIRE_EVERSION = -2,  /* not IPv4 or IPv6 */
	SF_WIRE_ENOTTCP = -3,   /* IP protocol / next header is not TCP (6) */
	SF_WIRE_EHDR = -4,      /* bad IP header length, TCP data offset < 5, ... */
	SF_WIRE_ECSUM = -5,     /* TCP (or IPv4 header) checksum is wrong (RFC9293:MUST-3) */
	SF_WIRE_EFRAG = -6,     /* an IP fragment: reassembly is not our job */
	SF_WIRE_ENOSPC = -7,    /* output buffer too small */
	SF_WIRE_EINVAL = -8,    /* a segment that cannot be emitted (bad family, opt_len > 40, ...) */
};

/* A short, stable name for a codec error ("ECSUM"), for messages and traces. */
const char *sf_wire_strerror(int err);

/*
 * Parse an IPv4 or IPv6 packet carrying TCP into *seg. IPv4 options and IPv6
 * extension headers are skipped (RFC9293:MUST-50). The checksum is verified
 * with the pseudo-header of the packet's family (RFC9293:MUST-3).
 * seg->payload points into pkt. Returns 0 or a negative SF_WIRE_E* code;
 * on error *seg is unspecified.
 */
int sf_wire_parse(const uint8_t *pkt, size_t len, sf_segment *seg);

/*
 * Parse a bare TCP header plus payload whose IP addresses are given (for
 * transports that carry no IP header). Verifies the checksum unless
 * `check_csum` is false.
 */
int sf_tcp_parse(const uint8_t *tcp, size_t len, const sf_addr *src,
		 const sf_addr *dst, bool check_csum, sf_segment *seg);

/*
 * Write seg as an IPv4 or IPv6 packet (by seg->src.family) into buf, with
 * correct lengths and checksums (RFC9293:MUST-2) unless `faults` asks
 * otherwise (NULL for none). Options come from opt_raw/opt_len, padded with
 * zeros (EOL) to a multiple of 4. Returns the packet length or a negative
 * SF_WIRE_E* code.
 */
int sf_wire_emit(const sf_segment *seg, const sf_emit_faults *faults,
		 uint8_t *buf, size_t cap);

/* Length sf_wire_emit() would produce for seg (no faults). */
size_t sf_wire_length(const sf_segment *seg);

/*
 * Decode an option area into *opts (see sf_tcp_options for the rules).
 * Never reads past raw[len - 1].
 */
void sf_opts_decode(const uint8_t *raw, size_t len, sf_tcp_options *opts);

/*
 * Encode *opts into raw (at least SF_MAX_OPT_LEN octets) in Linux's order and
 * layout, so our SYNs look like Linux's on the wire:
 *   MSS, then SACK-permitted + timestamps (as "sackOK,TS" when both, else
 *   "nop,nop,TS" or "nop,nop,sackOK"), then "nop,wscale", then
 *   "nop,nop,sack ..." blocks as fit.
 * Returns the number of octets written (a multiple of 4, at most 40).
 */
size_t sf_opts_encode(const sf_tcp_options *opts, uint8_t *raw);

/* Internet checksum helpers (RFC 1071), exposed for tests and tools. */
uint32_t sf_csum_partial(const void *data, size_t len, uint32_t sum);
uint16_t sf_csum_fold(uint32_t sum);
/* Checksum of a TCP header+payload with the pseudo-header of src/dst's family. */
uint16_t sf_tcp_checksum(const sf_addr *src, const sf_addr *dst,
			 const uint8_t *tcp, size_t len);

/* Address helpers. */
bool sf_addr_eq(const sf_addr *a, const sf_addr *b);
bool sf_addr_is_any(const sf_addr *a);
/* Parse "192.0.2.1" or "2001:db8::1"; returns 0 or -1. */
int sf_addr_parse(const char *text, sf_addr *out);
/* Format into buf (at least 46 octets); returns buf. */
char *sf_addr_format(const sf_addr *a, char *buf, size_t cap);
/* Build an IPv4 address from its four octets. */
sf_addr sf_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

#ifdef __cplusplus
}
#endif
#endif /* SYNFIN_WIRE_H */
