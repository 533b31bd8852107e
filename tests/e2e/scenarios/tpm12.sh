# shellcheck shell=bash
# tpm12: a vTPM created with --tpm1.2. The unmodified frontend is a TPM 1.2
# driver, so here the guest kernel's own commands succeed (timeouts,
# durations, hwrng) and trousers' tcsd + tpm_version talk to it.
U=12121212-0000-4000-8000-000000000012
need install-stack install_vtpm_stack || return
need create-tpm12 vtpmctl create --uuid $U --tpm1.2 || return
step show-says-1.2 sh -c "vtpmctl --json show $U | python3 -c 'import json,sys; d=json.load(sys.stdin); assert \"1.2\" in str(d.get(\"tpm\")), d'"
# A slow vTPM start, made certain (a fresh TPM 1.2 has taken libtpms 30 s
# under load): another host holds this vTPM's serving lease (as during a
# migration) until the guest's kernel has waited 15 s for its first answer,
# more than cmd_timeout_ms (10 s); the guest's server is attached and waits
# for the lease before it even opens the vTPM. The backend must hold the
# command for a server still starting: the guest's probe steps
# (no-tpm-errors-at-probe, kernel-reads-pcrs) pass only then.
cp -p /etc/default/vtpm /tmp/vtpm.default.12 2>/dev/null || : >/tmp/vtpm.default.12
echo 'VTPM_SERVE_ARGS="--wait 600"' >>/etc/default/vtpm
printf 'host=tpm12-slow-start\nboot=0\npid=1\nsince=%s\n' "$(date +%s)" >/var/lib/vtpm/$U/serving.lease
if ! need xl-create guest_create g12 guest-tpm12 "vtpm=[\"backend=0,uuid=$U\"]"; then
	cp -p /tmp/vtpm.default.12 /etc/default/vtpm
	vtpmctl lease break --force $U
	return
fi
d12=$(guest_domid g12)
step slow-start-server-waits wait_for 300 grep -q "uuid=$U .*serving lease held by host tpm12-slow-start" /var/log/syslog
step slow-start-guest-probes wait_for 600 sh -c "[ \"\$(xenstore-read /local/domain/$d12/data/e2e-probing 2>/dev/null)\" = 1 ]"
sleep 15
step slow-start-lease-released vtpmctl lease break --force $U
cp -p /tmp/vtpm.default.12 /etc/default/vtpm
guest_wait g12 600
step slow-start-no-backend-failure sh -c "dmesg | grep 'vtpm-$d12-0:' | grep -v 'command [0-9]* failed'; ! dmesg | grep -q 'vtpm-$d12-0: command [0-9]* failed'"
say "slow start: $(grep -h "uuid=$U .*serving lease" /var/log/syslog | tail -n 2 | cut -c1-200 | tr '\n' '|')"
