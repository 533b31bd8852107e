#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the xen-tpmback KUnit suites (tests/kunit/) in UML.
#
# KUnit cannot run against Debian's own kernel (it is built without it),
# so this builds a User-Mode Linux kernel from Debian's linux-source
# tarball with the suites linked in:
#
#   - the tarball is unpacked once into the cache directory, outside the
#     checkout: ${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/kunit/
#   - this repository is linked into that tree as drivers/xen-tpmback-oot,
#     with one "source" line in drivers/Kconfig and one obj- line in
#     drivers/Makefile (added once, idempotent);
#   - kunit.py builds in kunit/build/ and rebuilds only what changed.
#
# First run: about 4-5 minutes on 2 cores; later runs about 10 s.
# Exit status: 0 when every case passed; 1 on any failure; 2 when the
# suites cannot run at all (said loudly on stderr).
#
# Environment:
#   VTPM_CACHE_DIR      cache root (default /var/tmp/xen-tpmback-cache)
#   KUNIT_LINUX_SOURCE  tarball (default /usr/src/linux-source-6.1.tar.xz)
#   KUNIT_JOBS          make -j (default 2)
# Extra arguments go to "kunit.py run" (e.g. a suite glob: 'xen_tpmback_page').

set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/kunit
TARBALL=${KUNIT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${KUNIT_JOBS:-2}

cannot_run() {
	echo "kunit.sh: CANNOT RUN the xen-tpmback KUnit suites: $*" >&2
	echo "kunit.sh: NO TESTS WERE RUN" >&2
	exit 2
}

[ -r "$TARBALL" ] ||
	cannot_run "$TARBALL not found (apt-get install linux-source-6.1)"
for tool in python3 make gcc flex bison bc tar xz; do
	command -v "$tool" >/dev/null 2>&1 ||
		cannot_run "'$tool' is missing (see scripts/install-deps.sh)"
done

mkdir -p "$CACHE" || cannot_run "cannot create $CACHE"

# One run at a time per cache: the tree and the build are shared.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9 || cannot_run "cannot lock $CACHE/.lock"
fi

name=$(basename "$TARBALL")
name=${name%.tar.*}
TREE=$CACHE/$name
BUILD=$CACHE/build

# Unpacked again (and rebuilt) whenever the tarball changes (a Debian update).
stamp=$(stat -c '%s %Y' "$TARBALL")
if [ "$(cat "$TREE/.unpacked" 2>/dev/null)" != "$stamp" ]; then
	echo "kunit.sh: unpacking $TARBALL into $CACHE"
	rm -rf "$BUILD"
	rm -rf "$TREE"
	tar -C "$CACHE" -xJf "$TARBALL" || cannot_run "unpacking $TARBALL failed"
	[ -f "$TREE/Makefile" ] || cannot_run "$TARBALL did not unpack to $TREE"
	echo "$stamp" >"$TREE/.unpacked"
fi

# Link this checkout into the tree (re-pointed on every run, so that two
# checkouts sharing a cache each test their own code).
ln -sfn "$REPO" "$TREE/drivers/xen-tpmback-oot"

kconfig_line='source "drivers/xen-tpmback-oot/tests/kunit/Kconfig"'
if ! grep -qF "$kconfig_line" "$TREE/drivers/Kconfig"; then
	# Insert before the menu's closing "endmenu" (the file's last line).
	sed -i '$d' "$TREE/drivers/Kconfig"
	printf '%s\n\nendmenu\n' "$kconfig_line" >>"$TREE/drivers/Kconfig"
fi
make_line='obj-$(CONFIG_XEN_TPMDEV_BACKEND_KUNIT_TEST) += xen-tpmback-oot/tests/kunit/'
grep -qF "$make_line" "$TREE/drivers/Makefile" ||
	printf '%s\n' "$make_line" >>"$TREE/drivers/Makefile"

log=$CACHE/last-run.log
echo "kunit.sh: building and running in UML (build dir $BUILD, log $log)"
set +e
(cd "$TREE" && python3 tools/testing/kunit/kunit.py run \
	--build_dir="$BUILD" \
	--kunitconfig="$REPO/tests/kunit/.kunitconfig" \
	--jobs="$JOBS" "$@") >"$log" 2>&1
rc=$?
set -e

summary=$(grep -E 'Testing complete\.' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
	tail -n 40 "$log" >&2
	cannot_run "kunit.py did not complete (exit $rc); full log in $log"
fi

# The per-case lines, then the summary.
grep -E '^\[[0-9:]+\] (=+ |\[(PASSED|FAILED|SKIPPED|CRASHED)\])' "$log" || true
if [ "$rc" -ne 0 ] || printf '%s\n' "$summary" | grep -qE 'failed|crashed|errors|Ran 0 tests'; then
	grep -E 'FAILED|CRASHED|Expected|but' "$log" | head -n 40 >&2 || true
	echo "$summary"
	echo "kunit.sh: FAILED (kunit.py exit $rc); full log in $log" >&2
	exit 1
fi
echo "$summary"
