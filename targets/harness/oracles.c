/*
 * The oracles of DESIGN.md ("Oracles"), checked by the harness after every
 * event: invariants, transition legality, output sanity, stream integrity,
 * timers and API results. Each failure names its oracle and, where there is
 * one, the requirement it enforces (requirements.md IDs).
 */
#include <stdio.h>
#include <string.h>

#include "harness_internal.h"

void fz_count_transition(sf_state from, sf_state to, sf_cause cause);

/* ---- Text for messages ---- */

void fz_seg_text(const sf_segment *seg, char *buf, size_t cap)
{
	static const char names[] = "FSRPAUEC";
	char flags[9];
	size_t n = 0;
	for (int i = 0; i < 8; i++)
		if (seg->flags & (1u << i))
			flags[n++] = names[i];
	flags[n] = 0;
	snprintf(buf, cap, "[%s] %u->%u seq %u ack %u win %u len %zu opts %u",
		 n ? flags : "none", seg->sport, seg->dport, seg->seq, seg->ack,
		 seg->window, seg->payload_len, seg->opt_len);
}

/* Fail oracle about a segment the engine sent: "sent <segment>: <why>". */
#define SEG_FAIL(h, oracle, seg, ...)                                            \
	do {                                                                     \
		char t_[160];                                                    \
		fz_seg_text((seg), t_, sizeof t_);                               \
		char m_[400];                                                    \
		snprintf(m_, sizeof m_, __VA_ARGS__);                            \
		fz_fail((h), (oracle), "sent %s: %s", t_, m_);                   \
	} while (0)

static bool synchronized(sf_state s)
{
	return s >= SF_ESTABLISHED && s <= SF_TIME_WAIT;
}

/* ---- Transition legality (oracle 3) ---- */

/*
 * Does the cause fit the event being played? A timeout outside a timer
 * firing, or "RST received" for a segment without RST, means the engine
 * reported the wrong cause or changed state for the wrong reason.
 */
static bool cause_fits_event(const fz_harness *h, sf_cause cause)
{
	uint8_t fl = h->in_valid ? h->in.flags : 0;
	bool input = h->kind == FZ_EV_INPUT && h->in_valid;

	switch (cause) {
	case SF_CAUSE_OPEN_PASSIVE:
		return h->kind == FZ_EV_LISTEN;
	case SF_CAUSE_OPEN_ACTIVE:
		return h->kind == FZ_EV_CONNECT;
	case SF_CAUSE_CLOSE:
	case SF_CAUSE_ABORT:
		/* Closing, shutting down or aborting a listener takes its
		 * unaccepted connections with it, by either cause. */
		return h->kind == FZ_EV_CLOSE || h->kind == FZ_EV_ABORT ||
		       h->kind == FZ_EV_SHUTDOWN;
	case SF_CAUSE_RCV_SYN:
		return input && (fl & SF_SYN);
	case SF_CAUSE_RCV_SYN_ACK:
		return input && (fl & SF_SYN) && (fl & SF_ACK);
	case SF_CAUSE_RCV_ACK:
	case SF_CAUSE_RCV_DATA:
		return input && (fl & SF_ACK);
	case SF_CAUSE_RCV_FIN:
		/* A FIN queued out of order is processed when the hole fills,
		 * by a segment that need not carry FIN itself. */
		return input;
	case SF_CAUSE_RCV_RST:
		return input && (fl & SF_RST);
	case SF_CAUSE_TIMEOUT_RETRANS:
	case SF_CAUSE_TIMEOUT_USER:
	case SF_CAUSE_TIMEOUT_TIME_WAIT:
	case SF_CAUSE_TIMEOUT_FIN_WAIT_2:
	case SF_CAUSE_TIMEOUT_KEEPALIVE:
		return h->kind == FZ_EV_TIMER;
	default:
		return false;
	}
}

static const char *kind_name(fz_kind k)
{
	static const char *const names[] = {
		"no", "segment", "timer", "listen", "connect", "close", "shutdown", "abort", "call",
	};
	return k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/*
 * RFC5961:3.2: in a synchronized state or SYN-RECEIVED, an RST resets the
 * connection only when its sequence number is exactly RCV.NXT; otherwise it
 * gets a challenge ACK. RCV.NXT before this event is what the last walk saw.
 */
static void check_rst_exact(fz_harness *h, const fz_conn *c, sf_state from)
{
	/* In SYN-SENT, an RST counts only if its ACK acknowledges our SYN:
	 * ISS < SEG.ACK =< SND.NXT; any other RST is dropped (RFC9293:U-6,
	 * U-7, RFC5961:3.2-d: a blind RST must not refuse a connection
	 * attempt). */
	if (from == SF_SYN_SENT && h->in_valid && c->iss_valid &&
	    (!(h->in.flags & SF_ACK) || sf_seq_le(h->in.ack, c->iss) ||
	     sf_seq_gt(h->in.ack, c->max_snd_nxt)))
		fz_fail(h, "transition",
			"connection %u in SYN-SENT reset by an RST %s (ISS %u, SND.NXT %u); only "
			"an RST whose ACK acknowledges our SYN counts, any other is dropped "
			"(RFC9293:U-7, RFC5961:3.2-d)",
			c->id, (h->in.flags & SF_ACK) ? "whose ACK does not acknowledge our SYN"
						      : "without ACK",
			c->iss, c->max_snd_nxt);
	/* RFC5961:3.2 holds in every state but SYN-SENT: SYN-RECEIVED too,
	 * where the exact RST takes a SYN-queue entry back to LISTEN (U-11). */
	if (!h->in_valid || !c->irs_valid || from == SF_TIME_WAIT ||
	    !(synchronized(from) || from == SF_SYN_RECEIVED))
		return;
	if (h->in.seq != c->max_rcv_nxt)
		fz_fail(h, "transition",
			"connection %u reset by an RST with seq %u in %s, but RCV.NXT is %u "
			"(RFC5961:3.2: only an exact match may reset; others get a challenge ACK)",
			c->id, h->in.seq, sf_state_name(from), c->max_rcv_nxt);
}

/*
 * The edges an acknowledgement takes need the right acknowledgement; the
 * diagram alone allows them on any (RFC 9293 §3.10.7.4, fifth and eighth
 * steps). The segment being processed must carry it:
 *   SYN-RECEIVED -> ESTABLISHED: SND.UNA < SEG.ACK =< SND.NXT, our SYN
 *     acknowledged (RFC9293:U-15);
 *   FIN-WAIT-1 -> FIN-WAIT-2, CLOSING -> TIME-WAIT, LAST-ACK -> CLOSED on an
 *     ACK, and FIN-WAIT-1 -> TIME-WAIT on a FIN: SEG.ACK acknowledges our
 *     FIN, which follows every octet send() accepted: ISS + 1 + written is
 *     the FIN's sequence number (RFC9293:U-17, U-18).
 * An ACK that only repeats SND.UNA, while data or the FIN still wait behind
 * a closed window, acknowledges nothing.
 */
static void check_ack_exact(fz_harness *h, const fz_conn *c, sf_state from, sf_state to,
			    sf_cause cause)
{
	bool syn = from == SF_SYN_RECEIVED && to == SF_ESTABLISHED &&
		   (cause == SF_CAUSE_RCV_ACK || cause == SF_CAUSE_RCV_DATA);
	bool fin = (cause == SF_CAUSE_RCV_ACK &&
		    ((from == SF_FIN_WAIT_1 && to == SF_FIN_WAIT_2) ||
		     (from == SF_CLOSING && to == SF_TIME_WAIT) ||
		     (from == SF_LAST_ACK && to == SF_CLOSED))) ||
		   (cause == SF_CAUSE_RCV_FIN && from == SF_FIN_WAIT_1 && to == SF_TIME_WAIT);
	if ((!syn && !fin) || !h->in_valid || !c->iss_valid)
		return;
	bool ack = h->in.flags & SF_ACK;
	if (syn && (!ack || !sf_seq_gt(h->in.ack, c->iss) || sf_seq_gt(h->in.ack, c->max_snd_nxt)))
		fz_fail(h, "transition",
			"connection %u: SYN-RECEIVED -> ESTABLISHED on a segment %s%u (ISS %u, "
			"SND.NXT %u); only an ACK of our SYN, SND.UNA < SEG.ACK =< SND.NXT, "
			"completes the handshake, any other gets an RST (RFC9293:U-15)",
			c->id, ack ? "with ACK " : "without ACK, seq ", ack ? h->in.ack : h->in.seq,
			c->iss, c->max_snd_nxt);
	uint32_t fin_ack = c->iss + 2 + (uint32_t)c->written;
	if (fin && (!ack || h->in.ack != fin_ack))
		fz_fail(h, "transition",
			"connection %u: %s -> %s on a segment %s%u, but our FIN is acknowledged only "
			"by %u (ISS %u + 1 + %llu octets written + FIN); the FIN or data before it "
			"is still unacknowledged (RFC9293:U-17, U-18)",
			c->id, sf_state_name(from), sf_state_name(to),
			ack ? "with ACK " : "without ACK, seq ", ack ? h->in.ack : h->in.seq, fin_ack,
			c->iss, (unsigned long long)c->written);
}

/*
 * A closed connection opened again (connect() or listen() on the same
 * handle) is a new incarnation: new ISS and IRS, new byte streams in both
 * directions. Nothing of the old one may be read or sent any more.
 */
static void restart(fz_conn *c)
{
	c->iss_valid = c->irs_valid = c->edge_valid = c->adv_valid = c->pwin_valid = false;
	c->our_syn_seen = c->our_wscale = c->our_ts = c->our_sack_perm = false;
	c->max_snd_mss = 0;
	c->synack_timer_sends = 0;
	c->rtx_run = c->ka_run = 0;
	c->ka_exact = true;
	c->written = c->delivered = 0;
	c->app_closed = c->eof_seen = c->shut_rd = false;
}

/* ---- Timer policy (oracle "timers") ----
 *
 * How often a connection resends on its timer before it gives up, and how
 * many keep-alive probes it sends, are set per connection (RFC9293:MUST-21,
 * MUST-24): TCP_SYNCNT for SYNs, cfg.synack_retries for SYN-ACKs,
 * cfg.retries2 for data and FIN, TCP_USER_TIMEOUT in time instead of counts,
 * SO_KEEPALIVE and TCP_KEEPCNT for probes. The harness follows these options
 * itself (fz_note_sockopt()), counts the resends and probes it sees, and
 * judges each resend, each probe and each give-up against them. */

/* The options a connection made from a SYN-queue entry takes from its
 * listener (the engine's req_promote(), like Linux's socket cloning): the
 * live listener on the SYN's port. None, or two that differ: unknown. */
static void inherit_policy(fz_harness *h, fz_conn *c)
{
	const fz_conn *l = NULL;
	c->pol.unknown = true;
	if (!h->in_valid)
		return;
	for (size_t i = 0; i < h->nconns; i++) {
		const fz_conn *x = &h->conns[i];
		if (!x->alive || x->state != SF_LISTEN || x->local.port != h->in.dport)
			continue;
		if (l && (l->pol.unknown != x->pol.unknown || l->pol.keepalive != x->pol.keepalive ||
			  l->pol.user_timeout != x->pol.user_timeout || l->pol.ka_cnt != x->pol.ka_cnt))
			return;
		l = x;
	}
	if (!l)
		return;
	/* Everything but TCP_SYNCNT, which req_promote() leaves at the
	 * default. */
	uint32_t syncnt = c->pol.syncnt;
	c->pol = l->pol;
	c->pol.syncnt = syncnt;
}

void fz_note_sockopt(fz_harness *h, int sd, sf_sockopt opt, int value)
{
	sf_tcp_info info;
	if (opt != SF_SO_KEEPALIVE && opt != SF_TCP_KEEPIDLE && opt != SF_TCP_KEEPCNT &&
	    opt != SF_TCP_USER_TIMEOUT && opt != SF_TCP_SYNCNT)
		return;
	if (sf_info(h->stack, sd, &info) != 0)
		return;
	fz_conn *c = fz_conn_get(h, info.conn_id);
	switch (opt) {
	case SF_SO_KEEPALIVE: c->pol.keepalive = value != 0; break;
	case SF_TCP_KEEPCNT: c->pol.ka_cnt = (uint32_t)value; break;
	case SF_TCP_USER_TIMEOUT: c->pol.user_timeout = (uint32_t)value; break;
	case SF_TCP_SYNCNT: c->pol.syncnt = (uint32_t)value; break;
	default: break;
	}
	/* Turning keep-alive on or setting its idle time restarts it from
	 * zero probes once the connection is synchronized. */
	if ((opt == SF_SO_KEEPALIVE || opt == SF_TCP_KEEPIDLE) && info.state >= SF_ESTABLISHED) {
		c->ka_run = 0;
		c->ka_exact = true;
	}
	/* A SYN-queue entry takes the listener's options when it is promoted,
	 * which the walk does not show: entries made before the change are
	 * no longer followed. */
	if (info.state == SF_LISTEN)
		for (size_t i = 0; i < h->nconns; i++) {
			fz_conn *e = &h->conns[i];
			if (e->from_listen && e->state == SF_SYN_RECEIVED &&
			    e->local.port == info.local.port)
				e->pol.unknown = true;
		}
}

/* The state c sent in during the current event: one clock step may fire
 * a connection's timers many times, resends and probes first, and end it
 * with the last firing (a timer changes a state only to CLOSED). */
static sf_state sending_state(const fz_harness *h, const fz_conn *c)
{
	return c->state == SF_CLOSED && c->closed_step == h->step && h->kind == FZ_EV_TIMER
		       ? c->timer_from
		       : c->state;
}

/* The give-up limit by count of a connection in state st. */
static uint32_t rtx_limit(const fz_harness *h, const fz_conn *c, sf_state st)
{
	if (st == SF_SYN_SENT)
		return c->pol.syncnt;
	if (st == SF_SYN_RECEIVED)
		return h->setup.cfg.synack_retries;
	return h->setup.cfg.retries2;
}

static const char *rtx_limit_name(sf_state st)
{
	return st == SF_SYN_SENT ? "TCP_SYNCNT" : st == SF_SYN_RECEIVED ? "synack_retries" : "retries2";
}

#define TIMER_FAIL(h, seg, ...) SEG_FAIL(h, "timers", seg, __VA_ARGS__)

/* A keep-alive probe, <SEQ=SND.UNA-1><ACK=RCV.NXT> without data. */
static void check_probe(fz_harness *h, const sf_segment *seg, fz_conn *c, sf_state st)
{
	h->ka_probes_sent++;
	c->ka_run++;
	if (!synchronized(st) || st == SF_TIME_WAIT)
		TIMER_FAIL(h, seg, "a keep-alive probe from connection %u in %s", c->id,
			   sf_state_name(st));
	if (c->cur_snd_una != c->cur_snd_nxt)
		TIMER_FAIL(h, seg, "a keep-alive probe from connection %u while SND.UNA %u < "
				   "SND.NXT %u: probes only with nothing unacknowledged "
				   "(RFC9293:MUST-26)", c->id, c->cur_snd_una, c->cur_snd_nxt);
	if (c->pol.unknown)
		return;
	if (!c->pol.keepalive)
		TIMER_FAIL(h, seg, "a keep-alive probe from connection %u, but SO_KEEPALIVE is off "
				   "(RFC9293:MUST-24, MUST-25)", c->id);
	if (c->ka_run > c->pol.ka_cnt)
		TIMER_FAIL(h, seg, "keep-alive probe %u of connection %u; after TCP_KEEPCNT = %u "
				   "unanswered probes it gives up", c->ka_run, c->id, c->pol.ka_cnt);
}

/* A segment a full connection sent on its timer: a keep-alive probe, or a
 * retransmission (RFC 6298 §5.4), counted against its give-up limit
 * (RFC9293:MUST-20, MUST-22). SYN-queue entries are check_synack_resends()'. */
static void check_timer_send(fz_harness *h, const sf_segment *seg, fz_conn *c)
{
	if (h->kind != FZ_EV_TIMER || (seg->flags & SF_RST))
		return;
	sf_state st = sending_state(h, c);
	if (c->from_listen && st == SF_SYN_RECEIVED)
		return;
	if (!(seg->flags & (SF_SYN | SF_FIN)) && !seg->payload_len &&
	    seg->seq == c->cur_snd_una - 1) {
		check_probe(h, seg, c, st);
		return;
	}
	c->rtx_run++;
	if (c->pol.unknown || c->pol.user_timeout)
		return;
	uint32_t limit = rtx_limit(h, c, st);
	if (c->rtx_run > limit)
		TIMER_FAIL(h, seg, "retransmission %u of connection %u in %s without progress; it "
				   "gives up after %s = %u (RFC9293:MUST-20, MUST-22)",
			   c->rtx_run, c->id, sf_state_name(st), rtx_limit_name(st), limit);
}

/* A connection a timeout ended: by the rule its options set, and not
 * before its count ran out (RFC9293:MUST-20, MUST-29). */
static void check_timeout(fz_harness *h, fz_conn *c)
{
	sf_state from = c->timer_from;
	sf_cause cause = c->timeout_cause;
	c->timeout_pending = false;
	if (c->from_listen && from == SF_SYN_RECEIVED) {
		if (cause == SF_CAUSE_TIMEOUT_RETRANS &&
		    c->synack_timer_sends < h->setup.cfg.synack_retries)
			fz_fail(h, "timers",
				"SYN-queue entry %u dropped after %u SYN-ACK resends; synack_retries "
				"is %u (DESIGN seed 11)", c->id, c->synack_timer_sends,
				h->setup.cfg.synack_retries);
		return;
	}
	if (c->pol.unknown)
		return;
	switch (cause) {
	case SF_CAUSE_TIMEOUT_RETRANS:
		if (c->pol.user_timeout)
			fz_fail(h, "timers",
				"connection %u gave up by count in %s, but TCP_USER_TIMEOUT = %u ms "
				"replaces the count with time", c->id, sf_state_name(from),
				c->pol.user_timeout);
		else if (c->rtx_run < rtx_limit(h, c, from))
			fz_fail(h, "timers",
				"connection %u gave up in %s after %u retransmissions; %s is %u "
				"(RFC9293:MUST-20, MUST-21)", c->id, sf_state_name(from), c->rtx_run,
				rtx_limit_name(from), rtx_limit(h, c, from));
		break;
	case SF_CAUSE_TIMEOUT_USER:
		if (!c->pol.user_timeout)
			fz_fail(h, "timers",
				"connection %u gave up for TCP_USER_TIMEOUT in %s, but none is set",
				c->id, sf_state_name(from));
		break;
	case SF_CAUSE_TIMEOUT_KEEPALIVE:
		if (!c->pol.keepalive)
			fz_fail(h, "timers",
				"connection %u ended by keep-alive in %s, but SO_KEEPALIVE is off "
				"(RFC9293:MUST-25)", c->id, sf_state_name(from));
		else if (c->ka_exact && c->ka_run < c->pol.ka_cnt)
			fz_fail(h, "timers",
				"connection %u ended by keep-alive after %u unanswered probes; "
				"TCP_KEEPCNT is %u (RFC9293:MUST-29)", c->id, c->ka_run, c->pol.ka_cnt);
		break;
	default:
		break;
	}
}

static void check_timeouts(fz_harness *h)
{
	h->timeouts_pending = false;
	for (size_t i = 0; i < h->nconns; i++)
		if (h->conns[i].timeout_pending)
			check_timeout(h, &h->conns[i]);
}

/* A segment came in: a connection that sent keep-alive probes may have
 * taken it as an answer (any acceptable segment with ACK restarts its
 * count, MUST-26) or dropped it. ka_run then counts only probes the engine
 * counted too, and stops being exact. */
static void note_probe_answer(fz_harness *h)
{
	sf_endpoint local = {.addr = h->in.dst, .port = h->in.dport};
	sf_endpoint remote = {.addr = h->in.src, .port = h->in.sport};
	for (size_t i = 0; i < h->nconns; i++) {
		fz_conn *c = &h->conns[i];
		if (!c->ka_run)
			continue;
		if (h->in_valid && (!fz_endpoint_eq(&c->local, &local) ||
				    !fz_endpoint_eq(&c->remote, &remote)))
			continue;
		c->ka_run = 0;
		c->ka_exact = false;
	}
}

void fz_on_state(void *ctx, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause)
{
	fz_harness *h = ctx;
	fz_count_transition(from, to, cause);
	if (h->setup.trace)
		fprintf(stderr, "%10.6f    connection %u: %s -> %s (%s)\n", (double)h->now / 1e6,
			conn_id, sf_state_name(from), sf_state_name(to), sf_cause_name(cause));

	if (!sf_transition_legal(from, to, cause))
		fz_fail(h, "transition",
			"connection %u: %s -> %s on %s is not an edge of the RFC 9293 state diagram",
			conn_id, sf_state_name(from), sf_state_name(to), sf_cause_name(cause));
	fz_conn *c = fz_conn_get(h, conn_id);
	if (c->reported && c->state != from)
		fz_fail(h, "transition", "connection %u: reported %s -> %s, but it was in %s",
			conn_id, sf_state_name(from), sf_state_name(to), sf_state_name(c->state));
	if (!c->reported && from != SF_CLOSED && from != SF_LISTEN)
		fz_fail(h, "transition", "connection %u: first reported change starts in %s",
			conn_id, sf_state_name(from));
	if (!cause_fits_event(h, cause))
		fz_fail(h, "transition", "connection %u: %s -> %s on %s during a %s event",
			conn_id, sf_state_name(from), sf_state_name(to), sf_cause_name(cause),
			kind_name(h->kind));
	if (cause == SF_CAUSE_RCV_RST)
		check_rst_exact(h, c, from);
	check_ack_exact(h, c, from, to, cause);
	if (!c->reported && from == SF_LISTEN) {
		c->from_listen = true;
		inherit_policy(h, c);
	}
	if (c->reported && from == SF_CLOSED)
		restart(c);
	c->reported = true;
	c->state = to;
	if (to == SF_CLOSED)
		c->closed_step = h->step;
	/* connect() starts the count of SYN resends; entering a state that
	 * runs keep-alive starts its probe count (the engine's
	 * sf_arm_keepalive()). */
	if (to == SF_SYN_SENT)
		c->rtx_run = 0;
	if (to == SF_ESTABLISHED || to == SF_CLOSE_WAIT || to == SF_FIN_WAIT_2) {
		c->ka_run = 0;
		c->ka_exact = true;
	}
	if (h->kind == FZ_EV_TIMER)
		c->timer_from = from;
	if (cause == SF_CAUSE_TIMEOUT_RETRANS || cause == SF_CAUSE_TIMEOUT_USER ||
	    cause == SF_CAUSE_TIMEOUT_KEEPALIVE) {
		c->timeout_pending = true;
		c->timeout_cause = cause;
		h->timeouts_pending = true;
	}
}

/* ---- The walk after each event: states as reported, and bookkeeping ---- */

/* One connection of the walk. sf_foreach_peek() gives the dozen fields the
 * checks need, the same values sf_foreach_conn() would report, without
 * filling a whole sf_tcp_info per connection per event. */
static void visit(void *ctx, const sf_conn_peek *info)
{
	fz_harness *h = ctx;
	fz_conn *c = fz_conn_get(h, info->conn_id);
	sf_state expect = c->reported ? c->state : SF_CLOSED;

	if (info->state != expect)
		fz_fail(h, "transition",
			"connection %u is in %s, but its last reported state is %s "
			"(a state change went unreported)",
			c->id, sf_state_name(info->state), sf_state_name(expect));
	c->alive = true;
	c->seen = true;
	c->local = *info->local;
	c->remote = *info->remote;
	c->from_listen |= info->from_listen;
	if (h->kind == FZ_EV_INPUT && c->cur_state >= SF_ESTABLISHED && c->cur_state <= SF_LAST_ACK)
		fz_ref_ack_walk(h, c, info);
	c->cur_state = info->state;
	c->cur_snd_wnd = info->snd_wnd;
	c->cur_snd_wl1 = info->snd_wl1;
	c->cur_snd_wl2 = info->snd_wl2;
	c->cur_snd_nxt = info->snd_nxt;
	c->cur_rcv_nxt = info->rcv_nxt;
	c->cur_rcv_wnd = info->rcv_wnd;
	/* An ACK that moved SND.UNA ends a run of resends (RFC6298:5.3; the
	 * engine's ack_advance() clears its count there). */
	if (info->snd_una != c->cur_snd_una)
		c->rtx_run = 0;
	c->cur_snd_una = info->snd_una;
	if (info->state == SF_CLOSED || info->state == SF_LISTEN)
		return;
	if (!c->iss_valid || sf_seq_gt(info->snd_nxt, c->max_snd_nxt))
		c->max_snd_nxt = info->snd_nxt;
	c->iss_valid = true;
	c->iss = info->iss;
	if (info->snd_mss > c->max_snd_mss)
		c->max_snd_mss = info->snd_mss;
	if (info->state == SF_SYN_SENT)
		return;
	if (c->irs_valid && info->irs != c->irs) {
		/* A new SYN gave the connection a new IRS: what we knew about
		 * its receive side belongs to the old one. */
		c->irs_valid = false;
		c->adv_valid = false;
	}
	if (!c->irs_valid || sf_seq_gt(info->rcv_nxt, c->max_rcv_nxt))
		c->max_rcv_nxt = info->rcv_nxt;
	c->irs_valid = true;
	c->irs = info->irs;
	if (!c->pwin_valid) {
		/* A passive open's first window is the SYN's, which came before
		 * the connection existed. */
		fz_flow *f = fz_flow_get(h, info->remote, info->local->port);
		c->pwin_valid = true;
		c->pmax_win = f->last_syn_win;
		c->pmax_ack = info->iss;
	}
	/* RFC 9293 §3.10.7.4: data beyond the window we offered is not
	 * acceptable (a FIN right at the edge still is). */
	if (c->adv_valid && sf_seq_gt(info->rcv_nxt, c->max_adv_edge + 1))
		fz_fail(h, "window",
			"connection %u: RCV.NXT %u is past %u, the right edge of the window it advertised",
			c->id, info->rcv_nxt, c->max_adv_edge);
	if (synchronized(info->state)) {
		/* SND.WND is a window the peer offered (scaled as negotiated):
		 * never larger than the largest one (window arithmetic,
		 * RFC 7323 §2.3). */
		if (c->pwin_valid && info->snd_wnd > c->pmax_win)
			fz_fail(h, "window",
				"connection %u: SND.WND %u is larger than any window the peer offered (%u)",
				c->id, info->snd_wnd, c->pmax_win);
		uint32_t edge = info->snd_una + info->snd_wnd;
		if (!c->edge_valid || sf_seq_gt(edge, c->max_right_edge))
			c->max_right_edge = edge;
		c->edge_valid = true;
	}
}

/* A connection the stack no longer holds must have said goodbye: its last
 * reported state is CLOSED, or LISTEN for a SYN-queue entry that went back
 * (RFC 9293 §3.10.7.4, SYN-RECEIVED on RST). */
static void check_vanished(fz_harness *h)
{
	for (size_t i = 0; i < h->nconns; i++) {
		fz_conn *c = &h->conns[i];
		if (c->alive || !c->reported || c->state == SF_CLOSED)
			continue;
		if (c->state == SF_LISTEN && c->from_listen)
			continue;
		fz_fail(h, "transition",
			"connection %u is gone, but its last reported state is %s (no change to CLOSED was reported)",
			c->id, sf_state_name(c->state));
	}
}

static void check_invariants(fz_harness *h)
{
	char why[256];
	why[0] = 0;
	if (sf_check_invariants(h->stack, why, sizeof why) != 0)
		fz_fail(h, "invariants", "%s", why[0] ? why : "(no description)");
}

void fz_check_event(fz_harness *h)
{
	for (size_t i = 0; i < h->nconns; i++)
		h->conns[i].alive = false;
	sf_foreach_peek(h->stack, visit, h);
	check_vanished(h);
	check_invariants(h);
	for (size_t i = 0; i < h->nout; i++) {
		sf_segment seg = h->out[i].seg;
		seg.payload = seg.payload_len ? h->out_payload + h->out[i].payload_off : NULL;
		fz_check_output(h, &seg);
	}
	if (h->timeouts_pending)
		check_timeouts(h);
	if (h->ka_probes_sent && h->kind == FZ_EV_INPUT)
		note_probe_answer(h);
}

/* ---- Output sanity (oracle 4) ---- */

#define OUT_FAIL(h, seg, ...) SEG_FAIL(h, "output-sanity", seg, __VA_ARGS__)

bool fz_opts_same(const sf_tcp_options *a, const sf_tcp_options *b)
{
	if (a->has_mss != b->has_mss || (a->has_mss && a->mss != b->mss))
		return false;
	if (a->has_wscale != b->has_wscale || (a->has_wscale && a->wscale != b->wscale))
		return false;
	if (a->sack_permitted != b->sack_permitted || a->sack_count != b->sack_count)
		return false;
	for (uint8_t i = 0; i < a->sack_count && i < SF_MAX_SACK_BLOCKS; i++)
		if (a->sack[i].left != b->sack[i].left || a->sack[i].right != b->sack[i].right)
			return false;
	if (a->has_ts != b->has_ts)
		return false;
	return !a->has_ts || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr);
}

/* Emit the segment and parse it back: every field must survive, the
 * checksum must verify (RFC9293:MUST-2, MUST-3), options must be well formed
 * (RFC9293:MUST-68, MUST-69). */
static void check_reparse(fz_harness *h, const sf_segment *seg)
{
	sf_segment p;
	if (seg->opt_len > SF_MAX_OPT_LEN || seg->opt_len % 4)
		OUT_FAIL(h, seg, "option area of %u octets is not a multiple of 4 up to 40", seg->opt_len);
	int n = fz_wire_emit(seg, NULL, h->pkt, SF_MAX_PACKET);
	if (n < 0)
		OUT_FAIL(h, seg, "cannot be emitted: %s", sf_wire_strerror(n));
	if ((size_t)n != fz_wire_length(seg))
		OUT_FAIL(h, seg, "emitted %d octets, sf_wire_length() says %zu", n, fz_wire_length(seg));
	int rc = fz_wire_parse(h->pkt, (size_t)n, &p);
	if (rc != 0)
		OUT_FAIL(h, seg, "does not parse back: %s", sf_wire_strerror(rc));
	if (!sf_addr_eq(&p.src, &seg->src) || !sf_addr_eq(&p.dst, &seg->dst) ||
	    p.sport != seg->sport || p.dport != seg->dport || p.seq != seg->seq ||
	    p.ack != seg->ack || p.flags != seg->flags || p.reserved != seg->reserved ||
	    p.window != seg->window || p.urg_ptr != seg->urg_ptr || p.tos != seg->tos)
		OUT_FAIL(h, seg, "header fields change through emit and parse");
	if (p.opt_len != seg->opt_len || memcmp(p.opt_raw, seg->opt_raw, seg->opt_len) != 0)
		OUT_FAIL(h, seg, "option bytes change through emit and parse");
	if (p.payload_len != seg->payload_len ||
	    (seg->payload_len && memcmp(p.payload, seg->payload, seg->payload_len) != 0))
		OUT_FAIL(h, seg, "payload changes through emit and parse");
	if (p.opts.malformed || p.opts.unknown_count || p.opts.nonzero_padding)
		OUT_FAIL(h, seg, "malformed or unknown options (RFC9293:MUST-68, MUST-69)");
	if (!fz_opts_same(&p.opts, &seg->opts))
		OUT_FAIL(h, seg, "decoded options (opts) disagree with the option bytes (opt_raw)");
}

/* Addresses: from us, never to us. */
static void check_addresses(fz_harness *h, const sf_segment *seg)
{
	const sf_config *cfg = &h->setup.cfg;
	const sf_addr *ours = seg->src.family == SF_AF_INET6 ? &cfg->local6 : &cfg->local4;
	if (!sf_addr_eq(&seg->src, ours))
		OUT_FAIL(h, seg, "source address is not ours");
	if (sf_addr_eq(&seg->dst, ours) || sf_addr_is_any(&seg->dst))
		OUT_FAIL(h, seg, "sent to our own or to the wildcard address");
	if (!seg->sport || !seg->dport)
		OUT_FAIL(h, seg, "port zero");
}

/*
 * Flag combinations the engine may send. The engine has no urgent-data API,
 * no ECN and no TCP Fast Open, so URG, ECE, CWR, reserved bits and data on a
 * SYN or RST never appear. Every segment except a first SYN and an RST
 * answering an ACK carries ACK (RFC 9293 §3.10.7.1, §3.5.2).
 */
static void check_flags(fz_harness *h, const sf_segment *seg)
{
	uint8_t f = seg->flags;
	if ((f & SF_SYN) && (f & (SF_FIN | SF_RST)))
		OUT_FAIL(h, seg, "SYN together with FIN or RST");
	if ((f & SF_RST) && (f & (SF_FIN | SF_PSH | SF_URG)))
		OUT_FAIL(h, seg, "RST together with FIN, PSH or URG");
	if (f & (SF_URG | SF_ECE | SF_CWR))
		OUT_FAIL(h, seg, "URG, ECE or CWR set, but the engine has no urgent data or ECN");
	if (seg->reserved)
		OUT_FAIL(h, seg, "reserved bits set (RFC 9293 §3.1: must be zero)");
	if (!(f & SF_URG) && seg->urg_ptr)
		OUT_FAIL(h, seg, "urgent pointer %u without URG", seg->urg_ptr);
	if (!(f & SF_ACK) && !(f & (SF_SYN | SF_RST)))
		OUT_FAIL(h, seg, "no ACK on a segment that is neither a first SYN nor an RST");
	if ((f & (SF_SYN | SF_RST)) && seg->payload_len)
		OUT_FAIL(h, seg, "data on a SYN or RST (the engine has no TFO)");
}

/* Options: MSS, window scale and SACK-permitted only on SYNs
 * (RFC9293:MUST-65, RFC 7323 §2.2, RFC 2018 §2); on a SYN-ACK only what the
 * peer's SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2); timestamps and SACK
 * blocks later only when both SYNs agreed (RFC 7323 §3.2, RFC 2018 §3). */
static void check_options(fz_harness *h, const sf_segment *seg, fz_conn *c, const fz_flow *f)
{
	const sf_tcp_options *o = &seg->opts;
	bool syn = seg->flags & SF_SYN;
	if (!syn && (o->has_mss || o->has_wscale || o->sack_permitted))
		OUT_FAIL(h, seg, "MSS, window scale or SACK-permitted on a non-SYN (RFC9293:MUST-65)");
	if (syn && o->has_mss && o->mss > h->setup.cfg.mss)
		OUT_FAIL(h, seg, "MSS %u above the configured %u (RFC9293:MUST-67)", o->mss,
			 h->setup.cfg.mss);
	if (syn && (seg->flags & SF_ACK) && f) {
		if (o->has_wscale && !f->syn_wscale)
			OUT_FAIL(h, seg, "window scale on a SYN-ACK to a SYN without it (RFC 7323 §2.2)");
		if (o->has_ts && !f->syn_ts)
			OUT_FAIL(h, seg, "timestamps on a SYN-ACK to a SYN without them (RFC 7323 §3.2)");
		if (o->sack_permitted && !f->syn_sack_perm)
			OUT_FAIL(h, seg, "SACK-permitted on a SYN-ACK to a SYN without it (RFC 2018 §2)");
	}
	if (syn && c) {
		c->our_syn_seen = true;
		c->our_ts |= o->has_ts;
		c->our_sack_perm |= o->sack_permitted;
		if (o->has_wscale) {
			c->our_wscale = true;
			c->our_wscale_val = o->wscale > 14 ? 14 : o->wscale;
		}
	}
	if (syn || !c || (seg->flags & SF_RST))
		return;
	if (o->has_ts && c->our_syn_seen && !(c->our_ts && f && f->syn_ts))
		OUT_FAIL(h, seg, "timestamps, but they were not negotiated (RFC 7323 §3.2)");
	if (o->sack_count && c->our_syn_seen && !(c->our_sack_perm && f && f->syn_sack_perm))
		OUT_FAIL(h, seg, "SACK blocks, but SACK was not negotiated (RFC 2018 §3)");
	for (uint8_t i = 0; i < o->sack_count && i < SF_MAX_SACK_BLOCKS; i++)
		if (!sf_seq_lt(o->sack[i].left, o->sack[i].right))
			OUT_FAIL(h, seg, "empty or inverted SACK block %u-%u", o->sack[i].left,
				 o->sack[i].right);
}

static uint32_t seg_len(const sf_segment *s)
{
	return (uint32_t)s->payload_len + ((s->flags & SF_SYN) ? 1 : 0) +
	       ((s->flags & SF_FIN) ? 1 : 0);
}

/*
 * An RST either answers the segment that just arrived (RFC 9293 §3.10.7.1:
 * <SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>), or
 * aborts one of our connections from within its send range. Never in reply
 * to an RST (RFC 9293 §3.10.7: "an incoming segment containing a RST is
 * discarded").
 */
static void check_rst(fz_harness *h, const sf_segment *seg, const fz_conn *c)
{
	bool answering = h->kind == FZ_EV_INPUT && h->in_valid;
	if (answering && (h->in.flags & SF_RST))
		OUT_FAIL(h, seg, "an RST in reply to an RST");
	if (answering) {
		const sf_segment *in = &h->in;
		if ((in->flags & SF_ACK) && !(seg->flags & SF_ACK) && seg->seq == in->ack)
			return;
		if (!(in->flags & SF_ACK) && (seg->flags & SF_ACK) && seg->seq == 0 &&
		    seg->ack == in->seq + seg_len(in))
			return;
	}
	if (c && c->iss_valid && sf_seq_le(c->iss, seg->seq) && sf_seq_le(seg->seq, c->max_snd_nxt) &&
	    (!(seg->flags & SF_ACK) || (c->irs_valid && sf_seq_le(seg->ack, c->max_rcv_nxt))))
		return;
	OUT_FAIL(h, seg, "an RST that neither answers the arriving segment by RFC 9293 §3.10.7.1 "
			 "nor lies in a connection's send range");
}

/*
 * The sender's side of RFC 9293 §3.4 and §3.8.6: sequence numbers only from
 * ISS up to SND.NXT, ACKs only for what arrived, data only inside the peer's
 * window (plus one octet for a zero-window probe, §3.8.6.1) and no larger
 * than the effective send MSS (RFC9293:MUST-15, MUST-16).
 */
static void check_numbers(fz_harness *h, const sf_segment *seg, const fz_conn *c, const fz_flow *f)
{
	if (!c->iss_valid)
		OUT_FAIL(h, seg, "sent by a connection without an ISS");
	if ((seg->flags & SF_SYN) && seg->seq != c->iss)
		OUT_FAIL(h, seg, "SYN with seq %u, but the ISS is %u", seg->seq, c->iss);
	uint32_t end = seg->seq + seg_len(seg);
	if (!sf_seq_le(c->iss, seg->seq) || !sf_seq_le(end, c->max_snd_nxt))
		OUT_FAIL(h, seg, "sequence range %u-%u outside ISS %u .. SND.NXT %u", seg->seq, end,
			 c->iss, c->max_snd_nxt);
	if (seg->flags & SF_ACK) {
		if (!c->irs_valid)
			OUT_FAIL(h, seg, "ACK before any SYN was received");
		if (!sf_seq_le(c->irs + 1, seg->ack) || !sf_seq_le(seg->ack, c->max_rcv_nxt))
			OUT_FAIL(h, seg, "acknowledges %u, outside connection %u's IRS+1 %u .. RCV.NXT %u",
				 seg->ack, c->id, c->irs + 1, c->max_rcv_nxt);
	}
	if (!seg->payload_len)
		return;
	/* Inside SND.UNA + SND.WND as the engine keeps them (its window update
	 * rules, §3.10.7.4, decide which segments move them), and inside what
	 * the peer ever offered: its highest ACK plus its largest window. */
	uint32_t data_end = seg->seq + (uint32_t)seg->payload_len;
	if (c->edge_valid && !sf_seq_le(data_end, c->max_right_edge + 1))
		OUT_FAIL(h, seg, "data up to %u beyond the window edge %u (RFC 9293 §3.8.6)",
			 data_end, c->max_right_edge);
	if (c->pwin_valid && !sf_seq_le(data_end, c->pmax_ack + c->pmax_win + 1))
		OUT_FAIL(h, seg, "data up to %u beyond anything the peer offered (ACK %u + window %u)",
			 data_end, c->pmax_ack, c->pmax_win);
	uint32_t peer_mss = 0;
	if (f && f->syn_seen) {
		peer_mss = f->syn_mss_max;
		if (f->syn_without_mss && peer_mss < 536)
			peer_mss = 536;
	}
	uint32_t limit = peer_mss < h->setup.cfg.mss ? peer_mss : h->setup.cfg.mss;
	/* Like Linux (TCP_MIN_SND_MSS, the CVE-2019-11479 fix), a peer's tiny
	 * MSS does not make segments smaller than 48 data octets. */
	uint32_t data_limit = limit > seg->opt_len + 48u ? limit - seg->opt_len : 48u;
	if (peer_mss && seg->payload_len > data_limit)
		OUT_FAIL(h, seg, "%zu data + %u option octets exceed the effective send MSS %u "
				 "(RFC9293:MUST-16)", seg->payload_len, seg->opt_len, limit);
}

/* Stream integrity (oracle 5), sending side: every data octet is the one
 * the application wrote at that offset, and the FIN sits right after the last. */
static void check_sent_stream(fz_harness *h, const sf_segment *seg, const fz_conn *c)
{
	uint32_t first = seg->seq + ((seg->flags & SF_SYN) ? 1 : 0);
	uint64_t off = (uint32_t)(first - (c->iss + 1));
	if (seg->payload_len) {
		if (off + seg->payload_len > c->written)
			fz_fail(h, "stream-integrity",
				"connection %u sent octets %llu..%llu, but the application wrote only %llu",
				c->id, (unsigned long long)off,
				(unsigned long long)(off + seg->payload_len),
				(unsigned long long)c->written);
		if (memcmp(seg->payload, fz_app_pattern(c->id, off), seg->payload_len) != 0)
			for (size_t i = 0; i < seg->payload_len; i++)
				if (seg->payload[i] != fz_app_byte(c->id, off + i))
					fz_fail(h, "stream-integrity",
						"connection %u sent octet %llu as 0x%02x, the application wrote 0x%02x",
						c->id, (unsigned long long)(off + i), seg->payload[i],
						fz_app_byte(c->id, off + i));
	}
	if (!(seg->flags & SF_FIN))
		return;
	if (!c->app_closed)
		fz_fail(h, "stream-integrity",
			"connection %u sent a FIN, but the application neither closed nor shut down", c->id);
	if (off + seg->payload_len != c->written)
		fz_fail(h, "stream-integrity",
			"connection %u sent its FIN after %llu octets, but the application wrote %llu",
			c->id, (unsigned long long)(off + seg->payload_len),
			(unsigned long long)c->written);
}

/* The right edge of the window this segment offers the peer: the window
 * field is scaled except on SYNs (RFC 7323 §2.2) when both SYNs agreed. */
static void note_advertised(fz_conn *c, const fz_flow *f, const sf_segment *seg)
{
	if (!(seg->flags & SF_ACK))
		return;
	uint32_t shift = 0;
	if (!(seg->flags & SF_SYN) && c->our_wscale && f && f->syn_wscale)
		shift = c->our_wscale_val;
	uint32_t edge = seg->ack + ((uint32_t)seg->window << shift);
	if (!c->adv_valid || sf_seq_gt(edge, c->max_adv_edge))
		c->max_adv_edge = edge;
	c->adv_valid = true;
}

/* A SYN-queue entry resends its SYN-ACK on its timer at most synack_retries
 * times and is then dropped (DESIGN seed 11, Linux's tcp_synack_retries;
 * RFC9293:MUST-20, MUST-22: the handshake gives up at R2 like any
 * retransmission). Only timer events count: a retransmitted SYN draws a
 * SYN-ACK too, and an entry's SYN-ACKs do not depend on TCP_USER_TIMEOUT. */
static void check_synack_resends(fz_harness *h, const sf_segment *seg, fz_conn *c)
{
	if (h->kind != FZ_EV_TIMER || (seg->flags & (SF_SYN | SF_ACK)) != (SF_SYN | SF_ACK) ||
	    !c->from_listen || sending_state(h, c) != SF_SYN_RECEIVED)
		return;
	if (++c->synack_timer_sends > h->setup.cfg.synack_retries)
		OUT_FAIL(h, seg,
			 "SYN-ACK resend %u of SYN-queue entry %u on its timer; the entry is dropped "
			 "after synack_retries = %u resends (DESIGN seed 11, RFC9293:MUST-20)",
			 c->synack_timer_sends, c->id, h->setup.cfg.synack_retries);
}

void fz_check_output(fz_harness *h, const sf_segment *seg)
{
	check_reparse(h, seg);
	check_addresses(h, seg);
	check_flags(h, seg);

	sf_endpoint local = {.addr = seg->src, .port = seg->sport};
	sf_endpoint remote = {.addr = seg->dst, .port = seg->dport};
	fz_conn *c = fz_conn_by_tuple(h, &local, &remote, seg->seq);
	fz_flow *f = fz_flow_get(h, &remote, seg->sport);
	check_options(h, seg, c, f);
	if (seg->flags & SF_RST) {
		check_rst(h, seg, c);
		return;
	}
	if (!c)
		OUT_FAIL(h, seg, "a segment that belongs to no connection and is not an RST");
	check_numbers(h, seg, c, f);
	check_sent_stream(h, seg, c);
	check_synack_resends(h, seg, c);
	check_timer_send(h, seg, c);
	note_advertised(c, f, seg);
}

/* ---- Stream integrity, receiving side, and API results ---- */

void fz_check_recv(fz_harness *h, int sd, const uint8_t *buf, ssize_t n, size_t asked)
{
	sf_tcp_info info;
	if (n > (ssize_t)asked)
		fz_fail(h, "api", "recv(%zu) returned %zd", asked, n);
	if (n < 0 || sf_info(h->stack, sd, &info) != 0) {
		if (n > 0)
			fz_fail(h, "api", "recv() returned data on handle %d that has no connection", sd);
		return;
	}
	fz_conn *c = fz_conn_get(h, info.conn_id);
	fz_flow *f = fz_flow_get(h, &info.remote, info.local.port);
	uint32_t base = info.irs + 1 + (uint32_t)c->delivered;

	if (n == 0) {
		if (!asked)
			return;
		/* End of stream is also what a closed connection reports once its
		 * error was taken (reset, timeout), and what SHUT_RD leads to. */
		bool fin_there = f->fin_overflow || f->tainted || c->shut_rd ||
				 info.state == SF_CLOSED;
		for (uint8_t i = 0; i < f->fin_count; i++)
			fin_there |= f->fin_seq[i] == base;
		if (!fin_there)
			fz_fail(h, "stream-integrity",
				"recv() reports end of stream after %llu octets, but the peer sent no FIN at seq %u",
				(unsigned long long)c->delivered, base);
		c->eof_seen = true;
		return;
	}
	/* After shutdown(SHUT_RD), Linux still hands out data that arrives
	 * (and reports end of stream when none is queued); after a FIN, nothing
	 * can come. */
	if (!c->irs_valid)
		fz_fail(h, "stream-integrity",
			"recv() returned %zd octets on connection %u in %s, which has received no SYN "
			"since it was opened (data of an earlier incarnation?)",
			n, c->id, sf_state_name(info.state));
	if (c->eof_seen && !c->shut_rd)
		fz_fail(h, "stream-integrity", "recv() returned %zd octets after end of stream", n);
	bool same = f->tainted || memcmp(buf, fz_pattern(f->salt + base, (size_t)n), (size_t)n) == 0;
	for (ssize_t i = 0; i < n && !same; i++)
		if (buf[i] != fz_peer_byte(f->salt, base + (uint32_t)i))
			fz_fail(h, "stream-integrity",
				"recv() delivered 0x%02x as stream octet %llu (seq %u); the peer sent 0x%02x there",
				buf[i], (unsigned long long)(c->delivered + (uint64_t)i), base + (uint32_t)i,
				fz_peer_byte(f->salt, base + (uint32_t)i));
	c->delivered += (uint64_t)n;
}

void fz_check_result(fz_harness *h, const char *call, long rc)
{
	if (h->setup.trace)
		fprintf(stderr, "%10.6f    %s() = %ld%s%s\n", (double)h->now / 1e6, call, rc,
			rc < 0 ? " " : "", rc < 0 ? sf_errno_name((int)rc) : "");
	if (rc < -4095)
		fz_fail(h, "api", "%s() returned %ld, which is not a negative errno value", call, rc);
}
