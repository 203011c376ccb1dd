/*
 * synfin scenario model: one list of events that every front end produces
 * and every back end consumes (DESIGN.md, "One scenario, many front and back
 * ends").
 *
 *   .pkt script (script_*.c) ────┐                  ┌─ in-process runner (run.c)
 *   binary fuzz form (binary.c) ─┼─► sc_scenario ───┼─ .pkt script (print.c)
 *   pcap capture (pcap*.c) ──────┘                  ├─ JSON for Python (json.c)
 *                                                   └─ binary form, pcap, traces
 *
 * An event is one of:
 *   - an inbound segment (SC_EV_INBOUND): every TCP header field, options as
 *     raw bytes, payload, and IP-level fields and faults;
 *   - an expected outbound segment (SC_EV_OUTBOUND): what the engine must send
 *     (scripts and pcap imports; fuzz inputs leave it out);
 *   - an application call (SC_EV_CALL): socket, bind, listen, accept, connect,
 *     write/send, read/recv, shutdown, close, abort, setsockopt, getsockopt,
 *     fcntl, poll, with its expected result and errno where one is given;
 *   - a clock step (SC_EV_WAIT): virtual time moves on, timers fire;
 *   - a state check (SC_EV_STATE): a connection must be in a given RFC 9293
 *     state (a synfin extension; packetdrill uses inline Python for this).
 *
 * Every event carries its time column (sc_time, packetdrill's absolute,
 * relative, "*" and range forms) and its source position (sc_pos) so that
 * every message can say file:line:column.
 *
 * Conventions (packetdrill's, so that public scripts run with few edits):
 *   - the engine is the local side, SC_LOCAL_ADDR (192.168.0.1), port
 *     SC_LOCAL_PORT (8080) when a script binds with "...";
 *   - the script plays the remote side, SC_REMOTE_ADDR (192.0.2.1), port
 *     SC_REMOTE_PORT unless a packet names its ports;
 *   - socket() returns SC_FIRST_FD (3) for the first socket, and script fd
 *     numbers are mapped by the runner to engine handles;
 *   - sequence numbers in scripts are packetdrill-relative (SC_NUM_SCRIPT):
 *     see sc_num_mode.
 *
 * The model itself has no I/O and no engine calls; scenario.c has the
 * helpers declared here (memory, names, lookup tables). The script front end
 * (script_*.c), the printer (print.c) and JSON (json.c) are declared at the
 * end of this file. The binary form, runner and pcap code have their own
 * headers (binary.h, run.h, pcap_io.h).
 *
 * Ownership: a scenario owns every byte buffer its events point to
 * (payloads, call data) and its option strings; sc_scenario_append() deep
 * copies them from the event it is given, and sc_scenario_free() frees them.
 *
 * Stability: this header is shared between helpers; fields and enum values
 * are only ever appended, never renumbered (the binary form stores some of
 * them). Enum values marked "stable" are part of the binary format.
 */
#ifndef SYNFIN_SCENARIO_H
#define SYNFIN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synfin/tcp.h"
#include "synfin/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Conventions shared by every front and back end. ---- */

#define SC_LOCAL_ADDR "192.168.0.1"  /* the engine (packetdrill's local_ip) */
#define SC_REMOTE_ADDR "192.0.2.1"   /* the script's side (remote_ip) */
#define SC_LOCAL_ADDR6 "fd3d:fa7b:d17d::1"   /* IPv6 variants (packetdrill's) */
#define SC_REMOTE_ADDR6 "2001:db8::1"
#define SC_LOCAL_PORT 8080           /* bind(fd, ..., ...) binds this port */
#define SC_REMOTE_PORT 40000         /* the script's port unless a packet names one;
				      * connection k of a multi-connection scenario
				      * (sc_packet.conn) uses SC_REMOTE_PORT + k */
#define SC_FIRST_FD 3                /* socket() returns 3, 4, ... like a fresh process */

/* Limits every front end enforces (fuzz inputs must stay small and bounded). */
#define SC_MAX_EVENTS 100000         /* events per scenario */
#define SC_MAX_PAYLOAD 65535         /* payload bytes of one segment / one call */
#define SC_MAX_SCRIPT_BYTES (4u << 20) /* largest script file accepted */
#define SC_MAX_TIME_US 1000000000000000LL /* 10^15 us (31 years): the latest
				      * scripted time, so that sums of times
				      * never overflow int64 */

/* ---- Source positions. ---- */

/*
 * A place in the source: 1-based line and column of the token that starts
 * the event (or the field a message is about). line 0 means "no source
 * position" (events made by code); the binary decoder sets line to the
 * event's 1-based index and col to its byte offset + 1 in the input, so
 * messages about fuzz inputs still point somewhere useful.
 */
typedef struct sc_pos {
	uint32_t line;
	uint32_t col;
} sc_pos;

/*
 * An error in a scenario (parse errors, bad options): where, and a message that already starts with
 * "file:line:col: " (e.g. "x.pkt:3:14: unsupported: TCP option 'md5'").
 * msg without the location prefix is at msg + prefix_len.
 */
typedef struct sc_error {
	sc_pos pos;
	size_t prefix_len;
	char msg[512];
} sc_error;

/* ---- The time column. ---- */

/*
 * How an event's time is written (packetdrill's event_time):
 *   "0.100"        SC_TIME_ABS   us = 100000 after the scenario started
 *   "+0.1"         SC_TIME_REL   us = 100000 after the previous event's time
 *   "*"            SC_TIME_ANY   whenever it comes (outbound packets), or,
 *                                 for SC_EV_WAIT, "until the engine's next
 *                                 timer" plus the signed offset in us
 *                                 ("* wait(-0.000005)"; see binary.h)
 * A range "0.1~0.2" or "+0.1~+0.2" (outbound packets only) has range = true
 * and end_us of the same kind as the start; the packet must come within it.
 * A blocking call "0.1...0.2 read(...)" has blocking = true and end_us (same
 * kind as the start): the call starts at us and must return at end_us.
 *
 * Relative times are relative to the previous event's scripted time, like
 * packetdrill's parser; the runner may anchor them on the actual time of the
 * previous event as packetdrill's runtime does (on the virtual clock the two
 * agree whenever the engine is on time). The binary form uses SC_TIME_REL.
 */
typedef enum sc_time_kind {
	SC_TIME_ABS = 0,  /* stable */
	SC_TIME_REL = 1,  /* stable */
	SC_TIME_ANY = 2,  /* stable */
} sc_time_kind;

typedef struct sc_time {
	sc_time_kind kind;
	int64_t us;        /* start, microseconds (>= 0); for SC_TIME_ANY: 0, except
			    * a timer wait's signed offset (may be < 0) */
	bool range;        /* "a~b": end_us is the latest time the packet may come */
	bool blocking;     /* "a...b": a blocking call that returns at end_us */
	int64_t end_us;    /* range or blocking end, same kind as the start */
} sc_time;

/* ---- Sequence and acknowledgement numbers. ---- */

/*
 * How a sequence or acknowledgement number is to be read.
 *
 * SC_NUM_SCRIPT (scripts and pcap imports): packetdrill's relative numbers.
 *   - inbound seq:  relative to the script's (remote) ISN base, which is 0
 *     unless a --remote_isn option says otherwise: on the wire, seq = base +
 *     value ("0 < S 0:0(0)" sends ISN = base);
 *   - inbound ack:  relative to the engine's ISN for that connection: "ack 1"
 *     acknowledges the engine's SYN (engine ISS + 1);
 *   - outbound seq: relative to the engine's ISN ("S. 0:0(0)" is its ISS);
 *   - outbound ack: relative to the same remote base ("ack 1" = base + 1).
 *   SACK blocks in options are translated the same way as ack numbers, and
 *   the runner maps inbound TS ecr like packetdrill (see run.c).
 * SC_NUM_ABS: the exact 32-bit value on the wire, no translation.
 * SC_NUM_STATE (the binary fuzz form's default): a signed 32-bit offset from
 *   the engine's current state for that connection: inbound seq = RCV.NXT +
 *   offset, inbound ack = SND.NXT + offset (RCV.NXT / SND.NXT of the
 *   connection the segment is for, or of the listener's last SYN-ACK; 0 when
 *   there is no connection yet). Random mutations then land near the window.
 */
typedef enum sc_num_mode {
	SC_NUM_SCRIPT = 0,  /* stable */
	SC_NUM_ABS = 1,     /* stable */
	SC_NUM_STATE = 2,   /* stable */
} sc_num_mode;

typedef struct sc_num {
	sc_num_mode mode;
	uint32_t value;    /* for SC_NUM_STATE: an int32_t offset stored as uint32_t */
} sc_num;

/* ---- Segments (inbound and expected outbound). ---- */

/*
 * How the option list of a packet was given:
 *   SC_OPTS_NONE:  no "<...>" at all. Inbound: the segment has no options.
 *                  Outbound: the runner checks that the segment has none,
 *                  like packetdrill (which compares options whenever the
 *                  script does not say "<...>").
 *   SC_OPTS_ANY:   "<...>" (outbound only): options are not checked.
 *   SC_OPTS_LIST:  "<mss 1460,sackOK,...>": opt_raw/opt_len hold the exact
 *                  option bytes in the order written, as they go on the wire
 *                  (inbound) or must come (outbound). Numbers inside (SACK
 *                  blocks, TS val/ecr) are as written; the runner translates
 *                  them (see sc_num_mode).
 */
typedef enum sc_opts_mode {
	SC_OPTS_NONE = 0,  /* stable */
	SC_OPTS_ANY = 1,   /* stable */
	SC_OPTS_LIST = 2,  /* stable */
} sc_opts_mode;

/*
 * One TCP segment, as an inbound segment to inject or an expected outbound
 * segment to check. What is not given is marked so (has_* false) and the
 * back ends decide the default: the runner uses the defaults below.
 *
 * Inbound defaults: ack 0 unless has_ack; window SC_DEFAULT_WIN unless
 * has_win; urgent pointer 0; TTL 64, TOS 0; payload bytes from a fixed
 * filler pattern when payload is NULL.
 * Outbound checks (packetdrill's): flags exactly; seq; ack when has_ack (the
 * ACK flag is then required by the flags check anyway); window when has_win;
 * urgent pointer when has_urg; options per opts_mode; payload length; the
 * payload bytes only when payload is not NULL.
 */
#define SC_DEFAULT_WIN 65535

/*
 * The IP TOS / traffic class of a packet (packetdrill's ip_info):
 *   SC_TOS_NONE   not given: inbound sends 0, outbound is not checked;
 *   SC_TOS_ECN    "[noecn]" "[ect0]" "[ect1]" "[ce]": tos holds the ECN
 *                 codepoint (0..3); inbound sends it, outbound checks only
 *                 the 2 ECN bits;
 *   SC_TOS_FULL   "(tos 0x10)": the whole byte is sent / checked;
 *   SC_TOS_ECT01  "[ect01]" (outbound only): ECT(0) or ECT(1) are both fine.
 */
typedef enum sc_tos_check {
	SC_TOS_NONE = 0,   /* stable */
	SC_TOS_ECN = 1,    /* stable */
	SC_TOS_FULL = 2,   /* stable */
	SC_TOS_ECT01 = 3,  /* stable */
} sc_tos_check;

typedef struct sc_packet {
	uint8_t flags;          /* SF_FIN | SF_SYN | SF_RST | SF_PSH | SF_ACK |
				 * SF_URG | SF_ECE | SF_CWR ("-" in a script = 0) */
	sc_num seq;             /* start sequence number */
	uint32_t len;           /* payload length ("start:end(len)": end = start+len) */
	bool has_ack;
	sc_num ack;             /* "ack N" */
	bool has_win;
	uint16_t win;           /* "win N", as on the wire (unscaled) */
	bool has_urg;
	uint16_t urg;           /* "urg N" */
	sc_opts_mode opts_mode;
	uint8_t opt_len;        /* 0..SF_MAX_OPT_LEN bytes of opt_raw used */
	uint8_t opt_raw[SF_MAX_OPT_LEN];

	/* Endpoints. 0 ports mean the defaults (SC_LOCAL_PORT or the port the
	 * engine's socket has, and SC_REMOTE_PORT + conn). A script may name
	 * the ports ("< 40001 > 8080 S 0:0(0) ..."): sport/dport are then
	 * as written, in the packet's direction (inbound: remote > local). */
	uint16_t sport;
	uint16_t dport;
	uint8_t conn;           /* remote endpoint index for scenarios with several
				 * connections: remote port SC_REMOTE_PORT + conn.
				 * Scripts: derived from a named remote port in
				 * 40000..40255 (sc_conn_of_ports), else 0, or given
				 * as {conn=k} */

	/* IP level (packetdrill's "(tos 0x10)", "[ect0]", "(ttl 32)"); see
	 * sc_tos_check for what tos means. */
	sc_tos_check tos_check;
	uint8_t tos;            /* TOS / traffic-class byte; ECN in the low 2 bits */
	bool has_ttl;
	uint8_t ttl;
	uint8_t reserved;       /* the 4 reserved TCP header bits (inbound only) */
	sf_emit_faults faults;  /* inbound only: bad checksum, wrong length, ... */

	/* Payload bytes, owned by the scenario, or NULL (filler inbound,
	 * unchecked outbound). When not NULL it holds exactly len bytes. */
	uint8_t *payload;
} sc_packet;

/* ---- Application calls. ---- */

/* The calls a scenario can make (stable: stored in the binary form). */
typedef enum sc_call_kind {
	SC_CALL_SOCKET = 0,      /* socket(..., SOCK_STREAM, IPPROTO_TCP) = fd */
	SC_CALL_BIND = 1,        /* bind(fd, ..., ...) */
	SC_CALL_LISTEN = 2,      /* listen(fd, backlog) */
	SC_CALL_ACCEPT = 3,      /* accept(fd, ..., ...) = new fd */
	SC_CALL_CONNECT = 4,     /* connect(fd, ..., ...) */
	SC_CALL_WRITE = 5,       /* write(fd, ..., len) */
	SC_CALL_SEND = 6,        /* send(fd, ..., len, flags) */
	SC_CALL_READ = 7,        /* read(fd, ..., len) */
	SC_CALL_RECV = 8,        /* recv(fd, ..., len, flags) */
	SC_CALL_SHUTDOWN = 9,    /* shutdown(fd, SHUT_WR) */
	SC_CALL_CLOSE = 10,      /* close(fd) */
	SC_CALL_ABORT = 11,      /* abort(fd): synfin extension, RFC 9293 ABORT */
	SC_CALL_SETSOCKOPT = 12, /* setsockopt(fd, level, name, [value], len) */
	SC_CALL_GETSOCKOPT = 13, /* getsockopt(fd, level, name, [value], [len]) */
	SC_CALL_FCNTL = 14,      /* fcntl(fd, F_SETFL, O_RDWR|O_NONBLOCK), F_GETFL */
	SC_CALL_POLL = 15,       /* poll([{fd=N, events=E, revents=R}], 1, timeout) */
	SC_CALL_COUNT
} sc_call_kind;

/* fcntl commands and the flags we model (Linux values). */
enum {
	SC_F_GETFL = 3,
	SC_F_SETFL = 4,
	SC_O_RDWR = 02,
	SC_O_NONBLOCK = 04000,
};

/* socket() arguments we accept (Linux values). */
enum {
	SC_SOCK_STREAM = 1,
	SC_IPPROTO_TCP = 6,
	SC_SOL_SOCKET = 1,        /* setsockopt level */
	SC_SOL_TCP = 6,           /* = IPPROTO_TCP */
	SC_MSG_DONTWAIT = 0x40,   /* send/recv flags we accept */
};

/*
 * Expected result of a call: "= 0", "= 4", "= -1 EAGAIN (Resource temporarily
 * unavailable)". check is false when no result is to be checked (the binary
 * form; scripts always give one). value is the return value as a process
 * sees it (-1 on error), err the positive Linux errno expected with it (0
 * when value >= 0). The "(text)" note of a script is not kept: the printer
 * writes strerror()'s text back.
 */
typedef struct sc_result {
	bool check;
	int64_t value;
	int err;
} sc_result;

/*
 * One application call. Fields not used by a kind are zero. "..." arguments
 * (buffers, addresses, lengths packetdrill ignores) are not stored: they have
 * one meaning in this model.
 */
typedef struct sc_call {
	sc_call_kind kind;
	int32_t fd;             /* the fd argument (script numbering); unused by socket() */

	/* socket(): SF_AF_INET or SF_AF_INET6 (from AF_INET / AF_INET6). */
	int family;

	/* bind()/connect(): has_addr false means "..." (the default endpoint:
	 * SC_LOCAL_ADDR:SC_LOCAL_PORT for bind, the remote one for connect). */
	bool has_addr;
	sf_endpoint addr;

	int32_t backlog;        /* listen() */
	int32_t how;            /* shutdown(): SF_SHUT_RD / SF_SHUT_WR / SF_SHUT_RDWR */

	/* write/send/read/recv: byte count (the len argument). data, when not
	 * NULL, holds len bytes owned by the scenario: what to write (else the
	 * runner writes a filler pattern) or what the read must return (else
	 * only the count is checked). */
	uint32_t len;
	uint8_t *data;
	int32_t msg_flags;      /* send()/recv() flags: 0 or SC_MSG_DONTWAIT */

	/* setsockopt/getsockopt: level (SC_SOL_SOCKET, SC_SOL_TCP), the option,
	 * and the value: setsockopt's input; getsockopt's expected output
	 * unless optval_any ("[...]" or "..."). SO_LINGER's value is -1 for
	 * {onoff=0, linger=N} and N for {onoff=1, linger=N}. */
	int level;
	sf_sockopt opt;
	int32_t optval;
	bool optval_any;

	/* fcntl(fd, cmd, flags): cmd SC_F_GETFL or SC_F_SETFL; flags the
	 * O_* bits written (SC_O_NONBLOCK is what the runner acts on). */
	int32_t fcntl_cmd;
	int32_t fcntl_flags;

	/* poll(): one pollfd; events asked, revents expected (SF_POLL* bits),
	 * timeout in ms (0 = return at once). */
	int32_t poll_events;
	int32_t poll_revents;
	int32_t poll_timeout_ms;

	sc_result ret;
} sc_call;

/* ---- State checks (synfin extension). ---- */

/*
 * "+0 state(4) = ESTABLISHED" checks the connection behind fd 4 (a listener
 * reports LISTEN). "+60 conn_state(0) = CLOSED" checks the connection to
 * remote endpoint index 0 (SC_REMOTE_PORT + 0), which still exists after the
 * fd is closed (FIN-WAIT-2, TIME-WAIT, ...) and is CLOSED when the engine no
 * longer holds it. fd is -1 for the conn_state form.
 */
typedef struct sc_state_check {
	int32_t fd;
	uint8_t conn;
	sf_state state;
} sc_state_check;

/* ---- Events and scenarios. ---- */

typedef enum sc_event_kind {
	SC_EV_INBOUND = 0,   /* stable; "<" line: uses pkt */
	SC_EV_OUTBOUND = 1,  /* stable; ">" line: uses pkt */
	SC_EV_CALL = 2,      /* stable; a call line: uses call */
	SC_EV_WAIT = 3,      /* stable; only the time moves on ("+75 wait", "* wait") */
	SC_EV_STATE = 4,     /* stable; a state check: uses state */
	SC_EV_COUNT
} sc_event_kind;

typedef struct sc_event {
	sc_event_kind kind;
	sc_pos pos;          /* where the event starts (its time column) */
	sc_time time;
	union {
		sc_packet pkt;           /* SC_EV_INBOUND, SC_EV_OUTBOUND */
		sc_call call;            /* SC_EV_CALL */
		sc_state_check state;    /* SC_EV_STATE */
	};
} sc_event;

/*
 * A "--name=value" line at the top of a script (packetdrill's options, such
 * as --tolerance_usecs=10000, plus synfin's own engine settings). The parser
 * accepts the names listed in SCRIPTS.md and rejects others with their
 * position; the runner applies them. value is "" for a bare "--name".
 */
typedef struct sc_option {
	char *name;          /* without the leading "--" */
	char *value;
	sc_pos pos;
} sc_option;

typedef struct sc_scenario {
	char *file;          /* source name for messages ("x.pkt", "<binary>") */
	sc_event *ev;
	size_t count;
	size_t cap;
	sc_option *opts;
	size_t opt_count;
} sc_scenario;

/* ---- scenario.c: memory. ---- */

/* Start an empty scenario; file (may be NULL) is copied. Returns 0 or -ENOMEM. */
int sc_scenario_init(sc_scenario *scn, const char *file);
/* Free everything the scenario owns and zero it. NULL is fine. */
void sc_scenario_free(sc_scenario *scn);
/*
 * Append a copy of *ev. pkt.payload (pkt.len bytes) and call.data
 * (call.len bytes), when not NULL, are copied. Returns the stored event, or
 * NULL when out of memory or at SC_MAX_EVENTS.
 */
sc_event *sc_scenario_append(sc_scenario *scn, const sc_event *ev);
/*
 * Make room for at least n events in all (capped at SC_MAX_EVENTS), so that
 * appending that many reallocates nothing. Returns 0 or -ENOMEM.
 */
int sc_scenario_reserve(sc_scenario *scn, size_t n);
/* Add (or replace) a --name=value option. Returns 0 or -ENOMEM. */
int sc_scenario_set_option(sc_scenario *scn, const char *name, const char *value,
			   sc_pos pos);
/* The option's value, or NULL if not set. */
const char *sc_scenario_option(const sc_scenario *scn, const char *name);
/* Deep copy src into dst (dst is initialized by this call). 0 or -ENOMEM. */
int sc_scenario_copy(sc_scenario *dst, const sc_scenario *src);

/*
 * The connection index a packet's named ports imply: remote port
 * SC_REMOTE_PORT + k gives k (0..255); any other port, or none, gives 0.
 * The remote port is sport for inbound packets, dport for outbound ones.
 */
uint8_t sc_conn_of_ports(const sc_packet *pkt, bool inbound);

/* ---- scenario.c: names and tables. ---- */

/* "inbound", "outbound", "call", "wait", "state". */
const char *sc_event_kind_name(sc_event_kind k);
/* "socket", "bind", ... as written in scripts; "?" if out of range. */
const char *sc_call_name(sc_call_kind k);
/* The kind for a call name, or -1. "send"/"write" and "recv"/"read" stay distinct. */
int sc_call_from_name(const char *name);
/* "script", "abs", "state". */
const char *sc_num_mode_name(sc_num_mode m);
/* "abs", "rel", "any". */
const char *sc_time_kind_name(sc_time_kind k);

/*
 * Flags in packetdrill's notation and order: F S R P . U E W; "-" for none
 * ("S.", "F.", "P.", "R.", "S.E"). buf needs at least 10 bytes. Returns buf.
 */
char *sc_flags_format(uint8_t flags, char *buf);

/* Linux errno from its name ("EAGAIN" -> 11), or 0 if unknown. */
int sc_errno_from_name(const char *name);
/* The name of a positive Linux errno ("EAGAIN"), or NULL if unknown. */
const char *sc_errno_to_name(int err);
/* strerror() text of a Linux errno, fixed (not locale-dependent); "" if unknown. */
const char *sc_errno_text(int err);

/*
 * Socket options by name ("SO_REUSEADDR", "TCP_KEEPIDLE", ...): sets *level
 * (SC_SOL_SOCKET or SC_SOL_TCP) and *opt. Returns 0, or -1 if unknown.
 */
int sc_sockopt_from_name(const char *name, int *level, sf_sockopt *opt);
/* "SO_REUSEADDR" for SF_SO_REUSEADDR, or "?" */
const char *sc_sockopt_name(sf_sockopt opt);
/* "SOL_SOCKET" / "SOL_TCP" / "?" */
const char *sc_level_name(int level);

/*
 * A state from its name: the RFC's ("TIME-WAIT", "SYN-RECEIVED"), with
 * underscores ("TIME_WAIT"), `ss`'s ("TIME-WAIT", "SYN-RECV", "ESTAB") or
 * Linux's TCP_* ("TCP_TIME_WAIT", "TCP_CLOSE"). Returns 0 or -1.
 */
int sc_state_from_name(const char *name, sf_state *out);

/* ---- script_*.c: the packetdrill-syntax front end (see tools/SCRIPTS.md). ---- */


/*
 * Parse a script (text of len bytes, need not be NUL-terminated) named file
 * into *out, which this call initializes. On success returns 0. On error
 * returns -EINVAL (syntax or unsupported construct), -E2BIG (over a limit) or
 * -ENOMEM, fills *err (may be NULL) and leaves *out empty, owning nothing
 * (sc_scenario_free() on it is fine but not needed). Never reads past
 * text[len - 1]; never crashes on any input (it is a fuzz target).
 */
int sc_script_parse(const char *text, size_t len, const char *file,
		    sc_scenario *out, sc_error *err);
/* Read and parse a file. -ENOENT etc. with err->msg saying why. */
int sc_script_parse_file(const char *path, sc_scenario *out, sc_error *err);

/* ---- print.c: events -> readable packetdrill-syntax script. ---- */

/*
 * The whole scenario as a script that sc_script_parse() reads back into
 * equivalent events (options first, one event per line). Events with no
 * script syntax (SC_NUM_STATE numbers, IP faults, conn != 0, payload bytes)
 * are written in synfin's extension syntax (SCRIPTS.md). Returns a malloc'd
 * NUL-terminated string (free() it), or NULL when out of memory.
 */
/*
 * Write a formatted text (sc_script_format(), sc_json_format()) to out and
 * free it. NULL means formatting ran out of memory. Returns 0, -ENOMEM or -EIO.
 */
int sc_write_text(char *text, FILE *out);

char *sc_script_format(const sc_scenario *scn);
/* Same, written to a stream. Returns 0 or -EIO. */
int sc_script_write(const sc_scenario *scn, FILE *out);
/*
 * One event as one script line without the newline, time column included
 * ("+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>"). Returns the length it
 * needs (like snprintf); buf is always NUL-terminated when cap > 0.
 */
size_t sc_event_format(const sc_event *ev, char *buf, size_t cap);
/*
 * A packet in script notation without time and direction
 * ("S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>"), for the runner's
 * "expected ... got ..." messages (its {conn=k} is judged as for an inbound
 * packet). Same return convention.
 */
size_t sc_packet_format(const sc_packet *pkt, char *buf, size_t cap);
/* The option bytes in script notation ("mss 1460,sackOK,TS val 1 ecr 0"). */
size_t sc_options_format(const uint8_t *raw, size_t len, char *buf, size_t cap);

/* ---- json.c: events -> JSON for the Python conformance side. ---- */

/*
 * {"file": ..., "options": {...}, "events": [ {...}, ... ]}, every event with
 * its kind, position {"line","col"}, time, and every field of its kind; the
 * exact schema is in tools/SCRIPTS.md. Returns a malloc'd string or NULL.
 */
char *sc_json_format(const sc_scenario *scn);
/* Same, written to a stream. Returns 0 or -EIO. */
int sc_json_write(const sc_scenario *scn, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* SYNFIN_SCENARIO_H */
