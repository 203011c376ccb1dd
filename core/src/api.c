/*
 * The socket-like API (RFC 9293 §3.10.1 - §3.10.6: OPEN, SEND, RECEIVE,
 * CLOSE, ABORT, STATUS), with Linux's error codes and choices.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"

#define SF_US_PER_S 1000000ull
/* Linux limits for the socket options (include/net/tcp.h). */
#define SF_MAX_TCP_KEEPIDLE 32767
#define SF_MAX_TCP_KEEPINTVL 32767
#define SF_MAX_TCP_KEEPCNT 127
#define SF_MAX_TCP_SYNCNT 127
#define SF_TCP_MIN_MSS 88
#define SF_MIN_BUF 256
#define SF_MAX_BUF (16u << 20)

/* ---- Handles ---- */

int sf_handle_assign(sf_stack *s, sf_conn *c)
{
	int sd;

	for (sd = 0; sd < s->nhandles; sd++)
		if (!s->handles[sd])
			break;
	if (sd == s->nhandles) {
		int n = s->nhandles ? 2 * s->nhandles : 16;
		sf_conn **t = sf_table_grow(s, s->handles, (size_t)s->nhandles * sizeof(*t),
					     (size_t)n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + s->nhandles, 0, (size_t)(n - s->nhandles) * sizeof(*t));
		s->handles = t;
		s->nhandles = n;
	}
	s->handles[sd] = c;
	c->sd = sd;
	s->nhandles_open++;
	return sd;
}

void sf_handle_release(sf_stack *s, sf_conn *c)
{
	if (c->sd < 0)
		return;
	s->handles[c->sd] = NULL;
	c->sd = -1;
	s->nhandles_open--;
}

static sf_conn *conn_of(sf_stack *s, int sd)
{
	if (sd < 0 || sd >= s->nhandles)
		return NULL;
	return s->handles[sd];
}

/* ---- Addresses and ports ---- */

static bool valid_family(int family)
{
	return family == SF_AF_INET || family == SF_AF_INET6;
}

static bool local_addr_ok(const sf_stack *s, const sf_addr *a)
{
	return sf_addr_is_any(a) || sf_addr_eq(a, &s->cfg.local4) || sf_addr_eq(a, &s->cfg.local6);
}

/* Ephemeral ports are handed out in order from ephemeral_lo, skipping ports
 * in use: deterministic, unlike Linux's randomized choice. */
static int pick_ephemeral(sf_stack *s, sf_conn *c, sf_endpoint *local)
{
	uint32_t span = (uint32_t)s->cfg.ephemeral_hi - s->cfg.ephemeral_lo + 1;

	for (uint32_t i = 0; i < span; i++) {
		uint16_t port = s->next_ephemeral;

		s->next_ephemeral = port >= s->cfg.ephemeral_hi ? s->cfg.ephemeral_lo
								: (uint16_t)(port + 1);
		local->port = port;
		if (!sf_port_in_use(s, c, local))
			return 0;
	}
	return -EADDRNOTAVAIL;
}

static bool remote_addr_invalid(const sf_addr *a)
{
	return sf_addr_is_any(a) || sf_addr_is_group(a);
}

/* ---- Calls ---- */

SF_API int sf_socket(sf_stack *s, int family)
{
	sf_conn *c;
	int sd;

	if (!valid_family(family))
		return -EAFNOSUPPORT;
	if (s->nconns >= s->cfg.max_connections)
		return -EMFILE;
	c = sf_conn_new(s, family);
	if (!c)
		return -ENOMEM;
	sd = sf_handle_assign(s, c);
	if (sd < 0)
		sf_conn_free(s, c);
	return sd;
}

SF_API int sf_bind(sf_stack *s, int sd, const sf_endpoint *local)
{
	sf_conn *c = conn_of(s, sd);
	sf_endpoint e;
	int err;

	if (!c)
		return -EBADF;
	/* A socket binds once: not again after it connected or listened, so
	 * that what it still holds (unread data, errors) keeps its identity. */
	if (c->bound || c->used || c->state != SF_CLOSED || local->addr.family != c->family)
		return -EINVAL;
	if (!local_addr_ok(s, &local->addr))
		return -EADDRNOTAVAIL;
	e = *local;
	if (e.port == 0) {
		err = pick_ephemeral(s, c, &e);
		if (err)
			return -EADDRINUSE;
	} else if (sf_port_in_use(s, c, &e)) {
		return -EADDRINUSE;
	}
	sf_bind_conn(s, c, &e);
	return 0;
}

static int autobind(sf_stack *s, sf_conn *c, const sf_addr *addr)
{
	sf_endpoint e = { *addr, 0 };
	int err = pick_ephemeral(s, c, &e);

	if (err)
		return err;
	sf_bind_conn(s, c, &e);
	return 0;
}

static bool listener_conflict(sf_stack *s, const sf_conn *c)
{
	for (const sf_conn *l = s->listeners; l; l = l->lnext) {
		const sf_addr *a = &l->node.local.addr, *b = &c->node.local.addr;

		if (l->node.local.port == c->node.local.port && a->family == b->family &&
		    (sf_addr_is_any(a) || sf_addr_is_any(b) || sf_addr_eq(a, b)))
			return true;
	}
	return false;
}

SF_API int sf_listen(sf_stack *s, int sd, int backlog)
{
	sf_conn *c = conn_of(s, sd);
	uint32_t b;

	if (!c)
		return -EBADF;
	b = backlog < 0 || (uint32_t)backlog > s->cfg.max_backlog ? s->cfg.max_backlog
								  : (uint32_t)backlog;
	if (b < 1)
		b = 1;
	if (c->state == SF_LISTEN) {
		/* A lower backlog refuses new SYNs until the queues drain below it;
		 * entries already queued stay (Linux). */
		c->backlog = b;
		c->qbound = c->syn_count > c->aq_count ? c->syn_count : c->aq_count;
		return 0;
	}
	if (c->state != SF_CLOSED || c->pending_error || c->connected)
		return -EINVAL;
	if (!c->bound) {
		sf_addr any = { .family = c->family };
		int err = autobind(s, c, &any);

		if (err)
			return -EADDRINUSE;
	}
	/* Two sockets may share a port with SO_REUSEADDR, but only one may
	 * listen on it (Linux checks again at listen()). */
	if (listener_conflict(s, c))
		return -EADDRINUSE;
	c->backlog = b;
	sf_set_state(s, c, SF_LISTEN, SF_CAUSE_OPEN_PASSIVE);
	return 0;
}

SF_API int sf_accept(sf_stack *s, int sd, sf_endpoint *peer)
{
	sf_conn *l = conn_of(s, sd), *c;
	int nsd;

	if (!l)
		return -EBADF;
	if (l->state != SF_LISTEN)
		return -EINVAL;
	c = l->aq_head;
	if (!c)
		return -EAGAIN;
	nsd = sf_handle_assign(s, c);
	if (nsd < 0)
		return nsd;
	l->aq_head = c->aq_next;
	if (!l->aq_head)
		l->aq_tail = NULL;
	l->aq_count--;
	c->aq_next = NULL;
	c->listener = NULL;
	c->in_accept_queue = false;
	if (peer)
		*peer = c->node.remote;
	return nsd;
}

static void start_active_open(sf_stack *s, sf_conn *c)
{
	c->iss = s->env.isn.next(s->env.isn.self, &c->node.local, &c->node.remote, s->now);
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->snd_data_seq = c->iss + 1;
	c->snd_wnd = c->max_snd_wnd = 0;
	c->rcv_nxt = c->irs = 0;
	c->rcv_adv = 0;
	sf_ring_free(s, &c->rcv); /* nothing of an earlier attempt carries over */
	sf_ring_free(s, &c->snd);
	c->fin_rcvd = c->fin_sent = c->shut_rd = c->shut_wr = c->ooo_fin = false;
	c->from_listen = false;
	c->pending_error = 0;
	c->retransmits = 0;
	c->rto = s->cfg.rto_initial;
	c->has_srtt = false;
	c->syn_timed_out = false;
	if (c->user_mss && c->user_mss < c->rcv_mss)
		c->rcv_mss = c->user_mss;
	c->rtt_active = true;
	c->rtt_seq = c->iss + 1;
	c->rtt_start = s->now;
	c->rtx_start = s->now;
	sf_set_state(s, c, SF_SYN_SENT, SF_CAUSE_OPEN_ACTIVE);
	sf_send_syn(s, c, false);
	sf_arm_rtx(s, c);
}

static int take_error(sf_conn *c)
{
	int err = c->pending_error;

	c->pending_error = 0;
	return err;
}

/*
 * RFC 9293 §3.10.1, OPEN call, LISTEN STATE: "If the OPEN call is active and
 * the foreign socket is specified, then change the connection from passive
 * to active". Linux refuses (EISCONN), so the engine does too unless
 * cfg.listen_active_open is set. The listener's queued connections belong
 * to no one once it stops listening; rather than reset them (as close()
 * would), the change is refused while any is queued: accept them first.
 */
static int listen_to_active(sf_stack *s, sf_conn *c)
{
	if (!s->cfg.listen_active_open)
		return -EISCONN;
	if (c->syn_head || c->aq_head)
		return -EBUSY;
	return 0;
}

/* The OPEN itself, once the socket's state allows it: choose the local
 * endpoint, then SYN-SENT. Nothing changes if it fails. */
static int open_active(sf_stack *s, sf_conn *c, const sf_endpoint *remote)
{
	sf_endpoint local;

	if (remote->addr.family != c->family)
		return -EAFNOSUPPORT;
	/* RFC9293:MUST-46: no OPEN to a broadcast, multicast or unspecified
	 * address. Nor to our own: the engine has no loopback, so the SYN
	 * could only go out on the wire, where nothing answers as us (found
	 * by the passive_open fuzzer's output-sanity oracle; Linux would
	 * connect through lo). */
	if (remote_addr_invalid(&remote->addr) || remote->port == 0 ||
	    sf_addr_eq(&remote->addr, &s->cfg.local4) || sf_addr_eq(&remote->addr, &s->cfg.local6))
		return -ENETUNREACH;
	if (!c->bound) {
		const sf_addr *a = c->family == SF_AF_INET ? &s->cfg.local4 : &s->cfg.local6;

		if (a->family != c->family || autobind(s, c, a))
			return -EADDRNOTAVAIL;
	}
	local = c->node.local;
	if (sf_addr_is_any(&local.addr))
		local.addr = c->family == SF_AF_INET ? s->cfg.local4 : s->cfg.local6;
	if (local.addr.family != c->family || sf_hash_find(s, &local, remote))
		return -EADDRNOTAVAIL;
	sf_bind_conn(s, c, &local);
	c->node.remote = *remote;
	sf_hash_add(s, &c->node);
	start_active_open(s, c);
	return -EINPROGRESS;
}

SF_API int sf_connect(sf_stack *s, int sd, const sf_endpoint *remote)
{
	sf_conn *c = conn_of(s, sd);
	int err;

	if (!c)
		return -EBADF;
	if (c->state == SF_SYN_SENT)
		return -EALREADY;
	/* A listener may turn active (RFC 9293 §3.10.1) if so configured. A
	 * socket that was connected stays so for Linux (SS_CONNECTED), even
	 * after its connection ended; one whose attempt failed reports the
	 * error once, then may try again (__inet_stream_connect()). */
	if (c->state == SF_LISTEN)
		err = listen_to_active(s, c);
	else if (c->state != SF_CLOSED || c->connected)
		err = -EISCONN;
	else
		err = take_error(c);
	if (err)
		return err;
	return open_active(s, c, remote);
}

SF_API ssize_t sf_send(sf_stack *s, int sd, const void *buf, size_t len)
{
	sf_conn *c = conn_of(s, sd);
	uint32_t room, n;

	if (!c)
		return -EBADF;
	if (c->pending_error)
		return take_error(c);
	if (c->shut_wr)
		return -EPIPE;
	if (c->state == SF_SYN_SENT || c->state == SF_SYN_RECEIVED)
		return -EAGAIN;
	if (c->state != SF_ESTABLISHED && c->state != SF_CLOSE_WAIT)
		return -EPIPE; /* Linux sk_stream_wait_connect(), also never connected */
	if (len == 0)
		return 0;
	room = c->sndbuf > c->snd.len ? c->sndbuf - c->snd.len : 0;
	if (room == 0)
		return -EAGAIN;
	if (c->snd.cap < c->sndbuf && sf_ring_reserve(s, &c->snd, c->sndbuf) < 0)
		return -ENOMEM;
	n = sf_ring_write(&c->snd, buf, len < room ? (uint32_t)len : room);
	sf_output(s, c);
	return n;
}

/* After a read freed much space, tell the peer at once (Linux
 * tcp_cleanup_rbuf(): the new window is at least twice the old one). */
static void maybe_window_update(sf_stack *s, sf_conn *c)
{
	uint32_t cur = c->rcv_adv - c->rcv_nxt, space = sf_rcv_space(c);
	uint32_t clamp = c->rcvbuf < SF_MAX_WINDOW ? c->rcvbuf : SF_MAX_WINDOW;

	if (c->fin_rcvd || c->shut_rd)
		return;
	if (c->state != SF_ESTABLISHED && c->state != SF_FIN_WAIT_1 && c->state != SF_FIN_WAIT_2)
		return;
	if (space > SF_MAX_WINDOW)
		space = SF_MAX_WINDOW;
	if (2 * cur <= clamp && space && space >= 2 * cur)
		sf_send_ack(s, c);
}

SF_API ssize_t sf_recv(sf_stack *s, int sd, void *buf, size_t len)
{
	sf_conn *c = conn_of(s, sd);
	uint32_t n;

	if (!c)
		return -EBADF;
	if (c->state == SF_LISTEN)
		return -ENOTCONN;
	if (len == 0)
		return 0;
	if (c->rcv.len) {
		n = sf_ring_read(&c->rcv, buf, len < c->rcv.len ? (uint32_t)len : c->rcv.len);
		if (c->rcv.len == 0 && (c->state == SF_CLOSED || c->state == SF_TIME_WAIT))
			sf_ring_free(s, &c->rcv);
		maybe_window_update(s, c);
		return n;
	}
	if (c->fin_rcvd)
		return 0;
	if (c->pending_error)
		return take_error(c);
	if (c->shut_rd)
		return 0;
	if (c->state == SF_CLOSED)
		return -ENOTCONN;
	return -EAGAIN;
}

/* CLOSE in ESTABLISHED / SYN-RECEIVED -> FIN-WAIT-1, in CLOSE-WAIT ->
 * LAST-ACK; the FIN follows the queued data (RFC 9293 §3.10.4). */
static void close_send_side(sf_stack *s, sf_conn *c)
{
	if (c->shut_wr)
		return;
	c->shut_wr = true;
	if (c->state == SF_ESTABLISHED || c->state == SF_SYN_RECEIVED)
		sf_set_state(s, c, SF_FIN_WAIT_1, SF_CAUSE_CLOSE);
	else if (c->state == SF_CLOSE_WAIT)
		sf_set_state(s, c, SF_LAST_ACK, SF_CAUSE_CLOSE);
	sf_output(s, c);
}

SF_API int sf_shutdown(sf_stack *s, int sd, int how)
{
	sf_conn *c = conn_of(s, sd);

	if (!c)
		return -EBADF;
	if (how != SF_SHUT_RD && how != SF_SHUT_WR && how != SF_SHUT_RDWR)
		return -EINVAL;
	switch (c->state) {
	case SF_CLOSED:
		return -ENOTCONN;
	case SF_LISTEN:
		/* Linux inet_shutdown(): SHUT_RD stops a listener. */
		if (how != SF_SHUT_WR) {
			sf_listener_close(s, c);
			sf_set_state(s, c, SF_CLOSED, SF_CAUSE_CLOSE);
			sf_unbind_conn(s, c);
		}
		return 0;
	case SF_SYN_SENT:
		/* Linux disconnects: CLOSED, nothing sent. */
		sf_conn_closed(s, c, SF_CAUSE_CLOSE);
		return 0;
	default:
		break;
	}
	if (how != SF_SHUT_WR)
		c->shut_rd = true;
	if (how != SF_SHUT_RD)
		close_send_side(s, c);
	return 0;
}

/* States in which ABORT (or close with data lost) sends a reset
 * (RFC 9293 §3.10.5; Linux tcp_need_reset()). */
static bool abort_sends_rst(const sf_conn *c)
{
	return c->state >= SF_SYN_RECEIVED && c->state <= SF_CLOSE_WAIT;
}

static void destroy_listener(sf_stack *s, sf_conn *c, sf_cause cause)
{
	sf_listener_close(s, c);
	sf_set_state(s, c, SF_CLOSED, cause);
	sf_conn_free(s, c);
}

SF_API int sf_close(sf_stack *s, int sd)
{
	sf_conn *c = conn_of(s, sd);
	bool unread;

	if (!c)
		return -EBADF;
	if (c->state == SF_LISTEN) {
		destroy_listener(s, c, SF_CAUSE_CLOSE);
		return 0;
	}
	sf_handle_release(s, c);
	if (c->state == SF_CLOSED) {
		sf_conn_free(s, c);
		return 0;
	}
	if (c->state == SF_SYN_SENT) {
		sf_conn_closed(s, c, SF_CAUSE_CLOSE);
		return 0;
	}
	/* Unread data or linger zero: reset and abort (RFC9293:SHLD-3, Linux). */
	unread = c->rcv.len > 0;
	if (c->state != SF_TIME_WAIT && (unread || c->linger == 0)) {
		if (unread ? c->state >= SF_SYN_RECEIVED : abort_sends_rst(c))
			sf_send_rst_conn(s, c);
		sf_conn_reset(s, c, 0, SF_CAUSE_ABORT);
		return 0;
	}
	c->shut_rd = true;
	sf_ring_free(s, &c->rcv);
	close_send_side(s, c);
	/* An orphan in FIN-WAIT-2 is bounded by the FIN-WAIT-2 timeout (seed 6). */
	if (c->state == SF_FIN_WAIT_2)
		c->wait_at = s->now + s->cfg.fin_wait_2;
	sf_timers_changed(s, c);
	return 0;
}

SF_API int sf_abort(sf_stack *s, int sd)
{
	sf_conn *c = conn_of(s, sd);

	if (!c)
		return -EBADF;
	if (c->state == SF_LISTEN) {
		destroy_listener(s, c, SF_CAUSE_ABORT);
		return 0;
	}
	sf_handle_release(s, c);
	if (abort_sends_rst(c))
		sf_send_rst_conn(s, c);
	sf_conn_reset(s, c, 0, SF_CAUSE_ABORT);
	return 0;
}

/* Linux tcp_poll(), for the bits we have. */
SF_API int sf_poll(sf_stack *s, int sd)
{
	sf_conn *c = conn_of(s, sd);
	int mask = 0;
	bool rd_shut;

	if (!c)
		return -EBADF;
	if (c->state == SF_LISTEN)
		return c->aq_head ? SF_POLLIN : 0;
	rd_shut = c->fin_rcvd || c->shut_rd;
	if ((c->shut_wr && rd_shut) || c->state == SF_CLOSED)
		mask |= SF_POLLHUP;
	if (rd_shut)
		mask |= SF_POLLIN | SF_POLLRDHUP;
	if (c->state != SF_SYN_SENT && c->state != SF_SYN_RECEIVED) {
		if (c->rcv.len)
			mask |= SF_POLLIN;
		if (c->shut_wr || c->snd.len < c->sndbuf)
			mask |= SF_POLLOUT;
	}
	if (c->pending_error)
		mask |= SF_POLLERR;
	return mask;
}

/* ---- Options ---- */

/* SO_SNDBUF/SO_RCVBUF: the payload bytes the buffer holds (Linux doubles
 * the value for its overhead; we take it as given), never below what the
 * buffer holds now. */
static int set_buf(sf_stack *s, sf_ring *r, uint32_t *limit, int value)
{
	uint32_t v = value < SF_MIN_BUF ? SF_MIN_BUF
		     : (uint32_t)value > SF_MAX_BUF ? SF_MAX_BUF : (uint32_t)value;

	if (v < r->len)
		v = r->len;
	if (r->cap && sf_ring_reserve(s, r, v) < 0)
		return -ENOMEM;
	*limit = v;
	return 0;
}

static void keepalive_changed(sf_stack *s, sf_conn *c)
{
	if (c->state >= SF_ESTABLISHED)
		sf_arm_keepalive(s, c);
}

static int set_range(uint32_t *field, int value, int lo, int hi)
{
	if (value < lo || value > hi)
		return -EINVAL;
	*field = (uint32_t)value;
	return 0;
}

SF_API int sf_setsockopt(sf_stack *s, int sd, sf_sockopt opt, int value)
{
	sf_conn *c = conn_of(s, sd);
	int err = 0;

	if (!c)
		return -EBADF;
	switch (opt) {
	case SF_SO_REUSEADDR:
		c->reuseaddr = value != 0;
		break;
	case SF_SO_KEEPALIVE:
		c->keepalive = value != 0;
		keepalive_changed(s, c);
		break;
	case SF_SO_LINGER:
		c->linger = value < 0 ? -1 : value;
		break;
	case SF_SO_SNDBUF:
		err = set_buf(s, &c->snd, &c->sndbuf, value);
		break;
	case SF_SO_RCVBUF:
		err = set_buf(s, &c->rcv, &c->rcvbuf, value);
		break;
	case SF_SO_ERROR:
		return -ENOPROTOOPT;
	case SF_TCP_NODELAY:
		c->nodelay = value != 0; /* no Nagle yet: always "no delay" */
		break;
	case SF_TCP_KEEPIDLE:
		err = set_range(&c->ka_idle, value, 1, SF_MAX_TCP_KEEPIDLE);
		if (!err)
			keepalive_changed(s, c);
		break;
	case SF_TCP_KEEPINTVL:
		err = set_range(&c->ka_intvl, value, 1, SF_MAX_TCP_KEEPINTVL);
		break;
	case SF_TCP_KEEPCNT:
		err = set_range(&c->ka_cnt, value, 1, SF_MAX_TCP_KEEPCNT);
		break;
	case SF_TCP_USER_TIMEOUT:
		err = set_range(&c->user_timeout, value, 0, 0x7fffffff);
		break;
	case SF_TCP_SYNCNT:
		err = set_range(&c->syn_retries, value, 1, SF_MAX_TCP_SYNCNT);
		break;
	case SF_TCP_MAXSEG:
		if (value != 0 && (value < SF_TCP_MIN_MSS || value > SF_MAX_WINDOW))
			return -EINVAL;
		c->user_mss = (uint16_t)value;
		if (c->state == SF_CLOSED || c->state == SF_LISTEN)
			c->rcv_mss = value && value < sf_family_mss(s, c->family)
					     ? (uint16_t)value
					     : sf_family_mss(s, c->family);
		break;
	default:
		return -ENOPROTOOPT;
	}
	return err;
}

SF_API int sf_getsockopt(sf_stack *s, int sd, sf_sockopt opt, int *value)
{
	sf_conn *c = conn_of(s, sd);

	if (!c)
		return -EBADF;
	switch (opt) {
	case SF_SO_REUSEADDR: *value = c->reuseaddr; break;
	case SF_SO_KEEPALIVE: *value = c->keepalive; break;
	case SF_SO_LINGER: *value = c->linger; break;
	case SF_SO_SNDBUF: *value = (int)c->sndbuf; break;
	case SF_SO_RCVBUF: *value = (int)c->rcvbuf; break;
	case SF_SO_ERROR: *value = -take_error(c); break; /* positive, like Linux */
	case SF_TCP_NODELAY: *value = c->nodelay; break;
	case SF_TCP_KEEPIDLE: *value = (int)c->ka_idle; break;
	case SF_TCP_KEEPINTVL: *value = (int)c->ka_intvl; break;
	case SF_TCP_KEEPCNT: *value = (int)c->ka_cnt; break;
	case SF_TCP_USER_TIMEOUT: *value = (int)c->user_timeout; break;
	case SF_TCP_SYNCNT: *value = (int)c->syn_retries; break;
	case SF_TCP_MAXSEG:
		*value = c->state >= SF_ESTABLISHED ? c->snd_mss
			 : c->user_mss ? c->user_mss : SF_DEFAULT_MSS4;
		break;
	default:
		return -ENOPROTOOPT;
	}
	return 0;
}

/* ---- Observation ---- */

SF_API int sf_info(sf_stack *s, int sd, sf_tcp_info *info)
{
	sf_conn *c = conn_of(s, sd);

	if (!c)
		return -EBADF;
	sf_fill_info(c, info);
	return 0;
}

SF_API void sf_foreach_conn(sf_stack *s, sf_conn_visitor visit, void *ctx)
{
	sf_tcp_info info;

	for (sf_conn *c = s->head; c; c = c->next) {
		sf_fill_info(c, &info);
		visit(ctx, &info);
		for (sf_req *r = c->syn_head; r; r = r->next) {
			sf_fill_req_info(r, &info);
			visit(ctx, &info);
		}
	}
}
