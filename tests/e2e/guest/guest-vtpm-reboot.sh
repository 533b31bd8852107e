# Guest A after a reboot: its NV data is there; dom0 kills the server while
# we keep reading (reads print "nvread <n> ok|fail").
cd /tmp
step tpmfront-load load_tpmfront
printf 'vtpm-e2e guest A nv data 0123456' >nv.dat
nvcheck() { tpm2_nvread 0x1500016 -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
step nvread-after-reboot nvcheck
# B's index (written beside us in the first run) is not in our TPM.
step b-index-absent sh -c '! tpm2_nvreadpublic 0x1500017'
i=0
while [ $i -lt 25 ]; do
	i=$((i + 1))
	if nvcheck >/dev/null 2>&1; then info "nvread $i ok"; else info "nvread $i fail"; fi
	sleep 1
done
