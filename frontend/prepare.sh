#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
#   frontend/prepare.sh OUTDIR
#
# Writes the patched xen-tpmfront's source to OUTDIR, ready for
# "make -C <kernel build dir> M=OUTDIR" or for DKMS: xen-tpmfront.c and the
# TPM core's private tpm.h as the kernel ships them, the patches of
# frontend/patches/series applied in order, and Kbuild and dkms.conf.
#
# The kernel's source: an unpacked tree named by LINUX_SRC, else Debian's
# linux-source tarball (KUNIT_LINUX_SOURCE, default
# /usr/src/linux-source-6.1.tar.xz), whose two files are extracted once
# into ${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/tpmfront/.
# A patch that does not apply fails the run and names the patch.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: frontend/prepare.sh OUTDIR}
files=(drivers/char/tpm/xen-tpmfront.c drivers/char/tpm/tpm.h)

if [ -n "${LINUX_SRC:-}" ]; then
	src=$LINUX_SRC
else
	tarball=${KUNIT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
	[ -r "$tarball" ] || { echo "prepare.sh: $tarball not found (apt-get install linux-source-6.1, or set LINUX_SRC)" >&2; exit 1; }
	name=$(basename "$tarball"); name=${name%.tar.*}
	cache=${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/tpmfront
	stamp=$(stat -c '%s-%Y' "$tarball")
	src=$cache/pristine-$stamp/$name
	if [ ! -f "$src/${files[0]}" ] || [ ! -f "$src/${files[1]}" ]; then
		mkdir -p "$cache"
		tmp=$(mktemp -d "$cache/.pristine.XXXXXX")
		tar -C "$tmp" -xJf "$tarball" "${files[@]/#/$name/}" ||
			{ rm -rf "$tmp"; echo "prepare.sh: cannot extract ${files[*]} from $tarball" >&2; exit 1; }
		rm -rf "$cache/pristine-$stamp"
		mv "$tmp" "$cache/pristine-$stamp"
	fi
fi
for f in "${files[@]}"; do
	[ -f "$src/$f" ] || { echo "prepare.sh: $src/$f missing" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/a/drivers/char/tpm"
for f in "${files[@]}"; do cp "$src/$f" "$out/a/$f"; done
while read -r p; do
	case $p in '' | '#'*) continue ;; esac
	patch -d "$out/a" -p1 --quiet --forward --no-backup-if-mismatch \
		<"$HERE/patches/$p" >"$out/patch.log" 2>&1 ||
		{ echo "prepare.sh: $p does not apply: $(tr '\n' ' ' <"$out/patch.log")" >&2; exit 1; }
done <"$HERE/patches/series"
mv "$out"/a/drivers/char/tpm/* "$out/"
rm -rf "$out/a" "$out/patch.log"
cp "$HERE/Kbuild" "$HERE/dkms.conf" "$out/"
