# shellcheck shell=bash
# hvm (not in all): can this testbed run an HVM or PVH guest with a vTPM?
# Run with an AMD CPU model with SVM, which QEMU's TCG emulates:
#   E2E_CPU=EPYC,+svm,+npt,-monitor tests/e2e/run.sh hvm
# (Debian's Xen has no shadow paging: HVM needs HAP, i.e. NPT from TCG;
# with MONITOR/MWAIT advertised, Xen's idle loop took a #GP under TCG.)
# Reports what Xen sees (virt_caps), whether dom0 has a device model, and
# what xl create of a PVH guest (no device model) and of an HVM guest says.
say "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)"
say "xl info virt_caps: $(xl info | sed -n 's/^virt_caps *: //p')"
say "xen: $(xl dmesg | grep -iE 'svm|vmx|hvm support|HAP' | head -n 6 | tr '\n' '|')"
# The device model (HVM only): qemu-system-xen, brought by run.sh.
if ls /e2e/artefacts/hvm-debs/*.deb >/dev/null 2>&1; then
	step install-device-model sh -c 'dpkg -i /e2e/artefacts/hvm-debs/*.deb >/tmp/hvm-dpkg.log 2>&1 || { tail -n 5 /tmp/hvm-dpkg.log; false; }'
fi
say "xl dmesg (hvm/svm/hap/npt): $(xl dmesg | grep -iE 'svm|hvm|hap|npt|nested|asid' | head -n 12 | tr '\n' '|')"
dm=$(command -v /usr/libexec/xen-qemu-system-i386 qemu-system-i386 qemu-system-x86_64 /usr/lib/xen-4.17/bin/qemu-system-i386 2>/dev/null | head -n1)
say "device model: ${dm:-none in dom0 (no qemu-system-x86 package in the image)}"
U=4e4e0000-0000-4000-8000-0000000000a1
need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $U || return
# PVH: an HVM container without a device model; the guest kernel's PV
# drivers (xen-tpmfront among them) work as in a PV guest.
cfg=/tmp/hpvh.cfg
{
	echo 'name = "hpvh"'; echo 'type = "pvh"'
	echo "kernel = \"/boot/vmlinuz-$(uname -r)\""; echo 'ramdisk = "/e2e/guest.cpio.gz"'
	echo 'extra = "console=hvc0 quiet loglevel=4 e2e.script=guest-hvm"'
	echo 'memory = 384'; echo 'vcpus = 1'; echo 'on_poweroff = "destroy"'
	echo "vtpm = [\"backend=0,uuid=$U\"]"
} >$cfg
if step xl-create-pvh xl create $cfg; then
	guest_wait hpvh 120
	say "xl dmesg after pvh: $(xl dmesg | tail -n 8 | tr '\n' '|')"
else
	say "pvh: $(tail -n 5 $E2E_OUT/hvm.xl-create-pvh.log | tr '\n' '|')"
	say "xl dmesg after pvh: $(xl dmesg | tail -n 8 | tr '\n' '|')"
fi
cfg=/tmp/hhvm.cfg
{
	echo 'name = "hhvm"'; echo 'type = "hvm"'
	echo "kernel = \"/boot/vmlinuz-$(uname -r)\""; echo 'ramdisk = "/e2e/guest.cpio.gz"'
	echo 'extra = "console=hvc0 quiet loglevel=4 e2e.script=guest-hvm"'
	echo 'memory = 384'; echo 'vcpus = 1'; echo 'on_poweroff = "destroy"'; echo 'serial = "pty"'
	echo "vtpm = [\"backend=0,uuid=$U\"]"
} >$cfg
if step xl-create-hvm xl create $cfg; then
	guest_wait hhvm 120
	say "xl dmesg after hvm: $(xl dmesg | tail -n 8 | tr '\n' '|')"
else
	say "hvm: $(tail -n 5 $E2E_OUT/hvm.xl-create-hvm.log | tr '\n' '|')"
	say "xl dmesg after hvm: $(xl dmesg | tail -n 8 | tr '\n' '|')"
	say "device model log: $(tail -n 5 /var/log/xen/qemu-dm-hhvm.log 2>/dev/null | tr '\n' '|')"
fi
