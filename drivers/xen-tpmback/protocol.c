// SPDX-License-Identifier: GPL-2.0
/*
 * xen-tpmback: shared page parsing, validation, made-up TPM responses and
 * the state machine decisions, as pure functions (see protocol.h).
 */

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/typecheck.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <asm/barrier.h>
#include <asm/unaligned.h>

#include "protocol.h"

/* ---------------------------------------------------------------------
 * The shared page
 */

/**
 * xen_tpmbk_shr_read() - snapshot the header of the shared page
 * @page: the mapped page
 * @shr:  filled with one read of each header field
 */
void xen_tpmbk_shr_read(const void *page, struct xen_tpmbk_shr *shr)
{
	const u8 *p = page;

	shr->length = READ_ONCE(*(const u32 *)(p + XEN_TPMBK_SHR_LENGTH));
	shr->state = READ_ONCE(p[XEN_TPMBK_SHR_STATE]);
	shr->locality = READ_ONCE(p[XEN_TPMBK_SHR_LOCALITY]);
	shr->nr_extra_pages = READ_ONCE(p[XEN_TPMBK_SHR_NR_EXTRA]);
	/* Read the header before any packet byte (pairs with the guest's wmb). */
	rmb();
}

/**
 * xen_tpmbk_shr_event() - classify a snapshot of the page header
 * @shr: the snapshot
 *
 * Extra pages are implemented by no frontend and refused here: the backend
 * would not even know where to put its answer, so such a page is broken.
 *
 * Return: the event the page holds for the backend.
 */
enum xen_tpmbk_event xen_tpmbk_shr_event(const struct xen_tpmbk_shr *shr)
{
	switch (shr->state) {
	case XEN_TPMBK_SHR_IDLE:
	case XEN_TPMBK_SHR_FINISH:
		return XEN_TPMBK_EV_NONE;
	case XEN_TPMBK_SHR_SUBMIT:
		return shr->nr_extra_pages ? XEN_TPMBK_EV_BROKEN : XEN_TPMBK_EV_SUBMIT;
	case XEN_TPMBK_SHR_CANCEL:
		return shr->nr_extra_pages ? XEN_TPMBK_EV_BROKEN : XEN_TPMBK_EV_CANCEL;
	default:
		return XEN_TPMBK_EV_BROKEN;
	}
}

/**
 * xen_tpmbk_shr_copy_command() - copy the command out of the shared page
 * @page: the mapped page
 * @shr:  snapshot taken before; its length is used, not the page's
 * @buf:  XEN_TPMBK_MAX_PACKET bytes
 *
 * Copies min(length, XEN_TPMBK_MAX_PACKET) bytes, so that even an
 * oversized command yields its tag for the error response. The copy, not
 * the page, is validated afterwards.
 *
 * Return: the number of bytes copied.
 */
u32 xen_tpmbk_shr_copy_command(const void *page, const struct xen_tpmbk_shr *shr,
			       u8 *buf)
{
	u32 n = min_t(u32, shr->length, XEN_TPMBK_MAX_PACKET);

	memcpy(buf, (const u8 *)page + XEN_TPMBK_SHR_HDR_SIZE, n);
	return n;
}

/**
 * xen_tpmbk_shr_put_response() - publish a response in the shared page
 * @page: the mapped page
 * @rsp:  the response, already validated (len <= XEN_TPMBK_MAX_PACKET)
 * @len:  its length
 *
 * Packet, then length, then (after a barrier) state FINISH: the frontend
 * reads the packet only once it sees FINISH. The caller notifies.
 */
void xen_tpmbk_shr_put_response(void *page, const u8 *rsp, u32 len)
{
	u8 *p = page;

	len = min_t(u32, len, XEN_TPMBK_MAX_PACKET);
	memcpy(p + XEN_TPMBK_SHR_HDR_SIZE, rsp, len);
	WRITE_ONCE(*(u32 *)(p + XEN_TPMBK_SHR_LENGTH), len);
	/* Packet and length visible before FINISH (frontend: state, then data). */
	wmb();
	WRITE_ONCE(p[XEN_TPMBK_SHR_STATE], XEN_TPMBK_SHR_FINISH);
	/* FINISH visible before the caller's event channel notify. */
	wmb();
}

/**
 * xen_tpmbk_shr_put_idle() - mark the page IDLE (command cancelled)
 * @page: the mapped page
 */
void xen_tpmbk_shr_put_idle(void *page)
{
	u8 *p = page;

	WRITE_ONCE(p[XEN_TPMBK_SHR_STATE], XEN_TPMBK_SHR_IDLE);
	/* IDLE visible before the caller's event channel notify. */
	wmb();
}

/* ---------------------------------------------------------------------
 * Commands, responses and made-up error responses
 */

static bool tag_is_tpm12(u16 tag)
{
	return tag == XEN_TPMBK_TPM12_TAG_RQU_COMMAND ||
	       tag == XEN_TPMBK_TPM12_TAG_RQU_AUTH1_COMMAND ||
	       tag == XEN_TPMBK_TPM12_TAG_RQU_AUTH2_COMMAND;
}

static bool tag_is_tpm2(u16 tag)
{
	return tag == XEN_TPMBK_TPM2_ST_NO_SESSIONS ||
	       tag == XEN_TPMBK_TPM2_ST_SESSIONS;
}

/**
 * xen_tpmbk_check_command() - validate a command copied out of the page
 * @cmd:      the copy
 * @len:      the length the guest claimed (may exceed the copy)
 * @locality: the locality the guest asked for
 *
 * Return: XEN_TPMBK_CMD_OK, or why the backend answers it by itself.
 */
enum xen_tpmbk_verdict xen_tpmbk_check_command(const u8 *cmd, u32 len,
					       u8 locality)
{
	u16 tag;

	if (len < XEN_TPMBK_TPM_HDR_SIZE || len > XEN_TPMBK_MAX_PACKET)
		return XEN_TPMBK_CMD_BAD_SIZE;
	if (get_unaligned_be32(cmd + 2) != len)
		return XEN_TPMBK_CMD_BAD_SIZE;
	tag = get_unaligned_be16(cmd);
	if (!tag_is_tpm12(tag) && !tag_is_tpm2(tag))
		return XEN_TPMBK_CMD_BAD_TAG;
	if (locality > XEN_TPMBK_MAX_LOCALITY)
		return XEN_TPMBK_CMD_BAD_LOCALITY;
	return XEN_TPMBK_CMD_OK;
}

/**
 * xen_tpmbk_cmd_family() - TPM family of a command, from its tag
 * @cmd: the command (may be malformed)
 * @len: bytes available at @cmd
 *
 * Return: XEN_TPMBK_TPM12 for the TPM 1.2 request tags, else
 * XEN_TPMBK_TPM20 (a TPM 2.0 answers unknown tags in its own format).
 */
enum xen_tpmbk_family xen_tpmbk_cmd_family(const u8 *cmd, u32 len)
{
	if (len >= 2 && tag_is_tpm12(get_unaligned_be16(cmd)))
		return XEN_TPMBK_TPM12;
	return XEN_TPMBK_TPM20;
}

/**
 * xen_tpmbk_error_code() - the TPM return code for a backend error
 * @family: TPM family of the request
 * @err:    why the backend answers
 *
 * Return: TPM_FAIL, TPM_BAD_PARAM_SIZE, TPM_BADTAG, TPM_BAD_LOCALITY for
 * TPM 1.2; TPM_RC_FAILURE, TPM_RC_COMMAND_SIZE, TPM_RC_BAD_TAG,
 * TPM_RC_LOCALITY for TPM 2.0.
 */
u32 xen_tpmbk_error_code(enum xen_tpmbk_family family, enum xen_tpmbk_error err)
{
	bool v12 = family == XEN_TPMBK_TPM12;

	switch (err) {
	case XEN_TPMBK_ERR_SIZE:
		return v12 ? XEN_TPMBK_TPM12_BAD_PARAM_SIZE : XEN_TPMBK_TPM2_RC_COMMAND_SIZE;
	case XEN_TPMBK_ERR_TAG:
		return v12 ? XEN_TPMBK_TPM12_BADTAG : XEN_TPMBK_TPM2_RC_BAD_TAG;
	case XEN_TPMBK_ERR_LOCALITY:
		return v12 ? XEN_TPMBK_TPM12_BAD_LOCALITY : XEN_TPMBK_TPM2_RC_LOCALITY;
	case XEN_TPMBK_ERR_FAILURE:
	default:
		return v12 ? XEN_TPMBK_TPM12_FAIL : XEN_TPMBK_TPM2_RC_FAILURE;
	}
}

/**
 * xen_tpmbk_error_response() - make up a TPM error response
 * @buf:     at least XEN_TPMBK_TPM_HDR_SIZE bytes
 * @cmd:     the command it answers (may be malformed)
 * @cmd_len: bytes available at @cmd
 * @err:     why
 *
 * The response is a bare 10-byte header: tag 0x00C4 (TPM 1.2) or 0x8001
 * (TPM 2.0) chosen from the request's tag, size 10, the return code.
 *
 * Return: its length, XEN_TPMBK_TPM_HDR_SIZE.
 */
u32 xen_tpmbk_error_response(u8 *buf, const u8 *cmd, u32 cmd_len,
			     enum xen_tpmbk_error err)
{
	enum xen_tpmbk_family family = xen_tpmbk_cmd_family(cmd, cmd_len);

	put_unaligned_be16(family == XEN_TPMBK_TPM12 ?
			   XEN_TPMBK_TPM12_TAG_RSP_COMMAND :
			   XEN_TPMBK_TPM2_ST_NO_SESSIONS, buf);
	put_unaligned_be32(XEN_TPMBK_TPM_HDR_SIZE, buf + 2);
	put_unaligned_be32(xen_tpmbk_error_code(family, err), buf + 6);
	return XEN_TPMBK_TPM_HDR_SIZE;
}

/**
 * xen_tpmbk_verdict_error() - the error to answer a refused command with
 * @verdict: result of xen_tpmbk_check_command(), not XEN_TPMBK_CMD_OK
 *
 * Return: the matching XEN_TPMBK_ERR_*.
 */
enum xen_tpmbk_error xen_tpmbk_verdict_error(enum xen_tpmbk_verdict verdict)
{
	switch (verdict) {
	case XEN_TPMBK_CMD_BAD_SIZE:
		return XEN_TPMBK_ERR_SIZE;
	case XEN_TPMBK_CMD_BAD_TAG:
		return XEN_TPMBK_ERR_TAG;
	case XEN_TPMBK_CMD_BAD_LOCALITY:
		return XEN_TPMBK_ERR_LOCALITY;
	default:
		return XEN_TPMBK_ERR_FAILURE;
	}
}

/**
 * xen_tpmbk_check_response() - validate a response from userspace
 * @rsp: the response
 * @len: its length
 *
 * Return: 0 if 10 <= @len <= XEN_TPMBK_MAX_PACKET and the TPM header's
 * size field equals @len, else -EINVAL.
 */
int xen_tpmbk_check_response(const u8 *rsp, u32 len)
{
	if (len < XEN_TPMBK_TPM_HDR_SIZE || len > XEN_TPMBK_MAX_PACKET)
		return -EINVAL;
	if (get_unaligned_be32(rsp + 2) != len)
		return -EINVAL;
	return 0;
}

/**
 * xen_tpmbk_check_rsp_msg() - validate the header of a write() to the fd
 * @msg:   the header (the first bytes written)
 * @count: the whole write's size
 *
 * Return: 0 if @msg is an XEN_TPMBACK_MSG_RSP with reserved fields zero
 * whose len accounts for exactly the rest of the write, else -EINVAL.
 */
int xen_tpmbk_check_rsp_msg(const struct xen_tpmback_msg *msg, size_t count)
{
	if (count < sizeof(*msg))
		return -EINVAL;
	if (msg->type != XEN_TPMBACK_MSG_RSP || msg->flags || msg->reserved)
		return -EINVAL;
	if (msg->len > XEN_TPMBK_MAX_PACKET || msg->len != count - sizeof(*msg))
		return -EINVAL;
	return 0;
}

/* ---------------------------------------------------------------------
 * The command state machine and the watchdog
 */

/**
 * xen_tpmbk_event_action() - decide what an event means for the device
 * @ev:		      what the page holds
 * @cmd:	      where the device's command is
 * @cancel_forwarded: a CANCEL for the current command went to userspace
 *
 * A SUBMIT seen while a command is in hand is that same command (the page
 * keeps SUBMIT until the backend answers), so it is ignored. A CANCEL
 * with nothing in hand is acknowledged with IDLE; one for a command that
 * userspace has not read yet drops it; one for a command userspace is
 * working on is forwarded once, and the backend still waits for the
 * response (the guest accepts FINISH after CANCEL).
 *
 * Return: the action.
 */
enum xen_tpmbk_action xen_tpmbk_event_action(enum xen_tpmbk_event ev,
					     enum xen_tpmbk_cmd_state cmd,
					     bool cancel_forwarded)
{
	switch (ev) {
	case XEN_TPMBK_EV_SUBMIT:
		return cmd == XEN_TPMBK_CMD_NONE ? XEN_TPMBK_ACT_ACCEPT :
						   XEN_TPMBK_ACT_IGNORE;
	case XEN_TPMBK_EV_CANCEL:
		switch (cmd) {
		case XEN_TPMBK_CMD_NONE:
			return XEN_TPMBK_ACT_IDLE;
		case XEN_TPMBK_CMD_QUEUED:
			return XEN_TPMBK_ACT_DROP;
		default:
			return cancel_forwarded ? XEN_TPMBK_ACT_IGNORE :
						  XEN_TPMBK_ACT_FORWARD_CANCEL;
		}
	case XEN_TPMBK_EV_BROKEN:
		return XEN_TPMBK_ACT_BROKEN;
	case XEN_TPMBK_EV_NONE:
	default:
		return XEN_TPMBK_ACT_IGNORE;
	}
}

/**
 * xen_tpmbk_cmd_deadline() - when the watchdog fails a command
 * @attached:	      a server is attached
 * @now:	      jiffies when the command arrived (or the server attached)
 * @unattached_since: jiffies since when no server has been attached
 * @attach_grace:     attach_timeout_ms, in jiffies
 * @cmd_timeout:      cmd_timeout_ms, in jiffies
 *
 * With a server, it has @cmd_timeout to answer. Without one, the command
 * is held until @attach_grace after the device lost (or never had) its
 * server, so a server that udev is still starting gets the first command,
 * while a device whose server is long gone fails commands at once.
 *
 * Return: the deadline in jiffies, never before @now.
 */
unsigned long xen_tpmbk_cmd_deadline(bool attached, unsigned long now,
				     unsigned long unattached_since,
				     unsigned long attach_grace,
				     unsigned long cmd_timeout)
{
	unsigned long deadline;

	if (attached)
		return now + cmd_timeout;
	deadline = unattached_since + attach_grace;
	return time_before(deadline, now) ? now : deadline;
}

/* ---------------------------------------------------------------------
 * The xenbus backend state machine
 *
 * The backend's own transitions (every one goes through set_backend_state()
 * in xenbus.c, which walks the shortest path of this graph):
 *
 *   Initialising --> InitWait ------> Connected
 *        |            ^  ^  |  <------   |
 *        |            |  |  |            |
 *        |            |  |  v            |
 *        |            |  +- Closing <----+
 *        |            |       |
 *        |            |       v
 *        +------------+---- Closed
 *
 * InitWait -> Connected maps the page and binds the event channel;
 * every edge out of Connected unmaps and unbinds. Connected -> InitWait
 * and Closing -> InitWait keep the device for the frontend's next
 * handshake (guest module reload, resume); Closed -> InitWait reopens a
 * device that is online again.
 */

#define ST(s)	(1U << (XenbusState##s))

static const unsigned int xen_tpmbk_edges[] = {
	[XenbusStateInitialising] = ST(InitWait) | ST(Closed),
	[XenbusStateInitWait]	  = ST(Connected) | ST(Closing),
	[XenbusStateConnected]	  = ST(InitWait) | ST(Closing),
	[XenbusStateClosing]	  = ST(InitWait) | ST(Closed),
	[XenbusStateClosed]	  = ST(InitWait),
};

#undef ST

static bool backend_state_valid(enum xenbus_state s)
{
	return (unsigned int)s < ARRAY_SIZE(xen_tpmbk_edges) &&
	       xen_tpmbk_edges[s];
}

/**
 * xen_tpmbk_next_state() - next step from @cur towards @target
 * @cur:    the backend's state
 * @target: where it should end up
 *
 * Return: the first state on the shortest path of the graph above, or
 * @cur when already there or when @target is not a backend state.
 */
enum xenbus_state xen_tpmbk_next_state(enum xenbus_state cur,
				       enum xenbus_state target)
{
	enum xenbus_state first_hop[ARRAY_SIZE(xen_tpmbk_edges)];
	enum xenbus_state queue[ARRAY_SIZE(xen_tpmbk_edges)];
	unsigned int seen = 0, head = 0, tail = 0;

	if (cur == target || !backend_state_valid(cur) ||
	    !backend_state_valid(target))
		return cur;

	/* Breadth-first search, remembering the first hop of each path. */
	seen |= 1U << cur;
	queue[tail++] = cur;
	while (head < tail) {
		enum xenbus_state s = queue[head++];
		unsigned int n;

		for (n = 0; n < ARRAY_SIZE(xen_tpmbk_edges); n++) {
			if (!(xen_tpmbk_edges[s] & (1U << n)) || (seen & (1U << n)))
				continue;
			seen |= 1U << n;
			first_hop[n] = s == cur ? (enum xenbus_state)n : first_hop[s];
			if (n == target)
				return first_hop[n];
			queue[tail++] = n;
		}
	}
	return cur;
}

/**
 * xen_tpmbk_frontend_target() - backend state the frontend's state asks for
 * @frontend: the frontend's state as read from xenstore (guest-controlled)
 * @backend:  the backend's current state
 * @online:   the toolstack's "online" node; 0 means the device is going away
 *
 * Return: the state set_backend_state() should reach; @backend for
 * frontend states that ask for nothing (InitWait, Reconfiguring, junk).
 */
enum xenbus_state xen_tpmbk_frontend_target(enum xenbus_state frontend,
					    enum xenbus_state backend,
					    bool online)
{
	if (!online)
		return XenbusStateClosed;

	switch (frontend) {
	case XenbusStateInitialising:
		/* A new handshake (module reload, reset): be ready for it. */
		return XenbusStateInitWait;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		return XenbusStateConnected;
	case XenbusStateClosing:
		/* Closed already: do not reopen only to close again. */
		return backend == XenbusStateClosed ? XenbusStateClosed :
						      XenbusStateClosing;
	case XenbusStateClosed:
		/* tpmif.h: unmap, then InitWait for the next handshake. */
		return XenbusStateInitWait;
	case XenbusStateUnknown:
		/* The frontend's directory is gone: so is the guest. */
		return XenbusStateClosed;
	default:
		return backend;
	}
}

/**
 * xen_tpmbk_connection_name() - the sysfs "connection" string of a state
 * @state: a backend state
 *
 * Return: a lower-case name such as "initwait" or "connected".
 */
const char *xen_tpmbk_connection_name(enum xenbus_state state)
{
	switch (state) {
	case XenbusStateUnknown:	return "unknown";
	case XenbusStateInitialising:	return "initialising";
	case XenbusStateInitWait:	return "initwait";
	case XenbusStateInitialised:	return "initialised";
	case XenbusStateConnected:	return "connected";
	case XenbusStateClosing:	return "closing";
	case XenbusStateClosed:		return "closed";
	case XenbusStateReconfiguring:	return "reconfiguring";
	case XenbusStateReconfigured:	return "reconfigured";
	default:			return "invalid";
	}
}
