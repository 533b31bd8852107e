# shellcheck shell=bash
# stall: a stalled or hostile server, and a failed switch to Connected,
# never hold up the guest, the toolstack or other guests.
#  1. A stopped server (SIGSTOP): the guest's commands fail within the
#     command timeout, later ones faster; then, with a key generation
#     pending that the server never answers, xl save still succeeds.
#  2. A server whose read() faults forever (userfaultfd): xl destroy of its
#     guest returns, and another guest's xl create still works (the
#     xenwatch thread is never stuck behind the device's lock).
#  3. The switch to Connected fails in xenstore (fault injection): the
#     backend unbinds and unmaps at once; after xl destroy no irq, no
#     grant mapping (no dying domain) is left behind. The packaged module
#     has no fault injection (checked): this part loads the tree's test
#     build (make module) and puts the package's module back after it.
#  4. A guest re-handshaking in a loop (40 times, by writing its frontend
#     state): its connects, and the errors they log, are rate limited.
A=/e2e/artefacts
O=/e2e/out
U1=5a11a11a-0000-4000-8000-000000000001
U2=5a11a11a-0000-4000-8000-000000000002
U3=5a11a11a-0000-4000-8000-000000000003
U4=5a11a11a-0000-4000-8000-000000000004
U5=5a11a11a-0000-4000-8000-000000000005

# The module as a user installs it (its package); vtpm-tools must not be
# there: its udev rule would start vtpmctl.
need install-module install_module_pkg || return
need no-vtpm-tools not_installed vtpm-tools || return
need responder-built test -x $A/vtpm-responder || return
need modprobe modprobe xen-tpmback || return
need swtpm swtpm_start /tmp/swtpm-st || return

# swtpm serves one connection at a time: the stuck reader of part 2 gets
# its own, so that it holds up nobody but itself.
SW=/tmp/swtpm-st
responder() { # LOG UUID [args] -> pid in RESP_PID
	local logf=$1 u=$2; shift 2
	$A/vtpm-responder --uuid "$u" --wait=120000 --swtpm $SW/data \
		--log "$logf" "$@" >>$O/stall.responder.out 2>&1 &
	RESP_PID=$!
}
guest_says() { grep -aq "$2" "$(guest_log "$1")"; }

# --- 1. stopped server, then xl save with a key generation pending --------
responder $O/stall.r1.log $U1 --hang-on-cc 0x131
r1=$RESP_PID
need xl-create-save guest_create ss guest-stall "vtpm=[\"backend=0,uuid=$U1\"]" || return
dom=$(guest_domid ss)
if step guest-ready wait_for 180 guest_says ss 'E2E-INFO stall-ready'; then
	kill -STOP $r1
	xenstore-write /local/domain/$dom/data/e2e-go 1
	step stopped-measured wait_for 60 guest_says ss 'E2E-INFO stall-measured'
	kill -CONT $r1
	xenstore-write /local/domain/$dom/data/e2e-go 2
	step keygen-pending wait_for 60 grep -q '^HANG ' $O/stall.r1.log
	sleep 1
	t0=$SECONDS
	step xl-save-keygen-pending xl save ss /tmp/ss.save
	took=$((SECONDS - t0))
	rm -f /tmp/ss.save	# dom0's /tmp is RAM: the next scenarios need it
	say "xl save with a key generation pending took $took s"
	step xl-save-within-55s test $took -lt 55
fi
guest_relay ss --killed
xl destroy ss >/dev/null 2>&1
step save-responder-exits wait_for 15 sh -c "! kill -0 $r1"
kill -CONT $r1 2>/dev/null; kill -9 $r1 2>/dev/null

# --- 2. a reader stuck in a userfaultfd fault --------------------------------
need swtpm-uffd swtpm_start /tmp/swtpm-uf || return
SW=/tmp/swtpm-uf responder $O/stall.r2.log $U2 --uffd-read
r2=$RESP_PID
need xl-create-uffd guest_create su guest-tpmfront-only "vtpm=[\"backend=0,uuid=$U2\"]" || return
dom=$(guest_domid su)
step uffd-reader-blocked wait_for 120 grep -q '^UFFD-READ blocked' $O/stall.r2.log
# The guest's first command is in the reader's copy: give it time to fault.
step uffd-command-pending wait_for 120 sh -c "dmesg | grep -q 'vtpm-$dom-0: connected'"
sleep 3
t0=$SECONDS
step uffd-xl-destroy timeout 60 xl destroy su
say "xl destroy with a reader stuck in a fault took $((SECONDS - t0)) s"
step uffd-backend-gone wait_for 15 sh -c "! xenstore-exists /local/domain/0/backend/vtpm/$dom"
responder $O/stall.r3.log $U3
r3=$RESP_PID
t0=$SECONDS
need uffd-other-guest-create guest_create so guest-idle "vtpm=[\"backend=0,uuid=$U3\"]" || return
say "xl create of another guest took $((SECONDS - t0)) s"
dom=$(guest_domid so)
step uffd-other-guest-served wait_for 180 guest_says so 'guest-idle ready'
step uffd-reader-still-blocked sh -c "! grep -q '^UFFD-READ returned' $O/stall.r2.log && kill -0 $r2"
kill -9 $r2
step uffd-reader-killable wait_for 10 sh -c "! kill -0 $r2"
xl destroy so
guest_relay so --killed
step other-responder-exits wait_for 15 sh -c "! kill -0 $r3"

# --- 3. a failed switch to Connected -----------------------------------------
dbg=/sys/kernel/debug/xen-tpmback/fail_switch_connected
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
step packaged-module-has-no-fault-knob sh -c "test -d ${dbg%/*} && ! test -e $dbg"
need fi-module-loaded sh -c "rmmod xen_tpmback && insmod $A/xen-tpmback-fi.ko" || return
need fault-knob test -w $dbg || return
responder $O/stall.r4.log $U4
r4=$RESP_PID
echo 1 >$dbg
need xl-create-fault guest_create sf guest-tpmfront-only "vtpm=[\"backend=0,uuid=$U4\"]" || return
dom=$(guest_domid sf)
be=/local/domain/0/backend/vtpm/$dom/0
step fault-injected wait_for 120 sh -c "[ \$(cat $dbg) = 0 ]"
closing_or_closed() { xs_is "$1/state" 5 || xs_is "$1/state" 6; }
step fault-backend-closing wait_for 30 closing_or_closed $be
step fault-error-node sh -c "xenstore-read /local/domain/0/error/backend/vtpm/$dom/0/error | grep -q injected"
step fault-no-irq-while-closing sh -c "! grep -q 'xen-tpmback-$dom-0' /proc/interrupts"
t0=$SECONDS
step fault-xl-destroy xl destroy sf
say "xl destroy after the failed switch took $((SECONDS - t0)) s"
guest_relay sf --killed
step fault-backend-gone wait_for 15 sh -c "! xenstore-exists $be"
step fault-no-irq-after-destroy sh -c "! grep -q xen-tpmback /proc/interrupts"
step fault-no-dying-domain wait_for 20 no_dying_domain
say "xl list: $(xl list | tr '\n' '|')"
step fault-responder-exits wait_for 15 sh -c "! kill -0 $r4"
need packaged-module-back sh -c "rmmod xen_tpmback && modprobe xen-tpmback && ! test -e $dbg" || return

# --- 4. a guest that re-handshakes in a loop --------------------------------
need xl-create-flap guest_create sl guest-flap "vtpm=[\"backend=0,uuid=$U5\"]" || return
dom=$(guest_domid sl)
step flap-done wait_for 240 guest_says sl 'E2E-INFO flap-done'
sleep 2
attempts=$(dmesg | grep -c "vtpm-$dom-0: .*ring-ref")
say "flap: $attempts connects attempted for 40 re-handshakes; $(dmesg | grep -c "vtpm-$dom-0: frontend reconnects too often") deferrals logged"
step flap-rate-limited sh -c "dmesg | grep -q 'vtpm-$dom-0: frontend reconnects too often'"
step flap-connects-bounded test "$attempts" -lt 40
xl destroy sl
guest_relay sl --killed
step flap-backend-gone wait_for 15 sh -c "! xenstore-exists /local/domain/0/backend/vtpm/$dom"

step rmmod rmmod xen_tpmback
step no-oops sh -c "! dmesg | grep -Eq 'BUG:|Oops|WARNING:|general protection|INFO: task .* blocked'"
swtpm_stop /tmp/swtpm-st
swtpm_stop /tmp/swtpm-uf
