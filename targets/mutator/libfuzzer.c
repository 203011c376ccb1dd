/*
 * libFuzzer's custom mutator hooks for the scenario targets (mutator.h).
 * Linked into passive_open, active_open and listener in the fuzz builds;
 * LLVMFuzzerMutate is libFuzzer's byte mutator, which the structure falls
 * back on now and then (and always with SYNFIN_MUTATOR=bytes).
 */
#include "mutator.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	return fz_mutate(data, size, max_size, seed, LLVMFuzzerMutate);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size, unsigned int seed)
{
	if (fz_mutator_bytes_only()) {
		/* libFuzzer's own cross-over: half of each. */
		size_t n = 0;
		for (size_t i = 0; i < size1 / 2 && n < max_out_size; i++)
			out[n++] = data1[i];
		for (size_t i = size2 / 2; i < size2 && n < max_out_size; i++)
			out[n++] = data2[i];
		return n;
	}
	return fz_crossover(data1, size1, data2, size2, out, max_out_size, seed);
}
