# guest side of the tpmback scenario (dom0 plays along, see scenarios/tpmback.sh)
export TPM2TOOLS_TCTI=device:/dev/tpm0
step load-tpmfront load_tpmfront
step tpm0-present test -c /dev/tpm0
info "tpm_version_major=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)"
rnd=$(tpm2_getrandom 8 --hex 2>&1)
echo "E2E-INFO rnd=$rnd"
step getrandom sh -c "echo '$rnd' | grep -Eq '^[0-9a-f]{16}\$'"
for i in 1 2 3; do tpm2_getrandom 16 --hex >/dev/null 2>&1 || fail getrandom-repeat "$i"; done
# dom0's responder never answers ReadClock (0x181); dom0 kills it mid-command.
t0=$(date +%s)
if tpm2_readclock >/tmp/rc.out 2>&1; then
	fail readclock-fails "succeeded: $(tr '\n' ' ' </tmp/rc.out)"
else
	pass readclock-fails "$(tr '\n' ' ' </tmp/rc.out | cut -c1-200)"
fi
t1=$(date +%s)
info "readclock took $((t1 - t0)) s"
step readclock-within-60s test $((t1 - t0)) -lt 60
ok=0
for i in $(seq 40); do
	if tpm2_getrandom 8 --hex >/tmp/r2 2>&1; then ok=1; break; fi
	sleep 1
done
info "after restart: $(cat /tmp/r2) (try $i)"
step getrandom-after-restart test $ok = 1
# dom0 hot-plugs a second vTPM (devid 1), then detaches it.
step tpm1-appears sh -c 'for i in $(seq 120); do [ -c /dev/tpm1 ] && exit 0; sleep 1; done; exit 1'
step tpm1-getrandom tpm2_getrandom -T device:/dev/tpm1 8 --hex
step tpm1-goes sh -c 'for i in $(seq 120); do [ -c /dev/tpm1 ] || exit 0; sleep 1; done; exit 1'
step tpm0-still-works tpm2_getrandom 8 --hex
info "guest done, powering off"
