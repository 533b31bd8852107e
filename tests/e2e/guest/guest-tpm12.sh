# Guest side of scenarios/tpm12.sh.
ip link set lo up
step tpmfront-load load_tpmfront
step kernel-sees-1.2 sh -c '[ "$(cat /sys/class/tpm/tpm0/tpm_version_major)" = 1 ]'
step no-tpm-errors-at-probe sh -c '! dmesg | grep -q "A TPM error"'
# The kernel's own TPM 1.2 commands work here (with a TPM 2.0 vTPM they
# fail with 0x84): PCRs through sysfs, read by the guest kernel.
step kernel-reads-pcrs sh -c 'grep -q "^PCR-00: " /sys/class/tpm/tpm0/pcrs || grep -q "^PCR-00: " /sys/class/tpm/tpm0/device/pcrs'
info "pcrs: $( (cat /sys/class/tpm/tpm0/pcrs || cat /sys/class/tpm/tpm0/device/pcrs) 2>&1 | head -n 2 | tr '\n' ' ')"
info "caps: $(cat /sys/class/tpm/tpm0/caps /sys/class/tpm/tpm0/device/caps 2>/dev/null | tr '\n' ' ')"
(tcsd -f >/tmp/tcsd.log 2>&1 </dev/null; echo "tcsd exited: $?" >>/tmp/tcsd.log) &
sleep 3
step tcsd-starts sh -c 'pidof tcsd || { cat /tmp/tcsd.log; false; }'
tv() { # tcsd talks to the TPM at start-up: give it a few seconds
	local i=0 out
	while [ $i -lt 20 ]; do
		out=$(tpm_version 2>&1) && echo "$out" | grep -Eq "Chip Version: *1\.2" && return 0
		sleep 1; i=$((i + 1))
	done
	echo "$out"; cat /tmp/tcsd.log; dmesg | tail -n 3; return 1
}
step tpm_version tv
# Open question: Debian 12's tcsd (trousers 0.3.15) segfaults in libc once
# its first client has gone, every run here (not yet known whether trousers
# or something in our 1.2 responses is to blame), so one tpm_version is all
# this checks for now.
info "after the first client: $(dmesg | grep -o 'tcsd.*segfault.*in libc[^ ]*' | tail -n1)"
