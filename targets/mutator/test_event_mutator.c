/*
 * Tests of the structure-aware mutator (event_mutator.h) and of its AFL++
 * hooks (afl_mutator.c), on the committed corpora of the scenario targets
 * and a few odd inputs:
 *
 *   - every mutation stays within max_size, decodes, and (except the byte
 *     mutator on one record) is in canonical form;
 *   - the same input and seed give the same output;
 *   - every mutation kind occurs and changes its input, and the edits aim
 *     where they should (window edges, timer deadlines, illegal options);
 *   - cross-over keeps whole events of its two parents;
 *   - AFL++ trimming removes whole events only, keeps what the "coverage"
 *     needs and removes everything else;
 *   - with a path argument: the built AFL++ library loads and its hooks run.
 *
 * Corpora come from SM_CORPORA_DIR (compiled in) or $SYNFIN_CORPORA_DIR.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "event_mutator.h"
#include "scenario.h"

/* The AFL++ hooks, linked in from afl_mutator.c. */
void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
		       uint8_t *add_buf, size_t add_buf_size, size_t max_size);
const char *afl_custom_describe(void *data, size_t max_description_len);
int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size);
size_t afl_custom_trim(void *data, uint8_t **out_buf);
int32_t afl_custom_post_trim(void *data, unsigned char success);
void afl_custom_deinit(void *data);

static int failures;

#define CHECK(cond, ...)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			failures++;                                                          \
		}                                                                            \
	} while (0)

/* ---- Inputs ---- */

typedef struct input {
	char name[256];
	uint8_t *data;
	size_t len;
} input;

static input *inputs;
static size_t n_inputs, cap_inputs, n_corpus;

static bool add_input(const char *name, const uint8_t *data, size_t len)
{
	input *in;

	if (n_inputs == cap_inputs) {
		size_t cap = cap_inputs ? 2 * cap_inputs : 256;
		input *p = realloc(inputs, cap * sizeof(*p));

		if (!p)
			return false;
		inputs = p;
		cap_inputs = cap;
	}
	in = &inputs[n_inputs];
	snprintf(in->name, sizeof(in->name), "%s", name);
	in->data = malloc(len + 1);
	memcpy(in->data, data, len);
	in->len = len;
	n_inputs++;
	return true;
}

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "cannot open %s\n", dir);
		failures++;
		return;
	}
	while ((e = readdir(d))) {
		char path[1024];
		uint8_t buf[65536];
		FILE *f;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		n_corpus += add_input(path, buf, len);
	}
	closedir(d);
}

static void load_inputs(void)
{
	const char *root = getenv("SYNFIN_CORPORA_DIR") ? getenv("SYNFIN_CORPORA_DIR")
							 : SM_CORPORA_DIR;
	static const char *const targets[] = {"passive_open", "active_open", "listener"};
	uint8_t junk[300];
	uint32_t x = 12345;

	for (size_t t = 0; t < 3; t++) {
		char dir[1024];

		snprintf(dir, sizeof(dir), "%s/%s", root, targets[t]);
		load_dir(dir);
	}
	add_input("empty", (const uint8_t *)"", 0);
	add_input("short", (const uint8_t *)"\x01", 1);
	add_input("header", (const uint8_t *)"\x01\x00\x00\x00", 4);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	add_input("junk", junk, sizeof(junk));
	/* A record whose length runs past the end of the input. */
	add_input("truncated", (const uint8_t *)"\x01\x00\x00\x00\x00\x1c\x02\x00", 8);
}

/* ---- Records, split independently of the mutator (README.md's layout) ---- */

typedef struct rec {
	const uint8_t *p; /* the whole record, header included */
	size_t len;
	size_t hdr;       /* 2, or 4 with a 16-bit length */
} rec;

static size_t split(const uint8_t *d, size_t len, rec *out, size_t max)
{
	size_t off = 4, n = 0;

	while (off < len && n < max) {
		size_t hdr = 2, blen = off + 1 < len ? d[off + 1] : 0, end;

		if (blen == 255) {
			hdr = 4;
			blen = off + 3 < len ? (size_t)d[off + 2] << 8 | d[off + 3] : 0;
		}
		end = off + hdr + blen < len ? off + hdr + blen : len;
		out[n].p = d + off;
		out[n].len = end - off;
		out[n].hdr = hdr < end - off ? hdr : end - off;
		n++;
		off = end;
	}
	return n;
}

static bool rec_eq(rec a, rec b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Same kind tag and same body: the same event, whatever the length field
 * says (a record cut short by its input's end says its real length when
 * copied). */
static bool rec_same_event(rec a, rec b)
{
	return a.len && b.len && a.p[0] == b.p[0] && a.len - a.hdr == b.len - b.hdr &&
	       memcmp(a.p + a.hdr, b.p + b.hdr, a.len - a.hdr) == 0;
}

/* ---- Helpers ---- */

/* encode(decode(d)): the canonical form. Caller frees. */
static uint8_t *canonical(const uint8_t *d, size_t len, size_t *out_len)
{
	sc_scenario s;
	uint8_t *out = NULL;

	*out_len = 0;
	if (sc_binary_decode(d, len, NULL, &s) < 0)
		return NULL;
	if (sc_binary_encode(&s, &out, out_len) < 0)
		out = NULL;
	sc_scenario_free(&s);
	return out;
}

/* A deterministic byte mutator standing in for the fuzzer's: flips one bit
 * chosen from the contents, and sometimes grows or cuts the body. */
static size_t test_bytes(uint8_t *data, size_t size, size_t max_size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	if (size == 0 || (h & 7) == 0) {
		if (size >= max_size)
			return size;
		data[size] = (uint8_t)(h >> 24);
		return size + 1;
	}
	if ((h & 7) == 1)
		return size / 2;
	data[h % size] ^= (uint8_t)(1u << (h >> 8 & 7));
	return size;
}

/* ---- What the mutations produced (for the "aims where it should" checks) ---- */

typedef struct seen {
	unsigned kinds[SM_KIND_COUNT];
	unsigned changed[SM_KIND_COUNT];
	bool seq_right_edge, seq_past_right, seq_before_left, seq_half_space;
	bool ack_below_max_wnd, ack_past_snd_nxt;
	bool wait_tw_minus_1us, wait_tw_exact, wait_keepalive, wait_synack_giveup, timer_minus_1;
	bool opt_bad_len, timer_run;
} seen;

static bool opt_area_is_illegal(const sc_packet *p)
{
	size_t i = 0;

	while (i < p->opt_len) {
		uint8_t kind = p->opt_raw[i];

		if (kind == 0)
			return false;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= p->opt_len || p->opt_raw[i + 1] < 2 || i + p->opt_raw[i + 1] > p->opt_len)
			return true;
		i += p->opt_raw[i + 1];
	}
	return false;
}

static void note_events(seen *sn, sm_kind k, const uint8_t *d, size_t len)
{
	sc_scenario s;

	if (sc_binary_decode(d, len, NULL, &s) < 0)
		return;
	for (size_t i = 0; i < s.count; i++) {
		const sc_event *ev = &s.ev[i];

		if (ev->kind == SC_EV_INBOUND && k == SM_SEQ_EDGE && ev->pkt.seq.mode == SC_NUM_STATE) {
			int32_t v = (int32_t)ev->pkt.seq.value;

			sn->seq_right_edge |= v == 65535 - (int32_t)ev->pkt.len;
			sn->seq_past_right |= v == 65536;
			sn->seq_before_left |= v == -1;
			sn->seq_half_space |= v == INT32_MIN;
		}
		if (ev->kind == SC_EV_INBOUND && k == SM_ACK_EDGE && ev->pkt.ack.mode == SC_NUM_STATE) {
			int32_t v = (int32_t)ev->pkt.ack.value;

			sn->ack_below_max_wnd |= v == -65536;
			sn->ack_past_snd_nxt |= v == 1;
		}
		if (ev->kind == SC_EV_INBOUND && k == SM_OPT_CORRUPT)
			sn->opt_bad_len |= opt_area_is_illegal(&ev->pkt);
		if (ev->kind == SC_EV_WAIT && k == SM_WAIT_DEADLINE) {
			bool timer = sc_wait_is_timer(ev);

			sn->wait_tw_minus_1us |= !timer && ev->time.us == 60000000 - 1;
			sn->wait_tw_exact |= !timer && ev->time.us == 60000000;
			sn->wait_keepalive |= !timer && ev->time.us == 7200000000ll;
			sn->wait_synack_giveup |= !timer && ev->time.us == 63000000;
			sn->timer_minus_1 |= timer && ev->time.us == -1;
		}
		if (k == SM_TIMER_RUN && i + 1 < s.count && sc_wait_is_timer(ev) &&
		    sc_wait_is_timer(&s.ev[i + 1]))
			sn->timer_run = true;
	}
	sc_scenario_free(&s);
}

/* ---- The tests ---- */

static const size_t max_sizes[] = {4096, 512, 64, 3, 65536};

static void one_mutation(seen *sn, const input *in, uint32_t seed)
{
	size_t max = max_sizes[seed % (sizeof(max_sizes) / sizeof(max_sizes[0]))];
	size_t size = in->len < max ? in->len : max, n1, n2, canon_len;
	uint8_t *a = calloc(1, max + in->len), *b = calloc(1, max + in->len), *canon;
	sm_kind k1, k2;
	sc_scenario s;

	memcpy(a, in->data, size);
	memcpy(b, in->data, size);
	n1 = sm_mutate(a, size, max, seed, test_bytes, &k1);
	n2 = sm_mutate(b, size, max, seed, test_bytes, &k2);
	CHECK(n1 <= max, "%s seed %u: %zu octets > max_size %zu", in->name, seed, n1, max);
	CHECK(n1 == n2 && k1 == k2 && memcmp(a, b, n1) == 0,
	      "%s seed %u max %zu: not deterministic (%s %zu octets, then %s %zu)", in->name, seed,
	      max, sm_kind_name(k1), n1, sm_kind_name(k2), n2);
	CHECK(sc_binary_decode(a, n1, NULL, &s) == 0, "%s seed %u: does not decode", in->name, seed);
	sc_scenario_free(&s);
	if (max < 4)
		goto out;
	CHECK(k1 < SM_KIND_COUNT, "%s seed %u: kind %d", in->name, seed, (int)k1);
	sn->kinds[k1]++;
	canon = canonical(a, n1, &canon_len);
	if (k1 != SM_RECORD_BYTES)
		CHECK(canon && canon_len == n1 && memcmp(canon, a, n1) == 0,
		      "%s seed %u (%s): output not in canonical form (%zu vs %zu octets)", in->name,
		      seed, sm_kind_name(k1), n1, canon_len);
	free(canon);
	/* Did it change anything? Compare with the input's canonical form. */
	canon = canonical(in->data, size, &canon_len);
	if (canon && (canon_len != n1 || memcmp(canon, a, n1) != 0))
		sn->changed[k1]++;
	free(canon);
	note_events(sn, k1, a, n1);
out:
	free(a);
	free(b);
}

/* Mutations in all, spread over the inputs (the corpora grow), then
 * chains of mutations of mutations. */
#define MUTATIONS 40000
#define CHAINS 100
#define CHAIN_LENGTH 200

static void test_mutations(void)
{
	seen sn;

	memset(&sn, 0, sizeof(sn));
	for (uint32_t i = 0; i < MUTATIONS; i++)
		one_mutation(&sn, &inputs[i % n_inputs], i * 7919u + 17);
	/* Fuzzers mutate their own outputs: chains of mutations, where odd
	 * states (an option length of 255, a cut option area) meet the next
	 * edit. */
	for (uint32_t c = 0; c < CHAINS; c++) {
		input cur = inputs[(c * 31) % n_inputs];
		uint8_t *buf = malloc(4096);

		memcpy(buf, cur.data, cur.len < 4096 ? cur.len : 4096);
		cur.data = buf;
		cur.len = cur.len < 4096 ? cur.len : 4096;
		for (uint32_t k = 0; k < CHAIN_LENGTH; k++) {
			size_t n;

			one_mutation(&sn, &cur, c * 100003u + k);
			n = sm_mutate(buf, cur.len, 4096, c * 100003u + k, test_bytes, NULL);
			CHECK(n <= 4096, "chain %u step %u: %zu octets", c, k, n);
			cur.len = n;
		}
		free(buf);
	}
	for (int k = 0; k < SM_KIND_COUNT; k++) {
		if (k == SM_SPLICE)
			continue; /* the cross-over hook's, tested below */
		CHECK(sn.kinds[k] > 0, "mutation %s never occurred", sm_kind_name((sm_kind)k));
		CHECK(sn.changed[k] > 0, "mutation %s never changed its input",
		      sm_kind_name((sm_kind)k));
		printf("  %-14s %6u times, %6u changed the input\n", sm_kind_name((sm_kind)k),
		       sn.kinds[k], sn.changed[k]);
	}
	CHECK(sn.seq_right_edge, "no seq at RCV.NXT + RCV.WND - len (the last octet in the window)");
	CHECK(sn.seq_past_right, "no seq at RCV.NXT + RCV.WND + 1");
	CHECK(sn.seq_before_left, "no seq at RCV.NXT - 1");
	CHECK(sn.seq_half_space, "no seq 2^31 away");
	CHECK(sn.ack_below_max_wnd, "no ack at SND.NXT - 65536");
	CHECK(sn.ack_past_snd_nxt, "no ack at SND.NXT + 1");
	CHECK(sn.wait_tw_minus_1us, "no wait of TIME-WAIT - 1 us");
	CHECK(sn.wait_tw_exact, "no wait of exactly 60 s");
	CHECK(sn.wait_keepalive, "no wait of the keep-alive idle time (7200 s)");
	CHECK(sn.wait_synack_giveup, "no wait of the SYN-ACK give-up time (63 s)");
	CHECK(sn.timer_minus_1, "no wait to 1 us before the next timer");
	CHECK(sn.opt_bad_len, "no option with an illegal length");
	CHECK(sn.timer_run, "no run of timer waits");
}

/* Is every record of out one of a's or b's? The cross-over copies raw
 * records: a parent's record comes out with the same tag and body. */
static void test_crossover(void)
{
	static rec ra[4096], rb[4096], ro[4096];
	unsigned mixed = 0, runs = 0;

	/* About 3000 pairs, whatever the size of the corpora. */
	size_t step = n_corpus / 55 + 1;

	for (size_t i = 0; i < n_corpus; i += step) {
		for (size_t j = (i * 7) % step; j < n_corpus; j += step) {
			size_t na, nb, no, n1, n2;
			uint32_t seed = (uint32_t)(i * 131 + j);
			uint8_t o1[4096], o2[4096];
			bool from_a = false, from_b = false;
			sc_scenario s;

			n1 = sm_crossover(inputs[i].data, inputs[i].len, inputs[j].data, inputs[j].len,
					  o1, sizeof(o1), seed);
			n2 = sm_crossover(inputs[i].data, inputs[i].len, inputs[j].data, inputs[j].len,
					  o2, sizeof(o2), seed);
			runs++;
			CHECK(n1 <= sizeof(o1) && n1 >= 4, "cross-over: %zu octets", n1);
			CHECK(n1 == n2 && memcmp(o1, o2, n1) == 0, "cross-over not deterministic");
			CHECK(sc_binary_decode(o1, n1, NULL, &s) == 0, "cross-over output does not decode");
			na = split(inputs[i].data, inputs[i].len, ra, 4096);
			nb = split(inputs[j].data, inputs[j].len, rb, 4096);
			no = split(o1, n1, ro, 4096);
			CHECK(s.count == no, "cross-over of %s and %s: %zu records decode to %zu events",
			      inputs[i].name, inputs[j].name, no, s.count);
			sc_scenario_free(&s);
			for (size_t k = 0; k < no; k++) {
				bool in_a = false, in_b = false;

				for (size_t x = 0; x < na && !in_a; x++)
					in_a = rec_same_event(ro[k], ra[x]);
				for (size_t x = 0; x < nb && !in_b; x++)
					in_b = rec_same_event(ro[k], rb[x]);
				CHECK(in_a || in_b, "cross-over of %s and %s: record %zu from nowhere",
				      inputs[i].name, inputs[j].name, k);
				from_a |= in_a && !in_b;
				from_b |= in_b && !in_a;
			}
			mixed += from_a && from_b;
		}
	}
	CHECK(mixed > runs / 10, "only %u of %u cross-overs mixed both parents", mixed, runs);
	printf("  splice         %6u times, %6u mixed both parents\n", runs, mixed);
}

/*
 * AFL++'s trim loop, as afl-fuzz runs it (trim_case_custom), with a fake
 * target whose "coverage" only depends on whether the marker record is in
 * the input. Every candidate must be the current input minus a run of
 * whole records; in the end only the marker may remain.
 */
static void trim_one(const input *in, bool accept)
{
	static rec rc[4096], rn[4096];
	void *m = afl_custom_init(NULL, 1);
	uint8_t *cur = malloc(in->len + 1), *cand;
	size_t cur_len = in->len, n_cur, n_cand, trials = 0;
	int32_t stage = 0, stage_max;
	rec marker;
	uint8_t marker_copy[70000];

	memcpy(cur, in->data, in->len);
	n_cur = split(cur, cur_len, rc, 4096);
	marker = rc[n_cur / 2];
	memcpy(marker_copy, marker.p, marker.len);
	marker.p = marker_copy;
	stage_max = afl_custom_init_trim(m, cur, cur_len);
	CHECK(stage_max > 0, "%s: %zu events but no trim steps", in->name, n_cur);
	while (stage < stage_max) {
		size_t len = afl_custom_trim(m, &cand), first = 0, removed;
		bool keeps_marker = false, ok = true;

		trials++;
		CHECK(len < cur_len, "%s: trim candidate not smaller (%zu >= %zu)", in->name, len, cur_len);
		n_cand = split(cand, len, rn, 4096);
		/* cand == cur[0, first) ++ cur[first + removed, n_cur) */
		while (first < n_cand && rec_eq(rn[first], rc[first]))
			first++;
		removed = n_cur - n_cand;
		CHECK(removed > 0, "%s: trim candidate removes no event", in->name);
		for (size_t k = first; k < n_cand && ok && removed > 0; k++)
			ok = rec_eq(rn[k], rc[k + removed]);
		CHECK(ok && memcmp(cand, cur, 4) == 0,
		      "%s: trim candidate is not the input minus whole events", in->name);
		for (size_t k = 0; k < n_cand; k++)
			keeps_marker |= rec_eq(rn[k], marker);
		if (accept && keeps_marker) {
			memcpy(cur, cand, len);
			cur_len = len;
			n_cur = split(cur, cur_len, rc, 4096);
			stage = afl_custom_post_trim(m, 1);
		} else {
			stage = afl_custom_post_trim(m, 0);
		}
		if (trials > 100000)
			break;
	}
	if (accept)
		CHECK(n_cur == 1 && rec_eq(rc[0], marker),
		      "%s: trimming left %zu events, not just the marker", in->name, n_cur);
	else
		CHECK((int32_t)trials == stage_max, "%s: %zu trials for %d steps", in->name, trials,
		      stage_max);
	afl_custom_deinit(m);
	free(cur);
}

static void test_trim(void)
{
	size_t done = 0;

	static rec r[4096];
	size_t step = n_inputs / 100 + 1;

	for (size_t i = 0; i < n_inputs; i += step) {
		if (split(inputs[i].data, inputs[i].len, r, 4096) < 3)
			continue;
		trim_one(&inputs[i], true);
		trim_one(&inputs[i], false);
		done++;
	}
	CHECK(done >= 10, "only %zu inputs to trim", done);
	printf("  trim           %6zu inputs trimmed down to their marker event\n", done);
}

static void test_afl_fuzz(void)
{
	void *m = afl_custom_init(NULL, 42);
	unsigned splices = 0;

	for (unsigned i = 0; i < 3000; i++) {
		const input *a = &inputs[i % n_inputs], *b = &inputs[(i * 7) % n_inputs];
		uint8_t *buf = malloc(a->len + 1), *out = NULL;
		size_t n;
		sc_scenario s;
		const char *d;

		memcpy(buf, a->data, a->len);
		n = afl_custom_fuzz(m, buf, a->len, &out, b->data, b->len, 4096);
		CHECK(out != NULL && n <= 4096, "afl_custom_fuzz: %zu octets", n);
		CHECK(out && sc_binary_decode(out, n, NULL, &s) == 0, "afl output does not decode");
		sc_scenario_free(&s);
		d = afl_custom_describe(m, 64);
		CHECK(strncmp(d, "synfin:", 7) == 0 && strcmp(d + 7, "?") != 0, "describe: %s", d);
		splices += strcmp(d, "synfin:splice") == 0;
		free(buf);
	}
	CHECK(splices > 0, "afl_custom_fuzz never spliced");
	afl_custom_deinit(m);
}

/* The built library: loads, exports every hook, and they run. */
static void test_library(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	static const char *const names[] = {"afl_custom_init",      "afl_custom_fuzz",
					    "afl_custom_describe",  "afl_custom_init_trim",
					    "afl_custom_trim",      "afl_custom_post_trim",
					    "afl_custom_deinit"};
	void *(*init)(void *, unsigned);
	size_t (*fuzz)(void *, uint8_t *, size_t, uint8_t **, uint8_t *, size_t, size_t);
	void (*deinit)(void *);
	void *m;

	CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
	if (!h)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(dlsym(h, names[i]) != NULL, "%s does not export %s", path, names[i]);
	CHECK(dlsym(h, "sm_mutate") == NULL && dlsym(h, "sc_binary_decode") == NULL,
	      "%s exports more than the afl_custom_* hooks", path);
	*(void **)&init = dlsym(h, "afl_custom_init");
	*(void **)&fuzz = dlsym(h, "afl_custom_fuzz");
	*(void **)&deinit = dlsym(h, "afl_custom_deinit");
	if (init && fuzz && deinit && n_corpus) {
		uint8_t *out = NULL;
		size_t n;

		m = init(NULL, 7);
		for (int i = 0; i < 200; i++) {
			n = fuzz(m, inputs[i % n_corpus].data, inputs[i % n_corpus].len, &out, NULL, 0,
				 4096);
			CHECK(out && n <= 4096, "library fuzz: %zu octets", n);
		}
		deinit(m);
	}
	dlclose(h);
	printf("  library        %s loads and runs\n", path);
}

int main(int argc, char **argv)
{
	load_inputs();
	CHECK(n_corpus >= 10, "only %zu corpus files found (SM_CORPORA_DIR %s)", n_corpus,
	      SM_CORPORA_DIR);
	printf("%zu inputs (%zu from the corpora)\n", n_inputs, n_corpus);
	test_mutations();
	test_crossover();
	test_trim();
	test_afl_fuzz();
	if (argc > 1)
		test_library(argv[1]);
	for (size_t i = 0; i < n_inputs; i++)
		free(inputs[i].data);
	free(inputs);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
