/*
 * active_open: the engine connects from fd 3 to 192.0.2.1:40000 (its SYN is
 * out before the input starts); the input, a scenario in the binary form
 * (README.md), plays the server: the SYN-ACK (or a SYN, for a simultaneous
 * open, or anything else), data, FINs, RSTs and waits, and the client
 * application's calls on fd 3. Every oracle of the harness runs after every
 * event.
 */
#include "harness/play.h"

static const fz_target target = {
	.name = "active_open",
	.prologue = FZ_PROLOGUE_CONNECT,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run_scenario_input(&target, data, size);
}
