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
#include <kunit/visibility.h>

#include "protocol.h"

/* ---------------------------------------------------------------------
 * The shared page
 */

/**
 * xen_tpmbk_shr_read() - snapshot the header of the shared page
 * @page: the mapped page
 * @shr:  filled with one read of each header field
 *
 * The state is read first: a length read before it could belong to the
 * previous command (the frontend writes length, then SUBMIT).
 */
void xen_tpmbk_shr_read(const void *page, struct xen_tpmbk_shr *shr)
{
	const struct vtpm_shared_page *p = page;

	shr->state = READ_ONCE(p->state);
	/*
	 * The frontend writes the packet and length, then SUBMIT: read the
	 * state first, and everything else (the packet too) after it.
	 */
	virt_rmb();
	shr->length = READ_ONCE(p->length);
	shr->locality = READ_ONCE(p->locality);
	shr->nr_extra_pages = READ_ONCE(p->nr_extra_pages);
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_shr_read);

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
	case VTPM_STATE_IDLE:
	case VTPM_STATE_FINISH:
		return XEN_TPMBK_EV_NONE;
	case VTPM_STATE_SUBMIT:
		return shr->nr_extra_pages ? XEN_TPMBK_EV_BROKEN : XEN_TPMBK_EV_SUBMIT;
	case VTPM_STATE_CANCEL:
		return shr->nr_extra_pages ? XEN_TPMBK_EV_BROKEN : XEN_TPMBK_EV_CANCEL;
	default:
		return XEN_TPMBK_EV_BROKEN;
	}
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_shr_event);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_shr_copy_command);

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
	struct vtpm_shared_page *p = page;

	len = min_t(u32, len, XEN_TPMBK_MAX_PACKET);
	memcpy((u8 *)page + XEN_TPMBK_SHR_HDR_SIZE, rsp, len);
	WRITE_ONCE(p->length, len);
	/* Packet and length visible before FINISH (frontend: state, then data). */
	virt_wmb();
	WRITE_ONCE(p->state, VTPM_STATE_FINISH);
	/* The event channel notify is a hypercall, a full barrier. */
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_shr_put_response);

/**
 * xen_tpmbk_shr_put_idle() - mark the page IDLE (command cancelled)
 * @page: the mapped page
 */
void xen_tpmbk_shr_put_idle(void *page)
{
	struct vtpm_shared_page *p = page;

	WRITE_ONCE(p->state, VTPM_STATE_IDLE);
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_shr_put_idle);

/* ---------------------------------------------------------------------
 * Commands, responses and made-up error responses
 */

static bool tag_is_tpm12(u16 tag)
{
	return tag == TPM_TAG_RQU_COMMAND ||
	       tag == TPM_TAG_RQU_AUTH1_COMMAND ||
	       tag == TPM_TAG_RQU_AUTH2_COMMAND;
}

static bool tag_is_tpm2(u16 tag)
{
	return tag == TPM2_ST_NO_SESSIONS ||
	       tag == TPM2_ST_SESSIONS;
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

	if (len < TPM_HEADER_SIZE || len > XEN_TPMBK_MAX_PACKET)
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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_check_command);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_family);

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
		return v12 ? XEN_TPMBK_TPM12_FAIL : TPM2_RC_FAILURE;
	}
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_error_code);

/**
 * xen_tpmbk_error_response() - make up a TPM error response
 * @buf:     at least TPM_HEADER_SIZE bytes
 * @cmd:     the command it answers (may be malformed)
 * @cmd_len: bytes available at @cmd
 * @err:     why
 *
 * The response is a bare 10-byte header: tag 0x00C4 (TPM 1.2) or 0x8001
 * (TPM 2.0) chosen from the request's tag, size 10, the return code.
 *
 * Return: its length, TPM_HEADER_SIZE.
 */
u32 xen_tpmbk_error_response(u8 *buf, const u8 *cmd, u32 cmd_len,
			     enum xen_tpmbk_error err)
{
	enum xen_tpmbk_family family = xen_tpmbk_cmd_family(cmd, cmd_len);

	put_unaligned_be16(family == XEN_TPMBK_TPM12 ?
			   TPM_TAG_RSP_COMMAND :
			   TPM2_ST_NO_SESSIONS, buf);
	put_unaligned_be32(TPM_HEADER_SIZE, buf + 2);
	put_unaligned_be32(xen_tpmbk_error_code(family, err), buf + 6);
	return TPM_HEADER_SIZE;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_error_response);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_verdict_error);

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
	if (len < TPM_HEADER_SIZE || len > XEN_TPMBK_MAX_PACKET)
		return -EINVAL;
	if (get_unaligned_be32(rsp + 2) != len)
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_check_response);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_check_rsp_msg);

/* ---------------------------------------------------------------------
 * The command state machine and the watchdog
 *
 * One command at a time per device. NONE -> QUEUED when the guest submits
 * a valid command; QUEUED -> SENT when the server has read it; back to
 * NONE when the server answers, the guest cancels, or the watchdog, a
 * detach or a disconnect ends it. Every ended command is answered, so the
 * guest never waits on a command nobody holds: with the server's response,
 * with IDLE (cancelled), or with a TPM failure made up here.
 */

/* TPM 1.2 ordinals that generate an RSA key (TPM Main Part 3). */
#define TPM12_ORD_TAKE_OWNERSHIP		0x0000000D
#define TPM12_ORD_CREATE_WRAP_KEY		0x0000001F
#define TPM12_ORD_CREATE_ENDORSEMENT_KEY_PAIR	0x00000078
#define TPM12_ORD_MAKE_IDENTITY			0x00000079
#define TPM12_ORD_CREATE_REVOCABLE_EK		0x0000007F

/**
 * xen_tpmbk_cmd_class() - the timeout class of a command
 * @cmd: the command, validated
 * @len: its length
 *
 * Return: XEN_TPMBK_CLASS_KEYGEN for the ordinals that generate keys,
 * which a TPM 2.0-aware frontend waits TPM2_DURATION_LONG_LONG (300 s)
 * for; XEN_TPMBK_CLASS_DEFAULT for everything else.
 */
enum xen_tpmbk_cmd_class xen_tpmbk_cmd_class(const u8 *cmd, u32 len)
{
	u32 ordinal;

	if (len < TPM_HEADER_SIZE)
		return XEN_TPMBK_CLASS_DEFAULT;
	ordinal = get_unaligned_be32(cmd + 6);
	if (xen_tpmbk_cmd_family(cmd, len) == XEN_TPMBK_TPM12) {
		switch (ordinal) {
		case TPM12_ORD_TAKE_OWNERSHIP:
		case TPM12_ORD_CREATE_WRAP_KEY:
		case TPM12_ORD_CREATE_ENDORSEMENT_KEY_PAIR:
		case TPM12_ORD_MAKE_IDENTITY:
		case TPM12_ORD_CREATE_REVOCABLE_EK:
			return XEN_TPMBK_CLASS_KEYGEN;
		}
		return XEN_TPMBK_CLASS_DEFAULT;
	}
	switch (ordinal) {
	case TPM2_CC_CREATE_PRIMARY:
	case TPM2_CC_CREATE:
	case TPM2_CC_CREATE_LOADED:
		return XEN_TPMBK_CLASS_KEYGEN;
	}
	return XEN_TPMBK_CLASS_DEFAULT;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_class);

/**
 * xen_tpmbk_cmd_init() - a device without command and without server
 * @c:	 the state machine
 * @now: jiffies (the device's creation starts the attach grace period)
 */
void xen_tpmbk_cmd_init(struct xen_tpmbk_cmd *c, unsigned long now)
{
	memset(c, 0, sizeof(*c));
	c->unattached_since = now;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_init);

static unsigned long earlier(unsigned long a, unsigned long b)
{
	return time_before(a, b) ? a : b;
}

/**
 * xen_tpmbk_cmd_deadline() - when the watchdog acts on the command in hand
 * @c:	 the state machine
 * @now: jiffies
 * @to:	 the periods
 *
 * Without a server, the command is held until @to->attach_grace after the
 * device lost (or never had) its server: a server udev is still starting
 * gets the first command, while a device whose server is long gone fails
 * commands at once. A server that attached but has not read a message yet
 * is still starting its vTPM: the command waits @to->start for it (from
 * its arrival, or from the attach for one held before). A server that
 * reads has @to->cmd or @to->keygen for it from @now; a server that let
 * its last command time out has only @to->stalled to read the next one;
 * after a cancel, @to->cancel. While the guest is being suspended or shut
 * down, never more than @to->drain.
 *
 * Return: the deadline in jiffies, never before @now.
 */
unsigned long xen_tpmbk_cmd_deadline(const struct xen_tpmbk_cmd *c,
				     unsigned long now,
				     const struct xen_tpmbk_timeouts *to)
{
	unsigned long deadline;

	if (!c->attached) {
		deadline = c->unattached_since + to->attach_grace;
		if (time_before(deadline, now))
			deadline = now;
	} else if (c->state == XEN_TPMBK_CMD_QUEUED && c->starting) {
		deadline = now + to->start;
	} else if (c->cancelled) {
		deadline = now + to->cancel;
	} else if (c->state == XEN_TPMBK_CMD_QUEUED && c->stalled) {
		deadline = now + to->stalled;
	} else {
		deadline = now + (c->cls == XEN_TPMBK_CLASS_KEYGEN ?
				  to->keygen : to->cmd);
	}
	if (c->draining)
		deadline = earlier(deadline, now + to->drain);
	return deadline;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_deadline);

/**
 * xen_tpmbk_cmd_msg_ready() - whether the server has a message to read
 * @c: the state machine
 *
 * Return: true with a CANCEL pending or a command queued.
 */
bool xen_tpmbk_cmd_msg_ready(const struct xen_tpmbk_cmd *c)
{
	return c->attached &&
	       (c->cancel_pending || c->state == XEN_TPMBK_CMD_QUEUED);
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_msg_ready);

/* End the command in hand with a TPM error (or IDLE, when cancelled). */
static struct xen_tpmbk_fx end_with(struct xen_tpmbk_cmd *c,
				    enum xen_tpmbk_error err,
				    enum xen_tpmbk_why why)
{
	struct xen_tpmbk_fx fx = { .err = err, .why = why };

	fx.flags = XEN_TPMBK_FX_DISARM;
	fx.flags |= c->cancelled ? XEN_TPMBK_FX_IDLE : XEN_TPMBK_FX_ERROR;
	c->state = XEN_TPMBK_CMD_NONE;
	c->cancelled = false;
	return fx;
}

/**
 * xen_tpmbk_cmd_event() - what a look at the shared page does
 * @c:	 the state machine
 * @ev:	 what the page holds
 * @now: jiffies
 * @to:	 the periods
 *
 * A SUBMIT seen while a command is in hand is that same command (the page
 * keeps SUBMIT until the backend answers), so it is ignored; on an idle
 * device it asks the caller to copy the command out and validate it
 * (XEN_TPMBK_FX_ACCEPT, then xen_tpmbk_cmd_accept()). A CANCEL with
 * nothing in hand is acknowledged with IDLE; one for a command the server
 * has not read yet drops it; one for a command the server works on is
 * forwarded to it once, and the server has @to->cancel left to answer
 * before the backend completes the cancel with IDLE by itself.
 *
 * Return: the side effects.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_event(struct xen_tpmbk_cmd *c,
					enum xen_tpmbk_event ev,
					unsigned long now,
					const struct xen_tpmbk_timeouts *to)
{
	struct xen_tpmbk_fx fx = { };

	switch (ev) {
	case XEN_TPMBK_EV_SUBMIT:
		if (c->state == XEN_TPMBK_CMD_NONE)
			fx.flags = XEN_TPMBK_FX_ACCEPT;
		break;
	case XEN_TPMBK_EV_CANCEL:
		switch (c->state) {
		case XEN_TPMBK_CMD_NONE:
			fx.flags = XEN_TPMBK_FX_IDLE;
			break;
		case XEN_TPMBK_CMD_QUEUED:
			c->state = XEN_TPMBK_CMD_NONE;
			fx.flags = XEN_TPMBK_FX_IDLE | XEN_TPMBK_FX_DISARM;
			break;
		case XEN_TPMBK_CMD_SENT:
			if (c->cancelled)
				break;
			c->cancelled = true;
			c->cancel_pending = true;
			c->cancel_seq = c->seq;
			c->deadline = earlier(c->deadline,
					      xen_tpmbk_cmd_deadline(c, now, to));
			fx.flags = XEN_TPMBK_FX_WAKE | XEN_TPMBK_FX_ARM;
			break;
		}
		break;
	case XEN_TPMBK_EV_BROKEN:
		fx.flags = XEN_TPMBK_FX_BROKEN;
		break;
	case XEN_TPMBK_EV_NONE:
	default:
		break;
	}
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_event);

/**
 * xen_tpmbk_cmd_accept() - take the command the guest submitted
 * @c:	      the state machine, no command in hand
 * @verdict:  xen_tpmbk_check_command() of the copy
 * @len:      its length
 * @locality: its locality
 * @cls:      xen_tpmbk_cmd_class() of the copy
 * @now:      jiffies
 * @to:	      the periods
 *
 * Return: the side effects: a refused command is answered at once with
 * the error its verdict calls for; an accepted one gets the next seq, is
 * queued for the server and the watchdog armed.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_accept(struct xen_tpmbk_cmd *c,
					 enum xen_tpmbk_verdict verdict,
					 u32 len, u8 locality,
					 enum xen_tpmbk_cmd_class cls,
					 unsigned long now,
					 const struct xen_tpmbk_timeouts *to)
{
	struct xen_tpmbk_fx fx = { };

	if (c->state != XEN_TPMBK_CMD_NONE)
		return fx;
	if (verdict != XEN_TPMBK_CMD_OK) {
		fx.flags = XEN_TPMBK_FX_ERROR;
		fx.err = xen_tpmbk_verdict_error(verdict);
		fx.why = XEN_TPMBK_WHY_REFUSED;
		return fx;
	}
	c->seq++;
	c->state = XEN_TPMBK_CMD_QUEUED;
	c->len = len;
	c->locality = locality;
	c->cls = cls;
	c->cancelled = false;
	c->deadline = xen_tpmbk_cmd_deadline(c, now, to);
	fx.flags = XEN_TPMBK_FX_ARM | XEN_TPMBK_FX_WAKE;
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_accept);

/**
 * xen_tpmbk_cmd_next_msg() - the message a read() would return now
 * @c:	 the state machine
 * @seq: set to the seq the message names
 *
 * A pending CANCEL comes first: it names an older command than a queued
 * one could be.
 *
 * Return: XEN_TPMBACK_MSG_CANCEL, XEN_TPMBACK_MSG_CMD, or 0 for none.
 */
u32 xen_tpmbk_cmd_next_msg(const struct xen_tpmbk_cmd *c, u32 *seq)
{
	if (!c->attached)
		return 0;
	if (c->cancel_pending) {
		*seq = c->cancel_seq;
		return XEN_TPMBACK_MSG_CANCEL;
	}
	if (c->state == XEN_TPMBK_CMD_QUEUED) {
		*seq = c->seq;
		return XEN_TPMBACK_MSG_CMD;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_next_msg);

/**
 * xen_tpmbk_cmd_delivered() - a message reached the server's buffer
 * @c:	  the state machine
 * @type: what xen_tpmbk_cmd_next_msg() returned before the copy
 * @seq:  the seq it named
 * @now:  jiffies
 * @to:	  the periods
 * @fx:	  set to the side effects
 *
 * The copy to userspace runs without the device's lock, so the message
 * may have been overtaken meanwhile (the guest cancelled the command, the
 * watchdog failed it): then it does not count, and the reader retries.
 *
 * Return: true if the message is still current and now consumed.
 */
bool xen_tpmbk_cmd_delivered(struct xen_tpmbk_cmd *c, u32 type, u32 seq,
			     unsigned long now,
			     const struct xen_tpmbk_timeouts *to,
			     struct xen_tpmbk_fx *fx)
{
	*fx = (struct xen_tpmbk_fx){ };
	if (!c->attached)
		return false;
	/* A server that reads has started, even if overtaken this time. */
	c->starting = false;
	c->stalled = false;
	if (type == XEN_TPMBACK_MSG_CANCEL) {
		if (!c->cancel_pending || c->cancel_seq != seq)
			return false;
		c->cancel_pending = false;
		return true;
	}
	if (type != XEN_TPMBACK_MSG_CMD || c->state != XEN_TPMBK_CMD_QUEUED ||
	    c->seq != seq)
		return false;
	c->state = XEN_TPMBK_CMD_SENT;
	/* The server's clock starts now, whatever held the command before. */
	c->deadline = xen_tpmbk_cmd_deadline(c, now, to);
	fx->flags = XEN_TPMBK_FX_ARM;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_delivered);

/**
 * xen_tpmbk_cmd_response() - the server wrote a response
 * @c:	      the state machine
 * @have_seq: the write was long enough to carry a message header
 * @seq:      the seq it names
 * @valid:    it is well-formed (header and TPM packet)
 * @fx:	      set to the side effects
 *
 * Return: 0 when the response goes to the guest (XEN_TPMBK_FX_RESPOND);
 * -EPIPE when it answers no command in hand (late: the watchdog or a
 * cancel ended it), dropped; -EINVAL when it is malformed, and the
 * command in hand then fails with a TPM error.
 */
int xen_tpmbk_cmd_response(struct xen_tpmbk_cmd *c, bool have_seq, u32 seq,
			   bool valid, struct xen_tpmbk_fx *fx)
{
	*fx = (struct xen_tpmbk_fx){ };
	c->stalled = false;
	if (have_seq && (c->state != XEN_TPMBK_CMD_SENT || c->seq != seq))
		return -EPIPE;
	if (!valid) {
		if (c->state == XEN_TPMBK_CMD_SENT)
			*fx = end_with(c, XEN_TPMBK_ERR_FAILURE,
				       XEN_TPMBK_WHY_MALFORMED);
		return -EINVAL;
	}
	/* Whatever the caller says about the seq: nothing in hand, no answer. */
	if (c->state != XEN_TPMBK_CMD_SENT)
		return -EPIPE;
	c->state = XEN_TPMBK_CMD_NONE;
	c->cancelled = false;
	fx->flags = XEN_TPMBK_FX_RESPOND | XEN_TPMBK_FX_DISARM;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_response);

/**
 * xen_tpmbk_cmd_attach() - a server attached
 * @c:	 the state machine, no server attached
 * @now: jiffies
 * @to:	 the periods
 *
 * Every server starts out starting (a restarted one too: it opens its vTPM
 * again), until it reads its first message.
 *
 * Return: the side effects: a command held for a server is now held
 * @to->start from now, or until the server reads it.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_attach(struct xen_tpmbk_cmd *c,
					 unsigned long now,
					 const struct xen_tpmbk_timeouts *to)
{
	struct xen_tpmbk_fx fx = { .flags = XEN_TPMBK_FX_WAKE };

	c->attached = true;
	c->starting = true;
	c->stalled = false;
	c->cancel_pending = false;
	if (c->state != XEN_TPMBK_CMD_NONE) {
		c->deadline = xen_tpmbk_cmd_deadline(c, now, to);
		fx.flags |= XEN_TPMBK_FX_ARM;
	}
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_attach);

/**
 * xen_tpmbk_cmd_detach() - the server closed its fd
 * @c:	 the state machine, a server attached
 * @now: jiffies (starts the attach grace period)
 *
 * Return: the side effects: a command the server had in hand, or had not
 * read yet, is answered at once; the next server gets the next command.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_detach(struct xen_tpmbk_cmd *c,
					 unsigned long now)
{
	struct xen_tpmbk_fx fx = { };

	c->attached = false;
	c->starting = false;
	c->stalled = false;
	c->cancel_pending = false;
	c->unattached_since = now;
	if (c->state != XEN_TPMBK_CMD_NONE)
		fx = end_with(c, XEN_TPMBK_ERR_FAILURE, XEN_TPMBK_WHY_DETACHED);
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_detach);

/**
 * xen_tpmbk_cmd_watchdog() - the watchdog's timer fired
 * @c:	 the state machine
 * @now: jiffies
 * @to:	 the periods
 *
 * Return: the side effects: nothing without a command; the timer again
 * when the deadline moved (an attach); else the command ends, with IDLE
 * if the guest had cancelled it and a TPM failure otherwise. A server
 * still starting after @to->start, and a server that let a command time
 * out, is marked stalled until it reads or writes again: its next command
 * fails after @to->stalled unless read.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_watchdog(struct xen_tpmbk_cmd *c,
					   unsigned long now,
					   const struct xen_tpmbk_timeouts *to)
{
	struct xen_tpmbk_fx fx = { };
	enum xen_tpmbk_why why;

	if (c->state == XEN_TPMBK_CMD_NONE)
		return fx;
	if (time_before(now, c->deadline)) {
		fx.flags = XEN_TPMBK_FX_ARM;
		return fx;
	}
	if (!c->attached)
		why = XEN_TPMBK_WHY_NO_SERVER;
	else if (c->cancelled)
		why = XEN_TPMBK_WHY_CANCELLED;
	else if (c->draining)
		why = XEN_TPMBK_WHY_DRAINING;
	else if (c->state == XEN_TPMBK_CMD_QUEUED && c->starting)
		why = XEN_TPMBK_WHY_STARTING;
	else if (c->state == XEN_TPMBK_CMD_QUEUED && c->stalled)
		why = XEN_TPMBK_WHY_STALLED;
	else
		why = XEN_TPMBK_WHY_TIMEOUT;
	/* Not for a drain or a cancel: the server may be busy, not stuck. */
	if (why == XEN_TPMBK_WHY_TIMEOUT || why == XEN_TPMBK_WHY_STALLED ||
	    why == XEN_TPMBK_WHY_STARTING) {
		c->starting = false;
		c->stalled = true;
	}
	return end_with(c, XEN_TPMBK_ERR_FAILURE, why);
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_watchdog);

/**
 * xen_tpmbk_cmd_drain() - the toolstack asks the guest to suspend or stop
 * @c:	      the state machine
 * @draining: true while the guest's control/shutdown node is set
 * @now:      jiffies
 * @to:	      the periods
 *
 * The guest's freezer gives its tasks 20 s, and a task waiting for the
 * TPM cannot freeze: while draining, no command waits more than
 * @to->drain, so that a stalled server never fails xl save or migrate.
 *
 * Return: the side effects.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_drain(struct xen_tpmbk_cmd *c, bool draining,
					unsigned long now,
					const struct xen_tpmbk_timeouts *to)
{
	struct xen_tpmbk_fx fx = { };

	c->draining = draining;
	if (draining && c->state != XEN_TPMBK_CMD_NONE) {
		c->deadline = earlier(c->deadline, now + to->drain);
		fx.flags = XEN_TPMBK_FX_ARM;
	}
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_drain);

/**
 * xen_tpmbk_cmd_disconnect() - the page is about to be unmapped
 * @c: the state machine
 *
 * Return: the side effects: the command in hand is answered first, so
 * that a guest waiting in its own teardown never hangs on it.
 */
struct xen_tpmbk_fx xen_tpmbk_cmd_disconnect(struct xen_tpmbk_cmd *c)
{
	struct xen_tpmbk_fx fx = { };

	if (c->state != XEN_TPMBK_CMD_NONE)
		fx = end_with(c, XEN_TPMBK_ERR_FAILURE, XEN_TPMBK_WHY_DISCONNECT);
	return fx;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_cmd_disconnect);

/**
 * xen_tpmbk_bucket_init() - a full token bucket
 * @b:	   the bucket
 * @now:   jiffies
 * @burst: its size
 */
void xen_tpmbk_bucket_init(struct xen_tpmbk_bucket *b, unsigned long now,
			   unsigned int burst)
{
	b->tokens = burst;
	b->last = now;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_bucket_init);

/**
 * xen_tpmbk_bucket_take() - take a token from a token bucket
 * @b:	    the bucket, from xen_tpmbk_bucket_init()
 * @now:    jiffies
 * @burst:  its size
 * @period: jiffies per token refilled
 * @wait:   set to the jiffies until the next token when none is left
 *
 * Return: true if a token was taken.
 */
bool xen_tpmbk_bucket_take(struct xen_tpmbk_bucket *b, unsigned long now,
			   unsigned int burst, unsigned long period,
			   unsigned long *wait)
{
	unsigned long n;

	period = max(period, 1UL);
	n = (now - b->last) / period;
	if (n) {
		b->tokens = min_t(unsigned long, burst, b->tokens + n);
		b->last = b->tokens == burst ? now : b->last + n * period;
	}
	if (b->tokens) {
		b->tokens--;
		return true;
	}
	*wait = b->last + period - now;
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_bucket_take);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_next_state);

/**
 * xen_tpmbk_step_work() - what one step of set_backend_state() must do
 * @next:      the state the backend is about to switch to
 * @connected: whether the page is mapped and the event channel bound
 *
 * Keyed on the connection itself, never on the cached xenbus state: a
 * switch to Connected that failed in xenstore leaves the backend
 * connected in another state, and that connection must still be torn
 * down. A connect is always preceded by a disconnect, so that a second
 * connect never leaks the first one's mapping and irq.
 *
 * Return: XEN_TPMBK_STEP_DISCONNECT when connected, then
 * XEN_TPMBK_STEP_CONNECT when @next is Connected.
 */
unsigned int xen_tpmbk_step_work(enum xenbus_state next, bool connected)
{
	unsigned int work = 0;

	if (connected)
		work |= XEN_TPMBK_STEP_DISCONNECT;
	if (next == XenbusStateConnected)
		work |= XEN_TPMBK_STEP_CONNECT;
	return work;
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_step_work);

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
		/*
		 * Closed, as blkback and netback: xenbus_reset_frontend() (a
		 * guest's kexec or kdump) waits for it. The frontend's next
		 * Initialising or Initialised reopens the device.
		 */
		return XenbusStateClosed;
	case XenbusStateUnknown:
		/* The frontend's directory is gone: so is the guest. */
		return XenbusStateClosed;
	default:
		return backend;
	}
}
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_frontend_target);

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
EXPORT_SYMBOL_IF_KUNIT(xen_tpmbk_connection_name);
