/*
 * The scenario model's helpers (tools/scenario/scenario.c):
 *  - append deep-copies payloads and call data, so the caller's buffers can
 *    go away; copy makes an independent scenario; free releases everything
 *    (LeakSanitizer checks under the asan preset);
 *  - appending stops at SC_MAX_EVENTS;
 *  - options are set, replaced and looked up by name;
 *  - the name tables agree both ways (calls, errno values, socket options,
 *    states) and flags print in packetdrill's notation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scenario.h"

static void test_append_copies_buffers(void)
{
	uint8_t *payload = malloc(4), *data = malloc(3);
	sc_scenario s, c;
	sc_event e;

	memcpy(payload, "abcd", 4);
	memcpy(data, "xyz", 3);
	ASSERT_EQ(sc_scenario_init(&s, "m.pkt"), 0);
	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_INBOUND;
	e.pkt.len = 4;
	e.pkt.payload = payload;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_CALL;
	e.call.kind = SC_CALL_WRITE;
	e.call.len = 3;
	e.call.data = data;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	/* An empty payload that is given stays "given". */
	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_OUTBOUND;
	e.pkt.payload = payload;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	free(payload);
	free(data);

	ASSERT_EQ(s.count, 3);
	ASSERT_STR_EQ(s.file, "m.pkt");
	ASSERT_MEM_EQ(s.ev[0].pkt.payload, "abcd", 4);
	ASSERT_MEM_EQ(s.ev[1].call.data, "xyz", 3);
	ASSERT(s.ev[2].pkt.payload != NULL);

	ASSERT_EQ(sc_scenario_set_option(&s, "tolerance_usecs", "5", (sc_pos){ 1, 1 }), 0);
	ASSERT_EQ(sc_scenario_copy(&c, &s), 0);
	sc_scenario_free(&s);
	ASSERT_EQ(s.count, 0);
	ASSERT(s.ev == NULL);
	ASSERT_EQ(c.count, 3);
	ASSERT_STR_EQ(c.file, "m.pkt");
	ASSERT_MEM_EQ(c.ev[0].pkt.payload, "abcd", 4);
	ASSERT_MEM_EQ(c.ev[1].call.data, "xyz", 3);
	ASSERT_STR_EQ(sc_scenario_option(&c, "tolerance_usecs"), "5");
	sc_scenario_free(&c);
	sc_scenario_free(NULL);
}

static void test_event_limit(void)
{
	sc_scenario s;
	sc_event e;
	size_t i;

	ASSERT_EQ(sc_scenario_init(&s, NULL), 0);
	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_WAIT;
	for (i = 0; i < SC_MAX_EVENTS; i++)
		ASSERT(sc_scenario_append(&s, &e) != NULL);
	ASSERT(sc_scenario_append(&s, &e) == NULL);
	ASSERT_EQ(s.count, SC_MAX_EVENTS);
	sc_scenario_free(&s);
}

static void test_reserve(void)
{
	sc_scenario s;
	sc_event e;
	sc_event *first;
	size_t i;

	ASSERT_EQ(sc_scenario_init(&s, NULL), 0);
	ASSERT_EQ(sc_scenario_reserve(&s, 40), 0);
	ASSERT_EQ(s.cap, 40);
	ASSERT_EQ(sc_scenario_reserve(&s, 10), 0); /* never shrinks */
	ASSERT_EQ(s.cap, 40);
	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_WAIT;
	first = sc_scenario_append(&s, &e);
	ASSERT(first != NULL);
	for (i = 1; i < 40; i++)
		ASSERT(sc_scenario_append(&s, &e) != NULL);
	ASSERT(s.ev == first); /* 40 appends, no reallocation */
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	ASSERT_EQ(s.count, 41);
	ASSERT(s.cap > 40);
	ASSERT_EQ(sc_scenario_reserve(&s, SC_MAX_EVENTS + 5), 0);
	ASSERT_EQ(s.cap, SC_MAX_EVENTS);
	sc_scenario_free(&s);
}

static void test_options(void)
{
	sc_scenario s;

	ASSERT_EQ(sc_scenario_init(&s, "o"), 0);
	ASSERT(sc_scenario_option(&s, "a") == NULL);
	ASSERT_EQ(sc_scenario_set_option(&s, "a", "1", (sc_pos){ 1, 1 }), 0);
	ASSERT_EQ(sc_scenario_set_option(&s, "b", NULL, (sc_pos){ 2, 1 }), 0);
	ASSERT_EQ(sc_scenario_set_option(&s, "a", "2", (sc_pos){ 3, 1 }), 0);
	ASSERT_EQ(s.opt_count, 2);
	ASSERT_STR_EQ(sc_scenario_option(&s, "a"), "2");
	ASSERT_EQ(s.opts[0].pos.line, 3);
	ASSERT_STR_EQ(sc_scenario_option(&s, "b"), "");
	sc_scenario_free(&s);
}

static void test_name_tables(void)
{
	static const sf_sockopt opts[] = {
		SF_SO_REUSEADDR, SF_SO_KEEPALIVE, SF_SO_LINGER, SF_SO_SNDBUF, SF_SO_RCVBUF,
		SF_SO_ERROR, SF_TCP_NODELAY, SF_TCP_KEEPIDLE, SF_TCP_KEEPINTVL,
		SF_TCP_KEEPCNT, SF_TCP_USER_TIMEOUT, SF_TCP_SYNCNT, SF_TCP_MAXSEG,
	};
	static const int errs[] = { EAGAIN, EPIPE, ECONNRESET, ECONNREFUSED, ETIMEDOUT,
				    EINPROGRESS, EADDRINUSE, ENOTCONN, EINVAL, EBADF };
	char buf[12];
	size_t i;
	int k;

	for (k = 0; k < SC_CALL_COUNT; k++)
		ASSERT_EQ(sc_call_from_name(sc_call_name((sc_call_kind)k)), k);
	ASSERT_EQ(sc_call_from_name("sendto"), -1);
	ASSERT_STR_EQ(sc_call_name(SC_CALL_COUNT), "?");
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		int level;
		sf_sockopt o;

		ASSERT_EQ(sc_sockopt_from_name(sc_sockopt_name(opts[i]), &level, &o), 0);
		ASSERT_EQ(o, opts[i]);
		ASSERT(level == SC_SOL_SOCKET || level == SC_SOL_TCP);
	}
	/* Linux values: the scripts mean the same on every host. */
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ASSERT_EQ(sc_errno_from_name(sc_errno_to_name(errs[i])), errs[i]);
		ASSERT(sc_errno_text(errs[i])[0] != '\0');
	}
	ASSERT_EQ(sc_errno_from_name("EWOULDBLOCK"), EAGAIN);
	ASSERT_STR_EQ(sc_errno_to_name(EAGAIN), "EAGAIN");
	ASSERT_STR_EQ(sc_errno_text(EINPROGRESS), "Operation now in progress");
	ASSERT(sc_errno_to_name(4095) == NULL);
	ASSERT_STR_EQ(sc_flags_format(SF_SYN | SF_ACK, buf), "S.");
	ASSERT_STR_EQ(sc_flags_format(SF_FIN | SF_PSH | SF_ACK, buf), "FP.");
	ASSERT_STR_EQ(sc_flags_format(SF_SYN | SF_ECE | SF_CWR, buf), "SEW");
	ASSERT_STR_EQ(sc_flags_format(0, buf), "-");
	ASSERT_STR_EQ(sc_flags_format(0xff, buf), "FSRPUEW.");
	ASSERT_STR_EQ(sc_event_kind_name(SC_EV_STATE), "state");
	ASSERT_STR_EQ(sc_num_mode_name(SC_NUM_STATE), "state");
	ASSERT_STR_EQ(sc_time_kind_name(SC_TIME_ANY), "any");
	ASSERT_STR_EQ(sc_level_name(SC_SOL_TCP), "SOL_TCP");
}

/* Named remote ports imply the connection index: 40000 + k is k. */
static void test_conn_of_ports(void)
{
	sc_packet p;

	memset(&p, 0, sizeof(p));
	ASSERT_EQ(sc_conn_of_ports(&p, true), 0);
	p.sport = 40007;
	p.dport = 8080;
	ASSERT_EQ(sc_conn_of_ports(&p, true), 7);
	ASSERT_EQ(sc_conn_of_ports(&p, false), 0);
	p.sport = 8080;
	p.dport = 40255;
	ASSERT_EQ(sc_conn_of_ports(&p, false), 255);
	p.dport = 40256;
	ASSERT_EQ(sc_conn_of_ports(&p, false), 0);
	p.dport = 39999;
	ASSERT_EQ(sc_conn_of_ports(&p, false), 0);
}

int main(void)
{
	RUN_TEST(test_append_copies_buffers);
	RUN_TEST(test_event_limit);
	RUN_TEST(test_reserve);
	RUN_TEST(test_options);
	RUN_TEST(test_name_tables);
	RUN_TEST(test_conn_of_ports);
	return 0;
}
