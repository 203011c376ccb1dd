#!/usr/bin/env bash
# fuzz.corpus_canonical: every committed input of the scenario targets
# (corpora/passive_open, active_open, listener) is in canonical form: decoded
# and encoded again (fuzz_seedgen --canon) it comes back octet for octet.
# Canonical records are dense (targets/README.md), so libFuzzer, which cuts
# seeds at the target's max_len when it loads them, gets as much of each
# input as fits. `synfin fuzz keep` writes canonical files; a hand-added one
# is fixed with `tools/synfin fuzz canon --target all`, which checks that each
# rewritten file replays to the same trace.
#
# Usage: corpus_canonical.sh FUZZ_SEEDGEN CORPORA_DIR
set -euo pipefail
[[ $# -eq 2 && -x "$1" && -d "$2" ]] || { echo "usage: $0 FUZZ_SEEDGEN CORPORA_DIR" >&2; exit 2; }
seedgen=$1 corpora=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checked=0 bad=()
for t in passive_open active_open listener; do
	for f in "$corpora/$t"/*; do
		[[ -f "$f" ]] || continue
		"$seedgen" --canon "$f" "$tmp/canon" || { echo "FAIL: fuzz_seedgen --canon $f" >&2; exit 1; }
		cmp -s "$f" "$tmp/canon" || bad+=("$t/$(basename "$f") ($(stat -c %s "$f") octets, canonical $(stat -c %s "$tmp/canon"))")
		checked=$((checked + 1))
	done
done
((checked > 0)) || { echo "FAIL: no corpus files under $corpora" >&2; exit 1; }
if ((${#bad[@]})); then
	echo "FAIL: ${#bad[@]} of $checked corpus files are not canonical:" >&2
	printf '  %s\n' "${bad[@]}" >&2
	echo "rewrite them with: tools/synfin fuzz canon --target all" >&2
	exit 1
fi
echo "ok: $checked corpus files of the scenario targets are canonical"
