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
#   E2E_TIMEOUT=SECONDS      limit per testbed boot (default 3600: all runs
#                            about 30 minutes on an idle machine)
#   E2E_CPU=MODEL            QEMU CPU model instead of Nehalem/host (under
#                            TCG, a run with scenario hvm defaults to
#                            EPYC,+svm,+npt,-monitor,-smap,-rdtscp: Xen gets
#                            SVM and HAP; scenarios/hvm.sh says why each;
#                            bench to Nehalem,+aes,+pclmulqdq)
#   E2E_QEMU_MEM=MIB         the testbed machine's memory (default 3072;
#                            dom0 has 1024 of it, guests the rest)
#   VTPM_CACHE_DIR=DIR       image cache (default /var/tmp/xen-tpmback-cache)
#   E2E_RUN_DIR=DIR          where logs go (default build/e2e/<time>-<what>.XXX,
#                            a new directory for every run)
#   E2E_INIT=custom|systemd  dom0's PID 1: tests/e2e/dom0/dom0-init itself
#                            (default), or systemd running the scenarios as a
#                            unit (the default of a scenario that says so)
#   E2E_STATE_DISK=1         attach a state disk (below) to a one-boot run too
#
# A scenario with a host part, tests/e2e/scenarios/<name>.host (sourced here),
# can ask for several testbed boots of one run and for systemd as dom0's
# init, and do host-side steps between boots (see Documentation/testing.rst,
# "Several boots"): it then gets testbed runs of its own, with a state disk
# and a dom0 root that outlive each boot (in the run directory).
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
# all, demo and bench are lists only on their own: "bench tpm12" is two
# scenarios.
case "$*" in
# stall with the backend scenarios: like them it runs without vtpm-tools
# (whose rule would start vtpmctl), which vtpm and later ones install;
# packages last: it purges them. manager, four boots of its own under
# systemd (its host part), runs after them as a testbed run of its own.
all) scenarios=(plumbing backend rehandshake stall vtpm saverestore tpm12 frontend frontend-ima statefull attest hostile churn packages manager) ;;
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
case "$*" in
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
TIMEOUT=${E2E_TIMEOUT:-3600}

# --- scenarios with a host part run on their own -------------------------------
# The scenarios without one share a testbed run; each with one gets its own
# (its boots, its init, its state disk). The parts run one after the other,
# each in a subdirectory of this run, and share the packages built by the
# first. The totals of all parts make the result.
hosted() { [ -f "$E2E_DIR/scenarios/$1.host" ]; }
nhosted=0
for s in "${scenarios[@]}"; do hosted "$s" && nhosted=$((nhosted + 1)); done
if [ $preflight -eq 0 ] && [ ${#scenarios[@]} -gt 1 ] && [ $nhosted -gt 0 ]; then
	plain=() parts=()
	for s in "${scenarios[@]}"; do hosted "$s" || plain+=("$s"); done
	[ ${#plain[@]} -eq 0 ] || parts+=("${plain[*]}")
	for s in "${scenarios[@]}"; do hosted "$s" && parts+=("$s"); done
	tp=0 tf=0 debs=
	for part in "${parts[@]}"; do
		# shellcheck disable=SC2086
		set -- $part
		sub=$RUN/$1; [ $# -eq 1 ] || sub+="+$(($# - 1))"
		log "testbed run of its own: $part (in $sub)"
		# its verdict is its last line; a failed part does not stop the others
		E2E_RUN_DIR=$sub E2E_DEBS_DIR=$debs "$0" "$@" 2>&1 | tee "$sub.log" || true
		line=$(grep -aoE '^e2e: [0-9]+ passed, [0-9]+ failed' "$sub.log" | tail -n1)
		if [ -n "$line" ]; then
			p=${line#e2e: }; p=${p%% passed*}; f=${line#*passed, }; f=${f%% failed*}
		else
			p=0 f=1; echo "  FAIL testbed: the run of '$part' printed no result"
		fi
		tp=$((tp + p)); tf=$((tf + f))
		[ -n "$debs" ] || { [ -d "$sub/debs" ] && debs=$sub/debs; }
	done
	echo
	echo "End-to-end, ${#parts[@]} testbed runs (logs: $RUN)"
	echo "e2e: $tp passed, $tf failed"
	[ "$tf" -eq 0 ]
	exit
fi
# What the scenario's host part may set (scenarios/<name>.host):
#   e2e_init=custom|systemd   dom0's PID 1 (E2E_INIT overrides it)
#   e2e_boots=N               testbed boots in this run (default 1)
#   host_before_boot K / host_after_boot K   host-side steps, around boot K
# and use: hwtpm_use NAME (dom0's TPM for the next boot: swtpm state
# $RUN/hwtpm-NAME, kept across boots; "main" is $RUN/hwtpm), state_mount /
# state_umount (the state disk at $STATE_MNT), hstep NAME CMD... (a host
# step, reported like dom0's).
e2e_init=custom e2e_boots=1
host_before_boot() { :; }
host_after_boot() { :; }
HOST_SCENARIO=
if [ ${#scenarios[@]} -eq 1 ] && hosted "${scenarios[0]}"; then
	HOST_SCENARIO=${scenarios[0]}
	# shellcheck disable=SC1090
	. "$E2E_DIR/scenarios/$HOST_SCENARIO.host"
fi
E2E_INIT=${E2E_INIT:-$e2e_init}
case $E2E_INIT in custom | systemd) ;; *) die "E2E_INIT must be custom or systemd, not '$E2E_INIT'" ;; esac
[[ $e2e_boots =~ ^[1-9][0-9]?$ ]] || die "bad e2e_boots '$e2e_boots' in $HOST_SCENARIO.host"
STATE_IMG=
if [ "$e2e_boots" -gt 1 ] || [ -n "$HOST_SCENARIO" ] || [ "${E2E_STATE_DISK:-0}" = 1 ]; then
	STATE_IMG=$RUN/state.ext4
fi
STATE_MNT=$RUN/state.mnt

# --- processes we own; nothing survives the runner --------------------------
pids=()
qpid=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	hwtpm_stop
	declare -F state_umount >/dev/null && state_umount
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
# Scenario parameters from the host's environment (churn's sizes, the
# hostile scenario's full set).
env | grep -E '^E2E_(CHURN|HOSTILE)_[A-Z]+=[0-9]+$' >"$inj/e2e.env" || true
"$E2E_DIR/lib/build-guest.sh" "$ROOTFS_DIR" "$inj/guest.cpio.gz"
exec 7>"$CACHE/.use.lock"
flock -s 7
flock -u 8; exec 8>&-
# What dom0 runs of this project comes as the Debian packages built from
# this checkout, installed there with apt (dom0-lib.sh: install_vtpm_stack).
t_deb=$SECONDS
if [ -n "${E2E_DEBS_DIR:-}" ]; then
	# another part of the same run built them from this checkout
	cp "$E2E_DEBS_DIR"/*.deb "$inj/debs/"
else
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
fi
rm -f "$inj"/debs/*-dbgsym_*.deb
log "packages built ($((SECONDS - t_deb)) s): $(cd "$inj/debs" && echo *.deb)"
# The IMA guest's kernel, with the patched frontend built in (scenario
# frontend-ima, in all): cached under its own lock; the first build takes
# about 12 CPU-minutes (6-8 minutes on an idle 2-core machine).
case " ${scenarios[*]} " in *" frontend-ima "*)
	"$E2E_DIR/lib/build-guest-kernel.sh" "$inj/artefacts/vmlinuz-tpmfront" ||
		log "the IMA guest kernel was not built: scenario frontend-ima will fail" ;;
esac
# Scenario hvm: a device model for dom0 (qemu-system-xen and whichever of
# its dependencies dom0's image lacks), downloaded here, installed there.
case " ${scenarios[*]} " in *" hvm "*)
	mkdir -p "$inj/artefacts/hvm-debs"
	hvm_have=$(awk '/^Package: /{p=$2} /^Status: install ok installed/{print p}' \
		"$ROOTFS_DIR/var/lib/dpkg/status" | sort -u)
	hvm_pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances qemu-system-xen 2>/dev/null |
		grep -v -e '^ ' -e '^<' | sort -u | comm -23 - <(echo "$hvm_have"))
	(cd "$inj/artefacts/hvm-debs" && apt-get download $hvm_pkgs >/dev/null 2>&1) ||
		log "qemu-system-xen for dom0 not downloaded: scenario hvm has no device model" ;;
esac
# Test tools that are not part of the product: the test responder.
art() { [ -e "$TOP/$1" ] && cp -a "$TOP/$1" "$inj/artefacts/" || log "artefact $1 not built"; }
art tests/responder/vtpm-responder
# The tree's test build of the module (make module: with the fault
# injection knob, which the packaged module lacks): scenario stall, part 3
[ -e "$TOP/drivers/xen-tpmback/xen-tpmback.ko" ] &&
	cp "$TOP/drivers/xen-tpmback/xen-tpmback.ko" "$inj/artefacts/xen-tpmback-fi.ko" ||
	log "artefact xen-tpmback-fi.ko not built (make module): scenario stall will fail"
# evil_preload.so: a confined server that makes a forbidden call (vtpm)
gcc -O2 -shared -fPIC -o "$inj/artefacts/evil_preload.so" "$TOP/tests/userspace/evil_preload.c" -ldl ||
	log "evil_preload.so for dom0 not built"
# tpm-rawbench for dom0 too (scenario bench: the path without a guest)
gcc -static -O2 -o "$inj/artefacts/tpm-rawbench" "$E2E_DIR/tools/tpm-rawbench.c" ||
	log "tpm-rawbench for dom0 not built"
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
# Its state directory outlives each boot of the run: a host reboot keeps
# the TPM's NV and keys (hwtpm_use picks another one: a different TPM).
HWTPM_NAME=main
hwtpm_dir() { if [ "$1" = main ]; then echo "$RUN/hwtpm"; else echo "$RUN/hwtpm-$1"; fi; }
hwtpm_use() { # NAME: dom0's TPM from the next boot on
	[[ $1 =~ ^[a-z0-9]+$ ]] || die "hwtpm_use: bad name '$1'"
	HWTPM_NAME=$1
}
q_xen=$(rt_link xen.elf "$XEN_ELF")
q_vmlinuz=$(rt_link vmlinuz "$VMLINUZ")
q_initrd=$(rt_link initrd "$INITRD")
q_root=$(rt_link root.ext4 "$ROOTFS_IMG")
q_run=$(rt_link run "$RUN")

# --- what outlives a boot: the state disk and (with several boots) dom0's root
# The state disk: ext4 labelled vtpmstate, dom0's /dev/vdc, holding
# vtpm-lib (dom0's /var/lib/vtpm), vtpm-etc (/etc/vtpm) and keep (the
# scenario's own). With several boots dom0's root is a qcow2 overlay of the
# cached image in the run directory, so what boot 1 installed and enabled
# is there at boot 2, as on a real host; one boot keeps snapshot=on.
if [ -n "$STATE_IMG" ]; then
	t=$(mktemp -d)
	install -d -m 0700 "$t/vtpm-lib" "$t/vtpm-etc"
	install -d -m 0755 "$t/keep"
	rm -f "$STATE_IMG"
	mkfs.ext4 -q -F -L vtpmstate -d "$t" "$STATE_IMG" 256M
	rm -rf "$t"
fi
root_drive="file=$q_root,format=raw,if=virtio,snapshot=on"
if [ "$e2e_boots" -gt 1 ]; then
	rm -f "$RUN/root.qcow2"
	qemu-img create -q -f qcow2 -F raw -b "$ROOTFS_IMG" "$RUN/root.qcow2" ||
		die "cannot make dom0's root overlay $RUN/root.qcow2"
	root_drive="file=$q_run/root.qcow2,format=qcow2,if=virtio"
fi
STATE_MOUNTED=
state_mount() { # the state disk on the host, at $STATE_MNT (dom0 is down)
	[ -n "$STATE_IMG" ] || die "state_mount: this run has no state disk"
	[ -z "$STATE_MOUNTED" ] || return 0
	mkdir -p "$STATE_MNT"
	mount -o loop "$STATE_IMG" "$STATE_MNT" || die "cannot mount the state disk $STATE_IMG"
	STATE_MOUNTED=1
}
state_umount() { # safe under set -e (EXIT trap)
	[ -n "$STATE_MOUNTED" ] || return 0
	umount "$STATE_MNT" 2>/dev/null || umount -l "$STATE_MNT" 2>/dev/null || true
	STATE_MOUNTED=
}
# hstep NAME CMD...: a host-side step of the scenario, reported as
# E2E-STEP <scenario>:host-<NAME> (into host-steps.log, counted like dom0's)
hstep() {
	local name=$1; shift
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		echo "E2E-STEP $HOST_SCENARIO:host-$name PASS" | tee -a "$RUN/host-steps.log"
	else
		echo "E2E-STEP $HOST_SCENARIO:host-$name FAIL exit $rc: $* :: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | cut -c1-300)" |
			tee -a "$RUN/host-steps.log"
	fi
	return $rc
}

boot() { # boot ACCEL K -> starts QEMU in the background, pid in $qpid
	local acc=$1 k=$2 accel_opt cpu
	if [ "$acc" = kvm ]; then accel_opt=kvm; cpu=host
	else accel_opt=tcg,thread=multi; cpu=Nehalem; fi
	# Scenario hvm under TCG: an AMD model with SVM and NPT, without the
	# features TCG got wrong under Xen (scenarios/hvm.sh says which)
	if [ "$acc" != kvm ]; then
		case " ${scenarios[*]} " in *" hvm "*) cpu=EPYC,+svm,+npt,-monitor,-smap,-rdtscp ;; esac
		# bench: with AES-NI and PCLMULQDQ (TCG emulates both), as every
		# host has; the state path seals each save with AES-256-GCM
		case " ${scenarios[*]} " in *" bench "*) cpu=Nehalem,+aes,+pclmulqdq ;; esac
	fi
	# E2E_CPU: another QEMU CPU model
	cpu=${E2E_CPU:-$cpu}
	# serial_tx_buffer: Xen drops console characters when its transmit
	# buffer (16 KiB by default) is full; dom0's bursts under TCG filled it.
	local xen_cmd="console=com1 com1=115200,8n1 serial_tx_buffer=1M dom0_mem=1024M,max:1024M dom0_max_vcpus=2"
	xen_cmd+=" loglvl=all guest_loglvl=all noreboot xpti=no pv-l1tf=no spec-ctrl=no"
	local dom0_cmd="console=hvc0 earlyprintk=xen loglevel=5 e2e.init=$E2E_INIT e2e.boot=$k e2e.boots=$e2e_boots"
	local state_drive=()
	if [ -n "$STATE_IMG" ]; then
		dom0_cmd+=" e2e.statedisk=1"
		state_drive=(-drive "file=$q_run/state.ext4,format=raw,if=virtio")
	fi
	: >"$RUN/console.log"
	qemu-system-x86_64 -machine q35 -accel "$accel_opt" -cpu "$cpu" -smp 2 -m "${E2E_QEMU_MEM:-3072}" \
		-no-reboot -display none -monitor none -nic none \
		-serial file:"$q_run/console.log" \
		-kernel "$q_xen" -append "$xen_cmd" \
		-initrd "$q_vmlinuz $dom0_cmd,$q_initrd" \
		-drive "$root_drive" \
		-drive file="$q_run/inject.ext4",format=raw,if=virtio \
		"${state_drive[@]}" \
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

# markers_of K: the E2E- lines of boot K. Xen's serial console drops
# characters when its transmit buffer is full (a burst of dom0 output under
# TCG), so a marker can be missing from the console or garbled there: dom0
# keeps its own copy of what it prints (out/[bootK/]dom0-stdout.log, on the
# run's disk). That copy is the verdict's source when it reached E2E-DONE;
# the console otherwise (a dom0 that crashed or hung before it could write).
markers_of() {
	local k=$1 cons=$RUN/console.log f=$RUN/out/dom0-stdout.log
	if [ "$e2e_boots" -gt 1 ]; then
		cons=$RUN/console-boot$k.log f=$RUN/out/boot$k/dom0-stdout.log
	fi
	if [ -f "$f" ] && grep -aq '^E2E-DONE' "$f"; then
		tr -d '\r' <"$f" | grep -a -o 'E2E-[A-Z-]*.*' || true
	elif [ -f "$cons" ]; then
		tr -d '\r' <"$cons" | grep -a -o 'E2E-[A-Z-]*.*' || true
	fi
}

deadline=$((SECONDS + TIMEOUT))
boots_ok=0
for k in $(seq "$e2e_boots"); do
	host_before_boot "$k"
	hwtpm_start "$(hwtpm_dir "$HWTPM_NAME")" "$RUN/hwtpm.log" ||
		die "swtpm (dom0's hardware TPM) did not start (see $RUN/hwtpm.log)"
	t_boot=$SECONDS
	log "booting Xen $XEN_VER + dom0 ($E2E_INIT) in QEMU with $accel, boot $k of $e2e_boots, dom0's TPM '$HWTPM_NAME' (scenarios: ${scenarios[*]}); logs in $RUN"
	boot "$accel" "$k"
	rc=0; watch_console "$deadline" $((SECONDS + 240)) || rc=$?
	if [ $rc -eq 3 ] || { [ $rc -eq 1 ] && [ "$accel" = kvm ] && ! grep -aq 'E2E-BOOT dom0' "$RUN/console.log"; }; then
		if [ "$accel" = kvm ]; then
			log "Xen did not boot under KVM; falling back to TCG"
			kill -KILL "$qpid" 2>/dev/null || true
			mv "$RUN/console.log" "$RUN/console-kvm.log"
			accel=tcg; boot tcg "$k"; rc=0
			watch_console "$deadline" $((SECONDS + 240)) || rc=$?
		fi
	fi
	case $rc in
	0)	# dom0 powers off: at once without systemd, after an orderly
		# shutdown (units stopped, file systems unmounted) with it
		t_off=$SECONDS
		while kill -0 "$qpid" 2>/dev/null && [ $((SECONDS - t_off)) -lt 120 ]; do sleep 1; done
		kill -0 "$qpid" 2>/dev/null && log "dom0 did not power off within 120 s of E2E-POWEROFF; QEMU killed"
		[ "$E2E_INIT" = systemd ] && log "boot $k: $((SECONDS - t_boot)) s, of which shutdown $((SECONDS - t_off)) s" ;;
	1) log "QEMU exited before dom0 powered off (see $RUN/console.log, $RUN/qemu.log)" ;;
	2) log "TIMEOUT: the run exceeded ${TIMEOUT} s; QEMU killed" ;;
	3) log "dom0 did not come up within 240 s (see $RUN/console.log)" ;;
	esac
	kill -TERM "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	hwtpm_stop
	if [ "$e2e_boots" -gt 1 ]; then
		mv "$RUN/console.log" "$RUN/console-boot$k.log"
		[ -f "$RUN/qemu.log" ] && mv "$RUN/qemu.log" "$RUN/qemu-boot$k.log"
	fi
	# dom0's logs (guest consoles, dmesg, per-step output) from the run's
	# disk. debugfs's rdump will not write into an existing directory: each
	# boot's copy goes to a fresh one and is merged into out/ (before, a
	# multi-boot run kept only boot 1's logs).
	rm -rf "$RUN/.rdump"; mkdir "$RUN/.rdump"
	debugfs -R "rdump /out $q_run/.rdump" "$q_run/inject.ext4" >/dev/null 2>&1 || true
	mkdir -p "$RUN/out"
	[ -d "$RUN/.rdump/out" ] && cp -a "$RUN/.rdump/out/." "$RUN/out/"
	rm -rf "$RUN/.rdump"
	# a boot that did not end, or whose scenario gave up (E2E-ABORT):
	# the later boots would test nothing
	# (the markers in a variable: grep -q ending a pipe early would fail it
	# under pipefail)
	bm=$(markers_of "$k")
	if [ $rc -ne 0 ] || ! grep -aq '^E2E-DONE' <<<"$bm" ||
		{ [ "$k" -lt "$e2e_boots" ] && grep -aq '^E2E-ABORT' <<<"$bm"; }; then
		[ "$k" -eq "$e2e_boots" ] || log "boot $k did not end well: the run's later boots are skipped"
		break
	fi
	host_after_boot "$k"
	state_umount
	boots_ok=$k
done
if [ "$e2e_boots" -gt 1 ]; then
	for k in $(seq "$e2e_boots"); do
		[ -f "$RUN/console-boot$k.log" ] && cat "$RUN/console-boot$k.log"
	done >"$RUN/console.log"
fi
# The verdict's markers: each boot's (dom0's own copy where it is whole),
# then the host's steps.
for k in $(seq "$e2e_boots"); do
	markers_of "$k"
done >"$RUN/markers.log"
[ -f "$RUN/host-steps.log" ] && cat "$RUN/host-steps.log" >>"$RUN/markers.log"
if [ "$e2e_boots" -gt 1 ] && [ "$boots_ok" -lt "$e2e_boots" ]; then
	echo "E2E-STEP testbed:boots FAIL only $boots_ok of $e2e_boots boots ended well" >>"$RUN/markers.log"
fi

# --- verdict -------------------------------------------------------------------
res="$RUN/results.txt"
grep -a -o 'E2E-STEP .*' "$RUN/markers.log" >"$res" || true
npass=$(grep -c ' PASS' "$res" || true)
nfail=$(grep -c ' FAIL' "$res" || true)
echo
echo "End-to-end ($accel, $((SECONDS - t_start)) s; logs: $RUN)"
ncons=$(cat "$RUN/console.log" "$RUN/host-steps.log" 2>/dev/null | tr -d '\r' |
	grep -a -c 'E2E-STEP .* \(PASS\|FAIL\)' || true)
[ "$e2e_boots" -gt 1 ] && [ "$boots_ok" -lt "$e2e_boots" ] && ncons=$((ncons + 1))
[ "$ncons" -eq $((npass + nfail)) ] ||
	echo "  note: the serial console shows $ncons step results, dom0's own copy $((npass + nfail)): the verdict counts dom0's copy (out/dom0-stdout.log)"
for s in "${scenarios[@]}"; do
	if ! grep -aq "^E2E-SCENARIO $s end" "$RUN/markers.log"; then
		echo "  FAIL $s: scenario did not finish; last marker: $(grep -a -o 'E2E-[A-Z]* .*' "$RUN/markers.log" | tail -n1)"
		nfail=$((nfail + 1))
	fi
done
grep ' FAIL' "$res" | sed 's/^E2E-STEP /  FAIL /' || true
if [ $rc -ne 0 ] || ! grep -aq '^E2E-DONE' "$RUN/markers.log"; then
	echo "  FAIL testbed: dom0 did not reach the end of the run (rc=$rc)"
	nfail=$((nfail + 1))
fi
[ "$npass" -gt 0 ] || { echo "  FAIL testbed: no step ran"; nfail=$((nfail + 1)); }
echo "e2e: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
