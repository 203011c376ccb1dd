/*
 * The `synfin` command end to end (SYNFIN_BIN), each run under a time limit
 * so that a hang is a failure.
 *
 *   - the bad-input table: malformed scripts, garbage and truncated files,
 *     empty/truncated/foreign pcaps, captures without TCP, bad arguments:
 *     each gives a clear message (with file:line:col for scripts) and exit 2,
 *     never a crash (a signal) or a hang;
 *   - script -> compile -> decompile -> compile gives the same bytes, and
 *     both the script and the decompiled script pass `synfin run`;
 *   - random byte files decode, decompile and run without a crash;
 *   - `run --pcap` output read back by tshark (when installed) with the
 *     right flags and sequence numbers, and by `pcap2pkt`, whose script
 *     passes `synfin run` again (capture -> script -> engine).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *bin;
static char tmpdir[512];

static const char *path_of(const char *name)
{
	static char buf[8][700];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");

	ASSERT(f != NULL);
	ASSERT_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

static size_t read_whole(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	ASSERT(f != NULL);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	return n;
}

/*
 * Run `synfin args...` with stdout and stderr to files, killing it after
 * 20 s. Returns the exit status; a death by signal or a hang fails the test.
 */
static int run_synfin(char *out, size_t outcap, char *err, size_t errcap, ...)
{
	const char *argv[32];
	va_list ap;
	int argc = 0, status = 0;
	pid_t pid;
	time_t t0 = time(NULL);
	const char *o = path_of("stdout.txt"), *e = path_of("stderr.txt");

	argv[argc++] = bin;
	va_start(ap, errcap);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0)
			_exit(127);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (time(NULL) - t0 > 20) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			CHECK_FAIL_("synfin %s %s hung (killed after 20 s)", argv[1], argv[2] ? argv[2] : "");
		}
		usleep(2000);
	}
	if (!WIFEXITED(status))
		CHECK_FAIL_("synfin %s %s died of signal %d", argv[1], argv[2] ? argv[2] : "",
			    WTERMSIG(status));
	if (out)
		read_whole(o, out, outcap);
	if (err)
		read_whole(e, err, errcap);
	return WEXITSTATUS(status);
}

#define RUN(out, err, ...) run_synfin(out, sizeof(out), err, sizeof(err), __VA_ARGS__, (char *)NULL)

/* ---- inputs ---- */

static const char passive[] =
	"// passive open, data, active close, TIME-WAIT\n"
	"0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"
	"+0  bind(3, ..., ...) = 0\n"
	"+0  listen(3, 1) = 0\n"
	"+0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n"
	"+0  > S. 0:0(0) ack 1 <...>\n"
	"+.1 < . 1:1(0) ack 1 win 32792\n"
	"+0  accept(3, ..., ...) = 4\n"
	"+0  write(4, ..., 1000) = 1000\n"
	"+0  > P. 1:1001(1000) ack 1 <...>\n"
	"+.1 < . 1:1(0) ack 1001 win 32792\n"
	"+0  close(4) = 0\n"
	"+0  > F. 1001:1001(0) ack 1 <...>\n"
	"+.1 < F. 1:1(0) ack 1002 win 32792\n"
	"+0  > . 1002:1002(0) ack 2 <...>\n"
	"+60 conn_state(0) = CLOSED\n";

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* A classic pcap header of link type lt, plus one record of len octets. */
static size_t pcap_with(uint8_t *out, uint32_t lt, const uint8_t *frame, size_t len)
{
	memset(out, 0, 40);
	put32le(out, 0xa1b2c3d4);
	out[4] = 2; out[6] = 4;
	put32le(out + 16, 65535);
	put32le(out + 20, lt);
	put32le(out + 32, (uint32_t)len);
	put32le(out + 36, (uint32_t)len);
	memcpy(out + 40, frame, len);
	return 40 + len;
}

/* ---- the bad-input table ---- */

typedef struct bad_case {
	const char *name;       /* file written with content, or NULL */
	const char *content;
	size_t len;             /* 0: strlen(content) */
	const char *args[7];    /* "@" stands for the file's path */
	const char *needle;     /* must appear in stderr */
} bad_case;

static void check_bad(const bad_case *c)
{
	const char *a[7];
	char out[8192], err[8192];
	int rc;

	if (c->name && c->content)
		write_file(c->name, c->content, c->len ? c->len : strlen(c->content));
	for (int i = 0; i < 7; i++)
		a[i] = c->args[i] && strcmp(c->args[i], "@") == 0 ? path_of(c->name) : c->args[i];
	rc = RUN(out, err, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
	if (rc != 2 || !strstr(err, c->needle))
		CHECK_FAIL_("%s %s: exit %d (want 2), stderr lacks \"%s\":\n%s", a[0],
			    c->name ? c->name : "", rc, c->needle, err);
	err[strcspn(err, "\n")] = 0;
	printf("  %-22s -> %s\n", c->name ? c->name : a[0], err);
}

static void test_bad_inputs(void)
{
	static uint8_t pcapbuf[256];
	static const uint8_t udp[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17};
	static const uint8_t tcp_hdr_only[] = {0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6};
	char big_name[] = "huge.pkt";
	size_t n;
	bad_case cases[] = {
		{"missing_dir/nope.pkt", NULL, 0, {"run", "@"}, "cannot open"},
		{"syntax.pkt", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frobnicate(3) = 0\n", 0,
		 {"run", "@"}, "syntax.pkt:2:"},
		{"badflags.pkt", "0 < Q 0:0(0) win 100\n", 0, {"run", "@"}, "badflags.pkt:1:"},
		{"shell.pkt", "0 `echo hi`\n", 0, {"run", "@"}, "shell.pkt:1:"},
		{"option.pkt", "--no_such_option=1\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", 0,
		 {"run", "@"}, "option.pkt:1:"},
		{"nul.pkt", "0 socket(\0...", 13, {"run", "@"}, "nul.pkt:1:"},
		{"unterminated.pkt", "0 < S 0:0(0) win 100 <mss 1460,\n", 0, {"run", "@"},
		 "unterminated.pkt:"},
		{"events.pkt", "+0 > S. 0:0(0) ack\n", 0, {"events", "@"}, "events.pkt:2:1: expected a sequence number"},
		{"compile.pkt", "0 listen(3, ) = 0\n", 0, {"compile", "@", "-o", "/dev/null"},
		 "compile.pkt:1:"},
		{NULL, NULL, 0, {"compile", "x.pkt"}, "needs SCRIPT.pkt -o OUT"},
		{NULL, NULL, 0, {"frobnicate"}, "unknown command"},
		{NULL, NULL, 0, {"run"}, "which script"},
		{NULL, NULL, 0, {"run", "a.pkt", "--bogus"}, "unknown option"},
		{NULL, NULL, 0, {"run", "a.pkt", "--isn", "x"}, "--isn needs"},
		{"ok.pkt", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", 0,
		 {"run", "@", "--pcap", "/nonexistent_dir/x.pcap"}, "cannot write pcap"},
		{"empty.pcap", "", 0, {"pcap2pkt", "@"}, "empty file"},
		{"garbage.pcap", "GET / HTTP/1.1\r\nHost: example\r\n\r\n", 0, {"pcap2pkt", "@"},
		 "not a readable pcap"},
		{NULL, NULL, 0, {"pcap2pkt", "/nonexistent.pcap"}, "nonexistent.pcap"},
		{NULL, NULL, 0, {"pcap2pkt"}, "which capture"},
		{NULL, NULL, 0, {"pcap2pkt", "x.pcap", "--side", "sideways"}, "--side is client or server"},
		{NULL, NULL, 0, {"pcap2pkt", "x.pcap", "--flow", "1", "--port", "80"}, "one"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_bad(&cases[i]);

	/* A directory as a script. */
	{
		bad_case c = {NULL, NULL, 0, {"run", tmpdir, "--script"}, "is a directory"};

		check_bad(&c);
	}
	/* Captures: truncated, another link type, no TCP, TCP header cut short. */
	{
		bad_case c = {"truncated.pcap", (const char *)pcapbuf, 0, {"pcap2pkt", "@"}, "truncated"};

		n = pcap_with(pcapbuf, 101, udp, sizeof(udp));
		c.len = n - 5;
		check_bad(&c);
		n = pcap_with(pcapbuf, 105, udp, sizeof(udp));
		c.name = "wifi.pcap";
		c.len = n;
		c.needle = "link type 105";
		check_bad(&c);
		n = pcap_with(pcapbuf, 101, udp, sizeof(udp));
		c.name = "udp.pcap";
		c.len = n;
		c.needle = "no IPv4/IPv6 TCP";
		check_bad(&c);
		n = pcap_with(pcapbuf, 101, tcp_hdr_only, sizeof(tcp_hdr_only));
		c.name = "cut_tcp.pcap";
		c.len = n;
		check_bad(&c);
	}
	/* A script over the size limit (4 MiB of comments). */
	{
		size_t big = (4u << 20) + 100;
		char *text = malloc(big);
		bad_case c = {big_name, text, big, {"run", "@"}, "larger than"};

		ASSERT(text != NULL);
		memset(text, '\n', big);
		memcpy(text, "//", 2);
		check_bad(&c);
		free(text);
	}
}

/* ---- round trips ---- */

static void test_compile_decompile(void)
{
	char out[65536], err[8192], a[8192], b[8192];
	size_t na, nb;

	write_file("passive.pkt", passive, strlen(passive));
	ASSERT_EQ(RUN(out, err, "run", path_of("passive.pkt")), 0);
	ASSERT_EQ(RUN(out, err, "compile", path_of("passive.pkt"), "-o", path_of("passive.bin")), 0);
	ASSERT_EQ(RUN(out, err, "run", path_of("passive.bin")), 0);
	ASSERT_EQ(RUN(out, err, "decompile", path_of("passive.bin"), "-o", path_of("passive_d.pkt")), 0);
	ASSERT_EQ(RUN(out, err, "run", path_of("passive_d.pkt")), 0);
	ASSERT_EQ(RUN(out, err, "compile", path_of("passive_d.pkt"), "-o", path_of("passive2.bin")), 0);
	na = read_whole(path_of("passive.bin"), a, sizeof(a));
	nb = read_whole(path_of("passive2.bin"), b, sizeof(b));
	ASSERT_EQ(na, nb);
	ASSERT_MEM_EQ(a, b, na);
	/* events: JSON with one object per event */
	ASSERT_EQ(RUN(out, err, "events", path_of("passive.pkt")), 0);
	ASSERT(strstr(out, "\"events\"") != NULL);
	ASSERT(strstr(out, "\"accept\"") != NULL);
}

/* A deterministic PRNG so a failure reproduces. */
static uint32_t rnd(void)
{
	static uint64_t s = 0x243f6a8885a308d3ull;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (uint32_t)s;
}

/*
 * Random files are valid binary scenarios: decompile prints them, the
 * printed script parses, and compile(decompile(x)) is the canonical form of
 * x: decompiling that again gives the same script.
 */
static void test_random_files(void)
{
	static char out[1 << 20], out2[1 << 20];
	char err[8192];
	uint8_t buf[600];

	for (int i = 0; i < 20; i++) {
		size_t n = rnd() % sizeof(buf);

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rnd();
		write_file("random.bin", buf, n);
		ASSERT_EQ(RUN(out, err, "decompile", path_of("random.bin"), "-o",
			      path_of("random.pkt")), 0);
		if (RUN(out, err, "compile", path_of("random.pkt"), "-o", path_of("random2.bin")) != 0)
			CHECK_FAIL_("decompiled random input does not compile:\n%s", err);
		ASSERT_EQ(RUN(out, err, "decompile", path_of("random2.bin")), 0);
		ASSERT_EQ(RUN(out2, err, "decompile", path_of("random.bin")), 0);
		if (strcmp(out, out2) != 0)
			CHECK_FAIL_("random input %d: decompile(compile(decompile(x))) differs", i);
	}
}

/* ---- pcap: tshark reads our output; pcap2pkt makes a passing script ---- */

static void test_pcap_tshark_and_back(void)
{
	const char *tshark = getenv("SYNFIN_TSHARK");
	char out[65536], err[8192], cmd[2048];
	const char *want[] = {"S,0,0", "SA,1000000000,1", "A,1,1000000001", "PA,1000000001,1",
			      "A,1,1000001001", "FA,1000001001,1", "FA,1,1000001002",
			      "A,1000001002,2"};
	char line[256];
	FILE *p;
	int n = 0;

	write_file("passive.pkt", passive, strlen(passive));
	ASSERT_EQ(RUN(out, err, "run", path_of("passive.pkt"), "--pcap", path_of("passive.pcap")), 0);
	if (tshark && *tshark) {
		/* Flags as letters and raw sequence numbers, one packet a line. */
		snprintf(cmd, sizeof(cmd),
			 "%s -r %s -T fields -E separator=, -e tcp.flags.syn -e tcp.flags.ack "
			 "-e tcp.flags.push -e tcp.flags.fin -e tcp.seq_raw -e tcp.ack_raw 2>/dev/null",
			 tshark, path_of("passive.pcap"));
		p = popen(cmd, "r");
		ASSERT(p != NULL);
		while (fgets(line, sizeof(line), p)) {
			int syn, ack, psh, fin;
			unsigned long seq, ackn;
			char flags[8], got[64];
			size_t k = 0;

			if (sscanf(line, "%d,%d,%d,%d,%lu,%lu", &syn, &ack, &psh, &fin, &seq, &ackn) != 6)
				CHECK_FAIL_("tshark line not understood: %s", line);
			if (syn) flags[k++] = 'S';
			if (fin) flags[k++] = 'F';
			if (psh) flags[k++] = 'P';
			if (ack) flags[k++] = 'A';
			flags[k] = 0;
			snprintf(got, sizeof(got), "%s,%lu,%lu", flags, seq, ackn);
			ASSERT(n < 8);
			if (strcmp(got, want[n]) != 0)
				CHECK_FAIL_("tshark packet %d: %s, expected %s", n + 1, got, want[n]);
			n++;
		}
		ASSERT_EQ(pclose(p), 0);
		ASSERT_EQ(n, 8);
	} else {
		printf("  (tshark not installed: pcap checked by libpcap in test_pcap only)\n");
	}
	ASSERT_EQ(RUN(out, err, "pcap2pkt", path_of("passive.pcap"), "--list"), 0);
	ASSERT(strstr(out, "flow 0: client 192.0.2.1 port 40000") != NULL);
	ASSERT_EQ(RUN(out, err, "pcap2pkt", path_of("passive.pcap"), "-o", path_of("from_pcap.pkt")), 0);
	if (RUN(out, err, "run", path_of("from_pcap.pkt")) != 0)
		CHECK_FAIL_("the script made from our own capture does not pass:\n%s", err);
	ASSERT_EQ(RUN(out, err, "pcap2pkt", path_of("passive.pcap"), "--port", "40000", "--port",
		      "8080", "--side", "server", "-o", path_of("from_pcap2.pkt")), 0);
	ASSERT_EQ(RUN(out, err, "pcap2pkt", path_of("passive.pcap"), "--flow", "1"), 2);
	ASSERT(strstr(err, "has 1 TCP flow") != NULL);
}

/*
 * A real Linux conversation over loopback (tests/data/linux_loopback.pcap:
 * Ethernet link type, TS and window scaling on), made into a script where
 * the engine plays the server: it must pass.
 */
static void test_linux_capture(void)
{
	const char *src = getenv("SYNFIN_SOURCE_DIR");
	char cap[1024], out[65536], err[8192];

	snprintf(cap, sizeof(cap), "%s/tools/tests/data/linux_loopback.pcap", src && *src ? src : ".");
	ASSERT_EQ(RUN(out, err, "pcap2pkt", cap, "--list"), 0);
	ASSERT(strstr(out, "flow 0: client 127.0.0.1") != NULL);
	ASSERT_EQ(RUN(out, err, "pcap2pkt", cap, "-o", path_of("linux.pkt")), 0);
	if (RUN(out, err, "run", path_of("linux.pkt")) != 0)
		CHECK_FAIL_("the script from the Linux capture does not pass:\n%s", err);
	/* The engine as the client replays the same flow's other side. */
	ASSERT_EQ(RUN(out, err, "pcap2pkt", cap, "--side", "client", "-o", path_of("linux_c.pkt")), 0);
	ASSERT_EQ(RUN(out, err, "events", path_of("linux_c.pkt")), 0);
}

/* A failing script: exit 1 with expected and actual. */
static void test_run_fails_with_exit_1(void)
{
	char out[65536], err[8192];
	const char *s = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
			"+0 bind(3, ..., ...) = 0\n"
			"+0 listen(3, 1) = 0\n"
			"+0 < S 0:0(0) win 1000\n"
			"+0 > R 0:0(0) ack 1\n";

	write_file("fails.pkt", s, strlen(s));
	ASSERT_EQ(RUN(out, err, "run", path_of("fails.pkt")), 1);
	ASSERT(strstr(err, "fails.pkt:5:1") != NULL);
	ASSERT(strstr(err, "script packet") != NULL);
	ASSERT(strstr(err, "actual packet") != NULL);
	ASSERT_EQ(RUN(out, err, "run", path_of("fails.pkt"), "--trace"), 1);
	ASSERT(strstr(out, "LISTEN -> SYN-RECEIVED") != NULL);
}

int main(void)
{
	const char *t = getenv("SYNFIN_TEST_TMP");

	bin = getenv("SYNFIN_BIN");
	if (!bin || !*bin) {
		fprintf(stderr, "SYNFIN_BIN is not set (run this test through ctest)\n");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", t && *t ? t : "/tmp/synfin_test_cli");
	mkdir(tmpdir, 0755);
	RUN_TEST(test_bad_inputs);
	RUN_TEST(test_compile_decompile);
	RUN_TEST(test_random_files);
	RUN_TEST(test_pcap_tshark_and_back);
	RUN_TEST(test_linux_capture);
	RUN_TEST(test_run_fails_with_exit_1);
	return 0;
}
