/*
 * The printer: scenario events -> packetdrill-syntax script text.
 *
 * The output is what sc_script_parse() reads back into equivalent events
 * (the round trip that tests check), written the way packetdrill scripts are
 * usually written: "+0.1 < S 0:0(0) win 65535 <mss 1460>", calls with "..."
 * for what packetdrill ignores. What packetdrill's syntax cannot say
 * (absolute or state-relative numbers, IP-level faults, payload bytes, several
 * connections, waits, state checks) uses synfin's extensions, documented in
 * tools/SCRIPTS.md. This is what `synfin decompile` and `synfin pcap2pkt`
 * print, and what the runner shows in "expected ... got ..." messages.
 */
#include "scenario.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* ---- Small pieces. ---- */

/* Seconds with up to 6 decimals, trailing zeros dropped: 0, 0.1, 1.000001. */
static void put_seconds(sc_strbuf *b, int64_t us)
{
	uint64_t a;
	int frac_digits = 6;
	uint64_t frac;

	if (us < 0) {
		sc_sb_puts(b, "-");
		a = (uint64_t)0 - (uint64_t)us;
	} else {
		a = (uint64_t)us;
	}
	sc_sb_printf(b, "%" PRIu64, a / 1000000);
	frac = a % 1000000;
	if (frac == 0)
		return;
	while (frac % 10 == 0) {
		frac /= 10;
		frac_digits--;
	}
	sc_sb_printf(b, ".%0*" PRIu64, frac_digits, frac);
}

static void put_time(sc_strbuf *b, const sc_time *t)
{
	const char *plus = t->kind == SC_TIME_REL ? "+" : "";

	if (t->kind == SC_TIME_ANY) {
		sc_sb_puts(b, "*");
		return;
	}
	sc_sb_puts(b, plus);
	put_seconds(b, t->us);
	if (t->range) {
		sc_sb_printf(b, "~%s", plus);
		put_seconds(b, t->end_us);
	} else if (t->blocking) {
		/* packetdrill writes the end of a blocking call without '+'. */
		sc_sb_puts(b, "...");
		put_seconds(b, t->end_us);
	}
}

static void put_hex(sc_strbuf *b, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sc_sb_printf(b, "%02x", p[i]);
}

/* A number in its mode's notation; is_ack selects snd/rcv for SC_NUM_STATE. */
static void put_num(sc_strbuf *b, sc_num n, bool is_ack)
{
	switch (n.mode) {
	case SC_NUM_ABS:
		sc_sb_printf(b, "=%" PRIu32, n.value);
		return;
	case SC_NUM_STATE: {
		int32_t off = (int32_t)n.value;

		sc_sb_printf(b, "%s%s%" PRId32, is_ack ? "snd" : "rcv", off < 0 ? "" : "+", off);
		return;
	}
	case SC_NUM_SCRIPT:
	default:
		sc_sb_printf(b, "%" PRIu32, n.value);
		return;
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One well-formed option of kind k and length l at p; false if it has no
 * name in packetdrill's notation (the caller then writes raw bytes). */
static bool put_named_option(sc_strbuf *b, const uint8_t *p, size_t l)
{
	size_t i;

	switch (p[0]) {
	case SF_OPT_MSS:
		if (l != 4)
			return false;
		sc_sb_printf(b, "mss %u", (unsigned)(p[2] << 8 | p[3]));
		return true;
	case SF_OPT_WSCALE:
		if (l != 3)
			return false;
		sc_sb_printf(b, "wscale %u", p[2]);
		return true;
	case SF_OPT_SACK_PERM:
		if (l != 2)
			return false;
		sc_sb_puts(b, "sackOK");
		return true;
	case SF_OPT_SACK:
		if (l < 10 || (l - 2) % 8)
			return false;
		sc_sb_puts(b, "sack");
		for (i = 2; i < l; i += 8)
			sc_sb_printf(b, " %" PRIu32 ":%" PRIu32, get32(p + i), get32(p + i + 4));
		return true;
	case SF_OPT_TS:
		if (l != 10)
			return false;
		sc_sb_printf(b, "TS val %" PRIu32 " ecr %" PRIu32, get32(p + 2), get32(p + 6));
		return true;
	case 19: /* MD5 signature (RFC 2385) */
		if (l > 18)
			return false;
		sc_sb_puts(b, "md5 ");
		put_hex(b, p + 2, l - 2);
		return true;
	case 34: /* TCP Fast Open (RFC 7413) */
		sc_sb_puts(b, "FO ");
		put_hex(b, p + 2, l - 2);
		return true;
	case 254: /* experimental Fast Open, magic 0xF989 */
		if (l < 4 || p[2] != 0xF9 || p[3] != 0x89)
			return false;
		sc_sb_puts(b, "FOEXP ");
		put_hex(b, p + 4, l - 4);
		return true;
	default:
		return false;
	}
}

static void put_options(sc_strbuf *b, const uint8_t *raw, size_t len)
{
	size_t i = 0;
	bool first = true;

	/* packetdrill's grammar wants named options padded to a multiple of 4;
	 * a list that is not (only code makes those) is written as bytes. */
	if (len % 4) {
		sc_sb_puts(b, "raw \"");
		put_hex(b, raw, len);
		sc_sb_puts(b, "\"");
		return;
	}

	while (i < len) {
		size_t l;

		if (!first)
			sc_sb_puts(b, ",");
		first = false;
		if (raw[i] == SF_OPT_EOL || raw[i] == SF_OPT_NOP) {
			sc_sb_puts(b, raw[i] == SF_OPT_EOL ? "eol" : "nop");
			i++;
			continue;
		}
		l = i + 1 < len ? raw[i + 1] : 0;
		if (l < 2 || i + l > len) {
			/* A malformed length: the rest can only be given as bytes. */
			sc_sb_puts(b, "raw \"");
			put_hex(b, raw + i, len - i);
			sc_sb_puts(b, "\"");
			return;
		}
		if (!put_named_option(b, raw + i, l)) {
			sc_sb_puts(b, "raw \"");
			put_hex(b, raw + i, l);
			sc_sb_puts(b, "\"");
		}
		i += l;
	}
}

static void put_ip_info(sc_strbuf *b, const sc_packet *pk)
{
	static const char *const ecn[4] = { "noecn", "ect1", "ect0", "ce" };
	const char *sep = "";

	bool brackets = pk->tos_check == SC_TOS_ECN || pk->tos_check == SC_TOS_ECT01;

	if (pk->tos_check == SC_TOS_NONE && !pk->has_ttl)
		return;
	/* packetdrill scripts write ECN marks in brackets, TOS and TTL in
	 * parentheses; its grammar takes either. */
	sc_sb_puts(b, brackets ? "[" : "(");
	switch (pk->tos_check) {
	case SC_TOS_ECN:
		sc_sb_puts(b, ecn[pk->tos & 3]);
		sep = ", ";
		break;
	case SC_TOS_FULL:
		sc_sb_printf(b, "tos 0x%02x", pk->tos);
		sep = ", ";
		break;
	case SC_TOS_ECT01:
		sc_sb_puts(b, "ect01");
		sep = ", ";
		break;
	case SC_TOS_NONE:
	default:
		break;
	}
	if (pk->has_ttl)
		sc_sb_printf(b, "%sttl %u", sep, pk->ttl);
	sc_sb_puts(b, brackets ? "] " : ") ");
}

static void put_ext(sc_strbuf *b, const sc_packet *pk, bool inbound)
{
	/* The connection index is implied by named ports (40000 + k is k). */
	bool conn = pk->conn != ((pk->sport || pk->dport) ? sc_conn_of_ports(pk, inbound) : 0);
	const char *sep = "";

	if (!pk->faults.bad_tcp_checksum && !pk->faults.bad_ip_checksum &&
	    !pk->faults.ip_len_delta && !pk->faults.data_off_delta && !pk->reserved &&
	    !conn && !pk->payload)
		return;
	sc_sb_puts(b, " {");
	if (pk->faults.bad_tcp_checksum) {
		sc_sb_puts(b, "bad_tcp_csum");
		sep = ", ";
	}
	if (pk->faults.bad_ip_checksum) {
		sc_sb_printf(b, "%sbad_ip_csum", sep);
		sep = ", ";
	}
	if (pk->faults.ip_len_delta) {
		sc_sb_printf(b, "%sip_len_delta=%d", sep, pk->faults.ip_len_delta);
		sep = ", ";
	}
	if (pk->faults.data_off_delta) {
		sc_sb_printf(b, "%sdoff_delta=%d", sep, pk->faults.data_off_delta);
		sep = ", ";
	}
	if (pk->reserved) {
		sc_sb_printf(b, "%sreserved=%u", sep, pk->reserved);
		sep = ", ";
	}
	if (conn) {
		sc_sb_printf(b, "%sconn=%u", sep, pk->conn);
		sep = ", ";
	}
	if (pk->payload) {
		sc_sb_printf(b, "%spayload=\"", sep);
		put_hex(b, pk->payload, pk->len);
		sc_sb_puts(b, "\"");
	}
	sc_sb_puts(b, "}");
}

static void put_packet(sc_strbuf *b, const sc_packet *pk, bool inbound)
{
	char flags[12];
	sc_num end = pk->seq;

	put_ip_info(b, pk);
	if (pk->sport || pk->dport)
		sc_sb_printf(b, "%u > %u ", pk->sport, pk->dport);
	sc_sb_printf(b, "%s ", sc_flags_format(pk->flags, flags));
	end.value = pk->seq.value + pk->len;
	put_num(b, pk->seq, false);
	sc_sb_puts(b, ":");
	put_num(b, end, false);
	sc_sb_printf(b, "(%" PRIu32 ")", pk->len);
	if (pk->has_ack) {
		sc_sb_puts(b, " ack ");
		put_num(b, pk->ack, true);
	}
	if (pk->has_win)
		sc_sb_printf(b, " win %u", pk->win);
	if (pk->has_urg)
		sc_sb_printf(b, " urg %u", pk->urg);
	if (pk->opts_mode == SC_OPTS_ANY) {
		sc_sb_puts(b, " <...>");
	} else if (pk->opts_mode == SC_OPTS_LIST) {
		sc_sb_puts(b, " <");
		put_options(b, pk->opt_raw, pk->opt_len);
		sc_sb_puts(b, ">");
	}
	put_ext(b, pk, inbound);
}

/* ---- Calls. ---- */

static void put_cstring(sc_strbuf *b, const uint8_t *p, size_t n)
{
	size_t i;

	sc_sb_puts(b, "\"");
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\')
			sc_sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sc_sb_puts(b, "\\n");
		else if (c == '\r')
			sc_sb_puts(b, "\\r");
		else if (c == '\t')
			sc_sb_puts(b, "\\t");
		else if (c >= 0x20 && c < 0x7f)
			sc_sb_printf(b, "%c", c);
		else
			sc_sb_printf(b, "\\x%02x", c);
	}
	sc_sb_puts(b, "\"");
}

static void put_buffer_args(sc_strbuf *b, const sc_call *c)
{
	if (c->data)
		put_cstring(b, c->data, c->len);
	else
		sc_sb_puts(b, "...");
	sc_sb_printf(b, ", %" PRIu32, c->len);
	if (c->kind == SC_CALL_SEND || c->kind == SC_CALL_RECV)
		sc_sb_puts(b, c->msg_flags & SC_MSG_DONTWAIT ? ", MSG_DONTWAIT" : ", 0");
}

static void put_sockaddr(sc_strbuf *b, const sc_call *c)
{
	char text[INET6_ADDRSTRLEN];
	bool v6 = c->addr.addr.family == SF_AF_INET6;

	if (!c->has_addr) {
		sc_sb_puts(b, "..., ...");
		return;
	}
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, c->addr.addr.bytes, text, sizeof(text)))
		strcpy(text, "?");
	sc_sb_printf(b, "{sa_family=%s, sin_port=htons(%u), sin_addr=%s(\"%s\")}, %u",
		     v6 ? "AF_INET6" : "AF_INET", c->addr.port, v6 ? "inet6_addr" : "inet_addr",
		     text, v6 ? 28u : 16u);
}

/* Bits by name, or-ed ("O_RDWR|O_NONBLOCK"); "0" when none. */
static void put_bits(sc_strbuf *b, uint32_t v, const char *const *names,
		     const uint32_t *bits, size_t n)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < n; i++) {
		if (v & bits[i]) {
			sc_sb_printf(b, "%s%s", sep, names[i]);
			sep = "|";
			v &= ~bits[i];
		}
	}
	if (v)
		sc_sb_printf(b, "%s%#x", sep, v);
	else if (!*sep)
		sc_sb_puts(b, "0");
}

static void put_poll_bits(sc_strbuf *b, int32_t v)
{
	static const char *const names[] = { "POLLIN", "POLLPRI", "POLLOUT", "POLLERR",
					     "POLLHUP", "POLLNVAL", "POLLRDNORM", "POLLWRNORM",
					     "POLLRDHUP" };
	static const uint32_t bits[] = { 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x100, 0x2000 };

	put_bits(b, (uint32_t)v, names, bits, sizeof(bits) / sizeof(bits[0]));
}

static void put_file_flags(sc_strbuf *b, int32_t v)
{
	static const char *const names[] = { "O_RDWR", "O_WRONLY", "O_NONBLOCK" };
	static const uint32_t bits[] = { SC_O_RDWR, 1, SC_O_NONBLOCK };

	if (v == 0) {
		sc_sb_puts(b, "O_RDONLY");
		return;
	}
	put_bits(b, (uint32_t)v, names, bits, 3);
}

static void put_optval(sc_strbuf *b, const sc_call *c)
{
	if (c->optval_any) {
		sc_sb_puts(b, "[...]");
		return;
	}
	if (c->opt == SF_SO_LINGER) {
		sc_sb_printf(b, "{onoff=%d, linger=%d}", c->optval < 0 ? 0 : 1,
			     c->optval < 0 ? 0 : c->optval);
		return;
	}
	if (c->opt == SF_SO_ERROR && c->optval > 0 && sc_errno_to_name(c->optval)) {
		sc_sb_printf(b, "[%s]", sc_errno_to_name(c->optval));
		return;
	}
	sc_sb_printf(b, "[%" PRId32 "]", c->optval);
}

static void put_call_args(sc_strbuf *b, const sc_call *c, int default_family)
{
	static const char *const how[] = { "SHUT_RD", "SHUT_WR", "SHUT_RDWR" };

	switch (c->kind) {
	case SC_CALL_SOCKET:
		sc_sb_printf(b, "%s, SOCK_STREAM, IPPROTO_TCP",
			     c->family == default_family ? "..." :
			     c->family == SF_AF_INET6 ? "AF_INET6" : "AF_INET");
		return;
	case SC_CALL_POLL:
		sc_sb_printf(b, "[{fd=%" PRId32 ", events=", c->fd);
		put_poll_bits(b, c->poll_events);
		sc_sb_puts(b, ", revents=");
		put_poll_bits(b, c->poll_revents);
		sc_sb_printf(b, "}], 1, %" PRId32, c->poll_timeout_ms);
		return;
	default:
		break;
	}
	sc_sb_printf(b, "%" PRId32, c->fd);
	switch (c->kind) {
	case SC_CALL_BIND:
	case SC_CALL_CONNECT:
		sc_sb_puts(b, ", ");
		put_sockaddr(b, c);
		break;
	case SC_CALL_LISTEN:
		sc_sb_printf(b, ", %" PRId32, c->backlog);
		break;
	case SC_CALL_ACCEPT:
		sc_sb_puts(b, ", ..., ...");
		break;
	case SC_CALL_WRITE:
	case SC_CALL_SEND:
	case SC_CALL_READ:
	case SC_CALL_RECV:
		sc_sb_puts(b, ", ");
		put_buffer_args(b, c);
		break;
	case SC_CALL_SHUTDOWN:
		if (c->how >= 0 && c->how <= 2)
			sc_sb_printf(b, ", %s", how[c->how]);
		else
			sc_sb_printf(b, ", %" PRId32, c->how);
		break;
	case SC_CALL_SETSOCKOPT:
	case SC_CALL_GETSOCKOPT:
		sc_sb_printf(b, ", %s, %s, ", sc_level_name(c->level), sc_sockopt_name(c->opt));
		put_optval(b, c);
		if (c->kind == SC_CALL_SETSOCKOPT)
			sc_sb_puts(b, c->opt == SF_SO_LINGER ? ", 8" : ", 4");
		else
			sc_sb_puts(b, c->opt == SF_SO_LINGER ? ", [8]" : ", [4]");
		break;
	case SC_CALL_FCNTL:
		if (c->fcntl_cmd == SC_F_GETFL) {
			sc_sb_puts(b, ", F_GETFL");
		} else {
			sc_sb_puts(b, ", F_SETFL, ");
			put_file_flags(b, c->fcntl_flags);
		}
		break;
	default:
		break;
	}
}

static void put_result(sc_strbuf *b, const sc_result *r)
{
	if (!r->check) {
		sc_sb_puts(b, " = ...");
		return;
	}
	sc_sb_printf(b, " = %" PRId64, r->value);
	if (r->value == -1 && r->err) {
		const char *name = sc_errno_to_name(r->err);

		if (name)
			sc_sb_printf(b, " %s (%s)", name, sc_errno_text(r->err));
	}
}

static void put_call(sc_strbuf *b, const sc_call *c, int default_family)
{
	sc_sb_printf(b, "%s(", sc_call_name(c->kind));
	put_call_args(b, c, default_family);
	sc_sb_puts(b, ")");
	put_result(b, &c->ret);
}

/* ---- Events. ---- */

static void put_event(sc_strbuf *b, const sc_event *ev, int default_family)
{
	put_time(b, &ev->time);
	switch (ev->kind) {
	case SC_EV_INBOUND:
	case SC_EV_OUTBOUND:
		sc_sb_puts(b, ev->kind == SC_EV_INBOUND ? " < " : " > ");
		put_packet(b, &ev->pkt, ev->kind == SC_EV_INBOUND);
		break;
	case SC_EV_CALL:
		sc_sb_puts(b, " ");
		put_call(b, &ev->call, default_family);
		break;
	case SC_EV_WAIT:
		sc_sb_puts(b, " wait");
		if (ev->time.kind == SC_TIME_ANY && ev->time.us != 0) {
			sc_sb_puts(b, "(");
			if (ev->time.us > 0)
				sc_sb_puts(b, "+");
			put_seconds(b, ev->time.us);
			sc_sb_puts(b, ")");
		}
		break;
	case SC_EV_STATE:
		if (ev->state.fd >= 0)
			sc_sb_printf(b, " state(%" PRId32 ")", ev->state.fd);
		else
			sc_sb_printf(b, " conn_state(%u)", ev->state.conn);
		sc_sb_printf(b, " = %s", sf_state_name(ev->state.state));
		break;
	default:
		sc_sb_puts(b, " ?");
		break;
	}
}

static int default_family_of(const sc_scenario *scn)
{
	const char *v = sc_scenario_option(scn, "ip_version");

	return v && strcmp(v, "ipv6") == 0 ? SF_AF_INET6 : SF_AF_INET;
}

static void put_scenario(sc_strbuf *b, const sc_scenario *scn)
{
	int fam = default_family_of(scn);
	size_t i;

	for (i = 0; i < scn->opt_count; i++) {
		if (scn->opts[i].value[0])
			sc_sb_printf(b, "--%s=%s\n", scn->opts[i].name, scn->opts[i].value);
		else
			sc_sb_printf(b, "--%s\n", scn->opts[i].name);
	}
	if (scn->opt_count)
		sc_sb_puts(b, "\n");
	for (i = 0; i < scn->count; i++) {
		put_event(b, &scn->ev[i], fam);
		sc_sb_puts(b, "\n");
	}
}

/* ---- Public entry points. ---- */

char *sc_script_format(const sc_scenario *scn)
{
	sc_strbuf b;

	sc_sb_init_dynamic(&b);
	put_scenario(&b, scn);
	return sc_sb_take(&b);
}

int sc_script_write(const sc_scenario *scn, FILE *out)
{
	return sc_write_text(sc_script_format(scn), out);
}

size_t sc_event_format(const sc_event *ev, char *buf, size_t cap)
{
	sc_strbuf b;

	sc_sb_init_fixed(&b, buf, cap);
	put_event(&b, ev, SF_AF_INET);
	return b.len;
}

size_t sc_packet_format(const sc_packet *pkt, char *buf, size_t cap)
{
	sc_strbuf b;

	sc_sb_init_fixed(&b, buf, cap);
	put_packet(&b, pkt, true);
	return b.len;
}

size_t sc_options_format(const uint8_t *raw, size_t len, char *buf, size_t cap)
{
	sc_strbuf b;

	sc_sb_init_fixed(&b, buf, cap);
	put_options(&b, raw, len);
	return b.len;
}
