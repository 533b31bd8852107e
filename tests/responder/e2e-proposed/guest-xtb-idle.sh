# guest that connects, uses its vTPM once, and waits to be destroyed
export TPM2TOOLS_TCTI=device:/dev/tpm0
step load-tpmfront load_tpmfront
step getrandom tpm2_getrandom 8 --hex
info "idle-ready"
sleep 600
