# The demo guest: a user's first minutes with the vTPM.
cd /tmp
# show NAME CMD...: a step whose output is shown (first line) as well
show() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then
		pass "$name"; info "$name: $(echo "$out" | tr -s ' \n' ' ' | cut -c1-160)"
	else
		fail "$name" "$(echo "$out" | tail -n 2 | tr '\n' '|')"
	fi
}
step tpmfront-load load_tpmfront
info "guest kernel sees: $(ls /dev/tpm* | tr '\n' ' ')"
show tpm2_getrandom tpm2_getrandom 16 --hex
show manufacturer sh -c 'tpm2_getcap properties-fixed | grep -A3 TPM2_PT_MANUFACTURER | grep value'
step tpm2_pcrextend tpm2_pcrextend 16:sha256=6d8749c4fe00b757c1bc1c376a99f31d1bd38b422d44f5b6aa2d6a6c5e975cba
show tpm2_pcrread-16 sh -c 'tpm2_pcrread sha256:16 | tail -n1'
printf 'hello from the guest, kept in NV' >nv.dat
step tpm2_nvdefine tpm2_nvdefine 0x1500020 -C o -s 32 -a "ownerread|ownerwrite"
step tpm2_nvwrite tpm2_nvwrite 0x1500020 -C o -i nv.dat
show tpm2_nvread sh -c 'tpm2_nvread 0x1500020 -C o -s 32 -o out && cmp out nv.dat && cat out'
