/*
 * synfin-tap: run the synfin engine on a TAP device as a device under test.
 *
 *   synfin-tap --tap NAME --ip 192.0.2.2 --mac 02:00:5f:c0:00:02
 *              [--peer-ip IP --peer-mac MAC] [--control stdio|unix:PATH|tcp:HOST:PORT]
 *              [--pcap FILE] [--drop P --dup P --reorder P --corrupt P --seed N]
 *              [timer settings] [--isn-key HEX] [--verbose]
 *
 * One thread, one poll loop: the TAP device, the control channel and the
 * engine's next timer (sf_next_timer()) decide when it wakes up. The clock
 * is CLOCK_MONOTONIC, read here and handed to the engine with sf_tick();
 * the engine itself never reads a clock. See README.md in this folder.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"

/* Everything the command line sets. */
struct options {
	const char *tap;
	sf_addr ip, ip6, peer_ip6;
	bool have_ip6, have_peer_ip6, have_mss, check;
	bool have_ip, have_mac, have_peer_ip, have_peer_mac, have_isn_key, verbose;
	uint8_t mac[6], peer_mac[6];
	sf_addr peer_ip;
	const char *control;
	const char *pcap;
	tap_fault_cfg faults;
	sf_isn_rfc6528 isn;
	sf_config cfg;
};

/* The control channel: requests in, replies out. */
struct control {
	int in_fd;
	FILE *out;
	bool eof;
	char *buf;
	size_t len, cap;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fputs("usage: synfin-tap --tap NAME --ip ADDR --mac MAC [options]\n"
	      "  --ip6 ADDR                  our IPv6 address (neighbour discovery answered)\n"
	      "  --peer-ip ADDR [--peer-ip6 ADDR] --peer-mac MAC  static neighbour entry\n"
	      "                              (else learnt by ARP / neighbour discovery)\n"
	      "  --control stdio|unix:PATH|tcp:HOST:PORT  agent protocol channel (default stdio)\n"
	      "  --pcap FILE                 capture every frame sent and received\n"
	      "  --drop P --dup P --reorder P --corrupt P  link faults, probabilities in [0,1]\n"
	      "  --seed N --reorder-ms MS --fault-dir rx|tx|both  (defaults 0, 20, both)\n"
	      "  --isn-key HEX32             RFC 6528 key (default: from getrandom())\n"
	      "  --syn-retries N --synack-retries N --retries2 N\n"
	      "  --fin-timeout S --time-wait S --keepalive-time S --keepalive-intvl S\n"
	      "  --keepalive-probes N --invalid-ratelimit MS --challenge-ack-limit N\n"
	      "  --rfc1337 0|1 --rto-min-ms MS --rto-initial-ms MS --rto-max-ms MS\n"
	      "  --somaxconn N --mss N --sndbuf N --rcvbuf N --port-range LO-HI\n"
	      "  --check                     check the engine's invariants after every event;\n"
	      "                              abort with the violation on stderr\n"
	      "  --verbose                   log settings, the ISN key and counters on stderr\n",
	      f);
}

/* Option ids past the single-letter range. */
enum {
	O_TAP = 256, O_IP, O_MAC, O_PEER_IP, O_PEER_MAC, O_CONTROL, O_PCAP, O_DROP, O_DUP,
	O_REORDER, O_CORRUPT, O_SEED, O_REORDER_MS, O_FAULT_DIR, O_ISN_KEY, O_SYN_RETRIES,
	O_SYNACK_RETRIES, O_RETRIES2, O_FIN_TIMEOUT, O_TIME_WAIT, O_KA_TIME, O_KA_INTVL,
	O_KA_PROBES, O_INVALID_RL, O_CHALLENGE, O_RFC1337, O_RTO_MIN, O_RTO_INIT, O_RTO_MAX,
	O_SOMAXCONN, O_MSS, O_SNDBUF, O_RCVBUF, O_PORT_RANGE, O_IP6, O_PEER_IP6, O_CHECK,
};

static const struct option long_opts[] = {
	{ "tap", required_argument, 0, O_TAP },
	{ "ip", required_argument, 0, O_IP },
	{ "mac", required_argument, 0, O_MAC },
	{ "peer-ip", required_argument, 0, O_PEER_IP },
	{ "peer-mac", required_argument, 0, O_PEER_MAC },
	{ "ip6", required_argument, 0, O_IP6 },
	{ "peer-ip6", required_argument, 0, O_PEER_IP6 },
	{ "control", required_argument, 0, O_CONTROL },
	{ "pcap", required_argument, 0, O_PCAP },
	{ "drop", required_argument, 0, O_DROP },
	{ "dup", required_argument, 0, O_DUP },
	{ "reorder", required_argument, 0, O_REORDER },
	{ "corrupt", required_argument, 0, O_CORRUPT },
	{ "seed", required_argument, 0, O_SEED },
	{ "reorder-ms", required_argument, 0, O_REORDER_MS },
	{ "fault-dir", required_argument, 0, O_FAULT_DIR },
	{ "isn-key", required_argument, 0, O_ISN_KEY },
	{ "syn-retries", required_argument, 0, O_SYN_RETRIES },
	{ "synack-retries", required_argument, 0, O_SYNACK_RETRIES },
	{ "retries2", required_argument, 0, O_RETRIES2 },
	{ "fin-timeout", required_argument, 0, O_FIN_TIMEOUT },
	{ "time-wait", required_argument, 0, O_TIME_WAIT },
	{ "keepalive-time", required_argument, 0, O_KA_TIME },
	{ "keepalive-intvl", required_argument, 0, O_KA_INTVL },
	{ "keepalive-probes", required_argument, 0, O_KA_PROBES },
	{ "invalid-ratelimit", required_argument, 0, O_INVALID_RL },
	{ "challenge-ack-limit", required_argument, 0, O_CHALLENGE },
	{ "rfc1337", required_argument, 0, O_RFC1337 },
	{ "rto-min-ms", required_argument, 0, O_RTO_MIN },
	{ "rto-initial-ms", required_argument, 0, O_RTO_INIT },
	{ "rto-max-ms", required_argument, 0, O_RTO_MAX },
	{ "somaxconn", required_argument, 0, O_SOMAXCONN },
	{ "mss", required_argument, 0, O_MSS },
	{ "sndbuf", required_argument, 0, O_SNDBUF },
	{ "rcvbuf", required_argument, 0, O_RCVBUF },
	{ "port-range", required_argument, 0, O_PORT_RANGE },
	{ "check", no_argument, 0, O_CHECK },
	{ "verbose", no_argument, 0, 'v' },
	{ "help", no_argument, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static int bad_value(const char *name, const char *value)
{
	fprintf(stderr, "synfin-tap: bad value for --%s: '%s'\n", name, value);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_prob(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_key(const char *s, uint8_t key[16])
{
	if (strlen(s) != 32)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		key[i] = (uint8_t)b;
	}
	return 0;
}

/* Timer and size settings: each maps one Linux sysctl onto sf_config. */
static int set_config(struct options *o, int id, const char *arg, const char *name)
{
	sf_config *c = &o->cfg;
	uint64_t v, hi;

	if (id == O_PORT_RANGE) {
		unsigned lo, up;
		char tail;

		if (sscanf(arg, "%u-%u%c", &lo, &up, &tail) != 2 || lo == 0 || lo > up || up > 65535)
			return bad_value(name, arg);
		c->ephemeral_lo = (uint16_t)lo;
		c->ephemeral_hi = (uint16_t)up;
		return 0;
	}
	if (parse_u64(arg, UINT32_MAX, &v) < 0)
		return bad_value(name, arg);
	switch (id) {
	case O_SYN_RETRIES: c->syn_retries = (uint32_t)v; break;
	case O_SYNACK_RETRIES: c->synack_retries = (uint32_t)v; break;
	case O_RETRIES2: c->retries2 = (uint32_t)v; break;
	case O_FIN_TIMEOUT: c->fin_wait_2 = v * 1000000u; break;
	case O_TIME_WAIT: c->time_wait = v * 1000000u; break;
	case O_KA_TIME: c->keepalive_idle = v * 1000000u; break;
	case O_KA_INTVL: c->keepalive_intvl = v * 1000000u; break;
	case O_KA_PROBES: c->keepalive_probes = (uint32_t)v; break;
	case O_INVALID_RL: c->oow_ack_interval = v * 1000u; break;
	case O_CHALLENGE: c->challenge_ack_limit = (uint32_t)v; break;
	case O_RFC1337:
		if (v > 1)
			return bad_value(name, arg);
		c->rfc1337 = v == 1;
		break;
	case O_RTO_MIN: c->rto_min = v * 1000u; break;
	case O_RTO_INIT: c->rto_initial = v * 1000u; break;
	case O_RTO_MAX: c->rto_max = v * 1000u; break;
	case O_SOMAXCONN: c->max_backlog = (uint32_t)v; break;
	case O_MSS:
		hi = 65535;
		if (v < 88 || v > hi)
			return bad_value(name, arg);
		c->mss = (uint16_t)v;
		o->have_mss = true;
		break;
	case O_SNDBUF: c->sndbuf = (uint32_t)v; break;
	case O_RCVBUF: c->rcvbuf = (uint32_t)v; break;
	default: return -EINVAL;
	}
	return 0;
}

static int set_fault(struct options *o, int id, const char *arg, const char *name)
{
	tap_fault_cfg *f = &o->faults;
	uint64_t v;

	switch (id) {
	case O_DROP: return parse_prob(arg, &f->drop) < 0 ? bad_value(name, arg) : 0;
	case O_DUP: return parse_prob(arg, &f->dup) < 0 ? bad_value(name, arg) : 0;
	case O_REORDER: return parse_prob(arg, &f->reorder) < 0 ? bad_value(name, arg) : 0;
	case O_CORRUPT: return parse_prob(arg, &f->corrupt) < 0 ? bad_value(name, arg) : 0;
	case O_SEED:
		if (parse_u64(arg, UINT64_MAX, &f->seed) < 0)
			return bad_value(name, arg);
		return 0;
	case O_REORDER_MS:
		if (parse_u64(arg, 60000, &v) < 0)
			return bad_value(name, arg);
		f->reorder_us = v * 1000u;
		return 0;
	case O_FAULT_DIR:
		if (!strcmp(arg, "rx"))
			f->dirs = TAP_DIR_RX;
		else if (!strcmp(arg, "tx"))
			f->dirs = TAP_DIR_TX;
		else if (!strcmp(arg, "both"))
			f->dirs = TAP_DIR_RX | TAP_DIR_TX;
		else
			return bad_value(name, arg);
		return 0;
	default:
		return -EINVAL;
	}
}

static int set_address(struct options *o, int id, const char *arg, const char *name)
{
	switch (id) {
	case O_TAP: o->tap = arg; return 0;
	case O_IP:
		o->have_ip = sf_addr_parse(arg, &o->ip) == 0 && o->ip.family == SF_AF_INET;
		return o->have_ip ? 0 : bad_value(name, arg);
	case O_MAC:
		o->have_mac = tap_parse_mac(arg, o->mac) == 0;
		return o->have_mac ? 0 : bad_value(name, arg);
	case O_PEER_IP:
		o->have_peer_ip = sf_addr_parse(arg, &o->peer_ip) == 0 &&
				  o->peer_ip.family == SF_AF_INET;
		return o->have_peer_ip ? 0 : bad_value(name, arg);
	case O_PEER_MAC:
		o->have_peer_mac = tap_parse_mac(arg, o->peer_mac) == 0;
		return o->have_peer_mac ? 0 : bad_value(name, arg);
	case O_IP6:
		o->have_ip6 = sf_addr_parse(arg, &o->ip6) == 0 && o->ip6.family == SF_AF_INET6;
		return o->have_ip6 ? 0 : bad_value(name, arg);
	case O_PEER_IP6:
		o->have_peer_ip6 = sf_addr_parse(arg, &o->peer_ip6) == 0 &&
				   o->peer_ip6.family == SF_AF_INET6;
		return o->have_peer_ip6 ? 0 : bad_value(name, arg);
	case O_CONTROL: o->control = arg; return 0;
	case O_PCAP: o->pcap = arg; return 0;
	case O_ISN_KEY:
		o->have_isn_key = parse_key(arg, o->isn.key) == 0;
		return o->have_isn_key ? 0 : bad_value(name, arg);
	default:
		return -EINVAL;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c, idx;

	memset(o, 0, sizeof(*o));
	sf_config_default(&o->cfg);
	o->control = "stdio";
	o->faults.reorder_us = 20000;
	o->faults.dirs = TAP_DIR_RX | TAP_DIR_TX;
	while ((c = getopt_long(argc, argv, "vh", long_opts, &idx)) != -1) {
		const char *name = c >= 256 ? long_opts[idx].name : "";
		int rc = 0;

		if (c == 'v')
			o->verbose = true;
		else if (c == O_CHECK)
			o->check = true;
		else if (c == 'h')
			return usage(stdout), 1;
		else if (c >= O_TAP && c <= O_PCAP)
			rc = set_address(o, c, optarg, name);
		else if (c >= O_DROP && c <= O_FAULT_DIR)
			rc = set_fault(o, c, optarg, name);
		else if (c == O_ISN_KEY || c == O_IP6 || c == O_PEER_IP6)
			rc = set_address(o, c, optarg, name);
		else if (c >= O_SYN_RETRIES && c <= O_PORT_RANGE)
			rc = set_config(o, c, optarg, name);
		else
			return usage(stderr), -EINVAL;
		if (rc < 0)
			return rc;
	}
	if (optind < argc || !o->tap || !o->have_ip || !o->have_mac) {
		fputs("synfin-tap: --tap, --ip and --mac are required\n", stderr);
		usage(stderr);
		return -EINVAL;
	}
	if ((o->have_peer_ip || o->have_peer_ip6) != o->have_peer_mac) {
		fputs("synfin-tap: --peer-ip/--peer-ip6 and --peer-mac go together\n", stderr);
		return -EINVAL;
	}
	if (strcmp(o->control, "stdio") && strncmp(o->control, "unix:", 5) &&
	    strncmp(o->control, "tcp:127.", 8)) {
		fprintf(stderr, "synfin-tap: bad --control '%s': use stdio, unix:PATH or "
			"tcp:127.0.0.1:PORT (loopback only)\n", o->control);
		return -EINVAL;
	}
	o->cfg.local4 = o->ip;
	if (o->have_ip6)
		o->cfg.local6 = o->ip6;
	return 0;
}

/* ---- Control channel ---- */

/* Listen on a Unix or loopback TCP socket and accept the one client. */
static int control_accept(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int ls, fd = -1, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		if (strlen(spec + 5) >= sizeof(un->sun_path) || !spec[5])
			return -ENAMETOOLONG;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, spec + 5);
		unlink(un->sun_path);
		sl = sizeof(*un);
	} else {
		char host[64];
		unsigned port;
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		if (sscanf(spec, "tcp:%63[^:]:%u", host, &port) != 2 || port > 65535 ||
		    inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		/* The control channel stays on loopback (no other address is a target). */
		if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
			return -EADDRNOTAVAIL;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		sl = sizeof(*in);
	}
	ls = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&ss, sl) < 0 || listen(ls, 1) < 0) {
		fd = -errno;
		goto out;
	}
	fprintf(stderr, "synfin-tap: waiting for the control connection on %s\n", spec);
	fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fd = -errno;
out:
	close(ls);
	if (ss.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	return fd;
}

static int control_open(struct control *c, const char *spec)
{
	int fd;

	memset(c, 0, sizeof(*c));
	if (!strcmp(spec, "stdio")) {
		c->in_fd = 0;
		c->out = stdout;
		return 0;
	}
	if (strncmp(spec, "unix:", 5) && strncmp(spec, "tcp:", 4))
		return -EINVAL;
	fd = control_accept(spec);
	if (fd < 0)
		return fd;
	c->in_fd = fd;
	c->out = fdopen(dup(fd), "w");
	if (!c->out) {
		close(fd);
		return -errno;
	}
	return 0;
}

static void control_close(struct control *c)
{
	if (c->out && c->out != stdout)
		fclose(c->out);
	if (c->in_fd > 0)
		close(c->in_fd);
	free(c->buf);
}

/* Read what the control channel has; sets eof when it closed. */
static int control_read(struct control *c)
{
	ssize_t n;

	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		char *p = realloc(c->buf, cap);

		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->cap = cap;
	}
	n = read(c->in_fd, c->buf + c->len, c->cap - c->len - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		c->eof = true;
	c->len += (size_t)n;
	return 0;
}

/* Hand complete request lines to the agent, one at a time, while no
 * request is waiting for the stack (replies stay in request order). */
static void control_dispatch(struct control *c, tap_agent *a)
{
	char *nl;

	while (c->len && !a->pending.active && !a->quit && (nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;
		uint64_t now = tap_now_us();

		*nl = '\0';
		/* Timers that are due fire before the call, as they would have in
		 * a kernel that processed them on time. */
		sf_tick(a->stack, now);
		tap_agent_request(a, c->buf, now);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

/* ---- Setup and the loop ---- */

/* What the agent needs to replace the stack after a SYSCTL. */
struct rebuild_ctx {
	sf_env env;
	tap_link *link;
};

/* Replace the stack by a new one with cfg. Connections without a handle
 * (TIME-WAIT, orphans) of the old stack are dropped with it. */
static int rebuild_stack(void *ctx, const sf_config *cfg, sf_stack **stack_out)
{
	struct rebuild_ctx *r = ctx;
	sf_stack *fresh = sf_stack_new(cfg, &r->env);

	if (!fresh)
		return -ENOMEM;
	sf_tick(fresh, tap_now_us());
	sf_stack_free(r->link->stack);
	r->link->stack = fresh;
	*stack_out = fresh;
	return 0;
}

static int isn_key(struct options *o)
{
	if (!o->have_isn_key && getrandom(o->isn.key, sizeof(o->isn.key), 0) != sizeof(o->isn.key))
		return -errno;
	if (o->verbose) {
		fputs("synfin-tap: isn key ", stderr);
		for (size_t i = 0; i < sizeof(o->isn.key); i++)
			fprintf(stderr, "%02x", o->isn.key[i]);
		fputs(" (repeat with --isn-key)\n", stderr);
	}
	return 0;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* ppoll() timeout until `due` (absolute us), or NULL for none. */
static struct timespec *timeout_until(uint64_t due, uint64_t now, struct timespec *ts)
{
	uint64_t d;

	if (due == UINT64_MAX)
		return NULL;
	d = due > now ? due - now : 0;
	ts->tv_sec = (time_t)(d / 1000000u);
	ts->tv_nsec = (long)(d % 1000000u) * 1000;
	return ts;
}

static int run_loop(tap_link *l, struct control *c, tap_agent *a)
{
	sigset_t none;
	int rc = 0;

	sigemptyset(&none);
	while (!stop_signal && !a->quit && !c->eof) {
		struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN },
				       { .fd = c->in_fd, .events = POLLIN } };
		struct timespec ts;
		uint64_t now = tap_now_us(), due;

		sf_tick(a->stack, now);
		tap_link_timers(l, now);
		tap_agent_poll(a, now);
		control_dispatch(c, a);
		tap_check_stack(l, "a timer or a request");
		if (a->quit)
			break;
		due = min3(sf_next_timer(a->stack), tap_link_next_timer(l), tap_agent_next_timer(a));
		/* Signals are blocked except inside ppoll(), so none is lost
		 * between the check of stop_signal and the wait. */
		if (ppoll(p, 2, timeout_until(due, now, &ts), &none) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		now = tap_now_us();
		if (p[0].revents & (POLLIN | POLLERR)) {
			rc = tap_link_rx(l, now);
			if (rc < 0) {
				fprintf(stderr, "synfin-tap: TAP device: %s\n", strerror(-rc));
				break;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = control_read(c);
			if (rc < 0)
				break;
		}
	}
	return rc;
}

static void print_counters(const tap_link *l, sf_stack *stack)
{
	sf_stats st;

	sf_get_stats(stack, &st);
	fprintf(stderr,
		"synfin-tap: frames rx %llu tx %llu, tcp in %llu, ignored %llu, arp replies %llu, "
		"unresolved %llu; faults: dropped %llu dup %llu reordered %llu corrupted %llu; "
		"engine: segs in %llu out %llu, parse drops %llu, retransmits %llu\n",
		(unsigned long long)l->rx_frames, (unsigned long long)l->tx_frames,
		(unsigned long long)l->rx_tcp, (unsigned long long)l->rx_ignored,
		(unsigned long long)l->arp_replies, (unsigned long long)l->tx_unresolved,
		(unsigned long long)l->faults.dropped, (unsigned long long)l->faults.duplicated,
		(unsigned long long)l->faults.reordered, (unsigned long long)l->faults.corrupted,
		(unsigned long long)st.segs_in, (unsigned long long)st.segs_out,
		(unsigned long long)st.drops_parse, (unsigned long long)st.retransmits);
}

static void install_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A reply to a control peer that went away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

int main(int argc, char **argv)
{
	static tap_link lk; /* large (neighbour and fault tables): not on the stack */
	struct options o;
	struct control ctl = { .in_fd = -1 };
	tap_agent agent;
	struct rebuild_ctx rctx;
	sf_stack *stack = NULL;
	char info[512];
	int rc, status = 1;

	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : 2;
	lk.fd = -1;
	if (isn_key(&o) < 0) {
		fprintf(stderr, "synfin-tap: getrandom: %s\n", strerror(errno));
		return 1;
	}
	rc = tap_open(o.tap, &lk.fd);
	if (rc < 0) {
		fprintf(stderr, "synfin-tap: cannot open TAP device %s: %s%s\n", o.tap, strerror(-rc),
			rc == -EPERM ? " (needs CAP_NET_ADMIN: run as root)" : "");
		goto out;
	}
	/* Like Linux, advertise the MSS the link's MTU allows (RFC 6691 §2:
	 * MTU - 20 - 20) unless --mss says otherwise. */
	if (!o.have_mss && (rc = tap_mtu(o.tap)) > 40 + 88)
		o.cfg.mss = (uint16_t)(rc > 65535 ? 65535 - 40 : rc - 40);
	if (tap_wait_ready(o.tap, 5000000) < 0)
		fprintf(stderr, "synfin-tap: warning: %s is not forwarding after 5 s\n", o.tap);
	memcpy(lk.mac, o.mac, 6);
	lk.ip4 = o.ip;
	lk.verbose = o.verbose;
	lk.check = o.check;
	tap_faults_init(&lk.faults, &o.faults);
	lk.ip6 = o.ip6;
	lk.has_ip6 = o.have_ip6;
	if (o.have_peer_ip)
		tap_neigh_add(&lk, &o.peer_ip, o.peer_mac, true);
	if (o.have_peer_ip6)
		tap_neigh_add(&lk, &o.peer_ip6, o.peer_mac, true);
	if (o.pcap && (rc = tap_pcap_open(&lk.pcap, o.pcap)) < 0) {
		fprintf(stderr, "synfin-tap: cannot write %s: %s\n", o.pcap, strerror(-rc));
		goto out;
	}
	rctx.env = (sf_env){ .ctx = &lk, .output = tap_engine_output,
			     .isn = { .next = sf_isn_rfc6528_next, .self = &o.isn } };
	rctx.link = &lk;
	stack = sf_stack_new(&o.cfg, &rctx.env);
	if (!stack) {
		fputs("synfin-tap: out of memory\n", stderr);
		goto out;
	}
	lk.stack = stack;
	install_signals();
	rc = control_open(&ctl, o.control);
	if (rc < 0) {
		fprintf(stderr, "synfin-tap: control channel %s: %s\n", o.control,
			rc == -EADDRNOTAVAIL ? "a tcp: channel must be on loopback (127.0.0.0/8)"
			: rc == -EINVAL ? "use stdio, unix:PATH or tcp:127.0.0.1:PORT" : strerror(-rc));
		goto out;
	}
	tap_agent_info(&o.cfg, info, sizeof(info));
	if (o.verbose)
		fprintf(stderr, "synfin-tap: on %s, %s\n", o.tap, info);
	memset(&agent, 0, sizeof(agent));
	agent.stack = stack;
	agent.out = ctl.out;
	agent.cfg = o.cfg;
	agent.rebuild = rebuild_stack;
	agent.rebuild_ctx = &rctx;
	fputs("HELLO synfin-agent 1 synfin\n", ctl.out);
	fflush(ctl.out);
	rc = run_loop(&lk, &ctl, &agent);
	stack = agent.stack;
	if (stop_signal && o.verbose)
		fprintf(stderr, "synfin-tap: signal %d, exiting\n", (int)stop_signal);
	if (o.verbose)
		print_counters(&lk, stack);
	status = rc < 0 ? 1 : 0;
out:
	control_close(&ctl);
	if (stack)
		sf_stack_free(stack);
	tap_link_free(&lk);
	return status;
}
