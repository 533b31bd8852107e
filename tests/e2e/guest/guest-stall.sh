# stall: dom0 stops this guest's server and then saves the guest while a
# key generation is pending. dom0 says when, through data/e2e-go.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
step tpmfront-load load_tpmfront
step getrandom tpm2_getrandom 8 --hex
info "stall-ready"
# 1. The server is stopped (SIGSTOP): a command fails after the command
#    timeout, the next ones fast, instead of 60 s each.
if step go-stopped wait_go 1 120; then
	t0=$(uptime_s)
	tpm2_getrandom 8 --hex >/tmp/r1 2>&1; rc1=$?
	t1=$(uptime_s)
	tpm2_getrandom 8 --hex >/tmp/r2 2>&1; rc2=$?
	t2=$(uptime_s)
	d1=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
	d2=$(awk "BEGIN { printf \"%.1f\", $t2 - $t1 }")
	info "stopped server: getrandom rc $rc1 in $d1 s, then rc $rc2 in $d2 s"
	step stopped-server-fails rc_nonzero "$rc1" "$rc2"
	step stopped-server-first-within-20s awk "BEGIN { exit !($d1 < 20) }"
	step stopped-server-second-within-10s awk "BEGIN { exit !($d2 < 10) }"
	info "stall-measured"
fi
# 2. The server runs again but never answers TPM2_CreatePrimary: dom0
#    saves the guest while it is pending.
if step go-keygen wait_go 2 120; then
	tpm2_createprimary -C o -c /tmp/p.ctx >/tmp/cp.log 2>&1 &
	info "keygen-started"
fi
sleep 3600
