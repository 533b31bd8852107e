# shellcheck shell=bash
# frontend: guests with the patched xen-tpmfront (frontend/patches/), while
# the other scenarios keep the unmodified one. One runs Debian's kernel and
# loads the patched module instead of its own (TPM 2.0 chip, /dev/tpmrm0
# with tpm2-tools, the kernel's hwrng on the TPM) and is saved and restored
# mid-run: the patched driver keeps its chip (/dev/tpm0). The other loads
# it with a TPM 1.2 vTPM, which must stay 1.2. IMA: scenario frontend-ima.
UP=f0000000-0000-4000-8000-0000000000f1
U12=f0000000-0000-4000-8000-0000000000f3
need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $UP || return
need create-tpm12 vtpmctl create --uuid $U12 --tpm1.2 || return
# The two guests run at the same time.
need xl-create-patched guest_create fpatched guest-frontend "vtpm=[\"backend=0,uuid=$UP\"]" || return
need xl-create-patched12 guest_create fpatched12 guest-frontend12 "vtpm=[\"backend=0,uuid=$U12\"]" || return
server_started_for() { server_started "$(guest_domid "$1")"; }   # NAME
# server_pids NAME: guest NAME's vTPM server and its children, in SPIDS
server_pids() {
	local d pid
	d=$(xl domid "$1") && pid=$(server_pid "$d") || return 1
	SPIDS="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
}
# stop_server NAME: when the guest is ready, its vTPM server (and any
# child) stopped, and kept stopped 4 s after the guest says it is sending
# a command (patch 0005: the guest must wait, not fail with -ETIME).
stop_server() {
	local d pids rc=0
	wait_for 300 grep -aq 'E2E-INFO fe-slow-ready' "$(guest_log "$1")" || return 1
	d=$(xl domid "$1") && server_pids "$1" && pids=$SPIDS || return 1
	kill -STOP $pids || return 1
	xenstore-write "/local/domain/$d/data/e2e-go" stopped
	wait_for 120 xs_is "/local/domain/$d/data/e2e-slow" sending || rc=1
	sleep 4
	kill -CONT $pids
	return $rc
}
# xl save + xl restore of the first guest mid-run: its chip must survive.
# Its tpm-inflight thread (a kernel user of the TPM the freezer does not
# stop) calls the TPM in a loop; with the server stopped for a second, one
# of its commands is in flight when the guest is saved and is never
# answered: patch 0006 fails it at resume instead of holding the chip, and
# with it the guest's resume (its processes stay frozen), for its two-minute
# duration: the restored guest's script must run within 60 s (wall clock:
# wait_for's count of 0.2 s sleeps runs slow on a busy dom0).
if step fpatched-phase1 wait_for 300 grep -aq 'E2E-INFO fe-phase1' "$(guest_log fpatched)"; then
	step server-pids server_pids fpatched &&
		step server-stopped-for-save kill -STOP $SPIDS && sleep 1 &&
		step xl-save xl save fpatched /tmp/fpatched.save
	kill -CONT $SPIDS 2>/dev/null
	[ -s /tmp/fpatched.save ] &&
		step xl-restore xl restore /tmp/fpatched.save &&
		step new-server-started wait_for 60 server_started_for fpatched &&
		t_restored=$SECONDS &&
		step tell-restored sh -c 'xenstore-write /local/domain/$(xl domid fpatched)/data/e2e-go restored' &&
		step restored-guest-runs wait_for 300 grep -aq 'E2E-STEP chip-kept-after-restore' "$(guest_log fpatched)" &&
		say "the restored guest ran again $((SECONDS - t_restored)) s after it was told" &&
		step restored-guest-runs-within-60s test $((SECONDS - t_restored)) -lt 60 &&
		step slow-server stop_server fpatched
	rm -f /tmp/fpatched.save
fi
guest_wait fpatched 600
guest_wait fpatched12 600
