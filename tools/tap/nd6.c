/*
 * IPv6 on the runner's link: demultiplexing of IPv6 packets and neighbour
 * discovery (RFC 4861) for our one address. TCP goes to the engine like
 * IPv4's; ICMPv6 Neighbor Solicitations for our address are answered with an
 * Advertisement, and an unknown next hop is asked for with a Solicitation to
 * its solicited-node multicast address. Nothing else of ICMPv6 (router
 * discovery, echo, MLD) is done.
 */
#include <string.h>

#include "tap.h"

#define IP6_HLEN 40
#define NH_TCP 6
#define NH_ICMPV6 58
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_HOP_LIMIT 255 /* RFC 4861 §7.1.1: anything else was forwarded */
#define ND_LEN 24        /* type, code, checksum, flags/reserved, target */

/* RFC 1071 sum of big-endian 16-bit words. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

/* ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and the message. */
static uint16_t icmp6_checksum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg,
			       size_t len)
{
	uint32_t s = sum16(src, 16, 0);

	s = sum16(dst, 16, s);
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + NH_ICMPV6;
	s = sum16(msg, len, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* ff02::1:ffXX:XXXX for target (RFC 4291 §2.7.1). */
static void solicited_node(const uint8_t *target, uint8_t out[16])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };

	memcpy(out, prefix, 13);
	memcpy(out + 13, target + 13, 3);
}

/* 33:33 + the low 32 bits of a multicast address (RFC 2464 §7). */
static void multicast_mac(const uint8_t *ip, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, ip + 12, 4);
}

/* Build and send one ND message (NS or NA) with a link-layer option. */
static void nd_send(tap_link *l, const uint8_t eth_dst[6], const uint8_t *ip_dst, uint8_t type,
		    uint8_t flags, const uint8_t *target, uint64_t now_us)
{
	uint8_t f[TAP_ETH_HLEN + IP6_HLEN + ND_LEN + 8];
	uint8_t *ip = f + TAP_ETH_HLEN, *m = ip + IP6_HLEN;
	size_t mlen = ND_LEN + 8;
	uint16_t c;

	memset(f, 0, sizeof(f));
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, l->mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = (uint8_t)(mlen >> 8);
	ip[5] = (uint8_t)mlen;
	ip[6] = NH_ICMPV6;
	ip[7] = ND_HOP_LIMIT;
	memcpy(ip + 8, l->ip6.bytes, 16);
	memcpy(ip + 24, ip_dst, 16);
	m[0] = type;
	m[4] = flags;
	memcpy(m + 8, target, 16);
	m[24] = type == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	m[25] = 1; /* in units of 8 octets */
	memcpy(m + 26, l->mac, 6);
	c = icmp6_checksum(ip + 8, ip + 24, m, mlen);
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	tap_link_tx_frame(l, f, sizeof(f), now_us);
}

void tap_nd_solicit(tap_link *l, const sf_addr *target, uint64_t now_us)
{
	uint8_t group[16], mac[6];

	solicited_node(target->bytes, group);
	multicast_mac(group, mac);
	nd_send(l, mac, group, ND_NS, 0, target->bytes, now_us);
}

/* The link-layer address option of an ND message, or NULL. */
static const uint8_t *nd_lla(const uint8_t *m, size_t len, uint8_t want)
{
	for (size_t off = ND_LEN; off + 8 <= len;) {
		size_t olen = (size_t)m[off + 1] * 8;

		if (olen == 0 || off + olen > len)
			return NULL; /* RFC 4861 §4.6: a zero length is invalid */
		if (m[off] == want && olen >= 8)
			return m + off + 2;
		off += olen;
	}
	return NULL;
}

static void nd_input(tap_link *l, const uint8_t *frame, const uint8_t *ip, size_t plen,
		     uint64_t now_us)
{
	const uint8_t *m = ip + IP6_HLEN, *lla;
	static const uint8_t unspecified[16];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	sf_addr peer = { .family = SF_AF_INET6 }, target = { .family = SF_AF_INET6 };

	if (plen < ND_LEN || ip[7] != ND_HOP_LIMIT || m[1] != 0 ||
	    icmp6_checksum(ip + 8, ip + 24, m, plen) != 0)
		return;
	memcpy(target.bytes, m + 8, 16);
	memcpy(peer.bytes, ip + 8, 16);
	if (m[0] == ND_NS && sf_addr_eq(&target, &l->ip6)) {
		bool dad = !memcmp(ip + 8, unspecified, 16);

		lla = nd_lla(m, plen, ND_OPT_SLLA);
		if (dad) { /* RFC 4861 §7.2.4: answer a DAD probe to all-nodes */
			uint8_t mac[6];

			multicast_mac(all_nodes, mac);
			nd_send(l, mac, all_nodes, ND_NA, 0x20, l->ip6.bytes, now_us);
			return;
		}
		if (lla)
			tap_link_resolved(l, &peer, lla, now_us);
		/* Solicited (S) and override (O) */
		nd_send(l, lla ? lla : frame + 6, ip + 8, ND_NA, 0x60, l->ip6.bytes, now_us);
	} else if (m[0] == ND_NA) {
		lla = nd_lla(m, plen, ND_OPT_TLLA);
		if (lla)
			tap_link_resolved(l, &target, lla, now_us);
	}
}

void tap_ipv6_input(tap_link *l, const uint8_t *frame, size_t len, uint64_t now_us)
{
	const uint8_t *ip = frame + TAP_ETH_HLEN;
	size_t avail = len - TAP_ETH_HLEN, plen;
	sf_addr dst = { .family = SF_AF_INET6 };

	if (!l->has_ip6 || avail < IP6_HLEN || ip[0] >> 4 != 6)
		return;
	plen = (size_t)(ip[4] << 8 | ip[5]);
	if (IP6_HLEN + plen > avail) {
		l->rx_ignored++;
		return;
	}
	memcpy(dst.bytes, ip + 24, 16);
	if (ip[6] == NH_ICMPV6) {
		nd_input(l, frame, ip, plen, now_us);
		return;
	}
	/* TCP (extension headers are the codec's business: it skips them). */
	if (!sf_addr_eq(&dst, &l->ip6)) {
		l->rx_ignored++;
		return;
	}
	l->rx_tcp++;
	sf_tick(l->stack, now_us);
	sf_input_packet(l->stack, ip, IP6_HLEN + plen);
	tap_check_stack(l, "an IPv6 packet");
}
