/*
 * Passive open: segments arriving at a listener (RFC 9293 §3.10.7.2) and at
 * its half-open (SYN-queue) entries, which are small sf_req records like
 * Linux's request_sock. An entry becomes a full connection on the third ACK
 * and moves to the accept queue.
 *
 * Bounds (DESIGN seed 11): the SYN queue holds at most `backlog` entries and
 * the accept queue at most backlog + 1 (Linux sk_acceptq_is_full()). When
 * either is full, new SYNs are dropped silently; there are no SYN cookies.
 */
#include <string.h>

#include "tcp_internal.h"

bool sf_acceptq_full(const sf_conn *l)
{
	return l->aq_count > l->backlog;
}

static uint64_t synack_timeout(const sf_stack *s, uint32_t n)
{
	uint64_t t = s->cfg.rto_initial << (n < 30 ? n : 30);

	return t < s->cfg.rto_max ? t : s->cfg.rto_max;
}

/* Take r out of its listener's SYN queue, the timer heap and the lookup
 * table, and free it. */
static void req_remove(sf_stack *s, sf_req *r)
{
	sf_conn *l = r->listener;

	for (sf_req **pp = &l->syn_head; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	l->syn_tail = NULL;
	for (sf_req *t = l->syn_head; t; t = t->next)
		l->syn_tail = t;
	l->syn_count--;
	s->nreqs--;
	sf_timer_remove(s, &r->node);
	sf_hash_del(s, &r->node);
	sf_mem_free(s, r->syn_data, r->syn_len);
	sf_mem_free(s, r, sizeof(*r));
}

/* The entry ends: report its last transition and free it. */
void sf_req_drop(sf_stack *s, sf_req *r, sf_state to, sf_cause cause)
{
	sf_report(s, r->conn_id, SF_SYN_RECEIVED, to, cause);
	req_remove(s, r);
}

/* LISTEN + SYN (RFC9293:U-4): a new SYN-queue entry answered by
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Text on the SYN is queued (the
 * SYN-ACK acknowledges only the SYN) and delivered once ESTABLISHED; Linux
 * drops it unless TCP Fast Open is in use. */
static void listen_syn(sf_stack *s, sf_conn *l, const sf_segment *seg)
{
	sf_req *r;

	if (l->syn_count >= l->backlog) {
		s->stats.drops_syn_queue_full++;
		return;
	}
	if (sf_acceptq_full(l)) {
		s->stats.drops_accept_queue_full++;
		return;
	}
	r = sf_mem_alloc(s, sizeof(*r));
	if (!r)
		return;
	r->node.kind = SF_NODE_REQ;
	r->node.local.addr = seg->dst;
	r->node.local.port = seg->dport;
	r->node.remote.addr = seg->src;
	r->node.remote.port = seg->sport;
	r->listener = l;
	r->conn_id = s->next_conn_id++;
	r->irs = seg->seq;
	if (s->isn_override_set) {
		r->iss = s->isn_override; /* reopened from TIME-WAIT (RFC9293:MAY-2) */
		s->isn_override_set = false;
	} else {
		r->iss = s->env.isn.next(s->env.isn.self, &r->node.local, &r->node.remote,
					 s->now);
	}
	r->snd_wnd = seg->window;
	r->peer_mss = sf_peer_mss(seg);
	r->rcv_mss = l->rcv_mss;
	r->rcv_wnd = (uint16_t)(l->rcvbuf < SF_MAX_WINDOW ? l->rcvbuf : SF_MAX_WINDOW);
	r->synack_sent = s->now;
	r->syn_data = sf_copy_syn_text(s, seg, r->rcv_wnd, &r->syn_len);
	r->deadline = s->now + synack_timeout(s, 0);
	r->node.tie = r->conn_id;
	if (l->syn_tail)
		l->syn_tail->next = r;
	else
		l->syn_head = r;
	l->syn_tail = r;
	l->syn_count++;
	s->nreqs++;
	sf_hash_add(s, &r->node);
	sf_req_timer_changed(s, r);
	sf_report(s, r->conn_id, SF_LISTEN, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN);
	sf_send_synack_req(s, r);
}

/* RFC 9293 §3.10.7.2, in the RFC's order. */
void sf_listen_input(sf_stack *s, sf_conn *l, const sf_segment *seg)
{
	/* First, check for a RST: ignore it (U-2). */
	if (seg->flags & SF_RST)
		return;
	/* Second, check for an ACK: <SEQ=SEG.ACK><CTL=RST>, listener unchanged (U-3). */
	if (seg->flags & SF_ACK) {
		sf_send_rst_reply(s, seg);
		return;
	}
	/* Third, check for a SYN (U-4). */
	if (seg->flags & SF_SYN) {
		listen_syn(s, l, seg);
		return;
	}
	/* Fourth, other text or control: drop (U-5). */
}

/* The entry becomes a full connection in SYN-RECEIVED, keeping its conn_id,
 * and joins the accept queue; the segment is then processed by it. */
static sf_conn *req_promote(sf_stack *s, sf_req *r)
{
	sf_conn *l = r->listener;
	sf_conn *c = sf_conn_new_id(s, l->family, r->conn_id);

	if (!c)
		return NULL;
	c->keepalive = l->keepalive;
	c->nodelay = l->nodelay;
	c->linger = l->linger;
	c->ka_idle = l->ka_idle;
	c->ka_intvl = l->ka_intvl;
	c->ka_cnt = l->ka_cnt;
	c->user_timeout = l->user_timeout;
	c->sndbuf = l->sndbuf;
	c->rcvbuf = l->rcvbuf;
	c->user_mss = l->user_mss;
	c->rcv_mss = r->rcv_mss;
	sf_bind_conn(s, c, &r->node.local);
	c->node.remote = r->node.remote;
	c->state = SF_SYN_RECEIVED; /* reported when the entry was made */
	c->from_listen = true;
	c->iss = r->iss;
	c->irs = r->irs;
	c->snd_una = r->iss;
	c->snd_nxt = r->iss + 1;
	c->snd_data_seq = r->iss + 1;
	c->snd_wnd = c->max_snd_wnd = r->snd_wnd;
	c->snd_wl1 = r->irs;
	c->snd_wl2 = r->iss;
	c->rcv_nxt = r->irs + 1;
	c->rcv_adv = c->rcv_nxt + r->rcv_wnd;
	c->rcv_wnd = r->rcv_wnd;
	c->peer_mss = r->peer_mss;
	c->snd_mss = sf_effective_mss(c, r->peer_mss);
	c->last_rcv = s->now;
	c->last_oow_ack = r->last_oow_ack;
	c->syn_timed_out = r->num_timeout > 0;
	/* Karn: the handshake RTT counts only if the SYN-ACK was sent once. */
	c->rtt_active = r->num_timeout == 0;
	c->rtt_seq = r->iss + 1;
	c->rtt_start = r->synack_sent;
	c->rtx_start = r->synack_sent;
	c->early = r->syn_data; /* the queued SYN text moves along */
	c->early_len = r->syn_len;
	r->syn_data = NULL;
	r->syn_len = 0;
	c->listener = l;
	c->in_accept_queue = true;
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	l->aq_count++;
	/* The entry leaves without a report: the connection carries on its id. */
	req_remove(s, r);
	sf_hash_add(s, &c->node);
	return c;
}

static bool req_acceptable(const sf_req *r, const sf_segment *seg)
{
	uint32_t rcv_nxt = r->irs + 1, len = sf_seg_len(seg);

	/* RFC9293:U-10 (Table 6) with RCV.WND > 0, which a SYN-ACK always offers. */
	if (len == 0)
		return sf_seq_in(seg->seq, rcv_nxt, rcv_nxt + r->rcv_wnd);
	return sf_seq_in(seg->seq, rcv_nxt, rcv_nxt + r->rcv_wnd) ||
	       sf_seq_in(seg->seq + len - 1, rcv_nxt, rcv_nxt + r->rcv_wnd);
}

/* SYN-RECEIVED (from LISTEN) for a SYN-queue entry: RFC 9293 §3.10.7.4 in
 * the RFC's order, with Linux's tcp_check_req() choices. */
void sf_req_input(sf_stack *s, sf_req *r, const sf_segment *seg)
{
	sf_conn *c;

	/* A retransmitted SYN (lost SYN-ACK, DESIGN seed 13): send the SYN-ACK
	 * again, at most once per oow_ack_interval, and restart the timer. */
	if ((seg->flags & (SF_SYN | SF_ACK | SF_RST)) == SF_SYN && seg->seq == r->irs) {
		if (!sf_oow_limited(s, &r->last_oow_ack)) {
			sf_send_synack_req(s, r);
			r->deadline = s->now + synack_timeout(s, r->num_timeout);
			sf_req_timer_changed(s, r);
		}
		return;
	}
	/* First, check sequence number (U-10): unacceptable -> ACK, drop. */
	if (!req_acceptable(r, seg)) {
		s->stats.drops_unacceptable++;
		if (!(seg->flags & SF_RST) && !sf_oow_limited_seg(s, &r->last_oow_ack, seg))
			sf_send_req_ack(s, r);
		return;
	}
	/* Second, check the RST bit: exactly RCV.NXT -> back to LISTEN, the
	 * user is not told (U-11, RFC5961:3.2-b); elsewhere in the window ->
	 * challenge ACK (RFC5961:3.2-c applies to every state but SYN-SENT;
	 * Linux drops the entry on any in-window RST here). */
	if (seg->flags & SF_RST) {
		if (seg->seq == r->irs + 1) {
			sf_req_drop(s, r, SF_LISTEN, SF_CAUSE_RCV_RST);
		} else if (!sf_oow_limited(s, &r->last_oow_ack)) {
			s->stats.challenge_acks++;
			sf_send_req_ack(s, r);
		} else {
			s->stats.challenge_acks_limited++;
		}
		return;
	}
	/* Fourth, check the SYN bit: in-window SYN -> reset, back to LISTEN (U-13). */
	if (seg->flags & SF_SYN) {
		sf_send_rst_reply(s, seg);
		sf_req_drop(s, r, SF_LISTEN, SF_CAUSE_RCV_SYN);
		return;
	}
	/* Fifth, check the ACK field: none -> drop (U-14). */
	if (!(seg->flags & SF_ACK))
		return;
	/* It must acknowledge our SYN, else <SEQ=SEG.ACK><CTL=RST> (U-15). */
	if (seg->ack != r->iss + 1) {
		sf_send_rst_reply(s, seg);
		return;
	}
	/* Accept queue full: stay half-open, the SYN-ACK timer goes on
	 * (Linux tcp_abort_on_overflow = 0). */
	if (sf_acceptq_full(r->listener)) {
		r->acked = true;
		s->stats.drops_accept_queue_full++;
		return;
	}
	c = req_promote(s, r);
	if (c)
		sf_conn_input(s, c, seg);
}

/* SYN-ACK timeout: resend with a doubled interval (1, 2, 4, 8, 16 s ...);
 * after synack_retries resends the entry is dropped (DESIGN seed 11). */
void sf_req_timer(sf_stack *s, sf_req *r)
{
	if (r->num_timeout >= s->cfg.synack_retries) {
		sf_req_drop(s, r, SF_CLOSED, SF_CAUSE_TIMEOUT_RETRANS);
		return;
	}
	sf_send_synack_req(s, r);
	s->stats.retransmits++;
	r->num_timeout++;
	r->deadline = s->now + synack_timeout(s, r->num_timeout);
	sf_req_timer_changed(s, r);
}

/*
 * close() on a listener: half-open entries go silently; established children
 * not yet accepted are reset, as Linux's inet_csk_listen_stop() does.
 */
void sf_listener_close(sf_stack *s, sf_conn *l)
{
	while (l->syn_head)
		sf_req_drop(s, l->syn_head, SF_CLOSED, SF_CAUSE_CLOSE);
	while (l->aq_head) {
		sf_conn *c = l->aq_head;

		l->aq_head = c->aq_next;
		l->aq_count--;
		c->in_accept_queue = false;
		c->listener = NULL;
		c->aq_next = NULL;
		if (c->state == SF_CLOSED) {
			sf_conn_free(s, c);
			continue;
		}
		if (c->state >= SF_SYN_RECEIVED && c->state <= SF_CLOSE_WAIT)
			sf_send_rst_conn(s, c);
		sf_conn_reset(s, c, -ECONNRESET, SF_CAUSE_ABORT);
	}
	l->aq_tail = NULL;
}
