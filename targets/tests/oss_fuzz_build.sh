#!/usr/bin/env bash
# The OSS-Fuzz build, run here without Docker: tools/oss-fuzz/build.sh with the
# variables set as OSS-Fuzz sets them, once for libFuzzer and once for AFL++
# (afl-clang-fast with libAFLDriver.a as $LIB_FUZZING_ENGINE). Checks that
# $OUT holds every target, its seed corpus zip, dictionary and options, and
# that every target runs its own seed corpus without a finding. The
# structure-aware mutator (targets/MUTATOR.md) must be where each engine
# uses it: linked into the scenario targets of the libFuzzer build (libFuzzer
# reports finding LLVMFuzzerCustomMutator), and, for AFL++, in $OUT as
# libsynfin_afl_mutator.so, which afl-fuzz loads and runs.
#
# The two $OUT folders stay in $SYNFIN_FUZZ_TMP for the fuzz smoke test
# (fuzz_smoke.sh), which fuzzes with them for a few seconds.
set -euo pipefail
src=${SYNFIN_SOURCE_DIR:?}
tmp=${SYNFIN_FUZZ_TMP:?}
fail() { echo "oss_fuzz_build: FAIL: $*" >&2; exit 1; }

common_cflags="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope"

build_one() {
	local engine=$1 cc cflags lib
	case "$engine" in
	libfuzzer)
		cc=clang-14
		cflags="$common_cflags -fsanitize=fuzzer-no-link"
		lib=-fsanitize=fuzzer
		;;
	afl)
		command -v afl-clang-fast >/dev/null || fail "afl-clang-fast is not installed"
		cc=afl-clang-fast
		cflags=$common_cflags
		lib=/usr/lib/afl/libAFLDriver.a
		[[ -f "$lib" ]] || fail "$lib is missing (Debian package afl++)"
		;;
	esac
	local root="$tmp/$engine"
	rm -rf "$root"
	mkdir -p "$root/src" "$root/work" "$root/out"
	ln -s "$src" "$root/src/synfin"
	echo "oss_fuzz_build: building for $engine"
	if ! env -i PATH="$PATH" HOME="${HOME:-/root}" SRC="$root/src" WORK="$root/work" OUT="$root/out" \
		CC="$cc" CXX="${cc/clang/clang++}" CFLAGS="$cflags" CXXFLAGS="$cflags" \
		LIB_FUZZING_ENGINE="$lib" SANITIZER=address FUZZING_ENGINE="$engine" \
		ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c SYNFIN_BUILD_JOBS=2 AFL_QUIET=1 \
		bash "$src/tools/oss-fuzz/build.sh" >"$root/build.log" 2>&1; then
		tail -n 40 "$root/build.log" >&2
		fail "build.sh failed for $engine (log: $root/build.log)"
	fi
}

check_out() {
	local engine=$1 out="$tmp/$1/out" t n want
	mapfile -t targets <"$tmp/$engine/work/synfin-build/targets/fuzz_targets.txt"
	((${#targets[@]} >= 1)) || fail "no targets listed"
	for t in "${targets[@]}"; do
		[[ -x "$out/$t" ]] || fail "$engine: \$OUT/$t missing or not executable"
		for ext in dict options; do
			[[ -f "$src/targets/$t.$ext" ]] || continue
			cmp -s "$src/targets/$t.$ext" "$out/$t.$ext" || fail "$engine: \$OUT/$t.$ext missing or different"
		done
		want=$(find "$src/corpora/$t" -maxdepth 1 -type f | wc -l)
		if ((want)); then
			n=$(/usr/bin/python3 -c 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' \
				"$out/${t}_seed_corpus.zip")
			((n == want)) || fail "$engine: ${t}_seed_corpus.zip holds $n files, corpora/$t has $want"
		fi
		run_corpus "$engine" "$t"
	done
	check_mutator "$engine" "${targets[@]}"
	echo "oss_fuzz_build: $engine: \$OUT holds ${#targets[@]} targets with seeds, dictionaries and options"
}

# The scenario targets whose inputs the structure-aware mutator edits.
is_scenario() { [[ "$1" == passive_open || "$1" == active_open || "$1" == listener ]]; }

check_mutator() {
	local engine=$1 t lib="$tmp/afl/out/libsynfin_afl_mutator.so" dir
	shift
	if [[ "$engine" == libfuzzer ]]; then
		for t in "$@"; do
			is_scenario "$t" || continue
			grep -q 'found LLVMFuzzerCustomMutator' "$tmp/$engine/seeds/$t.log" ||
				fail "libfuzzer: $t was built without the structure-aware mutator's hooks"
		done
		return 0
	fi
	[[ -f "$lib" ]] || fail "afl: \$OUT/libsynfin_afl_mutator.so missing"
	# afl-fuzz with the library and nothing else mutating, a few seconds on
	# a few seeds: it must load, and find something (the queue entries it
	# made are named after the mutation, ",synfin:<kind>"; from 8 seeds the
	# first timer or option edit finds new coverage within a second).
	dir="$tmp/afl/mutator-run"
	rm -rf "$dir"
	mkdir -p "$dir/in"
	local seeds=("$tmp/afl/seeds/passive_open"/*)
	[[ -f "${seeds[0]}" ]] || fail "afl: no seeds of passive_open to run the mutator on"
	cp "${seeds[@]:0:8}" "$dir/in/"
	AFL_CUSTOM_MUTATOR_LIBRARY="$lib" AFL_CUSTOM_MUTATOR_ONLY=1 \
		ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0 \
		AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
		AFL_IGNORE_SEED_PROBLEMS=1 \
		afl-fuzz -i "$dir/in" -o "$dir/out" -V 8 -t 1000 -- "$tmp/afl/out/passive_open" \
		>"$dir/log" 2>&1 || { tail -n 20 "$dir/log" >&2; fail "afl-fuzz could not run with $lib"; }
	grep -q 'installed successfully' "$dir/log" || fail "afl-fuzz did not load $lib (log: $dir/log)"
	[[ -f "$dir/out/default/fuzzer_stats" ]] || fail "afl-fuzz with $lib left no statistics"
	[[ -n "$(find "$dir/out/default/queue" -name '*synfin:*' -print -quit)" ]] ||
		fail "afl-fuzz with $lib queued no input of the mutator's (log: $dir/log)"
}

# Each target replays its seed corpus, the way the fuzzing engine runs inputs.
run_corpus() {
	local engine=$1 t=$2 dir="$tmp/$1/seeds/$2" f
	rm -rf "$dir"
	mkdir -p "$dir"
	[[ -f "$tmp/$engine/out/${t}_seed_corpus.zip" ]] || return 0
	/usr/bin/python3 -m zipfile -e "$tmp/$engine/out/${t}_seed_corpus.zip" "$dir"
	if [[ "$engine" == libfuzzer ]]; then
		"$tmp/$engine/out/$t" -runs=0 "$dir" >"$dir.log" 2>&1 ||
			{ tail -n 20 "$dir.log" >&2; fail "$engine: $t fails on its seed corpus"; }
	else
		for f in "$dir"/*; do
			"$tmp/$engine/out/$t" "$f" >"$dir.log" 2>&1 ||
				{ tail -n 20 "$dir.log" >&2; fail "$engine: $t fails on $f"; }
		done
	fi
}

for engine in libfuzzer afl; do
	build_one "$engine"
	check_out "$engine"
done
