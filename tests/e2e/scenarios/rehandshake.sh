# shellcheck shell=bash
# rehandshake: the frontend tears down and reconnects on the same device (as
# it does on resume): the guest unbinds and rebinds xen-tpmfront; the backend
# goes back to InitWait, maps the new grant and event channel, and the same
# attached server keeps serving.
A=/e2e/artefacts
O=/e2e/out
uuid=7c1e2a44-1f0b-4d6e-9a3c-5e8f00b1c2e1
# The module as a user installs it (xen-tpmback-dkms; DKMS builds it in
# dom0); vtpm-tools must not be there: its udev rule would start vtpmctl.
need install-module install_module_pkg || return
need no-vtpm-tools not_installed vtpm-tools || return
need modprobe modprobe xen-tpmback || return
need swtpm swtpm_start /tmp/sw || return
"$A/vtpm-responder" --uuid $uuid --wait=120000 --swtpm /tmp/sw/data --log $O/rh.log --pidfile /tmp/rh.pid >$O/rh.out 2>&1 &
need xl-create guest_create rh guest-rehandshake "vtpm=[\"backend=0,uuid=$uuid\"]" || return
domid=$(guest_domid rh)
be=/local/domain/0/backend/vtpm/$domid/0
guest_wait rh 300
step connected-twice sh -c "[ \$(dmesg | grep -c 'vtpm-$domid-0: connected') -ge 2 ]"
say "$(dmesg | grep "vtpm-$domid-0" | tr '\n' ' ')"
step same-responder-served sh -c "[ \$(grep -c '^RSP' $O/rh.log) -ge 4 ]"
step responder-exits wait_for 15 sh -c "! kill -0 \$(cat /tmp/rh.pid)"
step rmmod rmmod xen_tpmback
step dmesg-clean sh -c '! dmesg | grep -E "BUG:|WARNING:|Oops|general protection|Call Trace"'
swtpm_stop /tmp/sw
