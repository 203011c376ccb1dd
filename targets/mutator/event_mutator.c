/*
 * Structure-aware mutation of scenario inputs: see event_mutator.h.
 *
 * Reading order: the random source, the engine's numbers (window and timer
 * edges from sf_config_default()), the record walker (for cutting and for
 * SM_RECORD_BYTES), event list helpers, one function per mutation, then
 * sm_mutate() / sm_crossover() which put them together.
 */
#include "event_mutator.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "scenario.h"
#include "synfin/tcp.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Inputs past this many events only shrink: the targets stop playing at
 * FZ_MAX_INPUT_EVENTS anyway, and max_size bounds them long before. */
#define SM_MAX_EVENTS 2048

/* ---- A deterministic random source (splitmix64), seeded by the fuzzer ---- */

typedef struct sm_rng {
	uint64_t s;
} sm_rng;

static uint64_t rng_next(sm_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static uint32_t below(sm_rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static bool coin(sm_rng *r)
{
	return rng_next(r) & 1;
}

#define PICK(r, table) ((table)[below((r), (uint32_t)ARRAY_LEN(table))])

/* ---- The engine's numbers: window sizes and timer deadlines ---- */

/*
 * Everything the mutations aim at is derived from the engine's defaults, so
 * a changed default (say, a smaller receive buffer) moves the edges with
 * it. Built once; read-only afterwards.
 */
typedef struct sm_engine {
	int64_t rcv_wnd;   /* receive window the engine advertises (rcvbuf) */
	int64_t snd_buf;   /* send buffer: the most data in flight from the engine */
	int64_t mss;
	int64_t deadline_us[64]; /* clock steps at which some timer fires */
	size_t deadlines;
} sm_engine;

static sm_engine engine;
static bool engine_ready;

static void add_deadline(int64_t us)
{
	if (us > 0 && engine.deadlines < ARRAY_LEN(engine.deadline_us))
		engine.deadline_us[engine.deadlines++] = us;
}

/*
 * Retransmission give-up times: the RTO starts at rto_initial and doubles
 * after every retry up to rto_max (RFC6298:5, RFC6298:2.4), so after k retries
 * the timer has run for the sum of the first k + 1 timeouts.
 */
static void add_backoff_deadlines(const sf_config *cfg, uint32_t retries)
{
	int64_t rto = (int64_t)cfg->rto_initial, sum = 0;

	for (uint32_t k = 0; k <= retries && k < 16; k++) {
		sum += rto;
		add_deadline(sum);
		rto = rto * 2 > (int64_t)cfg->rto_max ? (int64_t)cfg->rto_max : rto * 2;
	}
}

static void engine_init(void)
{
	sf_config cfg;

	if (engine_ready)
		return;
	sf_config_default(&cfg);
	engine.rcv_wnd = cfg.rcvbuf;
	engine.snd_buf = cfg.sndbuf;
	engine.mss = cfg.mss;
	/* SYN-ACK and SYN retries (RFC6298:5 backoff), data retries. */
	add_backoff_deadlines(&cfg, cfg.synack_retries);
	add_backoff_deadlines(&cfg, cfg.syn_retries);
	add_deadline((int64_t)cfg.rto_max);
	/* TIME-WAIT (RFC9293:MUST-13) and FIN-WAIT-2. */
	add_deadline((int64_t)cfg.time_wait);
	add_deadline((int64_t)cfg.fin_wait_2);
	/* Keep-alive: idle time (RFC9293:MUST-28), then every probe. */
	for (uint32_t k = 0; k <= cfg.keepalive_probes && k < 12; k++)
		add_deadline((int64_t)(cfg.keepalive_idle + k * cfg.keepalive_intvl));
	/* Rate limit of challenge / out-of-window ACKs (RFC5961:7). */
	add_deadline((int64_t)cfg.oow_ack_interval);
	engine_ready = true;
}

/* ---- Records: walking the input exactly as the decoder does ---- */

/* Record i's bytes: [start, end), body from body_off. */
typedef struct sm_span {
	size_t start, body_off, end;
} sm_span;

/*
 * The record that starts at off (< size), as binary.c's record_body() reads
 * it: tag, length (255: a 16-bit length follows), body cut at the end.
 */
static sm_span record_at(const uint8_t *d, size_t size, size_t off)
{
	sm_span s = {off, off + 2, 0};
	size_t blen = off + 1 < size ? d[off + 1] : 0;

	if (blen == 255) {
		size_t hi = off + 2 < size ? d[off + 2] : 0;
		size_t lo = off + 3 < size ? d[off + 3] : 0;

		blen = hi << 8 | lo;
		s.body_off = off + 4;
	}
	if (s.body_off > size)
		s.body_off = size;
	s.end = s.body_off + blen < size ? s.body_off + blen : size;
	return s;
}

size_t sm_event_count(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t off = SC_BINARY_HDR_LEN; off < size; n++)
		off = record_at(data, size, off).end;
	return n;
}

size_t sm_cut_events(const uint8_t *data, size_t size, size_t first, size_t count, uint8_t *out)
{
	size_t n = size < SC_BINARY_HDR_LEN ? size : SC_BINARY_HDR_LEN;
	size_t off = SC_BINARY_HDR_LEN;

	memmove(out, data, n);
	for (size_t i = 0; off < size; i++) {
		sm_span s = record_at(data, size, off);

		if (i < first || i >= first + count) {
			memmove(out + n, data + s.start, s.end - s.start);
			n += s.end - s.start;
		}
		off = s.end;
	}
	return n;
}

/* The longest prefix of d that ends at a record boundary within max. */
static size_t whole_records_within(const uint8_t *d, size_t size, size_t max)
{
	size_t off = SC_BINARY_HDR_LEN, keep = SC_BINARY_HDR_LEN;

	if (max < SC_BINARY_HDR_LEN)
		return max < size ? max : size;
	while (off < size) {
		off = record_at(d, size, off).end;
		if (off > max)
			break;
		keep = off;
	}
	return keep < size ? keep : size;
}

/* ---- Event lists ---- */

static void event_free_data(sc_event *ev)
{
	if (ev->kind == SC_EV_INBOUND || ev->kind == SC_EV_OUTBOUND) {
		free(ev->pkt.payload);
		ev->pkt.payload = NULL;
	} else if (ev->kind == SC_EV_CALL) {
		free(ev->call.data);
		ev->call.data = NULL;
	}
}

/* Insert a deep copy of *ev before index i (i == count appends). */
static int insert_event(sc_scenario *s, size_t i, const sc_event *ev)
{
	sc_event moved;

	if (!sc_scenario_append(s, ev))
		return -ENOMEM;
	moved = s->ev[s->count - 1];
	memmove(&s->ev[i + 1], &s->ev[i], (s->count - 1 - i) * sizeof(*s->ev));
	s->ev[i] = moved;
	return 0;
}

static void remove_events(sc_scenario *s, size_t i, size_t n)
{
	if (i >= s->count)
		return;
	if (n > s->count - i)
		n = s->count - i;
	for (size_t k = i; k < i + n; k++)
		event_free_data(&s->ev[k]);
	memmove(&s->ev[i], &s->ev[i + n], (s->count - i - n) * sizeof(*s->ev));
	s->count -= n;
}

/* A random event of the given kind (SC_EV_COUNT: any), or -1. */
static long pick_event(sm_rng *r, const sc_scenario *s, sc_event_kind kind)
{
	size_t n = 0, k;

	for (size_t i = 0; i < s->count; i++)
		n += kind == SC_EV_COUNT || s->ev[i].kind == kind;
	if (n == 0)
		return -1;
	k = below(r, (uint32_t)n);
	for (size_t i = 0; i < s->count; i++) {
		if ((kind == SC_EV_COUNT || s->ev[i].kind == kind) && k-- == 0)
			return (long)i;
	}
	return -1;
}

/* A short run length: mostly 1, sometimes up to 8. */
static size_t run_length(sm_rng *r, size_t limit)
{
	size_t n = below(r, 4) ? 1 : 1 + below(r, 8);

	return n > limit ? limit : n;
}

/* ---- Numbers at the edges ---- */

/*
 * Sequence offsets from RCV.NXT (state mode) that sit on or just beside an
 * edge of the receive window [RCV.NXT, RCV.NXT + RCV.WND) for a segment of
 * len octets (RFC 9293 §3.10.7.4, the acceptability test), or half the
 * sequence space away (wrap-around comparisons).
 */
static int32_t seq_edge(sm_rng *r, uint32_t len)
{
	const int64_t w = engine.rcv_wnd, l = len;
	const int64_t edges[] = {
		0, -1, 1, w, w - 1, w + 1, -w, -w - 1, w - l, w - l + 1, w - l - 1, -l, -l + 1,
		-l - 1, engine.mss, INT32_MAX, INT32_MIN, (int64_t)INT32_MIN + 1, INT32_MAX - w,
		(int64_t)INT32_MIN + w,
	};

	return (int32_t)(uint32_t)(uint64_t)PICK(r, edges);
}

/*
 * Acknowledgement offsets from SND.NXT: the ACK acceptability edges of RFC
 * 9293 §3.10.7.4 (SND.UNA < SEG.ACK =< SND.NXT) and of RFC5961:5.2
 * (SEG.ACK >= SND.UNA - MAX.SND.WND), with SND.UNA somewhere up to a send
 * buffer below SND.NXT.
 */
static int32_t ack_edge(sm_rng *r)
{
	const int64_t b = engine.snd_buf, mw = 65535;
	const int64_t edges[] = {
		0, -1, 1, 2, -2, -engine.mss, -b, -b - 1, -mw, -mw - 1, -mw + 1, -b - mw, -b - mw - 1,
		mw, INT32_MAX, INT32_MIN, (int64_t)INT32_MIN + 1,
	};

	return (int32_t)(uint32_t)(uint64_t)PICK(r, edges);
}

/* ---- Mutations of segments ---- */

static void mutate_seq(sm_rng *r, sc_packet *p)
{
	/* Window edges only mean something relative to RCV.NXT: compiled
	 * scripts carry script-mode numbers, which become state-mode here. */
	p->seq.mode = SC_NUM_STATE;
	p->seq.value = (uint32_t)seq_edge(r, p->len);
}

static void mutate_ack(sm_rng *r, sc_packet *p)
{
	p->ack.mode = SC_NUM_STATE;
	p->ack.value = (uint32_t)ack_edge(r);
	p->has_ack = true;
	/* Mostly with the ACK flag; without it the field is noise that the
	 * engine must ignore (RFC 9293 §3.1: the field is valid only with ACK). */
	if (below(r, 4))
		p->flags |= SF_ACK;
}

static void mutate_window(sm_rng *r, sc_packet *p)
{
	const int64_t m = engine.mss;
	const int64_t wins[] = {0, 1, 2, 47, 48, m - 1, m, m + 1, 2 * m, 536, 255, 256, 32767, 32768,
				65534, 65535};

	p->has_win = true;
	p->win = below(r, 8) ? (uint16_t)PICK(r, wins) : (uint16_t)rng_next(r);
}

static void mutate_flags(sm_rng *r, sc_packet *p)
{
	/* Combinations that no correct peer sends (RFC 9293 §3.10.7 has an
	 * answer for each) and the handshake's own. */
	static const uint8_t combos[] = {
		0,
		SF_SYN | SF_FIN,
		SF_SYN | SF_RST,
		SF_SYN | SF_FIN | SF_RST | SF_PSH | SF_URG | SF_ACK,
		SF_FIN,
		SF_FIN | SF_PSH | SF_URG,
		SF_SYN | SF_ACK,
		SF_RST | SF_ACK,
		SF_SYN | 0x40 | 0x80, /* ECN setup SYN (RFC 3168) */
		SF_ACK | SF_URG,
		SF_FIN | SF_ACK,
		SF_SYN,
		SF_RST,
	};

	if (below(r, 4))
		p->flags ^= (uint8_t)(1u << below(r, 8));
	else
		p->flags = PICK(r, combos);
}

/* ---- Options ---- */

/* Offsets of the options in the area (EOL ends it; a broken length ends
 * the walk too). Returns how many; *used is where the last one ends. */
static size_t walk_options(const sc_packet *p, size_t off[SF_MAX_OPT_LEN], size_t *used)
{
	size_t n = 0, i = 0;

	while (i < p->opt_len) {
		uint8_t kind = p->opt_raw[i];
		size_t len = kind <= 1 ? 1 : (i + 1 < p->opt_len ? p->opt_raw[i + 1] : 0);

		if (kind == 0)
			break;
		if (len < 2 && kind > 1)
			len = p->opt_len - i; /* malformed: the rest is one blob */
		if (i + len > p->opt_len)
			len = p->opt_len - i;
		off[n++] = i;
		i += len;
	}
	*used = i;
	return n;
}

static void put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v);
}

/* One option into o (room for 40 octets); returns its length. */
static size_t make_option(sm_rng *r, uint8_t *o)
{
	static const uint16_t mss[] = {0, 1, 47, 48, 88, 536, 1220, 1459, 1460, 1461, 9000, 65535};
	static const uint8_t shift[] = {0, 1, 2, 7, 8, 13, 14, 15, 16, 255};
	size_t blocks;

	switch (below(r, 8)) {
	case 0: /* MSS (RFC9293:MUST-14 ff.) */
		o[0] = SF_OPT_MSS, o[1] = 4;
		put16(o + 2, PICK(r, mss));
		return 4;
	case 1: /* window scale; shifts above 14 are clamped (RFC 7323 §2.3) */
		o[0] = SF_OPT_WSCALE, o[1] = 3, o[2] = PICK(r, shift);
		return 3;
	case 2:
		o[0] = SF_OPT_SACK_PERM, o[1] = 2;
		return 2;
	case 3: /* timestamps: TSval at the edges of PAWS (RFC 7323 §5) */
		o[0] = SF_OPT_TS, o[1] = 10;
		put32(o + 2, coin(r) ? (uint32_t)rng_next(r) : (uint32_t)seq_edge(r, 0));
		put32(o + 6, coin(r) ? 0 : (uint32_t)ack_edge(r));
		return 10;
	case 4: /* SACK blocks around SND.NXT (RFC 2018) */
		blocks = 1 + below(r, 4);
		o[0] = SF_OPT_SACK, o[1] = (uint8_t)(2 + 8 * blocks);
		for (size_t k = 0; k < blocks; k++) {
			put32(o + 2 + 8 * k, (uint32_t)ack_edge(r));
			put32(o + 6 + 8 * k, (uint32_t)ack_edge(r));
		}
		return 2 + 8 * blocks;
	case 5:
		o[0] = SF_OPT_NOP;
		return 1;
	case 6: /* unknown kinds must be skipped by their length (RFC9293:MUST-6) */
		o[0] = (uint8_t)(9 + below(r, 247)), o[1] = (uint8_t)(2 + below(r, 8));
		memset(o + 2, 0xa5, o[1] - 2);
		return o[1];
	default: /* EOL: anything after it is padding */
		o[0] = SF_OPT_EOL;
		return 1;
	}
}

static void opt_add(sm_rng *r, sc_packet *p)
{
	uint8_t o[SF_MAX_OPT_LEN];
	size_t off[SF_MAX_OPT_LEN], used, n = make_option(r, o);

	/* Append after the last real option (decoding padded the area with
	 * EOL octets, after which an option would be ignored); start afresh
	 * when it does not fit. */
	walk_options(p, off, &used);
	if (used + n > SF_MAX_OPT_LEN || below(r, 8) == 0)
		used = 0;
	memcpy(p->opt_raw + used, o, n);
	p->opt_len = (uint8_t)(used + n);
	p->opts_mode = SC_OPTS_LIST;
}

static void opt_drop(sm_rng *r, sc_packet *p)
{
	size_t off[SF_MAX_OPT_LEN], used, n = walk_options(p, off, &used), i, end;

	if (n == 0 || below(r, 4) == 0) {
		p->opt_len = 0;
		p->opts_mode = SC_OPTS_NONE;
		return;
	}
	i = below(r, (uint32_t)n);
	end = i + 1 < n ? off[i + 1] : used;
	memmove(p->opt_raw + off[i], p->opt_raw + end, p->opt_len - end);
	p->opt_len = (uint8_t)(p->opt_len - (end - off[i]));
	p->opts_mode = p->opt_len ? SC_OPTS_LIST : SC_OPTS_NONE;
}

/*
 * Illegal option lengths (0, 1, one short, one long, past the end of the
 * area), an area cut in the middle of an option, or a well-known kind with
 * the wrong length: the option parser must survive all of them
 * (RFC9293:MUST-7, RFC 7323 §2.2).
 */
static void opt_corrupt(sm_rng *r, sc_packet *p)
{
	size_t off[SF_MAX_OPT_LEN], used, n = walk_options(p, off, &used), at, len;

	if (n == 0) {
		opt_add(r, p);
		n = walk_options(p, off, &used);
		if (n == 0)
			return;
	}
	at = off[below(r, (uint32_t)n)];
	if (p->opt_raw[at] <= 1 || at + 1 >= p->opt_len) {
		/* NOP or EOL: turn it into a kind with a length that is missing. */
		p->opt_raw[at] = (uint8_t)(2 + below(r, 7));
		p->opt_len = (uint8_t)(at + 1);
		p->opts_mode = SC_OPTS_LIST;
		return;
	}
	len = p->opt_raw[at + 1];
	switch (below(r, 6)) {
	case 0:
		p->opt_raw[at + 1] = (uint8_t)below(r, 2); /* 0 or 1 */
		break;
	case 1:
		p->opt_raw[at + 1] = (uint8_t)(len + (coin(r) ? 1 : -1));
		break;
	case 2:
		p->opt_raw[at + 1] = (uint8_t)(p->opt_len - at + 1 + below(r, 4)); /* past the end */
		break;
	case 3:
		p->opt_raw[at + 1] = 255;
		break;
	case 4: { /* the area ends inside the option (its length may be bogus) */
		size_t span = len < p->opt_len - at ? len : p->opt_len - at;

		p->opt_len = (uint8_t)(at + 1 + below(r, (uint32_t)(span > 2 ? span - 1 : 1)));
		break;
	}
	default: /* a known kind with another kind's length */
		p->opt_raw[at] = (uint8_t)PICK(r, ((const uint8_t[]){SF_OPT_MSS, SF_OPT_WSCALE,
								   SF_OPT_SACK_PERM, SF_OPT_SACK,
								   SF_OPT_TS}));
		break;
	}
}

static void mutate_segment_field(sm_rng *r, sc_packet *p)
{
	const int64_t m = engine.mss, w = engine.rcv_wnd;
	const int64_t lens[] = {0, 1, 2, m - 1, m, m + 1, 2 * m, 536, 48, w - 1, w, 65535};
	const int8_t offs[] = {-5, -1, 1, 2, 10, 15};
	const int16_t iplen[] = {-40, -20, -1, 1, 4, 20};

	switch (below(r, 6)) {
	case 0: /* payload length; the harness fills payload bytes itself */
		free(p->payload);
		p->payload = NULL;
		p->len = (uint32_t)PICK(r, lens);
		break;
	case 1: /* urgent pointer at and around the end of the data (RFC9293:MUST-31) */
		p->has_urg = true;
		p->urg = (uint16_t)PICK(r, ((const int64_t[]){0, 1, p->len - 1, p->len, p->len + 1,
							      65535}));
		if (below(r, 4))
			p->flags |= SF_URG;
		break;
	case 2: /* another remote endpoint (several connections at a listener) */
		p->conn = (uint8_t)(coin(r) ? below(r, 4) : below(r, 256));
		break;
	case 3: /* checksums (RFC9293:MUST-2, MUST-3) */
		if (coin(r))
			p->faults.bad_tcp_checksum = !p->faults.bad_tcp_checksum;
		else
			p->faults.bad_ip_checksum = !p->faults.bad_ip_checksum;
		break;
	case 4: /* lengths in the headers that disagree with the packet */
		if (coin(r))
			p->faults.data_off_delta = PICK(r, offs);
		else
			p->faults.ip_len_delta = PICK(r, iplen);
		break;
	default: /* reserved bits, TOS/ECN, TTL */
		p->reserved = (uint8_t)below(r, 16);
		p->tos_check = SC_TOS_FULL;
		p->tos = (uint8_t)below(r, 4);
		p->has_ttl = coin(r);
		p->ttl = (uint8_t)(coin(r) ? 1 : 255);
		break;
	}
}

/* ---- Templates for new events ---- */

static void template_segment(sm_rng *r, sc_event *ev)
{
	static const uint8_t flags[] = {
		SF_SYN, SF_ACK, SF_ACK | SF_PSH, SF_ACK | SF_PSH, SF_FIN | SF_ACK, SF_RST,
		SF_RST | SF_ACK, SF_SYN | SF_ACK, SF_ACK | SF_URG, SF_FIN, SF_ACK,
	};
	sc_packet *p = &ev->pkt;

	ev->kind = SC_EV_INBOUND;
	p->flags = PICK(r, flags);
	p->seq.mode = p->ack.mode = SC_NUM_STATE;
	p->has_ack = p->flags & SF_ACK;
	p->has_win = true;
	p->win = SC_DEFAULT_WIN;
	if (p->flags & SF_PSH)
		p->len = PICK(r, ((const uint32_t[]){1, 100, 536, 1460}));
	if (p->flags & SF_URG) {
		p->len = 10;
		p->has_urg = true;
		p->urg = 10;
	}
	if (p->flags & SF_SYN) {
		/* A SYN as a real stack sends one: MSS, SACK-permitted, TS, WS. */
		static const uint8_t syn_opts[] = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1,
						   0, 0, 0, 0, 1, 3, 3, 7};

		if (coin(r)) {
			memcpy(p->opt_raw, syn_opts, sizeof(syn_opts));
			p->opt_len = sizeof(syn_opts);
			p->opts_mode = SC_OPTS_LIST;
		}
		if (below(r, 4) == 0)
			p->seq.value = (uint32_t)seq_edge(r, 0);
	}
}

static int32_t some_fd(sm_rng *r)
{
	/* fd 3 is the listener (passive_open) or the connection (active_open);
	 * accept() hands out 4, 5, ... */
	static const int32_t fds[] = {3, 4, 4, 4, 5, 6, 7};

	return PICK(r, fds);
}

static void template_call(sm_rng *r, sc_event *ev)
{
	sc_call *c = &ev->call;

	ev->kind = SC_EV_CALL;
	c->fd = some_fd(r);
	switch (below(r, 12)) {
	case 0:
		c->kind = SC_CALL_ACCEPT;
		c->fd = 3;
		break;
	case 1:
	case 2:
		c->kind = coin(r) ? SC_CALL_READ : SC_CALL_RECV;
		c->len = PICK(r, ((const uint32_t[]){1, 1000, 65535}));
		c->msg_flags = c->kind == SC_CALL_RECV && coin(r) ? SC_MSG_DONTWAIT : 0;
		break;
	case 3:
	case 4:
		c->kind = coin(r) ? SC_CALL_WRITE : SC_CALL_SEND;
		c->len = PICK(r, ((const uint32_t[]){1, 100, 1460, 1461, 16384, 65535}));
		break;
	case 5:
		c->kind = SC_CALL_SHUTDOWN;
		c->how = (int32_t)below(r, 3);
		break;
	case 6:
		c->kind = below(r, 3) ? SC_CALL_CLOSE : SC_CALL_ABORT;
		break;
	case 7:
	case 8: { /* the options that arm timers or shrink windows and segments */
		static const struct {
			sf_sockopt opt;
			int32_t vals[4];
		} opts[] = {
			{SF_SO_KEEPALIVE, {1, 1, 0, 1}},    {SF_TCP_KEEPIDLE, {1, 2, 60, 7200}},
			{SF_TCP_KEEPINTVL, {1, 2, 75, 0}},  {SF_TCP_KEEPCNT, {1, 2, 9, 0}},
			{SF_SO_LINGER, {0, 1, -1, 60}},     {SF_TCP_USER_TIMEOUT, {1, 1000, 0, -1}},
			{SF_SO_RCVBUF, {1, 2048, 65535, 0}}, {SF_SO_SNDBUF, {1, 2048, 4096, 0}},
			{SF_TCP_MAXSEG, {1, 48, 88, 536}},  {SF_TCP_NODELAY, {1, 0, 1, 1}},
			{SF_SO_REUSEADDR, {1, 0, 1, 1}},    {SF_TCP_SYNCNT, {1, 0, 2, 255}},
		};
		size_t k = below(r, (uint32_t)ARRAY_LEN(opts));

		c->kind = SC_CALL_SETSOCKOPT;
		c->opt = opts[k].opt;
		c->level = c->opt <= SF_SO_ERROR ? SC_SOL_SOCKET : SC_SOL_TCP;
		c->optval = PICK(r, opts[k].vals);
		break;
	}
	case 9:
		c->kind = SC_CALL_POLL;
		c->poll_events = SF_POLLIN | SF_POLLOUT | SF_POLLRDHUP;
		c->poll_timeout_ms = (int32_t)PICK(r, ((const int32_t[]){0, 0, 1, 1000}));
		break;
	case 10:
		c->kind = SC_CALL_FCNTL;
		c->fcntl_cmd = SC_F_SETFL;
		c->fcntl_flags = SC_O_RDWR | (coin(r) ? SC_O_NONBLOCK : 0);
		break;
	default: /* the setup calls, again or out of order */
		c->kind = PICK(r, ((const sc_call_kind[]){SC_CALL_SOCKET, SC_CALL_BIND, SC_CALL_LISTEN,
							  SC_CALL_CONNECT}));
		c->family = SF_AF_INET;
		c->backlog = PICK(r, ((const int32_t[]){0, 1, 8, -1}));
		if (c->kind == SC_CALL_SOCKET)
			c->fd = 0;
		break;
	}
}

/*
 * A clock step that ends just before, at or just after a timer: either a
 * span equal to one of the engine's deadlines (measured from the last
 * event, which is when most timers are armed) +-1 us or +-1 ms, or "the
 * next timer" with a small signed offset.
 */
static void template_wait(sm_rng *r, sc_event *ev)
{
	static const int64_t nudge[] = {0, 0, -1, 1, -1000, 1000};

	engine_init();
	ev->kind = SC_EV_WAIT;
	if (coin(r)) {
		ev->time.kind = SC_TIME_ANY;
		ev->time.us = PICK(r, ((const int64_t[]){0, 0, -1, 1, -1000, 1000, -500000}));
		return;
	}
	ev->time.kind = SC_TIME_REL;
	ev->time.us = engine.deadline_us[below(r, (uint32_t)engine.deadlines)] + PICK(r, nudge);
}

/* ---- Mutations of calls ---- */

static void mutate_call(sm_rng *r, sc_call *c)
{
	switch (below(r, 4)) {
	case 0:
		c->fd = coin(r) ? some_fd(r) : c->fd + (coin(r) ? 1 : -1);
		break;
	case 1: /* lengths at buffer and segment edges */
		free(c->data);
		c->data = NULL;
		c->len = PICK(r, ((const uint32_t[]){0, 1, 47, 48, 1459, 1460, 1461, 16383, 16384,
						     16385, 65535}));
		break;
	case 2:
		c->backlog = PICK(r, ((const int32_t[]){0, 1, -1, INT32_MAX, INT32_MIN, 4096, 4097}));
		c->optval = PICK(r, ((const int32_t[]){0, 1, -1, 2, 48, 65535, INT32_MAX, INT32_MIN}));
		c->how = (int32_t)below(r, 3);
		c->poll_timeout_ms = (int32_t)PICK(r, ((const int32_t[]){-1, 0, 1}));
		break;
	default: { /* another call on the same fd */
		int32_t fd = c->fd;

		free(c->data);
		memset(c, 0, sizeof(*c));
		c->kind = (sc_call_kind)below(r, SC_CALL_COUNT);
		c->fd = c->kind == SC_CALL_SOCKET ? 0 : fd;
		c->len = 1000;
		c->level = SC_SOL_SOCKET;
		break;
	}
	}
}

/* ---- The mutations, on a decoded scenario ---- */

typedef struct sm_ctx {
	sm_rng rng;
	sc_scenario scn;
} sm_ctx;

static int do_insert(sm_ctx *m)
{
	sm_rng *r = &m->rng;
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time.kind = SC_TIME_REL;
	switch (below(r, 5)) {
	case 0:
	case 1:
		template_segment(r, &ev);
		break;
	case 2:
	case 3:
		template_call(r, &ev);
		break;
	default:
		template_wait(r, &ev);
		break;
	}
	return insert_event(&m->scn, below(r, (uint32_t)m->scn.count + 1), &ev);
}

static int do_delete(sm_ctx *m)
{
	size_t i = below(&m->rng, (uint32_t)m->scn.count);

	remove_events(&m->scn, i, run_length(&m->rng, m->scn.count - i));
	return 0;
}

static int do_duplicate(sm_ctx *m)
{
	sm_rng *r = &m->rng;
	size_t i = below(r, (uint32_t)m->scn.count), n = run_length(r, m->scn.count - i);
	/* Now and then a burst (floods, duplicate ACKs), at most 16 events. */
	size_t times = below(r, 4) ? 1 : 1 + below(r, (uint32_t)(16 / n));
	size_t at = below(r, 4) ? i + n : below(r, (uint32_t)m->scn.count + 1);
	/* Shallow copies of the run: inserting may move the array, but not the
	 * buffers the events own, and insert_event() copies those. */
	sc_event *run = malloc(n * sizeof(*run));
	int rc = 0;

	if (!run)
		return -ENOMEM;
	memcpy(run, &m->scn.ev[i], n * sizeof(*run));
	for (size_t t = 0; t < times && rc == 0; t++) {
		for (size_t k = 0; k < n && rc == 0; k++)
			rc = insert_event(&m->scn, at + t * n + k, &run[k]);
	}
	free(run);
	return rc;
}

static int do_swap(sm_ctx *m)
{
	sm_rng *r = &m->rng;
	size_t i = below(r, (uint32_t)m->scn.count);
	size_t j = coin(r) && i + 1 < m->scn.count ? i + 1 : below(r, (uint32_t)m->scn.count);
	sc_event t = m->scn.ev[i];

	m->scn.ev[i] = m->scn.ev[j];
	m->scn.ev[j] = t;
	return 0;
}

/* Move the run [i, i + n) so that it starts at index `to` of the rest. */
static int do_move(sm_ctx *m)
{
	sm_rng *r = &m->rng;
	size_t count = m->scn.count, i = below(r, (uint32_t)count), n = run_length(r, count - i);
	size_t to = below(r, (uint32_t)(count - n + 1));
	sc_event *tmp = malloc(n * sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, &m->scn.ev[i], n * sizeof(*tmp));
	memmove(&m->scn.ev[i], &m->scn.ev[i + n], (count - i - n) * sizeof(*tmp));
	memmove(&m->scn.ev[to + n], &m->scn.ev[to], (count - n - to) * sizeof(*tmp));
	memcpy(&m->scn.ev[to], tmp, n * sizeof(*tmp));
	free(tmp);
	return 0;
}

/* A segment to edit: an existing one, or a new one when there is none. */
static sc_packet *some_segment(sm_ctx *m)
{
	long i = pick_event(&m->rng, &m->scn, SC_EV_INBOUND);
	sc_event ev;

	if (i < 0) {
		memset(&ev, 0, sizeof(ev));
		ev.time.kind = SC_TIME_REL;
		template_segment(&m->rng, &ev);
		i = (long)below(&m->rng, (uint32_t)m->scn.count + 1);
		if (insert_event(&m->scn, (size_t)i, &ev) < 0)
			return NULL;
	}
	return &m->scn.ev[i].pkt;
}

static int do_segment(sm_ctx *m, sm_kind k)
{
	sc_packet *p = some_segment(m);
	sm_rng *r = &m->rng;

	if (!p)
		return -ENOMEM;
	switch (k) {
	case SM_SEQ_EDGE:
		mutate_seq(r, p);
		break;
	case SM_ACK_EDGE:
		mutate_ack(r, p);
		break;
	case SM_WINDOW:
		mutate_window(r, p);
		break;
	case SM_FLAGS:
		mutate_flags(r, p);
		break;
	case SM_OPT_ADD:
		opt_add(r, p);
		break;
	case SM_OPT_DROP:
		opt_drop(r, p);
		break;
	case SM_OPT_CORRUPT:
		opt_corrupt(r, p);
		break;
	default:
		mutate_segment_field(r, p);
		break;
	}
	/* The wire pads the option area with EOL octets to whole words, and so
	 * does the decoder: pad here too, so the output is in canonical form. */
	while (p->opt_len % 4)
		p->opt_raw[p->opt_len++] = SF_OPT_EOL;
	return 0;
}

static int do_wait(sm_ctx *m)
{
	long i = pick_event(&m->rng, &m->scn, SC_EV_WAIT);
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	template_wait(&m->rng, &ev);
	/* Half the time a new step (after a random event), else an existing
	 * step moves to the edge of a deadline. */
	if (i < 0 || coin(&m->rng))
		return insert_event(&m->scn, below(&m->rng, (uint32_t)m->scn.count + 1), &ev);
	m->scn.ev[i].time = ev.time;
	return 0;
}

/* k "next timer" waits in a row: every retransmission up to the give-up,
 * every keep-alive probe, or TIME-WAIT's end, whatever is armed. */
static int do_timer_run(sm_ctx *m)
{
	sm_rng *r = &m->rng;
	size_t at = below(r, (uint32_t)m->scn.count + 1), k = 2 + below(r, 15);
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_WAIT;
	ev.time.kind = SC_TIME_ANY;
	for (size_t n = 0; n < k; n++) {
		/* The last step may stop a microsecond short of the deadline. */
		ev.time.us = n + 1 == k && coin(r) ? -1 : 0;
		if (insert_event(&m->scn, at + n, &ev) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int do_call(sm_ctx *m)
{
	long i = pick_event(&m->rng, &m->scn, SC_EV_CALL);
	sc_event ev;

	if (i >= 0 && coin(&m->rng)) {
		mutate_call(&m->rng, &m->scn.ev[i].call);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.time.kind = SC_TIME_REL;
	template_call(&m->rng, &ev);
	return insert_event(&m->scn, below(&m->rng, (uint32_t)m->scn.count + 1), &ev);
}

/*
 * Weights of the mutations on decoded events (SM_SPLICE is the cross-over
 * hook's; SM_RECORD_BYTES is handled apart). Field edits of segments get
 * the largest share: that is where the engine's checks are.
 */
static const uint8_t weight[SM_KIND_COUNT] = {
	[SM_INSERT] = 10,      [SM_DELETE] = 8,       [SM_DUPLICATE] = 6,   [SM_SWAP] = 5,
	[SM_MOVE] = 3,         [SM_SPLICE] = 0,       [SM_SEQ_EDGE] = 9,    [SM_ACK_EDGE] = 9,
	[SM_WINDOW] = 4,       [SM_FLAGS] = 7,        [SM_OPT_ADD] = 4,     [SM_OPT_DROP] = 2,
	[SM_OPT_CORRUPT] = 4,  [SM_WAIT_DEADLINE] = 7, [SM_TIMER_RUN] = 3,  [SM_SEGMENT_FIELD] = 5,
	[SM_CALL] = 6,         [SM_RECORD_BYTES] = 6,
};

static sm_kind choose_kind(sm_rng *r, bool have_bytes)
{
	uint32_t total = 0, x;

	for (int k = 0; k < SM_KIND_COUNT; k++)
		total += (k == SM_RECORD_BYTES && !have_bytes) ? 0 : weight[k];
	x = below(r, total);
	for (int k = 0; k < SM_KIND_COUNT; k++) {
		uint32_t w = (k == SM_RECORD_BYTES && !have_bytes) ? 0 : weight[k];

		if (x < w)
			return (sm_kind)k;
		x -= w;
	}
	return SM_INSERT;
}

/* Inputs longer than this (octets) tend to shrink; 0: only max_size counts. */
static size_t soft_len;

void sm_set_soft_len(size_t octets)
{
	soft_len = octets;
}

/*
 * How crowded an input of `size` octets is: 0 room to grow, 1 growth turns
 * into deletion half the time, 2 always. Past max_size * 3/4 growth is
 * mostly cut off again; past the soft length every event costs time in
 * every later execution, and a few dozen events reach every state.
 */
static int crowding(size_t size, size_t max_size)
{
	if (soft_len && size > 2 * soft_len)
		return 2;
	if (size > max_size / 4 * 3 || (soft_len && size > soft_len))
		return 1;
	return 0;
}

/* Apply k to m->scn; kinds that need events fall back to an insertion on
 * an empty scenario. crowded: crowding() of the input. Returns the kind
 * applied, or -ENOMEM. */
static int apply(sm_ctx *m, sm_kind k, int crowded)
{
	bool grows = k == SM_INSERT || k == SM_DUPLICATE || k == SM_TIMER_RUN;
	int rc;

	if (m->scn.count == 0 && k <= SM_MOVE)
		k = SM_INSERT;
	if (m->scn.count > 0 && grows &&
	    (m->scn.count >= SM_MAX_EVENTS || crowded == 2 || (crowded == 1 && coin(&m->rng))))
		k = SM_DELETE;
	switch (k) {
	case SM_INSERT:
		rc = do_insert(m);
		break;
	case SM_DELETE:
		rc = do_delete(m);
		break;
	case SM_DUPLICATE:
		rc = do_duplicate(m);
		break;
	case SM_SWAP:
		rc = do_swap(m);
		break;
	case SM_MOVE:
		rc = do_move(m);
		break;
	case SM_WAIT_DEADLINE:
		rc = do_wait(m);
		break;
	case SM_TIMER_RUN:
		rc = do_timer_run(m);
		break;
	case SM_CALL:
		rc = do_call(m);
		break;
	default:
		rc = do_segment(m, k);
		break;
	}
	return rc < 0 ? rc : (int)k;
}

/* Encode m->scn into out (max octets), whole records only. */
static size_t emit(const sc_scenario *scn, uint8_t *out, size_t max, bool *ok)
{
	uint8_t *buf = NULL;
	size_t len = 0, keep;

	*ok = sc_binary_encode(scn, &buf, &len) == 0;
	if (!*ok)
		return 0;
	keep = whole_records_within(buf, len, max);
	memcpy(out, buf, keep);
	free(buf);
	return keep;
}

/*
 * SM_RECORD_BYTES: the byte mutator on one record's body of the canonical
 * form, the record framing kept intact, so the rest of the input keeps its
 * meaning while one event gets arbitrary contents.
 */
static size_t record_bytes(sm_rng *r, uint8_t *data, size_t size, size_t max_size,
			   sm_bytes_fn bytes)
{
	size_t n = sm_event_count(data, size), off = SC_BINARY_HDR_LEN, blen, room, len = 0;
	sm_span s = {0, 0, 0};
	uint8_t *body = NULL, *buf = NULL;

	if (n == 0)
		return size;
	n = below(r, (uint32_t)n);
	for (size_t i = 0; i <= n; i++) {
		s = record_at(data, size, off);
		off = s.end;
	}
	blen = s.end - s.body_off;
	room = blen + 64 > 65535 ? 65535 : blen + 64;
	body = calloc(1, room); /* zeros, should a mutator grow without writing */
	buf = malloc(s.start + 4 + room + (size - s.end));
	if (!body || !buf) {
		len = size;
		goto out;
	}
	memcpy(body, data + s.body_off, blen);
	blen = bytes(body, blen, room);
	if (blen > room)
		blen = room;
	/* Prefix, the record with its new body, then the records after it. */
	memcpy(buf, data, s.start);
	len = s.start;
	buf[len++] = data[s.start];
	if (blen < 255) {
		buf[len++] = (uint8_t)blen;
	} else {
		buf[len++] = 255;
		put16(buf + len, (uint32_t)blen);
		len += 2;
	}
	memcpy(buf + len, body, blen);
	len += blen;
	memcpy(buf + len, data + s.end, size - s.end);
	len += size - s.end;
	len = whole_records_within(buf, len, max_size);
	memcpy(data, buf, len);
out:
	free(body);
	free(buf);
	return len;
}

size_t sm_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed, sm_bytes_fn bytes,
		 sm_kind *done)
{
	sm_ctx m = {.rng = {seed * 0x2545f4914f6cdd1dull + 0x1234567}};
	size_t out = size < max_size ? size : max_size;
	sm_kind k;
	bool ok;
	int rc;

	engine_init();
	if (done)
		*done = SM_INSERT;
	if (max_size < SC_BINARY_HDR_LEN)
		return out;
	if (sc_binary_decode(data, size, NULL, &m.scn) < 0)
		return out;
	k = choose_kind(&m.rng, bytes != NULL);
	if (k == SM_RECORD_BYTES) {
		/* Canonical form first, so the record boundaries are the events. */
		out = emit(&m.scn, data, max_size, &ok);
		if (ok)
			out = record_bytes(&m.rng, data, out, max_size, bytes);
		else
			out = size < max_size ? size : max_size;
		goto out;
	}
	rc = apply(&m, k, crowding(size, max_size));
	if (rc < 0)
		goto out;
	k = (sm_kind)rc;
	out = emit(&m.scn, data, max_size, &ok);
	if (!ok)
		out = size < max_size ? size : max_size;
out:
	if (done)
		*done = k;
	sc_scenario_free(&m.scn);
	return out;
}

/*
 * Append records [first, last) of d to out (at *len, at most max octets),
 * whole records only, as they are: records are self-delimiting and refer to
 * nothing by position, so no decoding is needed. A record cut short by the
 * end of its input gets a length that says so, so that records after it in
 * out keep their meaning. Returns false once one did not fit.
 */
static bool copy_records(const uint8_t *d, size_t size, size_t first, size_t last, uint8_t *out,
			 size_t *len, size_t max)
{
	size_t off = SC_BINARY_HDR_LEN;

	for (size_t i = 0; off < size && i < last; i++) {
		sm_span sp = record_at(d, size, off);
		size_t blen = sp.end - sp.body_off, hdr = blen < 255 ? 2 : 4;

		off = sp.end;
		if (i < first)
			continue;
		if (*len + hdr + blen > max)
			return false;
		out[(*len)++] = d[sp.start];
		if (hdr == 2) {
			out[(*len)++] = (uint8_t)blen;
		} else {
			out[(*len)++] = 255;
			out[(*len)++] = (uint8_t)(blen >> 8);
			out[(*len)++] = (uint8_t)blen;
		}
		memcpy(out + *len, d + sp.body_off, blen);
		*len += blen;
	}
	return true;
}

size_t sm_crossover(const uint8_t *a, size_t asize, const uint8_t *b, size_t bsize, uint8_t *out,
		    size_t max_out, uint32_t seed)
{
	sm_rng r = {seed * 0x9e3779b97f4a7c15ull + 0x7654321};
	size_t na = sm_event_count(a, asize), nb = sm_event_count(b, bsize);
	size_t cut, from, n, len = SC_BINARY_HDR_LEN;
	bool tail;

	if (max_out < SC_BINARY_HDR_LEN)
		return 0;
	/* a[0, cut) + b[from, from + n) + (half the time) a[cut, ...): on the
	 * raw records, so a cross-over decodes nothing (decoding both parents
	 * into scenarios was a tenth of a libFuzzer session). Records of
	 * canonical parents are canonical; a parent's non-canonical record (a
	 * byte-level edit) stays as it is, as libFuzzer's own cross-over would
	 * leave it. */
	cut = below(&r, (uint32_t)na + 1);
	from = below(&r, (uint32_t)nb + 1);
	n = nb - from;
	tail = coin(&r);
	if (tail)
		n = below(&r, (uint32_t)n + 1);
	out[0] = SC_BINARY_VERSION;
	out[1] = out[2] = out[3] = 0;
	if (copy_records(a, asize, 0, cut, out, &len, max_out) &&
	    copy_records(b, bsize, from, from + n, out, &len, max_out) && tail)
		copy_records(a, asize, cut, na, out, &len, max_out);
	return len;
}

const char *sm_kind_name(sm_kind k)
{
	static const char *const names[SM_KIND_COUNT] = {
		[SM_INSERT] = "insert",
		[SM_DELETE] = "delete",
		[SM_DUPLICATE] = "duplicate",
		[SM_SWAP] = "swap",
		[SM_MOVE] = "move",
		[SM_SPLICE] = "splice",
		[SM_SEQ_EDGE] = "seq-edge",
		[SM_ACK_EDGE] = "ack-edge",
		[SM_WINDOW] = "window",
		[SM_FLAGS] = "flags",
		[SM_OPT_ADD] = "opt-add",
		[SM_OPT_DROP] = "opt-drop",
		[SM_OPT_CORRUPT] = "opt-corrupt",
		[SM_WAIT_DEADLINE] = "wait-deadline",
		[SM_TIMER_RUN] = "timer-run",
		[SM_SEGMENT_FIELD] = "segment-field",
		[SM_CALL] = "call",
		[SM_RECORD_BYTES] = "record-bytes",
	};

	return (unsigned)k < SM_KIND_COUNT ? names[k] : "?";
}
