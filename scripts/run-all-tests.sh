#!/bin/bash
# Runs every test suite, in order of cost: userspace unit tests, KUnit in
# UML, the Debian packages, the testbed's sockets from a long path
# (pathcheck), then the end-to-end testbed (one Xen boot for all
# scenarios). A suite that cannot run counts as failed and says why.
# Prints each suite's result and, last, the totals as "N passed, N failed".
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LOGDIR=${TEST_LOG_DIR:-$TOP/build/test-logs}
mkdir -p "$LOGDIR"

total_pass=0 total_fail=0
summary=()
suite() { # NAME LOG CMD...
	local name=$1 logf=$2; shift 2
	local t0=$SECONDS rc p f line
	echo "=== $name: $*"
	"$@" 2>&1 | tee "$logf"
	rc=${PIPESTATUS[0]}
	# Each suite states its own counts; read them rather than guess.
	if line=$(grep -aoE '[0-9]+ passed, [0-9]+ failed' "$logf" | tail -n1) && [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	elif line=$(grep -aoE 'Ran [0-9]+ tests: passed: [0-9]+(, failed: [0-9]+)?' "$logf" | tail -n1) && [ -n "$line" ]; then
		p=$(sed -E 's/.*passed: ([0-9]+).*/\1/' <<<"$line")
		f=$(sed -nE 's/.*failed: ([0-9]+).*/\1/p' <<<"$line"); f=${f:-0}
	else
		p=0 f=1
		echo "!!! $name printed no result line: counted as failed"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1; echo "!!! $name exited $rc: counted as failed"
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	summary+=("$(printf '%-10s %4d passed %3d failed  (%d s, rc %d)' "$name" "$p" "$f" $((SECONDS - t0)) "$rc")")
}

suite userspace "$LOGDIR/userspace.log" "$TOP/tests/userspace/run.sh"
suite bench     "$LOGDIR/bench.log"     "$TOP/tests/bench/run.sh" --quick
# A short run of every fuzz target (20 s each; make fuzz-long for more).
suite fuzz      "$LOGDIR/fuzz.log"      "$TOP/tests/fuzz/run.sh"
suite kunit     "$LOGDIR/kunit.log"     "$TOP/scripts/kunit.sh"
# The driver as an upstream patch series: applies, checkpatch, kernel-doc,
# W=1 C=2 builds in the kernel tree (a minute once the cache is warm).
suite patches   "$LOGDIR/patches.log"   "$TOP/scripts/mkpatches.sh"
# The guest frontend's series (frontend/patches/): applies to the same
# tree, checkpatch, an out-of-tree build for the testbed kernel (seconds).
suite frontend  "$LOGDIR/frontend.log"  "$TOP/scripts/mkpatches-tpmfront.sh"
# The Debian packages (build, lintian, a DKMS build; seconds), the
# testbed's sockets from a checkout at a long path (seconds), then the
# testbed itself.
suite packaging "$LOGDIR/packaging.log" "$TOP/tests/packaging/check.sh"
suite paths     "$LOGDIR/paths.log"     "$TOP/tests/e2e/pathcheck.sh"
suite e2e       "$LOGDIR/e2e.log"       "$TOP/tests/e2e/run.sh" all

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
