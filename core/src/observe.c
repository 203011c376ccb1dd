/*
 * Light observation: sf_foreach_peek() (tcp.h, "Light observation").
 *
 * A fuzz harness checks every connection after every event. sf_foreach_conn()
 * clears and fills a whole sf_tcp_info per connection (twenty-odd fields, the
 * next timer among them); the harness's oracles read a dozen. This walk fills
 * only those, from the same control-block fields sf_fill_info() and
 * sf_fill_req_info() use, so both walks report the same values
 * (core/tests/test_observe.c holds them to that).
 */
#include "tcp_internal.h"

static void peek_conn(const sf_conn *c, sf_conn_peek *p)
{
	p->conn_id = c->conn_id;
	p->state = (sf_state)c->state;
	p->from_listen = c->from_listen;
	p->local = &c->node.local;
	p->remote = &c->node.remote;
	p->iss = c->iss;
	p->irs = c->irs;
	p->snd_una = c->snd_una;
	p->snd_nxt = c->snd_nxt;
	p->snd_wnd = c->snd_wnd;
	p->snd_wl1 = c->snd_wl1;
	p->snd_wl2 = c->snd_wl2;
	p->rcv_nxt = c->rcv_nxt;
	p->rcv_wnd = c->rcv_adv - c->rcv_nxt;
	p->snd_mss = c->snd_mss;
}

/* A SYN-queue entry is a connection in SYN-RECEIVED that has sent its SYN-ACK
 * (SND.NXT = ISS + 1) and taken the peer's SYN (RCV.NXT = IRS + 1), as
 * sf_fill_req_info() reports it. */
static void peek_req(const sf_req *r, sf_conn_peek *p)
{
	p->conn_id = r->conn_id;
	p->state = SF_SYN_RECEIVED;
	p->from_listen = true;
	p->local = &r->node.local;
	p->remote = &r->node.remote;
	p->iss = r->iss;
	p->irs = r->irs;
	p->snd_una = r->iss;
	p->snd_nxt = r->iss + 1;
	p->snd_wnd = r->snd_wnd;
	p->snd_wl1 = p->snd_wl2 = 0; /* as sf_fill_req_info() */
	p->rcv_nxt = r->irs + 1;
	p->rcv_wnd = r->rcv_wnd;
	p->snd_mss = r->peer_mss;
}

SF_API void sf_foreach_peek(const sf_stack *s, sf_peek_visitor visit, void *ctx)
{
	sf_conn_peek p;

	for (const sf_conn *c = s->head; c; c = c->next) {
		peek_conn(c, &p);
		visit(ctx, &p);
		for (const sf_req *r = c->syn_head; r; r = r->next) {
			peek_req(r, &p);
			visit(ctx, &p);
		}
	}
}
