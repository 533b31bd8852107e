# SPDX-License-Identifier: GPL-2.0
# Helpers for the vtpmctl shell tests (swtpm's tests/common in spirit):
# a temp dir cleaned on EXIT, real processes, expected/received on failure.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VTPMCTL=${VTPMCTL:-$TOP/tools/vtpmctl/vtpmctl}
CLIENT="python3 $TOP/tests/userspace/vtpm_client.py"
HOTPLUG=$TOP/udev/vtpm-hotplug

WORKDIR=$(mktemp -d /tmp/vtpmctl-test.XXXXXX)
export VTPM_STATE_DIR=$WORKDIR/state
export VTPM_KEY_FILE=$WORKDIR/state.key
export VTPM_RUN_DIR=$WORKDIR/vrun
export VTPM_CA_DIR=$WORKDIR/ca
PIDS=()

# kill what the current test started (each test runs in a subshell
# with this as its EXIT trap too)
kill_test_processes() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "$WORKDIR"/run/*.pid "$WORKDIR"/*.pid; do
		[ -f "$p" ] || continue
		# a supervisor and its server
		kill -9 $(pgrep -P "$(cat "$p")") "$(cat "$p")" 2>/dev/null
		rm -f "$p"
	done
	PIDS=()
}

# the rollback anchors the tests' vTPMs left in root's user keyring
drop_anchor_keys() {
	local k d
	command -v keyctl >/dev/null || return 0
	for k in $(keyctl rlist @u 2>/dev/null); do
		# "type;uid;gid;perm;description"
		d=$(keyctl rdescribe "$k" 2>/dev/null)
		case "${d#*;*;*;*;}" in
		"libvtpm:"*":$WORKDIR/"*) keyctl invalidate "$k" 2>/dev/null ;;
		esac
	done
}

cleanup() {
	kill_test_processes
	drop_anchor_keys
	[ -n "$KEEP_TMP" ] || rm -rf "$WORKDIR"
}
trap cleanup EXIT

# fail "what" expected received
fail() {
	echo "  $1"
	[ $# -ge 2 ] && echo "  expected: $2"
	[ $# -ge 3 ] && echo "  received: $3"
	return 1
}

# expect_eq what expected received
expect_eq() {
	[ "$2" == "$3" ] || fail "$1" "$2" "$3"
}

# run_rc expected_rc cmd...: runs cmd, stdout in $OUT, stderr in $ERR
run_rc() {
	local want=$1 rc
	shift
	"$@" >"$WORKDIR/out" 2>"$WORKDIR/err"
	rc=$?
	OUT=$(cat "$WORKDIR/out")
	ERR=$(cat "$WORKDIR/err")
	if [ "$rc" != "$want" ]; then
		fail "exit status of: $*" "$want" "$rc (stderr: $ERR)"
		return 1
	fi
}

# one line on stderr, matching a pattern
expect_err_line() {
	local n
	n=$(printf '%s\n' "$ERR" | grep -c .)
	[ "$n" == 1 ] || { fail "stderr lines" 1 "$n: $ERR"; return 1; }
	printf '%s\n' "$ERR" | grep -q -- "$1" || fail "stderr" "/$1/" "$ERR"
}

is_json() {
	printf '%s\n' "$1" | python3 -m json.tool >/dev/null 2>&1 ||
		fail "valid JSON" "json" "$1"
}

wait_for_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "file $1 never appeared"
}

# wait_for_line FILE PATTERN: a background client got that far
wait_for_line() {
	local i
	for i in $(seq 1 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line /$2/ in $1" "$2" "$(cat "$1" 2>/dev/null)"
}

# serve_socket UUID SOCK [extra serve options]: background serve, pid in SERVE_PID
serve_socket() {
	local uuid=$1 sock=$2
	shift 2
	rm -f "$sock"
	"$VTPMCTL" serve --socket "$sock" --uuid "$uuid" --wait 20 "$@" \
		2>>"$WORKDIR/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_for_file "$sock"
}

# wait_exit PID: exit status of a background job, within 10 s
wait_exit() {
	local i
	for i in $(seq 1 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	wait "$1"
}

# client SOCK OP...: the output line(s) of the test client
client() {
	$CLIENT "$@"
}

# bg_client OUTFILE SOCK OP...: a client in the background, pid in BG_PID
bg_client() {
	local out=$1
	shift
	$CLIENT "$@" >"$out" 2>>"$WORKDIR/client.err" &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

pcr_after_extend() {
	# sha256(zeros || digest) of one extend into a reset PCR
	python3 -c "import hashlib,sys; print(hashlib.sha256(bytes(32)+bytes.fromhex(sys.argv[1])).hexdigest())" "$1"
}

setup_key() {
	[ -f "$VTPM_KEY_FILE" ] || "$VTPMCTL" keygen >/dev/null
}

# small_fs DIR: a 512 KiB tmpfs at DIR holding the state and run
# directories (exported), unmounted when the test ends: a disk that fills
small_fs() {
	mkdir -p "$1"
	mount -t tmpfs -o size=512k,mode=0700 tmpfs "$1" ||
		fail "cannot mount a tmpfs (this test needs root)" || return 1
	# shellcheck disable=SC2064
	trap "kill_test_processes; umount '$1'" EXIT
	export VTPM_STATE_DIR=$1/state VTPM_RUN_DIR=$1/run
}
