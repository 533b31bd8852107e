# shellcheck shell=bash
# frontend: guests with the patched xen-tpmfront (frontend/patches/). One
# runs Debian's kernel and loads the patched module instead of its own
# (TPM 2.0 chip, /dev/tpmrm0 with tpm2-tools, the kernel's hwrng on the
# TPM); one boots the testbed's own guest kernel with the driver built in
# (IMA must find its TPM at boot) under ima_policy=tcb, and checks that a
# replay of the IMA log equals the PCR 10 it reads; a third loads the
# patched module with a TPM 1.2 vTPM. The first is saved and restored
# mid-run: the patched driver keeps its chip (/dev/tpm0). The other scenarios keep
# running the unmodified frontend.
UP=f0000000-0000-4000-8000-0000000000f1
U12=f0000000-0000-4000-8000-0000000000f3
UI=f0000000-0000-4000-8000-0000000000f2
K=/e2e/artefacts/vmlinuz-tpmfront
need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $UP || return
need create-tpm12 vtpmctl create --uuid $U12 --tpm1.2 || return
need create-ima vtpmctl create --uuid $UI || return
# The three guests run at the same time (3 x 384 MiB).
need xl-create-patched guest_create fpatched guest-frontend "vtpm=[\"backend=0,uuid=$UP\"]" || return
need xl-create-patched12 guest_create fpatched12 guest-frontend12 "vtpm=[\"backend=0,uuid=$U12\"]" || return
ima=0
if step guest-kernel test -s $K; then
	GUEST_KERNEL=$K GUEST_CMDLINE="ima_policy=tcb ima_template=ima-ng ima_hash=sha256" \
		step xl-create-ima guest_create fima guest-ima "vtpm=[\"backend=0,uuid=$UI\"]" && ima=1
fi
# xl save + xl restore of the first guest mid-run: its chip must survive.
if step fpatched-phase1 wait_for 300 grep -aq 'E2E-INFO fe-phase1' "$(guest_log fpatched)"; then
	step xl-save xl save fpatched /tmp/fpatched.save &&
		step xl-restore xl restore /tmp/fpatched.save &&
		step tell-restored sh -c 'xenstore-write /local/domain/$(xl domid fpatched)/data/e2e-go restored'
	rm -f /tmp/fpatched.save
fi
guest_wait fpatched 600
[ $ima = 0 ] || guest_wait fima 600
guest_wait fpatched12 600
