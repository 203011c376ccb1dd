/*
 * The binary fuzz form: events <-> records (format version 1; the layout is
 * documented in targets/README.md, the mapping to events in binary.h).
 *
 * The decoder reads through a cursor that yields 0 past the end of its body,
 * so no field read can fail and every byte string is some scenario. The
 * encoder writes every field of a record, so encode(decode(x)) is canonical.
 */
#include "binary.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Units of a wait record, by its mode bits 1-2 (3 is a second name for µs). */
static const int64_t wait_units[4] = {1, 1000, 1000000, 1};

#define SEG_CTL_ACK 0x10
#define SEG_CTL_WIN 0x20
#define SEG_CTL_URG 0x40
#define SEG_CTL_DATA 0x80
#define SEG_FIXED_LEN 28      /* fields before the option area */
#define MAX_BODY 65535u

/* ---- Reading: a cursor that never runs out ---- */

typedef struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
} rd;

/* The fuzz targets read every input octet through these: with ASan and UBSan
 * on, the compiler stops inlining them, and the calls were a thirtieth of a
 * libFuzzer session. */
#define RD_INLINE static inline __attribute__((always_inline))

RD_INLINE uint8_t rd8(rd *r)
{
	return r->off < r->len ? r->p[r->off++] : (r->off++, 0);
}

RD_INLINE uint16_t rd16(rd *r)
{
	uint16_t hi = rd8(r);

	return (uint16_t)(hi << 8 | rd8(r));
}

RD_INLINE uint32_t rd32(rd *r)
{
	uint32_t hi = rd16(r);

	return hi << 16 | rd16(r);
}

/* Octets left in the body (0 once the cursor is past its end). */
static size_t rd_left(const rd *r)
{
	return r->off < r->len ? r->len - r->off : 0;
}

/* Up to n octets that are really there, in place (the event borrows them
 * from the input); *got says how many. Never NULL, so that an inline payload
 * of zero octets stays distinct from "no payload". */
static uint8_t *rd_view(rd *r, size_t n, uint32_t *got)
{
	size_t have = rd_left(r) < n ? rd_left(r) : n;
	const uint8_t *b = r->p + (r->off < r->len ? r->off : r->len);

	*got = (uint32_t)have;
	r->off += have;
	return (uint8_t *)(uintptr_t)b;
}

/* ---- Decoding records ---- */

static const sc_num_mode num_modes[4] = {SC_NUM_STATE, SC_NUM_ABS, SC_NUM_SCRIPT, SC_NUM_STATE};

static void decode_segment(rd *r, sc_event *ev)
{
	sc_packet *p = &ev->pkt;
	uint8_t ctl, ip;
	uint32_t plen, got;

	ev->kind = SC_EV_INBOUND;
	p->flags = rd8(r);
	ctl = rd8(r);
	p->seq.mode = num_modes[ctl & 3];
	p->ack.mode = num_modes[(ctl >> 2) & 3];
	p->seq.value = rd32(r);
	p->ack.value = rd32(r);
	p->has_ack = ctl & SEG_CTL_ACK;
	p->has_urg = ctl & SEG_CTL_URG;
	p->win = rd16(r);
	/* No window given means the default one; decoded, a window is always
	 * given (scripts require "win N" on inbound packets). */
	p->has_win = true;
	if (!(ctl & SEG_CTL_WIN))
		p->win = SC_DEFAULT_WIN;
	plen = rd16(r);
	p->conn = rd8(r);
	p->urg = rd16(r);
	ip = rd8(r);
	p->faults.bad_tcp_checksum = ip & 1;
	p->faults.bad_ip_checksum = ip & 2;
	/* Inbound, every TOS form means "send this byte" (SC_TOS_FULL). */
	p->tos_check = (ip & 4) ? SC_TOS_FULL : SC_TOS_NONE;
	p->has_ttl = ip & 8;
	p->reserved = ip >> 4;
	p->faults.ip_len_delta = (int16_t)rd16(r);
	p->faults.data_off_delta = (int8_t)rd8(r);
	p->tos = rd8(r);
	if (p->tos_check == SC_TOS_NONE)
		p->tos = 0;
	p->ttl = rd8(r);
	p->sport = rd16(r);
	p->dport = rd16(r);
	/* Ports are named as a pair or not at all (as scripts write them). */
	if (!p->sport || !p->dport)
		p->sport = p->dport = 0;
	p->opt_len = rd8(r);
	if (p->opt_len > SF_MAX_OPT_LEN)
		p->opt_len = SF_MAX_OPT_LEN;
	for (unsigned i = 0; i < p->opt_len; i++)
		p->opt_raw[i] = rd8(r);
	/* The wire pads options with zeros to whole words; so does the model
	 * (scripts must write the padding). */
	while (p->opt_len % 4)
		p->opt_raw[p->opt_len++] = 0;
	p->opts_mode = p->opt_len ? SC_OPTS_LIST : SC_OPTS_NONE;
	p->len = plen;
	if (ctl & SEG_CTL_DATA) {
		/* Inline payload: only the octets really there, so a short input
		 * can never ask for 64 KiB per record. */
		p->payload = rd_view(r, plen, &got);
		p->len = got;
	}
}

static void decode_addr(rd *r, sc_call *c)
{
	uint8_t flags = rd8(r);
	uint16_t port = rd16(r);
	int n = (flags & 2) ? 16 : 4;

	if (!(flags & 1))
		return;
	c->has_addr = true;
	c->addr.addr.family = (flags & 2) ? SF_AF_INET6 : SF_AF_INET;
	c->addr.port = port;
	for (int i = 0; i < n; i++)
		c->addr.addr.bytes[i] = rd8(r);
}

/* The level a socket option lives at, as a script would write it. */
static int sockopt_level(sf_sockopt opt)
{
	return opt <= SF_SO_ERROR ? SC_SOL_SOCKET : SC_SOL_TCP;
}

#define SOCKOPT_COUNT ((unsigned)SF_TCP_MAXSEG + 1)
#define POLL_BITS (SF_POLLIN | SF_POLLOUT | SF_POLLERR | SF_POLLHUP | SF_POLLRDHUP)

static void decode_io(rd *r, sc_call *c)
{
	uint8_t flags;
	uint32_t got;

	c->len = rd16(r);
	flags = rd8(r);
	c->msg_flags = (flags & 1) ? SC_MSG_DONTWAIT : 0;
	if (!(flags & 2) || (c->kind != SC_CALL_WRITE && c->kind != SC_CALL_SEND))
		return;
	c->data = rd_view(r, c->len, &got);
	c->len = got;
}

static void decode_call(rd *r, sc_event *ev)
{
	sc_call *c = &ev->call;

	ev->kind = SC_EV_CALL;
	c->kind = (sc_call_kind)(rd8(r) % SC_CALL_COUNT);
	c->fd = rd8(r);
	switch (c->kind) {
	case SC_CALL_SOCKET:
		c->fd = 0;
		c->family = (rd8(r) & 1) ? SF_AF_INET6 : SF_AF_INET;
		break;
	case SC_CALL_BIND:
	case SC_CALL_CONNECT:
		decode_addr(r, c);
		break;
	case SC_CALL_LISTEN:
		c->backlog = (int32_t)rd32(r);
		break;
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
	case SC_CALL_READ:
	case SC_CALL_RECV:
		decode_io(r, c);
		break;
	case SC_CALL_SHUTDOWN:
		c->how = rd8(r) % 3;
		break;
	case SC_CALL_SETSOCKOPT:
	case SC_CALL_GETSOCKOPT:
		c->opt = (sf_sockopt)(rd8(r) % SOCKOPT_COUNT);
		c->level = sockopt_level(c->opt);
		c->optval = (int32_t)rd32(r);
		if (c->kind == SC_CALL_GETSOCKOPT) {
			/* An output, not an input: never checked in this form. */
			c->optval = 0;
			c->optval_any = true;
		}
		break;
	case SC_CALL_FCNTL:
		/* Only the flags the model knows; F_GETFL takes none. */
		c->fcntl_cmd = (rd8(r) & 1) ? SC_F_GETFL : SC_F_SETFL;
		c->fcntl_flags = (int32_t)(rd32(r) & (SC_O_RDWR | SC_O_NONBLOCK));
		if (c->fcntl_cmd == SC_F_GETFL)
			c->fcntl_flags = 0;
		break;
	case SC_CALL_POLL:
		c->poll_events = rd16(r) & POLL_BITS;
		c->poll_timeout_ms = (int32_t)rd32(r);
		if (c->poll_timeout_ms < -1)
			c->poll_timeout_ms = -1; /* any negative timeout: wait forever */
		break;
	default: /* accept, close, abort: no arguments */
		break;
	}
}

static void decode_wait(rd *r, sc_event *ev)
{
	uint8_t mode = rd8(r);
	uint32_t amount = rd32(r);
	int64_t unit = wait_units[(mode >> 1) & 3];

	ev->kind = SC_EV_WAIT;
	if (mode & 1) {
		ev->time.kind = SC_TIME_ANY;
		ev->time.us = (int64_t)(int32_t)amount * unit;
	} else {
		ev->time.kind = SC_TIME_REL;
		ev->time.us = (int64_t)amount * unit;
	}
	/* Scripts write times up to 10^9 s; so do we. */
	if (ev->time.us > SC_BINARY_MAX_WAIT_US)
		ev->time.us = SC_BINARY_MAX_WAIT_US;
	if (ev->time.us < -SC_BINARY_MAX_WAIT_US)
		ev->time.us = -SC_BINARY_MAX_WAIT_US;
}

/* Body bounds of the record at *off; advances *off past it. */
static rd record_body(const uint8_t *buf, size_t len, size_t *off, uint8_t *tag)
{
	rd hdr = {buf, len, *off}, body;
	size_t blen;

	*tag = rd8(&hdr);
	blen = rd8(&hdr);
	if (blen == 255)
		blen = rd16(&hdr);
	body.p = buf;
	body.off = hdr.off < len ? hdr.off : len;
	body.len = body.off + blen < len ? body.off + blen : len;
	*off = body.len;
	return body;
}

void sc_binary_reader_init(sc_binary_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	/* Header: version (any value is read as version 1) and reserved octets. */
	r->off = SC_BINARY_HDR_LEN;
	r->count = 0;
}

bool sc_binary_next(sc_binary_reader *r, sc_event *ev)
{
	size_t start = r->off;
	uint8_t tag;
	rd body;

	if (r->off >= r->len || r->count >= SC_MAX_EVENTS)
		return false;
	body = record_body(r->buf, r->len, &r->off, &tag);
	memset(ev, 0, sizeof(*ev));
	ev->time.kind = SC_TIME_REL;
	ev->pos.line = (uint32_t)++r->count;
	ev->pos.col = (uint32_t)start + 1;
	switch (tag % SC_REC_COUNT) {
	case SC_REC_SEGMENT:
		decode_segment(&body, ev);
		break;
	case SC_REC_CALL:
		decode_call(&body, ev);
		break;
	default:
		decode_wait(&body, ev);
		break;
	}
	return true;
}

/* How many records buf holds after its header: their framing only. */
static size_t count_records(const uint8_t *buf, size_t len)
{
	sc_binary_reader r;
	size_t n = 0;
	uint8_t tag;

	sc_binary_reader_init(&r, buf, len);
	while (r.off < r.len && n < SC_MAX_EVENTS) {
		record_body(r.buf, r.len, &r.off, &tag);
		n++;
	}
	return n;
}

int sc_binary_decode(const uint8_t *buf, size_t len, const char *file, sc_scenario *out)
{
	sc_binary_reader r;
	sc_event ev;
	int rc = sc_scenario_init(out, file ? file : "<binary>");

	/* One allocation for the event array: the structure-aware mutator
	 * decodes once per fuzzer execution, and growing the array by doubling
	 * (a realloc and a copy each time) was a fortieth of a session. */
	if (rc == 0)
		rc = sc_scenario_reserve(out, count_records(buf, len));
	sc_binary_reader_init(&r, buf, len);
	/* Appending copies the payloads the events borrow from buf. */
	while (rc == 0 && sc_binary_next(&r, &ev))
		if (!sc_scenario_append(out, &ev))
			rc = -ENOMEM;
	if (rc < 0) {
		sc_scenario_free(out);
		sc_scenario_init(out, file ? file : "<binary>");
	}
	return rc;
}

/* ---- Writing ---- */

/*
 * A growing buffer. A record body starts in `local` (WR_BODY(b) below) and
 * moves to the heap only when it outgrows it, so encoding a scenario makes
 * no allocation per record: the structure-aware mutator encodes once per
 * fuzzer execution, and ASan's allocator per record was a tenth of a
 * libFuzzer session.
 */
typedef struct wr {
	uint8_t *p;
	size_t len, cap;
	bool oom;
	uint8_t *local; /* p's initial storage, not to be freed (or NULL) */
} wr;

#define WR_LOCAL_LEN 128
#define WR_BODY(name)                                              \
	uint8_t name##_local[WR_LOCAL_LEN];                        \
	wr name = {name##_local, 0, WR_LOCAL_LEN, false, name##_local}

static void wr_reserve(wr *w, size_t n)
{
	size_t cap;
	uint8_t *np;

	if (w->oom || w->len + n <= w->cap)
		return;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	if (w->p && w->p == w->local) {
		np = malloc(cap);
		if (np)
			memcpy(np, w->p, w->len);
	} else {
		np = realloc(w->p, cap);
	}
	if (!np) {
		w->oom = true;
		return;
	}
	w->p = np;
	w->cap = cap;
}

static void wr_free(wr *w)
{
	if (w->p != w->local)
		free(w->p);
}

static void wr8(wr *w, uint8_t v)
{
	wr_reserve(w, 1);
	if (!w->oom)
		w->p[w->len++] = v;
}

static void wr16(wr *w, uint16_t v)
{
	wr8(w, (uint8_t)(v >> 8));
	wr8(w, (uint8_t)v);
}

static void wr32(wr *w, uint32_t v)
{
	wr16(w, (uint16_t)(v >> 16));
	wr16(w, (uint16_t)v);
}

static void wr_bytes(wr *w, const uint8_t *b, size_t n)
{
	wr_reserve(w, n);
	if (!w->oom && n) {
		memcpy(w->p + w->len, b, n);
		w->len += n;
	}
}

/* Wrap a finished body as a record of the given kind. */
/*
 * Write one record. Unless it ends with inline octets (a payload or written
 * data, whose length is the octets really there), its body loses its
 * trailing zero octets: the decoder reads every field (or part of one)
 * beyond a body's end as 0, so they carry nothing, and a segment that takes
 * the engine's own numbers shrinks from 30 octets to 4. Fewer octets per
 * event means more events within a fuzzer's length limit and fewer octets
 * for mutations to waste themselves on.
 */
static void wr_record(wr *w, uint8_t kind, const wr *body, bool trim)
{
	size_t n = body->len > MAX_BODY ? MAX_BODY : body->len;

	if (body->oom) {
		w->oom = true;
		return;
	}
	while (trim && n > 0 && body->p[n - 1] == 0)
		n--;
	wr8(w, kind);
	if (n < 255) {
		wr8(w, (uint8_t)n);
	} else {
		wr8(w, 255);
		wr16(w, (uint16_t)n);
	}
	wr_bytes(w, body->p, n);
}

static uint8_t mode_bits(sc_num_mode m)
{
	return m == SC_NUM_ABS ? 1 : m == SC_NUM_SCRIPT ? 2 : 0;
}

static void encode_segment(wr *w, const sc_packet *p)
{
	WR_BODY(b);
	uint8_t opt_len = p->opts_mode == SC_OPTS_LIST ? p->opt_len : 0;
	uint8_t ctl = (uint8_t)(mode_bits(p->seq.mode) | mode_bits(p->ack.mode) << 2);
	/* Inline payload octets must fit in one record body. */
	uint32_t room = (uint32_t)(MAX_BODY - SEG_FIXED_LEN - SF_MAX_OPT_LEN);
	uint32_t plen = p->payload && p->len > room ? room : p->len;
	uint8_t tos = p->tos_check == SC_TOS_NONE ? 0
		      : p->tos_check == SC_TOS_ECN ? (uint8_t)(p->tos & 3) : p->tos;

	if (opt_len > SF_MAX_OPT_LEN)
		opt_len = SF_MAX_OPT_LEN;
	/* The window bit stays clear for 65535, the decoder's default: the
	 * window field is then all zero and usually trimmed (wr_record). */
	bool win_given = p->has_win && p->win != SC_DEFAULT_WIN;
	ctl |= (p->has_ack ? SEG_CTL_ACK : 0) | (win_given ? SEG_CTL_WIN : 0) |
	       (p->has_urg ? SEG_CTL_URG : 0) | (p->payload ? SEG_CTL_DATA : 0);
	wr8(&b, p->flags);
	wr8(&b, ctl);
	wr32(&b, p->seq.value);
	wr32(&b, p->ack.value);
	wr16(&b, win_given ? p->win : 0);
	wr16(&b, (uint16_t)(plen > 0xffff ? 0xffff : plen));
	wr8(&b, p->conn);
	wr16(&b, p->urg);
	wr8(&b, (uint8_t)((p->faults.bad_tcp_checksum ? 1 : 0) | (p->faults.bad_ip_checksum ? 2 : 0) |
			  (p->tos_check != SC_TOS_NONE ? 4 : 0) | (p->has_ttl ? 8 : 0) | (p->reserved << 4)));
	wr16(&b, (uint16_t)p->faults.ip_len_delta);
	wr8(&b, (uint8_t)p->faults.data_off_delta);
	wr8(&b, tos);
	wr8(&b, p->ttl);
	wr16(&b, p->sport && p->dport ? p->sport : 0);
	wr16(&b, p->sport && p->dport ? p->dport : 0);
	wr8(&b, opt_len);
	wr_bytes(&b, p->opt_raw, opt_len);
	if (p->payload)
		wr_bytes(&b, p->payload, plen);
	wr_record(w, SC_REC_SEGMENT, &b, !p->payload);
	wr_free(&b);
}

static void encode_addr(wr *b, const sc_call *c)
{
	bool v6 = c->addr.addr.family == SF_AF_INET6;

	if (!c->has_addr) {
		wr8(b, 0);
		return;
	}
	wr8(b, (uint8_t)(1 | (v6 ? 2 : 0)));
	wr16(b, c->addr.port);
	wr_bytes(b, c->addr.addr.bytes, v6 ? 16 : 4);
}

static void encode_io(wr *b, const sc_call *c)
{
	bool inline_data = c->data && (c->kind == SC_CALL_WRITE || c->kind == SC_CALL_SEND);
	uint32_t len = c->len > 0xffff ? 0xffff : c->len;

	wr16(b, (uint16_t)len);
	wr8(b, (uint8_t)((c->msg_flags & SC_MSG_DONTWAIT ? 1 : 0) | (inline_data ? 2 : 0)));
	if (inline_data)
		wr_bytes(b, c->data, len);
}

static void encode_call(wr *w, const sc_call *c)
{
	WR_BODY(b);

	wr8(&b, (uint8_t)c->kind);
	wr8(&b, (uint8_t)(c->kind == SC_CALL_SOCKET ? 0 : c->fd));
	switch (c->kind) {
	case SC_CALL_SOCKET:
		wr8(&b, c->family == SF_AF_INET6 ? 1 : 0);
		break;
	case SC_CALL_BIND:
	case SC_CALL_CONNECT:
		encode_addr(&b, c);
		break;
	case SC_CALL_LISTEN:
		wr32(&b, (uint32_t)c->backlog);
		break;
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
	case SC_CALL_READ:
	case SC_CALL_RECV:
		encode_io(&b, c);
		break;
	case SC_CALL_SHUTDOWN:
		wr8(&b, (uint8_t)(c->how < 0 ? 0 : c->how % 3));
		break;
	case SC_CALL_SETSOCKOPT:
	case SC_CALL_GETSOCKOPT:
		wr8(&b, (uint8_t)((unsigned)c->opt % SOCKOPT_COUNT));
		wr32(&b, c->kind == SC_CALL_SETSOCKOPT ? (uint32_t)c->optval : 0);
		break;
	case SC_CALL_FCNTL:
		wr8(&b, c->fcntl_cmd == SC_F_GETFL ? 1 : 0);
		wr32(&b, c->fcntl_cmd == SC_F_GETFL ? 0
			 : (uint32_t)c->fcntl_flags & (SC_O_RDWR | SC_O_NONBLOCK));
		break;
	case SC_CALL_POLL:
		wr16(&b, (uint16_t)(c->poll_events & POLL_BITS));
		wr32(&b, (uint32_t)c->poll_timeout_ms);
		break;
	default:
		break;
	}
	wr_record(w, SC_REC_CALL, &b,
		  !(c->data && (c->kind == SC_CALL_WRITE || c->kind == SC_CALL_SEND)));
	wr_free(&b);
}

/* Does `us` fit one wait record's 32-bit amount in unit `unit`? */
static bool wait_fits(bool timer, int64_t us, int64_t unit)
{
	int64_t a = us / unit;

	if (us % unit != 0 || us > SC_BINARY_MAX_WAIT_US || us < -SC_BINARY_MAX_WAIT_US)
		return false;
	return timer ? (a >= INT32_MIN && a <= INT32_MAX) : (a >= 0 && a <= UINT32_MAX);
}

/* One wait record of `us` in the largest unit that holds it exactly. */
static void encode_wait_one(wr *w, bool timer, int64_t us)
{
	WR_BODY(b);
	uint8_t unit = 0;

	if (us != 0 && wait_fits(timer, us, 1000000))
		unit = 2;
	else if (us != 0 && wait_fits(timer, us, 1000))
		unit = 1;
	wr8(&b, (uint8_t)((timer ? 1 : 0) | unit << 1));
	wr32(&b, (uint32_t)(us / wait_units[unit]));
	wr_record(w, SC_REC_WAIT, &b, true);
	wr_free(&b);
}

static bool wait_fits_any(bool timer, int64_t us)
{
	return wait_fits(timer, us, 1) || wait_fits(timer, us, 1000) ||
	       wait_fits(timer, us, 1000000);
}

/*
 * A wait of any length. A span that no single record holds is split into
 * whole-second records plus the rest; a timer offset (one record by
 * nature) is clamped to +-2^31 s and rounded to what a record holds.
 */
static void encode_wait(wr *w, bool timer, int64_t us)
{
	const int64_t lim = SC_BINARY_MAX_WAIT_US;

	if (timer) {
		us = us > lim ? lim : us < -lim ? -lim : us;
		if (!wait_fits_any(true, us))
			us = us / 1000 * 1000;
		if (!wait_fits_any(true, us))
			us = us / 1000000 * 1000000;
		encode_wait_one(w, true, us);
		return;
	}
	if (us < 0)
		us = 0;
	while (!wait_fits_any(false, us)) {
		const int64_t max_s = SC_BINARY_MAX_WAIT_US / 1000000;
		int64_t s = us / 1000000 > max_s ? max_s : us / 1000000;

		encode_wait_one(w, false, s * 1000000);
		us -= s * 1000000;
	}
	encode_wait_one(w, false, us);
}

/* The scripted time of ev, given the previous event's scripted time. */
static int64_t event_time(const sc_event *ev, int64_t prev)
{
	int64_t t;

	switch (ev->time.kind) {
	case SC_TIME_ABS:
		t = ev->time.us;
		break;
	case SC_TIME_REL:
		t = prev + ev->time.us;
		break;
	default:
		t = prev;
		break;
	}
	return t < prev ? prev : t;
}

int sc_binary_encode(const sc_scenario *scn, uint8_t **out, size_t *out_len)
{
	wr w = {0};
	int64_t t = 0, t_enc = 0;

	*out = NULL;
	*out_len = 0;
	/* One allocation for most scenarios (a record is rarely over 40). */
	wr_reserve(&w, SC_BINARY_HDR_LEN + 40 * scn->count);
	wr8(&w, SC_BINARY_VERSION);
	wr8(&w, 0);
	wr16(&w, 0);
	for (size_t i = 0; i < scn->count; i++) {
		const sc_event *ev = &scn->ev[i];

		if (sc_wait_is_timer(ev)) {
			encode_wait(&w, true, ev->time.us);
			continue;
		}
		t = event_time(ev, t);
		if (ev->kind == SC_EV_WAIT) {
			encode_wait(&w, false, t - t_enc);
			t_enc = t;
			continue;
		}
		if (ev->kind != SC_EV_INBOUND && ev->kind != SC_EV_CALL)
			continue; /* expectations are not input (binary.h) */
		if (t > t_enc) {
			encode_wait(&w, false, t - t_enc);
			t_enc = t;
		}
		if (ev->kind == SC_EV_INBOUND)
			encode_segment(&w, &ev->pkt);
		else
			encode_call(&w, &ev->call);
	}
	if (w.oom) {
		free(w.p);
		return -ENOMEM;
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}
