/*
 * The harness's oracles must fire: each test plants one fault the way a
 * broken engine would show it (an illegal transition, a bad segment, wrong
 * bytes, a window overrun...) in a forked child and checks that the child
 * aborts with the line naming the right oracle. A control test drives a
 * connection through every state and must pass all of them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "drive.h"
#include "harness_internal.h"
#include "child.h"

/* fn must abort with the line naming oracle, and with text in it (NULL:
 * any text). */
static void expect_oracle_text(const char *name, void (*fn)(void), const char *oracle,
			       const char *text)
{
	char out[8192], want[64];
	int status = run_child(fn, out, sizeof out);
	snprintf(want, sizeof want, "oracle %s failed", oracle);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || !strstr(out, want) ||
	    (text && !strstr(out, text))) {
		fprintf(stderr, "%s: expected \"%s\"%s%s and an abort, got status 0x%x and:\n%s\n",
			name, want, text ? " with " : "", text ? text : "", status, out);
		abort();
	}
	printf("ok %s (%s)\n", name, oracle);
}

static void expect_oracle(const char *name, void (*fn)(void), const char *oracle)
{
	expect_oracle_text(name, fn, oracle, NULL);
}

/* fn must run to its end with no oracle firing; what is printed on
 * failure names what went wrong. */
static void expect_silent(const char *name, void (*fn)(void), const char *what, const char *failure)
{
	char out[8192];
	int status = run_child(fn, out, sizeof out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: %s:\n%s\n", name, failure, out);
		abort();
	}
	printf("ok %s (%s)\n", name, what);
}

/* An established connection on remote port 40001; its engine handle in ref. */
static fz_harness *established(fz_conn_ref *ref)
{
	int listener = -1;
	fz_harness *h = harness();
	fz_drive(h, SF_ESTABLISHED, 40001, &listener, ref);
	return h;
}

static sf_segment our_segment(const fz_conn_ref *r, uint8_t flags)
{
	sf_segment s;
	memset(&s, 0, sizeof s);
	s.src = r->local.addr;
	s.dst = r->remote.addr;
	s.sport = r->local.port;
	s.dport = r->remote.port;
	s.flags = flags;
	s.seq = r->our_nxt;
	s.ack = r->peer_nxt;
	s.window = 1000;
	return s;
}

/* A SYN from the peer of r's connection, with sequence number seq. */
static sf_segment peer_syn(const fz_conn_ref *r, uint32_t seq)
{
	sf_segment s;
	memset(&s, 0, sizeof s);
	s.src = r->remote.addr;
	s.dst = r->local.addr;
	s.sport = r->remote.port;
	s.dport = r->local.port;
	s.flags = SF_SYN;
	s.seq = seq;
	s.window = 1000;
	return s;
}

/* ---- Planted faults ---- */

static void illegal_edge(void)
{
	fz_harness *h = harness();
	h->kind = FZ_EV_TIMER;
	fz_on_state(h, 77, SF_CLOSED, SF_TIME_WAIT, SF_CAUSE_TIMEOUT_RETRANS);
}

/* RFC5961:3.2-d: a connection in SYN-SENT reset by an RST whose ACK does
 * not acknowledge its SYN. */
static void rst_syn_sent_bad_ack(void)
{
	fz_harness *h = harness();
	fz_conn *c = fz_conn_get(h, 77);
	c->reported = true;
	c->state = SF_SYN_SENT;
	c->iss_valid = true;
	c->iss = 1000;
	c->max_snd_nxt = 1001;
	memset(&h->in, 0, sizeof h->in);
	h->in.flags = SF_RST | SF_ACK;
	h->in.ack = 5000;
	h->in_valid = true;
	h->kind = FZ_EV_INPUT;
	fz_on_state(h, 77, SF_SYN_SENT, SF_CLOSED, SF_CAUSE_RCV_RST);
}

/* A SYN-queue entry (IRS 5000, RCV.NXT 5001) and an RST with sequence number
 * seq arriving for it. */
static fz_harness *rst_for_syn_received(uint32_t seq)
{
	fz_harness *h = harness();
	fz_conn *c = fz_conn_get(h, 77);
	c->reported = true;
	c->state = SF_SYN_RECEIVED;
	c->irs_valid = true;
	c->irs = 5000;
	c->max_rcv_nxt = 5001;
	memset(&h->in, 0, sizeof h->in);
	h->in.flags = SF_RST;
	h->in.seq = seq;
	h->in_valid = true;
	h->kind = FZ_EV_INPUT;
	return h;
}

/* RFC5961:3.2 in SYN-RECEIVED: an RST in the window but not at RCV.NXT
 * takes the entry back to LISTEN. */
static void rst_syn_received_not_exact(void)
{
	fz_harness *h = rst_for_syn_received(5100);
	fz_on_state(h, 77, SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_RST);
}

/* The exact RST may (RFC9293:U-11). */
static void rst_syn_received_exact(void)
{
	fz_harness *h = rst_for_syn_received(5001);
	fz_on_state(h, 77, SF_SYN_RECEIVED, SF_LISTEN, SF_CAUSE_RCV_RST);
	fz_free(h);
}

/* The SYN-queue entry of r (SYN-RECEIVED, from fz_drive()). */
static fz_conn *entry_of(fz_harness *h, const fz_conn_ref *r)
{
	return fz_conn_by_tuple(h, &r->local, &r->remote, r->our_nxt - 1);
}

/* DESIGN seed 11: a SYN-queue entry left alone resends its SYN-ACK
 * synack_retries times on its timer and is dropped; the output oracle
 * counts every resend (so it is wired) and stays silent. */
static void synack_resends_counted(void)
{
	int listener = -1;
	fz_conn_ref r;
	fz_harness *h = harness();
	fz_drive(h, SF_SYN_RECEIVED, 40001, &listener, &r);
	fz_conn *c = entry_of(h, &r);
	ASSERT(c != NULL);
	for (int i = 0; i < 400; i++)
		fz_advance(h, 1000u * 1000);
	ASSERT_EQ(c->synack_timer_sends, h->setup.cfg.synack_retries);
	ASSERT(!c->alive);
	fz_free(h);
}

/* The same entry against a harness that allows two resends: the third
 * fails the output oracle, as an engine that resends past synack_retries
 * would. */
static void synack_resent_too_often(void)
{
	int listener = -1;
	fz_conn_ref r;
	fz_harness *h = harness();
	fz_drive(h, SF_SYN_RECEIVED, 40001, &listener, &r);
	h->setup.cfg.synack_retries = 2;
	for (int i = 0; i < 400; i++)
		fz_advance(h, 1000u * 1000);
}

/* ---- Timer policy (oracle "timers") ---- */

/* The harness's record of the connection behind handle sd. */
static fz_conn *conn_of_sd(fz_harness *h, int sd)
{
	sf_tcp_info info;
	ASSERT(fz_info(h, sd, &info) == 0);
	return fz_conn_get(h, info.conn_id);
}

/* Let the timers run until handle sd's connection is CLOSED (at most 64
 * firings); returns its record. */
static fz_conn *run_out(fz_harness *h, int sd)
{
	uint32_t id = conn_of_sd(h, sd)->id;
	for (int i = 0; i < 64 && fz_conn_get(h, id)->state != SF_CLOSED; i++)
		fz_advance_to_timer(h, 0);
	fz_conn *c = fz_conn_get(h, id);
	ASSERT_EQ(c->state, SF_CLOSED);
	return c;
}

/* A connect() nobody answers, from a fresh socket (TCP_SYNCNT syncnt when
 * not 0). */
static int unanswered_connect(fz_harness *h, int syncnt)
{
	int sd = fz_socket(h, SF_AF_INET);
	ASSERT(sd >= 0);
	if (syncnt)
		ASSERT_EQ(fz_setsockopt(h, sd, SF_TCP_SYNCNT, syncnt), 0);
	sf_endpoint to = {.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4), .port = 40100};
	ASSERT_EQ(fz_connect(h, sd, &to), -EINPROGRESS);
	return sd;
}

/* An established connection with keep-alive on: probes every second after
 * one idle second, TCP_KEEPCNT cnt, all set through the harness. */
static fz_harness *keepalive_on(fz_conn_ref *r, int cnt)
{
	fz_harness *h = established(r);
	ASSERT_EQ(fz_setsockopt(h, r->sd, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, r->sd, SF_TCP_KEEPIDLE, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, r->sd, SF_TCP_KEEPINTVL, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, r->sd, SF_TCP_KEEPCNT, cnt), 0);
	return h;
}

/* Every give-up rule of the real engine, counted and silent: SYN resends
 * to the default syn_retries and to TCP_SYNCNT, the socket's TCP_SYNCNT
 * kept by a second connect() (a new conn_id), data resends to retries2,
 * TCP_USER_TIMEOUT instead of counts, and TCP_KEEPCNT probes. */
static void timers_silent_when_right(void)
{
	fz_harness *h = harness();
	fz_conn *c = run_out(h, unanswered_connect(h, 0));
	ASSERT_EQ(c->rtx_run, h->setup.cfg.syn_retries);
	int sd = unanswered_connect(h, 2);
	c = run_out(h, sd);
	ASSERT_EQ(c->rtx_run, 2u);
	/* The first connect() reports the failure (SO_ERROR), the second
	 * opens the socket again. */
	sf_endpoint to = {.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4), .port = 40101};
	ASSERT_EQ(fz_connect(h, sd, &to), -ETIMEDOUT);
	ASSERT_EQ(fz_connect(h, sd, &to), -EINPROGRESS);
	fz_conn *again = conn_of_sd(h, sd);
	ASSERT(again->id != c->id);
	ASSERT_EQ(again->pol.syncnt, 2u);
	ASSERT_EQ(run_out(h, sd)->rtx_run, 2u);
	fz_free(h);

	fz_conn_ref r;
	h = established(&r);
	ASSERT_EQ(fz_send(h, r.sd, 100), 100);
	c = run_out(h, r.sd);
	ASSERT_EQ(c->rtx_run, h->setup.cfg.retries2);
	fz_free(h);

	h = established(&r);
	ASSERT_EQ(fz_setsockopt(h, r.sd, SF_TCP_USER_TIMEOUT, 5000), 0);
	ASSERT_EQ(fz_send(h, r.sd, 100), 100);
	c = run_out(h, r.sd);
	ASSERT(c->rtx_run >= 1 && c->rtx_run < h->setup.cfg.retries2);
	fz_free(h);

	h = keepalive_on(&r, 3);
	c = run_out(h, r.sd);
	ASSERT_EQ(c->ka_run, 3u);
	ASSERT(c->ka_exact);
	fz_free(h);
}

/* A listener's keep-alive options reach the connections it accepts (the
 * engine's req_promote(), Linux's socket cloning), and the harness follows
 * them: two probes, the reset, nothing fires. An option changed on the
 * listener while an entry waits in its SYN queue reaches the entry only
 * when it is promoted, which the harness cannot see: its rules go off. */
static void timers_inherited_from_listener(void)
{
	int listener = -1;
	fz_conn_ref l, r, e;
	fz_harness *h = harness();
	fz_drive(h, SF_LISTEN, 40001, &listener, &l);
	ASSERT_EQ(fz_setsockopt(h, listener, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, listener, SF_TCP_KEEPIDLE, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, listener, SF_TCP_KEEPINTVL, 1), 0);
	ASSERT_EQ(fz_setsockopt(h, listener, SF_TCP_KEEPCNT, 2), 0);
	fz_drive(h, SF_ESTABLISHED, 40002, &listener, &r);
	fz_conn *c = conn_of_sd(h, r.sd);
	ASSERT(c->pol.keepalive && !c->pol.unknown);
	ASSERT_EQ(c->pol.ka_cnt, 2u);
	fz_drive(h, SF_SYN_RECEIVED, 40003, &listener, &e);
	ASSERT(!entry_of(h, &e)->pol.unknown);
	ASSERT_EQ(fz_setsockopt(h, listener, SF_TCP_KEEPCNT, 3), 0);
	ASSERT(entry_of(h, &e)->pol.unknown);
	c = run_out(h, r.sd);
	ASSERT_EQ(c->ka_run, 2u);
	fz_free(h);
}

/* A connect() against a harness that allows two SYN resends. */
static void syn_resent_too_often(void)
{
	fz_harness *h = harness();
	int sd = unanswered_connect(h, 0);
	conn_of_sd(h, sd)->pol.syncnt = 2;
	run_out(h, sd);
}

/* Data resends against a harness that allows two. */
static void data_resent_too_often(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	ASSERT_EQ(fz_send(h, r.sd, 100), 100);
	h->setup.cfg.retries2 = 2;
	run_out(h, r.sd);
}

/* The engine gives up after its six SYN resends; a harness told 10 sees
 * it give up early. */
static void syn_gave_up_early(void)
{
	fz_harness *h = harness();
	int sd = unanswered_connect(h, 0);
	conn_of_sd(h, sd)->pol.syncnt = 10;
	run_out(h, sd);
}

/* Keep-alive turned on behind the harness's back: the first probe is one
 * the harness believes the application never asked for (MUST-25). */
static void probe_keepalive_off(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	ASSERT_EQ(sf_setsockopt(fz_stack(h), r.sd, SF_SO_KEEPALIVE, 1), 0);
	ASSERT_EQ(sf_setsockopt(fz_stack(h), r.sd, SF_TCP_KEEPIDLE, 1), 0);
	run_out(h, r.sd);
}

/* Three probes against a harness that allows one. */
static void probe_too_many(void)
{
	fz_conn_ref r;
	fz_harness *h = keepalive_on(&r, 3);
	conn_of_sd(h, r.sd)->pol.ka_cnt = 1;
	run_out(h, r.sd);
}

/* Three probes, then the reset, against a harness told five (MUST-29). */
static void keepalive_gave_up_early(void)
{
	fz_conn_ref r;
	fz_harness *h = keepalive_on(&r, 3);
	conn_of_sd(h, r.sd)->pol.ka_cnt = 5;
	run_out(h, r.sd);
}

/* TCP_USER_TIMEOUT set behind the harness's back: the give-up by time is
 * one the harness cannot explain. */
static void user_timeout_unknown(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	ASSERT_EQ(sf_setsockopt(fz_stack(h), r.sd, SF_TCP_USER_TIMEOUT, 5000), 0);
	ASSERT_EQ(fz_send(h, r.sd, 100), 100);
	run_out(h, r.sd);
}

/* A connection whose last reported state is from, ISS 1000, with written
 * octets sent; the segment being processed is an ACK of ack. */
static fz_harness *acked_in(sf_state from, uint64_t written, uint32_t ack)
{
	fz_harness *h = harness();
	fz_conn *c = fz_conn_get(h, 77);
	c->reported = true;
	c->state = from;
	c->iss_valid = true;
	c->iss = 1000;
	c->written = written;
	c->max_snd_nxt = from == SF_SYN_RECEIVED ? 1001 : 1000 + 2 + (uint32_t)written;
	memset(&h->in, 0, sizeof h->in);
	h->in.flags = SF_ACK;
	h->in.ack = ack;
	h->in_valid = true;
	h->kind = FZ_EV_INPUT;
	return h;
}

/* RFC9293:U-15: an ACK of ISS (nothing) completes the handshake. */
static void ack_syn_received_old(void)
{
	fz_harness *h = acked_in(SF_SYN_RECEIVED, 0, 1000);
	fz_on_state(h, 77, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_CAUSE_RCV_ACK);
}

/* RFC9293:U-18: LAST-ACK closed by an ACK that repeats SND.UNA while 4000
 * octets and the FIN wait behind a zero window (the engine's bug of
 * corpora/passive_open/regression-last-ack-unsent-fin). */
static void ack_last_ack_unsent_fin(void)
{
	fz_harness *h = acked_in(SF_LAST_ACK, 5000, 1000 + 1 + 1000);
	fz_on_state(h, 77, SF_LAST_ACK, SF_CLOSED, SF_CAUSE_RCV_ACK);
}

/* The same for CLOSING -> TIME-WAIT. */
static void ack_closing_unsent_fin(void)
{
	fz_harness *h = acked_in(SF_CLOSING, 5000, 1000 + 1 + 1000);
	fz_on_state(h, 77, SF_CLOSING, SF_TIME_WAIT, SF_CAUSE_RCV_ACK);
}

/* FIN-WAIT-1 -> TIME-WAIT on the peer's FIN whose ACK stops short of ours. */
static void ack_fin_wait_1_fin_short(void)
{
	fz_harness *h = acked_in(SF_FIN_WAIT_1, 10, 1000 + 1 + 10);
	h->in.flags |= SF_FIN;
	fz_on_state(h, 77, SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN);
}

/* The right acknowledgement takes each of those edges without a word. */
static void ack_edges_silent_when_right(void)
{
	fz_harness *h = acked_in(SF_SYN_RECEIVED, 0, 1001);
	fz_on_state(h, 77, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_CAUSE_RCV_ACK);
	fz_free(h);
	const struct { sf_state from, to; sf_cause cause; } edges[] = {
		{SF_FIN_WAIT_1, SF_FIN_WAIT_2, SF_CAUSE_RCV_ACK},
		{SF_CLOSING, SF_TIME_WAIT, SF_CAUSE_RCV_ACK},
		{SF_LAST_ACK, SF_CLOSED, SF_CAUSE_RCV_ACK},
		{SF_FIN_WAIT_1, SF_TIME_WAIT, SF_CAUSE_RCV_FIN},
	};
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		/* 5000 octets written: the FIN is 1000 + 1 + 5000, its ACK one more;
		 * the sequence space wraps for the last one. */
		h = acked_in(edges[i].from, 5000, 1000 + 2 + 5000);
		if (edges[i].cause == SF_CAUSE_RCV_FIN)
			h->in.flags |= SF_FIN;
		fz_on_state(h, 77, edges[i].from, edges[i].to, edges[i].cause);
		fz_free(h);
	}
	h = acked_in(SF_LAST_ACK, 0, 1002);
	fz_conn_get(h, 77)->iss = 0xfffffffeu;
	fz_conn_get(h, 77)->max_snd_nxt = 0xfffffffeu + 2 + 5000;
	fz_conn_get(h, 77)->written = 5000;
	h->in.ack = 0xfffffffeu + 2 + 5000;
	fz_on_state(h, 77, SF_LAST_ACK, SF_CLOSED, SF_CAUSE_RCV_ACK);
	fz_free(h);
}

static void cause_not_of_event(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	h->kind = FZ_EV_TIMER; /* a FIN "received" while only the clock moved */
	fz_on_state(h, info.conn_id, SF_ESTABLISHED, SF_CLOSE_WAIT, SF_CAUSE_RCV_FIN);
}

static void unreported_change(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	fz_conn_get(h, info.conn_id)->state = SF_SYN_RECEIVED; /* as if ESTABLISHED went unreported */
	fz_check_event(h);
}

static void syn_fin(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_segment s = our_segment(&r, SF_SYN | SF_FIN | SF_ACK);
	fz_check_output(h, &s);
}

static void seq_beyond_snd_nxt(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_segment s = our_segment(&r, SF_ACK);
	s.seq += 5000;
	fz_check_output(h, &s);
}

static void ack_beyond_rcv_nxt(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_segment s = our_segment(&r, SF_ACK);
	s.ack += 1;
	fz_check_output(h, &s);
}

static void mss_on_non_syn(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_segment s = our_segment(&r, SF_ACK);
	s.opts.has_mss = true;
	s.opts.mss = 1000;
	s.opt_len = (uint8_t)sf_opts_encode(&s.opts, s.opt_raw);
	fz_check_output(h, &s);
}

static void rst_answers_rst(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	h->kind = FZ_EV_INPUT;
	h->in_valid = true;
	h->in = our_segment(&r, SF_RST);
	sf_segment s = our_segment(&r, SF_RST);
	fz_check_output(h, &s);
}

static void no_connection(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_segment s = our_segment(&r, SF_ACK);
	s.dport = 1234;
	fz_check_output(h, &s);
}

static void data_never_written(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	/* Make the bytes look in range and in window; nothing was written. */
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	fz_conn_get(h, info.conn_id)->max_snd_nxt = r.our_nxt + 10;
	static uint8_t bytes[10];
	sf_segment s = our_segment(&r, SF_ACK | SF_PSH);
	s.payload = bytes;
	s.payload_len = sizeof bytes;
	fz_check_output(h, &s);
}

static void wrong_bytes_sent(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	fz_event(h, "write 10");
	ASSERT_EQ(fz_send(h, r.sd, 10), 10);
	static uint8_t bytes[10]; /* zeros, not what the application wrote */
	sf_segment s = our_segment(&r, SF_ACK | SF_PSH);
	s.payload = bytes;
	s.payload_len = sizeof bytes;
	fz_check_output(h, &s);
}

static void fin_without_close(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	fz_conn_get(h, info.conn_id)->max_snd_nxt = r.our_nxt + 1;
	sf_segment s = our_segment(&r, SF_ACK | SF_FIN);
	fz_check_output(h, &s);
}

static void wrong_bytes_read(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	uint8_t bytes[4] = {1, 2, 3, 4};
	bytes[0] = (uint8_t)~fz_peer_byte(0, 0); /* never all pattern */
	fz_check_recv(h, r.sd, bytes, 4, 4);
}

static void eof_without_fin(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	fz_check_recv(h, r.sd, NULL, 0, 100);
}

static void rcv_past_window(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	fz_conn *c = fz_conn_get(h, info.conn_id);
	c->adv_valid = true;
	c->max_adv_edge = info.rcv_nxt - 10; /* as if we had taken 10 octets too many */
	fz_check_event(h);
}

static void window_not_offered(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	fz_conn *c = fz_conn_get(h, info.conn_id);
	ASSERT(c->pwin_valid);
	c->pmax_win = 10; /* as if the engine had scaled 10 into its SND.WND */
	fz_check_event(h);
}

static void option_misread(void)
{
	fz_harness *h = harness();
	const uint8_t raw[4] = {SF_OPT_MSS, 4, 0x05, 0xb4};
	sf_tcp_options got;
	sf_opts_decode(raw, sizeof raw, &got);
	got.mss = 1461; /* as a decoder that reads one octet off would */
	fz_check_opts_decode(h, raw, sizeof raw, &got);
}

static void send_more_than_asked(void)
{
	fz_harness *h = harness();
	fz_check_result(h, "send", -100000);
}

/* ---- The reference oracle (reference.c) ----
 *
 * Each fault is a before/after pair of one connection as a broken engine
 * would leave it, judged by fz_ref_judge() (what fz_ref_after() calls with
 * the engine's own snapshots); the planted bugs of targets/planted/ show the
 * same checks firing on a real broken engine. */

static fz_ref_snap ref_snap(sf_state state)
{
	fz_ref_snap s = {
		.valid = true, .conn_id = 9, .state = state, .iss = 1000, .snd_una = 1001,
		.snd_nxt = 1001, .snd_wnd = 5000, .max_snd_wnd = 5000, .rcv_nxt = 7001,
	};
	return s;
}

/* After a SYN to a connection in TIME-WAIT: the old one gone, a new
 * incarnation (connection 10) on its 4-tuple with the given ISS. */
static fz_ref_snap ref_reopened(uint32_t next_iss)
{
	fz_ref_snap s = {.next_valid = true, .next_id = 10, .next_iss = next_iss};
	return s;
}

static sf_segment ref_segment(uint8_t flags, uint32_t seq, uint32_t ack)
{
	sf_segment s;
	memset(&s, 0, sizeof s);
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	return s;
}

/* RFC9293:U-8: a SYN-ACK that acknowledges our SYN, and the connection
 * stayed in SYN-SENT (a wrong ACK check answered it with an RST). */
static void ref_syn_sent_stays(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_SYN_SENT), post;
	pre.snd_una = 1000;
	post = pre;
	sf_segment synack = ref_segment(SF_SYN | SF_ACK, 7000, 1001);
	fz_ref_judge(h, &pre, &post, &synack, 0);
}

/* RFC5961:4.2: a SYN in ESTABLISHED that reset the connection. */
static void ref_syn_resets(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_ESTABLISHED), post = {0};
	sf_segment syn = ref_segment(SF_SYN, 7001, 0);
	fz_ref_judge(h, &pre, &post, &syn, 0);
}

/* RFC5961:4.2: a SYN in CLOSE-WAIT whose data was taken. */
static void ref_syn_data_taken(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_CLOSE_WAIT), post = pre;
	post.rcv_nxt += 10;
	sf_segment syn = ref_segment(SF_SYN | SF_ACK, 7001, 1001);
	fz_ref_judge(h, &pre, &post, &syn, 0);
}

/* RFC5961:5.2: data taken from a segment whose ACK is older than
 * SND.UNA - MAX.SND.WND. */
static void ref_old_ack_data(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_ESTABLISHED), post = pre;
	post.rcv_nxt += 100;
	sf_segment seg = ref_segment(SF_ACK | SF_PSH, 7001, 1001 - 5000 - 1);
	fz_ref_judge(h, &pre, &post, &seg, 0);
}

/* RFC9293:U-15: an ACK of something never sent that moved SND.UNA. */
static void ref_ack_beyond_nxt(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_FIN_WAIT_2), post = pre;
	post.snd_una += 1;
	sf_segment seg = ref_segment(SF_ACK, 7001, 1002);
	seg.payload_len = 5;
	fz_ref_judge(h, &pre, &post, &seg, 0);
}

/* RFC9293:U-17: FIN-WAIT-1 to CLOSING on a FIN+ACK that acknowledged our
 * FIN (10 octets written: SND.NXT = ISS + 1 + 10 + 1). */
static void ref_closing_acked(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_FIN_WAIT_1), post = pre;
	pre.snd_nxt = 1012;
	post.state = SF_CLOSING;
	post.snd_una = post.snd_nxt = 1012;
	post.rcv_nxt += 1;
	sf_segment seg = ref_segment(SF_ACK | SF_FIN, 7001, 1012);
	fz_ref_judge(h, &pre, &post, &seg, 10);
}

/* RFC9293:MAY-2, DESIGN seed 9: an old duplicate SYN (below RCV.NXT)
 * ended TIME-WAIT and opened a new incarnation. */
static void ref_tw_old_syn_reopens(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_TIME_WAIT), post = ref_reopened(1001 + 65537);
	sf_segment syn = ref_segment(SF_SYN, 7000, 0);
	fz_ref_judge(h, &pre, &post, &syn, 0);
}

/* RFC9293:MAY-2 (1): a new SYN reopened TIME-WAIT, and the new incarnation
 * got the old one's ISS (SND.NXT - 1 = 1000 was the last number used). */
static void ref_tw_isn_reused(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_TIME_WAIT), post = ref_reopened(pre.iss);
	sf_segment syn = ref_segment(SF_SYN, 7001 + 100000, 0);
	fz_ref_judge(h, &pre, &post, &syn, 0);
}

/* The hooks are wired: a SYN from the peer of an established connection
 * goes through fz_input(), whose fz_ref_before() snapshots the connection
 * and whose fz_ref_after() consumes the snapshot (a correct engine answers
 * with a challenge ACK, so nothing fires). Without this check, losing a hook
 * line in harness.c would silence the reference oracle unnoticed. */
static void ref_hooks_wired(void)
{
	fz_conn_ref r;
	fz_harness *h = established(&r);
	sf_tcp_info info;
	ASSERT_EQ(fz_info(h, r.sd, &info), 0);
	memset(&h->ref_pre, 0, sizeof h->ref_pre);
	sf_segment syn = peer_syn(&r, r.peer_nxt);
	fz_event(h, "SYN to an established connection");
	fz_input(h, &syn, NULL);
	ASSERT_EQ(h->ref_pre.conn_id, info.conn_id);
	ASSERT(!h->ref_pre.valid);
	fz_free(h);
}

/* The same for TIME-WAIT: an old duplicate SYN, then a new SYN that
 * reopens the connection (a listener is on the port), each snapshotted
 * before and judged after; the engine gets both right, so nothing fires. */
static void ref_tw_hooks_wired(void)
{
	int listener = -1;
	fz_conn_ref r;
	fz_harness *h = harness();
	fz_drive(h, SF_TIME_WAIT, 40001, &listener, &r);
	const uint32_t seqs[] = {r.peer_nxt - 1000, r.peer_nxt + 100000};
	for (size_t i = 0; i < 2; i++) {
		memset(&h->ref_pre, 0, sizeof h->ref_pre);
		sf_segment syn = peer_syn(&r, seqs[i]);
		fz_event(h, i ? "a new SYN in TIME-WAIT" : "an old duplicate SYN in TIME-WAIT");
		fz_input(h, &syn, NULL);
		ASSERT(h->ref_pre.conn_id != 0);
		ASSERT(!h->ref_pre.valid);
	}
	fz_free(h);
}

/* The same rules stay silent on what a correct engine does. */
/* A connection in ESTABLISHED as the last walk left it (SND.UNA 1000,
 * SND.NXT 1100, SND.WND 2000 from SND.WL1 4000, SND.WL2 1000; RCV.NXT 5000,
 * RCV.WND wnd), an ACK of ack with len octets at seq and window 3000
 * arriving, and the walk after it showing SND.UNA una and, if upd, the
 * window taken from the segment, else as it was. */
static void ack_walk_case(fz_harness *h, uint32_t wnd, uint32_t seq, size_t len, uint32_t ack,
			  uint32_t una, bool upd)
{
	fz_conn *c = fz_conn_get(h, 77);
	c->reported = true;
	c->state = c->cur_state = SF_ESTABLISHED;
	c->cur_snd_una = 1000;
	c->cur_snd_nxt = 1100;
	c->cur_snd_wnd = 2000;
	c->cur_snd_wl1 = 4000;
	c->cur_snd_wl2 = 1000;
	c->cur_rcv_nxt = 5000;
	c->cur_rcv_wnd = wnd;
	sf_endpoint local = {.addr = sf_addr_v4(FZ_LOCAL_ADDR_V4), .port = FZ_LOCAL_PORT};
	sf_endpoint remote = {.addr = sf_addr_v4(FZ_REMOTE_ADDR_V4), .port = 40001};
	memset(&h->in, 0, sizeof h->in);
	h->in.src = remote.addr;
	h->in.dst = local.addr;
	h->in.sport = remote.port;
	h->in.dport = local.port;
	h->in.flags = SF_ACK;
	h->in.seq = seq;
	h->in.ack = ack;
	h->in.window = 3000;
	h->in.payload_len = len;
	h->in_valid = true;
	h->kind = FZ_EV_INPUT;
	sf_conn_peek now = {.conn_id = 77, .state = SF_ESTABLISHED, .local = &local,
			    .remote = &remote, .snd_una = una, .snd_nxt = 1100,
			    .snd_wnd = upd ? 3000 : 2000, .snd_wl1 = upd ? seq : 4000,
			    .snd_wl2 = upd ? ack : 1000, .rcv_nxt = 5000};
	fz_ref_ack_walk(h, c, &now);
}

/* RFC 9293 §3.10.7.4, fifth step: an acceptable bare ACK inside
 * SND.UNA < SEG.ACK =< SND.NXT that leaves SND.UNA where it was. */
static void ref_ack_not_taken(void)
{
	ack_walk_case(harness(), 1000, 5000, 0, 1050, 1000, true);
}

/* RFC9293:U-16: a newer acceptable segment whose window is not taken. */
static void ref_window_not_taken(void)
{
	ack_walk_case(harness(), 1000, 5000, 0, 1050, 1050, false);
}

/* RFC9293:U-16: a segment whose ACK is below SND.UNA moves the window. */
static void ref_window_from_old_ack(void)
{
	ack_walk_case(harness(), 1000, 5000, 0, 900, 1000, true);
}

/* The rules stay silent where the engine did right: the segment taken,
 * not acceptable, older than SND.WL1/WL2, or its ACK outside the range. */
static void ref_ack_walk_silent(void)
{
	fz_harness *h = harness();
	ack_walk_case(h, 1000, 5000, 0, 1050, 1050, true);  /* taken */
	ack_walk_case(h, 1000, 5000, 0, 1100, 1100, true);  /* everything acknowledged */
	ack_walk_case(h, 1000, 4000, 0, 1050, 1000, false); /* old segment: not acceptable */
	ack_walk_case(h, 1000, 6000, 0, 1050, 1000, false); /* beyond the window */
	ack_walk_case(h, 1000, 4990, 20, 1050, 1050, true); /* its last octets in the window */
	ack_walk_case(h, 0, 5000, 10, 1050, 1000, false);   /* data to a zero window: not acceptable */
	ack_walk_case(h, 0, 5000, 0, 1050, 1050, true);     /* a bare ACK to a zero window is */
	ack_walk_case(h, 1000, 5000, 0, 1000, 1000, true);  /* a duplicate ACK, newer: window taken */
	ack_walk_case(h, 1000, 5000, 0, 1101, 1000, false); /* beyond SND.NXT: dropped */
	ack_walk_case(h, 1000, 5000, 0, 900, 1000, false);  /* below SND.UNA: no window update */
	ack_walk_case(h, 1000, 5000, 0, 1000u + 0x80000000u, 1000, false); /* 2^31 away: dropped */
	fz_free(h);
}

static void ref_silent_when_right(void)
{
	fz_harness *h = harness();
	fz_ref_snap pre = ref_snap(SF_ESTABLISHED), post = pre;
	sf_segment syn = ref_segment(SF_SYN, 7001, 0);
	fz_ref_judge(h, &pre, &post, &syn, 0);          /* challenge ACK, nothing moved */
	sf_segment old = ref_segment(SF_ACK | SF_PSH, 7001, 1001 - 5000 - 1);
	fz_ref_judge(h, &pre, &post, &old, 0);          /* old ACK dropped */
	fz_ref_snap taken = pre;
	taken.rcv_nxt += 100;
	sf_segment edge = ref_segment(SF_ACK | SF_PSH, 7001, 1001 - 5000);
	fz_ref_judge(h, &pre, &taken, &edge, 0);        /* exactly SND.UNA - MAX.SND.WND: acceptable */
	fz_ref_snap fw1 = ref_snap(SF_FIN_WAIT_1), closing = fw1;
	fw1.snd_nxt = closing.snd_nxt = 1012;
	closing.state = SF_CLOSING;
	closing.rcv_nxt += 1;
	sf_segment fin = ref_segment(SF_ACK | SF_FIN, 7001, 1001);
	fz_ref_judge(h, &fw1, &closing, &fin, 10);      /* our FIN not acknowledged: CLOSING */
	fz_ref_snap tw = ref_snap(SF_TIME_WAIT);
	fz_ref_snap reopened = ref_reopened(1001);      /* exactly SND.NXT: above SND.NXT - 1 */
	sf_segment old_syn = ref_segment(SF_SYN, 7000, 0);
	fz_ref_judge(h, &tw, &tw, &old_syn, 0);         /* old duplicate: TIME-WAIT as it was */
	sf_segment at_nxt = ref_segment(SF_SYN, 7001, 0);
	fz_ref_judge(h, &tw, &tw, &at_nxt, 0);          /* at RCV.NXT: may stay (Linux) */
	fz_ref_judge(h, &tw, &reopened, &at_nxt, 0);    /* ... or reopen */
	sf_segment new_syn = ref_segment(SF_SYN, 9000, 0);
	fz_ref_judge(h, &tw, &reopened, &new_syn, 0);   /* a new SYN reopens, ISS above */
	fz_ref_snap twin = tw, twin_after = {0};        /* another connection on the 4-tuple */
	twin.next_valid = twin_after.next_valid = true; /* was there before: not a reopening */
	twin_after.next_iss = 5;
	fz_ref_judge(h, &twin, &twin_after, &new_syn, 0);
	fz_ref_snap sent = ref_snap(SF_SYN_SENT), est = sent;
	sent.snd_una = 1000;
	est.state = SF_ESTABLISHED;
	sf_segment synack = ref_segment(SF_SYN | SF_ACK, 7000, 1001);
	fz_ref_judge(h, &sent, &est, &synack, 0);       /* handshake completed */
	fz_ref_judge(h, &sent, &(fz_ref_snap){0}, &synack, 0); /* gone: the transition oracle's */
	sf_segment bad = ref_segment(SF_SYN | SF_ACK, 7000, 1000);
	fz_ref_judge(h, &sent, &sent, &bad, 0);         /* ACK of ISS: RST, stays in SYN-SENT */
	fz_free(h);
}

/* ---- Control: the textbook way through every state passes ---- */

static void every_state(void)
{
	static const sf_state states[] = {
		SF_CLOSED, SF_LISTEN, SF_SYN_SENT, SF_SYN_RECEIVED, SF_ESTABLISHED, SF_FIN_WAIT_1,
		SF_FIN_WAIT_2, SF_CLOSE_WAIT, SF_CLOSING, SF_LAST_ACK, SF_TIME_WAIT,
	};
	int listener = -1;
	fz_harness *h = harness();
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		fz_conn_ref r;
		fz_drive(h, states[i], (uint16_t)(41000 + i), &listener, &r);
	}
	fz_event(h, "two minutes pass");
	fz_advance(h, 120u * 1000 * 1000);
	fz_free(h);
}

int main(void)
{
	expect_silent("every_state", every_state, "no oracle fires on a textbook run",
		      "the textbook run failed");

	expect_oracle("illegal_edge", illegal_edge, "transition");
	expect_oracle("cause_not_of_event", cause_not_of_event, "transition");
	expect_oracle("rst_syn_sent_bad_ack", rst_syn_sent_bad_ack, "transition");
	expect_silent("synack_resends_counted", synack_resends_counted, "output-sanity",
		      "the SYN-ACK resends were not counted, or an oracle fired");
	expect_oracle_text("synack_resent_too_often", synack_resent_too_often, "output-sanity",
			   "SYN-ACK resend 3 of SYN-queue entry");
	expect_silent("timers_silent_when_right", timers_silent_when_right, "timers",
		      "a give-up rule was miscounted, or an oracle fired");
	expect_silent("timers_inherited_from_listener", timers_inherited_from_listener, "timers",
		      "the listener's options did not reach its connections, or an oracle fired");
	expect_oracle_text("syn_resent_too_often", syn_resent_too_often, "timers",
			   "retransmission 3 of connection");
	expect_oracle_text("data_resent_too_often", data_resent_too_often, "timers",
			   "retransmission 3 of connection");
	expect_oracle_text("syn_gave_up_early", syn_gave_up_early, "timers",
			   "gave up in SYN-SENT after 6 retransmissions");
	expect_oracle_text("probe_keepalive_off", probe_keepalive_off, "timers",
			   "SO_KEEPALIVE is off");
	expect_oracle_text("probe_too_many", probe_too_many, "timers", "keep-alive probe 2 of");
	expect_oracle_text("keepalive_gave_up_early", keepalive_gave_up_early, "timers",
			   "after 3 unanswered probes");
	expect_oracle_text("user_timeout_unknown", user_timeout_unknown, "timers",
			   "but none is set");
	expect_oracle("rst_syn_received_not_exact", rst_syn_received_not_exact, "transition");
	expect_silent("rst_syn_received_exact", rst_syn_received_exact, "transition",
		      "the transition oracle fired on an RST at RCV.NXT");
	expect_oracle("ack_syn_received_old", ack_syn_received_old, "transition");
	expect_oracle("ack_last_ack_unsent_fin", ack_last_ack_unsent_fin, "transition");
	expect_oracle("ack_closing_unsent_fin", ack_closing_unsent_fin, "transition");
	expect_oracle("ack_fin_wait_1_fin_short", ack_fin_wait_1_fin_short, "transition");
	expect_silent("ack_edges_silent_when_right", ack_edges_silent_when_right, "transition",
		      "the transition oracle fired on a right ACK");
	expect_oracle("unreported_change", unreported_change, "transition");
	expect_oracle("syn_fin", syn_fin, "output-sanity");
	expect_oracle("seq_beyond_snd_nxt", seq_beyond_snd_nxt, "output-sanity");
	expect_oracle("ack_beyond_rcv_nxt", ack_beyond_rcv_nxt, "output-sanity");
	expect_oracle("mss_on_non_syn", mss_on_non_syn, "output-sanity");
	expect_oracle("rst_answers_rst", rst_answers_rst, "output-sanity");
	expect_oracle("no_connection", no_connection, "output-sanity");
	expect_oracle("data_never_written", data_never_written, "stream-integrity");
	expect_oracle("wrong_bytes_sent", wrong_bytes_sent, "stream-integrity");
	expect_oracle("fin_without_close", fin_without_close, "stream-integrity");
	expect_oracle("wrong_bytes_read", wrong_bytes_read, "stream-integrity");
	expect_oracle("eof_without_fin", eof_without_fin, "stream-integrity");
	expect_oracle("rcv_past_window", rcv_past_window, "window");
	expect_oracle("window_not_offered", window_not_offered, "window");
	expect_oracle("option_misread", option_misread, "codec");
	expect_oracle("send_more_than_asked", send_more_than_asked, "api");
	expect_oracle_text("ref_ack_not_taken", ref_ack_not_taken, "reference",
			   "left SND.UNA at 1000");
	expect_oracle_text("ref_window_not_taken", ref_window_not_taken, "reference",
			   "it sets them to its window");
	expect_oracle_text("ref_window_from_old_ack", ref_window_from_old_ack, "reference",
			   "changed SND.WND from 2000 to 3000 on a segment with ACK 900");
	expect_silent("ref_ack_walk_silent", ref_ack_walk_silent, "reference",
		      "the ACK or window rule fired where the engine did right");
	expect_oracle("ref_syn_sent_stays", ref_syn_sent_stays, "reference");
	expect_oracle("ref_syn_resets", ref_syn_resets, "reference");
	expect_oracle("ref_syn_data_taken", ref_syn_data_taken, "reference");
	expect_oracle("ref_old_ack_data", ref_old_ack_data, "reference");
	expect_oracle("ref_ack_beyond_nxt", ref_ack_beyond_nxt, "reference");
	expect_oracle("ref_closing_acked", ref_closing_acked, "reference");
	expect_oracle("ref_tw_old_syn_reopens", ref_tw_old_syn_reopens, "reference");
	expect_oracle("ref_tw_isn_reused", ref_tw_isn_reused, "reference");
	expect_silent("ref_hooks_wired", ref_hooks_wired, "reference",
		      "the reference oracle's hooks did not run");
	expect_silent("ref_tw_hooks_wired", ref_tw_hooks_wired, "reference",
		      "the TIME-WAIT rule did not run, or the engine broke it");
	expect_silent("ref_silent_when_right", ref_silent_when_right, "reference",
		      "the reference oracle fired on correct behaviour");
	return 0;
}
