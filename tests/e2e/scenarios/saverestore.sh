# shellcheck shell=bash
# saverestore: xl save + xl restore keep the guest's TPM (issue 9). The
# restored guest is a new domain with the same vTPM uuid; its frontend
# re-handshakes from scratch (the chip comes back as /dev/tpm1). The
# source server sees the domain shut down for "suspend" and keeps the
# TPM's volatile state as a suspend record; the restored domain carries
# the session's epoch (libxl config -> save image -> xenstore) and its
# server resumes that record: same PCR 16, the loaded key by its handle,
# the HMAC session goes on. On the way: destroy refused while the guest
# runs (right after its server was killed -9), a second server refused by
# the lease, and the same save image restored a second time refused.
U=5a7e0000-0000-4000-8000-00000000c0de
need install-stack install_vtpm_stack || return
# the servers give up uid 0 for "vtpm" (serve.c): the session file and the
# suspend record are written as that user
need vtpm-user-by-package vtpm_user_add || return
need create vtpmctl create --uuid $U || return
need xl-create guest_create gs guest-saverestore "vtpm=[\"backend=0,uuid=$U\"]" || return
dom1=$(guest_domid gs)
lg=$(guest_log gs)
need guest-phase1 wait_for 400 grep -aq 'E2E-INFO sr-phase1' "$lg" || return
sup=$(server_pid $dom1)

# --- lifecycle commands cannot destroy a live TPM ---------------------------
# the race of the issue: the server killed -9, destroy at once (within the
# supervisor's 100 ms restart gap); the guest still runs
child=$(pgrep -P "$sup" | head -n1)
step server-runs-as-vtpm server_is_vtpm "$child" /var/lib/vtpm/$U
kill -9 "$child"
vtpmctl destroy $U >$E2E_OUT/destroy-refused.out 2>&1; rc=$?
step destroy-refused-after-kill9 test $rc -eq 1
# in the restart gap the supervisor's claim refuses it; once the new server
# runs (under TCG it may win the race) its state lock does, or another of
# destroy's guards (the backend in xenstore, the domain's config): which
# one fires first is a matter of timing here, the userspace test
# destroy_refused_in_supervisor_restart_gap pins the claim down
step destroy-says-why grep -Eq "vTPM $U is (in use: .+|being served)" $E2E_OUT/destroy-refused.out
say "destroy said: $(head -n 2 $E2E_OUT/destroy-refused.out | tr '\n' ' ')"
step state-kept test -f /var/lib/vtpm/$U/permanent.0
step server-restarted wait_for 30 sh -c "c=\$(pgrep -P $sup | head -n1); [ -n \"\$c\" ] && [ \"\$c\" != $child ]"
# with the server up: the backend still names the uuid
vtpmctl destroy $U >$E2E_OUT/destroy-refused2.out 2>&1
step destroy-refused-names-holder grep -Eq "vTPM $U is (being served by pid [0-9]+|in use: )" $E2E_OUT/destroy-refused2.out

# --- the serving lease: a second server for the uuid is refused --------------
host=$(cat /etc/machine-id 2>/dev/null); [ -n "$host" ] || host=$(hostname)
vtpmctl serve --socket /tmp/second.sock --uuid $U >$E2E_OUT/second-server.out 2>&1; rc=$?
step second-server-refused test $rc -eq 1
step second-server-says-holder grep -q "vTPM $U is already being served by pid $sup" $E2E_OUT/second-server.out
# another host mounting the same state directory (its own host id)
VTPM_HOST_ID=other-host vtpmctl serve --socket /tmp/third.sock --uuid $U >$E2E_OUT/other-host.out 2>&1; rc=$?
step other-host-refused test $rc -eq 1
step other-host-says-holder grep -q "lease held by host $host pid $sup since " $E2E_OUT/other-host.out
vtpmctl lease show $U >$E2E_OUT/lease-show.out 2>&1
step lease-show grep -q "lease held by host $host pid $sup" $E2E_OUT/lease-show.out

# --- xl save: the domain suspends, its TPM state is kept ---------------------
step session-epoch-in-libxl-config wait_for 10 grep -q "vtpm-epoch-$U" /var/lib/xen/userdata-d.$dom1.*.libxl-json
t0=$SECONDS
step xl-save xl save gs /tmp/gs.save
say "xl save took $((SECONDS - t0)) s"
step old-backend-gone wait_for 15 sh -c "! xenstore-exists /local/domain/0/backend/vtpm/$dom1"
old_server_gone() { ! test -e "$(server_pidfile $dom1)" || ! kill -0 "$(server_pid $dom1)"; }
step old-server-gone wait_for 15 old_server_gone
step source-saw-suspend grep -q "domain $dom1 suspended (xl save, migration): TPM state kept" /var/log/syslog
step suspend-record-owned-by-vtpm sh -c "ls /var/lib/vtpm/$U | grep -qi suspend && [ -z \"\$(find /var/lib/vtpm/$U ! -user vtpm)\" ]"
step session-suspended grep -q '^state=suspended$' /var/lib/vtpm/$U/session
step suspend-record-on-disk test -f /var/lib/vtpm/$U/suspend
step lease-released test ! -e /var/lib/vtpm/$U/serving.lease

# --- the saved guest's vTPM moved by export/import (migration without
# shared storage, on one host: exported to this host's own transport key,
# destroyed, imported, then restored) ----------------------------------------
step host-key vtpmctl host-key --out /tmp/me.pub
step export vtpmctl export $U --to /tmp/me.pub --out /tmp/u.vtpm
VTPM_TRANSPORT_KEY=/tmp/other.key vtpmctl host-key --out /tmp/other.pub >/dev/null 2>&1
vtpmctl export $U --to /tmp/other.pub --out /tmp/other.vtpm >/dev/null
vtpmctl import /tmp/other.vtpm >$E2E_OUT/import-other.out 2>&1
step import-for-other-host-refused grep -q "is meant for another host" $E2E_OUT/import-other.out
cp /tmp/u.vtpm /tmp/tampered.vtpm
printf '\001' | dd of=/tmp/tampered.vtpm bs=1 seek=200 conv=notrunc 2>/dev/null
vtpmctl import /tmp/tampered.vtpm >$E2E_OUT/import-tampered.out 2>&1
step import-tampered-refused grep -q "does not authenticate: tampered" $E2E_OUT/import-tampered.out
vtpmctl import /tmp/u.vtpm >$E2E_OUT/import-exists.out 2>&1
step import-existing-uuid-refused grep -q "already exists here" $E2E_OUT/import-exists.out
step destroy-after-export vtpmctl destroy $U
step import vtpmctl import /tmp/u.vtpm
step imported-with-suspend-record test -f /var/lib/vtpm/$U/suspend

# --- xl restore: the same TPM ------------------------------------------------
t0=$SECONDS
step xl-restore xl restore /tmp/gs.save
say "xl restore took $((SECONDS - t0)) s"
dom2=$(guest_domid gs)
say "restored as domain $dom2 (was $dom1)"
xenstore-write /local/domain/$dom2/data/e2e-go 1
step new-server-started wait_for 30 server_started $dom2
step restored-domain-carries-epoch xenstore-exists /local/domain/$dom2/vtpm-epoch-$U
step server-resumed wait_for 60 grep -q "domain $dom2 restored from session" /var/log/syslog
step suspend-record-consumed wait_for 60 test ! -e /var/lib/vtpm/$U/suspend
guest_wait gs 600

# --- the same save image again, after the vTPM moved on: refused -------------
mv "$lg" "$lg.first"
step xl-restore-old-image xl restore /tmp/gs.save
dom3=$(guest_domid gs)
xenstore-write /local/domain/$dom3/data/e2e-go 2
step old-image-refused wait_for 60 grep -q "domain $dom3 carries vTPM session .* a save image older than the vTPM's state" /var/log/syslog
guest_wait gs 300
step session-untouched-by-refusal grep -q '^state=ended$' /var/lib/vtpm/$U/session
rm -f /tmp/gs.save /tmp/*.vtpm
