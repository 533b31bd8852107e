# A malicious frontend: tpm-hostile.ko instead of xen-tpmfront, on four vtpm
# devices at once, does what a hostile guest can do to the backend (see
# tests/e2e/hostile/tpm-hostile.c). Each case checks what the backend
# answered, then that the device still serves a valid command (after a
# re-handshake where the backend rightly stopped listening). dom0 checks
# its own side (no oops, no leak) and that another guest kept working.
H=/sys/bus/xen/devices/vtpm-0/hostile
be=$(xenstore-read device/vtpm/0/backend)
act() { echo "$2" >"/sys/bus/xen/devices/vtpm-$1/hostile" 2>/dev/null; cat "/sys/bus/xen/devices/vtpm-$1/hostile"; }
# expect NAME ACTION REGEX: ACTION on vtpm-0; its result must match REGEX
expect() {
	local r; r=$(act 0 "$2")
	if echo "$r" | grep -Eq "$3"; then pass "$1" "$r"; else fail "$1" "'$2' gave '$r', expected /$3/"; fi
}
VALID='^state=2 len=20 rc=0x0$'
# works NAME [DEV]: a valid command succeeds within 60 s (a server still
# busy with a cancelled key generation answers TPM failures meanwhile)
works() {
	local d=${2:-0} i r
	for i in $(seq 60); do
		r=$(act "$d" "submit 12 12 0 0")
		echo "$r" | grep -Eq "$VALID" && { pass "$1" "$r (try $i)"; return 0; }
		sleep 1
	done
	fail "$1" "vtpm-$d: no valid answer in 60 s, last '$r'"
}
reconnect() { # the frontend closes and handshakes again on vtpm-0
	act 0 "xs 6" >/dev/null; wait_state 20 "$be/state" 6 || return 1
	act 0 "xs 1" >/dev/null; wait_state 20 "$be/state" 2 || return 1
	act 0 connect >/dev/null; wait_state 30 "$be/state" 4
}

# dom0 says how much: "full" (make hostile) or "quick" (make check): the
# quick run leaves out the slow cases (key generations, waits for the
# backend's connect rate limit) but keeps one of each kind.
mode=
for i in $(seq 150); do
	mode=$(xenstore-read data/hostile-mode 2>/dev/null) && break
	sleep 0.2
done
info "hostile mode: ${mode:=quick}"
full() { [ "$mode" = full ]; }
# insmod of a xenbus frontend returns once the driver's devices are
# Connected, or after 300 s (xenbus_register_frontend -> wait_for_devices);
# ours connect only on command, so it loads in the background and we go on
# once it has probed all four devices.
insmod /lib/modules/tpm-hostile.ko &
probed() { for d in 0 1 2 3; do [ -e "/sys/bus/xen/devices/vtpm-$d/hostile" ] || return 1; done; }
step hostile-load wait_for 30 probed
for d in 0 1 2 3; do
	step "connect-$d" sh -c "echo connect > /sys/bus/xen/devices/vtpm-$d/hostile"
	step "connected-$d" wait_state 60 "$(xenstore-read device/vtpm/$d/backend)/state" 4
done
works valid-command

# Lengths and headers: answered by the backend itself with TPM_RC_COMMAND_SIZE.
expect length-0 "submit 0 12 0 0" '^state=2 len=10 rc=0x142$'
expect length-9 "submit 9 9 0 0" '^state=2 len=10 rc=0x142$'
expect length-4089 "submit 4089 4089 0 0" '^state=2 len=10 rc=0x142$'
expect length-4294967295 "submit 4294967295 12 0 0" '^state=2 len=10 rc=0x142$'
expect header-disagrees "submit 12 13 0 0" '^state=2 len=10 rc=0x142$'
expect locality-4 "submit 12 12 4 0" '^state=2 len=10 rc=0x107$'
works after-bad-lengths

# Backend-only state written by the guest: ignored.
act 0 "page 2" >/dev/null
works after-guest-writes-finish
# expect_tries NAME TRIES ACTION REGEX: as expect, ACTION up to TRIES times
# until its result matches (for races the guest cannot order: each try
# that does not count says why)
expect_tries() {
	local i r
	for i in $(seq "$2"); do
		r=$(act 0 "$3"); act 0 flush >/dev/null
		echo "$r" | grep -Eq "$4" && { pass "$1" "$r (try $i)"; return 0; }
		info "$1: try $i: '$r'"
	done
	fail "$1" "'$3' gave '$r' $2 times, expected /$4/"
}
# SUBMIT again and again while a key generation is in flight: one answer,
# and at least one SUBMIT beyond the first reached the backend before it.
# (A try is void when the guest's vCPU was not run again before the answer.)
expect_tries submit-while-in-flight 3 "resubmit 50" '^state=2 len=[0-9]+ rc=0x0 submits=([2-9]|[1-9][0-9]+)$'
# The page rewritten for 20 ms while the backend works on a key generation:
# answered once, from one copy: either the key (rc 0) or, when the backend
# copied our garbage, an error; the answer's TPM header agrees with its
# length. A try is void when the answer came while we still wrote the page
# ("overlapped": our own writes may have garbled it), as when the backend
# copied our garbage and answered at once. Try N starts rewriting N-1 ms
# after the SUBMIT: the first races the backend's copy, later ones let the
# copy win more often and rewrite while the server works.
rewrite_ok() { # RESULT: state=2 len=N rc=X hdr=N clean, N at most one page
	echo "$1" | grep -Eq '^state=2 len=[0-9]+ rc=0x[0-9a-f]+ hdr=[0-9]+ clean$' || return 1
	local len hdr; len=${1#*len=}; len=${len%% *}; hdr=${1#*hdr=}; hdr=${hdr%% *}
	[ "$len" = "$hdr" ] && [ "$len" -ge 10 ] && [ "$len" -le 4088 ]
}
rewrite_case() {
	local i r
	for i in $(seq 10); do
		r=$(act 0 "rewrite 20 $(( (i - 1) * 1000 ))"); act 0 flush >/dev/null
		rewrite_ok "$r" && { pass rewrite-during-command "$r (try $i)"; return 0; }
		info "rewrite-during-command: try $i: '$r'"
		echo "$r" | grep -q overlapped || break
	done
	fail rewrite-during-command "'rewrite 20' gave '$r', expected state=2 len=N rc=X hdr=N clean"
}
rewrite_case
works after-rewrite
# An event storm: 200000 notifications.
step event-storm sh -c "echo 'storm 200000' > $H"
works after-storm
# CANCEL at different moments of a key generation.
full && cancels="0 5 50 400" || cancels=50
for ms in $cancels; do
	act 0 keygen >/dev/null
	expect "cancel-after-${ms}ms" "cancel $ms" '^state=(0|2) '
	act 0 flush >/dev/null
done
works after-cancels

# An unknown state byte: the backend stops listening (channel masked) ...
expect unknown-state "page 7" '^timeout state=7'
expect ignored-while-broken "submit 12 12 0 0" '^timeout '
step reconnect-after-unknown-state reconnect
works after-unknown-state
# ... as for extra pages, which no backend implements.
expect extra-pages "submit 12 12 0 1" '^timeout '
full && step reconnect-after-extra-pages reconnect && works after-extra-pages

if full; then
# xenstore states flapping, 10 rounds through every state.
for i in 1 2 3 4 5 6 7 8 9 10; do for s in 1 3 4 5 6 3 4 2 7 8 5; do act 0 "xs $s" >/dev/null; done; done
step reconnect-after-flapping reconnect
works after-flapping
# Closed in the middle of a command.
act 0 keygen >/dev/null
act 0 "xs 5" >/dev/null; act 0 "xs 6" >/dev/null
step closed-mid-command wait_state 30 "$be/state" 6
step reconnect-after-closed-mid-command reconnect
works after-closed-mid-command

# Invalid ring-ref and event-channel: the backend refuses to connect.
bad_connect() { # what
	act 0 "xs 6" >/dev/null; wait_state 20 "$be/state" 6 || return 1
	act 0 "xs 1" >/dev/null; wait_state 20 "$be/state" 2 || return 1
	act 0 "connect $1" >/dev/null
	sleep 5
	local s; s=$(xenstore-read "$be/state")
	[ "$s" != 4 ] || { echo "backend connected with $1"; return 1; }
	echo "backend state $s with $1"
}
step invalid-ring-ref bad_connect ref=1000000
step reconnect-after-invalid-ring-ref reconnect
works after-invalid-ring-ref
step invalid-event-channel bad_connect port=4000
step reconnect-after-invalid-event-channel reconnect
works after-invalid-event-channel
fi

# Many devices at once: storms on all four together, then each still works.
# (quick: vtpm-0 is left broken by the extra-pages case)
devs="1 2 3"; full && devs="0 1 2 3"
for d in $devs; do (echo "storm 100000" >/sys/bus/xen/devices/vtpm-$d/hostile) & done
wait
for d in $devs; do works "after-parallel-storms-$d" $d; done

# Vanishing without Closing: a key generation in flight, then dom0 destroys us.
act 1 keygen >/dev/null
info "hostile-vanish-ready"
sleep 600
