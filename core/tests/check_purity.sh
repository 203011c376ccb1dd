#!/bin/sh
# Checks that the core library has no writable globals and calls no clock,
# random, I/O or process function (DESIGN.md: "no I/O, no clock reads, no
# globals, no rand()"). Usage: check_purity.sh libsynfin_core.a
set -eu
lib=${1:?usage: check_purity.sh LIBRARY}
nm_out=$(nm -A "$lib")
fail=0

# Writable data: symbols in .data (D/d) or .bss (B/b, C common). Read-only
# tables (R/r) are fine. Sanitizer and coverage builds add their own
# instrumentation symbols (UBSan source locations are the __unnamed_N
# ones), which are not ours.
globals=$(printf '%s\n' "$nm_out" | awk '$(NF-1) ~ /^[DdBbC]$/ {print $NF}' \
	| grep -Ev '^(__(asan|ubsan|sancov|llvm|profc|profd|covrec|start_|stop_|unnamed_)|\.L|__odr_asan)' || true)
if [ -n "$globals" ]; then
	echo "core purity: writable globals found:"; printf '  %s\n' $globals; fail=1
fi

# Forbidden calls: anything that reads a clock, makes randomness or does I/O.
forbidden='^(time|clock|clock_gettime|gettimeofday|rand|random|srand|srandom|rand_r|drand48|lrand48|arc4random|getrandom|getentropy|read|write|open|openat|close|fopen|fread|fwrite|fclose|printf|fprintf|vfprintf|puts|fputs|putchar|perror|socket|send|recv|sendto|recvfrom|ioctl|poll|select|epoll_wait|sleep|usleep|nanosleep|exit|abort|getpid|syscall)$'
calls=$(printf '%s\n' "$nm_out" | awk '$(NF-1) == "U" {print $NF}' | sed 's/@.*//' | grep -E "$forbidden" | sort -u || true)
if [ -n "$calls" ]; then
	echo "core purity: forbidden calls found:"; printf '  %s\n' $calls; fail=1
fi

[ "$fail" -eq 0 ] && echo "core purity: ok (no writable globals, no clock/random/I/O calls)"
exit "$fail"
