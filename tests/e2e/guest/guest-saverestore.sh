# Guest side of scenarios/saverestore.sh: the TPM a guest holds across
# xl save + xl restore. Before the save: NV written, PCR 16 extended, a
# key loaded (a transient object: it lives only in the TPM's volatile
# state), an HMAC session started and used. dom0 saves and restores us and
# says through data/e2e-go which restore this is: 1 the real one (the same
# TPM must be there: PCR 16, the key by its handle, the session goes on),
# 2 the same save image restored a second time, after the vTPM moved on
# (the TPM must be refused, not silently reset).
cd /tmp
step tpmfront-load load_tpmfront
printf 'written before xl save, 01234567' >nv.dat
step nvdefine tpm2_nvdefine 0x1500018 -C o -s 32 -a "ownerread|ownerwrite"
step nvwrite tpm2_nvwrite 0x1500018 -C o -i nv.dat
# PCR 16 = sha256(0^32 || sha256("e2e"))
D=6d8749c4fe00b757c1bc1c376a99f31d1bd38b422d44f5b6aa2d6a6c5e975cba
E=4879bc2422049bf7b0d3f857720ff57d598a0a7913e48bf3df959351579280d4
step pcrreset tpm2_pcrreset 16
step pcrextend tpm2_pcrextend 16:sha256=$D
# no resource manager on /dev/tpm0: transients stay loaded until flushed
# (libtpms holds three); flush before each command that loads
ft() { tpm2_flushcontext -t >/dev/null 2>&1; "$@"; }
step createprimary ft tpm2_createprimary -C o -G ecc256 -c prim.ctx
step create ft tpm2_create -C prim.ctx -G ecc256 -u key.pub -r key.priv
step load ft tpm2_load -C prim.ctx -u key.pub -r key.priv -c key.ctx
# the key's handle: the newest transient object (the parent is the other)
KH=$(tpm2_getcap handles-transient | sed -n 's/^- *//p' | sort | tail -n1)
info "key handle $KH"
echo "message signed before and after the restore" >msg
step sign-before tpm2_sign -c "$KH" -g sha256 -o sig0 msg
step startauthsession tpm2_startauthsession --hmac-session -S hs.ctx
step session-use-before tpm2_sign -c "$KH" -p session:hs.ctx -g sha256 -o sig1 msg
info "sr-phase1"
# dom0 saves and restores us now; the frontend comes back as a new chip
# (or, refused, none)
i=0
while [ $i -lt 300 ]; do
	go=$(xenstore-read data/e2e-go 2>/dev/null)
	[ "$go" = 2 ] && break
	[ "$go" = 1 ] && [ -c /dev/tpm1 ] && break
	sleep 1; i=$((i + 1))
done
info "restore $go"
if [ "$go" = 2 ]; then
	sleep 5	# the frontend's probe, answered with TPM failures
	step old-image-tpm-refused sh -c '! tpm2_pcrread -T device:/dev/tpm1 sha256:16'
	return 0 2>/dev/null || exit 0
fi
export TPM2TOOLS_TCTI=device:/dev/tpm1
step chip-after-restore test -c /dev/tpm1
pcr16() { tpm2_pcrread sha256:16 | tr 'A-F' 'a-f' | grep -q "0x$E"; }
step pcr16-same-after-restore pcr16
step key-still-loaded sh -c "tpm2_getcap handles-transient | grep -qi '$KH'"
step sign-with-loaded-key tpm2_sign -c "$KH" -g sha256 -o sig2 msg
step signature-verifies tpm2_verifysignature -c "$KH" -g sha256 -m msg -s sig2
step session-continues tpm2_sign -c "$KH" -p session:hs.ctx -g sha256 -o sig3 msg
step session-flush tpm2_flushcontext hs.ctx
nvcheck() { tpm2_nvread 0x1500018 -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
step nvread-after-restore nvcheck
step getrandom-after-restore tpm2_getrandom 8 --hex
tpm2_flushcontext -t >/dev/null 2>&1
info "sr-phase2"
