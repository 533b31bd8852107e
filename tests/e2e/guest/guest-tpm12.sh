# Guest side of scenarios/tpm12.sh: the kernel's own 1.2 commands, then
# trousers as a TPM 1.2 user would run it (tcsd with several clients, an EK,
# take ownership, seal/unseal through a key created and loaded under the SRK).
ip link set lo up
# dom0 holds the vTPM's first answer back for 15 s from here (slow start);
# the driver's probe waits for it, beyond the kernel's 10 s command timeout
xenstore-write data/e2e-probing 1
t0=$(date +%s)
step tpmfront-load load_tpmfront
waited=$(( $(date +%s) - t0 ))
if [ "$waited" -ge 10 ]; then pass probe-waited-for-slow-start "driver load took $waited s"
else fail probe-waited-for-slow-start "driver load took $waited s: dom0 held nothing back"; fi
step kernel-sees-1.2 sh -c '[ "$(cat /sys/class/tpm/tpm0/tpm_version_major)" = 1 ]'
step no-tpm-errors-at-probe sh -c '! dmesg | grep -q "A TPM error"'
# The kernel's own TPM 1.2 commands work here (with a TPM 2.0 vTPM they
# fail with 0x84): PCRs through sysfs, read by the guest kernel.
step kernel-reads-pcrs sh -c 'grep -q "^PCR-00: " /sys/class/tpm/tpm0/pcrs || grep -q "^PCR-00: " /sys/class/tpm/tpm0/device/pcrs'
info "pcrs: $( (cat /sys/class/tpm/tpm0/pcrs || cat /sys/class/tpm/tpm0/device/pcrs) 2>&1 | head -n 2 | tr '\n' ' ')"
info "caps: $(cat /sys/class/tpm/tpm0/caps /sys/class/tpm/tpm0/device/caps 2>/dev/null | tr '\n' ' ')"

# tcsd drops to the tss user after start-up: with a / that tss cannot search
# its getnameinfo() of each client fails and trousers 0.3.15 then free()s a
# string literal when that client leaves (the segfault of earlier runs).
step root-searchable-by-tss sh -c '[ "$(stat -c %a /)" = 755 ]'

segfaults() { dmesg | grep -c 'tcsd.*segfault'; }
tcsd_start() { # LOG
	# No fd of ours may stay with tcsd: step's $(...) would wait for it.
	(tcsd -f >"$1" 2>&1 </dev/null; echo "tcsd exited: $?" >>"$1") >/dev/null 2>&1 </dev/null &
	local i=0
	while [ $i -lt 10 ]; do pidof tcsd >/dev/null && return 0; sleep 0.5; i=$((i + 1)); done
	cat "$1"; return 1
}
tv() { # tcsd talks to the TPM at start-up: give it a few seconds
	local i=0 out
	while [ $i -lt 20 ]; do
		out=$(timeout 30 tpm_version 2>&1) && echo "$out" | grep -Eq "Chip Version: *1\.2" && return 0
		sleep 1; i=$((i + 1))
	done
	echo "$out"; dmesg | tail -n 3; return 1
}
s1=$(segfaults)
need() { step "$@" || { info "tpm12: $1 failed, later steps skipped"; return 1; }; }
run_tpm12() {
	need tcsd-starts tcsd_start /tmp/tcsd.log || return
	step tpm_version tv
	# Three more clients in a row, each a new connection to tcsd.
	three() {
		local i
		for i in 1 2 3; do
			timeout 30 tpm_version >/dev/null 2>&1 || { echo "client $i failed"; return 1; }
			sleep 0.5
			pidof tcsd >/dev/null || { echo "tcsd gone after client $i"; dmesg | tail -n 2; return 1; }
		done
	}
	need tcsd-serves-three-clients three || return
	# A fresh vTPM 1.2 has no endorsement key: make one, then take ownership
	# with the well-known owner and SRK secrets, as tpm-tools' users do.
	step no-ek-yet sh -c '! timeout 60 tpm_getpubek -z >/dev/null 2>&1'
	step createek timeout 300 tpm_createek
	step getpubek sh -c 'timeout 60 tpm_getpubek -z | grep -q "Public Key"'
	need takeownership timeout 300 tpm_takeownership -y -z || return
	step takeownership-again-refused sh -c '! timeout 120 tpm_takeownership -y -z'
	# tpm_sealdata creates a storage key under the SRK, loads it and seals to
	# it; tpm_unsealdata loads that key from the blob and unseals.
	head -c 200 /dev/urandom | od -An -tx1 >/tmp/secret
	step seal timeout 300 tpm_sealdata -z -i /tmp/secret -o /tmp/sealed
	step unseal sh -c 'timeout 300 tpm_unsealdata -z -i /tmp/sealed -o /tmp/unsealed && cmp /tmp/secret /tmp/unsealed'
	# A sealed blob changed in its encrypted part does not unseal.
	tamper() {
		awk 'NR == 3 { c = substr($0, 20, 1); r = (c == "A") ? "B" : "A"; $0 = substr($0, 1, 19) r substr($0, 21) } { print }' \
			/tmp/sealed >/tmp/sealed.bad
		! cmp -s /tmp/sealed /tmp/sealed.bad && ! timeout 300 tpm_unsealdata -z -i /tmp/sealed.bad -o /tmp/unsealed.bad
	}
	step unseal-tampered-refused tamper
	step tcsd-still-running sh -c "pidof tcsd && [ \$(dmesg | grep -c 'tcsd.*segfault') = $s1 ]"
}
t0=$(date +%s)
run_tpm12
info "trousers sequence took $(($(date +%s) - t0)) s"
info "tcsd log: $(tr '\n' '|' </tmp/tcsd.log | cut -c1-300)"
