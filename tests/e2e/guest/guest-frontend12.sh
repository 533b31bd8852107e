# shellcheck shell=bash
# Guest side of scenarios/frontend.sh, third guest: the patched module
# with a TPM 1.2 vTPM. The TPM 2.0 probe must not claim it: the chip stays
# TPM 1.2 (now started by the TPM core), the kernel's TPM 1.2 commands and
# the hwrng work as with the unmodified frontend.
ip link set lo up
step patched-load load_tpmfront_patched
step kernel-sees-1.2 sh -c '[ "$(cat /sys/class/tpm/tpm0/tpm_version_major)" = 1 ] && ! test -e /dev/tpmrm0'
step no-tpm-errors-at-probe sh -c '! dmesg | grep -q "A TPM error"'
step kernel-reads-pcrs sh -c 'grep -q "^PCR-00: " /sys/class/tpm/tpm0/pcrs || grep -q "^PCR-00: " /sys/class/tpm/tpm0/device/pcrs'
step hwrng-reads sh -c 'grep -q tpm /sys/class/misc/hw_random/rng_current && [ "$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)" = 32 ]'
