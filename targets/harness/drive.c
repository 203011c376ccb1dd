/*
 * Bringing a connection into a given RFC 9293 state with well-formed
 * segments, through the harness (so the way there is checked too). Used by
 * targets that start from a state instead of from CLOSED, such as the
 * single-packet target.
 */
#include <stdio.h>
#include <string.h>

#include "drive.h"
#include "harness_internal.h"

/* The peer's ISN: a fixed value, far from ours, that also wraps soon. */
#define PEER_ISN 0xffffff00u

static sf_segment peer_segment(const fz_conn_ref *r, uint8_t flags)
{
	sf_segment s;
	memset(&s, 0, sizeof s);
	s.src = r->remote.addr;
	s.dst = r->local.addr;
	s.sport = r->remote.port;
	s.dport = r->local.port;
	s.seq = r->peer_nxt;
	s.ack = (flags & SF_ACK) ? r->our_nxt : 0;
	s.flags = flags;
	s.window = 65535;
	return s;
}

/* Send a segment from the peer and advance its own sequence number. */
static void peer_send(fz_harness *h, fz_conn_ref *r, uint8_t flags, const char *what)
{
	sf_segment s = peer_segment(r, flags);
	if (flags & SF_SYN) {
		s.opts.has_mss = true;
		s.opts.mss = 1460;
		s.opt_len = (uint8_t)sf_opts_encode(&s.opts, s.opt_raw);
	}
	fz_event(h, "drive %u: peer sends %s", r->remote.port, what);
	fz_input(h, &s, NULL);
	r->peer_nxt += ((flags & SF_SYN) ? 1 : 0) + ((flags & SF_FIN) ? 1 : 0);
}

/* The state of the connection on r's 4-tuple, as last reported. */
static sf_state state_of(fz_harness *h, const fz_conn_ref *r)
{
	fz_conn *c = fz_conn_live_by_tuple(h, &r->local, &r->remote);
	return c && c->alive ? c->state : SF_CLOSED;
}

static void expect_state(fz_harness *h, const fz_conn_ref *r, sf_state want)
{
	sf_state got = state_of(h, r);
	if (got != want)
		fz_fail(h, "setup", "a textbook exchange should bring port %u to %s, but it is in %s",
			r->remote.port, sf_state_name(want), sf_state_name(got));
}

/* Our last segment must be to this peer; its seq tells our ISN. */
static uint32_t our_last_seq(fz_harness *h, const fz_conn_ref *r, uint8_t need)
{
	const sf_segment *o = fz_last_output(h);
	if (!o || o->dport != r->remote.port || (o->flags & need) != need)
		fz_fail(h, "setup", "expected a segment with flags 0x%02x to port %u, got none",
			need, r->remote.port);
	return o->seq;
}

static void make_listener(fz_harness *h, int *listener)
{
	if (*listener >= 0)
		return;
	fz_event(h, "drive: socket/bind/listen");
	*listener = fz_socket(h, SF_AF_INET);
	sf_endpoint any = {.addr = sf_addr_v4(0, 0, 0, 0), .port = FZ_LOCAL_PORT};
	if (*listener < 0 || fz_bind(h, *listener, &any) < 0 || fz_listen(h, *listener, 16) < 0)
		fz_fail(h, "setup", "socket/bind/listen on port %u failed", FZ_LOCAL_PORT);
}

static void passive_open(fz_harness *h, fz_conn_ref *r, int *listener, sf_state target)
{
	make_listener(h, listener);
	r->listener = *listener;
	peer_send(h, r, SF_SYN, "SYN");
	r->our_nxt = our_last_seq(h, r, SF_SYN | SF_ACK) + 1;
	expect_state(h, r, SF_SYN_RECEIVED);
	if (target == SF_SYN_RECEIVED)
		return;
	peer_send(h, r, SF_ACK, "ACK of the SYN-ACK");
	fz_event(h, "drive %u: accept", r->remote.port);
	r->sd = fz_accept(h, *listener);
	if (r->sd < 0)
		fz_fail(h, "setup", "accept() failed after a complete handshake: %s",
			sf_errno_name(r->sd));
	expect_state(h, r, SF_ESTABLISHED);
}

static void active_close(fz_harness *h, fz_conn_ref *r, sf_state target)
{
	fz_event(h, "drive %u: shutdown(SHUT_WR)", r->remote.port);
	fz_shutdown(h, r->sd, SF_SHUT_WR);
	expect_state(h, r, SF_FIN_WAIT_1);
	if (target == SF_FIN_WAIT_1)
		return;
	if (target == SF_CLOSING) {
		/* The peer's FIN crosses ours: it does not acknowledge our FIN. */
		peer_send(h, r, SF_FIN | SF_ACK, "FIN (not acknowledging ours)");
		r->our_nxt += 1;
		expect_state(h, r, SF_CLOSING);
		return;
	}
	r->our_nxt += 1;
	peer_send(h, r, SF_ACK, "ACK of our FIN");
	expect_state(h, r, SF_FIN_WAIT_2);
	if (target == SF_FIN_WAIT_2)
		return;
	peer_send(h, r, SF_FIN | SF_ACK, "FIN");
	expect_state(h, r, SF_TIME_WAIT);
}

static void passive_close(fz_harness *h, fz_conn_ref *r, sf_state target)
{
	peer_send(h, r, SF_FIN | SF_ACK, "FIN");
	expect_state(h, r, SF_CLOSE_WAIT);
	if (target == SF_CLOSE_WAIT)
		return;
	fz_event(h, "drive %u: shutdown(SHUT_WR)", r->remote.port);
	fz_shutdown(h, r->sd, SF_SHUT_WR);
	r->our_nxt += 1;
	expect_state(h, r, SF_LAST_ACK);
}

void fz_drive(fz_harness *h, sf_state target, uint16_t remote_port, int *listener,
	      fz_conn_ref *r)
{
	memset(r, 0, sizeof *r);
	r->sd = -1;
	r->listener = -1;
	r->local.addr = sf_addr_v4(FZ_LOCAL_ADDR_V4);
	r->local.port = FZ_LOCAL_PORT;
	r->remote.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4);
	r->remote.port = remote_port;
	r->peer_nxt = PEER_ISN + remote_port;

	switch (target) {
	case SF_CLOSED:
		/* A port nobody listens on (RFC 9293 §3.10.7.1). */
		r->local.port = FZ_LOCAL_PORT + 1;
		r->peer_nxt = 0;
		return;
	case SF_LISTEN:
		make_listener(h, listener);
		r->listener = *listener;
		r->remote.port = (uint16_t)(remote_port + 1000);
		r->peer_nxt = 0;
		r->our_nxt = 0;
		return;
	case SF_SYN_SENT:
		fz_event(h, "drive %u: socket/connect", remote_port);
		r->sd = fz_socket(h, SF_AF_INET);
		r->local.port = (uint16_t)(FZ_LOCAL_PORT + 2 + remote_port % 1000);
		fz_bind(h, r->sd, &r->local);
		fz_connect(h, r->sd, &r->remote);
		r->our_nxt = our_last_seq(h, r, SF_SYN) + 1;
		expect_state(h, r, SF_SYN_SENT);
		return;
	default:
		break;
	}
	passive_open(h, r, listener, target);
	if (target == SF_SYN_RECEIVED || target == SF_ESTABLISHED)
		return;
	if (target == SF_CLOSE_WAIT || target == SF_LAST_ACK)
		passive_close(h, r, target);
	else
		active_close(h, r, target);
}
