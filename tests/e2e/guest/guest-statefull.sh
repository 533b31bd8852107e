# Guest side of scenarios/statefull.sh: this guest's vTPM state disk fills
# while it runs. dom0 says when, through data/e2e-go: 1 the disk is full,
# 2 the server was killed and restarted, 3 space is back.
# every random output the guest gets, for dom0 to check none repeats
rand() { local r; r=$(tpm2_getrandom 16 --hex 2>/dev/null) && info "rand $r"; }
cd /tmp
step tpmfront-load load_tpmfront
rand
rand
# a 2 KiB index while there is space; the next one will not fit
step nvdefine-with-space tpm2_nvdefine 0x1500019 -C o -s 2048 -a "ownerread|ownerwrite"
info "full-ready"
if step go-full wait_go 1 180; then
	step nvdefine-fails-on-full-disk sh -c '! tpm2_nvdefine 0x150001a -C o -s 2048 -a "ownerread|ownerwrite"'
	rand
	step pcrextend-in-place-still-saved tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000007
	info "full-failed"
fi
if step go-killed wait_go 2 180; then
	rand
	rand
	step failed-index-absent sh -c '! tpm2_nvreadpublic 0x150001a'
	step pcr16-resumed sh -c 'tpm2_pcrread sha256:16 | grep -qi 2ebe6807995c988b9d292b535a81546078d93d753a42bf8d15ddcaf2d84be200'
	info "full-resumed"
fi
if step go-space wait_go 3 180; then
	step nvdefine-after-space tpm2_nvdefine 0x150001a -C o -s 2048 -a "ownerread|ownerwrite"
	printf 'written once the disk had space' >nv.dat
	step nvwrite-after-space tpm2_nvwrite 0x150001a -C o -i nv.dat
	step nvread-after-space sh -c 'tpm2_nvread 0x150001a -C o -s 31 -o nv.out && cmp nv.dat nv.out'
	rand
fi
