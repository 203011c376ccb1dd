/*
 * Scenario events -> JSON, for the Python conformance side (which never
 * parses scripts itself: DESIGN.md, "One parser, in C").
 *
 * Every event is written with its kind, source position, time column, the
 * script line it stands for ("text"), and every field of its kind, in both
 * raw and decoded form where that helps (flags as a string and as bits,
 * options as raw hex and as decoded items). The schema is in tools/SCRIPTS.md
 * ("JSON"); fields are only ever added.
 */
#include "scenario.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

static void put_json_string(sc_strbuf *b, const char *s)
{
	sc_sb_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sc_sb_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			sc_sb_printf(b, "\\u%04x", c);
		else
			sc_sb_printf(b, "%c", c);
	}
	sc_sb_puts(b, "\"");
}

static void put_hex_string(sc_strbuf *b, const uint8_t *p, size_t n)
{
	size_t i;

	sc_sb_puts(b, "\"");
	for (i = 0; i < n; i++)
		sc_sb_printf(b, "%02x", p[i]);
	sc_sb_puts(b, "\"");
}

static const char *bool_str(bool v)
{
	return v ? "true" : "false";
}

static void put_time(sc_strbuf *b, const sc_time *t)
{
	sc_sb_printf(b, "{\"kind\": \"%s\", \"us\": %" PRId64 ", \"range\": %s, "
		     "\"blocking\": %s, \"end_us\": %" PRId64 "}",
		     sc_time_kind_name(t->kind), t->us, bool_str(t->range),
		     bool_str(t->blocking), t->end_us);
}

static void put_num(sc_strbuf *b, const sc_num *n)
{
	/* For SC_NUM_STATE the value is a signed offset; give both readings. */
	sc_sb_printf(b, "{\"mode\": \"%s\", \"value\": %" PRIu32 ", \"offset\": %" PRId32 "}",
		     sc_num_mode_name(n->mode), n->value, (int32_t)n->value);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decoded option items; anything malformed or unknown as {"kind": "raw"}. */
static void put_option_items(sc_strbuf *b, const uint8_t *raw, size_t len)
{
	size_t i = 0, j;
	const char *sep = "";

	sc_sb_puts(b, "[");
	while (i < len) {
		uint8_t k = raw[i];
		size_t l;

		sc_sb_puts(b, sep);
		sep = ", ";
		if (k == SF_OPT_EOL || k == SF_OPT_NOP) {
			sc_sb_printf(b, "{\"kind\": \"%s\"}", k == SF_OPT_EOL ? "eol" : "nop");
			i++;
			continue;
		}
		l = i + 1 < len ? raw[i + 1] : 0;
		if (l < 2 || i + l > len) {
			sc_sb_puts(b, "{\"kind\": \"raw\", \"bytes\": ");
			put_hex_string(b, raw + i, len - i);
			sc_sb_puts(b, "}");
			break;
		}
		if (k == SF_OPT_MSS && l == 4) {
			sc_sb_printf(b, "{\"kind\": \"mss\", \"value\": %u}",
				     (unsigned)(raw[i + 2] << 8 | raw[i + 3]));
		} else if (k == SF_OPT_WSCALE && l == 3) {
			sc_sb_printf(b, "{\"kind\": \"wscale\", \"value\": %u}", raw[i + 2]);
		} else if (k == SF_OPT_SACK_PERM && l == 2) {
			sc_sb_puts(b, "{\"kind\": \"sackOK\"}");
		} else if (k == SF_OPT_TS && l == 10) {
			sc_sb_printf(b, "{\"kind\": \"TS\", \"val\": %" PRIu32 ", \"ecr\": %" PRIu32
				     "}", get32(raw + i + 2), get32(raw + i + 6));
		} else if (k == SF_OPT_SACK && l >= 10 && (l - 2) % 8 == 0) {
			sc_sb_puts(b, "{\"kind\": \"sack\", \"blocks\": [");
			for (j = 2; j < l; j += 8)
				sc_sb_printf(b, "%s[%" PRIu32 ", %" PRIu32 "]", j > 2 ? ", " : "",
					     get32(raw + i + j), get32(raw + i + j + 4));
			sc_sb_puts(b, "]}");
		} else {
			sc_sb_printf(b, "{\"kind\": \"raw\", \"type\": %u, \"bytes\": ", k);
			put_hex_string(b, raw + i, l);
			sc_sb_puts(b, "}");
		}
		i += l;
	}
	sc_sb_puts(b, "]");
}

static void put_packet(sc_strbuf *b, const sc_packet *pk)
{
	static const char *const tos_checks[] = { "none", "ecn", "full", "ect01" };
	static const char *const opt_modes[] = { "none", "any", "list" };
	char flags[12];

	sc_sb_printf(b, "{\"flags\": \"%s\", \"flag_bits\": %u, \"seq\": ",
		     sc_flags_format(pk->flags, flags), pk->flags);
	put_num(b, &pk->seq);
	sc_sb_printf(b, ", \"len\": %" PRIu32 ", \"ack\": ", pk->len);
	if (pk->has_ack)
		put_num(b, &pk->ack);
	else
		sc_sb_puts(b, "null");
	if (pk->has_win)
		sc_sb_printf(b, ", \"win\": %u", pk->win);
	else
		sc_sb_puts(b, ", \"win\": null");
	if (pk->has_urg)
		sc_sb_printf(b, ", \"urg\": %u", pk->urg);
	else
		sc_sb_puts(b, ", \"urg\": null");
	sc_sb_printf(b, ", \"options\": {\"mode\": \"%s\", \"raw\": ",
		     (unsigned)pk->opts_mode < 3 ? opt_modes[pk->opts_mode] : "?");
	put_hex_string(b, pk->opt_raw, pk->opt_len);
	sc_sb_puts(b, ", \"items\": ");
	put_option_items(b, pk->opt_raw, pk->opt_len);
	sc_sb_printf(b, "}, \"sport\": %u, \"dport\": %u, \"conn\": %u", pk->sport, pk->dport,
		     pk->conn);
	sc_sb_printf(b, ", \"tos\": {\"check\": \"%s\", \"value\": %u}",
		     (unsigned)pk->tos_check < 4 ? tos_checks[pk->tos_check] : "?", pk->tos);
	if (pk->has_ttl)
		sc_sb_printf(b, ", \"ttl\": %u", pk->ttl);
	else
		sc_sb_puts(b, ", \"ttl\": null");
	sc_sb_printf(b, ", \"reserved\": %u, \"faults\": {\"bad_tcp_checksum\": %s, "
		     "\"bad_ip_checksum\": %s, \"ip_len_delta\": %d, \"data_off_delta\": %d}",
		     pk->reserved, bool_str(pk->faults.bad_tcp_checksum),
		     bool_str(pk->faults.bad_ip_checksum), pk->faults.ip_len_delta,
		     pk->faults.data_off_delta);
	sc_sb_puts(b, ", \"payload\": ");
	if (pk->payload)
		put_hex_string(b, pk->payload, pk->len);
	else
		sc_sb_puts(b, "null");
	sc_sb_puts(b, "}");
}

static void put_addr(sc_strbuf *b, const sc_call *c)
{
	char text[INET6_ADDRSTRLEN];
	bool v6 = c->addr.addr.family == SF_AF_INET6;

	if (!c->has_addr) {
		sc_sb_puts(b, "null");
		return;
	}
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, c->addr.addr.bytes, text, sizeof(text)))
		strcpy(text, "?");
	sc_sb_printf(b, "{\"family\": %d, \"addr\": \"%s\", \"port\": %u}", v6 ? 6 : 4, text,
		     c->addr.port);
}

static void put_call(sc_strbuf *b, const sc_call *c)
{
	const char *errname = c->ret.err ? sc_errno_to_name(c->ret.err) : NULL;

	sc_sb_printf(b, "{\"name\": \"%s\", \"fd\": %" PRId32 ", \"family\": %d, \"addr\": ",
		     sc_call_name(c->kind), c->fd, c->family);
	put_addr(b, c);
	sc_sb_printf(b, ", \"backlog\": %" PRId32 ", \"how\": %" PRId32 ", \"len\": %" PRIu32
		     ", \"data\": ", c->backlog, c->how, c->len);
	if (c->data)
		put_hex_string(b, c->data, c->len);
	else
		sc_sb_puts(b, "null");
	sc_sb_printf(b, ", \"msg_flags\": %" PRId32 ", \"level\": %d, \"optname\": ",
		     c->msg_flags, c->level);
	if (c->kind == SC_CALL_SETSOCKOPT || c->kind == SC_CALL_GETSOCKOPT)
		put_json_string(b, sc_sockopt_name(c->opt));
	else
		sc_sb_puts(b, "null");
	sc_sb_printf(b, ", \"optval\": %" PRId32 ", \"optval_any\": %s, \"fcntl_cmd\": %" PRId32
		     ", \"fcntl_flags\": %" PRId32 ", \"poll_events\": %" PRId32
		     ", \"poll_revents\": %" PRId32 ", \"poll_timeout_ms\": %" PRId32,
		     c->optval, bool_str(c->optval_any), c->fcntl_cmd, c->fcntl_flags,
		     c->poll_events, c->poll_revents, c->poll_timeout_ms);
	sc_sb_printf(b, ", \"result\": {\"check\": %s, \"value\": %" PRId64 ", \"errno\": ",
		     bool_str(c->ret.check), c->ret.value);
	if (errname)
		sc_sb_printf(b, "\"%s\", \"errno_value\": %d}}", errname, c->ret.err);
	else
		sc_sb_puts(b, "null, \"errno_value\": 0}}");
}

static void put_event(sc_strbuf *b, const sc_event *ev, size_t index)
{
	char line[1024];

	sc_event_format(ev, line, sizeof(line));
	sc_sb_printf(b, "    {\"index\": %zu, \"kind\": \"%s\", \"line\": %u, \"col\": %u, "
		     "\"time\": ", index, sc_event_kind_name(ev->kind), ev->pos.line,
		     ev->pos.col);
	put_time(b, &ev->time);
	sc_sb_puts(b, ", \"text\": ");
	put_json_string(b, line);
	switch (ev->kind) {
	case SC_EV_INBOUND:
	case SC_EV_OUTBOUND:
		sc_sb_puts(b, ", \"packet\": ");
		put_packet(b, &ev->pkt);
		break;
	case SC_EV_CALL:
		sc_sb_puts(b, ", \"call\": ");
		put_call(b, &ev->call);
		break;
	case SC_EV_STATE:
		sc_sb_printf(b, ", \"state\": {\"fd\": %" PRId32 ", \"conn\": %u, \"state\": "
			     "\"%s\"}", ev->state.fd, ev->state.conn, sf_state_name(ev->state.state));
		break;
	default:
		break;
	}
	sc_sb_puts(b, "}");
}

char *sc_json_format(const sc_scenario *scn)
{
	sc_strbuf b;
	size_t i;

	sc_sb_init_dynamic(&b);
	sc_sb_puts(&b, "{\n  \"format\": \"synfin-scenario\",\n  \"version\": 1,\n  \"file\": ");
	put_json_string(&b, scn->file ? scn->file : "");
	sc_sb_printf(&b, ",\n  \"defaults\": {\"local_addr\": \"%s\", \"remote_addr\": \"%s\", "
		     "\"local_port\": %d, \"remote_port\": %d, \"first_fd\": %d, "
		     "\"default_win\": %d},\n", SC_LOCAL_ADDR, SC_REMOTE_ADDR, SC_LOCAL_PORT,
		     SC_REMOTE_PORT, SC_FIRST_FD, SC_DEFAULT_WIN);
	sc_sb_puts(&b, "  \"options\": {");
	for (i = 0; i < scn->opt_count; i++) {
		sc_sb_puts(&b, i ? ", " : "");
		put_json_string(&b, scn->opts[i].name);
		sc_sb_puts(&b, ": ");
		put_json_string(&b, scn->opts[i].value);
	}
	sc_sb_puts(&b, "},\n  \"events\": [\n");
	for (i = 0; i < scn->count; i++) {
		put_event(&b, &scn->ev[i], i);
		sc_sb_puts(&b, i + 1 < scn->count ? ",\n" : "\n");
	}
	sc_sb_puts(&b, "  ]\n}\n");
	return sc_sb_take(&b);
}

int sc_json_write(const sc_scenario *scn, FILE *out)
{
	return sc_write_text(sc_json_format(scn), out);
}
