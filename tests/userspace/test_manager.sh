#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vtpmctl manager tests: the host key sealed to a real TPM 2.0 (swtpm,
# started here, reached through tpm2-tss's swtpm TCTI over a unix socket),
# unlocked into the kernel keyring, served, and the rollback anchor in the
# TPM's NV counter across simulated host reboots.
# Usage: test_manager.sh [TEST...]; prints "ok - NAME" / "FAIL - NAME".

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

D32=$(printf 'ab%.0s' $(seq 1 32))
E32=$(printf 'cd%.0s' $(seq 1 32))

# TPM mode: no key file, a sealed key in the work dir, a keyring
# description of our own (root's user keyring is shared with every other
# test running on this machine)
unset VTPM_KEY_FILE
export VTPM_KEY_FILE=
export VTPM_SEALED_KEY=$WORKDIR/etc/host-key.sealed
export VTPM_HOST_KEY_DESC="libvtpm:hostkey:$WORKDIR/"

# start_swtpm NAME: a TPM 2.0 with its state in $WORKDIR/NAME, its pid in
# SWTPM_PID, and VTPM_TCTI pointing at it. A running one is stopped first
# (same state: a host reboot, PCRs reset, NV kept).
start_swtpm() {
	local d=$WORKDIR/$1 i
	stop_swtpm "$1"
	mkdir -p "$d/state"
	# --daemon: not a job of this shell (no "Killed" notices); the
	# pidfile goes to PIDS, killed with the test's other processes
	swtpm socket --tpm2 --server type=unixio,path="$d/sock" \
		--ctrl type=unixio,path="$d/sock.ctrl" --tpmstate dir="$d/state" \
		--flags not-need-init,startup-clear --pid file="$d/pid" --daemon \
		2>>"$WORKDIR/swtpm.log" || fail "swtpm $1 did not start" "" "$(cat "$WORKDIR/swtpm.log")" || return 1
	SWTPM_PID=$(cat "$d/pid")
	PIDS+=("$SWTPM_PID")
	export VTPM_TCTI="swtpm:path=$d/sock"
	for i in $(seq 1 100); do
		[ -S "$d/sock" ] && return 0
		sleep 0.05
	done
	fail "swtpm $1 did not start" "" "$(cat "$WORKDIR/swtpm.log")"
}

stop_swtpm() {
	local d=$WORKDIR/$1 p
	[ -s "$d/pid" ] || return 0
	p=$(cat "$d/pid")
	kill -TERM "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
	rm -f "$d/pid" "$d/sock" "$d/sock.ctrl"
}

# the kernel keyring and the run directory as a host reboot leaves them:
# empty. The TPM is power-cycled (PCRs reset, NV kept).
reboot_host() {
	kill_test_processes
	drop_anchor_keys
	rm -rf "$VTPM_RUN_DIR"
	start_swtpm "${1:-tpm}"
}

host_key_in_keyring() {
	keyctl search @u user "$VTPM_HOST_KEY_DESC" >/dev/null 2>&1
}

nv_counter() {
	"$VTPMCTL" -j manager status | python3 -c 'import json,sys; print(json.load(sys.stdin).get("nv_counter", "none"))'
}

# a vTPM's state files, for "left untouched"
state_sum() {
	(cd "$VTPM_STATE_DIR" && find . -type f ! -name lock -print0 | sort -z | xargs -0 sha256sum)
}

init_unlock() {
	run_rc 0 "$VTPMCTL" manager init "$@" || return 1
	CODE=$(printf '%s\n' "$OUT" | grep -Eo '[0-9a-f]{4}(-[0-9a-f]{4}){7}')
	[ -n "$CODE" ] || fail "recovery code printed" "xxxx-...-xxxx" "$OUT" || return 1
	run_rc 0 "$VTPMCTL" manager unlock
}

t_manager_help() {
	run_rc 0 "$VTPMCTL" manager help || return 1
	printf '%s' "$OUT" | grep -q '^Usage: vtpmctl manager init' || fail "usage" "Usage: vtpmctl manager init" "$OUT" || return 1
	run_rc 2 "$VTPMCTL" manager || return 1
	run_rc 2 "$VTPMCTL" manager frob && expect_err_line 'unknown command "frob"' || return 1
	run_rc 2 "$VTPMCTL" manager init --pcrs 7,x && expect_err_line 'bad PCR list' || return 1
	run_rc 2 "$VTPMCTL" manager init --pcrs 24 && expect_err_line 'bad PCR list' || return 1
	run_rc 2 "$VTPMCTL" manager unlock --recovery 12-34 && expect_err_line 'malformed recovery code'
}

# No TPM: init refuses with one clear error and points at key-file mode.
t_no_tpm_refused() {
	VTPM_TCTI="swtpm:path=$WORKDIR/nothing" run_rc 1 "$VTPMCTL" manager init || return 1
	printf '%s\n' "$ERR" | grep -q "^Error: no TPM 2.0 reachable through \"swtpm:path=$WORKDIR/nothing\"" ||
		fail "error" "no TPM 2.0 reachable" "$ERR" || return 1
	printf '%s\n' "$ERR" | grep -q "key-file mode" || fail "points at key-file mode" "key-file mode" "$ERR" || return 1
	VTPM_TCTI="device:$WORKDIR/tpmrm0" run_rc 1 "$VTPMCTL" manager init || return 1
	[ ! -e "$VTPM_SEALED_KEY" ] || fail "sealed key written without a TPM" || return 1
	run_rc 0 "$VTPMCTL" manager status || return 1
	printf '%s\n' "$OUT" | grep -q '^mode: *none' || fail "status mode" "none" "$OUT" || return 1
	# key-file mode is explicit, and serve says so loudly
	VTPM_KEY_FILE=$WORKDIR/state.key run_rc 0 "$VTPMCTL" keygen || return 1
	VTPM_KEY_FILE=$WORKDIR/state.key run_rc 0 "$VTPMCTL" -j manager status || return 1
	printf '%s\n' "$OUT" | grep -q '"mode": "keyfile"' || fail "status mode" keyfile "$OUT" || return 1
	local u s=$WORKDIR/s
	u=$(VTPM_KEY_FILE=$WORKDIR/state.key "$VTPMCTL" create) || return 1
	VTPM_KEY_FILE=$WORKDIR/state.key serve_socket "$u" "$s" || return 1
	client "$s" getrandom:8 >/dev/null
	wait_exit $SERVE_PID
	grep -q "key-file mode: the state key is the plain file $WORKDIR/state.key, not sealed" "$WORKDIR/serve.log" ||
		fail "loud key-file mode line" "key-file mode: ..." "$(cat "$WORKDIR/serve.log")"
}

# init + unlock + a vTPM whose NV survives a host reboot (lock at
# shutdown, unlock at boot), served in TPM mode; the NV write budget.
t_init_unlock_serve_reboot() {
	local u s=$WORKDIR/s out c0 c1 c2 c3
	start_swtpm tpm || return 1
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "cannot read the sealed host key" || return 1
	init_unlock || return 1
	expect_eq "sealed key mode" 600 "$(stat -c %a "$VTPM_SEALED_KEY")" || return 1
	host_key_in_keyring || fail "host key in the keyring after unlock" || return 1
	run_rc 1 "$VTPMCTL" manager init && expect_err_line "is initialised already" || return 1
	run_rc 0 "$VTPMCTL" -j manager status && is_json "$OUT" || return 1
	for want in '"mode": "tpm"' '"unlocked": true' '"key_matches": true' '"pcrs": "none"' \
		    '"anchor_state": "open"' '"anchor_current": true'; do
		printf '%s' "$OUT" | grep -q "$want" || fail "status" "$want" "$OUT" || return 1
	done
	c0=$(nv_counter)
	u=$("$VTPMCTL" create) || return 1
	"$VTPMCTL" show "$u" | grep -q 'encryption:  aes-256-gcm' || fail "encrypted with the host key" || return 1
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" nvdefine:1500020:8 nvwrite:1500020:0102030405060708 nvread:1500020:8 bench:1000)
	printf '%s\n' "$out" | grep -q '^nvread rc=0x0 0102030405060708' || fail "NV in TPM mode" "0102030405060708" "$out" || return 1
	wait_exit $SERVE_PID || return 1
	# ten guest sessions, each writing NV
	for i in $(seq 1 10); do
		serve_socket "$u" "$s" || return 1
		client "$s" nvwrite:1500020:$(printf '%016x' "$i") >/dev/null || return 1
		wait_exit $SERVE_PID
	done
	c1=$(nv_counter)
	expect_eq "host NV writes for a create and 1000+ guest commands" 0 $((c1 - c0)) || return 1
	"$VTPMCTL" destroy "$("$VTPMCTL" create)" || return 1
	expect_eq "host NV writes for a create and a destroy" 0 $(($(nv_counter) - c1)) || return 1
	# shutdown: servers gone, then lock; boot: unlock
	run_rc 0 "$VTPMCTL" manager lock || return 1
	host_key_in_keyring && fail "host key still in the keyring after lock" && return 1
	c2=$(nv_counter)
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	c3=$(nv_counter)
	echo "    METRIC host_nv_writes_per_boot $((c3 - c1)) (lock $((c2 - c1)), unlock $((c3 - c2))); per create+destroy 0; per 1000 guest commands 0"
	expect_eq "host NV writes per boot (lock + unlock)" 2 $((c3 - c1)) || return 1
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" nvread:1500020:8)
	expect_eq "NV after a host reboot" "nvread rc=0x0 000000000000000a" "$out" || return 1
	wait_exit $SERVE_PID || return 1
	# unlock twice in one boot: nothing to do, no NV write
	run_rc 0 "$VTPMCTL" manager unlock && expect_eq "second unlock" "already unlocked" "$OUT" || return 1
	expect_eq "no NV write for a second unlock" "$c3" "$(nv_counter)"
}

# Which key: a sealed key means TPM mode; an explicit key file wins, and
# a vTPM of the other mode does not open with it. lock without unlock
# fails; status is JSON in every state.
t_key_mode_precedence() {
	local u s=$WORKDIR/s
	start_swtpm tpm || return 1
	run_rc 0 "$VTPMCTL" -j manager status && is_json "$OUT" || return 1
	run_rc 1 "$VTPMCTL" manager lock && expect_err_line "not unlocked" || return 1
	run_rc 0 "$VTPMCTL" manager init || return 1
	run_rc 0 "$VTPMCTL" -j manager status && is_json "$OUT" || return 1
	run_rc 1 "$VTPMCTL" create && expect_err_line "the host key is locked" || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	u=$("$VTPMCTL" create) || return 1
	VTPM_KEY_FILE=$WORKDIR/state.key "$VTPMCTL" keygen >/dev/null || return 1
	VTPM_KEY_FILE=$WORKDIR/state.key run_rc 0 "$VTPMCTL" -j manager status || return 1
	printf '%s' "$OUT" | grep -q '"mode": "keyfile"' || fail "explicit key file wins" keyfile "$OUT" || return 1
	VTPM_KEY_FILE=$WORKDIR/state.key serve_socket "$u" "$s" --fail-unknown --domid 9 --devid 0 || return 1
	expect_eq "TPM-mode vTPM with the key file" "getrandom rc=0x101 80010000000a00000101" "$(client "$s" getrandom:8)" || return 1
	wait_exit $SERVE_PID
	grep -q "key does not open this vTPM state" "$WORKDIR/serve.log" || fail "serve log" "key does not open" "$(cat "$WORKDIR/serve.log")" || return 1
	run_rc 0 "$VTPMCTL" -j manager status && is_json "$OUT" || return 1
	printf '%s' "$OUT" | grep -q '"mode": "tpm"' || fail "sealed key: TPM mode" tpm "$OUT"
}

# The systemd case: unlock, create and serve each with a fresh anonymous
# session keyring (as a unit gets with systemd's default KeyringMode=
# private), none possessing root's user keyring: the server finds the host
# key and the rollback anchors the others put there.
t_session_keyring() {
	local u s=$WORKDIR/s out
	start_swtpm tpm || return 1
	run_rc 0 "$VTPMCTL" manager init || return 1
	run_rc 0 keyctl session - "$VTPMCTL" manager unlock || return 1
	u=$(keyctl session - "$VTPMCTL" create 2>/dev/null) || return 1
	cp -a "$VTPM_STATE_DIR/$u" "$WORKDIR/old" || return 1
	rm -f "$s"
	keyctl session - "$VTPMCTL" serve --socket "$s" --uuid "$u" --wait 20 2>>"$WORKDIR/serve.log" &
	SERVE_PID=$!; PIDS+=("$SERVE_PID")
	wait_for_file "$s" || return 1
	out=$(client "$s" nvdefine:1500021:4 nvwrite:1500021:c0ffee00)
	printf '%s\n' "$out" | grep -q '^nvwrite rc=0x0' || fail "served under a session keyring" "nvwrite rc=0x0" "$out" || return 1
	wait_exit $SERVE_PID || return 1
	# an older copy put back within the boot: the anchor, read from the
	# session keyring, refuses it
	rm -rf "${VTPM_STATE_DIR:?}/$u" && cp -a "$WORKDIR/old" "$VTPM_STATE_DIR/$u" || return 1
	rm -f "$s"
	keyctl session - "$VTPMCTL" serve --socket "$s" --uuid "$u" --wait 20 >"$WORKDIR/out" 2>&1 &
	SERVE_PID=$!; PIDS+=("$SERVE_PID")
	wait_for_file "$s" || return 1
	client "$s" getrandom:8 >/dev/null 2>&1
	wait_exit $SERVE_PID && fail "serve of a rolled-back vTPM exits 1" && return 1
	grep -q "rollback refused" "$WORKDIR/out" || fail "rollback refused under a session keyring" "rollback refused" "$(cat "$WORKDIR/out")"
}

# The same state with a different host TPM: unlock refused naming the
# reason, the guest gets TPM failures (no fresh TPM), files untouched.
t_different_tpm_refused() {
	local u s=$WORKDIR/s out before
	start_swtpm tpm || return 1
	init_unlock || return 1
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500022:4 nvwrite:1500022:11223344 >/dev/null
	wait_exit $SERVE_PID || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	cp "$VTPM_SEALED_KEY" "$VTPM_SEALED_KEY.orig"
	stop_swtpm tpm
	reboot_host other || return 1
	before=$(state_sum)
	run_rc 1 "$VTPMCTL" manager unlock || return 1
	expect_err_line "cannot unseal the host key ($VTPM_SEALED_KEY): sealed by a different TPM" || return 1
	host_key_in_keyring && fail "host key in the keyring" && return 1
	# the kernel-attached path (--fail-unknown): TPM failures, no new TPM
	serve_socket "$u" "$s" --fail-unknown --domid 3 --devid 0 || return 1
	out=$(client "$s" getrandom:8 nvread:1500022:4)
	expect_eq "guest sees failures" "getrandom rc=0x101 80010000000a00000101
nvread rc=0x101 80010000000a00000101" "$out" || return 1
	wait_exit $SERVE_PID
	grep -q "host key \"$VTPM_HOST_KEY_DESC\" is not in the kernel keyring" "$WORKDIR/serve.log" ||
		fail "serve log names the reason" "host key ... not in the kernel keyring" "$(cat "$WORKDIR/serve.log")" || return 1
	grep -q "cannot open vTPM $u" "$WORKDIR/serve.log" ||
		fail "serve log names the uuid" "cannot open vTPM $u" "$(cat "$WORKDIR/serve.log")" || return 1
	expect_eq "state untouched" "$before" "$(state_sum)" || return 1
	# the mainboard was replaced: the recovery code and --reanchor
	run_rc 1 "$VTPMCTL" manager unlock --recovery "$CODE" || return 1
	printf '%s' "$ERR" | grep -q "not the TPM the host key was sealed to" || fail "recovery on another TPM" "not the TPM ..." "$ERR" || return 1
	run_rc 0 "$VTPMCTL" manager unlock --recovery "$CODE" --reanchor || return 1
	run_rc 0 "$VTPMCTL" manager reseal || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV on the new TPM after recovery" "nvread rc=0x0 11223344" "$(client "$s" nvread:1500022:4)" || return 1
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host other || return 1
	run_rc 0 "$VTPMCTL" manager unlock || fail "unlock on the new TPM after reseal" 0 "$ERR" || return 1
	"$VTPMCTL" manager lock >/dev/null || return 1
	cp "$VTPM_SEALED_KEY.orig" "$VTPM_SEALED_KEY" || return 1
	# back on its own TPM (and its own sealed key): the anchor now lives in
	# the other TPM's counter, so only --reanchor takes the state back
	reboot_host tpm || return 1
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "bound to another TPM's NV counter" || return 1
	run_rc 0 "$VTPMCTL" manager unlock --reanchor || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV on the right TPM" "nvread rc=0x0 11223344" "$(client "$s" nvread:1500022:4)"
}

# Sealed to PCR 7; PCR 7 changes (a firmware update): unlock refused
# naming the policy, the recovery code opens it, reseal binds the new value.
t_pcr_policy_and_recovery() {
	local u s=$WORKDIR/s
	start_swtpm tpm || return 1
	init_unlock --pcrs 7 || return 1
	"$VTPMCTL" manager status | grep -q '^pcrs: *7$' || fail "status shows PCR 7" || return 1
	u=$("$VTPMCTL" create) || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	tpm2_pcrextend -T "$VTPM_TCTI" 7:sha256=$D32 || fail "tpm2_pcrextend" || return 1
	run_rc 1 "$VTPMCTL" manager unlock || return 1
	expect_err_line "the PCR policy does not match" || return 1
	printf '%s' "$ERR" | grep -q -- "--recovery CODE" || fail "points at the recovery code" || return 1
	host_key_in_keyring && fail "host key in the keyring" && return 1
	run_rc 1 "$VTPMCTL" manager unlock --recovery 0000-0000-0000-0000-0000-0000-0000-0000 &&
		expect_err_line "the recovery code does not open the host key" || return 1
	run_rc 0 "$VTPMCTL" manager unlock --recovery "$CODE" || return 1
	host_key_in_keyring || fail "host key in the keyring after recovery" || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" getrandom:8 | grep -q '^getrandom rc=0x0' || fail "served after recovery" || return 1
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager reseal || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	# a reboot resets PCR 7; the firmware measures the same new value again
	reboot_host tpm || return 1
	tpm2_pcrextend -T "$VTPM_TCTI" 7:sha256=$D32 || return 1
	run_rc 0 "$VTPMCTL" manager unlock || fail "unlock after reseal" 0 "$ERR" || return 1
	# and the recovery code still works after a reseal
	keyctl invalidate "$(keyctl search @u user "$VTPM_HOST_KEY_DESC")"
	tpm2_pcrextend -T "$VTPM_TCTI" 7:sha256=$E32 || return 1
	run_rc 1 "$VTPMCTL" manager unlock || return 1
	run_rc 0 "$VTPMCTL" manager unlock --recovery "$CODE"
}

# A damaged or tampered sealed key file: one clear error, nothing unsealed.
t_tampered_sealed_key() {
	local k=$VTPM_SEALED_KEY
	start_swtpm tpm || return 1
	run_rc 0 "$VTPMCTL" manager init || return 1
	cp "$k" "$WORKDIR/good"
	printf '\x55' | dd of="$k" bs=1 seek=300 conv=notrunc 2>/dev/null
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "fails its checksum: damaged or tampered with" || return 1
	head -c 400 "$WORKDIR/good" >"$k"
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "is truncated (400 bytes): damaged or tampered with" || return 1
	cp "$WORKDIR/good" "$k"; printf 'x' >>"$k"
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "has 1 bytes appended" || return 1
	# an attacker who fixes up the checksum: the TPM refuses the object...
	python3 - "$WORKDIR/good" "$k" <<'EOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
off = 16
for _ in range(2):
    off += 2 + struct.unpack('<H', b[off:off + 2])[0]
b[off + 2 + 40] ^= 1                       # inside TPM2B_PRIVATE
o = len(b) - 64
b[o:o + 32] = hashlib.sha256(bytes(b[:o])).digest()
open(sys.argv[2], 'wb').write(b)
EOF
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "does not load under this TPM's storage key: damaged or tampered with" || return 1
	# ...and what the TPM does not cover (NV index, recovery) fails the MAC
	python3 - "$WORKDIR/good" "$k" <<'EOF'
import hashlib, sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[8] ^= 1                                  # the NV index
o = len(b) - 64
b[o:o + 32] = hashlib.sha256(bytes(b[:o])).digest()
open(sys.argv[2], 'wb').write(b)
EOF
	run_rc 1 "$VTPMCTL" manager unlock && expect_err_line "was altered (its MAC does not verify under the host key)" || return 1
	host_key_in_keyring && fail "host key in the keyring" && return 1
	cp "$WORKDIR/good" "$k"
	run_rc 0 "$VTPMCTL" manager unlock
}

# An older copy of one vTPM's directory put back while the host is down:
# refused after the reboot (the keyring anchors are gone; the TPM-anchored
# file is not), naming the uuid; the guest gets failures; files untouched.
t_rollback_one_vtpm_across_reboot() {
	local u u2 s=$WORKDIR/s out before
	start_swtpm tpm || return 1
	init_unlock || return 1
	u=$("$VTPMCTL" create) || return 1
	u2=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500023:4 nvwrite:1500023:00000001 >/dev/null
	wait_exit $SERVE_PID
	cp -a "$VTPM_STATE_DIR/$u" "$WORKDIR/copy" || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvwrite:1500023:00000002 >/dev/null
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager lock || return 1
	# host down: the older copy goes back
	stop_swtpm tpm
	rm -rf "${VTPM_STATE_DIR:?}/$u" && cp -a "$WORKDIR/copy" "$VTPM_STATE_DIR/$u" || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	before=$(state_sum)
	printf '%s\n' "$ERR" | grep -q "vTPM $u: its state (generation [0-9]*) is older than the anchored generation [0-9]*: put back to an older copy; refused" ||
		fail "unlock reports the rolled-back vTPM" "vTPM $u: ... older ..." "$ERR" || return 1
	serve_socket "$u" "$s" --fail-unknown --domid 5 --devid 0 || return 1
	out=$(client "$s" nvread:1500023:4)
	expect_eq "guest sees a failure, not the old NV" "nvread rc=0x101 80010000000a00000101" "$out" || return 1
	wait_exit $SERVE_PID
	grep -q "vTPM $u: permanent state generation [0-9]* is older than generation [0-9]* seen before: rollback refused" "$WORKDIR/serve.log" ||
		fail "serve log" "rollback refused" "$(cat "$WORKDIR/serve.log")" || return 1
	expect_eq "state untouched" "$before" "$(state_sum)" || return 1
	# the other vTPM is served
	serve_socket "$u2" "$s" || return 1
	client "$s" getrandom:8 | grep -q '^getrandom rc=0x0' || fail "the other vTPM is served"
	wait_exit $SERVE_PID
	# destroyed and created again with the same uuid: a new TPM, anchored anew
	"$VTPMCTL" destroy "$u" || return 1
	"$VTPMCTL" create --uuid "$u" >/dev/null || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" getrandom:8 | grep -q '^getrandom rc=0x0' || fail "re-created vTPM served after a reboot" || return 1
	wait_exit $SERVE_PID
	# a destroyed vTPM put back while the host is down is refused too
	cp -a "$VTPM_STATE_DIR/$u2" "$WORKDIR/copy2" || return 1
	"$VTPMCTL" destroy "$u2" || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	cp -a "$WORKDIR/copy2" "$VTPM_STATE_DIR/$u2" || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	printf '%s\n' "$ERR" | grep -q "vTPM $u2: not in the anchor" || fail "resurrected vTPM reported" "vTPM $u2: not in the anchor" "$ERR" || return 1
	serve_socket "$u2" "$s" --fail-unknown --domid 7 --devid 0 || return 1
	out=$(client "$s" getrandom:8)
	expect_eq "resurrected vTPM: the guest sees a failure" "getrandom rc=0x101 80010000000a00000101" "$out" || return 1
	wait_exit $SERVE_PID
	grep -q "vTPM $u2: not among the vTPMs the manager anchored" "$WORKDIR/serve.log" ||
		fail "resurrected vTPM refused" "not among ..." "$(cat "$WORKDIR/serve.log")"
}

# The whole state root (anchor file included) put back to an older copy
# while the host is down: unlock refuses, every guest gets failures.
t_rollback_whole_state_root() {
	local u s=$WORKDIR/s out
	start_swtpm tpm || return 1
	init_unlock || return 1
	u=$("$VTPMCTL" create) || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	cp -a "$VTPM_STATE_DIR" "$WORKDIR/copy" || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500024:4 nvwrite:1500024:00000002 >/dev/null
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager lock || return 1
	stop_swtpm tpm
	rm -rf "$VTPM_STATE_DIR" && cp -a "$WORKDIR/copy" "$VTPM_STATE_DIR" || return 1
	reboot_host tpm || return 1
	run_rc 1 "$VTPMCTL" manager unlock || return 1
	expect_err_line "rollback anchor refused: the anchor file .* was written at NV counter value [0-9]*, the TPM's counter is at [0-9]*: the vTPM state (or the whole $VTPM_STATE_DIR) was put back" || return 1
	host_key_in_keyring && fail "host key in the keyring" && return 1
	serve_socket "$u" "$s" --fail-unknown --domid 6 --devid 0 || return 1
	out=$(client "$s" nvread:1500024:4)
	expect_eq "guest sees a failure" "nvread rc=0x101 80010000000a00000101" "$out" || return 1
	wait_exit $SERVE_PID
	# the admin who knows why accepts the state on disk, loudly
	run_rc 0 "$VTPMCTL" manager unlock --reanchor || return 1
	printf '%s' "$ERR" | grep -q "WARNING: .*--reanchor" || fail "reanchor is loud" "WARNING" "$ERR"
}

# A power loss (no lock): the next unlock warns and accepts the state as
# it is (the anchor of the unfinished boot is a lower bound).
t_unclean_shutdown() {
	local u s=$WORKDIR/s
	start_swtpm tpm || return 1
	init_unlock || return 1
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500025:4 nvwrite:1500025:00000003 >/dev/null
	wait_exit $SERVE_PID
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	printf '%s' "$ERR" | grep -q "previous boot ended without \"manager lock\"" || fail "unclean boot warned" "" "$ERR" || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV after power loss" "nvread rc=0x0 00000003" "$(client "$s" nvread:1500025:4)"
}

# A crash between writing an anchor file and moving the counter (the
# fault injected): the next unlock (or lock) accepts that anchor, finishes
# the move and never reuses its counter value.
t_crash_between_anchor_and_counter() {
	local c
	start_swtpm tpm || return 1
	init_unlock || return 1
	c=$(nv_counter)
	VTPM_TEST_CRASH_BEFORE_INCREMENT=1 run_rc 3 "$VTPMCTL" manager lock || return 1
	expect_eq "counter not moved" "$c" "$(nv_counter)" || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	printf '%s' "$ERR" | grep -q "previous boot ended without" && fail "the lock's anchor was taken as clean" "" "$ERR" && return 1
	expect_eq "counter: the lost increment, then this boot's (not reusing a value)" $((c + 2)) "$(nv_counter)" || return 1
	VTPM_TEST_CRASH_BEFORE_INCREMENT=1 run_rc 3 "$VTPMCTL" manager lock || return 1
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock
}

# rotate: a new host key for every vTPM, a new recovery code; refused
# while a vTPM is served; a rotation cut short is finished by unlock.
t_rotate() {
	local u s=$WORKDIR/s out old_code new_code
	start_swtpm tpm || return 1
	init_unlock || return 1
	old_code=$CODE
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	bg_client "$WORKDIR/hold" "$s" nvdefine:1500026:4 nvwrite:1500026:0badf00d hold
	wait_for_line "$WORKDIR/hold" nvwrite || return 1
	run_rc 1 "$VTPMCTL" manager rotate && expect_err_line "vTPM $u is being served by pid $SERVE_PID" || return 1
	kill -TERM $SERVE_PID; wait_exit $SERVE_PID; kill $BG_PID 2>/dev/null
	keyctl pipe "$(keyctl search @u user "$VTPM_HOST_KEY_DESC")" >"$WORKDIR/oldkey" || return 1
	run_rc 0 "$VTPMCTL" manager rotate || return 1
	# neither slot opens with the old key any more
	VTPM_KEY_FILE=$WORKDIR/oldkey run_rc 1 "$VTPMCTL" serve --socket "$s" --uuid "$u" --wait 0 &
	sleep 0.3; client "$s" getrandom:8 >/dev/null 2>&1; wait $!
	grep -q "key does not open this vTPM state" "$WORKDIR/err" || fail "old key refused" "key does not open" "$(cat "$WORKDIR/err")" || return 1
	new_code=$(printf '%s\n' "$OUT" | grep -Eo '[0-9a-f]{4}(-[0-9a-f]{4}){7}')
	[ -n "$new_code" ] && [ "$new_code" != "$old_code" ] || fail "new recovery code" "a new code" "$OUT" || return 1
	"$VTPMCTL" -j manager status | grep -q '"key_matches": true' || fail "status after rotate" || return 1
	# the EK certificates' CA key follows the host key (issue 10)
	run_rc 0 "$VTPMCTL" ca show --check || return 1
	[ ! -e "$VTPM_CA_DIR/ca.key.next" ] || fail "ca.key.next left after rotate" || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV after rotate" "nvread rc=0x0 0badf00d" "$(client "$s" nvread:1500026:4)" || return 1
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	run_rc 1 "$VTPMCTL" manager unlock --recovery "$old_code" && expect_err_line "recovery code does not open" || return 1
	run_rc 0 "$VTPMCTL" manager unlock --recovery "$new_code" || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV after rotate and reboot" "nvread rc=0x0 0badf00d" "$(client "$s" nvread:1500026:4)" || return 1
	wait_exit $SERVE_PID
	# cut short after the anchor moved to the new key, before the counter
	VTPM_TEST_CRASH_BEFORE_INCREMENT=1 run_rc 3 "$VTPMCTL" manager rotate || return 1
	[ -e "$VTPM_SEALED_KEY.next" ] || fail "rotation left its next key" || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock || return 1
	printf '%s' "$ERR" | grep -q "finished an interrupted host key rotation" || fail "unlock finishes the rotation" "" "$ERR" || return 1
	[ ! -e "$VTPM_SEALED_KEY.next" ] || fail "next key left behind" || return 1
	serve_socket "$u" "$s" || return 1
	expect_eq "NV after an interrupted rotate" "nvread rc=0x0 0badf00d" "$(client "$s" nvread:1500026:4)" || return 1
	wait_exit $SERVE_PID
	run_rc 0 "$VTPMCTL" manager lock || return 1
	reboot_host tpm || return 1
	run_rc 0 "$VTPMCTL" manager unlock
}

ALL=$(declare -F | awk '$3 ~ /^t_/ { print substr($3, 3) }')
[ $# -gt 0 ] && ALL="$*"
command -v swtpm >/dev/null || { echo "FAIL - manager: swtpm missing (apt-get install swtpm)"; exit 1; }
for t in $ALL; do
	rm -rf "$VTPM_STATE_DIR" "$VTPM_RUN_DIR" "$VTPM_CA_DIR" "$WORKDIR/etc" "$WORKDIR/serve.log" "$WORKDIR/s" \
		"$WORKDIR/tpm" "$WORKDIR/other" "$WORKDIR/copy" "$WORKDIR/copy2" "$WORKDIR/old" \
		"$WORKDIR/state.key" "$WORKDIR/oldkey" "$WORKDIR/hold"
	drop_anchor_keys
	if ( trap kill_test_processes EXIT; "t_$t" ); then
		echo "ok - manager $t"
	else
		echo "FAIL - manager $t"
		[ -f "$WORKDIR/serve.log" ] && sed 's/^/    serve.log: /' "$WORKDIR/serve.log" | tail -5
	fi
done
