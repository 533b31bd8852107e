#!/bin/bash
# build-guest.sh ROOTFS_DIR OUT.cpio.gz : the guest's initramfs. Busybox, the
# Debian kernel's unmodified xen-tpmfront.ko, tpm2-tools, trousers' tools and
# the xenstore clients with their shared libraries, taken from the dom0 rootfs
# (same Debian release), plus this checkout's guest scripts and tools.
# Next to it, guest-small.cpio.gz (OUT's directory): the churn guests' image,
# busybox, the same unmodified xen-tpmfront.ko, the init, lib.sh, the churn
# scripts and the static tpm-rawbench (one TPM2_GetRandom, its response code
# checked), a few MiB instead of ~160: it builds, unpacks and boots in a
# fraction of the time and memory (scenario churn: 200 guests at full size).
set -euo pipefail
. "$(dirname "$0")/common.sh"
root=$1 out=$2
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
# busybox_into DIR: busybox in DIR/bin, with a link for each of its applets
busybox_into() {
	local a
	cp /bin/busybox "$1/bin/busybox"
	for a in $("$1/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
	done
}
mkdir -p "$t"/{bin,sbin,lib,lib64,usr/lib/x86_64-linux-gnu,lib/modules,guest,etc,dev,proc,sys,tmp,root}
busybox_into "$t"

bins="/usr/bin/tpm2 /usr/bin/xenstore-read /usr/bin/xenstore-write /usr/bin/xenstore-ls
/usr/bin/xenstore-exists /usr/sbin/tcsd /usr/sbin/tpm_version /usr/sbin/tpm_nvdefine
/usr/bin/openssl
/usr/sbin/tpm_createek /usr/sbin/tpm_takeownership /usr/sbin/tpm_getpubek
/usr/bin/tpm_sealdata /usr/bin/tpm_unsealdata"
# Loaded with dlopen(), so not in ldd's closure: the TCTI, and libgcc_s,
# which glibc's pthread_exit() needs to unwind (tcsd's worker threads end
# with it: without it tcsd aborts once its first client leaves).
libs="/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 /lib/x86_64-linux-gnu/libgcc_s.so.1"
copy_closure() { # copies files + their shared libraries out of $root
	local f
	for f in "$@"; do
		[ -e "$root$f" ] || continue
		mkdir -p "$t$(dirname "$f")"; cp -L "$root$f" "$t$f"
		chroot "$root" ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^\t\/lib64/ {print $1}' |
		while read -r l; do
			[ -n "$l" ] && [ ! -e "$t$l" ] || continue
			mkdir -p "$t$(dirname "$l")"; cp -L "$root$l" "$t$l"
		done
	done
}
copy_closure $bins $libs
[ -x "$t/usr/bin/tpm2" ] || die "tpm2-tools missing from the dom0 rootfs"
# tpm2_* names, as the package installs them
for l in "$root"/usr/bin/tpm2_*; do ln -sf tpm2 "$t/usr/bin/$(basename "$l")"; done
cp "$root/lib/modules/$KVER/kernel/drivers/char/tpm/xen-tpmfront.ko" "$t/lib/modules/"
# The patched frontend (frontend/patches/), built here for the same kernel:
# the guests of scenario "frontend" load it instead of the stock one.
"$TOP/frontend/prepare.sh" "$t/tpmfront-src" || die "the frontend series does not apply"
make -s -C "$KDIR" M="$t/tpmfront-src" modules >"$t/tpmfront-build.log" 2>&1 ||
	die "building the patched xen-tpmfront failed: $(tail -n 5 "$t/tpmfront-build.log")"
mkdir -p "$t/lib/modules/patched"
cp "$t/tpmfront-src/xen-tpmfront.ko" "$t/lib/modules/patched/"
rm -rf "$t/tpmfront-src" "$t/tpmfront-build.log"
printf 'root:x:0:0:root:/root:/bin/sh\ntss:x:100:105:TPM software stack:/var/lib/tpm:/bin/false\n' >"$t/etc/passwd"
printf 'root:x:0:\ntss:x:105:\n' >"$t/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$t/etc/hosts"
# trousers' tcsd (TPM 1.2 guests): its state dir owned by tss, its config root:tss 0640
mkdir -p "$t/var/lib/tpm"; cp "$root/etc/tcsd.conf" "$t/etc/tcsd.conf"
chown 100:105 "$t/var/lib/tpm"; chown 0:105 "$t/etc/tcsd.conf"; chmod 0640 "$t/etc/tcsd.conf"
# Our own guest-side tools, static so they need nothing from the image.
gcc -static -O2 -Wall -Wextra -o "$t/bin/tpm-rawbench" "$E2E_DIR/tools/tpm-rawbench.c" ||
	die "building tpm-rawbench failed"
# (libcrypto's static archive warns about glibc's resolver: not used here)
gcc -static -O2 -Wall -Wextra -o "$t/bin/ima-replay" "$E2E_DIR/tools/ima-replay.c" -lcrypto \
	>"$t/ima-replay.log" 2>&1 || die "building ima-replay failed: $(grep -v 'statically linked' "$t/ima-replay.log" | tail -n 5)"
rm -f "$t/ima-replay.log"
# The guest's test modules, built here against the testbed kernel's
# headers, as the module package is: the hostile frontend (only
# guest-hostile.sh loads it) and tpm-inflight (guest-frontend.sh).
[ -e "/lib/modules/$KVER/build/Makefile" ] ||
	die "no kernel headers for $KVER on this host (apt-get install linux-headers-$KVER)"
mkdir -p "$t/.hostile"
cp "$E2E_DIR"/hostile/*.c "$E2E_DIR/hostile/Kbuild" "$t/.hostile/"
make -s -C "/lib/modules/$KVER/build" M="$t/.hostile" modules >"$t/.hostile.log" 2>&1 ||
	die "building the guest's test modules failed: $(tail -n 5 "$t/.hostile.log")"
cp "$t/.hostile/tpm-hostile.ko" "$t/.hostile/tpm-inflight.ko" "$t/lib/modules/"
rm -rf "$t/.hostile" "$t/.hostile.log"
install -m 0755 "$E2E_DIR/guest/init" "$t/init"
cp "$E2E_DIR"/guest/*.sh "$t/guest/"
# --- the small image (churn guests) ---
s="$t/.small"
mkdir -p "$s"/{bin,sbin,lib/modules,guest,etc,dev,proc,sys,tmp,root}
busybox_into "$s"
cp "$t/bin/tpm-rawbench" "$s/bin/"
cp "$t/lib/modules/xen-tpmfront.ko" "$s/lib/modules/"
install -m 0755 "$E2E_DIR/guest/init" "$s/init"
cp "$E2E_DIR/guest/lib.sh" "$E2E_DIR"/guest/guest-churn-*.sh "$s/guest/"
cp "$t/etc/passwd" "$t/etc/group" "$s/etc/"
chmod 0755 "$s"
(cd "$s" && find . | cpio -o -H newc --quiet | gzip -1) >"$(dirname "$out")/guest-small.cpio.gz"
rm -rf "$s"
mkdir -p "$t/guest/attest" && cp "$TOP/tests/attest/attest-guest.sh" "$t/guest/attest/"
# The cpio's "." becomes the guest's /: mktemp made it 0700, which locks every
# user but root out of the whole tree (tcsd runs as tss: see guest-tpm12.sh).
chmod 0755 "$t"
(cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
