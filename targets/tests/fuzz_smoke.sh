#!/usr/bin/env bash
# Fuzz smoke test for CI: every target of the OSS-Fuzz builds (made by
# oss_fuzz_build.sh, the fixture of this test) fuzzes for a few seconds with
# libFuzzer and with AFL++, starting from its seed corpus and dictionary.
# Any crash fails the test and is named with the command that shows it.
# afl-fuzz exits 0 even when it found crashes, so its crashes/ folder is
# checked instead of its exit status.
set -euo pipefail
src=${SYNFIN_SOURCE_DIR:?}
tmp=${SYNFIN_FUZZ_TMP:?}
secs=${SYNFIN_SMOKE_SECONDS:-3}
fail() { echo "fuzz_smoke: FAIL: $*" >&2; exit 1; }

[[ -f "$tmp/libfuzzer/work/synfin-build/targets/fuzz_targets.txt" ]] ||
	fail "no OSS-Fuzz build in $tmp (the fuzz.oss_fuzz_build test makes it)"
mapfile -t targets <"$tmp/libfuzzer/work/synfin-build/targets/fuzz_targets.txt"

smoke_libfuzzer() {
	local t=$1 bin="$tmp/libfuzzer/out/$1" dir="$tmp/smoke/libfuzzer/$1" dict=()
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp "$tmp/libfuzzer/seeds/$t/"* "$dir/corpus/" 2>/dev/null || true
	[[ -f "$src/targets/$t.dict" ]] && dict=(-dict="$src/targets/$t.dict")
	if ! "$bin" -max_total_time="$secs" -timeout=10 -max_len=4096 "${dict[@]}" \
		-artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1; then
		grep -E 'synfin-fuzz: oracle|ERROR|SUMMARY' "$dir/log" | head -n 5 >&2 || true
		fail "libFuzzer found a crash in $t: $(ls "$dir/artifacts") (replay: $bin $dir/artifacts/<file>)"
	fi
	grep -E '^stat::|Done [0-9]+ runs|DONE' "$dir/log" | tail -n 1 | sed "s/^/fuzz_smoke: $t libfuzzer: /" || true
}

smoke_afl() {
	local t=$1 bin="$tmp/afl/out/$1" dir="$tmp/smoke/afl/$1" dict=() crashes
	rm -rf "$dir"
	mkdir -p "$dir/in"
	cp "$tmp/afl/seeds/$t/"* "$dir/in/" 2>/dev/null || true
	[[ -n "$(ls -A "$dir/in")" ]] || printf '\1\0\0\0' >"$dir/in/minimal"
	[[ -f "$src/targets/$t.dict" ]] && dict=(-x "$src/targets/$t.dict")
	# afl-fuzz insists on these sanitizer settings (whatever ctest's are).
	ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0 \
		AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
		AFL_QUIET=1 AFL_IGNORE_SEED_PROBLEMS=1 \
		afl-fuzz -i "$dir/in" -o "$dir/out" -V "$secs" -t 1000 "${dict[@]}" -- "$bin" \
		>"$dir/log" 2>&1 || { tail -n 20 "$dir/log" >&2; fail "afl-fuzz could not fuzz $t"; }
	[[ -f "$dir/out/default/fuzzer_stats" ]] || fail "afl-fuzz left no statistics for $t"
	crashes=$(find "$dir/out/default/crashes" -type f -name 'id:*' 2>/dev/null | head -n 1)
	if [[ -n "$crashes" ]]; then
		("$bin" "$crashes" 2>&1 || true) | grep -E 'synfin-fuzz: oracle|ERROR|SUMMARY' | head -n 5 >&2 || true
		fail "AFL++ found a crash in $t (replay: $bin '$crashes')"
	fi
	echo "fuzz_smoke: $t afl: $(grep -E '^execs_done' "$dir/out/default/fuzzer_stats" | sed 's/  */ /g')"
}

for t in "${targets[@]}"; do
	smoke_libfuzzer "$t"
	smoke_afl "$t"
done
echo "fuzz_smoke: ${#targets[@]} targets fuzzed ${secs}s each with libFuzzer and AFL++, no crash"
