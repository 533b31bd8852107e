# Guest side of scenarios/saverestore.sh.
cd /tmp
step tpmfront-load load_tpmfront
printf 'written before xl save, 01234567' >nv.dat
step nvdefine tpm2_nvdefine 0x1500018 -C o -s 32 -a "ownerread|ownerwrite"
step nvwrite tpm2_nvwrite 0x1500018 -C o -i nv.dat
info "sr-phase1"
# dom0 saves and restores us now; the frontend comes back as a new chip.
i=0
while [ $i -lt 300 ] && [ ! -c /dev/tpm1 ]; do sleep 1; i=$((i + 1)); done
step chip-after-restore test -c /dev/tpm1
nvcheck() { tpm2_nvread -T device:/dev/tpm1 0x1500018 -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
step nvread-after-restore nvcheck
step getrandom-after-restore tpm2_getrandom -T device:/dev/tpm1 8 --hex
