/*
 * fuzz_seedgen: turn readable scripts into seed inputs for one target.
 *
 *   fuzz_seedgen TARGET OUT_DIR SCRIPT.pkt...
 *
 * passive_open, listener  scripts with a listen(): the prologue the target
 *                         plays itself (the first socket(), bind(3) and
 *                         listen(3)) is taken out, the rest is compiled to
 *                         the binary form.
 * active_open             scripts with a connect(): the first socket(),
 *                         bind(3) and connect(3) are taken out likewise.
 * single_packet           every inbound packet of every script, as a raw
 *                         IPv4 and as an IPv6 packet whose seq and ack are 0
 *                         (the target reads them as offsets from RCV.NXT
 *                         and SND.NXT).
 * script_parser           the scripts themselves.
 * Scripts that do not fit the target are skipped (and said so). Each output
 * is named after its script (<script>.bin, or <script>-<n>.raw for packets),
 * so a corpus file says where it came from.
 *
 *   fuzz_seedgen --canon IN OUT
 *
 * writes the binary scenario IN in its canonical form (targets/README.md,
 * "dense records"): decoded and encoded again, so the same events in the
 * fewest octets. `synfin fuzz canon` uses it on the committed corpora.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "harness.h"
#include "scenario.h"

typedef enum { T_PASSIVE, T_ACTIVE, T_PACKET, T_SCRIPT } target_kind;

static int write_file(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	if (dir)
		snprintf(path, sizeof path, "%s/%s", dir, name);
	else
		snprintf(path, sizeof path, "%s", name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		fprintf(stderr, "seedgen: cannot write %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* "dir/seed01_passive_open.pkt" -> "seed01_passive_open" */
static void base_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	snprintf(out, cap, "%s", b);
	char *dot = strrchr(out, '.');
	if (dot)
		*dot = 0;
}

static bool is_call(const sc_event *ev, sc_call_kind k, int fd)
{
	return ev->kind == SC_EV_CALL && ev->call.kind == k && (fd < 0 || ev->call.fd == fd);
}

static bool has_call(const sc_scenario *scn, sc_call_kind k)
{
	for (size_t i = 0; i < scn->count; i++)
		if (is_call(&scn->ev[i], k, -1))
			return true;
	return false;
}

/* Copy scn without the first event matching each of the prologue calls. */
static int strip_prologue(const sc_scenario *scn, target_kind t, sc_scenario *out)
{
	bool sock = false, bind = false, last = false;
	sc_call_kind open = t == T_PASSIVE ? SC_CALL_LISTEN : SC_CALL_CONNECT;
	if (sc_scenario_init(out, scn->file) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < scn->count; i++) {
		const sc_event *ev = &scn->ev[i];
		if (!sock && is_call(ev, SC_CALL_SOCKET, -1)) {
			sock = true;
			continue;
		}
		if (!bind && !last && is_call(ev, SC_CALL_BIND, SC_FIRST_FD)) {
			bind = true;
			continue;
		}
		if (!last && is_call(ev, open, SC_FIRST_FD)) {
			last = true;
			continue;
		}
		if (!sc_scenario_append(out, ev))
			return -ENOMEM;
	}
	return 0;
}

static int gen_scenario(const sc_scenario *scn, target_kind t, const char *dir, const char *name)
{
	sc_scenario body;
	uint8_t *bin = NULL;
	size_t len = 0;
	char file[512];
	int rc = strip_prologue(scn, t, &body);
	if (rc == 0)
		rc = sc_binary_encode(&body, &bin, &len);
	if (rc == 0) {
		snprintf(file, sizeof file, "%s.bin", name);
		rc = write_file(dir, file, bin, len);
	}
	free(bin);
	sc_scenario_free(&body);
	return rc;
}

/* Inbound packets as raw IPv4 packets with zero seq/ack offsets. */
static int gen_packets(const sc_scenario *scn, const char *dir, const char *name)
{
	static uint8_t payload[SC_MAX_PAYLOAD];
	uint8_t pkt[SF_MAX_PACKET];
	int n = 0;
	for (size_t i = 0; i < scn->count; i++) {
		const sc_event *ev = &scn->ev[i];
		if (ev->kind != SC_EV_INBOUND)
			continue;
		sf_segment s;
		memset(&s, 0, sizeof s);
		s.src = sf_addr_v4(FZ_REMOTE_ADDR_V4);
		s.dst = sf_addr_v4(FZ_LOCAL_ADDR_V4);
		s.sport = SC_REMOTE_PORT;
		s.dport = SC_LOCAL_PORT;
		s.flags = ev->pkt.flags;
		s.window = ev->pkt.has_win ? ev->pkt.win : SC_DEFAULT_WIN;
		s.urg_ptr = ev->pkt.has_urg ? ev->pkt.urg : 0;
		s.ttl = 64;
		if (ev->pkt.opts_mode == SC_OPTS_LIST) {
			s.opt_len = ev->pkt.opt_len;
			memcpy(s.opt_raw, ev->pkt.opt_raw, s.opt_len);
		}
		s.payload = payload;
		s.payload_len = ev->pkt.len;
		int len = sf_wire_emit(&s, NULL, pkt, sizeof pkt);
		if (len < 0)
			continue;
		char file[512];
		snprintf(file, sizeof file, "%s-%02d.raw", name, ++n);
		if (write_file(dir, file, pkt, (size_t)len) != 0)
			return -1;
		/* The same packet over IPv6, so the codec's other half is seeded too. */
		if (sf_addr_parse(SC_REMOTE_ADDR6, &s.src) != 0 ||
		    sf_addr_parse(SC_LOCAL_ADDR6, &s.dst) != 0)
			continue;
		len = sf_wire_emit(&s, NULL, pkt, sizeof pkt);
		snprintf(file, sizeof file, "%s-%02d-v6.raw", name, n);
		if (len > 0 && write_file(dir, file, pkt, (size_t)len) != 0)
			return -1;
	}
	return 0;
}

static int parse_target(const char *name, target_kind *t)
{
	if (!strcmp(name, "passive_open") || !strcmp(name, "listener"))
		*t = T_PASSIVE;
	else if (!strcmp(name, "active_open"))
		*t = T_ACTIVE;
	else if (!strcmp(name, "single_packet"))
		*t = T_PACKET;
	else if (!strcmp(name, "script_parser"))
		*t = T_SCRIPT;
	else
		return -1;
	return 0;
}

/* --canon IN OUT: IN decoded and encoded again. */
static int canon(const char *in, const char *out)
{
	enum { MAX_INPUT = 1 << 20 };
	static uint8_t buf[MAX_INPUT + 1];
	FILE *f = fopen(in, "rb");
	if (!f) {
		fprintf(stderr, "seedgen: cannot open %s: %s\n", in, strerror(errno));
		return 1;
	}
	size_t len = fread(buf, 1, sizeof buf, f);
	int err = ferror(f);
	fclose(f);
	if (err || len > MAX_INPUT) {
		fprintf(stderr, "seedgen: %s: %s\n", in, err ? "read error" : "larger than 1 MiB");
		return 1;
	}
	sc_scenario scn;
	uint8_t *bin = NULL;
	size_t n = 0;
	int rc = sc_binary_decode(buf, len, in, &scn);
	if (rc == 0)
		rc = sc_binary_encode(&scn, &bin, &n);
	if (rc != 0)
		fprintf(stderr, "seedgen: %s: out of memory\n", in);
	else
		rc = write_file(NULL, out, bin, n);
	free(bin);
	sc_scenario_free(&scn);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	target_kind t;
	if (argc == 4 && !strcmp(argv[1], "--canon"))
		return canon(argv[2], argv[3]);
	if (argc < 4 || parse_target(argv[1], &t) != 0) {
		fprintf(stderr, "usage: fuzz_seedgen passive_open|listener|active_open|single_packet|"
				"script_parser OUT_DIR SCRIPT.pkt...\n"
				"       fuzz_seedgen --canon IN OUT\n");
		return 2;
	}
	int status = 0;
	for (int i = 3; i < argc; i++) {
		sc_scenario scn;
		sc_error err;
		char name[256];
		base_name(argv[i], name, sizeof name);
		if (sc_script_parse_file(argv[i], &scn, &err) != 0) {
			fprintf(stderr, "seedgen: skipping %s\n", err.msg);
			status = 1;
			sc_scenario_free(&scn);
			continue;
		}
		int rc = 0;
		if (t == T_PACKET) {
			rc = gen_packets(&scn, argv[2], name);
		} else if (t == T_SCRIPT) {
			FILE *f = fopen(argv[i], "rb");
			static uint8_t text[SC_MAX_SCRIPT_BYTES];
			size_t len = f ? fread(text, 1, sizeof text, f) : 0;
			if (f)
				fclose(f);
			char file[512];
			snprintf(file, sizeof file, "%s.pkt", name);
			rc = write_file(argv[2], file, text, len);
		} else if (has_call(&scn, t == T_PASSIVE ? SC_CALL_LISTEN : SC_CALL_CONNECT)) {
			rc = gen_scenario(&scn, t, argv[2], name);
		} else {
			printf("seedgen: %s does not fit %s, skipped\n", argv[i], argv[1]);
		}
		if (rc != 0)
			status = 1;
		sc_scenario_free(&scn);
	}
	return status;
}
