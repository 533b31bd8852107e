#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pathcheck.sh: the testbed works from a checkout at any path. Copies the
# testbed (tests/e2e, scripts) to a directory whose path is at least 120
# characters long and runs from there, from another current directory, the
# part of run.sh that creates sockets: `run.sh --preflight all` (run and
# runtime directories, dom0's swtpm, a paused QEMU connected to it). Checks
# that everything it started is gone afterwards, that two runs at once do
# not share a directory, and, as a control, that a socket under that path
# really is too long for swtpm (so the test would catch the old layout).
#
# Prints one PASS/FAIL line per check and "N passed, N failed"; exit 0 only
# when all passed. Needs root (as the testbed does), swtpm and QEMU.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)

npass=0 nfail=0
pass() { echo "PASS pathcheck:$1${2:+ ($2)}"; npass=$((npass + 1)); }
fail() { echo "FAIL pathcheck:$1: $2"; nfail=$((nfail + 1)); }
finish() {
	echo "pathcheck: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit
}

for t in swtpm qemu-system-x86_64 git; do
	command -v "$t" >/dev/null || { fail setup "$t is not installed (make deps)"; finish; }
done
[ "$(id -u)" -eq 0 ] || { fail setup "needs root, as the testbed does"; finish; }

base=$(mktemp -d /tmp/vtpm-pathcheck.XXXXXX) || { fail setup "mktemp"; finish; }
trap 'rm -rf "$base"' EXIT
long=$base/home/a-user-with-a-long-login-name/src/virtualisation-projects/xen-tpmback-checkouts/xen-tpmback
while [ ${#long} -lt 120 ]; do long+=-x; done
mkdir -p "$long/tests" || { fail setup "mkdir $long"; finish; }
cp -a "$TOP/scripts" "$long/" && cp -a "$TOP/tests/e2e" "$long/tests/" ||
	{ fail setup "copying the testbed to $long"; finish; }
# Without the build directory of this checkout: a fresh one.
rm -rf "$long/build"

# The checkout path is long and the old layout's socket did not fit.
old_sock="$long/build/e2e/$(date +%Y%m%d-%H%M%S)-plumbing-backend-rehandshake-vtpm-saverestore-tpm12/hwtpm.sock"
if [ ${#long} -ge 90 ] && [ ${#old_sock} -gt 107 ]; then
	pass long-path "${#long} characters"
else
	fail long-path "the test path is only ${#long} characters"
fi

# Control: swtpm really refuses a socket there (else this test guards nothing).
mkdir -p "$(dirname "$old_sock")"
if timeout 10 swtpm socket --tpm2 --tpmstate dir="$base" \
	--ctrl type=unixio,path="$old_sock" >"$base/control.log" 2>&1; then
	fail control "swtpm accepted a ${#old_sock}-character socket path"
elif grep -qi 'too long' "$base/control.log"; then
	pass control "swtpm: $(grep -i -m1 'too long' "$base/control.log")"
else
	fail control "swtpm failed for another reason: $(tail -n 2 "$base/control.log" | tr '\n' ' ')"
fi
rm -rf "$long/build"

# preflight RESULTVAR: one `run.sh --preflight all` from the long checkout,
# run from / (the current directory must not matter); its output in $base.
preflight() {
	local out=$base/preflight-$1.log
	(cd / && "$long/tests/e2e/run.sh" --preflight all) >"$out" 2>&1
}
runs_of() { sed -n 's/.*run directory \(.*\), runtime directory \(.*\)$/\1 \2/p' "$base/preflight-$1.log"; }

if preflight one; then
	pass preflight "$(grep -m1 '^preflight: ok' "$base/preflight-one.log")"
else
	fail preflight "$(tail -n 4 "$base/preflight-one.log" | tr '\n' ' ')"
fi
read -r run rt <<<"$(runs_of one)"
if [ -n "${run:-}" ] && [ "$(dirname "$run")" = "$long/build/e2e" ] &&
	[ ${#run} -le $((${#long} + 40)) ]; then
	pass run-dir-short "$(basename "$run")"
else
	fail run-dir-short "run directory '${run:-?}'"
fi
if [ -n "${rt:-}" ] && [ ! -e "$rt" ]; then
	pass runtime-dir-removed "$rt"
else
	fail runtime-dir-removed "runtime directory '${rt:-?}' still there"
fi
if [ -n "${rt:-}" ] && pgrep -f "$rt" >/dev/null; then
	fail no-process-left "still running: $(pgrep -af "$rt" | head -n 3)"
else
	pass no-process-left
fi

# Two runs at once from the same checkout: their own directories, both work.
preflight two & p2=$!
preflight three & p3=$!
r2=0 r3=0
wait $p2 || r2=$?
wait $p3 || r3=$?
read -r run2 rt2 <<<"$(runs_of two)"
read -r run3 rt3 <<<"$(runs_of three)"
if [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && [ -n "${run2:-}" ] && [ "${run2:-}" != "${run3:-}" ] &&
	[ "${rt2:-}" != "${rt3:-}" ]; then
	pass concurrent-runs "$(basename "$run2") and $(basename "$run3")"
else
	fail concurrent-runs "rc $r2/$r3, run dirs '${run2:-?}' '${run3:-?}': $(tail -n 2 "$base/preflight-two.log" "$base/preflight-three.log" | tr '\n' ' ')"
fi
finish
