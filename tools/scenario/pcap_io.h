/*
 * pcap input and output for synfin tools, through libpcap.
 *
 * Output: a classic pcap file of link type RAW (LINKTYPE_RAW, 101: every
 * record is a bare IPv4 or IPv6 packet), so that tcpdump, tshark and
 * Wireshark decode both directions with their real flags, sequence numbers,
 * options and checksums. Timestamps are the runner's virtual clock.
 *
 * Input: pcap or pcapng (libpcap reads both), of link type Ethernet (with
 * 802.1Q tags), RAW / IPv4 / IPv6, BSD loopback (NULL, LOOP) or Linux cooked
 * capture (SLL, SLL2). Packets are reduced to parsed TCP segments; checksums
 * are not verified, since captures on the sending host carry the partial
 * checksums of offloading NICs. Everything else is an error with a message.
 */
#ifndef SYNFIN_PCAP_IO_H
#define SYNFIN_PCAP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synfin/tcp.h"
#include "synfin/wire.h"

/* ---- Output ---- */

typedef struct sc_pcap_writer sc_pcap_writer;

/*
 * Create (truncate) path as a pcap file of link type RAW. Returns 0 or -1
 * with a message in err.
 */
int sc_pcap_open(const char *path, sc_pcap_writer **out, char *err, size_t cap);
/* Append one raw IP packet captured at time_us (microseconds). */
int sc_pcap_write(sc_pcap_writer *w, uint64_t time_us, const uint8_t *pkt, size_t len);
/* Emit seg with sf_wire_emit() (faults may be NULL) and append it. Returns 0 or -1. */
int sc_pcap_write_segment(sc_pcap_writer *w, uint64_t time_us, const sf_segment *seg,
			  const sf_emit_faults *faults);
/* Flush and close; NULL is fine. */
void sc_pcap_close(sc_pcap_writer *w);

/* ---- Input ---- */

/* One TCP packet from a capture, parsed. seg.payload points into `data`. */
typedef struct sc_cap_packet {
	uint64_t time_us;     /* capture timestamp */
	sf_segment seg;
	uint8_t *data;        /* owned copy of the IP packet */
	size_t wire_payload;  /* payload length from the IP header (seg may hold less
			       * if the capture was cut by its snap length) */
} sc_cap_packet;

/* Limits of what sc_capture_read() takes in (a whole capture is held in memory). */
#define SC_CAPTURE_MAX_PACKETS 1000000u
#define SC_CAPTURE_MAX_BYTES (256u << 20)

/* All TCP packets of a capture, in capture order. */
typedef struct sc_capture {
	sc_cap_packet *pkts;
	size_t count;
	size_t skipped;       /* frames that were not IPv4/IPv6 TCP, or were fragments */
	int linktype;         /* DLT_* of the file */
} sc_capture;

/*
 * Read every TCP packet of a pcap or pcapng file. Returns 0, or -1 with a
 * message in err for: a file that cannot be opened, an empty or truncated
 * file, an unsupported link type, a capture with no TCP packet at all, or
 * one over the limits above.
 */
int sc_capture_read(const char *path, sc_capture *cap, char *err, size_t errcap);
void sc_capture_free(sc_capture *cap);

/*
 * A TCP flow (a connection's two directions). The client is the side that
 * sent the first SYN without ACK; if the capture holds none, the sender of
 * the flow's first packet.
 */
typedef struct sc_flow {
	sf_endpoint client;
	sf_endpoint server;
	size_t first;         /* index of its first packet in the capture */
	size_t packets;
	bool saw_syn;         /* the client's SYN is in the capture */
} sc_flow;

/*
 * List the flows of a capture in order of first appearance. *flows is
 * malloc()ed (free() it). Returns the number of flows or -1 (out of memory).
 */
int sc_capture_flows(const sc_capture *cap, sc_flow **flows);

/* Does pkt belong to flow, and if so, did the client send it? */
bool sc_flow_match(const sc_flow *flow, const sf_segment *seg, bool *from_client);

/*
 * Pick a flow: index >= 0 selects by position; otherwise port > 0 selects
 * the first flow with that port on either side (and port2 > 0 requires the
 * other side's port too); with neither, the first flow. Returns the flow's
 * index or -1 with a message in err.
 */
int sc_flow_select(const sc_flow *flows, int nflows, int index, int port, int port2,
		   char *err, size_t cap);

/* ---- pcap -> scenario (synfin pcap2pkt) ---- */

struct sc_scenario;

/*
 * Make a scenario in which the engine plays one side of flow (the client if
 * engine_is_client, else the server) and the scenario plays the other:
 *   - setup calls: a listening socket (server), or a non-blocking connect
 *     (client), in packetdrill's conventions (fd 3, "..." addresses);
 *   - every packet of the other side becomes an inbound segment, every
 *     packet of the engine's side an expected outbound segment, with
 *     packetdrill-relative numbers and the capture's relative times;
 *   - accept() after the handshake, read() of the other side's new in-order
 *     data as it comes, write() before each new payload the engine's side
 *     sent, shutdown(SHUT_WR) before its first FIN.
 * Addresses and ports become the script defaults. Expected outbound
 * segments leave window and options unchecked ("<...>"), since another
 * stack's choices there are not errors. Returns 0 or -1 with err set.
 */
int sc_pcap_to_scenario(const sc_capture *cap, const sc_flow *flow, bool engine_is_client,
			const char *file, struct sc_scenario *out, char *err, size_t errcap);

#endif /* SYNFIN_PCAP_IO_H */
