#!/usr/bin/env bash
# Run every libFuzzer target for SECONDS each, starting from its committed corpus (copied: the run's new
# inputs never land in the repository). Fails on the first crash, leak, timeout or out-of-memory, and
# leaves the input that did it in BUILD_DIR/fuzz-artifacts/TARGET/ (printed in base64 as well, for CI logs).
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]   (BUILD_DIR configured with CC=clang -DRTPROF_FUZZ=ON)
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_trace_reader fuzz_procfs fuzz_elf fuzz_symbols fuzz_protocol fuzz_config fuzz_export fuzz_pycode fuzz_perfmap fuzz_v8obj)

work=$(mktemp -d /tmp/rtprof-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary=()
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "$0: $bin is not built (cmake --build $build --target fuzz)" >&2
		exit 2
	fi
	mkdir -p "$work/$t" "$build/fuzz-artifacts/$t"
	cp "$here/corpus/$t/"* "$work/$t/"
	log=$work/$t.log
	echo "== $t: ${seconds}s from $(ls "$here/corpus/$t" | wc -l) seeds"
	# -timeout: one input may take at most 10 s; -rss_limit_mb: libFuzzer's default, said explicitly.
	# FUZZ_SEED (CI sets it): the same sequence of inputs every run, so that CI replays a prefix of what was
	# fuzzed before the change landed instead of meeting new inputs at random; unset, a new seed each time.
	if ! "$bin" -max_total_time="$seconds" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t/" "$work/$t" >"$log" 2>&1; then
		tail -n 60 "$log" >&2
		for a in "$build/fuzz-artifacts/$t/"*; do
			[ -f "$a" ] || continue
			echo "--- $a ($(stat -c %s "$a") bytes), base64:" >&2
			head -c 8192 "$a" | base64 >&2
		done
		echo "$0: $t FAILED" >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	summary+=("$t: ${execs:-?} executions in ${seconds}s, $cov, corpus $(ls "$work/$t" | wc -l) inputs")
done
printf '%s\n' "${summary[@]}"
