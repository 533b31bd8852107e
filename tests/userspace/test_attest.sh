#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Attestation tests (issue 10): EK certificates at create, the host's CA,
# measured boot into PCR 4/5 and the verifier walk-through of
# Documentation/attestation.rst, run with its own two scripts
# (tests/attest/) against a real vtpmctl serve: tpm2-tools reach it through
# tpm_hub.py (tpm2-tss's cmd TCTI). Dom0's part of the walk-through only;
# the guest's runs in the testbed (tests/e2e/scenarios/attest.sh).
# Usage: test_attest.sh [TEST...]; prints "ok - NAME" / "FAIL - NAME".

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

GUEST=$TOP/tests/attest/attest-guest.sh
VERIFIER=$TOP/tests/attest/attest-verifier.sh
HUB="python3 $TOP/tests/userspace/tpm_hub.py"
NONCE=1f2e3d4c5b6a7988

# boot files of a pretend guest
mkboot() {
	head -c 300000 /dev/urandom >"$WORKDIR/vmlinuz"
	head -c 100000 /dev/urandom >"$WORKDIR/initrd"
}

# serve_measured UUID DOMID CMDLINE: serve on a socket as the guest DOMID
# would be served (DOMID changes the resume tag: a new guest boot), with the
# boot files measured; tpm2-tools reach it through the hub
serve_measured() {
	serve_socket "$1" "$WORKDIR/s" --domid "$2" --devid 0 --kernel "$WORKDIR/vmlinuz" \
		--ramdisk "$WORKDIR/initrd" --cmdline "$3" || return 1
	rm -f "$WORKDIR/hub"
	$HUB hub "$WORKDIR/s" "$WORKDIR/hub" 2>>"$WORKDIR/hub.log" &
	PIDS+=($!)
	wait_for_file "$WORKDIR/hub" || return 1
	export TPM2TOOLS_TCTI="cmd:$HUB pipe $WORKDIR/hub"
}

# the whole walk-through; $1: the CA the verifier trusts, $2: the command
# line it expects
walkthrough() {
	local g=$WORKDIR/g
	rm -rf "$g"; mkdir -p "$g"
	"$GUEST" evidence "$g" >"$WORKDIR/guest.log" 2>&1 || { cat "$WORKDIR/guest.log"; return 3; }
	"$VERIFIER" ek "$1" "$g" || return 1
	"$VERIFIER" challenge "$g" || return 1
	"$GUEST" activate "$g" >>"$WORKDIR/guest.log" 2>&1 || { cat "$WORKDIR/guest.log"; return 3; }
	"$GUEST" quote "$g" $NONCE >>"$WORKDIR/guest.log" 2>&1 || { cat "$WORKDIR/guest.log"; return 3; }
	"$VERIFIER" check "$g" $NONCE "$WORKDIR/vmlinuz" "$WORKDIR/initrd" "$2"
}

t_create_provisions_ek_certificates() {
	setup_key
	local u
	run_rc 0 "$VTPMCTL" --json create || return 1
	printf '%s' "$OUT" | grep -q '"ek_certificates": true' ||
		fail "create -j says ek_certificates" '"ek_certificates": true' "$OUT" || return 1
	u=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
	[ -s "$VTPM_CA_DIR/ca.pem" ] && [ -s "$VTPM_CA_DIR/ca.key" ] ||
		fail "CA made on first use" "$VTPM_CA_DIR/ca.pem, ca.key" "$(ls -A "$VTPM_CA_DIR")" || return 1
	# the CA key is not stored in the clear
	! openssl pkey -inform der -in "$VTPM_CA_DIR/ca.key" -noout 2>/dev/null ||
		fail "CA key encrypted" "not a readable key" "a plain DER key" || return 1
	run_rc 0 "$VTPMCTL" ca show --check || return 1
	printf '%s\n' "$OUT" >"$WORKDIR/ca.pem"
	mkboot
	serve_measured "$u" 1 "console=hvc0" || return 1
	local i
	for i in 0x01c00002 0x01c0000a 0x01c08000; do
		tpm2_nvreadpublic "$i" >"$WORKDIR/nvpub" 2>&1 || fail "NV index $i" "defined" "$(cat "$WORKDIR/nvpub")" || return 1
		# TCG EK profile attributes, written once and locked
		for a in ppwrite writedefine ppread ownerread authread no_da platformcreate writelocked written; do
			grep -q "$a" "$WORKDIR/nvpub" || fail "NV $i attribute $a" "$a" "$(cat "$WORKDIR/nvpub")" || return 1
		done
		tpm2_nvread "$i" -o "$WORKDIR/cert.der" 2>/dev/null || fail "tpm2_nvread $i" || return 1
		openssl verify -CAfile "$WORKDIR/ca.pem" "$WORKDIR/cert.der" >/dev/null ||
			fail "certificate in $i verifies against the CA" || return 1
	done
	# the guest cannot replace them: written once (WRITEDEFINE + locked)
	printf 'forged' >"$WORKDIR/forged"
	! tpm2_nvwrite 0x01c00002 -C p -i "$WORKDIR/forged" 2>/dev/null ||
		fail "EK certificate index locked" "NV_Write refused" "accepted" || return 1
	# the profile's fields
	openssl x509 -in "$WORKDIR/cert.der" -noout -text >"$WORKDIR/plat.txt" 2>&1
	grep -q '2.23.133.8.2' "$WORKDIR/plat.txt" || fail "platform certificate EKU" "2.23.133.8.2" "$(cat "$WORKDIR/plat.txt")" || return 1
	tpm2_nvread 0x01c00002 -o "$WORKDIR/rsa.der" 2>/dev/null
	openssl x509 -in "$WORKDIR/rsa.der" -noout -text >"$WORKDIR/rsa.txt"
	for f in 'Subject: *$' 'Subject Alternative Name: critical' '2.23.133.2.1=id:' \
		'Key Encipherment' '2.23.133.8.1' 'CA:FALSE' 'Not After : Dec 31 23:59:59 9999 GMT' \
		'Authority Key Identifier'; do
		grep -q "$f" "$WORKDIR/rsa.txt" || fail "RSA EK certificate field /$f/" "$f" "$(cat "$WORKDIR/rsa.txt")" || return 1
	done
}

t_walkthrough_passes_and_fails() {
	setup_key
	local u
	u=$("$VTPMCTL" create) || return 1
	"$VTPMCTL" ca show >"$WORKDIR/ca.pem" || return 1
	mkboot
	serve_measured "$u" 1 "console=hvc0 root=/dev/xvda1 ro" || return 1
	walkthrough "$WORKDIR/ca.pem" "console=hvc0 root=/dev/xvda1 ro" ||
		fail "walk-through with the right CA and boot files" || return 1
	# a verifier trusting another CA refuses the EK certificate
	VTPM_CA_DIR=$WORKDIR/otherca "$VTPMCTL" ca init >"$WORKDIR/other.pem" || return 1
	"$VERIFIER" ek "$WORKDIR/other.pem" "$WORKDIR/g" 2>"$WORKDIR/v.err" &&
		fail "walk-through with the wrong CA" "FAILED" "passed" || true
	grep -q "does not chain" "$WORKDIR/v.err" || fail "wrong CA named" "does not chain" "$(cat "$WORKDIR/v.err")" || return 1
	# a verifier expecting another command line, kernel or initrd refuses the PCRs
	"$VERIFIER" check "$WORKDIR/g" $NONCE "$WORKDIR/vmlinuz" "$WORKDIR/initrd" "console=hvc0" 2>"$WORKDIR/v.err" &&
		fail "check with another command line" "FAILED" "passed" || true
	grep -q "PCR 5: quoted" "$WORKDIR/v.err" || fail "PCR 5 mismatch named" "PCR 5: quoted" "$(cat "$WORKDIR/v.err")" || return 1
	"$VERIFIER" check "$WORKDIR/g" $NONCE "$WORKDIR/initrd" "$WORKDIR/initrd" "console=hvc0 root=/dev/xvda1 ro" 2>"$WORKDIR/v.err" &&
		fail "check with another kernel" "FAILED" "passed" || true
	grep -q "PCR 4: quoted" "$WORKDIR/v.err" || fail "PCR 4 mismatch named" "PCR 4: quoted" "$(cat "$WORKDIR/v.err")" || return 1
	# a stale nonce (a replayed quote) is refused
	"$VERIFIER" check "$WORKDIR/g" 00112233 "$WORKDIR/vmlinuz" "$WORKDIR/initrd" "console=hvc0 root=/dev/xvda1 ro" 2>/dev/null &&
		fail "check with another nonce" "FAILED" "passed" || true
	# an AK the credential was not made for (the secret does not match)
	head -c 32 /dev/urandom >"$WORKDIR/g/secret.out"
	"$VERIFIER" check "$WORKDIR/g" $NONCE "$WORKDIR/vmlinuz" "$WORKDIR/initrd" "console=hvc0 root=/dev/xvda1 ro" 2>/dev/null &&
		fail "check with a wrong activation" "FAILED" "passed" || true
	# the event log replays to the quoted PCRs (tpm2_eventlog)
	"$VTPMCTL" eventlog "$u" -o "$WORKDIR/ev.bin" || return 1
	tpm2_eventlog "$WORKDIR/ev.bin" 2>/dev/null >"$WORKDIR/ev.yaml" || fail "tpm2_eventlog parses it" || return 1
	local p5
	p5=$(tpm2_pcrread sha256:5 2>/dev/null | awk '/5 :/ {print tolower($3)}')
	grep -qi "5  : $p5" "$WORKDIR/ev.yaml" ||
		fail "event log replays to PCR 5" "$p5" "$(tail -12 "$WORKDIR/ev.yaml")"
}

t_other_cmdline_other_pcr5() {
	setup_key
	local u a b
	u=$("$VTPMCTL" create) || return 1
	mkboot
	serve_measured "$u" 1 "console=hvc0 quiet" || return 1
	a=$(tpm2_pcrread sha256:4,5 2>/dev/null)
	kill -TERM $SERVE_PID; wait_exit $SERVE_PID
	# the same vTPM, a new boot of its guest with another command line
	serve_measured "$u" 2 "console=hvc0 single" || return 1
	b=$(tpm2_pcrread sha256:4,5 2>/dev/null)
	[ "$(echo "$a" | grep ' 4 :')" = "$(echo "$b" | grep ' 4 :')" ] ||
		fail "same kernel, same PCR 4" "$a" "$b" || return 1
	[ "$(echo "$a" | grep ' 5 :')" != "$(echo "$b" | grep ' 5 :')" ] ||
		fail "another command line, another PCR 5" "different" "$b"
}

t_restart_keeps_measurement_interrupted_caps() {
	setup_key
	local u a b c
	u=$("$VTPMCTL" create) || return 1
	mkboot
	serve_measured "$u" 1 "console=hvc0" || return 1
	a=$(tpm2_pcrread sha256:4,5 2>/dev/null)
	# a killed server restarted for the same guest resumes: no second
	# measurement, the same PCRs
	kill -9 $SERVE_PID; wait $SERVE_PID 2>/dev/null
	serve_measured "$u" 1 "console=hvc0" || return 1
	b=$(tpm2_pcrread sha256:4,5 2>/dev/null)
	[ "$a" = "$b" ] || fail "PCRs after a restart under the same guest" "$a" "$b" || return 1
	# a server killed before the measurement completed (no marker): the
	# restarted one caps PCR 4/5, so they match no good value
	kill -9 $SERVE_PID; wait $SERVE_PID 2>/dev/null
	rm -f "$VTPM_RUN_DIR/$u.measured"
	serve_measured "$u" 1 "console=hvc0" || return 1
	c=$(tpm2_pcrread sha256:4,5 2>/dev/null)
	[ "$(echo "$a" | grep ' 4 :')" != "$(echo "$c" | grep ' 4 :')" ] ||
		fail "PCR 4 capped after an interrupted measurement" "changed" "$c" || return 1
	grep -q "capped with the error separator" "$WORKDIR/serve.log" ||
		fail "cap logged" "capped with the error separator" "$(tail -3 "$WORKDIR/serve.log")"
}

t_unreadable_kernel_caps() {
	setup_key
	local u out
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$WORKDIR/s" --kernel "$WORKDIR/no-such-kernel" --cmdline x || return 1
	out=$(client "$WORKDIR/s" pcrread:4)
	printf '%s' "$out" | grep -q "rc=0x0 0000000000000000000000000000000000000000000000000000000000000000" &&
		fail "PCR 4 not zero when the kernel cannot be read" "capped" "$out"
	grep -q "cannot read kernel $WORKDIR/no-such-kernel" "$WORKDIR/serve.log" ||
		fail "unreadable kernel named" "cannot read kernel" "$(cat "$WORKDIR/serve.log")"
}

t_ca_key_protected() {
	setup_key
	"$VTPMCTL" ca init >/dev/null || return 1
	run_rc 1 "$VTPMCTL" ca init && expect_err_line "a CA exists already" || return 1
	# another host key does not open it: create refuses, leaves no vTPM
	head -c 32 /dev/urandom >"$WORKDIR/other.key"
	VTPM_KEY_FILE=$WORKDIR/other.key run_rc 1 "$VTPMCTL" create --uuid 0aa00000-0000-4000-8000-000000000001 &&
		expect_err_line "does not open with this host's key" || return 1
	[ ! -e "$VTPM_STATE_DIR/0aa00000-0000-4000-8000-000000000001" ] ||
		fail "no half-made vTPM" "absent" "$(ls "$VTPM_STATE_DIR")" || return 1
	# a tampered key file or a swapped certificate is refused
	cp "$VTPM_CA_DIR/ca.key" "$WORKDIR/ca.key.good"
	printf '\x01' | dd of="$VTPM_CA_DIR/ca.key" bs=1 seek=60 conv=notrunc 2>/dev/null
	run_rc 1 "$VTPMCTL" ca show --check && expect_err_line "does not open" || return 1
	cp "$WORKDIR/ca.key.good" "$VTPM_CA_DIR/ca.key"
	VTPM_CA_DIR=$WORKDIR/ca2 "$VTPMCTL" ca init >/dev/null || return 1
	cp "$WORKDIR/ca2/ca.pem" "$VTPM_CA_DIR/ca.pem"
	run_rc 1 "$VTPMCTL" ca show --check && expect_err_line "does not open" || return 1
	# no CA without a host key to protect it; --plaintext vTPMs get none
	VTPM_KEY_FILE= VTPM_CA_DIR=$WORKDIR/ca3 run_rc 1 "$VTPMCTL" ca init &&
		expect_err_line "no host key" || return 1
	VTPM_KEY_FILE= run_rc 0 "$VTPMCTL" --json create --plaintext || return 1
	printf '%s' "$OUT" | grep -q '"ek_certificates": false' || fail "plaintext: no EK certificates" "false" "$OUT"
}

t_tpm12_unaffected() {
	setup_key
	local u out
	run_rc 0 "$VTPMCTL" --json create --tpm1.2 || return 1
	printf '%s' "$OUT" | grep -q '"ek_certificates": false' || fail "1.2: no EK certificates" "false" "$OUT" || return 1
	u=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
	mkboot
	serve_socket "$u" "$WORKDIR/s" --kernel "$WORKDIR/vmlinuz" --ramdisk "$WORKDIR/initrd" --cmdline "ro" || return 1
	# TPM 1.2 PCR_Read of PCR 4: SHA-1(zeros || SHA-1(kernel))
	out=$(client "$WORKDIR/s" raw:00c10000000e0000001500000004)
	local want
	want=$(python3 -c "import hashlib,sys; print(hashlib.sha1(bytes(20)+hashlib.sha1(open(sys.argv[1],'rb').read()).digest()).hexdigest())" "$WORKDIR/vmlinuz")
	printf '%s' "$out" | grep -q "$want" || fail "TPM 1.2 PCR 4 measured with SHA-1" "$want" "$out" || return 1
	"$VTPMCTL" eventlog "$u" -o "$WORKDIR/ev12" || return 1
	# three TCG 1.2 events: 32 bytes of header each plus their data
	[ "$(stat -c %s "$WORKDIR/ev12")" -gt 96 ] || fail "1.2 event log" ">96 bytes" "$(stat -c %s "$WORKDIR/ev12")"
}

# the first step of binding to the host's TPM: a swtpm plays dom0's TPM
t_host_tpm_vouches_for_ca() {
	setup_key
	local d=$WORKDIR/hosttpm h=$WORKDIR/h
	"$VTPMCTL" ca init >"$WORKDIR/ca.pem" || return 1
	mkdir -p "$d" "$h"
	swtpm socket --tpm2 --server type=unixio,path="$d/sock" \
		--ctrl type=unixio,path="$d/sock.ctrl" --tpmstate dir="$d" \
		--flags not-need-init,startup-clear --pid file="$d/pid" --daemon \
		2>>"$WORKDIR/swtpm.log" || fail "swtpm" "" "$(cat "$WORKDIR/swtpm.log")" || return 1
	PIDS+=("$(cat "$d/pid")")
	wait_for_file "$d/sock" || return 1
	TPM2TOOLS_TCTI="swtpm:path=$d/sock" "$TOP/tests/attest/attest-host.sh" quote "$WORKDIR/ca.pem" "$h" \
		>"$WORKDIR/host.log" 2>&1 || fail "attest-host.sh quote" "" "$(cat "$WORKDIR/host.log")" || return 1
	"$VERIFIER" host "$WORKDIR/ca.pem" "$h" >/dev/null || fail "host quote for the CA verifies" || return 1
	# for another CA it does not
	VTPM_CA_DIR=$WORKDIR/otherca "$VTPMCTL" ca init >"$WORKDIR/other.pem" || return 1
	"$VERIFIER" host "$WORKDIR/other.pem" "$h" 2>"$WORKDIR/v.err" &&
		fail "host quote checked against another CA" "FAILED" "passed" || true
	grep -q "not for this CA" "$WORKDIR/v.err" || fail "named" "not for this CA" "$(cat "$WORKDIR/v.err")"
}

t_eventlog_errors() {
	run_rc 2 "$VTPMCTL" eventlog && expect_err_line "want one UUID" || return 1
	run_rc 2 "$VTPMCTL" eventlog nope && expect_err_line "malformed uuid" || return 1
	run_rc 1 "$VTPMCTL" eventlog 0aa00000-0000-4000-8000-000000000009 && expect_err_line "no event log" || return 1
	run_rc 2 "$VTPMCTL" ca frob && expect_err_line 'unknown ca command' || return 1
}

command -v tpm2_createek >/dev/null && command -v openssl >/dev/null || {
	echo "FAIL - attest: tpm2-tools and openssl are needed (make deps)"
	exit 0
}
ALL=$(declare -F | awk '$3 ~ /^t_/ { print substr($3, 3) }')
[ $# -gt 0 ] && ALL="$*"
for t in $ALL; do
	rm -rf "$VTPM_STATE_DIR" "$VTPM_CA_DIR" "$WORKDIR/otherca" "$WORKDIR/ca2" "$WORKDIR/ca3" "$WORKDIR/serve.log" "$WORKDIR/s"
	if ( trap kill_test_processes EXIT; "t_$t" ); then
		echo "ok - attest $t"
	else
		echo "FAIL - attest $t"
		[ -f "$WORKDIR/serve.log" ] && sed "s/^/    serve.log: /" "$WORKDIR/serve.log" | tail -12
	fi
done
