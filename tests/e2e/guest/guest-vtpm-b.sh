# Guest B, running beside guest A: its own TPM, its own NV index.
cd /tmp
step tpmfront-load load_tpmfront
step getrandom tpm2_getrandom 16 --hex
printf 'vtpm-e2e guest B nv data 6543210' >nv.dat
step nvdefine tpm2_nvdefine 0x1500017 -C o -s 32 -a "ownerread|ownerwrite"
step nvwrite tpm2_nvwrite 0x1500017 -C o -i nv.dat
nvcheck() { tpm2_nvread 0x1500017 -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
step nvread nvcheck
# Guest A's index (written in A's first boot) must not exist here.
step a-index-absent sh -c '! tpm2_nvreadpublic 0x1500016'
