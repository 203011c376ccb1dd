/*
 * libFuzzer's custom mutator hooks for the scenario targets (passive_open,
 * active_open, listener), linked into those targets in libFuzzer builds
 * (targets/mutator/CMakeLists.txt, cache option SYNFIN_FUZZ_CUSTOM_MUTATOR);
 * nothing calls them, libFuzzer finds them by name. The same targets
 * without them are built as <target>_bytes, the byte-mutator baseline.
 *
 * With a custom mutator defined, libFuzzer mutates only through it. A share
 * of the calls (SYNFIN_MUTATOR_BYTES_PERCENT, default 20) goes to
 * LLVMFuzzerMutate, libFuzzer's own byte mutator with its dictionary and
 * comparison tables, so whatever the byte mutator finds is still found; the
 * rest edit the input as events (event_mutator.h), and one of those kinds
 * runs LLVMFuzzerMutate on a single record's body. Inputs past
 * SYNFIN_MUTATOR_SOFT_LEN octets (default 1024, 0 = off) tend to shrink
 * (sm_set_soft_len).
 */
#include <stdio.h>
#include <stdlib.h>

#include "event_mutator.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size, unsigned int seed);

#define DEFAULT_BYTES_PERCENT 20
#define DEFAULT_SOFT_LEN 1024

/* A number from the environment within [lo, hi], or def. */
static long env_number(const char *name, long def, long lo, long hi)
{
	const char *e = getenv(name);
	char *end = NULL;
	long v = e ? strtol(e, &end, 10) : def;

	if (!e)
		return def;
	if (*e == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "synfin mutator: ignoring %s=%s (want %ld..%ld)\n", name, e, lo, hi);
		return def;
	}
	return v;
}

/* The byte mutator's share in percent, and the soft input length
 * (sm_set_soft_len), read once from the environment. */
static unsigned bytes_percent(void)
{
	static long percent = -1;

	if (percent < 0) {
		percent = env_number("SYNFIN_MUTATOR_BYTES_PERCENT", DEFAULT_BYTES_PERCENT, 0, 100);
		sm_set_soft_len((size_t)env_number("SYNFIN_MUTATOR_SOFT_LEN", DEFAULT_SOFT_LEN, 0,
						   1L << 30));
	}
	return (unsigned)percent;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	/* The choice is a function of the seed, so a mutation replays. The
	 * multiply spreads libFuzzer's seeds over the 100 buckets. */
	if ((seed * 2654435761u >> 16) % 100 < bytes_percent())
		return LLVMFuzzerMutate(data, size, max_size);
	return sm_mutate(data, size, max_size, seed, LLVMFuzzerMutate, NULL);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size, unsigned int seed)
{
	return sm_crossover(data1, size1, data2, size2, out, max_out_size, seed);
}
