#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/packaging/check.sh: the Debian packages and "make install".
#   - dpkg-buildpackage -us -uc -b builds xen-tpmback-dkms and vtpm-tools
#     (scripts/build-debs.sh, into a private directory);
#   - lintian on the .changes reports no errors (warnings are printed);
#   - the packages hold what the admin guide promises, the udev rule and
#     the unit name paths the package installs, the dependencies are right;
#   - DKMS builds the module from the -dkms package's own source tree for
#     the testbed kernel (a private DKMS tree: nothing registered on the host);
#   - the prebuilt module package (scripts/build-module-deb.sh) the testbed
#     installs: contents, relations, lintian;
#   - a version mismatch between debian/changelog and dkms.conf stops the
#     build with a clear message;
#   - make install/uninstall with DESTDIR and PREFIX.
# Prints PASS/FAIL per check and "N passed, N failed"; exit 0 when all pass.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
KVER=${TESTBED_KVER:-$("$TOP/scripts/testbed-kver.sh")}

npass=0 nfail=0
pass() { echo "PASS packaging:$1${2:+ ($2)}"; npass=$((npass + 1)); }
fail() { echo "FAIL packaging:$1: $2"; nfail=$((nfail + 1)); }
finish() { echo "packaging: $npass passed, $nfail failed"; [ "$nfail" -eq 0 ]; exit; }
# check NAME CMD...: PASS when CMD succeeds, else FAIL with its last output
check() {
	local name=$1 o; shift
	if o=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(tail -n 3 <<<"$o" | tr '\n' ' ')"; fi
}

tmp=$(mktemp -d /tmp/vtpm-pkgcheck.XXXXXX) || { fail setup mktemp; finish; }
trap 'rm -rf "$tmp"' EXIT
# A private output directory: two checks at once do not share one.
OUT=${DEB_OUT:-$tmp/deb}

# --- build ---------------------------------------------------------------------
t0=$SECONDS
if "$TOP/scripts/build-debs.sh" "$OUT" >"$tmp/build.out" 2>&1; then
	pass dpkg-buildpackage "$((SECONDS - t0)) s: $(grep -c '\.deb$' "$tmp/build.out") .debs"
else
	fail dpkg-buildpackage "$(tail -n 5 "$tmp/build.out" | tr '\n' ' ')"
	finish
fi
ver=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
changes=$(ls "$OUT"/xen-tpmback_"$ver"_*.changes)
tools=$(ls "$OUT"/vtpm-tools_"$ver"_*.deb)
dkmsdeb=$OUT/xen-tpmback-dkms_${ver}_all.deb

# --- lintian -------------------------------------------------------------------
lintian --fail-on error --display-info "$changes" >"$tmp/lintian.out" 2>&1
rc=$?
sed -i '/running with root privileges is not recommended/d' "$tmp/lintian.out"
nerr=$(grep -c '^E: ' "$tmp/lintian.out")
nwarn=$(grep -c '^W: ' "$tmp/lintian.out")
[ -s "$tmp/lintian.out" ] && sed 's/^/    lintian: /' "$tmp/lintian.out"
if [ $rc -eq 0 ] && [ "$nerr" -eq 0 ]; then
	pass lintian "0 errors, $nwarn warnings"
else
	fail lintian "rc $rc, $nerr errors"
fi

# --- contents --------------------------------------------------------------------
dpkg-deb -x "$tools" "$tmp/tools" && dpkg-deb -x "$dkmsdeb" "$tmp/dkms" ||
	{ fail unpack "dpkg-deb -x failed"; finish; }
T=$tmp/tools
has_all() { local f; for f in "$@"; do [ -e "$T$f" ] || { echo "missing $f"; return 1; }; done; }
check tools-files has_all /usr/sbin/vtpmctl /usr/share/man/man8/vtpmctl.8.gz \
	/usr/lib/vtpm/vtpm-hotplug /lib/udev/rules.d/80-xen-tpmback.rules \
	/lib/systemd/system/vtpm-serve@.service /etc/default/vtpm
# what the rule runs and what the unit starts are in the package
paths_resolve() {
	local p
	for p in $(grep -ho 'RUN+="[^ "]*' "$T"/lib/udev/rules.d/*.rules | cut -d'"' -f2) \
		$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$T"/lib/systemd/system/vtpm-serve@.service) \
		$(sed -n 's/^VTPMCTL=\${VTPMCTL:-\(.*\)}$/\1/p' "$T"/usr/lib/vtpm/vtpm-hotplug); do
		[ -x "$T$p" ] || { echo "$p is named but not in the package"; return 1; }
	done
}
check paths-resolve paths_resolve
check man-page sh -c "zcat '$T/usr/share/man/man8/vtpmctl.8.gz' | grep -q '^.TH \"*VTPMCTL'"
check conffile sh -c "dpkg-deb -f '$tools' Package >/dev/null && dpkg-deb -e '$tools' '$tmp/ctl' && grep -qx /etc/default/vtpm '$tmp/ctl/conffiles'"
check no-state-shipped sh -c "! dpkg-deb -c '$tools' | grep -E '\./(var/lib|etc)/vtpm/'"
deps=$(dpkg-deb -f "$tools" Depends)
check tools-depends sh -c "for d in udev libtpms0 libssl3 libc6; do echo '$deps' | grep -q \"\\b\$d\\b\" || { echo \"Depends lacks \$d: $deps\"; exit 1; }; done"
check vtpmctl-runs "$T/usr/sbin/vtpmctl" --version
check dkms-depends sh -c "dpkg-deb -f '$dkmsdeb' Depends | grep -q '^dkms'"
D=$tmp/dkms/usr/src/xen-tpmback-${ver%%-*}
check dkms-conf-version grep -qx "PACKAGE_VERSION=\"${ver%%-*}\"" "$D/dkms.conf"

# --- DKMS builds the module from the package's source ------------------------------
# A private DKMS tree (--dkmstree/--sourcetree): nothing is added to the
# host's DKMS state. The kernel is the testbed's (its headers are a build
# dependency of the project).
if [ -d "/lib/modules/$KVER/build" ]; then
	mkdir -p "$tmp/dkmstree"
	t0=$SECONDS
	if dkms build -m xen-tpmback -v "${ver%%-*}" -k "$KVER" \
		--sourcetree "$tmp/dkms/usr/src" --dkmstree "$tmp/dkmstree" >"$tmp/dkms.out" 2>&1; then
		ko=$(find "$tmp/dkmstree" -name 'xen-tpmback.ko*' -path '*/module/*' | head -n1)
		if [ -n "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$KVER "; then
			pass dkms-build "$((SECONDS - t0)) s, vermagic $KVER"
		else
			fail dkms-build "no module for $KVER in the DKMS tree"
		fi
	else
		fail dkms-build "$(tail -n 4 "$tmp/dkms.out" | tr '\n' ' ')"
	fi
else
	fail dkms-build "no headers for $KVER (/lib/modules/$KVER/build; make deps)"
fi

# --- the prebuilt module package the testbed installs ------------------------------
# scripts/build-module-deb.sh: DKMS builds the module from the -dkms package,
# dpkg-buildpackage packages it as xen-tpmback-modules-<kernel>.
t0=$SECONDS
if moddeb=$("$TOP/scripts/build-module-deb.sh" "$KVER" "$dkmsdeb" "$OUT" 2>"$tmp/moddeb.err"); then
	pass module-deb "$((SECONDS - t0)) s: $(basename "$moddeb")"
	mp=/lib/modules/$KVER/updates/xen-tpmback.ko
	check module-deb-contents sh -c "dpkg-deb -c '$moddeb' | grep -q ' \.$mp\$' &&
		dpkg-deb -x '$moddeb' '$tmp/mod' && modinfo -F vermagic '$tmp/mod$mp' | grep -q '^$KVER ' &&
		modinfo -F alias '$tmp/mod$mp' | grep -qx 'xen-backend:vtpm'"
	check module-deb-relations sh -c "dpkg-deb -f '$moddeb' Provides | grep -qx xen-tpmback-modules &&
		dpkg-deb -f '$moddeb' Conflicts | grep -qx xen-tpmback-dkms"
	lintian --fail-on error "$OUT/xen-tpmback-modules-${KVER}_${ver}_"*.changes >"$tmp/lintian-mod.out" 2>&1
	rc=$?
	sed -i '/running with root privileges is not recommended/d' "$tmp/lintian-mod.out"
	[ -s "$tmp/lintian-mod.out" ] && sed 's/^/    lintian: /' "$tmp/lintian-mod.out"
	if [ $rc -eq 0 ]; then
		pass lintian-module-deb "0 errors, $(grep -c '^W: ' "$tmp/lintian-mod.out") warnings"
	else
		fail lintian-module-deb "rc $rc, $(grep -c '^E: ' "$tmp/lintian-mod.out") errors"
	fi
else
	fail module-deb "$(tail -n 3 "$tmp/moddeb.err" | tr '\n' ' ')"
fi
# bad input: a kernel that has no headers here
if "$TOP/scripts/build-module-deb.sh" 0.0.0-nonexistent "$dkmsdeb" "$tmp/x" >/dev/null 2>"$tmp/bad.err"; then
	fail module-deb-bad-kernel "built a package for a kernel without headers"
else
	check module-deb-bad-kernel grep -q 'no headers for 0.0.0-nonexistent' "$tmp/bad.err"
fi

# --- a version mismatch is refused, clearly ----------------------------------------
mkdir -p "$tmp/mm"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
	xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | cpio -0 -pdm --quiet "$tmp/mm/src") 2>/dev/null ||
	cp -a "$TOP/." "$tmp/mm/src"
sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="9.9"/' "$tmp/mm/src/dkms.conf"
if (cd "$tmp/mm/src" && dpkg-buildpackage -us -uc -b) >"$tmp/mm.out" 2>&1; then
	fail version-mismatch "a dkms.conf saying 9.9 built a $ver package"
elif grep -q "version mismatch" "$tmp/mm.out"; then
	pass version-mismatch "$(grep -m1 -o 'version mismatch.*' "$tmp/mm.out" | cut -c1-100)"
else
	fail version-mismatch "failed without saying why: $(tail -n 2 "$tmp/mm.out" | tr '\n' ' ')"
fi

# --- make install / uninstall ------------------------------------------------------
di=$tmp/destdir
if make -s -C "$TOP" install DESTDIR="$di" PREFIX=/usr/local >"$tmp/inst.out" 2>&1; then
	pass make-install
else
	fail make-install "$(tail -n 3 "$tmp/inst.out" | tr '\n' ' ')"
fi
check install-prefix sh -c "grep -q 'RUN+=\"/usr/local/lib/vtpm/vtpm-hotplug add' '$di/etc/udev/rules.d/80-xen-tpmback.rules' &&
	grep -q '^ExecStart=/usr/local/sbin/vtpmctl ' '$di/etc/systemd/system/vtpm-serve@.service' &&
	[ -x '$di/usr/local/lib/vtpm/vtpm-hotplug' ] && [ -x '$di/usr/local/sbin/vtpmctl' ] &&
	! grep -rq '/usr/lib/vtpm\|/usr/sbin/vtpmctl' '$di/etc' '$di/usr/local/lib/vtpm'"
check install-state-dirs sh -c "[ \"\$(stat -c %a '$di/var/lib/vtpm')\" = 700 ] && [ \"\$(stat -c %a '$di/etc/vtpm')\" = 700 ]"
echo 'VTPM_SERVE_ARGS="--wait 60"' >"$di/etc/default/vtpm"
make -s -C "$TOP" install DESTDIR="$di" PREFIX=/usr/local >/dev/null 2>&1
check install-keeps-defaults grep -q 'wait 60' "$di/etc/default/vtpm"
make -s -C "$TOP" install-dkms DESTDIR="$di" >/dev/null 2>&1
check install-dkms test -f "$di/usr/src/xen-tpmback-${ver%%-*}/dkms.conf" -a -f "$di/usr/src/xen-tpmback-${ver%%-*}/drivers/xen-tpmback/xenbus.c"
make -s -C "$TOP" uninstall DESTDIR="$di" PREFIX=/usr/local >/dev/null 2>&1
check uninstall sh -c "! find '$di/usr/local' '$di/etc/udev' '$di/etc/systemd' -type f | grep ."
finish
