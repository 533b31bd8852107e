#!/bin/bash
# Builds (or finds in the cache) what the testbed boots:
#   $CACHE/xen-<ver>.elf           the Xen hypervisor (Debian's), as a multiboot ELF
#   $CACHE/kernel-<kver>/          Debian's kernel image, unpacked (vmlinuz + modules)
#   $CACHE/rootfs-<key>.ext4       dom0 root filesystem (debootstrap of bookworm + updates)
#   $CACHE/rootfs-<key>/           the same tree, from which the guest's userland is taken
#   $CACHE/initrd-<key>.cpio.gz    dom0 stage-1 initramfs (busybox: virtio + ext4, switch_root)
# Prints shell assignments for the runner on stdout, and nothing else there.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$CACHE/debs"
# One build at a time per cache (run.sh takes this lock itself and holds it
# a little longer, then says so with E2E_CACHE_LOCKED=1).
if [ -z "${E2E_CACHE_LOCKED:-}" ]; then
	exec 9>"$CACHE/.build.lock"
	flock 9
fi

# --- Debian packages: hypervisor and kernel, pinned to one version each ----
fetch_deb() { # name -> path of the .deb in the cache
	local name=$1 ver deb
	ver=$(apt-cache policy "$name" | sed -n 's/^ *Candidate: //p')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt knows no candidate for $name (run apt-get update)"
	deb=$(ls "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		log "downloading $name $ver"
		(cd "$CACHE/debs" && apt-get download -q "$name=$ver" >/dev/null 2>&1) ||
			die "apt-get download $name=$ver failed"
		deb=$(ls "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb | head -n1)
	fi
	printf '%s\n' "$deb"
}

xen_deb=$(fetch_deb "$XEN_PKG")
xen_ver=$(dpkg-deb -f "$xen_deb" Version)
XEN_ELF="$CACHE/xen-$xen_ver.elf"
if [ ! -s "$XEN_ELF" ]; then
	t=$(mktemp -d); dpkg -x "$xen_deb" "$t"
	zcat "$t"/boot/xen-4.17-amd64.gz >"$XEN_ELF.tmp" && mv "$XEN_ELF.tmp" "$XEN_ELF"
	rm -rf "$t"
fi

img_deb=$(fetch_deb "linux-image-$KVER")
kimg_ver=$(dpkg-deb -f "$img_deb" Version)
KTREE="$CACHE/kernel-$KVER-$kimg_ver"
if [ ! -s "$KTREE/boot/vmlinuz-$KVER" ]; then
	log "unpacking linux-image-$KVER $kimg_ver"
	rm -rf "$KTREE.tmp"; mkdir -p "$KTREE.tmp"
	dpkg -x "$img_deb" "$KTREE.tmp"
	depmod -b "$KTREE.tmp" "$KVER"
	rm -rf "$KTREE"; mv "$KTREE.tmp" "$KTREE"
fi
VMLINUZ="$KTREE/boot/vmlinuz-$KVER"

# --- dom0 root filesystem ----------------------------------------------------
# Keyed by its recipe (mkrootfs.sh, which holds the package list) and the
# versions of the kernel and hypervisor it must match.
key=$( { hash_inputs "$E2E_DIR/lib/mkrootfs.sh"; echo "$KVER $kimg_ver $xen_ver"; } | sha256sum | cut -c1-16)
ROOTFS_DIR="$CACHE/rootfs-$key"
ROOTFS_IMG="$CACHE/rootfs-$key.ext4"
if [ ! -s "$ROOTFS_IMG" ]; then
	log "building dom0 root filesystem ($key), about 3-6 minutes"
	XEN_VER=$xen_ver KTREE=$KTREE KIMG_VER=$kimg_ver VMLINUZ=$VMLINUZ \
		"$E2E_DIR/lib/mkrootfs.sh" "$ROOTFS_DIR" "$ROOTFS_IMG" >&2
fi
# Marks this generation as used now.
touch "$ROOTFS_IMG"
# Old generations go once nobody has used them for E2E_CACHE_KEEP_DAYS
# (default 2) days, and never one a running testbed boots (runs hold
# .use.lock shared). Keeping recently used ones matters: checkouts with
# different recipes (a branch and main) share the cache and would
# otherwise rebuild in turn.
if flock -x -n "$CACHE/.use.lock" true; then
	find "$CACHE" -maxdepth 1 -name 'rootfs-*.ext4' -mtime +"${E2E_CACHE_KEEP_DAYS:-2}" |
		while read -r old; do
			[ "$old" = "$ROOTFS_IMG" ] && continue
			log "removing dom0 root filesystem ${old##*/}, unused for ${E2E_CACHE_KEEP_DAYS:-2} days"
			rm -rf "$old" "${old%.ext4}"
		done || true
fi

# --- dom0 stage-1 initramfs: find the root disk, switch to it ---------------
ikey=$( { hash_inputs "$0" "$E2E_DIR/lib/stage1-init"; echo "$KVER $kimg_ver"; } | sha256sum | cut -c1-16)
INITRD="$CACHE/initrd-$ikey.cpio.gz"
if [ ! -s "$INITRD" ]; then
	t=$(mktemp -d)
	mkdir -p "$t"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$t/bin/busybox"
	file "$t/bin/busybox" 2>/dev/null | grep -q 'statically' || [ -x /bin/busybox ] || die "busybox-static missing"
	for m in virtio_pci virtio_blk ext4; do
		modprobe -d "$KTREE" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
	done | awk '!seen[$0]++' >"$t/order"
	while read -r ko; do cp "$ko" "$t/lib/modules/"; echo "/lib/modules/$(basename "$ko")"; done <"$t/order" >"$t/modules.order"
	rm "$t/order"
	install -m 0755 "$E2E_DIR/lib/stage1-init" "$t/init"
	(cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"; rm -rf "$t"
fi

cat <<VARS
XEN_ELF='$XEN_ELF'
VMLINUZ='$VMLINUZ'
KTREE='$KTREE'
ROOTFS_IMG='$ROOTFS_IMG'
ROOTFS_DIR='$ROOTFS_DIR'
INITRD='$INITRD'
XEN_VER='$xen_ver'
VARS
