/*
 * The binary fuzz form of a scenario (format version 1, documented in
 * targets/README.md): a 4-octet header, then one self-delimiting record per
 * event. The decoder is total: every byte string decodes to a valid scenario.
 *
 * Events map to records as follows:
 *   SC_EV_INBOUND  segment record (numbers keep their sc_num_mode)
 *   SC_EV_CALL     call record (arguments only: ret.check is false after
 *                  decoding, read data and getsockopt/poll outputs dropped)
 *   SC_EV_WAIT     wait record
 *   SC_EV_OUTBOUND, SC_EV_STATE   not encoded (expectations, not input)
 * Every decoded event has time {SC_TIME_REL, 0} except waits, so the clock
 * moves only through wait records; the encoder turns the time column of a
 * script into wait records.
 *
 * A wait to the engine's next timer (format: wait mode bit 0) is the event
 * SC_EV_WAIT with time.kind == SC_TIME_ANY and time.us the signed offset
 * from the deadline in microseconds (negative: just before it). Use
 * sc_wait_is_timer() to tell the two kinds of waits apart.
 */
#ifndef SYNFIN_BINARY_H
#define SYNFIN_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define SC_BINARY_VERSION 1
#define SC_BINARY_HDR_LEN 4
/* A wait record holds at most 10^9 s either way (the script syntax's limit);
 * larger amounts are read as this. */
#define SC_BINARY_MAX_WAIT_US 1000000000000000LL

/* Record kinds (the tag modulo SC_REC_COUNT). */
enum {
	SC_REC_SEGMENT = 0,
	SC_REC_CALL = 1,
	SC_REC_WAIT = 2,
	SC_REC_COUNT = 3,
};

/*
 * Decode buf[0..len) into *out (initialized by this call; file names it in
 * messages, may be NULL). Never fails on content; returns 0, or -ENOMEM with
 * *out empty but valid. Decoding stops quietly at SC_MAX_EVENTS events.
 * Every event's pos is {index + 1, byte offset + 1} of its record.
 */
int sc_binary_decode(const uint8_t *buf, size_t len, const char *file, sc_scenario *out);

/*
 * Decoding one event at a time, without allocating (the fuzz targets play
 * each event as it is decoded). sc_binary_next() fills *ev with the next
 * record's event, exactly as sc_binary_decode() would put it in the
 * scenario, and returns true; false after the last record or SC_MAX_EVENTS
 * events. The event's pkt.payload or call.data, when the record carries
 * inline octets, point into buf (never NULL, also for zero octets): *ev
 * borrows them, must not free them, and is valid only while buf is.
 */
typedef struct sc_binary_reader {
	const uint8_t *buf;
	size_t len;
	size_t off;          /* start of the next record */
	size_t count;        /* events decoded so far */
} sc_binary_reader;

void sc_binary_reader_init(sc_binary_reader *r, const uint8_t *buf, size_t len);
bool sc_binary_next(sc_binary_reader *r, sc_event *ev);

/*
 * Encode scn. *out is malloc()ed (free() it), *out_len its length.
 * Returns 0 or -ENOMEM.
 */
int sc_binary_encode(const sc_scenario *scn, uint8_t **out, size_t *out_len);

/* Is ev a wait for the engine's next timer (rather than for a time span)? */
static inline bool sc_wait_is_timer(const sc_event *ev)
{
	return ev->kind == SC_EV_WAIT && ev->time.kind == SC_TIME_ANY;
}

#endif /* SYNFIN_BINARY_H */
