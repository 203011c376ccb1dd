/*
 * pcap output and input (tools/scenario/pcap_io.c).
 *
 * Writes a handshake in both directions as a pcap, reads it back through
 * libpcap and checks every field; when tshark is installed (SYNFIN_TSHARK),
 * asks tshark for flags and raw sequence numbers too. Then reads a hand-made
 * pcapng and Ethernet/VLAN/cooked captures, and checks that every bad capture
 * (empty, truncated, garbage, other link type, no TCP) fails with a message.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "pcap_io.h"

static char tmpdir[512];

static const char *tmp_path(const char *name)
{
	static char buf[8][700];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ASSERT(f != NULL);
	ASSERT_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

static sf_segment make_seg(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
			   const uint8_t *payload, size_t plen)
{
	sf_segment s;

	memset(&s, 0, sizeof(s));
	s.src = from_client ? sf_addr_v4(192, 0, 2, 1) : sf_addr_v4(192, 168, 0, 1);
	s.dst = from_client ? sf_addr_v4(192, 168, 0, 1) : sf_addr_v4(192, 0, 2, 1);
	s.sport = from_client ? 40000 : 8080;
	s.dport = from_client ? 8080 : 40000;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.window = 29200;
	s.payload = payload;
	s.payload_len = plen;
	if (flags & SF_SYN) {
		s.opts.has_mss = true;
		s.opts.mss = 1460;
		s.opts.has_wscale = true;
		s.opts.wscale = 7;
		s.opts.sack_permitted = true;
		s.opt_len = (uint8_t)sf_opts_encode(&s.opts, s.opt_raw);
	}
	return s;
}

/* The handshake plus one data segment, as written and expected back. */
static const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};

static void build_flow(sf_segment segs[4])
{
	segs[0] = make_seg(true, SF_SYN, 1000, 0, NULL, 0);
	segs[1] = make_seg(false, SF_SYN | SF_ACK, 5000, 1001, NULL, 0);
	segs[2] = make_seg(true, SF_ACK, 1001, 5001, NULL, 0);
	segs[3] = make_seg(true, SF_ACK | SF_PSH, 1001, 5001, hello, sizeof(hello));
}

static void write_flow(const char *path)
{
	char err[256];
	sc_pcap_writer *w;
	sf_segment segs[4];

	build_flow(segs);
	ASSERT_EQ(sc_pcap_open(path, &w, err, sizeof(err)), 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(sc_pcap_write_segment(w, 1000000u + (uint64_t)i * 250000u, &segs[i], NULL), 0);
	sc_pcap_close(w);
}

static void test_write_read_back(void)
{
	const char *path = tmp_path("flow.pcap");
	sf_segment segs[4];
	sc_capture cap;
	sc_flow *flows;
	char err[256];
	bool fc;

	write_flow(path);
	build_flow(segs);
	ASSERT_EQ(sc_capture_read(path, &cap, err, sizeof(err)), 0);
	ASSERT_EQ(cap.linktype, DLT_RAW);
	ASSERT_EQ(cap.count, 4);
	for (int i = 0; i < 4; i++) {
		const sf_segment *g = &cap.pkts[i].seg;

		ASSERT_EQ(cap.pkts[i].time_us, 1000000u + (uint64_t)i * 250000u);
		ASSERT_EQ(g->seq, segs[i].seq);
		ASSERT_EQ(g->ack, segs[i].ack);
		ASSERT_EQ(g->flags, segs[i].flags);
		ASSERT_EQ(g->sport, segs[i].sport);
		ASSERT_EQ(g->window, segs[i].window);
		ASSERT_EQ(g->payload_len, segs[i].payload_len);
		ASSERT_EQ(g->opts.has_mss, segs[i].opts.has_mss);
		ASSERT_EQ(g->opts.mss, segs[i].opts.mss);
	}
	ASSERT_MEM_EQ(cap.pkts[3].seg.payload, hello, 5);
	ASSERT_EQ(sc_capture_flows(&cap, &flows), 1);
	ASSERT_EQ(flows[0].client.port, 40000);
	ASSERT_EQ(flows[0].server.port, 8080);
	ASSERT_EQ(flows[0].packets, 4);
	ASSERT(flows[0].saw_syn);
	ASSERT(sc_flow_match(&flows[0], &cap.pkts[1].seg, &fc));
	ASSERT(!fc);
	free(flows);
	sc_capture_free(&cap);
}

/* tshark must decode our file with the same flags and raw sequence numbers. */
static void test_tshark_reads_it(void)
{
	const char *tshark = getenv("SYNFIN_TSHARK");
	const char *path = tmp_path("flow_tshark.pcap");
	char cmd[1024], line[256];
	const char *want[4] = {"0x0002,1000,0", "0x0012,5000,1001", "0x0010,1001,5001",
			       "0x0018,1001,5001"};
	FILE *p;
	int n = 0;

	if (!tshark || !*tshark) {
		printf("(tshark not installed: libpcap read-back only)\n");
		return;
	}
	write_flow(path);
	snprintf(cmd, sizeof(cmd),
		 "%s -r %s -T fields -E separator=, -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw "
		 "-e tcp.checksum.status 2>/dev/null -o tcp.check_checksum:TRUE",
		 tshark, path);
	p = popen(cmd, "r");
	ASSERT(p != NULL);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		ASSERT(n < 4);
		/* tshark prints the ack of a segment without ACK as 0 or empty. */
		ASSERT(strncmp(line, want[n], strlen(want[n]) - (n == 0 ? 1 : 0)) == 0);
		/* Checksum status 1 is "Good" in tshark's field encoding (0 bad, 2 unverified). */
		ASSERT(strlen(line) > 2 && strcmp(line + strlen(line) - 2, ",1") == 0);
		n++;
	}
	ASSERT_EQ(pclose(p), 0);
	ASSERT_EQ(n, 4);
}

/* ---- hand-made captures of other formats ---- */

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

/* One IPv4 TCP SYN packet, as bytes. */
static int syn_packet(uint8_t *buf, size_t cap)
{
	sf_segment s = make_seg(true, SF_SYN, 77, 0, NULL, 0);

	return sf_wire_emit(&s, NULL, buf, cap);
}

/* A pcapng file: section header, one interface of link type `lt`, one EPB. */
static size_t make_pcapng(uint8_t *out, uint16_t lt, const uint8_t *frame, size_t flen)
{
	size_t n = 0, pad = (4 - flen % 4) % 4, epb = 32 + flen + pad;

	/* Section Header Block */
	put32le(out + n, 0x0a0d0d0a); put32le(out + n + 4, 28); put32le(out + n + 8, 0x1a2b3c4d);
	put16le(out + n + 12, 1); put16le(out + n + 14, 0);
	memset(out + n + 16, 0xff, 8); put32le(out + n + 24, 28);
	n += 28;
	/* Interface Description Block */
	put32le(out + n, 1); put32le(out + n + 4, 20); put16le(out + n + 8, lt);
	put16le(out + n + 10, 0); put32le(out + n + 12, 65535); put32le(out + n + 16, 20);
	n += 20;
	/* Enhanced Packet Block */
	put32le(out + n, 6); put32le(out + n + 4, (uint32_t)epb); put32le(out + n + 8, 0);
	put32le(out + n + 12, 0); put32le(out + n + 16, 1000);
	put32le(out + n + 20, (uint32_t)flen); put32le(out + n + 24, (uint32_t)flen);
	memcpy(out + n + 28, frame, flen);
	memset(out + n + 28 + flen, 0, pad);
	put32le(out + n + 28 + flen + pad, (uint32_t)epb);
	n += epb;
	return n;
}

/* A classic pcap file with one frame of link type lt. */
static size_t make_pcap(uint8_t *out, uint32_t lt, const uint8_t *frame, size_t flen)
{
	put32le(out, 0xa1b2c3d4); put16le(out + 4, 2); put16le(out + 6, 4);
	put32le(out + 8, 0); put32le(out + 12, 0); put32le(out + 16, 65535); put32le(out + 20, lt);
	put32le(out + 24, 1); put32le(out + 28, 0);
	put32le(out + 32, (uint32_t)flen); put32le(out + 36, (uint32_t)flen);
	memcpy(out + 40, frame, flen);
	return 40 + flen;
}

static void expect_one_syn(const char *path)
{
	sc_capture cap;
	char err[256];

	if (sc_capture_read(path, &cap, err, sizeof(err)) != 0)
		CHECK_FAIL_("%s: %s", path, err);
	ASSERT_EQ(cap.count, 1);
	ASSERT_EQ(cap.pkts[0].seg.seq, 77);
	ASSERT_EQ(cap.pkts[0].seg.flags, SF_SYN);
	ASSERT_EQ(cap.pkts[0].seg.opts.mss, 1460);
	sc_capture_free(&cap);
}

static void test_other_formats(void)
{
	uint8_t pkt[128], frame[256], file[512];
	int plen = syn_packet(pkt, sizeof(pkt));
	size_t n;

	ASSERT(plen > 0);
	/* pcapng, raw IP (LINKTYPE_RAW = 101) */
	n = make_pcapng(file, 101, pkt, (size_t)plen);
	write_file(tmp_path("raw.pcapng"), file, n);
	expect_one_syn(tmp_path("raw.pcapng"));

	/* Ethernet with an 802.1Q tag */
	memset(frame, 0x02, 12);
	frame[12] = 0x81; frame[13] = 0x00; frame[14] = 0; frame[15] = 5;
	frame[16] = 0x08; frame[17] = 0x00;
	memcpy(frame + 18, pkt, (size_t)plen);
	n = make_pcap(file, 1, frame, 18 + (size_t)plen);
	write_file(tmp_path("vlan.pcap"), file, n);
	expect_one_syn(tmp_path("vlan.pcap"));

	/* Linux cooked capture (LINKTYPE_LINUX_SLL = 113) in pcapng */
	memset(frame, 0, 16);
	frame[14] = 0x08; frame[15] = 0x00;
	memcpy(frame + 16, pkt, (size_t)plen);
	n = make_pcapng(file, 113, frame, 16 + (size_t)plen);
	write_file(tmp_path("sll.pcapng"), file, n);
	expect_one_syn(tmp_path("sll.pcapng"));
}

/* ---- bad captures ---- */

static void expect_error(const char *name, const void *data, size_t len, const char *needle)
{
	const char *path = tmp_path(name);
	sc_capture cap;
	char err[512] = "";

	write_file(path, data, len);
	ASSERT_EQ(sc_capture_read(path, &cap, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		CHECK_FAIL_("%s: message \"%s\" lacks \"%s\"", name, err, needle);
	ASSERT_EQ(cap.count, 0);
	printf("  %-16s -> %s\n", name, err);
}

static void test_bad_captures(void)
{
	uint8_t pkt[128], file[512], udp[28];
	int plen = syn_packet(pkt, sizeof(pkt));
	size_t n;
	sc_capture cap;
	char err[256];

	expect_error("empty.pcap", "", 0, "empty file");
	expect_error("garbage.pcap", "this is not a capture at all, just text\n", 40, "not a readable");
	n = make_pcap(file, 101, pkt, (size_t)plen);
	expect_error("short_hdr.pcap", file, 10, "not a readable");
	expect_error("truncated.pcap", file, n - 7, "truncated");
	n = make_pcap(file, 147, pkt, (size_t)plen); /* LINKTYPE_USER0 */
	expect_error("user0.pcap", file, n, "link type");
	n = make_pcap(file, 105, pkt, (size_t)plen); /* IEEE 802.11 */
	expect_error("wifi.pcap", file, n, "not supported");
	/* A UDP packet only. */
	memset(udp, 0, sizeof(udp));
	udp[0] = 0x45; udp[3] = 28; udp[8] = 64; udp[9] = 17;
	n = make_pcap(file, 101, udp, sizeof(udp));
	expect_error("udp_only.pcap", file, n, "no IPv4/IPv6 TCP");
	/* A header with no packets at all. */
	n = make_pcap(file, 101, pkt, 0);
	expect_error("no_packets.pcap", file, 24, "no IPv4/IPv6 TCP");
	/* pcapng cut in the middle of its packet block. */
	n = make_pcapng(file, 101, pkt, (size_t)plen);
	expect_error("truncated.pcapng", file, n - 9, "truncated");
	/* A file that does not exist. */
	ASSERT_EQ(sc_capture_read(tmp_path("does_not_exist.pcap"), &cap, err, sizeof(err)), -1);
	ASSERT(strstr(err, "does_not_exist") != NULL);
}

/* Many flows, answers interleaved and the first one seen from the server
 * side: each flow is found again (the flow table is hashed), both
 * directions land in one flow, and the SYN decides who the client is. */
static void test_many_flows(void)
{
	const char *path = tmp_path("many.pcap");
	sc_pcap_writer *w;
	sc_capture cap;
	sc_flow *fl;
	char err[256];
	int n;

	ASSERT_EQ(sc_pcap_open(path, &w, err, sizeof(err)), 0);
	for (int i = 0; i < 3000; i++) {
		sf_segment syn = make_seg(true, SF_SYN, (uint32_t)i, 0, NULL, 0);
		sf_segment sa = make_seg(false, SF_SYN | SF_ACK, 7, (uint32_t)i + 1, NULL, 0);

		syn.sport = sa.dport = (uint16_t)(1000 + i);
		if (i == 0) /* the server's answer comes first in the capture */
			ASSERT_EQ(sc_pcap_write_segment(w, 1, &sa, NULL), 0);
		ASSERT_EQ(sc_pcap_write_segment(w, 2, &syn, NULL), 0);
		if (i != 0)
			ASSERT_EQ(sc_pcap_write_segment(w, 3, &sa, NULL), 0);
	}
	sc_pcap_close(w);
	ASSERT_EQ(sc_capture_read(path, &cap, err, sizeof(err)), 0);
	ASSERT_EQ(cap.count, 6000);
	n = sc_capture_flows(&cap, &fl);
	ASSERT_EQ(n, 3000);
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(fl[i].packets, 2);
		ASSERT(fl[i].saw_syn);
		ASSERT_EQ(fl[i].client.port, 1000 + i);
		ASSERT_EQ(fl[i].server.port, 8080);
	}
	ASSERT_EQ(sc_flow_select(fl, n, -1, 3999, 0, err, sizeof(err)), 2999);
	free(fl);
	sc_capture_free(&cap);
}

static void test_flow_select(void)
{
	sc_flow fl[2];
	char err[256];

	memset(fl, 0, sizeof(fl));
	fl[0].client.port = 1111; fl[0].server.port = 80;
	fl[1].client.port = 2222; fl[1].server.port = 443;
	ASSERT_EQ(sc_flow_select(fl, 2, -1, 0, 0, err, sizeof(err)), 0);
	ASSERT_EQ(sc_flow_select(fl, 2, 1, 0, 0, err, sizeof(err)), 1);
	ASSERT_EQ(sc_flow_select(fl, 2, 2, 0, 0, err, sizeof(err)), -1);
	ASSERT(strstr(err, "has 2 TCP flows") != NULL);
	ASSERT_EQ(sc_flow_select(fl, 2, -1, 443, 0, err, sizeof(err)), 1);
	ASSERT_EQ(sc_flow_select(fl, 2, -1, 443, 2222, err, sizeof(err)), 1);
	ASSERT_EQ(sc_flow_select(fl, 2, -1, 443, 1111, err, sizeof(err)), -1);
	ASSERT_EQ(sc_flow_select(fl, 2, -1, 9, 0, err, sizeof(err)), -1);
	ASSERT(strstr(err, "port 9") != NULL);
}

int main(void)
{
	const char *t = getenv("SYNFIN_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s", t && *t ? t : "/tmp/synfin_test_pcap");
	mkdir(tmpdir, 0755);
	RUN_TEST(test_write_read_back);
	RUN_TEST(test_tshark_reads_it);
	RUN_TEST(test_other_formats);
	RUN_TEST(test_bad_captures);
	RUN_TEST(test_many_flows);
	RUN_TEST(test_flow_select);
	return 0;
}
