// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the per-device command state machine (xen_tpmbk_cmd_*()): what
 * the guest's events, the server's reads and writes, attach, detach, the
 * watchdog, a suspending guest and a disconnect do to the one command in
 * hand, and which side effects they ask for. Also the timeout classes and
 * the token bucket that limits reconnects.
 */

#include <kunit/test.h>
#include <linux/jiffies.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "protocol.h"

/* Small numbers, so that the expected deadlines read easily. */
static const struct xen_tpmbk_timeouts to = {
	.attach_grace	= 200,
	.start		= 3000,
	.cmd		= 1000,
	.keygen		= 5000,
	.stalled	= 10,
	.cancel		= 20,
	.drain		= 50,
};

#define FX(x)	XEN_TPMBK_FX_##x

/*
 * A server attached at @now that has started serving: it has read before
 * (its vTPM runs). Only the "starting" cases below see a server that has
 * not.
 */
static void attached_at(struct xen_tpmbk_cmd *c, unsigned long now)
{
	xen_tpmbk_cmd_init(c, now);
	xen_tpmbk_cmd_attach(c, now, &to);
	c->starting = false;
}

/* A valid command accepted at @now; returns the side effects. */
static struct xen_tpmbk_fx submit(struct xen_tpmbk_cmd *c, unsigned long now,
				  enum xen_tpmbk_cmd_class cls)
{
	struct xen_tpmbk_fx fx = xen_tpmbk_cmd_event(c, XEN_TPMBK_EV_SUBMIT,
						     now, &to);

	if (!(fx.flags & FX(ACCEPT)))
		return fx;
	return xen_tpmbk_cmd_accept(c, XEN_TPMBK_CMD_OK, 22, 0, cls, now, &to);
}

/* The server reads the queued command at @now. */
static bool server_reads(struct xen_tpmbk_cmd *c, unsigned long now)
{
	struct xen_tpmbk_fx fx;
	u32 seq = 0;
	u32 type = xen_tpmbk_cmd_next_msg(c, &seq);

	return type == XEN_TPMBACK_MSG_CMD &&
	       xen_tpmbk_cmd_delivered(c, type, seq, now, &to, &fx);
}

static void cmd_accept_queues_and_arms(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	fx = xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_SUBMIT, 100, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ACCEPT));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);

	fx = xen_tpmbk_cmd_accept(&c, XEN_TPMBK_CMD_OK, 22, 2,
				  XEN_TPMBK_CLASS_DEFAULT, 100, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ARM) | FX(WAKE));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);
	KUNIT_EXPECT_EQ(test, c.seq, 1U);
	KUNIT_EXPECT_EQ(test, c.len, 22U);
	KUNIT_EXPECT_EQ(test, c.locality, 2);
	KUNIT_EXPECT_EQ(test, c.deadline, 1100UL);
	KUNIT_EXPECT_TRUE(test, xen_tpmbk_cmd_msg_ready(&c));
}

static void cmd_accept_refused_answers_at_once(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	fx = xen_tpmbk_cmd_accept(&c, XEN_TPMBK_CMD_BAD_LOCALITY, 22, 4,
				  XEN_TPMBK_CLASS_DEFAULT, 100, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR));
	KUNIT_EXPECT_EQ(test, fx.err, XEN_TPMBK_ERR_LOCALITY);
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_REFUSED);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	KUNIT_EXPECT_EQ(test, c.seq, 0U);
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_msg_ready(&c));
}

/* The page keeps SUBMIT until answered: the same command, not a new one. */
static void cmd_submit_while_in_hand_ignored(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_SUBMIT, 1, &to).flags, 0U);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 2));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_SUBMIT, 3, &to).flags, 0U);
	KUNIT_EXPECT_EQ(test, c.seq, 1U);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_accept(&c, XEN_TPMBK_CMD_OK, 22, 0,
						   XEN_TPMBK_CLASS_DEFAULT, 4,
						   &to).flags, 0U);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_SENT);
}

static void cmd_spurious_and_broken_events(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_NONE, 1, &to).flags, 0U);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_BROKEN, 1, &to).flags,
			FX(BROKEN));
}

static void cmd_deadline_unattached_within_grace(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	/* Created at 900 without a server, grace 200: held until 1100. */
	xen_tpmbk_cmd_init(&c, 900);
	submit(&c, 1000, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 1100UL);
}

static void cmd_deadline_unattached_past_grace(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	/* Server gone since 100, grace 200: fail at once. */
	xen_tpmbk_cmd_init(&c, 100);
	submit(&c, 1000, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 1000UL);
}

static void cmd_deadline_jiffies_wrap(struct kunit *test)
{
	unsigned long since = ULONG_MAX - 10;
	struct xen_tpmbk_cmd c;

	xen_tpmbk_cmd_init(&c, since);
	submit(&c, 5, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, since + 200);
	KUNIT_EXPECT_TRUE(test, time_after(c.deadline, 5UL));
	/* Before the deadline the watchdog only re-arms, across the wrap. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_watchdog(&c, 6, &to).flags, FX(ARM));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);
}

static void cmd_keygen_gets_keygen_timeout(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	submit(&c, 100, XEN_TPMBK_CLASS_KEYGEN);
	KUNIT_EXPECT_EQ(test, c.deadline, 5100UL);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 300));
	KUNIT_EXPECT_EQ(test, c.deadline, 5300UL);
}

struct class_case {
	const char *name;
	u16 tag;
	u32 cc;
	u32 len;
	enum xen_tpmbk_cmd_class cls;
};

static const struct class_case class_cases[] = {
	{ "tpm2_create_primary", 0x8002, 0x131, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm2_create", 0x8002, 0x153, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm2_create_loaded", 0x8002, 0x191, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm2_get_random", 0x8001, 0x17b, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "tpm2_pcr_extend", 0x8002, 0x182, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "tpm2_get_test_result", 0x8001, 0x17c, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "tpm12_take_ownership", 0x00c2, 0x0d, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm12_create_wrap_key", 0x00c2, 0x1f, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm12_make_identity", 0x00c3, 0x79, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm12_create_ek", 0x00c1, 0x78, 10, XEN_TPMBK_CLASS_KEYGEN },
	{ "tpm12_get_random", 0x00c1, 0x46, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "tpm12_get_capability", 0x00c1, 0x65, 10, XEN_TPMBK_CLASS_DEFAULT },
	/* the ordinal is read in its own family */
	{ "tpm12_tag_tpm2_ordinal", 0x00c1, 0x131, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "tpm2_tag_tpm12_ordinal", 0x8001, 0x0d, 10, XEN_TPMBK_CLASS_DEFAULT },
	{ "short", 0x8002, 0x131, 9, XEN_TPMBK_CLASS_DEFAULT },
};

static void class_case_desc(const struct class_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(class, class_cases, class_case_desc);

static void cmd_class_table(struct kunit *test)
{
	const struct class_case *c = test->param_value;
	u8 cmd[10];

	put_unaligned_be16(c->tag, cmd);
	put_unaligned_be32(10, cmd + 2);
	put_unaligned_be32(c->cc, cmd + 6);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_class(cmd, c->len), c->cls);
}

/* The server's clock starts when it reads, whatever held the command. */
static void cmd_delivered_starts_server_clock(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	xen_tpmbk_cmd_init(&c, 0);
	submit(&c, 50, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 200UL);
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_msg_ready(&c));

	fx = xen_tpmbk_cmd_attach(&c, 150, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(WAKE) | FX(ARM));
	/* A server just attached is starting: the start-up limit. */
	KUNIT_EXPECT_EQ(test, c.deadline, 3150UL);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 400));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_SENT);
	KUNIT_EXPECT_EQ(test, c.deadline, 1400UL);
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_msg_ready(&c));
}

/*
 * A server attaches, then opens and starts its vTPM (a fresh TPM 1.2 takes
 * seconds, more under load) before it reads: the guest's first command is
 * held for the start-up limit from its arrival (the guest may connect
 * long after the server attached), not failed after the command timeout;
 * the command timeout starts when the server reads.
 */
static void cmd_starting_server_holds_first_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	xen_tpmbk_cmd_init(&c, 0);
	xen_tpmbk_cmd_attach(&c, 100, &to);
	KUNIT_EXPECT_TRUE(test, c.starting);
	fx = submit(&c, 200, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ARM) | FX(WAKE));
	KUNIT_EXPECT_EQ(test, c.deadline, 3200UL);
	KUNIT_EXPECT_TRUE(test, xen_tpmbk_cmd_msg_ready(&c));
	/* Where the command timeout would have failed it: still held. */
	fx = xen_tpmbk_cmd_watchdog(&c, 200 + to.cmd, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ARM));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);

	KUNIT_ASSERT_TRUE(test, server_reads(&c, 2500));
	KUNIT_EXPECT_FALSE(test, c.starting);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_SENT);
	KUNIT_EXPECT_EQ(test, c.deadline, 2500UL + to.cmd);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), 0);

	/* Started: the next command runs on the command timeout at once. */
	submit(&c, 4000, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 4000UL + to.cmd);
}

/*
 * A server that attaches and never reads: the held command still ends in
 * a TPM failure, at the start-up limit; the server then counts as stalled
 * (each later command fails after the stalled period unless read: the
 * guest is never left waiting on it), and one that reads at last is
 * served as usual. Failing later commands at once instead would never let
 * it read one.
 */
static void cmd_starting_server_never_reads(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	xen_tpmbk_cmd_init(&c, 0);
	xen_tpmbk_cmd_attach(&c, 0, &to);
	submit(&c, 10, XEN_TPMBK_CLASS_KEYGEN);
	KUNIT_EXPECT_EQ(test, c.deadline, 3010UL);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_watchdog(&c, 3009, &to).flags, FX(ARM));
	fx = xen_tpmbk_cmd_watchdog(&c, 3010, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.err, XEN_TPMBK_ERR_FAILURE);
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_STARTING);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	KUNIT_EXPECT_FALSE(test, c.starting);
	KUNIT_EXPECT_TRUE(test, c.stalled);

	submit(&c, 3100, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 3100UL + to.stalled);
	fx = xen_tpmbk_cmd_watchdog(&c, 3100 + to.stalled, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_STALLED);

	/* It reads at last: the command timeout from then on. */
	submit(&c, 3200, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 3205));
	KUNIT_EXPECT_EQ(test, c.deadline, 3205UL + to.cmd);
	KUNIT_EXPECT_FALSE(test, c.stalled);
}

/*
 * A server that read, then died: its command fails at once; the restarted
 * server opens its vTPM again, so it is starting again: the command held
 * for it gets the start-up limit from the new attach.
 */
static void cmd_restarted_server_starts_again(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 10, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 20));
	fx = xen_tpmbk_cmd_detach(&c, 500);
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DETACHED);
	KUNIT_EXPECT_FALSE(test, c.starting);

	submit(&c, 600, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 700UL);
	fx = xen_tpmbk_cmd_attach(&c, 650, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(WAKE) | FX(ARM));
	KUNIT_EXPECT_TRUE(test, c.starting);
	KUNIT_EXPECT_EQ(test, c.deadline, 3650UL);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_watchdog(&c, 700, &to).flags, FX(ARM));
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 3000));
	KUNIT_EXPECT_EQ(test, c.deadline, 3000UL + to.cmd);
}

/*
 * While the server starts: a cancel drops the held command with IDLE, a
 * suspend or shutdown still bounds the wait by the drain period, and a
 * disconnect answers at once. A reader overtaken by the cancel has still
 * started.
 */
static void cmd_starting_cancel_drain_disconnect(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	u32 seq = 0, type;

	xen_tpmbk_cmd_init(&c, 0);
	xen_tpmbk_cmd_attach(&c, 0, &to);
	submit(&c, 10, XEN_TPMBK_CLASS_DEFAULT);
	fx = xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 20, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(IDLE) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	KUNIT_EXPECT_TRUE(test, c.starting);

	submit(&c, 30, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 3030UL);
	fx = xen_tpmbk_cmd_drain(&c, true, 40, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ARM));
	KUNIT_EXPECT_EQ(test, c.deadline, 40UL + to.drain);
	fx = xen_tpmbk_cmd_watchdog(&c, 40 + to.drain, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DRAINING);
	xen_tpmbk_cmd_drain(&c, false, 100, &to);

	submit(&c, 200, XEN_TPMBK_CLASS_DEFAULT);
	fx = xen_tpmbk_cmd_disconnect(&c);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DISCONNECT);

	/* The reader's copy is overtaken by a cancel: it has started all the same. */
	submit(&c, 300, XEN_TPMBK_CLASS_DEFAULT);
	type = xen_tpmbk_cmd_next_msg(&c, &seq);
	KUNIT_ASSERT_EQ(test, type, (u32)XEN_TPMBACK_MSG_CMD);
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 310, &to);
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_delivered(&c, type, seq, 320, &to, &fx));
	KUNIT_EXPECT_FALSE(test, c.starting);
	submit(&c, 400, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 400UL + to.cmd);
}

/*
 * read() copies without the lock: a command cancelled meanwhile does not
 * count as delivered, and the reader goes on to the next message.
 */
static void cmd_delivered_overtaken_by_cancel(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	u32 seq = 0, type;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	type = xen_tpmbk_cmd_next_msg(&c, &seq);
	KUNIT_ASSERT_EQ(test, type, (u32)XEN_TPMBACK_MSG_CMD);

	fx = xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 5, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(IDLE) | FX(DISARM));
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_delivered(&c, type, seq, 6, &to, &fx));
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_next_msg(&c, &seq), 0U);
}

static void cmd_delivered_overtaken_by_next_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	u32 seq1 = 0, type;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	type = xen_tpmbk_cmd_next_msg(&c, &seq1);
	/* The watchdog fails seq 1, the guest submits seq 2. */
	fx = xen_tpmbk_cmd_watchdog(&c, 1000, &to);
	KUNIT_EXPECT_TRUE(test, fx.flags & FX(ERROR));
	submit(&c, 1001, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.seq, 2U);
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_delivered(&c, type, seq1, 1002, &to, &fx));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);
	KUNIT_EXPECT_TRUE(test, server_reads(&c, 1003));
}

static void cmd_response_delivered(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), 0);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(RESPOND) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	/* A second response to the same command is late. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
}

static void cmd_response_before_read_is_stale(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);
}

static void cmd_response_wrong_seq_is_stale(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 7, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_SENT);
}

static void cmd_response_after_watchdog_is_stale(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	fx = xen_tpmbk_cmd_watchdog(&c, 1001, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.err, XEN_TPMBK_ERR_FAILURE);
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_TIMEOUT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
}

static void cmd_response_malformed_fails_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, false, &fx), -EINVAL);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_MALFORMED);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
}

/*
 * A well-formed response that names no seq is never written to the page
 * of a guest that waits for nothing (found by tests/fuzz/fuzz_fsm: the
 * driver never passes this combination, the state machine must not rely
 * on that).
 */
static void cmd_response_without_seq_needs_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, false, 0, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, false, 0, true, &fx), -EPIPE);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_QUEUED);
}

/* Too short to name a seq: malformed, never taken as a late answer. */
static void cmd_response_headerless_malformed(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, false, 0, false, &fx), -EINVAL);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, false, 0, false, &fx), -EINVAL);
	KUNIT_EXPECT_TRUE(test, fx.flags & FX(ERROR));
}

static void cmd_watchdog_no_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_watchdog(&c, 99999, &to).flags, 0U);
}

static void cmd_watchdog_no_server(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	xen_tpmbk_cmd_init(&c, 0);
	submit(&c, 10, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_watchdog(&c, 199, &to).flags, FX(ARM));
	fx = xen_tpmbk_cmd_watchdog(&c, 200, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_NO_SERVER);
	/* Past the grace period, the next command fails at once. */
	submit(&c, 300, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 300UL);
}

/*
 * A stopped server (SIGSTOP) attached: the first command costs the full
 * timeout, each later one only the stalled period, until the server
 * reads again. A guest tool sending three commands (tpm2_getrandom plus
 * the kernel's hwrng thread) waits cmd + 2 * stalled, not 3 * cmd.
 */
static void cmd_watchdog_stalled_server_fails_fast(struct kunit *test)
{
	unsigned long now = 0, waited = 0;
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	int i;

	attached_at(&c, 0);
	for (i = 0; i < 3; i++) {
		submit(&c, now, XEN_TPMBK_CLASS_DEFAULT);
		waited += c.deadline - now;
		now = c.deadline;
		fx = xen_tpmbk_cmd_watchdog(&c, now, &to);
		KUNIT_EXPECT_TRUE(test, fx.flags & FX(ERROR));
		KUNIT_EXPECT_EQ(test, fx.why, i ? XEN_TPMBK_WHY_STALLED :
					      XEN_TPMBK_WHY_TIMEOUT);
	}
	KUNIT_EXPECT_EQ(test, waited, to.cmd + 2 * to.stalled);
	KUNIT_EXPECT_TRUE(test, c.stalled);

	/* The server wakes up and reads: full timeout again. */
	submit(&c, now, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, now + 1));
	KUNIT_EXPECT_FALSE(test, c.stalled);
	KUNIT_EXPECT_EQ(test, c.deadline, now + 1 + to.cmd);
}

/* A late answer also shows the server is alive. */
static void cmd_stalled_cleared_by_late_response(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	xen_tpmbk_cmd_watchdog(&c, 1000, &to);
	KUNIT_EXPECT_TRUE(test, c.stalled);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), -EPIPE);
	KUNIT_EXPECT_FALSE(test, c.stalled);
	submit(&c, 2000, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, c.deadline, 3000UL);
}

static void cmd_cancel_nothing_acks_idle(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 1, &to).flags,
			FX(IDLE));
	KUNIT_EXPECT_FALSE(test, c.cancel_pending);
}

static void cmd_cancel_sent_forwarded_once(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	u32 seq = 0;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_KEYGEN);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	fx = xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 100, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(WAKE) | FX(ARM));
	KUNIT_EXPECT_EQ(test, c.deadline, 120UL);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_SENT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_next_msg(&c, &seq),
			(u32)XEN_TPMBACK_MSG_CANCEL);
	KUNIT_EXPECT_EQ(test, seq, 1U);
	/* The frontend cancels again: nothing new. */
	fx = xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 110, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	KUNIT_EXPECT_EQ(test, c.deadline, 120UL);
	/* The server reads the cancel once. */
	KUNIT_EXPECT_TRUE(test, xen_tpmbk_cmd_delivered(&c, XEN_TPMBACK_MSG_CANCEL,
							1, 111, &to, &fx));
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_cmd_msg_ready(&c));
	/* The guest accepts FINISH after CANCEL. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), 0);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(RESPOND) | FX(DISARM));
}

/* The server does not answer a cancelled command: completed with IDLE. */
static void cmd_cancel_sent_watchdog_idles(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 100, &to);
	fx = xen_tpmbk_cmd_watchdog(&c, 120, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(IDLE) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_CANCELLED);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
}

/* A cancel never extends a deadline that was nearer. */
static void cmd_cancel_keeps_nearer_deadline(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 995, &to);
	KUNIT_EXPECT_EQ(test, c.deadline, 1000UL);
}

/* The CANCEL for seq 1 reaches the server before command seq 2. */
static void cmd_cancel_message_before_next_command(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;
	u32 seq = 0;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 100, &to);
	xen_tpmbk_cmd_watchdog(&c, 120, &to);
	submit(&c, 130, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_next_msg(&c, &seq),
			(u32)XEN_TPMBACK_MSG_CANCEL);
	KUNIT_EXPECT_EQ(test, seq, 1U);
	KUNIT_EXPECT_TRUE(test, xen_tpmbk_cmd_delivered(&c, XEN_TPMBACK_MSG_CANCEL,
							1, 131, &to, &fx));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_next_msg(&c, &seq),
			(u32)XEN_TPMBACK_MSG_CMD);
	KUNIT_EXPECT_EQ(test, seq, 2U);
}

static void cmd_detach_fails_command_in_hand(struct kunit *test)
{
	static const bool read_it[] = { false, true };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(read_it); i++) {
		struct xen_tpmbk_cmd c;
		struct xen_tpmbk_fx fx;

		attached_at(&c, 0);
		submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
		if (read_it[i])
			KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
		fx = xen_tpmbk_cmd_detach(&c, 500);
		KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
		KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DETACHED);
		KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
		KUNIT_EXPECT_FALSE(test, c.attached);
		/* The grace period starts at the detach. */
		submit(&c, 600, XEN_TPMBK_CLASS_DEFAULT);
		KUNIT_EXPECT_EQ(test, c.deadline, 700UL);
	}
}

static void cmd_detach_cancelled_command_idles(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 1));
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 2, &to);
	fx = xen_tpmbk_cmd_detach(&c, 3);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(IDLE) | FX(DISARM));
	KUNIT_EXPECT_FALSE(test, c.cancel_pending);
}

static void cmd_detach_idle_device(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_detach(&c, 3).flags, 0U);
	KUNIT_EXPECT_EQ(test, c.unattached_since, 3UL);
}

/*
 * xl save with a stopped server and a key generation in hand: once the
 * toolstack asks the guest to suspend, the command waits at most drain.
 */
static void cmd_drain_shortens_deadline(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_KEYGEN);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	KUNIT_EXPECT_EQ(test, c.deadline, 5000UL);
	fx = xen_tpmbk_cmd_drain(&c, true, 100, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ARM));
	KUNIT_EXPECT_EQ(test, c.deadline, 150UL);
	fx = xen_tpmbk_cmd_watchdog(&c, 150, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DRAINING);
	/* Still draining: a new command gets no more than drain either. */
	submit(&c, 200, XEN_TPMBK_CLASS_KEYGEN);
	KUNIT_EXPECT_EQ(test, c.deadline, 250UL);
	/* The suspend was cancelled: no effect on the deadline now set. */
	fx = xen_tpmbk_cmd_drain(&c, false, 210, &to);
	KUNIT_EXPECT_EQ(test, fx.flags, 0U);
	KUNIT_EXPECT_EQ(test, c.deadline, 250UL);
	KUNIT_EXPECT_FALSE(test, c.draining);
}

/* Draining never extends a deadline that was nearer. */
static void cmd_drain_keeps_nearer_deadline(struct kunit *test)
{
	struct xen_tpmbk_cmd c;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	xen_tpmbk_cmd_drain(&c, true, 990, &to);
	KUNIT_EXPECT_EQ(test, c.deadline, 1000UL);
	xen_tpmbk_cmd_init(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_drain(&c, true, 5, &to).flags, 0U);
}

static void cmd_disconnect_answers_command_in_hand(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_fx fx;

	attached_at(&c, 0);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_disconnect(&c).flags, 0U);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	fx = xen_tpmbk_cmd_disconnect(&c);
	KUNIT_EXPECT_EQ(test, fx.flags, FX(ERROR) | FX(DISARM));
	KUNIT_EXPECT_EQ(test, fx.why, XEN_TPMBK_WHY_DISCONNECT);
	KUNIT_EXPECT_EQ(test, c.state, XEN_TPMBK_CMD_NONE);
	/* The server's later response is late. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_response(&c, true, 1, true, &fx), -EPIPE);
}

static void cmd_attach_drops_stale_cancel(struct kunit *test)
{
	struct xen_tpmbk_cmd c;
	u32 seq;

	attached_at(&c, 0);
	submit(&c, 0, XEN_TPMBK_CLASS_DEFAULT);
	KUNIT_ASSERT_TRUE(test, server_reads(&c, 0));
	xen_tpmbk_cmd_event(&c, XEN_TPMBK_EV_CANCEL, 1, &to);
	xen_tpmbk_cmd_detach(&c, 2);
	xen_tpmbk_cmd_attach(&c, 3, &to);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_next_msg(&c, &seq), 0U);
}

static void bucket_burst_then_period(struct kunit *test)
{
	struct xen_tpmbk_bucket b;
	unsigned long wait = 0;
	int i;

	xen_tpmbk_bucket_init(&b, 1000, 3);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_TRUE(test, xen_tpmbk_bucket_take(&b, 1000, 3, 100, &wait));
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_bucket_take(&b, 1040, 3, 100, &wait));
	KUNIT_EXPECT_EQ(test, wait, 60UL);
	KUNIT_EXPECT_TRUE(test, xen_tpmbk_bucket_take(&b, 1100, 3, 100, &wait));
	KUNIT_EXPECT_FALSE(test, xen_tpmbk_bucket_take(&b, 1150, 3, 100, &wait));
	KUNIT_EXPECT_EQ(test, wait, 50UL);
}

/* 1000 re-handshakes as fast as a guest can: burst + one per period. */
static void bucket_bounds_a_flood(struct kunit *test)
{
	struct xen_tpmbk_bucket b;
	unsigned long wait, now;
	unsigned int taken = 0;

	xen_tpmbk_bucket_init(&b, 0, 8);
	for (now = 0; now < 1000; now++)
		taken += xen_tpmbk_bucket_take(&b, now, 8, 100, &wait);
	KUNIT_EXPECT_EQ(test, taken, 8U + 9U);
}

static void bucket_refills_to_burst_only(struct kunit *test)
{
	struct xen_tpmbk_bucket b;
	unsigned long wait;
	unsigned int taken = 0;
	int i;

	xen_tpmbk_bucket_init(&b, ULONG_MAX - 50, 2);
	/* A long idle time, across the jiffies wrap. */
	for (i = 0; i < 5; i++)
		taken += xen_tpmbk_bucket_take(&b, 100000, 2, 10, &wait);
	KUNIT_EXPECT_EQ(test, taken, 2U);
}

static struct kunit_case xen_tpmback_cmd_cases[] = {
	KUNIT_CASE(cmd_accept_queues_and_arms),
	KUNIT_CASE(cmd_accept_refused_answers_at_once),
	KUNIT_CASE(cmd_submit_while_in_hand_ignored),
	KUNIT_CASE(cmd_spurious_and_broken_events),
	KUNIT_CASE(cmd_deadline_unattached_within_grace),
	KUNIT_CASE(cmd_deadline_unattached_past_grace),
	KUNIT_CASE(cmd_deadline_jiffies_wrap),
	KUNIT_CASE(cmd_keygen_gets_keygen_timeout),
	KUNIT_CASE_PARAM(cmd_class_table, class_gen_params),
	KUNIT_CASE(cmd_delivered_starts_server_clock),
	KUNIT_CASE(cmd_starting_server_holds_first_command),
	KUNIT_CASE(cmd_starting_server_never_reads),
	KUNIT_CASE(cmd_restarted_server_starts_again),
	KUNIT_CASE(cmd_starting_cancel_drain_disconnect),
	KUNIT_CASE(cmd_delivered_overtaken_by_cancel),
	KUNIT_CASE(cmd_delivered_overtaken_by_next_command),
	KUNIT_CASE(cmd_response_delivered),
	KUNIT_CASE(cmd_response_before_read_is_stale),
	KUNIT_CASE(cmd_response_wrong_seq_is_stale),
	KUNIT_CASE(cmd_response_after_watchdog_is_stale),
	KUNIT_CASE(cmd_response_malformed_fails_command),
	KUNIT_CASE(cmd_response_headerless_malformed),
	KUNIT_CASE(cmd_response_without_seq_needs_command),
	KUNIT_CASE(cmd_watchdog_no_command),
	KUNIT_CASE(cmd_watchdog_no_server),
	KUNIT_CASE(cmd_watchdog_stalled_server_fails_fast),
	KUNIT_CASE(cmd_stalled_cleared_by_late_response),
	KUNIT_CASE(cmd_cancel_nothing_acks_idle),
	KUNIT_CASE(cmd_cancel_sent_forwarded_once),
	KUNIT_CASE(cmd_cancel_sent_watchdog_idles),
	KUNIT_CASE(cmd_cancel_keeps_nearer_deadline),
	KUNIT_CASE(cmd_cancel_message_before_next_command),
	KUNIT_CASE(cmd_detach_fails_command_in_hand),
	KUNIT_CASE(cmd_detach_cancelled_command_idles),
	KUNIT_CASE(cmd_detach_idle_device),
	KUNIT_CASE(cmd_drain_shortens_deadline),
	KUNIT_CASE(cmd_drain_keeps_nearer_deadline),
	KUNIT_CASE(cmd_disconnect_answers_command_in_hand),
	KUNIT_CASE(cmd_attach_drops_stale_cancel),
	KUNIT_CASE(bucket_burst_then_period),
	KUNIT_CASE(bucket_bounds_a_flood),
	KUNIT_CASE(bucket_refills_to_burst_only),
	{}
};

static struct kunit_suite xen_tpmback_cmd_suite = {
	.name = "xen_tpmback_cmd",
	.test_cases = xen_tpmback_cmd_cases,
};

kunit_test_suite(xen_tpmback_cmd_suite);
