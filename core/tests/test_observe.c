/*
 * The fuzz harness's two engine hooks (tcp.h): sf_foreach_peek() reports
 * exactly what sf_foreach_conn() reports, for the fields it has, over every
 * kind of connection the stack holds; and the host allocator (sf_env
 * alloc/free) gets every block back once with its size, changes nothing the
 * stack sends, and an allocator that fails is handled like malloc failing.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- sf_foreach_peek() against sf_foreach_conn() ---- */

#define MAX_SEEN 64

typedef struct walk {
	size_t n;
	sf_tcp_info info[MAX_SEEN];
	sf_conn_peek peek[MAX_SEEN];
	sf_endpoint local[MAX_SEEN], remote[MAX_SEEN];
} walk;

static void on_info(void *ctx, const sf_tcp_info *info)
{
	walk *w = ctx;

	ASSERT(w->n < MAX_SEEN);
	w->info[w->n++] = *info;
}

static void on_peek(void *ctx, const sf_conn_peek *p)
{
	walk *w = ctx;

	ASSERT(w->n < MAX_SEEN);
	/* The endpoints are the engine's own copies, valid during the visit. */
	w->local[w->n] = *p->local;
	w->remote[w->n] = *p->remote;
	w->peek[w->n++] = *p;
}

static bool endpoint_same(const sf_endpoint *a, const sf_endpoint *b)
{
	return a->port == b->port && sf_addr_eq(&a->addr, &b->addr);
}

/* Both walks, now: same connections, same order, same values. Returns how
 * many connections were seen. */
static size_t peek_matches_info(harness *h)
{
	walk a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sf_foreach_conn(h->stack, on_info, &a);
	sf_foreach_peek(h->stack, on_peek, &b);
	ASSERT_EQ(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		const sf_tcp_info *x = &a.info[i];
		const sf_conn_peek *y = &b.peek[i];

		ASSERT_EQ(x->conn_id, y->conn_id);
		ASSERT_EQ(x->state, y->state);
		ASSERT_EQ(x->from_listen, y->from_listen);
		ASSERT(endpoint_same(&x->local, &b.local[i]));
		ASSERT(endpoint_same(&x->remote, &b.remote[i]));
		ASSERT_EQ(x->iss, y->iss);
		ASSERT_EQ(x->irs, y->irs);
		ASSERT_EQ(x->snd_una, y->snd_una);
		ASSERT_EQ(x->snd_nxt, y->snd_nxt);
		ASSERT_EQ(x->snd_wnd, y->snd_wnd);
		ASSERT_EQ(x->snd_wl1, y->snd_wl1);
		ASSERT_EQ(x->snd_wl2, y->snd_wl2);
		ASSERT_EQ(x->rcv_nxt, y->rcv_nxt);
		ASSERT_EQ(x->rcv_wnd, y->rcv_wnd);
		ASSERT_EQ(x->snd_mss, y->snd_mss);
	}
	return a.n;
}

/* A listener with a SYN-queue entry (RFC 9293 §3.10.7.2) and an accepted
 * connection that moved data both ways, then through FIN-WAIT-2 into
 * TIME-WAIT, and a second peer left in SYN-RECEIVED: the walks agree after
 * every step. */
static void test_peek_same_as_info(void)
{
	harness *h = h_new();
	char buf[64];

	sf_endpoint peer;

	ASSERT_EQ(peek_matches_info(h), 0);
	syn_received(h); /* the listener and its SYN-queue entry */
	ASSERT_EQ(peek_matches_info(h), 2);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 1, .ack = STACK_ISS + 1);
	h->sd = sf_accept(h->stack, h->listener, &peer);
	ASSERT(h->sd >= 0);
	ASSERT_EQ(peek_matches_info(h), 2);
	ASSERT_EQ(sf_send(h->stack, h->sd, "hello", 5), 5);
	h_clear(h);
	ASSERT_EQ(peek_matches_info(h), 2);
	SEND(h, .flags = SF_ACK | SF_PSH, .seq = PEER_ISS + 1, .ack = STACK_ISS + 6, .data = "world");
	ASSERT_EQ(sf_recv(h->stack, h->sd, buf, sizeof(buf)), 5);
	h_clear(h);
	ASSERT_EQ(peek_matches_info(h), 2);

	/* A second peer's SYN: a SYN-queue entry, reported after its listener. */
	h_use_peer(h, PEER_PORT + 1);
	SEND(h, .flags = SF_SYN, .seq = PEER_ISS, .mss = 536);
	h_clear(h);
	ASSERT_EQ(peek_matches_info(h), 3);
	h_use_peer(h, PEER_PORT);

	ASSERT_EQ(sf_close(h->stack, h->sd), 0);
	h_clear(h);
	ASSERT_EQ(peek_matches_info(h), 3);
	SEND(h, .flags = SF_ACK, .seq = PEER_ISS + 6, .ack = STACK_ISS + 7);
	SEND(h, .flags = SF_FIN | SF_ACK, .seq = PEER_ISS + 6, .ack = STACK_ISS + 7);
	h_clear(h);
	ASSERT_EQ(h_count_to(h, SF_TIME_WAIT), 1);
	ASSERT_EQ(peek_matches_info(h), 3);
	h_advance(h, 120 * SEC);
	h_clear(h);
	ASSERT_EQ(peek_matches_info(h), 1); /* only the listener is left */
	h_free(h);
}

/* ---- The host allocator ---- */

#define MAX_BLOCKS 4096

typedef struct host {
	void *ptr[MAX_BLOCKS];
	size_t size[MAX_BLOCKS];
	size_t nblocks;            /* ever handed out */
	size_t live;
	size_t fail_after;         /* alloc fails once this many were handed out (0: never) */
	size_t failed;
	uint64_t hash;             /* FNV-1a over every packet sent */
	uint64_t sent;
} host;

static void *host_alloc(void *ctx, size_t size)
{
	host *m = ctx;

	ASSERT(size > 0);
	if (m->fail_after && m->nblocks >= m->fail_after) {
		m->failed++;
		return NULL;
	}
	ASSERT(m->nblocks < MAX_BLOCKS);
	void *p = malloc(size);
	ASSERT(p);
	/* Garbage, not zeros: the stack must clear what it needs cleared. */
	memset(p, 0xa5, size);
	m->ptr[m->nblocks] = p;
	m->size[m->nblocks++] = size;
	m->live++;
	return p;
}

static void host_free(void *ctx, void *p, size_t size)
{
	host *m = ctx;
	size_t i;

	ASSERT(p);
	for (i = 0; i < m->nblocks; i++)
		if (m->ptr[i] == p)
			break;
	ASSERT(i < m->nblocks);      /* a block this host handed out ... */
	ASSERT_EQ(m->size[i], size); /* ... given back with its own size ... */
	m->ptr[i] = NULL;            /* ... once */
	m->live--;
	free(p);
}

static void host_output(void *ctx, const sf_segment *seg)
{
	host *m = ctx;
	uint8_t pkt[SF_MAX_PACKET];
	int n = sf_wire_emit(seg, NULL, pkt, sizeof(pkt));

	ASSERT(n > 0);
	for (int i = 0; i < n; i++)
		m->hash = (m->hash ^ pkt[i]) * 1099511628211ull;
	m->sent++;
}

static uint32_t host_isn(void *self, const sf_endpoint *local, const sf_endpoint *remote,
			 uint64_t now_us)
{
	(void)self;
	(void)local;
	(void)remote;
	(void)now_us;
	return STACK_ISS;
}

static sf_env host_env(host *m, bool hooked)
{
	sf_env env;

	memset(&env, 0, sizeof(env));
	env.ctx = m;
	env.output = host_output;
	env.isn.next = host_isn;
	if (hooked) {
		env.alloc = host_alloc;
		env.free = host_free;
	}
	return env;
}

static void inject(sf_stack *s, uint8_t flags, uint16_t sport, uint32_t seq, uint32_t ack,
		   const char *data)
{
	sf_segment seg;
	uint8_t pkt[SF_MAX_PACKET];

	memset(&seg, 0, sizeof(seg));
	seg.src = sf_addr_v4(10, 0, 0, 2);
	seg.dst = sf_addr_v4(10, 0, 0, 1);
	seg.sport = sport;
	seg.dport = SERVER_PORT;
	seg.flags = flags;
	seg.seq = seq;
	seg.ack = ack;
	seg.window = 65535;
	seg.ttl = 64;
	seg.payload = (const uint8_t *)data;
	seg.payload_len = data ? strlen(data) : 0;
	int n = sf_wire_emit(&seg, NULL, pkt, sizeof(pkt));
	ASSERT(n > 0);
	sf_input_packet(s, pkt, (size_t)n);
}

/*
 * A server's life with many blocks: the stack, tables, a listener, SYN-queue
 * entries for twenty peers (the handle table and timer heap grow), rings,
 * data both ways, close and TIME-WAIT. Returns the hash of everything sent.
 */
static uint64_t serve(host *m, bool hooked, size_t *blocks_after_close)
{
	sf_config cfg;
	sf_env env = host_env(m, hooked);
	sf_endpoint local = {.addr = sf_addr_v4(10, 0, 0, 1), .port = SERVER_PORT};
	sf_endpoint peer;
	char buf[64];

	m->hash = 14695981039346656037ull;
	sf_config_default(&cfg);
	sf_stack *s = sf_stack_new(&cfg, &env);
	ASSERT(s);
	int l = sf_socket(s, SF_AF_INET);
	ASSERT(l >= 0);
	ASSERT_EQ(sf_bind(s, l, &local), 0);
	ASSERT_EQ(sf_listen(s, l, 64), 0);
	int sds[20];
	for (uint16_t i = 0; i < 20; i++) {
		inject(s, SF_SYN, (uint16_t)(PEER_PORT + i), PEER_ISS, 0, NULL);
		inject(s, SF_ACK, (uint16_t)(PEER_PORT + i), PEER_ISS + 1, STACK_ISS + 1, NULL);
		sds[i] = sf_accept(s, l, &peer);
		ASSERT(sds[i] >= 0);
	}
	ASSERT_EQ(sf_send(s, sds[0], "0123456789", 10), 10);
	inject(s, SF_ACK | SF_PSH, PEER_PORT, PEER_ISS + 1, STACK_ISS + 11, "abc");
	ASSERT_EQ(sf_recv(s, sds[0], buf, sizeof(buf)), 3);
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(sf_close(s, sds[i]), 0);
	inject(s, SF_ACK | SF_FIN, PEER_PORT, PEER_ISS + 4, STACK_ISS + 12, NULL);
	ASSERT_EQ(sf_check_invariants(s, NULL, 0), 0);
	sf_tick(s, 200 * SEC);
	ASSERT_EQ(sf_check_invariants(s, NULL, 0), 0);
	*blocks_after_close = m->live;
	sf_stack_free(s);
	return m->hash;
}

/* Every block comes back once, with its size; nothing is left; the stack
 * sends the same octets as with malloc. */
static void test_alloc_hook_accounts_every_block(void)
{
	host *hooked = calloc(1, sizeof(*hooked));
	host *plain = calloc(1, sizeof(*plain));
	size_t live_hooked, live_plain;

	ASSERT(hooked && plain);
	uint64_t a = serve(hooked, true, &live_hooked);
	uint64_t b = serve(plain, false, &live_plain);
	ASSERT_EQ(a, b);
	ASSERT_EQ(hooked->sent, plain->sent);
	ASSERT(hooked->nblocks > 20); /* the hook saw the stack's blocks ... */
	ASSERT(live_hooked > 0);      /* ... including the listener's, still open */
	ASSERT_EQ(plain->nblocks, 0); /* and without it, malloc did */
	ASSERT_EQ(hooked->live, 0);   /* sf_stack_free() gave every block back */
	free(hooked);
	free(plain);
}

/* Listen and take eight connections that each send a byte, with an
 * allocator that fails from block number `limit` on (0: never). Returns how
 * many blocks were handed out. */
static size_t run_limited(size_t limit)
{
	host *m = calloc(1, sizeof(*m));
	sf_config cfg;
	sf_env env;
	sf_endpoint local = {.addr = sf_addr_v4(10, 0, 0, 1), .port = SERVER_PORT};
	sf_endpoint peer;
	char why[256];

	ASSERT(m);
	env = host_env(m, true);
	m->fail_after = limit;
	sf_config_default(&cfg);
	sf_stack *s = sf_stack_new(&cfg, &env);
	if (s) {
		int l = sf_socket(s, SF_AF_INET);
		if (l >= 0 && sf_bind(s, l, &local) == 0 && sf_listen(s, l, 8) == 0) {
			for (uint16_t i = 0; i < 8; i++) {
				inject(s, SF_SYN, (uint16_t)(PEER_PORT + i), PEER_ISS, 0, NULL);
				inject(s, SF_ACK, (uint16_t)(PEER_PORT + i), PEER_ISS + 1,
				       STACK_ISS + 1, NULL);
				int sd = sf_accept(s, l, &peer);
				if (sd >= 0)
					(void)sf_send(s, sd, "x", 1);
			}
		}
		/* The one invariant a failed allocation may break, by design
		 * (timers.c, heap_reserve): a timer the full heap could not
		 * take is reported, not lost silently. */
		why[0] = 0;
		if (sf_check_invariants(s, why, sizeof(why)) != 0)
			ASSERT(strstr(why, "timer not scheduled") != NULL);
		sf_tick(s, 300 * SEC);
		sf_stack_free(s);
	}
	ASSERT(limit == 0 || m->failed > 0);
	ASSERT_EQ(m->live, 0);
	size_t n = m->nblocks;
	free(m);
	return n;
}

/* A host allocator that runs dry at any point is handled like malloc
 * failing: calls fail, nothing crashes, and every block handed out still
 * comes back. */
static void test_alloc_hook_failure(void)
{
	size_t all = run_limited(0);

	ASSERT(all > 8);
	for (size_t limit = 1; limit < all; limit++)
		run_limited(limit);
}

/* Either both callbacks or neither. */
static void test_alloc_hook_both_or_neither(void)
{
	host m;
	sf_config cfg;
	sf_env env;

	memset(&m, 0, sizeof(m));
	sf_config_default(&cfg);
	env = host_env(&m, true);
	env.free = NULL;
	ASSERT(sf_stack_new(&cfg, &env) == NULL);
	env = host_env(&m, true);
	env.alloc = NULL;
	ASSERT(sf_stack_new(&cfg, &env) == NULL);
	ASSERT_EQ(m.nblocks, 0);
}

int main(void)
{
	RUN_TEST(test_peek_same_as_info);
	RUN_TEST(test_alloc_hook_accounts_every_block);
	RUN_TEST(test_alloc_hook_failure);
	RUN_TEST(test_alloc_hook_both_or_neither);
	return 0;
}
