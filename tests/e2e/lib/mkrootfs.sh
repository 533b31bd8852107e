#!/bin/bash
# mkrootfs.sh DIR IMG : the testbed's dom0 root filesystem. debootstrap of
# Debian 12 plus the updates and security suites (Xen's userspace must match
# the 4.17.7 hypervisor), the packages below, and the testbed kernel's modules.
# The directory is kept too: the guest's userland is taken from it.
# Needs XEN_VER, KTREE, KIMG_VER, VMLINUZ in the environment (build-images.sh
# sets them).
# dkms and the kernel's headers (pinned to the booted kernel's version) are
# there so that the xen-tpmback-dkms package builds the module in dom0 at
# every run, as it does on an admin's machine.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ROOTFS_DIR=$1 ROOTFS_IMG=$2
xen_ver=$XEN_VER
ROOTFS_PKGS="xen-utils-4.17 xenstore-utils busybox kmod keyutils iproute2 procps
udev util-linux e2fsprogs tpm2-tools libtss2-tcti-device0 swtpm swtpm-tools libtpms0
libssl3 libkeyutils1 trousers tpm-tools python3-minimal systemd
dkms linux-headers-$KVER=$KIMG_VER"
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
secmirror=${mirror%/debian}/debian-security

rm -rf "$ROOTFS_DIR"
debootstrap --variant=minbase bookworm "$ROOTFS_DIR" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
	die "debootstrap failed, see $CACHE/debootstrap.log"
cat >"$ROOTFS_DIR/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $secmirror bookworm-security main
SRC
mount -t proc proc "$ROOTFS_DIR/proc"
trap 'umount "$ROOTFS_DIR/proc" 2>/dev/null || true' EXIT
# Xen's userspace must match the hypervisor (4.17.7 from the security suite).
chroot "$ROOTFS_DIR" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive;
	apt-get update -q && apt-get -y -q dist-upgrade &&
	apt-get install -y -q --no-install-recommends $(echo $ROOTFS_PKGS) &&
	apt-get clean && apt-cache gencaches" >"$CACHE/rootfs-apt.log" 2>&1 ||
	die "installing packages into the dom0 rootfs failed, see $CACHE/rootfs-apt.log"
umount "$ROOTFS_DIR/proc"; trap - EXIT
# apt in dom0 (the packages are installed there at every run) would
# otherwise rebuild its cache from the package lists each time: about a
# minute under TCG. apt-get clean deletes it; gencaches above remade it.
[ -s "$ROOTFS_DIR/var/cache/apt/pkgcache.bin" ] || die "no apt cache in the dom0 rootfs"
have=$(chroot "$ROOTFS_DIR" dpkg-query -W -f='${Version}' xen-utils-4.17)
[ "$have" = "$xen_ver" ] || die "dom0 xen-utils $have does not match the hypervisor $xen_ver"
[ -e "$ROOTFS_DIR/lib/modules/$KVER/build/Makefile" ] ||
	die "dom0 has no kernel headers for $KVER (/lib/modules/$KVER/build)"
# The kernel's modules (the same kernel boots dom0 and the guests).
mkdir -p "$ROOTFS_DIR/lib/modules"
cp -a "$KTREE/lib/modules/$KVER" "$ROOTFS_DIR/lib/modules/"
mkdir -p "$ROOTFS_DIR/boot" && cp "$VMLINUZ" "$ROOTFS_DIR/boot/"
echo dom0 >"$ROOTFS_DIR/etc/hostname"
mkdir -p "$ROOTFS_DIR/e2e"
rm -f "$ROOTFS_IMG.tmp"
mkfs.ext4 -q -F -L dom0root -d "$ROOTFS_DIR" "$ROOTFS_IMG.tmp" 2G
mv "$ROOTFS_IMG.tmp" "$ROOTFS_IMG"
