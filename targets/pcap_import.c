/*
 * pcap_import: the capture reader behind `synfin pcap2pkt`
 * (tools/scenario/pcap_io.c) on any bytes, as a pcap or pcapng file.
 * Bad input must never crash the tools: every input is either read or
 * refused with a message (oracle "pcap-error"). What is read must hold
 * together (oracle "pcap-import"): at least one TCP packet, flows that point
 * at packets of the capture, each flow's first packet belonging to it, and
 * flow selection by index finding that flow.
 *
 * The bytes reach libpcap through a memory file (memfd), so no disk file is
 * written per input.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/harness.h"
#include "pcap_io.h"

static int memfd = -1;

/* The input as a file path libpcap can open. */
static const char *input_path(const uint8_t *data, size_t size, char *path, size_t cap)
{
	if (memfd < 0) {
		memfd = memfd_create("synfin-pcap-input", 0);
		if (memfd < 0) {
			perror("memfd_create");
			abort();
		}
	}
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) {
		perror("writing the input to a memfd");
		abort();
	}
	snprintf(path, cap, "/proc/self/fd/%d", memfd);
	return path;
}

static void check_flows(const sc_capture *cap)
{
	sc_flow *flows = NULL;
	char err[256];
	int n = sc_capture_flows(cap, &flows);
	if (n < 0)
		abort();
	if (n == 0)
		fz_fail_tool("pcap-import", "%zu TCP packets but no flow", cap->count);
	for (int i = 0; i < n; i++) {
		bool from_client;
		if (flows[i].first >= cap->count || flows[i].packets == 0 ||
		    flows[i].packets > cap->count)
			fz_fail_tool("pcap-import", "flow %d: first packet %zu, %zu packets, capture has %zu",
				     i, flows[i].first, flows[i].packets, cap->count);
		if (!sc_flow_match(&flows[i], &cap->pkts[flows[i].first].seg, &from_client))
			fz_fail_tool("pcap-import", "flow %d does not match its own first packet", i);
		if (sc_flow_select(flows, n, i, 0, 0, err, sizeof err) != i)
			fz_fail_tool("pcap-import", "selecting flow %d by index gives another: %s", i, err);
	}
	free(flows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	sc_capture cap;
	memset(&cap, 0, sizeof cap);
	err[0] = 0;
	if (sc_capture_read(input_path(data, size, path, sizeof path), &cap, err, sizeof err) != 0) {
		if (!err[0])
			fz_fail_tool("pcap-error", "a capture was refused without a message");
		sc_capture_free(&cap);
		return 0;
	}
	if (cap.count == 0)
		fz_fail_tool("pcap-import", "the capture was read, but holds no TCP packet");
	for (size_t i = 0; i < cap.count; i++)
		if (cap.pkts[i].seg.payload_len > cap.pkts[i].wire_payload)
			fz_fail_tool("pcap-import", "packet %zu: %zu payload octets, the IP header says %zu",
				     i, cap.pkts[i].seg.payload_len, cap.pkts[i].wire_payload);
	check_flows(&cap);
	sc_capture_free(&cap);
	return 0;
}
