# shellcheck shell=bash
# hostile: a malicious frontend (tests/e2e/hostile/tpm-hostile.c, four vtpm
# devices in one guest) against the backend and the real servers, while a
# well-behaved guest runs TPM commands in a loop. The hostile guest checks
# each answer itself (guest-hostile.sh); here: dom0 logs no oops, BUG or
# WARNING, the good guest never saw a failure, the hostile guest destroyed
# in the middle of a key generation (vanishing without Closing) leaves no
# backend, server, irq or dying domain behind, and the module unloads.
UG=0b57113e-0000-4000-8000-00000000600d
UH0=0b57113e-0000-4000-8000-0000000e0000
UH1=0b57113e-0000-4000-8000-0000000e0001
UH2=0b57113e-0000-4000-8000-0000000e0002
UH3=0b57113e-0000-4000-8000-0000000e0003
dmesg_clean() { ! dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace|refcount_t|list_(add|del) corruption'; }

need install-stack install_vtpm_stack || return
for u in $UG $UH0 $UH1 $UH2 $UH3; do
	need "create-${u##*-}" vtpmctl create --uuid $u || return
done
need good-guest guest_create hg-good guest-good "vtpm=[\"backend=0,uuid=$UG\"]" || return
good=$(guest_domid hg-good)
need good-guest-running wait_for 300 grep -aq 'E2E-INFO good-running' "$(guest_log hg-good)" || return
need hostile-guest guest_create hg-evil guest-hostile \
	"vtpm=[\"backend=0,uuid=$UH0\",\"backend=0,uuid=$UH1\",\"backend=0,uuid=$UH2\",\"backend=0,uuid=$UH3\"]" || return
evil=$(guest_domid hg-evil)
# E2E_HOSTILE_FULL=1 (make hostile): every case; else the quick set.
[ -f /e2e/e2e.env ] && . /e2e/e2e.env
xenstore-write /local/domain/$evil/data/hostile-mode "$([ "${E2E_HOSTILE_FULL:-0}" = 1 ] && echo full || echo quick)"
t0=$SECONDS
step hostile-cases-ran wait_for 1200 grep -aq 'E2E-INFO hostile-vanish-ready' "$(guest_log hg-evil)"
say "hostile cases took $((SECONDS - t0)) s"
sleep 1
# Vanishing without Closing, a key generation in flight.
step destroy-hostile-mid-command xl destroy hg-evil
guest_relay hg-evil --killed
step hostile-backends-gone wait_for 30 sh -c "! xenstore-exists /local/domain/0/backend/vtpm/$evil"
step hostile-servers-exit wait_for 30 no_server_for "$evil"
step hostile-no-dying-domain wait_for 30 sh -c "! xl list | awk 'NR > 1' | grep -q hg-evil"
step hostile-irqs-freed sh -c "! grep -q 'xen-tpmback-$evil-' /proc/interrupts"
say "backend log for the hostile guest: $(dmesg | grep -c "vtpm-$evil-") lines; $(dmesg | grep "vtpm-$evil-" | sed 's/^\[[^]]*\] //' | sort | uniq -c | sort -rn | head -n 12 | tr '\n' '|')"
# The good guest: it stops its loop and reports.
xenstore-write /local/domain/$good/data/e2e-go stop
guest_wait hg-good 180
step good-servers-exit wait_for 30 no_server_for "$good"
step no-dying-domain wait_for 30 no_dying_domain
step irqs-freed sh -c "! grep -q xen-tpmback /proc/interrupts"
step dmesg-clean dmesg_clean
step rmmod rmmod xen_tpmback
