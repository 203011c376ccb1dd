/*
 * Byte rings for the send and receive buffers. A ring is allocated on first
 * use at its limit, through the stack's memory accounting, so an idle
 * connection costs only its control block.
 */
#include <string.h>

#include "tcp_internal.h"

/* Make room for cap bytes, keeping what the ring holds. */
int sf_ring_reserve(sf_stack *s, sf_ring *r, uint32_t cap)
{
	uint8_t *data;
	uint32_t len = r->len;

	if (cap < r->len)
		cap = r->len;
	if (cap == r->cap)
		return 0;
	if (cap == 0) {
		sf_ring_free(s, r);
		return 0;
	}
	/* A ring that wraps needs the stack's scratch (sf_ring_peek). */
	if (sf_stack_scratch(s) < 0)
		return -1;
	data = sf_mem_alloc_buf(s, cap); /* written before read */
	if (!data)
		return -1;
	sf_ring_read(r, data, len);
	sf_ring_free(s, r);
	r->data = data;
	r->cap = cap;
	r->head = 0;
	r->len = len;
	return 0;
}

void sf_ring_free(sf_stack *s, sf_ring *r)
{
	sf_mem_free(s, r->data, r->cap);
	r->data = NULL;
	r->cap = 0;
	r->head = 0;
	r->len = 0;
}

uint32_t sf_ring_write(sf_ring *r, const uint8_t *src, uint32_t n)
{
	uint32_t room = r->cap - r->len, tail, first;

	if (n > room)
		n = room;
	if (n == 0)
		return 0; /* also keeps memcpy() away from a NULL ring */
	tail = (r->head + r->len) % (r->cap ? r->cap : 1);
	first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->data + tail, src, first);
	memcpy(r->data, src + first, n - first);
	r->len += n;
	return n;
}

uint32_t sf_ring_read(sf_ring *r, uint8_t *dst, uint32_t n)
{
	uint32_t first;

	if (n > r->len)
		n = r->len;
	if (n == 0)
		return 0;
	first = r->cap - r->head < n ? r->cap - r->head : n;
	memcpy(dst, r->data + r->head, first);
	memcpy(dst + first, r->data, n - first);
	sf_ring_drop(r, n);
	return n;
}

void sf_ring_drop(sf_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->cap : 0;
}

/* n bytes starting off bytes into the ring, contiguous: a pointer into the
 * ring, or a copy in scratch when they wrap. */
const uint8_t *sf_ring_peek(const sf_ring *r, uint32_t off, uint32_t n, uint8_t *scratch)
{
	uint32_t start = (r->head + off) % r->cap, first;

	if (start + n <= r->cap)
		return r->data + start;
	first = r->cap - start;
	memcpy(scratch, r->data + start, first);
	memcpy(scratch + first, r->data, n - first);
	return scratch;
}
