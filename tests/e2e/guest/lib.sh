# Helpers for scripts that run inside a testbed guest (sourced).
# Steps print "E2E-STEP <name> PASS|FAIL <why>"; dom0 relays them.
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL ${2:-failed}"; return 1; }
step() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		local rc=$?
		fail "$name" "exit $rc: $* :: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | cut -c1-300)"
	fi
}
info() { echo "E2E-INFO $*"; }
# load_tpmfront: the Debian kernel's own, unmodified xen-tpmfront
load_tpmfront() { insmod /lib/modules/xen-tpmfront.ko; }
# load_tpmfront_patched: the same driver with frontend/patches/ applied
load_tpmfront_patched() { insmod /lib/modules/patched/xen-tpmfront.ko; }
# tpm2 with the device TCTI, as a guest user would run it
export TPM2TOOLS_TCTI=device:/dev/tpm0
# hex_of FILE: lowercase hex, no spaces
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# rc_nonzero RC... : every RC is non-zero
rc_nonzero() { local r; for r; do [ "$r" -ne 0 ] || return 1; done; }
# wait_for SECONDS CMD... : poll CMD (0.2 s period) until it succeeds, then
# run it once more if it never did, for its output (as dom0's wait_for)
wait_for() {
	local t=$(( $1 * 5 )); shift
	while [ $t -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2; t=$((t - 1))
	done
	"$@"
}
# xs_is NODE VALUE: xenstore NODE reads VALUE, else say what it reads
xs_is() {
	local v; v=$(xenstore-read "$1" 2>&1)
	[ "$v" = "$2" ] || { echo "$1 is $v, not $2"; return 1; }
}
# wait_go VALUE SECONDS: until dom0 writes VALUE to our data/e2e-go (a
# scenario's sync point)
wait_go() { wait_for "$2" xs_is data/e2e-go "$1" >/dev/null; }
# wait_state SECONDS NODE VALUE: until xenstore NODE reads VALUE, else say
# what it reads
wait_state() { wait_for "$1" xs_is "$2" "$3"; }
