# shellcheck shell=bash
# bench: guest-visible TPM command latency through xen-tpmback, served by
# vtpmctl serve (libvtpm, libtpms in process) against a baseline in the same
# run: the same guest loop served by the test responder forwarding to swtpm
# (socket). Both go through the same unmodified frontend, which polls for
# completion every 5 ms: expect that floor under small commands.
# Prints "E2E-INFO bench: <arm> <what> <stats in ms>"; steps only check that both
# arms ran — speed is reported, never asserted.
A=/e2e/artefacts
O=/e2e/out
UBASE=b0000000-0000-4000-8000-00000000ba5e
ULIB=b0000000-0000-4000-8000-000000001ab0

# The module as a user installs it (xen-tpmback-dkms; DKMS builds it in
# dom0); vtpm-tools must not be there: its udev rule would start vtpmctl.
need install-module install_module_pkg || return
need no-vtpm-tools not_installed vtpm-tools || return
need modprobe modprobe xen-tpmback || return
need swtpm swtpm_start /tmp/swb || return
# Baseline arm first, before udev's rule would start vtpmctl for any vtpm.
$A/vtpm-responder --uuid $UBASE --wait=120000 --swtpm /tmp/swb/data >$O/bench.responder.out 2>&1 &
need xl-create-baseline guest_create bswtpm guest-bench "vtpm=[\"backend=0,uuid=$UBASE\"]" || return
guest_wait bswtpm 900
swtpm_stop /tmp/swb

need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $ULIB || return
need xl-create-libvtpm guest_create blibvtpm guest-bench "vtpm=[\"backend=0,uuid=$ULIB\"]" || return
guest_wait blibvtpm 900
for g in bswtpm blibvtpm; do
	grep -ao 'E2E-INFO BENCH .*' "$(guest_log $g)" | tr -d '\r' | while read -r _ _ what stats; do
		echo "E2E-INFO bench: ${g#b} $what $stats"
	done
done
