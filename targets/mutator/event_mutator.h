/*
 * Structure-aware mutation of scenario inputs (issue 5, "Structure-aware
 * mutation").
 *
 * A scenario target's input is the binary form of a scenario
 * (targets/README.md). Byte mutators rarely hit what matters to TCP: a
 * sequence number exactly at the right edge of the receive window, an ACK
 * one below SND.UNA, a clock step that stops one microsecond before the
 * TIME-WAIT deadline, an option whose length runs past the option area.
 * This library edits an input as what it is, a list of events:
 *
 *   1. decode it with the total binary decoder (sc_binary_decode), so every
 *      byte string, however broken, is a list of events;
 *   2. apply one mutation (sm_kind) to the events;
 *   3. encode the result (sc_binary_encode, canonical form) and cut it at the
 *      last whole record that fits in max_size.
 *
 * Everything is a pure function of (input, seed): the same seed gives the
 * same output, so libFuzzer and AFL++ can replay their mutations. The
 * numbers the mutations aim at (window edges, timer deadlines) come from the
 * engine's own defaults, sf_config_default() in core/include/synfin/tcp.h.
 *
 * The fuzzer hooks built on this are libfuzzer_hooks.c (LLVMFuzzerCustom-
 * Mutator / LLVMFuzzerCustomCrossOver) and afl_mutator.c (an AFL++ custom
 * mutator library whose trim hooks remove whole events); see
 * targets/MUTATOR.md.
 */
#ifndef SYNFIN_EVENT_MUTATOR_H
#define SYNFIN_EVENT_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

/* The mutations. sm_mutate() reports which one it applied. */
typedef enum sm_kind {
	SM_INSERT = 0,     /* a new event from a template (segment, call, wait) */
	SM_DELETE,         /* remove one event or a short run of events */
	SM_DUPLICATE,      /* repeat one event or a run (retransmissions, floods) */
	SM_SWAP,           /* exchange two events (reordering) */
	SM_MOVE,           /* move a run of events elsewhere in the input */
	SM_SPLICE,         /* cross-over: events of one input, then of another */
	SM_SEQ_EDGE,       /* seq to the receive window's edges and just outside */
	SM_ACK_EDGE,       /* ack to SND.NXT / SND.UNA edges and just outside */
	SM_WINDOW,         /* advertised window to 0, 1, MSS, 65535, ... */
	SM_FLAGS,          /* flip a flag or set an odd combination */
	SM_OPT_ADD,        /* append a well-formed or unknown option */
	SM_OPT_DROP,       /* remove one option, or all of them */
	SM_OPT_CORRUPT,    /* illegal option lengths, truncation, bad values */
	SM_WAIT_DEADLINE,  /* a clock step just before / at / after a deadline */
	SM_TIMER_RUN,      /* a run of "next timer" waits (walk every retry) */
	SM_SEGMENT_FIELD,  /* payload length, urgent pointer, conn, IP faults */
	SM_CALL,           /* change or add an application call */
	SM_RECORD_BYTES,   /* the byte mutator on one record's body only */
	SM_KIND_COUNT
} sm_kind;

/* "insert", "seq-edge", ... (for AFL++'s queue file names and the tests). */
const char *sm_kind_name(sm_kind k);

/*
 * A byte-level mutator (libFuzzer's LLVMFuzzerMutate, or the AFL library's
 * own): mutates data[0..size) in place with room for max_size octets and
 * returns the new size (<= max_size).
 */
typedef size_t (*sm_bytes_fn)(uint8_t *data, size_t size, size_t max_size);

/*
 * Mutate the input data[0..size) in place; data has room for max_size
 * octets. Returns the new size, at most max_size. bytes may be NULL (then
 * SM_RECORD_BYTES is never chosen). *done (may be NULL) receives the
 * mutation applied. Deterministic for a given (data, size, max_size, seed,
 * bytes). If max_size cannot hold even the 4-octet header, the input is
 * only cut to max_size.
 */
size_t sm_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed, sm_bytes_fn bytes,
		 sm_kind *done);

/*
 * Cross-over (SM_SPLICE): a prefix of a's events, then a run of b's events,
 * then (sometimes) the rest of a's. Writes at most max_out octets to out
 * and returns the size. Deterministic for a given seed.
 */
size_t sm_crossover(const uint8_t *a, size_t asize, const uint8_t *b, size_t bsize, uint8_t *out,
		    size_t max_out, uint32_t seed);

/*
 * Inputs longer than `octets` tend to shrink: growing mutations (insert,
 * duplicate, timer-run) turn into deletions half the time, and always past
 * twice that. 0 (the default) leaves only max_size to bound growth. Longer
 * scenarios run slower in every later execution, and a few dozen events
 * reach every state; set once, before fuzzing starts.
 */
void sm_set_soft_len(size_t octets);

/* Number of records (= events) the decoder sees in data[0..size). */
size_t sm_event_count(const uint8_t *data, size_t size);

/*
 * data[0..size) without records [first, first + count), cut out byte for
 * byte (nothing else is re-encoded, so the result is never larger than the
 * input). out needs size octets. Returns the new size.
 */
size_t sm_cut_events(const uint8_t *data, size_t size, size_t first, size_t count, uint8_t *out);

#endif /* SYNFIN_EVENT_MUTATOR_H */
