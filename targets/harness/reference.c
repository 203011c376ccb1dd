/*
 * The reference oracle ("reference"): decisions of RFC 5961 and of RFC 9293
 * §3.10.7.4 that the other oracles cannot see, because the engine's wrong
 * choice is still a legal edge, a well-formed segment and an intact stream.
 * It compares one connection before and after each inbound segment:
 *
 *   SYN    a SYN (without RST) in a synchronized state other than TIME-WAIT
 *          gets a challenge ACK and is dropped: the connection stays, in the
 *          same state, takes nothing from the segment and sends no RST for
 *          it (RFC5961:4.2, RFC9293:U-13);
 *   ACK    a segment with data or a FIN whose SEG.ACK lies outside
 *          [SND.UNA - MAX.SND.WND, SND.NXT] is dropped (and answered with an
 *          ACK): state, RCV.NXT, SND.UNA and SND.WND do not move
 *          (RFC5961:5.2, RFC9293:U-15, U-16);
 *   FIN    a connection never rests in CLOSING once its FIN is acknowledged:
 *          FIN-WAIT-1 goes to TIME-WAIT when the peer's FIN comes with (or
 *          after) the ACK of ours, and CLOSING leaves on that ACK
 *          (RFC9293:U-17, U-18);
 *   TIME-WAIT  RFC 9293 lets a new SYN reopen a connection in TIME-WAIT
 *          (MAY-2), on two conditions this oracle holds the engine to:
 *          a SYN whose SEG.SEQ lies before RCV.NXT is an old duplicate of
 *          the previous incarnation and must leave TIME-WAIT as it was
 *          (MAY-2 (2), DESIGN seed 9; a SYN at exactly RCV.NXT may go either
 *          way, Linux refuses it); and a new incarnation opened from
 *          TIME-WAIT must get an ISS above every sequence number the old one
 *          used, SND.NXT - 1 (MAY-2 (1), RFC 1122 §4.2.2.13), or the old
 *          incarnation's segments still in the network fit the new one.
 *   TAKEN  an acceptable segment with ACK (and without SYN or RST) whose
 *          SEG.ACK lies in SND.UNA < SEG.ACK =< SND.NXT moves SND.UNA to
 *          SEG.ACK (RFC 9293 §3.10.7.4, fifth step; RFC9293:U-10, U-15).
 *          Acceptable by Table 6 with RCV.NXT and RCV.WND as they were: a
 *          zero window, where the RFC asks only for "special allowance", is
 *          not judged;
 *   WINDOW  only a segment with SND.UNA =< SEG.ACK =< SND.NXT may change
 *          SND.WND; an acceptable one that is newer (SND.WL1 < SEG.SEQ, or
 *          SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK) sets SND.WND, SND.WL1
 *          and SND.WL2 to its window, SEG.SEQ and SEG.ACK, an older one
 *          leaves the window alone (RFC9293:U-16). TAKEN and WINDOW run on
 *          bare ACKs too, from the walk after every input event
 *          (fz_ref_ack_walk()), which has the values before and after
 *          without a snapshot;
 *   SYN-SENT  a SYN-ACK (without RST) whose ACK acknowledges our SYN,
 *          ISS < SEG.ACK =< SND.NXT, completes the handshake: the
 *          connection does not stay in SYN-SENT (RFC9293:U-8). The
 *          transition oracle sees only wrong moves; this is a move an
 *          engine must make, and one that a wrong ACK check silently skips.
 *
 * "Before" is taken from the engine just before the segment goes in, only
 * for segments that one of these rules is about and only when the harness's
 * own view says the connection is in a state they cover, so most events
 * cost nothing. Both walks are the engine's observation API
 * (sf_foreach_conn), so the engine's own values are compared: MAX.SND.WND is
 * its max_snd_wnd, which the window oracle already bounds by what the peer
 * offered. The engine has no configuration that turns RFC 5961 off, and
 * SYN-RECEIVED (where a SYN may take a passive open back to LISTEN, U-13)
 * is not checked. An RST in a synchronized state (RFC5961:3.2) is checked
 * by the transition oracle.
 */
#include <stdio.h>
#include <string.h>

#include "harness_internal.h"

/* The states the SYN, ACK and FIN rules cover: synchronized, not TIME-WAIT. */
static bool covered(sf_state s)
{
	return s >= SF_ESTABLISHED && s <= SF_LAST_ACK;
}

/*
 * A segment a rule is about, for a connection in state s (no RST: an RST is
 * decided first, by RFC5961:3.2): a SYN; an ACK that brings data or a FIN,
 * which is what a blind injector is after (a bare ACK out of range cannot
 * take data, and one that moved SND.UNA past SND.NXT fails the invariants);
 * and any ACK in CLOSING, which the FIN rule is about. Leaving the bare
 * ACKs of the synchronized states out keeps the cost off most events.
 */
static bool wanted(const sf_segment *seg, sf_state s)
{
	if (seg->flags & SF_RST)
		return false;
	if (seg->flags & SF_SYN)
		return true;
	if (!(seg->flags & SF_ACK))
		return false;
	return seg->payload_len || (seg->flags & SF_FIN) || s == SF_CLOSING;
}

/* Does a rule judge seg arriving at a connection in state s? */
static bool applies(const sf_segment *seg, sf_state s)
{
	if (s == SF_TIME_WAIT)
		return (seg->flags & (SF_SYN | SF_RST)) == SF_SYN;
	if (s == SF_SYN_SENT)
		return (seg->flags & (SF_SYN | SF_ACK | SF_RST)) == (SF_SYN | SF_ACK);
	return covered(s) && wanted(seg, s);
}

typedef struct snap_walk {
	uint32_t conn_id;
	fz_ref_snap *out;
	/* Look for a new incarnation on this 4-tuple too. */
	bool tw;
	sf_endpoint local, remote;
} snap_walk;

/* Another connection in SYN-RECEIVED on the TIME-WAIT connection's 4-tuple
 * (the 4-tuple is known before the walk starts, so the walk's order, which
 * may give the listener's SYN queue first, does not matter). */
static void note_next(snap_walk *w, const sf_tcp_info *info)
{
	if (info->conn_id == w->conn_id || info->state != SF_SYN_RECEIVED ||
	    !fz_endpoint_eq(&info->local, &w->local) || !fz_endpoint_eq(&info->remote, &w->remote))
		return;
	w->out->next_valid = true;
	w->out->next_id = info->conn_id;
	w->out->next_iss = info->iss;
}

static void snap_visit(void *ctx, const sf_tcp_info *info)
{
	snap_walk *w = ctx;
	if (info->conn_id != w->conn_id) {
		if (w->tw)
			note_next(w, info);
		return;
	}
	fz_ref_snap *s = w->out;
	s->valid = true;
	s->conn_id = info->conn_id;
	s->state = info->state;
	s->iss = info->iss;
	s->snd_una = info->snd_una;
	s->snd_nxt = info->snd_nxt;
	s->snd_wnd = info->snd_wnd;
	s->max_snd_wnd = info->max_snd_wnd;
	s->rcv_nxt = info->rcv_nxt;
}

/* The engine's view of connection conn_id now; s->valid is false if the
 * stack no longer holds it. With tw (a connection in TIME-WAIT, whose
 * 4-tuple is local/remote), also its new incarnation, if any. */
static void snapshot(fz_harness *h, uint32_t conn_id, fz_ref_snap *s, const sf_endpoint *local,
		     const sf_endpoint *remote)
{
	snap_walk w = {.conn_id = conn_id, .out = s};
	memset(s, 0, sizeof *s);
	if (local && remote) {
		w.tw = true;
		w.local = *local;
		w.remote = *remote;
	}
	sf_foreach_conn(h->stack, snap_visit, &w);
}

void fz_ref_before(fz_harness *h, const sf_segment *seg)
{
	h->ref_pre.valid = false;
	if (seg->flags & SF_RST)
		return;
	sf_endpoint local = {.addr = seg->dst, .port = seg->dport};
	sf_endpoint remote = {.addr = seg->src, .port = seg->sport};
	fz_conn *c = (seg->flags & SF_ACK) ? fz_conn_by_tuple(h, &local, &remote, seg->ack)
					     : fz_conn_live_by_tuple(h, &local, &remote);
	if (!c || !c->alive || !applies(seg, c->state))
		return;
	bool tw = c->state == SF_TIME_WAIT;
	snapshot(h, c->id, &h->ref_pre, tw ? &local : NULL, tw ? &remote : NULL);
	if (h->ref_pre.valid && !applies(seg, h->ref_pre.state))
		h->ref_pre.valid = false;
	h->ref_local = local;
	h->ref_remote = remote;
}

/* Did the engine send an RST to the segment's sender during this event? */
static bool rst_sent_to(const fz_harness *h, const sf_segment *in)
{
	for (size_t i = 0; i < h->nout; i++) {
		const sf_segment *o = &h->out[i].seg;
		if ((o->flags & SF_RST) && o->dport == in->sport && sf_addr_eq(&o->dst, &in->src))
			return true;
	}
	return false;
}

/* What moved between pre and post, in words, or NULL if nothing did. */
static const char *what_moved(const fz_ref_snap *pre, const fz_ref_snap *post)
{
	if (!post->valid)
		return "the connection was destroyed";
	if (post->state != pre->state)
		return "the state changed";
	if (post->rcv_nxt != pre->rcv_nxt)
		return "RCV.NXT moved (data or FIN taken)";
	if (post->snd_una != pre->snd_una)
		return "SND.UNA moved";
	if (post->snd_wnd != pre->snd_wnd)
		return "SND.WND changed";
	return NULL;
}

static void judge_syn(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
		      const sf_segment *in)
{
	const char *moved = what_moved(pre, post);
	if (!moved && rst_sent_to(h, in))
		moved = "an RST was sent";
	if (moved)
		fz_fail(h, "reference",
			"connection %u in %s got a SYN (seq %u) and %s (now %s); a SYN in a "
			"synchronized state gets a challenge ACK and is dropped (RFC5961:4.2, "
			"RFC9293:U-13)",
			pre->conn_id, sf_state_name(pre->state), in->seq, moved,
			post->valid ? sf_state_name(post->state) : "gone");
}

static void judge_ack(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
		      const sf_segment *in)
{
	uint32_t lo = pre->snd_una - pre->max_snd_wnd;
	if (!sf_seq_gt(in->ack, pre->snd_nxt) && !sf_seq_lt(in->ack, lo))
		return;
	const char *moved = what_moved(pre, post);
	if (moved)
		fz_fail(h, "reference",
			"connection %u in %s: %s on a segment whose ACK %u is outside "
			"[SND.UNA - MAX.SND.WND, SND.NXT] = [%u, %u]; such a segment is dropped "
			"and answered with an ACK (RFC5961:5.2, RFC9293:U-15)",
			pre->conn_id, sf_state_name(pre->state), moved, in->ack, lo, pre->snd_nxt);
}

/* Our FIN is out and acknowledged: SND.NXT is one past the last octet the
 * application wrote plus the FIN, and SND.UNA has caught up with it. */
static bool fin_acked(const fz_ref_snap *s, uint64_t written)
{
	return s->snd_una == s->snd_nxt && s->snd_nxt == s->iss + 2 + (uint32_t)written;
}

static void judge_closing(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
			  uint64_t written)
{
	if (!post->valid || post->state != SF_CLOSING || !fin_acked(post, written))
		return;
	fz_fail(h, "reference",
		"connection %u went from %s to CLOSING although our FIN is acknowledged "
		"(SND.UNA = SND.NXT = %u); with our FIN acknowledged the peer's FIN leads to "
		"TIME-WAIT, and CLOSING leaves on that ACK (RFC9293:U-17, U-18)",
		post->conn_id, sf_state_name(pre->state), post->snd_nxt);
}

/* TIME-WAIT and a new SYN (RFC9293:MAY-2): an old duplicate leaves it as it
 * was; a new incarnation starts above the old one's sequence numbers. */
static void judge_time_wait(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
			    const sf_segment *in)
{
	if (sf_seq_lt(in->seq, pre->rcv_nxt)) {
		const char *moved = what_moved(pre, post);
		if (!moved && post->next_valid && !pre->next_valid)
			moved = "a new incarnation was opened";
		if (moved)
			fz_fail(h, "reference",
				"connection %u in TIME-WAIT got a SYN with seq %u, before RCV.NXT %u "
				"(an old duplicate of the connection that is over), and %s (now %s); "
				"an old duplicate leaves TIME-WAIT as it was (RFC9293:MAY-2, DESIGN "
				"seed 9)",
				pre->conn_id, in->seq, pre->rcv_nxt, moved,
				post->valid ? sf_state_name(post->state) : "gone");
		return;
	}
	/* A new incarnation, on the 4-tuple where none was before. */
	if (!post->next_valid || pre->next_valid || (post->valid && post->state == SF_TIME_WAIT))
		return;
	uint32_t last = pre->snd_nxt - 1;
	if (!sf_seq_gt(post->next_iss, last))
		fz_fail(h, "reference",
			"connection %u was reopened from TIME-WAIT by a SYN (seq %u) as connection %u "
			"with ISS %u, not above %u, the last sequence number the old incarnation used "
			"(RFC9293:MAY-2 (1), RFC 1122 4.2.2.13)",
			pre->conn_id, in->seq, post->next_id, post->next_iss, last);
}

/* SYN-SENT and a SYN-ACK that acknowledges our SYN (RFC9293:U-8). */
static void judge_syn_sent(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
			   const sf_segment *in)
{
	if (!sf_seq_gt(in->ack, pre->iss) || sf_seq_gt(in->ack, pre->snd_nxt))
		return;
	/* Where it goes from ESTABLISHED in the same segment (CLOSE-WAIT on a
	 * FIN, FIN-WAIT-1 after shutdown(), CLOSED on data after
	 * shutdown(SHUT_RD)) the transition oracle judges; staying is wrong. */
	if (!post->valid || post->state != SF_SYN_SENT)
		return;
	fz_fail(h, "reference",
		"connection %u in SYN-SENT got a SYN-ACK (seq %u) whose ACK %u acknowledges our "
		"SYN (ISS %u, SND.NXT %u), and stayed in SYN-SENT; such a segment completes "
		"the handshake (RFC9293:U-8)",
		pre->conn_id, in->seq, in->ack, pre->iss, pre->snd_nxt);
}

void fz_ref_judge(fz_harness *h, const fz_ref_snap *pre, const fz_ref_snap *post,
		  const sf_segment *in, uint64_t written)
{
	if (pre->state == SF_SYN_SENT) {
		judge_syn_sent(h, pre, post, in);
		return;
	}
	if (pre->state == SF_TIME_WAIT) {
		if ((in->flags & (SF_SYN | SF_RST)) == SF_SYN)
			judge_time_wait(h, pre, post, in);
		return;
	}
	if (in->flags & SF_SYN)
		judge_syn(h, pre, post, in);
	else if (in->flags & SF_ACK)
		judge_ack(h, pre, post, in);
	judge_closing(h, pre, post, written);
}

void fz_ref_after(fz_harness *h)
{
	if (!h->ref_pre.valid)
		return;
	fz_ref_snap pre = h->ref_pre;
	h->ref_pre.valid = false;
	/* Judge the segment as the engine got it: faults (a bad checksum, a
	 * cut length) may have kept it from arriving at all. */
	if (h->kind != FZ_EV_INPUT || !h->in_valid || !applies(&h->in, pre.state))
		return;
	fz_ref_snap post;
	bool tw = pre.state == SF_TIME_WAIT;
	snapshot(h, pre.conn_id, &post, tw ? &h->ref_local : NULL, tw ? &h->ref_remote : NULL);
	fz_ref_judge(h, &pre, &post, &h->in, fz_conn_get(h, pre.conn_id)->written);
}

/* RFC 9293 Table 6 (RFC9293:U-10): is a segment acceptable to a receive
 * window of wnd octets from rcv_nxt? */
static bool table6_acceptable(const sf_segment *seg, uint32_t rcv_nxt, uint32_t wnd)
{
	uint32_t len = (uint32_t)seg->payload_len + ((seg->flags & SF_FIN) ? 1 : 0);
	if (wnd == 0)
		return len == 0 && seg->seq == rcv_nxt;
	if (sf_seq_le(rcv_nxt, seg->seq) && sf_seq_lt(seg->seq, rcv_nxt + wnd))
		return true;
	uint32_t last = seg->seq + len - 1;
	return len && sf_seq_le(rcv_nxt, last) && sf_seq_lt(last, rcv_nxt + wnd);
}

void fz_ref_ack_walk(fz_harness *h, const fz_conn *c, const sf_conn_peek *now)
{
	const sf_segment *in = &h->in;
	if (!h->in_valid || (in->flags & (SF_ACK | SF_SYN | SF_RST)) != SF_ACK ||
	    now->state == SF_CLOSED || in->dport != now->local->port ||
	    in->sport != now->remote->port || !sf_addr_eq(&in->dst, &now->local->addr) ||
	    !sf_addr_eq(&in->src, &now->remote->addr))
		return;
	/* SND.UNA =< SEG.ACK =< SND.NXT as an arc of the sequence space: an
	 * ACK exactly 2^31 away is on neither side (it is dropped as too old,
	 * RFC5961:5.2), where sf_seq_le() would put it on both. */
	uint32_t off = in->ack - c->cur_snd_una;
	bool in_range = off <= c->cur_snd_nxt - c->cur_snd_una;
	/* WINDOW: only a segment with SND.UNA =< SEG.ACK =< SND.NXT may move
	 * the send window (U-16), whether or not it was acceptable. */
	if (!in_range) {
		if (now->snd_wnd != c->cur_snd_wnd)
			fz_fail(h, "reference",
				"connection %u in %s changed SND.WND from %u to %u on a segment with "
				"ACK %u, outside SND.UNA %u =< SEG.ACK =< SND.NXT %u; only such a "
				"segment updates the window (RFC 9293 §3.10.7.4, RFC9293:U-16)",
				c->id, sf_state_name(c->cur_state), c->cur_snd_wnd, now->snd_wnd,
				in->ack, c->cur_snd_una, c->cur_snd_nxt);
		return;
	}
	if (!table6_acceptable(in, c->cur_rcv_nxt, c->cur_rcv_wnd))
		return;
	/* TAKEN */
	if (off && now->snd_una != in->ack)
		fz_fail(h, "reference",
			"connection %u in %s took an acceptable segment (seq %u, RCV.NXT %u, RCV.WND "
			"%u) with ACK %u, inside SND.UNA %u < SEG.ACK =< SND.NXT %u, and left SND.UNA "
			"at %u; the fifth step sets SND.UNA <- SEG.ACK (RFC 9293 §3.10.7.4, "
			"RFC9293:U-10, U-15)",
			c->id, sf_state_name(c->cur_state), in->seq, c->cur_rcv_nxt, c->cur_rcv_wnd,
			in->ack, c->cur_snd_una, c->cur_snd_nxt, now->snd_una);
	/* WINDOW: a newer segment (SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and
	 * SND.WL2 =< SEG.ACK) sets SND.WND, WL1 and WL2; an older one moves
	 * none of them (U-16). Without window scaling (the engine offers
	 * none yet) SND.WND is the window field itself. */
	bool newer = sf_seq_lt(c->cur_snd_wl1, in->seq) ||
		     (c->cur_snd_wl1 == in->seq && sf_seq_le(c->cur_snd_wl2, in->ack));
	if (newer && !c->our_wscale &&
	    (now->snd_wnd != in->window || now->snd_wl1 != in->seq || now->snd_wl2 != in->ack))
		fz_fail(h, "reference",
			"connection %u in %s: a newer acceptable segment (seq %u, ACK %u, window %u; "
			"SND.WL1 %u, SND.WL2 %u) left SND.WND %u, WL1 %u, WL2 %u; it sets them to its "
			"window, SEG.SEQ and SEG.ACK (RFC 9293 §3.10.7.4, RFC9293:U-16)",
			c->id, sf_state_name(c->cur_state), in->seq, in->ack, in->window,
			c->cur_snd_wl1, c->cur_snd_wl2, now->snd_wnd, now->snd_wl1, now->snd_wl2);
	if (!newer && now->snd_wnd != c->cur_snd_wnd)
		fz_fail(h, "reference",
			"connection %u in %s changed SND.WND from %u to %u on an older segment "
			"(seq %u, ACK %u; SND.WL1 %u, SND.WL2 %u); an old segment must not move the "
			"window (RFC 9293 §3.10.7.4, RFC9293:U-16)",
			c->id, sf_state_name(c->cur_state), c->cur_snd_wnd, now->snd_wnd, in->seq,
			in->ack, c->cur_snd_wl1, c->cur_snd_wl2);
}
