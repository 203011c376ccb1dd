/*
 * Unit tests of synfin-tap's parts that need no TAP device and no root:
 * the agent protocol on a real engine stack (replies, errno names, waiting
 * requests answered later, SYSCTL), fault decisions (deterministic from the
 * seed), and the pcap writer. Two engine stacks are wired back to back on a
 * virtual clock so an active open through the agent completes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static int failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			failures++;                                             \
		}                                                               \
	} while (0)

/* ---- Two stacks back to back ---- */

#define MAX_Q 256

struct wire {
	sf_stack *peer[2];      /* [0] = the agent's stack, [1] = the other end */
	uint8_t *pkt[2][MAX_Q];
	size_t len[2][MAX_Q];
	int n[2];
};

static struct wire wire;

static void out_to(int to, const sf_segment *seg)
{
	uint8_t buf[SF_MAX_PACKET];
	int n = sf_wire_emit(seg, NULL, buf, sizeof(buf));

	if (n < 0 || wire.n[to] == MAX_Q)
		return;
	wire.pkt[to][wire.n[to]] = malloc((size_t)n);
	memcpy(wire.pkt[to][wire.n[to]], buf, (size_t)n);
	wire.len[to][wire.n[to]++] = (size_t)n;
}

static void out_a(void *ctx, const sf_segment *seg) { (void)ctx; out_to(1, seg); }
static void out_b(void *ctx, const sf_segment *seg) { (void)ctx; out_to(0, seg); }

static uint32_t fixed_isn(void *self, const sf_endpoint *l, const sf_endpoint *r, uint64_t now)
{
	(void)l; (void)r; (void)now;
	return *(uint32_t *)self;
}

static uint32_t isn_a = 1000, isn_b = 900000;

/* Deliver queued packets both ways until quiet. */
static void pump(uint64_t now)
{
	for (int round = 0; round < 50; round++) {
		int moved = 0;

		for (int to = 0; to < 2; to++) {
			int n = wire.n[to];
			uint8_t *pkts[MAX_Q];
			size_t lens[MAX_Q];

			memcpy(pkts, wire.pkt[to], sizeof(pkts[0]) * (size_t)n);
			memcpy(lens, wire.len[to], sizeof(lens[0]) * (size_t)n);
			wire.n[to] = 0;
			for (int i = 0; i < n; i++) {
				sf_tick(wire.peer[to], now);
				sf_input_packet(wire.peer[to], pkts[i], lens[i]);
				free(pkts[i]);
			}
			moved += n;
		}
		if (!moved)
			return;
	}
}

static sf_stack *new_stack(int which, const sf_config *cfg)
{
	sf_env env = { .output = which ? out_b : out_a,
		       .isn = { .next = fixed_isn, .self = which ? &isn_b : &isn_a } };

	return sf_stack_new(cfg, &env);
}

static int rebuilt;

static int rebuild(void *ctx, const sf_config *cfg, sf_stack **out)
{
	(void)ctx;
	sf_stack_free(wire.peer[0]);
	wire.peer[0] = new_stack(0, cfg);
	*out = wire.peer[0];
	rebuilt++;
	return wire.peer[0] ? 0 : -1;
}

/* ---- The agent, its replies in a memory stream ---- */

static tap_agent agent;
static char *out_buf;
static size_t out_len;

/* Send one request and return everything replied since the last call. */
static const char *req(const char *line, uint64_t now)
{
	static char reply[8192];
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", line);
	sf_tick(agent.stack, now);
	tap_agent_request(&agent, copy, now);
	fflush(agent.out);
	snprintf(reply, sizeof(reply), "%s", out_buf ? out_buf : "");
	rewind(agent.out);
	memset(out_buf, 0, out_len);
	return reply;
}

/* Collect what a waiting request replied after tap_agent_poll(). */
static const char *after_poll(uint64_t now)
{
	static char reply[8192];

	tap_agent_poll(&agent, now);
	fflush(agent.out);
	snprintf(reply, sizeof(reply), "%s", out_buf ? out_buf : "");
	rewind(agent.out);
	memset(out_buf, 0, out_len);
	return reply;
}

static void test_agent(void)
{
	sf_config cfg;
	sf_stack *peer;
	sf_endpoint ep;
	const char *r;
	uint64_t t = 1000000;
	int l, s;
	char buf[64];

	sf_config_default(&cfg);
	cfg.local4 = sf_addr_v4(192, 0, 2, 2);
	wire.peer[0] = new_stack(0, &cfg);
	cfg.local4 = sf_addr_v4(192, 0, 2, 1);
	peer = wire.peer[1] = new_stack(1, &cfg);
	sf_config_default(&agent.cfg);
	agent.cfg.local4 = sf_addr_v4(192, 0, 2, 2);
	agent.stack = wire.peer[0];
	agent.out = open_memstream(&out_buf, &out_len);
	agent.rebuild = rebuild;

	/* A listener on the peer for the agent's active open. */
	l = sf_socket(peer, SF_AF_INET);
	ep = (sf_endpoint){ .addr = sf_addr_v4(192, 0, 2, 1), .port = 6000 };
	CHECK(sf_bind(peer, l, &ep) == 0 && sf_listen(peer, l, 4) == 0, "peer listener");

	r = req("SOCKET", t);
	CHECK(!strcmp(r, "OK 0\n"), "SOCKET -> %s", r);
	r = req("BIND 0 192.0.2.2 80", t);
	CHECK(!strcmp(r, "OK\n"), "BIND -> %s", r);
	r = req("LISTEN 0 5", t);
	CHECK(!strcmp(r, "OK\n"), "LISTEN -> %s", r);
	r = req("STATES", t);
	CHECK(!strcmp(r, "OK 1\nLISTEN 192.0.2.2 80 0.0.0.0 0 0 -\n"), "STATES -> %s", r);
	r = req("STATE 0", t);
	CHECK(!strcmp(r, "OK LISTEN\n"), "STATE -> %s", r);
	r = req("ACCEPT 0 0", t);
	CHECK(!strcmp(r, "ERR EAGAIN\n"), "ACCEPT timeout 0 -> %s", r);
	/* A waiting ACCEPT: nothing until its deadline, then EAGAIN. */
	r = req("ACCEPT 0 100", t);
	CHECK(!strcmp(r, ""), "ACCEPT 100 replied at once: %s", r);
	r = after_poll(t + 99999);
	CHECK(!strcmp(r, ""), "ACCEPT replied before its deadline: %s", r);
	r = after_poll(t + 100000);
	CHECK(!strcmp(r, "ERR EAGAIN\n"), "ACCEPT at deadline -> %s", r);
	r = req("FOO 1", t);
	CHECK(!strcmp(r, "ERR ENOSYS unknown verb\n"), "unknown verb -> %s", r);
	r = req("BIND 9 192.0.2.2 81", t);
	CHECK(!strcmp(r, "ERR EBADF no such socket\n"), "unknown socket -> %s", r);
	r = req("BIND 0 not-an-ip 81", t);
	CHECK(!strcmp(r, "ERR EINVAL malformed request\n"), "malformed -> %s", r);
	r = req("SETSOCKOPT 0 SO_REUSEPORT 1", t);
	CHECK(!strcmp(r, "ERR ENOSYS unknown option\n"), "SO_REUSEPORT -> %s", r);
	r = req("GETSOCKOPT 0 SO_LINGER", t);
	CHECK(!strcmp(r, "OK 0,0\n"), "SO_LINGER default -> %s", r);
	r = req("SETSOCKOPT 0 SO_LINGER 1,5", t);
	r = req("GETSOCKOPT 0 SO_LINGER", t);
	CHECK(!strcmp(r, "OK 1,5\n"), "SO_LINGER 1,5 -> %s", r);

	/* Active open: CONNECT, then a waiting POLL OUT answered once the
	 * handshake is done. */
	r = req("SOCKET", t);
	s = atoi(r + 3);
	snprintf(buf, sizeof(buf), "CONNECT %d 192.0.2.1 6000", s);
	r = req(buf, t);
	CHECK(!strcmp(r, "OK INPROGRESS\n"), "CONNECT -> %s", r);
	snprintf(buf, sizeof(buf), "POLL %d OUT 1000", s);
	r = req(buf, t);
	CHECK(!strcmp(r, ""), "POLL OUT before the handshake replied: %s", r);
	pump(t + 1000);
	r = after_poll(t + 1000);
	CHECK(!strcmp(r, "OK OUT\n"), "POLL OUT after the handshake -> %s", r);
	snprintf(buf, sizeof(buf), "GETSOCKOPT %d SO_ERROR", s);
	r = req(buf, t + 1000);
	CHECK(!strcmp(r, "OK 0\n"), "SO_ERROR -> %s", r);
	snprintf(buf, sizeof(buf), "SEND %d 68656c6c6f", s);
	r = req(buf, t + 1000);
	CHECK(!strcmp(r, "OK 5\n"), "SEND -> %s", r);
	pump(t + 2000);
	{
		sf_endpoint who;
		char got[16] = { 0 };
		int a = sf_accept(peer, l, &who);

		CHECK(a >= 0 && sf_recv(peer, a, got, sizeof(got)) == 5 && !strcmp(got, "hello"),
		      "peer did not receive hello");
		/* The peer answers; a waiting RECV gets it. */
		snprintf(buf, sizeof(buf), "RECV %d 100 1000", s);
		r = req(buf, t + 2000);
		CHECK(!strcmp(r, ""), "RECV replied before data: %s", r);
		sf_send(peer, a, "world", 5);
		pump(t + 3000);
		r = after_poll(t + 3000);
		CHECK(!strcmp(r, "OK 776f726c64\n"), "RECV -> %s", r);
		sf_close(peer, a);
		pump(t + 4000);
		r = req(buf, t + 4000);
		CHECK(!strcmp(r, "OK EOF\n"), "RECV after the peer's FIN -> %s", r);
	}

	/* SYSCTL while sockets are held: deferred to the next RESET. */
	r = req("SYSCTL net.ipv4.tcp_invalid_ratelimit 0", t + 4000);
	CHECK(!strcmp(r, "OK DEFERRED\n"), "SYSCTL with sockets -> %s", r);
	r = req("SYSCTL net.ipv4.no_such_thing 1", t + 4000);
	CHECK(!strcmp(r, "ERR ENOSYS unknown setting\n"), "unknown sysctl -> %s", r);
	CHECK(rebuilt == 0, "rebuilt while sockets were held");
	r = req("RESET", t + 5000);
	CHECK(!strcmp(r, "OK\n") && rebuilt == 1, "RESET -> %s (rebuilt %d)", r, rebuilt);
	r = req("INFO", t + 5000);
	CHECK(strstr(r, "invalid_ratelimit_ms=0 ") != NULL, "INFO -> %s", r);
	r = req("SYSCTL net.ipv4.tcp_fin_timeout", t + 5000);
	CHECK(!strcmp(r, "OK 60\n"), "SYSCTL read -> %s", r);
	r = req("SYSCTL net.ipv4.tcp_synack_retries 2", t + 5000);
	CHECK(!strcmp(r, "OK\n") && rebuilt == 2, "SYSCTL without sockets -> %s", r);
	r = req("QUIT", t + 5000);
	CHECK(!strcmp(r, "OK\n") && agent.quit, "QUIT -> %s", r);

	pump(t + 6000);
	fclose(agent.out);
	free(out_buf);
	sf_stack_free(wire.peer[0]);
	sf_stack_free(peer);
	for (int to = 0; to < 2; to++)
		for (int i = 0; i < wire.n[to]; i++)
			free(wire.pkt[to][i]);
}

/* ---- Faults ---- */

static void decisions(uint64_t seed, double p, char *out, int n)
{
	tap_fault_cfg cfg = { .drop = p, .dup = p, .reorder = p, .corrupt = p, .seed = seed,
			      .dirs = TAP_DIR_RX | TAP_DIR_TX, .reorder_us = 1000 };
	tap_faults f;

	tap_faults_init(&f, &cfg);
	for (int i = 0; i < n; i++) {
		tap_fault_verdict v;

		tap_faults_decide(&f, TAP_DIR_TX, 100, &v);
		out[i] = (char)('a' + (v.drop | (v.copies == 2) << 1 | v.hold << 2 | v.corrupt << 3));
		if (v.corrupt)
			CHECK(v.corrupt_bit >= TAP_ETH_HLEN * 8 && v.corrupt_bit < 800, "bit %zu",
			      v.corrupt_bit);
	}
	out[n] = 0;
}

static void test_faults(void)
{
	char a[201], b[201], c[201];
	tap_fault_cfg cfg = { .drop = 1.0, .seed = 1, .dirs = TAP_DIR_RX };
	tap_faults f;
	tap_fault_verdict v;

	decisions(7, 0.2, a, 200);
	decisions(7, 0.2, b, 200);
	decisions(8, 0.2, c, 200);
	CHECK(!strcmp(a, b), "same seed, different decisions");
	CHECK(strcmp(a, c), "different seeds, same decisions");
	decisions(7, 0.0, a, 200);
	CHECK(strspn(a, "a") == 200, "probability 0 made a fault: %s", a);
	tap_faults_init(&f, &cfg);
	CHECK(tap_faults_active(&f, TAP_DIR_RX) && !tap_faults_active(&f, TAP_DIR_TX), "dirs");
	tap_faults_decide(&f, TAP_DIR_RX, 60, &v);
	CHECK(v.drop, "probability 1 did not drop");
	tap_faults_decide(&f, TAP_DIR_TX, 60, &v);
	CHECK(!v.drop && v.copies == 1, "a fault in a direction that is off");
	{
		uint8_t frame[20] = { 0 };

		tap_faults_corrupt(frame, sizeof(frame), 14 * 8 + 3);
		CHECK(frame[14] == 0x08, "corrupt flipped the wrong bit");
	}
}

/* ---- pcap ---- */

static void test_pcap(void)
{
	char path[] = "/tmp/sftap-unit-XXXXXX";
	int fd = mkstemp(path);
	tap_pcap p = { 0 };
	uint8_t frame[60], data[256];
	uint32_t rec[4];
	FILE *f;
	size_t n;

	CHECK(fd >= 0, "mkstemp");
	close(fd);
	memset(frame, 0xab, sizeof(frame));
	CHECK(tap_pcap_open(&p, path) == 0, "open");
	tap_pcap_write(&p, frame, sizeof(frame));
	tap_pcap_write(&p, frame, 14);
	tap_pcap_close(&p);
	f = fopen(path, "rb");
	n = f ? fread(data, 1, sizeof(data), f) : 0;
	if (f)
		fclose(f);
	unlink(path);
	CHECK(n == 24 + 16 + 60 + 16 + 14, "pcap size %zu", n);
	CHECK(data[0] == 0xd4 && data[1] == 0xc3 && data[2] == 0xb2 && data[3] == 0xa1, "magic");
	CHECK(data[20] == 1, "linktype");
	memcpy(rec, data + 24, sizeof(rec));
	CHECK(rec[2] == 60 && rec[3] == 60, "record length");
}

int main(void)
{
	test_agent();
	test_faults();
	test_pcap();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	puts("tap unit tests: ok");
	return 0;
}
