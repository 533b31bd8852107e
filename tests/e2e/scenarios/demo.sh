# shellcheck shell=bash
# demo: what `make demo` shows. A vTPM is created, a guest is started with
# one line in its xl config, and — with nothing started by hand — the guest's
# unmodified xen-tpmfront finds a TPM 2.0 that tpm2-tools use.
U=$(cat /proc/sys/kernel/random/uuid)
need install-stack install_vtpm_stack || return
need vtpmctl-create vtpmctl create --uuid "$U" || return
say "created vTPM $U; xl config line: vtpm=[\"backend=0,uuid=$U\"]"
need xl-create guest_create demo guest-demo "vtpm=[\"backend=0,uuid=$U\"]" || return
guest_wait demo 600
say "dom0: $(vtpmctl show "$U" 2>&1 | tr '\n' ' ' | tr -s ' ')"
