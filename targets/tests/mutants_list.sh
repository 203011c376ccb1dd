#!/usr/bin/env bash
# ctest fuzz.mutants_list: targets/planted/mutants lists its mutants
# deterministically, finds the ones a known decision line must give, and
# refuses bad arguments with exit 2. (Building and judging mutants takes
# minutes; targets/planted/README.md, "Mutants", has a measured run.)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
m=$root/targets/planted/mutants
fail() { echo "FAIL: $*" >&2; exit 1; }

a=$("$m" --list) || fail "--list exited $?"
b=$("$m" --list)
[[ "$a" == "$b" ]] || fail "two --list runs differ"
n=$(tail -n 1 <<<"$a" | awk '{print $1}')
[[ "$n" =~ ^[0-9]+$ && $n -ge 100 ]] || fail "expected at least 100 mutants, last line: $(tail -n 1 <<<"$a")"

# The exact-RST test of a SYN-queue entry (RFC5961:3.2) gives two mutants.
line=$(grep -n 'if (seg->seq == r->irs + 1) {' "$root/core/src/listen.c" | head -n 1 | cut -d: -f1)
[[ -n "$line" ]] || fail "core/src/listen.c no longer has the exact-RST test"
got=$("$m" --file listen.c --line "$line" --list)
grep -qxF "listen.c:$line: if (seg->seq == r->irs + 1) { => if (seg->seq != r->irs + 1) {" <<<"$got" ||
	fail "no == -> != mutant on listen.c:$line: $got"
grep -qxF "listen.c:$line: if (seg->seq == r->irs + 1) { => if (seg->seq == r->irs + 0) {" <<<"$got" ||
	fail "no + 1 -> + 0 mutant on listen.c:$line: $got"
[[ $(tail -n 1 <<<"$got") == "2 mutants" ]] || fail "expected 2 mutants on listen.c:$line: $got"

expect_usage() { # expect_usage MESSAGE-PART ARGS...
	local want=$1 out rc=0
	shift
	out=$("$m" "$@" 2>&1) || rc=$?
	[[ $rc -eq 2 ]] || fail "mutants $* exited $rc, expected 2"
	grep -qF -- "$want" <<<"$out" || fail "mutants $*: expected '$want' in: $out"
}
expect_usage "not a file of core/src" --file nope.c --list
expect_usage "not a file of core/src" --file ../src/input.c --list
expect_usage "needs exactly one --file" --line 3 --list
expect_usage "no mutant on listen.c:1" --file listen.c --line 1 --list
expect_usage "--max must be at least 1" --max 0 --list
expect_usage "bad arguments" --no-such-flag
echo "ok mutants_list: $n mutants, listen.c:$line gives its two, bad arguments refused"
