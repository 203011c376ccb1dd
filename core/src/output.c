/*
 * Everything the stack sends: SYN, SYN-ACK, ACK, RST, data and FIN, and the
 * retransmission of the earliest unacknowledged segment. Every segment leaves
 * through emit() and env.output.
 */
#include <string.h>

#include "tcp_internal.h"

/* IPv4/IPv6 hop limit of everything we send (Linux's default ip_default_ttl). */
#define SF_TTL 64

static void seg_init(sf_segment *seg, const sf_endpoint *local, const sf_endpoint *remote)
{
	memset(seg, 0, sizeof(*seg));
	seg->src = local->addr;
	seg->dst = remote->addr;
	seg->sport = local->port;
	seg->dport = remote->port;
	seg->ttl = SF_TTL;
	/* DF set and IP ID 0 for every segment: atomic datagrams (RFC 6864), and
	 * no per-connection counter to keep. */
	seg->dont_frag = true;
}

static void emit(sf_stack *s, const sf_segment *seg)
{
	s->stats.segs_out++;
	s->env.output(s->env.ctx, seg);
}

/* Our SYN and SYN-ACK carry only the MSS option: window scaling, SACK and
 * timestamps are not implemented yet, so they are not offered
 * (RFC9293:MUST-14, SHLD-5; RFC7323:2.2-a). */
static void put_mss_option(sf_segment *seg, uint16_t mss)
{
	memset(&seg->opts, 0, sizeof(seg->opts));
	seg->opts.has_mss = true;
	seg->opts.mss = mss;
	seg->opt_len = (uint8_t)sf_opts_encode(&seg->opts, seg->opt_raw);
}

static uint16_t wire_window(sf_conn *c)
{
	sf_update_rcv_wnd(c);
	return (uint16_t)c->rcv_wnd;
}

/* A SYN's window: free buffer space, unscaled (RFC7323:2.2-c). */
static uint16_t syn_window(const sf_conn *c)
{
	return (uint16_t)(c->rcvbuf < SF_MAX_WINDOW ? c->rcvbuf : SF_MAX_WINDOW);
}

/* <SEQ=ISS><CTL=SYN> in SYN-SENT, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> in
 * SYN-RECEIVED after a simultaneous open (RFC9293:U-8). */
void sf_send_syn(sf_stack *s, sf_conn *c, bool with_ack)
{
	sf_segment seg;

	seg_init(&seg, &c->node.local, &c->node.remote);
	seg.seq = c->iss;
	seg.flags = SF_SYN;
	if (with_ack) {
		seg.flags |= SF_ACK;
		seg.ack = c->rcv_nxt;
		seg.window = wire_window(c);
	} else {
		seg.window = syn_window(c);
	}
	put_mss_option(&seg, c->rcv_mss);
	emit(s, &seg);
}

/* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> from a SYN-queue entry (RFC9293:U-4). */
void sf_send_synack_req(sf_stack *s, const sf_req *r)
{
	sf_segment seg;

	seg_init(&seg, &r->node.local, &r->node.remote);
	seg.seq = r->iss;
	seg.ack = r->irs + 1;
	seg.flags = SF_SYN | SF_ACK;
	seg.window = r->rcv_wnd;
	put_mss_option(&seg, r->rcv_mss);
	emit(s, &seg);
}

/* <SEQ=ISS+1><ACK=RCV.NXT><CTL=ACK> from a SYN-queue entry, in reply to an
 * unacceptable segment (RFC9293:U-10). */
void sf_send_req_ack(sf_stack *s, const sf_req *r)
{
	sf_segment seg;

	seg_init(&seg, &r->node.local, &r->node.remote);
	seg.seq = r->iss + 1;
	seg.ack = r->irs + 1;
	seg.flags = SF_ACK;
	seg.window = r->rcv_wnd;
	emit(s, &seg);
}

void sf_send_ack_at(sf_stack *s, sf_conn *c, uint32_t seq)
{
	sf_segment seg;

	seg_init(&seg, &c->node.local, &c->node.remote);
	seg.seq = seq;
	seg.ack = c->rcv_nxt;
	seg.flags = SF_ACK;
	seg.window = wire_window(c);
	emit(s, &seg);
}

/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
void sf_send_ack(sf_stack *s, sf_conn *c)
{
	sf_send_ack_at(s, c, c->snd_nxt);
}

/* Our own reset of a synchronized connection: <SEQ=SND.NXT><ACK=RCV.NXT>
 * <CTL=RST,ACK>, as Linux's tcp_send_active_reset() (RFC 9293 §3.10.5). */
void sf_send_rst_conn(sf_stack *s, sf_conn *c)
{
	sf_segment seg;

	seg_init(&seg, &c->node.local, &c->node.remote);
	seg.seq = c->snd_nxt;
	seg.ack = c->rcv_nxt;
	seg.flags = SF_RST | SF_ACK;
	seg.window = 0;
	emit(s, &seg);
}

/*
 * The reset that answers a segment with no connection to go to
 * (RFC9293:U-1, U-3, U-6, U-15): <SEQ=SEG.ACK><CTL=RST> if it had ACK set,
 * else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A reset is never answered.
 */
void sf_send_rst_reply(sf_stack *s, const sf_segment *in)
{
	sf_segment seg;
	sf_endpoint local = { in->dst, in->dport }, remote = { in->src, in->sport };

	if (in->flags & SF_RST)
		return;
	seg_init(&seg, &local, &remote);
	if (in->flags & SF_ACK) {
		seg.seq = in->ack;
		seg.flags = SF_RST;
	} else {
		seg.seq = 0;
		seg.ack = in->seq + sf_seg_len(in);
		seg.flags = SF_RST | SF_ACK;
	}
	emit(s, &seg);
}

/* ---- Rate limits for ACKs we owe to unacceptable segments ---- */

/* Linux __tcp_oow_rate_limited(): at most one such ACK per connection per
 * cfg.oow_ack_interval. `last` holds the send time + 1 (0 = never). */
bool sf_oow_limited(sf_stack *s, uint64_t *last)
{
	if (*last && s->now + 1 - *last < s->cfg.oow_ack_interval)
		return true;
	*last = s->now + 1;
	return false;
}

/* Linux tcp_oow_rate_limited(): only segments that occupy no sequence space
 * (or carry SYN) are limited; data and FIN cannot be part of an ACK loop. */
bool sf_oow_limited_seg(sf_stack *s, uint64_t *last, const sf_segment *in)
{
	if (sf_seg_len(in) != 0 && !(in->flags & SF_SYN))
		return false;
	return sf_oow_limited(s, last);
}

/* RFC5961:7: challenge ACKs are limited per connection, never stack-wide
 * (a global counter is the CVE-2016-5696 side channel). */
void sf_send_challenge_ack(sf_stack *s, sf_conn *c)
{
	const uint64_t second = 1000000;

	/* chal_window_start holds the window's start + 1 (0 = none yet). */
	if (c->chal_window_start == 0 || s->now + 1 - c->chal_window_start >= second) {
		c->chal_window_start = s->now + 1;
		c->chal_count = 0;
	}
	if (c->chal_count >= s->cfg.challenge_ack_limit ||
	    sf_oow_limited(s, &c->last_oow_ack)) {
		s->stats.challenge_acks_limited++;
		return;
	}
	c->chal_count++;
	s->stats.challenge_acks++;
	sf_send_ack(s, c);
}

/* The ACK owed to an unacceptable segment (RFC9293:U-10), rate limited as
 * Linux does. */
void sf_send_dupack(sf_stack *s, sf_conn *c, const sf_segment *in)
{
	if (!sf_oow_limited_seg(s, &c->last_oow_ack, in))
		sf_send_ack(s, c);
}

/* ---- Data and FIN ---- */

/* Can this state send data or FIN, and has our SYN been acknowledged? */
static bool can_send(const sf_conn *c)
{
	switch (c->state) {
	case SF_ESTABLISHED:
	case SF_CLOSE_WAIT:
	case SF_FIN_WAIT_1:
	case SF_CLOSING:
	case SF_LAST_ACK:
		return sf_seq_gt(c->snd_una, c->iss);
	default:
		return false;
	}
}

static void send_data_seg(sf_stack *s, sf_conn *c, uint32_t seq, uint32_t n, bool fin)
{
	sf_segment seg;
	uint32_t off = seq - c->snd_data_seq;

	seg_init(&seg, &c->node.local, &c->node.remote);
	seg.seq = seq;
	seg.ack = c->rcv_nxt;
	seg.flags = SF_ACK;
	if (n) {
		seg.payload = sf_ring_peek(&c->snd, off, n, s->scratch);
		seg.payload_len = n;
		/* RFC9293:MUST-61: PSH on the segment that empties the buffer. */
		if (off + n == c->snd.len)
			seg.flags |= SF_PSH;
	}
	if (fin)
		seg.flags |= SF_FIN;
	seg.window = wire_window(c);
	emit(s, &seg);
}

/* Remember when the oldest unacked segment went out (TCP_USER_TIMEOUT) and
 * time one segment per round trip (RFC6298:3, Karn). */
static void note_new_send(sf_stack *s, sf_conn *c, uint32_t end)
{
	if (c->snd_una == c->snd_nxt)
		c->rtx_start = s->now;
	if (!c->rtt_active) {
		c->rtt_active = true;
		c->rtt_seq = end;
		c->rtt_start = s->now;
	}
}

/*
 * Send what the window allows: new data in segments of at most the effective
 * send MSS (RFC9293:MUST-16), then the FIN once all data has gone. There is no
 * congestion window or Nagle yet: this is the place they will lower `limit`.
 * Returns true if anything was sent.
 */
bool sf_output(sf_stack *s, sf_conn *c)
{
	bool sent = false;

	if (!can_send(c))
		return false;
	for (;;) {
		uint32_t data_end = c->snd_data_seq + c->snd.len;
		uint32_t wnd_end = c->snd_una + c->snd_wnd;
		uint32_t limit = sf_seq_lt(wnd_end, data_end) ? wnd_end : data_end;
		uint32_t n;
		bool fin;

		if (c->fin_sent)
			break;
		if (sf_seq_lt(c->snd_nxt, data_end)) {
			if (!sf_seq_lt(c->snd_nxt, limit))
				break; /* window closed: zero-window probing comes later */
			n = limit - c->snd_nxt;
			if (n > c->snd_mss)
				n = c->snd_mss;
		} else if (c->shut_wr) {
			n = 0;
		} else {
			break;
		}
		fin = c->shut_wr && c->snd_nxt + n == data_end;
		note_new_send(s, c, c->snd_nxt + n + fin);
		send_data_seg(s, c, c->snd_nxt, n, fin);
		c->snd_nxt += n + fin;
		c->fin_sent = fin;
		sent = true;
		if (c->rtx_at == SF_NEVER)
			sf_arm_rtx(s, c);
	}
	return sent;
}

/* RFC6298:5 (5.4): resend the earliest segment not yet acknowledged. */
void sf_retransmit(sf_stack *s, sf_conn *c)
{
	uint32_t data_end, n, seq = c->snd_una;
	bool fin;

	c->rtt_active = false; /* Karn: no sample from a retransmitted segment */
	c->total_retrans++;
	s->stats.retransmits++;
	if (c->state == SF_SYN_SENT) {
		sf_send_syn(s, c, false);
		return;
	}
	if (!sf_seq_gt(c->snd_una, c->iss)) {
		sf_send_syn(s, c, true); /* SYN-RECEIVED, or closed before our SYN was acked */
		return;
	}
	data_end = c->snd_data_seq + c->snd.len;
	n = sf_seq_lt(seq, data_end) ? data_end - seq : 0;
	if (sf_seq_lt(c->snd_nxt, seq + n))
		n = c->snd_nxt - seq;
	if (n > c->snd_mss)
		n = c->snd_mss;
	fin = c->fin_sent && seq + n == data_end;
	send_data_seg(s, c, seq, n, fin);
}
