# One of many short-lived guests: one TPM command, then power off. It boots
# the small image (build-guest.sh: no tpm2-tools): tpm-rawbench sends one
# TPM2_GetRandom to /dev/tpm0 and fails unless the response code is success.
load_tpmfront 2>/dev/null
step once tpm-rawbench /dev/tpm0 1 getrandom
