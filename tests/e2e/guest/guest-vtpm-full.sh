# Guest A, first boot: the tpm2-tools checks against /dev/tpm0.
cd /tmp
step tpmfront-load load_tpmfront
step dev-tpm0 test -c /dev/tpm0
getrandom32() { tpm2_getrandom 32 -o r && [ "$(wc -c <r)" -eq 32 ]; }
step getrandom getrandom32
step pcrread tpm2_pcrread sha256:0,1,2,3,4,5,6,7
# PCR 16 (resettable): extend with sha256("e2e"); expect sha256(0^32 || digest)
D=6d8749c4fe00b757c1bc1c376a99f31d1bd38b422d44f5b6aa2d6a6c5e975cba
E=4879bc2422049bf7b0d3f857720ff57d598a0a7913e48bf3df959351579280d4
step pcrreset tpm2_pcrreset 16
step pcrextend tpm2_pcrextend 16:sha256=$D
pcr16() { tpm2_pcrread sha256:16 | tr 'A-F' 'a-f' | grep -q "0x$E"; }
step pcrread-expected-digest pcr16
# /dev/tpm0 has no resource manager (the unmodified frontend registers a
# TPM 1.2 chip, so no /dev/tpmrm0): transient objects stay loaded until
# flushed, and libtpms holds three. Keep the storage key persistent and
# flush transients before each command that loads, as a guest user must.
ft() { tpm2_flushcontext -t >/dev/null 2>&1; "$@"; }
t0=$(date +%s)
step createprimary-rsa2048 ft tpm2_createprimary -C o -G rsa2048 -c prim_rsa.ctx
info "createprimary rsa2048: $(( $(date +%s) - t0 )) s"
step createprimary-ecc256 ft tpm2_createprimary -C o -G ecc256 -c prim_ecc.ctx
step evictcontrol ft tpm2_evictcontrol -C o -c prim_ecc.ctx 0x81000001
step create ft tpm2_create -C 0x81000001 -G ecc256 -u key.pub -r key.priv
step load ft tpm2_load -C 0x81000001 -u key.pub -r key.priv -c key.ctx
echo "message to sign" >msg
step sign tpm2_sign -c key.ctx -g sha256 -o sig msg
step verifysignature tpm2_verifysignature -c key.ctx -g sha256 -m msg -s sig
echo "tampered" >msg2
step verifysignature-rejects-tampered sh -c '! tpm2_verifysignature -c key.ctx -g sha256 -m msg2 -s sig'
# Attestation as a verifier sees it: EK, an AK under it, a quote over
# PCRs 0 and 16, checked against the AK's public key with the nonce.
step createek ft tpm2_createek -c ek.ctx -G ecc -u ek.pub
step createak ft tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pem -f pem -n ak.name
step quote ft tpm2_quote -c ak.ctx -l sha256:0,16 -q 0badc0de -m quote.msg -s quote.sig -o quote.pcrs -g sha256
step checkquote tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q 0badc0de
step checkquote-rejects-wrong-nonce sh -c '! tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q 0badbeef'
ft true
# NV: guest A's index
printf 'vtpm-e2e guest A nv data 0123456' >nv.dat
step nvdefine tpm2_nvdefine 0x1500016 -C o -s 32 -a "ownerread|ownerwrite"
step nvwrite tpm2_nvwrite 0x1500016 -C o -i nv.dat
nvcheck() { tpm2_nvread 0x1500016 -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
step nvread nvcheck
