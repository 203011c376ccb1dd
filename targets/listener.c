/*
 * listener: many connections at one listener. The engine listens on
 * 192.168.0.1:8080 with a backlog of 4 and small stack-wide limits (4
 * TIME-WAIT entries, 16 connections), so that one short input can fill the
 * SYN queue and the accept queue, overflow the TIME-WAIT table and reuse a
 * TIME-WAIT 4-tuple with a new SYN (RFC 9293 §3.6.1, DESIGN seeds 9 and 11).
 * Segment records pick their client with the `conn` field (192.0.2.1, port
 * 40000 + conn); the application accepts, reads, writes and closes through
 * its call records. Every oracle of the harness runs after every event.
 */
#include "harness/play.h"

static void configure(fz_setup *s)
{
	s->cfg.max_time_wait = 4;
	s->cfg.max_connections = 16;
}

static const fz_target target = {
	.name = "listener",
	.prologue = FZ_PROLOGUE_LISTEN,
	.backlog = 4,
	.configure = configure,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run_scenario_input(&target, data, size);
}
