# The manager scenario's guest. dom0 writes what to do into our
# data/e2e-arg right after xl create:
#   write VALUE       NV index 0x1500030 (defined if missing) := VALUE, and
#                     a persistent signing key 0x81000030 (made if missing)
#   read VALUE        the index holds VALUE (the same TPM, its newest state),
#                     and the persistent key signs
#   bench N VALUE     read VALUE, then N raw TPM2_GetRandom commands
#   fail              every command gets a TPM failure: no TPM at all, and
#                     not a fresh one (a fresh TPM would answer GetRandom)
# With data/e2e-hold = 1 the guest then stays up (its vTPM connected) until
# dom0 writes data/e2e-go = 1, at most 120 s: dom0 looks at its server.
cd /tmp
has_arg() { [ -n "$(xenstore-read data/e2e-arg 2>/dev/null)" ]; }
wait_for 60 has_arg
arg=$(xenstore-read data/e2e-arg 2>/dev/null)
info "manager guest: $arg"
set -- $arg
IDX=0x1500030
KEY=0x81000030
nv_put() { printf '%-32.32s' "$1" >nv.dat; }
nv_is() { nv_put "$1" && tpm2_nvread $IDX -C o -s 32 -o nv.out && cmp nv.dat nv.out; }
case $1 in
write)
	step tpmfront-load load_tpmfront
	if ! tpm2_nvreadpublic $IDX >/dev/null 2>&1; then
		step nvdefine tpm2_nvdefine $IDX -C o -s 32 -a "ownerread|ownerwrite"
	fi
	nv_put "$2"
	step nvwrite tpm2_nvwrite $IDX -C o -i nv.dat
	step nvread-back nv_is "$2"
	if ! tpm2_readpublic -c $KEY >/dev/null 2>&1; then
		step createprimary tpm2_createprimary -C o -G ecc256:ecdsa-sha256 \
			-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -c key.ctx
		step evictcontrol tpm2_evictcontrol -C o -c key.ctx $KEY
		tpm2_flushcontext -t >/dev/null 2>&1
	fi ;;
read)
	step tpmfront-load load_tpmfront
	step "nv-holds-$2" nv_is "$2"
	echo "signed by a key that moved" >msg
	step sign-with-persistent-key tpm2_sign -c $KEY -g sha256 -o sig msg
	step signature-verifies tpm2_verifysignature -c $KEY -g sha256 -m msg -s sig ;;
bench)
	step tpmfront-load load_tpmfront
	step "nv-holds-$3" nv_is "$3"
	if out=$(tpm-rawbench /dev/tpm0 "$2" 2>&1); then
		pass "rawbench-$2" "$out"
	else
		fail "rawbench-$2" "$out"
	fi ;;
fail)
	load_tpmfront
	info "xen-tpmfront loaded: $?"
	if out=$(tpm2_getrandom 8 --hex 2>&1); then
		fail tpm-fails "a TPM answered GetRandom (a fresh TPM?): $out"
	else
		pass tpm-fails "$(echo "$out" | tail -n1)"
	fi
	if out=$(tpm2_nvreadpublic $IDX 2>&1); then
		fail nv-not-readable "the index is readable: $out"
	else
		pass nv-not-readable
	fi ;;
*)
	fail guest-arg "no or unknown data/e2e-arg '$arg'" ;;
esac
# the persistent key's name: dom0 compares it across export/import
[ "$1" = fail ] || { tpm2_readpublic -c $KEY -n name.bin >/dev/null 2>&1 && info "key-name $(hex_of name.bin)"; }
if [ "$(xenstore-read data/e2e-hold 2>/dev/null)" = 1 ]; then
	wait_go 1 120 || info "dom0 did not release the guest within 120 s"
fi
