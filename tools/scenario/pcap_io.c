/*
 * pcap input and output through libpcap (see pcap_io.h).
 */
#include "pcap_io.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Link types that are not in every libpcap's dlt.h under these names. */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#define SC_LINKTYPE_RAW 101 /* LINKTYPE_RAW as stored in files */

struct sc_pcap_writer {
	pcap_t *dead;
	pcap_dumper_t *dumper;
};

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* ---- Output ---- */

int sc_pcap_open(const char *path, sc_pcap_writer **out, char *err, size_t cap)
{
	sc_pcap_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w) {
		set_err(err, cap, "out of memory");
		return -1;
	}
	/* DLT_RAW: bare IPv4/IPv6 packets; libpcap writes LINKTYPE_RAW. */
	w->dead = pcap_open_dead(DLT_RAW, SF_MAX_PACKET);
	if (!w->dead) {
		set_err(err, cap, "libpcap: pcap_open_dead failed");
		free(w);
		return -1;
	}
	w->dumper = pcap_dump_open(w->dead, path);
	if (!w->dumper) {
		set_err(err, cap, "cannot write pcap %s: %s", path, pcap_geterr(w->dead));
		pcap_close(w->dead);
		free(w);
		return -1;
	}
	*out = w;
	return 0;
}

int sc_pcap_write(sc_pcap_writer *w, uint64_t time_us, const uint8_t *pkt, size_t len)
{
	struct pcap_pkthdr hdr;

	if (!w || len > SF_MAX_PACKET)
		return -1;
	memset(&hdr, 0, sizeof(hdr));
	hdr.ts.tv_sec = (time_t)(time_us / 1000000u);
	hdr.ts.tv_usec = (suseconds_t)(time_us % 1000000u);
	hdr.caplen = (bpf_u_int32)len;
	hdr.len = (bpf_u_int32)len;
	pcap_dump((u_char *)w->dumper, &hdr, pkt);
	return 0;
}

int sc_pcap_write_segment(sc_pcap_writer *w, uint64_t time_us, const sf_segment *seg,
			  const sf_emit_faults *faults)
{
	static const size_t cap = SF_MAX_PACKET + 64;
	uint8_t *buf = malloc(cap);
	int n, rc = -1;

	if (!buf)
		return -1;
	n = sf_wire_emit(seg, faults, buf, cap);
	if (n > 0)
		rc = sc_pcap_write(w, time_us, buf, (size_t)n);
	free(buf);
	return rc;
}

void sc_pcap_close(sc_pcap_writer *w)
{
	if (!w)
		return;
	if (w->dumper)
		pcap_dump_close(w->dumper);
	if (w->dead)
		pcap_close(w->dead);
	free(w);
}

/* ---- Input: link layer ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/*
 * Find the IP packet inside one frame of the given link type. Returns the
 * offset of the IP header, or -1 if the frame carries no IPv4/IPv6.
 */
static long ip_offset(int dlt, const uint8_t *f, size_t len)
{
	size_t off;
	uint16_t type;

	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		/* A 4-octet address family in host (NULL) or network (LOOP) order;
		 * the IP version nibble tells the rest, whatever the family code. */
		return len > 4 ? 4 : -1;
	case DLT_EN10MB:
		off = 12;
		if (len < 14)
			return -1;
		type = rd16(f + off);
		/* 802.1Q and 802.1ad tags, possibly stacked. */
		while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && len >= off + 6) {
			off += 4;
			type = rd16(f + off);
		}
		if (type != 0x0800 && type != 0x86dd)
			return -1;
		return (long)(off + 2);
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		type = rd16(f + 14);
		return (type == 0x0800 || type == 0x86dd) ? 16 : -1;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		type = rd16(f);
		return (type == 0x0800 || type == 0x86dd) ? 20 : -1;
	default:
		return -1;
	}
}

static bool linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_RAW: case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

/* ---- Input: IP layer ---- */

/* Where the TCP header starts in an IP packet, and the addresses. */
typedef struct ip_view {
	sf_addr src, dst;
	size_t tcp_off;
	size_t tcp_len;      /* from the IP header's length field */
	uint8_t ttl, tos;
	uint16_t ip_id;
	bool dont_frag;
} ip_view;

static int parse_ipv4(const uint8_t *p, size_t caplen, ip_view *v)
{
	size_t ihl, total;
	uint16_t frag;

	if (caplen < SF_IPV4_HDR_LEN)
		return -1;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = rd16(p + 2);
	frag = rd16(p + 6);
	if (ihl < SF_IPV4_HDR_LEN || caplen < ihl || total < ihl || p[9] != 6)
		return -1;
	/* A fragment (MF set or an offset) is not a whole segment. */
	if (frag & 0x3fff)
		return -1;
	v->src = sf_addr_v4(p[12], p[13], p[14], p[15]);
	v->dst = sf_addr_v4(p[16], p[17], p[18], p[19]);
	v->tcp_off = ihl;
	/* TSO captures carry a total length of 0; trust the capture then. */
	v->tcp_len = total ? total - ihl : caplen - ihl;
	v->ttl = p[8];
	v->tos = p[1];
	v->ip_id = rd16(p + 4);
	v->dont_frag = frag & 0x4000;
	return 0;
}

/* IPv6 extension headers that may sit before TCP (RFC 8200 §4). */
static bool ipv6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60;
}

static int parse_ipv6(const uint8_t *p, size_t caplen, ip_view *v)
{
	size_t off = SF_IPV6_HDR_LEN, plen;
	uint8_t nh;

	if (caplen < SF_IPV6_HDR_LEN)
		return -1;
	plen = rd16(p + 4);
	nh = p[6];
	while (ipv6_ext(nh)) {
		if (caplen < off + 8)
			return -1;
		nh = p[off];
		off += ((size_t)p[off + 1] + 1) * 8;
	}
	if (nh != 6 || off > caplen)
		return -1;
	memset(&v->src, 0, sizeof(v->src));
	memset(&v->dst, 0, sizeof(v->dst));
	v->src.family = v->dst.family = SF_AF_INET6;
	memcpy(v->src.bytes, p + 8, 16);
	memcpy(v->dst.bytes, p + 24, 16);
	v->tcp_off = off;
	v->tcp_len = plen ? (plen + SF_IPV6_HDR_LEN > off ? plen + SF_IPV6_HDR_LEN - off : 0)
			  : caplen - off;
	v->ttl = p[7];
	v->tos = (uint8_t)((rd16(p) >> 4) & 0xff);
	v->ip_id = 0;
	v->dont_frag = false;
	return 0;
}

/*
 * Turn one IP packet (ip[0..caplen)) into a parsed segment. The copy `ip`
 * must outlive pkt->seg (its payload points into it).
 */
static int parse_ip_tcp(uint8_t *ip, size_t caplen, sc_cap_packet *pkt)
{
	ip_view v;
	size_t avail, tcp_len, hdr;
	int rc;

	if (caplen < 1)
		return -1;
	if ((ip[0] >> 4) == 4)
		rc = parse_ipv4(ip, caplen, &v);
	else if ((ip[0] >> 4) == 6)
		rc = parse_ipv6(ip, caplen, &v);
	else
		return -1;
	if (rc < 0)
		return -1;
	avail = caplen - v.tcp_off;
	tcp_len = v.tcp_len < avail ? v.tcp_len : avail;
	if (tcp_len < SF_TCP_HDR_LEN)
		return -1;
	hdr = (size_t)(ip[v.tcp_off + 12] >> 4) * 4;
	if (sf_tcp_parse(ip + v.tcp_off, tcp_len, &v.src, &v.dst, false, &pkt->seg) < 0)
		return -1;
	pkt->seg.ttl = v.ttl;
	pkt->seg.tos = v.tos;
	pkt->seg.ip_id = v.ip_id;
	pkt->seg.dont_frag = v.dont_frag;
	pkt->wire_payload = v.tcp_len > hdr ? v.tcp_len - hdr : 0;
	return 0;
}

/* ---- Input: the file ---- */

static int append_packet(sc_capture *cap, size_t *alloc, const sc_cap_packet *p)
{
	if (cap->count == *alloc) {
		size_t n = *alloc ? *alloc * 2 : 64;
		sc_cap_packet *np = realloc(cap->pkts, n * sizeof(*np));

		if (!np)
			return -1;
		cap->pkts = np;
		*alloc = n;
	}
	cap->pkts[cap->count++] = *p;
	return 0;
}

/* Read one frame into cap; frames that are not TCP are counted as skipped. */
static int take_frame(sc_capture *cap, size_t *alloc, const struct pcap_pkthdr *h,
		      const uint8_t *frame)
{
	sc_cap_packet p;
	long off = ip_offset(cap->linktype, frame, h->caplen);
	size_t iplen;

	if (off < 0 || (size_t)off >= h->caplen) {
		cap->skipped++;
		return 0;
	}
	iplen = h->caplen - (size_t)off;
	memset(&p, 0, sizeof(p));
	p.data = malloc(iplen);
	if (!p.data)
		return -1;
	memcpy(p.data, frame + off, iplen);
	if (parse_ip_tcp(p.data, iplen, &p) < 0) {
		free(p.data);
		cap->skipped++;
		return 0;
	}
	p.time_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	if (append_packet(cap, alloc, &p) < 0) {
		free(p.data);
		return -1;
	}
	return 0;
}

/* libpcap says little for an empty file; say what it is. */
static bool file_is_empty(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

int sc_capture_read(const char *path, sc_capture *cap, char *err, size_t errcap)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *frame;
	size_t alloc = 0, bytes = 0;
	pcap_t *pc = NULL;
	int rc = -1, nx;

	memset(cap, 0, sizeof(*cap));
	if (file_is_empty(path)) {
		set_err(err, errcap, "%s: empty file (not a pcap or pcapng capture)", path);
		return -1;
	}
	pc = pcap_open_offline(path, perr);
	if (!pc) {
		set_err(err, errcap, "%s: not a readable pcap/pcapng capture: %s", path, perr);
		return -1;
	}
	cap->linktype = pcap_datalink(pc);
	if (!linktype_supported(cap->linktype)) {
		const char *name = pcap_datalink_val_to_name(cap->linktype);

		set_err(err, errcap,
			"%s: link type %d (%s) is not supported; use Ethernet, raw IP, "
			"loopback or Linux cooked captures",
			path, cap->linktype, name ? name : "unknown");
		goto out;
	}
	while ((nx = pcap_next_ex(pc, &h, &frame)) == 1) {
		if (take_frame(cap, &alloc, h, frame) < 0) {
			set_err(err, errcap, "out of memory");
			goto out;
		}
		bytes += h->caplen;
		if (cap->count > SC_CAPTURE_MAX_PACKETS || bytes > SC_CAPTURE_MAX_BYTES) {
			set_err(err, errcap,
				"%s: too large for synfin (over %u TCP packets or %u MiB); cut out "
				"the flow first, e.g. tshark -r IN -Y 'tcp.stream == N' -w OUT",
				path, SC_CAPTURE_MAX_PACKETS, SC_CAPTURE_MAX_BYTES >> 20);
			goto out;
		}
	}
	if (nx == PCAP_ERROR) {
		set_err(err, errcap, "%s: capture is damaged or truncated after %zu TCP packets: %s",
			path, cap->count, pcap_geterr(pc));
		goto out;
	}
	if (cap->count == 0) {
		set_err(err, errcap, "%s: the capture holds no IPv4/IPv6 TCP packet (%zu other frames)",
			path, cap->skipped);
		goto out;
	}
	rc = 0;
out:
	pcap_close(pc);
	if (rc < 0)
		sc_capture_free(cap);
	return rc;
}

void sc_capture_free(sc_capture *cap)
{
	for (size_t i = 0; i < cap->count; i++)
		free(cap->pkts[i].data);
	free(cap->pkts);
	memset(cap, 0, sizeof(*cap));
}

/* ---- Flows ---- */

static bool ep_eq(const sf_endpoint *e, const sf_addr *a, uint16_t port)
{
	return e->port == port && sf_addr_eq(&e->addr, a);
}

bool sc_flow_match(const sc_flow *flow, const sf_segment *seg, bool *from_client)
{
	if (ep_eq(&flow->client, &seg->src, seg->sport) && ep_eq(&flow->server, &seg->dst, seg->dport)) {
		*from_client = true;
		return true;
	}
	if (ep_eq(&flow->server, &seg->src, seg->sport) && ep_eq(&flow->client, &seg->dst, seg->dport)) {
		*from_client = false;
		return true;
	}
	return false;
}

/* A bare SYN says who the client is; flip the flow if we guessed wrong. */
static void flow_note(sc_flow *f, const sf_segment *seg, bool from_client)
{
	f->packets++;
	if (f->saw_syn || (seg->flags & (SF_SYN | SF_ACK)) != SF_SYN)
		return;
	if (!from_client) {
		sf_endpoint t = f->client;

		f->client = f->server;
		f->server = t;
	}
	f->saw_syn = true;
}

/*
 * Flows are found through a hash of the unordered 4-tuple (open addressing,
 * indexes into the flow array), so a capture with many flows takes linear
 * time, not flows x packets.
 */
typedef struct flow_index {
	int *slot;            /* flow index + 1, 0 = empty */
	size_t mask;
} flow_index;

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u; /* FNV-1a */
	return h;
}

/* The same hash for both directions: the two endpoints in a fixed order. */
static uint32_t tuple_hash(const sf_segment *s)
{
	uint32_t a = mix(mix(2166136261u, s->src.bytes, 16), (const uint8_t *)&s->sport, 2);
	uint32_t b = mix(mix(2166136261u, s->dst.bytes, 16), (const uint8_t *)&s->dport, 2);

	return a < b ? mix(a, (const uint8_t *)&b, 4) : mix(b, (const uint8_t *)&a, 4);
}

static int index_grow(flow_index *ix, const sc_flow *fl, int n)
{
	size_t size = ix->slot ? (ix->mask + 1) * 2 : 64;
	int *slot = calloc(size, sizeof(*slot));

	if (!slot)
		return -1;
	for (int j = 0; j < n; j++) {
		sf_segment key;
		size_t h;

		memset(&key, 0, sizeof(key));
		key.src = fl[j].client.addr;
		key.sport = fl[j].client.port;
		key.dst = fl[j].server.addr;
		key.dport = fl[j].server.port;
		for (h = tuple_hash(&key) & (size - 1); slot[h]; h = (h + 1) & (size - 1))
			;
		slot[h] = j + 1;
	}
	free(ix->slot);
	ix->slot = slot;
	ix->mask = size - 1;
	return 0;
}

/* The flow of s, or -1; *h is left at the free slot where it would go. */
static int index_find(const flow_index *ix, const sc_flow *fl, const sf_segment *s, size_t *h,
		      bool *fc)
{
	for (*h = tuple_hash(s) & ix->mask; ix->slot[*h]; *h = (*h + 1) & ix->mask)
		if (sc_flow_match(&fl[ix->slot[*h] - 1], s, fc))
			return ix->slot[*h] - 1;
	return -1;
}

static int add_flow(sc_flow **fl, int *alloc, int n, const sf_segment *s, size_t first)
{
	if (n == *alloc) {
		int na = *alloc ? *alloc * 2 : 8;
		sc_flow *nf = realloc(*fl, (size_t)na * sizeof(*nf));

		if (!nf)
			return -1;
		*fl = nf;
		*alloc = na;
	}
	memset(&(*fl)[n], 0, sizeof((*fl)[n]));
	(*fl)[n].client.addr = s->src;
	(*fl)[n].client.port = s->sport;
	(*fl)[n].server.addr = s->dst;
	(*fl)[n].server.port = s->dport;
	(*fl)[n].first = first;
	return 0;
}

int sc_capture_flows(const sc_capture *cap, sc_flow **flows)
{
	flow_index ix = {NULL, 0};
	sc_flow *fl = NULL;
	int n = 0, alloc = 0;

	*flows = NULL;
	if (index_grow(&ix, fl, 0) < 0)
		return -1;
	for (size_t i = 0; i < cap->count; i++) {
		const sf_segment *s = &cap->pkts[i].seg;
		bool fc = true;
		size_t h;
		int j = index_find(&ix, fl, s, &h, &fc);

		if (j < 0) {
			if (add_flow(&fl, &alloc, n, s, i) < 0)
				goto fail;
			ix.slot[h] = n + 1;
			j = n++;
			fc = true;
			/* Keep the table at most half full. */
			if ((size_t)n * 2 > ix.mask && index_grow(&ix, fl, n) < 0)
				goto fail;
		}
		flow_note(&fl[j], s, fc);
	}
	free(ix.slot);
	*flows = fl;
	return n;
fail:
	free(ix.slot);
	free(fl);
	return -1;
}

int sc_flow_select(const sc_flow *flows, int nflows, int index, int port, int port2,
		   char *err, size_t cap)
{
	if (nflows <= 0) {
		set_err(err, cap, "the capture holds no TCP flow");
		return -1;
	}
	if (index >= 0) {
		if (index >= nflows) {
			set_err(err, cap, "--flow %d: the capture has %d TCP flow%s (0..%d)", index,
				nflows, nflows == 1 ? "" : "s", nflows - 1);
			return -1;
		}
		return index;
	}
	if (port <= 0)
		return 0;
	for (int i = 0; i < nflows; i++) {
		int a = flows[i].client.port, b = flows[i].server.port;

		if ((a == port && (port2 <= 0 || b == port2)) ||
		    (b == port && (port2 <= 0 || a == port2)))
			return i;
	}
	if (port2 > 0)
		set_err(err, cap, "no TCP flow between ports %d and %d in the capture", port, port2);
	else
		set_err(err, cap, "no TCP flow with port %d in the capture", port);
	return -1;
}
