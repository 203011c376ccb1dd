/*
 * pcap -> scenario: one TCP flow of a capture becomes a script in which the
 * engine plays one side (see sc_pcap_to_scenario() in pcap_io.h).
 *
 * Numbers follow packetdrill's relative convention (scenario.h, SC_NUM_SCRIPT):
 * each side's numbers are made relative to that side's ISN (its SYN's
 * sequence number, or its first sequence number when the capture started
 * after the handshake).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pcap_io.h"
#include "scenario.h"

/* What the import keeps track of while it walks the flow. */
typedef struct importer {
	const sc_capture *cap;
	const sc_flow *flow;
	bool engine_client;
	sc_scenario *out;
	uint32_t isn_engine, isn_remote;
	uint64_t t0, prev_t;
	int fd;                 /* the engine's connection fd: 3 (client) or 4 (accepted) */
	bool accepted;
	bool engine_fin;        /* the engine's side has sent its FIN */
	bool have_hi;
	uint32_t engine_hi;     /* highest sequence number the engine's side sent data to */
	uint32_t remote_next;   /* next in-order relative seq of the other side's data */
	uint32_t line;
} importer;

static bool from_engine(const importer *im, const sf_segment *s)
{
	bool from_client;

	sc_flow_match(im->flow, s, &from_client);
	return from_client == im->engine_client;
}

/* Each side's ISN: the seq of its SYN, else of its first segment. */
static void find_isns(importer *im)
{
	bool have_e = false, have_r = false;

	for (size_t i = im->flow->first; i < im->cap->count; i++) {
		const sf_segment *s = &im->cap->pkts[i].seg;
		bool fc, eng;

		if (!sc_flow_match(im->flow, s, &fc))
			continue;
		eng = fc == im->engine_client;
		if (s->flags & SF_SYN) {
			if (eng && !have_e) {
				im->isn_engine = s->seq;
				have_e = true;
			} else if (!eng && !have_r) {
				im->isn_remote = s->seq;
				have_r = true;
			}
		}
	}
	for (size_t i = im->flow->first; i < im->cap->count && (!have_e || !have_r); i++) {
		const sf_segment *s = &im->cap->pkts[i].seg;
		bool fc;

		if (!sc_flow_match(im->flow, s, &fc))
			continue;
		/* No SYN: treat the first seq as ISN + 1, so data starts at 1. */
		if (fc == im->engine_client && !have_e) {
			im->isn_engine = s->seq - 1;
			have_e = true;
		} else if (fc != im->engine_client && !have_r) {
			im->isn_remote = s->seq - 1;
			have_r = true;
		}
	}
}

/*
 * Times are absolute from the flow's first packet, so that a faster engine
 * does not shift the rest of the script. An expected outbound segment may
 * come any time between the previous event and when the captured stack sent
 * it ("a~b"): answering faster than the captured stack is not an error.
 */
static int add(importer *im, sc_event *ev, uint64_t t)
{
	ev->time.kind = SC_TIME_ABS;
	ev->time.us = (int64_t)(t - im->t0);
	if (ev->kind == SC_EV_OUTBOUND && t > im->prev_t) {
		ev->time.range = true;
		ev->time.us = (int64_t)(im->prev_t - im->t0);
		ev->time.end_us = (int64_t)(t - im->t0);
	}
	ev->pos.line = ++im->line;
	ev->pos.col = 1;
	im->prev_t = t;
	return sc_scenario_append(im->out, ev) ? 0 : -ENOMEM;
}

static int add_call(importer *im, uint64_t t, sc_call_kind kind, int32_t fd, int64_t value,
		    int err)
{
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_CALL;
	ev.call.kind = kind;
	ev.call.fd = fd;
	ev.call.ret.check = true;
	ev.call.ret.value = value;
	ev.call.ret.err = err;
	return add(im, &ev, t);
}

/* The calls that make the engine a listener or a connecting client. */
static int add_setup(importer *im)
{
	sc_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_CALL;
	ev.call.kind = SC_CALL_SOCKET;
	ev.call.family = im->flow->client.addr.family;
	ev.call.ret.check = true;
	ev.call.ret.value = SC_FIRST_FD;
	if ((rc = add(im, &ev, im->t0)) < 0)
		return rc;
	if (im->engine_client) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = SC_EV_CALL;
		ev.call.kind = SC_CALL_FCNTL;
		ev.call.fd = SC_FIRST_FD;
		ev.call.fcntl_cmd = SC_F_SETFL;
		ev.call.fcntl_flags = SC_O_RDWR | SC_O_NONBLOCK;
		ev.call.ret.check = true;
		if ((rc = add(im, &ev, im->t0)) < 0)
			return rc;
		im->fd = SC_FIRST_FD;
		im->accepted = true;
		return add_call(im, im->t0, SC_CALL_CONNECT, SC_FIRST_FD, -1, EINPROGRESS);
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_CALL;
	ev.call.kind = SC_CALL_SETSOCKOPT;
	ev.call.fd = SC_FIRST_FD;
	ev.call.level = SC_SOL_SOCKET;
	ev.call.opt = SF_SO_REUSEADDR;
	ev.call.optval = 1;
	ev.call.ret.check = true;
	if ((rc = add(im, &ev, im->t0)) < 0)
		return rc;
	if ((rc = add_call(im, im->t0, SC_CALL_BIND, SC_FIRST_FD, 0, 0)) < 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_CALL;
	ev.call.kind = SC_CALL_LISTEN;
	ev.call.fd = SC_FIRST_FD;
	ev.call.backlog = 1;
	ev.call.ret.check = true;
	return add(im, &ev, im->t0);
}

/* One captured segment as a scripted packet. */
static void to_packet(const importer *im, const sc_cap_packet *cp, bool eng, sc_packet *p)
{
	const sf_segment *s = &cp->seg;

	memset(p, 0, sizeof(*p));
	p->flags = s->flags;
	p->seq.mode = p->ack.mode = SC_NUM_SCRIPT;
	p->seq.value = s->seq - (eng ? im->isn_engine : im->isn_remote);
	p->len = (uint32_t)(cp->wire_payload > SC_MAX_PAYLOAD ? SC_MAX_PAYLOAD : cp->wire_payload);
	p->has_ack = s->flags & SF_ACK;
	p->ack.value = p->has_ack ? s->ack - (eng ? im->isn_remote : im->isn_engine) : 0;
	if (eng) {
		/* Another stack's window and options are its own business. */
		p->opts_mode = SC_OPTS_ANY;
		return;
	}
	p->has_win = true;
	p->win = s->window;
	p->has_urg = (s->flags & SF_URG) != 0;
	p->urg = s->urg_ptr;
	p->opts_mode = s->opt_len ? SC_OPTS_LIST : SC_OPTS_NONE;
	p->opt_len = s->opt_len;
	memcpy(p->opt_raw, s->opt_raw, s->opt_len);
}

/* Calls the engine's side must make before it sends this segment. */
static int calls_before_output(importer *im, const sc_packet *p, uint64_t t)
{
	uint32_t end = p->seq.value + p->len;
	int rc;

	if (p->len && (!im->have_hi || sf_seq_gt(end, im->engine_hi))) {
		uint32_t fresh = im->have_hi && sf_seq_gt(im->engine_hi, p->seq.value)
					 ? end - im->engine_hi : p->len;
		sc_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = SC_EV_CALL;
		ev.call.kind = SC_CALL_WRITE;
		ev.call.fd = im->fd;
		ev.call.len = fresh;
		ev.call.ret.check = true;
		ev.call.ret.value = fresh;
		if ((rc = add(im, &ev, t)) < 0)
			return rc;
		im->engine_hi = end;
		im->have_hi = true;
	}
	if ((p->flags & SF_FIN) && !im->engine_fin) {
		sc_event ev;

		im->engine_fin = true;
		memset(&ev, 0, sizeof(ev));
		ev.kind = SC_EV_CALL;
		ev.call.kind = SC_CALL_SHUTDOWN;
		ev.call.fd = im->fd;
		ev.call.how = SF_SHUT_WR;
		ev.call.ret.check = true;
		if ((rc = add(im, &ev, t)) < 0)
			return rc;
	}
	return 0;
}

/*
 * The application reads the other side's new in-order data as it comes, so
 * the engine's receive window stays open as the captured stack's did (and a
 * later close does not find unread data). Retransmitted or out-of-order data
 * is not read.
 */
static int read_in_order(importer *im, const sc_packet *p, uint64_t t)
{
	sc_event ev;

	if (!p->len || (p->flags & (SF_SYN | SF_RST)) || !im->accepted ||
	    p->seq.value != im->remote_next)
		return 0;
	im->remote_next += p->len;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SC_EV_CALL;
	ev.call.kind = SC_CALL_READ;
	ev.call.fd = im->fd;
	ev.call.len = p->len;
	ev.call.ret.check = true;
	ev.call.ret.value = p->len;
	return add(im, &ev, t);
}

static int add_segment(importer *im, const sc_cap_packet *cp)
{
	bool eng = from_engine(im, &cp->seg);
	uint64_t t = cp->time_us < im->t0 ? im->t0 : cp->time_us;
	sc_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = eng ? SC_EV_OUTBOUND : SC_EV_INBOUND;
	to_packet(im, cp, eng, &ev.pkt);
	if (t < im->prev_t)
		t = im->prev_t; /* captures are not always in time order */
	if (eng && im->accepted && (rc = calls_before_output(im, &ev.pkt, t)) < 0)
		return rc;
	if ((rc = add(im, &ev, t)) < 0)
		return rc;
	if (eng)
		return 0;
	/* The server's accept() returns once the handshake's ACK is in. */
	if (!im->accepted && (cp->seg.flags & SF_ACK) && !(cp->seg.flags & SF_SYN) &&
	    !(cp->seg.flags & SF_RST) && ev.pkt.ack.value == 1) {
		im->accepted = true;
		im->fd = SC_FIRST_FD + 1;
		if ((rc = add_call(im, t, SC_CALL_ACCEPT, SC_FIRST_FD, SC_FIRST_FD + 1, 0)) < 0)
			return rc;
	}
	return read_in_order(im, &ev.pkt, t);
}

int sc_pcap_to_scenario(const sc_capture *cap, const sc_flow *flow, bool engine_is_client,
			const char *file, struct sc_scenario *out, char *err, size_t errcap)
{
	importer im;
	int rc;

	memset(&im, 0, sizeof(im));
	im.cap = cap;
	im.flow = flow;
	im.engine_client = engine_is_client;
	im.out = out;
	if (sc_scenario_init(out, file) < 0) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	find_isns(&im);
	im.remote_next = 1; /* data starts right after the other side's SYN */
	im.t0 = im.prev_t = cap->pkts[flow->first].time_us;
	rc = add_setup(&im);
	for (size_t i = flow->first; rc == 0 && i < cap->count; i++) {
		bool fc;

		if (sc_flow_match(flow, &cap->pkts[i].seg, &fc))
			rc = add_segment(&im, &cap->pkts[i]);
	}
	if (rc < 0) {
		snprintf(err, errcap, rc == -ENOMEM ? "out of memory (or over %d events)" : "import failed",
			 SC_MAX_EVENTS);
		sc_scenario_free(out);
		return -1;
	}
	return 0;
}
