#!/bin/bash
# End-to-end testbed runner: boots Debian's Xen in QEMU with a Debian dom0,
# runs scenarios there (each starting PV guests that use the unmodified
# upstream xen-tpmfront), and turns the E2E- markers into pass/fail.
#
#   tests/e2e/run.sh [all|demo|bench|SCENARIO...]
#   tests/e2e/run.sh --preflight [...]   only the host side that needs no
#       images: run directory, runtime directory, dom0's swtpm and a paused
#       QEMU connected to it; then everything is stopped (quick, for tests)
#
# Environment:
#   E2E_ACCEL=auto|kvm|tcg   auto (default) uses KVM only where nested
#                            virtualisation really exists, else TCG
#   E2E_TIMEOUT=SECONDS      whole-run limit (default 2400)
#   VTPM_CACHE_DIR=DIR       image cache (default /var/tmp/xen-tpmback-cache)
#   E2E_RUN_DIR=DIR          where logs go (default build/e2e/<time>-<what>.XXX,
#                            a new directory for every run)
#
# Sockets and QEMU's view of every file live in a short private directory
# /tmp/vtpm-e2e.XXXXXX (see lib/common.sh), removed on exit, so the
# checkout and the cache may be at any path.
#
# Exit 0 only when every step passed and dom0 reached the end.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

[ "$(id -u)" -eq 0 ] || die "the testbed needs root (debootstrap, chroot, mkfs -d)"
preflight=0
if [ "${1:-}" = --preflight ]; then preflight=1; shift; fi
[ $# -gt 0 ] || set -- all
case "$1" in
# stall with the backend scenarios: like them it runs without vtpm-tools
# (whose rule would start vtpmctl), which vtpm and later ones install;
# packages last: it purges them.
all) scenarios=(plumbing backend rehandshake stall vtpm saverestore tpm12 statefull packages) ;;
demo) scenarios=(demo) ;;
bench) scenarios=(bench) ;;
*) scenarios=("$@") ;;
esac
for s in "${scenarios[@]}"; do
	[[ $s =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad scenario name '$s'"
	[ -f "$E2E_DIR/scenarios/$s.sh" ] || die "no scenario '$s' (tests/e2e/scenarios/)"
done
# The run directory's name says when and what, briefly: "all", "demo", the
# one scenario, or the first and how many more. mktemp makes it unique, so
# two runs started in the same second do not share it.
case "$1" in
all | demo | bench) label=$1 ;;
*) label=${scenarios[0]}; [ ${#scenarios[@]} -eq 1 ] || label+="+$((${#scenarios[@]} - 1))" ;;
esac
if [ -n "${E2E_RUN_DIR:-}" ]; then
	RUN=$E2E_RUN_DIR; mkdir -p "$RUN"
else
	mkdir -p "$TOP/build/e2e"
	RUN=$(mktemp -d "$TOP/build/e2e/$(date +%m%d-%H%M%S)-$label.XXX")
fi
RUN=$(cd "$RUN" && pwd)
TIMEOUT=${E2E_TIMEOUT:-2400}

# --- processes we own; nothing survives the runner --------------------------
pids=()
qpid=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	hwtpm_stop
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	e2e_runtime_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
e2e_runtime_dir
log "run directory $RUN, runtime directory $E2E_RT"

if [ $preflight -eq 1 ]; then
	# What a full run does before booting, minus the images: the sockets
	# and QEMU's connection to dom0's TPM. QEMU stays paused (-S); it
	# exits at once when it cannot open the TPM's sockets.
	q_run=$(rt_link run "$RUN")
	hwtpm_start "$RUN/hwtpm" "$RUN/hwtpm.log" || exit 1
	qemu-system-x86_64 -machine q35 -accel tcg -S -nodefaults -display none \
		-monitor none -serial none -nic none \
		-chardev socket,id=chrtpm,path="$E2E_RT/hwtpm.sock" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
		>"$q_run/qemu.log" 2>&1 &
	qpid=$!; pids+=("$qpid")
	sleep 2
	if ! kill -0 "$qpid" 2>/dev/null; then
		echo "preflight: QEMU did not come up with dom0's TPM: $(tail -n 3 "$RUN/qemu.log" | tr '\n' ' ')" >&2
		exit 1
	fi
	kill -0 "$HWTPM_PID" 2>/dev/null || { echo "preflight: swtpm died: $(tail -n 3 "$RUN/hwtpm.log")" >&2; exit 1; }
	echo "preflight: ok (swtpm pid $HWTPM_PID, QEMU pid $qpid, socket $E2E_RT/hwtpm.sock)"
	exit 0
fi

# --- images (cached) ---------------------------------------------------------
# The cache is shared by every checkout and run on the machine. Builds are
# serialised by .build.lock; a run holds .use.lock shared while QEMU boots
# its images, and build-images.sh prunes old generations only when nobody
# holds it. The use lock is taken before the build lock is let go, and the
# guest image (read from the rootfs tree) is built under the build lock.
t_start=$SECONDS
mkdir -p "$CACHE"
exec 8>"$CACHE/.build.lock"
flock 8
eval "$(E2E_CACHE_LOCKED=1 "$E2E_DIR/lib/build-images.sh")"
log "images ready ($((SECONDS - t_start)) s): Xen $XEN_VER, kernel $KVER"

# --- this run's disk: scenarios, guest image, the packages --------------------
inj="$RUN/inject"
rm -rf "$inj"; mkdir -p "$inj"/{lib,scenarios,artefacts,debs,out}
install -m 0755 "$E2E_DIR/dom0/dom0-init" "$inj/dom0-init"
cp "$E2E_DIR/dom0/dom0-lib.sh" "$inj/lib/"
cp "$TOP"/tests/attest/attest-*.sh "$inj/lib/"	# the attest scenario's verifier
cp "$E2E_DIR"/scenarios/*.sh "$inj/scenarios/"
printf '%s\n' "${scenarios[@]}" >"$inj/scenarios.list"
"$E2E_DIR/lib/build-guest.sh" "$ROOTFS_DIR" "$inj/guest.cpio.gz"
exec 7>"$CACHE/.use.lock"
flock -s 7
flock -u 8; exec 8>&-
# What dom0 runs of this project comes as the Debian packages built from
# this checkout, installed there with apt (dom0-lib.sh: install_vtpm_stack).
t_deb=$SECONDS
"$TOP/scripts/build-debs.sh" "$RUN/debs" >"$RUN/build-debs.log" 2>&1 ||
	die "building the Debian packages failed (see $RUN/build-debs.log, $RUN/debs/build.log)"
# The module reaches dom0 as xen-tpmback-modules-$KVER: built here by DKMS
# from the xen-tpmback-dkms package and packaged (build-module-deb.sh).
# DKMS inside dom0 works too (scenario "dkms") but costs about 5 minutes
# under TCG per run, against seconds here (Documentation/testing.rst).
"$TOP/scripts/build-module-deb.sh" "$KVER" "$RUN"/debs/xen-tpmback-dkms_*_all.deb "$RUN/debs" \
	>>"$RUN/build-debs.log" 2>&1 ||
	die "building xen-tpmback-modules-$KVER failed (see $RUN/build-debs.log)"
cp "$RUN"/debs/*.deb "$inj/debs/"
rm -f "$inj"/debs/*-dbgsym_*.deb
log "packages built ($((SECONDS - t_deb)) s): $(cd "$inj/debs" && echo *.deb)"
# Test tools that are not part of the product: the test responder.
art() { [ -e "$TOP/$1" ] && cp -a "$TOP/$1" "$inj/artefacts/" || log "artefact $1 not built"; }
art tests/responder/vtpm-responder
rm -f "$RUN/inject.ext4"
mkfs.ext4 -q -F -L e2e -d "$inj" "$RUN/inject.ext4" 512M

# --- accelerator -------------------------------------------------------------
kvm_nested() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	if grep -qw vmx /proc/cpuinfo; then
		grep -qE '^(Y|1)$' /sys/module/kvm_intel/parameters/nested 2>/dev/null
	elif grep -qw svm /proc/cpuinfo; then
		grep -qE '^(Y|1)$' /sys/module/kvm_amd/parameters/nested 2>/dev/null
	else
		return 1
	fi
}
accel=${E2E_ACCEL:-auto}
if [ "$accel" = auto ]; then
	if kvm_nested; then accel=kvm; else accel=tcg; fi
fi

# dom0's "hardware" TPM: swtpm as QEMU's tpm-tis backend, its socket in
# the runtime directory; QEMU sees every file through short links there.
hwtpm_start "$RUN/hwtpm" "$RUN/hwtpm.log" || die "swtpm (dom0's hardware TPM) did not start (see $RUN/hwtpm.log)"
q_xen=$(rt_link xen.elf "$XEN_ELF")
q_vmlinuz=$(rt_link vmlinuz "$VMLINUZ")
q_initrd=$(rt_link initrd "$INITRD")
q_root=$(rt_link root.ext4 "$ROOTFS_IMG")
q_run=$(rt_link run "$RUN")

boot() { # boot ACCEL -> starts QEMU in the background, pid in $qpid
	local acc=$1 accel_opt cpu
	if [ "$acc" = kvm ]; then accel_opt=kvm; cpu=host
	else accel_opt=tcg,thread=multi; cpu=Nehalem; fi
	local xen_cmd="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2"
	xen_cmd+=" loglvl=all guest_loglvl=all noreboot xpti=no pv-l1tf=no spec-ctrl=no"
	: >"$RUN/console.log"
	qemu-system-x86_64 -machine q35 -accel "$accel_opt" -cpu "$cpu" -smp 2 -m 3072 \
		-no-reboot -display none -monitor none -nic none \
		-serial file:"$q_run/console.log" \
		-kernel "$q_xen" -append "$xen_cmd" \
		-initrd "$q_vmlinuz console=hvc0 earlyprintk=xen loglevel=5,$q_initrd" \
		-drive file="$q_root",format=raw,if=virtio,snapshot=on \
		-drive file="$q_run/inject.ext4",format=raw,if=virtio \
		-chardev socket,id=chrtpm,path="$E2E_RT/hwtpm.sock" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
		>"$RUN/qemu.log" 2>&1 &
	qpid=$!
	pids+=("$qpid")
}

# watch: follow the console until power-off, QEMU exit or the deadline;
# prints the markers as they come. Returns 0 on E2E-POWEROFF.
watch_console() {
	local deadline=$1 boot_deadline=$2 seen=0 line n=0
	while :; do
		local total; total=$(wc -l <"$RUN/console.log")
		if [ "$total" -gt "$n" ]; then
			sed -n "$((n + 1)),${total}p" "$RUN/console.log" | tr -d '\r' |
				grep -a -o 'E2E-[A-Z-]*.*' | while IFS= read -r line; do
					case $line in
					E2E-STEP*FAIL*) printf '  \033[31m%s\033[0m\n' "$line" ;;
					E2E-STEP*) printf '  %s\n' "$line" ;;
					*) printf '  %s\n' "$line" ;;
					esac
				done
			n=$total
		fi
		grep -aq 'E2E-BOOT dom0' "$RUN/console.log" && seen=1
		grep -aq 'E2E-POWEROFF' "$RUN/console.log" && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		[ $SECONDS -lt "$deadline" ] || return 2
		if [ $seen -eq 0 ] && [ $SECONDS -ge "$boot_deadline" ]; then return 3; fi
		sleep 1
	done
}

deadline=$((SECONDS + TIMEOUT))
log "booting Xen $XEN_VER + dom0 in QEMU with $accel (scenarios: ${scenarios[*]}); logs in $RUN"
boot "$accel"
rc=0; watch_console "$deadline" $((SECONDS + 240)) || rc=$?
if [ $rc -eq 3 ] || { [ $rc -eq 1 ] && [ "$accel" = kvm ] && ! grep -aq 'E2E-BOOT dom0' "$RUN/console.log"; }; then
	if [ "$accel" = kvm ]; then
		log "Xen did not boot under KVM; falling back to TCG"
		kill -KILL "$qpid" 2>/dev/null || true
		mv "$RUN/console.log" "$RUN/console-kvm.log"
		accel=tcg; boot tcg; rc=0
		watch_console "$deadline" $((SECONDS + 240)) || rc=$?
	fi
fi
case $rc in
0) sleep 2 ;;
1) log "QEMU exited before dom0 powered off (see $RUN/console.log, $RUN/qemu.log)" ;;
2) log "TIMEOUT: the run exceeded ${TIMEOUT} s; QEMU killed" ;;
3) log "dom0 did not come up within 240 s (see $RUN/console.log)" ;;
esac
kill -TERM "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true

# dom0's logs (guest consoles, dmesg, per-step output) from the run's disk.
debugfs -R "rdump /out $q_run" "$q_run/inject.ext4" >/dev/null 2>&1 || true

# --- verdict -------------------------------------------------------------------
res="$RUN/results.txt"
tr -d '\r' <"$RUN/console.log" | grep -a -o 'E2E-STEP .*' >"$res" || true
npass=$(grep -c ' PASS' "$res" || true)
nfail=$(grep -c ' FAIL' "$res" || true)
echo
echo "End-to-end ($accel, $((SECONDS - t_start)) s; logs: $RUN)"
for s in "${scenarios[@]}"; do
	if ! tr -d '\r' <"$RUN/console.log" | grep -aq "E2E-SCENARIO $s end"; then
		echo "  FAIL $s: scenario did not finish; last marker: $(tr -d '\r' <"$RUN/console.log" | grep -a -o 'E2E-[A-Z]* .*' | tail -n1)"
		nfail=$((nfail + 1))
	fi
done
grep ' FAIL' "$res" | sed 's/^E2E-STEP /  FAIL /' || true
if [ $rc -ne 0 ] || ! grep -aq 'E2E-DONE' "$RUN/console.log"; then
	echo "  FAIL testbed: dom0 did not reach the end of the run (rc=$rc)"
	nfail=$((nfail + 1))
fi
[ "$npass" -gt 0 ] || { echo "  FAIL testbed: no step ran"; nfail=$((nfail + 1)); }
echo "e2e: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
