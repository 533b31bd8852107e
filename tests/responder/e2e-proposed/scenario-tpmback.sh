# shellcheck shell=bash
# tpmback: our module against the unmodified xen-tpmfront, with the test
# responder forwarding to swtpm in dom0.
A=/e2e/artefacts
O=/e2e/out
uuid=7c1e2a44-1f0b-4d6e-9a3c-5e8f00b1c2d3
uuid2=7c1e2a44-1f0b-4d6e-9a3c-5e8f00b1c2d4
uuid3=7c1e2a44-1f0b-4d6e-9a3c-5e8f00b1c2d5

start_swtpm() { # DIR
	mkdir -p "$1"
	swtpm socket --tpm2 --tpmstate dir="$1" --server type=unixio,path="$1/data" \
		--ctrl type=unixio,path="$1/ctrl" --flags startup-clear,not-need-init \
		--daemon --pid file="$1/pid" --log file="$1/log"
}
resp() { # NAME ARGS... : start a responder in the background
	local n=$1; shift
	"$A/vtpm-responder" "$@" --log "$O/$n.log" --pidfile "/tmp/$n.pid" >"$O/$n.out" 2>&1 &
}
ready() { grep -q 'ready' "$O/$1.out"; }
running() { kill -0 "$(cat "/tmp/$1.pid")" 2>/dev/null; }

need insmod insmod "$A/xen-tpmback.ko"
need chardev test -c /dev/xen-tpmback
step params sh -c 'grep . /sys/module/xen_tpmback/parameters/*'
need swtpm-a start_swtpm /tmp/swa
need swtpm-b start_swtpm /tmp/swb
need swtpm-c start_swtpm /tmp/swc

# 1: a waiting responder (by uuid), the guest's commands byte for byte
resp r1 --uuid $uuid --wait=120000 --swtpm /tmp/swa/data --ctrl /tmp/swa/ctrl --hang-on-cc 0x181
need xl-create guest_create tb guest-tpmback "vtpm=[\"backend=0,uuid=$uuid\"]"
domid=$(guest_domid tb)
be=/local/domain/0/backend/vtpm/$domid/0
sys=/sys/bus/xen-backend/devices/vtpm-$domid-0
step r1-ready wait_for 30 ready r1
step backend-connected wait_for 90 xs_is "$be/state" 4
step backend-feature xs_is "$be/feature-protocol-v2" 1
step backend-ready xs_is "$be/ready" 1
sysfs_ok() {
	[ "$(cat $sys/domid)" = "$domid" ] && [ "$(cat $sys/devid)" = 0 ] &&
		[ "$(cat $sys/uuid)" = "$uuid" ] && [ "$(cat $sys/connection)" = connected ] &&
		[ "$(cat $sys/attached)" = 1 ]
}
step sysfs wait_for 10 sysfs_ok
say "sysfs: $(cd $sys && grep . domid devid uuid connection attached 2>&1 | tr '\n' ' ')"
step uevent sh -c "cat $sys/uevent; grep -q VTPM_UUID=$uuid $sys/uevent && grep -q VTPM_DOMID=$domid $sys/uevent && grep -q VTPM_DEVID=0 $sys/uevent"
step first-command-served wait_for 60 grep -q '^RSP 1 ' "$O/r1.log"
step r1-hang wait_for 180 grep -q '^HANG' "$O/r1.log"
sleep 1
kill -9 "$(cat /tmp/r1.pid)"
say "killed r1 mid-command"
resp r2 --uuid $uuid --wait=30000 --swtpm /tmp/swa/data --ctrl /tmp/swa/ctrl
step r2-ready wait_for 30 ready r2
step guest-served-after-restart wait_for 120 grep -aq 'getrandom-after-restart' "$(guest_log tb)"

# 2: hot-plug a second vTPM, a responder waiting by domid/devid, detach
resp r3 --domid "$domid" --devid 1 --wait=60000 --swtpm /tmp/swb/data
step vtpm-attach xl vtpm-attach tb backend=0 uuid=$uuid2
be1=/local/domain/0/backend/vtpm/$domid/1
step r3-ready wait_for 30 ready r3
step tpm1-served wait_for 120 grep -aq 'tpm1-getrandom' "$(guest_log tb)"
t0=$SECONDS
step vtpm-detach xl vtpm-detach tb 1
say "vtpm-detach took $((SECONDS - t0)) s"
step detach-fast test $((SECONDS - t0)) -lt 8
step detach-dir-removed wait_for 15 sh -c "! xenstore-exists $be1"
step r3-exits-on-removal wait_for 15 sh -c "! kill -0 \$(cat /tmp/r3.pid)"

# 3: guest powers off; the backend closes, the responder sees EOF
guest_wait tb 300
step poweroff-dir-removed wait_for 15 sh -c "! xenstore-exists $be"
step poweroff-sysfs-gone wait_for 15 sh -c "! test -e $sys"
step r2-exits-on-removal wait_for 15 sh -c "! kill -0 \$(cat /tmp/r2.pid)"
rnd=$(grep -a -o 'rnd=[0-9a-f]*' "$(guest_log tb)" | head -n1 | cut -d= -f2)
say "guest random: $rnd"
step byte-for-byte grep -q "^RSP [0-9]* 800100000014000000000008$rnd\$" "$O/r1.log"

# 4: xl destroy with the frontend connected
resp r4 --uuid $uuid3 --wait=120000 --swtpm /tmp/swc/data
need xl-create-2 guest_create tb2 guest-xtb-idle "vtpm=[\"backend=0,uuid=$uuid3\"]"
domid2=$(guest_domid tb2)
be2=/local/domain/0/backend/vtpm/$domid2/0
step tb2-served wait_for 120 grep -aq 'idle-ready' "$(guest_log tb2)"
step tb2-connected xs_is "$be2/state" 4
t0=$SECONDS
step xl-destroy xl destroy tb2
say "xl destroy took $((SECONDS - t0)) s"
step destroy-dir-removed wait_for 15 sh -c "! xenstore-exists $be2"
step r4-exits-on-removal wait_for 15 sh -c "! kill -0 \$(cat /tmp/r4.pid)"
guest_relay tb2 >/dev/null 2>&1 || true

step rmmod rmmod xen_tpmback
step dmesg-clean sh -c '! dmesg | grep -E "BUG:|WARNING:|Oops|general protection|Call Trace"'
dmesg | grep -i "tpmback\|vtpm" | tail -n 60 >"$O/dom0-tpmback-dmesg.log"
say "dmesg: $(grep -c . "$O/dom0-tpmback-dmesg.log") lines about tpmback"
