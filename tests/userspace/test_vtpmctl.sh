#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vtpmctl tests: real vtpmctl processes, real libtpms, temp state dirs.
# Usage: test_vtpmctl.sh [TEST...]; prints "ok - NAME" / "FAIL - NAME".

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

D32=$(printf 'ab%.0s' $(seq 1 32))

t_version_and_help() {
	run_rc 0 "$VTPMCTL" -V || return 1
	expect_eq "version" "vtpmctl 0.1 (libvtpm 0.1)" "$OUT" || return 1
	run_rc 0 "$VTPMCTL" --json version && is_json "$OUT" || return 1
	local c
	for c in "-h" "--help" "help"; do
		run_rc 0 "$VTPMCTL" $c || return 1
		printf '%s' "$OUT" | grep -q '^Usage: vtpmctl' || fail "usage text for $c" || return 1
	done
	for c in create destroy list show serve keygen; do
		run_rc 0 "$VTPMCTL" $c -h || return 1
		printf '%s' "$OUT" | grep -q "^Usage: vtpmctl $c" || fail "$c -h" "Usage: vtpmctl $c" "$OUT" || return 1
		run_rc 0 "$VTPMCTL" $c help || return 1
		run_rc 0 "$VTPMCTL" $c --help || return 1
	done
}

t_usage_errors_exit_2() {
	run_rc 2 "$VTPMCTL" || return 1
	run_rc 2 "$VTPMCTL" frobnicate && expect_err_line 'unknown command "frobnicate"' || return 1
	run_rc 2 "$VTPMCTL" --frobnicate && expect_err_line 'unknown option' || return 1
	run_rc 2 "$VTPMCTL" create --frobnicate && expect_err_line 'bad option' || return 1
	run_rc 2 "$VTPMCTL" create --uuid not-a-uuid && expect_err_line 'malformed uuid "not-a-uuid"' || return 1
	run_rc 2 "$VTPMCTL" show 1234 && expect_err_line 'malformed uuid' || return 1
	run_rc 2 "$VTPMCTL" destroy && expect_err_line 'missing UUID' || return 1
	run_rc 2 "$VTPMCTL" show a b || return 1
	run_rc 2 "$VTPMCTL" serve && expect_err_line 'give --domid D --devid N, or --uuid UUID' || return 1
	run_rc 2 "$VTPMCTL" serve --domid 1 && expect_err_line '--domid and --devid go together' || return 1
	run_rc 2 "$VTPMCTL" serve --socket /x && expect_err_line '--socket needs --uuid' || return 1
	run_rc 2 "$VTPMCTL" serve --domid x --devid 0 && expect_err_line 'bad domid' || return 1
	run_rc 2 "$VTPMCTL" serve --instance vtpm-1 || return 1
	run_rc 2 "$VTPMCTL" serve --uuid zz && expect_err_line 'malformed uuid' || return 1
	run_rc 2 "$VTPMCTL" -j create --uuid zz && is_json "$ERR" || return 1
	[ ! -e "$VTPM_STATE_DIR/zz" ] || fail "malformed uuid created a directory"
}

t_create_needs_key_or_plaintext() {
	VTPM_KEY_FILE=$WORKDIR/nokey run_rc 1 "$VTPMCTL" create &&
		expect_err_line 'cannot read key file' || return 1
	VTPM_KEY_FILE= run_rc 1 "$VTPMCTL" create &&
		expect_err_line 'no state key' || return 1
	[ -z "$(ls -A "$VTPM_STATE_DIR" 2>/dev/null)" ] || fail "state left behind" "" "$(ls "$VTPM_STATE_DIR")" || return 1
	VTPM_KEY_FILE= run_rc 0 "$VTPMCTL" create --plaintext || return 1
	VTPM_KEY_FILE= run_rc 0 "$VTPMCTL" show "$OUT" || return 1
	printf '%s' "$OUT" | grep -q 'encryption:  none' || fail "plaintext vTPM" "encryption:  none" "$OUT" || return 1
	setup_key
	run_rc 2 "$VTPMCTL" create --plaintext && expect_err_line 'conflicts with the configured key'
}

t_keygen() {
	local k=$WORKDIR/keys/k1
	run_rc 0 "$VTPMCTL" keygen --key-file "$k" || return 1
	expect_eq "key size" 32 "$(stat -c %s "$k")" || return 1
	expect_eq "key mode" 600 "$(stat -c %a "$k")" || return 1
	local sum
	sum=$(sha256sum <"$k")
	run_rc 1 "$VTPMCTL" keygen --key-file "$k" && expect_err_line 'File exists' || return 1
	expect_eq "key unchanged" "$sum" "$(sha256sum <"$k")"
}

t_create_list_show_destroy() {
	setup_key
	local u u2
	run_rc 0 "$VTPMCTL" create || return 1
	u=$OUT
	[[ $u =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
		fail "printed uuid" "a v4 uuid" "$u" || return 1
	run_rc 0 "$VTPMCTL" create --uuid 6F1C1F6A-0000-4000-8000-00000000ABCD --tpm1.2 || return 1
	u2=6f1c1f6a-0000-4000-8000-00000000abcd
	expect_eq "canonical uuid" "$u2" "$OUT" || return 1
	run_rc 0 "$VTPMCTL" list || return 1
	printf '%s\n' "$OUT" | grep -q "^$u  2.0  encrypted" || fail "list line" "$u  2.0  encrypted ..." "$OUT" || return 1
	printf '%s\n' "$OUT" | grep -q "^$u2  1.2" || fail "list line" "$u2  1.2 ..." "$OUT" || return 1
	run_rc 0 "$VTPMCTL" -j list && is_json "$OUT" || return 1
	expect_eq "json list" "2.0 1.2" "$(printf '%s' "$OUT" | python3 -c '
import json,sys; d=json.load(sys.stdin); print(" ".join(x["tpm"] for x in sorted(d, key=lambda x: x["uuid"]!=sys.argv[1])))' "$u")" || return 1
	run_rc 0 "$VTPMCTL" show "$u" || return 1
	printf '%s' "$OUT" | grep -q "^uuid:        $u" || fail "show" "uuid: $u" "$OUT" || return 1
	run_rc 0 "$VTPMCTL" show --json "$u2" && is_json "$OUT" || return 1
	expect_eq "show json tpm" "1.2" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tpm"])')" || return 1
	run_rc 0 "$VTPMCTL" destroy "$u" || return 1
	[ ! -e "$VTPM_STATE_DIR/$u" ] || fail "state dir removed" "absent" "present" || return 1
	run_rc 1 "$VTPMCTL" destroy "$u" && expect_err_line "no such vTPM $u" || return 1
	run_rc 1 "$VTPMCTL" show "$u" && expect_err_line "no such vTPM $u" || return 1
	run_rc 1 "$VTPMCTL" -j show "$u" && is_json "$ERR" || return 1
	run_rc 0 "$VTPMCTL" -j destroy "$u2" && is_json "$OUT" || return 1
	run_rc 0 "$VTPMCTL" -j list && expect_eq "empty list" "[]" "$OUT"
}

t_create_refuses_existing_uuid_and_keeps_state() {
	setup_key
	local u sum
	u=$("$VTPMCTL" create) || return 1
	sum=$(cd "$VTPM_STATE_DIR/$u" && cat meta permanent.* | sha256sum)
	run_rc 1 "$VTPMCTL" create --uuid "$u" && expect_err_line "vTPM $u already exists" || return 1
	run_rc 1 "$VTPMCTL" create --uuid "$u" --tpm1.2 || return 1
	expect_eq "state untouched" "$sum" "$(cd "$VTPM_STATE_DIR/$u" && cat meta permanent.* | sha256sum)"
}

t_unwritable_state_dir() {
	setup_key
	run_rc 1 "$VTPMCTL" --state-dir /proc/vtpm-test create &&
		expect_err_line 'cannot create state directory /proc/vtpm-test' || return 1
	: >"$WORKDIR/a-file"
	run_rc 1 "$VTPMCTL" --state-dir "$WORKDIR/a-file" create || return 1
	expect_err_line 'cannot create state directory' || return 1
	run_rc 1 "$VTPMCTL" --state-dir "$WORKDIR/a-file" serve --socket "$WORKDIR/s" \
		--uuid 6f1c1f6a-0000-4000-8000-00000000abcd && expect_err_line 'cannot read vTPM' || return 1
	[ ! -e "$WORKDIR/s" ] || fail "socket created"
}

t_serve_unknown_uuid_refused() {
	setup_key
	run_rc 1 "$VTPMCTL" serve --socket "$WORKDIR/s" --uuid 6f1c1f6a-0000-4000-8000-0000000000ff &&
		expect_err_line 'no such vTPM 6f1c1f6a-0000-4000-8000-0000000000ff' || return 1
	[ ! -e "$VTPM_STATE_DIR/6f1c1f6a-0000-4000-8000-0000000000ff" ] || fail "serve created a vTPM"
}

t_serve_never_created_answers_tpm_failure() {
	setup_key
	local s=$WORKDIR/s u=6f1c1f6a-0000-4000-8000-0000000000fe out
	serve_socket $u "$s" --fail-unknown || return 1
	out=$(client "$s" getrandom:8 raw:00c10000000e000000460000000a)
	expect_eq "failure responses" "getrandom rc=0x101 80010000000a00000101
raw rc=0x9 00c40000000a00000009" "$out" || return 1
	wait_exit $SERVE_PID || fail "serve exit status after EOF" || return 1
	grep -q "vTPM $u was never created" "$WORKDIR/serve.log" || fail "log line" "was never created" "$(cat "$WORKDIR/serve.log")" || return 1
	[ ! -e "$VTPM_STATE_DIR/$u" ] || fail "a fresh TPM was made up"
}

t_serve_tpm2_commands() {
	setup_key
	local u s=$WORKDIR/s out want
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" getrandom:16 pcrextend:16:$D32 pcrread:16 nvdefine:1500010:8 \
		nvwrite:1500010:0102030405060708 nvread:1500010:8 startup createprimary)
	want="getrandom rc=0x0 16 bytes
pcrextend rc=0x0 80020000001300000000000000000000010000
pcrread rc=0x0 $(pcr_after_extend $D32)
nvdefine rc=0x0 80020000001300000000000000000000010000
nvwrite rc=0x0 80020000001300000000000000000000010000
nvread rc=0x0 0102030405060708
startup rc=0x100 80010000000a00000100"
	expect_eq "responses" "$want" "$(printf '%s\n' "$out" | head -7)" || return 1
	printf '%s\n' "$out" | grep -q '^createprimary rc=0x0 ' || fail "createprimary" "rc=0x0" "$out" || return 1
	wait_exit $SERVE_PID || fail "serve exit status after EOF"
}

t_serve_sigterm_then_restart_resumes() {
	setup_key
	local u s=$WORKDIR/s out holder
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	bg_client "$WORKDIR/hold" "$s" pcrextend:16:$D32 nvdefine:1500011:4 nvwrite:1500011:c0ffee00 hold
	holder=$BG_PID
	wait_for_line "$WORKDIR/hold" nvwrite || return 1
	run_rc 0 "$VTPMCTL" show "$u" || return 1
	printf '%s' "$OUT" | grep -q "served:      yes, pid $SERVE_PID" || fail "show while served" "pid $SERVE_PID" "$OUT" || return 1
	kill -TERM $SERVE_PID
	wait_exit $SERVE_PID || fail "exit status after SIGTERM" 0 $? || return 1
	wait $holder
	# restarted for the same guest: PCRs and NV as they were, no Startup
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" pcrread:16 nvread:1500011:4 startup)
	expect_eq "after restart" "pcrread rc=0x0 $(pcr_after_extend $D32)
nvread rc=0x0 c0ffee00
startup rc=0x100 80010000000a00000100" "$out" || return 1
	wait_exit $SERVE_PID
	# the client closed = the instance went away = power off: next start is a reset
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" pcrread:16 nvread:1500011:4)
	expect_eq "after power off" "pcrread rc=0x0 $(printf '0%.0s' $(seq 1 64))
nvread rc=0x0 c0ffee00" "$out"
	wait_exit $SERVE_PID
}

t_serve_other_guest_resets_pcrs() {
	setup_key
	local u s=$WORKDIR/s out holder
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" --domid 7 --devid 0 || return 1
	bg_client "$WORKDIR/hold" "$s" pcrextend:16:$D32 hold
	holder=$BG_PID
	wait_for_line "$WORKDIR/hold" pcrextend || return 1
	kill -TERM $SERVE_PID; wait_exit $SERVE_PID; wait $holder
	# a new domain (rebooted guest: new domid) gets a reset TPM
	serve_socket "$u" "$s" --domid 8 --devid 0 || return 1
	out=$(client "$s" pcrread:16)
	expect_eq "new domain" "pcrread rc=0x0 $(printf '0%.0s' $(seq 1 64))" "$out"
	wait_exit $SERVE_PID
}

t_serve_kill9_restart_keeps_committed_state() {
	setup_key
	local u s=$WORKDIR/s out i
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500012:4 nvwrite:1500012:00000000 >/dev/null || return 1
	wait_exit $SERVE_PID
	for i in $(seq 1 8); do
		serve_socket "$u" "$s" || return 1
		# one client writing in a loop (TPM_RC_RETRY handled by it),
		# the server killed -9 at a random time
		bg_client "$WORKDIR/w" "$s" $(for n in $(seq 1 4000); do printf 'nvwrite:1500012:%08x ' $((i * 10000 + n)); done)
		wait_for_line "$WORKDIR/w" nvwrite || return 1
		sleep 0.$((RANDOM % 3))
		kill -9 $SERVE_PID || fail "round $i: the server was not running at kill -9 (writes done too soon)" || return 1
		wait $SERVE_PID 2>/dev/null
		wait $BG_PID 2>/dev/null
		serve_socket "$u" "$s" || return 1
		out=$(client "$s" nvread:1500012:4)
		[[ $out =~ ^nvread\ rc=0x0\ [0-9a-f]{8}$ ]] || fail "round $i: state after kill -9" "nvread rc=0x0 ..." "$out" || return 1
		wait_exit $SERVE_PID
	done
}

t_serve_refuses_rolled_back_state() {
	setup_key
	local u s=$WORKDIR/s d
	u=$("$VTPMCTL" create) || return 1
	d=$VTPM_STATE_DIR/$u
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500013:4 nvwrite:1500013:11111111 >/dev/null || return 1
	wait_exit $SERVE_PID
	cp -a "$d" "$WORKDIR/old"
	serve_socket "$u" "$s" || return 1
	client "$s" nvwrite:1500013:22222222 >/dev/null || return 1
	wait_exit $SERVE_PID
	# an older copy of the whole directory put back
	rm -rf "$d" && mv "$WORKDIR/old" "$d"
	: >"$WORKDIR/serve.log"
	run_rc 1 "$VTPMCTL" serve --socket "$s" --uuid "$u" --wait 5 &
	local p=$!
	client "$s" getrandom:4 >/dev/null 2>&1
	wait $p || return 1
	grep -q "rollback refused" "$ERR" "$WORKDIR/err" 2>/dev/null ||
		fail "serve log" "rollback refused" "$(cat "$WORKDIR/err")" || return 1
	run_rc 0 "$VTPMCTL" destroy "$u"
}

t_serve_twice_refused() {
	setup_key
	local u s=$WORKDIR/s holder
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	bg_client "$WORKDIR/hold" "$s" getrandom:4 hold
	wait_for_line "$WORKDIR/hold" getrandom || return 1
	run_rc 1 "$VTPMCTL" serve --socket "$WORKDIR/s2" --uuid "$u" &&
		expect_err_line "vTPM $u is already being served by pid $SERVE_PID" || return 1
	run_rc 1 "$VTPMCTL" destroy "$u" && expect_err_line "is being served by pid $SERVE_PID" || return 1
	[ -f "$VTPM_STATE_DIR/$u/permanent.0" ] || fail "state kept" || return 1
	kill -TERM $SERVE_PID
	wait_exit $SERVE_PID
}

# The race of issue 9: a guest's server killed with -9 and "destroy" at
# once, before the supervisor restarted it. The state lock is free then;
# the supervisor's claim still says the vTPM is in use.
t_destroy_refused_in_supervisor_restart_gap() {
	setup_key
	local u s=$WORKDIR/s sup child
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" --supervise || return 1
	sup=$SERVE_PID
	rm -f "$WORKDIR/hold-gap"
	bg_client "$WORKDIR/hold-gap" "$s" getrandom:4 hold
	wait_for_line "$WORKDIR/hold-gap" getrandom || return 1
	child=$(pgrep -P "$sup" | head -n1)
	[ -n "$child" ] || fail "supervised server child" "a pid" "none" || return 1
	kill -9 "$child"
	run_rc 1 "$VTPMCTL" destroy "$u" &&
		expect_err_line "vTPM $u is in use: server pid $sup claims it" || return 1
	[ -f "$VTPM_STATE_DIR/$u/permanent.0" ] || fail "state kept after refused destroy" || return 1
	# the server is gone for good: nothing claims it any more
	kill -TERM "$sup"; wait_exit "$sup"
	run_rc 0 "$VTPMCTL" destroy "$u" || return 1
	[ ! -e "$VTPM_STATE_DIR/$u" ] || fail "state erased" "no $VTPM_STATE_DIR/$u" "still there"
}

# A claim whose process died (kill -9 of an unsupervised server) does not
# block destroy; a backend device naming the uuid does, unless --force.
t_destroy_backend_refused_unless_forced() {
	setup_key
	local u s=$WORKDIR/s be=$WORKDIR/sysfs
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	rm -f "$WORKDIR/hold-be"
	bg_client "$WORKDIR/hold-be" "$s" getrandom:4 hold
	wait_for_line "$WORKDIR/hold-be" getrandom || return 1
	kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
	mkdir -p "$be/vtpm-7-0"
	echo "$u" >"$be/vtpm-7-0/uuid"
	VTPM_SYSFS_BACKENDS=$be run_rc 1 "$VTPMCTL" destroy "$u" &&
		expect_err_line "in use: backend device $be/vtpm-7-0/uuid names it" || return 1
	VTPM_SYSFS_BACKENDS=$be run_rc 0 "$VTPMCTL" destroy --force "$u" || return 1
	printf '%s\n' "$ERR" | grep -q "destroying it as --force says" ||
		fail "warning on --force" "destroying it as --force says" "$ERR" || return 1
	[ ! -e "$VTPM_STATE_DIR/$u" ] || fail "state erased"
}

# Shared storage: two hosts (VTPM_HOST_ID) serving one state directory.
# The second is refused and told who holds the lease; when the first
# stops serving, the lease passes (a migration's handover) and the waiting
# server takes it.
t_lease_second_host_refused_then_handed_over() {
	setup_key
	local u sa=$WORKDIR/sa sb=$WORKDIR/sb out pa pb
	u=$("$VTPMCTL" create) || return 1
	# host B listens first (no lease before a guest attaches)
	VTPM_HOST_ID=host-b serve_socket "$u" "$sb" || return 1
	pb=$SERVE_PID
	VTPM_HOST_ID=host-a serve_socket "$u" "$sa" || return 1
	pa=$SERVE_PID
	rm -f "$WORKDIR/hold-ho"
	bg_client "$WORKDIR/hold-ho" "$sa" pcrextend:16:$D32 waitfile:$WORKDIR/a-done
	wait_for_line "$WORKDIR/hold-ho" "waiting for" || return 1
	run_rc 0 "$VTPMCTL" lease show "$u" || return 1
	printf '%s' "$OUT" | grep -q "lease held by host host-a pid $pa since " ||
		fail "lease show" "held by host host-a pid $pa" "$OUT" || return 1
	# a third server, on host B, started by hand for the uuid: refused at once
	VTPM_HOST_ID=host-b run_rc 1 "$VTPMCTL" serve --socket "$WORKDIR/sc" --uuid "$u" &&
		expect_err_line "vTPM $u is being served by another host: lease held by host host-a pid $pa since .*heartbeat" || return 1
	# host B's guest connects: its server waits for the lease
	rm -f "$WORKDIR/b"
	bg_client "$WORKDIR/b" "$sb" pcrread:16
	wait_for_line "$WORKDIR/serve.log" "serving lease held by host host-a pid $pa" || return 1
	[ ! -s "$WORKDIR/b" ] || fail "host B served while host A holds the lease" "" "$(cat "$WORKDIR/b")" || return 1
	# host A's guest goes away (EOF): A releases, B serves
	touch "$WORKDIR/a-done"
	wait_exit "$pa" || fail "host A server exit status" 0 $? || return 1
	wait_for_line "$WORKDIR/b" "pcrread rc=0x0" || return 1
	wait_exit "$pb" || fail "host B server exit status" 0 $?
}

# A dead host's lease: the other host is refused however old it is;
# "lease break" refuses while the heartbeat is recent, --force breaks it.
# Its own host takes it over at once (the holder pid is provably dead).
t_lease_dead_host_needs_explicit_break() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	VTPM_HOST_ID=host-a serve_socket "$u" "$s" || return 1
	rm -f "$WORKDIR/hold-dead"
	bg_client "$WORKDIR/hold-dead" "$s" getrandom:4 hold
	wait_for_line "$WORKDIR/hold-dead" getrandom || return 1
	kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
	[ -f "$VTPM_STATE_DIR/$u/serving.lease" ] || fail "lease left by the killed server" "$u/serving.lease" "$(ls -a "$VTPM_STATE_DIR")" || return 1
	VTPM_HOST_ID=host-b run_rc 1 "$VTPMCTL" serve --socket "$s" --uuid "$u" &&
		expect_err_line "lease held by host host-a" || return 1
	VTPM_HOST_ID=host-b run_rc 1 "$VTPMCTL" lease break "$u" &&
		expect_err_line "heartbeat is recent" || return 1
	# an old heartbeat alone does not let host B in
	touch -d '-1 hour' "$VTPM_STATE_DIR/$u/serving.lease"
	VTPM_HOST_ID=host-b run_rc 1 "$VTPMCTL" serve --socket "$s" --uuid "$u" &&
		expect_err_line "lease held by host host-a" || return 1
	# host A itself: its old server is dead, so it takes the lease over
	VTPM_HOST_ID=host-a serve_socket "$u" "$s" || return 1
	out=$(client "$s" getrandom:4) || return 1
	wait_exit "$SERVE_PID" || return 1
	[ ! -e "$VTPM_STATE_DIR/$u/serving.lease" ] || fail "lease released at exit" || return 1
	# the lease of a host that died mid-serve, broken by the admin
	VTPM_HOST_ID=host-a serve_socket "$u" "$s" || return 1
	rm -f "$WORKDIR/hold-dead"
	bg_client "$WORKDIR/hold-dead" "$s" getrandom:4 hold
	wait_for_line "$WORKDIR/hold-dead" getrandom || return 1
	kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
	VTPM_HOST_ID=host-b run_rc 0 "$VTPMCTL" lease break --force "$u" || return 1
	VTPM_HOST_ID=host-b serve_socket "$u" "$s" || return 1
	out=$(client "$s" getrandom:4)
	[[ $out == "getrandom rc=0x0"* ]] || fail "host B serves after the break" "getrandom rc=0x0" "$out" || return 1
	wait_exit "$SERVE_PID"
}

# A server whose lease was broken (its host was wrongly taken for dead)
# notices at its next heartbeat and stops serving: TPM failures, nothing
# saved.
t_lease_lost_stops_serving() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	VTPM_LEASE_BEAT_S=1 VTPM_HOST_ID=host-a serve_socket "$u" "$s" || return 1
	rm -f "$WORKDIR/c" "$WORKDIR/go"
	bg_client "$WORKDIR/c" "$s" getrandom:4 waitfile:$WORKDIR/go getrandom:4
	wait_for_line "$WORKDIR/c" "waiting for" || return 1
	VTPM_HOST_ID=host-b run_rc 0 "$VTPMCTL" lease break --force "$u" || return 1
	wait_for_line "$WORKDIR/serve.log" "serving lease lost" || return 1
	touch "$WORKDIR/go"
	wait "$BG_PID"
	out=$(tail -n1 "$WORKDIR/c")
	[[ $out == "getrandom rc=0x101"* ]] || fail "command after the lease was lost" "getrandom rc=0x101 (TPM failure)" "$out" || return 1
	wait_exit "$SERVE_PID"
}

# export/import: host B's transport key; a vTPM of host A with NV data
# moves to B (another state root, another state key), where its NV is
# read back. A tampered bundle, one meant for another host and one whose
# uuid exists are refused, and leave nothing behind.
t_export_import_to_another_host() {
	setup_key
	local u s=$WORKDIR/s out b=$WORKDIR/hostb bundle
	mkdir -p "$b"
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	client "$s" nvdefine:1500021:4 nvwrite:1500021:b0b0cafe >/dev/null || return 1
	wait_exit $SERVE_PID
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 0 "$VTPMCTL" host-key --out "$b/b.pub" || return 1
	VTPM_TRANSPORT_KEY=$WORKDIR/a-transport.key run_rc 0 "$VTPMCTL" host-key --out "$WORKDIR/a.pub" || return 1
	run_rc 0 "$VTPMCTL" export "$u" --to "$b/b.pub" --out "$WORKDIR/x.vtpm" || return 1
	bundle=$WORKDIR/x.vtpm
	# never the TPM's secrets in plain text: not even the NV data
	! grep -q "$(printf '\xb0\xb0\xca\xfe')" "$bundle" || fail "NV data in the bundle in plain text" || return 1
	"$VTPMCTL" -k "$b/state.key" keygen >/dev/null || return 1
	# meant for host B: host A's key cannot take it
	VTPM_TRANSPORT_KEY=$WORKDIR/a-transport.key run_rc 1 "$VTPMCTL" -s "$WORKDIR/other" import "$bundle" &&
		expect_err_line "is meant for another host" || return 1
	[ ! -e "$WORKDIR/other/$u" ] || fail "nothing imported on the wrong host" || return 1
	# one flipped byte anywhere: refused
	cp "$bundle" "$WORKDIR/t.vtpm"
	printf '\001' | dd of="$WORKDIR/t.vtpm" bs=1 seek=$(( $(stat -c %s "$bundle") - 40 )) conv=notrunc 2>/dev/null
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 1 "$VTPMCTL" -s "$b/state" -k "$b/state.key" import "$WORKDIR/t.vtpm" &&
		expect_err_line "does not authenticate: tampered" || return 1
	[ ! -e "$b/state/$u" ] || fail "nothing imported from a tampered bundle" || return 1
	# cut short, or not a bundle at all
	head -c 300 "$bundle" >"$WORKDIR/short.vtpm"
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 1 "$VTPMCTL" -s "$b/state" -k "$b/state.key" import "$WORKDIR/short.vtpm" &&
		expect_err_line "truncated or tampered" || return 1
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 1 "$VTPMCTL" -s "$b/state" -k "$b/state.key" import "$b/b.pub" &&
		expect_err_line "is not a vTPM bundle" || return 1
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 0 "$VTPMCTL" -s "$b/state" -k "$b/state.key" import "$bundle" || return 1
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 1 "$VTPMCTL" -s "$b/state" -k "$b/state.key" import "$bundle" &&
		expect_err_line "already exists here" || return 1
	# re-protected with host B's key: host A's key does not open it
	run_rc 1 "$VTPMCTL" -s "$b/state" serve --socket "$WORKDIR/sb" --uuid "$u" --wait 2 &
	local pa=$!
	client "$WORKDIR/sb" getrandom:4 >/dev/null 2>&1
	wait $pa || fail "host A's state key opened the copy sealed for host B" || return 1
	VTPM_RUN_DIR=$b/run "$VTPMCTL" -s "$b/state" -k "$b/state.key" serve --socket "$WORKDIR/sb" --uuid "$u" --wait 20 2>>"$WORKDIR/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_for_file "$WORKDIR/sb" || return 1
	out=$(client "$WORKDIR/sb" nvread:1500021:4)
	expect_eq "NV on host B" "nvread rc=0x0 b0b0cafe" "$out" || return 1
	wait_exit $SERVE_PID
}

# A bundle authenticates to the target's public transport key only: whoever
# has that key chooses the plaintext (forge_bundle.py). Length fields that
# lie, short plaintexts and a state libvtpm cannot take are refused with
# one error line, no crash, and nothing left in the state directory.
t_import_forged_plaintext_refused() {
	setup_key
	local b=$WORKDIR/hostb u=5e5e5e5e-0000-4000-8000-000000000f01 p
	mkdir -p "$b"
	VTPM_TRANSPORT_KEY=$b/transport.key run_rc 0 "$VTPMCTL" host-key --out "$b/b.pub" || return 1
	# 5 and 7 bytes (the second's first length field points 256 MiB
	# beyond a 7-byte buffer), lengths that do not add up, and lengths
	# that do around a state that is not an export
	for p in 0000000000 10000000000000 0000000400000000 00000004414141410000000a \
		 000000044141414100000000; do
		python3 "$TOP/tests/userspace/forge_bundle.py" "$b/b.pub" $u $p "$WORKDIR/f.vtpm" || return 1
		VTPM_TRANSPORT_KEY=$b/transport.key run_rc 1 "$VTPMCTL" -s "$b/state" \
			import "$WORKDIR/f.vtpm" || return 1
		expect_err_line "is malformed\|cannot import vTPM $u" || return 1
		[ ! -e "$b/state/$u" ] || fail "plaintext $p left $b/state/$u" || return 1
	done
}

t_serve_cancel() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" -d || return 1
	# CANCEL right behind a slow RSA-2048 keygen: the response is either
	# TPM_RC_CANCELED (0x909) or success, always well-formed, same seq
	out=$(client "$s" cancel createprimary_rsa getrandom:8)
	printf '%s\n' "$out" | grep -Eq '^createprimary_rsa rc=0x(0|909) ' || fail "cancelled command" "rc=0x0 or 0x909" "$out" || return 1
	printf '%s\n' "$out" | grep -q '^getrandom rc=0x0 8 bytes' || fail "next command" "rc=0x0" "$out" || return 1
	wait_exit $SERVE_PID
	grep -Eq 'guest cancels command seq|cancel of seq [0-9]+: not running' "$WORKDIR/serve.log" ||
		fail "cancel seen by serve" "a cancel log line" "$(cat "$WORKDIR/serve.log")"
}

# A command that arrives while a key generation runs (the kernel passes the
# next one after it gave up on a command) is answered at once with a TPM
# failure, not left waiting for the kernel's watchdog; the running one
# still completes.
t_serve_command_while_busy_answered() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" overlap)
	expect_eq "responses" "overlap first=0x0 second=0x101" "$out" || return 1
	wait_exit $SERVE_PID
}

t_serve_locality() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	# TPM2_PCR_Reset(20): locality 0 refused (TPM_RC_LOCALITY), 2 allowed
	local reset=80020000001b0000013d0000001400000009400000090000000000
	out=$(client "$s" raw:$reset loc:2 raw:$reset)
	expect_eq "PCR_Reset by locality" "raw rc=0x907 80010000000a00000907
raw rc=0x0 80020000001300000000000000000000010000" "$out"
	wait_exit $SERVE_PID
}

t_serve_daemonize_pidfile() {
	setup_key
	local u s=$WORKDIR/s pf=$WORKDIR/run/x.pid pid t0 t1 out
	u=$("$VTPMCTL" create) || return 1
	t0=$(date +%s%N)
	run_rc 0 "$VTPMCTL" serve --socket "$s" --uuid "$u" --daemonize --supervise --pidfile "$pf" || return 1
	t1=$(date +%s%N)
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "daemonize returns fast" "< 1000 ms" "$(( (t1 - t0) / 1000000 )) ms" || return 1
	pid=$(cat "$pf") || return 1
	kill -0 "$pid" || fail "daemon alive" || return 1
	[ "$(ps -o sid= -p "$pid")" != "$(ps -o sid= -p $$)" ] || fail "daemon in its own session" || return 1
	[ "$(ls /proc/"$pid"/fd | wc -l)" -le 6 ] || fail "fds closed" "<= 6" "$(ls -l /proc/"$pid"/fd)" || return 1
	wait_for_file "$s" || return 1
	bg_client "$WORKDIR/hold" "$s" pcrextend:16:$D32 hold
	local holder=$BG_PID
	wait_for_line "$WORKDIR/hold" pcrextend || return 1
	# kill -9 the server (not the supervisor): it comes back and resumes
	local server
	server=$(pgrep -P "$pid" vtpmctl)
	[ -n "$server" ] || fail "server child of the supervisor" || return 1
	rm -f "$s"	# the killed one leaves it behind
	kill -9 "$server"
	wait $holder
	wait_for_file "$s" || return 1
	local new
	new=$(pgrep -P "$pid" vtpmctl)
	[ -n "$new" ] && [ "$new" != "$server" ] || fail "server restarted" "a new pid" "$new" || return 1
	bg_client "$WORKDIR/hold2" "$s" pcrread:16 hold
	wait_for_line "$WORKDIR/hold2" pcrread || return 1
	kill -TERM "$pid"
	wait $BG_PID
	out=$(cat "$WORKDIR/hold2")
	expect_eq "resumed after kill -9" "pcrread rc=0x0 $(pcr_after_extend $D32)
hold eof" "$out" || return 1
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || fail "supervisor stopped by SIGTERM" || return 1
	[ ! -e "$pf" ] || fail "pidfile removed"
}

t_hotplug_add_remove_without_systemd() {
	setup_key
	local rundir=$WORKDIR/run pid t0 t1
	# no xen-tpmback here: the server waits for /dev/xen/tpmback to appear
	export VTPM_RUN_DIR=$rundir VTPMCTL VTPM_USE_SYSTEMD=no
	export VTPM_DEVICE=$WORKDIR/no-such-device
	t0=$(date +%s%N)
	run_rc 0 "$HOTPLUG" add vtpm-5-0 || return 1
	t1=$(date +%s%N)
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "hotplug add returns fast" "< 1000 ms" "$(( (t1 - t0) / 1000000 )) ms" || return 1
	pid=$(cat "$rundir/vtpm-5-0.pid") || return 1
	kill -0 "$pid" || fail "server running" || return 1
	tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "serve --instance vtpm-5-0 --daemonize --supervise --pidfile $rundir/vtpm-5-0.pid" ||
		fail "server command line" "serve --instance vtpm-5-0 ..." "$(tr '\0' ' ' </proc/"$pid"/cmdline)" || return 1
	XENBUS_PATH=backend/vtpm/6/1 run_rc 0 "$HOTPLUG" add || return 1
	[ -f "$rundir/vtpm-6-1.pid" ] || fail "XENBUS_PATH instance" || return 1
	run_rc 0 "$HOTPLUG" remove vtpm-5-0 || return 1
	run_rc 0 "$HOTPLUG" remove vtpm-6-1 || return 1
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || fail "server stopped on remove" || return 1
	[ ! -e "$rundir/vtpm-5-0.pid" ] || fail "pidfile removed" || return 1
	run_rc 2 "$HOTPLUG" add bogus
}

# The reproduction of issue 7: a full disk under a serving vTPM. The guest
# gets TPM failures while saves fail, the same server serves it normally
# once space returns, and across a kill -9 on the full disk no GetRandom
# output is ever given twice.
t_serve_full_disk() {
	setup_key
	local u s=$WORKDIR/s out mnt=$WORKDIR/small r zero
	zero=$(printf '0%.0s' $(seq 1 64))
	rm -f "$WORKDIR/full" "$WORKDIR/space" "$WORKDIR/never"
	small_fs "$mnt" || return 1
	u=$("$VTPMCTL" create) || return 1
	# one guest session: the disk fills while it runs
	serve_socket "$u" "$s" --domid 3 --devid 0 || return 1
	bg_client "$WORKDIR/a" "$s" randhex:16 randhex:16 waitfile:"$WORKDIR/full" \
		pcrextend:16:$D32 nvdefine:1500014:2048 nvdefine:1500015:2048 \
		randhex:16 pcrread:16 waitfile:"$WORKDIR/never"
	wait_for_line "$WORKDIR/a" "^waiting" || return 1
	dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
	touch "$WORKDIR/full"
	wait_for_line "$WORKDIR/a" "^pcrread" || return 1
	out=$(cat "$WORKDIR/a")
	printf '%s\n' "$out" | grep -q '^pcrextend rc=0x101 ' ||
		fail "PCR_Extend on a full disk" "pcrextend rc=0x101" "$out" || return 1
	printf '%s\n' "$out" | grep -q '^nvdefine rc=0x101 ' ||
		fail "NV_DefineSpace on a full disk" "nvdefine rc=0x101" "$out" || return 1
	printf '%s\n' "$out" | grep -q "^pcrread rc=0x0 $zero" ||
		fail "PCR 16 after the failed extend" "pcrread rc=0x0 $zero" "$out" || return 1
	# killed while the disk is full; the same guest's server restarts
	kill -9 $SERVE_PID
	wait $SERVE_PID 2>/dev/null
	wait $BG_PID 2>/dev/null
	grep '^randhex' "$WORKDIR/a" >"$WORKDIR/rand"
	serve_socket "$u" "$s" --domid 3 --devid 0 || return 1
	bg_client "$WORKDIR/b" "$s" randhex:16 randhex:16 pcrread:16 waitfile:"$WORKDIR/space" \
		pcrextend:16:$D32 pcrread:16 randhex:16
	wait_for_line "$WORKDIR/b" "^waiting" || return 1
	rm -f "$mnt/filler"
	touch "$WORKDIR/space"
	wait $BG_PID
	wait_exit $SERVE_PID || fail "serve exit status after EOF" || return 1
	out=$(cat "$WORKDIR/b")
	grep '^randhex' "$WORKDIR/b" >>"$WORKDIR/rand"
	printf '%s\n' "$out" | grep -q "^pcrread rc=0x0 $zero" ||
		fail "PCR 16 resumed after kill -9" "pcrread rc=0x0 $zero" "$out" || return 1
	expect_eq "served normally once space returned" "pcrextend rc=0x0 80020000001300000000000000000000010000
pcrread rc=0x0 $(pcr_after_extend $D32)" "$(printf '%s\n' "$out" | grep '^pcr' | tail -2)" || return 1
	r=$(wc -l <"$WORKDIR/rand")
	[ "$r" -ge 6 ] || fail "random outputs recorded" ">= 6" "$r" || return 1
	expect_eq "GetRandom outputs seen twice" "" "$(cut -d' ' -f3 "$WORKDIR/rand" | sort | uniq -d)"
}

# A server that cannot even open its vTPM because the disk is full (a new
# session must save its volatile state) answers TPM failures, and serves
# the same guest as soon as space returns: no restart.
t_serve_opens_once_space_returns() {
	setup_key
	local u s=$WORKDIR/s out mnt=$WORKDIR/small
	rm -f "$WORKDIR/space"
	small_fs "$mnt" || return 1
	u=$("$VTPMCTL" create) || return 1
	dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
	# --fail-unknown: as when the kernel names the instance, serve stays
	serve_socket "$u" "$s" --fail-unknown --domid 4 --devid 0 || return 1
	bg_client "$WORKDIR/a" "$s" randhex:16 waitfile:"$WORKDIR/space" randhex:16 \
		pcrextend:16:$D32 pcrread:16
	wait_for_line "$WORKDIR/a" "^waiting" || return 1
	rm -f "$mnt/filler"
	sleep 1.1	# serve retries at most once a second
	touch "$WORKDIR/space"
	wait $BG_PID
	wait_exit $SERVE_PID || fail "serve exit status after EOF" || return 1
	out=$(cat "$WORKDIR/a")
	printf '%s\n' "$out" | head -1 | grep -q '^randhex rc=0x101 ' ||
		fail "GetRandom while the vTPM cannot open" "randhex rc=0x101" "$out" || return 1
	printf '%s\n' "$out" | grep -q "^pcrread rc=0x0 $(pcr_after_extend $D32)" ||
		fail "served once space returned" "pcrread rc=0x0 ..." "$out" || return 1
	grep -q "opened after all" "$WORKDIR/serve.log" ||
		fail "serve log" "opened after all" "$(cat "$WORKDIR/serve.log")"
}

# A guest that took over the server through a libtpms bug (simulated by
# evil_preload.so, which acts from inside TPMLIB_Process when a guest asks
# TPM2_GetRandom(13)): a system call outside the filter kills the server
# (SIGSYS, no core file); without the sandbox the same call goes through,
# so it is the filter that stops it.
t_sandbox_forbidden_syscall_kills() {
	setup_key
	local u s=$WORKDIR/s out a st t0
	u=$("$VTPMCTL" create) || return 1
	for a in execve socket ptrace; do
		rm -f "$WORKDIR"/core*
		LD_PRELOAD=$TOP/tests/userspace/evil_preload.so EVIL_ACTION=$a serve_socket "$u" "$s" || return 1
		t0=$SECONDS
		out=$(cd "$WORKDIR" && client "$s" getrandom:8 getrandom:13 2>&1)
		# the client learns at once: a failure (EOF here; the kernel path
		# answers a TPM failure), never a hang
		[ $((SECONDS - t0)) -le 10 ] || fail "$a: the client waited" "<= 10 s" "$((SECONDS - t0)) s" || return 1
		printf '%s\n' "$out" | grep -q 'EOF from server' || fail "$a: the client was not told" "EOF from server" "$out" || return 1
		wait_exit $SERVE_PID; st=$?
		[ "$st" -eq $((128 + 31)) ] || fail "$a: serve exit status" "159 (SIGSYS)" "$st; $out" || return 1
		printf '%s\n' "$out" | grep -q '^getrandom rc=0x0 8 bytes' || fail "$a: first command" "answered" "$out" || return 1
		printf '%s\n' "$out" | grep -q 'rc=0x0 13 bytes' && { fail "$a: the forbidden call's command was answered" "no answer" "$out"; return 1; }
		grep -q "EVIL $a: ok" "$WORKDIR/serve.log" && { fail "$a went through" "killed" "$(tail -n 3 "$WORKDIR/serve.log")"; return 1; }
		ls "$WORKDIR"/core* >/dev/null 2>&1 && { fail "$a: a core file was written" "none" "$(ls "$WORKDIR")"; return 1; }
	done
	# control: unconfined, the call succeeds and the command is answered
	LD_PRELOAD=$TOP/tests/userspace/evil_preload.so EVIL_ACTION=socket serve_socket "$u" "$s" --no-sandbox || return 1
	out=$(client "$s" getrandom:13)
	wait_exit $SERVE_PID
	[[ $out == "getrandom rc=0x0 13 bytes" ]] || fail "unconfined control" "answered" "$out" || return 1
	grep -q "EVIL socket: ok" "$WORKDIR/serve.log" || fail "unconfined control: socket() failed" "ok" "$(tail -n 3 "$WORKDIR/serve.log")"
}

# The same guest tries files outside its vTPM: the host's secrets, another
# vTPM's state, a new file elsewhere: refused (EACCES), and the server goes
# on serving; without the sandbox (uid 0) they would all open.
t_sandbox_files_outside_refused() {
	setup_key
	local u u2 s=$WORKDIR/s out f
	u=$("$VTPMCTL" create) || return 1
	u2=$("$VTPMCTL" create) || return 1
	for f in open:/etc/shadow open:$VTPM_STATE_DIR/$u2/permanent.0 open:$VTPM_KEY_FILE write:/tmp/vtpm-evil-$$ \
		 write:$VTPM_STATE_DIR/evil; do
		: >"$WORKDIR/serve.log"
		LD_PRELOAD=$TOP/tests/userspace/evil_preload.so EVIL_ACTION=$f serve_socket "$u" "$s" || return 1
		out=$(client "$s" getrandom:13 getrandom:8)
		wait_exit $SERVE_PID || fail "$f: serve exit status" 0 "$?" || return 1
		grep -q "EVIL $f: Permission denied" "$WORKDIR/serve.log" ||
			fail "$f: not refused" "EVIL $f: Permission denied" "$(grep EVIL "$WORKDIR/serve.log"; grep -i landlock "$WORKDIR/serve.log")" || return 1
		[ "$(printf '%s\n' "$out" | grep -c 'rc=0x0')" -eq 2 ] || fail "$f: the server stopped serving" "2 answers" "$out" || return 1
	done
	[ ! -e /tmp/vtpm-evil-$$ ] && [ ! -e "$VTPM_STATE_DIR/evil" ] || fail "a file was created outside the vTPM" || return 1
	# control: unconfined (uid 0), the other vTPM's state opens
	: >"$WORKDIR/serve.log"
	LD_PRELOAD=$TOP/tests/userspace/evil_preload.so EVIL_ACTION=open:$VTPM_STATE_DIR/$u2/permanent.0 serve_socket "$u" "$s" --no-sandbox || return 1
	client "$s" getrandom:13 >/dev/null
	wait_exit $SERVE_PID
	grep -q "EVIL open:.*: ok" "$WORKDIR/serve.log" || fail "unconfined control" "ok" "$(grep EVIL "$WORKDIR/serve.log")"
}

# The server gives up uid 0 once its vTPM is open (--user; a bare uid
# here, so the host needs no new account): /proc shows that uid in every
# slot and no capability; its files are its own; from inside (the same
# evil_preload.so guest) root's keys are out of reach: a stand-in host key
# and another vTPM's rollback anchor can be neither read nor overwritten,
# while its own anchor still can. Served as root (--user root), the same
# reads go through: the uid change is what refuses them. Then the anchors,
# updated by that uid, still refuse an older volatile state put back
# across a server restart.
t_serve_as_user_confined() {
	command -v keyctl >/dev/null || { fail "keyctl (keyutils) not installed: cannot run"; return 1; }
	setup_key
	local u u2 s=$WORKDIR/s out tu=64123 hk g2 own d st f a evil
	while getent passwd $tu >/dev/null || getent group $tu >/dev/null; do tu=$((tu + 1)); done
	chmod 0711 "$WORKDIR"	# mktemp's 0700: the state root's parent
	u=$("$VTPMCTL" create) || return 1
	u2=$("$VTPMCTL" create) || return 1
	d=$(realpath "$VTPM_STATE_DIR")
	# a user named that does not exist: refused before anything starts
	run_rc 2 "$VTPMCTL" serve --socket "$s" --uuid "$u" --user no-such-user-$$ &&
		expect_err_line "no user \"no-such-user-$$\"" || return 1
	# no --user and no "vtpm" user on this host: served as uid 0, said so
	if ! getent passwd vtpm >/dev/null; then
		serve_socket "$u" "$s" || return 1
		client "$s" getrandom:4 >/dev/null || return 1
		wait_exit $SERVE_PID || return 1
		grep -q "no user vtpm: serving as uid 0; create it: adduser --system --group --no-create-home vtpm" "$WORKDIR/serve.log" ||
			fail "no vtpm user: the log says so" "no user vtpm: serving as uid 0" "$(cat "$WORKDIR/serve.log")" || return 1
	fi
	# the first server of the host, root without CAP_DAC_OVERRIDE and
	# CAP_DAC_READ_SEARCH: it still gives its 0700 directories away before
	# it drops (what they hold first, then the directory) and serves. (Once
	# they are vtpm's, a server's root phase needs CAP_DAC_OVERRIDE:
	# vtpm-serve@ keeps it until the drop.)
	if command -v capsh >/dev/null; then
		f=$("$VTPMCTL" create) || return 1
		: >"$WORKDIR/serve.log"
		rm -f "$s"
		capsh --drop=cap_dac_override,cap_dac_read_search --shell="$VTPMCTL" -- \
			serve --socket "$s" --uuid "$f" --wait 20 --user $tu 2>>"$WORKDIR/serve.log" &
		SERVE_PID=$!
		PIDS+=("$SERVE_PID")
		wait_for_file "$s" || return 1
		out=$(client "$s" getrandom:4)
		wait_exit $SERVE_PID || fail "served without CAP_DAC_*: exit status" 0 "$? $(cat "$WORKDIR/serve.log")" || return 1
		expect_eq "served without CAP_DAC_*" "getrandom rc=0x0 4 bytes" "$out" || return 1
		expect_eq "its files, uid $tu's" "" "$(find "$VTPM_STATE_DIR/$f" "$VTPM_RUN_DIR/$f" ! -uid $tu)" || return 1
	else
		echo "    capsh (libcap2-bin) missing: the run without CAP_DAC_* is NOT checked"
	fi
	# a vTPM that was never created, served as that uid (as the kernel
	# path does): TPM failures, not a refusal to serve
	serve_socket "$(cat /proc/sys/kernel/random/uuid)" "$s" --fail-unknown --user $tu || return 1
	out=$(client "$s" getrandom:4)
	wait_exit $SERVE_PID || fail "unknown vTPM as uid $tu: serve exit status" 0 "$?" || return 1
	expect_eq "unknown vTPM as uid $tu" "getrandom rc=0x101" "$(printf '%s\n' "$out" | cut -d' ' -f1-2)" || return 1
	# both vTPMs served once as root: their anchors exist in root's keyring
	for f in "$u" "$u2"; do
		serve_socket "$f" "$s" --user root || return 1
		client "$s" getrandom:4 >/dev/null || return 1
		wait_exit $SERVE_PID || return 1
	done
	g2=$(keyctl search @u user "libvtpm:gen:$d/$u2") || fail "anchor of the second vTPM" "a key" "none" || return 1
	own=$(keyctl search @u user "libvtpm:gen:$d/$u") || fail "anchor of the served vTPM" "a key" "none" || return 1
	# as the manager scenario found its anchors under vtpm-serve@: the
	# kernel's default permissions (the owner may only view); the server
	# must still keep and update them as uid $tu
	keyctl setperm "$own" 0x3f010000 || return 1
	hk=$(keyctl add user "vtpm-test-hostkey-$$" hostsecret @u) || return 1
	keyctl setperm "$hk" 0x3f3f0000 || return 1	# as manager unlock does
	evil=keyread:$hk,keyupdate:$hk,keyinval:$hk,keyread:$g2,keyupdate:$g2,keyinval:$g2,keyread:$own
	for f in root $tu; do
		: >"$WORKDIR/serve.log"
		# root: the control, reads only (nothing of root's invalidated)
		a=$evil
		[ $f = root ] && a=keyread:$hk,keyread:$g2
		LD_PRELOAD=$TOP/tests/userspace/evil_preload.so EVIL_ACTION=$a \
			serve_socket "$u" "$s" --user $f --domid 5 --devid 0 || return 1
		bg_client "$WORKDIR/a" "$s" pcrextend:16:$D32 waitfile:"$WORKDIR/go.$f" getrandom:13 pcrread:16 hold
		wait_for_line "$WORKDIR/a" "^waiting" || return 1
		st=$(cat /proc/$SERVE_PID/status)
		touch "$WORKDIR/go.$f"
		wait_for_line "$WORKDIR/a" "^pcrread" || return 1
		kill -TERM $SERVE_PID
		wait_exit $SERVE_PID || fail "--user $f: serve exit status after SIGTERM" 0 "$?" || return 1
		wait $BG_PID
		[ $f = root ] || break
		out=$(grep EVIL "$WORKDIR/serve.log")
		printf '%s\n' "$out" | grep -q "EVIL keyread:$hk: ok" && printf '%s\n' "$out" | grep -q "EVIL keyread:$g2: ok" ||
			fail "control: as root the server reads the host key and the other anchor" "EVIL keyread:...: ok" "$out" || return 1
		printf '%s\n' "$st" | grep -q '^Uid:	0	0	0	0$' || fail "control: uid" 0 "$(printf '%s\n' "$st" | grep ^Uid)" || return 1
		grep -q "serving as uid 0 (--user root): not recommended" "$WORKDIR/serve.log" ||
			fail "--user root: the log says so" "serving as uid 0" "$(cat "$WORKDIR/serve.log")" || return 1
	done
	expect_eq "Uid in /proc" "Uid:	$tu	$tu	$tu	$tu" "$(printf '%s\n' "$st" | grep '^Uid:')" || return 1
	expect_eq "Gid in /proc" "Gid:	$tu	$tu	$tu	$tu" "$(printf '%s\n' "$st" | grep '^Gid:')" || return 1
	expect_eq "Groups in /proc" "Groups:" "$(printf '%s\n' "$st" | grep '^Groups:' | tr -d ' \t')" || return 1
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_eq "$f in /proc" "$f:	0000000000000000" "$(printf '%s\n' "$st" | grep "^$f:")" || return 1
	done
	out=$(find "$VTPM_STATE_DIR/$u" "$VTPM_RUN_DIR/$u" ! -uid $tu)
	expect_eq "files of the vTPM not owned by uid $tu" "" "$out" || return 1
	[ -n "$(find "$VTPM_RUN_DIR/$u" -type f -uid $tu)" ] || fail "volatile state files" "owned by $tu" "none" || return 1
	out=$(grep EVIL "$WORKDIR/serve.log")
	for f in keyread:$hk keyupdate:$hk keyinval:$hk keyread:$g2 keyupdate:$g2 keyinval:$g2; do
		printf '%s\n' "$out" | grep -q "EVIL $f: Permission denied$" ||
			fail "$f from inside, as uid $tu" "EVIL $f: Permission denied" "$out" || return 1
	done
	printf '%s\n' "$out" | grep -q "EVIL keyread:$own: ok" ||
		fail "its own anchor, from inside" "EVIL keyread:$own: ok" "$out" || return 1
	expect_eq "the host key after the server" "hostsecret" "$(keyctl pipe "$hk")" || return 1
	keyctl unlink "$hk" @u >/dev/null
	grep -q "serving as uid 0" "$WORKDIR/serve.log" && { fail "serve log" "no uid 0" "$(grep 'uid 0' "$WORKDIR/serve.log")"; return 1; }
	# root's tools on the files uid $tu wrote
	run_rc 0 "$VTPMCTL" show "$u" || return 1
	# the volatile anchor, kept by uid $tu: an older volatile state put
	# back for the same running guest is refused across a restart
	cp -a "$VTPM_RUN_DIR/$u" "$WORKDIR/oldrun"
	serve_socket "$u" "$s" --user $tu --domid 5 --devid 0 || return 1
	bg_client "$WORKDIR/b" "$s" pcrread:16 pcrextend:16:$D32 hold
	wait_for_line "$WORKDIR/b" "^pcrextend" || return 1
	kill -TERM $SERVE_PID
	wait_exit $SERVE_PID || fail "serve exit status after SIGTERM" 0 "$?" || return 1
	wait $BG_PID
	# PCR 16 as the first server as uid $tu left it
	expect_eq "resumed as uid $tu" "$(grep '^pcrread' "$WORKDIR/a")" "$(head -1 "$WORKDIR/b")" || return 1
	rm -rf "$VTPM_RUN_DIR/$u" && cp -a "$WORKDIR/oldrun" "$VTPM_RUN_DIR/$u"
	: >"$WORKDIR/serve.log"
	serve_socket "$u" "$s" --user $tu --domid 5 --devid 0 || return 1
	out=$(client "$s" pcrread:16 2>&1)
	wait_exit $SERVE_PID
	printf '%s\n' "$out" | grep -q '^pcrread rc=0x0' && { fail "older volatile state" "refused" "$out"; return 1; }
	grep -q "rollback refused" "$WORKDIR/serve.log" ||
		fail "serve log" "rollback refused" "$(cat "$WORKDIR/serve.log")"
}

t_bench_socket() {
	setup_key
	local u s=$WORKDIR/s out
	u=$("$VTPMCTL" create) || return 1
	serve_socket "$u" "$s" || return 1
	out=$(client "$s" bench:2000)
	echo "    $out (GetRandom over the socket transport, python client; GetRandom needs no save)"
	wait_exit $SERVE_PID
}

ALL=$(declare -F | awk '$3 ~ /^t_/ { print substr($3, 3) }')
[ $# -gt 0 ] && ALL="$*"
for t in $ALL; do
	rm -rf "$VTPM_STATE_DIR" "$WORKDIR/serve.log" "$WORKDIR/s"
	if ( trap kill_test_processes EXIT; "t_$t" ); then
		echo "ok - vtpmctl $t"
	else
		echo "FAIL - vtpmctl $t"
		[ -f "$WORKDIR/serve.log" ] && sed "s/^/    serve.log: /" "$WORKDIR/serve.log" | tail -12
	fi
done
