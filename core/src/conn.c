/*
 * Control blocks: creation and release, the 4-tuple lookup, address and port
 * ownership, and set_state(), the one place where a connection changes state.
 */
#include <string.h>

#include "tcp_internal.h"

/* ---- Creation and release ---- */

void sf_apply_socket_defaults(sf_stack *s, sf_conn *c)
{
	c->linger = -1;
	c->ka_idle = (uint32_t)(s->cfg.keepalive_idle / 1000000);
	c->ka_intvl = (uint32_t)(s->cfg.keepalive_intvl / 1000000);
	c->ka_cnt = s->cfg.keepalive_probes;
	c->syn_retries = s->cfg.syn_retries;
	c->sndbuf = s->cfg.sndbuf;
	c->rcvbuf = s->cfg.rcvbuf;
	c->rcv_mss = sf_family_mss(s, c->family);
}

/* The MSS we advertise (RFC9293:MUST-67, RFC6691:2): cfg.mss is for IPv4
 * (MTU - 40); the IPv6 header is 20 octets longer. */
uint16_t sf_family_mss(const sf_stack *s, int family)
{
	return family == SF_AF_INET6 && s->cfg.mss > 20 + 88 ? (uint16_t)(s->cfg.mss - 20)
							     : s->cfg.mss;
}

sf_conn *sf_conn_new(sf_stack *s, int family)
{
	sf_conn *c = sf_conn_new_id(s, family, s->next_conn_id);

	if (c)
		s->next_conn_id++;
	return c;
}

/* A control block with a given conn_id: a SYN-queue entry keeps its id when
 * it becomes a full connection. */
sf_conn *sf_conn_new_id(sf_stack *s, int family, uint32_t conn_id)
{
	sf_conn *c;

	if (s->nconns >= s->cfg.max_connections)
		return NULL;
	c = sf_mem_alloc(s, sizeof(*c));
	if (!c)
		return NULL;
	c->node.kind = SF_NODE_CONN;
	c->conn_id = conn_id;
	c->node.tie = conn_id;
	c->sd = -1;
	c->state = SF_CLOSED;
	c->family = (uint8_t)family;
	c->rto = s->cfg.rto_initial;
	c->rtx_at = c->ka_at = c->wait_at = SF_NEVER;
	sf_apply_socket_defaults(s, c);
	/* Appending keeps the list in creation order: iteration is deterministic. */
	c->prev = s->tail;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->nconns++;
	s->stats.conns_opened++;
	return c;
}

static void acceptq_unlink(sf_conn *c)
{
	sf_conn *l = c->listener, **pp;

	if (!l || !c->in_accept_queue)
		return;
	for (pp = &l->aq_head; *pp; pp = &(*pp)->aq_next) {
		if (*pp == c) {
			*pp = c->aq_next;
			break;
		}
	}
	l->aq_tail = NULL;
	for (sf_conn *t = l->aq_head; t; t = t->aq_next)
		l->aq_tail = t;
	l->aq_count--;
	c->in_accept_queue = false;
	c->listener = NULL;
	c->aq_next = NULL;
}

/* ---- Listeners and bound ports ---- */

static void listener_link(sf_stack *s, sf_conn *c)
{
	sf_conn **pp = &s->listeners;

	while (*pp)
		pp = &(*pp)->lnext;
	*pp = c;
	c->lnext = NULL;
}

static void listener_unlink(sf_stack *s, sf_conn *c)
{
	for (sf_conn **pp = &s->listeners; *pp; pp = &(*pp)->lnext) {
		if (*pp == c) {
			*pp = c->lnext;
			break;
		}
	}
	c->lnext = NULL;
}

/* c now holds local (DESIGN seed 9: until it is freed or reaches CLOSED). */
void sf_bind_conn(sf_stack *s, sf_conn *c, const sf_endpoint *local)
{
	sf_conn **bucket;

	sf_unbind_conn(s, c);
	c->node.local = *local;
	bucket = &s->ports[local->port & s->port_mask];
	c->bnext = *bucket;
	*bucket = c;
	c->bound = true;
}

void sf_unbind_conn(sf_stack *s, sf_conn *c)
{
	if (!c->bound)
		return;
	for (sf_conn **pp = &s->ports[c->node.local.port & s->port_mask]; *pp;
	     pp = &(*pp)->bnext) {
		if (*pp == c) {
			*pp = c->bnext;
			break;
		}
	}
	c->bnext = NULL;
	c->bound = false;
}

/* Frees c and everything it holds. Sends nothing and reports nothing. */
void sf_conn_free(sf_stack *s, sf_conn *c)
{
	while (c->syn_head) {
		sf_req *r = c->syn_head;

		c->syn_head = r->next;
		sf_timer_remove(s, &r->node);
		sf_hash_del(s, &r->node);
		sf_mem_free(s, r->syn_data, r->syn_len);
		sf_mem_free(s, r, sizeof(*r));
		s->nreqs--;
	}
	for (sf_conn *t = c->aq_head; t; t = t->aq_next) {
		t->listener = NULL;
		t->in_accept_queue = false;
	}
	acceptq_unlink(c);
	sf_timer_remove(s, &c->node);
	sf_unbind_conn(s, c);
	if (c->state == SF_LISTEN)
		listener_unlink(s, c);
	sf_hash_del(s, &c->node);
	if (c->sd >= 0)
		sf_handle_release(s, c);
	if (c->state == SF_TIME_WAIT)
		s->ntime_wait--;
	sf_ring_free(s, &c->snd);
	sf_ring_free(s, &c->rcv);
	sf_free_early(s, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	s->nconns--;
	s->stats.conns_closed++;
	sf_mem_free(s, c, sizeof(*c));
}

/* ---- State changes ---- */

void sf_report(sf_stack *s, uint32_t conn_id, sf_state from, sf_state to, sf_cause cause)
{
	sf_record_transition(s, conn_id, from, to, cause);
	if (s->env.on_state)
		s->env.on_state(s->env.ctx, conn_id, from, to, cause);
}

/* Every transition of a full connection goes through here (DESIGN
 * "Observable"); SYN-queue entries report through sf_report() directly. */
void sf_set_state(sf_stack *s, sf_conn *c, sf_state to, sf_cause cause)
{
	sf_state from = (sf_state)c->state;

	if (from == to)
		return;
	if (from == SF_TIME_WAIT)
		s->ntime_wait--;
	if (to == SF_TIME_WAIT)
		s->ntime_wait++;
	/* A socket opened again after it reached CLOSED is a new connection:
	 * conn_id is never reused (tcp.h). */
	if (from == SF_CLOSED && c->used) {
		c->conn_id = s->next_conn_id++;
		c->node.tie = c->conn_id;
	}
	c->used = true;
	/* A connection that got past the handshake (any synchronized state,
	 * also FIN-WAIT-1 reached by a close in SYN-RECEIVED) leaves its
	 * socket connected for good, as Linux's SS_CONNECTING/SS_CONNECTED:
	 * listen() and connect() on it are refused, so what the old connection
	 * left unread never shows up as data of a new one. */
	if (to >= SF_ESTABLISHED)
		c->connected = true;
	if (from == SF_LISTEN)
		listener_unlink(s, c);
	if (to == SF_LISTEN)
		listener_link(s, c);
	c->state = (uint8_t)to;
	sf_report(s, c->conn_id, from, to, cause);
}

bool sf_is_synchronized(const sf_conn *c)
{
	return c->state >= SF_ESTABLISHED;
}

/*
 * The connection has reached CLOSED: it leaves the lookup table (its port is
 * free again), its timers stop, and it is freed unless a handle or the accept
 * queue still refers to it.
 */
void sf_conn_closed(sf_stack *s, sf_conn *c, sf_cause cause)
{
	sf_set_state(s, c, SF_CLOSED, cause);
	sf_hash_del(s, &c->node);
	c->rtx_at = c->ka_at = c->wait_at = SF_NEVER;
	sf_timers_changed(s, c);
	c->rtt_active = false;
	sf_ring_free(s, &c->snd);
	sf_free_early(s, c);
	if (c->sd < 0 && !c->in_accept_queue) {
		sf_conn_free(s, c);
		return;
	}
	sf_unbind_conn(s, c);
}

/* Reset or give-up: the pending call fails with err and the queues are
 * flushed (RFC9293:U-12, §3.10.8). */
void sf_conn_reset(sf_stack *s, sf_conn *c, int err, sf_cause cause)
{
	if (c->sd >= 0 || c->in_accept_queue)
		c->pending_error = err;
	sf_ring_free(s, &c->rcv);
	c->shut_rd = c->shut_wr = true;
	sf_conn_closed(s, c, cause);
}

/*
 * TIME-WAIT holds the connection for cfg.time_wait (RFC9293:MUST-13 says
 * 2*MSL; Linux uses 60 s). Past cfg.max_time_wait entries the connection
 * closes at once, like Linux's tcp_max_tw_buckets.
 */
void sf_enter_time_wait(sf_stack *s, sf_conn *c, sf_cause cause)
{
	bool overflow = s->ntime_wait >= s->cfg.max_time_wait;

	sf_set_state(s, c, SF_TIME_WAIT, cause);
	c->rtx_at = c->ka_at = SF_NEVER;
	c->rtt_active = false;
	sf_ring_free(s, &c->snd);
	if (c->sd < 0)
		sf_ring_free(s, &c->rcv);
	c->wait_at = s->now + s->cfg.time_wait;
	sf_timers_changed(s, c);
	if (overflow)
		sf_conn_closed(s, c, SF_CAUSE_TIMEOUT_TIME_WAIT);
}

/* ---- The 4-tuple hash (fixed function, no seed: deterministic) ---- */

static uint32_t mix(uint32_t h, uint32_t v)
{
	h = (h ^ v) * 0x9e3779b1u; /* Knuth's multiplicative constant */
	return h ^ (h >> 15);
}

/* Hashes the address a word at a time (an IPv4 address is one word). */
static uint32_t hash_endpoint(uint32_t h, const sf_endpoint *e)
{
	int words = e->addr.family == SF_AF_INET ? 1 : 4;

	for (int i = 0; i < words; i++) {
		uint32_t w;

		memcpy(&w, e->addr.bytes + 4 * i, sizeof(w));
		h = mix(h, w);
	}
	return mix(h, e->port);
}

static uint32_t hash_tuple(const sf_stack *s, const sf_endpoint *local,
			   const sf_endpoint *remote)
{
	uint32_t h = hash_endpoint(2166136261u, local);

	return hash_endpoint(h, remote) & s->hash_mask;
}

static bool endpoint_eq(const sf_endpoint *a, const sf_endpoint *b)
{
	return a->port == b->port && sf_addr_eq(&a->addr, &b->addr);
}

void sf_hash_add(sf_stack *s, sf_node *n)
{
	uint32_t b = hash_tuple(s, &n->local, &n->remote);

	if (n->hashed)
		return;
	n->hnext = s->hash[b];
	s->hash[b] = n;
	n->hashed = true;
}

void sf_hash_del(sf_stack *s, sf_node *n)
{
	sf_node **pp;

	if (!n->hashed)
		return;
	for (pp = &s->hash[hash_tuple(s, &n->local, &n->remote)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	}
	n->hashed = false;
	n->hnext = NULL;
}

sf_node *sf_hash_find(sf_stack *s, const sf_endpoint *local, const sf_endpoint *remote)
{
	for (sf_node *n = s->hash[hash_tuple(s, local, remote)]; n; n = n->hnext)
		if (endpoint_eq(&n->local, local) && endpoint_eq(&n->remote, remote))
			return n;
	return NULL;
}

/* A listener on local's port: an exact address beats the wildcard. */
sf_conn *sf_find_listener(sf_stack *s, const sf_endpoint *local)
{
	sf_conn *wild = NULL;

	for (sf_conn *c = s->listeners; c; c = c->lnext) {
		if (c->node.local.port != local->port || c->family != local->addr.family)
			continue;
		if (sf_addr_eq(&c->node.local.addr, &local->addr))
			return c;
		if (!wild && sf_addr_is_any(&c->node.local.addr))
			wild = c;
	}
	return wild;
}

/* A multicast or broadcast address: IPv4 224.0.0.0/4 or 255.255.255.255,
 * IPv6 ff00::/8 (RFC9293:MUST-46, MUST-57). */
bool sf_addr_is_group(const sf_addr *a)
{
	static const uint8_t bcast[4] = { 255, 255, 255, 255 };

	if (a->family == SF_AF_INET)
		return (a->bytes[0] & 0xf0) == 0xe0 || memcmp(a->bytes, bcast, 4) == 0;
	return a->bytes[0] == 0xff;
}

static bool addr_overlap(const sf_addr *a, const sf_addr *b)
{
	return a->family == b->family &&
	       (sf_addr_is_any(a) || sf_addr_is_any(b) || sf_addr_eq(a, b));
}

/*
 * Would binding self to local conflict with another socket? A connection in
 * TIME-WAIT holds its port (DESIGN seed 9). SO_REUSEADDR on self lifts the
 * conflict with anything but a listener, when the holder also set it or is
 * in TIME-WAIT (Linux inet_csk_bind_conflict, simplified).
 */
bool sf_port_in_use(sf_stack *s, const sf_conn *self, const sf_endpoint *local)
{
	for (const sf_conn *c = s->ports[local->port & s->port_mask]; c; c = c->bnext) {
		if (c == self || !c->bound || c->node.local.port != local->port ||
		    !addr_overlap(&c->node.local.addr, &local->addr))
			continue;
		if (self->reuseaddr && c->state != SF_LISTEN &&
		    (c->reuseaddr || c->state == SF_TIME_WAIT))
			continue;
		return true;
	}
	return false;
}

/* A copy of the text of a SYN (at most wnd octets) to queue until the
 * connection is established (RFC9293:U-4: "Data that came with the SYN is
 * queued"). NULL if there is none or the memory cap refuses it. */
uint8_t *sf_copy_syn_text(sf_stack *s, const sf_segment *seg, uint32_t wnd, uint16_t *len)
{
	size_t n = seg->payload_len < wnd ? seg->payload_len : wnd;
	uint8_t *p;

	*len = 0;
	if (n == 0 || n > UINT16_MAX)
		return NULL;
	p = sf_mem_alloc(s, n);
	if (!p)
		return NULL;
	memcpy(p, seg->payload, n);
	*len = (uint16_t)n;
	return p;
}

void sf_free_early(sf_stack *s, sf_conn *c)
{
	sf_mem_free(s, c->early, c->early_len);
	c->early = NULL;
	c->early_len = 0;
}

/* ---- Windows, MSS and RTT ---- */

uint32_t sf_rcv_space(const sf_conn *c)
{
	return c->rcvbuf > c->rcv.len ? c->rcvbuf - c->rcv.len : 0;
}

/* The window offered on the next segment: free buffer space, but the right
 * edge never moves left (RFC9293:SHLD-14). No scaling yet (RFC7323:2.2-a). */
void sf_update_rcv_wnd(sf_conn *c)
{
	uint32_t wnd = sf_rcv_space(c);

	if (wnd > SF_MAX_WINDOW)
		wnd = SF_MAX_WINDOW;
	if (sf_seq_lt(c->rcv_nxt + wnd, c->rcv_adv))
		wnd = c->rcv_adv - c->rcv_nxt;
	c->rcv_wnd = wnd;
	c->rcv_adv = c->rcv_nxt + wnd;
}

/* The MSS option of a SYN (RFC9293:MUST-14), 0 if absent or zero. A value
 * below Linux's tcp_min_snd_mss (48) is raised to it. */
uint16_t sf_peer_mss(const sf_segment *seg)
{
	const uint16_t min_snd_mss = 48;

	if (!seg->opts.has_mss || seg->opts.mss == 0)
		return 0;
	return seg->opts.mss < min_snd_mss ? min_snd_mss : seg->opts.mss;
}

/* RFC9293:MUST-15/16: the peer's MSS, or 536/1220 without the option,
 * bounded by our own MTU-derived MSS and TCP_MAXSEG. */
uint16_t sf_effective_mss(const sf_conn *c, uint16_t peer_mss)
{
	uint16_t mss = peer_mss ? peer_mss
				: (c->family == SF_AF_INET6 ? SF_DEFAULT_MSS6 : SF_DEFAULT_MSS4);

	if (c->rcv_mss && mss > c->rcv_mss)
		mss = c->rcv_mss;
	if (c->user_mss && mss > c->user_mss)
		mss = c->user_mss;
	if (mss < 1)
		mss = 1;
	return mss;
}

/* RFC 6298 §2.2/2.3, with the clock granularity G of 1 ms. */
void sf_rtt_sample(sf_stack *s, sf_conn *c, uint64_t r)
{
	const uint64_t g = 1000;
	uint64_t rto;

	if (!c->has_srtt) {
		c->srtt = r;
		c->rttvar = r / 2;
		c->has_srtt = true;
	} else {
		uint64_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;

		c->rttvar = (3 * c->rttvar + diff) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	rto = c->srtt + (4 * c->rttvar > g ? 4 * c->rttvar : g);
	if (rto < s->cfg.rto_min)
		rto = s->cfg.rto_min; /* RFC6298:2.4 */
	if (rto > s->cfg.rto_max)
		rto = s->cfg.rto_max;
	c->rto = rto;
}

/* ---- Info ---- */

void sf_fill_info(const sf_conn *c, sf_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	i->conn_id = c->conn_id;
	i->state = (sf_state)c->state;
	i->from_listen = c->from_listen;
	i->orphan = c->sd < 0;
	i->local = c->node.local;
	i->remote = c->node.remote;
	i->iss = c->iss;
	i->irs = c->irs;
	i->snd_una = c->snd_una;
	i->snd_nxt = c->snd_nxt;
	i->snd_wnd = c->snd_wnd;
	i->snd_wl1 = c->snd_wl1;
	i->snd_wl2 = c->snd_wl2;
	i->max_snd_wnd = c->max_snd_wnd;
	i->rcv_nxt = c->rcv_nxt;
	i->rcv_wnd = c->rcv_adv - c->rcv_nxt;
	i->snd_mss = c->snd_mss;
	i->rcv_mss = c->rcv_mss;
	i->rto = c->rto;
	i->retransmits = c->retransmits;
	i->total_retrans = c->total_retrans;
	i->snd_queued = c->snd.len;
	i->rcv_queued = c->rcv.len;
	i->sndbuf = c->sndbuf;
	i->rcvbuf = c->rcvbuf;
	i->next_timer = sf_conn_next_timer(c);
	i->pending_error = c->pending_error;
}

void sf_fill_req_info(const sf_req *r, sf_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	i->conn_id = r->conn_id;
	i->state = SF_SYN_RECEIVED;
	i->from_listen = true;
	i->orphan = true;
	i->local = r->node.local;
	i->remote = r->node.remote;
	i->iss = r->iss;
	i->irs = r->irs;
	i->snd_una = r->iss;
	i->snd_nxt = r->iss + 1;
	i->snd_wnd = r->snd_wnd;
	i->max_snd_wnd = r->snd_wnd;
	i->rcv_nxt = r->irs + 1;
	i->rcv_wnd = r->rcv_wnd;
	i->rcv_mss = r->rcv_mss;
	i->snd_mss = r->peer_mss;
	i->retransmits = r->num_timeout;
	i->next_timer = r->deadline;
}
