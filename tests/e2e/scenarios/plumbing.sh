# shellcheck shell=bash
# plumbing: the testbed itself, independent of our backend. The toolstack
# creates the vtpm device; a shell stand-in plays the backend's half of the
# handshake (feature-protocol-v2, InitWait) so libxl is satisfied; the guest's
# unmodified xen-tpmfront then reaches Initialised with its ring-ref and
# event-channel written. Nothing here answers TPM commands.
uuid=5b2f6c1e-8d4a-4a36-9c55-0c3f2e1d7a01

need xen-running xl list
need no-backend-driver sh -c '! lsmod | grep -q "^xen_tpmback"'
check_hwtpm() { [ -c /dev/tpmrm0 ] && tpm2_getrandom -T device:/dev/tpmrm0 8 --hex; }
step dom0-hw-tpm check_hwtpm

# The stand-in backend: wait for libxl's backend directory, then go InitWait.
standin() {
	local be
	for _ in $(seq 300); do
		be=$(xenstore-ls -f /local/domain/0/backend/vtpm 2>/dev/null | sed -n 's|^\(/local/domain/0/backend/vtpm/[0-9]*/0\)/state = .*|\1|p' | head -n1)
		[ -n "$be" ] && break; sleep 0.1
	done
	[ -n "$be" ] || return 1
	xenstore-write "$be/feature-protocol-v2" 1 "$be/state" 2
	echo "$be" >/tmp/plumbing.be
}
standin & sp=$!
need xl-create guest_create plumb guest-plumbing "vtpm=[\"backend=0,uuid=$uuid\"]"
wait $sp
domid=$(guest_domid plumb)
be=/local/domain/0/backend/vtpm/$domid/0
fe=/local/domain/$domid/device/vtpm/0
check_be() {
	xs_is "$be/uuid" "$uuid" && xs_is "$be/frontend-id" "$domid" &&
		xs_is "$be/frontend" "$fe" && xs_is "$be/online" 1 && xs_is "$be/handle" 0
}
step backend-dir check_be
step backend-uevent-device test -e /sys/bus/xen-backend/devices/vtpm-$domid-0
fe_initialised() {
	xs_is "$fe/state" 3 && xenstore-read "$fe/ring-ref" && xenstore-read "$fe/event-channel" &&
		xs_is "$fe/feature-protocol-v2" 1
}
step frontend-initialised wait_for 90 fe_initialised
say "frontend: $(xenstore-ls -f "$fe" 2>&1 | tr '\n' ' ')"
step xl-destroy xl destroy plumb
step backend-dir-removed wait_for 15 sh -c "! xenstore-exists $be"
guest_relay plumb >/dev/null 2>&1 || true
