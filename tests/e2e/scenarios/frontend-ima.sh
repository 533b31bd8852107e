# shellcheck shell=bash
# frontend-ima (in all; its guest kernel is built once and cached, see
# Documentation/testing.rst): the testbed's own guest kernel with
# the patched xen-tpmfront built in (IMA picks its TPM at late_initcall,
# before any module), booted with ima_policy=tcb ima_template=ima-ng
# ima_hash=sha256; a replay of the IMA log must equal the PCR 10 it reads.
UI=f0000000-0000-4000-8000-0000000000f2
K=/e2e/artefacts/vmlinuz-tpmfront
need install-stack install_vtpm_stack || return
need guest-kernel test -s $K || return
need create-ima vtpmctl create --uuid $UI || return
GUEST_KERNEL=$K GUEST_CMDLINE="ima_policy=tcb ima_template=ima-ng ima_hash=sha256" \
	need xl-create-ima guest_create fima guest-ima "vtpm=[\"backend=0,uuid=$UI\"]" || return
guest_wait fima 600
