# shellcheck shell=bash
# Helpers for scenarios that run in the testbed's dom0 (sourced by dom0-init).
#
# A scenario is /e2e/scenarios/<name>.sh; it calls
#   step NAME COMMAND...   run COMMAND; E2E-STEP <scenario>:NAME PASS|FAIL <why>
#   check NAME COND_CMD... the same, for a condition
#   fail NAME WHY / pass NAME
# A failed step is reported and the scenario goes on unless it calls
# `need` (which aborts the scenario on failure, naming the step).

SCENARIO=

# What the runner put on dom0's command line: e2e.init=custom|systemd (who
# is PID 1), e2e.boot=K and e2e.boots=N (this is testbed boot K of N of one
# run; scenarios with several boots do their part for boot K).
E2E_INIT=custom E2E_BOOT=1 E2E_BOOTS=1
for _w in $(cat /proc/cmdline 2>/dev/null); do
	case $_w in
	e2e.init=*) E2E_INIT=${_w#e2e.init=} ;;
	e2e.boot=*) E2E_BOOT=${_w#e2e.boot=} ;;
	e2e.boots=*) E2E_BOOTS=${_w#e2e.boots=} ;;
	esac
done
unset _w
# Logs of a step: out/ (out/boot<K>/ when the run has several boots).
E2E_OUT=/e2e/out
[ "$E2E_BOOTS" -gt 1 ] && E2E_OUT=/e2e/out/boot$E2E_BOOT
mkdir -p "$E2E_OUT" 2>/dev/null

# dom0's own copy of what it prints: the runner's verdict reads it rather
# than the serial console, where Xen drops characters when its transmit
# buffer is full (a marker lost there failed a whole run). The copy is
# written through tee, so the console keeps showing everything live.
e2e_stdout_copy() {
	exec > >(exec tee -a "$E2E_OUT/dom0-stdout.log")
}
# e2e_stdout_flush: before power-off, wait (at most 10 s) until tee has
# written everything printed so far to the copy, then sync.
e2e_stdout_flush() {
	local tag="E2E-INFO dom0's copy of its output is complete ($$-$RANDOM)" i
	echo "$tag"
	for i in $(seq 100); do
		grep -aqxF "$tag" "$E2E_OUT/dom0-stdout.log" 2>/dev/null && break
		sleep 0.1
	done
	sync
}

# --- the state disk -------------------------------------------------------------
# When the runner attaches one (a scenario's .host file, or E2E_STATE_DISK=1)
# it is dom0's third disk, /dev/vdc, ext4 labelled "vtpmstate", kept in the
# run directory across the run's boots. It is mounted at $E2E_STATE;
# $E2E_STATE/vtpm-lib is bind-mounted on /var/lib/vtpm, $E2E_STATE/vtpm-etc
# on /etc/vtpm, and $E2E_STATE/keep is for the scenario's own files (copies
# to put back, exported states, recovery codes).
E2E_STATE=/var/lib/e2e-state
E2E_STATE_DEV=/dev/vdc
e2e_has_state_disk() { grep -qw 'e2e.statedisk=1' /proc/cmdline 2>/dev/null; }
e2e_state_mount_now() { # no systemd: mount it here
	e2e_has_state_disk || return 0
	mkdir -p "$E2E_STATE" /var/lib/vtpm /etc/vtpm
	mount -t ext4 "$E2E_STATE_DEV" "$E2E_STATE" || return 1
	mount --bind "$E2E_STATE/vtpm-lib" /var/lib/vtpm &&
		mount --bind "$E2E_STATE/vtpm-etc" /etc/vtpm
}

# --- systemd as PID 1 ----------------------------------------------------------
# e2e_systemd_prepare: run by dom0-init (PID 1, before exec systemd). Idempotent:
# with a run's root kept across boots it finds its own work from before.
e2e_systemd_prepare() {
	local u=/etc/systemd/system
	mkdir -p "$u/multi-user.target.wants" /etc/systemd/system.conf.d
	# A machine id, so that systemd does not treat every boot as the first
	# (preset-all would enable every unit in the image).
	if ! grep -qE '^[0-9a-f]{32}$' /etc/machine-id 2>/dev/null; then
		tr -d '-' </proc/sys/kernel/random/uuid >/etc/machine-id
	fi
	ln -sfn /lib/systemd/system/multi-user.target "$u/default.target"
	# The console is the runner's: no getty, no status lines (they would
	# split the E2E- markers). Debian's init scripts that the testbed runs
	# itself (xen) or must not run (tcsd, xendomains) are masked.
	cat >/etc/systemd/system.conf.d/e2e.conf <<'CONF'
[Manager]
ShowStatus=no
DefaultTimeoutStopSec=30s
CONF
	# udev's coldplug only for what dom0 uses here (disks, the TPM, Xen's
	# devices): the full one loads ~35 modules for QEMU's emulated hardware,
	# a minute or more under TCG. Devices added later get their events.
	mkdir -p "$u/systemd-udev-trigger.service.d"
	cat >"$u/systemd-udev-trigger.service.d/e2e.conf" <<'CONF'
[Service]
ExecStart=
ExecStart=-udevadm trigger --type=subsystems --action=add
ExecStart=-udevadm trigger --type=devices --action=add --subsystem-match=block --subsystem-match=tpm --subsystem-match=tpmrm --subsystem-match=xen --subsystem-match=xen-backend --subsystem-match=misc --subsystem-match=mem --subsystem-match=tty
CONF
	local m
	for m in serial-getty@hvc0.service getty@tty1.service getty.target \
		getty-static.service xen.service xendomains.service trousers.service \
		tcsd.service; do
		ln -sfn /dev/null "$u/$m"
	done
	# Xen's daemons as units of their own, in the foreground, as upstream
	# Xen's units run them (Debian's init script starts oxenstored with
	# start-stop-daemon, and under systemd oxenstored does not fork: the
	# script would wait for ever).
	local xbin; xbin=$(dirname "$(ls -d /usr/lib/xen-4.*/bin/oxenstored | tail -n1)")
	cat >"$u/e2e-xenstored.service" <<UNIT
[Unit]
Description=testbed: oxenstored
DefaultDependencies=no
After=local-fs.target systemd-udevd.service systemd-modules-load.service

[Service]
Type=simple
Environment=XENSTORED_ROOTDIR=/run/xenstored
ExecStartPre=/e2e/dom0-init --xen-pre
ExecStart=$xbin/oxenstored --no-fork --pid-file /run/xenstore.pid
UNIT
	cat >"$u/e2e-xenconsoled.service" <<UNIT
[Unit]
Description=testbed: xenconsoled (guest consoles into /var/log/xen/console)
DefaultDependencies=no
Requires=e2e-xenstored.service
After=e2e-xenstored.service

[Service]
Type=simple
ExecStartPre=/e2e/dom0-init --xen-dom0
ExecStart=$xbin/xenconsoled -i --log=guest --log-dir=/var/log/xen/console
UNIT
	cat >"$u/e2e-xen.service" <<'UNIT'
[Unit]
Description=testbed: Xen's toolstack works (xl list)
DefaultDependencies=no
Requires=e2e-xenstored.service e2e-xenconsoled.service
After=e2e-xenstored.service e2e-xenconsoled.service
Before=multi-user.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/e2e/dom0-init --xen
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
UNIT
	cat >"$u/e2e-dom0.service" <<'UNIT'
[Unit]
Description=testbed: run the scenarios (E2E- lines on the console), then power off
After=multi-user.target e2e-xen.service
Requires=e2e-xen.service

[Service]
Type=oneshot
ExecStart=/e2e/dom0-init --run
TimeoutStartSec=infinity
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
UNIT
	ln -sfn "$u/e2e-xen.service" "$u/multi-user.target.wants/e2e-xen.service"
	ln -sfn "$u/e2e-dom0.service" "$u/multi-user.target.wants/e2e-dom0.service"
	# The state disk: mounted by systemd from fstab, so that at shutdown it
	# is unmounted only after the units that use it (vtpm-unlock's lock).
	sed -i '/# e2e-state$/d' /etc/fstab 2>/dev/null
	if e2e_has_state_disk; then
		mkdir -p "$E2E_STATE" /var/lib/vtpm /etc/vtpm
		cat >>/etc/fstab <<FSTAB
$E2E_STATE_DEV $E2E_STATE ext4 defaults 0 0 # e2e-state
$E2E_STATE/vtpm-lib /var/lib/vtpm none bind,x-systemd.requires-mounts-for=$E2E_STATE 0 0 # e2e-state
$E2E_STATE/vtpm-etc /etc/vtpm none bind,x-systemd.requires-mounts-for=$E2E_STATE 0 0 # e2e-state
FSTAB
	fi
}

say() { echo "E2E-INFO ${SCENARIO:+$SCENARIO: }$*"; }
pass() { echo "E2E-STEP $SCENARIO:$1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $SCENARIO:$1 FAIL ${2:-failed}"; E2E_FAILED=1; return 1; }

# step NAME CMD... : PASS when CMD exits 0; its output is kept in out/
step() {
	local name=$1; shift
	local of="$E2E_OUT/$SCENARIO.$name.log"
	if "$@" >"$of" 2>&1; then
		pass "$name"
	else
		local rc=$?
		fail "$name" "exit $rc: $* :: $(tail -n 3 "$of" | tr '\n' '|' | cut -c1-300)"
	fi
}
# need: like step, but the rest of the scenario depends on it
need() {
	step "$@" || { echo "E2E-ABORT $SCENARIO: step $1 failed, later steps cannot run"; return 1; }
}

# wait_for SECONDS CMD... : poll CMD until it succeeds (0.2 s period)
wait_for() {
	local t=$(( $1 * 5 )); shift
	while [ $t -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2; t=$((t - 1))
	done
	"$@"
}

xs_is() { [ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ]; }

# What dom0 holds for guests, for "nothing left behind" steps. Functions,
# not sh -c: pgrep -f would find the sh -c that names the pattern.
server_for() { pgrep -f "vtpmctl serve.*vtpm-$1-" >/dev/null; }   # DOMID
no_server_for() { ! server_for "$1"; }
# The hotplug server of domain DOMID's vTPM (the udev rule's, device 0):
# its pidfile, the supervisor's pid in it (fails while there is none),
# whether it started.
server_pidfile() { echo "/run/vtpm/vtpm-$1-0.pid"; }
server_pid() { cat "$(server_pidfile "$1")" 2>/dev/null; }
server_started() { test -s "$(server_pidfile "$1")"; }
backend_nodes() { xenstore-list /local/domain/0/backend/vtpm 2>/dev/null | wc -l; }
no_backends() { [ "$(backend_nodes)" -eq 0 ]; }
# no domain but dom0, running or dying (a grant mapping left keeps one dying)
no_dying_domain() { ! xl list | awk 'NR > 1 && $1 != "Domain-0"' | grep -q .; }

# guest_create NAME SCRIPT [xl-config-lines...] : start a PV guest that runs
# /guest/SCRIPT.sh from its initramfs, then powers off. Extra args are
# appended to the config (e.g. 'vtpm=["backend=0,uuid=..."]'); $GUEST_EXTRA
# is added to the guest's command line (GUEST_CMDLINE too).
# GUEST_KERNEL=PATH boots another kernel than dom0's; GUEST_MEMORY=MiB (384);
# GUEST_RAMDISK=PATH another initramfs (/e2e/guest-small.cpio.gz: churn's);
# GUEST_TYPE=hvm|pvh another guest type than pv (scenario hvm).
guest_create() {
	local name=$1 script=$2; shift 2
	local cfg=/tmp/$name.cfg
	{
		echo "name = \"$name\""
		echo "type = \"${GUEST_TYPE:-pv}\""
		echo "kernel = \"${GUEST_KERNEL:-/boot/vmlinuz-$(uname -r)}\""
		echo "ramdisk = \"${GUEST_RAMDISK:-/e2e/guest.cpio.gz}\""
		echo "extra = \"console=hvc0 quiet loglevel=4 e2e.script=$script${GUEST_EXTRA:+ $GUEST_EXTRA}${GUEST_CMDLINE:+ $GUEST_CMDLINE}\""
		echo "memory = ${GUEST_MEMORY:-384}"
		echo "vcpus = 1"
		echo "on_poweroff = \"destroy\""
		echo "on_crash = \"destroy\""
		local l; for l in "$@"; do echo "$l"; done
	} >"$cfg"
	xl create "$cfg" >"$E2E_OUT/$SCENARIO.xl-create-$name.log" 2>&1
}
guest_domid() { xl domid "$1" 2>/dev/null; }
guest_log() { echo "/var/log/xen/console/guest-$1.log"; }
# guest_wait NAME SECONDS : wait for the guest to power off; relay its steps
guest_wait() {
	local name=$1 t=$(( $2 * 2 ))
	while xl domid "$name" >/dev/null 2>&1 && [ $t -gt 0 ]; do sleep 0.5; t=$((t - 1)); done
	local rc=0
	if xl domid "$name" >/dev/null 2>&1; then
		fail "guest-$name-finished" "guest $name still running after $2 s; destroyed"
		xl destroy "$name" >/dev/null 2>&1
		rc=1
	fi
	guest_relay "$name"
	return $rc
}
# guest_relay NAME [--killed]: the guest's E2E-STEP lines, as steps of this
# scenario; --killed for a guest dom0 destroyed on purpose (no end marker)
guest_relay() {
	local f; f=$(guest_log "$1")
	[ -f "$f" ] || { fail "guest-$1-console" "no console log for guest $1"; return 1; }
	local g=$1 n r why
	grep -a -o 'E2E-[A-Z]*.*' "$f" | tr -d '\r' | while read -r kind rest; do
		case $kind in
		E2E-STEP) read -r n r why <<<"$rest"
			echo "E2E-STEP $SCENARIO:$g/$n ${r}${why:+ $why}";;
		E2E-INFO) echo "E2E-INFO $SCENARIO: [$g] $rest";;
		esac
	done
	[ "${2:-}" = --killed ] && return 0
	grep -aq 'E2E-GUEST-DONE' "$f" || fail "guest-$1-finished" "guest $1 did not reach the end of its script (see out/guest-$1.log)"
}

e2e_run_scenario() {
	SCENARIO=$1
	echo "E2E-SCENARIO $SCENARIO begin"
	local t0=$SECONDS
	if [ -f "/e2e/scenarios/$SCENARIO.sh" ]; then
		( . "/e2e/scenarios/$SCENARIO.sh" )
	else
		fail setup "no scenario file $SCENARIO.sh"
	fi
	echo "E2E-SCENARIO $SCENARIO end ($((SECONDS - t0)) s)"
}

# swtpm_start DIR : a TPM 2.0 swtpm in dom0 (socket mode, already started
# up) for the test responder: data socket DIR/data, control DIR/ctrl, pid
# file DIR/pid. swtpm_stop DIR ends it.
swtpm_start() {
	mkdir -p "$1" && swtpm socket --tpm2 --daemon --pid file="$1/pid" \
		--server type=unixio,path="$1/data" --ctrl type=unixio,path="$1/ctrl" \
		--tpmstate dir="$1" --flags startup-clear,not-need-init
}
swtpm_stop() { kill "$(cat "$1/pid" 2>/dev/null)" 2>/dev/null; }

# --- the project's Debian packages ------------------------------------------
# The runner builds them from the checkout (scripts/build-debs.sh) for every
# run and puts them in /e2e/debs. dom0 installs them with apt, as an admin
# does; their dependencies are in the image (no network). DKMS builds the
# module against dom0's kernel headers in xen-tpmback-dkms's postinst.
E2E_DEBS=/e2e/debs
pkg_installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
not_installed() { ! pkg_installed "$1"; }
pkg_deb() { # NAME -> the run's .deb of package NAME
	local f
	for f in "$E2E_DEBS/$1"_*.deb; do [ -f "$f" ] && { echo "$f"; return 0; }; done
	echo "no $1 package in $E2E_DEBS (scripts/build-debs.sh failed?)" >&2
	return 1
}
# install_pkgs PKG...: apt-get install those not installed yet; the time it
# took goes to /run/e2e-install.<pkg> (the packages scenario reports it)
install_pkgs() {
	local p f debs=() names=() t0 rc log
	for p in "$@"; do
		pkg_installed "$p" && continue
		f=$(pkg_deb "$p") || return 1
		debs+=("$f"); names+=("$p")
	done
	[ ${#debs[@]} -gt 0 ] || return 0
	log="$E2E_OUT/apt-install-${names[0]}.log"
	t0=$(date +%s.%N)
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${debs[@]}" >"$log" 2>&1
	rc=$?
	cat "$log"
	if [ $rc -ne 0 ]; then
		# dom0 has no network: every dependency must be in the image.
		# Name the ones that are not (apt only says it could not fetch).
		local extra
		extra=$(apt-get install -s --no-install-recommends "${debs[@]}" 2>&1 |
			awk -v names=" ${names[*]} " '$1 == "Inst" && index(names, " " $2 " ") == 0 {print $2}')
		[ -z "$extra" ] || echo "dependencies missing from the dom0 image: $(echo $extra) (tests/e2e/lib/mkrootfs.sh)"
		return $rc
	fi
	for p in "${names[@]}"; do
		echo "$(date +%s.%N) $t0" | awk '{printf "%.1f\n", $1 - $2}' >"/run/e2e-install.$p"
		pkg_installed "$p" || { echo "$p is not installed after apt-get"; return 1; }
	done
}
# The module's package: xen-tpmback-modules-<kernel>, the module that DKMS
# built on the host from xen-tpmback-dkms (the default: seconds), or
# E2E_MODULE_VIA=dkms: xen-tpmback-dkms itself, DKMS building the module
# against dom0's headers (about 5 minutes under TCG; scenario "dkms").
E2E_MODULE_VIA=${E2E_MODULE_VIA:-modules}
module_pkg() {
	case $E2E_MODULE_VIA in
	dkms) echo xen-tpmback-dkms ;;
	*) echo "xen-tpmback-modules-$(uname -r)" ;;
	esac
}
module_path() {
	case $E2E_MODULE_VIA in
	dkms) echo "/lib/modules/$(uname -r)/updates/dkms/xen-tpmback.ko" ;;
	*) echo "/lib/modules/$(uname -r)/updates/xen-tpmback.ko" ;;
	esac
}
# install_module_pkg: the module's package only (the scenarios that serve
# the backend with the test responder must not have udev start vtpmctl);
# modprobe must then find that package's module.
install_module_pkg() {
	install_pkgs "$(module_pkg)" || return 1
	local m; m=$(modinfo -n xen-tpmback 2>/dev/null)
	case $m in
	"$(module_path)"*) ;;
	*) echo "modprobe would not load $(module_pkg)'s module $(module_path) (modinfo -n: '${m:-none}')"
	   [ "$E2E_MODULE_VIA" = dkms ] && dkms status
	   return 1 ;;
	esac
}
# install_vtpm_stack: both packages, as a user installs them, and a state key.
install_vtpm_stack() {
	install_module_pkg || return 1
	install_pkgs vtpm-tools || return 1
	[ -f /etc/vtpm/state.key ] || vtpmctl keygen || return 1
}

# vtpm_user_add: the system user "vtpm" that vtpmctl serve gives up uid 0
# for (serve.c, --user) is there, as the package's postinst makes it: no
# shell, no home
vtpm_user_add() {
	getent passwd vtpm || { echo "no user vtpm (vtpm-tools' postinst makes it)"; return 1; }
	getent passwd vtpm | grep -q ':/nonexistent:/usr/sbin/nologin$' &&
		[ "$(stat -c %U:%G:%a /var/lib/vtpm)" = root:vtpm:710 ] ||
		{ stat -c '%n %U:%G:%a' /var/lib/vtpm; return 1; }
}
# server_is_vtpm PID [STATE_DIR]: that server runs as vtpm in every uid and
# gid slot, no supplementary group, no capability; its state files are vtpm's
server_is_vtpm() {
	local pid=$1 dir=${2:-} u g st
	u=$(id -u vtpm) && g=$(id -g vtpm) || return 1
	st=$(cat "/proc/$pid/status") || return 1
	echo "$st" | grep -E '^(Uid|Gid|Groups|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' | tr -s '\t' ' '
	echo "$st" | grep -q "^Uid:	$u	$u	$u	$u$" &&
	echo "$st" | grep -q "^Gid:	$g	$g	$g	$g$" &&
	echo "$st" | grep -Eq '^Groups:[[:space:]]*$' &&
	echo "$st" | grep -Eq '^CapEff:[[:space:]]*0+$' &&
	echo "$st" | grep -Eq '^CapPrm:[[:space:]]*0+$' &&
	echo "$st" | grep -Eq '^CapBnd:[[:space:]]*0+$' || return 1
	[ -z "$dir" ] && return 0
	[ -z "$(find "$dir" ! -user vtpm)" ] || { find "$dir" ! -user vtpm -ls; return 1; }
}

e2e_collect_logs() {
	cp /var/log/syslog "$E2E_OUT/dom0-syslog.log" 2>/dev/null
	[ "$E2E_INIT" = systemd ] && journalctl -b --no-pager >"$E2E_OUT/dom0-journal.log" 2>&1
	cp -a /var/log/xen/console/. "$E2E_OUT/" 2>/dev/null
	cp -a /var/log/xen/*.log "$E2E_OUT/" 2>/dev/null
	dmesg >"$E2E_OUT/dom0-dmesg.log" 2>&1
	xl dmesg >"$E2E_OUT/xen-dmesg.log" 2>&1
	sync
}
