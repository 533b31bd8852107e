#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side's patch series (frontend/patches/, for Linux's
# drivers/char/tpm/xen-tpmfront.c), checked the way a maintainer would:
#
#   scripts/mkpatches-tpmfront.sh
#
#   1. series: every patch in frontend/patches/ is listed in the series
#      file, in order, and every listed patch exists;
#   2. applies: git am of the series on the pristine kernel tree that
#      scripts/mkpatches.sh keeps (Debian's linux-source, the testbed
#      kernel's version; made by running mkpatches.sh --no-build first when
#      it is not there yet);
#   3. checkpatch: checkpatch.pl --strict on every patch, no error, warning
#      or check;
#   4. build: frontend/prepare.sh, then an out-of-tree W=1 C=2 (sparse)
#      build of the patched xen-tpmfront.ko against the testbed kernel's
#      headers (KDIR); a compiler or sparse warning fails it; the module's
#      vermagic must name the testbed kernel.
#
# The last line is "mkpatches-tpmfront: N passed, M failed".
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/mkpatches
TARBALL=${KUNIT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
KVER=${TESTBED_KVER:-$("$REPO/scripts/testbed-kver.sh" 2>/dev/null)}
KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
P=$REPO/frontend/patches
GIT=(git -c user.name=mkpatches -c user.email=mkpatches@localhost
	-c core.autocrlf=false -c advice.detachedHead=false)

passed=0 failed=0
pass() { echo "PASS $1${2:+: $2}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
finish() {
	echo "mkpatches-tpmfront: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
cannot_run() {
	echo "mkpatches-tpmfront: CANNOT RUN: $*" >&2
	fail setup "$*"
	finish
}

[ -n "$KVER" ] || cannot_run "no testbed kernel version (scripts/testbed-kver.sh)"
[ -f "$KDIR/Makefile" ] || cannot_run "$KDIR missing (linux-headers-$KVER; scripts/install-deps.sh)"
for tool in git make gcc sparse patch; do
	command -v "$tool" >/dev/null 2>&1 || cannot_run "'$tool' is missing (scripts/install-deps.sh)"
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# --- 1. series -----------------------------------------------------------------
listed=$(grep -v -e '^#' -e '^$' "$P/series" 2>/dev/null)
present=$(cd "$P" && ls -- *.patch 2>/dev/null)
if [ -n "$listed" ] && [ "$listed" = "$present" ]; then
	pass series "$(echo "$listed" | wc -l) patches, all listed in order"
else
	fail series "frontend/patches/series and the *.patch files differ"
	diff <(echo "$listed") <(echo "$present") | sed 's/^/    /'
fi
mapfile -t patches < <(echo "$listed" | sed "s|^|$P/|")

# --- 2. applies (on mkpatches.sh's pristine tree) --------------------------------
name=$(basename "$TARBALL"); name=${name%.tar.*}
TREE=$CACHE/$name
if [ ! -d "$TREE/.git" ] || [ "$(cat "$CACHE/.unpacked" 2>/dev/null)" != "$(stat -c '%s %Y' "$TARBALL" 2>/dev/null)" ]; then
	"$REPO/scripts/mkpatches.sh" --no-build "$work/backend" >"$work/mkpatches.log" 2>&1
	[ -d "$TREE/.git" ] || cannot_run "no kernel tree in $TREE (scripts/mkpatches.sh: $(tail -n 2 "$work/mkpatches.log" | tr '\n' ' '))"
fi
exec 9>"$CACHE/.lock"
flock 9 || cannot_run "cannot lock $CACHE/.lock"
cd "$TREE" || cannot_run "no $TREE"
"${GIT[@]}" am --abort >/dev/null 2>&1
"${GIT[@]}" checkout -q -f --detach base && "${GIT[@]}" clean -fdq ||
	cannot_run "cannot reset $TREE to base"
if "${GIT[@]}" am -q "${patches[@]}" >"$work/am.log" 2>&1; then
	pass applies "git am of ${#patches[@]} patches on $name ($(make -s kernelversion 2>/dev/null))"
else
	fail applies "$(tail -n 3 "$work/am.log" | tr '\n' ' ')"
	"${GIT[@]}" am --abort >/dev/null 2>&1
fi

# --- 3. checkpatch -------------------------------------------------------------------
for p in "${patches[@]}"; do
	if scripts/checkpatch.pl --strict --quiet --show-types "$p" >"$work/cp.log" 2>&1 &&
	   ! grep -qE '^(ERROR|WARNING|CHECK):|Traceback' "$work/cp.log"; then
		pass checkpatch "$(basename "$p")"
	else
		fail checkpatch "$(basename "$p")"
		sed 's/^/    /' "$work/cp.log" | head -n 40
	fi
done
# Leave the shared tree as mkpatches.sh expects to find it.
"${GIT[@]}" checkout -q -f --detach base && "${GIT[@]}" clean -fdq
flock -u 9

# --- 4. build against the testbed kernel --------------------------------------------
if "$REPO/frontend/prepare.sh" "$work/src" 2>"$work/prep.log"; then
	if make -C "$KDIR" M="$work/src" W=1 C=2 modules >"$work/build.log" 2>&1 &&
	   ! grep -E 'warning:|error:' "$work/build.log" | grep -q .; then
		vm=$(modinfo -F vermagic "$work/src/xen-tpmfront.ko" 2>/dev/null)
		if [ "${vm%% *}" = "$KVER" ]; then
			pass build "xen-tpmfront.ko for $KVER, W=1 C=2, no warnings"
		else
			fail build "vermagic '$vm' does not name $KVER"
		fi
	else
		fail build "W=1 C=2 against $KDIR"
		grep -E 'warning:|error:' "$work/build.log" | head -n 30 | sed 's/^/    /'
	fi
else
	fail build "frontend/prepare.sh: $(cat "$work/prep.log")"
fi
finish
