# shellcheck shell=bash
# tpm12: a vTPM created with --tpm1.2. The unmodified frontend is a TPM 1.2
# driver, so here the guest kernel's own commands succeed (timeouts,
# durations, hwrng) and trousers' tcsd + tpm_version talk to it.
U=12121212-0000-4000-8000-000000000012
need install-stack install_vtpm_stack || return
need create-tpm12 vtpmctl create --uuid $U --tpm1.2 || return
step show-says-1.2 sh -c "vtpmctl --json show $U | python3 -c 'import json,sys; d=json.load(sys.stdin); assert \"1.2\" in str(d.get(\"tpm\")), d'"
need xl-create guest_create g12 guest-tpm12 "vtpm=[\"backend=0,uuid=$U\"]" || return
guest_wait g12 600
