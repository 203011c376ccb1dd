/*
 * The runner's link layer: the TAP device, Ethernet II framing, ARP
 * (RFC 826) for our IPv4 address, and IPv4 demultiplexing. TCP packets go
 * to the engine whole (sf_input_packet() parses them); everything the
 * engine sends comes back through tap_engine_output() and leaves in an
 * Ethernet frame addressed to the next hop's MAC.
 *
 * Every frame crosses the fault injector (faults.c) and the capture
 * (pcap.c) at the device boundary: received frames are captured as they
 * come off the TAP device (before rx faults), sent frames as they go onto it
 * (after tx faults), so the capture shows what was really on the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

/* How long a packet may wait for an ARP reply, and how often we ask. */
#define ARP_RETRY_US 1000000ull
#define ARP_GIVE_UP_US 3000000ull
#define ARP_LEN 28

static const uint8_t broadcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint64_t tap_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int tap_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* Set IFF_UP on the device, so a TAP that TUNSETIFF just created carries
 * frames; a persistent TAP that is already up is left as it is. */
static int tap_set_up(const char *name)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
out:
	close(s);
	return rc;
}

int tap_mtu(const char *name)
{
	struct ifreq ifr;
	int s, rc;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	rc = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(s);
	return rc;
}

int tap_open(const char *name, int *fd_out)
{
	struct ifreq ifr;
	int fd, rc;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	/* IFF_NO_PI: frames without the 4-octet packet-information prefix. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = tap_set_up(name);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

/* Read the first word of a sysfs attribute of `name` into buf; 0 or -1. */
static int read_sysfs(const char *name, const char *attr, char *buf, size_t cap)
{
	char path[128];
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%31s", buf) == 1 && cap > 31)
		rc = 0;
	fclose(f);
	return rc;
}

int tap_wait_ready(const char *name, uint64_t timeout_us)
{
	uint64_t end = tap_now_us() + timeout_us;
	char oper[32], port[32];

	/* Carrier comes on when we attach, but the kernel's linkwatch applies
	 * it (and a bridge moves the port to forwarding) up to a second later;
	 * frames sent or received before that are lost. A device that is not
	 * a bridge port has no brport/state and only needs to be up. */
	for (;;) {
		bool up = read_sysfs(name, "operstate", oper, sizeof(oper)) == 0 &&
			  (!strcmp(oper, "up") || !strcmp(oper, "unknown"));
		bool fwd = read_sysfs(name, "brport/state", port, sizeof(port)) < 0 ||
			   !strcmp(port, "3"); /* BR_STATE_FORWARDING */

		if (up && fwd)
			return 0;
		if (tap_now_us() >= end)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

void tap_check_stack(const tap_link *l, const char *after)
{
	char why[256];

	if (!l->check || sf_check_invariants(l->stack, why, sizeof(why)) == 0)
		return;
	fprintf(stderr, "synfin-tap: engine invariant violated after %s: %s\n", after, why);
	abort();
}

/* ---- Neighbours (ARP cache) ---- */

static tap_neigh *neigh_find(tap_link *l, const sf_addr *ip)
{
	for (int i = 0; i < l->nneigh; i++)
		if (sf_addr_eq(&l->neigh[i].ip, ip))
			return &l->neigh[i];
	return NULL;
}

int tap_neigh_add(tap_link *l, const sf_addr *ip, const uint8_t mac[6], bool is_static)
{
	tap_neigh *n = neigh_find(l, ip);

	if (n && n->is_static && !is_static)
		return 0; /* a static entry is permanent, as with `nud permanent` */
	if (!n) {
		if (l->nneigh == TAP_MAX_NEIGH)
			return -ENOSPC;
		n = &l->neigh[l->nneigh++];
		n->ip = *ip;
	}
	memcpy(n->mac, mac, 6);
	n->is_static = is_static;
	return 0;
}

/* ---- Frames out ---- */

static void write_frame(tap_link *l, const uint8_t *frame, size_t len)
{
	if (l->fd >= 0 && write(l->fd, frame, len) == (ssize_t)len) {
		l->tx_frames++;
		tap_pcap_write(&l->pcap, frame, len);
	}
	/* A full TAP queue (EAGAIN) loses the frame, as a full NIC ring would;
	 * TCP recovers by retransmission. */
}

void tap_link_tx_frame(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us)
{
	tap_fault_verdict v;
	uint8_t *copy;

	if (!tap_faults_active(&l->faults, TAP_DIR_TX)) {
		write_frame(l, frame, len);
		return;
	}
	tap_faults_decide(&l->faults, TAP_DIR_TX, len, &v);
	if (v.drop)
		return;
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, frame, len);
	if (v.corrupt)
		tap_faults_corrupt(copy, len, v.corrupt_bit);
	for (int i = 0; i < v.copies; i++) {
		if (v.hold && tap_faults_hold(&l->faults, TAP_DIR_TX, copy, len, now_us) == 0)
			continue;
		write_frame(l, copy, len);
	}
	free(copy);
}

static void eth_header(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	put16(frame + 12, type);
}

static void arp_send(tap_link *l, uint16_t op, const uint8_t eth_dst[6], const uint8_t tha[6],
		     const sf_addr *tpa, uint64_t now_us)
{
	uint8_t f[TAP_ETH_HLEN + ARP_LEN];
	uint8_t *a = f + TAP_ETH_HLEN;

	eth_header(f, eth_dst, l->mac, TAP_ETH_P_ARP);
	put16(a, 1);                 /* hardware type: Ethernet */
	put16(a + 2, TAP_ETH_P_IP);  /* protocol type: IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, l->mac, 6);
	memcpy(a + 14, l->ip4.bytes, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa->bytes, 4);
	tap_link_tx_frame(l, f, sizeof(f), now_us);
}

static void arp_request(tap_link *l, const sf_addr *ip, uint64_t now_us)
{
	static const uint8_t zero_mac[6];

	arp_send(l, 1, broadcast_mac, zero_mac, ip, now_us);
}

/* Ask for the MAC of ip: ARP for IPv4, a Neighbor Solicitation for IPv6. */
static void resolve_request(tap_link *l, const sf_addr *ip, uint64_t now_us)
{
	if (ip->family == SF_AF_INET6)
		tap_nd_solicit(l, ip, now_us);
	else
		arp_request(l, ip, now_us);
}

static void send_resolved(tap_link *l, const uint8_t mac[6], const uint8_t *pkt, size_t len,
			  uint64_t now_us)
{
	uint8_t frame[TAP_MAX_FRAME];

	if (len > SF_MAX_PACKET)
		return;
	eth_header(frame, mac, l->mac, pkt[0] >> 4 == 6 ? TAP_ETH_P_IPV6 : TAP_ETH_P_IP);
	memcpy(frame + TAP_ETH_HLEN, pkt, len);
	tap_link_tx_frame(l, frame, TAP_ETH_HLEN + len, now_us);
}

static void queue_drop(tap_link *l, int i)
{
	free(l->queued[i].pkt);
	l->queued[i] = l->queued[--l->nqueued];
}

void tap_link_send_ip(tap_link *l, const sf_addr *dst, const uint8_t *pkt, size_t len,
		      uint64_t now_us)
{
	tap_neigh *n = neigh_find(l, dst);
	tap_queued *q;
	bool asked = false;

	if (n) {
		send_resolved(l, n->mac, pkt, len, now_us);
		return;
	}
	if ((dst->family == SF_AF_INET6 && !l->has_ip6) || l->nqueued == TAP_MAX_QUEUED) {
		l->tx_unresolved++;
		return;
	}
	for (int i = 0; i < l->nqueued; i++)
		asked |= sf_addr_eq(&l->queued[i].dst, dst);
	q = &l->queued[l->nqueued];
	q->pkt = malloc(len);
	if (!q->pkt)
		return;
	memcpy(q->pkt, pkt, len);
	q->len = len;
	q->dst = *dst;
	q->first_us = now_us;
	l->nqueued++;
	if (!asked) {
		resolve_request(l, dst, now_us);
		l->arp_next_us = now_us + ARP_RETRY_US;
	}
}

void tap_link_resolved(tap_link *l, const sf_addr *ip, const uint8_t mac[6], uint64_t now_us)
{
	tap_neigh_add(l, ip, mac, false);
	for (int i = 0; i < l->nqueued;) {
		if (sf_addr_eq(&l->queued[i].dst, ip)) {
			send_resolved(l, mac, l->queued[i].pkt, l->queued[i].len, now_us);
			queue_drop(l, i);
		} else {
			i++;
		}
	}
}

void tap_engine_output(void *ctx, const sf_segment *seg)
{
	tap_link *l = ctx;
	uint8_t pkt[SF_MAX_PACKET];
	int n = sf_wire_emit(seg, NULL, pkt, sizeof(pkt));

	if (n < 0) {
		fprintf(stderr, "synfin-tap: cannot emit a segment: %s\n", sf_wire_strerror(n));
		return;
	}
	tap_link_send_ip(l, &seg->dst, pkt, (size_t)n, tap_now_us());
}

/* ---- Frames in ---- */

static void arp_input(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us)
{
	const uint8_t *a = frame + TAP_ETH_HLEN;
	sf_addr spa, tpa;
	bool for_us;

	if (len < TAP_ETH_HLEN + ARP_LEN || get16(a) != 1 || get16(a + 2) != TAP_ETH_P_IP ||
	    a[4] != 6 || a[5] != 4)
		return;
	spa = sf_addr_v4(a[14], a[15], a[16], a[17]);
	tpa = sf_addr_v4(a[24], a[25], a[26], a[27]);
	for_us = sf_addr_eq(&tpa, &l->ip4);
	/* RFC 826 "Packet Reception": update an entry we have; add one when
	 * the packet is for us. 0.0.0.0 is a probe (RFC 5227), never learnt. */
	if (!sf_addr_is_any(&spa) && (for_us || neigh_find(l, &spa))) {
		tap_link_resolved(l, &spa, a + 8, now_us);
	}
	if (for_us && get16(a + 6) == 1) {
		arp_send(l, 2, a + 8, a + 8, &spa, now_us);
		l->arp_replies++;
	}
}

/* RFC 1071 checksum of a buffer of big-endian 16-bit words. */
static uint16_t inet_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)(p[0] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Answer an ICMP echo request to our address (RFC 1122 §3.2.2.6: every host
 * MUST), so `ping` can check the link as it can with the Linux DUT. The reply
 * is the request with addresses swapped and the type changed.
 */
static void icmp_echo(tap_link *l, const uint8_t *ip, size_t tot, uint64_t now_us)
{
	uint8_t pkt[SF_MAX_PACKET];
	size_t hl = (size_t)(ip[0] & 0xf) * 4;
	sf_addr src = sf_addr_v4(ip[12], ip[13], ip[14], ip[15]);
	sf_addr dst = sf_addr_v4(ip[16], ip[17], ip[18], ip[19]);
	uint16_t c;

	if (tot < hl + 8 || ip[hl] != 8 || ip[hl + 1] != 0 || !sf_addr_eq(&dst, &l->ip4) ||
	    inet_csum(ip + hl, tot - hl) != 0 || (ip[6] & 0x3f) || ip[7])
		return; /* not an echo request for us, damaged, or a fragment */
	memcpy(pkt, ip, 20);
	pkt[0] = 0x45; /* our reply carries no IP options */
	put16(pkt + 2, (uint16_t)(20 + tot - hl));
	pkt[8] = 64;
	memcpy(pkt + 12, ip + 16, 4);
	memcpy(pkt + 16, ip + 12, 4);
	pkt[10] = pkt[11] = 0;
	c = inet_csum(pkt, 20);
	put16(pkt + 10, c);
	memcpy(pkt + 20, ip + hl, tot - hl);
	pkt[20] = 0; /* echo reply */
	pkt[22] = pkt[23] = 0;
	c = inet_csum(pkt + 20, tot - hl);
	put16(pkt + 22, c);
	tap_link_send_ip(l, &src, pkt, 20 + tot - hl, now_us);
}

static void ipv4_input(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us)
{
	const uint8_t *ip = frame + TAP_ETH_HLEN;
	size_t avail = len - TAP_ETH_HLEN, tot;

	if (avail < SF_IPV4_HDR_LEN || ip[0] >> 4 != 4)
		return;
	tot = get16(ip + 2);
	/* Ethernet pads short frames to 60 octets: the IP total length, not
	 * the frame, says where the packet ends. */
	if (tot < (size_t)(ip[0] & 0xf) * 4 || tot > avail) {
		l->rx_ignored++;
		return;
	}
	if (ip[9] == 1) {
		icmp_echo(l, ip, tot, now_us);
		return;
	}
	if (ip[9] != 6) { /* not TCP: no UDP here */
		l->rx_ignored++;
		return;
	}
	l->rx_tcp++;
	sf_tick(l->stack, now_us);
	sf_input_packet(l->stack, ip, tot);
	tap_check_stack(l, "an IPv4 packet");
}

void tap_link_input(tap_link *l, uint8_t *frame, size_t len, uint64_t now_us)
{
	uint16_t type;

	if (len < TAP_ETH_HLEN)
		return;
	type = get16(frame + 12);
	/* IPv6 neighbour discovery arrives on 33:33:... multicast MACs. */
	if (memcmp(frame, l->mac, 6) && memcmp(frame, broadcast_mac, 6) &&
	    !(type == TAP_ETH_P_IPV6 && frame[0] == 0x33 && frame[1] == 0x33)) {
		l->rx_ignored++; /* another station's frame, or other multicast */
		return;
	}
	if (type == TAP_ETH_P_ARP)
		arp_input(l, frame, len, now_us);
	else if (type == TAP_ETH_P_IP && !memcmp(frame, l->mac, 6))
		ipv4_input(l, frame, len, now_us);
	else if (type == TAP_ETH_P_IPV6)
		tap_ipv6_input(l, frame, len, now_us);
	else
		l->rx_ignored++;
}

static void rx_one(tap_link *l, uint8_t *frame, size_t len, uint64_t now_us)
{
	tap_fault_verdict v;

	if (!tap_faults_active(&l->faults, TAP_DIR_RX)) {
		tap_link_input(l, frame, len, now_us);
		return;
	}
	tap_faults_decide(&l->faults, TAP_DIR_RX, len, &v);
	if (v.drop)
		return;
	if (v.corrupt)
		tap_faults_corrupt(frame, len, v.corrupt_bit);
	for (int i = 0; i < v.copies; i++) {
		if (v.hold && tap_faults_hold(&l->faults, TAP_DIR_RX, frame, len, now_us) == 0)
			continue;
		tap_link_input(l, frame, len, now_us);
	}
}

int tap_link_rx(tap_link *l, uint64_t now_us)
{
	uint8_t frame[TAP_MAX_FRAME];

	for (;;) {
		ssize_t n = read(l->fd, frame, sizeof(frame));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		l->rx_frames++;
		tap_pcap_write(&l->pcap, frame, (size_t)n);
		rx_one(l, frame, (size_t)n, now_us);
	}
}

/* ---- Timers ---- */

static void release_held(tap_link *l, uint64_t now_us)
{
	tap_faults *f = &l->faults;

	for (int i = 0; i < f->nheld;) {
		tap_held h = f->held[i];

		if (h.due_us > now_us) {
			i++;
			continue;
		}
		f->held[i] = f->held[--f->nheld];
		if (h.dir == TAP_DIR_TX)
			write_frame(l, h.frame, h.len);
		else
			tap_link_input(l, h.frame, h.len, now_us);
		free(h.frame);
	}
}

static void arp_retry(tap_link *l, uint64_t now_us)
{
	if (!l->nqueued || now_us < l->arp_next_us)
		return;
	for (int i = 0; i < l->nqueued;) {
		if (now_us - l->queued[i].first_us >= ARP_GIVE_UP_US) {
			l->tx_unresolved++;
			queue_drop(l, i);
		} else {
			i++;
		}
	}
	for (int i = 0; i < l->nqueued; i++) {
		bool asked = false;

		for (int j = 0; j < i; j++)
			asked |= sf_addr_eq(&l->queued[j].dst, &l->queued[i].dst);
		if (!asked)
			resolve_request(l, &l->queued[i].dst, now_us);
	}
	l->arp_next_us = now_us + ARP_RETRY_US;
}

void tap_link_timers(tap_link *l, uint64_t now_us)
{
	release_held(l, now_us);
	arp_retry(l, now_us);
}

uint64_t tap_link_next_timer(const tap_link *l)
{
	uint64_t t = tap_faults_next_due(&l->faults);

	if (l->nqueued && l->arp_next_us < t)
		t = l->arp_next_us;
	return t;
}

void tap_link_free(tap_link *l)
{
	while (l->nqueued)
		queue_drop(l, 0);
	tap_faults_free(&l->faults);
	tap_pcap_close(&l->pcap);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
