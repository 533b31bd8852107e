# Guest side of the attest scenario: the verifier walk-through's guest steps
# (/guest/attest/attest-guest.sh, the script Documentation/attestation.rst
# shows), talking to the verifier in dom0 through xenstore: what the guest
# sends goes to data/attest/<file, dots as dashes> (base64), what dom0 sends comes the same
# way, data/e2e-go says which step may run. attest.mode=pcr on the command
# line: only read PCR 4/5 and send them (a second boot).
A=/tmp/attest
mkdir -p $A
# (xenstore names allow no dots: ak.pub is data/attest/ak-pub)
send() { xenstore-write "data/attest/$(echo "$1" | tr . -)" "$(base64 <"$A/$1" | tr -d '\n')"; }
recv() { xenstore-read "data/attest/$(echo "$1" | tr . -)" | base64 -d >"$A/$1"; }
mode=full
for w in $(cat /proc/cmdline); do case $w in attest.mode=*) mode=${w#attest.mode=};; esac; done
step tpmfront-load load_tpmfront
tpm2_pcrread sha256:4,5 >$A/pcrs.txt 2>&1
info "pcrs $(tr '\n' ' ' <$A/pcrs.txt)"
cat /proc/cmdline >$A/cmdline.txt
send pcrs.txt
send cmdline.txt
if [ "$mode" = full ]; then
	step evidence /guest/attest/attest-guest.sh evidence $A
	for f in ek-rsa.der ek-ecc.der ek-rsa.pem ek-ecc.pem ak.pub; do send $f; done
	step eventlog /guest/attest/attest-guest.sh eventlog $A
	send eventlog.bin
	xenstore-write data/attest/sent 1
	# the guest's own openssl checks its EK certificates against the host CA
	if wait_go ca 300; then
		recv ca.pem
		step openssl-verify-ek openssl verify -CAfile $A/ca.pem $A/ek-rsa.der $A/ek-ecc.der
		ekpub() { openssl x509 -in $A/ek-rsa.der -noout -pubkey | cmp - $A/ek-rsa.pem &&
			openssl x509 -in $A/ek-ecc.der -noout -pubkey | cmp - $A/ek-ecc.pem; }
		step ek-cert-key-is-createek ekpub
	else
		fail ca-from-dom0 "dom0 sent no CA"
	fi
	xenstore-write data/attest/evidence 1
	if wait_go challenge 300; then
		recv cred.blob
		step activate /guest/attest/attest-guest.sh activate $A
		send secret.out
		xenstore-write data/attest/activated 1
	else
		fail challenge-from-dom0 "dom0 sent no credential"
	fi
	if wait_go quote 300; then
		step quote /guest/attest/attest-guest.sh quote $A "$(xenstore-read data/attest/nonce)"
		for f in quote.msg quote.sig quote.pcrs; do send $f; done
	else
		fail nonce-from-dom0 "dom0 sent no nonce"
	fi
fi
xenstore-write data/attest/done 1
# dom0 reads what we sent before we power off
wait_go bye 120
