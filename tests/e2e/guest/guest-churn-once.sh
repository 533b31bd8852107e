# One of many short-lived guests: one TPM command, then power off.
load_tpmfront 2>/dev/null
step once tpm2_getrandom 8 --hex
