/*
 * The scenario mutator (mutator.h) as an AFL++ custom mutator library:
 *
 *   AFL_CUSTOM_MUTATOR_LIBRARY=build/release/targets/libsynfin_afl_mutator.so afl-fuzz ...
 *
 * afl_custom_fuzz edits the input as events (and splices it with AFL's
 * second input at event boundaries); AFL's own havoc keeps running beside
 * it. The trim hooks trim whole events, from the last one back: an event
 * stays only if AFL sees a change in coverage without it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mutator.h"

typedef struct state {
	unsigned seed;
	uint8_t *buf;        /* the mutated input */
	size_t cap;
	uint8_t *trim_cur;   /* the input being trimmed, as AFL accepted it so far */
	size_t trim_size;
	uint8_t *trim_out;   /* the candidate: trim_cur without event pos */
	long pos;            /* event to try next */
	int32_t steps, step;
} state;

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
		       uint8_t *add_buf, size_t add_buf_size, size_t max_size);
int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size);
size_t afl_custom_trim(void *data, uint8_t **out_buf);
int32_t afl_custom_post_trim(void *data, unsigned char success);
void afl_custom_deinit(void *data);

static unsigned byte_seed;

/* A plain byte mutator for the structure to fall back on: AFL's havoc runs
 * anyway, so a few flips and overwrites are enough here. */
static size_t flip_bytes(uint8_t *data, size_t size, size_t max_size)
{
	(void)max_size;
	for (int k = 0; k < 4 && size; k++) {
		byte_seed = byte_seed * 1103515245u + 12345u;
		size_t i = (byte_seed >> 8) % size;
		data[i] ^= (uint8_t)(1u << ((byte_seed >> 4) & 7));
	}
	return size;
}

void *afl_custom_init(void *afl, unsigned int seed)
{
	(void)afl;
	state *s = calloc(1, sizeof *s);
	if (s)
		s->seed = seed;
	return s;
}

static bool reserve(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	uint8_t *q = realloc(*p, need);
	if (!q)
		return false;
	*p = q;
	*cap = need;
	return true;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
		       uint8_t *add_buf, size_t add_buf_size, size_t max_size)
{
	state *s = data;
	if (!reserve(&s->buf, &s->cap, max_size > buf_size ? max_size : buf_size)) {
		*out_buf = buf;
		return buf_size;
	}
	s->seed = s->seed * 2654435761u + 1;
	byte_seed = s->seed;
	size_t n;
	if (add_buf && add_buf_size && s->seed % 8 == 0) {
		n = fz_crossover(buf, buf_size, add_buf, add_buf_size, s->buf, max_size, s->seed);
	} else {
		memcpy(s->buf, buf, buf_size < max_size ? buf_size : max_size);
		n = fz_mutate(s->buf, buf_size < max_size ? buf_size : max_size, max_size, s->seed,
			      flip_bytes);
	}
	*out_buf = s->buf;
	return n;
}

int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size)
{
	state *s = data;
	size_t cap_cur = 0, cap_out = 0;
	free(s->trim_cur);
	free(s->trim_out);
	s->trim_cur = s->trim_out = NULL;
	if (!reserve(&s->trim_cur, &cap_cur, buf_size + 1) ||
	    !reserve(&s->trim_out, &cap_out, buf_size + 1))
		return 0;
	memcpy(s->trim_cur, buf, buf_size);
	s->trim_size = buf_size;
	s->steps = (int32_t)fz_count_events(buf, buf_size);
	s->pos = s->steps - 1;
	s->step = 0;
	return s->steps;
}

size_t afl_custom_trim(void *data, uint8_t **out_buf)
{
	state *s = data;
	size_t n = fz_drop_event(s->trim_cur, s->trim_size, (size_t)s->pos, s->trim_out,
				 s->trim_size);
	*out_buf = s->trim_out;
	return n;
}

int32_t afl_custom_post_trim(void *data, unsigned char success)
{
	state *s = data;
	if (success) {
		size_t n = fz_drop_event(s->trim_cur, s->trim_size, (size_t)s->pos, s->trim_out,
					 s->trim_size);
		memcpy(s->trim_cur, s->trim_out, n);
		s->trim_size = n;
	}
	s->pos--;
	s->step++;
	return s->pos < 0 ? s->steps : s->step;
}

void afl_custom_deinit(void *data)
{
	state *s = data;
	if (!s)
		return;
	free(s->buf);
	free(s->trim_cur);
	free(s->trim_out);
	free(s);
}
