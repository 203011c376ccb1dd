/*
 * The in-process runner: plays a scenario against the engine (core/) on a
 * virtual clock, with packetdrill's semantics.
 *
 * Time is exact and instant: the clock jumps from event to event and every
 * timer fires at its own deadline on the way, so a script with a 60 s
 * TIME-WAIT runs in microseconds of real time.
 *
 * What the runner checks (scripts; a binary fuzz input has no expectations):
 *   - every expected outbound segment (">" lines), in order: flags, sequence
 *     and acknowledgement numbers (packetdrill-relative), window, urgent
 *     pointer, options (exactly when the script lists them, none when it
 *     gives no "<...>", not at all for "<...>"), payload length (and bytes
 *     when given), TOS/ECN, and the time it was sent (within the tolerance,
 *     default 4 ms like packetdrill, or within a "a~b" range);
 *   - every call result and errno ("= -1 EAGAIN (...)"), including blocking
 *     calls, which return later when the engine lets them;
 *   - state checks ("state(4) = ESTABLISHED");
 *   - after every event, the engine's own invariants (sf_check_invariants).
 * The first mismatch stops the run with a message naming the script
 * position, what was expected and what came.
 *
 * Script options the runner applies ("--name=value" lines): see
 * sc_run_apply_option() and tools/SCRIPTS.md.
 */
#ifndef SYNFIN_RUN_H
#define SYNFIN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"

/* The engine's first ISN: far from 0 so that relative numbers are real work. */
#define SC_RUN_ISN_BASE 0x3b9aca00u
/* packetdrill's default --tolerance_usecs. */
#define SC_RUN_TOLERANCE_US 4000

typedef struct sc_run_opts {
	FILE *trace;            /* every event and state change, or NULL */
	const char *pcap_path;  /* write both directions here, or NULL */
	uint32_t isn_base;      /* the engine's first ISN (0: SC_RUN_ISN_BASE) */
	bool isn_base_set;      /* use isn_base even if 0 */
	bool no_invariants;     /* skip sf_check_invariants() after each event */
} sc_run_opts;

/* Outcome of a run. */
enum {
	SC_RUN_PASS = 0,
	SC_RUN_FAIL = 1,        /* a mismatch or an engine invariant failed */
	SC_RUN_ERROR = 2,       /* the scenario cannot be run (bad option, no memory, pcap) */
};

typedef struct sc_run_result {
	int status;             /* SC_RUN_PASS / FAIL / ERROR */
	size_t event;           /* index of the event that failed */
	char msg[4096];         /* "file:line:col: ..." with expected and actual */
	uint64_t end_us;        /* virtual time at the end */
	size_t events;          /* events played */
	size_t segs_in, segs_out;
	size_t unchecked_out;   /* segments sent after the last expectation, never
				 * compared (packetdrill ignores them too) */
} sc_run_result;

/* Play scn. Returns res->status. */
int sc_run(const sc_scenario *scn, const sc_run_opts *opts, sc_run_result *res);

#endif /* SYNFIN_RUN_H */
