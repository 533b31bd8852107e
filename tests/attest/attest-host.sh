#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# First step of tying vTPM attestation to the host's own TPM
# (Documentation/attestation.rst, "Tying a vTPM quote to the host's TPM"):
# dom0 has its TPM 2.0 quote its boot PCRs with the SHA-256 of the vTPM
# CA's certificate as qualifying data, so a verifier that trusts the host
# TPM's AK learns in what boot state the host was when it vouched for this
# CA. Runs in dom0; TPM2TOOLS_TCTI names the host's TPM (device:/dev/tpmrm0).
#
#   attest-host.sh quote CA.pem DIR [PCRS]   host-ek.pem host-ak.pub
#                                            host-quote.{msg,sig,pcrs}
#                                            (PCRS default sha256:0,1,2,3,4,5,6,7)
#
# The verifier checks it with "attest-verifier.sh host CA.pem DIR"; the
# host AK itself must be bound to the host EK (makecredential /
# activatecredential against the host TPM, as for the guest's AK) and the
# host EK to its vendor's certificate: not automated here.
set -eu
[ $# -ge 3 ] && [ "$1" = quote ] || { sed -n 's/^#   //p' "$0" >&2; exit 2; }
ca=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
pcrs=${4:-sha256:0,1,2,3,4,5,6,7}
cd "$3"
qual=$(openssl x509 -in "$ca" -outform der | openssl dgst -sha256 -r | cut -c1-64)
tpm2_createek -c host-ek.ctx -G rsa -u host-ek.pem -f pem
tpm2_createak -C host-ek.ctx -c host-ak.ctx -G rsa -g sha256 -s rsassa -u host-ak.pub -n host-ak.name
tpm2_flushcontext -t
tpm2_quote -c host-ak.ctx -l "$pcrs" -q "$qual" -g sha256 \
	-m host-quote.msg -s host-quote.sig -o host-quote.pcrs
tpm2_flushcontext -t
