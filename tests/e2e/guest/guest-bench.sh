# The bench loop (scenarios/bench.sh). Times come from /proc/uptime (10 ms
# resolution) over many commands.
cd /tmp
step tpmfront-load load_tpmfront
now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
per_cmd() { # N CMD... -> ms per run of CMD, N runs
	local n=$1 i=0 t0; shift
	t0=$(now_ms)
	while [ $i -lt "$n" ]; do "$@" || return 1; i=$((i + 1)); done
	awk -v a="$t0" -v b="$(now_ms)" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}'
}
# Raw TPM2_GetRandom(16) through /dev/tpm0, one fd, no TSS.
printf '\200\001\000\000\000\014\000\000\001\173\000\020' >cmd
exec 3<>/dev/tpm0
raw() { cat cmd >&3 && dd bs=4096 count=1 <&3 of=/dev/null 2>/dev/null; }
# The cost of the loop itself (same processes, no TPM), to subtract.
exec 4<>/dev/null
nul() { cat cmd >&4 && dd bs=4096 count=1 <&4 of=/dev/null 2>/dev/null; }
raw && raw || fail raw-getrandom "raw command failed"
if ms=$(per_cmd 200 raw) && base=$(per_cmd 200 nul); then
	pass raw-getrandom; info "BENCH raw-getrandom ${ms}ms/cmd (loop overhead ${base}ms)"
fi
exec 3>&- 4>&-
if ms=$(per_cmd 20 tpm2_getrandom 16 -o /dev/null); then
	pass tpm2-getrandom; info "BENCH tpm2_getrandom ${ms}ms/cmd"
fi
ft() { tpm2_flushcontext -t >/dev/null 2>&1; "$@"; }
if ms=$(per_cmd 5 ft tpm2_createprimary -C o -G ecc256 -c p.ctx); then
	pass createprimary-ecc; info "BENCH createprimary-ecc256 ${ms}ms/cmd"
fi
if ms=$(per_cmd 3 ft tpm2_createprimary -C o -G rsa2048 -c p.ctx); then
	pass createprimary-rsa; info "BENCH createprimary-rsa2048 ${ms}ms/cmd"
fi
