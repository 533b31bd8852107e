# The demo guest: a user's first minutes with the vTPM.
cd /tmp
step tpmfront-load load_tpmfront
info "guest kernel sees: $(ls /dev/tpm* | tr '\n' ' ')"
step getrandom sh -c 'r=$(tpm2_getrandom 16 --hex) && echo "E2E-INFO tpm2_getrandom 16: $r"'
step properties sh -c 'v=$(tpm2_getcap properties-fixed | grep -A2 -E "TPM2_PT_(FAMILY_INDICATOR|MANUFACTURER)" | grep -E "value" | tr -s " " | tr "\n" " ") && echo "E2E-INFO TPM: $v"'
step pcrextend tpm2_pcrextend 16:sha256=6d8749c4fe00b757c1bc1c376a99f31d1bd38b422d44f5b6aa2d6a6c5e975cba
step pcrread sh -c 'v=$(tpm2_pcrread sha256:16 | tail -n1 | tr -s " ") && echo "E2E-INFO PCR$v"'
printf 'hello from the guest, kept in NV' >nv.dat
step nvdefine tpm2_nvdefine 0x1500020 -C o -s 32 -a "ownerread|ownerwrite"
step nvwrite tpm2_nvwrite 0x1500020 -C o -i nv.dat
step nvread sh -c 'tpm2_nvread 0x1500020 -C o -s 32 -o out && cmp out nv.dat && echo "E2E-INFO NV 0x1500020: $(cat out)"'
