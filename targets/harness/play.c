/*
 * Scenario events -> harness events (see play.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "harness_internal.h"
#include "play.h"

void fz_player_init(fz_player *p, fz_harness *h)
{
	memset(p, 0, sizeof *p);
	p->h = h;
	for (int i = 0; i < FZ_MAX_FDS; i++)
		p->handle[i] = -1;
	p->start_us = fz_now(h);
	p->last_us = p->start_us;
}

/* ---- fds ---- */

static int fd_add(fz_player *p, int handle)
{
	for (int fd = SC_FIRST_FD; fd < FZ_MAX_FDS; fd++)
		if (p->handle[fd] < 0) {
			p->handle[fd] = handle;
			return fd;
		}
	return -1;
}

/* The engine handle behind a script fd; -1 (which the engine rejects with
 * EBADF) for an fd that is not open, so bad-handle paths get exercised. */
static int fd_handle(const fz_player *p, int32_t fd)
{
	return fd >= 0 && fd < FZ_MAX_FDS ? p->handle[fd] : -1;
}

/* ---- Endpoints and numbers ---- */

static sf_endpoint remote_endpoint(const sc_packet *pkt)
{
	sf_endpoint e = {.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4)};
	e.port = pkt->sport ? pkt->sport : (uint16_t)(SC_REMOTE_PORT + pkt->conn);
	return e;
}

/* The newest connection the engine holds with that remote endpoint (and
 * local port, when given). */
static fz_conn *conn_for(fz_harness *h, const sf_endpoint *remote, uint16_t local_port)
{
	for (size_t i = h->nconns; i-- > 0;) {
		fz_conn *c = &h->conns[i];
		if (!c->alive || c->remote.port != remote->port ||
		    !sf_addr_eq(&c->remote.addr, &remote->addr))
			continue;
		if (!local_port || c->local.port == local_port)
			return c;
	}
	return NULL;
}

/* "The engine's port for that endpoint": the connection's, else the
 * listener's, else the default. */
static uint16_t local_port_for(fz_harness *h, const sf_endpoint *remote)
{
	fz_conn *c = conn_for(h, remote, 0);
	if (c)
		return c->local.port;
	for (size_t i = 0; i < h->nconns; i++)
		if (h->conns[i].alive && h->conns[i].state == SF_LISTEN)
			return h->conns[i].local.port;
	return SC_LOCAL_PORT;
}

static uint32_t resolve(const sc_num *n, uint32_t state_base, uint32_t script_base)
{
	switch (n->mode) {
	case SC_NUM_STATE:
		return state_base + n->value;
	case SC_NUM_SCRIPT:
		return script_base + n->value;
	default:
		return n->value;
	}
}

static void build_segment(fz_harness *h, const sc_packet *pkt, sf_segment *s)
{
	sf_endpoint remote = remote_endpoint(pkt);
	uint16_t lport = pkt->dport ? pkt->dport : local_port_for(h, &remote);
	fz_conn *c = conn_for(h, &remote, lport);

	memset(s, 0, sizeof *s);
	s->src = remote.addr;
	s->dst = sf_addr_v4(FZ_LOCAL_ADDR_V4);
	s->sport = remote.port;
	s->dport = lport;
	s->flags = pkt->flags;
	/* packetdrill: inbound seq relative to the script's ISN (base 0),
	 * ack relative to the engine's ISS. */
	s->seq = resolve(&pkt->seq, c ? c->cur_rcv_nxt : 0, 0);
	s->ack = pkt->has_ack ? resolve(&pkt->ack, c ? c->cur_snd_nxt : 0, c ? c->iss : 0) : 0;
	s->window = pkt->has_win ? pkt->win : SC_DEFAULT_WIN;
	s->urg_ptr = pkt->has_urg ? pkt->urg : 0;
	s->tos = pkt->tos_check == SC_TOS_NONE ? 0 : pkt->tos;
	s->ttl = pkt->has_ttl ? pkt->ttl : 64;
	s->reserved = pkt->reserved & 0x0f;
	if (pkt->opts_mode == SC_OPTS_LIST) {
		s->opt_len = pkt->opt_len > SF_MAX_OPT_LEN ? SF_MAX_OPT_LEN : pkt->opt_len;
		memcpy(s->opt_raw, pkt->opt_raw, s->opt_len);
	}
	/* s->opts is left empty: fz_input() decodes opt_raw for its oracles,
	 * and only opt_raw goes on the wire. */
	s->payload_len = pkt->len;
}

/* ---- Describing the event being played (only when a message needs it) ---- */

static void describe(const void *arg, char *buf, size_t cap)
{
	const fz_player *p = arg;
	const sc_event *ev = p->cur;
	char text[160];
	if (!ev) {
		snprintf(buf, cap, "final read of fd %d", p->fd);
		return;
	}
	switch (ev->kind) {
	case SC_EV_INBOUND:
		fz_seg_text(&p->seg, text, sizeof text);
		snprintf(buf, cap, "%u:%u %sinbound %s", ev->pos.line, ev->pos.col, p->what, text);
		break;
	case SC_EV_CALL:
		snprintf(buf, cap, "%u:%u %s%s(%d)", ev->pos.line, ev->pos.col, p->what,
			 sc_call_name(ev->call.kind), ev->call.fd);
		break;
	default:
		snprintf(buf, cap, "%u:%u %s%s", ev->pos.line, ev->pos.col, p->what,
			 sc_event_kind_name(ev->kind));
		break;
	}
}

static void event(fz_player *p, const sc_event *ev, const char *what)
{
	p->cur = ev;
	p->what = what;
	fz_event_lazy(p->h, describe, p);
}

/* ---- Events ---- */

static void play_inbound(fz_player *p, const sc_event *ev)
{
	build_segment(p->h, &ev->pkt, &p->seg);
	event(p, ev, "");
	fz_input(p->h, &p->seg, &ev->pkt.faults);
}

static sf_endpoint call_endpoint(const sc_call *c, bool local)
{
	if (c->has_addr)
		return c->addr;
	sf_endpoint e;
	if (local) {
		e.addr = sf_addr_v4(FZ_LOCAL_ADDR_V4);
		e.port = SC_LOCAL_PORT;
	} else {
		e.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4);
		e.port = SC_REMOTE_PORT;
	}
	return e;
}

static void play_call(fz_player *p, const sc_event *ev)
{
	const sc_call *c = &ev->call;
	fz_harness *h = p->h;
	int sd = fd_handle(p, c->fd);
	sf_endpoint ep;
	int rc;
	int value;

	event(p, ev, "");
	switch (c->kind) {
	case SC_CALL_SOCKET:
		rc = fz_socket(h, c->family == SF_AF_INET6 ? SF_AF_INET6 : SF_AF_INET);
		if (rc >= 0 && fd_add(p, rc) < 0)
			fz_close(h, rc); /* out of script fds: like EMFILE */
		break;
	case SC_CALL_BIND:
		ep = call_endpoint(c, true);
		fz_bind(h, sd, &ep);
		break;
	case SC_CALL_LISTEN:
		fz_listen(h, sd, c->backlog);
		break;
	case SC_CALL_ACCEPT:
		rc = fz_accept(h, sd);
		if (rc >= 0 && fd_add(p, rc) < 0)
			fz_close(h, rc);
		break;
	case SC_CALL_CONNECT:
		ep = call_endpoint(c, false);
		fz_connect(h, sd, &ep);
		break;
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
		fz_send(h, sd, c->len);
		break;
	case SC_CALL_READ:
	case SC_CALL_RECV:
		fz_recv(h, sd, c->len);
		break;
	case SC_CALL_SHUTDOWN:
		fz_shutdown(h, sd, c->how);
		break;
	case SC_CALL_CLOSE:
		rc = fz_close(h, sd);
		if (rc == 0 && c->fd >= 0 && c->fd < FZ_MAX_FDS)
			p->handle[c->fd] = -1;
		break;
	case SC_CALL_ABORT:
		rc = fz_abort(h, sd);
		if (rc == 0 && c->fd >= 0 && c->fd < FZ_MAX_FDS)
			p->handle[c->fd] = -1;
		break;
	case SC_CALL_SETSOCKOPT:
		fz_setsockopt(h, sd, c->opt, c->optval);
		break;
	case SC_CALL_GETSOCKOPT:
		fz_getsockopt(h, sd, c->opt, &value);
		break;
	case SC_CALL_POLL:
		fz_poll(h, sd);
		break;
	case SC_CALL_FCNTL:
	default:
		/* The engine is always non-blocking; fcntl changes nothing. */
		break;
	}
}

/* Move the clock to the event's scripted time. */
static void play_time(fz_player *p, const sc_event *ev)
{
	uint64_t at = p->last_us;
	if (ev->kind == SC_EV_WAIT && ev->time.kind == SC_TIME_ANY) {
		event(p, ev, "wait for the next timer: ");
		fz_advance_to_timer(p->h, ev->time.us);
		p->last_us = fz_now(p->h);
		return;
	}
	if (ev->time.kind == SC_TIME_ABS && ev->time.us >= 0)
		at = p->start_us + (uint64_t)ev->time.us;
	else if (ev->time.kind == SC_TIME_REL && ev->time.us > 0)
		at = p->last_us + (uint64_t)ev->time.us;
	p->last_us = at;
	if (at > fz_now(p->h)) {
		event(p, ev, "the clock moves before ");
		fz_advance(p->h, at - fz_now(p->h));
	}
}

void fz_play_event(fz_player *p, const sc_event *ev)
{
	p->played++;
	play_time(p, ev);
	switch (ev->kind) {
	case SC_EV_INBOUND:
		play_inbound(p, ev);
		break;
	case SC_EV_CALL:
		play_call(p, ev);
		break;
	default:
		/* Expected outbound segments and state checks are expectations;
		 * waits are done by play_time(). */
		break;
	}
}

void fz_play(fz_player *p, const sc_scenario *scn, size_t max_events)
{
	for (size_t i = 0; i < scn->count && i < max_events; i++)
		fz_play_event(p, &scn->ev[i]);
}

void fz_player_drain(fz_player *p)
{
	for (int fd = SC_FIRST_FD; fd < FZ_MAX_FDS; fd++) {
		if (p->handle[fd] < 0)
			continue;
		p->cur = NULL;
		p->fd = fd;
		fz_event_lazy(p->h, describe, p);
		fz_recv(p->h, p->handle[fd], SF_MAX_PACKET);
	}
}

/* ---- Prologues ---- */

static int append_call(sc_scenario *scn, sc_call_kind kind, int32_t fd, int32_t backlog)
{
	sc_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = SC_EV_CALL;
	ev.time.kind = SC_TIME_REL;
	ev.call.kind = kind;
	ev.call.fd = fd;
	ev.call.family = SF_AF_INET;
	ev.call.backlog = backlog;
	return sc_scenario_append(scn, &ev) ? 0 : -ENOMEM;
}

int fz_prologue_listen(sc_scenario *scn, int backlog)
{
	if (append_call(scn, SC_CALL_SOCKET, -1, 0) || append_call(scn, SC_CALL_BIND, 3, 0) ||
	    append_call(scn, SC_CALL_LISTEN, 3, backlog))
		return -ENOMEM;
	return 0;
}

int fz_prologue_connect(sc_scenario *scn)
{
	if (append_call(scn, SC_CALL_SOCKET, -1, 0) || append_call(scn, SC_CALL_CONNECT, 3, 0))
		return -ENOMEM;
	return 0;
}

/* ---- Scenario targets ---- */

static int make_prologue(const fz_target *t, sc_scenario *scn)
{
	switch (t->prologue) {
	case FZ_PROLOGUE_LISTEN:
		return fz_prologue_listen(scn, t->backlog);
	case FZ_PROLOGUE_CONNECT:
		return fz_prologue_connect(scn);
	default:
		return 0;
	}
}

/* Write prologue + input as one binary scenario (--emit). */
static void emit_whole(const sc_scenario *pro, const sc_scenario *in)
{
	sc_scenario all;
	uint8_t *bin = NULL;
	size_t len = 0;
	FILE *f = NULL;

	if (sc_scenario_copy(&all, pro) != 0)
		goto out;
	for (size_t i = 0; i < in->count; i++)
		if (!sc_scenario_append(&all, &in->ev[i]))
			goto out;
	if (sc_binary_encode(&all, &bin, &len) != 0)
		goto out;
	f = fopen(fz_options.emit_path, "wb");
	if (!f || fwrite(bin, 1, len, f) != len)
		fprintf(stderr, "replay: cannot write %s\n", fz_options.emit_path);
	else
		fprintf(stderr, "replay: wrote prologue + input (%zu events) to %s\n", all.count,
			fz_options.emit_path);
out:
	if (f)
		fclose(f);
	free(bin);
	sc_scenario_free(&all);
}

/* The prologue is the same for every input of a target: made once. */
static const sc_scenario *prologue_of(const fz_target *t)
{
	static const fz_target *made_for;
	static sc_scenario pro;
	if (made_for == t)
		return &pro;
	if (made_for)
		sc_scenario_free(&pro);
	if (sc_scenario_init(&pro, "<prologue>") != 0 || make_prologue(t, &pro) != 0) {
		fprintf(stderr, "synfin-fuzz: out of memory making the prologue\n");
		abort();
	}
	made_for = t;
	return &pro;
}

/*
 * SYNFIN_FUZZ_STATS=1: at exit, how many inputs ran and how many events
 * (records) they played, so that a throughput figure comes with the input
 * size it was measured at (targets/bench-fuzz prints both).
 */
static unsigned long long stat_inputs, stat_events;
static int stats_on = -1;

static void print_stats(void)
{
	fprintf(stderr, "synfin-fuzz stats: %llu inputs, %llu input events, %.1f events per input\n",
		stat_inputs, stat_events,
		stat_inputs ? (double)stat_events / (double)stat_inputs : 0.0);
}

/* Decode and play the input one event at a time: no scenario is built, so
 * nothing is allocated per event (the events borrow their octets from data). */
static void play_stream(fz_player *p, const uint8_t *data, size_t size, size_t max_events)
{
	sc_binary_reader r;
	sc_event ev;
	size_t i;

	sc_binary_reader_init(&r, data, size);
	for (i = 0; i < max_events && sc_binary_next(&r, &ev); i++)
		fz_play_event(p, &ev);
	p->cur = NULL; /* ev goes out of scope */
	if (stats_on < 0) {
		const char *v = getenv("SYNFIN_FUZZ_STATS");
		stats_on = v && *v && strcmp(v, "0") != 0;
		if (stats_on)
			atexit(print_stats);
	}
	stat_inputs++;
	stat_events += i;
}

/* The whole input as a scenario, only for --emit. */
static void emit_input(const sc_scenario *pro, const uint8_t *data, size_t size)
{
	sc_scenario in;

	if (sc_binary_decode(data, size, "<input>", &in) != 0) {
		fprintf(stderr, "synfin-fuzz: out of memory decoding an input\n");
		abort();
	}
	emit_whole(pro, &in);
	sc_scenario_free(&in);
}

int fz_run_scenario_input(const fz_target *t, const uint8_t *data, size_t size)
{
	const sc_scenario *pro = prologue_of(t);
	fz_setup setup;
	fz_player player;

	if (fz_options.emit_path)
		emit_input(pro, data, size);

	fz_setup_default(&setup);
	if (t->configure)
		t->configure(&setup);
	fz_harness *h = fz_new(&setup);
	fz_player_init(&player, h);
	fz_play(&player, pro, pro->count);
	play_stream(&player, data, size, FZ_MAX_INPUT_EVENTS);
	fz_player_drain(&player);
	fz_free(h);
	return 0;
}
