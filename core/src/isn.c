/*
 * The RFC 6528 initial sequence number generator (RFC9293:MUST-8, MUST-9,
 * SHLD-1):
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a clock that ticks once every 4 microseconds (RFC 9293 §3.4.1), taken
 * from the caller's now_us, so the generator reads no clock itself. F is
 * SipHash-2-4 keyed with the caller's 16-octet secret: a keyed PRF, so an
 * outsider who sees ISNs cannot compute those of other 4-tuples (RFC 6528
 * §3), while the ISNs of one 4-tuple still rise with time and so do not
 * repeat across incarnations within their wrap time.
 */
#include "synfin/tcp.h"

#include <string.h>

#include "siphash.h"

/* RFC 9293 §3.4.1: "a (possibly fictitious) 32-bit clock ... incremented
 * roughly every 4 microseconds". */
#define ISN_TICK_US 4

/* family, 16 address octets and a port, for each end */
#define TUPLE_LEN (2 * (1 + 16 + 2))

static size_t put_endpoint(uint8_t *p, const sf_endpoint *ep)
{
	p[0] = ep->addr.family;
	memcpy(p + 1, ep->addr.bytes, 16);
	p[17] = (uint8_t)(ep->port >> 8);
	p[18] = (uint8_t)ep->port;
	return 19;
}

__attribute__((visibility("default")))
uint32_t sf_isn_rfc6528_next(void *self, const sf_endpoint *local, const sf_endpoint *remote,
			     uint64_t now_us)
{
	const sf_isn_rfc6528 *gen = self;
	uint8_t tuple[TUPLE_LEN];
	size_t n = 0;
	uint64_t f;

	/* The order is the RFC's: local address and port, then remote. */
	n += put_endpoint(tuple + n, local);
	n += put_endpoint(tuple + n, remote);
	f = sf_siphash24(gen->key, tuple, n);
	/* Fold the 64-bit tag so every output bit depends on all of it. */
	return (uint32_t)(now_us / ISN_TICK_US) + (uint32_t)(f ^ (f >> 32));
}
