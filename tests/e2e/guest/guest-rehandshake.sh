# Re-handshake on the same device. rmmod xen-tpmfront fails while its hwrng
# holds the chip, so unbind and rebind the driver instead.
step tpmfront-load load_tpmfront
step getrandom-1 tpm2_getrandom 8 --hex
info "xen drivers: $(ls /sys/bus/xen/drivers/ | tr '\n' ' ') devices: $(ls /sys/bus/xen/devices/ | tr '\n' ' ')"
step unbind-tpmfront sh -c 'echo vtpm-0 > /sys/bus/xen/drivers/vtpm/unbind'
be=$(xenstore-read device/vtpm/0/backend)
# The frontend went Closed: the backend follows to Closed (6), as blkback
# does, which xenbus_reset_frontend() (kexec, kdump) waits for; then the
# reset's Initialising (1) takes it back to InitWait (2).
step backend-closed-after-frontend-closed wait_state 5 "$be/state" 6
step frontend-reset-initialising xenstore-write device/vtpm/0/state 1
step backend-initwait-after-reset wait_state 5 "$be/state" 2
info "after unbind: fe state $(xenstore-read device/vtpm/0/state 2>&1) be state $(xenstore-read "$be/state" 2>&1) tpm: $(ls /dev/tpm* 2>&1 | tr '\n' ' ')"
step bind-tpmfront sh -c 'echo vtpm-0 > /sys/bus/xen/drivers/vtpm/bind'
sleep 2
dev=$(ls /dev/tpm[0-9]* 2>/dev/null | head -n1)
info "after reload: $dev"
step getrandom-2 tpm2_getrandom -T device:$dev 8 --hex
step getrandom-3 tpm2_getrandom -T device:$dev 8 --hex
info "rehs-done"
