#!/bin/bash
# Runs each libFuzzer target for FUZZ_SECONDS (default 20) from its seed
# corpus (tests/fuzz/corpus/<target>, committed) plus what earlier runs on
# this machine found (build/fuzz/corpus/<target>, git-ignored). A crash,
# a sanitizer report or a broken invariant fails the target; its input is
# kept in build/fuzz/artifacts/ and printed as a reproduction command.
#
#   tests/fuzz/run.sh [TARGET...]        (make -C tests/fuzz run|long)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$TOP/build/fuzz
SECS=${FUZZ_SECONDS:-20}
[ $# -gt 0 ] || set -- fuzz_page fuzz_rsp fuzz_fsm fuzz_blob fuzz_vtpm fuzz_vtpm12 fuzz_import

if ! command -v clang >/dev/null; then
	echo "FAIL - clang is not installed (make deps): fuzz targets cannot run"
	echo "0 passed, 1 failed"; exit 1
fi
mkdir -p "$OUT"
if ! make -s -C "$HERE" >"$OUT.build.log" 2>&1; then
	cat "$OUT.build.log"
	echo "FAIL - building the fuzz targets"
	echo "0 passed, 1 failed"; exit 1
fi
work=$(mktemp -d /dev/shm/vtpm-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT/artifacts"
passed=0 failed=0
for t in "$@"; do
	[ -x "$OUT/$t" ] || { echo "FAIL - $t: no such target"; failed=$((failed + 1)); continue; }
	mkdir -p "$OUT/corpus/$t"
	log=$OUT/$t.log
	# New inputs go to the machine's corpus; the seeds are only read.
	FUZZ_WORKDIR=$work "$OUT/$t" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=3072 \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
		"$OUT/corpus/$t" "$HERE/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - $t: ${execs} executions in ${SECS} s, ${cov:-cov: ?}, no crash"
		echo "METRIC fuzz_execs_$t $execs"
		passed=$((passed + 1))
	else
		grep -aE '^fuzz_|ERROR|SUMMARY|runtime error' "$log" | head -n 8
		art=$(grep -aoE "$OUT/artifacts/$t-[a-z]+-[0-9a-f]+" "$log" | tail -n1)
		echo "FAIL - $t: exit $rc; log $log${art:+; reproduce: $OUT/$t $art}"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
