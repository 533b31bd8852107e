#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turn the driver into the patch series a kernel maintainer would get, and
# check it the way they would:
#
#   scripts/mkpatches.sh [--no-build] [OUTDIR]
#
#   1. The kernel tree: Debian's linux-source tarball (the one kunit.sh
#      uses, matching the testbed's kernel), unpacked once into
#      ${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/mkpatches/ and kept
#      pristine as a git repository (commit "base").
#   2. The series, in OUTDIR (default build/patches/), by git format-patch
#      from commits made on top of "base":
#        0001 xen: the vTPM backend's userspace API (include/uapi/xen/,
#             the ioctl number)
#        0002 xen-tpmback: the driver, in drivers/xen/xen-tpmback/, with
#             its Kconfig and Makefile, and MAINTAINERS
#        0003 xen-tpmback: the KUnit suites in drivers/xen/xen-tpmback/tests/
#   3. Checks, each failing the run: the series applies to the pristine
#      tree (git am); checkpatch.pl --strict on every patch (no error,
#      warning or check); kernel-doc on every new source file; and
#      (unless --no-build) a W=1 C=2 (sparse) build of drivers/xen/xen-tpmback/
#      in two configurations: driver and KUnit suites built in (=y), and
#      both as modules (=m). Compiler and sparse warnings fail the run.
#
# First run: the tree is unpacked and committed (about a minute) and each
# configuration prepared (a few minutes on 2 cores); later runs rebuild
# only the driver. The last line is "mkpatches: N passed, M failed".
#
# Environment: VTPM_CACHE_DIR, KUNIT_LINUX_SOURCE (tarball, as kunit.sh),
# MKPATCHES_JOBS (make -j, default 2).

set -uo pipefail
# Debian's python3 (python3-ply for checkpatch's SPDX check), not a pyenv shim.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}/mkpatches
TARBALL=${KUNIT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${MKPATCHES_JOBS:-2}
BUILD=1
if [ "${1:-}" = --no-build ]; then BUILD=0; shift; fi
OUT=${1:-$REPO/build/patches}

AUTHOR="Seed 88cf3ec6 maintainers <maintainers@users.noreply.h-seed-88cf3ec6.example>"
GIT=(git -c user.name="${AUTHOR% <*}" -c user.email="$(echo "$AUTHOR" | sed 's/.*<\(.*\)>/\1/')"
	-c core.autocrlf=false -c advice.detachedHead=false)

passed=0 failed=0
pass() { echo "PASS $1${2:+: $2}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
finish() {
	echo "mkpatches: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
cannot_run() {
	echo "mkpatches: CANNOT RUN: $*" >&2
	fail setup "$*"
	finish
}

[ -r "$TARBALL" ] || cannot_run "$TARBALL not found (apt-get install linux-source-6.1)"
for tool in git make gcc flex bison bc perl sparse tar xz; do
	command -v "$tool" >/dev/null 2>&1 ||
		cannot_run "'$tool' is missing (scripts/install-deps.sh)"
done
mkdir -p "$CACHE" "$OUT" || cannot_run "cannot create $CACHE or $OUT"
exec 9>"$CACHE/.lock"
flock 9 || cannot_run "cannot lock $CACHE/.lock"

name=$(basename "$TARBALL")
name=${name%.tar.*}
TREE=$CACHE/$name
stamp=$(stat -c '%s %Y' "$TARBALL")

# --- 1. the pristine tree ----------------------------------------------------
if [ "$(cat "$CACHE/.unpacked" 2>/dev/null)" != "$stamp" ]; then
	echo "mkpatches: unpacking $TARBALL into $CACHE (once)"
	rm -rf "$TREE" "$CACHE"/build-*
	tar -C "$CACHE" -xJf "$TARBALL" || cannot_run "unpacking $TARBALL failed"
	[ -f "$TREE/Makefile" ] || cannot_run "$TARBALL did not unpack to $TREE"
	# Debian's .gitignore ignores everything at the top level ("/*").
	sed -i '/^\/\*$/d; /^!\/debian\/$/d' "$TREE/.gitignore"
	(cd "$TREE" && "${GIT[@]}" init -q && echo '/build-*' >>.git/info/exclude &&
		"${GIT[@]}" add -A &&
		"${GIT[@]}" commit -q -m base && "${GIT[@]}" tag -f base >/dev/null) ||
		cannot_run "cannot make a git repository of $TREE"
	echo "$stamp" >"$CACHE/.unpacked"
fi
cd "$TREE" || cannot_run "no $TREE"
"${GIT[@]}" am --abort >/dev/null 2>&1
"${GIT[@]}" checkout -q -f --detach base && "${GIT[@]}" clean -fdq ||
	cannot_run "cannot reset $TREE to base"
kver=$(make -s kernelversion 2>/dev/null)

# --- 2. the series -----------------------------------------------------------
D=drivers/xen/xen-tpmback
S=$REPO/drivers/xen-tpmback

commit() { # SUBJECT BODY-FILE
	"${GIT[@]}" add -A && "${GIT[@]}" commit -q -s -F "$2"
}

# 0001: the userspace API
mkdir -p include/uapi/xen
cp "$REPO/include/uapi/xen/tpmback.h" include/uapi/xen/tpmback.h
# Register the ioctl range next to tpm_vtpm_proxy's.
sed -i 's|^\(0xA1  0      linux/vtpm_proxy.h .*\)$|\1\n0xA1  10-1F  xen/tpmback.h                                             Xen virtual TPM backend|' \
	Documentation/userspace-api/ioctl/ioctl-number.rst
cat >"$CACHE/msg" <<'EOF'
xen: add the userspace API of the Xen virtual TPM backend

The Xen vTPM backend (xen-tpmback, next patch) serves each guest's TPM
commands to a userspace TPM server through /dev/xen/tpmback, one file
descriptor per vTPM, in the manner of tpm_vtpm_proxy: an fd is attached
to one backend device, then reads whole commands and writes whole
responses.

The ioctls take numbers 0x10 and 0x11 of tpm_vtpm_proxy's magic 0xA1,
which uses 0x00 only.
EOF
commit "" "$CACHE/msg"

# 0002: the driver
mkdir -p "$D"
for f in common.h protocol.h protocol.c tpmback.c xenbus.c chardev.c; do
	cp "$S/$f" "$D/$f"
done
{
	cat "$S/Kconfig"
	cat <<'EOF'

config XEN_TPMDEV_BACKEND_KUNIT_TEST
	tristate "KUnit tests for the Xen virtual TPM backend" if !KUNIT_ALL_TESTS
	depends on XEN_TPMDEV_BACKEND && KUNIT
	default KUNIT_ALL_TESTS
	help
	  KUnit suites for the pure part of the Xen vTPM backend
	  (protocol.c): shared page parsing, command and response
	  validation, TPM error responses, the xenbus state decisions and
	  the per-device command state machine.

	  If unsure, say N.
EOF
} >"$D/Kconfig"
sed -i 's/^# SPDX-License-Identifier: GPL-2.0-only$/# SPDX-License-Identifier: GPL-2.0-only/' "$D/Kconfig"
cat >"$D/Makefile" <<'EOF'
# SPDX-License-Identifier: GPL-2.0
obj-$(CONFIG_XEN_TPMDEV_BACKEND) += xen-tpmback.o
xen-tpmback-y := xenbus.o tpmback.o chardev.o protocol.o
obj-$(CONFIG_XEN_TPMDEV_BACKEND_KUNIT_TEST) += tests/
EOF
# source the Kconfig before the Xen menu's end, link the directory
awk -v src="source \"$D/Kconfig\"" '
	{ lines[NR] = $0 }
	/^endmenu/ { last = NR }
	END { for (i = 1; i <= NR; i++) { if (i == last) print src "\n"; print lines[i] } }
' drivers/xen/Kconfig >"$CACHE/Kconfig.new" && mv "$CACHE/Kconfig.new" drivers/xen/Kconfig
printf 'obj-$(CONFIG_XEN_TPMDEV_BACKEND)\t+= xen-tpmback/\n' >>drivers/xen/Makefile
# MAINTAINERS: after XEN SOUND FRONTEND DRIVER, in order
awk -v author="$AUTHOR" '
	/^XEN SOUND FRONTEND DRIVER/ { insnd = 1 }
	insnd && /^$/ && !done {
		print
		print "XEN VIRTUAL TPM BACKEND DRIVER"
		print "M:\t" author
		print "L:\txen-devel@lists.xenproject.org (moderated for non-subscribers)"
		print "L:\tlinux-integrity@vger.kernel.org"
		print "S:\tMaintained"
		print "F:\tdrivers/xen/xen-tpmback/"
		print "F:\tinclude/uapi/xen/tpmback.h"
		done = 1; insnd = 0; next
	}
	{ print }
' MAINTAINERS >"$CACHE/MAINTAINERS.new" && mv "$CACHE/MAINTAINERS.new" MAINTAINERS
grep -q '^XEN VIRTUAL TPM BACKEND DRIVER' MAINTAINERS || fail maintainers "no place found for the entry"
cat >"$CACHE/msg" <<'EOF'
xen-tpmback: add a Xen virtual TPM backend driver

Xen guests get a virtual TPM through the tpmif v2 protocol, which the
upstream xen-tpmfront driver speaks. Its backend has so far been a mini-os
stub domain per guest (vtpm-stubdom) behind a manager domain. This driver
is a backend in dom0 (or a driver domain) instead: it maps the guest's
shared page, validates each command and hands it to a userspace TPM
server through /dev/xen/tpmback, one fd per vTPM, as tpm_vtpm_proxy does;
the server (a libtpms-based process per vTPM) answers it.

The guest is not trusted: every field of its page is read once, state
first; the command is copied out before it is validated; a broken page
leaves the lateeoi event channel masked. A guest never hangs on its TPM:
when no server is attached in time, the server dies or stalls, the
backend answers with a TPM failure response itself, with deadlines per
command class (10 s, 120 s for key generation) and at most 5 s once the
toolstack asks the guest to suspend or shut down, so that a stalled
server never fails xl save, migration or shutdown. Teardown is keyed on
the connection, as in xen-blkback. The command state machine and the
xenbus state decisions are pure functions (protocol.c), tested by KUnit
(next patch).
EOF
commit "" "$CACHE/msg"

# 0003: the KUnit suites
mkdir -p "$D/tests"
tests=()
for f in "$REPO"/tests/kunit/*_test.c; do
	cp "$f" "$D/tests/"
	tests+=("$(basename "${f%.c}").o")
done
cp "$REPO/tests/kunit/.kunitconfig" "$D/tests/.kunitconfig"
{
	echo "# SPDX-License-Identifier: GPL-2.0"
	echo "ccflags-y += -I\$(srctree)/$D"
	echo "obj-\$(CONFIG_XEN_TPMDEV_BACKEND_KUNIT_TEST) += xen-tpmback-test.o"
	echo "xen-tpmback-test-y := ${tests[*]}"
} >"$D/tests/Makefile"
cat >"$CACHE/msg" <<'EOF'
xen-tpmback: add KUnit suites

The pure half of the backend, protocol.c, under test: shared page
parsing and writing, command and response validation, the TPM error
responses the backend makes up, the xenbus state graph and the work of
each step, and the per-device command state machine (watchdog, stale
responses, cancel, attach, detach, drain, disconnect) with its timeout
classes and the reconnect token bucket. The functions are exported to
the tests' namespace only (EXPORT_SYMBOL_IF_KUNIT).
EOF
commit "" "$CACHE/msg"

rm -f "$OUT"/*.patch
"${GIT[@]}" format-patch -q -o "$OUT" base..HEAD || cannot_run "git format-patch failed"
mapfile -t patches < <(ls "$OUT"/*.patch)
echo "mkpatches: ${#patches[@]} patches against $name ($kver) in $OUT ($SECONDS s)"

# --- 3. checks ---------------------------------------------------------------
"${GIT[@]}" checkout -q -f --detach base && "${GIT[@]}" clean -fdq
if "${GIT[@]}" am -q "${patches[@]}" >"$CACHE/am.log" 2>&1; then
	pass applies "git am of the series on $name ($SECONDS s)"
else
	fail applies "$(tail -n 3 "$CACHE/am.log" | tr '\n' ' ')"
	"${GIT[@]}" am --abort >/dev/null 2>&1
	finish
fi

# CAMELCASE: the XenbusState* names are Xen's ABI (enum xenbus_state), used
# by every Xen driver. FILE_PATH_CHANGES asks whether MAINTAINERS covers
# new files: answered below by get_maintainer.pl, file by file.
for p in "${patches[@]}"; do
	if scripts/checkpatch.pl --strict --quiet --show-types \
		--ignore CAMELCASE,FILE_PATH_CHANGES "$p" >"$CACHE/cp.log" 2>&1 &&
	   ! grep -qE '^(ERROR|WARNING|CHECK):|Traceback' "$CACHE/cp.log"; then
		pass checkpatch "$(basename "$p") ($SECONDS s)"
	else
		fail checkpatch "$(basename "$p")"
		sed 's/^/    /' "$CACHE/cp.log" | head -n 40
	fi
done

uncovered=
for f in $(git diff --name-only --diff-filter=A base..HEAD); do
	scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats -f "$f" 2>/dev/null |
		grep -q "maintainers@users.noreply" || uncovered+=" $f"
done
if [ -z "$uncovered" ]; then
	pass maintainers "every new file has the XEN VIRTUAL TPM BACKEND DRIVER entry ($SECONDS s)"
else
	fail maintainers "not covered:$uncovered"
fi

kd_files=$(git diff --name-only --diff-filter=A base..HEAD -- '*.c' '*.h')
# shellcheck disable=SC2086
if scripts/kernel-doc -none -Werror $kd_files >"$CACHE/kd.log" 2>&1 &&
	! grep -q . "$CACHE/kd.log"; then
	pass kernel-doc "$(echo "$kd_files" | wc -l) files ($SECONDS s)"
else
	fail kernel-doc
	sed 's/^/    /' "$CACHE/kd.log" | head -n 40
fi

build() { # y|m
	local v=$1 B=$TREE/build-$1 log=$CACHE/build-$1.log
	mkdir -p "$B"
	if [ ! -f "$B/.prepared" ]; then
		echo "mkpatches: preparing the =$v build in $B (first run only)"
		make -s O="$B" x86_64_defconfig >"$log" 2>&1 || { fail "build-$v" "defconfig"; return; }
	fi
	scripts/config --file "$B/.config" -e HYPERVISOR_GUEST -e PARAVIRT -e XEN \
		-e XEN_PV -e XEN_DOM0 -e XEN_BACKEND -e DEBUG_FS -e KUNIT \
		--set-val XEN_TPMDEV_BACKEND "$v" \
		--set-val XEN_TPMDEV_BACKEND_KUNIT_TEST "$v" \
		-e XEN_TPMDEV_BACKEND_FAULT_INJECTION
	make -s O="$B" olddefconfig >>"$log" 2>&1 || { fail "build-$v" "olddefconfig"; return; }
	if ! grep -qx "CONFIG_XEN_TPMDEV_BACKEND=$v" "$B/.config" ||
	   ! grep -qx "CONFIG_XEN_TPMDEV_BACKEND_KUNIT_TEST=$v" "$B/.config"; then
		fail "build-$v" "the configuration did not take XEN_TPMDEV_BACKEND=$v"
		return
	fi
	if [ ! -f "$B/.prepared" ]; then
		make -s -j"$JOBS" O="$B" prepare >>"$log" 2>&1 || {
			fail "build-$v" "make prepare (see $log)"; return; }
		touch "$B/.prepared"
	fi
	rm -rf "$B/$D"
	if make -j"$JOBS" O="$B" W=1 C=2 "$D/" >"$log.dir" 2>&1 &&
	   ! grep -E 'warning:|error:' "$log.dir" | grep -q .; then
		local objs
		objs=$(cd "$B/$D" && ls ./*.o tests/*.o 2>/dev/null | wc -l)
		pass "build-$v" "W=1 C=2, $objs objects, no warnings"
	else
		fail "build-$v" "W=1 C=2 (see $log.dir)"
		grep -E 'warning:|error:' "$log.dir" | head -n 30 | sed 's/^/    /'
	fi
}
if [ "$BUILD" = 1 ]; then
	build y
	build m
fi
finish
