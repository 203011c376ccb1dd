/*
 * The event mutator (event_mutator.h) as an AFL++ custom mutator library:
 *
 *   AFL_CUSTOM_MUTATOR_LIBRARY=<build>/targets/mutator/libsynfin_afl_mutator.so \
 *     afl-fuzz -i corpora/passive_open -o out -- <afl build>/targets/passive_open
 *
 * (`synfin fuzz --engine afl` does this for the scenario targets.)
 *
 * afl_custom_fuzz edits the input as events, and one time in eight splices
 * it with AFL's second input at event boundaries; AFL's havoc keeps running
 * beside it unless AFL_CUSTOM_MUTATOR_ONLY=1. The trim hooks remove whole
 * events: blocks of half the events, then quarters, ... down to single
 * events, each from the end of the input backwards; a block stays out when
 * AFL sees the same coverage without it. afl_custom_describe names the
 * mutation in queue file names ("...,synfin:seq-edge").
 *
 * Only the afl_custom_* functions are exported; the library carries its
 * own copies of the decoder and of the engine's defaults (no sanitizer, no
 * AFL instrumentation: afl-fuzz dlopen()s it).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_mutator.h"

#define AFL_API __attribute__((visibility("default")))

typedef struct sm_afl {
	uint64_t rng;        /* the mutation seeds, from AFL's seed */
	size_t max_len;      /* largest input we write (SYNFIN_AFL_MAX_LEN) */
	sm_kind last;        /* for afl_custom_describe */
	uint8_t *buf;        /* afl_custom_fuzz's output */
	size_t cap;
	char name[32];

	/* Trimming: the input as accepted so far and the block to try. */
	uint8_t *cur, *cand;
	size_t cur_len, cand_len;
	size_t events;       /* in cur */
	size_t chunk;        /* events per block */
	size_t end;          /* the block tried is [end - chunk, end) */
	int32_t step, steps;
} sm_afl;

AFL_API void *afl_custom_init(void *afl, unsigned int seed);
AFL_API size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
			       uint8_t *add_buf, size_t add_buf_size, size_t max_size);
AFL_API const char *afl_custom_describe(void *data, size_t max_description_len);
AFL_API int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size);
AFL_API size_t afl_custom_trim(void *data, uint8_t **out_buf);
AFL_API int32_t afl_custom_post_trim(void *data, unsigned char success);
AFL_API void afl_custom_deinit(void *data);

/* ---- A small byte mutator for SM_RECORD_BYTES (AFL's havoc does the rest) ---- */

static uint64_t byte_rng;

static uint32_t byte_below(uint32_t n)
{
	byte_rng = byte_rng * 6364136223846793005ull + 1442695040888963407ull;
	return n ? (uint32_t)(byte_rng >> 33) % n : 0;
}

static size_t afl_bytes(uint8_t *data, size_t size, size_t max_size)
{
	static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40, 0x20};
	size_t i;

	if (size == 0)
		return 0;
	i = byte_below((uint32_t)size);
	switch (byte_below(4)) {
	case 0:
		data[i] ^= (uint8_t)(1u << byte_below(8));
		break;
	case 1:
		data[i] = interesting[byte_below(sizeof(interesting))];
		break;
	case 2: /* cut the body short: later fields read as 0 */
		return i;
	default:
		if (size < max_size) {
			memmove(data + i + 1, data + i, size - i);
			data[i] = (uint8_t)byte_below(256);
			return size + 1;
		}
		data[i] = (uint8_t)byte_below(256);
		break;
	}
	return size;
}

/* ---- Mutation ---- */

#define DEFAULT_MAX_LEN 4096
#define DEFAULT_SOFT_LEN 1024

/* SYNFIN_MUTATOR_SOFT_LEN, as for libFuzzer (libfuzzer_hooks.c). */
static size_t soft_len_from_env(void)
{
	const char *e = getenv("SYNFIN_MUTATOR_SOFT_LEN");
	char *end = NULL;
	unsigned long v = e ? strtoul(e, &end, 10) : DEFAULT_SOFT_LEN;

	if (e && (*e == '\0' || *end != '\0')) {
		fprintf(stderr, "synfin afl mutator: ignoring SYNFIN_MUTATOR_SOFT_LEN=%s\n", e);
		return DEFAULT_SOFT_LEN;
	}
	return v;
}

static size_t max_len_from_env(void)
{
	const char *e = getenv("SYNFIN_AFL_MAX_LEN");
	char *end = NULL;
	unsigned long v = e ? strtoul(e, &end, 10) : 0;

	if (!e || *e == '\0' || *end != '\0' || v < 4) {
		if (e)
			fprintf(stderr, "synfin afl mutator: ignoring SYNFIN_AFL_MAX_LEN=%s\n", e);
		return DEFAULT_MAX_LEN;
	}
	return v;
}

void *afl_custom_init(void *afl, unsigned int seed)
{
	sm_afl *s = calloc(1, sizeof(*s));

	(void)afl;
	if (!s) {
		perror("synfin afl mutator");
		return NULL;
	}
	s->rng = seed;
	s->max_len = max_len_from_env();
	sm_set_soft_len(soft_len_from_env());
	return s;
}

static bool reserve(uint8_t **p, size_t *cap, size_t need)
{
	uint8_t *q;

	if (need <= *cap)
		return true;
	q = realloc(*p, need);
	if (!q)
		return false;
	*p = q;
	*cap = need;
	return true;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
		       uint8_t *add_buf, size_t add_buf_size, size_t max_size)
{
	sm_afl *s = data;
	size_t in;
	uint32_t seed;

	/* AFL allows up to 1 MB; scenario inputs beyond a few KiB only run
	 * slower. `synfin fuzz --engine afl` and targets/bench-fuzz pass the
	 * target's .options max_len as -G, which arrives here as max_size. */
	if (max_size > s->max_len)
		max_size = s->max_len;
	in = buf_size < max_size ? buf_size : max_size;

	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	seed = (uint32_t)(s->rng >> 32);
	byte_rng = s->rng;
	if (!reserve(&s->buf, &s->cap, max_size > buf_size ? max_size : buf_size)) {
		*out_buf = buf; /* out of memory: hand back the input unchanged */
		return buf_size;
	}
	*out_buf = s->buf;
	if (add_buf && add_buf_size && seed % 8 == 0) {
		s->last = SM_SPLICE;
		return sm_crossover(buf, buf_size, add_buf, add_buf_size, s->buf, max_size, seed);
	}
	memcpy(s->buf, buf, in);
	return sm_mutate(s->buf, in, max_size, seed, afl_bytes, &s->last);
}

const char *afl_custom_describe(void *data, size_t max_description_len)
{
	sm_afl *s = data;
	size_t n = max_description_len < sizeof(s->name) ? max_description_len : sizeof(s->name);

	if (n == 0)
		return "";
	snprintf(s->name, n, "synfin:%s", sm_kind_name(s->last));
	return s->name;
}

/* ---- Trimming whole events ---- */

/* Trials a trim of n events takes: every block of every size n/2, n/4, .., 1. */
static int32_t trim_steps(size_t n)
{
	size_t total = 0;

	for (size_t c = n / 2 ? n / 2 : 1; c > 0; c /= 2)
		total += (n + c - 1) / c;
	return total > INT32_MAX - 1 ? INT32_MAX - 1 : (int32_t)total;
}

int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size)
{
	sm_afl *s = data;
	size_t cap = 0;

	free(s->cur);
	free(s->cand);
	s->cur = s->cand = NULL;
	s->events = sm_event_count(buf, buf_size);
	if (s->events == 0)
		return 0; /* nothing to trim */
	if (!reserve(&s->cur, &cap, buf_size))
		return 0;
	cap = 0;
	if (!reserve(&s->cand, &cap, buf_size))
		return 0;
	memcpy(s->cur, buf, buf_size);
	s->cur_len = buf_size;
	s->chunk = s->events / 2 ? s->events / 2 : 1;
	s->end = s->events;
	s->step = 0;
	s->steps = trim_steps(s->events);
	return s->steps;
}

size_t afl_custom_trim(void *data, uint8_t **out_buf)
{
	sm_afl *s = data;
	size_t first = s->end > s->chunk ? s->end - s->chunk : 0;

	s->cand_len = sm_cut_events(s->cur, s->cur_len, first, s->end - first, s->cand);
	*out_buf = s->cand;
	return s->cand_len;
}

int32_t afl_custom_post_trim(void *data, unsigned char success)
{
	sm_afl *s = data;
	size_t first = s->end > s->chunk ? s->end - s->chunk : 0;

	if (success) {
		/* The block goes: the candidate is the new input. */
		memcpy(s->cur, s->cand, s->cand_len);
		s->cur_len = s->cand_len;
		s->events -= s->end - first;
	}
	/* Next: the block before this one; after the first block, halve. */
	s->end = first;
	if (s->end == 0) {
		s->chunk /= 2;
		s->end = s->events;
	}
	s->step++;
	/* Done: no block size left, or nothing left to remove. trim_steps()
	 * bounds the trials, so step < steps while there is work left. */
	if (s->chunk == 0 || s->events == 0 || s->step >= s->steps)
		return s->steps;
	return s->step;
}

void afl_custom_deinit(void *data)
{
	sm_afl *s = data;

	if (!s)
		return;
	free(s->buf);
	free(s->cur);
	free(s->cand);
	free(s);
}
