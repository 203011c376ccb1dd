/*
 * synfin: the scenario command.
 *
 *   synfin run FILE... [--trace] [--pcap OUT] [--script|--binary] [--isn N]
 *   synfin compile SCRIPT.pkt -o OUT
 *   synfin decompile FILE [-o OUT]
 *   synfin events FILE [-o OUT] [--script|--binary]
 *   synfin pcap2pkt CAPTURE [--flow N | --port P [--port P2]] [--side client|server]
 *                   [--list] [-o OUT]
 *
 * FILE is a packetdrill-syntax script when its name ends in ".pkt", and a
 * binary fuzz input otherwise (crash files have no extension); --script and
 * --binary say so explicitly.
 *
 * Exit status: 0 success (run: the script passed); 1 the run failed (a
 * mismatch, or an engine invariant); 2 bad input or usage (with a message
 * naming the file, and line:column where there is one).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "binary.h"
#include "pcap_io.h"
#include "run.h"
#include "scenario.h"

#define EXIT_FAILED 1
#define EXIT_BADINPUT 2
#define MAX_BINARY_BYTES (16u << 20)

static const char usage_text[] =
	"usage: synfin COMMAND ...\n"
	"  run FILE... [--trace] [--pcap OUT.pcap] [--script|--binary] [--isn N] [--no-invariants]\n"
	"        play scripts (.pkt) or binary fuzz inputs against the engine;\n"
	"        exit 0 when all pass, 1 on a mismatch, 2 on bad input\n"
	"  compile SCRIPT.pkt -o OUT          script -> binary fuzz input\n"
	"  decompile FILE [-o OUT]            binary fuzz input (or .pkt) -> readable script\n"
	"  events FILE [-o OUT]               script (or binary) -> events as JSON\n"
	"  pcap2pkt CAPTURE [--flow N | --port P [--port P2]] [--side client|server]\n"
	"           [--list] [-o OUT]         a TCP flow of a pcap/pcapng -> script\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "synfin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_BADINPUT;
}

static int input_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int input_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "synfin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_BADINPUT;
}

/* ---- Reading inputs ---- */

static int read_file(const char *path, size_t limit, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	struct stat st;

	*out = NULL;
	*len = 0;
	if (!f)
		return input_error("%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return input_error("%s: is a directory", path);
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return input_error("%s: out of memory", path);
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > limit) {
			free(buf);
			fclose(f);
			return input_error("%s: larger than %zu bytes", path, limit);
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return input_error("%s: read error", path);
	}
	fclose(f);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum { FORM_AUTO, FORM_SCRIPT, FORM_BINARY };

/* Load a script or a binary input as a scenario. 0 or an exit code. */
static int load_scenario(const char *path, int form, sc_scenario *scn, bool *is_script)
{
	uint8_t *buf;
	size_t len;
	int rc;

	*is_script = form == FORM_SCRIPT || (form == FORM_AUTO && ends_with(path, ".pkt"));
	if (*is_script) {
		sc_error err;

		memset(&err, 0, sizeof(err));
		rc = read_file(path, SC_MAX_SCRIPT_BYTES, &buf, &len);
		if (rc)
			return rc;
		rc = sc_script_parse((const char *)buf, len, path, scn, &err);
		free(buf);
		if (rc < 0) {
			sc_scenario_free(scn);
			return input_error("%s", err.msg[0] ? err.msg : "cannot parse the script");
		}
		return 0;
	}
	rc = read_file(path, MAX_BINARY_BYTES, &buf, &len);
	if (rc)
		return rc;
	rc = sc_binary_decode(buf, len, path, scn);
	free(buf);
	if (rc < 0)
		return input_error("%s: out of memory", path);
	return 0;
}

static FILE *open_out(const char *path, const char *mode)
{
	FILE *f;

	if (!path || strcmp(path, "-") == 0)
		return stdout;
	f = fopen(path, mode);
	if (!f)
		input_error("%s: cannot write: %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (f == stdout)
		return fflush(f) == 0 ? 0 : input_error("write error on stdout");
	if (fclose(f) != 0)
		return input_error("%s: write error", path);
	return 0;
}

/* ---- Argument parsing helpers ---- */

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Takes the value of option argv[*i] ("--pcap FILE"); NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* ---- run ---- */

/* Run one file; returns 0, EXIT_FAILED or EXIT_BADINPUT. */
static int run_one(const char *path, int form, const sc_run_opts *opts)
{
	sc_run_result res;
	sc_scenario scn;
	bool is_script;
	int rc = load_scenario(path, form, &scn, &is_script);

	if (rc)
		return rc;
	sc_run(&scn, opts, &res);
	if (opts->trace)
		fflush(stdout);
	switch (res.status) {
	case SC_RUN_PASS:
		fprintf(stderr, "%s: pass (%zu events, %zu segments in, %zu out, virtual time %.6f s)\n",
			path, res.events, res.segs_in, res.segs_out, (double)res.end_us / 1e6);
		if (res.unchecked_out && is_script)
			fprintf(stderr, "%s: note: %zu segment(s) sent after the last expected one "
					"were not checked\n", path, res.unchecked_out);
		rc = 0;
		break;
	case SC_RUN_FAIL:
		fprintf(stderr, "%s\n%s: FAIL%s\n", res.msg, path,
			opts->trace ? "" : " (--trace shows every event and state change)");
		rc = EXIT_FAILED;
		break;
	default:
		fprintf(stderr, "synfin: %s\n", res.msg);
		rc = EXIT_BADINPUT;
		break;
	}
	sc_scenario_free(&scn);
	return rc;
}

/*
 * run FILE...: several files run one after the other, each on a fresh
 * engine; the exit status is the worst one (2 over 1 over 0).
 */
static int cmd_run(int argc, char **argv)
{
	sc_run_opts opts;
	const char *paths[256];
	int form = FORM_AUTO, npaths = 0, worst = 0, failed = 0;

	memset(&opts, 0, sizeof(opts));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		long v;

		if (!strcmp(a, "--trace")) {
			opts.trace = stdout;
		} else if (!strcmp(a, "--pcap")) {
			if (!(opts.pcap_path = opt_value(argc, argv, &i)))
				return usage_error("--pcap needs a file name");
		} else if (!strcmp(a, "--script")) {
			form = FORM_SCRIPT;
		} else if (!strcmp(a, "--binary")) {
			form = FORM_BINARY;
		} else if (!strcmp(a, "--no-invariants")) {
			opts.no_invariants = true;
		} else if (!strcmp(a, "--isn")) {
			const char *s = opt_value(argc, argv, &i);

			if (!s || parse_int(s, 0, 0xffffffffL, &v) < 0)
				return usage_error("--isn needs a number 0..4294967295");
			opts.isn_base = (uint32_t)v;
			opts.isn_base_set = true;
		} else if (a[0] == '-' && a[1]) {
			return usage_error("run: unknown option '%s'", a);
		} else if (npaths == (int)(sizeof(paths) / sizeof(paths[0]))) {
			return usage_error("run: at most %zu files at a time", sizeof(paths) / sizeof(paths[0]));
		} else {
			paths[npaths++] = a;
		}
	}
	if (npaths == 0)
		return usage_error("run: which script?");
	if (npaths > 1 && opts.pcap_path)
		return usage_error("run: --pcap takes one file at a time");
	for (int i = 0; i < npaths; i++) {
		int rc = run_one(paths[i], form, &opts);

		failed += rc != 0;
		if (rc > worst)
			worst = rc;
	}
	if (npaths > 1)
		fprintf(stderr, "synfin: %d of %d passed\n", npaths - failed, npaths);
	return worst;
}

/* ---- compile / decompile / events ---- */

static int cmd_compile(int argc, char **argv)
{
	const char *path = NULL, *out = NULL;
	sc_scenario scn;
	uint8_t *bin;
	size_t len;
	bool is_script;
	FILE *f;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o")) {
			if (!(out = opt_value(argc, argv, &i)))
				return usage_error("-o needs a file name");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("compile: unknown option '%s'", argv[i]);
		} else if (path) {
			return usage_error("compile: one script at a time");
		} else {
			path = argv[i];
		}
	}
	if (!path || !out)
		return usage_error("compile: needs SCRIPT.pkt -o OUT");
	rc = load_scenario(path, FORM_SCRIPT, &scn, &is_script);
	if (rc)
		return rc;
	/* Format version 1 carries no script options (targets/README.md). */
	for (size_t i = 0; i < scn.opt_count; i++)
		fprintf(stderr, "synfin: %s:%u: note: option --%s=%s is not carried by the binary "
				"form (version 1)\n",
			path, scn.opts[i].pos.line, scn.opts[i].name, scn.opts[i].value);
	rc = sc_binary_encode(&scn, &bin, &len);
	sc_scenario_free(&scn);
	if (rc < 0)
		return input_error("out of memory");
	f = open_out(out, "wb");
	if (!f) {
		free(bin);
		return EXIT_BADINPUT;
	}
	fwrite(bin, 1, len, f);
	free(bin);
	return close_out(f, out);
}

/* decompile and events: load, then write as a script or as JSON. */
static int cmd_convert(int argc, char **argv, bool json, int default_form)
{
	const char *path = NULL, *out = NULL;
	int form = default_form, rc;
	sc_scenario scn;
	bool is_script;
	FILE *f;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o")) {
			if (!(out = opt_value(argc, argv, &i)))
				return usage_error("-o needs a file name");
		} else if (!strcmp(argv[i], "--script")) {
			form = FORM_SCRIPT;
		} else if (!strcmp(argv[i], "--binary")) {
			form = FORM_BINARY;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("unknown option '%s'", argv[i]);
		} else if (path) {
			return usage_error("one file at a time");
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return usage_error("which file?");
	rc = load_scenario(path, form, &scn, &is_script);
	if (rc)
		return rc;
	f = open_out(out, "w");
	if (!f) {
		sc_scenario_free(&scn);
		return EXIT_BADINPUT;
	}
	rc = json ? sc_json_write(&scn, f) : sc_script_write(&scn, f);
	sc_scenario_free(&scn);
	if (rc < 0) {
		if (f != stdout)
			fclose(f);
		return input_error("cannot write the %s", json ? "JSON" : "script");
	}
	return close_out(f, out);
}

/* ---- pcap2pkt ---- */

typedef struct p2p_args {
	const char *path, *out;
	long index;
	long port[2];
	int nports;
	int side;       /* -1 default (server), 0 server, 1 client */
	bool list;
} p2p_args;

static int parse_p2p(int argc, char **argv, p2p_args *a)
{
	memset(a, 0, sizeof(*a));
	a->index = -1;
	a->side = -1;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i], *v;

		if (!strcmp(s, "--flow")) {
			if (!(v = opt_value(argc, argv, &i)) || parse_int(v, 0, 1000000, &a->index) < 0)
				return usage_error("--flow needs a flow number (0 is the first)");
		} else if (!strcmp(s, "--port")) {
			if (a->nports == 2)
				return usage_error("--port at most twice");
			if (!(v = opt_value(argc, argv, &i)) ||
			    parse_int(v, 1, 65535, &a->port[a->nports]) < 0)
				return usage_error("--port needs a port number 1..65535");
			a->nports++;
		} else if (!strcmp(s, "--side")) {
			v = opt_value(argc, argv, &i);
			if (v && !strcmp(v, "client"))
				a->side = 1;
			else if (v && !strcmp(v, "server"))
				a->side = 0;
			else
				return usage_error("--side is client or server (the side the engine plays)");
		} else if (!strcmp(s, "--list")) {
			a->list = true;
		} else if (!strcmp(s, "-o")) {
			if (!(a->out = opt_value(argc, argv, &i)))
				return usage_error("-o needs a file name");
		} else if (s[0] == '-' && s[1]) {
			return usage_error("pcap2pkt: unknown option '%s'", s);
		} else if (a->path) {
			return usage_error("pcap2pkt: one capture at a time");
		} else {
			a->path = s;
		}
	}
	if (!a->path)
		return usage_error("pcap2pkt: which capture?");
	if (a->index >= 0 && a->nports)
		return usage_error("pcap2pkt: --flow and --port pick a flow two ways; use one");
	return 0;
}

static void list_flows(const sc_flow *fl, int n)
{
	for (int i = 0; i < n; i++) {
		char a[64], b[64];

		sf_addr_format(&fl[i].client.addr, a, sizeof(a));
		sf_addr_format(&fl[i].server.addr, b, sizeof(b));
		printf("flow %d: client %s port %u -> server %s port %u, %zu packets%s\n", i, a,
		       fl[i].client.port, b, fl[i].server.port, fl[i].packets,
		       fl[i].saw_syn ? "" : " (no SYN: started before the capture)");
	}
}

static int cmd_pcap2pkt(int argc, char **argv)
{
	char err[1024];
	sc_capture cap;
	sc_scenario scn;
	sc_flow *flows = NULL;
	p2p_args a;
	int n, sel, rc = parse_p2p(argc, argv, &a);
	FILE *f;

	if (rc)
		return rc;
	if (sc_capture_read(a.path, &cap, err, sizeof(err)) < 0)
		return input_error("%s", err);
	n = sc_capture_flows(&cap, &flows);
	if (n < 0) {
		sc_capture_free(&cap);
		return input_error("out of memory");
	}
	if (a.list) {
		list_flows(flows, n);
		rc = 0;
		goto out;
	}
	sel = sc_flow_select(flows, n, (int)a.index, a.nports ? (int)a.port[0] : 0,
			     a.nports > 1 ? (int)a.port[1] : 0, err, sizeof(err));
	if (sel < 0) {
		rc = input_error("%s: %s (see --list)", a.path, err);
		goto out;
	}
	if (!flows[sel].saw_syn)
		fprintf(stderr, "synfin: %s: note: flow %d has no SYN in the capture (it started "
				"earlier); the engine cannot join a connection midway, so the script "
				"will fail at its first packet\n",
			a.path, sel);
	if (sc_pcap_to_scenario(&cap, &flows[sel], a.side == 1, a.path, &scn, err, sizeof(err)) < 0) {
		rc = input_error("%s: %s", a.path, err);
		goto out;
	}
	f = open_out(a.out, "w");
	if (!f) {
		sc_scenario_free(&scn);
		rc = EXIT_BADINPUT;
		goto out;
	}
	{
		char c[64], s[64];

		sf_addr_format(&flows[sel].client.addr, c, sizeof(c));
		sf_addr_format(&flows[sel].server.addr, s, sizeof(s));
		fprintf(f, "// synfin pcap2pkt %s: flow %d, client %s port %u, server %s port %u;\n"
			   "// the engine plays the %s.\n",
			a.path, sel, c, flows[sel].client.port, s, flows[sel].server.port,
			a.side == 1 ? "client" : "server");
	}
	rc = sc_script_write(&scn, f) < 0 ? input_error("cannot write the script") : 0;
	sc_scenario_free(&scn);
	if (close_out(f, a.out) != 0)
		rc = EXIT_BADINPUT;
out:
	free(flows);
	sc_capture_free(&cap);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return usage_error("which command?");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc - 2, argv + 2);
	if (!strcmp(cmd, "decompile"))
		return cmd_convert(argc - 2, argv + 2, false, FORM_AUTO);
	if (!strcmp(cmd, "events"))
		return cmd_convert(argc - 2, argv + 2, true, FORM_AUTO);
	if (!strcmp(cmd, "pcap2pkt"))
		return cmd_pcap2pkt(argc - 2, argv + 2);
	return usage_error("unknown command '%s'", cmd);
}
