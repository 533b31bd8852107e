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
