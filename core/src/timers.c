/*
 * Timeouts (RFC 9293 §3.10.8) on the caller's clock: retransmission of SYN,
 * SYN-ACK, data and FIN with exponential backoff (RFC 6298 §5), the give-up
 * thresholds (RFC9293:MUST-20..23), TIME-WAIT, the FIN-WAIT-2 timeout and
 * keep-alive (RFC9293:MUST-24..29). Each connection has three deadlines;
 * the earliest of them is the connection's key in the stack's timer heap,
 * and sf_tick() fires them in deadline order.
 */
#include <stdlib.h>

#include "tcp_internal.h"

#define SF_US_PER_S 1000000ull
#define SF_US_PER_MS 1000ull

static bool handshaking(const sf_conn *c)
{
	return c->state == SF_SYN_SENT || c->state == SF_SYN_RECEIVED;
}

static uint64_t user_deadline(const sf_conn *c)
{
	return c->rtx_start + (uint64_t)c->user_timeout * SF_US_PER_MS;
}

/* ---- The timer heap: one entry per object with an armed timer, keyed by
 * its earliest deadline, so sf_next_timer() and firing are O(log n). ---- */

static bool node_before(const sf_node *a, const sf_node *b)
{
	return a->key < b->key || (a->key == b->key && a->tie < b->tie);
}

static void heap_place(sf_stack *s, uint32_t i, sf_node *n)
{
	s->heap[i] = n;
	n->heap_pos = i + 1;
}

static void sift_up(sf_stack *s, uint32_t i)
{
	sf_node *n = s->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!node_before(n, s->heap[parent]))
			break;
		heap_place(s, i, s->heap[parent]);
		i = parent;
	}
	heap_place(s, i, n);
}

static void sift_down(sf_stack *s, uint32_t i)
{
	sf_node *n = s->heap[i];

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		sf_node *best = n;

		if (l < s->heap_len && node_before(s->heap[l], best)) {
			m = l;
			best = s->heap[l];
		}
		if (r < s->heap_len && node_before(s->heap[r], best)) {
			m = r;
			best = s->heap[r];
		}
		if (m == i)
			break;
		heap_place(s, i, best);
		i = m;
	}
	heap_place(s, i, n);
}

void sf_timer_remove(sf_stack *s, sf_node *n)
{
	uint32_t i;
	sf_node *last;

	if (!n->heap_pos)
		return;
	i = n->heap_pos - 1;
	n->heap_pos = 0;
	last = s->heap[--s->heap_len];
	if (last == n)
		return;
	heap_place(s, i, last);
	sift_up(s, i);
	sift_down(s, last->heap_pos - 1);
}

/* The heap grows by doubling; it is a stack table like the hash buckets. If
 * it cannot grow, the object keeps no timer entry and this is reported by
 * sf_check_invariants() ("timer not scheduled"). */
static bool heap_reserve(sf_stack *s)
{
	sf_node **t;
	uint32_t cap;

	if (s->heap_len < s->heap_cap)
		return true;
	cap = s->heap_cap ? 2 * s->heap_cap : 64;
	t = sf_table_grow(s, s->heap, (size_t)s->heap_cap * sizeof(*t), (size_t)cap * sizeof(*t));
	if (!t)
		return false;
	s->heap = t;
	s->heap_cap = cap;
	return true;
}

static void timer_sync(sf_stack *s, sf_node *n, uint64_t key)
{
	if (key == SF_NEVER) {
		sf_timer_remove(s, n);
		return;
	}
	if (!n->heap_pos) {
		if (!heap_reserve(s))
			return;
		n->key = key;
		heap_place(s, s->heap_len++, n);
		sift_up(s, n->heap_pos - 1);
		return;
	}
	n->key = key;
	sift_up(s, n->heap_pos - 1);
	sift_down(s, n->heap_pos - 1);
}

/* Call after changing any of c's deadlines. */
void sf_timers_changed(sf_stack *s, sf_conn *c)
{
	timer_sync(s, &c->node, sf_conn_next_timer(c));
}

void sf_req_timer_changed(sf_stack *s, sf_req *r)
{
	timer_sync(s, &r->node, r->deadline);
}

/* RFC6298:5 (5.1, 5.3): (re)start the timer at now + RTO. With
 * TCP_USER_TIMEOUT the timer never runs past the user's deadline, as in
 * Linux's tcp_clamp_rto_to_user_timeout(). */
void sf_arm_rtx(sf_stack *s, sf_conn *c)
{
	uint64_t at = s->now + c->rto;

	if (c->user_timeout && user_deadline(c) < at)
		at = user_deadline(c) > s->now ? user_deadline(c) : s->now;
	c->rtx_at = at;
	sf_timers_changed(s, c);
}

static bool keepalive_state(const sf_conn *c)
{
	return c->state == SF_ESTABLISHED || c->state == SF_CLOSE_WAIT ||
	       c->state == SF_FIN_WAIT_2;
}

/* Keep-alive runs only if the user turned it on (RFC9293:MUST-24, MUST-25);
 * the idle time counts from the last segment received (MUST-26). */
void sf_arm_keepalive(sf_stack *s, sf_conn *c)
{
	c->ka_probes = 0;
	if (!c->keepalive || !keepalive_state(c)) {
		c->ka_at = SF_NEVER;
	} else {
		c->ka_at = c->last_rcv + (uint64_t)c->ka_idle * SF_US_PER_S;
		if (c->ka_at <= s->now)
			c->ka_at = s->now + 1;
	}
	sf_timers_changed(s, c);
}

uint64_t sf_conn_next_timer(const sf_conn *c)
{
	uint64_t t = c->rtx_at;

	if (c->ka_at < t)
		t = c->ka_at;
	if (c->wait_at < t)
		t = c->wait_at;
	return t;
}

/* Has the retransmission of this segment gone on long enough to give up?
 * RFC9293:MUST-20/21/22: a count (syn_retries, synack_retries, retries2) or,
 * when set, TCP_USER_TIMEOUT in time. */
static bool rtx_expired(const sf_stack *s, const sf_conn *c)
{
	uint32_t limit = s->cfg.retries2;

	if (c->user_timeout)
		return s->now >= user_deadline(c);
	if (c->state == SF_SYN_SENT)
		limit = c->syn_retries;
	else if (c->state == SF_SYN_RECEIVED)
		limit = s->cfg.synack_retries;
	return c->retransmits >= limit;
}

/* RFC6298:5 (5.4-5.6): resend the earliest unacked segment and back off.
 * Giving up reports ETIMEDOUT without a reset, as Linux's tcp_write_err(). */
static void rtx_timeout(sf_stack *s, sf_conn *c)
{
	c->rtx_at = SF_NEVER;
	sf_timers_changed(s, c);
	if (rtx_expired(s, c)) {
		sf_conn_reset(s, c, -ETIMEDOUT, c->user_timeout ? SF_CAUSE_TIMEOUT_USER
							       : SF_CAUSE_TIMEOUT_RETRANS);
		return;
	}
	sf_retransmit(s, c);
	c->retransmits++;
	if (handshaking(c) || !sf_seq_gt(c->snd_una, c->iss))
		c->syn_timed_out = true;
	c->rto = c->rto * 2 < s->cfg.rto_max ? c->rto * 2 : s->cfg.rto_max;
	sf_arm_rtx(s, c);
}

/*
 * Keep-alive (RFC9293:MUST-26, SHLD-12, RFC1122:4.2.3.6-b): with nothing
 * outstanding, send <SEQ=SND.UNA-1><ACK=RCV.NXT> without data every interval;
 * after ka_cnt unanswered probes reset the connection with ETIMEDOUT, as
 * Linux's tcp_keepalive_timer() does (one lost probe is not enough, MUST-29).
 */
static void keepalive_timeout(sf_stack *s, sf_conn *c)
{
	/* With data outstanding or queued there is no probe (MUST-26); the
	 * timer rests until the next segment arrives and re-arms it, rather
	 * than firing every idle period while a window stays closed. */
	if (c->snd_una != c->snd_nxt || c->snd.len) {
		c->ka_at = SF_NEVER;
		sf_timers_changed(s, c);
		return;
	}
	if (c->ka_probes >= c->ka_cnt) {
		sf_send_rst_conn(s, c);
		sf_conn_reset(s, c, -ETIMEDOUT, SF_CAUSE_TIMEOUT_KEEPALIVE);
		return;
	}
	sf_send_ack_at(s, c, c->snd_una - 1);
	c->ka_probes++;
	c->ka_at = s->now + (uint64_t)c->ka_intvl * SF_US_PER_S;
	sf_timers_changed(s, c);
}

/* TIME-WAIT ends after 2*MSL (RFC9293:MUST-13); an orphaned FIN-WAIT-2 ends
 * silently after cfg.fin_wait_2 (Linux tcp_fin_timeout). */
static void wait_timeout(sf_stack *s, sf_conn *c)
{
	c->wait_at = SF_NEVER;
	sf_timers_changed(s, c);
	if (c->state == SF_TIME_WAIT)
		sf_conn_closed(s, c, SF_CAUSE_TIMEOUT_TIME_WAIT);
	else if (c->state == SF_FIN_WAIT_2)
		sf_conn_closed(s, c, SF_CAUSE_TIMEOUT_FIN_WAIT_2);
}

/* Fire whichever of c's timers is due; one per call, since each can free c. */
static void fire_conn(sf_stack *s, sf_conn *c)
{
	if (c->wait_at <= s->now)
		wait_timeout(s, c);
	else if (c->rtx_at <= s->now)
		rtx_timeout(s, c);
	else if (c->ka_at <= s->now)
		keepalive_timeout(s, c);
}

/* Fire the earliest timer (ties: the lower conn_id first). */
void sf_fire_next_timer(sf_stack *s)
{
	sf_node *n = s->heap[0];

	if (n->kind == SF_NODE_REQ)
		sf_req_timer(s, (sf_req *)n);
	else
		fire_conn(s, (sf_conn *)n);
}
