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

segfaults() { dmesg | grep -c 'tcsd.*segfault'; }
tcsd_start() { # LOG
	(tcsd -f >"$1" 2>&1 </dev/null; echo "tcsd exited: $?" >>"$1") &
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

# tcsd died after its first client here (trousers 0.3.15, in free()).
# Phase 1 reproduces it with the image as it was (no /etc/nsswitch.conf)
# and keeps a core dump, printed gzipped and base64-encoded between
# E2E-CORE-BEGIN/END for a backtrace on the host (gdb with the dom0
# rootfs as sysroot); phase 2 runs trousers for real.
mv /etc/nsswitch.conf /tmp/nsswitch.conf
echo 2 >/proc/sys/fs/suid_dumpable
echo /tmp/core >/proc/sys/kernel/core_pattern
s0=$(segfaults)
if (ulimit -c unlimited; tcsd_start /tmp/tcsd0.log) && tv >/dev/null; then
	sleep 2
	if pidof tcsd >/dev/null; then
		info "tcsd without nsswitch.conf: still running after its first client"
		kill "$(pidof tcsd)"; sleep 1
	else
		info "tcsd without nsswitch.conf: died after its first client ($(($(segfaults) - s0)) segfault: $(dmesg | grep -o 'tcsd.*segfault.*in [^ ]*' | tail -n1))"
		sleep 1
		c=$(ls /tmp/core* 2>/dev/null | head -n1)
		if [ -n "$c" ]; then
			gzip -1 -c "$c" >/tmp/core.gz
			info "core $(wc -c <"$c") bytes, $(wc -c </tmp/core.gz) gzipped"
			if [ "$(wc -c </tmp/core.gz)" -lt 1500000 ]; then
				echo "E2E-CORE-BEGIN"; base64 /tmp/core.gz; echo "E2E-CORE-END"
			fi
			rm -f /tmp/core.gz
		fi
	fi
fi
rm -f /tmp/core*
mv /tmp/nsswitch.conf /etc/nsswitch.conf
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
	step tcsd-serves-three-clients three
	# A fresh vTPM 1.2 has no endorsement key: make one, then take ownership
	# with the well-known owner and SRK secrets, as tpm-tools' users do.
	step no-ek-yet sh -c '! timeout 60 tpm_getpubek -z >/dev/null 2>&1'
	step createek timeout 300 tpm_createek
	step getpubek sh -c 'timeout 60 tpm_getpubek -z | grep -q "Public Key"'
	step takeownership timeout 300 tpm_takeownership -y -z
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
run_tpm12
c=$(ls /tmp/core* 2>/dev/null | head -n1)
if [ -n "$c" ]; then
	gzip -1 -c "$c" >/tmp/core.gz
	info "phase 2 core $(wc -c <"$c") bytes, $(wc -c </tmp/core.gz) gzipped"
	[ "$(wc -c </tmp/core.gz)" -ge 1500000 ] || { echo "E2E-CORE-BEGIN"; base64 /tmp/core.gz; echo "E2E-CORE-END"; }
fi
info "tcsd log: $(tr '\n' '|' </tmp/tcsd.log | cut -c1-300)"
