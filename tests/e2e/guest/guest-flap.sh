# flap: a guest that re-handshakes as fast as it can, by writing its
# frontend state (Initialised, Closed, ...) without a frontend driver: each
# Initialised asks dom0 for a connect (it fails: there is no ring-ref).
# dom0 checks that its connects, and the errors they log, are rate limited.
n=40
i=0
t0=$(cut -d' ' -f1 /proc/uptime)
while [ $i -lt $n ]; do
	xenstore-write device/vtpm/0/state 3
	xenstore-write device/vtpm/0/state 6
	i=$((i + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
info "flap: $n re-handshakes in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
info "flap-done"
sleep 3600
