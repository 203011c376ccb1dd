/*
 * The packetdrill-syntax script parser (tools/scenario/script_*.c):
 *  - a script with every supported construct parses into the right events,
 *    field by field;
 *  - a table of malformed or unsupported inputs, each with the exact message
 *    and the line:column it must point at;
 *  - robustness: every prefix of a valid script, and deterministic random
 *    byte strings, either parse or fail with a positioned message (never a
 *    crash: this runs under ASan/UBSan in the asan preset).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scenario.h"

static void parse_ok(const char *text, sc_scenario *s)
{
	sc_error err;
	int rc = sc_script_parse(text, strlen(text), "t.pkt", s, &err);

	if (rc != 0)
		fprintf(stderr, "unexpected parse error: %s\n", err.msg);
	ASSERT_EQ(rc, 0);
}

/* ---- A script with every construct. ---- */

static const char full_script[] =
	"// a comment\n"
	"/* a block\n   comment */\n"
	"--tolerance_usecs=10000\n"
	"--sf_time_wait=1000000\n"
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"                          /* 0 */
	"+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"               /* 1 */
	"+0 bind(3, ..., ...) = 0\n"                                             /* 2 */
	"+0 listen(3, 1) = 0\n"                                                  /* 3 */
	"+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n"       /* 4 */
	"+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>\n"          /* 5 */
	"+.1 < . 1:1(0) ack 1 win 257\n"                                         /* 6 */
	"+0 accept(3, ..., ...) = 4\n"                                           /* 7 */
	"0.5~0.6 > P. 1:1001(1000) ack 1 <...>\n"                                /* 8 */
	"* > [ect0] 8080 > 40000 SEW. 1:1(0) ack 1 win 5 urg 3\n"                /* 9 */
	"+.1...0.2 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)\n" /* 10 */
	"+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"                          /* 11 */
	"+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n"                 /* 12 */
	"+0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n"  /* 13 */
	"+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"  /* 14 */
	"+0 send(4, \"a\\x01\\n\", 3, MSG_DONTWAIT) = 3\n"                       /* 15 */
	"+0 shutdown(4, SHUT_WR) = 0\n"                                          /* 16 */
	"+75 wait\n"                                                             /* 17 */
	"* wait(-0.000005)\n"                                                    /* 18 */
	"+0 state(4) = FIN-WAIT-1\n"                                             /* 19 */
	"+60 conn_state(2) = time_wait\n"                                        /* 20 */
	"+0 < . rcv-5:rcv+95(100) ack snd+0 win 100 <nop,nop,TS val 1 ecr 2,nop,nop,sack 1:2 3:4>"
	" {bad_tcp_csum, ip_len_delta=-4, doff_delta=1, reserved=2, conn=1}\n"   /* 21 */
	"+0 < (tos 0x10, ttl 9) . =100:=104(4) ack =5 win 0 <raw \"fe040102\"> {payload=\"deadbeef\"}\n" /* 22 */
	"+0 connect(5, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"192.0.2.7\")}, 16)"
	" = -1 EINPROGRESS (Operation now in progress)\n"                        /* 23 */
	"+0 close(4) = ...\n";                                                   /* 24 */

static void test_full_script(void)
{
	static const uint8_t syn_opts[] = { 2, 4, 0x03, 0xe8, 4, 2, 1, 1, 1, 3, 3, 7 };
	sc_scenario s;
	const sc_event *e;

	parse_ok(full_script, &s);
	ASSERT_EQ(s.count, 25);
	ASSERT_EQ(s.opt_count, 2);
	ASSERT_STR_EQ(sc_scenario_option(&s, "tolerance_usecs"), "10000");
	ASSERT_STR_EQ(sc_scenario_option(&s, "sf_time_wait"), "1000000");

	e = &s.ev[0];
	ASSERT_EQ(e->kind, SC_EV_CALL);
	ASSERT_EQ(e->pos.line, 6);
	ASSERT_EQ(e->pos.col, 1);
	ASSERT_EQ(e->time.kind, SC_TIME_ABS);
	ASSERT_EQ(e->call.kind, SC_CALL_SOCKET);
	ASSERT_EQ(e->call.family, SF_AF_INET);
	ASSERT_EQ(e->call.ret.check, 1);
	ASSERT_EQ(e->call.ret.value, 3);

	e = &s.ev[1];
	ASSERT_EQ(e->time.kind, SC_TIME_REL);
	ASSERT_EQ(e->call.kind, SC_CALL_SETSOCKOPT);
	ASSERT_EQ(e->call.level, SC_SOL_SOCKET);
	ASSERT_EQ(e->call.opt, SF_SO_REUSEADDR);
	ASSERT_EQ(e->call.optval, 1);

	ASSERT_EQ(s.ev[2].call.kind, SC_CALL_BIND);
	ASSERT_EQ(s.ev[2].call.has_addr, 0);
	ASSERT_EQ(s.ev[3].call.backlog, 1);

	e = &s.ev[4];
	ASSERT_EQ(e->kind, SC_EV_INBOUND);
	ASSERT_EQ(e->pkt.flags, SF_SYN);
	ASSERT_EQ(e->pkt.seq.mode, SC_NUM_SCRIPT);
	ASSERT_EQ(e->pkt.seq.value, 0);
	ASSERT_EQ(e->pkt.len, 0);
	ASSERT_EQ(e->pkt.has_ack, 0);
	ASSERT_EQ(e->pkt.has_win, 1);
	ASSERT_EQ(e->pkt.win, 32792);
	ASSERT_EQ(e->pkt.opts_mode, SC_OPTS_LIST);
	ASSERT_EQ(e->pkt.opt_len, sizeof(syn_opts));
	ASSERT_MEM_EQ(e->pkt.opt_raw, syn_opts, sizeof(syn_opts));

	e = &s.ev[5];
	ASSERT_EQ(e->kind, SC_EV_OUTBOUND);
	ASSERT_EQ(e->pkt.flags, SF_SYN | SF_ACK);
	ASSERT_EQ(e->pkt.has_ack, 1);
	ASSERT_EQ(e->pkt.ack.value, 1);
	ASSERT_EQ(e->pkt.has_win, 0);

	e = &s.ev[6];
	ASSERT_EQ(e->time.us, 100000);
	ASSERT_EQ(e->pkt.flags, SF_ACK);
	ASSERT_EQ(e->pkt.opts_mode, SC_OPTS_NONE);

	e = &s.ev[8];
	ASSERT_EQ(e->time.kind, SC_TIME_ABS);
	ASSERT_EQ(e->time.range, 1);
	ASSERT_EQ(e->time.us, 500000);
	ASSERT_EQ(e->time.end_us, 600000);
	ASSERT_EQ(e->pkt.flags, SF_PSH | SF_ACK);
	ASSERT_EQ(e->pkt.len, 1000);
	ASSERT_EQ(e->pkt.opts_mode, SC_OPTS_ANY);

	e = &s.ev[9];
	ASSERT_EQ(e->time.kind, SC_TIME_ANY);
	ASSERT_EQ(e->pkt.tos_check, SC_TOS_ECN);
	ASSERT_EQ(e->pkt.tos, 2);
	ASSERT_EQ(e->pkt.sport, 8080);
	ASSERT_EQ(e->pkt.dport, 40000);
	ASSERT_EQ(e->pkt.conn, 0);
	ASSERT_EQ(e->pkt.flags, SF_SYN | SF_ECE | SF_CWR | SF_ACK);
	ASSERT_EQ(e->pkt.win, 5);
	ASSERT_EQ(e->pkt.has_urg, 1);
	ASSERT_EQ(e->pkt.urg, 3);

	e = &s.ev[10];
	ASSERT_EQ(e->time.kind, SC_TIME_REL);
	ASSERT_EQ(e->time.blocking, 1);
	ASSERT_EQ(e->time.us, 100000);
	ASSERT_EQ(e->time.end_us, 200000);
	ASSERT_EQ(e->call.kind, SC_CALL_READ);
	ASSERT_EQ(e->call.len, 1000);
	ASSERT_EQ(e->call.ret.value, -1);
	ASSERT_EQ(e->call.ret.err, EAGAIN);

	e = &s.ev[11];
	ASSERT_EQ(e->call.fcntl_cmd, SC_F_SETFL);
	ASSERT_EQ(e->call.fcntl_flags, SC_O_RDWR | SC_O_NONBLOCK);

	e = &s.ev[12];
	ASSERT_EQ(e->call.kind, SC_CALL_GETSOCKOPT);
	ASSERT_EQ(e->call.opt, SF_SO_ERROR);
	ASSERT_EQ(e->call.optval, 0);
	ASSERT_EQ(e->call.optval_any, 0);

	e = &s.ev[13];
	ASSERT_EQ(e->call.kind, SC_CALL_POLL);
	ASSERT_EQ(e->call.fd, 3);
	ASSERT_EQ(e->call.poll_events, SF_POLLIN | SF_POLLOUT);
	ASSERT_EQ(e->call.poll_revents, SF_POLLOUT);
	ASSERT_EQ(e->call.ret.value, 1);

	ASSERT_EQ(s.ev[14].call.opt, SF_SO_LINGER);
	ASSERT_EQ(s.ev[14].call.optval, 0);

	e = &s.ev[15];
	ASSERT_EQ(e->call.kind, SC_CALL_SEND);
	ASSERT_EQ(e->call.len, 3);
	ASSERT(e->call.data != NULL);
	ASSERT_MEM_EQ(e->call.data, "a\x01\n", 3);
	ASSERT_EQ(e->call.msg_flags, SC_MSG_DONTWAIT);

	ASSERT_EQ(s.ev[16].call.how, SF_SHUT_WR);

	e = &s.ev[17];
	ASSERT_EQ(e->kind, SC_EV_WAIT);
	ASSERT_EQ(e->time.kind, SC_TIME_REL);
	ASSERT_EQ(e->time.us, 75000000);
	e = &s.ev[18];
	ASSERT_EQ(e->kind, SC_EV_WAIT);
	ASSERT_EQ(e->time.kind, SC_TIME_ANY);
	ASSERT_EQ(e->time.us, -5);

	e = &s.ev[19];
	ASSERT_EQ(e->kind, SC_EV_STATE);
	ASSERT_EQ(e->state.fd, 4);
	ASSERT_EQ(e->state.state, SF_FIN_WAIT_1);
	e = &s.ev[20];
	ASSERT_EQ(e->state.fd, -1);
	ASSERT_EQ(e->state.conn, 2);
	ASSERT_EQ(e->state.state, SF_TIME_WAIT);

	e = &s.ev[21];
	ASSERT_EQ(e->pkt.seq.mode, SC_NUM_STATE);
	ASSERT_EQ((int32_t)e->pkt.seq.value, -5);
	ASSERT_EQ(e->pkt.len, 100);
	ASSERT_EQ(e->pkt.ack.mode, SC_NUM_STATE);
	ASSERT_EQ(e->pkt.ack.value, 0);
	ASSERT_EQ(e->pkt.opt_len, 32);
	ASSERT_EQ(e->pkt.faults.bad_tcp_checksum, 1);
	ASSERT_EQ(e->pkt.faults.ip_len_delta, -4);
	ASSERT_EQ(e->pkt.faults.data_off_delta, 1);
	ASSERT_EQ(e->pkt.reserved, 2);
	ASSERT_EQ(e->pkt.conn, 1);

	e = &s.ev[22];
	ASSERT_EQ(e->pkt.tos_check, SC_TOS_FULL);
	ASSERT_EQ(e->pkt.tos, 0x10);
	ASSERT_EQ(e->pkt.has_ttl, 1);
	ASSERT_EQ(e->pkt.ttl, 9);
	ASSERT_EQ(e->pkt.seq.mode, SC_NUM_ABS);
	ASSERT_EQ(e->pkt.seq.value, 100);
	ASSERT_EQ(e->pkt.ack.mode, SC_NUM_ABS);
	ASSERT_EQ(e->pkt.ack.value, 5);
	ASSERT_EQ(e->pkt.opt_len, 4);
	ASSERT_MEM_EQ(e->pkt.opt_raw, "\xfe\x04\x01\x02", 4);
	ASSERT(e->pkt.payload != NULL);
	ASSERT_MEM_EQ(e->pkt.payload, "\xde\xad\xbe\xef", 4);

	e = &s.ev[23];
	ASSERT_EQ(e->call.kind, SC_CALL_CONNECT);
	ASSERT_EQ(e->call.has_addr, 1);
	ASSERT_EQ(e->call.addr.port, 80);
	ASSERT_EQ(e->call.addr.addr.family, SF_AF_INET);
	ASSERT_MEM_EQ(e->call.addr.addr.bytes, "\xc0\x00\x02\x07", 4);
	ASSERT_EQ(e->call.ret.err, EINPROGRESS);

	ASSERT_EQ(s.ev[24].call.ret.check, 0);
	sc_scenario_free(&s);
}

/* Sequence numbers wrap: "4294967295:9(10)" is consistent. */
/* A named remote port 40000 + k addresses connection k; {conn=k} wins. */
static void test_ports_imply_conn(void)
{
	sc_scenario s;

	parse_ok("0 < 40003 > 8080 S 0:0(0) win 1\n"
		 "0 > 8080 > 40004 S. 0:0(0) ack 1\n"
		 "0 < 50000 > 8080 S 0:0(0) win 1\n"
		 "0 < 40003 > 8080 S 0:0(0) win 1 {conn=9}\n", &s);
	ASSERT_EQ(s.ev[0].pkt.conn, 3);
	ASSERT_EQ(s.ev[1].pkt.conn, 4);
	ASSERT_EQ(s.ev[2].pkt.conn, 0);
	ASSERT_EQ(s.ev[3].pkt.conn, 9);
	sc_scenario_free(&s);
}

static void test_seq_wrap_and_limits(void)
{
	sc_scenario s;

	parse_ok("0 < . 4294967295:9(10) ack 4294967295 win 0\n", &s);
	ASSERT_EQ(s.ev[0].pkt.seq.value, 4294967295u);
	ASSERT_EQ(s.ev[0].pkt.len, 10);
	sc_scenario_free(&s);

	parse_ok("0 < . rcv-2147483648:rcv-2147483648(0) ack snd+2147483647 win 0\n", &s);
	ASSERT_EQ((int32_t)s.ev[0].pkt.seq.value, INT32_MIN);
	ASSERT_EQ((int32_t)s.ev[0].pkt.ack.value, INT32_MAX);
	sc_scenario_free(&s);
}

/* Time columns: integers, floats, ".1", relative, microsecond precision. */
static void test_times(void)
{
	sc_scenario s;

	parse_ok("1 close(3) = 0\n+.25 close(3) = 0\n2.000001 close(3) = 0\n"
		 "+0...0 read(3, ..., 1) = 1\n", &s);
	ASSERT_EQ(s.ev[0].time.us, 1000000);
	ASSERT_EQ(s.ev[1].time.kind, SC_TIME_REL);
	ASSERT_EQ(s.ev[1].time.us, 250000);
	ASSERT_EQ(s.ev[2].time.us, 2000001);
	ASSERT_EQ(s.ev[3].time.blocking, 1);
	ASSERT_EQ(s.ev[3].time.end_us, 0);
	sc_scenario_free(&s);
}

/* State names: RFC, ss, netstat and Linux TCP_* spellings. */
static void test_state_names(void)
{
	static const struct { const char *name; sf_state st; } names[] = {
		{ "ESTABLISHED", SF_ESTABLISHED }, { "ESTAB", SF_ESTABLISHED },
		{ "SYN-RECV", SF_SYN_RECEIVED },  { "SYN_RECV", SF_SYN_RECEIVED },
		{ "SYN-RECEIVED", SF_SYN_RECEIVED }, { "FIN_WAIT1", SF_FIN_WAIT_1 },
		{ "fin-wait-2", SF_FIN_WAIT_2 },  { "TCP_TIME_WAIT", SF_TIME_WAIT },
		{ "UNCONN", SF_CLOSED },          { "CLOSE", SF_CLOSED },
		{ "TCP_CLOSE", SF_CLOSED },       { "LAST_ACK", SF_LAST_ACK },
	};
	sf_state st;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ASSERT_EQ(sc_state_from_name(names[i].name, &st), 0);
		ASSERT_EQ(st, names[i].st);
	}
	ASSERT_EQ(sc_state_from_name("ESTABLISHEDX", &st), -1);
	ASSERT_EQ(sc_state_from_name("", &st), -1);
}

/*
 * Idioms of real packetdrill scripts (as in google/packetdrill's gtests):
 * commented-out init commands and options, tabs and trailing blanks, a
 * note glued to the errno, "+.001", a call split over lines, hex results
 * with a note that says "flags", errno names as getsockopt values.
 */
static void test_packetdrill_idioms(void)
{
	static const char text[] =
		"// Test for blocking read.\n"
		"//--tolerance_usecs=10000\n"
		"\n"
		"//`../common/defaults.sh`\n"
		"    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		"   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\t \n"
		"   +0 bind(3, ..., ...) = 0\n"
		"\t+0 listen(3, 1) = 0\n"
		"   +0...0.200 accept(3, ..., ...) = 4\n"
		"  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>\n"
		"   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>\n"
		"  +.1 < . 1:1(0) ack 1 win 257 \n"
		"  +.1 write(4, ..., 100) = -1 ECONNRESET(Connection reset by peer)\n"
		"+.001 > . 5842:5842(0) ack 2\n"
		"   +0 fcntl(4, F_GETFL) = 0x2 (flags O_RDWR)\n"
		"   +0 getsockopt(4, SOL_SOCKET, SO_ERROR,\n"
		"                 [ECONNREFUSED], [4]) = 0\n"
		"   +0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n";
	sc_scenario s;

	parse_ok(text, &s);
	ASSERT_EQ(s.count, 13);
	ASSERT_EQ(s.opt_count, 0);
	ASSERT_EQ(s.ev[4].time.blocking, 1);
	ASSERT_EQ(s.ev[4].time.end_us, 200000);
	ASSERT_EQ(s.ev[8].call.ret.err, ECONNRESET);
	ASSERT_EQ(s.ev[9].time.us, 1000);
	ASSERT_EQ(s.ev[9].pkt.seq.value, 5842);
	ASSERT_EQ(s.ev[10].call.ret.value, 2);
	ASSERT_EQ(s.ev[11].pos.line, 16);
	ASSERT_EQ(s.ev[11].call.optval, ECONNREFUSED);
	ASSERT_EQ(s.ev[12].call.level, SC_SOL_TCP);
	ASSERT_EQ(s.ev[12].call.opt, SF_TCP_NODELAY);
	sc_scenario_free(&s);
}

/* ---- Malformed and unsupported inputs: exact messages and positions. ---- */

static const struct bad_case {
	const char *text;
	uint32_t line, col;
	const char *msg;
} bad_cases[] = {
	{ "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 sendto(3, ..., 10, 0, ..., ...) = 10\n",
	  2, 4, "unsupported: system call 'sendto' (supported: socket, bind, listen, accept, connect, write, send, read, recv, shutdown, close, setsockopt, getsockopt, fcntl, poll; and abort)" },
	{ "0 < S 0:0(0) win 1000 <mss 1460,md6 1>\n",
	  1, 33, "unsupported: TCP option 'md6'" },
	{ "0 < S 0:0(0) <mss 1460>\n",
	  1, 3, "window must be specified for inbound packets (add 'win N')" },
	{ "0 < S 0:0(0) win 1000 <...>\n",
	  1, 23, "<...> for TCP options can only be used with outbound packets" },
	{ "* < S 0:0(0) win 1000\n",
	  1, 1, "event time <star> can only be used with outbound packets" },
	{ "0.1~0.2 < S 0:0(0) win 1000\n",
	  1, 1, "event time range can only be used with outbound packets" },
	{ "0 < S 0:10(0) win 1000\n",
	  1, 9, "inconsistent TCP sequence numbers and payload size" },
	{ "0 < S 0:0(0) win 70000\n",
	  1, 18, "TCP window value out of range (0..65535)" },
	{ "0 < Q 0:0(0) win 1000\n",
	  1, 5, "invalid TCP flag 'Q' (flags are F S R P . U E W A, or - for none)" },
	{ "0 < S1 0:0(0) win 1000\n",
	  1, 6, "unsupported: AccECN ACE flag value '1'" },
	{ "0 `sysctl -q net.ipv4.tcp_sack=0`\n",
	  1, 3, "unsupported: shell commands (`...`); synfin runs scripts in-process and does not run shell commands" },
	{ "0 %{ print tcpi_rto }%\n",
	  1, 3, "unsupported: inline Python (%{ ... }%); use the state(fd) = STATE extension to check a connection's state" },
	{ "0 < udp (1472)\n",
	  1, 5, "unsupported: 'udp' packets (only TCP segments on the script's own addresses)" },
	{ "--foo=1\n0 close(3) = 0\n",
	  1, 1, "unsupported: option '--foo' (supported: --tolerance_usecs, --ip_version, --local_ip, --remote_ip, --remote_isn, --isn, --sf_<engine setting>; see SCRIPTS.md)" },
	{ "0 close(3, 4) = 0\n",
	  1, 3, "close() takes 1 argument, got 2" },
	{ "0 connect(3, ..., ...) = -1\n",
	  1, 26, "a result of -1 needs an errno name (e.g. '= -1 EAGAIN')" },
	{ "0 connect(3, ..., ...) = -1 EFOO\n",
	  1, 29, "unknown errno name 'EFOO'" },
	{ "0 close(3)\n",
	  2, 1, "expected '=' and the expected result after the call, got 'end of file'" },
	{ "0 setsockopt(3, SOL_TCP, SO_REUSEADDR, [1], 4) = 0\n",
	  1, 17, "SO_REUSEADDR is a SOL_SOCKET option" },
	{ "0 setsockopt(3, SOL_SOCKET, SO_RCVLOWAT, [1], 4) = 0\n",
	  1, 29, "unsupported: socket option 'SO_RCVLOWAT'" },
	{ "0 < S 0:0(0) win 1000 <mss 1460,nop>\n",
	  1, 23, "TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 1 excess bytes" },
	{ "0 < S 0:0(0) win 1000\n /* unterminated",
	  2, 2, "unterminated /* comment" },
	{ "0 write(4, \"abc\", 4) = 4\n",
	  1, 19, "the string has 3 bytes but the count says 4" },
	{ "0.1234567 close(3) = 0\n",
	  1, 1, "time has more than 6 decimal places (microseconds)" },
	{ "0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n",
	  1, 15, "unsupported: symbol 'SOCK_DGRAM' as socket type" },
	{ "0 < . 1:1(0) ack snd+0 win 10\n0 > . rcv+0:rcv+0(0) ack 1\n",
	  2, 7, "'rcv' offsets are for inbound packets only" },
	{ "0 < . snd+1:snd+1(0) win 10\n",
	  1, 7, "an inbound seq is relative to 'rcv' (RCV.NXT), not 'snd'" },
	{ "0.2~0.1 > S 0:0(0)\n",
	  1, 4, "time range is backwards" },
	{ "+0.1~0.2 > S 0:0(0)\n",
	  1, 6, "a time range is relative at both ends (+a~+b) or absolute at both (a~b)" },
	{ "0 > S 0:0(0) win 1 win 2\n",
	  1, 20, "duplicate 'win'" },
	{ "0 state(4) = BOGUS\n",
	  1, 14, "unknown TCP state 'BOGUS'" },
	{ "hello\n",
	  1, 1, "expected a time ('0', '+0.1', '*') at the start of an event, got 'hello'" },
	{ "0 fcntl(3, F_SETFD, FD_CLOEXEC) = 0\n",
	  1, 12, "unsupported: symbol 'F_SETFD' as fcntl command" },
	{ "0 shutdown(4, 3) = 0\n",
	  1, 15, "shutdown how out of range (0..2)" },
	{ "0 poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN}], 2, 0) = 1\n",
	  1, 8, "unsupported: poll() on anything but one [{fd=N, events=E, revents=R}]" },
	{ "0 < S 0:0(0) win 1000 <sack 1:2 3:4 5:6 7:8 9:10>\n",
	  1, 45, "more than 4 SACK blocks" },
	{ "0 < ipv4 1.2.3.4 > 5.6.7.8: S 0:0(0) win 1000\n",
	  1, 5, "unsupported: 'ipv4' packets (only TCP segments on the script's own addresses)" },
	{ "0 > [flowlabel 0x1] S 0:0(0)\n",
	  1, 6, "unsupported: IPv6 flow label" },
	{ "0 close(3) = 0\n--tolerance_usecs=5\n",
	  2, 1, "options (--name=value) go before the first event" },
	{ "0 listen(3, 1) = 0 EAGAIN\n",
	  1, 20, "an errno goes with a result of -1" },
	{ "0 < S 0:0(0) win 1000 {bad_ip_csum, foo=1}\n",
	  1, 37, "unsupported: packet extension 'foo'" },
	{ "0 > S 0:0(0) {bad_tcp_csum}\n",
	  1, 15, "'bad_tcp_csum' is for inbound packets only" },
	{ "\"unterminated\n",
	  1, 1, "unterminated string" },
	{ "0 close(3) = 0\n+999999999 wait\n+1.5 wait\n",
	  3, 1, "the script's time goes past 1000000000 s" },
};

static void test_bad_inputs(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char want[600];
		sc_scenario s;
		sc_error err;
		int rc = sc_script_parse(c->text, strlen(c->text), "bad.pkt", &s, &err);

		if (rc == 0)
			fprintf(stderr, "case %zu parsed but should not: %s\n", i, c->text);
		ASSERT(rc < 0);
		ASSERT_EQ(s.count, 0);
		ASSERT(s.ev == NULL);
		snprintf(want, sizeof(want), "bad.pkt:%u:%u: %s", c->line, c->col, c->msg);
		if (strcmp(err.msg, want) != 0)
			fprintf(stderr, "case %zu:\n  want %s\n  got  %s\n", i, want, err.msg);
		ASSERT_STR_EQ(err.msg, want);
		ASSERT_EQ(err.pos.line, c->line);
		ASSERT_EQ(err.pos.col, c->col);
		ASSERT_STR_EQ(err.msg + err.prefix_len, c->msg);
	}
}

/* A file that does not exist: an error naming it, not a crash. */
static void test_missing_file(void)
{
	sc_scenario s;
	sc_error err;

	ASSERT_EQ(sc_script_parse_file("/nonexistent/x.pkt", &s, &err), -ENOENT);
	ASSERT(strstr(err.msg, "/nonexistent/x.pkt: cannot open") != NULL);
}

/* ---- Robustness. ---- */

/* Parse text[0..len) and check the outcome is one of the two allowed. */
static void parse_any(const char *text, size_t len)
{
	sc_scenario s;
	sc_error err;
	int rc = sc_script_parse(text, len, "f.pkt", &s, &err);

	if (rc == 0) {
		sc_scenario_free(&s);
		return;
	}
	ASSERT(rc == -EINVAL || rc == -E2BIG);
	ASSERT(strncmp(err.msg, "f.pkt:", 6) == 0);
	ASSERT(err.pos.line >= 1);
	ASSERT(err.pos.col >= 1);
	ASSERT(err.prefix_len > 0 && err.prefix_len < strlen(err.msg));
}

/* Every prefix of a valid script, as a separate heap buffer of exactly that
 * length, so ASan catches any read past the end. */
static void test_prefixes(void)
{
	size_t n = strlen(full_script), i;

	for (i = 0; i <= n; i++) {
		char *buf = malloc(i ? i : 1);

		ASSERT(buf != NULL);
		memcpy(buf, full_script, i);
		parse_any(buf, i);
		free(buf);
	}
}

static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* Random mutations of the valid script (byte flips, insertions of
 * interesting characters) and plain random bytes; fixed seed. */
static void test_random(void)
{
	static const char alphabet[] = "0123456789.+*~<>-:()[]{}<>,=|\"`%/ \n\tSFRPUEWA";
	size_t n = strlen(full_script);
	uint32_t seed = 12345;
	int iter;

	for (iter = 0; iter < 3000; iter++) {
		size_t len = iter % 2 ? n : lcg(&seed) % 200;
		char *buf = malloc(len ? len : 1);
		size_t i, flips = 1 + lcg(&seed) % 8;

		ASSERT(buf != NULL);
		if (iter % 2) {
			memcpy(buf, full_script, len);
			for (i = 0; i < flips; i++)
				buf[lcg(&seed) % len] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
		} else {
			for (i = 0; i < len; i++)
				buf[i] = iter % 4 ? alphabet[lcg(&seed) % (sizeof(alphabet) - 1)]
						  : (char)lcg(&seed);
		}
		parse_any(buf, len);
		free(buf);
	}
}

int main(void)
{
	RUN_TEST(test_full_script);
	RUN_TEST(test_ports_imply_conn);
	RUN_TEST(test_seq_wrap_and_limits);
	RUN_TEST(test_times);
	RUN_TEST(test_state_names);
	RUN_TEST(test_packetdrill_idioms);
	RUN_TEST(test_bad_inputs);
	RUN_TEST(test_missing_file);
	RUN_TEST(test_prefixes);
	RUN_TEST(test_random);
	return 0;
}
