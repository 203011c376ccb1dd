/*
 * The printer (tools/scenario/print.c) and the round trip
 * script -> events -> script -> events:
 *  - the printed form of every seed script (every .pkt in corpora/scripts) and of a
 *    script using every construct parses back into the same events, and
 *    printing those gives the same text again (a fixed point);
 *  - events made by code, which no script wrote (state-relative and absolute
 *    numbers, IP faults, malformed options, payload bytes, timer waits),
 *    survive the round trip too, so any fuzz input decompiles to a script;
 *  - the single-line formatters follow the snprintf convention.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scenario.h"

/* ---- Event equality, field by field (positions aside). ---- */

static int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (!a || !b)
		return a == b;
	return memcmp(a, b, n) == 0;
}

static int time_eq(const sc_time *a, const sc_time *b)
{
	return a->kind == b->kind && a->range == b->range && a->blocking == b->blocking &&
	       a->us == b->us &&
	       ((!a->range && !a->blocking) || a->end_us == b->end_us);
}

static int num_eq(sc_num a, sc_num b)
{
	return a.mode == b.mode && a.value == b.value;
}

static int packet_eq(const sc_packet *a, const sc_packet *b)
{
	return a->flags == b->flags && num_eq(a->seq, b->seq) && a->len == b->len &&
	       a->has_ack == b->has_ack && (!a->has_ack || num_eq(a->ack, b->ack)) &&
	       a->has_win == b->has_win && (!a->has_win || a->win == b->win) &&
	       a->has_urg == b->has_urg && (!a->has_urg || a->urg == b->urg) &&
	       a->opts_mode == b->opts_mode && a->opt_len == b->opt_len &&
	       memcmp(a->opt_raw, b->opt_raw, a->opt_len) == 0 && a->sport == b->sport &&
	       a->dport == b->dport && a->conn == b->conn && a->tos_check == b->tos_check &&
	       (a->tos_check == SC_TOS_NONE || a->tos_check == SC_TOS_ECT01 ||
		a->tos == b->tos) &&
	       a->has_ttl == b->has_ttl && (!a->has_ttl || a->ttl == b->ttl) &&
	       a->reserved == b->reserved &&
	       a->faults.bad_tcp_checksum == b->faults.bad_tcp_checksum &&
	       a->faults.bad_ip_checksum == b->faults.bad_ip_checksum &&
	       a->faults.ip_len_delta == b->faults.ip_len_delta &&
	       a->faults.data_off_delta == b->faults.data_off_delta &&
	       bytes_eq(a->payload, b->payload, a->len);
}

static int call_eq(const sc_call *a, const sc_call *b)
{
	int sockopt = a->kind == SC_CALL_SETSOCKOPT || a->kind == SC_CALL_GETSOCKOPT;

	return a->kind == b->kind && a->fd == b->fd && a->family == b->family &&
	       a->has_addr == b->has_addr &&
	       (!a->has_addr || (a->addr.port == b->addr.port &&
				 a->addr.addr.family == b->addr.addr.family &&
				 memcmp(a->addr.addr.bytes, b->addr.addr.bytes, 16) == 0)) &&
	       a->backlog == b->backlog && a->how == b->how && a->len == b->len &&
	       bytes_eq(a->data, b->data, a->len) && a->msg_flags == b->msg_flags &&
	       a->level == b->level && (!sockopt || a->opt == b->opt) &&
	       a->optval == b->optval && a->optval_any == b->optval_any &&
	       a->fcntl_cmd == b->fcntl_cmd && a->fcntl_flags == b->fcntl_flags &&
	       a->poll_events == b->poll_events && a->poll_revents == b->poll_revents &&
	       a->poll_timeout_ms == b->poll_timeout_ms && a->ret.check == b->ret.check &&
	       (!a->ret.check || (a->ret.value == b->ret.value && a->ret.err == b->ret.err));
}

static int event_eq(const sc_event *a, const sc_event *b)
{
	if (a->kind != b->kind || !time_eq(&a->time, &b->time))
		return 0;
	switch (a->kind) {
	case SC_EV_INBOUND:
	case SC_EV_OUTBOUND:
		return packet_eq(&a->pkt, &b->pkt);
	case SC_EV_CALL:
		return call_eq(&a->call, &b->call);
	case SC_EV_STATE:
		return a->state.fd == b->state.fd && a->state.conn == b->state.conn &&
		       a->state.state == b->state.state;
	default:
		return 1;
	}
}

static void assert_same_scenario(const sc_scenario *a, const sc_scenario *b)
{
	size_t i;

	ASSERT_EQ(a->count, b->count);
	ASSERT_EQ(a->opt_count, b->opt_count);
	for (i = 0; i < a->opt_count; i++) {
		ASSERT_STR_EQ(a->opts[i].name, b->opts[i].name);
		ASSERT_STR_EQ(a->opts[i].value, b->opts[i].value);
	}
	for (i = 0; i < a->count; i++) {
		if (!event_eq(&a->ev[i], &b->ev[i])) {
			char l1[2048], l2[2048];

			sc_event_format(&a->ev[i], l1, sizeof(l1));
			sc_event_format(&b->ev[i], l2, sizeof(l2));
			fprintf(stderr, "event %zu differs:\n  %s\n  %s\n", i, l1, l2);
		}
		ASSERT(event_eq(&a->ev[i], &b->ev[i]));
	}
}

/* Print a, parse it back, compare, and check the printed form is a fixed point. */
static void round_trip(const sc_scenario *a)
{
	char *text = sc_script_format(a), *again;
	sc_scenario b;
	sc_error err;
	int rc;

	ASSERT(text != NULL);
	rc = sc_script_parse(text, strlen(text), "printed.pkt", &b, &err);
	if (rc != 0)
		fprintf(stderr, "printed script does not parse: %s\n%s", err.msg, text);
	ASSERT_EQ(rc, 0);
	assert_same_scenario(a, &b);
	again = sc_script_format(&b);
	ASSERT(again != NULL);
	ASSERT_STR_EQ(again, text);
	free(text);
	free(again);
	sc_scenario_free(&b);
}

/* ---- The seed scripts. ---- */

static void test_seed_scripts_round_trip(void)
{
	const char *src = getenv("SYNFIN_SOURCE_DIR");
	char dir[1024], path[2048];
	struct dirent *de;
	int n = 0, seed;
	bool seen[16] = { false };
	DIR *d;

	if (!src)
		CHECK_FAIL_("SYNFIN_SOURCE_DIR is not set (run this test through ctest)");
	snprintf(dir, sizeof(dir), "%s/corpora/scripts", src);
	d = opendir(dir);
	if (!d)
		CHECK_FAIL_("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		sc_scenario s;
		sc_error err;

		if (len < 5 || strcmp(de->d_name + len - 4, ".pkt") != 0)
			continue;
		if (sscanf(de->d_name, "seed%2d_", &seed) == 1 && seed >= 1 && seed <= 15)
			seen[seed] = true;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (sc_script_parse_file(path, &s, &err) != 0)
			CHECK_FAIL_("%s", err.msg);
		round_trip(&s);
		sc_scenario_free(&s);
		n++;
	}
	closedir(d);
	printf("  %d scripts round-tripped\n", n);
	/* Every seed item of DESIGN.md has at least one script. */
	for (seed = 1; seed <= 15; seed++) {
		if (!seen[seed])
			CHECK_FAIL_("no corpora/scripts/seed%02d_*.pkt", seed);
	}
}

static const char every_construct[] =
	"--tolerance_usecs=10000\n"
	"--ip_version=ipv4\n"
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 4\n"
	"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=0, linger=5}, 8) = 0\n"
	"+0 getsockopt(3, SOL_TCP, TCP_KEEPIDLE, [...], [4]) = 0\n"
	"+0 bind(3, {sa_family=AF_INET6, sin_port=htons(81), sin_addr=inet6_addr(\"2001:db8::5\")}, 28) = 0\n"
	"+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7,eol,eol,eol,eol>\n"
	"+0 > S. 0:0(0) ack 1 <mss 1460,FO 0102030405060708,nop,nop>\n"
	"+0 > S. 0:0(0) ack 1 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>\n"
	"+0 > S. 0:0(0) ack 1 <FOEXP aabbccdd>\n"
	"0.5~0.6 > P. 1:1001(1000) ack 1 <...>\n"
	"+.1~+.2 > - 1:1(0)\n"
	"* > [ect01] F. 1:1(0) ack 1\n"
	"* > [ce] F. 1:1(0) ack 1\n"
	"+0 < [noecn] A 1:1(0) win 3\n"
	"+.1...0.2 recv(4, ..., 1000, 0) = -1 EAGAIN (Resource temporarily unavailable)\n"
	"+0 write(4, \"q\\\"\\\\\\t\\r\\x7f\", 6) = 6\n"
	"+0 read(4, \"xy\", 2) = 2\n"
	"+0 fcntl(3, F_GETFL) = 0x802\n"
	"+0 fcntl(3, F_SETFL, O_RDONLY) = 0\n"
	"+0 shutdown(4, SHUT_RDWR) = 0\n"
	"+0 abort(4) = 0\n"
	"+0 poll([{fd=3, events=POLLIN|POLLRDHUP|0x4000, revents=0}], 1, -1) = 0\n"
	"* wait\n"
	"* wait(+1.5)\n"
	"+60 conn_state(7) = CLOSED\n";

static void test_every_construct_round_trip(void)
{
	sc_scenario s;
	sc_error err;

	if (sc_script_parse(every_construct, strlen(every_construct), "e.pkt", &s, &err) != 0)
		CHECK_FAIL_("%s", err.msg);
	round_trip(&s);
	sc_scenario_free(&s);
}

/* ---- Events that no script wrote. ---- */

static sc_event inbound(void)
{
	sc_event e;

	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_INBOUND;
	e.time.kind = SC_TIME_REL;
	e.pkt.flags = SF_ACK;
	e.pkt.has_win = true;
	e.pkt.win = 1000;
	return e;
}

static void test_code_made_events_round_trip(void)
{
	static const uint8_t bad_opts[] = { 2, 4, 5, 0xb4, 8, 1 }; /* TS with length 1 */
	static const uint8_t unknown_opt[] = { 30, 4, 0xaa, 0xbb, 1, 1, 1, 0 };
	uint8_t payload[300];
	sc_scenario s;
	sc_event e;
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	ASSERT_EQ(sc_scenario_init(&s, "code"), 0);

	e = inbound();
	e.pkt.seq.mode = SC_NUM_STATE;
	e.pkt.seq.value = (uint32_t)-70000;
	e.pkt.has_ack = true;
	e.pkt.ack.mode = SC_NUM_STATE;
	e.pkt.ack.value = 12;
	e.pkt.len = sizeof(payload);
	e.pkt.payload = payload;
	e.pkt.faults.bad_ip_checksum = true;
	e.pkt.faults.data_off_delta = -3;
	e.pkt.conn = 200;
	ASSERT(sc_scenario_append(&s, &e) != NULL);

	e = inbound();
	e.pkt.seq.mode = SC_NUM_ABS;
	e.pkt.seq.value = 4294967295u;
	e.pkt.flags = SF_SYN | SF_FIN | SF_RST | SF_PSH | SF_URG | SF_ECE | SF_CWR;
	e.pkt.opts_mode = SC_OPTS_LIST;
	e.pkt.opt_len = sizeof(bad_opts);
	memcpy(e.pkt.opt_raw, bad_opts, sizeof(bad_opts));
	e.pkt.reserved = 15;
	e.pkt.has_urg = true;
	e.pkt.urg = 65535;
	ASSERT(sc_scenario_append(&s, &e) != NULL);

	e = inbound();
	e.pkt.opts_mode = SC_OPTS_LIST;
	e.pkt.opt_len = sizeof(unknown_opt);
	memcpy(e.pkt.opt_raw, unknown_opt, sizeof(unknown_opt));
	e.pkt.faults.ip_len_delta = -32768;
	e.pkt.tos_check = SC_TOS_FULL;
	e.pkt.tos = 0xff;
	ASSERT(sc_scenario_append(&s, &e) != NULL);

	/* Named ports with the connection they imply, and with another one. */
	e = inbound();
	e.pkt.sport = 40003;
	e.pkt.dport = 8080;
	e.pkt.conn = 3;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	e.pkt.conn = 7;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	e.kind = SC_EV_OUTBOUND;
	e.pkt.sport = 8080;
	e.pkt.dport = 40001;
	e.pkt.conn = 0;
	ASSERT(sc_scenario_append(&s, &e) != NULL);

	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_WAIT;
	e.time.kind = SC_TIME_ANY;
	e.time.us = -123456;
	ASSERT(sc_scenario_append(&s, &e) != NULL);
	e.time.kind = SC_TIME_REL;
	e.time.us = 7200000001;
	ASSERT(sc_scenario_append(&s, &e) != NULL);

	memset(&e, 0, sizeof(e));
	e.kind = SC_EV_CALL;
	e.time.kind = SC_TIME_REL;
	e.call.kind = SC_CALL_SEND;
	e.call.fd = 9;
	e.call.len = 4;
	e.call.data = (uint8_t *)"\0\1\2\3";
	ASSERT(sc_scenario_append(&s, &e) != NULL); /* ret.check false: "= ..." */

	round_trip(&s);
	sc_scenario_free(&s);
}

/* ---- Single-line formatters. ---- */

static void test_line_formatters(void)
{
	static const uint8_t opts[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7 };
	char small[8], big[256];
	sc_event e = inbound();
	size_t n;

	e.pkt.flags = SF_SYN;
	e.pkt.opts_mode = SC_OPTS_LIST;
	e.pkt.opt_len = sizeof(opts);
	memcpy(e.pkt.opt_raw, opts, sizeof(opts));
	n = sc_event_format(&e, big, sizeof(big));
	ASSERT_STR_EQ(big, "+0 < S 0:0(0) win 1000 <mss 1460,nop,wscale 7>");
	ASSERT_EQ(n, strlen(big));
	/* Too small: truncated, NUL-terminated, and the needed length returned. */
	ASSERT_EQ(sc_event_format(&e, small, sizeof(small)), n);
	ASSERT_STR_EQ(small, "+0 < S ");
	ASSERT_EQ(sc_packet_format(&e.pkt, big, sizeof(big)), strlen(big));
	ASSERT_STR_EQ(big, "S 0:0(0) win 1000 <mss 1460,nop,wscale 7>");
	ASSERT_EQ(sc_options_format(opts, sizeof(opts), big, sizeof(big)), strlen(big));
	ASSERT_STR_EQ(big, "mss 1460,nop,wscale 7");
	ASSERT_EQ(sc_options_format(opts, 3, big, sizeof(big)), strlen(big));
	ASSERT_STR_EQ(big, "raw \"020405\"");
	ASSERT_EQ(sc_event_format(&e, big, 0), n);
}

int main(void)
{
	RUN_TEST(test_seed_scripts_round_trip);
	RUN_TEST(test_every_construct_round_trip);
	RUN_TEST(test_code_made_events_round_trip);
	RUN_TEST(test_line_formatters);
	return 0;
}
