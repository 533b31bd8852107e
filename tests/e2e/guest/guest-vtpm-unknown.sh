# A guest whose vTPM uuid was never created: TPM failures, not a fresh TPM.
cd /tmp
load_tpmfront
info "xen-tpmfront loaded: $?"
if out=$(tpm2_getrandom 8 --hex 2>&1); then
	fail unknown-uuid-fails "a TPM answered for an unknown uuid: $out"
else
	pass unknown-uuid-fails "$(echo "$out" | tail -n1)"
fi
