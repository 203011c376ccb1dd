/*
 * synfin-tap: the synfin engine on a TAP device, as a device under test.
 *
 * The runner owns everything the engine does not: a TAP file descriptor,
 * Ethernet, ARP and IPv4 framing, a real monotonic clock, a capture file,
 * fault injection on the link, and the DUT agent protocol of
 * conformance/AGENT.md on its control channel. This header is shared by the
 * runner's source files; it is not a public library interface.
 */
#ifndef SYNFIN_TAP_H
#define SYNFIN_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synfin/tcp.h"
#include "synfin/wire.h"

#define TAP_ETH_HLEN 14
#define TAP_ETH_P_IP 0x0800
#define TAP_ETH_P_ARP 0x0806
#define TAP_ETH_P_IPV6 0x86dd
/* Largest frame we read or write: an Ethernet header plus a 64 KB packet. */
#define TAP_MAX_FRAME (TAP_ETH_HLEN + SF_MAX_PACKET)

/* Current time on CLOCK_MONOTONIC, in microseconds (the engine's clock). */
uint64_t tap_now_us(void);

/* ---- Capture (a hand-written pcap writer, LINKTYPE_ETHERNET). ---- */

typedef struct tap_pcap {
	FILE *f;
} tap_pcap;

/* Create (truncate) path and write the pcap file header. 0 or -errno. */
int tap_pcap_open(tap_pcap *p, const char *path);
/* Append one frame stamped with the wall clock; flushed at once so that a
 * crashed runner still leaves a readable capture. No-op when not open. */
void tap_pcap_write(tap_pcap *p, const uint8_t *frame, size_t len);
void tap_pcap_close(tap_pcap *p);

/* ---- Fault injection (in the manner of smoltcp's FaultInjector). ---- */

/* Directions a fault applies to. */
enum { TAP_DIR_RX = 1, TAP_DIR_TX = 2 };

typedef struct tap_fault_cfg {
	double drop;         /* probability that a frame is lost */
	double dup;          /* probability that a frame is delivered twice */
	double reorder;      /* probability that a frame is held back */
	double corrupt;      /* probability that one bit of the frame is flipped */
	uint64_t reorder_us; /* how long a held-back frame waits */
	uint64_t seed;       /* the only source of the decisions: same seed, same faults */
	int dirs;            /* TAP_DIR_RX | TAP_DIR_TX */
} tap_fault_cfg;

/* A held-back frame. */
typedef struct tap_held {
	uint8_t *frame;
	size_t len;
	uint64_t due_us;
	int dir;
} tap_held;

#define TAP_MAX_HELD 64

typedef struct tap_faults {
	tap_fault_cfg cfg;
	uint64_t rng;
	tap_held held[TAP_MAX_HELD];
	int nheld;
	/* counters, printed at exit with --verbose */
	uint64_t dropped, duplicated, reordered, corrupted;
} tap_faults;

/* What to do with one frame; filled by tap_faults_decide(). */
typedef struct tap_fault_verdict {
	bool drop;
	int copies;        /* 1, or 2 for a duplicate */
	bool hold;         /* deliver after cfg.reorder_us instead of now */
	bool corrupt;
	size_t corrupt_bit; /* bit index into the frame, past the Ethernet header */
} tap_fault_verdict;

void tap_faults_init(tap_faults *f, const tap_fault_cfg *cfg);
/* True if any fault is configured for this direction. */
bool tap_faults_active(const tap_faults *f, int dir);
/* Draw the decisions for one frame of len octets. Always draws the same
 * number of random values, so a run is reproducible from its seed whatever
 * the probabilities are. */
void tap_faults_decide(tap_faults *f, int dir, size_t len, tap_fault_verdict *v);
/* Flip the chosen bit. */
void tap_faults_corrupt(uint8_t *frame, size_t len, size_t bit);
/* Keep a copy of a frame until now_us + reorder_us. 0 or -ENOMEM/-ENOSPC. */
int tap_faults_hold(tap_faults *f, int dir, const uint8_t *frame, size_t len, uint64_t now_us);
/* Earliest due time of a held frame, or UINT64_MAX. */
uint64_t tap_faults_next_due(const tap_faults *f);
void tap_faults_free(tap_faults *f);

/* ---- Link layer: TAP, Ethernet, ARP, IPv4. ---- */

#define TAP_MAX_NEIGH 16
#define TAP_MAX_QUEUED 16

typedef struct tap_neigh {
	sf_addr ip;
	uint8_t mac[6];
	bool is_static;
} tap_neigh;

/* A packet waiting for the ARP reply of its next hop. */
typedef struct tap_queued {
	sf_addr dst;
	uint8_t *pkt;
	size_t len;
	uint64_t first_us;
} tap_queued;

typedef struct tap_link {
	int fd;                 /* the TAP device, or -1 */
	uint8_t mac[6];         /* our MAC */
	sf_addr ip4;            /* our IPv4 address */
	sf_addr ip6;            /* our IPv6 address, if has_ip6 */
	bool has_ip6;
	tap_neigh neigh[TAP_MAX_NEIGH];
	int nneigh;
	tap_queued queued[TAP_MAX_QUEUED];
	int nqueued;
	uint64_t arp_next_us;   /* when to repeat ARP requests for queued packets */
	tap_pcap pcap;
	tap_faults faults;
	sf_stack *stack;        /* where TCP goes */
	bool verbose;
	bool check;             /* sf_check_invariants() after every event */
	/* counters */
	uint64_t rx_frames, tx_frames, rx_tcp, rx_ignored, arp_replies, tx_unresolved;
} tap_link;

/* Attach to the TAP device `name` (IFF_TAP | IFF_NO_PI, non-blocking). */
int tap_open(const char *name, int *fd_out);

/* The device's MTU, or -errno. */
int tap_mtu(const char *name);

/* Wait until the device carries frames (operstate up and, for a bridge
 * port, forwarding). 0 or -ETIMEDOUT. */
int tap_wait_ready(const char *name, uint64_t timeout_us);

/* Add a permanent neighbour entry (--peer-ip/--peer-mac). */
int tap_neigh_add(tap_link *l, const sf_addr *ip, const uint8_t mac[6], bool is_static);
/* Parse "02:00:5f:c0:00:02". 0 or -1. */
int tap_parse_mac(const char *text, uint8_t mac[6]);

/* Read and handle every frame the TAP device has ready (non-blocking).
 * Returns 0, or -errno on a fatal device error. */
int tap_link_rx(tap_link *l, uint64_t now_us);
/* Handle one received Ethernet frame (after rx faults). */
void tap_link_input(tap_link *l, uint8_t *frame, size_t len, uint64_t now_us);
/* Send one IP packet to its destination: resolves the next hop's MAC,
 * queues the packet behind an ARP request if it is unknown. */
void tap_link_send_ip(tap_link *l, const sf_addr *dst, const uint8_t *pkt, size_t len,
		      uint64_t now_us);
/* The next hop ip is at mac (ARP or ND told us): remember it, send what
 * waited for it. */
void tap_link_resolved(tap_link *l, const sf_addr *ip, const uint8_t mac[6], uint64_t now_us);
/* IPv6: one packet in (TCP to the engine, ND answered), and a Neighbor
 * Solicitation for target (nd6.c). */
void tap_ipv6_input(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us);
void tap_nd_solicit(tap_link *l, const sf_addr *target, uint64_t now_us);
/* Release held frames that are due and repeat ARP requests. */
void tap_link_timers(tap_link *l, uint64_t now_us);
/* Earliest time tap_link_timers() has work, or UINT64_MAX. */
uint64_t tap_link_next_timer(const tap_link *l);
/* Write a frame to the TAP device through the tx faults and the capture. */
void tap_link_tx_frame(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us);
void tap_link_free(tap_link *l);

/* With --check: run sf_check_invariants() and abort with the violation on
 * stderr, so the suite sees a dead DUT and the log says why. */
void tap_check_stack(const tap_link *l, const char *after);

/* The env.output callback: ctx is the tap_link. */
void tap_engine_output(void *ctx, const sf_segment *seg);

/* ---- The agent protocol (conformance/AGENT.md) on the engine. ---- */

/* Highest socket id the agent tracks (engine handles are small ints). */
#define TAP_MAX_SOCKS 1024

/* A request whose reply waits for the stack (ACCEPT, RECV, POLL). */
typedef struct tap_pending {
	bool active;
	int verb;          /* TAP_WAIT_* */
	int sd;
	int events;        /* SF_POLL* bits that complete the wait */
	long max;          /* RECV: largest read */
	uint64_t deadline_us;
} tap_pending;

enum { TAP_WAIT_ACCEPT = 1, TAP_WAIT_RECV, TAP_WAIT_POLL };

typedef struct tap_agent {
	sf_stack *stack;
	FILE *out;                         /* replies */
	unsigned char known[TAP_MAX_SOCKS]; /* handles the agent created */
	tap_pending pending;
	bool quit;                         /* QUIT was answered */
	/* The stack's configuration. SYSCTL changes it; the stack is then
	 * rebuilt through `rebuild` as soon as the agent holds no socket (at
	 * once, or at the next RESET), because sf_config is fixed for a
	 * stack's life. */
	sf_config cfg;
	bool cfg_dirty;
	int (*rebuild)(void *ctx, const sf_config *cfg, sf_stack **stack_out);
	void *rebuild_ctx;
} tap_agent;

/* The INFO line: the stack's timer settings, named after Linux's sysctls. */
void tap_agent_info(const sf_config *cfg, char *buf, size_t cap);

/*
 * Handle one request line (without its newline) at time now_us. The reply
 * is printed at once, or later by tap_agent_poll() if the request waits.
 */
void tap_agent_request(tap_agent *a, char *line, uint64_t now_us);
/* Finish a waiting request if its condition holds or its time is up. */
void tap_agent_poll(tap_agent *a, uint64_t now_us);
/* Deadline of the waiting request, or UINT64_MAX. */
uint64_t tap_agent_next_timer(const tap_agent *a);

#endif /* SYNFIN_TAP_H */
