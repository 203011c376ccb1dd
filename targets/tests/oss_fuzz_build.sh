#!/usr/bin/env bash
# The OSS-Fuzz build, run here without Docker: tools/oss-fuzz/build.sh with the
# variables set as OSS-Fuzz sets them, once for libFuzzer and once for AFL++
# (afl-clang-fast with libAFLDriver.a as $LIB_FUZZING_ENGINE). Checks that
# $OUT holds every target, its seed corpus zip, dictionary and options, and
# that every target runs its own seed corpus without a finding.
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
	echo "oss_fuzz_build: $engine: \$OUT holds ${#targets[@]} targets with seeds, dictionaries and options"
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
