# Runs in guest 1 of the backend scenario (see scenarios/backend.sh).
step tpmfront-load load_tpmfront
step dev-tpm0 test -c /dev/tpm0
info "tpm_version_major=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>&1)"
if r=$(tpm2_getrandom 16 --hex 2>&1); then
	pass getrandom; info "RANDOM $r"
else
	fail getrandom "$r"
fi
# A raw TPM2_GetRandom(8), written and read through /dev/tpm0 as bytes.
printf '\200\001\000\000\000\014\000\000\001\173\000\010' >/tmp/cmd
raw() { exec 3<>/dev/tpm0 && cat /tmp/cmd >&3 && dd bs=4096 count=1 <&3 >/tmp/rsp 2>/dev/null; exec 3>&-; }
if raw && [ -s /tmp/rsp ]; then
	pass raw-roundtrip; info "RAWRSP $(hex_of /tmp/rsp)"
else
	fail raw-roundtrip "no response"
fi
# dom0 kills the responder while it holds this command.
t0=$(date +%s)
if out=$(tpm2_gettestresult 2>&1); then
	fail killed-cmd-fails "TPM2_GetTestResult succeeded, but its server was killed: $out"
else
	dt=$(( $(date +%s) - t0 ))
	info "killed-cmd: ${dt}s: $(echo "$out" | tail -n1)"
	case $out in
	*0x101*|*0x00000101*|*"TPM_RC_FAILURE"*) pass killed-cmd-fails "TPM failure after ${dt}s (includes dom0's reaction)";;
	*) fail killed-cmd-fails "not a TPM failure: $(echo "$out" | tail -n2 | tr '\n' '|')";;
	esac
fi
# The next command succeeds once the new responder is attached.
ok=
for _ in $(seq 60); do
	if tpm2_getrandom 8 --hex >/dev/null 2>&1; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] && pass new-responder-serves || fail new-responder-serves "no success within 60 s"
# Responder 2 answers TPM2_ReadClock with malformed writes: the kernel
# refuses them and gives us a TPM failure; the next command still works.
if out=$(tpm2_readclock 2>&1); then
	fail bad-server-rsp-fails "TPM2_ReadClock succeeded: $out"
else
	case $out in
	*0x101*) pass bad-server-rsp-fails ;;
	*) fail bad-server-rsp-fails "not a TPM failure: $(echo "$out" | tail -n2 | tr '\n' '|')" ;;
	esac
fi
step after-bad-rsp-served tpm2_getrandom 8 --hex
