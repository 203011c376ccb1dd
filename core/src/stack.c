/*
 * The stack: configuration, creation, memory accounting and time.
 *
 * Every byte the stack allocates goes through sf_mem_alloc(), which checks
 * cfg.mem_limit and keeps in_use/peak, so tests can assert that nothing is
 * left accounted and a SYN flood cannot grow memory past the cap.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"

SF_API void sf_config_default(sf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->local4 = sf_addr_v4(10, 0, 0, 1);
	cfg->mss = 1460;                    /* MTU 1500 - 20 - 20 (RFC6691:2) */
	cfg->sndbuf = 16384;                /* Linux tcp_wmem[1] */
	cfg->rcvbuf = 65535;                /* no window scaling yet */
	cfg->rto_initial = 1000000;         /* RFC6298:2.1 */
	cfg->rto_min = 1000000;             /* RFC6298:2.4 */
	cfg->rto_max = 120000000;           /* Linux TCP_RTO_MAX; RFC6298:2.4 allows >= 60 s */
	cfg->syn_retries = 6;               /* net.ipv4.tcp_syn_retries */
	cfg->synack_retries = 5;            /* net.ipv4.tcp_synack_retries */
	cfg->retries2 = 15;                 /* net.ipv4.tcp_retries2 */
	cfg->time_wait = 60000000;          /* Linux TCP_TIMEWAIT_LEN */
	cfg->fin_wait_2 = 60000000;         /* net.ipv4.tcp_fin_timeout */
	cfg->keepalive_idle = 7200000000ull; /* RFC9293:MUST-28 */
	cfg->keepalive_intvl = 75000000;    /* Linux tcp_keepalive_intvl */
	cfg->keepalive_probes = 9;          /* Linux tcp_keepalive_probes */
	cfg->oow_ack_interval = 500000;     /* net.ipv4.tcp_invalid_ratelimit */
	cfg->challenge_ack_limit = 1000;    /* RFC5961:7, per connection */
	cfg->rfc1337 = false;
	cfg->listen_active_open = false;    /* Linux: connect() on a listener is EISCONN */
	cfg->max_backlog = 4096;            /* net.core.somaxconn */
	cfg->max_time_wait = 4096;
	cfg->max_connections = 65536;
	cfg->mem_limit = 0;
	cfg->ephemeral_lo = 32768;          /* net.ipv4.ip_local_port_range */
	cfg->ephemeral_hi = 60999;
}

/* ---- Memory accounting ---- */

/*
 * Every block goes through the host's allocator when it gave one (sf_env
 * alloc/free: a fuzz harness's per-input arena), else through malloc/free
 * (sf_stack_new() puts sys_alloc and sys_free in s->env then). size 0 asks
 * for one octet, as malloc(0) may return NULL. These helpers decide nothing
 * about the connection's behaviour: targets/sancov-ignore.txt keeps
 * libFuzzer's coverage out of them, so that the number of blocks an input
 * makes is not a coverage feature of its own.
 */
static void *sys_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void sys_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}

static __attribute__((noinline)) void *env_alloc(const sf_env *env, size_t size)
{
	return env->alloc(env->ctx, size + (size == 0));
}

static __attribute__((noinline)) void env_free(const sf_env *env, void *p, size_t size)
{
	if (p)
		env->free(env->ctx, p, size + (size == 0));
}

static __attribute__((noinline)) void *env_calloc(const sf_env *env, size_t size)
{
	void *p = env_alloc(env, size);

	if (p)
		memset(p, 0, size + (size == 0));
	return p;
}

bool sf_mem_allows(const sf_stack *s, size_t size)
{
	return s->cfg.mem_limit == 0 || s->mem_in_use + size <= s->cfg.mem_limit;
}

static void *mem_alloc(sf_stack *s, size_t size, bool clear)
{
	void *p;

	if (!sf_mem_allows(s, size)) {
		s->stats.drops_mem++;
		return NULL;
	}
	p = clear ? env_calloc(&s->env, size) : env_alloc(&s->env, size);
	if (!p)
		return NULL;
	s->mem_in_use += size;
	if (s->mem_in_use > s->mem_peak)
		s->mem_peak = s->mem_in_use;
	return p;
}

void *sf_mem_alloc(sf_stack *s, size_t size)
{
	return mem_alloc(s, size, true);
}

void *sf_mem_alloc_buf(sf_stack *s, size_t size)
{
	return mem_alloc(s, size, false);
}

void sf_mem_free(sf_stack *s, void *p, size_t size)
{
	if (!p)
		return;
	s->mem_in_use -= size;
	env_free(&s->env, p, size);
}

/* The handle table and the timer heap grow by doubling. Not part of in_use
 * (they are stack tables, like the hash buckets). */
void *sf_table_grow(sf_stack *s, void *p, size_t old_size, size_t new_size)
{
	void *q;

	q = env_alloc(&s->env, new_size);
	if (!q)
		return NULL;
	if (p && old_size)
		memcpy(q, p, old_size < new_size ? old_size : new_size);
	env_free(&s->env, p, old_size);
	return q;
}

/* ---- Creation ---- */

/* The stack's own fixed tables (hash buckets, scratch, handle table) are not
 * part of in_use, which the header defines as control blocks + buffers: after
 * every connection is gone, in_use is exactly 0. */
static void *stack_table(const sf_stack *s, size_t size)
{
	return env_calloc(&s->env, size);
}

static size_t hash_bytes(const sf_stack *s)
{
	return ((size_t)s->hash_mask + 1) * sizeof(sf_node *);
}

static size_t ports_bytes(const sf_stack *s)
{
	return ((size_t)s->port_mask + 1) * sizeof(sf_conn *);
}

/* Frees what sf_stack_new() and sf_stack_scratch() made (the tables and the
 * stack itself), through the allocator that made them. */
static void stack_release(sf_stack *s)
{
	sf_env env = s->env;

	env_free(&env, s->hash, hash_bytes(s));
	env_free(&env, s->ports, ports_bytes(s));
	env_free(&env, s->scratch, SF_MAX_PACKET + 1);
	env_free(&env, s, sizeof(*s));
}

/* The smallest power of two >= n, within [lo, hi] (both powers of two). */
static uint32_t pow2_within(uint64_t n, uint32_t lo, uint32_t hi)
{
	uint32_t p = lo;

	while (p < n && p < hi)
		p <<= 1;
	return p;
}

/*
 * Bucket counts from the configured limits: one 4-tuple bucket per full
 * connection or SYN-queue entry the stack may hold, a port bucket per four. A stack made for a handful of connections (a fuzz
 * input's) then clears a few hundred bytes instead of 40 KiB, and a large
 * one keeps the full tables. Only lookup speed depends on the sizes, never
 * a result, so the engine stays deterministic for a given configuration.
 */
static void size_tables(sf_stack *s)
{
	uint64_t want = (uint64_t)s->cfg.max_connections + s->cfg.max_backlog;
	uint32_t nhash = pow2_within(want, SF_HASH_BUCKETS_MIN, SF_HASH_BUCKETS);
	uint32_t nports = pow2_within(nhash / 4, SF_PORT_BUCKETS_MIN, SF_PORT_BUCKETS);

	s->hash_mask = nhash - 1;
	s->port_mask = nports - 1;
}

SF_API sf_stack *sf_stack_new(const sf_config *cfg, const sf_env *env)
{
	sf_env e = *env;
	sf_stack *s;

	/* A host gives both allocator callbacks or neither. */
	if (!e.alloc != !e.free)
		return NULL;
	if (!e.alloc) {
		e.alloc = sys_alloc;
		e.free = sys_free;
	}
	s = env_calloc(&e, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->env = e;
	s->next_conn_id = 1;
	if (s->cfg.ephemeral_lo == 0 || s->cfg.ephemeral_hi < s->cfg.ephemeral_lo) {
		s->cfg.ephemeral_lo = 32768;
		s->cfg.ephemeral_hi = 60999;
	}
	s->next_ephemeral = s->cfg.ephemeral_lo;
	if (s->cfg.mss == 0)
		s->cfg.mss = SF_DEFAULT_MSS4;
	if (s->cfg.rto_initial == 0)
		s->cfg.rto_initial = 1; /* every timer must move the clock forward */
	if (s->cfg.rto_max < s->cfg.rto_initial)
		s->cfg.rto_max = s->cfg.rto_initial;
	size_tables(s);
	s->hash = stack_table(s, hash_bytes(s));
	s->ports = stack_table(s, ports_bytes(s));
	/* The scratch buffer comes with the first ring (sf_stack_scratch). */
	if (!s->hash || !s->ports)
		goto fail;
	return s;
fail:
	stack_release(s);
	return NULL;
}

/*
 * Only a payload that wraps around a ring is copied to scratch, so the
 * stack gets its 64 KiB scratch when it makes its first ring, not when it is
 * made: a stack that never buffers data (most short fuzz inputs) never
 * allocates it. It is written before it is read: no need to clear it.
 */
int sf_stack_scratch(sf_stack *s)
{
	if (!s->scratch)
		s->scratch = env_alloc(&s->env, SF_MAX_PACKET + 1);
	return s->scratch ? 0 : -1;
}

/* Frees every connection (which frees SYN-queue entries of listeners). */
SF_API void sf_stack_free(sf_stack *s)
{
	if (!s)
		return;
	while (s->head)
		sf_conn_free(s, s->head);
	env_free(&s->env, s->handles, (size_t)s->nhandles * sizeof(*s->handles));
	env_free(&s->env, s->heap, (size_t)s->heap_cap * sizeof(*s->heap));
	stack_release(s);
}

/* ---- Time ---- */

SF_API uint64_t sf_now(const sf_stack *s)
{
	return s->now;
}

SF_API uint64_t sf_next_timer(const sf_stack *s)
{
	return s->heap_len ? s->heap[0]->key : SF_NEVER;
}

/*
 * Timers fire at their own deadlines even when the caller jumps far ahead:
 * the clock steps to each due deadline in turn, so a retransmission schedule
 * does not depend on how often sf_tick() is called.
 */
SF_API void sf_tick(sf_stack *s, uint64_t now)
{
	uint64_t t;

	if (now < s->now)
		return;
	while ((t = sf_next_timer(s)) <= now) {
		if (t > s->now)
			s->now = t;
		sf_fire_next_timer(s);
	}
	s->now = now;
}

/* ---- Observation ---- */

SF_API void sf_get_stats(const sf_stack *s, sf_stats *stats)
{
	*stats = s->stats;
}

SF_API void sf_get_mem(const sf_stack *s, sf_mem_info *m)
{
	memset(m, 0, sizeof(*m));
	m->in_use = s->mem_in_use;
	m->peak = s->mem_peak;
	m->limit = s->cfg.mem_limit;
	m->tcb_size = sizeof(sf_conn);
	m->half_open_size = sizeof(sf_req);
	m->connections = s->nconns;
	m->half_open = s->nreqs;
	m->handles = s->nhandles_open;
}
