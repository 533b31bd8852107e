#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The state-path benchmark (issue 7): in-process libvtpm vs plain libtpms,
# `vtpmctl serve` over the socket transport vs swtpm over its UNIX socket,
# and NV writes vs a bare durable write on the same filesystem. Prints the
# report (tables, METRIC lines, TARGET MET/MISSED lines), then one
# "ok - PHASE" / "FAIL - PHASE" line per phase and "N passed, N failed".
#
#   tests/bench/run.sh            full run: 10000 commands each, 300 NV
#                                 writes, 10 starts (about a minute)
#   tests/bench/run.sh --quick    a few hundred commands (make check)
#
#   BENCH_N, BENCH_NV, BENCH_STARTS   override the counts
#   BENCH_PINS     placements of the socket runs (default "split same")
#   BENCH_TMPDIR   where the state lives (default /tmp; its filesystem is
#                  the one measured); KEEP_TMP=1 keeps the temp dirs
#   BENCH_RUN_DIR  where $VTPM_RUN_DIR (the volatile state) goes (default
#                  a temp dir on /dev/shm: tmpfs, as /run on a dom0)
#
# Fails (non-zero) only when something does not work: a build, a TPM
# error, a server that does not start. Missed speed targets do not fail.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

N=10000 NV=300 STARTS=10 MODE=full
case "${1:-}" in
--quick) N=300 NV=30 STARTS=3 MODE=quick ;;
"") ;;
*) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
N=${BENCH_N:-$N} NV=${BENCH_NV:-$NV} STARTS=${BENCH_STARTS:-$STARTS}

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

VTPMCTL=$TOP/tools/vtpmctl/vtpmctl
if make -s -C "$TOP/lib/libvtpm" libvtpm.a >/dev/null &&
   make -s -C "$TOP/tools/vtpmctl" vtpmctl >/dev/null &&
   make -s -C "$HERE" statebench >/dev/null; then
	ok "build libvtpm, vtpmctl, statebench"
else
	fail "build libvtpm, vtpmctl, statebench"
	finish
fi
if ! command -v swtpm >/dev/null; then
	fail "swtpm not installed (apt-get install swtpm)"
	finish
fi

# Unix socket paths must stay short whatever the checkout path: the
# sockets live in the temp dir, itself a short path.
T=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/vtb.XXXXXX") || { fail "mktemp"; finish; }
if [ ${#T} -gt 80 ]; then
	rm -rf "$T"
	fail "temp dir $T is too long for unix socket paths (set BENCH_TMPDIR)"
	finish
fi
LOGDIR=$TOP/build/bench/$(date +%Y%m%d-%H%M%S)-$MODE-$$
mkdir -p "$LOGDIR"
RES=$LOGDIR/results.txt
R=
U=
cleanup() {
	cp -f "$T"/*.log "$LOGDIR/" 2>/dev/null
	# erase the vTPM (files and keyring anchor) unless asked to keep it
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "kept $T ${R:-}"
		return
	fi
	[ -n "$U" ] && VTPM_STATE_DIR=$T/state "$VTPMCTL" destroy "$U" >/dev/null 2>&1
	rm -rf "$T" ${R:+"$R"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The volatile state's run directory ($VTPM_RUN_DIR, by default /run/vtpm):
# tmpfs, as /run is on a dom0 (here /run may be a plain disk).
if [ -n "${BENCH_RUN_DIR:-}" ]; then
	R=$(mktemp -d "$BENCH_RUN_DIR/vtbr.XXXXXX") || { fail "mktemp in $BENCH_RUN_DIR"; finish; }
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	R=$(mktemp -d /dev/shm/vtbr.XXXXXX) || { fail "mktemp in /dev/shm"; finish; }
else
	R=$T/run
	mkdir -m 0700 "$R"
fi
export VTPM_RUN_DIR=$R
# the EK certificates' CA of these vTPMs: the bench's own, never the host's
# /etc/vtpm/ca (made on first use, it would be sealed with this run's key)
export VTPM_CA_DIR=$T/ca

(umask 077 && head -c 32 /dev/urandom >"$T/key") || { fail "key file"; finish; }
mkdir -m 0700 "$T/sw"
FS=$(findmnt -n -o FSTYPE -T "$T" 2>/dev/null | head -n1)
DEV=$(df -P "$T" | awk 'NR == 2 { print $1 }')
echo "# state-path bench ($MODE): N=$N light commands, $NV NV writes, $STARTS starts;" \
     "state in $T ($FS on $DEV), run dir $R ($(stat -f -c %T "$R"));" \
     "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $(uname -r)"
echo "# raw results and server logs: $LOGDIR"

if "$HERE/statebench" inproc --dir "$T/inproc" --key "$T/key" --n "$N" --nv "$NV" >>"$RES"; then
	ok "in-process: libtpms, vtpm_process, vtpm_process + vtpm_save (every command answered)"
else
	fail "in-process run"
fi

# Where client and servers run decides swtpm's latency more than anything
# (about 6 us on one CPU, 16-22 us across two): pin both ways, and let the
# verdicts use "split". The quick run does split only.
if [ "$(nproc)" -lt 2 ]; then
	PINS=none
elif [ "$MODE" = quick ]; then
	PINS=split
else
	PINS=${BENCH_PINS:-split same}
fi
if U=$(VTPM_STATE_DIR=$T/state VTPM_KEY_FILE=$T/key "$VTPMCTL" create 2>"$T/create.log"); then
	s=$STARTS
	for pin in $PINS; do
		if "$HERE/statebench" sock --vtpmctl "$VTPMCTL" --state-root "$T/state" \
			--key "$T/key" --uuid "$U" --swtpm-dir "$T/sw" --run "$T" --n "$N" \
			--nv "$NV" --starts "$s" --pin "$pin" --nvbase-dir "$T" >>"$RES"; then
			ok "socket transport, pin=$pin: vtpmctl serve and swtpm (every command answered)"
		else
			fail "socket transport run, pin=$pin (logs: $LOGDIR)"
		fi
		s=0	# starts once
	done
else
	fail "vtpmctl create: $(cat "$T/create.log")"
fi

SIZE=$(sed -n 's/.*phase=info .*permanent_size=\([0-9]*\).*/\1/p' "$RES" | tail -n1)
[ -n "$SIZE" ] && [ "$SIZE" -gt 0 ] || SIZE=$(stat -c %s "$T"/state/*/permall 2>/dev/null | head -n1)
if [ -n "$SIZE" ] && "$HERE/statebench" nvbase --dir "$T" --size "$SIZE" --n "$NV" >>"$RES"; then
	ok "NV baseline: bare write + fsync(file) + fsync(dir) of $SIZE bytes"
else
	fail "NV baseline"
fi

echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (others' work on these CPUs skews every number)"
echo
python3 "$HERE/report.py" "$RES" --serve-log "$T/vtpmctl.log" \
	--title "State-path benchmark (issue 7), $MODE run: N=$N, NV writes $NV, starts $STARTS" ||
	fail "report"
echo
finish
