/*
 * The shared fuzz harness: a stack on a virtual clock with a deterministic
 * ISN, and one wrapper per event that calls the engine and then runs the
 * oracles (oracles.c). See harness.h for what is checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_internal.h"

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

/* Timer firings allowed in one clock step before the harness calls it a
 * livelock. A real step to the end of every timer (SYN-ACK retries for a full
 * backlog, 15 data retransmissions, 9 keep-alive probes) stays far below. */
#define FZ_MAX_FIRINGS_PER_STEP 200000

fz_process_options fz_options;

static uint64_t transition_counts[SF_STATE_COUNT][SF_STATE_COUNT][SF_CAUSE_COUNT];

uint64_t fz_transition_count(sf_state from, sf_state to, sf_cause cause)
{
	if (from >= SF_STATE_COUNT || to >= SF_STATE_COUNT || cause >= SF_CAUSE_COUNT)
		return 0;
	return transition_counts[from][to][cause];
}

void fz_count_transition(sf_state from, sf_state to, sf_cause cause);
void fz_count_transition(sf_state from, sf_state to, sf_cause cause)
{
	if (from < SF_STATE_COUNT && to < SF_STATE_COUNT && cause < SF_CAUSE_COUNT)
		transition_counts[from][to][cause]++;
}

/* ---- Patterns ---- */

/* A 32-bit mixer (the murmur3 finalizer): neighbouring inputs give unrelated
 * outputs, so a payload shifted by one byte never matches. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/*
 * Both patterns read one table of 64 KiB pseudo-random octets (stored twice,
 * so that any 64 KiB window is one memcpy): octet i of a stream is
 * table[(key + i) mod 64 KiB]. A shift by anything but a multiple of 64 KiB,
 * or a key from another stream, shows within a few octets.
 */
#define FZ_TABLE 65536u
static uint8_t pattern[2 * FZ_TABLE];
static bool pattern_ready;

static const uint8_t *pattern_at(uint32_t key)
{
	if (!pattern_ready) {
		for (uint32_t i = 0; i < FZ_TABLE; i++)
			pattern[i] = pattern[i + FZ_TABLE] = (uint8_t)mix32(i + 0x5eed);
		pattern_ready = true;
	}
	return pattern + (key & (FZ_TABLE - 1));
}

static uint32_t app_key(uint32_t conn_id, uint64_t offset)
{
	return mix32(conn_id + 0x9e3779b9u) + (uint32_t)offset;
}

uint8_t fz_peer_byte(uint32_t flow_salt, uint32_t seq)
{
	return *pattern_at(flow_salt + seq);
}

uint8_t fz_app_byte(uint32_t conn_id, uint64_t offset)
{
	return *pattern_at(app_key(conn_id, offset));
}

/* len <= FZ_TABLE octets of a pattern, from key on. */
const uint8_t *fz_pattern(uint32_t key, size_t len);
const uint8_t *fz_pattern(uint32_t key, size_t len)
{
	(void)len;
	return pattern_at(key);
}

const uint8_t *fz_app_pattern(uint32_t conn_id, uint64_t offset);
const uint8_t *fz_app_pattern(uint32_t conn_id, uint64_t offset)
{
	return pattern_at(app_key(conn_id, offset));
}

static uint32_t flow_salt(const sf_endpoint *remote, uint16_t local_port)
{
	uint32_t s = 0x12345678u ^ remote->port ^ ((uint32_t)local_port << 16);
	for (size_t i = 0; i < sizeof remote->addr.bytes; i++)
		s = mix32(s ^ remote->addr.bytes[i]);
	return s;
}

/* ---- Growable tables ---- */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * elem);
	if (!q) {
		fprintf(stderr, "synfin-fuzz: out of memory\n");
		abort();
	}
	*cap = n;
	return q;
}

/* Remember that conns[index] is connection id. */
static void index_conn(fz_harness *h, uint32_t id, size_t index)
{
	if (id >= FZ_MAX_INDEXED_ID)
		return;
	if (id >= h->capby_id) {
		size_t old = h->capby_id;
		h->by_id = grow(h->by_id, &h->capby_id, (size_t)id + 1, sizeof *h->by_id);
		memset(h->by_id + old, 0, (h->capby_id - old) * sizeof *h->by_id);
	}
	h->by_id[id] = (uint32_t)index + 1;
	if (id >= h->ids_used)
		h->ids_used = (size_t)id + 1;
}

fz_conn *fz_conn_get(fz_harness *h, uint32_t id)
{
	if (id < FZ_MAX_INDEXED_ID) {
		if (id < h->capby_id && h->by_id[id])
			return &h->conns[h->by_id[id] - 1];
	} else {
		for (size_t i = h->nconns; i-- > 0;)
			if (h->conns[i].id == id)
				return &h->conns[i];
	}
	h->conns = grow(h->conns, &h->capconns, h->nconns + 1, sizeof *h->conns);
	fz_conn *c = &h->conns[h->nconns];
	memset(c, 0, sizeof *c);
	c->id = id;
	c->state = SF_CLOSED;
	c->pol.syncnt = h->setup.cfg.syn_retries;
	c->pol.ka_cnt = h->setup.cfg.keepalive_probes;
	c->ka_exact = true;
	index_conn(h, id, h->nconns++);
	return c;
}

bool fz_endpoint_eq(const sf_endpoint *a, const sf_endpoint *b)
{
	return a->port == b->port && sf_addr_eq(&a->addr, &b->addr);
}

/* Held by the engine and not CLOSED (see fz_conn_by_tuple), or closed by
 * the engine call being checked: what it sent on its way to CLOSED (the
 * RST of an abort) is its own. (A fuzz find: an abort's RST was judged by
 * an older, dead incarnation with the same ISS.) */
static bool conn_live(const fz_harness *h, const fz_conn *c)
{
	return (c->alive && c->state != SF_CLOSED) || (c->closed_step && c->closed_step == h->step);
}

/*
 * The connection a segment with this 4-tuple and sequence number belongs to.
 * Several incarnations may share a 4-tuple (TIME-WAIT reuse, a listener
 * turned active).
 */
fz_conn *fz_conn_by_tuple(fz_harness *h, const sf_endpoint *local,
			  const sf_endpoint *remote, uint32_t seq)
{
	/* Several connections may have held one 4-tuple (incarnations). The
	 * one whose send range [ISS, SND.NXT] holds seq wins, a live one
	 * before a dead one; without a match, the newest live one, then the
	 * newest at all. Live means held by the engine and not CLOSED: an
	 * accepted socket whose connection was reset stays in the engine,
	 * CLOSED, until the application closes it, while the listener it came
	 * from may turn active on the same 4-tuple with the same ISS (a fuzz
	 * find: the oracle took the reset one's numbers). */
	fz_conn *best[4] = {NULL, NULL, NULL, NULL};
	for (size_t i = h->nconns; i-- > 0;) {
		fz_conn *c = &h->conns[i];
		if (!c->seen || !fz_endpoint_eq(&c->local, local) || !fz_endpoint_eq(&c->remote, remote))
			continue;
		bool match = c->iss_valid && sf_seq_le(c->iss, seq) && sf_seq_le(seq, c->max_snd_nxt);
		int k = match ? (conn_live(h, c) ? 0 : 1) : (conn_live(h, c) ? 2 : 3);
		if (!best[k])
			best[k] = c;
	}
	for (int k = 0; k < 4; k++)
		if (best[k])
			return best[k];
	return NULL;
}

fz_conn *fz_conn_live_by_tuple(fz_harness *h, const sf_endpoint *local, const sf_endpoint *remote)
{
	/* The newest connection on a 4-tuple is not always the live one: a
	 * listener turned active (cfg.listen_active_open) keeps its older
	 * conn_id while a dead child of it held the tuple. */
	fz_conn *newest = NULL, *closed = NULL;
	for (size_t i = h->nconns; i-- > 0;) {
		fz_conn *c = &h->conns[i];
		if (!c->seen || !fz_endpoint_eq(&c->local, local) || !fz_endpoint_eq(&c->remote, remote))
			continue;
		if (conn_live(h, c))
			return c;
		if (c->alive && !closed)
			closed = c;
		if (!newest)
			newest = c;
	}
	return closed ? closed : newest;
}

fz_flow *fz_flow_get(fz_harness *h, const sf_endpoint *remote, uint16_t local_port)
{
	for (size_t i = 0; i < h->nflows; i++) {
		fz_flow *f = &h->flows[i];
		if (f->local_port == local_port && fz_endpoint_eq(&f->remote, remote))
			return f;
	}
	h->flows = grow(h->flows, &h->capflows, h->nflows + 1, sizeof *h->flows);
	fz_flow *f = &h->flows[h->nflows++];
	memset(f, 0, sizeof *f);
	f->remote = *remote;
	f->local_port = local_port;
	f->salt = flow_salt(remote, local_port);
	return f;
}

/* ---- Setup ---- */

/*
 * Called once by libFuzzer, AFL++'s driver and the replayer before the
 * first input: build what the harness keeps between inputs (the pattern
 * table, the spare harness), so that the first input runs the same code as
 * every later one and AFL++ sees a stable program.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup s;
	fz_setup_default(&s);
	fz_free(fz_new(&s));
	(void)fz_pattern(0, 0);
	return 0;
}

void fz_setup_default(fz_setup *s)
{
	memset(s, 0, sizeof *s);
	sf_config_default(&s->cfg);
	s->cfg.local4 = sf_addr_v4(FZ_LOCAL_ADDR_V4);
	/* Bounded so that one input cannot make the harness slow: a few hundred
	 * connections are plenty to reach every queue limit. */
	s->cfg.max_backlog = 64;
	s->cfg.max_time_wait = 32;
	s->cfg.max_connections = 128;
	s->cfg.mem_limit = 8u << 20;
	/* connect() on a listener is RFC 9293's LISTEN -> SYN-SENT (§3.10.1),
	 * an edge of Figure 5 the fuzzers should take (EDGES, core/README.md). */
	s->cfg.listen_active_open = true;
	/* Wraps 1000 bytes after the first ISN. */
	s->isn_base = 0xfffffc18u;
	/* SYNFIN_FUZZ_TRACE=1 traces inside any build, libFuzzer's included. */
	static int env_trace = -1;
	if (env_trace < 0)
		env_trace = getenv("SYNFIN_FUZZ_TRACE") != NULL;
	s->trace = fz_options.trace || env_trace;
}

static uint32_t fz_isn(void *self, const sf_endpoint *local, const sf_endpoint *remote,
		       uint64_t now_us)
{
	(void)local;
	(void)remote;
	(void)now_us;
	fz_harness *h = self;
	/* Spaced far apart so that a new incarnation never starts inside an
	 * old one's sequence space by accident; the same spacing as the
	 * runner's, so `synfin run --isn <isn_base>` replays an input the same. */
	return h->setup.isn_base + h->isn_count++ * 0x10000000u;
}

/* Every segment the engine sends is copied, and checked after the event. */
static void fz_output(void *ctx, const sf_segment *seg)
{
	fz_harness *h = ctx;
	h->out = grow(h->out, &h->capout, h->nout + 1, sizeof *h->out);
	fz_out *o = &h->out[h->nout++];
	o->seg = *seg;
	o->payload_off = h->out_payload_len;
	if (seg->payload_len) {
		h->out_payload = grow(h->out_payload, &h->out_payload_cap,
				      h->out_payload_len + seg->payload_len, 1);
		memcpy(h->out_payload + h->out_payload_len, seg->payload, seg->payload_len);
		h->out_payload_len += seg->payload_len;
	}
	o->seg.payload = NULL;
	h->total_out++;
	if (h->setup.trace) {
		char text[160];
		fz_seg_text(seg, text, sizeof text);
		fprintf(stderr, "%10.6f    out %s\n", (double)h->now / 1e6, text);
	}
}

/* ---- The engine's memory ---- */

/*
 * The engine's blocks (sf_env alloc/free) come from a per-harness arena
 * instead of ASan's allocator, whose malloc, free and quarantine were a
 * quarter of the cost of a short input. What ASan's allocator found still
 * gets found:
 *
 *   - each block is unpoisoned to exactly its size and sits between
 *     poisoned octets (its header before it, at least FZ_HEAP_GAP after
 *     it), so reads and writes past either end are use-after-poison;
 *   - a freed block is poisoned again and never handed out again within the
 *     same input, so a use after free is use-after-poison too;
 *   - a double free, a free of something that is not a block start and a
 *     free with another size than the block's (the engine's memory
 *     accounting is off) fail the "memory" oracle at once;
 *   - a block still held when the stack is freed is a leak: fz_free() fails
 *     the "memory" oracle (LeakSanitizer does not see the arena).
 *
 * Fresh blocks get 0xbe in their first 4 KiB like ASan's malloc
 * (malloc_fill_byte, max_malloc_fill_size), so a read of a never-written
 * octet does not depend on the input run before. Every input starts at the
 * arena's beginning: a rerun gets the same addresses. Past the arena's end,
 * blocks come from malloc().
 */
#define FZ_HEAP_GAP 16u
#define FZ_HEAP_FILL 4096u
#define FZ_BLOCK_LIVE 0x4c495645u  /* "LIVE" */
#define FZ_BLOCK_FREED 0x46524545u /* "FREE" */

typedef struct fz_block {
	uint64_t size;
	uint32_t magic;
	uint32_t unused;
} fz_block;

static size_t heap_round(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static bool in_heap(const fz_harness *h, const void *p)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)h->heap;
	return a >= base && a < base + FZ_HEAP_ARENA;
}

void *fz_heap_alloc(void *ctx, size_t size)
{
	fz_harness *h = ctx;
	size_t span = sizeof(fz_block) + heap_round(size) + FZ_HEAP_GAP;
	uint8_t *p;
	if (size > FZ_HEAP_ARENA || h->heap_off + span > FZ_HEAP_ARENA) {
		p = malloc(size);
		if (p)
			h->heap_live++;
		return p;
	}
	fz_block *b = (fz_block *)(h->heap + h->heap_off);
	h->heap_off += span;
	ASAN_UNPOISON_MEMORY_REGION(b, sizeof *b);
	b->size = size;
	b->magic = FZ_BLOCK_LIVE;
	ASAN_POISON_MEMORY_REGION(b, sizeof *b);
	p = (uint8_t *)(b + 1);
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	memset(p, 0xbe, size < FZ_HEAP_FILL ? size : FZ_HEAP_FILL);
	h->heap_live++;
	return p;
}

void fz_heap_free(void *ctx, void *ptr, size_t size)
{
	fz_harness *h = ctx;
	if (!in_heap(h, ptr)) {
		free(ptr);
		h->heap_live--;
		return;
	}
	if (((uintptr_t)ptr & 15) != 0 || (uint8_t *)ptr < h->heap + sizeof(fz_block))
		fz_fail(h, "memory", "the engine freed %p, which is not the start of a block", ptr);
	fz_block *b = (fz_block *)ptr - 1;
	ASAN_UNPOISON_MEMORY_REGION(b, sizeof *b);
	fz_block was = *b;
	b->magic = FZ_BLOCK_FREED;
	ASAN_POISON_MEMORY_REGION(b, sizeof *b);
	if (was.magic == FZ_BLOCK_FREED)
		fz_fail(h, "memory", "the engine freed a block of %zu octets twice", size);
	if (was.magic != FZ_BLOCK_LIVE)
		fz_fail(h, "memory", "the engine freed %p, which is not the start of a block", ptr);
	if (was.size != size)
		fz_fail(h, "memory",
			"the engine freed a block of %llu octets as %zu octets (its memory accounting is off)",
			(unsigned long long)was.size, size);
	ASAN_POISON_MEMORY_REGION(ptr, heap_round(size));
	h->heap_live--;
}

/*
 * The harness's own memory (tables and scratch buffers) is kept from one
 * input to the next: allocating and freeing it per input was a fifth of the
 * run time under ASan, whose quarantine makes every fresh buffer new pages.
 */
static fz_harness *spare;

static fz_harness *harness_alloc(void)
{
	fz_harness *h = spare;
	if (h) {
		spare = NULL;
		return h;
	}
	h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->last_out_payload = malloc(SF_MAX_PACKET);
	h->pkt = malloc(SF_MAX_PACKET);
	h->payload = malloc(SF_MAX_PACKET);
	h->recvbuf = malloc(SF_MAX_PACKET);
	h->arena = malloc(FZ_PKT_ARENA);
	/* 16-aligned like malloc's blocks: every block starts 16-aligned. */
	h->heap = aligned_alloc(16, FZ_HEAP_ARENA);
	if (!h->last_out_payload || !h->pkt || !h->payload || !h->recvbuf || !h->arena ||
	    !h->heap)
		return NULL;
	ASAN_POISON_MEMORY_REGION(h->arena, FZ_PKT_ARENA);
	ASAN_POISON_MEMORY_REGION(h->heap, FZ_HEAP_ARENA);
	/* Room for the conn_ids of most inputs from the start: growing it
	 * later would make the first run of an input differ from the next. */
	h->by_id = grow(NULL, &h->capby_id, 256, sizeof *h->by_id);
	memset(h->by_id, 0, h->capby_id * sizeof *h->by_id);
	return h;
}

static void harness_release(fz_harness *h)
{
	if (!spare) {
		spare = h;
		return;
	}
	free(h->conns);
	free(h->by_id);
	free(h->flows);
	free(h->out);
	free(h->out_payload);
	free(h->last_out_payload);
	free(h->pkt);
	free(h->payload);
	free(h->recvbuf);
	ASAN_UNPOISON_MEMORY_REGION(h->arena, FZ_PKT_ARENA);
	free(h->arena);
	ASAN_UNPOISON_MEMORY_REGION(h->heap, FZ_HEAP_ARENA);
	free(h->heap);
	free(h);
}

fz_harness *fz_new(const fz_setup *s)
{
	fz_harness *h = harness_alloc();
	if (!h)
		goto oom;
	/* Everything but the kept memory starts from zero. */
	h->setup = *s;
	h->stack = NULL;
	h->now = 0;
	h->isn_count = 0;
	h->event_no = 0;
	h->describe = NULL;
	h->kind = FZ_EV_NONE;
	h->in_valid = false;
	h->nconns = h->nflows = h->nout = 0;
	h->timeouts_pending = false;
	h->ka_probes_sent = 0;
	if (h->ids_used)
		memset(h->by_id, 0, h->ids_used * sizeof *h->by_id);
	h->ids_used = 0;
	/* Every input places its packets from the arena's start, so that an
	 * input run twice takes the same paths (AFL++'s stability). */
	h->arena_off = 0;
	/* The engine's blocks too (every block of the last input was freed and
	 * poisoned, or fz_free() failed). */
	h->heap_off = 0;
	h->heap_live = 0;
	h->out_payload_len = 0;
	h->total_out = 0;
	sf_env env = {
		.ctx = h,
		.output = fz_output,
		.on_state = fz_on_state,
		.isn = {.next = fz_isn, .self = h},
		.alloc = fz_heap_alloc,
		.free = fz_heap_free,
	};
	h->stack = sf_stack_new(&s->cfg, &env);
	if (!h->stack)
		goto oom;
	snprintf(h->event_desc, sizeof h->event_desc, "setup");
	return h;
oom:
	fprintf(stderr, "synfin-fuzz: out of memory making a harness\n");
	abort();
}

void fz_free(fz_harness *h)
{
	if (!h)
		return;
	sf_stack_free(h->stack);
	h->stack = NULL;
	if (h->heap_live) {
		h->describe = NULL;
		snprintf(h->event_desc, sizeof h->event_desc, "sf_stack_free after the last event");
		fz_fail(h, "memory", "%zu blocks of the engine are still held after sf_stack_free() (a leak)",
			h->heap_live);
	}
	harness_release(h);
}

sf_stack *fz_stack(fz_harness *h) { return h->stack; }
uint64_t fz_now(const fz_harness *h) { return h->now; }
size_t fz_output_count(const fz_harness *h) { return h->total_out; }

const sf_segment *fz_last_output(const fz_harness *h)
{
	return h->total_out ? &h->last_out : NULL;
}

void fz_event(fz_harness *h, const char *fmt, ...)
{
	va_list ap;
	h->event_no++;
	h->describe = NULL;
	va_start(ap, fmt);
	vsnprintf(h->event_desc, sizeof h->event_desc, fmt, ap);
	va_end(ap);
	if (h->setup.trace)
		fprintf(stderr, "%10.6f #%llu %s\n", (double)h->now / 1e6,
			(unsigned long long)h->event_no, h->event_desc);
}

void fz_event_lazy(fz_harness *h, fz_describe_fn describe, const void *arg)
{
	h->event_no++;
	h->describe = describe;
	h->describe_arg = arg;
	if (h->setup.trace)
		fprintf(stderr, "%10.6f #%llu %s\n", (double)h->now / 1e6,
			(unsigned long long)h->event_no, fz_event_text(h));
}

const char *fz_event_text(fz_harness *h)
{
	if (h->describe) {
		h->describe(h->describe_arg, h->event_desc, sizeof h->event_desc);
		h->describe = NULL;
	}
	return h->event_desc;
}

void fz_fail(fz_harness *h, const char *oracle, const char *fmt, ...)
{
	va_list ap;
	if (!h->setup.quiet) {
		fprintf(stderr, "synfin-fuzz: oracle %s failed at event #%llu (%s) t=%llu us: ",
			oracle, (unsigned long long)h->event_no, fz_event_text(h),
			(unsigned long long)h->now);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
	abort();
}

void fz_fail_tool(const char *oracle, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "synfin-fuzz: oracle %s failed: ", oracle);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* ---- Running one event ---- */

static void begin(fz_harness *h, fz_kind kind)
{
	h->step++;
	h->kind = kind;
	h->in_valid = false;
	h->nout = 0;
	h->out_payload_len = 0;
}

/* Keep the last output readable for targets, then run every oracle. */
static void end(fz_harness *h)
{
	if (h->nout) {
		/* Its payload stays where the output hook put it, valid until the
		 * next event (harness.h): no copy per event. */
		fz_out *o = &h->out[h->nout - 1];
		h->last_out = o->seg;
		h->last_out.payload = o->seg.payload_len ? h->out_payload + o->payload_off : NULL;
	}
	fz_check_event(h);
	fz_ref_after(h);
	h->kind = FZ_EV_NONE;
}

/* ---- Inbound segments ---- */

/* Point seg's payload at the peer's pattern for its flow. */
static void fill_peer_payload(fz_harness *h, sf_segment *seg, size_t len)
{
	sf_endpoint remote = {.addr = seg->src, .port = seg->sport};
	fz_flow *f = fz_flow_get(h, &remote, seg->dport);
	uint32_t seq = seg->seq + ((seg->flags & SF_SYN) ? 1 : 0);
	/* The pattern table is read-only and outlives the event: no copy. */
	seg->payload = len ? fz_pattern(f->salt + seq, len) : NULL;
	seg->payload_len = len;
}

/* The window a segment offers (RFC 9293 §3.8.6; scaled except on a SYN,
 * and only when both SYNs carried window scale, RFC 7323 §2.2), and its
 * ACK: upper bounds of what the engine may take as SND.WND and SND.UNA. */
static void note_peer_window(fz_harness *h, fz_flow *f, const sf_segment *p)
{
	sf_endpoint local = {.addr = p->dst, .port = p->dport};
	bool ack = p->flags & SF_ACK;
	fz_conn *c = ack ? fz_conn_by_tuple(h, &local, &f->remote, p->ack)
			 : fz_conn_live_by_tuple(h, &local, &f->remote);
	if (!c || !c->alive || !c->iss_valid)
		return;
	/* An ACK for something never sent is not acceptable (RFC 9293
	 * §3.10.7.4) and offers no window; a SYN without ACK counts only for
	 * a connection in SYN-SENT (simultaneous open, §3.10.7.3). */
	if (ack && (!sf_seq_le(c->iss, p->ack) || !sf_seq_le(p->ack, c->max_snd_nxt)))
		return;
	if (!ack && c->state != SF_SYN_SENT)
		return;
	uint32_t shift = 0;
	if (!(p->flags & SF_SYN) && c->our_wscale && f->syn_wscale)
		shift = f->syn_wscale_last;
	uint32_t win = (uint32_t)p->window << shift;
	uint32_t una = ack ? p->ack : c->iss;
	if (!c->pwin_valid) {
		c->pwin_valid = true;
		c->pmax_win = win;
		c->pmax_ack = una;
		return;
	}
	if (win > c->pmax_win)
		c->pmax_win = win;
	if (sf_seq_gt(una, c->pmax_ack))
		c->pmax_ack = una;
}

/* Record what the peer said on its flow: SYN options, FIN position, and
 * whether its payload still follows the pattern. */
static void note_peer_segment(fz_harness *h, const sf_segment *p, bool raw)
{
	if (p->opt_len)
		fz_check_opts_decode(h, p->opt_raw, p->opt_len, &p->opts);
	sf_endpoint remote = {.addr = p->src, .port = p->sport};
	fz_flow *f = fz_flow_get(h, &remote, p->dport);
	uint32_t seq = p->seq + ((p->flags & SF_SYN) ? 1 : 0);

	if (p->flags & SF_SYN) {
		f->syn_wscale_last = p->opts.has_wscale ? (p->opts.wscale > 14 ? 14 : p->opts.wscale) : 0;
		f->last_syn_win = p->window;
		f->syn_seen = true;
		f->syn_wscale |= p->opts.has_wscale;
		f->syn_ts |= p->opts.has_ts;
		f->syn_sack_perm |= p->opts.sack_permitted;
		/* An MSS option of 0 counts as none (the engine, like Linux's
		 * tcp_parse_options(), ignores it and assumes 536). */
		if (p->opts.has_mss && p->opts.mss) {
			if (p->opts.mss > f->syn_mss_max)
				f->syn_mss_max = p->opts.mss;
		} else {
			f->syn_without_mss = true;
		}
	}
	if (p->flags & (SF_ACK | SF_SYN))
		note_peer_window(h, f, p);
	if (p->flags & SF_FIN) {
		uint32_t fin = seq + (uint32_t)p->payload_len;
		bool known = false;
		for (uint8_t i = 0; i < f->fin_count; i++)
			known |= f->fin_seq[i] == fin;
		if (!known && f->fin_count < 4)
			f->fin_seq[f->fin_count++] = fin;
		else if (!known)
			f->fin_overflow = true;
	}
	if (p->payload_len && !f->tainted &&
	    (raw || p->payload_len > FZ_TABLE ||
	     memcmp(p->payload, fz_pattern(f->salt + seq, p->payload_len), p->payload_len) != 0))
		f->tainted = true;
}

static void feed_packet(fz_harness *h, const uint8_t *pkt, size_t len, bool raw)
{
	if (fz_wire_parse(pkt, len, &h->in) == 0) {
		h->in_valid = true;
		note_peer_segment(h, &h->in, raw);
	}
	sf_input_packet(h->stack, pkt, len);
}

/*
 * The engine gets each inbound packet in a region of exactly its size, as a
 * malloc()ed copy would give it, without an allocation per packet (ASan's
 * allocator was a tenth of the run time): packets are placed one after the
 * other in an arena that ASan sees poisoned except for the packet being
 * input, with a poisoned gap of FZ_PKT_GAP octets on both sides. A read past
 * the packet's end or before its start, and any use of a pointer into it
 * after sf_input returned (fz_unplace_packet poisons it again; the arena is
 * reused only after a megabyte of packets of the same input), is reported as
 * use-after-poison.
 */
#define FZ_PKT_GAP 16u

static uint8_t *fz_place_packet(fz_harness *h, const uint8_t *src, size_t len)
{
	size_t span = (len + FZ_PKT_GAP + 7) & ~(size_t)7;
	if (h->arena_off + span + FZ_PKT_GAP > FZ_PKT_ARENA)
		h->arena_off = 0;
	uint8_t *p = h->arena + h->arena_off + FZ_PKT_GAP;
	h->arena_off += span;
	ASAN_UNPOISON_MEMORY_REGION(p, len);
	if (len)
		memcpy(p, src, len);
	return p;
}

static void fz_unplace_packet(uint8_t *p, size_t len)
{
	ASAN_POISON_MEMORY_REGION(p, (len + 7) & ~(size_t)7);
}

static bool has_faults(const sf_emit_faults *f)
{
	return f && (f->bad_tcp_checksum || f->bad_ip_checksum || f->ip_len_delta ||
		     f->data_off_delta);
}

void fz_input(fz_harness *h, const sf_segment *seg, const sf_emit_faults *faults)
{
	sf_segment s = *seg;
	size_t len = seg->payload_len;
	if (len > FZ_MAX_INPUT_PAYLOAD)
		len = FZ_MAX_INPUT_PAYLOAD;
	fill_peer_payload(h, &s, len);

	begin(h, FZ_EV_INPUT);
	fz_ref_before(h, &s);
	int n = fz_wire_emit(&s, faults, h->pkt, SF_MAX_PACKET);
	/* A segment that cannot be put on the wire (an impossible field
	 * combination from a fuzz input) is an event where nothing arrives. */
	if (n <= 0) {
		end(h);
		return;
	}
	/* The engine gets the packet in a region of its exact size, poisoned
	 * right after (fz_place_packet). */
	uint8_t *pkt = fz_place_packet(h, h->pkt, (size_t)n);
	if (has_faults(faults)) {
		feed_packet(h, pkt, (size_t)n, false);
	} else {
		/* A correct packet parses to what was emitted (the single_packet
		 * target holds the codec to that), so no need to parse it here. */
		h->in = s;
		sf_opts_decode(s.opt_raw, s.opt_len, &h->in.opts);
		h->in_valid = true;
		note_peer_segment(h, &h->in, false);
		sf_input_packet(h->stack, pkt, (size_t)n);
	}
	fz_unplace_packet(pkt, (size_t)n);
	h->in.payload = NULL; /* it pointed into pkt */
	end(h);
}

void fz_input_raw(fz_harness *h, const uint8_t *pkt, size_t len)
{
	if (len > SF_MAX_PACKET)
		len = SF_MAX_PACKET;
	/* A private copy: the engine must not depend on the caller's buffer,
	 * and ASan then sees any read past the packet's end. */
	uint8_t *copy = fz_place_packet(h, pkt, len);
	begin(h, FZ_EV_INPUT);
	feed_packet(h, copy, len, true);
	fz_unplace_packet(copy, len);
	h->in.payload = NULL; /* it pointed into copy */
	end(h);
}

/* ---- The clock ---- */

/* Fire the timers due at time t (one event), then check that none is left
 * due: a timer that stays due would fire forever. */
static void tick_to(fz_harness *h, uint64_t t)
{
	begin(h, FZ_EV_TIMER);
	h->now = t;
	if (h->setup.trace)
		fprintf(stderr, "%10.6f    timers due\n", (double)t / 1e6);
	sf_tick(h->stack, t);
	end(h);
	uint64_t next = sf_next_timer(h->stack);
	if (next <= t)
		fz_fail(h, "timers", "a timer due at %llu us is still armed after sf_tick(%llu)",
			(unsigned long long)next, (unsigned long long)t);
}

void fz_advance(fz_harness *h, uint64_t delta_us)
{
	uint64_t target = h->now + delta_us;
	if (target < h->now)
		target = UINT64_MAX - 1;
	for (unsigned firings = 0;; firings++) {
		uint64_t next = sf_next_timer(h->stack);
		if (next > target)
			break;
		if (firings >= FZ_MAX_FIRINGS_PER_STEP)
			fz_fail(h, "timers", "more than %u timer firings in one clock step",
				FZ_MAX_FIRINGS_PER_STEP);
		/* A timer armed in the past fires now; the clock never goes back. */
		tick_to(h, next > h->now ? next : h->now);
	}
	if (target > h->now)
		tick_to(h, target);
}

void fz_advance_to_timer(fz_harness *h, int64_t offset_us)
{
	uint64_t next = sf_next_timer(h->stack);
	if (next == UINT64_MAX)
		return;
	uint64_t target = next;
	if (offset_us < 0)
		target = (uint64_t)-offset_us > next ? 0 : next - (uint64_t)-offset_us;
	else
		target = next + (uint64_t)offset_us;
	if (target > h->now)
		fz_advance(h, target - h->now);
}

/* ---- Socket calls ---- */

static void note_handle_conn(fz_harness *h, int sd)
{
	sf_tcp_info info;
	if (sd >= 0 && sf_info(h->stack, sd, &info) == 0)
		(void)fz_conn_get(h, info.conn_id);
}

int fz_socket(fz_harness *h, int family)
{
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_socket(h->stack, family);
	fz_check_result(h, "socket", rc);
	end(h);
	return rc;
}

int fz_bind(fz_harness *h, int sd, const sf_endpoint *local)
{
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_bind(h->stack, sd, local);
	fz_check_result(h, "bind", rc);
	end(h);
	return rc;
}

/* The conn_id behind a handle, or 0. */
static uint32_t sd_conn_id(fz_harness *h, int sd)
{
	sf_tcp_info info;
	return sf_info(h->stack, sd, &info) == 0 ? info.conn_id : 0;
}

/* A socket opened again after CLOSED is a new connection with a new
 * conn_id (tcp.h), but its socket options are the socket's: the timer
 * oracle's copy of them moves along. */
static void keep_policy(fz_harness *h, int sd, uint32_t before)
{
	uint32_t after = sd_conn_id(h, sd);
	if (!before || !after || after == before)
		return;
	fz_policy pol = fz_conn_get(h, before)->pol;
	fz_conn_get(h, after)->pol = pol;
}

int fz_listen(fz_harness *h, int sd, int backlog)
{
	begin(h, FZ_EV_LISTEN);
	uint32_t before = sd_conn_id(h, sd);
	int rc = sf_listen(h->stack, sd, backlog);
	keep_policy(h, sd, before);
	fz_check_result(h, "listen", rc);
	end(h);
	return rc;
}

int fz_accept(fz_harness *h, int sd)
{
	sf_endpoint peer;
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_accept(h->stack, sd, &peer);
	fz_check_result(h, "accept", rc);
	note_handle_conn(h, rc);
	end(h);
	return rc;
}

int fz_connect(fz_harness *h, int sd, const sf_endpoint *remote)
{
	begin(h, FZ_EV_CONNECT);
	uint32_t before = sd_conn_id(h, sd);
	int rc = sf_connect(h->stack, sd, remote);
	keep_policy(h, sd, before);
	fz_check_result(h, "connect", rc);
	end(h);
	return rc;
}

ssize_t fz_send(fz_harness *h, int sd, size_t len)
{
	sf_tcp_info info;
	fz_conn *c = NULL;
	if (len > FZ_TABLE - 1)
		len = FZ_TABLE - 1;
	begin(h, FZ_EV_OTHER_CALL);
	if (sf_info(h->stack, sd, &info) == 0) {
		c = fz_conn_get(h, info.conn_id);
		memcpy(h->payload, fz_app_pattern(c->id, c->written), len);
	}
	ssize_t rc = sf_send(h->stack, sd, h->payload, len);
	fz_check_result(h, "send", rc);
	if (rc > (ssize_t)len)
		fz_fail(h, "api", "send(%zu bytes) returned %zd", len, rc);
	if (rc > 0 && !c)
		fz_fail(h, "api", "send() accepted %zd bytes on handle %d that has no connection", rc, sd);
	if (rc > 0)
		c->written += (uint64_t)rc;
	end(h);
	return rc;
}

ssize_t fz_recv(fz_harness *h, int sd, size_t len)
{
	if (len > SF_MAX_PACKET)
		len = SF_MAX_PACKET;
	begin(h, FZ_EV_OTHER_CALL);
	ssize_t rc = sf_recv(h->stack, sd, h->recvbuf, len);
	fz_check_result(h, "recv", rc);
	fz_check_recv(h, sd, h->recvbuf, rc, len);
	end(h);
	return rc;
}

/* close() and shutdown(SHUT_WR) allow the connection to send its FIN. */
static void mark_app_closed(fz_harness *h, int sd)
{
	sf_tcp_info info;
	if (sf_info(h->stack, sd, &info) == 0)
		fz_conn_get(h, info.conn_id)->app_closed = true;
}

int fz_shutdown(fz_harness *h, int sd, int how)
{
	begin(h, FZ_EV_SHUTDOWN);
	sf_tcp_info info;
	if ((how == SF_SHUT_WR || how == SF_SHUT_RDWR))
		mark_app_closed(h, sd);
	if ((how == SF_SHUT_RD || how == SF_SHUT_RDWR) && sf_info(h->stack, sd, &info) == 0)
		fz_conn_get(h, info.conn_id)->shut_rd = true;
	int rc = sf_shutdown(h->stack, sd, how);
	fz_check_result(h, "shutdown", rc);
	end(h);
	return rc;
}

int fz_close(fz_harness *h, int sd)
{
	begin(h, FZ_EV_CLOSE);
	mark_app_closed(h, sd);
	int rc = sf_close(h->stack, sd);
	fz_check_result(h, "close", rc);
	end(h);
	return rc;
}

int fz_abort(fz_harness *h, int sd)
{
	begin(h, FZ_EV_ABORT);
	int rc = sf_abort(h->stack, sd);
	fz_check_result(h, "abort", rc);
	end(h);
	return rc;
}

int fz_setsockopt(fz_harness *h, int sd, sf_sockopt opt, int value)
{
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_setsockopt(h->stack, sd, opt, value);
	fz_check_result(h, "setsockopt", rc);
	if (rc == 0)
		fz_note_sockopt(h, sd, opt, value);
	end(h);
	return rc;
}

int fz_getsockopt(fz_harness *h, int sd, sf_sockopt opt, int *value)
{
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_getsockopt(h->stack, sd, opt, value);
	fz_check_result(h, "getsockopt", rc);
	end(h);
	return rc;
}

int fz_poll(fz_harness *h, int sd)
{
	begin(h, FZ_EV_OTHER_CALL);
	int rc = sf_poll(h->stack, sd);
	fz_check_result(h, "poll", rc);
	end(h);
	return rc;
}

int fz_info(fz_harness *h, int sd, sf_tcp_info *info)
{
	return sf_info(h->stack, sd, info);
}
