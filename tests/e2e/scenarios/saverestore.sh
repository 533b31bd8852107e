# shellcheck shell=bash
# saverestore: xl save + xl restore of a guest using its vTPM. The restored
# guest is a new domain with the same vTPM uuid; its frontend re-handshakes
# from scratch (the chip comes back as /dev/tpm1). udev stops the old
# server and starts a new one; NV written before the save is read after.
U=5a7e0000-0000-4000-8000-00000000c0de
need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $U || return
need xl-create guest_create gs guest-saverestore "vtpm=[\"backend=0,uuid=$U\"]" || return
dom1=$(guest_domid gs)
lg=$(guest_log gs)
need guest-wrote-nv wait_for 300 grep -aq 'E2E-INFO sr-phase1' "$lg" || return
t0=$SECONDS
step xl-save xl save gs /tmp/gs.save
say "xl save took $((SECONDS - t0)) s"
step old-backend-gone wait_for 15 sh -c "! xenstore-exists /local/domain/0/backend/vtpm/$dom1"
step old-server-gone wait_for 15 sh -c "! test -e /run/vtpm/vtpm-$dom1-0.pid || ! kill -0 \$(cat /run/vtpm/vtpm-$dom1-0.pid)"
t0=$SECONDS
step xl-restore xl restore /tmp/gs.save
say "xl restore took $((SECONDS - t0)) s"
dom2=$(guest_domid gs)
say "restored as domain $dom2 (was $dom1)"
step new-server-started wait_for 30 test -s /run/vtpm/vtpm-$dom2-0.pid
guest_wait gs 600
