/*
 * passive_open: the engine listens on 192.168.0.1:8080 (socket, bind,
 * listen on fd 3, backlog 8); the input, a scenario in the binary form
 * (README.md), plays the client: segments from 192.0.2.1:40000, waits that
 * reach every timer, and the server application's calls (accept on fd 3,
 * then reads, writes, shutdown and close on fd 4...). Every oracle of the
 * harness runs after every event.
 */
#include "harness/play.h"

static const fz_target target = {
	.name = "passive_open",
	.prologue = FZ_PROLOGUE_LISTEN,
	.backlog = 8,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run_scenario_input(&target, data, size);
}
