/*
 * Internal to the scenario library: a string builder for the printer and
 * the JSON writer. It either grows on the heap (for whole scripts) or fills
 * a caller's fixed buffer while counting the length it would need (the
 * snprintf convention of sc_event_format()).
 */
#ifndef SYNFIN_STRBUF_H
#define SYNFIN_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sc_strbuf {
	char *buf;
	size_t cap;      /* bytes available in buf, including the NUL */
	size_t len;      /* length of the text so far (may exceed cap when fixed) */
	bool dynamic;    /* grows with realloc */
	bool oom;        /* a realloc failed; the text is incomplete */
} sc_strbuf;

static inline void sc_sb_init_dynamic(sc_strbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->dynamic = true;
}

static inline void sc_sb_init_fixed(sc_strbuf *b, char *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (cap > 0)
		buf[0] = '\0';
}

static inline bool sc_sb_reserve(sc_strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *nb;

	if (!b->dynamic || b->oom)
		return !b->oom;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(b->buf, cap);
	if (!nb) {
		b->oom = true;
		return false;
	}
	b->buf = nb;
	b->cap = cap;
	return true;
}

static inline void sc_sb_putn(sc_strbuf *b, const char *s, size_t n)
{
	if (sc_sb_reserve(b, n) && b->cap > 0) {
		if (b->len + n < b->cap) {
			memcpy(b->buf + b->len, s, n);
			b->buf[b->len + n] = '\0';
		} else if (b->len < b->cap) {
			memcpy(b->buf + b->len, s, b->cap - 1 - b->len);
			b->buf[b->cap - 1] = '\0';
		}
	}
	b->len += n;
}

static inline void sc_sb_puts(sc_strbuf *b, const char *s)
{
	sc_sb_putn(b, s, strlen(s));
}

static inline void sc_sb_printf(sc_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void sc_sb_printf(sc_strbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sc_sb_putn(b, small, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big) {
			b->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sc_sb_putn(b, big, (size_t)n);
		free(big);
	}
}

/* Take the dynamic buffer (NULL on out-of-memory); the builder is then empty. */
static inline char *sc_sb_take(sc_strbuf *b)
{
	char *s;

	if (b->oom) {
		free(b->buf);
		b->buf = NULL;
		return NULL;
	}
	if (!sc_sb_reserve(b, 0))
		return NULL;
	if (b->len == 0 && b->buf)
		b->buf[0] = '\0';
	s = b->buf;
	memset(b, 0, sizeof(*b));
	return s;
}

#endif /* SYNFIN_STRBUF_H */
