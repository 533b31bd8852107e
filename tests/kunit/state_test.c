// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the xenbus state machine decisions: the backend state graph, the
 * backend state a frontend state asks for, and what each step must tear
 * down or set up.
 */

#include <kunit/test.h>
#include <linux/jiffies.h>
#include <linux/string.h>

#include "protocol.h"

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
	/* blkback and netback; xenbus_reset_frontend() waits for Closed */
	{ "closed_closes", CLD, CLG, true, CLD },
	{ "closed_from_connected", CLD, CON, true, CLD },
	{ "closed_from_initwait", CLD, IWT, true, CLD },
	/* ... and the reset's next step reopens the device */
	{ "initialising_after_closed", INI, CLD, true, IWT },
	{ "initialised_after_closed", IND, CLD, true, CON },
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

/*
 * xenbus_reset_frontend() (a guest's kexec or kdump) walks the backend
 * through Closing, Closed and InitWait, waiting up to 5 s for each.
 */
static void frontend_target_reset_sequence(struct kunit *test)
{
	static const enum xenbus_state fe[] = { CLG, CLD, INI, IND };
	static const enum xenbus_state want[] = { CLG, CLD, IWT, CON };
	enum xenbus_state be = CON;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fe); i++) {
		enum xenbus_state target = xen_tpmbk_frontend_target(fe[i], be, true);

		KUNIT_EXPECT_EQ_MSG(test, target, want[i], "frontend %d", fe[i]);
		while (be != target) {
			enum xenbus_state n = xen_tpmbk_next_state(be, target);

			KUNIT_ASSERT_NE(test, n, be);
			be = n;
		}
	}
}

struct step_case {
	const char *name;
	enum xenbus_state next;
	bool connected;
	unsigned int work;
};

#define DIS	XEN_TPMBK_STEP_DISCONNECT
#define CNX	XEN_TPMBK_STEP_CONNECT

static const struct step_case step_cases[] = {
	{ "to_connected", CON, false, CNX },
	/* a second connect never leaks the first one */
	{ "to_connected_while_connected", CON, true, DIS | CNX },
	/*
	 * The switch to Connected failed in xenstore: the cached state is
	 * InitWait, the page is mapped. Every way out must unmap.
	 */
	{ "to_closing_connected_in_initwait", CLG, true, DIS },
	{ "to_closed_connected", CLD, true, DIS },
	{ "to_initwait_connected", IWT, true, DIS },
	{ "to_closing_not_connected", CLG, false, 0 },
	{ "to_closed_not_connected", CLD, false, 0 },
	{ "to_initwait_not_connected", IWT, false, 0 },
};

static void step_case_desc(const struct step_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(step, step_cases, step_case_desc);

static void step_work_table(struct kunit *test)
{
	const struct step_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, xen_tpmbk_step_work(c->next, c->connected), c->work);
}

/* Whatever the cached state, a connected device is disconnected on the way. */
static void step_work_keyed_on_connection(struct kunit *test)
{
	static const enum xenbus_state states[] = { INI, IWT, CON, CLG, CLD };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		KUNIT_EXPECT_TRUE(test, xen_tpmbk_step_work(states[i], true) & DIS);
		KUNIT_EXPECT_FALSE(test, xen_tpmbk_step_work(states[i], false) & DIS);
	}
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
	KUNIT_CASE(frontend_target_reset_sequence),
	KUNIT_CASE_PARAM(step_work_table, step_gen_params),
	KUNIT_CASE(step_work_keyed_on_connection),
	KUNIT_CASE(connection_name_states),
	{}
};

static struct kunit_suite xen_tpmback_state_suite = {
	.name = "xen_tpmback_state",
	.test_cases = xen_tpmback_state_cases,
};

kunit_test_suite(xen_tpmback_state_suite);
