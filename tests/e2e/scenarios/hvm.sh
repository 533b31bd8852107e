# shellcheck shell=bash
# hvm (not in all; make hvm): an HVM guest with PV drivers gets its vTPM.
# The guest boots through hvmloader and SeaBIOS (Xen's device model,
# qemu-system-xen, in dom0), runs the same Debian kernel and the unmodified
# xen-tpmfront as the PV guests, and uses its TPM 2.0 with tpm2-tools.
# Under TCG this needs an AMD CPU model (QEMU emulates SVM, not VT-x); run.sh
# picks it for this scenario: EPYC,+svm,+npt,-monitor,-smap,-rdtscp.
#   +npt     Debian's Xen has no shadow paging: HVM needs HAP (NPT)
#   -monitor with MONITOR/MWAIT, Xen's idle loop took a #GP under TCG
#   -smap    with SMAP, PV dom0 took a page fault (SMAP) in its first steps
#   -rdtscp  Xen failed to emulate RDTSCP for the HVM guest (instruction
#            length), which crashed it at its first RDTSCP
# E2E_HVM_PVH=1 also tries a PVH guest (no device model): under TCG it
# triple-faults after ~8 s of guest boot ("ACPI: No IOAPIC entries present"
# is its last line), so it is reported, not asserted.
say "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)"
say "xl info virt_caps: $(xl info | sed -n 's/^virt_caps *: //p')"
say "xen: $(xl dmesg | grep -iE 'svm|vmx|hvm support|HAP' | head -n 6 | tr '\n' '|')"
# The device model (HVM only): qemu-system-xen, brought by run.sh.
need install-device-model sh -c 'ls /e2e/artefacts/hvm-debs/*.deb >/dev/null 2>&1 || { echo "run.sh brought no device model packages"; exit 1; }
	dpkg -i /e2e/artefacts/hvm-debs/*.deb >/tmp/hvm-dpkg.log 2>&1 || { tail -n 5 /tmp/hvm-dpkg.log; exit 1; }' || return
step xen-has-hvm sh -c 'xl info | grep -E "^virt_caps.* hvm .*hap"'
say "xl dmesg (hvm/svm/hap/npt): $(xl dmesg | grep -iE 'svm|hvm|hap|npt|nested|asid' | head -n 12 | tr '\n' '|')"
dm=$(command -v /usr/libexec/xen-qemu-system-i386 qemu-system-i386 qemu-system-x86_64 /usr/lib/xen-4.17/bin/qemu-system-i386 2>/dev/null | head -n1)
say "device model: ${dm:-none in dom0 (no qemu-system-x86 package in the image)}"
U=4e4e0000-0000-4000-8000-0000000000a1
need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $U || return
# PVH (E2E_HVM_PVH=1): an HVM container without a device model; the guest
# kernel's PV drivers work as in a PV guest. Reported only (see above).
if [ "${E2E_HVM_PVH:-0}" = 1 ]; then
	if GUEST_TYPE=pvh guest_create hpvh guest-hvm "vtpm=[\"backend=0,uuid=$U\"]"; then
		t=240; while xl domid hpvh >/dev/null 2>&1 && [ $t -gt 0 ]; do sleep 0.5; t=$((t - 1)); done
		xl destroy hpvh >/dev/null 2>&1
		say "pvh guest, last console line: $(tr -d '\r' <"$(guest_log hpvh)" | tail -n 1)"
		say "pvh: xl dmesg: $(xl dmesg | grep -E 'Triple fault|domain_crash' | tail -n 2 | tr '\n' '|')"
	else
		say "pvh: xl create failed: $(tail -n 3 "$E2E_OUT/hvm.xl-create-hpvh.log" | tr '\n' '|')"
	fi
fi
# (functions, not sh -c: pgrep -f would find the sh -c naming the pattern)
dm_runs() { pgrep -f "qemu-system-i386.*hhvm" >/dev/null; }
# The same guest as the PV scenarios', booted by hvmloader and SeaBIOS,
# its serial line on a pty for the device model.
if GUEST_TYPE=hvm step xl-create-hvm guest_create hhvm guest-hvm 'serial = "pty"' "vtpm=[\"backend=0,uuid=$U\"]"; then
	dh=$(xl domid hhvm)
	step guest-is-hvm sh -c 'xl list -l hhvm | grep -E "\"type\": \"hvm\""'
	step device-model-runs dm_runs
	step server-started wait_for 120 server_for "$dh"
	step served wait_for 300 grep -q "uuid=$U domid=$dh devid=0: serving vTPM" /var/log/syslog
	# (under TCG an HVM guest's boot, power-off and teardown took over 180 s once)
	guest_wait hhvm 400
	say "xl dmesg after hvm: $(xl dmesg | tail -n 8 | tr '\n' '|')"
	step server-gone wait_for 30 no_server_for "$dh"
	step server-says-gone grep -q "uuid=$U domid=$dh devid=0: domain $dh gone" /var/log/syslog
	step no-backend-left wait_for 30 no_backends
else
	say "hvm: $(tail -n 5 $E2E_OUT/hvm.xl-create-hhvm.log | tr '\n' '|')"
	say "xl dmesg after hvm: $(xl dmesg | tail -n 8 | tr '\n' '|')"
	say "device model log: $(tail -n 5 /var/log/xen/qemu-dm-hhvm.log 2>/dev/null | tr '\n' '|')"
fi
