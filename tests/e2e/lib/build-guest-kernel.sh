#!/bin/bash
# build-guest-kernel.sh OUT : a guest kernel for the testbed's IMA guest,
# copied to OUT. Linux 6.1 from Debian's linux-source (the testbed kernel's
# source) with frontend/patches/series applied and xen-tpmfront built in,
# configured by tests/e2e/lib/guest-kernel.config on top of tinyconfig.
#
# Cached in $CACHE/tpmfront/: the unpacked tree (linux/, kept while the
# tarball is the same), one build directory (incremental: a changed patch
# rebuilds one file) and vmlinuz-<key>, key = hash of the patches, the
# config fragment, this script and the tarball. First build: about 15
# minutes on 2 cores; later, seconds. Own lock, not the image build lock:
# other runs do not wait for it.
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=${1:?usage: build-guest-kernel.sh OUT}
TARBALL=${KUNIT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
[ -r "$TARBALL" ] || die "$TARBALL not found (apt-get install linux-source-6.1)"
C=$CACHE/tpmfront
mkdir -p "$C"
exec 6>"$C/.lock"
flock 6
frag=$E2E_DIR/lib/guest-kernel.config
stamp=$(stat -c '%s %Y' "$TARBALL")
key=$( { hash_inputs "$0" "$frag" "$TOP"/frontend/patches/*.patch "$TOP/frontend/patches/series"; echo "$stamp"; } |
	sha256sum | cut -c1-16)
img=$C/vmlinuz-$key
if [ ! -s "$img" ]; then
	src=$C/linux B=$C/build-guest
	if [ "$(cat "$C/.linux-stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$src/Makefile" ]; then
		log "guest kernel: unpacking $TARBALL (once)"
		rm -rf "$src" "$B" "$C/.linux-stamp"
		mkdir -p "$src"
		tar -C "$src" --strip-components=1 -xJf "$TARBALL" || die "unpacking $TARBALL failed"
		echo "$stamp" >"$C/.linux-stamp"
	fi
	# The patched driver, written only when it changed (make rebuilds by mtime).
	"$TOP/frontend/prepare.sh" "$C/frontend-src" || die "the frontend series does not apply"
	cmp -s "$C/frontend-src/xen-tpmfront.c" "$src/drivers/char/tpm/xen-tpmfront.c" ||
		cp "$C/frontend-src/xen-tpmfront.c" "$src/drivers/char/tpm/xen-tpmfront.c"
	if ! cmp -s "$frag" "$B/.fragment" 2>/dev/null; then
		log "guest kernel: configuring"
		mkdir -p "$B"
		make -s -C "$src" O="$B" ARCH=x86_64 tinyconfig >"$C/config.log" 2>&1 || die "tinyconfig failed ($C/config.log)"
		(cd "$src" && KCONFIG_CONFIG=$B/.config scripts/kconfig/merge_config.sh -m -O "$B" "$B/.config" "$frag") \
			>>"$C/config.log" 2>&1 || die "merging $frag failed ($C/config.log)"
		make -s -C "$src" O="$B" ARCH=x86_64 olddefconfig >>"$C/config.log" 2>&1 || die "olddefconfig failed"
		missing=
		for o in $(grep -o '^CONFIG_[A-Z0-9_]*=y' "$frag" | cut -d= -f1); do
			grep -qx "$o=y" "$B/.config" || missing+=" $o"
		done
		[ -z "$missing" ] || die "guest kernel config: not set:$missing (dependencies?)"
		cp "$frag" "$B/.fragment"
	fi
	log "guest kernel: building (first time ~15 min on 2 cores; log $C/build.log)"
	t0=$SECONDS
	nice make -C "$src" O="$B" ARCH=x86_64 -j"${E2E_JOBS:-2}" bzImage >"$C/build.log" 2>&1 ||
		die "building the guest kernel failed (see $C/build.log)"
	grep -q '^CONFIG_TCG_XEN=y' "$B/.config" || die "the guest kernel has no built-in xen-tpmfront"
	cp "$B/arch/x86/boot/bzImage" "$img.tmp" && mv "$img.tmp" "$img"
	log "guest kernel: built in $((SECONDS - t0)) s"
	# keep the newest three images
	ls -t "$C"/vmlinuz-* 2>/dev/null | tail -n +4 | xargs -r rm -f
fi
cp "$img" "$out"
