/*
 * The packetdrill-syntax script parser: .pkt text -> scenario events.
 *
 * A recursive-descent parser over the lexer of script_lex.c, following the
 * grammar of packetdrill's parser.y for the TCP subset that real scripts use
 * (tools/SCRIPTS.md lists it, with synfin's extensions). Everything else is
 * rejected with "file:line:col: unsupported: ..." naming the construct, never
 * skipped: a script that parses means what it says.
 *
 * The parser is a fuzz target: it works on a bounded buffer, allocates only
 * through the scenario (and one scratch buffer), and stops at the first
 * error.
 */
#include "scenario.h"
#include "script_lex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Parser state and errors. ---- */

#define MAX_EXPR 64 /* expression nodes in one call's arguments */

typedef enum ex_kind {
	EX_ELLIPSIS,
	EX_INT,
	EX_WORD,
	EX_STRING,
	EX_LIST,    /* [a, b] */
	EX_STRUCT,  /* {a, b} */
	EX_OR,      /* a | b | c */
	EX_ASSIGN,  /* name = value: text is the name, child the value */
	EX_FUNC,    /* name(args) */
} ex_kind;

typedef struct ex {
	ex_kind kind;
	sc_pos pos;
	int64_t ival;
	const char *text;   /* WORD, STRING (without quotes), ASSIGN / FUNC name */
	size_t len;
	int child;          /* first child, or -1 */
	int next;           /* next sibling, or -1 */
	int nchild;
} ex;

typedef struct parser {
	sc_lexer lx;
	sc_scenario *scn;
	sc_error *err;
	bool failed;
	int family;         /* SF_AF_INET unless --ip_version=ipv6 */
	ex nodes[MAX_EXPR];
	int nnodes;
	uint8_t *scratch;   /* SC_MAX_PAYLOAD bytes for strings and payloads */
	bool raw_opts;      /* the option list being parsed has a raw item */
	int64_t script_us;  /* the scripted time of the previous event */
} parser;

static int perr(parser *p, sc_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error with its position; later ones are consequences. */
static int perr(parser *p, sc_pos pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -EINVAL;
	p->failed = true;
	if (!p->err)
		return -EINVAL;
	p->err->pos = pos;
	n = snprintf(p->err->msg, sizeof(p->err->msg), "%s:%u:%u: ",
		     p->scn->file ? p->scn->file : "<script>", pos.line, pos.col);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(p->err->msg))
		n = (int)sizeof(p->err->msg) - 1;
	p->err->prefix_len = (size_t)n;
	va_start(ap, fmt);
	vsnprintf(p->err->msg + n, sizeof(p->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A short, printable rendering of a token for messages. */
#define TOKSTR(t) sc_tok_str((t), tokbuf, sizeof(tokbuf))

static int lex_error(parser *p, const sc_tok *t)
{
	return perr(p, t->pos, "%s", p->lx.errmsg);
}

static int unexpected(parser *p, const sc_tok *t, const char *wanted)
{
	char tokbuf[48];

	if (t->kind == SC_TK_ERROR)
		return lex_error(p, t);
	return perr(p, t->pos, "expected %s, got '%s'", wanted, TOKSTR(t));
}

static int expect_punct(parser *p, char c, const char *wanted)
{
	sc_tok t = sc_lex_next(&p->lx);

	if (!sc_tok_is_punct(&t, c))
		return unexpected(p, &t, wanted);
	return 0;
}

/* An integer token within [lo, hi]. */
static int expect_int(parser *p, int64_t lo, int64_t hi, const char *what, int64_t *v,
		      sc_pos *pos)
{
	sc_tok t = sc_lex_next(&p->lx);

	if (pos)
		*pos = t.pos;
	if (t.kind != SC_TK_INT && t.kind != SC_TK_HEX)
		return unexpected(p, &t, what);
	if (t.overflow || t.ival < lo || t.ival > hi)
		return perr(p, t.pos, "%s out of range (%lld..%lld)", what, (long long)lo,
			    (long long)hi);
	*v = t.ival;
	return 0;
}

/* ---- Options ("--name=value" lines at the top). ---- */

static bool raw_value_char(char c)
{
	return c != ' ' && c != '\t' && c != '\r' && c != '\n';
}

static const char *const engine_options[] = {
	"sf_mss", "sf_sndbuf", "sf_rcvbuf", "sf_rto_initial", "sf_rto_min", "sf_rto_max",
	"sf_syn_retries", "sf_synack_retries", "sf_retries2", "sf_time_wait",
	"sf_fin_wait_2", "sf_keepalive_idle", "sf_keepalive_intvl", "sf_keepalive_probes",
	"sf_oow_ack_interval", "sf_challenge_ack_limit", "sf_rfc1337", "sf_max_backlog",
	"sf_max_time_wait", "sf_max_connections", "sf_mem_limit", "sf_ephemeral_lo",
	"sf_ephemeral_hi", "sf_listen_active_open",
};

static bool is_engine_option(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(engine_options) / sizeof(engine_options[0]); i++)
		if (strcmp(name, engine_options[i]) == 0)
			return true;
	return false;
}

static bool is_uint_text(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Check an option's value by its name; 0 or an error. */
static int check_option(parser *p, const char *name, const char *value, sc_pos npos,
			sc_pos vpos)
{
	unsigned char addr[16];

	if (strcmp(name, "ip_version") == 0) {
		if (strcmp(value, "ipv4") == 0)
			p->family = SF_AF_INET;
		else if (strcmp(value, "ipv6") == 0)
			p->family = SF_AF_INET6;
		else
			return perr(p, vpos, "unsupported: --ip_version=%s (ipv4 or ipv6; "
				    "ipv4-mapped-ipv6 is not supported)", value);
		return 0;
	}
	if (strcmp(name, "local_ip") == 0 || strcmp(name, "remote_ip") == 0) {
		if (inet_pton(AF_INET, value, addr) != 1 && inet_pton(AF_INET6, value, addr) != 1)
			return perr(p, vpos, "--%s needs an IPv4 or IPv6 address, got '%s'",
				    name, value);
		return 0;
	}
	if (strcmp(name, "tolerance_usecs") == 0 || strcmp(name, "remote_isn") == 0 ||
	    strcmp(name, "isn") == 0 ||
	    is_engine_option(name)) {
		if (!is_uint_text(value) || strlen(value) > 19)
			return perr(p, vpos, "--%s needs a non-negative integer, got '%s'",
				    name, value);
		return 0;
	}
	return perr(p, npos, "unsupported: option '--%s' (supported: --tolerance_usecs, "
		    "--ip_version, --local_ip, --remote_ip, --remote_isn, --isn, "
		    "--sf_<engine setting>; see SCRIPTS.md)", name);
}

static int parse_option(parser *p)
{
	sc_tok t = sc_lex_next(&p->lx);
	char name[64], value[128];
	sc_pos vpos = t.pos;
	const sc_tok *eq;

	if (t.len - 2 >= sizeof(name))
		return perr(p, t.pos, "option name too long");
	memcpy(name, t.text + 2, t.len - 2);
	name[t.len - 2] = '\0';
	value[0] = '\0';
	eq = sc_lex_peek(&p->lx);
	/* "--name=value" is one piece of text: the '=' must follow the name. */
	if (sc_tok_is_punct(eq, '=') && eq->off == t.off + t.len) {
		sc_tok v;

		sc_lex_next(&p->lx);
		v = sc_lex_raw(&p->lx, raw_value_char);
		vpos = v.pos;
		if (v.len == 0 || v.off != eq->off + 1)
			return perr(p, eq->pos, "expected a value right after '--%s='", name);
		if (v.len >= sizeof(value))
			return perr(p, v.pos, "option value too long");
		memcpy(value, v.text, v.len);
		value[v.len] = '\0';
	}
	if (check_option(p, name, value, t.pos, vpos) < 0)
		return -EINVAL;
	if (sc_scenario_set_option(p->scn, name, value, t.pos) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- The time column. ---- */

static int time_value(parser *p, const sc_tok *t, int64_t *us)
{
	const char *why;

	if (t->kind != SC_TK_INT && t->kind != SC_TK_FLOAT)
		return unexpected(p, t, "a time in seconds");
	if (sc_lex_time_us(t, false, us, &why) < 0)
		return perr(p, t->pos, "%s", why);
	return 0;
}

/*
 * packetdrill's event_time: "*", "0.1", "+0.1", "a~b", "+a~+b", plus the
 * blocking form "a...b" of system calls (packetdrill's opt_end_time, whose
 * end is written without '+' and counts from the same point as the start).
 */
static int parse_time(parser *p, sc_time *tm)
{
	sc_tok t = sc_lex_next(&p->lx);
	bool rel = false;

	memset(tm, 0, sizeof(*tm));
	if (sc_tok_is_punct(&t, '*')) {
		tm->kind = SC_TIME_ANY;
		return 0;
	}
	if (sc_tok_is_punct(&t, '+')) {
		rel = true;
		t = sc_lex_next(&p->lx);
	}
	if (t.kind != SC_TK_INT && t.kind != SC_TK_FLOAT) {
		if (t.kind == SC_TK_BACKQUOTE)
			return perr(p, t.pos, "unsupported: shell commands (`...`); synfin runs "
				    "scripts in-process and does not run shell commands");
		if (t.kind == SC_TK_CODE)
			return perr(p, t.pos, "unsupported: inline Python (%%{ ... }%%); use the "
				    "state(fd) = STATE extension to check a connection's state");
		return unexpected(p, &t, rel ? "a time after '+'" :
				  "a time ('0', '+0.1', '*') at the start of an event");
	}
	tm->kind = rel ? SC_TIME_REL : SC_TIME_ABS;
	if (time_value(p, &t, &tm->us) < 0)
		return -EINVAL;
	if (sc_tok_is_punct(sc_lex_peek(&p->lx), '~')) {
		sc_tok tilde = sc_lex_next(&p->lx);

		t = sc_lex_next(&p->lx);
		if (rel != sc_tok_is_punct(&t, '+'))
			return perr(p, t.pos, "a time range is relative at both ends "
				    "(+a~+b) or absolute at both (a~b)");
		if (rel)
			t = sc_lex_next(&p->lx);
		if (time_value(p, &t, &tm->end_us) < 0)
			return -EINVAL;
		if (tm->end_us < tm->us)
			return perr(p, tilde.pos, "time range is backwards");
		tm->range = true;
	} else if (sc_lex_peek(&p->lx)->kind == SC_TK_ELLIPSIS) {
		sc_tok dots = sc_lex_next(&p->lx);

		t = sc_lex_next(&p->lx);
		if (time_value(p, &t, &tm->end_us) < 0)
			return -EINVAL;
		if (tm->end_us < tm->us)
			return perr(p, dots.pos, "the end of a blocking time a...b is before "
				    "its start");
		tm->blocking = true;
	}
	return 0;
}

/* ---- Packets. ---- */

enum num_field { F_SEQ_IN, F_ACK_IN, F_SEQ_OUT, F_ACK_OUT };

/*
 * A sequence or ack number: "N" (packetdrill-relative), "=N" (absolute, as
 * on the wire), "rcv+N" / "rcv-N" (inbound seq from RCV.NXT) or "snd+N" /
 * "snd-N" (inbound ack from SND.NXT): see sc_num_mode.
 */
static int parse_num(parser *p, enum num_field f, sc_num *out)
{
	char tokbuf[48];
	sc_tok t = sc_lex_next(&p->lx);
	int64_t off;

	if (t.kind == SC_TK_INT) {
		if (t.overflow || t.ival < 0 || t.ival > UINT32_MAX)
			return perr(p, t.pos, "sequence number out of range (0..4294967295)");
		out->mode = SC_NUM_SCRIPT;
		out->value = (uint32_t)t.ival;
		return 0;
	}
	if (sc_tok_is_punct(&t, '=')) {
		int64_t v;

		if (expect_int(p, 0, UINT32_MAX, "an absolute sequence number after '='", &v,
			       NULL) < 0)
			return -EINVAL;
		out->mode = SC_NUM_ABS;
		out->value = (uint32_t)v;
		return 0;
	}
	if (sc_tok_is_word(&t, "rcv") || sc_tok_is_word(&t, "snd")) {
		const char *want = (f == F_SEQ_IN) ? "rcv" : "snd";
		sc_tok n;

		if (f == F_SEQ_OUT || f == F_ACK_OUT)
			return perr(p, t.pos, "'%s' offsets are for inbound packets only",
				    TOKSTR(&t));
		if (!sc_tok_is_word(&t, want))
			return perr(p, t.pos, "an inbound %s is relative to '%s' (%s), not '%s'",
				    f == F_SEQ_IN ? "seq" : "ack", want,
				    f == F_SEQ_IN ? "RCV.NXT" : "SND.NXT", TOKSTR(&t));
		n = sc_lex_next(&p->lx);
		if (sc_tok_is_punct(&n, '+')) {
			n = sc_lex_next(&p->lx);
			if (n.kind != SC_TK_INT || n.ival < 0)
				return unexpected(p, &n, "an offset after '+'");
		} else if (n.kind != SC_TK_INT || n.ival >= 0) {
			return unexpected(p, &n, "'+N' or '-N' after the base");
		}
		off = n.ival;
		if (n.overflow || off < INT32_MIN || off > INT32_MAX)
			return perr(p, n.pos, "offset out of range (32-bit signed)");
		out->mode = SC_NUM_STATE;
		out->value = (uint32_t)(int32_t)off;
		return 0;
	}
	return unexpected(p, &t, "a sequence number");
}

static bool flag_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-';
}

/* packetdrill's flags: letters of "FSRP.UEWA", or "-" for none. */
static int parse_flags(parser *p, sc_packet *pk)
{
	sc_tok t = sc_lex_raw(&p->lx, flag_char);
	size_t i;

	if (t.kind == SC_TK_ERROR)
		return lex_error(p, &t);
	if (t.len == 0) {
		sc_tok n = sc_lex_next(&p->lx);

		return unexpected(p, &n, "TCP flags (such as S, S., ., P., F., R, -)");
	}
	if (t.len == 1 && t.text[0] == '-')
		return 0;
	for (i = 0; i < t.len; i++) {
		sc_pos pos = { t.pos.line, t.pos.col + (uint32_t)i };
		char c = t.text[i];

		switch (c) {
		case 'F': pk->flags |= SF_FIN; break;
		case 'S': pk->flags |= SF_SYN; break;
		case 'R': pk->flags |= SF_RST; break;
		case 'P': pk->flags |= SF_PSH; break;
		case '.': pk->flags |= SF_ACK; break;
		case 'U': pk->flags |= SF_URG; break;
		case 'E': pk->flags |= SF_ECE; break;
		case 'W': pk->flags |= SF_CWR; break;
		case 'A': pk->reserved |= 0x1; break; /* AE (RFC 9768): lowest reserved bit */
		default:
			if (c >= '0' && c <= '7')
				return perr(p, pos, "unsupported: AccECN ACE flag value '%c'", c);
			return perr(p, pos, "invalid TCP flag '%c' (flags are F S R P . U E W A, "
				    "or - for none)", c);
		}
	}
	return 0;
}

/* "start:end(len)", with end = start + len (mod 2^32). */
static int parse_seq(parser *p, bool inbound, sc_packet *pk)
{
	enum num_field f = inbound ? F_SEQ_IN : F_SEQ_OUT;
	sc_pos epos = sc_lex_peek(&p->lx)->pos;
	sc_num end;
	int64_t len;

	if (parse_num(p, f, &pk->seq) < 0 ||
	    expect_punct(p, ':', "':' in start:end(length)") < 0)
		return -EINVAL;
	epos = sc_lex_peek(&p->lx)->pos;
	if (parse_num(p, f, &end) < 0 ||
	    expect_punct(p, '(', "'(' in start:end(length)") < 0 ||
	    expect_int(p, 0, SC_MAX_PAYLOAD, "TCP payload size", &len, NULL) < 0 ||
	    expect_punct(p, ')', "')' in start:end(length)") < 0)
		return -EINVAL;
	if (end.mode != pk->seq.mode)
		return perr(p, epos, "start and end of start:end(length) are written "
			    "differently");
	if ((uint32_t)(pk->seq.value + (uint32_t)len) != end.value)
		return perr(p, epos, "inconsistent TCP sequence numbers and payload size");
	pk->len = (uint32_t)len;
	return 0;
}

/* "[ect0]", "(tos 0x10)", "(ttl 32)", "[ect0, ttl 5]". */
static int parse_ip_info(parser *p, sc_packet *pk, bool inbound)
{
	char tokbuf[48];
	sc_tok open = sc_lex_next(&p->lx);
	char close = open.punct == '(' ? ')' : ']';

	for (;;) {
		sc_tok t = sc_lex_next(&p->lx);
		int64_t v;

		if (sc_tok_is_word(&t, "noecn") || sc_tok_is_word(&t, "ect0") ||
		    sc_tok_is_word(&t, "ect1") || sc_tok_is_word(&t, "ce")) {
			pk->tos_check = SC_TOS_ECN;
			pk->tos = sc_tok_is_word(&t, "noecn") ? 0 : sc_tok_is_word(&t, "ect1") ? 1 :
				  sc_tok_is_word(&t, "ect0") ? 2 : 3;
		} else if (sc_tok_is_word(&t, "ect01")) {
			if (inbound)
				return perr(p, t.pos, "[ect01] can only be used with outbound "
					    "packets");
			pk->tos_check = SC_TOS_ECT01;
		} else if (sc_tok_is_word(&t, "tos")) {
			if (expect_int(p, 0, 255, "tos value", &v, NULL) < 0)
				return -EINVAL;
			pk->tos_check = SC_TOS_FULL;
			pk->tos = (uint8_t)v;
		} else if (sc_tok_is_word(&t, "ttl")) {
			if (expect_int(p, 0, 255, "ttl value", &v, NULL) < 0)
				return -EINVAL;
			pk->has_ttl = true;
			pk->ttl = (uint8_t)v;
		} else if (sc_tok_is_word(&t, "flowlabel")) {
			return perr(p, t.pos, "unsupported: IPv6 flow label");
		} else {
			return unexpected(p, &t, "ect0, ect1, ce, noecn, ect01, tos N or ttl N");
		}
		t = sc_lex_next(&p->lx);
		if (t.kind == SC_TK_PUNCT && t.punct == close)
			return 0;
		if (!sc_tok_is_punct(&t, ','))
			return perr(p, t.pos, "expected ',' or '%c' in IP info, got '%s'", close,
				    TOKSTR(&t));
	}
}

/* ---- TCP options. ---- */

static int opt_put(parser *p, sc_packet *pk, const uint8_t *b, size_t n, sc_pos pos)
{
	if (pk->opt_len + n > SF_MAX_OPT_LEN)
		return perr(p, pos, "TCP option list too long (more than %d bytes)",
			    SF_MAX_OPT_LEN);
	memcpy(pk->opt_raw + pk->opt_len, b, n);
	pk->opt_len = (uint8_t)(pk->opt_len + n);
	return 0;
}

static bool hex_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* Decode hex text into out (cap bytes). Returns the byte count or -1. */
static int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n; i++)
		if (!hex_char(s[i]))
			return -1;
	for (i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]));
	return (int)(n / 2);
}

/* FO / FOEXP cookies and md5 digests: a bare hex blob, maybe empty. */
static int parse_hex_blob(parser *p, uint8_t *out, size_t cap, const char *what, int *n)
{
	sc_tok t = sc_lex_raw(&p->lx, hex_char);

	if (t.len % 2)
		return perr(p, t.pos, "%s has an odd number of hex digits", what);
	*n = hex_decode(t.text, t.len, out, cap);
	if (*n < 0)
		return perr(p, t.pos, "%s is too long (at most %zu bytes)", what, cap);
	return 0;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static int parse_sack_option(parser *p, sc_packet *pk, sc_pos pos)
{
	uint8_t b[2 + 8 * SF_MAX_SACK_BLOCKS];
	size_t n = 2;

	while (sc_lex_peek(&p->lx)->kind == SC_TK_INT) {
		int64_t l, r;

		if (n + 8 > sizeof(b))
			return perr(p, sc_lex_peek(&p->lx)->pos, "more than %d SACK blocks",
				    SF_MAX_SACK_BLOCKS);
		if (expect_int(p, 0, UINT32_MAX, "SACK left edge", &l, NULL) < 0 ||
		    expect_punct(p, ':', "':' in a SACK block left:right") < 0 ||
		    expect_int(p, 0, UINT32_MAX, "SACK right edge", &r, NULL) < 0)
			return -EINVAL;
		put32(b + n, (uint32_t)l);
		put32(b + n + 4, (uint32_t)r);
		n += 8;
	}
	if (n == 2)
		return perr(p, pos, "sack needs at least one block left:right");
	b[0] = SF_OPT_SACK;
	b[1] = (uint8_t)n;
	return opt_put(p, pk, b, n, pos);
}

static int parse_option_item(parser *p, sc_packet *pk)
{
	char tokbuf[48];
	sc_tok t = sc_lex_next(&p->lx);
	uint8_t b[SF_MAX_OPT_LEN + 4];
	int64_t v, v2;
	int n;

	if (sc_tok_is_word(&t, "nop") || sc_tok_is_word(&t, "eol")) {
		b[0] = sc_tok_is_word(&t, "nop") ? SF_OPT_NOP : SF_OPT_EOL;
		return opt_put(p, pk, b, 1, t.pos);
	}
	if (sc_tok_is_word(&t, "mss")) {
		if (expect_int(p, 0, 65535, "mss value", &v, NULL) < 0)
			return -EINVAL;
		b[0] = SF_OPT_MSS, b[1] = 4, b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
		return opt_put(p, pk, b, 4, t.pos);
	}
	if (sc_tok_is_word(&t, "wscale")) {
		if (expect_int(p, 0, 255, "window scale shift count", &v, NULL) < 0)
			return -EINVAL;
		b[0] = SF_OPT_WSCALE, b[1] = 3, b[2] = (uint8_t)v;
		return opt_put(p, pk, b, 3, t.pos);
	}
	if (sc_tok_is_word(&t, "sackOK")) {
		b[0] = SF_OPT_SACK_PERM, b[1] = 2;
		return opt_put(p, pk, b, 2, t.pos);
	}
	if (sc_tok_is_word(&t, "sack"))
		return parse_sack_option(p, pk, t.pos);
	if (sc_tok_is_word(&t, "TS")) {
		sc_tok w = sc_lex_next(&p->lx);

		if (!sc_tok_is_word(&w, "val"))
			return unexpected(p, &w, "'val' after TS");
		if (expect_int(p, 0, UINT32_MAX, "TS val", &v, NULL) < 0)
			return -EINVAL;
		w = sc_lex_next(&p->lx);
		if (!sc_tok_is_word(&w, "ecr"))
			return unexpected(p, &w, "'ecr' after TS val N");
		if (expect_int(p, 0, UINT32_MAX, "TS ecr", &v2, NULL) < 0)
			return -EINVAL;
		b[0] = SF_OPT_TS, b[1] = 10;
		put32(b + 2, (uint32_t)v);
		put32(b + 6, (uint32_t)v2);
		return opt_put(p, pk, b, 10, t.pos);
	}
	if (sc_tok_is_word(&t, "FO")) {
		/* TCP Fast Open (RFC 7413), kind 34: carried as bytes only. */
		if (parse_hex_blob(p, b + 2, SF_MAX_OPT_LEN - 2, "TCP fast open cookie", &n) < 0)
			return -EINVAL;
		b[0] = 34, b[1] = (uint8_t)(2 + n);
		return opt_put(p, pk, b, (size_t)(2 + n), t.pos);
	}
	if (sc_tok_is_word(&t, "FOEXP")) {
		/* The experimental Fast Open option: kind 254, magic 0xF989. */
		if (parse_hex_blob(p, b + 4, SF_MAX_OPT_LEN - 4, "TCP fast open cookie", &n) < 0)
			return -EINVAL;
		b[0] = 254, b[1] = (uint8_t)(4 + n), b[2] = 0xF9, b[3] = 0x89;
		return opt_put(p, pk, b, (size_t)(4 + n), t.pos);
	}
	if (sc_tok_is_word(&t, "md5")) {
		/* RFC 2385 option, kind 19: carried as bytes; nothing verifies it. */
		if (parse_hex_blob(p, b + 2, 16, "TCP MD5 digest", &n) < 0)
			return -EINVAL;
		b[0] = 19, b[1] = (uint8_t)(2 + n);
		return opt_put(p, pk, b, (size_t)(2 + n), t.pos);
	}
	if (sc_tok_is_word(&t, "raw")) {
		/* synfin extension: any option bytes, malformed ones included, and
		 * no padding rule (the emitter pads with EOL). */
		p->raw_opts = true;
		sc_tok s = sc_lex_next(&p->lx);

		if (s.kind != SC_TK_STRING)
			return unexpected(p, &s, "a quoted hex string after 'raw'");
		n = hex_decode(s.text + 1, s.len - 2, b, sizeof(b));
		if (n < 0)
			return perr(p, s.pos, "raw option bytes must be an even number of hex "
				    "digits, at most %d bytes", SF_MAX_OPT_LEN);
		return opt_put(p, pk, b, (size_t)n, t.pos);
	}
	if (t.kind == SC_TK_WORD)
		return perr(p, t.pos, "unsupported: TCP option '%s'", TOKSTR(&t));
	return unexpected(p, &t, "a TCP option (mss, wscale, sackOK, sack, TS, nop, eol)");
}

static int parse_options(parser *p, sc_packet *pk, bool inbound)
{
	char tokbuf[48];
	sc_tok open = sc_lex_next(&p->lx);

	if (sc_lex_peek(&p->lx)->kind == SC_TK_ELLIPSIS) {
		sc_lex_next(&p->lx);
		if (inbound)
			return perr(p, open.pos, "<...> for TCP options can only be used with "
				    "outbound packets");
		pk->opts_mode = SC_OPTS_ANY;
		return expect_punct(p, '>', "'>' after <...");
	}
	pk->opts_mode = SC_OPTS_LIST;
	p->raw_opts = false;
	for (;;) {
		sc_tok t;

		if (parse_option_item(p, pk) < 0)
			return -EINVAL;
		t = sc_lex_next(&p->lx);
		if (sc_tok_is_punct(&t, '>'))
			break;
		if (!sc_tok_is_punct(&t, ','))
			return perr(p, t.pos, "expected ',' or '>' in the TCP option list, got '%s'",
				    TOKSTR(&t));
	}
	if (pk->opt_len % 4 && !p->raw_opts)
		return perr(p, open.pos, "TCP options are not padded correctly to ensure TCP "
			    "header is a multiple of 4 bytes: %d excess bytes", pk->opt_len % 4);
	return 0;
}

/* ---- synfin's packet extension block: {bad_tcp_csum, conn=1, ...}. ---- */

static int unescape_hex_payload(parser *p, const sc_tok *s, sc_packet *pk)
{
	int n;

	if (s->kind != SC_TK_STRING)
		return unexpected(p, s, "a quoted hex string");
	n = hex_decode(s->text + 1, s->len - 2, p->scratch, SC_MAX_PAYLOAD);
	if (n < 0)
		return perr(p, s->pos, "payload must be an even number of hex digits");
	if ((uint32_t)n != pk->len)
		return perr(p, s->pos, "payload has %d bytes but the segment says (%u)", n,
			    pk->len);
	pk->payload = p->scratch;
	return 0;
}

static int parse_ext_item(parser *p, sc_packet *pk, bool inbound)
{
	char tokbuf[48];
	sc_tok k = sc_lex_next(&p->lx);
	int64_t v = 0;
	sc_pos vpos;

	if (sc_tok_is_word(&k, "bad_tcp_csum") || sc_tok_is_word(&k, "bad_ip_csum")) {
		if (!inbound)
			return perr(p, k.pos, "'%s' is for inbound packets only", TOKSTR(&k));
		if (sc_tok_is_word(&k, "bad_tcp_csum"))
			pk->faults.bad_tcp_checksum = true;
		else
			pk->faults.bad_ip_checksum = true;
		return 0;
	}
	if (k.kind != SC_TK_WORD)
		return unexpected(p, &k, "a packet extension (bad_tcp_csum, bad_ip_csum, "
				  "ip_len_delta=N, doff_delta=N, reserved=N, conn=N, payload=\"hex\")");
	if (expect_punct(p, '=', "'=' after the extension name") < 0)
		return -EINVAL;
	if (sc_tok_is_word(&k, "payload")) {
		sc_tok s = sc_lex_next(&p->lx);

		return unescape_hex_payload(p, &s, pk);
	}
	if (sc_tok_is_word(&k, "ip_len_delta")) {
		if (expect_int(p, INT16_MIN, INT16_MAX, "ip_len_delta", &v, &vpos) < 0)
			return -EINVAL;
		pk->faults.ip_len_delta = (int16_t)v;
	} else if (sc_tok_is_word(&k, "doff_delta")) {
		if (expect_int(p, INT8_MIN, INT8_MAX, "doff_delta", &v, &vpos) < 0)
			return -EINVAL;
		pk->faults.data_off_delta = (int8_t)v;
	} else if (sc_tok_is_word(&k, "reserved")) {
		if (expect_int(p, 0, 15, "reserved bits", &v, &vpos) < 0)
			return -EINVAL;
		pk->reserved = (uint8_t)v;
		return 0;
	} else if (sc_tok_is_word(&k, "conn")) {
		if (expect_int(p, 0, 255, "connection index", &v, &vpos) < 0)
			return -EINVAL;
		pk->conn = (uint8_t)v;
		return 0;
	} else {
		return perr(p, k.pos, "unsupported: packet extension '%s'", TOKSTR(&k));
	}
	if (!inbound)
		return perr(p, k.pos, "'%s' is for inbound packets only", TOKSTR(&k));
	return 0;
}

static int parse_ext(parser *p, sc_packet *pk, bool inbound)
{
	char tokbuf[48];

	sc_lex_next(&p->lx); /* '{' */
	if (sc_tok_is_punct(sc_lex_peek(&p->lx), '}')) {
		sc_lex_next(&p->lx);
		return 0;
	}
	for (;;) {
		sc_tok t;

		if (parse_ext_item(p, pk, inbound) < 0)
			return -EINVAL;
		t = sc_lex_next(&p->lx);
		if (sc_tok_is_punct(&t, '}'))
			return 0;
		if (!sc_tok_is_punct(&t, ','))
			return perr(p, t.pos, "expected ',' or '}' in the packet extension, got "
				    "'%s'", TOKSTR(&t));
	}
}

/* "ack N", "win N", "urg N", each at most once. */
static int parse_packet_fields(parser *p, sc_packet *pk, bool inbound)
{
	for (;;) {
		const sc_tok *t = sc_lex_peek(&p->lx);
		sc_pos pos = t->pos;
		int64_t v;

		if (sc_tok_is_word(t, "ack")) {
			sc_lex_next(&p->lx);
			if (pk->has_ack)
				return perr(p, pos, "duplicate 'ack'");
			if (parse_num(p, inbound ? F_ACK_IN : F_ACK_OUT, &pk->ack) < 0)
				return -EINVAL;
			pk->has_ack = true;
		} else if (sc_tok_is_word(t, "win")) {
			sc_lex_next(&p->lx);
			if (pk->has_win)
				return perr(p, pos, "duplicate 'win'");
			if (expect_int(p, 0, 65535, "TCP window value", &v, NULL) < 0)
				return -EINVAL;
			pk->has_win = true;
			pk->win = (uint16_t)v;
		} else if (sc_tok_is_word(t, "urg")) {
			sc_lex_next(&p->lx);
			if (pk->has_urg)
				return perr(p, pos, "duplicate 'urg'");
			if (expect_int(p, 0, 65535, "urg_ptr value", &v, NULL) < 0)
				return -EINVAL;
			pk->has_urg = true;
			pk->urg = (uint16_t)v;
		} else {
			return 0;
		}
	}
}

static int parse_ports(parser *p, sc_packet *pk)
{
	int64_t s, d;

	if (expect_int(p, 1, 65535, "source port", &s, NULL) < 0 ||
	    expect_punct(p, '>', "'>' between the ports (sport > dport)") < 0 ||
	    expect_int(p, 1, 65535, "destination port", &d, NULL) < 0)
		return -EINVAL;
	pk->sport = (uint16_t)s;
	pk->dport = (uint16_t)d;
	return 0;
}

static int reject_other_protocols(parser *p, const sc_tok *t)
{
	static const char *const words[] = { "udp", "icmp", "ipv4", "ipv6", "gre", "GREv0",
					     "mpls" };
	char tokbuf[48];
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (sc_tok_is_word(t, words[i]))
			return perr(p, t->pos, "unsupported: '%s' packets (only TCP segments on "
				    "the script's own addresses)", TOKSTR(t));
	return 0;
}

static int parse_packet(parser *p, sc_event *ev)
{
	sc_tok dir = sc_lex_next(&p->lx);
	bool inbound = dir.punct == '<';
	sc_packet *pk = &ev->pkt;
	const sc_tok *t;

	ev->kind = inbound ? SC_EV_INBOUND : SC_EV_OUTBOUND;
	if (ev->time.blocking)
		return perr(p, ev->pos, "the a...b form of the time is for system calls only");
	if (inbound && (ev->time.kind == SC_TIME_ANY))
		return perr(p, ev->pos, "event time <star> can only be used with outbound "
			    "packets");
	if (inbound && ev->time.range)
		return perr(p, ev->pos, "event time range can only be used with outbound "
			    "packets");
	t = sc_lex_peek(&p->lx);
	if (reject_other_protocols(p, t) < 0)
		return -EINVAL;
	if (sc_tok_is_punct(t, '(') || sc_tok_is_punct(t, '[')) {
		if (parse_ip_info(p, pk, inbound) < 0)
			return -EINVAL;
		t = sc_lex_peek(&p->lx);
	}
	if (t->kind == SC_TK_INT) {
		if (parse_ports(p, pk) < 0)
			return -EINVAL;
		pk->conn = sc_conn_of_ports(pk, inbound);
	}
	if (parse_flags(p, pk) < 0 || parse_seq(p, inbound, pk) < 0 ||
	    parse_packet_fields(p, pk, inbound) < 0)
		return -EINVAL;
	t = sc_lex_peek(&p->lx);
	if (sc_tok_is_punct(t, '<') && parse_options(p, pk, inbound) < 0)
		return -EINVAL;
	t = sc_lex_peek(&p->lx);
	if (sc_tok_is_punct(t, '{') && parse_ext(p, pk, inbound) < 0)
		return -EINVAL;
	if (inbound && !pk->has_win)
		return perr(p, dir.pos, "window must be specified for inbound packets "
			    "(add 'win N')");
	return 0;
}

/* ---- Call arguments: a small expression tree in p->nodes. ---- */

static int new_node(parser *p, ex_kind kind, sc_pos pos)
{
	ex *e;

	if (p->nnodes >= MAX_EXPR)
		return perr(p, pos, "call arguments too complex (more than %d terms)", MAX_EXPR);
	e = &p->nodes[p->nnodes];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->pos = pos;
	e->child = -1;
	e->next = -1;
	return p->nnodes++;
}

static int parse_expr(parser *p);

/* Children up to the closing character, separated by ','. */
static int parse_expr_list(parser *p, int parent, char close)
{
	char tokbuf[48];
	int last = -1;

	if (sc_tok_is_punct(sc_lex_peek(&p->lx), close)) {
		sc_lex_next(&p->lx);
		return 0;
	}
	for (;;) {
		int c = parse_expr(p);
		sc_tok t;

		if (c < 0)
			return -EINVAL;
		if (last < 0)
			p->nodes[parent].child = c;
		else
			p->nodes[last].next = c;
		last = c;
		p->nodes[parent].nchild++;
		t = sc_lex_next(&p->lx);
		if (t.kind == SC_TK_PUNCT && t.punct == close)
			return 0;
		if (!sc_tok_is_punct(&t, ','))
			return perr(p, t.pos, "expected ',' or '%c', got '%s'", close, TOKSTR(&t));
	}
}

static int parse_primary(parser *p)
{
	sc_tok t = sc_lex_next(&p->lx);
	int n;

	switch (t.kind) {
	case SC_TK_ELLIPSIS:
		return new_node(p, EX_ELLIPSIS, t.pos);
	case SC_TK_INT:
	case SC_TK_HEX:
		if (t.overflow)
			return perr(p, t.pos, "number too large");
		n = new_node(p, EX_INT, t.pos);
		if (n >= 0)
			p->nodes[n].ival = t.ival;
		return n;
	case SC_TK_STRING:
		n = new_node(p, EX_STRING, t.pos);
		if (n >= 0) {
			p->nodes[n].text = t.text + 1;
			p->nodes[n].len = t.len - 2;
		}
		return n;
	case SC_TK_WORD: {
		const sc_tok *nx = sc_lex_peek(&p->lx);
		ex_kind k = sc_tok_is_punct(nx, '(') ? EX_FUNC :
			    sc_tok_is_punct(nx, '=') ? EX_ASSIGN : EX_WORD;

		n = new_node(p, k, t.pos);
		if (n < 0)
			return n;
		p->nodes[n].text = t.text;
		p->nodes[n].len = t.len;
		if (k == EX_FUNC) {
			sc_lex_next(&p->lx);
			if (parse_expr_list(p, n, ')') < 0)
				return -EINVAL;
		} else if (k == EX_ASSIGN) {
			int v;

			sc_lex_next(&p->lx);
			v = parse_expr(p);
			if (v < 0)
				return -EINVAL;
			p->nodes[n].child = v;
			p->nodes[n].nchild = 1;
		}
		return n;
	}
	case SC_TK_PUNCT:
		if (t.punct == '[' || t.punct == '{') {
			n = new_node(p, t.punct == '[' ? EX_LIST : EX_STRUCT, t.pos);
			if (n < 0 || parse_expr_list(p, n, t.punct == '[' ? ']' : '}') < 0)
				return -EINVAL;
			return n;
		}
		break;
	default:
		break;
	}
	return unexpected(p, &t, "an argument");
}

static int parse_expr(parser *p)
{
	int first = parse_primary(p), or_node, last;

	if (first < 0 || !sc_tok_is_punct(sc_lex_peek(&p->lx), '|'))
		return first;
	or_node = new_node(p, EX_OR, p->nodes[first].pos);
	if (or_node < 0)
		return -EINVAL;
	p->nodes[or_node].child = first;
	p->nodes[or_node].nchild = 1;
	last = first;
	while (sc_tok_is_punct(sc_lex_peek(&p->lx), '|')) {
		int c;

		sc_lex_next(&p->lx);
		c = parse_primary(p);
		if (c < 0)
			return -EINVAL;
		p->nodes[last].next = c;
		p->nodes[or_node].nchild++;
		last = c;
	}
	return or_node;
}

/* ---- Evaluating arguments. ---- */

static const struct symbol {
	const char *name;
	int64_t value;
} symbols[] = {
	{ "AF_INET", 2 },          { "AF_INET6", 10 },       { "PF_INET", 2 },
	{ "PF_INET6", 10 },        { "SOCK_STREAM", SC_SOCK_STREAM },
	{ "IPPROTO_TCP", SC_IPPROTO_TCP }, { "SOL_SOCKET", SC_SOL_SOCKET },
	{ "SOL_TCP", SC_SOL_TCP }, { "SHUT_RD", SF_SHUT_RD }, { "SHUT_WR", SF_SHUT_WR },
	{ "SHUT_RDWR", SF_SHUT_RDWR }, { "F_GETFL", SC_F_GETFL }, { "F_SETFL", SC_F_SETFL },
	{ "O_RDONLY", 0 },         { "O_WRONLY", 1 },        { "O_RDWR", SC_O_RDWR },
	{ "O_NONBLOCK", SC_O_NONBLOCK }, { "POLLIN", SF_POLLIN }, { "POLLPRI", 0x002 },
	{ "POLLOUT", SF_POLLOUT }, { "POLLERR", SF_POLLERR }, { "POLLHUP", SF_POLLHUP },
	{ "POLLNVAL", 0x020 },     { "POLLRDNORM", 0x040 },  { "POLLWRNORM", 0x100 },
	{ "POLLRDHUP", SF_POLLRDHUP }, { "MSG_DONTWAIT", SC_MSG_DONTWAIT },
};

static bool node_is(const ex *e, const char *word)
{
	size_t n = strlen(word);

	return (e->kind == EX_WORD || e->kind == EX_ASSIGN || e->kind == EX_FUNC) &&
	       e->len == n && memcmp(e->text, word, n) == 0;
}

static void node_text(const ex *e, char *buf, size_t cap)
{
	size_t n = e->len < cap - 1 ? e->len : cap - 1;

	memcpy(buf, e->text, n);
	buf[n] = '\0';
}

/* An integer, a symbol, or symbols or-ed together. */
static int eval_int(parser *p, int idx, const char *what, int64_t *v)
{
	const ex *e = &p->nodes[idx];
	char name[48];
	size_t i;

	if (e->kind == EX_INT) {
		*v = e->ival;
		return 0;
	}
	if (e->kind == EX_WORD) {
		for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
			if (node_is(e, symbols[i].name)) {
				*v = symbols[i].value;
				return 0;
			}
		}
		node_text(e, name, sizeof(name));
		/* Errno names stand for their values, as in packetdrill's
		 * getsockopt(fd, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]). */
		*v = sc_errno_from_name(name);
		if (*v)
			return 0;
		return perr(p, e->pos, "unsupported: symbol '%s' as %s", name, what);
	}
	if (e->kind == EX_OR) {
		int c;

		*v = 0;
		for (c = e->child; c >= 0; c = p->nodes[c].next) {
			int64_t part;

			if (eval_int(p, c, what, &part) < 0)
				return -EINVAL;
			*v |= part;
		}
		return 0;
	}
	return perr(p, e->pos, "expected %s (a number or a symbol)", what);
}

static int eval_range(parser *p, int idx, const char *what, int64_t lo, int64_t hi,
		      int64_t *v)
{
	if (eval_int(p, idx, what, v) < 0)
		return -EINVAL;
	if (*v < lo || *v > hi)
		return perr(p, p->nodes[idx].pos, "%s out of range (%lld..%lld)", what,
			    (long long)lo, (long long)hi);
	return 0;
}

static int nth_child(const parser *p, int parent, int n)
{
	int c = p->nodes[parent].child;

	while (c >= 0 && n-- > 0)
		c = p->nodes[c].next;
	return c;
}

/* C string escapes of a script string ("ab\n\x01") into p->scratch. */
static int eval_string(parser *p, int idx, uint32_t *len)
{
	const ex *e = &p->nodes[idx];
	size_t i, o = 0;

	for (i = 0; i < e->len; i++) {
		char c = e->text[i];

		if (o >= SC_MAX_PAYLOAD)
			return perr(p, e->pos, "string longer than %d bytes", SC_MAX_PAYLOAD);
		if (c == '\\' && i + 1 < e->len) {
			char n = e->text[++i];

			if (n == 'n')
				c = '\n';
			else if (n == 'r')
				c = '\r';
			else if (n == 't')
				c = '\t';
			else if (n == '0')
				c = '\0';
			else if (n == 'x' && i + 2 < e->len && hex_char(e->text[i + 1]) &&
				 hex_char(e->text[i + 2])) {
				c = (char)(hex_nibble(e->text[i + 1]) << 4 | hex_nibble(e->text[i + 2]));
				i += 2;
			} else {
				c = n;
			}
		}
		p->scratch[o++] = (uint8_t)c;
	}
	*len = (uint32_t)o;
	return 0;
}

static int eval_fd(parser *p, int idx, int32_t *fd)
{
	int64_t v;

	if (p->nodes[idx].kind != EX_INT)
		return perr(p, p->nodes[idx].pos, "expected a file descriptor number");
	v = p->nodes[idx].ival;
	if (v < 0 || v > 65535)
		return perr(p, p->nodes[idx].pos, "file descriptor out of range (0..65535)");
	*fd = (int32_t)v;
	return 0;
}

static bool is_ellipsis(const parser *p, int idx)
{
	return p->nodes[idx].kind == EX_ELLIPSIS;
}

/* The fields of a struct argument by name: {name=value, ...}. */
static int struct_field(const parser *p, int st, const char *name)
{
	int c;

	for (c = p->nodes[st].child; c >= 0; c = p->nodes[c].next)
		if (p->nodes[c].kind == EX_ASSIGN && node_is(&p->nodes[c], name))
			return p->nodes[c].child;
	return -1;
}

/*
 * "..." (the default endpoint) or packetdrill's sockaddr:
 * {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}.
 */
static int eval_sockaddr(parser *p, int idx, sc_call *c)
{
	int fam, port, addr, arg;
	int64_t v;
	char text[64];

	if (is_ellipsis(p, idx))
		return 0;
	if (p->nodes[idx].kind != EX_STRUCT)
		return perr(p, p->nodes[idx].pos, "expected '...' or a sockaddr {sa_family=..., "
			    "sin_port=htons(N), sin_addr=inet_addr(\"a.b.c.d\")}");
	fam = struct_field(p, idx, "sa_family");
	port = struct_field(p, idx, "sin_port");
	addr = struct_field(p, idx, "sin_addr");
	if (fam < 0 || port < 0 || addr < 0)
		return perr(p, p->nodes[idx].pos, "a sockaddr needs sa_family, sin_port and "
			    "sin_addr");
	if (eval_int(p, fam, "sa_family", &v) < 0)
		return -EINVAL;
	c->addr.addr.family = v == 10 ? SF_AF_INET6 : SF_AF_INET;
	if (p->nodes[port].kind != EX_FUNC || !node_is(&p->nodes[port], "htons") ||
	    p->nodes[port].nchild != 1)
		return perr(p, p->nodes[port].pos, "expected sin_port=htons(N)");
	if (eval_range(p, p->nodes[port].child, "port", 0, 65535, &v) < 0)
		return -EINVAL;
	c->addr.port = (uint16_t)v;
	if (p->nodes[addr].kind != EX_FUNC || p->nodes[addr].nchild != 1 ||
	    !(node_is(&p->nodes[addr], "inet_addr") || node_is(&p->nodes[addr], "inet6_addr")))
		return perr(p, p->nodes[addr].pos, "expected sin_addr=inet_addr(\"a.b.c.d\")");
	arg = p->nodes[addr].child;
	if (p->nodes[arg].kind != EX_STRING || p->nodes[arg].len >= sizeof(text))
		return perr(p, p->nodes[arg].pos, "expected a quoted address");
	node_text(&p->nodes[arg], text, sizeof(text));
	if (inet_pton(c->addr.addr.family == SF_AF_INET6 ? AF_INET6 : AF_INET, text,
		      c->addr.addr.bytes) != 1)
		return perr(p, p->nodes[arg].pos, "invalid address \"%s\"", text);
	c->has_addr = true;
	return 0;
}

/* The data argument of write/send/read/recv: "..." or a string. */
static int eval_buffer(parser *p, int buf, int len_idx, sc_call *c)
{
	int64_t len;
	uint32_t slen;

	if (eval_range(p, len_idx, "byte count", 0, SC_MAX_PAYLOAD, &len) < 0)
		return -EINVAL;
	c->len = (uint32_t)len;
	if (is_ellipsis(p, buf))
		return 0;
	if (p->nodes[buf].kind != EX_STRING)
		return perr(p, p->nodes[buf].pos, "expected '...' or a \"string\" as the buffer");
	if (eval_string(p, buf, &slen) < 0)
		return -EINVAL;
	if (slen != c->len)
		return perr(p, p->nodes[len_idx].pos, "the string has %u bytes but the count "
			    "says %u", slen, c->len);
	c->data = p->scratch;
	return 0;
}

static int eval_msg_flags(parser *p, int idx, sc_call *c)
{
	int64_t v;

	if (eval_int(p, idx, "send/recv flags", &v) < 0)
		return -EINVAL;
	if (v & ~(int64_t)SC_MSG_DONTWAIT)
		return perr(p, p->nodes[idx].pos, "unsupported: send/recv flags other than "
			    "MSG_DONTWAIT");
	c->msg_flags = (int32_t)v;
	return 0;
}

static int eval_sockopt_name(parser *p, int level_idx, int name_idx, sc_call *c)
{
	int64_t level;
	int want;
	char name[48];

	if (eval_int(p, level_idx, "socket option level", &level) < 0)
		return -EINVAL;
	if (p->nodes[name_idx].kind != EX_WORD)
		return perr(p, p->nodes[name_idx].pos, "expected a socket option name");
	node_text(&p->nodes[name_idx], name, sizeof(name));
	if (sc_sockopt_from_name(name, &want, &c->opt) < 0)
		return perr(p, p->nodes[name_idx].pos, "unsupported: socket option '%s'", name);
	if (level != want)
		return perr(p, p->nodes[level_idx].pos, "%s is a %s option", name,
			    sc_level_name(want));
	c->level = want;
	return 0;
}

/* [N], N, [...], ..., or {onoff=A, linger=B} for SO_LINGER. */
static int eval_optval(parser *p, int idx, sc_call *c, bool allow_any)
{
	const ex *e = &p->nodes[idx];
	int64_t v;

	if (e->kind == EX_LIST && e->nchild == 1)
		return eval_optval(p, e->child, c, allow_any);
	if (e->kind == EX_ELLIPSIS) {
		if (!allow_any)
			return perr(p, e->pos, "setsockopt needs a value");
		c->optval_any = true;
		return 0;
	}
	if (e->kind == EX_STRUCT) {
		int on = struct_field(p, idx, "onoff"), ln = struct_field(p, idx, "linger");
		int64_t onv, lnv;

		if (on < 0)
			on = struct_field(p, idx, "l_onoff");
		if (ln < 0)
			ln = struct_field(p, idx, "l_linger");
		if (c->opt != SF_SO_LINGER || on < 0 || ln < 0)
			return perr(p, e->pos, "a {onoff=N, linger=N} value is for SO_LINGER only");
		if (eval_range(p, on, "onoff", 0, 1, &onv) < 0 ||
		    eval_range(p, ln, "linger", 0, INT32_MAX, &lnv) < 0)
			return -EINVAL;
		c->optval = onv ? (int32_t)lnv : -1;
		return 0;
	}
	if (eval_range(p, idx, "socket option value", INT32_MIN, INT32_MAX, &v) < 0)
		return -EINVAL;
	c->optval = (int32_t)v;
	return 0;
}

/* poll([{fd=N, events=E, revents=R}], 1, timeout) */
static int eval_poll(parser *p, int args, sc_call *c)
{
	int list = nth_child(p, args, 0), pfd, f, ev, rev;
	int64_t v;

	if (p->nodes[list].kind != EX_LIST || p->nodes[list].nchild != 1 ||
	    p->nodes[p->nodes[list].child].kind != EX_STRUCT)
		return perr(p, p->nodes[list].pos, "unsupported: poll() on anything but one "
			    "[{fd=N, events=E, revents=R}]");
	pfd = p->nodes[list].child;
	f = struct_field(p, pfd, "fd");
	ev = struct_field(p, pfd, "events");
	rev = struct_field(p, pfd, "revents");
	if (f < 0 || ev < 0)
		return perr(p, p->nodes[pfd].pos, "a pollfd needs fd=N and events=E");
	if (eval_fd(p, f, &c->fd) < 0 || eval_int(p, ev, "poll events", &v) < 0)
		return -EINVAL;
	c->poll_events = (int32_t)v;
	v = 0;
	if (rev >= 0 && eval_int(p, rev, "poll revents", &v) < 0)
		return -EINVAL;
	c->poll_revents = (int32_t)v;
	if (eval_range(p, nth_child(p, args, 1), "nfds", 1, 1, &v) < 0 ||
	    eval_range(p, nth_child(p, args, 2), "poll timeout", -1, INT32_MAX, &v) < 0)
		return -EINVAL;
	c->poll_timeout_ms = (int32_t)v;
	return 0;
}

static int eval_socket(parser *p, int args, sc_call *c)
{
	int dom = nth_child(p, args, 0), type = nth_child(p, args, 1);
	int proto = nth_child(p, args, 2);
	int64_t v;

	c->fd = -1;
	c->family = p->family;
	if (!is_ellipsis(p, dom)) {
		if (eval_int(p, dom, "address family", &v) < 0)
			return -EINVAL;
		if (v != 2 && v != 10)
			return perr(p, p->nodes[dom].pos, "unsupported: address family %lld "
				    "(AF_INET or AF_INET6)", (long long)v);
		c->family = v == 10 ? SF_AF_INET6 : SF_AF_INET;
	}
	if (eval_int(p, type, "socket type", &v) < 0)
		return -EINVAL;
	if (v != SC_SOCK_STREAM)
		return perr(p, p->nodes[type].pos, "unsupported: socket type other than "
			    "SOCK_STREAM");
	if (!is_ellipsis(p, proto)) {
		if (eval_int(p, proto, "protocol", &v) < 0)
			return -EINVAL;
		if (v != 0 && v != SC_IPPROTO_TCP)
			return perr(p, p->nodes[proto].pos, "unsupported: protocol other than "
				    "IPPROTO_TCP");
	}
	return 0;
}

static int eval_fcntl(parser *p, int args, sc_call *c)
{
	int64_t v;

	if (eval_int(p, nth_child(p, args, 1), "fcntl command", &v) < 0)
		return -EINVAL;
	if (v != SC_F_GETFL && v != SC_F_SETFL)
		return perr(p, p->nodes[nth_child(p, args, 1)].pos, "unsupported: fcntl command "
			    "other than F_GETFL and F_SETFL");
	c->fcntl_cmd = (int32_t)v;
	if (v == SC_F_GETFL) {
		if (p->nodes[args].nchild != 2)
			return perr(p, p->nodes[args].pos, "fcntl(fd, F_GETFL) takes 2 arguments");
		return 0;
	}
	if (p->nodes[args].nchild != 3)
		return perr(p, p->nodes[args].pos, "fcntl(fd, F_SETFL, flags) takes 3 arguments");
	if (eval_int(p, nth_child(p, args, 2), "fcntl flags", &v) < 0)
		return -EINVAL;
	if (v & ~(int64_t)(SC_O_RDWR | 1 | SC_O_NONBLOCK))
		return perr(p, p->nodes[nth_child(p, args, 2)].pos, "unsupported: file flags "
			    "other than O_RDWR and O_NONBLOCK");
	c->fcntl_flags = (int32_t)v;
	return 0;
}

/* Argument counts by call kind; -1 means "checked by the kind itself". */
static const int call_argc[SC_CALL_COUNT] = {
	[SC_CALL_SOCKET] = 3,     [SC_CALL_BIND] = 3,       [SC_CALL_LISTEN] = 2,
	[SC_CALL_ACCEPT] = 3,     [SC_CALL_CONNECT] = 3,    [SC_CALL_WRITE] = 3,
	[SC_CALL_SEND] = 4,       [SC_CALL_READ] = 3,       [SC_CALL_RECV] = 4,
	[SC_CALL_SHUTDOWN] = 2,   [SC_CALL_CLOSE] = 1,      [SC_CALL_ABORT] = 1,
	[SC_CALL_SETSOCKOPT] = 5, [SC_CALL_GETSOCKOPT] = 5, [SC_CALL_FCNTL] = -1,
	[SC_CALL_POLL] = 3,
};

static int eval_call_args(parser *p, int args, sc_call *c)
{
	int a1 = nth_child(p, args, 1), a2 = nth_child(p, args, 2);
	int a3 = nth_child(p, args, 3);
	int64_t v;

	if (c->kind == SC_CALL_SOCKET)
		return eval_socket(p, args, c);
	if (c->kind == SC_CALL_POLL)
		return eval_poll(p, args, c);
	if (eval_fd(p, nth_child(p, args, 0), &c->fd) < 0)
		return -EINVAL;
	switch (c->kind) {
	case SC_CALL_BIND:
	case SC_CALL_CONNECT:
		return eval_sockaddr(p, a1, c);
	case SC_CALL_LISTEN:
		if (eval_range(p, a1, "backlog", INT32_MIN, INT32_MAX, &v) < 0)
			return -EINVAL;
		c->backlog = (int32_t)v;
		return 0;
	case SC_CALL_WRITE:
	case SC_CALL_READ:
		return eval_buffer(p, a1, a2, c);
	case SC_CALL_SEND:
	case SC_CALL_RECV:
		if (eval_buffer(p, a1, a2, c) < 0)
			return -EINVAL;
		return eval_msg_flags(p, a3, c);
	case SC_CALL_SHUTDOWN:
		if (eval_range(p, a1, "shutdown how", 0, 2, &v) < 0)
			return -EINVAL;
		c->how = (int32_t)v;
		return 0;
	case SC_CALL_SETSOCKOPT:
	case SC_CALL_GETSOCKOPT:
		if (eval_sockopt_name(p, a1, a2, c) < 0)
			return -EINVAL;
		return eval_optval(p, a3, c, c->kind == SC_CALL_GETSOCKOPT);
	case SC_CALL_FCNTL:
		return eval_fcntl(p, args, c);
	default:
		return 0; /* accept, close, abort: only the fd */
	}
}

/* "= value [ERRNO] [(note)]" */
static int parse_result(parser *p, sc_call *c)
{
	sc_tok t = sc_lex_next(&p->lx);
	const sc_tok *nx;

	if (!sc_tok_is_punct(&t, '='))
		return unexpected(p, &t, "'=' and the expected result after the call");
	t = sc_lex_next(&p->lx);
	if (t.kind == SC_TK_ELLIPSIS) {
		c->ret.check = false;
	} else if (t.kind == SC_TK_INT || t.kind == SC_TK_HEX) {
		if (t.overflow || t.ival < -1 || t.ival > INT32_MAX)
			return perr(p, t.pos, "expected result out of range (-1..%d)", INT32_MAX);
		c->ret.check = true;
		c->ret.value = t.ival;
	} else {
		return unexpected(p, &t, "the expected result (a number or ...)");
	}
	nx = sc_lex_peek(&p->lx);
	if (nx->kind == SC_TK_WORD) {
		sc_tok e = sc_lex_next(&p->lx);
		char name[32];

		sc_tok_str(&e, name, sizeof(name));
		c->ret.err = sc_errno_from_name(name);
		if (!c->ret.err)
			return perr(p, e.pos, "unknown errno name '%s'", name);
		if (c->ret.value != -1)
			return perr(p, e.pos, "an errno goes with a result of -1");
	} else if (c->ret.check && c->ret.value == -1) {
		return perr(p, t.pos, "a result of -1 needs an errno name (e.g. '= -1 EAGAIN')");
	}
	nx = sc_lex_peek(&p->lx);
	if (sc_tok_is_punct(nx, '(')) {
		sc_pos pos = nx->pos;

		if (!sc_lex_skip_note(&p->lx))
			return perr(p, pos, "unterminated note: no ')' on this line");
	}
	return 0;
}

static int parse_call(parser *p, sc_event *ev)
{
	char tokbuf[48];
	sc_tok name = sc_lex_next(&p->lx);
	sc_call *c = &ev->call;
	char text[32];
	int kind, args, want;

	ev->kind = SC_EV_CALL;
	sc_tok_str(&name, text, sizeof(text));
	kind = sc_call_from_name(text);
	if (kind < 0)
		return perr(p, name.pos, "unsupported: system call '%s' (supported: socket, "
			    "bind, listen, accept, connect, write, send, read, recv, shutdown, "
			    "close, setsockopt, getsockopt, fcntl, poll; and abort)", TOKSTR(&name));
	if (ev->time.kind == SC_TIME_ANY)
		return perr(p, ev->pos, "event time <star> can only be used with outbound "
			    "packets");
	if (ev->time.range)
		return perr(p, ev->pos, "event time range can only be used with outbound "
			    "packets");
	c->kind = (sc_call_kind)kind;
	p->nnodes = 0;
	args = new_node(p, EX_LIST, name.pos);
	if (args < 0 || expect_punct(p, '(', "'(' after the call name") < 0 ||
	    parse_expr_list(p, args, ')') < 0)
		return -EINVAL;
	want = call_argc[kind];
	if (want >= 0 && p->nodes[args].nchild != want)
		return perr(p, name.pos, "%s() takes %d argument%s, got %d", text, want,
			    want == 1 ? "" : "s", p->nodes[args].nchild);
	if (want < 0 && p->nodes[args].nchild < 2)
		return perr(p, name.pos, "%s() takes at least 2 arguments", text);
	if (eval_call_args(p, args, c) < 0)
		return -EINVAL;
	return parse_result(p, c);
}

/* ---- synfin extensions: wait, state checks. ---- */

static int parse_wait(parser *p, sc_event *ev)
{
	sc_tok w = sc_lex_next(&p->lx);

	ev->kind = SC_EV_WAIT;
	if (ev->time.range || ev->time.blocking)
		return perr(p, w.pos, "'wait' takes a plain time ('+75 wait', '* wait')");
	if (ev->time.kind == SC_TIME_ANY && sc_tok_is_punct(sc_lex_peek(&p->lx), '(')) {
		/* "* wait(-0.000005)": the next timer's deadline plus an offset. */
		sc_tok t;
		const char *why;

		sc_lex_next(&p->lx);
		t = sc_lex_next(&p->lx);
		if (sc_tok_is_punct(&t, '+'))
			t = sc_lex_next(&p->lx);
		if (t.kind != SC_TK_INT && t.kind != SC_TK_FLOAT)
			return unexpected(p, &t, "an offset in seconds");
		if (sc_lex_time_us(&t, true, &ev->time.us, &why) < 0)
			return perr(p, t.pos, "%s", why);
		return expect_punct(p, ')', "')' after the offset");
	}
	return 0;
}

static bool state_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* "state(fd) = NAME" or "conn_state(k) = NAME". */
static int parse_state(parser *p, sc_event *ev)
{
	sc_tok w = sc_lex_next(&p->lx), s;
	bool by_conn = sc_tok_is_word(&w, "conn_state");
	char name[32];
	int64_t v;

	ev->kind = SC_EV_STATE;
	if (ev->time.kind == SC_TIME_ANY || ev->time.range || ev->time.blocking)
		return perr(p, ev->pos, "a state check takes a plain time");
	if (expect_punct(p, '(', "'(' after the name") < 0 ||
	    expect_int(p, 0, by_conn ? 255 : 65535, by_conn ? "a connection index" :
		       "a file descriptor", &v, NULL) < 0 ||
	    expect_punct(p, ')', "')'") < 0 || expect_punct(p, '=', "'=' and a state") < 0)
		return -EINVAL;
	ev->state.fd = by_conn ? -1 : (int32_t)v;
	ev->state.conn = by_conn ? (uint8_t)v : 0;
	s = sc_lex_raw(&p->lx, state_char);
	if (s.len == 0 || s.len >= sizeof(name)) {
		sc_tok n = sc_lex_next(&p->lx);

		return unexpected(p, &n, "a TCP state name (ESTABLISHED, TIME-WAIT, ...)");
	}
	memcpy(name, s.text, s.len);
	name[s.len] = '\0';
	if (sc_state_from_name(name, &ev->state.state) < 0)
		return perr(p, s.pos, "unknown TCP state '%s'", name);
	return 0;
}

/* ---- Events and the script. ---- */

static int parse_action(parser *p, sc_event *ev)
{
	const sc_tok *t = sc_lex_peek(&p->lx);
	char tokbuf[48];

	if (sc_tok_is_punct(t, '<') || sc_tok_is_punct(t, '>'))
		return parse_packet(p, ev);
	if (sc_tok_is_word(t, "wait"))
		return parse_wait(p, ev);
	if (sc_tok_is_word(t, "state") || sc_tok_is_word(t, "conn_state"))
		return parse_state(p, ev);
	if (t->kind == SC_TK_WORD) {
		if (ev->time.blocking && !sc_tok_is_word(t, "accept") &&
		    !sc_tok_is_word(t, "connect") && !sc_tok_is_word(t, "read") &&
		    !sc_tok_is_word(t, "recv") && !sc_tok_is_word(t, "write") &&
		    !sc_tok_is_word(t, "send") && !sc_tok_is_word(t, "poll") &&
		    !sc_tok_is_word(t, "close"))
			return perr(p, ev->pos, "a blocking time (a...b) is for calls that block");
		return parse_call(p, ev);
	}
	if (t->kind == SC_TK_BACKQUOTE)
		return perr(p, t->pos, "unsupported: shell commands (`...`); synfin runs "
			    "scripts in-process and does not run shell commands");
	if (t->kind == SC_TK_CODE)
		return perr(p, t->pos, "unsupported: inline Python (%%{ ... }%%); use the "
			    "state(fd) = STATE extension to check a connection's state");
	if (t->kind == SC_TK_ERROR)
		return lex_error(p, t);
	return perr(p, t->pos, "expected a packet ('<' or '>'), a system call or 'wait' "
		    "after the time, got '%s'", TOKSTR(t));
}

/*
 * Keep the scripted clock within SC_MAX_TIME_US, so that no back end can
 * overflow adding up relative times (a script of many "+999999999" lines).
 */
static int check_script_time(parser *p, const sc_event *ev)
{
	const sc_time *t = &ev->time;
	int64_t base = t->kind == SC_TIME_REL ? p->script_us : 0;
	int64_t end = t->range || t->blocking ? t->end_us : t->us;

	if (t->kind == SC_TIME_ANY)
		return 0;
	if (base + end > SC_MAX_TIME_US)
		return perr(p, ev->pos, "the script's time goes past %lld s",
			    SC_MAX_TIME_US / 1000000);
	p->script_us = base + t->us;
	return 0;
}

static int parse_event(parser *p)
{
	sc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.pos = sc_lex_peek(&p->lx)->pos;
	if (parse_time(p, &ev.time) < 0 || check_script_time(p, &ev) < 0 ||
	    parse_action(p, &ev) < 0)
		return -EINVAL;
	if (p->scn->count >= SC_MAX_EVENTS)
		return perr(p, ev.pos, "too many events (at most %d)", SC_MAX_EVENTS), -E2BIG;
	if (!sc_scenario_append(p->scn, &ev))
		return -ENOMEM;
	return 0;
}

static int parse_all(parser *p)
{
	const sc_tok *t;
	int err;

	while ((t = sc_lex_peek(&p->lx))->kind == SC_TK_OPTION) {
		err = parse_option(p);
		if (err < 0)
			return err;
	}
	while ((t = sc_lex_peek(&p->lx))->kind != SC_TK_EOF) {
		if (t->kind == SC_TK_ERROR)
			return lex_error(p, t);
		if (t->kind == SC_TK_OPTION)
			return perr(p, t->pos, "options (--name=value) go before the first event");
		err = parse_event(p);
		if (err < 0)
			return err;
	}
	return 0;
}

int sc_script_parse(const char *text, size_t len, const char *file, sc_scenario *out,
		    sc_error *err)
{
	parser p;
	int rc;

	memset(&p, 0, sizeof(p));
	if (err)
		memset(err, 0, sizeof(*err));
	rc = sc_scenario_init(out, file ? file : "<script>");
	if (rc < 0)
		return rc;
	p.scn = out;
	p.err = err;
	p.family = SF_AF_INET;
	if (len > SC_MAX_SCRIPT_BYTES) {
		sc_pos pos = { 1, 1 };

		perr(&p, pos, "script too large (more than %u bytes)", SC_MAX_SCRIPT_BYTES);
		sc_scenario_free(out);
		return -E2BIG;
	}
	p.scratch = malloc(SC_MAX_PAYLOAD);
	if (!p.scratch) {
		rc = -ENOMEM;
		goto out;
	}
	sc_lex_init(&p.lx, text, len);
	rc = parse_all(&p);
out:
	free(p.scratch);
	if (rc < 0) {
		/* Leave an empty scenario that owns nothing. */
		sc_scenario_free(out);
		if (rc == -ENOMEM && err && !p.failed)
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory",
				 file ? file : "<script>");
	}
	return rc;
}

int sc_script_parse_file(const char *path, sc_scenario *out, sc_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!f) {
		rc = -errno;
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path,
				 strerror(-rc));
		return rc;
	}
	buf = malloc(SC_MAX_SCRIPT_BYTES + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	errno = 0;
	n = fread(buf, 1, SC_MAX_SCRIPT_BYTES + 1, f);
	if (ferror(f)) {
		rc = errno ? -errno : -EIO;
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path,
				 strerror(-rc));
		goto out;
	}
	rc = sc_script_parse(buf, n, path, out, err);
out:
	free(buf);
	fclose(f);
	return rc;
}
