#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module-deb.sh KVER DKMS_DEB [OUTDIR]: a binary module package,
# xen-tpmback-modules-KVER, from the xen-tpmback-dkms package: DKMS builds
# the module from the package's /usr/src tree for kernel KVER (its headers
# must be installed: /lib/modules/KVER/build), dpkg-buildpackage packages
# it (template: debian/module-template/). What "dkms mkbmdeb" did before
# DKMS 3. The DKMS tree is private: nothing is registered on this machine.
# OUTDIR defaults to the directory of DKMS_DEB. Prints the .deb's path.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "build-module-deb: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: build-module-deb.sh KVER DKMS_DEB [OUTDIR]"
kver=$1 dkmsdeb=$2
out=${3:-$(dirname "$dkmsdeb")}
[[ $kver =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "'$kver' is not a kernel version"
[ -f "$dkmsdeb" ] || die "no such package: $dkmsdeb"
[ "$(dpkg-deb -f "$dkmsdeb" Package)" = xen-tpmback-dkms ] || die "$dkmsdeb is not xen-tpmback-dkms"
[ -e "/lib/modules/$kver/build/Makefile" ] || die "no headers for $kver (apt-get install linux-headers-$kver)"
for t in dkms dpkg-buildpackage dh; do
	command -v "$t" >/dev/null || die "$t is missing (make deps)"
done
ver=$(dpkg-deb -f "$dkmsdeb" Version)
arch=$(dpkg --print-architecture)
mkdir -p "$out"; out=$(cd "$out" && pwd)

t=$(mktemp -d /tmp/vtpm-moddeb.XXXXXX)
trap 'rm -rf "$t"' EXIT
dpkg-deb -x "$dkmsdeb" "$t/root"
mkdir -p "$t/dkms"
if ! dkms build -m xen-tpmback -v "$ver" -k "$kver" \
	--sourcetree "$t/root/usr/src" --dkmstree "$t/dkms" >"$t/dkms.log" 2>&1; then
	cat "$t/dkms.log" >&2
	die "dkms build failed"
fi
ko=$(find "$t/dkms/xen-tpmback/$ver/$kver" -path '*/module/xen-tpmback.ko' | head -n1)
[ -n "$ko" ] || die "DKMS built no xen-tpmback.ko for $kver"
modinfo -F vermagic "$ko" | grep -q "^$kver " || die "the module's vermagic is not $kver"

src="$t/pkg/xen-tpmback-modules-$kver-$ver"
mkdir -p "$src/debian/source"
cp "$ko" "$src/xen-tpmback.ko"
T=$TOP/debian/module-template
date=$(date -R)
for f in control changelog postinst postrm; do
	sed -e "s/@KVER@/$kver/g" -e "s/@VERSION@/$ver/g" -e "s/@ARCH@/$arch/g" -e "s/@DATE@/$date/g" \
		"$T/$f.in" >"$src/debian/$f"
done
mv "$src/debian/postinst" "$src/debian/xen-tpmback-modules-$kver.postinst"
mv "$src/debian/postrm" "$src/debian/xen-tpmback-modules-$kver.postrm"
install -m 0755 "$T/rules" "$src/debian/rules"
cp "$T/source/format" "$src/debian/source/format"
cp "$TOP/debian/copyright" "$src/debian/copyright"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$t/build.log" 2>&1; then
	tail -n 30 "$t/build.log" >&2
	die "dpkg-buildpackage failed"
fi
deb=$(ls "$t/pkg"/xen-tpmback-modules-"${kver}"_"${ver}"_"$arch".deb)
cp "$deb" "$t/pkg"/*.changes "$t/pkg"/*.buildinfo "$out/"
echo "$out/$(basename "$deb")"
