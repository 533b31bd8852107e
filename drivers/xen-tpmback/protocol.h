/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xen-tpmback: the pure half of the backend.
 *
 * Everything here is a function of its arguments: parsing and validation
 * of the tpmif v2 shared page and of the messages userspace writes, the
 * TPM error responses the backend makes up by itself, and the decisions
 * of the two state machines (the xenbus backend state and the per-device
 * command state). There is no grant, event channel or xenstore code here,
 * so the KUnit suites build this file without Xen (in UML, too).
 */
#ifndef _XEN_TPMBACK_PROTOCOL_H
#define _XEN_TPMBACK_PROTOCOL_H

#include <linux/bits.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/tpm.h>
#include <linux/tpm_command.h>
#include <xen/interface/io/tpmif.h>
#include <xen/interface/io/xenbus.h>
#include <xen/tpmback.h>

/*
 * The tpmif v2 shared page (struct vtpm_shared_page): one granted page of
 * 4096 bytes (XEN_PAGE_SIZE, whatever the dom0 PAGE_SIZE). Its 8-byte
 * header is followed by nr_extra_pages grant references and then by the
 * TPM packet. Xen's tpmif.h comment says the packet starts at 16: every
 * implementation uses 8 + 4 * nr_extra_pages.
 */
#define XEN_TPMBK_SHR_PAGE_SIZE		4096U
#define XEN_TPMBK_SHR_HDR_SIZE		((u32)sizeof(struct vtpm_shared_page))
#define XEN_TPMBK_MAX_PACKET		(XEN_TPMBK_SHR_PAGE_SIZE - XEN_TPMBK_SHR_HDR_SIZE)

/* Offsets of the header fields. */
#define XEN_TPMBK_SHR_LENGTH		offsetof(struct vtpm_shared_page, length)
#define XEN_TPMBK_SHR_STATE		offsetof(struct vtpm_shared_page, state)
#define XEN_TPMBK_SHR_LOCALITY		offsetof(struct vtpm_shared_page, locality)
#define XEN_TPMBK_SHR_NR_EXTRA		offsetof(struct vtpm_shared_page, nr_extra_pages)

/*
 * TPM return codes the backend uses that <linux/tpm.h> lacks: TPM 1.2
 * (TPM Main Part 2, 16) and TPM 2.0 (Part 2, 6.6).
 */
#define XEN_TPMBK_TPM12_FAIL			0x0009
#define XEN_TPMBK_TPM12_BAD_PARAM_SIZE		0x0019
#define XEN_TPMBK_TPM12_BADTAG			0x001E
#define XEN_TPMBK_TPM12_BAD_LOCALITY		0x003D
#define XEN_TPMBK_TPM2_RC_LOCALITY		0x0107
#define XEN_TPMBK_TPM2_RC_BAD_TAG		0x001E
#define XEN_TPMBK_TPM2_RC_COMMAND_SIZE		0x0142

/* Highest locality passed through to userspace; 4 is refused. */
#define XEN_TPMBK_MAX_LOCALITY		3

/**
 * struct xen_tpmbk_shr - one snapshot of the shared page header
 * @length:	 packet length the frontend claims
 * @state:	 VTPM_STATE_*, or anything the guest wrote
 * @locality:	 locality of the request
 * @nr_extra_pages: number of extra grant pages the frontend claims
 *
 * The guest may rewrite its page at any time: each field is read once
 * into this snapshot, and only the snapshot is used afterwards.
 */
struct xen_tpmbk_shr {
	u32 length;
	u8 state;
	u8 locality;
	u8 nr_extra_pages;
};

/**
 * enum xen_tpmbk_event - what a look at the shared page asks of the backend
 * @XEN_TPMBK_EV_NONE:	 IDLE or FINISH: nothing (a spurious event)
 * @XEN_TPMBK_EV_SUBMIT: a command is waiting
 * @XEN_TPMBK_EV_CANCEL: the frontend cancels the current command
 * @XEN_TPMBK_EV_BROKEN: the page is unusable (unknown state, extra pages):
 *			 the backend cannot even answer, it stops listening
 */
enum xen_tpmbk_event {
	XEN_TPMBK_EV_NONE,
	XEN_TPMBK_EV_SUBMIT,
	XEN_TPMBK_EV_CANCEL,
	XEN_TPMBK_EV_BROKEN,
};

/**
 * enum xen_tpmbk_verdict - result of validating a command from the guest
 * @XEN_TPMBK_CMD_OK:		 forward it
 * @XEN_TPMBK_CMD_BAD_SIZE:	 length out of 10..4088 or the TPM header's
 *				 size field differs from the length
 * @XEN_TPMBK_CMD_BAD_TAG:	 neither a TPM 1.2 nor a TPM 2.0 request tag
 * @XEN_TPMBK_CMD_BAD_LOCALITY: locality above XEN_TPMBK_MAX_LOCALITY
 */
enum xen_tpmbk_verdict {
	XEN_TPMBK_CMD_OK,
	XEN_TPMBK_CMD_BAD_SIZE,
	XEN_TPMBK_CMD_BAD_TAG,
	XEN_TPMBK_CMD_BAD_LOCALITY,
};

/**
 * enum xen_tpmbk_error - why the backend answers a command by itself
 * @XEN_TPMBK_ERR_FAILURE:  no server, server died or timed out, bad response
 * @XEN_TPMBK_ERR_SIZE:	    XEN_TPMBK_CMD_BAD_SIZE
 * @XEN_TPMBK_ERR_TAG:	    XEN_TPMBK_CMD_BAD_TAG
 * @XEN_TPMBK_ERR_LOCALITY: XEN_TPMBK_CMD_BAD_LOCALITY
 */
enum xen_tpmbk_error {
	XEN_TPMBK_ERR_FAILURE,
	XEN_TPMBK_ERR_SIZE,
	XEN_TPMBK_ERR_TAG,
	XEN_TPMBK_ERR_LOCALITY,
};

/**
 * enum xen_tpmbk_family - TPM family of a request, from its tag
 * @XEN_TPMBK_TPM12: tag 0x00C1, 0x00C2 or 0x00C3
 * @XEN_TPMBK_TPM20: tag 0x8001 or 0x8002, and anything unknown
 */
enum xen_tpmbk_family {
	XEN_TPMBK_TPM12,
	XEN_TPMBK_TPM20,
};

/**
 * enum xen_tpmbk_cmd_state - where the device's one command is
 * @XEN_TPMBK_CMD_NONE:	  no command: the guest's page is ours to wait on
 * @XEN_TPMBK_CMD_QUEUED: accepted, not yet read by userspace
 * @XEN_TPMBK_CMD_SENT:	  read by userspace, response awaited
 */
enum xen_tpmbk_cmd_state {
	XEN_TPMBK_CMD_NONE,
	XEN_TPMBK_CMD_QUEUED,
	XEN_TPMBK_CMD_SENT,
};

/**
 * enum xen_tpmbk_cmd_class - how long a command may take, by its ordinal
 * @XEN_TPMBK_CLASS_DEFAULT: everything but key generation
 * @XEN_TPMBK_CLASS_KEYGEN:  commands that generate keys (RSA primes):
 *			     TPM2_CreatePrimary, TPM2_Create and
 *			     TPM2_CreateLoaded; TPM 1.2 TakeOwnership,
 *			     CreateWrapKey, MakeIdentity,
 *			     CreateEndorsementKeyPair and CreateRevocableEK
 */
enum xen_tpmbk_cmd_class {
	XEN_TPMBK_CLASS_DEFAULT,
	XEN_TPMBK_CLASS_KEYGEN,
};

/**
 * struct xen_tpmbk_timeouts - the watchdog's periods, in jiffies
 * @attach_grace: how long a command is held for a server to attach,
 *		  counted from the moment the device lost its server
 * @start:	  how long a command is held for an attached server that
 *		  has not read anything yet (it is still starting its
 *		  vTPM), counted from the command's arrival or the attach
 * @cmd:	  time the server has for a XEN_TPMBK_CLASS_DEFAULT command
 * @keygen:	  time the server has for a XEN_TPMBK_CLASS_KEYGEN command
 * @stalled:	  time a server that let its last command time out has to
 *		  read the next one
 * @cancel:	  time the server has to answer once the guest cancelled
 * @drain:	  longest a command may stay unanswered once the toolstack
 *		  asked the guest to suspend or to shut down
 */
struct xen_tpmbk_timeouts {
	unsigned long attach_grace;
	unsigned long start;
	unsigned long cmd;
	unsigned long keygen;
	unsigned long stalled;
	unsigned long cancel;
	unsigned long drain;
};

/**
 * struct xen_tpmbk_cmd - the per-device command state machine
 * @state:	      where the current command is
 * @seq:	      sequence number of the current (or last) command
 * @len:	      its length
 * @locality:	      its locality
 * @cls:	      its timeout class
 * @cancelled:	      the guest cancelled it while the server had it
 * @cancel_pending:   a CANCEL message waits to be read by the server
 * @cancel_seq:	      the seq that CANCEL message names
 * @attached:	      a server is attached
 * @starting:	      the attached server has not read a message yet: it
 *		      is still starting its vTPM
 * @stalled:	      the server let a command time out and has neither
 *		      read nor written anything since
 * @draining:	      the guest is being suspended, migrated or shut down
 * @unattached_since: jiffies since when no server has been attached
 * @deadline:	      jiffies at which the watchdog acts (valid while a
 *		      command is in hand)
 *
 * Only the functions xen_tpmbk_cmd_*() change it; each returns the side
 * effects for the caller to perform (struct xen_tpmbk_fx), so that the
 * rules are unit-tested without Xen. The command bytes live with the
 * caller.
 */
struct xen_tpmbk_cmd {
	enum xen_tpmbk_cmd_state state;
	u32 seq;
	u32 len;
	u8 locality;
	enum xen_tpmbk_cmd_class cls;
	bool cancelled;
	bool cancel_pending;
	u32 cancel_seq;
	bool attached;
	bool starting;
	bool stalled;
	bool draining;
	unsigned long unattached_since;
	unsigned long deadline;
};

/* Side effects of a command state transition (struct xen_tpmbk_fx.flags) */
#define XEN_TPMBK_FX_ACCEPT	BIT(0) /* copy the command out, validate */
#define XEN_TPMBK_FX_ERROR	BIT(1) /* answer with fx.err, notify */
#define XEN_TPMBK_FX_RESPOND	BIT(2) /* put the response, notify */
#define XEN_TPMBK_FX_IDLE	BIT(3) /* write IDLE, notify */
#define XEN_TPMBK_FX_WAKE	BIT(4) /* wake the server's readers */
#define XEN_TPMBK_FX_ARM	BIT(5) /* (re)arm the watchdog at deadline */
#define XEN_TPMBK_FX_DISARM	BIT(6) /* stop the watchdog */
#define XEN_TPMBK_FX_BROKEN	BIT(7) /* stop listening to the page */

/**
 * enum xen_tpmbk_why - what ended a command, for the log
 * @XEN_TPMBK_WHY_NONE:	      nothing ended
 * @XEN_TPMBK_WHY_NO_SERVER:  no server attached within the grace period
 * @XEN_TPMBK_WHY_STARTING:   the server, attached but still starting,
 *			      did not read the command in time
 * @XEN_TPMBK_WHY_TIMEOUT:    the server did not answer in time
 * @XEN_TPMBK_WHY_STALLED:    the server, silent since its last timeout,
 *			      did not read the command
 * @XEN_TPMBK_WHY_CANCELLED:  the server did not answer a cancelled command
 * @XEN_TPMBK_WHY_DRAINING:   the guest is being suspended or shut down
 * @XEN_TPMBK_WHY_DETACHED:   the server closed its fd
 * @XEN_TPMBK_WHY_MALFORMED:  the server wrote a malformed response
 * @XEN_TPMBK_WHY_REFUSED:    the guest's command failed validation
 * @XEN_TPMBK_WHY_DISCONNECT: the frontend went away
 */
enum xen_tpmbk_why {
	XEN_TPMBK_WHY_NONE,
	XEN_TPMBK_WHY_NO_SERVER,
	XEN_TPMBK_WHY_STARTING,
	XEN_TPMBK_WHY_TIMEOUT,
	XEN_TPMBK_WHY_STALLED,
	XEN_TPMBK_WHY_CANCELLED,
	XEN_TPMBK_WHY_DRAINING,
	XEN_TPMBK_WHY_DETACHED,
	XEN_TPMBK_WHY_MALFORMED,
	XEN_TPMBK_WHY_REFUSED,
	XEN_TPMBK_WHY_DISCONNECT,
};

/**
 * struct xen_tpmbk_fx - side effects for the caller to perform
 * @flags: XEN_TPMBK_FX_*
 * @err:   the TPM error to answer with (XEN_TPMBK_FX_ERROR)
 * @why:   what ended the command, for the log
 */
struct xen_tpmbk_fx {
	unsigned int flags;
	enum xen_tpmbk_error err;
	enum xen_tpmbk_why why;
};

/* Work of one step of set_backend_state(), see xen_tpmbk_step_work() */
#define XEN_TPMBK_STEP_DISCONNECT	BIT(0)
#define XEN_TPMBK_STEP_CONNECT		BIT(1)

/**
 * struct xen_tpmbk_bucket - a token bucket
 * @tokens: tokens left
 * @last:   jiffies of the last refill
 */
struct xen_tpmbk_bucket {
	unsigned int tokens;
	unsigned long last;
};

void xen_tpmbk_shr_read(const void *page, struct xen_tpmbk_shr *shr);
enum xen_tpmbk_event xen_tpmbk_shr_event(const struct xen_tpmbk_shr *shr);
u32 xen_tpmbk_shr_copy_command(const void *page, const struct xen_tpmbk_shr *shr,
			       u8 *buf);
void xen_tpmbk_shr_put_response(void *page, const u8 *rsp, u32 len);
void xen_tpmbk_shr_put_idle(void *page);

enum xen_tpmbk_verdict xen_tpmbk_check_command(const u8 *cmd, u32 len,
					       u8 locality);
enum xen_tpmbk_family xen_tpmbk_cmd_family(const u8 *cmd, u32 len);
u32 xen_tpmbk_error_code(enum xen_tpmbk_family family,
			 enum xen_tpmbk_error err);
u32 xen_tpmbk_error_response(u8 *buf, const u8 *cmd, u32 cmd_len,
			     enum xen_tpmbk_error err);
enum xen_tpmbk_error xen_tpmbk_verdict_error(enum xen_tpmbk_verdict verdict);

int xen_tpmbk_check_response(const u8 *rsp, u32 len);
int xen_tpmbk_check_rsp_msg(const struct xen_tpmback_msg *msg, size_t count);

enum xen_tpmbk_cmd_class xen_tpmbk_cmd_class(const u8 *cmd, u32 len);
void xen_tpmbk_cmd_init(struct xen_tpmbk_cmd *c, unsigned long now);
unsigned long xen_tpmbk_cmd_deadline(const struct xen_tpmbk_cmd *c,
				     unsigned long now,
				     const struct xen_tpmbk_timeouts *to);
bool xen_tpmbk_cmd_msg_ready(const struct xen_tpmbk_cmd *c);
struct xen_tpmbk_fx xen_tpmbk_cmd_event(struct xen_tpmbk_cmd *c,
					enum xen_tpmbk_event ev,
					unsigned long now,
					const struct xen_tpmbk_timeouts *to);
struct xen_tpmbk_fx xen_tpmbk_cmd_accept(struct xen_tpmbk_cmd *c,
					 enum xen_tpmbk_verdict verdict,
					 u32 len, u8 locality,
					 enum xen_tpmbk_cmd_class cls,
					 unsigned long now,
					 const struct xen_tpmbk_timeouts *to);
u32 xen_tpmbk_cmd_next_msg(const struct xen_tpmbk_cmd *c, u32 *seq);
bool xen_tpmbk_cmd_delivered(struct xen_tpmbk_cmd *c, u32 type, u32 seq,
			     unsigned long now,
			     const struct xen_tpmbk_timeouts *to,
			     struct xen_tpmbk_fx *fx);
int xen_tpmbk_cmd_response(struct xen_tpmbk_cmd *c, bool have_seq, u32 seq,
			   bool valid, struct xen_tpmbk_fx *fx);
struct xen_tpmbk_fx xen_tpmbk_cmd_attach(struct xen_tpmbk_cmd *c,
					 unsigned long now,
					 const struct xen_tpmbk_timeouts *to);
struct xen_tpmbk_fx xen_tpmbk_cmd_detach(struct xen_tpmbk_cmd *c,
					 unsigned long now);
struct xen_tpmbk_fx xen_tpmbk_cmd_watchdog(struct xen_tpmbk_cmd *c,
					   unsigned long now,
					   const struct xen_tpmbk_timeouts *to);
struct xen_tpmbk_fx xen_tpmbk_cmd_drain(struct xen_tpmbk_cmd *c, bool draining,
					unsigned long now,
					const struct xen_tpmbk_timeouts *to);
struct xen_tpmbk_fx xen_tpmbk_cmd_disconnect(struct xen_tpmbk_cmd *c);

unsigned int xen_tpmbk_step_work(enum xenbus_state next, bool connected);
void xen_tpmbk_bucket_init(struct xen_tpmbk_bucket *b, unsigned long now,
			   unsigned int burst);
bool xen_tpmbk_bucket_take(struct xen_tpmbk_bucket *b, unsigned long now,
			   unsigned int burst, unsigned long period,
			   unsigned long *wait);

enum xenbus_state xen_tpmbk_next_state(enum xenbus_state cur,
				       enum xenbus_state target);
enum xenbus_state xen_tpmbk_frontend_target(enum xenbus_state frontend,
					    enum xenbus_state backend,
					    bool online);
const char *xen_tpmbk_connection_name(enum xenbus_state state);

#endif /* _XEN_TPMBACK_PROTOCOL_H */
