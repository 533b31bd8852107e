#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The attested guest's side of the verifier walk-through
# (Documentation/attestation.rst). tpm2-tools only; TPM2TOOLS_TCTI names
# the TPM (device:/dev/tpm0 in a Xen guest). Every file lands in DIR, and
# the files named "to the verifier" are what the guest sends it.
#
#   attest-guest.sh evidence DIR      EK certificates, EK public keys, an AK
#   attest-guest.sh activate DIR      open the verifier's credential (cred.blob)
#   attest-guest.sh quote DIR NONCE   quote PCR 4 and 5 (SHA-256) with the AK
#   attest-guest.sh eventlog DIR      the measured-boot event log (Xen guest)
#
# The unmodified xen-tpmfront has no resource manager: transient objects
# stay loaded until flushed, and the vTPM holds three, hence the flushes.
set -eu
[ $# -ge 2 ] || { sed -n 's/^#   //p' "$0" >&2; exit 2; }
cmd=$1
cd "$2"
case $cmd in
evidence)
	# the EK certificates from the TCG NV indices (RSA 0x01c00002, ECC
	# 0x01c0000a); to the verifier: ek-rsa.der, ek-ecc.der
	tpm2_getekcertificate -o ek-rsa.der -o ek-ecc.der
	# the EKs themselves, recreated from the endorsement seed with the TCG
	# default templates; to the verifier: ek-rsa.pem, ek-ecc.pem
	tpm2_createek -c ek-ecc.ctx -G ecc -u ek-ecc.pem -f pem
	tpm2_flushcontext -t
	tpm2_createek -c ek.ctx -G rsa -u ek-rsa.pem -f pem
	# an attestation key (restricted signing) under the EK; to the
	# verifier: ak.pub (TPM2B_PUBLIC)
	tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub -n ak.name
	tpm2_flushcontext -t
	;;
activate)
	# from the verifier: cred.blob; to the verifier: secret.out
	tpm2_startauthsession --policy-session -S session.ctx
	tpm2_policysecret -S session.ctx -c e
	tpm2_activatecredential -c ak.ctx -C ek.ctx -i cred.blob -o secret.out \
		-P session:session.ctx
	tpm2_flushcontext session.ctx
	tpm2_flushcontext -t
	;;
quote)
	# from the verifier: NONCE (hex); to the verifier: quote.msg,
	# quote.sig, quote.pcrs
	tpm2_quote -c ak.ctx -l sha256:4,5 -q "$3" -g sha256 \
		-m quote.msg -s quote.sig -o quote.pcrs
	tpm2_flushcontext -t
	;;
eventlog)
	# dom0's vTPM server puts the log beside the backend; to the verifier:
	# eventlog.bin (tpm2_eventlog prints it)
	be=$(xenstore-read device/vtpm/0/backend)
	xenstore-read "$be/measured-boot-log" | base64 -d >eventlog.bin
	;;
*)
	echo "attest-guest.sh: unknown step $cmd" >&2
	exit 2
	;;
esac
