# Commands in a loop while dom0 kills our server again and again: every
# command ends (answered, or failed with a TPM error), none hangs, and the
# TPM serves again once the server is back.
step tpmfront-load load_tpmfront
step first-command tpm2_getrandom 8 --hex
info "loop-running"
n=0 bad=0 worst=0
while [ "$(xenstore-read data/e2e-go 2>/dev/null)" != stop ]; do
	t0=$(date +%s)
	if tpm2_pcrextend "16:sha256=$(printf '%064x' $n)" >/dev/null 2>&1; then
		n=$((n + 1))
	else
		bad=$((bad + 1))
	fi
	d=$(( $(date +%s) - t0 )); [ $d -gt $worst ] && worst=$d
done
info "loop: $n succeeded, $bad failed, slowest ${worst} s"
step no-command-hung sh -c "[ $worst -le 15 ]"
step served-after-kills tpm2_getrandom 8 --hex
step commands-succeeded sh -c "[ $n -ge 10 ]"
