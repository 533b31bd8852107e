# The well-behaved neighbour of a hostile guest: TPM commands in a loop
# (GetRandom and a PCR 16 extend each round) until dom0 says stop; every
# one must succeed.
step tpmfront-load load_tpmfront
step first-command tpm2_getrandom 8 --hex
info "good-running"
n=0 bad=0
while [ "$(xenstore-read data/e2e-go 2>/dev/null)" != stop ]; do
	if tpm2_getrandom 8 --hex >/dev/null 2>/tmp/err &&
		tpm2_pcrextend "16:sha256=$(printf '%064x' $n)" >/dev/null 2>>/tmp/err; then
		n=$((n + 1))
	else
		bad=$((bad + 1))
		info "good: round $n failed: $(tail -n 2 /tmp/err | tr '\n' ' ')"
	fi
done
info "good: $n rounds, $bad failures"
step served-throughout sh -c "[ $bad -eq 0 ] && [ $n -ge 5 ]"
