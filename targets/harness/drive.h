/*
 * Bring a connection into any RFC 9293 state through a textbook exchange
 * (every step checked by the harness's oracles), for targets that start
 * from a state rather than from CLOSED.
 */
#ifndef SYNFIN_FUZZ_DRIVE_H
#define SYNFIN_FUZZ_DRIVE_H

#include "harness.h"

/* One connection as the peer sees it. */
typedef struct fz_conn_ref {
	int sd;              /* the engine's handle for it, or -1 (SYN-RECEIVED, CLOSED) */
	int listener;        /* the listening handle it came from, or -1 */
	sf_endpoint local;   /* the engine's side */
	sf_endpoint remote;  /* the peer's side */
	uint32_t peer_nxt;   /* the peer's next sequence number (our RCV.NXT) */
	uint32_t our_nxt;    /* what the peer acknowledges (our SND.NXT) */
} fz_conn_ref;

/*
 * Bring the connection with the given remote port into `target` at the
 * current virtual time. Passive opens share one listener on FZ_LOCAL_PORT,
 * made on first use (*listener is -1 before). For CLOSED, the reference
 * names a port nobody listens on; for LISTEN, a fresh remote port towards
 * the listener. Fails the "setup" oracle if the engine does not follow.
 */
void fz_drive(fz_harness *h, sf_state target, uint16_t remote_port, int *listener,
	      fz_conn_ref *ref);

#endif /* SYNFIN_FUZZ_DRIVE_H */
