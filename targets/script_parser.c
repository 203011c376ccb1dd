/*
 * script_parser: the packetdrill-syntax front end (tools/scenario/script_*.c)
 * on any text. Bad input must never crash the tools: every input either
 * parses or gets an error message that starts with its file:line:col
 * position (oracle "script-error"). What parses must survive the other front
 * and back ends (oracle "script-roundtrip"):
 *   - the printer's script (print.c) parses back to as many events, and
 *     printing that again gives the same text (printing is a fixed point);
 *   - the binary form is canonical: encode -> decode -> encode gives the
 *     same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "harness/harness.h"
#include "scenario.h"

static void check_error(const sc_error *err)
{
	static const char prefix[] = "fuzz.pkt:";
	if (strncmp(err->msg, prefix, sizeof prefix - 1) != 0)
		fz_fail_tool("script-error", "error message without a file:line:col position: \"%s\"",
			     err->msg);
	if (err->prefix_len > strlen(err->msg))
		fz_fail_tool("script-error", "prefix_len %zu beyond the message \"%s\"",
			     err->prefix_len, err->msg);
}

static void check_print(const sc_scenario *scn)
{
	sc_scenario back;
	sc_error err;
	char *text = sc_script_format(scn);
	if (!text)
		abort();
	if (sc_script_parse(text, strlen(text), "printed.pkt", &back, &err) != 0)
		fz_fail_tool("script-roundtrip", "the printed script does not parse: %s\n%s", err.msg,
			     text);
	if (back.count != scn->count)
		fz_fail_tool("script-roundtrip", "%zu events printed, %zu parsed back", scn->count,
			     back.count);
	char *again = sc_script_format(&back);
	if (!again)
		abort();
	if (strcmp(text, again) != 0)
		fz_fail_tool("script-roundtrip", "printing is not stable:\n%s\n---\n%s", text, again);
	free(again);
	free(text);
	sc_scenario_free(&back);
}

static void check_binary(const sc_scenario *scn)
{
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t n1 = 0, n2 = 0;
	sc_scenario dec;
	if (sc_binary_encode(scn, &b1, &n1) != 0 || sc_binary_decode(b1, n1, "b1", &dec) != 0 ||
	    sc_binary_encode(&dec, &b2, &n2) != 0)
		abort();
	if (n1 != n2 || memcmp(b1, b2, n1) != 0)
		fz_fail_tool("script-roundtrip", "binary form not canonical: %zu octets, then %zu", n1,
			     n2);
	sc_scenario_free(&dec);
	free(b1);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_scenario scn;
	sc_error err;
	memset(&err, 0, sizeof err);
	int rc = sc_script_parse((const char *)data, size, "fuzz.pkt", &scn, &err);
	if (rc == 0) {
		check_print(&scn);
		check_binary(&scn);
	} else if (rc == -ENOMEM) {
		abort();
	} else {
		check_error(&err);
	}
	sc_scenario_free(&scn);
	return 0;
}
