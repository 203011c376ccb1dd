/*
 * The transition table (RFC 9293 Figure 5 plus the §3.10 text) and the
 * invariant checker that tests and fuzz targets run after every event
 * (DESIGN "Oracles" 2 and 3).
 */
#include <stdio.h>
#include <string.h>

#include "tcp_internal.h"

#define B(c) (1u << (c))
/* Causes that end a connection from any synchronized state. */
#define ENDS (B(SF_CAUSE_RCV_RST) | B(SF_CAUSE_ABORT) | B(SF_CAUSE_TIMEOUT_RETRANS) | \
	      B(SF_CAUSE_TIMEOUT_USER))

/* legal[from][to]: the causes for which from -> to is an edge. */
static const uint32_t legal[SF_STATE_COUNT][SF_STATE_COUNT] = {
	[SF_CLOSED] = {
		[SF_LISTEN] = B(SF_CAUSE_OPEN_PASSIVE),
		[SF_SYN_SENT] = B(SF_CAUSE_OPEN_ACTIVE),
	},
	[SF_LISTEN] = {
		[SF_CLOSED] = B(SF_CAUSE_CLOSE) | B(SF_CAUSE_ABORT),
		[SF_SYN_RECEIVED] = B(SF_CAUSE_RCV_SYN),
		[SF_SYN_SENT] = B(SF_CAUSE_OPEN_ACTIVE), /* active OPEN in LISTEN (§3.10.1) */
	},
	[SF_SYN_SENT] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_CLOSE),
		[SF_SYN_RECEIVED] = B(SF_CAUSE_RCV_SYN),
		[SF_ESTABLISHED] = B(SF_CAUSE_RCV_SYN_ACK),
	},
	[SF_SYN_RECEIVED] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_CLOSE),
		[SF_LISTEN] = B(SF_CAUSE_RCV_RST) | B(SF_CAUSE_RCV_SYN), /* U-11, U-13 */
		[SF_ESTABLISHED] = B(SF_CAUSE_RCV_ACK) | B(SF_CAUSE_RCV_DATA),
		[SF_FIN_WAIT_1] = B(SF_CAUSE_CLOSE),
		[SF_CLOSE_WAIT] = B(SF_CAUSE_RCV_FIN),
	},
	[SF_ESTABLISHED] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_TIMEOUT_KEEPALIVE),
		[SF_FIN_WAIT_1] = B(SF_CAUSE_CLOSE),
		[SF_CLOSE_WAIT] = B(SF_CAUSE_RCV_FIN),
	},
	[SF_FIN_WAIT_1] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_RCV_DATA),
		[SF_FIN_WAIT_2] = B(SF_CAUSE_RCV_ACK),
		[SF_CLOSING] = B(SF_CAUSE_RCV_FIN),
		/* Figure 5, Note 2: a FIN that comes with the ACK of ours. */
		[SF_TIME_WAIT] = B(SF_CAUSE_RCV_FIN),
	},
	[SF_FIN_WAIT_2] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_RCV_DATA) | B(SF_CAUSE_TIMEOUT_FIN_WAIT_2) |
			      B(SF_CAUSE_TIMEOUT_KEEPALIVE),
		[SF_TIME_WAIT] = B(SF_CAUSE_RCV_FIN),
	},
	[SF_CLOSE_WAIT] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_TIMEOUT_KEEPALIVE),
		[SF_LAST_ACK] = B(SF_CAUSE_CLOSE),
	},
	[SF_CLOSING] = {
		[SF_CLOSED] = ENDS,
		[SF_TIME_WAIT] = B(SF_CAUSE_RCV_ACK),
	},
	[SF_LAST_ACK] = {
		[SF_CLOSED] = ENDS | B(SF_CAUSE_RCV_ACK),
	},
	[SF_TIME_WAIT] = {
		[SF_CLOSED] = B(SF_CAUSE_TIMEOUT_TIME_WAIT) | B(SF_CAUSE_RCV_RST) |
			      B(SF_CAUSE_ABORT) | B(SF_CAUSE_RCV_SYN),
	},
};

SF_API bool sf_transition_legal(sf_state from, sf_state to, sf_cause cause)
{
	if ((unsigned)from >= SF_STATE_COUNT || (unsigned)to >= SF_STATE_COUNT ||
	    (unsigned)cause >= SF_CAUSE_COUNT)
		return false;
	return (legal[from][to] & B(cause)) != 0;
}

void sf_record_transition(sf_stack *s, uint32_t conn_id, sf_state from, sf_state to,
			  sf_cause cause)
{
	if (s->bad.seen || sf_transition_legal(from, to, cause))
		return;
	s->bad.seen = true;
	s->bad.conn_id = conn_id;
	s->bad.from = (uint8_t)from;
	s->bad.to = (uint8_t)to;
	s->bad.cause = (uint8_t)cause;
}

/* ---- The checker ---- */

typedef struct sf_why {
	char *buf;
	size_t cap;
} sf_why;

static int fail(sf_why *w, uint32_t conn_id, const char *what)
{
	if (w->buf && w->cap)
		snprintf(w->buf, w->cap, "conn %u: %s", (unsigned)conn_id, what);
	return -1;
}

static bool timers_fit_state(const sf_conn *c)
{
	switch (c->state) {
	case SF_CLOSED:
	case SF_LISTEN:
		return c->rtx_at == SF_NEVER && c->ka_at == SF_NEVER && c->wait_at == SF_NEVER;
	case SF_TIME_WAIT:
		return c->wait_at != SF_NEVER && c->rtx_at == SF_NEVER;
	case SF_SYN_SENT:
	case SF_SYN_RECEIVED:
		return c->rtx_at != SF_NEVER;
	case SF_FIN_WAIT_2:
		/* An orphan there is bounded by the FIN-WAIT-2 timeout (seed 6). */
		return c->sd >= 0 || c->wait_at != SF_NEVER;
	default:
		/* Something unacknowledged always has a retransmission timer. */
		return c->snd_una == c->snd_nxt || c->rtx_at != SF_NEVER;
	}
}

/* Every armed deadline is in the timer heap under the right key. */
static bool scheduled(const sf_node *n, uint64_t t)
{
	return t == SF_NEVER ? n->heap_pos == 0 : (n->heap_pos != 0 && n->key == t);
}

static int check_seq(const sf_conn *c, sf_why *w)
{
	if (c->state == SF_CLOSED || c->state == SF_LISTEN)
		return 0;
	if (!sf_seq_le(c->snd_una, c->snd_nxt))
		return fail(w, c->conn_id, "SND.UNA > SND.NXT");
	if (!sf_seq_le(c->iss, c->snd_una))
		return fail(w, c->conn_id, "SND.UNA < ISS");
	if (c->state == SF_SYN_SENT)
		return 0;
	if (!sf_seq_le(c->rcv_nxt, c->rcv_adv))
		return fail(w, c->conn_id, "advertised right edge behind RCV.NXT");
	if (c->rcv_adv - c->rcv_nxt > SF_MAX_WINDOW)
		return fail(w, c->conn_id, "receive window above 65535 without scaling");
	/* What was sent never runs past what was queued (+ SYN and FIN). */
	if (sf_seq_gt(c->snd_nxt, c->snd_data_seq + c->snd.len + (c->fin_sent ? 1 : 0)))
		return fail(w, c->conn_id, "SND.NXT beyond the queued data");
	if (c->snd.len && !sf_seq_le(c->snd_una, c->snd_data_seq))
		return fail(w, c->conn_id, "acknowledged data still in the send buffer");
	return 0;
}

static int check_buffers(const sf_conn *c, sf_why *w)
{
	if (c->snd.len > c->snd.cap || c->rcv.len > c->rcv.cap)
		return fail(w, c->conn_id, "ring holds more than its size");
	if (c->snd.len > c->sndbuf)
		return fail(w, c->conn_id, "send buffer over its limit");
	if (c->rcv.len > c->rcvbuf)
		return fail(w, c->conn_id, "receive buffer over its limit");
	return 0;
}

static int check_listener(const sf_conn *l, sf_why *w, size_t *mem, uint32_t *nreqs)
{
	uint32_t n = 0, a = 0;

	for (const sf_req *r = l->syn_head; r; r = r->next) {
		n++;
		*mem += sizeof(*r) + r->syn_len;
		if (r->listener != l)
			return fail(w, r->conn_id, "SYN-queue entry with a wrong listener");
		if (r->deadline == SF_NEVER)
			return fail(w, r->conn_id, "SYN-queue entry without a timer");
		if (!scheduled(&r->node, r->deadline))
			return fail(w, r->conn_id, "timer not scheduled");
	}
	for (const sf_conn *c = l->aq_head; c; c = c->aq_next)
		a++;
	if (n != l->syn_count || a != l->aq_count)
		return fail(w, l->conn_id, "queue counts disagree with the queues");
	if (n > l->backlog && n > l->qbound)
		return fail(w, l->conn_id, "SYN queue over the backlog");
	if (a > l->backlog + 1 && a > l->qbound)
		return fail(w, l->conn_id, "accept queue over the backlog");
	*nreqs += n;
	return 0;
}

static int check_conn(const sf_stack *s, const sf_conn *c, sf_why *w)
{
	if (c->state >= SF_STATE_COUNT)
		return fail(w, c->conn_id, "state out of range");
	if (c->sd >= 0 && (c->sd >= s->nhandles || s->handles[c->sd] != c))
		return fail(w, c->conn_id, "handle table disagrees");
	if (c->sd < 0 && !c->in_accept_queue && c->state == SF_CLOSED)
		return fail(w, c->conn_id, "CLOSED orphan not freed");
	if (!timers_fit_state(c))
		return fail(w, c->conn_id, "timers inconsistent with the state");
	if (!scheduled(&c->node, sf_conn_next_timer(c)))
		return fail(w, c->conn_id, "timer not scheduled");
	if (c->state != SF_CLOSED && !c->bound)
		return fail(w, c->conn_id, "connection without its port");
	if (check_seq(c, w) || check_buffers(c, w))
		return -1;
	return 0;
}

SF_API int sf_check_invariants(const sf_stack *s, char *why, size_t cap)
{
	sf_why w = { why, cap };
	size_t mem = 0;
	uint32_t nconns = 0, nreqs = 0, ntw = 0, nh = 0, ntimers = 0;

	if (s->bad.seen) {
		if (why && cap)
			snprintf(why, cap, "conn %u: illegal transition %s -> %s (%s)",
				 (unsigned)s->bad.conn_id, sf_state_name((sf_state)s->bad.from),
				 sf_state_name((sf_state)s->bad.to),
				 sf_cause_name((sf_cause)s->bad.cause));
		return -1;
	}
	for (const sf_conn *c = s->head; c; c = c->next) {
		nconns++;
		mem += sizeof(*c) + c->snd.cap + c->rcv.cap + c->early_len;
		ntw += c->state == SF_TIME_WAIT;
		nh += c->sd >= 0;
		ntimers += c->node.heap_pos != 0;
		for (const sf_req *r = c->syn_head; r; r = r->next)
			ntimers += r->node.heap_pos != 0;
		if (check_conn(s, c, &w) || check_listener(c, &w, &mem, &nreqs))
			return -1;
	}
	if (nconns != s->nconns || nreqs != s->nreqs || ntw != s->ntime_wait ||
	    nh != s->nhandles_open)
		return fail(&w, 0, "stack counters disagree with the lists");
	if (ntimers != s->heap_len)
		return fail(&w, 0, "timer heap holds objects that are gone");
	if (mem != s->mem_in_use)
		return fail(&w, 0, "memory accounting disagrees with what is held");
	if (s->cfg.mem_limit && s->mem_in_use > s->cfg.mem_limit)
		return fail(&w, 0, "memory over the limit");
	if (ntw > s->cfg.max_time_wait)
		return fail(&w, 0, "more TIME-WAIT connections than max_time_wait");
	return 0;
}
