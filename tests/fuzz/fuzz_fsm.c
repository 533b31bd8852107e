// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the backend's per-device command state machine
 * (protocol.c, xen_tpmbk_cmd_*()) driven by a hostile guest and a
 * misbehaving server at once. Each input byte pair is one step: the guest
 * submits (valid or refused), cancels, or sends spurious events; the
 * server attaches, detaches, reads, answers with any seq, valid or not;
 * time jumps; the toolstack drains; the frontend disconnects. A model of
 * the driver's side (the guest's page, the watchdog timer) performs the
 * side effects the way tpmback.c's xen_tpmif_apply_locked() does.
 *
 * The guarantees checked after every step (abort() = a finding):
 *  G1 the guest's page is answered (RESPOND, ERROR, IDLE) only while the
 *     guest waits for an answer: no answer out of nowhere, none twice;
 *  G2 IDLE goes only to a guest that cancelled;
 *  G3 a guest that waits is never forgotten: the backend holds its command
 *     (state != NONE) and the watchdog is armed, at most the longest
 *     period away (so no guest hangs: see also G5);
 *  G4 the server only ever gets the guest's current command (the seq it
 *     was accepted under), and a response is taken only for it;
 *  G5 at the end, with no server and time running, every waiting guest is
 *     answered by the watchdog alone;
 *  G6 a server that attached and has read nothing yet is starting its
 *     vTPM: a command it has not read is never failed on the command clock
 *     (timeout, stalled), nor as "still starting" before the start-up
 *     limit from the later of its attach and the command's arrival.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_fsm: " __VA_ARGS__); abort(); } while (0)

enum guest { G_IDLE, G_WAITING, G_CANCELLING };

struct model {
	struct xen_tpmbk_cmd c;
	struct xen_tpmbk_timeouts to;
	unsigned long now;
	enum guest guest;
	u32 guest_seq;		/* seq of the guest's accepted command, 0 if none */
	int armed;
	unsigned long timer;	/* when the armed watchdog fires */
	unsigned long longest;
	unsigned long attach_time;	/* when the server attached */
	unsigned long queued_at;	/* when the guest's command was accepted */
	int starting;		/* attached, has not read yet nor run out of time */
	int drained;		/* a drain cut the held command's wait short */
};

static void answer(struct model *m, const char *what, int idle)
{
	if (m->guest == G_IDLE)
		FAIL("G1: %s written to the page of a guest that waits for nothing\n", what);
	if (idle && m->guest != G_CANCELLING)
		FAIL("G2: IDLE to a guest that did not cancel\n");
	m->guest = G_IDLE;
	m->guest_seq = 0;
}

static void apply(struct model *m, struct xen_tpmbk_fx fx, const char *op)
{
	int n = !!(fx.flags & XEN_TPMBK_FX_ERROR) + !!(fx.flags & XEN_TPMBK_FX_RESPOND) +
		!!(fx.flags & XEN_TPMBK_FX_IDLE);

	if (n > 1)
		FAIL("G1: %s answers the guest %d times at once\n", op, n);
	if (fx.flags & XEN_TPMBK_FX_DISARM)
		m->armed = 0;
	if (fx.flags & XEN_TPMBK_FX_ERROR)
		answer(m, "an error", 0);
	if (fx.flags & XEN_TPMBK_FX_RESPOND)
		answer(m, "a response", 0);
	if (fx.flags & XEN_TPMBK_FX_IDLE)
		answer(m, "IDLE", 1);
	if (fx.flags & XEN_TPMBK_FX_ARM) {
		m->armed = 1;
		m->timer = m->c.deadline;
	}
}

static void check(struct model *m, const char *op)
{
	if (m->guest == G_IDLE)
		return;
	if (m->c.state == XEN_TPMBK_CMD_NONE)
		FAIL("G3: after %s the guest waits (%d) but the backend holds no command\n",
		     op, m->guest);
	if (!m->armed)
		FAIL("G3: after %s a command is held with no watchdog armed\n", op);
	if ((long)(m->timer - m->now) > (long)m->longest)
		FAIL("G3: after %s the watchdog is %ld jiffies away (longest period %lu)\n",
		     op, (long)(m->timer - m->now), m->longest);
	if (m->c.seq != m->guest_seq)
		FAIL("G4: the backend holds seq %u, the guest's command is seq %u\n",
		     m->c.seq, m->guest_seq);
}

static void fire(struct model *m)
{
	int starting = m->c.attached && m->starting &&
		       m->c.state == XEN_TPMBK_CMD_QUEUED;
	unsigned long from = (long)(m->queued_at - m->attach_time) > 0 ?
			     m->queued_at : m->attach_time;
	struct xen_tpmbk_fx fx;

	if (!m->armed || (long)(m->now - m->timer) < 0)
		return;
	m->armed = 0;
	fx = xen_tpmbk_cmd_watchdog(&m->c, m->now, &m->to);
	if (starting && (fx.flags & XEN_TPMBK_FX_ERROR)) {
		if (fx.why == XEN_TPMBK_WHY_TIMEOUT || fx.why == XEN_TPMBK_WHY_STALLED)
			FAIL("G6: a command held for a starting server failed on the command clock (why %d)\n",
			     fx.why);
		if (fx.why == XEN_TPMBK_WHY_STARTING && !m->drained &&
		    (long)(m->now - (from + m->to.start)) < 0)
			FAIL("G6: a starting server's command failed %ld jiffies after it was held for it (limit %lu)\n",
			     (long)(m->now - from), m->to.start);
		/* out of time: from now on a stalled server, as after a timeout */
		if (fx.why == XEN_TPMBK_WHY_STARTING)
			m->starting = 0;
	}
	apply(m, fx, "the watchdog");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m;
	size_t i;

	memset(&m, 0, sizeof(m));
	/* Debian's HZ=250 and the module's default periods, in jiffies. */
	m.to = (struct xen_tpmbk_timeouts){ .attach_grace = 7500, .start = 25000,
					    .cmd = 2500,
					    .keygen = 30000, .stalled = 250,
					    .cancel = 500, .drain = 1250 };
	m.longest = m.to.keygen;
	/* Start near the wrap of jiffies, as the kernel's INITIAL_JIFFIES does. */
	m.now = (unsigned long)-300 * 250;
	xen_tpmbk_cmd_init(&m.c, m.now);

	for (i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i] % 12, arg = data[i + 1];
		struct xen_tpmbk_fx fx;
		u32 type, seq = 0;
		int ret;

		switch (op) {
		case 0: /* the guest submits a command (or re-signals SUBMIT) */
			if (m.guest == G_CANCELLING)
				break;
			if (m.guest == G_IDLE)
				m.guest = G_WAITING;
			fx = xen_tpmbk_cmd_event(&m.c, XEN_TPMBK_EV_SUBMIT, m.now, &m.to);
			if (fx.flags & XEN_TPMBK_FX_ACCEPT) {
				enum xen_tpmbk_verdict v = arg & 3;

				fx = xen_tpmbk_cmd_accept(&m.c, v, 10 + arg, arg >> 6,
							  (arg >> 2) & 1, m.now, &m.to);
				if (v == XEN_TPMBK_CMD_OK) {
					m.guest_seq = m.c.seq;
					m.queued_at = m.now;
					m.drained = m.c.draining;
				}
			}
			apply(&m, fx, "submit");
			break;
		case 1: /* the guest cancels */
			if (m.guest == G_IDLE && !(arg & 1))
				break;
			m.guest = G_CANCELLING;
			apply(&m, xen_tpmbk_cmd_event(&m.c, XEN_TPMBK_EV_CANCEL, m.now, &m.to),
			      "cancel");
			break;
		case 2: /* a spurious event: IDLE/FINISH on the page */
			apply(&m, xen_tpmbk_cmd_event(&m.c, XEN_TPMBK_EV_NONE, m.now, &m.to),
			      "spurious event");
			break;
		case 3: /* a server attaches */
			if (m.c.attached)
				break;
			m.attach_time = m.now;
			m.starting = 1;
			apply(&m, xen_tpmbk_cmd_attach(&m.c, m.now, &m.to), "attach");
			break;
		case 4: /* the server closes its fd */
			if (!m.c.attached)
				break;
			apply(&m, xen_tpmbk_cmd_detach(&m.c, m.now), "detach");
			break;
		case 5: /* the server reads a message (maybe overtaken first) */
			type = xen_tpmbk_cmd_next_msg(&m.c, &seq);
			if (!type)
				break;
			if (type == XEN_TPMBACK_MSG_CMD && seq != m.guest_seq)
				FAIL("G4: the server is offered seq %u, the guest's is %u\n",
				     seq, m.guest_seq);
			if (arg & 1) { /* the copy to userspace was slow */
				m.now += arg;
				fire(&m);
			}
			if (m.c.attached)
				m.starting = 0;
			if (xen_tpmbk_cmd_delivered(&m.c, type, seq, m.now, &m.to, &fx)) {
				if (type == XEN_TPMBACK_MSG_CMD && m.c.state != XEN_TPMBK_CMD_SENT)
					FAIL("delivered command not marked sent\n");
			}
			apply(&m, fx, "read");
			break;
		case 6: /* the server answers the current seq */
		case 7: /* ... or any seq, or a short or malformed write */
			seq = op == 6 ? m.c.seq : m.c.seq + (int8_t)arg;
			{
				int sent = m.c.state == XEN_TPMBK_CMD_SENT;
				u32 held = m.c.seq;
				int have_seq = !(op == 7 && (arg & 0x80));
				int valid = !(arg & 0x40);

				ret = xen_tpmbk_cmd_response(&m.c, have_seq, seq, valid, &fx);
				if (ret == 0 && (!sent || (have_seq && seq != held)))
					FAIL("G4: response for seq %u taken while holding %u (sent %d)\n",
					     seq, held, sent);
				if (ret == 0 && !valid)
					FAIL("malformed response taken\n");
			}
			apply(&m, fx, "response");
			break;
		case 8: /* time passes; the watchdog fires if due */
		case 9:
			m.now += (unsigned long)arg * (op == 8 ? 1 : 250);
			fire(&m);
			break;
		case 10: /* the toolstack asks the guest to suspend, or stops asking */
			/* the deadline it cuts short stays short after the drain */
			if (arg & 1)
				m.drained = 1;
			apply(&m, xen_tpmbk_cmd_drain(&m.c, arg & 1, m.now, &m.to), "drain");
			break;
		case 11: /* the frontend disconnects: the page is about to go */
			apply(&m, xen_tpmbk_cmd_disconnect(&m.c), "disconnect");
			if (m.guest != G_IDLE)
				FAIL("G3: disconnect leaves the guest waiting\n");
			if (m.armed)
				FAIL("disconnect leaves the watchdog armed\n");
			xen_tpmbk_cmd_init(&m.c, m.now);
			break;
		}
		check(&m, "a step");
	}

	/* G5: the server goes away for good; time alone answers the guest. */
	if (m.c.attached)
		apply(&m, xen_tpmbk_cmd_detach(&m.c, m.now), "final detach");
	for (i = 0; i < 4 && m.guest == G_WAITING; i++) {
		m.now = m.timer;
		fire(&m);
	}
	if (m.guest == G_WAITING)
		FAIL("G5: with no server, the guest still waits after the watchdog\n");
	return 0;
}
