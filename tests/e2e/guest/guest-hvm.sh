# Guest side of scenarios/hvm.sh: an HVM guest (or PVH) with PV drivers,
# the unmodified xen-tpmfront, TPM 2.0 through tpm2-tools.
info "hvm guest: $(dmesg | grep -iE 'Hypervisor detected|Booting paravirtualized|PVH' | head -n 2 | tr '\n' '|')"
step guest-type sh -c 't=$(cat /sys/hypervisor/guest_type 2>/dev/null) || t=$(dmesg | grep -o "Hypervisor detected: Xen HVM" | sed "s/.* //"); echo "guest_type=$t"; [ "$t" = HVM ] || [ "$t" = PVH ]'
step tpmfront-load load_tpmfront
step tpm0 test -c /dev/tpm0
step getrandom tpm2_getrandom 8 --hex
step pcr-read sh -c 'tpm2_pcrread sha256:16 >/tmp/p0 && cat /tmp/p0'
step pcr-extend tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
# PCR 16 after one extend of 0..01 from zero: SHA-256(32 zero bytes || 0..01),
# computed on the host (printf '%064d%064d' 0 1 | xxd -r -p | sha256sum)
expected=90f4b39548df55ad6187a1d20d731ecee78c545b94afd16f42ef7592d99cd365
step pcr-value sh -c "tpm2_pcrread sha256:16 | tr 'A-F' 'a-f' | grep -q '0x$expected' && echo $expected"
