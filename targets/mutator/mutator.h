/*
 * Structure-aware mutation of binary scenarios (README.md, "The binary
 * scenario format"): the input is edited as a list of events, not as bytes.
 *
 *   - events: insert a new one, delete, duplicate, swap two, splice two
 *     inputs at event boundaries (cross-over);
 *   - segments: move seq/ack to the window's edges and just outside, flip a
 *     flag, change the window, payload length or urgent pointer, add, drop
 *     or corrupt options, switch number modes;
 *   - waits: to the next timer exactly, just before it or just after it, or
 *     by steps near the engine's deadlines (200 ms, 1 s, 60 s, 75 s, 2 h);
 *   - calls: another call or fd;
 *   - and now and then the fuzzer's own byte mutation on one event or on
 *     the whole input, so nothing the byte mutator reaches is lost.
 *
 * The same code serves libFuzzer (libfuzzer.c: LLVMFuzzerCustomMutator and
 * LLVMFuzzerCustomCrossOver, linked into the scenario targets) and AFL++
 * (afl.c: a custom mutator library whose trim hooks remove whole events).
 * SYNFIN_MUTATOR=bytes in the environment turns the structure off (every
 * mutation is the byte mutator's), for comparisons.
 */
#ifndef SYNFIN_FUZZ_MUTATOR_H
#define SYNFIN_FUZZ_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

/* A byte mutator to fall back on (libFuzzer's LLVMFuzzerMutate, or AFL's
 * havoc through the library's own simple one): mutates data[0..size) in
 * place within max_size, returns the new size. */
typedef size_t (*fz_byte_mutator)(uint8_t *data, size_t size, size_t max_size);

/* Mutate data[0..size) in place (max_size octets of room). Returns the new
 * size (at least 4: the header). */
size_t fz_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
		 fz_byte_mutator bytes);

/* Splice: events of a, then events of b, cut at random event boundaries.
 * Writes at most max_out octets to out; returns the size. */
size_t fz_crossover(const uint8_t *a, size_t asize, const uint8_t *b, size_t bsize, uint8_t *out,
		    size_t max_out, unsigned int seed);

/* Number of events (records) in an input. */
size_t fz_count_events(const uint8_t *data, size_t size);

/* The input without event `skip` (for trimming); returns the new size. */
size_t fz_drop_event(const uint8_t *data, size_t size, size_t skip, uint8_t *out, size_t max_out);

/* Structure off? (SYNFIN_MUTATOR=bytes) */
int fz_mutator_bytes_only(void);

#endif /* SYNFIN_FUZZ_MUTATOR_H */
