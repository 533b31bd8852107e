// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the state machine decisions: the xenbus backend state graph, the
 * backend state a frontend state asks for, what an event does to the
 * device's command, and the watchdog's deadline.
 */

#include <kunit/test.h>
#include <linux/jiffies.h>
#include <linux/string.h>

#include "../../drivers/xen-tpmback/protocol.h"

#define UNK	XenbusStateUnknown
#define INI	XenbusStateInitialising
#define IWT	XenbusStateInitWait
#define IND	XenbusStateInitialised
#define CON	XenbusStateConnected
#define CLG	XenbusStateClosing
#define CLD	XenbusStateClosed
#define RCG	XenbusStateReconfiguring

struct next_case {
	const char *name;
	enum xenbus_state cur, target, next;
};

static const struct next_case next_cases[] = {
	{ "initialising_to_initwait", INI, IWT, IWT },
	{ "initialising_to_connected", INI, CON, IWT },
	{ "initialising_to_closed", INI, CLD, CLD },
	{ "initwait_to_connected", IWT, CON, CON },
	{ "initwait_to_closing", IWT, CLG, CLG },
	{ "initwait_to_closed", IWT, CLD, CLG },
	{ "connected_to_initwait", CON, IWT, IWT },
	{ "connected_to_closing", CON, CLG, CLG },
	{ "connected_to_closed", CON, CLD, CLG },
	{ "closing_to_closed", CLG, CLD, CLD },
	{ "closing_to_initwait", CLG, IWT, IWT },
	{ "closing_to_connected", CLG, CON, IWT },
	{ "closed_to_initwait", CLD, IWT, IWT },
	{ "closed_to_connected", CLD, CON, IWT },
	{ "closed_to_closing", CLD, CLG, IWT },
	/* no way, or already there: stay */
	{ "connected_to_initialising", CON, INI, CON },
	{ "closed_to_closed", CLD, CLD, CLD },
	{ "connected_to_connected", CON, CON, CON },
	/* not backend states */
	{ "target_initialised", IWT, IND, IWT },
	{ "target_unknown", CON, UNK, CON },
	{ "target_reconfiguring", CON, RCG, CON },
	{ "target_junk", CON, (enum xenbus_state)200, CON },
	{ "cur_unknown", UNK, CON, UNK },
	{ "cur_junk", (enum xenbus_state)99, CLD, (enum xenbus_state)99 },
};

static void next_case_desc(const struct next_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(next, next_cases, next_case_desc);

static void next_state_table(struct kunit *test)
{
	const struct next_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, xen_tpmbk_next_state(c->cur, c->target), c->next);
}

/* From every backend state, every target is reached in at most 3 steps. */
static void next_state_walk_terminates(struct kunit *test)
{
	static const enum xenbus_state states[] = { INI, IWT, CON, CLG, CLD };
	static const enum xenbus_state targets[] = { IWT, CON, CLG, CLD };
	unsigned int i, j, steps;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		for (j = 0; j < ARRAY_SIZE(targets); j++) {
			enum xenbus_state s = states[i], n;

			for (steps = 0; steps < 8 && s != targets[j]; steps++) {
				n = xen_tpmbk_next_state(s, targets[j]);
				if (n == s)
					break;
				s = n;
			}
			KUNIT_EXPECT_EQ_MSG(test, s, targets[j], "from %d to %d",
					    states[i], targets[j]);
			KUNIT_EXPECT_LE(test, steps, 3U);
		}
	}
}

/* Leaving Connected never passes through Closed on the way to InitWait. */
static void next_state_rehandshake_skips_closed(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xen_tpmbk_next_state(CON, IWT), IWT);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_next_state(CLG, IWT), IWT);
}

struct target_case {
	const char *name;
	enum xenbus_state frontend, backend;
	bool online;
	enum xenbus_state target;
};

static const struct target_case target_cases[] = {
	{ "initialising", INI, IWT, true, IWT },
	{ "initialising_after_reset", INI, CON, true, IWT },
	{ "initwait_ignored", IWT, IWT, true, IWT },
	{ "initialised", IND, IWT, true, CON },
	{ "connected", CON, IWT, true, CON },
	{ "connected_again", CON, CON, true, CON },
	{ "closing", CLG, CON, true, CLG },
	{ "closing_while_closed", CLG, CLD, true, CLD },
	{ "closed_reopens", CLD, CLG, true, IWT },
	{ "closed_from_connected", CLD, CON, true, IWT },
	{ "unknown_frontend_gone", UNK, CON, true, CLD },
	{ "reconfiguring_ignored", RCG, CON, true, CON },
	{ "junk_ignored", (enum xenbus_state)42, CON, true, CON },
	{ "offline_initialised", IND, IWT, false, CLD },
	{ "offline_connected", CON, CON, false, CLD },
	{ "offline_closed", CLD, CLG, false, CLD },
	{ "offline_junk", (enum xenbus_state)42, CON, false, CLD },
};

static void target_case_desc(const struct target_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(target, target_cases, target_case_desc);

static void frontend_target_table(struct kunit *test)
{
	const struct target_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, xen_tpmbk_frontend_target(c->frontend, c->backend,
							c->online), c->target);
}

struct action_case {
	const char *name;
	enum xen_tpmbk_event ev;
	enum xen_tpmbk_cmd_state cmd;
	bool cancel_forwarded;
	enum xen_tpmbk_action action;
};

static const struct action_case action_cases[] = {
	{ "submit_idle_device", XEN_TPMBK_EV_SUBMIT, XEN_TPMBK_CMD_NONE, false,
	  XEN_TPMBK_ACT_ACCEPT },
	{ "submit_while_queued", XEN_TPMBK_EV_SUBMIT, XEN_TPMBK_CMD_QUEUED, false,
	  XEN_TPMBK_ACT_IGNORE },
	{ "submit_while_sent", XEN_TPMBK_EV_SUBMIT, XEN_TPMBK_CMD_SENT, false,
	  XEN_TPMBK_ACT_IGNORE },
	{ "cancel_nothing_outstanding", XEN_TPMBK_EV_CANCEL, XEN_TPMBK_CMD_NONE, false,
	  XEN_TPMBK_ACT_IDLE },
	{ "cancel_queued", XEN_TPMBK_EV_CANCEL, XEN_TPMBK_CMD_QUEUED, false,
	  XEN_TPMBK_ACT_DROP },
	{ "cancel_sent", XEN_TPMBK_EV_CANCEL, XEN_TPMBK_CMD_SENT, false,
	  XEN_TPMBK_ACT_FORWARD_CANCEL },
	{ "cancel_sent_twice", XEN_TPMBK_EV_CANCEL, XEN_TPMBK_CMD_SENT, true,
	  XEN_TPMBK_ACT_IGNORE },
	{ "spurious_idle_device", XEN_TPMBK_EV_NONE, XEN_TPMBK_CMD_NONE, false,
	  XEN_TPMBK_ACT_IGNORE },
	{ "spurious_while_sent", XEN_TPMBK_EV_NONE, XEN_TPMBK_CMD_SENT, false,
	  XEN_TPMBK_ACT_IGNORE },
	{ "broken_idle_device", XEN_TPMBK_EV_BROKEN, XEN_TPMBK_CMD_NONE, false,
	  XEN_TPMBK_ACT_BROKEN },
	{ "broken_while_sent", XEN_TPMBK_EV_BROKEN, XEN_TPMBK_CMD_SENT, true,
	  XEN_TPMBK_ACT_BROKEN },
};

static void action_case_desc(const struct action_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(action, action_cases, action_case_desc);

static void event_action_table(struct kunit *test)
{
	const struct action_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, xen_tpmbk_event_action(c->ev, c->cmd,
						     c->cancel_forwarded), c->action);
}

static void cmd_deadline_attached_uses_cmd_timeout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_deadline(true, 1000, 0, 50, 300), 1300UL);
}

static void cmd_deadline_unattached_within_grace(struct kunit *test)
{
	/* Detached at 900, grace 200: held until 1100. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_deadline(false, 1000, 900, 200, 300), 1100UL);
}

static void cmd_deadline_unattached_past_grace(struct kunit *test)
{
	/* Server gone since 100, grace 200: fail now. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_deadline(false, 1000, 100, 200, 300), 1000UL);
}

static void cmd_deadline_zero_grace(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_deadline(false, 1000, 1000, 0, 300), 1000UL);
}

static void cmd_deadline_jiffies_wrap(struct kunit *test)
{
	unsigned long since = ULONG_MAX - 10;

	/* Grace runs across the wrap: 10 + 1 + 20 - 1 jiffies later. */
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_deadline(false, 5, since, 30, 300),
			since + 30);
	KUNIT_EXPECT_TRUE(test, time_after(xen_tpmbk_cmd_deadline(false, 5, since, 30, 300),
					   5UL));
}

static void connection_name_states(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name(IWT), "initwait");
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name(CON), "connected");
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name(CLG), "closing");
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name(CLD), "closed");
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name(INI), "initialising");
	KUNIT_EXPECT_STREQ(test, xen_tpmbk_connection_name((enum xenbus_state)77),
			   "invalid");
}

static struct kunit_case xen_tpmback_state_cases[] = {
	KUNIT_CASE_PARAM(next_state_table, next_gen_params),
	KUNIT_CASE(next_state_walk_terminates),
	KUNIT_CASE(next_state_rehandshake_skips_closed),
	KUNIT_CASE_PARAM(frontend_target_table, target_gen_params),
	KUNIT_CASE_PARAM(event_action_table, action_gen_params),
	KUNIT_CASE(cmd_deadline_attached_uses_cmd_timeout),
	KUNIT_CASE(cmd_deadline_unattached_within_grace),
	KUNIT_CASE(cmd_deadline_unattached_past_grace),
	KUNIT_CASE(cmd_deadline_zero_grace),
	KUNIT_CASE(cmd_deadline_jiffies_wrap),
	KUNIT_CASE(connection_name_states),
	{}
};

static struct kunit_suite xen_tpmback_state_suite = {
	.name = "xen_tpmback_state",
	.test_cases = xen_tpmback_state_cases,
};

kunit_test_suite(xen_tpmback_state_suite);
