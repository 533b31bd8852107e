# Guest side of scenarios/hvm.sh: a PVH or HVM guest with PV drivers.
info "hvm guest: $(dmesg | grep -iE 'Booting paravirtualized|Xen HVM|PVH' | head -n 2 | tr '\n' '|')"
step tpmfront-load load_tpmfront
step getrandom tpm2_getrandom 8 --hex
