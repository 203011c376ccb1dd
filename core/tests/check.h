/*
 * Minimal test assertions for core/ tests, in the libuv manner: a failed
 * check prints the expression (and both values for the _EQ forms) with file
 * and line, then aborts so that ctest and the sanitizers see the failure.
 *
 * A test program lists its tests with RUN_TEST(fn) in main(); each prints its
 * name when it passes, so a failing run shows where it stopped.
 */
#ifndef SYNFIN_CHECK_H
#define SYNFIN_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_FAIL_(...)                                                     \
	do {                                                                 \
		fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                                \
		fprintf(stderr, "\n");                                       \
		abort();                                                     \
	} while (0)

#define ASSERT(expr)                                                         \
	do {                                                                 \
		if (!(expr))                                                 \
			CHECK_FAIL_("%s", #expr);                            \
	} while (0)

/* Integers of any width: both sides are shown as signed and as hex. */
#define ASSERT_EQ(a, b)                                                      \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_)                                                \
			CHECK_FAIL_("%s == %s (%lld [0x%llx] vs %lld [0x%llx])", \
				    #a, #b, a_, (unsigned long long)a_, b_,  \
				    (unsigned long long)b_);                 \
	} while (0)

#define ASSERT_NE(a, b)                                                      \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ == b_)                                                \
			CHECK_FAIL_("%s != %s (both %lld)", #a, #b, a_);     \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                  \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (strcmp(a_, b_) != 0)                                     \
			CHECK_FAIL_("%s == %s (\"%s\" vs \"%s\")", #a, #b, a_, b_); \
	} while (0)

#define ASSERT_MEM_EQ(a, b, n)                                               \
	do {                                                                 \
		if (memcmp((a), (b), (n)) != 0)                              \
			CHECK_FAIL_("memcmp(%s, %s, %s) == 0", #a, #b, #n);  \
	} while (0)

#define RUN_TEST(fn)                                                         \
	do {                                                                 \
		fn();                                                        \
		printf("ok %s\n", #fn);                                      \
		fflush(stdout);                                              \
	} while (0)

#endif /* SYNFIN_CHECK_H */
