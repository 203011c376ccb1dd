/*
 * The engine's memory comes from the harness's arena (harness.c, "The
 * engine's memory"), not from ASan's allocator. These tests plant the faults
 * ASan and LeakSanitizer found with malloc, each in a forked child, and check
 * that the arena still finds them: a leak, a double free, a free with the
 * wrong size or of a pointer inside a block fail the "memory" oracle; reads
 * and writes past either end of a block or after its free are ASan reports.
 * A control run must pass, and a rerun must get the same addresses (AFL++'s
 * stability).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness_internal.h"
#include "child.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FZ_TEST_ASAN)
#define FZ_TEST_ASAN 1
#endif

/* The child must fail, and say `want`. */
static void expect_failure(const char *name, void (*fn)(void), const char *want)
{
	char out[16384];
	int status = run_child(fn, out, sizeof out);
	bool failed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
	if (!failed || !strstr(out, want)) {
		fprintf(stderr, "%s: expected a failure saying \"%s\", got status 0x%x and:\n%s\n",
			name, want, status, out);
		exit(1);
	}
	printf("ok %s (%s)\n", name, want);
}

/* ---- Planted faults, as a broken engine would make them ---- */

static void leak(void)
{
	fz_harness *h = harness();
	(void)fz_heap_alloc(h, 100);
	fz_free(h);
}

static void double_free(void)
{
	fz_harness *h = harness();
	void *p = fz_heap_alloc(h, 64);
	fz_heap_free(h, p, 64);
	fz_heap_free(h, p, 64);
}

static void wrong_size(void)
{
	fz_harness *h = harness();
	void *p = fz_heap_alloc(h, 64);
	fz_heap_free(h, p, 60);
}

static void inside_block(void)
{
	fz_harness *h = harness();
	uint8_t *p = fz_heap_alloc(h, 64);
	fz_heap_free(h, p + 32, 32);
}

#ifdef FZ_TEST_ASAN
static volatile uint8_t sink;

static void read_after_free(void)
{
	fz_harness *h = harness();
	uint8_t *p = fz_heap_alloc(h, 64);
	fz_heap_free(h, p, 64);
	sink = p[3];
}

static void write_past_end(void)
{
	fz_harness *h = harness();
	uint8_t *p = fz_heap_alloc(h, 13);
	p[13] = 1;
}

static void read_before_start(void)
{
	fz_harness *h = harness();
	uint8_t *p = fz_heap_alloc(h, 32);
	sink = *(volatile uint8_t *)(p - 1);
}
#endif

/* ---- Controls ---- */

/* Blocks made and given back in any order, then fz_free(): no oracle fires,
 * fresh blocks read 0xbe like ASan's malloc, and a block the engine still
 * holds is fully usable. */
static void control(void)
{
	fz_harness *h = harness();
	uint8_t *a = fz_heap_alloc(h, 100), *b = fz_heap_alloc(h, 70000), *c = fz_heap_alloc(h, 1);
	ASSERT(a && b && c);
	ASSERT_EQ(a[99], 0xbe);
	ASSERT_EQ(b[0], 0xbe);
	memset(b, 7, 70000);
	fz_heap_free(h, a, 100);
	fz_heap_free(h, c, 1);
	ASSERT_EQ(b[69999], 7);
	fz_heap_free(h, b, 70000);
	fz_free(h);
}

/* Each input starts at the arena's beginning: the same input run twice gets
 * the same addresses. */
static void same_addresses(void)
{
	void *first[3], *second[3];
	for (int run = 0; run < 2; run++) {
		fz_harness *h = harness();
		void **got = run ? second : first;
		for (int i = 0; i < 3; i++)
			got[i] = fz_heap_alloc(h, 40u * (unsigned)(i + 1));
		for (int i = 0; i < 3; i++)
			fz_heap_free(h, got[i], 40u * (unsigned)(i + 1));
		fz_free(h);
	}
	for (int i = 0; i < 3; i++)
		ASSERT(first[i] == second[i]);
}

static void expect_pass(const char *name, void (*fn)(void))
{
	char out[8192];
	int status = run_child(fn, out, sizeof out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: failed:\n%s\n", name, out);
		exit(1);
	}
	printf("ok %s\n", name);
}

int main(void)
{
	expect_pass("control", control);
	expect_pass("same_addresses", same_addresses);
	expect_failure("leak", leak, "oracle memory failed");
	expect_failure("double_free", double_free, "oracle memory failed");
	expect_failure("wrong_size", wrong_size, "oracle memory failed");
	expect_failure("inside_block", inside_block, "oracle memory failed");
#ifdef FZ_TEST_ASAN
	expect_failure("read_after_free", read_after_free, "use-after-poison");
	expect_failure("write_past_end", write_past_end, "use-after-poison");
	expect_failure("read_before_start", read_before_start, "use-after-poison");
#else
	printf("(not an ASan build: the use-after-poison checks need ASan and are not compiled)\n");
#endif
	return 0;
}
