/*
 * The in-process runner (see run.h): one engine stack, a virtual clock, and
 * packetdrill's rules for numbers, times and results.
 *
 * Reading order: the runner state; output capture and tracing (the env
 * callbacks); flows and number translation; the clock; inbound segments;
 * expected outbound segments; calls (with blocking emulation); state checks;
 * the main loop.
 */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "pcap_io.h"

#define MAX_FLOWS 256
#define MAX_FDS 1024
#define TIMER_GUARD 100000   /* timer firings at one instant before we call it a loop */
/* Timer firings in one run before it is stopped: legal TCP can fire timers
 * forever (zero-window probes), and a run must never hang. */
#define TIMER_BUDGET 1000000

/* An outbound segment the engine sent, waiting to be matched. */
typedef struct out_pkt {
	uint64_t t;
	sf_segment seg;
	uint8_t *payload;       /* owned copy; seg.payload points here */
} out_pkt;

/*
 * A flow: one remote endpoint of the script (connection index `conn`), and
 * what packetdrill's relative numbers need for it: the engine's live ISN and
 * the script's idea of it, and the offset between the engine's TS clock and
 * the script's TS values.
 */
typedef struct flow {
	bool explicit_remote;   /* connect() named the address */
	sf_endpoint remote;
	bool iss_known;
	uint32_t live_iss, script_iss;
	bool ts_known;
	uint32_t ts_off;
} flow;

/* A script fd: the engine handle behind it and its O_NONBLOCK flag. */
typedef struct fd_slot {
	bool used;
	int sd;
	bool nonblock;
} fd_slot;

/* A blocking call that has not returned yet. */
typedef struct pending_call {
	bool active;
	size_t idx;             /* its event */
	uint64_t start;         /* when it was made */
	int64_t scripted_end;   /* "a...b": when it must return, or -1 */
} pending_call;

typedef struct runner {
	const sc_scenario *scn;
	const sc_run_opts *o;
	sc_run_result *res;
	sf_stack *st;
	sf_config cfg;
	FILE *tr;

	uint32_t isn_next;
	sf_addr local_addr, remote_addr;
	uint16_t listen_port;
	int connects;           /* connect() calls that named an address so far */
	uint32_t remote_isn;    /* --remote_isn: base of inbound script seq numbers */
	int64_t tol;            /* --tolerance_usecs */
	flow flows[MAX_FLOWS];
	fd_slot fds[MAX_FDS];

	out_pkt *q;             /* sent, not yet matched (FIFO: q[qhead..qlen)) */
	size_t qhead, qlen, qcap;
	sc_pcap_writer *pcap;

	pending_call pend;
	int64_t prev_t;         /* time of the previous event (actual, packetdrill-style) */
	size_t cur;             /* event being played */
	uint64_t firings;       /* timer firings so far (TIMER_BUDGET) */
	long last_expect;       /* index of the last expected outbound segment, or -1:
				 * segments sent after it are counted, not kept */
	bool failed;
	bool oom;
} runner;

/* ---- Failing ---- */

static const sc_event *cur_ev(const runner *r, size_t idx)
{
	return idx < r->scn->count ? &r->scn->ev[idx] : NULL;
}

/* Stop the run with "file:line:col: message" about event idx. Returns -1. */
static int fail_at(runner *r, size_t idx, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(runner *r, size_t idx, int status, const char *fmt, ...)
{
	const sc_event *ev = cur_ev(r, idx);
	size_t n = 0;
	va_list ap;

	if (r->failed)
		return -1;
	r->failed = true;
	r->res->status = status;
	r->res->event = idx;
	if (ev)
		n = (size_t)snprintf(r->res->msg, sizeof(r->res->msg), "%s:%u:%u: ",
				     r->scn->file ? r->scn->file : "<scenario>", ev->pos.line,
				     ev->pos.col);
	if (n >= sizeof(r->res->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->res->msg + n, sizeof(r->res->msg) - n, fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(r, ...) fail_at((r), (r)->cur, SC_RUN_FAIL, __VA_ARGS__)

/* ---- Time and tracing ---- */

static uint64_t now(const runner *r)
{
	return sf_now(r->st);
}

static void trace(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace(runner *r, const char *fmt, ...)
{
	va_list ap;
	uint64_t t = r->st ? now(r) : 0;

	if (!r->tr)
		return;
	fprintf(r->tr, "%4" PRIu64 ".%06" PRIu64 "  ", t / 1000000, t % 1000000);
	va_start(ap, fmt);
	vfprintf(r->tr, fmt, ap);
	va_end(ap);
	fputc('\n', r->tr);
}

static const char *fmt_ep(const sf_addr *a, uint16_t port, char *buf, size_t cap)
{
	char ab[64];

	sf_addr_format(a, ab, sizeof(ab));
	snprintf(buf, cap, a->family == SF_AF_INET6 ? "[%s]:%u" : "%s:%u", ab, port);
	return buf;
}

/* The file name without its directories, for trace lines. */
static const char *base_name(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;

	return slash ? slash + 1 : file ? file : "";
}

/* ---- Flows and packetdrill's relative numbers ---- */

typedef struct conn_find {
	sf_endpoint remote;
	uint16_t local_port;    /* 0: any */
	bool found;
	sf_tcp_info info;
} conn_find;

static void find_visit(void *ctx, const sf_tcp_info *info)
{
	conn_find *f = ctx;

	if (info->state == SF_LISTEN || info->state == SF_CLOSED)
		return;
	if (info->remote.port != f->remote.port || !sf_addr_eq(&info->remote.addr, &f->remote.addr))
		return;
	if (f->local_port && info->local.port != f->local_port)
		return;
	/* The newest incarnation wins (a new SYN over a TIME-WAIT, say). */
	if (!f->found || info->conn_id > f->info.conn_id) {
		f->found = true;
		f->info = *info;
	}
}

/* The engine's connection to remote (and local_port, 0 = any), if any. */
static bool find_conn(runner *r, const sf_endpoint *remote, uint16_t local_port,
		      sf_tcp_info *out)
{
	conn_find f;

	memset(&f, 0, sizeof(f));
	f.remote = *remote;
	f.local_port = local_port;
	sf_foreach_conn(r->st, find_visit, &f);
	if (f.found && out)
		*out = f.info;
	return f.found;
}

static sf_endpoint flow_remote(const runner *r, unsigned k)
{
	sf_endpoint e;

	if (r->flows[k].explicit_remote)
		return r->flows[k].remote;
	e.addr = r->remote_addr;
	e.port = (uint16_t)(SC_REMOTE_PORT + k);
	return e;
}

/*
 * The two endpoints of a scripted packet: the remote one (the script's) and
 * the engine's port. Ports written in the script win; otherwise the engine's
 * connection to that remote endpoint tells its port, else the listener's.
 */
static void packet_endpoints(runner *r, const sc_packet *p, bool inbound, sf_endpoint *remote,
			     uint16_t *local_port)
{
	uint16_t named_remote = inbound ? p->sport : p->dport;
	uint16_t named_local = inbound ? p->dport : p->sport;
	sf_tcp_info info;

	*remote = flow_remote(r, p->conn);
	if (named_remote)
		remote->port = named_remote;
	if (named_local)
		*local_port = named_local;
	else if (find_conn(r, remote, 0, &info))
		*local_port = info.local.port;
	else
		*local_port = r->listen_port;
}

/*
 * The engine's ISN for a flow, as the offset packetdrill applies to numbers
 * relative to it (live ISN minus the script's ISN). Learned from the
 * engine's first SYN on the flow; before that, from the connection itself.
 */
static uint32_t iss_offset(runner *r, unsigned k)
{
	flow *f = &r->flows[k];
	sf_endpoint remote;
	sf_tcp_info info;

	if (f->iss_known)
		return f->live_iss - f->script_iss;
	remote = flow_remote(r, k);
	if (find_conn(r, &remote, 0, &info)) {
		f->iss_known = true;
		f->live_iss = info.iss;
		f->script_iss = 0;
		return info.iss;
	}
	return 0;
}

/* The wire value of an inbound seq (is_ack false) or ack number. */
static uint32_t inbound_number(runner *r, const sc_packet *p, sc_num n, bool is_ack,
			       const sf_endpoint *remote, uint16_t local_port)
{
	sf_tcp_info info;

	switch (n.mode) {
	case SC_NUM_ABS:
		return n.value;
	case SC_NUM_STATE:
		if (!find_conn(r, remote, local_port, &info))
			return n.value;
		return (is_ack ? info.snd_nxt : info.rcv_nxt) + n.value;
	default:
		return is_ack ? n.value + iss_offset(r, p->conn) : n.value + r->remote_isn;
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Walk an option area and call fn for every SACK block edge (kind 5) and
 * TS option (kind 8) with a pointer to its 4-octet fields. Stops at EOL or
 * at a malformed length, like the engine's own parser.
 */
typedef void (*opt_fix_fn)(void *ctx, uint8_t kind, uint8_t *field, int which);

static void walk_opts(uint8_t *raw, size_t len, opt_fix_fn fn, void *ctx)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = raw[i], olen;

		if (kind == SF_OPT_EOL)
			return;
		if (kind == SF_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || (olen = raw[i + 1]) < 2 || i + olen > len)
			return;
		if (kind == SF_OPT_SACK)
			for (size_t b = 2; b + 4 <= olen; b += 4)
				fn(ctx, kind, raw + i + b, (int)(b / 4));
		else if (kind == SF_OPT_TS && olen == 10) {
			fn(ctx, kind, raw + i + 2, 0);
			fn(ctx, kind, raw + i + 6, 1);
		}
		i += olen;
	}
}

typedef struct opt_fix {
	uint32_t sack_off;      /* added to every SACK edge */
	bool ts_ecr;            /* add ts_off to a non-zero TS ecr */
	uint32_t ts_off;
	bool ts_val_from;       /* replace TS val with ts_val */
	uint32_t ts_val;
} opt_fix;

static void fix_one(void *ctx, uint8_t kind, uint8_t *field, int which)
{
	opt_fix *fx = ctx;
	uint32_t v = get32(field);

	if (kind == SF_OPT_SACK)
		put32(field, v + fx->sack_off);
	else if (which == 1 && fx->ts_ecr && v != 0)
		put32(field, v + fx->ts_off);
	else if (which == 0 && fx->ts_val_from)
		put32(field, fx->ts_val);
}

/* ---- Output capture (env.output) and state changes (env.on_state) ---- */

static void pcap_segment(runner *r, const sf_segment *seg, const sf_emit_faults *faults)
{
	if (r->pcap && sc_pcap_write_segment(r->pcap, now(r), seg, faults) < 0)
		r->oom = true; /* reported as an error at the end of the event */
}

/* The flow index of a segment, by its remote endpoint (0 if none matches). */
static unsigned flow_of(const runner *r, const sf_segment *seg, bool outbound)
{
	const sf_addr *ra = outbound ? &seg->dst : &seg->src;
	uint16_t rp = outbound ? seg->dport : seg->sport;

	for (unsigned i = 0; i < MAX_FLOWS; i++) {
		sf_endpoint e = flow_remote(r, i);

		if (e.port == rp && sf_addr_eq(&e.addr, ra))
			return i;
	}
	return 0;
}

/*
 * A SYN from the engine shows its ISN before the script's expectation is
 * read; take it with a script ISN of 0 (what scripts write) until the
 * expected packet says otherwise (compare_outbound()).
 */
static void learn_iss_from_output(runner *r, const sf_segment *seg)
{
	flow *f;

	if (!(seg->flags & SF_SYN))
		return;
	f = &r->flows[flow_of(r, seg, true)];
	if (!f->iss_known || f->live_iss != seg->seq) {
		f->iss_known = true;
		f->live_iss = seg->seq;
		f->script_iss = 0;
	}
}

/* The segment in script notation, relative to the flow (for traces and messages). */
static void describe(runner *r, const sf_segment *seg, bool outbound, char *buf, size_t cap)
{
	sc_packet p;
	unsigned k = flow_of(r, seg, outbound);
	char text[600], a[80], b[80];
	uint32_t iss;

	iss = r->flows[k].iss_known ? r->flows[k].live_iss - r->flows[k].script_iss : 0;
	memset(&p, 0, sizeof(p));
	p.flags = seg->flags;
	p.seq.mode = p.ack.mode = SC_NUM_SCRIPT;
	p.seq.value = seg->seq - (outbound ? iss : r->remote_isn);
	p.len = (uint32_t)seg->payload_len;
	p.has_ack = seg->flags & SF_ACK;
	p.ack.value = seg->ack - (outbound ? r->remote_isn : iss);
	p.has_win = true;
	p.win = seg->window;
	p.has_urg = seg->urg_ptr != 0;
	p.urg = seg->urg_ptr;
	p.opts_mode = seg->opt_len ? SC_OPTS_LIST : SC_OPTS_NONE;
	p.opt_len = seg->opt_len;
	memcpy(p.opt_raw, seg->opt_raw, seg->opt_len);
	sc_packet_format(&p, text, sizeof(text));
	snprintf(buf, cap, "%s > %s %s  [seq %" PRIu32 " ack %" PRIu32 "]",
		 fmt_ep(&seg->src, seg->sport, a, sizeof(a)),
		 fmt_ep(&seg->dst, seg->dport, b, sizeof(b)), text, seg->seq, seg->ack);
}

static void env_output(void *ctx, const sf_segment *seg)
{
	runner *r = ctx;
	out_pkt *o;
	char d[800];

	r->res->segs_out++;
	pcap_segment(r, seg, NULL);
	learn_iss_from_output(r, seg);
	if (r->tr) {
		describe(r, seg, true, d, sizeof(d));
		trace(r, "out    %s", d);
	}
	if ((long)r->cur > r->last_expect) {
		r->res->unchecked_out++;
		return;
	}
	if (r->qlen == r->qcap) {
		size_t n = r->qcap ? r->qcap * 2 : 64;
		out_pkt *nq = realloc(r->q, n * sizeof(*nq));

		if (!nq) {
			r->oom = true;
			return;
		}
		r->q = nq;
		r->qcap = n;
	}
	o = &r->q[r->qlen];
	o->t = now(r);
	o->seg = *seg;
	o->payload = NULL;
	if (seg->payload_len) {
		o->payload = malloc(seg->payload_len);
		if (!o->payload) {
			r->oom = true;
			return;
		}
		memcpy(o->payload, seg->payload, seg->payload_len);
	}
	o->seg.payload = o->payload;
	r->qlen++;
}

static void env_on_state(void *ctx, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause)
{
	runner *r = ctx;

	trace(r, "state  conn %" PRIu32 ": %s -> %s  (%s)  [ss: %s -> %s]", conn_id,
	      sf_state_name(from), sf_state_name(to), sf_cause_name(cause), sf_state_ss_name(from),
	      sf_state_ss_name(to));
}

/* ISNs: deterministic and spaced out, so flows never share a sequence space. */
static uint32_t env_isn(void *self, const sf_endpoint *local, const sf_endpoint *remote,
			uint64_t now_us)
{
	runner *r = self;
	uint32_t isn = r->isn_next;

	(void)local;
	(void)remote;
	(void)now_us;
	r->isn_next += 0x10000000u;
	return isn;
}

static void queue_drop_front(runner *r)
{
	free(r->q[r->qhead].payload);
	r->qhead++;
	if (r->qhead == r->qlen)
		r->qhead = r->qlen = 0;
}

/* ---- After every step: blocking calls, invariants ---- */

static int check_pending(runner *r);

static int after_step(runner *r)
{
	char why[512];

	if (r->oom)
		return fail_at(r, r->cur, SC_RUN_ERROR, "out of memory (or pcap write failed)");
	if (check_pending(r) < 0)
		return -1;
	if (!r->o->no_invariants && sf_check_invariants(r->st, why, sizeof(why)) != 0)
		return FAIL(r, "engine invariant violated: %s", why);
	return 0;
}

/* ---- The clock ---- */

/* Move the clock to t, firing each due timer at its own deadline. */
static int advance_to(runner *r, uint64_t t)
{
	unsigned guard = 0;
	uint64_t last = UINT64_MAX;

	for (;;) {
		uint64_t nt = sf_next_timer(r->st);

		if (nt == UINT64_MAX || nt > t)
			break;
		if (nt < now(r))
			nt = now(r);
		guard = nt == last ? guard + 1 : 0;
		if (guard > TIMER_GUARD)
			return FAIL(r, "engine bug: a timer keeps firing at %" PRIu64 " us without moving on",
				    nt);
		last = nt;
		if (++r->firings > TIMER_BUDGET)
			return fail_at(r, r->cur, SC_RUN_ERROR,
				       "run stopped after %d timer firings (virtual time %.6f s): "
				       "the engine keeps its timers busy; shorten the waits",
				       TIMER_BUDGET, (double)now(r) / 1e6);
		sf_tick(r->st, nt);
		if (after_step(r) < 0)
			return -1;
	}
	if (t > now(r)) {
		sf_tick(r->st, t);
		return after_step(r);
	}
	return 0;
}

/* ---- Inbound segments ---- */

static uint8_t filler[SC_MAX_PAYLOAD];  /* zero bytes, as packetdrill sends */

static void build_inbound(runner *r, const sc_packet *p, sf_segment *seg)
{
	sf_endpoint remote;
	uint16_t lport;
	opt_fix fx;

	packet_endpoints(r, p, true, &remote, &lport);
	memset(seg, 0, sizeof(*seg));
	seg->src = remote.addr;
	seg->dst = r->local_addr;
	seg->sport = remote.port;
	seg->dport = lport;
	seg->seq = inbound_number(r, p, p->seq, false, &remote, lport);
	seg->ack = p->has_ack ? inbound_number(r, p, p->ack, true, &remote, lport) : 0;
	seg->flags = p->flags;
	seg->reserved = p->reserved & 0x0f;
	seg->window = p->has_win ? p->win : SC_DEFAULT_WIN;
	seg->urg_ptr = p->urg;
	seg->ttl = p->has_ttl ? p->ttl : 64;
	seg->tos = p->tos_check == SC_TOS_NONE ? 0 : p->tos_check == SC_TOS_ECN ? (p->tos & 3) : p->tos;
	seg->opt_len = p->opts_mode == SC_OPTS_LIST ? p->opt_len : 0;
	if (seg->opt_len > SF_MAX_OPT_LEN)
		seg->opt_len = SF_MAX_OPT_LEN;
	memcpy(seg->opt_raw, p->opt_raw, seg->opt_len);
	if (p->ack.mode == SC_NUM_SCRIPT) {
		/* SACK blocks are relative to the engine's ISN like ack numbers;
		 * a TS ecr echoes the engine's clock, mapped like packetdrill. */
		memset(&fx, 0, sizeof(fx));
		fx.sack_off = iss_offset(r, p->conn);
		fx.ts_ecr = r->flows[p->conn].ts_known;
		fx.ts_off = r->flows[p->conn].ts_off;
		walk_opts(seg->opt_raw, seg->opt_len, fix_one, &fx);
	}
	sf_opts_decode(seg->opt_raw, seg->opt_len, &seg->opts);
	seg->payload = p->payload ? p->payload : filler;
	seg->payload_len = p->len > SC_MAX_PAYLOAD ? SC_MAX_PAYLOAD : p->len;
}

static int play_inbound(runner *r, const sc_event *ev)
{
	static uint8_t buf[SF_MAX_PACKET + 128];
	sf_segment seg;
	char d[800];
	int n, rc;

	build_inbound(r, &ev->pkt, &seg);
	n = sf_wire_emit(&seg, &ev->pkt.faults, buf, sizeof(buf));
	r->res->segs_in++;
	if (r->tr) {
		describe(r, &seg, false, d, sizeof(d));
		trace(r, "in     %s", d);
	}
	if (n < 0) {
		/* Faults the codec refuses to write (say, an IP length below the
		 * header) still make a segment: hand it over parsed. */
		trace(r, "note   cannot emit as bytes (%s): given to the engine parsed", sf_wire_strerror(n));
		sf_input(r->st, &seg);
		return after_step(r);
	}
	if (r->pcap && sc_pcap_write(r->pcap, now(r), buf, (size_t)n) < 0)
		r->oom = true;
	rc = sf_input_packet(r->st, buf, (size_t)n);
	if (rc < 0)
		trace(r, "note   the engine dropped it: %s", sf_wire_strerror(rc));
	return after_step(r);
}

/* ---- Expected outbound segments ---- */

/* Option areas compare equal when they differ only in trailing EOL padding. */
static size_t opts_used(const uint8_t *raw, size_t len)
{
	while (len && raw[len - 1] == SF_OPT_EOL)
		len--;
	return len;
}

/* Fill why (and return true) with what differs, packetdrill's words first. */
#define MISMATCH(...)                                  \
	do {                                           \
		snprintf(why, cap, __VA_ARGS__);       \
		return true;                           \
	} while (0)

static bool compare_outbound(runner *r, const sc_packet *x, const out_pkt *o,
			     const sf_endpoint *remote, uint16_t lport, char *why, size_t cap)
{
	const sf_segment *s = &o->seg;
	flow *f = &r->flows[x->conn];
	char fa[16], fb[16];
	uint32_t exp, off;

	if (s->dport != remote->port || !sf_addr_eq(&s->dst, &remote->addr))
		MISMATCH("bad outbound TCP destination: port %u, expected %u (another connection)",
			 s->dport, remote->port);
	if (x->sport && s->sport != lport)
		MISMATCH("bad outbound TCP source port: %u, expected %u", s->sport, lport);
	if (s->flags != x->flags)
		MISMATCH("bad outbound TCP flags: %s, expected %s", sc_flags_format(s->flags, fa),
			 sc_flags_format(x->flags, fb));
	/* The engine's first SYN on a flow fixes its ISN, as in packetdrill. */
	if ((s->flags & SF_SYN) && x->seq.mode == SC_NUM_SCRIPT &&
	    (!f->iss_known || f->live_iss != s->seq || f->script_iss != x->seq.value)) {
		f->iss_known = true;
		f->live_iss = s->seq;
		f->script_iss = x->seq.value;
	}
	off = x->seq.mode == SC_NUM_SCRIPT ? iss_offset(r, x->conn) : 0;
	exp = x->seq.value + off;
	if (x->seq.mode != SC_NUM_STATE && s->seq != exp)
		MISMATCH("bad outbound TCP sequence number: %" PRIu32 ", expected %" PRIu32
			 " (on the wire %" PRIu32 " vs %" PRIu32 ")",
			 s->seq - off, x->seq.value, s->seq, exp);
	off = x->ack.mode == SC_NUM_SCRIPT ? r->remote_isn : 0;
	exp = x->ack.value + off;
	if (x->has_ack && x->ack.mode != SC_NUM_STATE && s->ack != exp)
		MISMATCH("bad outbound TCP ack number: %" PRIu32 ", expected %" PRIu32,
			 s->ack - off, x->ack.value);
	if (s->payload_len != x->len)
		MISMATCH("bad outbound TCP payload length: %zu, expected %" PRIu32, s->payload_len,
			 x->len);
	if (x->payload && memcmp(s->payload, x->payload, x->len) != 0)
		MISMATCH("bad outbound TCP payload: other bytes than the script's");
	if (x->has_win && s->window != x->win)
		MISMATCH("bad outbound TCP window: %u, expected %u", s->window, x->win);
	if (x->has_urg && s->urg_ptr != x->urg)
		MISMATCH("bad outbound TCP urgent pointer: %u, expected %u", s->urg_ptr, x->urg);
	if (x->tos_check == SC_TOS_FULL && s->tos != x->tos)
		MISMATCH("bad outbound IP TOS: 0x%02x, expected 0x%02x", s->tos, x->tos);
	if (x->tos_check == SC_TOS_ECN && (s->tos & 3) != (x->tos & 3))
		MISMATCH("bad outbound ECN codepoint: %u, expected %u", s->tos & 3, x->tos & 3);
	if (x->tos_check == SC_TOS_ECT01 && (s->tos & 3) != 1 && (s->tos & 3) != 2)
		MISMATCH("bad outbound ECN codepoint: %u, expected ECT(0) or ECT(1)", s->tos & 3);
	if (x->opts_mode == SC_OPTS_NONE && opts_used(s->opt_raw, s->opt_len) != 0)
		MISMATCH("bad outbound TCP options: the script lists none (write <...> to "
			 "leave them unchecked)");
	if (x->opts_mode == SC_OPTS_LIST) {
		uint8_t want[SF_MAX_OPT_LEN];
		size_t xlen = x->opt_len > SF_MAX_OPT_LEN ? SF_MAX_OPT_LEN : x->opt_len;
		opt_fix fx;
		size_t a, b;

		/* Learn the TS clock offset from the first TS the engine sends. */
		if (!f->ts_known && s->opts.has_ts) {
			sf_tcp_options xo;

			sf_opts_decode(x->opt_raw, xlen, &xo);
			if (xo.has_ts) {
				f->ts_known = true;
				f->ts_off = s->opts.ts_val - xo.ts_val;
			}
		}
		memcpy(want, x->opt_raw, xlen);
		memset(&fx, 0, sizeof(fx));
		fx.sack_off = r->remote_isn;
		fx.ts_val_from = s->opts.has_ts; /* the engine's clock is not the script's */
		fx.ts_val = s->opts.ts_val;
		walk_opts(want, xlen, fix_one, &fx);
		a = opts_used(want, xlen);
		b = opts_used(s->opt_raw, s->opt_len);
		if (a != b || memcmp(want, s->opt_raw, a) != 0)
			MISMATCH("bad outbound TCP options");
	}
	return false;
}

/* The window [lo, hi] in which an expected packet may come, and its time t. */
static void outbound_window(runner *r, const sc_event *ev, int64_t t, uint64_t *lo, uint64_t *hi)
{
	int64_t end = t;

	if (ev->time.kind == SC_TIME_ANY) {
		*lo = 0;
		*hi = UINT64_MAX;
		return;
	}
	if (ev->time.range)
		end = ev->time.kind == SC_TIME_ABS ? ev->time.end_us : r->prev_t + ev->time.end_us;
	*lo = t > r->tol ? (uint64_t)(t - r->tol) : 0;
	*hi = (uint64_t)(end < t ? t : end) + (uint64_t)r->tol;
}

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

static int play_outbound(runner *r, const sc_event *ev, int64_t t)
{
	const sc_packet *x = &ev->pkt;
	char want[600], got[800];
	sf_endpoint remote;
	uint16_t lport;
	uint64_t lo, hi;
	char why[300];
	out_pkt *o;

	outbound_window(r, ev, t, &lo, &hi);
	while (r->qhead == r->qlen) {
		uint64_t nt = sf_next_timer(r->st);

		if (nt == UINT64_MAX || nt > hi)
			break;
		if (advance_to(r, nt) < 0)
			return -1;
	}
	sc_packet_format(x, want, sizeof(want));
	if (r->qhead == r->qlen) {
		if (hi != UINT64_MAX && advance_to(r, hi) < 0)
			return -1;
		if (r->qhead == r->qlen)
			return FAIL(r, "expected outbound packet did not come\n"
				       "  script packet: %.6f > %s\n"
				       "  actual:        nothing sent by %.6f",
				    ev->time.kind == SC_TIME_ANY ? secs(now(r)) : secs((uint64_t)t), want,
				    secs(now(r)));
	}
	o = &r->q[r->qhead];
	packet_endpoints(r, x, false, &remote, &lport);
	describe(r, &o->seg, true, got, sizeof(got));
	if (compare_outbound(r, x, o, &remote, lport, why, sizeof(why)))
		return FAIL(r, "%s\n  script packet: %.6f > %s\n  actual packet: %.6f %s", why,
			    ev->time.kind == SC_TIME_ANY ? secs(o->t) : secs((uint64_t)t), want,
			    secs(o->t), got);
	if (o->t < lo || o->t > hi)
		return FAIL(r, "timing error: expected outbound packet at %.6f s (tolerance %.6f s)"
			       " but it was sent at %.6f s\n  script packet: > %s\n  actual packet: %s",
			    secs((uint64_t)t), secs((uint64_t)r->tol), secs(o->t), want, got);
	trace(r, "ok     %s:%u  > %s", base_name(r->scn->file), ev->pos.line, want);
	r->prev_t = (int64_t)o->t;
	queue_drop_front(r);
	return 0;
}

/* ---- Calls ---- */

/* What a call returned, as a process sees it. */
typedef struct call_ret {
	int64_t value;
	int err;                /* positive errno, 0 on success */
	int32_t optval;         /* getsockopt output */
	int32_t revents;        /* poll output */
	bool has_data;
	uint8_t *data;          /* read data (owned), for a data check */
} call_ret;

static call_ret from_rc(int64_t rc)
{
	call_ret c;

	memset(&c, 0, sizeof(c));
	if (rc < 0) {
		c.value = -1;
		c.err = (int)-rc;
	} else {
		c.value = rc;
	}
	return c;
}

static int alloc_fd(runner *r, int sd)
{
	for (int fd = SC_FIRST_FD; fd < MAX_FDS; fd++) {
		if (!r->fds[fd].used) {
			r->fds[fd].used = true;
			r->fds[fd].sd = sd;
			r->fds[fd].nonblock = false;
			return fd;
		}
	}
	return -EMFILE;
}

static fd_slot *get_fd(runner *r, int32_t fd)
{
	if (fd < 0 || fd >= MAX_FDS || !r->fds[fd].used)
		return NULL;
	return &r->fds[fd];
}

static sf_endpoint default_bind(runner *r)
{
	sf_endpoint e;

	e.addr = r->local_addr;
	e.port = SC_LOCAL_PORT;
	return e;
}

/*
 * connect(): to the address named, or to the script's endpoint
 * 192.0.2.1:40000 (conn 0), like packetdrill and the fuzz harness. The k-th
 * connect that names an address makes that address conn k's remote
 * endpoint, so scripts that connect to packetdrill's 192.0.2.1:8080 see
 * their packets go there.
 */
static sf_endpoint connect_target(runner *r, const sc_call *c)
{
	unsigned k;

	if (!c->has_addr)
		return flow_remote(r, 0);
	k = (unsigned)r->connects++ % MAX_FLOWS;
	r->flows[k].explicit_remote = true;
	r->flows[k].remote = c->addr;
	return c->addr;
}

static void note_listen_port(runner *r, int sd)
{
	sf_tcp_info info;

	if (sf_info(r->st, sd, &info) == 0 && info.local.port)
		r->listen_port = info.local.port;
}

static uint8_t *fill_data(const sc_call *c)
{
	return c->data ? c->data : filler;
}

/* A new engine handle (from socket or accept) gets the lowest free script fd. */
static call_ret new_fd(runner *r, int rc)
{
	if (rc >= 0) {
		int fd = alloc_fd(r, rc);

		if (fd < 0)
			sf_close(r->st, rc);
		rc = fd;
	}
	return from_rc(rc);
}

static call_ret call_connect(runner *r, const sc_call *c, fd_slot *f, bool retry)
{
	sf_endpoint ep;
	int ev, v = 0;

	if (!retry) {
		ep = connect_target(r, c);
		return from_rc(sf_connect(r->st, f->sd, &ep));
	}
	/* A blocked connect returns when the handshake ends, either way. */
	ev = sf_poll(r->st, f->sd);
	if (!(ev & (SF_POLLOUT | SF_POLLERR | SF_POLLHUP)))
		return from_rc(-EINPROGRESS);
	sf_getsockopt(r->st, f->sd, SF_SO_ERROR, &v);
	return from_rc(v ? -(v < 0 ? -v : v) : 0);
}

/* read/recv: the bytes are kept for a data check. */
static call_ret call_read(runner *r, fd_slot *f, uint32_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	call_ret ret;
	ssize_t n;

	if (!buf)
		return from_rc(-ENOMEM);
	n = sf_recv(r->st, f->sd, buf, len);
	ret = from_rc(n);
	if (n > 0) {
		ret.has_data = true;
		ret.data = buf;
	} else {
		free(buf);
	}
	return ret;
}

static call_ret call_getsockopt(runner *r, const sc_call *c, fd_slot *f)
{
	int v = 0;
	call_ret ret = from_rc(sf_getsockopt(r->st, f->sd, c->opt, &v));

	/* SO_ERROR reads as a positive errno, as from the kernel. */
	ret.optval = c->opt == SF_SO_ERROR && v < 0 ? -v : v;
	return ret;
}

static call_ret call_fcntl(const sc_call *c, fd_slot *f)
{
	if (c->fcntl_cmd == SC_F_SETFL) {
		f->nonblock = c->fcntl_flags & SC_O_NONBLOCK;
		return from_rc(0);
	}
	return from_rc(SC_O_RDWR | (f->nonblock ? SC_O_NONBLOCK : 0));
}

/* poll() on one fd: 1 with the revents asked for (errors always), or 0. */
static call_ret call_poll(runner *r, const sc_call *c, fd_slot *f)
{
	int rc = sf_poll(r->st, f->sd);
	call_ret ret;

	if (rc < 0)
		return from_rc(rc);
	ret = from_rc(0);
	ret.revents = rc & (c->poll_events | SF_POLLERR | SF_POLLHUP);
	ret.value = ret.revents ? 1 : 0;
	return ret;
}

/* close/abort release the script fd whatever the engine says. */
static call_ret call_release(runner *r, fd_slot *f, bool abort)
{
	int rc = abort ? sf_abort(r->st, f->sd) : sf_close(r->st, f->sd);

	f->used = false;
	return from_rc(rc);
}

/* The first try of a call (and every retry of a blocked one). */
static call_ret do_call(runner *r, const sc_call *c, bool retry)
{
	fd_slot *f = c->kind == SC_CALL_SOCKET ? NULL : get_fd(r, c->fd);
	uint32_t len = c->len > SC_MAX_PAYLOAD ? SC_MAX_PAYLOAD : c->len;
	sf_endpoint ep;
	int rc;

	if (c->kind != SC_CALL_SOCKET && !f)
		return from_rc(-EBADF);
	switch (c->kind) {
	case SC_CALL_SOCKET:
		return new_fd(r, sf_socket(r->st, c->family ? c->family : SF_AF_INET));
	case SC_CALL_BIND:
		ep = c->has_addr ? c->addr : default_bind(r);
		return from_rc(sf_bind(r->st, f->sd, &ep));
	case SC_CALL_LISTEN:
		rc = sf_listen(r->st, f->sd, c->backlog);
		if (rc == 0)
			note_listen_port(r, f->sd);
		return from_rc(rc);
	case SC_CALL_ACCEPT:
		return new_fd(r, sf_accept(r->st, f->sd, NULL));
	case SC_CALL_CONNECT:
		return call_connect(r, c, f, retry);
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
		return from_rc(sf_send(r->st, f->sd, fill_data(c), len));
	case SC_CALL_READ:
	case SC_CALL_RECV:
		return call_read(r, f, len);
	case SC_CALL_SHUTDOWN:
		return from_rc(sf_shutdown(r->st, f->sd, c->how));
	case SC_CALL_CLOSE:
	case SC_CALL_ABORT:
		return call_release(r, f, c->kind == SC_CALL_ABORT);
	case SC_CALL_SETSOCKOPT:
		return from_rc(sf_setsockopt(r->st, f->sd, c->opt, c->optval));
	case SC_CALL_GETSOCKOPT:
		return call_getsockopt(r, c, f);
	case SC_CALL_FCNTL:
		return call_fcntl(c, f);
	case SC_CALL_POLL:
		return call_poll(r, c, f);
	default:
		return from_rc(-ENOSYS);
	}
}

/* Would this result make a blocking socket wait (scripts only)? */
static bool would_block(runner *r, const sc_call *c, const call_ret *ret)
{
	fd_slot *f = get_fd(r, c->fd);

	if (!c->ret.check || !f || f->nonblock || (c->msg_flags & SC_MSG_DONTWAIT))
		return false;
	switch (c->kind) {
	case SC_CALL_CONNECT:
		return ret->err == EINPROGRESS;
	case SC_CALL_ACCEPT:
	case SC_CALL_READ:
	case SC_CALL_RECV:
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
		return ret->err == EAGAIN;
	case SC_CALL_POLL:
		return ret->value == 0 && c->poll_timeout_ms != 0;
	default:
		return false;
	}
}

static void format_ret(const call_ret *c, char *buf, size_t cap)
{
	const char *name = sc_errno_to_name(c->err);

	if (c->value >= 0 && !c->err)
		snprintf(buf, cap, "%" PRId64, c->value);
	else if (name)
		snprintf(buf, cap, "%" PRId64 " %s (%s)", c->value, name, sc_errno_text(c->err));
	else
		snprintf(buf, cap, "%" PRId64 " errno %d", c->value, c->err);
}

/* Compare a call's result with the script. Frees ret's data. */
static int check_call(runner *r, size_t idx, call_ret *ret)
{
	const sc_event *ev = &r->scn->ev[idx];
	const sc_call *c = &ev->call;
	char line[600], got[200], want[200];
	call_ret w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.value = c->ret.value;
	w.err = c->ret.err;
	format_ret(ret, got, sizeof(got));
	format_ret(&w, want, sizeof(want));
	sc_event_format(ev, line, sizeof(line));
	if (!c->ret.check)
		goto out;
	if (ret->value != w.value || (w.value < 0 && ret->err != w.err))
		rc = fail_at(r, idx, SC_RUN_FAIL, "%s() returned %s but the script expects %s\n  script: %s",
			     sc_call_name(c->kind), got, want, line);
	else if (c->kind == SC_CALL_GETSOCKOPT && !c->optval_any && ret->value == 0 &&
		 ret->optval != c->optval)
		rc = fail_at(r, idx, SC_RUN_FAIL,
			     "getsockopt() gave the value %" PRId32 " but the script expects %" PRId32
			     "\n  script: %s",
			     ret->optval, c->optval, line);
	else if (c->kind == SC_CALL_POLL && ret->revents != c->poll_revents)
		rc = fail_at(r, idx, SC_RUN_FAIL,
			     "poll() gave revents 0x%x but the script expects 0x%x\n  script: %s",
			     (unsigned)ret->revents, (unsigned)c->poll_revents, line);
	else if ((c->kind == SC_CALL_READ || c->kind == SC_CALL_RECV) && c->data && ret->has_data &&
		 memcmp(ret->data, c->data, (size_t)ret->value) != 0)
		rc = fail_at(r, idx, SC_RUN_FAIL, "%s() returned other bytes than the script expects\n"
						  "  script: %s",
			     sc_call_name(c->kind), line);
out:
	free(ret->data);
	ret->data = NULL;
	return rc;
}

/* Called after every step: has the blocked call returned? */
static int check_pending(runner *r)
{
	pending_call *p = &r->pend;
	const sc_event *ev;
	call_ret ret;
	bool timed_out;

	if (!p->active)
		return 0;
	ev = &r->scn->ev[p->idx];
	ret = do_call(r, &ev->call, true);
	timed_out = ev->call.kind == SC_CALL_POLL && ev->call.poll_timeout_ms > 0 &&
		    now(r) >= p->start + (uint64_t)ev->call.poll_timeout_ms * 1000;
	if (would_block(r, &ev->call, &ret) && !timed_out) {
		free(ret.data);
		return 0;
	}
	p->active = false;
	{
		char rb[200];

		format_ret(&ret, rb, sizeof(rb));
		trace(r, "return %s() = %s (blocked since %.6f)", sc_call_name(ev->call.kind), rb,
		      secs(p->start));
	}
	if (p->scripted_end >= 0 && (now(r) + (uint64_t)r->tol < (uint64_t)p->scripted_end ||
				     now(r) > (uint64_t)p->scripted_end + (uint64_t)r->tol)) {
		free(ret.data);
		return fail_at(r, p->idx, SC_RUN_FAIL,
			       "timing error: the blocking %s() returned at %.6f s, expected at %.6f s",
			       sc_call_name(ev->call.kind), secs(now(r)), secs((uint64_t)p->scripted_end));
	}
	return check_call(r, p->idx, &ret);
}

static int play_call(runner *r, const sc_event *ev, int64_t t)
{
	const sc_call *c = &ev->call;
	call_ret ret;

	if (r->pend.active)
		return FAIL(r, "a call is made while the blocking %s() of line %u has not returned",
			    sc_call_name(r->scn->ev[r->pend.idx].call.kind),
			    r->scn->ev[r->pend.idx].pos.line);
	ret = do_call(r, c, false);
	if (would_block(r, c, &ret)) {
		free(ret.data);
		r->pend.active = true;
		r->pend.idx = r->cur;
		r->pend.start = now(r);
		r->pend.scripted_end = -1;
		if (ev->time.blocking)
			r->pend.scripted_end = ev->time.kind == SC_TIME_ABS ? ev->time.end_us
									 : t - ev->time.us + ev->time.end_us;
		trace(r, "block  %s() waits", sc_call_name(c->kind));
		return after_step(r);
	}
	if (check_call(r, r->cur, &ret) < 0)
		return -1;
	return after_step(r);
}

/* ---- State checks ---- */

static int play_state(runner *r, const sc_event *ev)
{
	const sc_state_check *s = &ev->state;
	sf_state got = SF_CLOSED;
	sf_tcp_info info;

	if (s->fd >= 0) {
		fd_slot *f = get_fd(r, s->fd);

		if (!f)
			return FAIL(r, "state(%d): no such fd", (int)s->fd);
		if (sf_info(r->st, f->sd, &info) == 0)
			got = info.state;
	} else {
		sf_endpoint remote = flow_remote(r, s->conn);

		if (find_conn(r, &remote, 0, &info))
			got = info.state;
	}
	if (got != s->state)
		return FAIL(r, "state is %s (ss: %s) but the script expects %s", sf_state_name(got),
			    sf_state_ss_name(got), sf_state_name(s->state));
	trace(r, "ok     state %s", sf_state_name(got));
	return 0;
}

/* ---- Options and setup ---- */

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || *s == '-')
		return -1;
	*out = v;
	return 0;
}

/* Engine settings a script may make, by name (SCRIPTS.md lists them). */
typedef struct cfg_opt {
	const char *name;
	size_t off;
	int size;     /* 1 bool, 2 u16, 4 u32, 8 u64 */
} cfg_opt;

#define CFG(n, f) {n, offsetof(sf_config, f), (int)sizeof(((sf_config *)0)->f)}
static const cfg_opt cfg_opts[] = {
	CFG("sf_mss", mss),
	CFG("sf_sndbuf", sndbuf),
	CFG("sf_rcvbuf", rcvbuf),
	CFG("sf_rto_initial", rto_initial),
	CFG("sf_rto_min", rto_min),
	CFG("sf_rto_max", rto_max),
	CFG("sf_syn_retries", syn_retries),
	CFG("sf_synack_retries", synack_retries),
	CFG("sf_retries2", retries2),
	CFG("sf_time_wait", time_wait),
	CFG("sf_fin_wait_2", fin_wait_2),
	CFG("sf_keepalive_idle", keepalive_idle),
	CFG("sf_keepalive_intvl", keepalive_intvl),
	CFG("sf_keepalive_probes", keepalive_probes),
	CFG("sf_oow_ack_interval", oow_ack_interval),
	CFG("sf_challenge_ack_limit", challenge_ack_limit),
	CFG("sf_rfc1337", rfc1337),
	CFG("sf_listen_active_open", listen_active_open),
	CFG("sf_max_backlog", max_backlog),
	CFG("sf_max_time_wait", max_time_wait),
	CFG("sf_max_connections", max_connections),
	CFG("sf_mem_limit", mem_limit),
	CFG("sf_ephemeral_lo", ephemeral_lo),
	CFG("sf_ephemeral_hi", ephemeral_hi),
};

static int set_cfg(sf_config *cfg, const cfg_opt *co, uint64_t v)
{
	uint8_t *p = (uint8_t *)cfg + co->off;

	switch (co->size) {
	case 1: *(bool *)p = v != 0; return 0;
	case 2: if (v > UINT16_MAX) return -1; *(uint16_t *)p = (uint16_t)v; return 0;
	case 4: if (v > UINT32_MAX) return -1; *(uint32_t *)p = (uint32_t)v; return 0;
	default: *(uint64_t *)p = v; return 0;
	}
}

static int apply_option(runner *r, const sc_option *op)
{
	uint64_t v;
	const char *name = op->name;

	if (!strcmp(name, "ip_version"))
		return strcmp(op->value, "ipv4") == 0 || strcmp(op->value, "ipv6") == 0 ? 0 : -1;
	if (!strcmp(name, "local_ip"))
		return sf_addr_parse(op->value, &r->local_addr);
	if (!strcmp(name, "remote_ip"))
		return sf_addr_parse(op->value, &r->remote_addr);
	if (parse_u64(op->value, &v) < 0)
		return -1;
	if (!strcmp(name, "tolerance_usecs")) {
		r->tol = (int64_t)v;
		return 0;
	}
	if (!strcmp(name, "remote_isn")) {
		if (v > UINT32_MAX)
			return -1;
		r->remote_isn = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "isn")) {
		if (v > UINT32_MAX)
			return -1;
		r->isn_next = (uint32_t)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(cfg_opts) / sizeof(cfg_opts[0]); i++)
		if (!strcmp(name, cfg_opts[i].name))
			return set_cfg(&r->cfg, &cfg_opts[i], v);
	return -2;
}

static int apply_options(runner *r)
{
	for (size_t i = 0; i < r->scn->opt_count; i++) {
		const sc_option *op = &r->scn->opts[i];
		int rc = apply_option(r, op);

		if (rc == 0)
			continue;
		r->failed = true;
		r->res->status = SC_RUN_ERROR;
		snprintf(r->res->msg, sizeof(r->res->msg), "%s:%u:%u: %s --%s=%s",
			 r->scn->file ? r->scn->file : "<scenario>", op->pos.line, op->pos.col,
			 rc == -2 ? "the runner does not know the option" : "bad value for option",
			 op->name, op->value);
		return -1;
	}
	return 0;
}

static int setup(runner *r)
{
	sf_env env;
	char err[512];
	const char *ipv = sc_scenario_option(r->scn, "ip_version");
	bool v6 = ipv && !strcmp(ipv, "ipv6");

	sf_config_default(&r->cfg);
	sf_addr_parse(SC_LOCAL_ADDR, &r->cfg.local4);
	sf_addr_parse(SC_LOCAL_ADDR6, &r->cfg.local6);
	r->tol = SC_RUN_TOLERANCE_US;
	r->isn_next = r->o->isn_base_set || r->o->isn_base ? r->o->isn_base : SC_RUN_ISN_BASE;
	/* The first socket() decides the family; ip_version=ipv6 does too. */
	for (size_t i = 0; i < r->scn->count && !v6; i++)
		if (r->scn->ev[i].kind == SC_EV_CALL && r->scn->ev[i].call.kind == SC_CALL_SOCKET) {
			v6 = r->scn->ev[i].call.family == SF_AF_INET6;
			break;
		}
	sf_addr_parse(v6 ? SC_LOCAL_ADDR6 : SC_LOCAL_ADDR, &r->local_addr);
	sf_addr_parse(v6 ? SC_REMOTE_ADDR6 : SC_REMOTE_ADDR, &r->remote_addr);
	if (apply_options(r) < 0)
		return -1;
	/* --local_ip moves the engine's own address too. */
	if (r->local_addr.family == SF_AF_INET)
		r->cfg.local4 = r->local_addr;
	else
		r->cfg.local6 = r->local_addr;
	r->listen_port = SC_LOCAL_PORT;
	memset(&env, 0, sizeof(env));
	env.ctx = r;
	env.output = env_output;
	env.on_state = env_on_state;
	env.isn.next = env_isn;
	env.isn.self = r;
	r->st = sf_stack_new(&r->cfg, &env);
	if (!r->st)
		return fail_at(r, 0, SC_RUN_ERROR, "out of memory");
	if (r->o->pcap_path && sc_pcap_open(r->o->pcap_path, &r->pcap, err, sizeof(err)) < 0) {
		r->failed = true;
		r->res->status = SC_RUN_ERROR;
		snprintf(r->res->msg, sizeof(r->res->msg), "%s", err);
		return -1;
	}
	return 0;
}

/* ---- The main loop ---- */

/* The time an event is due (packetdrill: relative to the previous event). */
static int64_t due(const runner *r, const sc_event *ev)
{
	switch (ev->time.kind) {
	case SC_TIME_ABS:
		return ev->time.us;
	case SC_TIME_REL:
		return r->prev_t + ev->time.us;
	default:
		return (int64_t)now(r);
	}
}

/* The event as its script line, traced at the time it is played. */
static void trace_event(runner *r, const sc_event *ev)
{
	char line[600];

	if (!r->tr)
		return;
	sc_event_format(ev, line, sizeof(line));
	trace(r, "event  %s:%u  %s", base_name(r->scn->file), ev->pos.line, line);
}

/* "* wait" in the binary form: to the next timer deadline plus an offset. */
static int play_timer_wait(runner *r, const sc_event *ev)
{
	uint64_t nt = sf_next_timer(r->st);
	int64_t t;

	trace_event(r, ev);
	if (nt != UINT64_MAX) {
		t = (int64_t)nt + ev->time.us;
		if (t > (int64_t)now(r) && advance_to(r, (uint64_t)t) < 0)
			return -1;
	}
	r->prev_t = (int64_t)now(r);
	return 0;
}

static int play_event(runner *r, const sc_event *ev)
{
	int64_t t;

	if (sc_wait_is_timer(ev))
		return play_timer_wait(r, ev);
	t = due(r, ev);
	if (t < 0)
		t = 0;
	if (ev->kind == SC_EV_OUTBOUND)
		return play_outbound(r, ev, t); /* traced when it matches */
	if (t > (int64_t)now(r) && advance_to(r, (uint64_t)t) < 0)
		return -1;
	r->prev_t = t;
	trace_event(r, ev);
	switch (ev->kind) {
	case SC_EV_INBOUND:
		return play_inbound(r, ev);
	case SC_EV_CALL:
		return play_call(r, ev, t);
	case SC_EV_STATE:
		return play_state(r, ev);
	default: /* SC_EV_WAIT: the clock has moved */
		return 0;
	}
}

static void teardown(runner *r)
{
	while (r->qhead < r->qlen)
		queue_drop_front(r);
	free(r->q);
	sc_pcap_close(r->pcap);
	if (r->st)
		sf_stack_free(r->st);
}

int sc_run(const sc_scenario *scn, const sc_run_opts *opts, sc_run_result *res)
{
	static const sc_run_opts none;
	runner *r = calloc(1, sizeof(*r));

	memset(res, 0, sizeof(*res));
	if (!r) {
		res->status = SC_RUN_ERROR;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		return res->status;
	}
	r->scn = scn;
	r->o = opts ? opts : &none;
	r->res = res;
	r->tr = r->o->trace;
	r->last_expect = -1;
	for (size_t i = 0; i < scn->count; i++)
		if (scn->ev[i].kind == SC_EV_OUTBOUND)
			r->last_expect = (long)i;
	if (setup(r) == 0) {
		for (r->cur = 0; r->cur < scn->count; r->cur++) {
			if (play_event(r, &scn->ev[r->cur]) < 0)
				break;
			res->events++;
		}
	}
	if (!r->failed && r->pend.active)
		fail_at(r, r->pend.idx, SC_RUN_FAIL, "the blocking %s() never returned (script ended at %.6f s)",
			sc_call_name(scn->ev[r->pend.idx].call.kind), secs(now(r)));
	if (r->st) {
		res->end_us = now(r);
		res->unchecked_out += r->qlen - r->qhead;
	}
	teardown(r);
	free(r);
	return res->status;
}
