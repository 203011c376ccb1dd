/*
 * The standalone build of a fuzz target: a main() that replays files through
 * LLVMFuzzerTestOneInput, without any fuzzer. Every corpus folder becomes a
 * regression test in ctest this way, and a crash reproduces with
 *
 *   build/asan/targets/<target> [--trace] crash-file
 *
 * Usage: <target> [--trace] [--emit FILE] [--transitions FILE] PATH...
 *   PATH            a file, or a folder whose files are replayed in name order
 *   --trace         print every event, segment and state change
 *   --emit FILE     (scenario targets) write prologue + input as one binary
 *                   scenario, for `synfin decompile` and `synfin run`
 *   --transitions FILE  append "FROM TO CAUSE COUNT" lines for every state
 *                   change taken (what `synfin coverage` draws)
 *   --expect-inputs exit 1 when no input was found (ctest uses it, so that a
 *                   missing corpus is a failure, not a silent pass)
 *   --legal-edges   print "FROM TO CAUSE" for every edge the engine's
 *                   sf_transition_legal() accepts, and exit (for the diagram)
 * Arguments starting with '-' that are not ours are ignored, so that
 * libFuzzer-style command lines (-runs=0 ...) work too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static size_t replayed;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "replay: out of memory reading %s\n", path);
			fclose(f);
			return -1;
		}
		len += fread(buf + len, 1, cap - len, f);
		if (len < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		return -1;
	}
	/* An exact-size copy, so that ASan sees reads past the input's end. */
	uint8_t *input = malloc(len ? len : 1);
	if (!input) {
		free(buf);
		return -1;
	}
	memcpy(input, buf, len);
	free(buf);
	if (fz_options.trace)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(input, len);
	free(input);
	replayed++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a folder (not recursive), in name order, skipping
 * dot files. */
static int replay_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: cannot open folder %s: %s\n", path, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **q = realloc(names, cap * sizeof *names);
			if (!q) {
				rc = -1;
				break;
			}
			names = q;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		char full[4096];
		struct stat st;
		snprintf(full, sizeof full, "%s/%s", path, names[i]);
		if (rc == 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode))
			rc = replay_file(full);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int write_transitions(const char *path)
{
	FILE *f = fopen(path, "a");
	if (!f) {
		fprintf(stderr, "replay: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int a = 0; a < SF_STATE_COUNT; a++)
		for (int b = 0; b < SF_STATE_COUNT; b++)
			for (int c = 0; c < SF_CAUSE_COUNT; c++) {
				uint64_t k = fz_transition_count(a, b, c);
				if (k)
					fprintf(f, "%s %s %s %llu\n", sf_state_name(a),
						sf_state_name(b), sf_cause_name(c),
						(unsigned long long)k);
			}
	return fclose(f) ? -1 : 0;
}

static void print_legal_edges(void)
{
	for (int a = 0; a < SF_STATE_COUNT; a++)
		for (int b = 0; b < SF_STATE_COUNT; b++)
			for (int c = 0; c < SF_CAUSE_COUNT; c++)
				if (sf_transition_legal(a, b, c))
					printf("%s %s %s\n", sf_state_name(a), sf_state_name(b),
					       sf_cause_name(c));
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--trace] [--emit FILE] [--transitions FILE] [--expect-inputs] PATH...\n"
		"  replays each file (or each file of each folder) through the fuzz target\n",
		argv0);
}

int main(int argc, char **argv)
{
	const char *transitions = NULL;
	bool expect_inputs = false;
	int paths = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--trace")) {
			fz_options.trace = true;
		} else if (!strcmp(a, "--emit") && i + 1 < argc) {
			fz_options.emit_path = argv[++i];
		} else if (!strcmp(a, "--transitions") && i + 1 < argc) {
			transitions = argv[++i];
		} else if (!strcmp(a, "--expect-inputs")) {
			expect_inputs = true;
		} else if (!strcmp(a, "--legal-edges")) {
			print_legal_edges();
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(argv[0]);
			return 0;
		} else if (a[0] == '-') {
			continue;
		} else {
			paths++;
		}
	}
	if (!paths) {
		usage(argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		struct stat st;
		if (!strcmp(a, "--emit") || !strcmp(a, "--transitions")) {
			i++;
			continue;
		}
		if (a[0] == '-')
			continue;
		if (stat(a, &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", a, strerror(errno));
			return 2;
		}
		if ((S_ISDIR(st.st_mode) ? replay_dir(a) : replay_file(a)) != 0)
			return 2;
	}
	if (transitions && write_transitions(transitions) != 0)
		return 2;
	printf("replayed %zu input%s without a finding\n", replayed, replayed == 1 ? "" : "s");
	if (expect_inputs && !replayed) {
		fprintf(stderr, "replay: no inputs found (expected a corpus)\n");
		return 1;
	}
	return 0;
}
