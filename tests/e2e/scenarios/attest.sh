# shellcheck shell=bash
# attest (issue 10): EK certificates, measured boot, the verifier walk-through.
# One vTPM, two boots of its guest. Boot 1 runs the walk-through of
# Documentation/attestation.rst end to end: the guest's half
# (attest-guest.sh, in guest-attest.sh) in the guest, the verifier's half
# (attest-verifier.sh) here in dom0 against `vtpmctl ca show`; then the
# verifier must refuse another CA and a PCR it cannot recompute. PCR 4/5
# read in the guest must equal what dom0 computes from the kernel, initrd
# and command line libxl booted. Boot 2, with another command line, must
# get the same PCR 4 and another PCR 5.
U=a77e5700-0000-4000-8000-00000000a110
W=/tmp/attest
V=/e2e/lib/attest-verifier.sh
NONCE=5eed0f1e2d3c4b5a
rm -rf $W; mkdir -p $W
kernel=/boot/vmlinuz-$(uname -r)
initrd=/e2e/guest.cpio.gz

need install-stack install_vtpm_stack || return
need create vtpmctl create --uuid $U || return
step create-made-ca sh -c "vtpmctl ca show --check >$W/ca.pem && openssl x509 -in $W/ca.pem -noout -subject"

# xs_get DOMID FILE DIR: a file the guest sent (base64 in data/attest/)
# (xenstore names allow no dots: ak.pub is data/attest/ak-pub)
xs_get() { xenstore-read "/local/domain/$1/data/attest/${2//./-}" | base64 -d >"$3/$2"; }
xs_put() { xenstore-write "/local/domain/$1/data/attest/${2//./-}" "$(base64 -w0 <"$3")"; }
go() { xenstore-write "/local/domain/$1/data/e2e-go" "$2"; }
# expected PCR 4/5 (sha256) of a boot: pv-grub's layout, from dom0's files
expect_pcrs() {
	python3 - "$kernel" "$initrd" "$1" <<'PY'
import hashlib, sys
H = lambda b: hashlib.sha256(b).digest()
k, i, c = sys.argv[1:]
p4 = H(bytes(32) + H(open(k, "rb").read()))
p5 = H(H(bytes(32) + H(c.encode())) + H(open(i, "rb").read()))
print("4:" + p4.hex() + " 5:" + p5.hex())
PY
}
# the guest's tpm2_pcrread output -> "4:<hex> 5:<hex>"
guest_pcrs() {
	awk '/^ *4 *:/ {a=tolower($3)} /^ *5 *:/ {b=tolower($3)} END {sub(/^0x/,"",a); sub(/^0x/,"",b); print "4:" a " 5:" b}' "$1"
}

# --- boot 1: the walk-through ---------------------------------------------------
GUEST_EXTRA="attest.boot=one" need xl-create-1 guest_create at1 guest-attest "vtpm=[\"backend=0,uuid=$U\"]" || return
d1=$(guest_domid at1)
vm=$(xenstore-read /local/domain/$d1/vm)
cmd1=$(xenstore-read "$vm/image/cmdline")
step xenstore-has-boot-files sh -c "[ \"\$(xenstore-read $vm/image/kernel)\" = $kernel ] && [ \"\$(xenstore-read $vm/image/ramdisk)\" = $initrd ]"
say "boot 1 command line (xenstore): $cmd1"
G=$W/g1; mkdir -p $G
need guest-sent-evidence wait_for 400 xs_is /local/domain/$d1/data/attest/sent 1 || { xl destroy at1; guest_relay at1; return; }
for f in ek-rsa.der ek-ecc.der ek-rsa.pem ek-ecc.pem ak.pub pcrs.txt cmdline.txt eventlog.bin; do xs_get $d1 $f $G; done
xs_put $d1 ca.pem $W/ca.pem; go $d1 ca
step verifier-ek-certificates $V ek $W/ca.pem $G
wait_for 120 xs_is /local/domain/$d1/data/attest/evidence 1
if step verifier-challenge $V challenge $G; then
	xs_put $d1 cred.blob $G/cred.blob; go $d1 challenge
	wait_for 120 xs_is /local/domain/$d1/data/attest/activated 1 && xs_get $d1 secret.out $G
	xenstore-write /local/domain/$d1/data/attest/nonce $NONCE; go $d1 quote
	wait_for 120 xs_is /local/domain/$d1/data/attest/done 1
	for f in quote.msg quote.sig quote.pcrs; do xs_get $d1 $f $G; done
fi
step walkthrough-passes $V check $G $NONCE $kernel $initrd "$cmd1"
# ... and fails when the CA or a PCR is wrong
# (each must fail, and for the reason named)
fails_for() { # WHY CMD...: CMD fails and its output says WHY
	local why=$1; shift
	if "$@" >$W/neg.out 2>&1; then echo "passed: $*"; return 1; fi
	cat $W/neg.out; grep -q "$why" $W/neg.out
}
VTPM_CA_DIR=$W/otherca vtpmctl ca init >$W/other-ca.pem 2>/dev/null
step walkthrough-fails-other-ca fails_for 'does not chain' $V ek $W/other-ca.pem $G
step walkthrough-fails-wrong-pcr5 fails_for 'PCR 5: quoted' $V check $G $NONCE $kernel $initrd 'console=hvc0 quiet'
step walkthrough-fails-wrong-pcr4 fails_for 'PCR 4: quoted' $V check $G $NONCE $initrd $initrd "$cmd1"
# PCR 4/5 in the guest = dom0's own computation; the guest booted that command line
want1=$(expect_pcrs "$cmd1")
got1=$(guest_pcrs $G/pcrs.txt)
say "boot 1 PCRs: guest $got1, dom0 $want1"
step guest-pcrs-equal-dom0 test "$got1" = "$want1"
step guest-cmdline-is-xenstore test "$(cat $G/cmdline.txt)" = "$cmd1"
# the log the guest read beside its backend is dom0's
vtpmctl eventlog $U -o $W/eventlog.bin
step guest-eventlog-is-dom0s cmp $W/eventlog.bin $G/eventlog.bin
step eventlog-replays sh -c "tpm2_eventlog $G/eventlog.bin 2>/dev/null | tr 'A-F' 'a-f' | grep -q \"5  : 0x${want1##*5:}\""
# first step towards the host's TPM: dom0's TPM quotes its PCRs for this CA
H=$W/host; mkdir -p $H
step host-tpm-vouches-for-ca sh -c "TPM2TOOLS_TCTI=device:/dev/tpmrm0 /e2e/lib/attest-host.sh quote $W/ca.pem $H && $V host $W/ca.pem $H"
step host-quote-not-for-other-ca fails_for 'not for this CA' $V host $W/other-ca.pem $H
go $d1 bye
guest_wait at1 300

# --- boot 2: another command line -> same PCR 4, another PCR 5 ----------------
GUEST_EXTRA="attest.mode=pcr attest.boot=two" need xl-create-2 guest_create at2 guest-attest "vtpm=[\"backend=0,uuid=$U\"]" || return
d2=$(guest_domid at2)
cmd2=$(xenstore-read "$(xenstore-read /local/domain/$d2/vm)/image/cmdline")
G2=$W/g2; mkdir -p $G2
wait_for 400 xs_is /local/domain/$d2/data/attest/done 1
xs_get $d2 pcrs.txt $G2
want2=$(expect_pcrs "$cmd2")
got2=$(guest_pcrs $G2/pcrs.txt)
say "boot 2 PCRs: guest $got2, dom0 $want2"
step boot2-pcrs-equal-dom0 test "$got2" = "$want2"
step boot2-same-pcr4 test "${got2%% *}" = "${got1%% *}"
step boot2-other-pcr5 test "${got2##* }" != "${got1##* }"
go $d2 bye
guest_wait at2 300
