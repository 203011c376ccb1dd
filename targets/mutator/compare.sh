#!/bin/sh
# Plain byte mutation against the structure-aware mutator on one scenario
# target, for the same time, from the same seed corpus, one core each, one
# after the other (targets/MUTATOR.md and targets/README.md have the numbers
# this printed).
#
#   targets/mutator/compare.sh BUILD_DIR [SECONDS] [TARGET] [SEED]
#
# BUILD_DIR is a libFuzzer build (the libfuzzer preset's flags): its
# targets/<TARGET> carries the mutator's hooks, and targets/mutator/
# <TARGET>_bytes is the same target with libFuzzer's byte mutator only.
# Defaults: 180 s, passive_open, seed 1. The seeds are corpora/<TARGET>
# without the fuzz-* files (inputs earlier campaigns found), so that the
# runs start from what the seed scripts give.
#
# Prints for each run its executions, findings (inputs that failed an
# oracle: the run restarts after each) and when the first came, then
# replays every final corpus through the same baseline binary (-runs=0), so
# that all are measured by one instrumentation. libFuzzer's cov counts every
# instrumented edge (engine and scenario decoder); for the engine alone set
# SM_COVERAGE_REPLAYER to a coverage build's replayer of the target
# (SYNFIN_COVERAGE=ON, e.g. build/coverage/targets/passive_open): each final
# corpus is replayed through it and llvm-cov reports core/src's line and
# branch coverage, and the replayer the state-diagram edges (FROM TO CAUSE)
# taken.
#
# SM_COMPARE_ALSO="name=binary ..." adds runs of other builds of the target
# (e.g. a wrapper that sets SYNFIN_MUTATOR_SOFT_LEN). Work files go to
# $SM_COMPARE_DIR (default /tmp/synfin-mutator-compare).
set -eu

build=${1:?usage: compare.sh BUILD_DIR [SECONDS] [TARGET] [SEED]}
secs=${2:-180}
target=${3:-passive_open}
seed=${4:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SM_COMPARE_DIR:-/tmp/synfin-mutator-compare}

find_bin() {
	for f in "$@"; do
		if [ -x "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

events=$(find_bin "$build/targets/$target" "$build/$target") || {
	echo "compare.sh: no $target under $build (a libFuzzer build)" >&2
	exit 2
}
bytes=$(find_bin "$build/targets/mutator/${target}_bytes" "$build/mutator/${target}_bytes") || {
	echo "compare.sh: no byte-only baseline ${target}_bytes under $build (a libFuzzer build)" >&2
	exit 2
}
# Without the hooks (SYNFIN_FUZZ_CUSTOM_MUTATOR=OFF) both would be the byte
# mutator: refuse to compare that.
if ! nm "$events" 2>/dev/null | grep -q ' T LLVMFuzzerCustomMutator$'; then
	echo "compare.sh: $events has no LLVMFuzzerCustomMutator (SYNFIN_FUZZ_CUSTOM_MUTATOR=OFF?)" >&2
	exit 2
fi
seeds="$root/corpora/$target"
dict="$root/targets/$target.dict"
[ -d "$seeds" ] || { echo "compare.sh: no seed corpus $seeds" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work/seeds"
# The corpora change while others work: every run starts from one snapshot.
find "$seeds" -maxdepth 1 -type f ! -name 'fuzz-*' -exec cp {} "$work/seeds/" \;
seeds="$work/seeds"

# The target's dictionary and its .options' max_len (default 4096), as
# `synfin fuzz` runs it; SM_MAX_LEN overrides the length.
opt_len=$(sed -n 's/^[[:space:]]*max_len[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' \
	"$root/targets/$target.options" 2>/dev/null | head -n 1)
max_len=${SM_MAX_LEN:-${opt_len:-4096}}
flags="-seed=$seed -max_len=$max_len -timeout=10 -print_final_stats=1"
[ -f "$dict" ] && flags="$flags -dict=$dict"

# One process at a time, restarted after each finding (the engine may have
# some) until the time is up, as `synfin fuzz --jobs 1` does: every run
# gets its full time, and every restart picks up the corpus so far.
# Findings go to $work/<run>/; "first" is when the first came (s).
run() { # name binary
	mkdir -p "$work/$1.corpus" "$work/$1"
	echo "== $1: $2 $flags -max_total_time=<rest of $secs s> -artifact_prefix=$work/$1/ $work/$1.corpus $seeds" >&2
	: >"$work/$1.log"
	start=$(date +%s)
	first=-
	while :; do
		left=$((secs - ($(date +%s) - start)))
		[ "$left" -gt 0 ] || break
		# shellcheck disable=SC2086
		"$2" $flags -max_total_time="$left" -artifact_prefix="$work/$1/" \
			"$work/$1.corpus" "$seeds" >>"$work/$1.log" 2>&1 && break
		if [ "$first" = - ] && [ -n "$(find "$work/$1" -type f)" ]; then
			first=$(($(date +%s) - start))
		fi
	done
	echo "$first" >"$work/$1.first"
}

final() { # name -> "execs findings first"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$1.log" | awk '{ s += $1 } END { print s + 0 }')
	echo "$execs $(find "$work/$1" -type f | wc -l) $(cat "$work/$1.first")"
}

# The output folder holds only what a run added: replay it with the seeds.
replay() { # corpus -> "cov ft" measured by the baseline binary
	"$bytes" -runs=0 -max_len="$max_len" "$1" "$seeds" 2>&1 | sed -n 's/.*INITED cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' | tail -1
}

core_cov() { # corpus (+ seeds) -> line and branch coverage of core/src, or "-"
	rep=${SM_COVERAGE_REPLAYER:-}
	[ -n "$rep" ] || { echo "-"; return; }
	d="$work/prof.$$"
	rm -rf "$d" && mkdir -p "$d"
	LLVM_PROFILE_FILE="$d/%p.profraw" "$rep" --transitions "$d/edges" "$1" "$seeds" >/dev/null 2>&1 || true
	llvm-profdata-14 merge -sparse "$d"/*.profraw -o "$d/all.profdata" 2>/dev/null || { echo "?"; return; }
	llvm-cov-14 report "$rep" -instr-profile="$d/all.profdata" "$root"/core/src/*.c 2>/dev/null |
		awk '/^TOTAL/ { printf "lines %s branches %s", $10, $13 }'
	# State-diagram edges taken: distinct "FROM TO CAUSE" of the replay.
	echo " edges $(awk '{ print $1, $2, $3 }' "$d/edges" 2>/dev/null | sort -u | wc -l)"
	rm -rf "$d"
}

arms="bytes=$bytes events=$events ${SM_COMPARE_ALSO:-}"
for arm in $arms; do
	run "${arm%%=*}" "${arm#*=}"
done

printf '%-11s %9s %8s %6s   %-15s %s\n' mutator execs findings first "replayed cov ft" "core/src coverage"
for arm in $arms; do
	m=${arm%%=*}
	# shellcheck disable=SC2046 # three numbers, split on purpose
	set -- $(final "$m")
	printf '%-11s %9s %8s %6s   %-15s %s\n' "$m" "$1" "$2" "$3" \
		"$(replay "$work/$m.corpus")" "$(core_cov "$work/$m.corpus")"
done
echo "(target $target, $secs s each, libFuzzer -seed=$seed -max_len=$max_len, $(find "$seeds" -type f | wc -l) seeds from corpora/$target without fuzz-*)"
