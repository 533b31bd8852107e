# shellcheck shell=bash
A=/e2e/artefacts
O=/e2e/out
uuid=7c1e2a44-1f0b-4d6e-9a3c-5e8f00b1c2e1
need insmod insmod "$A/xen-tpmback.ko"
mkdir -p /tmp/sw
need swtpm swtpm socket --tpm2 --tpmstate dir=/tmp/sw --server type=unixio,path=/tmp/sw/data \
	--ctrl type=unixio,path=/tmp/sw/ctrl --flags startup-clear,not-need-init --daemon --pid file=/tmp/sw/pid
"$A/vtpm-responder" --uuid $uuid --wait=120000 --swtpm /tmp/sw/data --log $O/rh.log --pidfile /tmp/rh.pid >$O/rh.out 2>&1 &
need xl-create guest_create rh guest-xtb-rehs "vtpm=[\"backend=0,uuid=$uuid\"]"
domid=$(guest_domid rh)
be=/local/domain/0/backend/vtpm/$domid/0
guest_wait rh 300
step connected-twice sh -c "[ \$(dmesg | grep -c 'dom$domid vtpm0: connected') -ge 2 ]"
say "$(dmesg | grep "dom$domid vtpm0" | tr '\n' ' ')"
step same-responder-served sh -c "[ \$(grep -c '^RSP' $O/rh.log) -ge 4 ]"
step responder-exits wait_for 15 sh -c "! kill -0 \$(cat /tmp/rh.pid)"
step rmmod rmmod xen_tpmback
step dmesg-clean sh -c '! dmesg | grep -E "BUG:|WARNING:|Oops|general protection|Call Trace"'
