# Guest side of scenarios/tpm12full.sh: everything guest-tpm12.sh does, then
# the trousers 0.3.15 bug behind the old crash, shown on purpose: with a /
# that tcsd's tss user cannot search, getnameinfo() of the client fails,
# tcsd keeps the literal "<Invalid client address>" as the client's name
# and free()s it when the client leaves.
. /guest/guest-tpm12.sh
kill "$(pidof tcsd)" 2>/dev/null; sleep 1
segfaults() { dmesg | grep -c 'tcsd.*segfault'; }
s0=$(segfaults)
chmod 0700 /
(tcsd -f >/tmp/tcsd-bug.log 2>&1 </dev/null; echo "tcsd exited: $?" >>/tmp/tcsd-bug.log) >/dev/null 2>&1 </dev/null &
sleep 3
timeout 30 tpm_version >/dev/null 2>&1
sleep 2
chmod 0755 /
# tcsd's own warning ("Could not retrieve client address info") goes to a
# buffered stdout and is lost in the crash: the segfault is what shows.
info "tcsd with / at 0700: $(($(segfaults) - s0)) segfault: $(dmesg | grep -o 'tcsd.*segfault.*in [^ ]*' | tail -n1)"
step trousers-bug-shown sh -c "[ \$(dmesg | grep -c 'tcsd.*segfault') -gt $s0 ]"
