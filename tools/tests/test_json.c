/*
 * Events -> JSON (tools/scenario/json.c), the Python conformance side's only
 * view of a script:
 *  - the output is valid JSON (checked by a strict validator below, for a
 *    script with every construct and for every seed script);
 *  - every event carries its kind, position and time, and the fields of its
 *    kind with the right values (spot checks by exact substring);
 *  - strings with quotes, backslashes and control characters are escaped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scenario.h"

/* ---- A strict JSON validator (RFC 8259 grammar, no extensions). ---- */

typedef struct jp {
	const char *s;
	int depth;
} jp;

static int j_value(jp *p);

static void j_ws(jp *p)
{
	while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
		p->s++;
}

static int j_string(jp *p)
{
	if (*p->s != '"')
		return 0;
	for (p->s++; *p->s != '"'; p->s++) {
		if ((unsigned char)*p->s < 0x20)
			return 0;
		if (*p->s == '\\') {
			p->s++;
			if (*p->s == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p->s[i]))
						return 0;
				p->s += 4;
			} else if (!strchr("\"\\/bfnrt", *p->s) || !*p->s) {
				return 0;
			}
		}
	}
	p->s++;
	return 1;
}

static int j_number(jp *p)
{
	const char *start = p->s;

	if (*p->s == '-')
		p->s++;
	if (*p->s == '0')
		p->s++;
	else if (isdigit((unsigned char)*p->s))
		while (isdigit((unsigned char)*p->s))
			p->s++;
	else
		return 0;
	if (*p->s == '.') {
		p->s++;
		if (!isdigit((unsigned char)*p->s))
			return 0;
		while (isdigit((unsigned char)*p->s))
			p->s++;
	}
	return p->s > start;
}

static int j_container(jp *p, char close)
{
	p->s++;
	if (++p->depth > 64)
		return 0;
	j_ws(p);
	if (*p->s == close) {
		p->s++;
		p->depth--;
		return 1;
	}
	for (;;) {
		j_ws(p);
		if (close == '}') {
			if (!j_string(p))
				return 0;
			j_ws(p);
			if (*p->s++ != ':')
				return 0;
		}
		if (!j_value(p))
			return 0;
		j_ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s++ != close)
			return 0;
		p->depth--;
		return 1;
	}
}

static int j_value(jp *p)
{
	j_ws(p);
	switch (*p->s) {
	case '{': return j_container(p, '}');
	case '[': return j_container(p, ']');
	case '"': return j_string(p);
	case 't': return strncmp(p->s, "true", 4) == 0 ? (p->s += 4, 1) : 0;
	case 'f': return strncmp(p->s, "false", 5) == 0 ? (p->s += 5, 1) : 0;
	case 'n': return strncmp(p->s, "null", 4) == 0 ? (p->s += 4, 1) : 0;
	default: return j_number(p);
	}
}

static int json_valid(const char *s)
{
	jp p = { s, 0 };

	if (!j_value(&p))
		return 0;
	j_ws(&p);
	return *p.s == '\0';
}

static void test_validator_rejects(void)
{
	ASSERT(json_valid("{\"a\": [1, -2.5, true, null, \"x\\u0041\"]}"));
	ASSERT(!json_valid("{\"a\": 1,}"));
	ASSERT(!json_valid("{\"a\" 1}"));
	ASSERT(!json_valid("[\"\x01\"]"));
	ASSERT(!json_valid("[01]"));
	ASSERT(!json_valid("[1] x"));
}

/* ---- The JSON of scenarios. ---- */

static char *json_of(const char *script, const char *file)
{
	sc_scenario s;
	sc_error err;
	char *j;

	if (sc_script_parse(script, strlen(script), file, &s, &err) != 0)
		CHECK_FAIL_("%s", err.msg);
	j = sc_json_format(&s);
	ASSERT(j != NULL);
	sc_scenario_free(&s);
	return j;
}

#define ASSERT_HAS(hay, needle)                                                    \
	do {                                                                       \
		if (!strstr((hay), (needle)))                                      \
			CHECK_FAIL_("JSON lacks %s\n%s", (needle), (hay));         \
	} while (0)

static void test_fields(void)
{
	char *j = json_of(
		"--tolerance_usecs=5000\n"
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		"+0.1 < S 0:0(0) win 1000 <mss 1460,nop,nop,sackOK,nop,nop,TS val 7 ecr 0,nop,wscale 7,nop,nop,sack 5:9>\n"
		"* > S. 0:0(0) ack 1 <...>\n"
		" +1 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n"
		"+0 < . rcv-1:rcv-1(0) ack snd+0 win 0 {bad_tcp_csum}\n"
		"+0 state(3) = SYN-SENT\n"
		"+0 write(3, \"a\\\"b\", 3) = 3\n",
		"dir/\"quoted\".pkt");

	ASSERT(json_valid(j));
	ASSERT_HAS(j, "\"file\": \"dir/\\\"quoted\\\".pkt\"");
	ASSERT_HAS(j, "\"options\": {\"tolerance_usecs\": \"5000\"}");
	ASSERT_HAS(j, "\"local_addr\": \"192.168.0.1\", \"remote_addr\": \"192.0.2.1\"");
	ASSERT_HAS(j, "{\"index\": 0, \"kind\": \"call\", \"line\": 2, \"col\": 1, \"time\": "
		      "{\"kind\": \"abs\", \"us\": 0");
	ASSERT_HAS(j, "\"kind\": \"inbound\", \"line\": 3, \"col\": 1, \"time\": {\"kind\": "
		      "\"rel\", \"us\": 100000");
	ASSERT_HAS(j, "\"flags\": \"S\", \"flag_bits\": 2, \"seq\": {\"mode\": \"script\", "
		      "\"value\": 0, \"offset\": 0}, \"len\": 0, \"ack\": null, \"win\": 1000");
	ASSERT_HAS(j, "{\"kind\": \"mss\", \"value\": 1460}");
	ASSERT_HAS(j, "{\"kind\": \"TS\", \"val\": 7, \"ecr\": 0}");
	ASSERT_HAS(j, "{\"kind\": \"wscale\", \"value\": 7}");
	ASSERT_HAS(j, "{\"kind\": \"sack\", \"blocks\": [[5, 9]]}");
	ASSERT_HAS(j, "\"kind\": \"outbound\", \"line\": 4, \"col\": 1, \"time\": {\"kind\": \"any\"");
	ASSERT_HAS(j, "\"options\": {\"mode\": \"any\"");
	ASSERT_HAS(j, "\"line\": 5, \"col\": 2");
	ASSERT_HAS(j, "\"name\": \"connect\", \"fd\": 3");
	ASSERT_HAS(j, "\"result\": {\"check\": true, \"value\": -1, \"errno\": \"EINPROGRESS\", "
		      "\"errno_value\": 115}");
	ASSERT_HAS(j, "\"seq\": {\"mode\": \"state\", \"value\": 4294967295, \"offset\": -1}");
	ASSERT_HAS(j, "\"bad_tcp_checksum\": true");
	ASSERT_HAS(j, "\"state\": {\"fd\": 3, \"conn\": 0, \"state\": \"SYN-SENT\"}");
	ASSERT_HAS(j, "\"data\": \"612262\"");
	ASSERT_HAS(j, "\"text\": \"+0 write(3, \\\"a\\\\\\\"b\\\", 3) = 3\"");
	free(j);
}

static void test_seed_scripts_are_valid_json(void)
{
	static const char *const seeds[] = {
		"seed01_passive_open.pkt", "seed02_active_open.pkt", "seed09_time_wait.pkt",
		"seed11_syn_queue.pkt", "seed15_state_names.pkt",
	};
	const char *src = getenv("SYNFIN_SOURCE_DIR");
	size_t i;

	if (!src)
		CHECK_FAIL_("SYNFIN_SOURCE_DIR is not set (run this test through ctest)");
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[1024];
		sc_scenario s;
		sc_error err;
		char *j;

		snprintf(path, sizeof(path), "%s/corpora/scripts/%s", src, seeds[i]);
		if (sc_script_parse_file(path, &s, &err) != 0)
			CHECK_FAIL_("%s", err.msg);
		j = sc_json_format(&s);
		ASSERT(j != NULL);
		if (!json_valid(j))
			CHECK_FAIL_("invalid JSON for %s", path);
		ASSERT_HAS(j, "\"format\": \"synfin-scenario\"");
		free(j);
		sc_scenario_free(&s);
	}
}

int main(void)
{
	RUN_TEST(test_validator_rejects);
	RUN_TEST(test_fields);
	RUN_TEST(test_seed_scripts_are_valid_json);
	return 0;
}
