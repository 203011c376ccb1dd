/*
 * Segment arrival, RFC 9293 §3.10.7: demultiplexing, then one function per
 * group of states, each a flat sequence of blocks in the RFC's order
 * (sequence number, RST, SYN, ACK, URG, text, FIN), each opened by a one-line
 * comment stating the rule. LISTEN and the SYN queue live in listen.c.
 */
#include <string.h>

#include "tcp_internal.h"

/* TIME-WAIT reopening picks an ISN above everything the old incarnation
 * used (RFC9293:MAY-2 condition 1), like Linux: tw_snd_nxt + 65535 + 2. */
#define SF_TW_ISN_GAP (65535u + 2u)

uint32_t sf_seg_len(const sf_segment *seg)
{
	return (uint32_t)seg->payload_len + !!(seg->flags & SF_SYN) + !!(seg->flags & SF_FIN);
}

/* ---- Demultiplexing ---- */

static bool addr_is_ours(const sf_stack *s, const sf_addr *a)
{
	if (sf_addr_eq(a, &s->cfg.local4) || sf_addr_eq(a, &s->cfg.local6))
		return true;
	for (const sf_conn *c = s->head; c; c = c->next)
		if (c->bound && sf_addr_eq(&c->node.local.addr, a))
			return true;
	return false;
}

/* RFC9293:MUST-57 and MUST-63: nothing to or from a broadcast or multicast
 * address, nothing from an unspecified source; and only what is addressed
 * to us. */
static bool seg_admissible(sf_stack *s, const sf_segment *seg)
{
	if (seg->src.family != seg->dst.family ||
	    (seg->src.family != SF_AF_INET && seg->src.family != SF_AF_INET6))
		return false;
	/* Port 0 is reserved: such a segment is never answered. */
	if (seg->sport == 0 || seg->dport == 0)
		return false;
	if (sf_addr_is_group(&seg->dst) || sf_addr_is_group(&seg->src) ||
	    sf_addr_is_any(&seg->src))
		return false;
	return addr_is_ours(s, &seg->dst);
}

SF_API void sf_input(sf_stack *s, const sf_segment *seg)
{
	sf_endpoint local = { seg->dst, seg->dport }, remote = { seg->src, seg->sport };
	sf_node *n;
	sf_conn *l;

	s->stats.segs_in++;
	if (!seg_admissible(s, seg)) {
		s->stats.drops_not_ours++;
		return;
	}
	n = sf_hash_find(s, &local, &remote);
	if (n && n->kind == SF_NODE_CONN) {
		sf_conn_input(s, (sf_conn *)n, seg);
		return;
	}
	if (n && n->kind == SF_NODE_REQ) {
		sf_req_input(s, (sf_req *)n, seg);
		return;
	}
	l = sf_find_listener(s, &local);
	if (l) {
		sf_listen_input(s, l, seg);
		return;
	}
	/* No TCB (CLOSED): RST dropped, anything else answered with RST (U-1). */
	s->stats.drops_no_conn++;
	sf_send_rst_reply(s, seg);
}

SF_API int sf_input_packet(sf_stack *s, const uint8_t *pkt, size_t len)
{
	sf_segment seg;
	int err = sf_wire_parse(pkt, len, &seg);

	if (err) {
		s->stats.segs_in++;
		s->stats.drops_parse++;
		return err;
	}
	sf_input(s, &seg);
	return 0;
}

/* ---- Shared steps ---- */

/* RFC9293:U-10, Table 6. A zero window still lets the control bits of a
 * segment at RCV.NXT through (RFC9293:MUST-66); its data is trimmed later. */
static bool seq_acceptable(const sf_conn *c, const sf_segment *seg)
{
	uint32_t len = sf_seg_len(seg), wnd = c->rcv_adv - c->rcv_nxt;
	uint32_t lo = c->rcv_nxt, hi = c->rcv_nxt + wnd;

	if (wnd == 0)
		return seg->seq == c->rcv_nxt;
	if (len == 0)
		return sf_seq_in(seg->seq, lo, hi);
	return sf_seq_in(seg->seq, lo, hi) || sf_seq_in(seg->seq + len - 1, lo, hi);
}

/* SND.UNA < SEG.ACK <= SND.NXT: new data (or our SYN/FIN) acknowledged.
 * RFC 6298 §5.2/5.3: stop the timer when all is acked, else restart it. */
static void ack_advance(sf_stack *s, sf_conn *c, uint32_t ack)
{
	if (sf_seq_gt(ack, c->snd_data_seq)) {
		uint32_t n = ack - c->snd_data_seq;

		if (n > c->snd.len)
			n = c->snd.len;
		sf_ring_drop(&c->snd, n);
		c->snd_data_seq += n;
	}
	c->snd_una = ack;
	if (c->rtt_active && sf_seq_ge(ack, c->rtt_seq)) {
		c->rtt_active = false;
		sf_rtt_sample(s, c, s->now - c->rtt_start);
	}
	c->retransmits = 0;
	if (c->snd_una == c->snd_nxt) {
		c->rtx_at = SF_NEVER;
		sf_timers_changed(s, c);
	} else {
		c->rtx_start = s->now;
		sf_arm_rtx(s, c);
	}
}

/* RFC9293:U-16: update the send window only from a newer segment. */
static void update_snd_wnd(sf_conn *c, const sf_segment *seg)
{
	if (!sf_seq_le(c->snd_una, seg->ack) || !sf_seq_le(seg->ack, c->snd_nxt))
		return;
	if (sf_seq_lt(c->snd_wl1, seg->seq) ||
	    (c->snd_wl1 == seg->seq && sf_seq_le(c->snd_wl2, seg->ack))) {
		c->snd_wnd = seg->window; /* unscaled: no window scaling yet */
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
	}
}

/* The handshake is over: RFC6298:2.1 asks for RTO = 3 s if the SYN or
 * SYN-ACK had to be retransmitted and no RTT was measured. */
static void enter_established(sf_stack *s, sf_conn *c, sf_cause cause)
{
	sf_set_state(s, c, SF_ESTABLISHED, cause);
	c->connected = true;
	if (c->syn_timed_out && !c->has_srtt && c->rto < SF_RTO_FALLBACK)
		c->rto = SF_RTO_FALLBACK;
	c->last_rcv = s->now;
	sf_arm_keepalive(s, c);
}

/* A received reset in a synchronized state or SYN-RECEIVED (U-11, U-12).
 * Errors are Linux's (tcp_reset()): EPIPE in CLOSE-WAIT, else ECONNRESET;
 * SYN-RECEIVED from an active open reports ECONNREFUSED (U-11). */
static void rst_received(sf_stack *s, sf_conn *c)
{
	int err = -ECONNRESET;

	if (c->state == SF_SYN_RECEIVED)
		err = c->from_listen ? 0 : -ECONNREFUSED;
	else if (c->state == SF_CLOSE_WAIT)
		err = -EPIPE;
	sf_conn_reset(s, c, err, SF_CAUSE_RCV_RST);
}

/* ---- Text that came with a SYN ---- */

/* What the processing of one segment decided, for the steps that follow. */
typedef struct sf_rx {
	bool need_ack;
	bool closed;        /* the connection is gone or CLOSED: stop */
} sf_rx;

static bool text_step(sf_stack *s, sf_conn *c, const sf_segment *seg, sf_rx *rx);
static void fin_step(sf_stack *s, sf_conn *c, sf_rx *rx);

/* Process the text (and FIN) that came on a SYN, now that the connection is
 * synchronized: it starts at IRS + 1 (RFC 9293 §3.10.7.3 "continue
 * processing at the sixth step", U-4, U-8). */
static void syn_text(sf_stack *s, sf_conn *c, const uint8_t *data, size_t len, bool fin,
		     sf_rx *rx)
{
	sf_segment t;

	memset(&t, 0, sizeof(t));
	t.seq = c->irs + 1;
	t.payload = data;
	t.payload_len = len;
	if (text_step(s, c, &t, rx) && fin && !c->fin_rcvd)
		fin_step(s, c, rx);
}

/* The queued text of the peer's SYN, once ESTABLISHED. */
static void deliver_early(sf_stack *s, sf_conn *c, sf_rx *rx)
{
	if (!c->early)
		return;
	syn_text(s, c, c->early, c->early_len, false, rx);
	sf_free_early(s, c);
}

/* ---- SYN-SENT (§3.10.7.3) ---- */

static void syn_sent_input(sf_stack *s, sf_conn *c, const sf_segment *seg)
{
	bool ack_ok = false;

	/* First, check the ACK bit: SEG.ACK =< ISS or > SND.NXT -> RST, drop (U-6). */
	if (seg->flags & SF_ACK) {
		if (sf_seq_le(seg->ack, c->iss) || sf_seq_gt(seg->ack, c->snd_nxt)) {
			sf_send_rst_reply(s, seg);
			return;
		}
		ack_ok = true;
	}
	/* Second, check the RST bit: only with an acceptable ACK (U-7, RFC5961:3.2-d). */
	if (seg->flags & SF_RST) {
		if (ack_ok)
			sf_conn_reset(s, c, -ECONNREFUSED, SF_CAUSE_RCV_RST);
		return;
	}
	/* Fifth, neither SYN nor RST: drop (U-9). */
	if (!(seg->flags & SF_SYN))
		return;
	/* Fourth, check the SYN bit (U-8). Text on a SYN-ACK is taken at once
	 * (Linux drops it without Fast Open); on a SYN alone it is queued until
	 * ESTABLISHED. */
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->rcv_adv = c->rcv_nxt + (c->rcvbuf < SF_MAX_WINDOW ? c->rcvbuf : SF_MAX_WINDOW);
	c->peer_mss = sf_peer_mss(seg);
	c->snd_mss = sf_effective_mss(c, c->peer_mss);
	c->snd_wnd = c->max_snd_wnd = seg->window;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (ack_ok) {
		sf_rx rx = { false, false };

		ack_advance(s, c, seg->ack);
		enter_established(s, c, SF_CAUSE_RCV_SYN_ACK);
		syn_text(s, c, seg->payload, seg->payload_len, seg->flags & SF_FIN, &rx);
		if (rx.closed)
			return;
		sf_send_ack(s, c);
		sf_output(s, c);
		return;
	}
	sf_free_early(s, c);
	c->early = sf_copy_syn_text(s, seg, c->rcv_adv - c->rcv_nxt, &c->early_len);
	/* Simultaneous open (RFC9293:MUST-10): SYN-RECEIVED, not from LISTEN
	 * (MUST-11); the retransmission timer goes on and resends the SYN-ACK. */
	c->from_listen = false;
	c->rtt_active = false;
	sf_set_state(s, c, SF_SYN_RECEIVED, SF_CAUSE_RCV_SYN);
	sf_send_syn(s, c, true);
}

/* ---- TIME-WAIT (Linux tcp_timewait_state_process()) ---- */

static void time_wait_input(sf_stack *s, sf_conn *c, const sf_segment *seg)
{
	sf_conn *l;

	/* A reset at RCV.NXT closes, unless RFC 1337 protection is on (U-12,
	 * RFC1337:3-F1); elsewhere in the window it gets a challenge ACK
	 * (RFC5961:3.2-c; Linux's TIME-WAIT drops it); outside, it is dropped. */
	if (seg->flags & SF_RST) {
		if (seg->seq == c->rcv_nxt) {
			if (!s->cfg.rfc1337)
				sf_conn_closed(s, c, SF_CAUSE_RCV_RST);
		} else if (sf_seq_in(seg->seq, c->rcv_nxt, c->rcv_adv)) {
			sf_send_challenge_ack(s, c);
		}
		return;
	}
	/* A bare segment at RCV.NXT (an ACK, or nothing at all, U-14) is
	 * dropped silently and restarts the 2*MSL timer (Linux). */
	if (!(seg->flags & (SF_SYN | SF_FIN)) && seg->payload_len == 0 &&
	    seg->seq == c->rcv_nxt) {
		c->wait_at = s->now + s->cfg.time_wait;
		sf_timers_changed(s, c);
		return;
	}
	/* A new SYN above RCV.NXT may reopen the connection (RFC9293:MAY-2, U-13)
	 * when a listener is there; an old duplicate SYN is kept out (seed 9). */
	if ((seg->flags & (SF_SYN | SF_ACK)) == SF_SYN && sf_seq_gt(seg->seq, c->rcv_nxt) &&
	    (l = sf_find_listener(s, &c->node.local)) != NULL) {
		uint32_t isn = c->snd_nxt + SF_TW_ISN_GAP;

		sf_conn_closed(s, c, SF_CAUSE_RCV_SYN);
		s->isn_override = isn;
		s->isn_override_set = true;
		sf_listen_input(s, l, seg);
		s->isn_override_set = false;
		return;
	}
	/* Anything else, such as a retransmitted FIN, is acknowledged again and
	 * an ACK restarts the timer (RFC9293:U-17). */
	if (seg->flags & SF_ACK) {
		c->wait_at = s->now + s->cfg.time_wait;
		sf_timers_changed(s, c);
	}
	if (!sf_oow_limited_seg(s, &c->last_oow_ack, seg))
		sf_send_ack(s, c);
}

/* ---- SYN-RECEIVED and the synchronized states (§3.10.7.4) ---- */

/* The peer's SYN-ACK in SYN-RECEIVED after a simultaneous open (Linux
 * tcp_validate_incoming() lets it pass): its SYN is old, its ACK is new. */
static bool is_simopen_synack(const sf_conn *c, const sf_segment *seg)
{
	return c->state == SF_SYN_RECEIVED && !c->from_listen &&
	       (seg->flags & (SF_SYN | SF_ACK | SF_RST)) == (SF_SYN | SF_ACK) &&
	       seg->seq + 1 == c->rcv_nxt && seg->ack == c->snd_nxt;
}

/* Fifth step for SYN-RECEIVED: the ACK must acknowledge our SYN (U-15);
 * then the text queued from the SYN is processed. */
static bool syn_received_ack(sf_stack *s, sf_conn *c, const sf_segment *seg, sf_rx *rx)
{
	if (!sf_seq_lt(c->snd_una, seg->ack) || !sf_seq_le(seg->ack, c->snd_nxt)) {
		sf_send_rst_reply(s, seg);
		return false;
	}
	c->snd_wnd = seg->window;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (c->snd_wnd > c->max_snd_wnd)
		c->max_snd_wnd = c->snd_wnd;
	enter_established(s, c, seg->payload_len ? SF_CAUSE_RCV_DATA : SF_CAUSE_RCV_ACK);
	deliver_early(s, c, rx);
	return true;
}

/* Our FIN is acknowledged: it was sent (SND.NXT, which never moves back,
 * includes it) and SND.UNA has caught up. SND.UNA = SND.NXT alone is not
 * enough: in CLOSING or LAST-ACK the FIN, and data before it, may still wait
 * behind a zero window, and an ACK that repeats SND.UNA then acknowledges
 * nothing (RFC9293:U-18; found by the transition oracle's ACK check,
 * corpora/passive_open/regression-closing-unsent-fin). */
static bool our_fin_acked(const sf_conn *c)
{
	return c->fin_sent && c->snd_una == c->snd_nxt;
}

/* Fifth step, synchronized states: RFC 5961 §5.2 range, then U-15, U-16, U-18. */
static void ack_step(sf_stack *s, sf_conn *c, const sf_segment *seg, sf_rx *rx)
{
	uint32_t ack = seg->ack;

	/* SEG.ACK > SND.NXT (U-15) or older than SND.UNA - MAX.SND.WND
	 * (RFC5961:5.2): send an ACK, drop the segment. */
	if (sf_seq_gt(ack, c->snd_nxt)) {
		s->stats.drops_unacceptable++;
		if (!sf_oow_limited_seg(s, &c->last_oow_ack, seg))
			sf_send_ack(s, c);
		rx->closed = true;
		return;
	}
	if (sf_seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
		s->stats.drops_unacceptable++;
		sf_send_challenge_ack(s, c);
		rx->closed = true;
		return;
	}
	/* SND.UNA < SEG.ACK =< SND.NXT: advance SND.UNA (duplicates are ignored). */
	if (sf_seq_gt(ack, c->snd_una))
		ack_advance(s, c, ack);
	update_snd_wnd(c, seg);
	/* FIN-WAIT-1: our FIN acknowledged -> FIN-WAIT-2 (U-18), but not yet:
	 * if this segment also brings the peer's FIN in sequence, the eighth
	 * step takes FIN-WAIT-1 straight to TIME-WAIT (Figure 5, Note 2), so the
	 * change is made by fin_wait_1_settle() once the FIN step has run. */
	/* CLOSING: our FIN acknowledged -> TIME-WAIT (U-18). */
	if (c->state == SF_CLOSING && our_fin_acked(c)) {
		sf_enter_time_wait(s, c, SF_CAUSE_RCV_ACK);
		rx->closed = true;
		return;
	}
	/* LAST-ACK: our FIN acknowledged -> CLOSED, TCB deleted (U-18). */
	if (c->state == SF_LAST_ACK && our_fin_acked(c)) {
		sf_conn_closed(s, c, SF_CAUSE_RCV_ACK);
		rx->closed = true;
	}
}

/* FIN-WAIT-1 with our FIN acknowledged (perhaps by the segment being
 * processed): the state the fifth step would have left (RFC 9293 §3.10.7.4,
 * "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"). */
static bool fin_wait_1_acked(const sf_conn *c)
{
	return c->state == SF_FIN_WAIT_1 && our_fin_acked(c);
}

/* FIN-WAIT-1 -> FIN-WAIT-2 (U-18) for a segment that acknowledged our FIN
 * and did not also end the peer's stream. An orphan there is bounded by the
 * FIN-WAIT-2 timeout (seed 6). */
static void fin_wait_1_settle(sf_stack *s, sf_conn *c)
{
	if (!fin_wait_1_acked(c))
		return;
	sf_set_state(s, c, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK);
	if (c->sd < 0)
		c->wait_at = s->now + s->cfg.fin_wait_2;
	sf_arm_keepalive(s, c); /* also reschedules wait_at */
}

/* Data after the user closed the receive side, in FIN-WAIT-1/2: reset, as
 * Linux does (RFC9293:SHLD-3, "data arrives after CLOSE"). */
static bool data_after_close(const sf_conn *c, const sf_segment *seg)
{
	uint32_t end = seg->seq + (uint32_t)seg->payload_len;

	return (c->state == SF_FIN_WAIT_1 || c->state == SF_FIN_WAIT_2) && c->shut_rd &&
	       seg->payload_len && sf_seq_gt(end, c->rcv_nxt);
}

/*
 * Seventh step, the text: in-order bytes go to the receive buffer, as many
 * as the window and the buffer hold. A segment that starts beyond RCV.NXT is
 * not kept yet (reassembly comes later: this is its place) and is answered
 * with an ACK for RCV.NXT (RFC9293:MAY-13). Returns true if everything up to
 * the segment's end was taken, so its FIN is in sequence.
 */
static bool text_step(sf_stack *s, sf_conn *c, const sf_segment *seg, sf_rx *rx)
{
	const uint8_t *p = seg->payload;
	uint32_t len = (uint32_t)seg->payload_len, seq = seg->seq, room, d;

	if (len == 0)
		return seq == c->rcv_nxt;
	rx->need_ack = true; /* every data segment is ACKed at once (no delayed ACK yet) */
	if (sf_seq_gt(seq, c->rcv_nxt))
		return false;
	d = c->rcv_nxt - seq;
	if (d >= len)
		return seq + len == c->rcv_nxt;
	p += d;
	len -= d;
	room = c->rcv_adv - c->rcv_nxt;
	if (room > sf_rcv_space(c))
		room = sf_rcv_space(c);
	if (len > room)
		len = room;
	if (len && c->rcv.cap == 0 && sf_ring_reserve(s, &c->rcv, c->rcvbuf) < 0)
		return false;
	len = sf_ring_write(&c->rcv, p, len);
	c->rcv_nxt += len;
	return c->rcv_nxt == seg->seq + (uint32_t)seg->payload_len;
}

/*
 * A FIN beyond RCV.NXT is not in sequence yet: it is acknowledged with
 * RCV.NXT (RFC9293:MAY-13), and a bare FIN (no data, so nothing else to
 * keep) is remembered and taken when the gap before it fills. Data
 * segments beyond RCV.NXT wait for reassembly, which comes later.
 */
static void fin_out_of_order(sf_conn *c, const sf_segment *seg, sf_rx *rx)
{
	rx->need_ack = true;
	if (seg->payload_len == 0 && sf_seq_gt(seg->seq, c->rcv_nxt) &&
	    sf_seq_lt(seg->seq, c->rcv_adv)) {
		c->ooo_fin = true;
		c->ooo_fin_seq = seg->seq;
	}
}

/* The peer's FIN after ours was acknowledged: acknowledge it and enter
 * TIME-WAIT, which stops the other timers (U-17). */
static void fin_time_wait(sf_stack *s, sf_conn *c, sf_rx *rx)
{
	sf_send_ack(s, c);
	rx->need_ack = false;
	sf_enter_time_wait(s, c, SF_CAUSE_RCV_FIN);
	rx->closed = true;
}

/* Eighth step, the FIN (U-17). */
static void fin_step(sf_stack *s, sf_conn *c, sf_rx *rx)
{
	c->ooo_fin = false;
	c->rcv_nxt++;
	c->fin_rcvd = true;
	rx->need_ack = true;
	switch (c->state) {
	case SF_SYN_RECEIVED:
	case SF_ESTABLISHED:
		sf_set_state(s, c, SF_CLOSE_WAIT, SF_CAUSE_RCV_FIN);
		sf_arm_keepalive(s, c);
		break;
	case SF_FIN_WAIT_1:
		/* "If our FIN has been ACKed (perhaps in this segment), then enter
		 * TIME-WAIT ...; otherwise, enter the CLOSING state" (§3.10.7.4,
		 * eighth step; Figure 5, Note 2): one change, FIN-WAIT-1 ->
		 * TIME-WAIT, never a FIN-WAIT-2 in between. */
		if (fin_wait_1_acked(c))
			fin_time_wait(s, c, rx);
		else
			sf_set_state(s, c, SF_CLOSING, SF_CAUSE_RCV_FIN);
		break;
	case SF_FIN_WAIT_2:
		fin_time_wait(s, c, rx);
		break;
	default:
		break;
	}
}

/* The eighth step: this segment's FIN, or a waiting one whose gap the
 * segment's text has just filled. */
static void fin_check(sf_stack *s, sf_conn *c, const sf_segment *seg, bool in_seq, sf_rx *rx)
{
	if (c->fin_rcvd)
		return;
	if (seg->flags & SF_FIN) {
		if (in_seq)
			fin_step(s, c, rx);
		else
			fin_out_of_order(c, seg, rx);
		return;
	}
	if (c->ooo_fin && c->rcv_nxt == c->ooo_fin_seq)
		fin_step(s, c, rx);
	else if (c->ooo_fin && sf_seq_gt(c->rcv_nxt, c->ooo_fin_seq))
		c->ooo_fin = false; /* data ran past it: it was not the end */
}

static bool text_state(const sf_conn *c)
{
	return c->state == SF_ESTABLISHED || c->state == SF_FIN_WAIT_1 ||
	       c->state == SF_FIN_WAIT_2;
}

static void sync_input(sf_stack *s, sf_conn *c, const sf_segment *seg)
{
	sf_rx rx = { false, false };
	bool fin_in_seq;

	/* A simultaneous-open SYN-ACK: take its ACK and acknowledge it. */
	if (is_simopen_synack(c, seg)) {
		syn_received_ack(s, c, seg, &rx);
		ack_advance(s, c, seg->ack);
		sf_send_ack(s, c);
		sf_output(s, c);
		return;
	}
	/* First, check sequence number: unacceptable -> ACK (SYN: challenge
	 * ACK, RFC5961:4.2), RST -> drop (U-10, RFC5961:3.2-a). */
	if (!seq_acceptable(c, seg)) {
		s->stats.drops_unacceptable++;
		if (seg->flags & SF_RST)
			return;
		if (seg->flags & SF_SYN)
			sf_send_challenge_ack(s, c);
		else
			sf_send_dupack(s, c, seg);
		return;
	}
	c->last_rcv = s->now;
	/* Second, check the RST bit: exactly RCV.NXT resets (RFC5961:3.2-b),
	 * elsewhere in the window -> challenge ACK (RFC5961:3.2-c). */
	if (seg->flags & SF_RST) {
		if (seg->seq == c->rcv_nxt)
			rst_received(s, c);
		else
			sf_send_challenge_ack(s, c);
		return;
	}
	/* Third, security and precedence: DiffServ is not checked (RFC 9293 §3.10.7.4). */
	/* Fourth, check the SYN bit: challenge ACK, drop (U-13, RFC5961:4.2). */
	if (seg->flags & SF_SYN) {
		sf_send_challenge_ack(s, c);
		return;
	}
	/* Fifth, check the ACK field: a segment without ACK is dropped (U-14). */
	if (!(seg->flags & SF_ACK))
		return;
	if (c->state == SF_SYN_RECEIVED && !syn_received_ack(s, c, seg, &rx))
		return;
	ack_step(s, c, seg, &rx);
	if (rx.closed)
		return;
	sf_arm_keepalive(s, c);
	/* Data after close() or shutdown(SHUT_RD) in FIN-WAIT-1/2: RST (SHLD-3).
	 * An acknowledgement of our FIN on that segment still counts first. */
	if (data_after_close(c, seg)) {
		fin_wait_1_settle(s, c);
		sf_send_rst_reply(s, seg);
		sf_conn_reset(s, c, -ECONNRESET, SF_CAUSE_RCV_DATA);
		return;
	}
	/* Sixth, check the URG bit: urgent data is not implemented yet. */
	/* Seventh, process the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2). */
	fin_in_seq = text_state(c) ? text_step(s, c, seg, &rx)
				   : seg->seq + (uint32_t)seg->payload_len == c->rcv_nxt;
	/* Eighth, check the FIN bit: in sequence -> ACK it, next state (U-17). */
	fin_check(s, c, seg, fin_in_seq, &rx);
	if (rx.closed)
		return;
	/* Our FIN acknowledged and no FIN of the peer's taken: FIN-WAIT-2. */
	fin_wait_1_settle(s, c);
	if (!sf_output(s, c) && rx.need_ack)
		sf_send_ack(s, c);
}

void sf_conn_input(sf_stack *s, sf_conn *c, const sf_segment *seg)
{
	switch (c->state) {
	case SF_SYN_SENT:
		syn_sent_input(s, c, seg);
		break;
	case SF_TIME_WAIT:
		time_wait_input(s, c, seg);
		break;
	case SF_CLOSED:
	case SF_LISTEN:
		sf_send_rst_reply(s, seg);
		break;
	default:
		sync_input(s, c, seg);
		break;
	}
}
