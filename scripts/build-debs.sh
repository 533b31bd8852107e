#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debs.sh [OUTDIR]: builds the Debian packages (xen-tpmback-dkms,
# vtpm-tools) with dpkg-buildpackage -us -uc -b from a copy of this tree,
# so that the checkout stays clean and the results do not land in its
# parent directory. Results: OUTDIR (default build/deb/) holds the .debs,
# the .changes and .buildinfo, and build.log. Prints the .changes path last.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$TOP/build/deb}

die() { echo "build-debs: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh dh_dkms rst2man; do
	command -v "$t" >/dev/null || die "$t is missing (make deps installs the build dependencies)"
done
ver=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version) || die "cannot read debian/changelog"
src=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Source)

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/$src-$ver"
rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$OUT/$src-$ver"
# What the tree holds: tracked and new files, not build output (.gitignore).
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$OUT/$src-$ver")
else
	(cd "$TOP" && tar --exclude=./build --exclude=.git -cf - .) | tar -C "$OUT/$src-$ver" -xf -
fi
dpkg-checkbuilddeps "$OUT/$src-$ver/debian/control" 2>&1 ||
	die "build dependencies missing (make deps)"
echo "build-debs: dpkg-buildpackage -us -uc -b in $OUT/$src-$ver (log: $OUT/build.log)"
if ! (cd "$OUT/$src-$ver" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -n 30 "$OUT/build.log" >&2
	die "dpkg-buildpackage failed (see $OUT/build.log)"
fi
rm -rf "$OUT/$src-$ver"
ls -1 "$OUT"/*.deb
ls -1 "$OUT"/*.changes
