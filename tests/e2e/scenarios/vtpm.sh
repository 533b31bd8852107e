# shellcheck shell=bash
# vtpm: the whole stack as a user runs it. vtpmctl create, an xl config line,
# xl create — and nothing else by hand: udev loads xen-tpmback by modalias and
# starts `vtpmctl serve` for the new backend device. Real tpm2-tools in the
# guests check the TPM; state survives a guest reboot and a killed server;
# destroy+create gives a fresh TPM; two guests see only their own TPMs; an
# unknown uuid gets a TPM failure and a clear log line.
O=/e2e/out
UA=3c1d2e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5
UB=7e8f9a0b-1c2d-4e3f-8a5b-6c7d8e9f0a1b
UX=deadbeef-0000-4000-8000-000000000000
vtpm_cfg() { echo "vtpm=[\"backend=0,uuid=$1\"]"; }

need install-stack install_vtpm_stack || return
# the servers give up uid 0 for "vtpm" once their vTPM is open (serve.c)
need vtpm-user-by-package vtpm_user_add || return
step module-not-loaded-yet sh -c '! lsmod | grep -q ^xen_tpmback'
need create-a vtpmctl create --uuid $UA || return
need create-b vtpmctl create --uuid $UB || return
step create-duplicate-refused sh -c "! vtpmctl create --uuid $UA"
step list-shows-both sh -c "vtpmctl list | grep -q $UA && vtpmctl list | grep -q $UB"
step list-json sh -c "vtpmctl --json list | python3 -c 'import json,sys; v=json.load(sys.stdin); assert len(v)>=2, v'"

# --- run 1: guest A (full tpm2-tools suite) and guest B at the same time ---
need xl-create-a1 guest_create ga1 guest-vtpm-full "$(vtpm_cfg $UA)" || return
step module-autoloaded lsmod | grep -q ^xen_tpmback
need xl-create-b1 guest_create gb1 guest-vtpm-b "$(vtpm_cfg $UB)" || return
domA=$(guest_domid ga1)
step server-started-by-udev wait_for 30 server_started $domA
guest_wait gb1 600
guest_wait ga1 900

# --- run 2: guest A again (a reboot: new domain, same uuid); the server is
# killed mid-run and the hotplug supervisor restarts it; then the restarted
# server, confined (sandbox.c), makes a forbidden system call inside a guest
# command, as a guest that took it over through a libtpms bug would
# (evil_preload.so, socket(AF_INET) once dom0 touches the trigger): seccomp
# kills it, the guest's command fails instead of hanging, the supervisor
# starts a fresh server and the guest goes on -------------------------------
EVIL=/e2e/artefacts/evil_preload.so
EVIL_GO=/run/vtpm/$UA/evil-go
evil_at=
if [ -f $EVIL ]; then
	cp -p /etc/default/vtpm /tmp/vtpm.default 2>/dev/null || : >/tmp/vtpm.default
	printf 'export LD_PRELOAD=%s EVIL_ACTION=socket EVIL_TRIGGER=%s\n' $EVIL $EVIL_GO >>/etc/default/vtpm
else
	fail sandbox-evil-preload "no $EVIL in the artefacts"
fi
need xl-create-a2 guest_create ga2 guest-vtpm-reboot "$(vtpm_cfg $UA)" || return
domA=$(guest_domid ga2)
lg=$(guest_log ga2)
if step a2-first-reads wait_for 240 grep -q 'E2E-INFO nvread 3 ok' "$lg"; then
	sup=$(server_pid $domA)
	child=$(pgrep -P "$sup" | head -n1)
	step server-runs-as-vtpm server_is_vtpm "$child" /var/lib/vtpm/$UA
	kill_at=$(grep -ao 'E2E-INFO nvread [0-9]* ' "$lg" | tail -n1 | cut -d' ' -f3)
	if [ -n "$child" ] && kill -9 "$child"; then
		pass server-killed "server pid $child killed after guest read $kill_at"
	else
		fail server-killed "no server child under supervisor $sup"
	fi
	step server-restarted wait_for 30 sh -c "c=\$(pgrep -P $sup | head -n1); [ -n \"\$c\" ] && [ \"\$c\" != $child ]"
	if [ -f $EVIL ]; then
		child=$(pgrep -P "$sup" | head -n1)
		mark=$(grep -ao 'E2E-INFO nvread [0-9]* ' "$lg" | tail -n1 | cut -d' ' -f3)
		wait_for 30 sh -c "grep -ao 'E2E-INFO nvread [0-9]* ok' '$lg' | awk '\$3 > $mark' | grep -q ."
		evil_at=$(grep -ao 'E2E-INFO nvread [0-9]* ' "$lg" | tail -n1 | cut -d' ' -f3)
		touch $EVIL_GO
		step sandbox-forbidden-call-kills wait_for 30 grep -q "server pid $child killed by signal 31" /var/log/syslog
		step sandbox-server-restarted wait_for 30 sh -c "c=\$(pgrep -P $sup | head -n1); [ -n \"\$c\" ] && [ \"\$c\" != $child ]"
		say "seccomp kill after guest read $evil_at: $(grep -h "killed by signal 31" /var/log/syslog | tail -n1)"
	fi
fi
guest_wait ga2 600
if [ -f $EVIL ]; then
	cp -p /tmp/vtpm.default /etc/default/vtpm
	rm -f $EVIL_GO
fi
# Every read after the kill succeeded, and there were some -- except that
# the read in flight at the kill (the first one after kill_at) may fail:
# the kernel answers a dead server's command with a TPM failure at once.
# The same for the seccomp kill (after evil_at): a failure, never a hang.
after_kill() {
	local n; n=$(grep -ao 'E2E-INFO nvread [0-9]* [a-z]*' "$lg" | awk -v k="$kill_at" '$3 > k' | tee /tmp/after)
	[ -n "$n" ] || return 1
	! awk -v k="$kill_at" -v e="${evil_at:--9}" '$4 == "fail" && $3 != k + 1 && $3 != e + 1' /tmp/after | grep -q . &&
		[ "$(grep -c ' ok' /tmp/after)" -ge 5 ] && grep -c ' ok' /tmp/after
}
step nv-survives-server-kill after_kill
[ -n "$evil_at" ] && step sandbox-guest-goes-on sh -c "grep -ao 'E2E-INFO nvread [0-9]* ok' '$lg' | awk '\$3 > $evil_at + 1' | grep -q ."

# --- destroy + create with the same uuid gives a fresh TPM -----------------
step destroy-a vtpmctl destroy $UA
step destroyed-not-listed sh -c "! vtpmctl list | grep -q $UA"
step recreate-a vtpmctl create --uuid $UA
need xl-create-a3 guest_create ga3 guest-vtpm-fresh "$(vtpm_cfg $UA)" || return
guest_wait ga3 600

# --- a uuid that was never created -------------------------------------------
need xl-create-x guest_create gx guest-vtpm-unknown "$(vtpm_cfg $UX)" || return
guest_wait gx 600
step unknown-uuid-logged grep -q "$UX" /var/log/syslog
say "unknown uuid log: $(grep "$UX" /var/log/syslog | tail -n2 | tr '\n' '|')"
step servers-gone-after-guests sh -c '! pgrep -x vtpmctl'
step no-oops sh -c "! dmesg | grep -Eq 'BUG:|Oops|WARNING:|general protection'"
