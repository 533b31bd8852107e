# shellcheck shell=bash
# Guest side of scenarios/frontend-ima.sh: the testbed's own guest
# kernel (tests/e2e/lib/build-guest-kernel.sh) with the patched xen-tpmfront
# built in, booted with ima_policy=tcb ima_template=ima-ng ima_hash=sha256.
RM=device:/dev/tpmrm0
export TPM2TOOLS_TCTI=$RM
info "tpm at boot: $(dmesg | grep -iE "tpm|vtpm|ima" | tail -n 8 | tr "\n" "|")"
step tpm-builtin sh -c '[ "$(cat /sys/class/tpm/tpm0/tpm_version_major)" = 2 ] && test -c /dev/tpmrm0'
step ima-not-bypassed sh -c '! dmesg | grep -q "TPM-bypass"'
# No command of the core's start-up or of IMA's timed out (patch 0005).
step no-send-timeouts sh -c '! dmesg | grep -q "send(): error"'
mount -t securityfs securityfs /sys/kernel/security
IMA=/sys/kernel/security/ima
step ima-log-has-boot-aggregate grep -q boot_aggregate $IMA/ascii_runtime_measurements
# tmpfs (the initramfs) is not measured under tcb: run and read files from
# an ext2 file system on a loop device, as root.
mkdir -p /mnt
step ext2-mount sh -c 'dd if=/dev/zero of=/tmp/fs.img bs=1k count=4096 2>/dev/null && mke2fs -F /tmp/fs.img >/dev/null 2>&1 && mount -o loop /tmp/fs.img /mnt'
cp /bin/busybox /mnt/true && printf 'e2e\n' >/mnt/data.txt
step exec-measured sh -c '/mnt/true && cat /mnt/data.txt >/dev/null && grep -q " /mnt/true$" '$IMA'/ascii_runtime_measurements && grep -q " /mnt/data.txt$" '$IMA'/ascii_runtime_measurements'
step ima-ng-sha256 sh -c 'grep " /mnt/true$" '$IMA'/ascii_runtime_measurements | grep -q " ima-ng sha256:"'
replay() {
	local r p
	r=$(ima-replay) || return 1
	p=$(tpm2_pcrread sha256:10 | sed -n 's/.*10 *: *0x\([0-9A-Fa-f]*\).*/\1/p' | tr 'A-F' 'a-f')
	echo "replay: $r, tpm: $p"
	[ -n "$p" ] && [ "${r##*pcr10-sha256=}" = "$p" ]
}
step ima-replay-equals-pcr10 replay
info "ima $(ima-replay) entries in the log: $(wc -l <$IMA/ascii_runtime_measurements)"
# A tampered list does not replay to PCR 10: the check can fail.
tampered() {
	local r p
	cp $IMA/binary_runtime_measurements /tmp/bm
	# flip one byte of the last entry's file data hash
	local n; n=$(wc -c </tmp/bm)
	printf '\377' | dd of=/tmp/bm bs=1 seek=$((n - 20)) conv=notrunc 2>/dev/null
	r=$(ima-replay /tmp/bm) || return 1
	p=$(tpm2_pcrread sha256:10 | sed -n 's/.*10 *: *0x\([0-9A-Fa-f]*\).*/\1/p' | tr 'A-F' 'a-f')
	[ "${r##*pcr10-sha256=}" != "$p" ]
}
step tampered-log-differs tampered
step hwrng-is-tpm sh -c 'grep -q tpm /sys/class/misc/hw_random/rng_current && [ "$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)" = 32 ]'
step getrandom-tpmrm0 tpm2_getrandom 16 --hex
umount /mnt
