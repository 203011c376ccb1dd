#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script for synfin.
#
# Uses only what OSS-Fuzz gives every build: $CC, $CFLAGS, $LIB_FUZZING_ENGINE,
# $SRC, $WORK, $OUT (https://google.github.io/oss-fuzz/getting-started/new-project-guide/).
# Puts in $OUT, for every fuzz target named in targets/CMakeLists.txt:
#   <target>                  the fuzz target
#   <target>_seed_corpus.zip  corpora/<target>/
#   <target>.dict             its dictionary
#   <target>.options          its options
# and, when $FUZZING_ENGINE is afl, libsynfin_afl_mutator.so: the
# structure-aware mutator for afl-fuzz (AFL_CUSTOM_MUTATOR_LIBRARY; see
# targets/MUTATOR.md). With libFuzzer the same mutator is linked into the
# scenario targets (LLVMFuzzerCustomMutator), so nothing else is needed.
#
# libpcap: when $SRC/libpcap holds its source (the Dockerfile clones it), it
# is built here as a static library with the same compiler and flags, so the
# targets carry no shared-library dependency into the runner images and
# MemorySanitizer sees instrumented code. Without it, the system's libpcap is
# used (fine for local builds, not for ClusterFuzz).

src=${SYNFIN_SRC:-$SRC/synfin}
build=$WORK/synfin-build
jobs=${SYNFIN_BUILD_JOBS:-$(nproc)}

# OSS-Fuzz's clang is newer than the clang-14 synfin is developed with; a new
# warning must not break the fuzzing build, so -Wno-error comes last on every
# compile (after the project's own -Werror).
# The wrapper keeps the compiler's name in its own (synfin-cc-afl-clang-fast),
# so the build still sees which compiler it is.
mkdir -p "$WORK"
cc_wrapper="$WORK/synfin-cc-$(basename "${CC%% *}")"
cat >"$cc_wrapper" <<EOF
#!/bin/sh
exec $CC "\$@" -Wno-error
EOF
chmod +x "$cc_wrapper"

pcap_args=()
if [[ -f "$SRC/libpcap/CMakeLists.txt" ]]; then
	cmake -S "$SRC/libpcap" -B "$WORK/libpcap-build" -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
		-DDISABLE_DBUS=ON -DDISABLE_RDMA=ON -DDISABLE_BLUETOOTH=ON -DDISABLE_USB=ON \
		-DDISABLE_NETMAP=ON -DDISABLE_DPDK=ON -DDISABLE_DAG=ON -DDISABLE_SEPTEL=ON \
		-DDISABLE_SNF=ON -DDISABLE_TC=ON -DBUILD_WITH_LIBNL=OFF -DENABLE_REMOTE=OFF \
		-DCMAKE_INSTALL_PREFIX="$WORK/libpcap-install"
	cmake --build "$WORK/libpcap-build" -j"$jobs" --target install
	pcap_args=(-DSYNFIN_PCAP_LIB="$WORK/libpcap-install/lib/libpcap.a"
		-DSYNFIN_PCAP_INCLUDE="$WORK/libpcap-install/include")
fi

# The engine's observation functions (invariant checks, info), which the
# harness calls after every event, carry no coverage instrumentation.
cflags=$CFLAGS
if [[ "${FUZZING_ENGINE:-libfuzzer}" == libfuzzer && "$CFLAGS" == *fuzzer-no-link* ]]; then
	cflags="$CFLAGS -fsanitize-coverage-ignorelist=$src/targets/sancov-ignore.txt"
fi
# AFL++: the same list as its instrumentation denylist (as the afl preset).
if [[ "${FUZZING_ENGINE:-}" == afl ]]; then
	export AFL_LLVM_DENYLIST="$src/targets/sancov-ignore.txt"
fi

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc_wrapper" -DCMAKE_C_FLAGS="$cflags" \
	-DCMAKE_BUILD_TYPE=Release -DSYNFIN_FUZZ=ON -DSYNFIN_FUZZ_LINK="$LIB_FUZZING_ENGINE" \
	"${pcap_args[@]}"
mapfile -t targets <"$build/targets/fuzz_targets.txt"
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

for t in "${targets[@]}"; do
	cp "$build/targets/$t" "$OUT/$t"
	for ext in dict options; do
		if [[ -f "$src/targets/$t.$ext" ]]; then
			cp "$src/targets/$t.$ext" "$OUT/$t.$ext"
		fi
	done
	rm -f "$OUT/${t}_seed_corpus.zip"
	if compgen -G "$src/corpora/$t/*" >/dev/null; then
		# zip where it is installed (OSS-Fuzz images), else Python's zipfile.
		if command -v zip >/dev/null; then
			(cd "$src/corpora/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
		else
			(cd "$src/corpora/$t" && python3 -m zipfile -c "$OUT/${t}_seed_corpus.zip" ./*)
		fi
	fi
done

# AFL++: afl-fuzz loads the custom mutator library itself, so it is built
# by a plain compiler without $CFLAGS (no sanitizer, no AFL instrumentation;
# the library's own CMake rules refuse an AFL compiler). ClusterFuzz does
# not load it; it is there for people who run afl-fuzz on $OUT.
if [[ "${FUZZING_ENGINE:-}" == afl ]]; then
	plain_cc=${SYNFIN_PLAIN_CC:-clang}
	if command -v "$plain_cc" >/dev/null; then
		plain_wrapper="$WORK/synfin-cc-plain"
		printf '#!/bin/sh\nexec %s "$@" -Wno-error\n' "$plain_cc" >"$plain_wrapper"
		chmod +x "$plain_wrapper"
		CFLAGS='' CXXFLAGS='' cmake -S "$src" -B "$WORK/synfin-mutator-build" \
			-DCMAKE_C_COMPILER="$plain_wrapper" -DCMAKE_C_FLAGS= -DCMAKE_BUILD_TYPE=Release \
			-DSYNFIN_FUZZ=OFF -DSYNFIN_SANITIZE=OFF -DSYNFIN_COVERAGE=OFF "${pcap_args[@]}"
		cmake --build "$WORK/synfin-mutator-build" -j"$jobs" --target synfin_afl_mutator
		cp "$WORK/synfin-mutator-build/targets/mutator/libsynfin_afl_mutator.so" "$OUT/"
	else
		echo "synfin: no plain compiler '$plain_cc' (SYNFIN_PLAIN_CC): libsynfin_afl_mutator.so not built" >&2
	fi
fi
echo "synfin: built ${targets[*]} into $OUT"
