#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Userspace tests: libvtpm (C, real libtpms), the bundle plaintext's parser
# (C, test_bundle.c), vtpmctl (shell, real
# processes over the socket transport) and vtpmctl manager (the host key
# sealed to a swtpm started by the test) and attestation (EK certificates,
# measured boot, the verifier walk-through: test_attest.sh). Entry point
# of `make check-unit`.
# The last line is "N passed, N failed"; exit status non-zero on failure.
#
#   tests/userspace/run.sh [-v]        everything
#   CRASH_ROUNDS=200 run.sh            more kill -9 rounds
#   KEEP_TMP=1 run.sh                  keep the temp dirs
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
V=
[ "${1:-}" = "-v" ] && V=-v

passed=0
failed=0
count() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok - "*)	passed=$((passed + 1)) ;;
		"FAIL - "*)	failed=$((failed + 1)) ;;
		esac
	done
}

build() {
	make -s -C "$TOP/lib/libvtpm" -j2 >/dev/null &&
	make -s -C "$TOP/tools/vtpmctl" vtpmctl >/dev/null &&
	gcc -Wall -Wextra -O2 -g -I"$TOP/lib/libvtpm/include" \
		-o "$HERE/test_libvtpm" "$HERE/test_libvtpm.c" \
		"$TOP/lib/libvtpm/libvtpm.a" -ltpms -lcrypto -lkeyutils &&
	gcc -Wall -Wextra -O2 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-I"$TOP/tools/vtpmctl" -o "$HERE/test_bundle" "$HERE/test_bundle.c" \
		"$TOP/tools/vtpmctl/bundle_split.c" &&
	gcc -Wall -O2 -shared -fPIC -o "$HERE/evil_preload.so" "$HERE/evil_preload.c" -ldl
}

if build; then
	echo "ok - build libvtpm, vtpmctl, test_libvtpm, test_bundle"
	passed=$((passed + 1))
else
	echo "FAIL - build libvtpm, vtpmctl, test_libvtpm, test_bundle"
	echo "0 passed, 1 failed"
	exit 1
fi

# exit 1: its FAIL lines say what; anything else: it died (a sanitizer
# report, a signal) before it could say, which counts too
count < <(ASAN_OPTIONS=detect_leaks=0:exitcode=99 UBSAN_OPTIONS=exitcode=99 \
	"$HERE/test_bundle" 2>&1; rc=$?
	[ "$rc" -le 1 ] || echo "FAIL - bundle_split: test_bundle died (exit $rc)")
count < <("$HERE/test_libvtpm" $V 2>&1 | grep -v '^[0-9]* passed, [0-9]* failed$')
count < <("$HERE/test_vtpmctl.sh" 2>&1)
count < <("$HERE/test_manager.sh" 2>&1)
count < <("$HERE/test_attest.sh" 2>&1)

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
