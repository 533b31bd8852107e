# shellcheck shell=bash
# tpm12full (not in all): trousers as a TPM 1.2 user in the guest (tcsd with
# several clients, take ownership, seal/unseal through a key under the SRK).
# Also shows the trousers 0.3.15 bug behind the old tcsd crash (on purpose).
U=12121212-0000-4000-8000-0000000012f0
need install-stack install_vtpm_stack || return
need create-tpm12 vtpmctl create --uuid $U --tpm1.2 || return
step show-says-1.2 sh -c "vtpmctl --json show $U | python3 -c 'import json,sys; d=json.load(sys.stdin); assert \"1.2\" in str(d.get(\"tpm\")), d'"
need xl-create guest_create g12f guest-tpm12-full "vtpm=[\"backend=0,uuid=$U\"]" || return
guest_wait g12f 900
