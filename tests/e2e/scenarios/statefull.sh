# shellcheck shell=bash
# statefull: issue 7's reproduction through the unmodified frontend. The
# disk under a running guest's vTPM fills (a 512 KiB tmpfs as its state
# directory): an NV_DefineSpace that cannot be saved gets a TPM failure
# and leaves nothing behind, commands whose state fits in place are still
# saved and answered, the server killed -9 on the full disk resumes the
# same TPM, the same guest is served normally once space returns, and no
# GetRandom output ever reaches the guest twice.
U=5ea7f011-0000-4000-8000-000000000007
S=/var/lib/vtpm/$U

need install-stack install_vtpm_stack || return
mkdir -p $S
need small-state-fs mount -t tmpfs -o size=512k,mode=0700 tmpfs $S || return
need create vtpmctl create --uuid $U || return
need xl-create guest_create gf guest-statefull "vtpm=[\"backend=0,uuid=$U\"]" || return
dom=$(guest_domid gf)
lg=$(guest_log gf)
says() { grep -aq "$1" "$lg"; }
go() { xenstore-write /local/domain/$dom/data/e2e-go "$1"; }
need server-started wait_for 30 server_started $dom || return
sup=$(server_pid $dom)
if step guest-ready wait_for 300 says 'E2E-INFO full-ready'; then
	dd if=/dev/zero of=$S/filler bs=4k 2>/dev/null
	step disk-full sh -c "[ \$(df -k --output=avail $S | tail -n1) -eq 0 ]"
	go 1
	if step guest-saw-failure wait_for 180 says 'E2E-INFO full-failed'; then
		child=$(pgrep -P "$sup" | head -n1)
		step server-killed-on-full-disk kill -9 "$child"
		step server-restarted wait_for 30 sh -c "c=\$(pgrep -P $sup | head -n1); [ -n \"\$c\" ] && [ \"\$c\" != $child ]"
		go 2
		if step guest-resumed wait_for 180 says 'E2E-INFO full-resumed'; then
			rm -f $S/filler
			go 3
		fi
	fi
fi
guest_wait gf 600
rands=$(grep -ao 'E2E-INFO rand [0-9a-f]*' "$lg" | cut -d' ' -f3)
step randoms-recorded sh -c "[ $(printf '%s\n' "$rands" | grep -c .) -ge 6 ]"
step no-random-output-repeated sh -c "! printf '%s\n' '$(printf '%s ' $rands)' | tr ' ' '\n' | grep . | sort | uniq -d | grep -q ."
step failure-logged-with-uuid grep -q "vTPM $U: state not saved (No space left on device)" /var/log/syslog
step server-exits wait_for 30 sh -c "! kill -0 $sup 2>/dev/null"
umount $S
