# shellcheck shell=bash
# backend: xen-tpmback.ko against the unmodified upstream frontend, with the
# test responder (tests/responder) forwarding to a swtpm in dom0. Proves the
# handshake, byte-for-byte command/response transport, the watchdog when the
# server dies mid-command, and clean teardown on guest shutdown, xl
# vtpm-detach and xl destroy, after which the module unloads.
A=/e2e/artefacts
O=/e2e/out
uuid=0f6f3d1a-2b1c-4c7e-9a55-3e1f0c2d4b01
uuid2=0f6f3d1a-2b1c-4c7e-9a55-3e1f0c2d4b02

# The module as a user installs it (xen-tpmback-dkms; DKMS builds it in
# dom0); vtpm-tools must not be there: its udev rule would start vtpmctl.
need install-module install_module_pkg || return
need no-vtpm-tools not_installed vtpm-tools || return
need modprobe modprobe xen-tpmback || return
need responder-built test -x $A/vtpm-responder || return
step chardev test -c /dev/xen/tpmback

# The responder's TPM: a swtpm in dom0.
need swtpm swtpm_start /tmp/swtpm-be || return

RESP_PID=
start_responder() { # LOG UUID [args]
	local logf=$1 u=$2; shift 2
	$A/vtpm-responder --uuid "$u" --wait=120000 --swtpm /tmp/swtpm-be/data \
		--log "$logf" "$@" >>$O/backend.responder.out 2>&1 &
	RESP_PID=$!
}
alive() { kill -0 "$1" 2>/dev/null; }

# --- guest 1: handshake, transport, kill mid-command, shutdown --------------
start_responder $O/backend.responder1.log $uuid --hang-on-cc 0x17c
r1=$RESP_PID
need xl-create guest_create gb guest-backend "vtpm=[\"backend=0,uuid=$uuid\"]" || return
domid=$(guest_domid gb)
be=/local/domain/0/backend/vtpm/$domid/0
fe=/local/domain/$domid/device/vtpm/0
sys=/sys/bus/xen-backend/devices/vtpm-$domid-0
step backend-feature-v2 xs_is $be/feature-protocol-v2 1
step frontend-connected wait_for 120 xs_is $fe/state 4
step backend-connected xs_is $be/state 4
step backend-ready xs_is $be/ready 1
check_sysfs() {
	[ "$(cat $sys/domid)" = "$domid" ] && [ "$(cat $sys/devid)" = 0 ] &&
		[ "$(cat $sys/uuid)" = "$uuid" ] && [ "$(cat $sys/attached)" = 1 ]
}
step sysfs-attributes check_sysfs
check_uevent() {
	grep -qx "VTPM_UUID=$uuid" $sys/uevent && grep -qx "VTPM_DOMID=$domid" $sys/uevent &&
		grep -qx "VTPM_DEVID=0" $sys/uevent
}
step uevent-variables check_uevent
say "sysfs: $(for a in domid devid uuid connection attached; do printf '%s=%s ' $a "$(cat $sys/$a 2>&1)"; done)"
# The guest now sends TPM2_GetTestResult, which responder 1 never answers:
# kill it mid-command; the guest must get a TPM error, then a new responder
# must serve the guest's next command.
hung_cmd() { grep -q '^CMD [0-9]* [0-9]* 80010000000a0000017c$' $O/backend.responder1.log; }
if step responder-got-hung-cmd wait_for 180 hung_cmd; then
	kill -9 $r1
	say "responder 1 killed mid-command at $(date +%s.%N | cut -c1-14)"
	# The new responder also writes malformed responses for TPM2_ReadClock,
	# and first misuses the chardev in every other way (--abuse).
	start_responder $O/backend.responder2.log $uuid --bad-rsp-on-cc 0x181 --abuse
	r2=$RESP_PID
fi
guest_wait gb 300
first_cmd() { # the kernel's own first command: TPM 1.2 GetCapability
	head -n1 $O/backend.responder1.log | grep -Eq '^CMD [0-9]+ 0 00c1[0-9a-f]{8}00000065'
}
step first-cmd-is-kernels first_cmd
same_bytes() { # KIND: the guest's view equals the responder's RSP, byte for byte
	local v; v=$(grep -ao "E2E-INFO $1 [0-9a-f]*" "$(guest_log gb)" | tail -n1 | cut -d' ' -f3)
	[ -n "$v" ] || { echo "guest printed no $1"; return 1; }
	case $1 in
	RAWRSP) grep -q "^RSP [0-9]* $v\$" $O/backend.responder*.log ;;
	RANDOM) grep -q "^RSP [0-9]* .*$v" $O/backend.responder*.log ;;
	esac
}
step getrandom-byte-for-byte same_bytes RANDOM
step raw-response-byte-for-byte same_bytes RAWRSP
# Malformed writes from a buggy server: refused with EINVAL (the TPM size
# field lies) and then EPIPE (the command was failed); the guest got a TPM
# failure and its next command was served.
step bad-rsp-einval grep -q '^BADRSP [0-9]* errno=22$' $O/backend.responder2.log
# A misbehaving server on the chardev: each misuse refused with its errno,
# and the instance served the guest afterwards (the steps around).
abused() { grep -q "^ABUSE $1 errno=$2\$" $O/backend.responder2.log; }
step abuse-write-no-command-epipe abused write-no-command 32
step abuse-write-oversize-epipe abused write-oversize 32
step abuse-attach-again-eisconn abused attach-again 106
step abuse-second-attacher-ebusy abused second-attacher 16
step abuse-read-unattached-enotconn abused read-unattached 107
step abuse-write-unattached-enotconn abused write-unattached 107
step abuse-attach-vanished-enoent abused attach-vanished 2
step abuse-unknown-ioctl-enotty abused unknown-ioctl 25
say "$(grep '^ABUSE' $O/backend.responder2.log | tr '\n' ' ')"
step stale-rsp-epipe grep -q '^STALERSP [0-9]* errno=32$' $O/backend.responder2.log
step shutdown-backend-gone wait_for 15 sh -c "! xenstore-exists $be"
step shutdown-responder-exits wait_for 10 sh -c "! kill -0 $r2"
step shutdown-irq-freed sh -c "! grep -q xen-tpmback /proc/interrupts"

# --- guest 2: xl vtpm-detach, vtpm-attach, xl destroy ------------------------
start_responder $O/backend.responder3.log $uuid2
r3=$RESP_PID
need xl-create-2 guest_create gd guest-idle "vtpm=[\"backend=0,uuid=$uuid2\"]" || return
domid=$(guest_domid gd)
be=/local/domain/0/backend/vtpm/$domid/0
step guest2-connected wait_for 120 xs_is /local/domain/$domid/device/vtpm/0/state 4
step guest2-served wait_for 120 grep -q "guest-idle ready" "$(guest_log gd)"
t0=$SECONDS
step vtpm-detach xl vtpm-detach gd 0
say "xl vtpm-detach took $((SECONDS - t0)) s"
step detach-backend-gone wait_for 10 sh -c "! xenstore-exists $be"
step detach-responder-exits wait_for 10 sh -c "! kill -0 $r3"
start_responder $O/backend.responder4.log $uuid2
r4=$RESP_PID
step vtpm-attach xl vtpm-attach gd backend=0 uuid=$uuid2
# libxl hands out the lowest free devid, so the new device may be 0 again.
be1=/local/domain/0/backend/vtpm/$domid/$(xenstore-list /local/domain/0/backend/vtpm/$domid | tail -n1)
say "re-attached as $be1"
step reattach-connected wait_for 60 xs_is $be1/state 4
t0=$SECONDS
step xl-destroy xl destroy gd
guest_relay gd --killed
say "xl destroy took $((SECONDS - t0)) s"
step destroy-backend-gone wait_for 10 sh -c "! xenstore-exists $be1"
step destroy-responder-exits wait_for 10 sh -c "! kill -0 $r4"
step irq-freed sh -c "! grep -q xen-tpmback /proc/interrupts"
step rmmod rmmod xen_tpmback
step no-oops sh -c "! dmesg | grep -Eq 'BUG:|Oops|WARNING:|general protection'"
swtpm_stop /tmp/swtpm-be
