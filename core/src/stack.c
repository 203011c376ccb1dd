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
	cfg->max_backlog = 4096;            /* net.core.somaxconn */
	cfg->max_time_wait = 4096;
	cfg->max_connections = 65536;
	cfg->mem_limit = 0;
	cfg->ephemeral_lo = 32768;          /* net.ipv4.ip_local_port_range */
	cfg->ephemeral_hi = 60999;
}

/* ---- Memory accounting ---- */

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
	p = clear ? calloc(1, size) : malloc(size ? size : 1);
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
	free(p);
}

/* ---- Creation ---- */

/* The stack's own fixed tables (hash buckets, scratch, handle table) are not
 * part of in_use, which the header defines as control blocks + buffers: after
 * every connection is gone, in_use is exactly 0. */
static void *stack_table(size_t size)
{
	return calloc(1, size);
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
	sf_stack *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->env = *env;
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
	s->hash = stack_table(((size_t)s->hash_mask + 1) * sizeof(sf_node *));
	s->ports = stack_table(((size_t)s->port_mask + 1) * sizeof(sf_conn *));
	/* The scratch buffer comes with the first ring (sf_stack_scratch). */
	if (!s->hash || !s->ports)
		goto fail;
	return s;
fail:
	free(s->hash);
	free(s->ports);
	free(s->scratch);
	free(s);
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
		s->scratch = malloc(SF_MAX_PACKET + 1);
	return s->scratch ? 0 : -1;
}

/* Frees every connection (which frees SYN-queue entries of listeners). */
SF_API void sf_stack_free(sf_stack *s)
{
	if (!s)
		return;
	while (s->head)
		sf_conn_free(s, s->head);
	free(s->handles);
	free(s->heap);
	free(s->ports);
	free(s->hash);
	free(s->scratch);
	free(s);
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
