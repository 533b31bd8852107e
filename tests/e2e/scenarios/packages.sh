# shellcheck shell=bash
# packages: the Debian packages as an admin uses them. The module's package
# and vtpm-tools are installed with apt from this run's .debs (unless an
# earlier scenario did). The module's package is xen-tpmback-modules-<kernel>
# (built on the host by DKMS from xen-tpmback-dkms), or with
# E2E_MODULE_VIA=dkms (scenario "dkms") xen-tpmback-dkms itself, DKMS
# building the module against dom0's kernel headers.
# Checks what they put where, serves a guest with nothing started by hand,
# removes them while a guest is being served (its server is stopped, state
# and conffile stay), then purges them: nothing of theirs is left (every
# path dpkg listed is gone or a directory another package owns; DKMS's
# module and tree, the rule, the unit, /etc/default/vtpm, /run/vtpm), the
# module unloads and cannot be loaded again, and the vTPM state and key
# are kept, as purge says.
O=/e2e/out
U=9a9a9a9a-0000-4000-8000-00000000de85
KV=$(uname -r)
MODPKG=$(module_pkg)
PKGS="$MODPKG vtpm-tools"

need install install_vtpm_stack || return
say "apt-get install took $MODPKG $(cat /run/e2e-install.$MODPKG 2>/dev/null || echo '?') s, vtpm-tools $(cat /run/e2e-install.vtpm-tools 2>/dev/null || echo '?') s"
if [ "$E2E_MODULE_VIA" = dkms ]; then
	step dkms-installed sh -c "dkms status xen-tpmback | tee /dev/stderr | grep -q '$KV.*: installed'"
fi
module_from_package() {
	local m; m=$(modinfo -n xen-tpmback 2>&1)
	[ "$m" = "$(module_path)" ] || { echo "modprobe would load '$m', not $(module_path)"; return 1; }
	# DKMS's module is made at install time: dpkg does not own it
	[ "$E2E_MODULE_VIA" = dkms ] || dpkg -S "$m" | grep -q "^$MODPKG:"
}
step module-from-package module_from_package
files_present() {
	local p f rc=0
	for p in $PKGS; do
		dpkg -L "$p" | while read -r f; do
			[ -e "$f" ] || { echo "$p: $f missing"; exit 1; }
		done || rc=1
	done
	return $rc
}
step files-present files_present
step rule-and-unit test -f /lib/udev/rules.d/80-xen-tpmback.rules -a -f /lib/systemd/system/vtpm-serve@.service
# the state root: root's, searchable (not listable) by the servers' user
step state-dirs-modes sh -c '[ "$(stat -c %U:%G:%a /var/lib/vtpm)" = root:vtpm:710 ] && [ "$(stat -c %U:%G:%a /run/vtpm)" = root:vtpm:710 ] && [ "$(stat -c %a /etc/vtpm)" = 700 ]'
step vtpm-user sh -c 'getent passwd vtpm | grep -q ":/nonexistent:/usr/sbin/nologin$"'

# --- a guest served by what the packages installed; it stays up ---------------
need create vtpmctl create --uuid $U || return
need xl-create guest_create pk guest-idle "vtpm=[\"backend=0,uuid=$U\"]" || return
domid=$(guest_domid pk)
step server-started-by-udev wait_for 30 server_started $domid
served_by_package() { [ "$(readlink "/proc/$(server_pid $domid)/exe")" = /usr/sbin/vtpmctl ]; }
step served-by-packaged-vtpmctl served_by_package
# guest-idle: the frontend loads and TPM2_GetRandom is answered
step guest-served wait_for 180 grep -q 'guest-idle ready' "$(guest_log pk)"

# --- remove while the guest is being served ------------------------------------
sup=$(server_pid $domid)
# What the packages own, and what DKMS made, before they go.
for p in $PKGS; do dpkg -L "$p"; done | grep -vx '/\.' >/tmp/pkg-paths
{ find /lib/modules -name 'xen-tpmback.ko*'; echo /var/lib/dkms/xen-tpmback; } >/tmp/pkg-extra
t0=$SECONDS
step remove env DEBIAN_FRONTEND=noninteractive apt-get remove -y $PKGS
say "apt-get remove took $((SECONDS - t0)) s"
step remove-stopped-server sh -c "[ -n '$sup' ] && ! kill -0 $sup 2>/dev/null && ! pgrep -x vtpmctl"
step remove-programs-gone sh -c '! test -e /usr/sbin/vtpmctl && ! test -e /lib/udev/rules.d/80-xen-tpmback.rules'
step remove-module-gone sh -c "! ls $(module_path)* 2>/dev/null"
step remove-keeps-conffile test -f /etc/default/vtpm
step remove-keeps-state test -d /var/lib/vtpm/$U
step xl-destroy xl destroy pk
guest_relay pk --killed
step module-unloads wait_for 10 rmmod xen_tpmback

# --- purge: nothing of the packages is left -----------------------------------
t0=$SECONDS
step purge sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y $PKGS >/tmp/purge.out 2>&1; rc=\$?; cat /tmp/purge.out; exit \$rc"
say "apt-get purge took $((SECONDS - t0)) s"
step purged sh -c "for p in $PKGS; do ! dpkg -s \$p >/dev/null 2>&1 || { echo \"\$p still known to dpkg\"; exit 1; }; done"
leftovers() { # every path the packages had is gone, or another package owns it
	local f bad=0
	while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		dpkg -S "$f" >/dev/null 2>&1 && [ -d "$f" ] && continue
		echo "left behind: $f"; bad=1
	done </tmp/pkg-paths
	while read -r f; do
		[ -e "$f" ] && { echo "left behind (module or DKMS tree): $f"; bad=1; }
	done </tmp/pkg-extra
	for f in /etc/default/vtpm /run/vtpm /usr/lib/vtpm /usr/src/xen-tpmback-*; do
		[ -e "$f" ] && { echo "left behind: $f"; bad=1; }
	done
	return $bad
}
step no-leftovers leftovers
step module-not-loadable sh -c "! modprobe xen-tpmback 2>/dev/null && ! lsmod | grep -q ^xen_tpmback"
step purge-keeps-state sh -c "test -d /var/lib/vtpm/$U && test -f /etc/vtpm/state.key"
step purge-says-so grep -Eq 'purge keeps the vTPM state in /var/lib/vtpm \([1-9][0-9]* vTPMs\)' /tmp/purge.out
say "purge: $(grep '^vtpm-tools:' /tmp/purge.out | tr '\n' ' ')"
# What an admin does to really delete them (vtpmctl is gone with the package).
rm -rf /var/lib/vtpm /etc/vtpm
step no-oops sh -c "! dmesg | grep -Eq 'BUG:|Oops|WARNING:|general protection'"
