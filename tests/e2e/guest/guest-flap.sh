# flap: re-handshake in a tight loop (unbind + bind of xen-tpmfront, as a
# hostile or buggy guest could); dom0 checks that its connects are rate
# limited; the TPM still works at the end.
step tpmfront-load load_tpmfront
step getrandom-before tpm2_getrandom 8 --hex
i=0
t0=$(cut -d' ' -f1 /proc/uptime)
while [ $i -lt 14 ]; do
	echo vtpm-0 >/sys/bus/xen/drivers/vtpm/unbind 2>/dev/null
	echo vtpm-0 >/sys/bus/xen/drivers/vtpm/bind 2>/dev/null
	i=$((i + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
info "14 re-handshakes took $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
dev=$(ls /dev/tpm[0-9]* 2>/dev/null | tail -n1)
info "chip after the loop: $dev"
step getrandom-after tpm2_getrandom -T device:$dev 8 --hex
info "flap-done"
