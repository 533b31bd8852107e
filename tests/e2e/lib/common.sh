# shellcheck shell=bash
# Shared settings for the end-to-end testbed (sourced, not run).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)

# Caches live outside the checkout; every entry is keyed by a hash of its
# inputs, so a changed input rebuilds exactly what depends on it.
CACHE=${VTPM_CACHE_DIR:-/var/tmp/xen-tpmback-cache}
KVER=${TESTBED_KVER:-$("$TOP/scripts/testbed-kver.sh")}
[ -n "$KVER" ] || { echo "e2e: cannot resolve the testbed kernel (is linux-headers-amd64 known to apt?)" >&2; exit 1; }
KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
XEN_PKG=xen-hypervisor-4.17-amd64

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[e2e] ERROR: %s\n' "$*" >&2; exit 1; }

# hash_inputs FILE... -> short hash of the files' contents and base names
# (not their paths: two checkouts share one cache)
hash_inputs() {
	local f
	for f in "$@"; do printf '%s\n' "${f##*/}"; cat "$f"; done | sha256sum | cut -c1-16
}

# --- the run's private runtime directory --------------------------------------
# Unix socket paths are limited to 107 bytes (sun_path), and QEMU's option
# parser splits file names at commas (and -initrd at spaces). So nothing with
# such a limit is put under the checkout or the cache, whose paths are the
# user's choice: a short private directory (mktemp, 0700) under /tmp holds
# the sockets and short symlinks to every file QEMU opens. Not $TMPDIR: it
# may be as long as the checkout. e2e_runtime_cleanup removes it.
E2E_RT=
e2e_runtime_dir() {
	E2E_RT=$(mktemp -d /tmp/vtpm-e2e.XXXXXX) || die "cannot create a runtime directory under /tmp"
}
e2e_runtime_cleanup() {
	case $E2E_RT in /tmp/vtpm-e2e.?*) rm -rf "$E2E_RT" || true ;; esac
	E2E_RT=
}
# rt_link NAME TARGET -> prints $E2E_RT/NAME, a symlink to TARGET
rt_link() {
	ln -sfn "$2" "$E2E_RT/$1" && printf '%s\n' "$E2E_RT/$1"
}

# hwtpm_start STATEDIR LOGFILE : dom0's "hardware" TPM, swtpm in socket mode
# with its control socket at $E2E_RT/hwtpm.sock (QEMU's tpm-tis backend).
# The pid goes to HWTPM_PID. Fails, naming swtpm's own complaint, when the
# socket does not appear within 5 s.
HWTPM_PID=
hwtpm_start() {
	local state=$1 logf=$2 sock=$E2E_RT/hwtpm.sock
	[ -n "$E2E_RT" ] || die "hwtpm_start: no runtime directory"
	mkdir -p "$state"
	swtpm socket --tpm2 --tpmstate dir="$state" \
		--ctrl type=unixio,path="$sock" \
		--log file="$logf",level=1 >>"$logf" 2>&1 &
	HWTPM_PID=$!
	local _
	for _ in $(seq 50); do
		[ -S "$sock" ] && return 0
		kill -0 "$HWTPM_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "swtpm (dom0's hardware TPM) did not start: $(tail -n 2 "$logf" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}
hwtpm_stop() { # safe under set -e: callers use it in EXIT traps
	[ -n "$HWTPM_PID" ] || return 0
	kill -TERM "$HWTPM_PID" 2>/dev/null || true
	local _
	for _ in $(seq 20); do kill -0 "$HWTPM_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$HWTPM_PID" 2>/dev/null || true
	wait "$HWTPM_PID" 2>/dev/null || true
	HWTPM_PID=
}
