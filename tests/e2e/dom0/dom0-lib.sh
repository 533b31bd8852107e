# shellcheck shell=bash
# Helpers for scenarios that run in the testbed's dom0 (sourced by dom0-init).
#
# A scenario is /e2e/scenarios/<name>.sh; it calls
#   step NAME COMMAND...   run COMMAND; E2E-STEP <scenario>:NAME PASS|FAIL <why>
#   check NAME COND_CMD... the same, for a condition
#   fail NAME WHY / pass NAME
# A failed step is reported and the scenario goes on unless it calls
# `need` (which aborts the scenario on failure, naming the step).

E2E_OUT=/e2e/out
SCENARIO=

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

# guest_create NAME SCRIPT [xl-config-lines...] : start a PV guest that runs
# /guest/SCRIPT.sh from its initramfs, then powers off. Extra args are
# appended to the config (e.g. 'vtpm=["backend=0,uuid=..."]'); $GUEST_EXTRA
# is added to the guest's command line.
guest_create() {
	local name=$1 script=$2; shift 2
	local cfg=/tmp/$name.cfg
	{
		echo "name = \"$name\""
		echo "type = \"pv\""
		echo "kernel = \"/boot/vmlinuz-$(uname -r)\""
		echo "ramdisk = \"/e2e/guest.cpio.gz\""
		echo "extra = \"console=hvc0 quiet loglevel=4 e2e.script=$script${GUEST_EXTRA:+ $GUEST_EXTRA}\""
		echo "memory = 384"
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

e2e_collect_logs() {
	cp /var/log/syslog "$E2E_OUT/dom0-syslog.log" 2>/dev/null
	cp -a /var/log/xen/console/. "$E2E_OUT/" 2>/dev/null
	cp -a /var/log/xen/*.log "$E2E_OUT/" 2>/dev/null
	dmesg >"$E2E_OUT/dom0-dmesg.log" 2>&1
	xl dmesg >"$E2E_OUT/xen-dmesg.log" 2>&1
	sync
}
