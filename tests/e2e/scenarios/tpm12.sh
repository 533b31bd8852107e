# shellcheck shell=bash
# tpm12: a vTPM created with --tpm1.2. The unmodified frontend is a TPM 1.2
# driver, so here the guest kernel's own commands succeed (timeouts,
# durations, hwrng) and trousers' tcsd + tpm_version talk to it.
U=12121212-0000-4000-8000-000000000012
need install-stack install_vtpm_stack || return
need create-tpm12 vtpmctl create --uuid $U --tpm1.2 || return
step show-says-1.2 sh -c "vtpmctl --json show $U | python3 -c 'import json,sys; d=json.load(sys.stdin); assert \"1.2\" in str(d.get(\"tpm\")), d'"
# A slow vTPM start, made certain (a fresh TPM 1.2 has taken libtpms 30 s
# under load): this guest's server holds the kernel's first command unread
# for 12 s, more than cmd_timeout_ms (10 s), before it even opens the vTPM.
# The backend must hold it for a server still starting: the guest's probe
# steps (no-tpm-errors-at-probe, kernel-reads-pcrs) pass only then.
cp -p /etc/default/vtpm /tmp/vtpm.default.12 2>/dev/null || : >/tmp/vtpm.default.12
echo 'export VTPM_TEST_START_DELAY_S=12' >>/etc/default/vtpm
if ! need xl-create guest_create g12 guest-tpm12 "vtpm=[\"backend=0,uuid=$U\"]"; then
	cp -p /tmp/vtpm.default.12 /etc/default/vtpm
	return
fi
d12=$(guest_domid g12)
step slow-start-delayed wait_for 600 grep -q "VTPM_TEST_START_DELAY_S: delay over" /var/log/syslog
cp -p /tmp/vtpm.default.12 /etc/default/vtpm
guest_wait g12 600
step slow-start-no-backend-failure sh -c "dmesg | grep 'vtpm-$d12-0:' | grep -v 'command [0-9]* failed'; ! dmesg | grep -q 'vtpm-$d12-0: command [0-9]* failed'"
say "slow start: $(grep -h 'VTPM_TEST_START_DELAY_S' /var/log/syslog | tail -n 2 | cut -c1-200 | tr '\n' '|')"
