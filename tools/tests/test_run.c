/*
 * The in-process runner (tools/scenario/run.c) with packetdrill's semantics.
 *
 * Each test parses a small script and plays it on the engine: passing runs
 * (handshake, data, close, a 60 s TIME-WAIT on the virtual clock, blocking
 * calls), and one failing run per kind of mismatch, checking that the
 * message names the script position, what was expected and what came.
 * Also: traces show RFC and ss state names; --pcap output reads back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pcap_io.h"
#include "run.h"
#include "scenario.h"

/* Parse text as "t.pkt" (failing the test on a parse error) and run it. */
static int run_text(const char *text, sc_run_opts *opts, sc_run_result *res)
{
	sc_scenario scn;
	sc_error err;
	int st;

	memset(&err, 0, sizeof(err));
	if (sc_script_parse(text, strlen(text), "t.pkt", &scn, &err) != 0)
		CHECK_FAIL_("test script does not parse: %s", err.msg);
	st = sc_run(&scn, opts, res);
	sc_scenario_free(&scn);
	return st;
}

static void expect_pass(const char *text)
{
	sc_run_result res;

	if (run_text(text, NULL, &res) != SC_RUN_PASS)
		CHECK_FAIL_("expected a pass, got status %d: %s", res.status, res.msg);
}

/* The run must fail with every needle in its message. */
static void expect_fail(const char *text, const char *const *needles)
{
	sc_run_result res;

	ASSERT_EQ(run_text(text, NULL, &res), SC_RUN_FAIL);
	for (; *needles; needles++)
		if (!strstr(res.msg, *needles))
			CHECK_FAIL_("message lacks \"%s\":\n%s", *needles, res.msg);
	printf("  --- %s\n", res.msg);
}

#define LISTEN_SETUP                                               \
	"0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"              \
	"+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"   \
	"+0  bind(3, ..., ...) = 0\n"                                 \
	"+0  listen(3, 1) = 0\n"

#define HANDSHAKE                                                  \
	LISTEN_SETUP                                                   \
	"+0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n" \
	"+0  > S. 0:0(0) ack 1 <...>\n"                              \
	"+.1 < . 1:1(0) ack 1 win 32792\n"                            \
	"+0  accept(3, ..., ...) = 4\n"

/* RFC 9293 §3.5 (seed 1, 4): open, data, active close, TIME-WAIT for 60 s
 * of virtual time in far less than a second of real time. */
static void test_pass_full_life(void)
{
	const char *s = HANDSHAKE
		"+0  write(4, ..., 1000) = 1000\n"
		"+0  > P. 1:1001(1000) ack 1 <...>\n"
		"+.1 < . 1:1(0) ack 1001 win 32792\n"
		"+0  close(4) = 0\n"
		"+0  > F. 1001:1001(0) ack 1 <...>\n"
		"+.1 < F. 1:1(0) ack 1002 win 32792\n"
		"+0  > . 1002:1002(0) ack 2 <...>\n"
		"+0  conn_state(0) = TIME-WAIT\n"
		"+59.9 conn_state(0) = TIME-WAIT\n"
		"+0.2 conn_state(0) = CLOSED\n";
	sc_run_result res;
	clock_t c0 = clock();

	ASSERT_EQ(run_text(s, NULL, &res), SC_RUN_PASS);
	ASSERT(res.end_us >= 60000000u);
	ASSERT_EQ(res.segs_in, 4);
	ASSERT_EQ(res.segs_out, 4);
	/* Virtual time: 60 s of TIME-WAIT in well under a second. */
	ASSERT((double)(clock() - c0) / CLOCKS_PER_SEC < 1.0);
}

/* Blocking calls return when the engine lets them (packetdrill runs them in
 * a thread; we retry after every event). */
static void test_pass_blocking_calls(void)
{
	expect_pass("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		    "+0 connect(3, ..., ...) = 0\n"
		    "+0 > S 0:0(0) <...>\n"
		    "+.01 < S. 123:123(0) ack 1 win 5792 <mss 1460>\n"
		    "+0 > . 1:1(0) ack 124\n"
		    "+0 read(3, ..., 100) = 10\n"
		    "+.2 < P. 124:134(10) ack 1 win 5792\n"
		    "+0 > . 1:1(0) ack 134\n"
		    "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n"
		    "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
		    "+0 read(3, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n");
	/* accept() blocks until the handshake completes. */
	expect_pass(LISTEN_SETUP
		    "+0 accept(3, ..., ...) = 4\n"
		    "+1 < S 0:0(0) win 32792 <mss 1000>\n"
		    "+0 > S. 0:0(0) ack 1 <...>\n"
		    "+.1 < . 1:1(0) ack 1 win 32792\n"
		    "+0 state(4) = ESTABLISHED\n");
}

/* Options are compared exactly when listed, must be absent without "<...>". */
static void test_options(void)
{
	static const char *const opt_needles[] = {"t.pkt:6:", "bad outbound TCP options",
						  "script packet", "actual packet", NULL};
	sc_run_result res;
	char buf[1024];

	/* Learn what the engine's SYN-ACK carries, then require exactly that. */
	ASSERT_EQ(run_text(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
					"+0 > S. 0:0(0) ack 1 <mss 1>\n", NULL, &res), SC_RUN_FAIL);
	ASSERT(strstr(res.msg, "bad outbound TCP options") != NULL);
	expect_fail(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <mss 1,nop,nop,sackOK>\n", opt_needles);
	/* With no "<...>" the segment must carry no options; a SYN-ACK does. */
	snprintf(buf, sizeof(buf), "%s", LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
						      "+0 > S. 0:0(0) ack 1\n");
	ASSERT_EQ(run_text(buf, NULL, &res), SC_RUN_FAIL);
	ASSERT(strstr(res.msg, "the script lists none") != NULL);
}

static void test_fail_flags(void)
{
	static const char *const n[] = {"t.pkt:6:1", "bad outbound TCP flags",
					"script packet", "> S 0:0(0)", "actual packet", "S. 0:0(0) ack 1", NULL};

	expect_fail(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S 0:0(0) <...>\n", n);
}

static void test_fail_seq_ack_len(void)
{
	static const char *const seq[] = {"t.pkt:10:", "bad outbound TCP sequence number", NULL};
	static const char *const ack[] = {"t.pkt:10:", "bad outbound TCP ack number", NULL};
	static const char *const len[] = {"t.pkt:10:", "payload length", NULL};
	static const char *const win[] = {"t.pkt:10:", "bad outbound TCP window", NULL};

	expect_fail(HANDSHAKE "+0 write(4, ..., 100) = 100\n+0 > P. 2:102(100) ack 1 <...>\n", seq);
	expect_fail(HANDSHAKE "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 2 <...>\n", ack);
	expect_fail(HANDSHAKE "+0 write(4, ..., 100) = 100\n+0 > P. 1:51(50) ack 1 <...>\n", len);
	expect_fail(HANDSHAKE "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1 win 7 <...>\n",
		    win);
}

static void test_fail_call_result(void)
{
	static const char *const n[] = {"t.pkt:4:1", "listen() returned 0",
					"expects -1 EINVAL", NULL};
	static const char *const e[] = {"t.pkt:5:", "bind() returned -1 EINVAL", NULL};

	expect_fail("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		    "+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"
		    "+0 bind(3, ..., ...) = 0\n"
		    "+0 listen(3, 1) = -1 EINVAL (Invalid argument)\n", n);
	/* A second bind of the same socket fails in the engine; the script says 0. */
	expect_fail(LISTEN_SETUP "+0 bind(3, ..., ...) = 0\n", e);
}

static void test_fail_timing(void)
{
	static const char *const early[] = {"t.pkt:6:", "timing error", "1.000000", NULL};
	static const char *const none[] = {"t.pkt:10:", "did not come", NULL};

	/* The SYN-ACK comes at once, the script wants it a second later. */
	expect_fail(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+1 > S. 0:0(0) ack 1 <...>\n", early);
	/* Nothing is sent; the script waits for data. */
	expect_fail(HANDSHAKE "+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)\n"
			      "+0 > P. 1:11(10) ack 1 <...>\n", none);
}

/* A retransmitted SYN-ACK comes 1 s later (RFC 6298 initial RTO): the
 * runner fires the timer on the virtual clock and checks its time. */
static void test_timer_fires_on_time(void)
{
	expect_pass(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n"
				 "+1 > S. 0:0(0) ack 1 <...>\n");
	expect_pass(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n"
				 "+0.9~+1.1 > S. 0:0(0) ack 1 <...>\n");
}

/* "*" takes the next packet whenever it comes; "a~b" bounds it; "a...b"
 * says when a blocking call returns. */
static void test_time_forms(void)
{
	static const char *const range[] = {"t.pkt:7:", "did not come", NULL};
	static const char *const blk[] = {"t.pkt:9:", "timing error: the blocking read() returned at 0.200000",
					  "expected at 0.600000", NULL};

	expect_pass(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n"
				 "* > S. 0:0(0) ack 1 <...>\n"
				 "+0 < . 1:1(0) ack 1 win 32792\n"
				 "+0 accept(3, ..., ...) = 4\n");
	expect_fail(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n"
				 "+0.5~+0.8 > S. 0:0(0) ack 1 <...>\n", range);
	expect_pass(HANDSHAKE "+0...0.1 read(4, ..., 10) = 10\n"
			      "+0.1 < P. 1:11(10) ack 1 win 32792\n"
			      "+0 > . 1:1(0) ack 11 <...>\n");
	expect_fail(HANDSHAKE "+0...0.5 read(4, ..., 10) = 10\n"
			      "+0.1 < P. 1:11(10) ack 1 win 32792\n", blk);
}

static void test_fail_state_and_blocking(void)
{
	static const char *const st[] = {"t.pkt:9:", "state is ESTABLISHED", "(ss: ESTAB)",
					 "expects CLOSE-WAIT", NULL};
	static const char *const blk[] = {"t.pkt:9:", "read() never returned", NULL};

	expect_fail(HANDSHAKE "+0 state(4) = CLOSE-WAIT\n", st);
	expect_fail(HANDSHAKE "+0 read(4, ..., 10) = 10\n", blk);
}

/* A segment with a bad checksum is dropped: no SYN-ACK comes. */
static void test_inbound_faults(void)
{
	static const char *const n[] = {"did not come", NULL};

	expect_fail(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000> {bad_tcp_csum}\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n", n);
	expect_pass(LISTEN_SETUP "+0 < S 0:0(0) win 32792 <mss 1000> {bad_tcp_csum}\n"
				 "+0 < S 0:0(0) win 32792 <mss 1000>\n"
				 "+0 > S. 0:0(0) ack 1 <...>\n");
}

/* Scratch files go to SYNFIN_TEST_TMP (ctest sets it to a folder in the
 * build tree); run by hand, to a private folder under /tmp that is removed
 * with its files at exit. */
static char own_tmp[64];

static void remove_own_tmp(void)
{
	static const char *const names[] = {"trace.txt", "run.pcap", "sack.pcap"};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", own_tmp, names[i]);
		remove(path);
	}
	rmdir(own_tmp);
}

static const char *tmp_file(const char *name)
{
	static char buf[600];
	const char *t = getenv("SYNFIN_TEST_TMP");
	const char *dir = t;

	if (t && *t) {
		mkdir(dir, 0755);
	} else {
		if (!own_tmp[0]) {
			snprintf(own_tmp, sizeof(own_tmp), "/tmp/synfin_test_run.XXXXXX");
			ASSERT(mkdtemp(own_tmp) != NULL);
			atexit(remove_own_tmp);
		}
		dir = own_tmp;
	}
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* --trace prints events and state changes with RFC and ss names. */
static void test_trace_and_pcap(void)
{
	const char *tpath = tmp_file("trace.txt");
	char pcap_path[600], text[65536];
	sc_run_opts opts;
	sc_run_result res;
	sc_capture cap;
	char err[256];
	FILE *f = fopen(tpath, "w+");
	size_t n;

	ASSERT(f != NULL);
	snprintf(pcap_path, sizeof(pcap_path), "%s", tmp_file("run.pcap"));
	memset(&opts, 0, sizeof(opts));
	opts.trace = f;
	opts.pcap_path = pcap_path;
	ASSERT_EQ(run_text(HANDSHAKE "+0 close(4) = 0\n+0 > F. 1:1(0) ack 1 <...>\n", &opts, &res),
		  SC_RUN_PASS);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	ASSERT(strstr(text, "LISTEN -> SYN-RECEIVED") != NULL);
	ASSERT(strstr(text, "[ss: LISTEN -> SYN-RECV]") != NULL);
	ASSERT(strstr(text, "SYN-RECEIVED -> ESTABLISHED") != NULL);
	ASSERT(strstr(text, "ESTABLISHED -> FIN-WAIT-1") != NULL);
	ASSERT(strstr(text, "accept(3, ..., ...) = 4") != NULL);
	ASSERT(strstr(text, "192.0.2.1:40000 > 192.168.0.1:8080 S 0:0(0)") != NULL);
	/* Both directions land in the pcap, in order. */
	ASSERT_EQ(sc_capture_read(pcap_path, &cap, err, sizeof(err)), 0);
	ASSERT_EQ(cap.count, res.segs_in + res.segs_out);
	ASSERT_EQ(cap.pkts[0].seg.flags, SF_SYN);
	ASSERT_EQ(cap.pkts[1].seg.flags, SF_SYN | SF_ACK);
	ASSERT_EQ(cap.pkts[1].seg.ack, cap.pkts[0].seg.seq + 1);
	ASSERT_EQ(cap.pkts[2].time_us, 100000);
	sc_capture_free(&cap);
}

/* Inbound SACK blocks are relative to the engine's ISN like ack numbers
 * (packetdrill): on the wire they are ISS-based. */
static void test_sack_translation(void)
{
	char pcap_path[600];
	sc_run_opts opts;
	sc_run_result res;
	sc_capture cap;
	char err[256];
	uint32_t iss;

	snprintf(pcap_path, sizeof(pcap_path), "%s", tmp_file("sack.pcap"));
	memset(&opts, 0, sizeof(opts));
	opts.pcap_path = pcap_path;
	ASSERT_EQ(run_text(HANDSHAKE "+0 write(4, ..., 300) = 300\n"
				     "+0 > P. 1:301(300) ack 1 <...>\n"
				     "+0 < . 1:1(0) ack 101 win 32792 <nop,nop,sack 201:301>\n",
			   &opts, &res), SC_RUN_PASS);
	ASSERT_EQ(sc_capture_read(pcap_path, &cap, err, sizeof(err)), 0);
	iss = cap.pkts[1].seg.seq; /* the SYN-ACK */
	ASSERT_EQ(cap.pkts[cap.count - 1].seg.opts.sack_count, 1);
	ASSERT_EQ(cap.pkts[cap.count - 1].seg.opts.sack[0].left, iss + 201);
	ASSERT_EQ(cap.pkts[cap.count - 1].seg.opts.sack[0].right, iss + 301);
	ASSERT_EQ(cap.pkts[cap.count - 1].seg.ack, iss + 101);
	sc_capture_free(&cap);
}

/* Script options reach the engine: a shorter TIME-WAIT. */
static void test_engine_option(void)
{
	expect_pass("--sf_time_wait=1000000\n" HANDSHAKE
		    "+0 close(4) = 0\n"
		    "+0 > F. 1:1(0) ack 1 <...>\n"
		    "+0 < F. 1:1(0) ack 2 win 32792\n"
		    "+0 > . 2:2(0) ack 2 <...>\n"
		    "+0.9 conn_state(0) = TIME-WAIT\n"
		    "+0.2 conn_state(0) = CLOSED\n");
}

/* --sf_listen_active_open maps to cfg.listen_active_open: connect() on a
 * listener is EISCONN without it (Linux), LISTEN -> SYN-SENT with it
 * (RFC 9293 §3.10.1). */
static void test_engine_option_listen_active_open(void)
{
	static const char *const eisconn[] = { "EISCONN", NULL };

	expect_pass("--sf_listen_active_open=1\n" LISTEN_SETUP
		    "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
		    "+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n"
		    "+0 > S 0:0(0) <...>\n"
		    "+0 state(3) = SYN-SENT\n");
	expect_fail("--sf_listen_active_open=0\n" LISTEN_SETUP
		    "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
		    "+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n",
		    eisconn);
}

int main(void)
{
	RUN_TEST(test_pass_full_life);
	RUN_TEST(test_pass_blocking_calls);
	RUN_TEST(test_options);
	RUN_TEST(test_fail_flags);
	RUN_TEST(test_fail_seq_ack_len);
	RUN_TEST(test_fail_call_result);
	RUN_TEST(test_fail_timing);
	RUN_TEST(test_timer_fires_on_time);
	RUN_TEST(test_time_forms);
	RUN_TEST(test_fail_state_and_blocking);
	RUN_TEST(test_inbound_faults);
	RUN_TEST(test_trace_and_pcap);
	RUN_TEST(test_sack_translation);
	RUN_TEST(test_engine_option);
	RUN_TEST(test_engine_option_listen_active_open);
	return 0;
}
