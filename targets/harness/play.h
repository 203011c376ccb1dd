/*
 * Playing scenario events (tools/scenario/scenario.h) through the fuzz
 * harness: each event becomes one harness event, so every oracle runs after
 * it. Expectations in a scenario (expected outbound segments, call results,
 * state checks) are ignored: a fuzz run checks oracles, not a script.
 *
 * Numbers follow the scenario model (sc_num_mode): "state" numbers are
 * offsets from the connection's current RCV.NXT / SND.NXT, "script" numbers
 * are packetdrill-relative (inbound seq as written, ack from the engine's
 * ISS), "abs" numbers go on the wire as they are. Script fds are mapped to
 * engine handles like a fresh process: socket() and accept() take the lowest
 * free fd from 3.
 */
#ifndef SYNFIN_FUZZ_PLAY_H
#define SYNFIN_FUZZ_PLAY_H

#include "harness.h"
#include "scenario.h"

#define FZ_MAX_FDS 64

typedef struct fz_player {
	fz_harness *h;
	int handle[FZ_MAX_FDS];  /* script fd -> engine handle, -1 if not open */
	uint64_t start_us;       /* when the scenario started, for absolute times */
	uint64_t last_us;        /* scripted time of the previous event */
	size_t played;
	/* The event being played, for its description on demand. */
	const sc_event *cur;
	const char *what;        /* what part of it: "", "clock to", ... */
	sf_segment seg;          /* an inbound event's resolved segment */
	int fd;                  /* the fd of a final read */
} fz_player;

void fz_player_init(fz_player *p, fz_harness *h);
/* Play every event of scn, at most max_events of them. */
void fz_play(fz_player *p, const sc_scenario *scn, size_t max_events);
/* Play one event. */
void fz_play_event(fz_player *p, const sc_event *ev);
/* Read whatever every open fd has waiting (one recv each), so the stream
 * oracle sees the data even when the input never reads. */
void fz_player_drain(fz_player *p);

/* Prologue events that targets put before the input (so that --emit can
 * write the whole scenario): socket + bind + listen(backlog) on fd 3. */
int fz_prologue_listen(sc_scenario *scn, int backlog);
/* socket + connect to the default remote endpoint on fd 3. */
int fz_prologue_connect(sc_scenario *scn);

/* ---- Scenario targets ---- */

/* What a scenario target plays before its input. */
typedef enum fz_prologue {
	FZ_PROLOGUE_NONE = 0,
	FZ_PROLOGUE_LISTEN,      /* socket, bind 192.168.0.1:8080, listen(backlog) on fd 3 */
	FZ_PROLOGUE_CONNECT,     /* socket, connect to 192.0.2.1:40000 on fd 3 */
} fz_prologue;

typedef struct fz_target {
	const char *name;
	fz_prologue prologue;
	int backlog;                       /* for FZ_PROLOGUE_LISTEN */
	void (*configure)(fz_setup *s);    /* engine settings, or NULL */
} fz_target;

/* Most events one input may play: keeps every input fast. */
#define FZ_MAX_INPUT_EVENTS 4096

/*
 * The whole of a scenario target's LLVMFuzzerTestOneInput: play the
 * prologue, then the input (binary form, total) decoded one event at a time
 * with no allocation, through a fresh harness; read what is left, free
 * everything. With fz_options.emit_path,
 * also writes prologue + input as one binary scenario there.
 */
int fz_run_scenario_input(const fz_target *t, const uint8_t *data, size_t size);

#endif /* SYNFIN_FUZZ_PLAY_H */
