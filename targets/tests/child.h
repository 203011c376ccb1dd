/*
 * Helpers shared by the harness tests (test_oracles.c, test_heap.c): run a
 * planted fault in a forked child, so that the abort it must cause ends the
 * child, not the test, and capture what it said on stderr.
 */
#ifndef SYNFIN_TARGETS_TESTS_CHILD_H
#define SYNFIN_TARGETS_TESTS_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness_internal.h"

/* Run fn in a child with stderr captured into out (cap octets, NUL-ended);
 * return the child's wait status. */
static inline int run_child(void (*fn)(void), char *out, size_t cap)
{
	int pipefd[2];
	ASSERT(pipe(pipefd) == 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 2);
		/* The abort is the expected outcome: no core files. */
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	close(pipefd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(pipefd[0], out + n, cap - n - 1)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(pipefd[0]);
	int status;
	ASSERT(waitpid(pid, &status, 0) == pid);
	return status;
}

/* A harness with the default setup (fz_setup_default()). */
static inline fz_harness *harness(void)
{
	fz_setup s;
	fz_setup_default(&s);
	return fz_new(&s);
}

#endif
