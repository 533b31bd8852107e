#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The verifier's side of the walk-through (Documentation/attestation.rst):
# from a guest's quote to the host's CA. Needs openssl, tpm2-tools (no TPM:
# -T none) and python3. DIR holds what the guest sent; exit 0 only when
# every check passed, else the failing check is named on stderr.
#
#   attest-verifier.sh ek CA.pem DIR     the EK certificates chain to the
#                                        host's CA and certify the guest's EKs
#   attest-verifier.sh challenge DIR     a credential only the TPM with the
#                                        certified EK can open, for the AK
#   attest-verifier.sh check DIR NONCE KERNEL INITRD CMDLINE
#                                        the AK answered the challenge, signed
#                                        the quote, and PCR 4/5 are what the
#                                        kernel, initrd and command line give
#   attest-verifier.sh host CA.pem DIR   the host's TPM quoted its PCRs for this
#                                        CA (attest-host.sh: qualifying data
#                                        = SHA-256 of the CA certificate)
set -eu
[ $# -ge 2 ] || { sed -n 's/^#   //p' "$0" >&2; exit 2; }
die() { echo "attest-verifier: FAILED: $*" >&2; exit 1; }
cmd=$1
case $cmd in
ek)
	ca=$2
	cd "$3"
	# 1. each certificate chains to the host's CA (vtpmctl ca show)
	openssl verify -CAfile "$ca" ek-rsa.der ek-ecc.der ||
		die "an EK certificate does not chain to $ca"
	# 2. it is an EK certificate (TCG EK Credential Profile)
	openssl x509 -in ek-rsa.der -noout -ext extendedKeyUsage | grep -q 2.23.133.8.1 ||
		die "ek-rsa.der is not an EK certificate (no tcg-kp-EKCertificate)"
	# 3. it certifies the very keys the guest's TPM regenerates
	openssl x509 -in ek-rsa.der -noout -pubkey | cmp -s - ek-rsa.pem ||
		die "the RSA EK certificate is not for the guest's RSA EK"
	openssl x509 -in ek-ecc.der -noout -pubkey | cmp -s - ek-ecc.pem ||
		die "the ECC EK certificate is not for the guest's ECC EK"
	;;
challenge)
	cd "$2"
	# The AK's name, computed here from its public area (nameAlg SHA-256:
	# 000b || SHA-256(TPMT_PUBLIC)); it must be a restricted signing key
	# that never leaves its TPM (fixedTPM, fixedParent,
	# sensitiveDataOrigin, restricted, sign)
	name=$(python3 - ak.pub <<'PY'
import hashlib, struct, sys
b = open(sys.argv[1], "rb").read()
size, typ, alg, attrs = struct.unpack(">HHHI", b[:10])
if size != len(b) - 2 or alg != 0x000B or attrs & 0x50032 != 0x50032:
    sys.exit("ak.pub: not a SHA-256 restricted signing key bound to its TPM")
print("000b" + hashlib.sha256(b[2:]).hexdigest())
PY
	) || die "ak.pub is not an acceptable AK"
	# the secret, wrapped to the public key from the EK *certificate*
	openssl rand 32 >secret
	openssl x509 -in ek-rsa.der -noout -pubkey >ek-cert.pem
	tpm2_makecredential -T none -G rsa -u ek-cert.pem -s secret -n "$name" \
		-o cred.blob 2>/dev/null || die "tpm2_makecredential"
	;;
check)
	[ $# -eq 6 ] || { sed -n 's/^#   //p' "$0" >&2; exit 2; }
	cd "$2"
	nonce=$3 kernel=$4 initrd=$5 cmdline=$6
	# 1. the AK lives in the TPM whose EK the CA certified
	cmp -s secret secret.out || die "the credential was not activated: wrong TPM or AK"
	# 2. the quote is the AK's, fresh (our nonce), over the PCR values sent
	tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs \
		-g sha256 -q "$nonce" >checkquote.yaml || die "tpm2_checkquote"
	# 3. PCR 4 and 5, recomputed from the boot files: the pv-grub layout
	#    PCR 4 <- H(kernel); PCR 5 <- H(command line), then H(initrd)
	python3 - "$kernel" "$initrd" "$cmdline" checkquote.yaml <<'PY' ||
import hashlib, re, sys
kernel, initrd, cmdline, yaml = sys.argv[1:]
H = lambda b: hashlib.sha256(b).digest()
ext = lambda pcr, d: H(pcr + d)
rd = lambda f: open(f, "rb").read() if f else b""
pcr4 = ext(bytes(32), H(rd(kernel)))
pcr5 = ext(ext(bytes(32), H(cmdline.encode())), H(rd(initrd)))
text = open(yaml).read().split("sha256:", 1)[1]
got = {int(m[0]): m[1].lower() for m in re.findall(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)", text, re.M)}
ok = True
for i, want in ((4, pcr4.hex()), (5, pcr5.hex())):
    if got.get(i) != want:
        print("PCR %d: quoted %s, expected %s" % (i, got.get(i), want), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
		die "PCR 4/5 are not those of $kernel, $initrd, \"$cmdline\""
	echo "attest-verifier: quote verified: certified EK, AK, PCR 4/5 of $kernel"
	;;
host)
	ca=$2
	cd "$3"
	qual=$(openssl x509 -in "$ca" -outform der | openssl dgst -sha256 -r | cut -c1-64)
	tpm2_checkquote -u host-ak.pub -m host-quote.msg -s host-quote.sig \
		-f host-quote.pcrs -g sha256 -q "$qual" >host-checkquote.yaml ||
		die "the host's quote is not for this CA (or not the host AK's)"
	echo "attest-verifier: the host TPM vouched for $ca; its PCRs are in host-checkquote.yaml"
	;;
*)
	echo "attest-verifier.sh: unknown step $cmd" >&2
	exit 2
	;;
esac
