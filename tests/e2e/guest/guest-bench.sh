# The bench loop (scenarios/bench.sh). e2e.frontend=patched on the kernel
# command line loads the patched xen-tpmfront, else Debian's own;
# e2e.bench=scale runs only the scaling loop.
cd /tmp
fe=stock mode=arm
for w in $(cat /proc/cmdline); do
	case $w in
	e2e.frontend=*) fe=${w#e2e.frontend=} ;;
	e2e.bench=*) mode=${w#e2e.bench=} ;;
	esac
done
if [ "$fe" = patched ]; then
	step tpmfront-load load_tpmfront_patched
else
	step tpmfront-load load_tpmfront
fi
info "BENCH frontend $fe tpm_version_major=$(cat /sys/class/tpm/tpm0/tpm_version_major)"
# mark WHAT: tell dom0 (data/bench) and wait for its acknowledgement
# (data/e2e-go), so that dom0 reads its CPU counters right at the edges of
# each measured loop.
mark() {
	xenstore-write data/bench "$1" && wait_go "$1" 60
}
if [ "$mode" = scale ]; then
	# Every scale guest starts its loop when dom0 says go (all at once).
	xenstore-write data/bench ready
	if wait_go go 600; then
		if out=$(tpm-rawbench /dev/tpm0 ${E2E_SCALE_N:-200} getrandom 2>&1); then
			pass rawbench-scale; info "BENCH scale $out"
		else
			fail rawbench-scale "$out"
		fi
	else
		fail scale-go "dom0 never said go"
	fi
	xenstore-write data/bench finished
	return 0 2>/dev/null || exit 0
fi
# Per-command latency, one process, CLOCK_MONOTONIC
# (tests/e2e/tools/tpm-rawbench.c); N per command.
for spec in getrandom:200 pcrextend:200 pcrread:200 cp-ecc:20 cp-rsa:5; do
	cmd=${spec%%:*} n=${spec#*:}
	mark "start $cmd $n" || { fail "mark-$cmd" "no ack from dom0"; continue; }
	if out=$(tpm-rawbench /dev/tpm0 "$n" "$cmd" 2>&1); then
		pass "rawbench-$cmd"; info "BENCH $out"
	else
		fail "rawbench-$cmd" "$out"
	fi
	mark "end $cmd $n" || fail "mark-end-$cmd" "no ack from dom0"
done
xenstore-write data/bench finished
