/*
 * Structure-aware mutation of binary scenarios: see mutator.h. The input is
 * split into records exactly as the decoder (tools/scenario/binary.c) reads
 * them, edited as a list, and written back; records are never decoded into
 * events, so whatever a record holds survives untouched unless edited.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mutator.h"

#define HDR 4
#define MAX_RECORDS 4096
#define MAX_BODY 65535

/* Record kinds (tag % 3) and segment body offsets (README.md). */
enum { K_SEGMENT = 0, K_CALL = 1, K_WAIT = 2 };
enum {
	S_FLAGS = 0, S_CTL = 1, S_SEQ = 2, S_ACK = 6, S_WIN = 10, S_PLEN = 12, S_CONN = 14,
	S_URG = 15, S_IP = 17, S_OPTLEN = 27, S_OPTS = 28,
};
enum { CTL_ACK_GIVEN = 0x10, CTL_WIN_GIVEN = 0x20, CTL_URG_GIVEN = 0x40 };

typedef struct rec {
	uint8_t tag;
	const uint8_t *body; /* points into the input or into scratch */
	size_t len;
} rec;

typedef struct list {
	uint8_t hdr[HDR];
	rec r[MAX_RECORDS];
	size_t n;
} list;

/* ---- A small deterministic random source (the seed comes from the fuzzer) ---- */

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state ? rnd_state : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rnd_state = x;
	return x;
}

static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

/* ---- Records ---- */

static void split(const uint8_t *d, size_t size, list *l)
{
	size_t off = HDR;
	memset(l->hdr, 0, HDR);
	memcpy(l->hdr, d, size < HDR ? size : HDR);
	l->n = 0;
	while (off < size && l->n < MAX_RECORDS) {
		rec *r = &l->r[l->n++];
		size_t p = off;
		r->tag = d[p++];
		size_t blen = p < size ? d[p] : 0;
		p++;
		if (blen == 255) {
			size_t hi = p < size ? d[p] : 0, lo = p + 1 < size ? d[p + 1] : 0;
			blen = hi << 8 | lo;
			p += 2;
		}
		if (p > size)
			p = size;
		r->body = d + p;
		r->len = p + blen < size ? blen : size - p;
		off = p + r->len;
	}
}

static size_t record_size(const rec *r)
{
	return (r->len < 255 ? 2 : 4) + r->len;
}

/* Write the list; records that do not fit are left out. */
static size_t join(const list *l, uint8_t *out, size_t max)
{
	if (max < HDR)
		return 0;
	memcpy(out, l->hdr, HDR);
	size_t off = HDR;
	for (size_t i = 0; i < l->n; i++) {
		const rec *r = &l->r[i];
		if (off + record_size(r) > max)
			continue;
		out[off++] = r->tag;
		if (r->len < 255) {
			out[off++] = (uint8_t)r->len;
		} else {
			out[off++] = 255;
			out[off++] = (uint8_t)(r->len >> 8);
			out[off++] = (uint8_t)r->len;
		}
		memmove(out + off, r->body, r->len);
		off += r->len;
	}
	return off;
}

/* ---- Scratch bodies for edited and new records ---- */

static uint8_t scratch[8][MAX_BODY + 64];
static unsigned scratch_next;

/* A writable copy of r's body, at least min_len long (zero-extended, which
 * the decoder reads the same as a shorter body). */
static uint8_t *edit(rec *r, size_t min_len)
{
	uint8_t *b = scratch[scratch_next++ % 8];
	size_t len = r->len > min_len ? r->len : min_len;
	if (len > MAX_BODY)
		len = MAX_BODY;
	memset(b, 0, len);
	memcpy(b, r->body, r->len < len ? r->len : len);
	r->body = b;
	r->len = len;
	return b;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* Numbers at the edges: of the window (a 16-bit window, scaled ones), of
 * the sequence space, and small steps. */
static uint32_t edge_number(void)
{
	static const int32_t edges[] = {
		0, 1, -1, 2, -2, 536, 1000, 1460, 65535, 65536, -65535, -65536, 65534,
		1 << 20, -(1 << 20), 0x3fffffff, 0x40000000, INT32_MAX, INT32_MIN,
		(int32_t)0x7fff0000, 1 << 30, -(1 << 30),
	};
	if (below(4) == 0)
		return (uint32_t)(int32_t)(below(64) - 32);
	return (uint32_t)edges[below(sizeof edges / sizeof edges[0])];
}

/* Options to add: MSS, window scale (incl. too large), SACK-permitted,
 * timestamps, SACK blocks, and malformed lengths. */
static size_t some_option(uint8_t *o)
{
	switch (below(9)) {
	case 0: memcpy(o, "\x02\x04\x05\xb4", 4); put16(o + 2, (uint16_t)(below(2) ? 1460 : below(65536))); return 4;
	case 1: memcpy(o, "\x01\x03\x03\x07", 4); o[3] = (uint8_t)below(20); return 4;
	case 2: memcpy(o, "\x01\x01\x04\x02", 4); return 4;
	case 3: memcpy(o, "\x01\x01\x08\x0a", 4); put32(o + 4, rnd()); put32(o + 8, below(2) ? 0 : rnd()); return 12;
	case 4: memcpy(o, "\x01\x01\x05\x0a", 4); put32(o + 4, edge_number()); put32(o + 8, edge_number()); return 12;
	case 5: o[0] = (uint8_t)below(40); o[1] = (uint8_t)below(4); return 2; /* bad length */
	case 6: o[0] = 0; return 1;                                            /* EOL, then junk */
	case 7: o[0] = (uint8_t)(9 + below(240)); o[1] = (uint8_t)(2 + below(6)); return o[1]; /* unknown kind */
	default: o[0] = 1; return 1;                                           /* NOP */
	}
}

/* ---- Mutating one record ---- */

static void mutate_segment(rec *r)
{
	uint8_t *b = edit(r, S_OPTS);
	size_t optlen = b[S_OPTLEN] > 40 ? 40 : b[S_OPTLEN];
	/* Option octets missing at the end of the body read as zeros: make them
	 * real, so every case below sees the whole option area. */
	b = edit(r, S_OPTS + optlen);
	b[S_OPTLEN] = (uint8_t)optlen;
	switch (below(10)) {
	case 0: /* seq at an edge (state mode: offset from RCV.NXT) */
		put32(b + S_SEQ, edge_number());
		break;
	case 1: /* ack at an edge */
		put32(b + S_ACK, edge_number());
		b[S_CTL] |= CTL_ACK_GIVEN;
		break;
	case 2: /* flip a flag */
		b[S_FLAGS] ^= (uint8_t)(1u << below(8));
		break;
	case 3: { /* window */
		static const uint16_t w[] = {0, 1, 2, 255, 256, 1024, 32767, 65535};
		put16(b + S_WIN, below(2) ? w[below(8)] : (uint16_t)rnd());
		b[S_CTL] |= CTL_WIN_GIVEN;
		break;
	}
	case 4: { /* payload length */
		static const uint16_t l[] = {0, 1, 2, 47, 48, 535, 536, 1448, 1460, 1461, 65535};
		put16(b + S_PLEN, l[below(11)]);
		break;
	}
	case 5: /* urgent pointer */
		put16(b + S_URG, (uint16_t)edge_number());
		b[S_CTL] |= CTL_URG_GIVEN;
		if (below(2))
			b[S_FLAGS] |= 0x20;
		break;
	case 6: { /* add an option */
		uint8_t o[40];
		size_t n = some_option(o);
		size_t old = r->len;
		if (optlen + n <= 40 && old + n <= MAX_BODY) {
			/* Options sit before any inline payload: shift it. */
			b = edit(r, old + n);
			memmove(b + S_OPTS + optlen + n, b + S_OPTS + optlen, old - S_OPTS - optlen);
			memcpy(b + S_OPTS + optlen, o, n);
			b[S_OPTLEN] = (uint8_t)(optlen + n);
		}
		break;
	}
	case 7: /* drop the options */
		if (optlen) {
			memmove(b + S_OPTS, b + S_OPTS + optlen, r->len - S_OPTS - optlen);
			r->len -= optlen;
			b[S_OPTLEN] = 0;
		}
		break;
	case 8: /* corrupt an option octet */
		if (optlen)
			b[S_OPTS + below((uint32_t)optlen)] ^= (uint8_t)(1u << below(8));
		break;
	default: /* another client, or another number mode */
		if (below(2))
			b[S_CONN] = (uint8_t)below(4);
		else
			b[S_CTL] ^= (uint8_t)(1u << below(4));
		break;
	}
}

static void mutate_wait(rec *r)
{
	uint8_t *b = edit(r, 5);
	static const int32_t near[] = {0, -1, 1, -1000, 1000};
	static const uint32_t secs[] = {1, 2, 3, 60, 61, 75, 120, 7200, 7275};
	switch (below(3)) {
	case 0: /* the next timer, or just around it (µs) */
		b[0] = 0x01;
		put32(b + 1, (uint32_t)near[below(5)]);
		break;
	case 1: /* a step near the engine's deadlines (s) */
		b[0] = 0x04;
		put32(b + 1, secs[below(9)]);
		break;
	default: /* 200 ms, the delayed-ACK / RTO scale (ms) */
		b[0] = 0x02;
		put32(b + 1, 100 + below(2) * 100 + below(3) - 1);
		break;
	}
	r->len = 5;
}

static void mutate_call(rec *r)
{
	uint8_t *b = edit(r, 2);
	if (below(2))
		b[0] = (uint8_t)below(16);
	else
		b[1] = (uint8_t)(3 + below(4));
}

/* A new event, from a template. */
static void new_record(rec *r)
{
	uint8_t *b = scratch[scratch_next++ % 8];
	static const uint8_t flags[] = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x30};
	switch (below(3)) {
	case K_SEGMENT:
		memset(b, 0, S_OPTS);
		b[S_FLAGS] = flags[below(sizeof flags)];
		b[S_CTL] = (b[S_FLAGS] & 0x10) ? CTL_ACK_GIVEN : 0;
		if (below(2))
			put16(b + S_PLEN, (uint16_t)(below(2) ? 100 : 1460));
		r->tag = K_SEGMENT;
		r->len = S_OPTS;
		break;
	case K_CALL: {
		static const uint8_t calls[][3] = {
			{3, 3, 0}, {7, 4, 0}, {5, 4, 0}, {10, 4, 0}, {9, 4, 1}, {11, 4, 0}, {8, 3, 0}, {6, 3, 0},
		};
		memcpy(b, calls[below(8)], 3);
		r->tag = K_CALL;
		r->len = 3;
		b[3] = (uint8_t)below(256);
		r->len = 4;
		break;
	}
	default:
		r->tag = K_WAIT;
		r->body = b;
		r->len = 0;
		mutate_wait(r);
		return;
	}
	r->body = b;
}

static int bytes_only = -1;

int fz_mutator_bytes_only(void)
{
	if (bytes_only < 0) {
		const char *e = getenv("SYNFIN_MUTATOR");
		bytes_only = e && !strcmp(e, "bytes");
	}
	return bytes_only;
}

static list L, L2;
static rec tail[MAX_RECORDS];

size_t fz_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
		 fz_byte_mutator bytes)
{
	rnd_state = seed * 2654435761u + 1;
	if (max_size < HDR)
		return size;
	if (fz_mutator_bytes_only() || below(5) == 0)
		return bytes(data, size, max_size);
	static uint8_t copy[1 << 20];
	if (size > sizeof copy)
		return bytes(data, size, max_size);
	memcpy(copy, data, size);
	split(copy, size, &L);
	size_t i = below((uint32_t)L.n), j = below((uint32_t)L.n);
	/* Inputs that grow get slow: the longer the input, the likelier an
	 * event is deleted instead of added (half the time at 2 KiB). */
	uint32_t op = L.n ? below(8) : 0;
	if ((op == 0 || op == 2) && below(4096) < size)
		op = 1;
	switch (op) {
	case 0: /* insert a new event */
		if (L.n < MAX_RECORDS) {
			i = below((uint32_t)L.n + 1);
			memmove(&L.r[i + 1], &L.r[i], (L.n - i) * sizeof L.r[0]);
			new_record(&L.r[i]);
			L.n++;
		}
		break;
	case 1: /* delete */
		memmove(&L.r[i], &L.r[i + 1], (L.n - i - 1) * sizeof L.r[0]);
		L.n--;
		break;
	case 2: /* duplicate */
		if (L.n < MAX_RECORDS) {
			memmove(&L.r[i + 1], &L.r[i], (L.n - i) * sizeof L.r[0]);
			L.n++;
		}
		break;
	case 3: { /* swap */
		rec t = L.r[i];
		L.r[i] = L.r[j];
		L.r[j] = t;
		break;
	}
	case 4: { /* the byte mutator on one event's body */
		uint8_t *b = edit(&L.r[i], L.r[i].len);
		size_t room = MAX_BODY - L.r[i].len > 64 ? L.r[i].len + 64 : MAX_BODY;
		L.r[i].len = bytes(b, L.r[i].len, room);
		break;
	}
	default: /* edit a field of an event */
		switch (L.r[i].tag % 3) {
		case K_SEGMENT: mutate_segment(&L.r[i]); break;
		case K_WAIT: mutate_wait(&L.r[i]); break;
		default: mutate_call(&L.r[i]); break;
		}
		L.r[i].tag %= 3;
		break;
	}
	return join(&L, data, max_size);
}

size_t fz_crossover(const uint8_t *a, size_t asize, const uint8_t *b, size_t bsize, uint8_t *out,
		    size_t max_out, unsigned int seed)
{
	rnd_state = seed * 2246822519u + 7;
	split(a, asize, &L);
	split(b, bsize, &L2);
	/* A run of up to 8 events of b goes in at a cut in a, replacing as
	 * many of a's: the result stays about as long as a. */
	size_t cut = below((uint32_t)L.n + 1), from = below((uint32_t)L2.n + 1);
	size_t take = 1 + below(8);
	if (from + take > L2.n)
		take = L2.n - from;
	size_t drop = take < L.n - cut ? take : L.n - cut;
	size_t ntail = L.n - cut - drop;
	memcpy(tail, &L.r[cut + drop], ntail * sizeof tail[0]);
	size_t n = cut;
	for (size_t k = 0; k < take && n < MAX_RECORDS; k++)
		L.r[n++] = L2.r[from + k];
	for (size_t k = 0; k < ntail && n < MAX_RECORDS; k++)
		L.r[n++] = tail[k];
	L.n = n;
	return join(&L, out, max_out);
}

size_t fz_count_events(const uint8_t *data, size_t size)
{
	split(data, size, &L);
	return L.n;
}

size_t fz_drop_event(const uint8_t *data, size_t size, size_t skip, uint8_t *out, size_t max_out)
{
	split(data, size, &L);
	if (skip < L.n) {
		memmove(&L.r[skip], &L.r[skip + 1], (L.n - skip - 1) * sizeof L.r[0]);
		L.n--;
	}
	return join(&L, out, max_out);
}
