/*
 * synfin_bench: two engine stacks back to back in memory, on a virtual clock.
 *
 * Stack A (10.0.0.1, the client) and stack B (10.0.0.2, the server) are
 * joined by one FIFO queue: each stack's env.output appends to it, and the
 * pump delivers the queue's head to the other stack, so replies never recurse
 * into the stack that is still running. Two ways through the middle:
 *   - "direct": the parsed sf_segment is handed to sf_input() as it is;
 *   - "codec":  output is turned into bytes with sf_wire_emit() and the other
 *               side takes it with sf_input_packet(), which parses it and
 *               verifies the checksum, so the wire codec is measured too.
 *
 * Measured: handshake+close cycles per second, in-order data segments and
 * bytes per second for a bulk transfer, the codec's parse and emit rates,
 * and the memory of a connection and of a half-open entry. The goals
 * (issue 2) are >= 200,000 cycles/s and >= 1,000,000 segments/s on one core
 * in the release build.
 *
 * Usage: synfin_bench [--quick] [--cycles N] [--bytes N] [--codec-iters N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synfin/tcp.h"
#include "synfin/wire.h"

#define SERVER_PORT 80
#define BACKLOG 128
/* Room for the largest segment the engine sends here: an MSS of data plus
 * 40 octets of options and an IPv4 header. */
#define SLOT_DATA 2048
#define QUEUE_SLOTS 1024
/* Default virtual time between handshake+close cycles. TIME-WAIT (60 s)
 * outlives many cycles, so the client's TIME-WAIT table fills to its cap
 * (max_time_wait), as on a busy Linux client. --cycle-step-us 61000000 lets
 * every TIME-WAIT expire before the next cycle instead. */
#define CYCLE_STEP_US 1000
/* Virtual time per pump round of the bulk transfer. */
#define BULK_STEP_US 10

typedef enum path { PATH_DIRECT, PATH_CODEC } path;

/* One segment in flight: the parsed form with a copy of its payload, or the
 * emitted bytes. */
typedef struct slot {
	int to; /* 0 = stack A, 1 = stack B */
	sf_segment seg;
	size_t len;
	uint8_t data[SLOT_DATA];
} slot;

typedef struct bench bench;

typedef struct side {
	bench *b;
	int index;
	sf_stack *stack;
	sf_isn_rfc6528 isn;
	uint64_t segs_out;      /* every segment sent by this side */
	uint64_t data_segs_out; /* segments with payload sent by this side */
	uint64_t data_bytes_out;
} side;

struct bench {
	path path;
	side sides[2];
	slot *queue;
	size_t head, tail; /* FIFO indexes, modulo QUEUE_SLOTS */
	uint64_t now;
	int error; /* set by callbacks that cannot return one */
	uint64_t delivered;
};

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "synfin_bench: %s: %s (%d)\n", what, sf_errno_name(err), err);
	exit(1);
}

/* ---- The queue between the stacks. ---- */

static slot *queue_push(bench *b)
{
	size_t next = (b->tail + 1) % QUEUE_SLOTS;
	slot *s;

	if (next == b->head) {
		/* More segments in flight than a window's worth means the
		 * engine is looping; stop rather than drop silently. */
		fprintf(stderr, "synfin_bench: more than %d segments in flight\n", QUEUE_SLOTS - 1);
		exit(1);
	}
	s = &b->queue[b->tail];
	b->tail = next;
	return s;
}

static void on_output(void *ctx, const sf_segment *seg)
{
	side *from = ctx;
	bench *b = from->b;
	slot *s = queue_push(b);

	s->to = 1 - from->index;
	from->segs_out++;
	if (seg->payload_len > 0) {
		from->data_segs_out++;
		from->data_bytes_out += seg->payload_len;
	}
	if (b->path == PATH_CODEC) {
		int n = sf_wire_emit(seg, NULL, s->data, sizeof(s->data));

		if (n < 0) {
			fprintf(stderr, "synfin_bench: sf_wire_emit: %s\n", sf_wire_strerror(n));
			exit(1);
		}
		s->len = (size_t)n;
		return;
	}
	if (seg->payload_len > sizeof(s->data)) {
		fprintf(stderr, "synfin_bench: segment of %zu octets\n", seg->payload_len);
		exit(1);
	}
	s->seg = *seg;
	if (seg->payload_len > 0)
		memcpy(s->data, seg->payload, seg->payload_len);
	s->seg.payload = s->data;
}

/* Deliver everything in flight, including what the deliveries provoke.
 * Returns the number of segments delivered. */
static uint64_t pump(bench *b)
{
	uint64_t n = 0;

	while (b->head != b->tail) {
		slot *s = &b->queue[b->head];
		sf_stack *to = b->sides[s->to].stack;

		if (b->path == PATH_CODEC) {
			int rc = sf_input_packet(to, s->data, s->len);

			if (rc != 0) {
				fprintf(stderr, "synfin_bench: sf_input_packet: %s\n",
					sf_wire_strerror(rc));
				exit(1);
			}
		} else {
			sf_input(to, &s->seg);
		}
		b->head = (b->head + 1) % QUEUE_SLOTS;
		n++;
	}
	b->delivered += n;
	return n;
}

static void tick_both(bench *b, uint64_t now)
{
	b->now = now;
	sf_tick(b->sides[0].stack, now);
	sf_tick(b->sides[1].stack, now);
}

/* ---- Setup. ---- */

static void bench_init(bench *b, path p)
{
	memset(b, 0, sizeof(*b));
	b->path = p;
	b->queue = calloc(QUEUE_SLOTS, sizeof(slot));
	if (b->queue == NULL)
		die("calloc", -ENOMEM);
	for (int i = 0; i < 2; i++) {
		side *sd = &b->sides[i];
		sf_config cfg;
		sf_env env;

		sd->b = b;
		sd->index = i;
		/* A fixed key: the benchmark is deterministic like the engine. */
		for (int k = 0; k < 16; k++)
			sd->isn.key[k] = (uint8_t)(k * 37 + i);
		sf_config_default(&cfg);
		cfg.local4 = sf_addr_v4(10, 0, 0, (uint8_t)(1 + i));
		memset(&env, 0, sizeof(env));
		env.ctx = sd;
		env.output = on_output;
		env.isn.next = sf_isn_rfc6528_next;
		env.isn.self = &sd->isn;
		sd->stack = sf_stack_new(&cfg, &env);
		if (sd->stack == NULL)
			die("sf_stack_new", -ENOMEM);
	}
}

static void bench_free(bench *b)
{
	sf_stack_free(b->sides[0].stack);
	sf_stack_free(b->sides[1].stack);
	free(b->queue);
}

static void check_invariants(bench *b, const char *when)
{
	char why[256];

	for (int i = 0; i < 2; i++) {
		if (sf_check_invariants(b->sides[i].stack, why, sizeof(why)) != 0) {
			fprintf(stderr, "synfin_bench: invariant broken in stack %c %s: %s\n",
				'A' + i, when, why);
			exit(1);
		}
	}
}

static sf_endpoint server_endpoint(void)
{
	sf_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.addr = sf_addr_v4(10, 0, 0, 2);
	ep.port = SERVER_PORT;
	return ep;
}

static int server_listen(bench *b)
{
	sf_stack *srv = b->sides[1].stack;
	sf_endpoint ep = server_endpoint();
	int ls = sf_socket(srv, SF_AF_INET), rc;

	if (ls < 0)
		die("sf_socket (server)", ls);
	rc = sf_bind(srv, ls, &ep);
	if (rc < 0)
		die("sf_bind", rc);
	rc = sf_listen(srv, ls, BACKLOG);
	if (rc < 0)
		die("sf_listen", rc);
	return ls;
}

/* Connect A to B and accept on B; returns the two handles. */
static void open_connection(bench *b, int ls, int *client, int *server)
{
	sf_stack *cli = b->sides[0].stack, *srv = b->sides[1].stack;
	sf_endpoint ep = server_endpoint();
	int c = sf_socket(cli, SF_AF_INET), rc;

	if (c < 0)
		die("sf_socket (client)", c);
	rc = sf_connect(cli, c, &ep);
	if (rc != -EINPROGRESS && rc != 0)
		die("sf_connect", rc);
	pump(b);
	rc = sf_accept(srv, ls, NULL);
	if (rc < 0)
		die("sf_accept after the handshake", rc);
	*client = c;
	*server = rc;
}

/* ---- Handshake + close cycles. ---- */

/*
 * One cycle: connect, accept, the client closes (FIN-WAIT-1/2, then
 * TIME-WAIT), the server reads the end of stream and closes (CLOSE-WAIT,
 * LAST-ACK, CLOSED). Then the virtual clock moves on.
 */
static void cycle(bench *b, int ls, uint64_t step_us)
{
	sf_stack *cli = b->sides[0].stack, *srv = b->sides[1].stack;
	uint8_t byte;
	int c, s, rc;
	ssize_t n;

	open_connection(b, ls, &c, &s);
	rc = sf_close(cli, c);
	if (rc < 0)
		die("sf_close (client)", rc);
	pump(b);
	n = sf_recv(srv, s, &byte, 1);
	if (n != 0)
		die("sf_recv at the client's FIN (expected end of stream)", (int)n);
	rc = sf_close(srv, s);
	if (rc < 0)
		die("sf_close (server)", rc);
	pump(b);
	tick_both(b, b->now + step_us);
}

static double run_cycles(path p, uint64_t cycles, uint64_t step_us, bool checks)
{
	bench b;
	int ls;
	double t0, dt;
	sf_stats st;

	bench_init(&b, p);
	ls = server_listen(&b);
	t0 = seconds_now();
	for (uint64_t i = 0; i < cycles; i++) {
		cycle(&b, ls, step_us);
		if (checks)
			check_invariants(&b, "after a cycle");
	}
	dt = seconds_now() - t0;
	check_invariants(&b, "after the cycles");
	sf_get_stats(b.sides[1].stack, &st);
	if (st.conns_closed < cycles) {
		fprintf(stderr, "synfin_bench: server closed %" PRIu64 " of %" PRIu64
			" connections\n", st.conns_closed, cycles);
		exit(1);
	}
	bench_free(&b);
	return (double)cycles / dt;
}

/* ---- Bulk transfer. ---- */

typedef struct bulk_result {
	double segs_per_s;
	double bytes_per_s;
	uint64_t segs;
	uint64_t bytes;
	uint64_t acks;
} bulk_result;

/* Read everything the server has, checking the byte pattern. */
static uint64_t drain_server(bench *b, int s, uint64_t offset)
{
	static uint8_t buf[65536];
	sf_stack *srv = b->sides[1].stack;
	uint64_t got = 0;

	for (;;) {
		ssize_t n = sf_recv(srv, s, buf, sizeof(buf));

		if (n == -EAGAIN)
			return got;
		if (n <= 0)
			die("sf_recv during the bulk transfer", (int)n);
		for (ssize_t i = 0; i < n; i += 997) {
			if (buf[i] != (uint8_t)((offset + got + (uint64_t)i) % 251)) {
				fprintf(stderr, "synfin_bench: data corrupted at offset %" PRIu64 "\n",
					offset + got + (uint64_t)i);
				exit(1);
			}
		}
		got += (uint64_t)n;
	}
}

static bulk_result run_bulk(path p, uint64_t total, bool checks)
{
	static uint8_t pattern[65536 + 251];
	bench b;
	bulk_result r;
	int ls, c, s, stalls = 0;
	uint64_t sent = 0, received = 0;
	double t0, dt;

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % 251);
	bench_init(&b, p);
	ls = server_listen(&b);
	open_connection(&b, ls, &c, &s);
	b.sides[0].data_segs_out = 0;
	b.sides[0].data_bytes_out = 0;
	b.sides[1].segs_out = 0;

	t0 = seconds_now();
	while (received < total) {
		uint64_t want = total - sent;
		ssize_t n = 0;
		uint64_t moved;

		if (want > 0) {
			n = sf_send(b.sides[0].stack, c, pattern + sent % 251,
				    want < 65536 ? (size_t)want : 65536);
			if (n < 0 && n != -EAGAIN)
				die("sf_send", (int)n);
			if (n > 0)
				sent += (uint64_t)n;
		}
		moved = pump(&b);
		received += drain_server(&b, s, received);
		/* Reading opened the window: the window update goes out now. */
		moved += pump(&b);
		if (checks)
			check_invariants(&b, "during the bulk transfer");
		if (n <= 0 && moved == 0) {
			/* Nothing moved: only a timer can help (it should not be
			 * needed with a loss-free path, so count it). */
			uint64_t next_a = sf_next_timer(b.sides[0].stack);
			uint64_t next_b = sf_next_timer(b.sides[1].stack);
			uint64_t next = next_a < next_b ? next_a : next_b;

			if (next == UINT64_MAX || ++stalls > 100) {
				fprintf(stderr, "synfin_bench: bulk transfer stalled at %" PRIu64
					" of %" PRIu64 " bytes\n", received, total);
				exit(1);
			}
			tick_both(&b, next);
		} else {
			tick_both(&b, b.now + BULK_STEP_US);
		}
	}
	dt = seconds_now() - t0;
	check_invariants(&b, "after the bulk transfer");
	memset(&r, 0, sizeof(r));
	r.segs = b.sides[0].data_segs_out;
	r.bytes = received;
	r.acks = b.sides[1].segs_out;
	r.segs_per_s = (double)r.segs / dt;
	r.bytes_per_s = (double)r.bytes / dt;
	if (stalls > 0)
		fprintf(stderr, "synfin_bench: note: %d timer waits during the bulk transfer\n",
			stalls);
	bench_free(&b);
	return r;
}

/* ---- Codec alone. ---- */

typedef struct codec_result {
	double parse_per_s, emit_per_s;
	size_t len;
} codec_result;

/* Emit and parse one segment shape many times. The sink keeps the compiler
 * from dropping the work. */
static codec_result run_codec(const sf_segment *seg, uint64_t iters)
{
	static uint8_t buf[SF_MAX_PACKET];
	codec_result r;
	sf_segment out;
	volatile uint64_t sink = 0;
	double t0, dt;
	int n = sf_wire_emit(seg, NULL, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "synfin_bench: sf_wire_emit: %s\n", sf_wire_strerror(n));
		exit(1);
	}
	r.len = (size_t)n;
	t0 = seconds_now();
	for (uint64_t i = 0; i < iters; i++) {
		if (sf_wire_parse(buf, (size_t)n, &out) != 0) {
			fprintf(stderr, "synfin_bench: own packet did not parse\n");
			exit(1);
		}
		sink += out.seq;
	}
	dt = seconds_now() - t0;
	r.parse_per_s = (double)iters / dt;
	t0 = seconds_now();
	for (uint64_t i = 0; i < iters; i++) {
		sf_segment s = *seg;

		s.seq += (uint32_t)i;
		sink += (uint64_t)sf_wire_emit(&s, NULL, buf, sizeof(buf));
	}
	dt = seconds_now() - t0;
	r.emit_per_s = (double)iters / dt;
	(void)sink;
	return r;
}

static sf_segment codec_segment(size_t payload_len, bool syn)
{
	static uint8_t payload[1460];
	sf_segment s;

	memset(&s, 0, sizeof(s));
	s.src = sf_addr_v4(10, 0, 0, 1);
	s.dst = sf_addr_v4(10, 0, 0, 2);
	s.sport = 40000;
	s.dport = SERVER_PORT;
	s.seq = 1;
	s.ack = 2;
	s.window = 65535;
	s.flags = syn ? SF_SYN : SF_ACK | SF_PSH;
	s.opts.has_ts = true;
	s.opts.ts_val = 12345;
	if (syn) {
		s.opts.has_mss = true;
		s.opts.mss = 1460;
		s.opts.sack_permitted = true;
		s.opts.has_wscale = true;
		s.opts.wscale = 7;
	}
	s.opt_len = (uint8_t)sf_opts_encode(&s.opts, s.opt_raw);
	s.payload = payload;
	s.payload_len = payload_len > sizeof(payload) ? sizeof(payload) : payload_len;
	return s;
}

/* ---- Main. ---- */

typedef struct options {
	bool quick;
	uint64_t cycles;
	uint64_t bytes;
	uint64_t codec_iters;
	uint64_t cycle_step_us;
} options;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: synfin_bench [--quick] [--cycles N] [--bytes N] [--codec-iters N]\n"
		"                    [--cycle-step-us N]\n"
		"  --quick            a short smoke run (checks invariants after every step)\n"
		"  --cycles N         handshake+close cycles per path (default 200000)\n"
		"  --bytes N          bytes of the bulk transfer per path (default 1000000000)\n"
		"  --codec-iters N    parse and emit calls per segment shape (default 2000000)\n"
		"  --cycle-step-us N  virtual time between cycles (default 1000: TIME-WAIT\n"
		"                     entries pile up to their cap; 61000000: none is left)\n");
}

static uint64_t parse_count(const char *flag, const char *text)
{
	char *end;
	unsigned long long v;

	if (text == NULL) {
		fprintf(stderr, "synfin_bench: %s needs a number\n", flag);
		exit(2);
	}
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v == 0 || text[0] == '-') {
		fprintf(stderr, "synfin_bench: %s wants a positive whole number, not \"%s\"\n",
			flag, text);
		exit(2);
	}
	return (uint64_t)v;
}

static options parse_args(int argc, char **argv)
{
	options o = {false, 200000, 1000000000, 2000000, CYCLE_STEP_US};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--quick") == 0) {
			o.quick = true;
			o.cycles = 2000;
			o.bytes = 10000000;
			o.codec_iters = 20000;
		} else if (strcmp(a, "--cycles") == 0) {
			o.cycles = parse_count(a, i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(a, "--bytes") == 0) {
			o.bytes = parse_count(a, i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(a, "--cycle-step-us") == 0) {
			o.cycle_step_us = parse_count(a, i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(a, "--codec-iters") == 0) {
			o.codec_iters = parse_count(a, i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "synfin_bench: unknown argument \"%s\"\n", a);
			usage(stderr);
			exit(2);
		}
	}
	return o;
}

/* A --quick run checks invariants after every step, so its rates say
 * nothing about the goals. */
static bool quick_run;

static const char *goal(double value, double target)
{
	if (quick_run)
		return "smoke run, not measured against the goal";
	return value >= target ? "goal met" : "BELOW GOAL";
}

int main(int argc, char **argv)
{
	options o = parse_args(argc, argv);
	static const path paths[] = {PATH_DIRECT, PATH_CODEC};
	static const char *const names[] = {"direct", "codec"};
	sf_mem_info mem;
	bench b;

	quick_run = o.quick;
	bench_init(&b, PATH_DIRECT);
	sf_get_mem(b.sides[0].stack, &mem);
	bench_free(&b);
	printf("synfin_bench%s: two stacks back to back, virtual clock, one core\n",
	       o.quick ? " --quick" : "");
	printf("memory: connection control block %zu bytes (goal < 1024), "
	       "half-open entry %zu bytes (goal < 512)\n", mem.tcb_size, mem.half_open_size);

	for (size_t i = 0; i < 2; i++) {
		double cps = run_cycles(paths[i], o.cycles, o.cycle_step_us, o.quick);

		printf("handshake+close [%s]: %.0f cycles/s over %" PRIu64 " cycles, %" PRIu64
		       " us apart (%s: 200000)\n", names[i], cps, o.cycles, o.cycle_step_us,
		       goal(cps, 200000));
	}
	for (size_t i = 0; i < 2; i++) {
		bulk_result r = run_bulk(paths[i], o.bytes, o.quick);

		printf("bulk [%s]: %.0f segments/s, %.1f MB/s (%" PRIu64 " segments, %" PRIu64
		       " bytes, %" PRIu64 " ACKs) (%s: 1000000 segments/s)\n", names[i],
		       r.segs_per_s, r.bytes_per_s / 1e6, r.segs, r.bytes, r.acks,
		       goal(r.segs_per_s, 1000000));
	}
	{
		static const struct {
			const char *name;
			size_t payload;
			bool syn;
		} shapes[] = {{"SYN with options", 0, true},
			      {"ACK with timestamps", 0, false},
			      {"1460-byte data segment", 1460, false}};

		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
			sf_segment seg = codec_segment(shapes[i].payload, shapes[i].syn);
			codec_result r = run_codec(&seg, o.codec_iters);

			printf("codec %s (%zu octets): parse %.2f M/s, emit %.2f M/s\n",
			       shapes[i].name, r.len, r.parse_per_s / 1e6, r.emit_per_s / 1e6);
		}
	}
	return 0;
}
