#!/bin/sh
# run.sh CORPUS_DIR SECONDS TARGET...: run each libFuzzer target for SECONDS
# on a scratch copy of its seed corpus (the repository is never written).
# Fails when any target crashes, leaks or times out; the input that did it
# is kept under fuzz-artifacts/ in the build directory.
set -u
corpus=$1
seconds=$2
shift 2
failed=
artifacts=$(pwd)/fuzz-artifacts
mkdir -p "$artifacts" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/zt-fuzz-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

for target in "$@"; do
	name=${target#fuzz_}
	mkdir -p "$work/$name"
	if [ -d "$corpus/$name" ]; then
		cp "$corpus/$name"/* "$work/$name/" 2>/dev/null
	fi
	echo "fuzz-run: $name for ${seconds}s"
	if ! ./"$target" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$artifacts/$name-" "$work/$name" \
		>"$work/$name.log" 2>&1; then
		tail -60 "$work/$name.log"
		echo "fuzz-run: $name FAILED; input kept in $artifacts/" >&2
		failed="$failed $name"
	else
		grep -E '^#[0-9]+.*DONE' "$work/$name.log" | tail -1
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz-run: failed:$failed" >&2
	exit 1
fi
exit 0
