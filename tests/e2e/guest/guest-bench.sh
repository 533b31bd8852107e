# The bench loop (scenarios/bench.sh).
cd /tmp
step tpmfront-load load_tpmfront
# Per-command latency of small commands, measured in one process with
# CLOCK_MONOTONIC (tests/e2e/tools/tpm-rawbench.c).
for cc in 0x17b 0x17a; do
	if out=$(tpm-rawbench /dev/tpm0 300 $cc 2>&1); then
		pass rawbench-$cc; info "BENCH rawbench-$cc $out"
	else
		fail rawbench-$cc "$out"
	fi
done
now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
per_cmd() { # N CMD... -> mean ms per run of CMD (whole tool, process included)
	local n=$1 i=0 t0; shift
	t0=$(now_ms)
	while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1 || return 1; i=$((i + 1)); done
	awk -v a="$t0" -v b="$(now_ms)" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / n}'
}
ft() { tpm2_flushcontext -t >/dev/null 2>&1; "$@"; }
if ms=$(per_cmd 10 tpm2_getrandom 16 -o /dev/null); then
	pass tpm2-getrandom; info "BENCH tpm2_getrandom-process mean=${ms}"
fi
if ms=$(per_cmd 5 ft tpm2_createprimary -C o -G ecc256 -c p.ctx); then
	pass createprimary-ecc; info "BENCH createprimary-ecc256 mean=${ms}"
fi
if ms=$(per_cmd 3 ft tpm2_createprimary -C o -G rsa2048 -c p.ctx); then
	pass createprimary-rsa; info "BENCH createprimary-rsa2048 mean=${ms}"
fi
