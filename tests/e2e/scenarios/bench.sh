# shellcheck shell=bash
# bench: guest-visible TPM command latency through xen-tpmback, one run, five
# arms, the same loop (tests/e2e/tools/tpm-rawbench.c in the guest):
#   swtpm          unmodified frontend, the test responder forwarding to swtpm
#   swtpm-patched  patched frontend (frontend/patches/), same
#   libvtpm        unmodified frontend, vtpmctl serve (libvtpm + libtpms)
#   libvtpm-patched  patched frontend, vtpmctl serve
#   dom0           no guest: tpm-rawbench in dom0 on vtpmctl serve --socket
# and the scale: as many patched guests at once as free memory allows, each
# running GetRandom, started together.
# Per command: p50/p99 in ms (guest-side CLOCK_MONOTONIC) and dom0 CPU per
# command (busy jiffies of every dom0 CPU in /proc/stat across the loop,
# kernel and server; dom0 is otherwise idle). Prints "E2E-INFO bench: ..."
# lines and a table; steps check only that each arm ran: speed is reported,
# never asserted.
A=/e2e/artefacts
O=/e2e/out
UBASE=b0000000-0000-4000-8000-00000000ba5e
UBASEP=b0000000-0000-4000-8000-00000000ba5f
ULIB=b0000000-0000-4000-8000-000000001ab0
ULIBP=b0000000-0000-4000-8000-000000001ab1
UDOM0=b0000000-0000-4000-8000-0000000000d0
R=$O/bench.results
: >$R

busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# bench_watch NAME ARM: acknowledge guest NAME's marks (data/bench ->
# data/e2e-go) and record dom0 CPU between "start CMD N" and "end CMD N".
# xenstore-watch blocks: no polling in dom0 while a loop runs.
bench_watch() {
	local d p v t0=0 c n
	d=$(guest_domid "$1") || return 1
	p=/local/domain/$d/data
	stdbuf -oL xenstore-watch "$p/bench" 2>/dev/null | while read -r _; do
		v=$(xenstore-read "$p/bench" 2>/dev/null) || continue
		[ -n "$v" ] || continue
		case $v in
		start*) t0=$(busy) ;;
		end*)	read -r _ c n <<<"$v"
			echo "cpu $2 $c $(awk -v a="$t0" -v b="$(busy)" -v n="$n" 'BEGIN {printf "%.3f", (b - a) * 10 / n}')" >>$R ;;
		esac
		xenstore-write "$p/e2e-go" "$v"
		[ "$v" = finished ] && break
	done
}
# arm NAME ARM SCRIPT-ARGS...: one guest, its marks watched, its results kept
arm() {
	local name=$1 arm=$2; shift 2
	need "xl-create-$arm" guest_create "$name" guest-bench "$@" || return 1
	bench_watch "$name" "$arm" &
	local w=$!
	guest_wait "$name" 900
	kill "$w" 2>/dev/null
	grep -ao 'E2E-INFO BENCH rawbench .*' "$(guest_log "$name")" | tr -d '\r' |
		sed -n 's/.*cmd=\([^ ]*\) n=\([0-9]*\) .*p50=\([0-9.]*\) .*p99=\([0-9.]*\) .*/lat '"$arm"' \1 \2 \3 \4/p' >>$R
	return 0
}

# The module as a user installs it; vtpm-tools must not be there yet: its
# udev rule would start vtpmctl for the swtpm arms' devices.
need install-module install_module_pkg || return
need no-vtpm-tools not_installed vtpm-tools || return
need modprobe modprobe xen-tpmback || return
for a in swtpm swtpm-patched; do
	if [ $a = swtpm ]; then u=$UBASE fe=stock; else u=$UBASEP fe=patched; fi
	need "swtpm-$a" swtpm_start /tmp/sw-$a || return
	$A/vtpm-responder --uuid $u --wait=120000 --swtpm /tmp/sw-$a/data >$O/bench.responder-$a.out 2>&1 &
	GUEST_CMDLINE="e2e.frontend=$fe" arm "b$a" $a "vtpm=[\"backend=0,uuid=$u\"]"
	swtpm_stop /tmp/sw-$a
done

need install-stack install_vtpm_stack || return
for a in libvtpm libvtpm-patched; do
	if [ $a = libvtpm ]; then u=$ULIB fe=stock; else u=$ULIBP fe=patched; fi
	need "create-$a" vtpmctl create --uuid $u || return
	GUEST_CMDLINE="e2e.frontend=$fe" arm "b$a" $a "vtpm=[\"backend=0,uuid=$u\"]"
done

# dom0: the same commands on vtpmctl serve --socket, no guest, no kernel.
need create-dom0 vtpmctl create --uuid $UDOM0 || return
for spec in getrandom:200 pcrextend:200 pcrread:200 cp-ecc:20 cp-rsa:5; do
	c=${spec%%:*} n=${spec#*:}
	rm -f /tmp/d0.sock
	vtpmctl serve --socket /tmp/d0.sock --uuid $UDOM0 >>$O/bench.dom0-serve.log 2>&1 &
	sp=$!
	wait_for 10 test -S /tmp/d0.sock
	t0=$(busy)
	if out=$($A/tpm-rawbench unix:/tmp/d0.sock "$n" "$c" 2>&1); then
		t1=$(busy)
		pass "dom0-$c"
		echo "$out" | sed -n 's/.*cmd=\([^ ]*\) n=\([0-9]*\) .*p50=\([0-9.]*\) .*p99=\([0-9.]*\) .*/lat dom0 \1 \2 \3 \4/p' >>$R
		echo "cpu dom0 $c $(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {printf "%.3f", (b - a) * 10 / n}')" >>$R
	else
		fail "dom0-$c" "$out"
	fi
	wait "$sp" 2>/dev/null
done

# The scale: patched guests of 192 MiB, as many as free memory allows (at
# most 8), all running GetRandom at once.
free=$(xl info | awk '/^free_memory/ {print $3}')
ng=$(( (free - 128) / 210 )); [ "$ng" -le 8 ] || ng=8
say "scale: $ng guests ($free MiB free)"
if [ "$ng" -ge 2 ]; then
	for i in $(seq 1 "$ng"); do
		u=b0000000-0000-4000-8000-0000000005$(printf %02d "$i")
		vtpmctl create --uuid "$u" >/dev/null 2>&1
		GUEST_MEMORY=192 GUEST_CMDLINE="e2e.frontend=patched e2e.bench=scale" \
			step "xl-create-scale$i" guest_create "bs$i" guest-bench "vtpm=[\"backend=0,uuid=$u\"]"
	done
	ready() { local i d; for i in $(seq 1 "$ng"); do d=$(guest_domid "bs$i") || continue
		xs_is "/local/domain/$d/data/bench" ready || return 1; done; }
	if step scale-all-ready wait_for 600 ready; then
		for i in $(seq 1 "$ng"); do
			d=$(guest_domid "bs$i") && xenstore-write "/local/domain/$d/data/e2e-go" go
		done
	fi
	for i in $(seq 1 "$ng"); do
		guest_wait "bs$i" 600
		grep -ao 'E2E-INFO BENCH scale .*' "$(guest_log "bs$i")" | tr -d '\r' |
			sed -n 's/.*n=\([0-9]*\) .*p50=\([0-9.]*\) .*p99=\([0-9.]*\) .*mean=\([0-9.]*\).*/scale '"$ng"' bs'"$i"' \1 \2 \3 \4/p' >>$R
	done
fi

# The table.
model=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)
case $model in *Nehalem*) accel="TCG (QEMU -cpu Nehalem)" ;; *) accel="KVM? (CPU model: $model)" ;; esac
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -ow -e aes -e pclmulqdq -e avx -e avx2 | tr '\n' ' ')
accel="$accel; of aes, pclmulqdq, avx, avx2 dom0's CPU has: ${flags:-none}"
python3 - "$R" "$accel" <<'PY' | while IFS= read -r l; do echo "E2E-INFO bench: $l"; done
import sys, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
lat = {(r[1], r[2]): r[3:] for r in rows if r[0] == "lat"}
cpu = {(r[1], r[2]): r[3] for r in rows if r[0] == "cpu"}
arms = ["swtpm", "swtpm-patched", "libvtpm", "libvtpm-patched", "dom0"]
cmds = ["getrandom", "pcrextend", "pcrread", "cp-ecc", "cp-rsa"]
print("accelerator: " + sys.argv[2])
print("| command | " + " | ".join(arms) + " |")
print("|---|" + "---|" * len(arms))
for c in cmds:
    cells = []
    for a in arms:
        v = lat.get((a, c))
        cells.append("%s / %s ms, cpu %s ms" % (v[1], v[2], cpu.get((a, c), "?")) if v else "-")
    print("| %s (p50 / p99, dom0 cpu per cmd) | %s |" % (c, " | ".join(cells)))
for c in ["getrandom", "pcrextend", "pcrread"]:
    try:
        u, p, d = (float(lat[(a, c)][1]) for a in ("libvtpm", "libvtpm-patched", "dom0"))
        print("%s: patched p50 %.2f ms = unmodified / %.1f; = dom0 path x %.1f" % (c, p, u / p, p / d if d else float("inf")))
    except (KeyError, ZeroDivisionError):
        print("%s: not all arms measured" % c)
sc = [r for r in rows if r[0] == "scale"]
if sc:
    agg = sum(1000.0 / float(r[6]) for r in sc if float(r[6]) > 0)
    p50s = sorted(float(r[4]) for r in sc)
    print("scale: %s guests at once, GetRandom: aggregate %.0f cmd/s (sum of per-guest rates), per-guest p50 %.2f..%.2f ms, p99 max %.2f ms"
          % (sc[0][1], agg, p50s[0], p50s[-1], max(float(r[5]) for r in sc)))
PY
