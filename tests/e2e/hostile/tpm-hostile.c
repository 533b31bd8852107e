// SPDX-License-Identifier: GPL-2.0
/*
 * tpm-hostile: a malicious vtpm frontend for the testbed (never for real
 * guests). It binds to the guest's "vtpm" xenbus devices in place of
 * xen-tpmfront and does, on command, what a hostile guest can do to the
 * backend in dom0: lengths the page cannot hold, TPM headers that disagree
 * with the length, extra pages, backend-only states, SUBMIT while a
 * command is in flight, rewriting the page while the backend works on it,
 * event storms, CANCEL at any moment, invalid ring-ref and event-channel,
 * flapping xenstore states, Closed in the middle of a command.
 *
 * Control: write one action to /sys/bus/xen/devices/vtpm-N/hostile; the
 * write returns when the action is done, and a read of the same file gives
 * its result, one line ("state=2 len=10 rc=0x0" for a page answered with
 * FINISH, "timeout" when the backend gave no answer in time). Actions:
 *
 *   connect [ref=N] [port=N]  grant a page, allocate an event channel, write
 *                             ring-ref / event-channel (or the given
 *                             values), Initialised, wait for Connected
 *   submit LEN HDR LOC EXTRA  a TPM2_GetRandom(8) whose header says HDR
 *                             bytes, page length LEN, locality LOC,
 *                             nr_extra_pages EXTRA; SUBMIT, notify, wait
 *   keygen                    a TPM2_CreatePrimary RSA-2048 (slow), submit,
 *                             do not wait
 *   flush                     TPM2_FlushContext of the transient handles a
 *                             key generation may have left (the vTPM holds
 *                             three), each answered before the next
 *   page STATE                write the page's state byte, notify, wait
 *   resubmit N                a key generation (slow, so that it is still in
 *                             flight), SUBMIT + notify up to N times in a
 *                             row while it is, then wait; the result ends
 *                             " submits=K", the SUBMITs made before the
 *                             answer
 *   rewrite MS [US]           a key generation, then (after US us) rewrite
 *                             length and packet with garbage for MS ms
 *                             while the backend works; the result ends " hdr=H
 *                             clean" (H: the answer's TPM header size),
 *                             or " overlapped" when the answer came while
 *                             we were still rewriting: then our own writes
 *                             may have garbled it, and it says nothing
 *   cancel MS                 after MS ms, CANCEL + notify, then wait
 *   storm N                   N notifications back to back
 *   xs STATE                  write STATE to our xenstore "state" node
 *   wait MS                   wait up to MS ms for FINISH or IDLE
 *
 * Licensed GPL-2.0 only because it is a kernel module; it is test code.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <asm/unaligned.h>
#include <xen/events.h>
#include <xen/grant_table.h>
#include <xen/xenbus.h>
#include <xen/interface/io/tpmif.h>

#define HOSTILE_HDR	sizeof(struct vtpm_shared_page)
#define HOSTILE_MAX	(XEN_PAGE_SIZE - HOSTILE_HDR)

struct hostile {
	struct xenbus_device *dev;
	struct mutex lock;		/* one action at a time */
	struct vtpm_shared_page *page;
	grant_ref_t ref;
	evtchn_port_t port;
	int irq;
	wait_queue_head_t wq;
	atomic_t events;
	char result[128];
};

static irqreturn_t hostile_interrupt(int irq, void *data)
{
	struct hostile *h = data;

	atomic_inc(&h->events);
	wake_up_all(&h->wq);
	return IRQ_HANDLED;
}

static void hostile_disconnect(struct hostile *h)
{
	if (h->irq > 0)
		unbind_from_irqhandler(h->irq, h);
	else if (h->port)
		xenbus_free_evtchn(h->dev, h->port);
	h->irq = 0;
	h->port = 0;
	if (h->page)
		xenbus_teardown_ring((void **)&h->page, 1, &h->ref);
	h->page = NULL;
}

static bool answered(struct hostile *h)
{
	u8 s = READ_ONCE(h->page->state);

	return s == VTPM_STATE_FINISH || s == VTPM_STATE_IDLE;
}

static void record(struct hostile *h, bool ok)
{
	if (!ok) {
		snprintf(h->result, sizeof(h->result), "timeout state=%u",
			 READ_ONCE(h->page->state));
		return;
	}
	virt_rmb();
	snprintf(h->result, sizeof(h->result), "state=%u len=%u rc=0x%x",
		 READ_ONCE(h->page->state), READ_ONCE(h->page->length),
		 get_unaligned_be32((u8 *)h->page + HOSTILE_HDR + 6));
}

static void wait_answer(struct hostile *h, unsigned int ms)
{
	long left = wait_event_timeout(h->wq, answered(h), msecs_to_jiffies(ms));

	record(h, left > 0 || answered(h));
}

static void put_getrandom(struct hostile *h, u32 hdr)
{
	u8 *p = (u8 *)h->page + HOSTILE_HDR;

	put_unaligned_be16(0x8001, p);		/* TPM_ST_NO_SESSIONS */
	put_unaligned_be32(hdr, p + 2);
	put_unaligned_be32(0x17B, p + 6);	/* TPM_CC_GetRandom */
	put_unaligned_be16(8, p + 10);
}

static void put_keygen(struct hostile *h)
{
	/* TPM2_CreatePrimary(owner, RSA-2048 storage key), password session */
	static const u8 cmd[] = {
		0x80, 0x02, 0x00, 0x00, 0x00, 0x43, 0x00, 0x00, 0x01, 0x31,
		0x40, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x1a, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x03, 0x00, 0x72, 0x00, 0x00,
		0x00, 0x06, 0x00, 0x80, 0x00, 0x43, 0x00, 0x10, 0x08, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	memcpy((u8 *)h->page + HOSTILE_HDR, cmd, sizeof(cmd));
	put_unaligned_be32(sizeof(cmd), (u8 *)h->page + HOSTILE_HDR + 2);
	WRITE_ONCE(h->page->length, sizeof(cmd));
}

static void submit(struct hostile *h)
{
	virt_wmb();
	WRITE_ONCE(h->page->state, VTPM_STATE_SUBMIT);
	virt_wmb();
	notify_remote_via_evtchn(h->port);
}

static int hostile_connect(struct hostile *h, long ref, long port)
{
	struct xenbus_device *dev = h->dev;
	int err;

	hostile_disconnect(h);
	err = xenbus_setup_ring(dev, GFP_KERNEL, (void **)&h->page, 1, &h->ref);
	if (err)
		return err;
	err = xenbus_alloc_evtchn(dev, &h->port);
	if (err)
		return err;
	err = bind_evtchn_to_irqhandler(h->port, hostile_interrupt, 0,
					"tpm-hostile", h);
	if (err < 0)
		return err;
	h->irq = err;
	xenbus_printf(XBT_NIL, dev->nodename, "ring-ref", "%ld",
		      ref >= 0 ? ref : (long)h->ref);
	xenbus_printf(XBT_NIL, dev->nodename, "event-channel", "%ld",
		      port >= 0 ? port : (long)h->port);
	xenbus_printf(XBT_NIL, dev->nodename, "feature-protocol-v2", "1");
	/* The state node may have been written behind xenbus' back ("xs"). */
	dev->state = XenbusStateUnknown;
	xenbus_switch_state(dev, XenbusStateInitialised);
	return 0;
}

static void hostile_otherend_changed(struct xenbus_device *dev,
				     enum xenbus_state state)
{
	/* The backend's Connected completes the handshake, as the real one. */
	if (state == XenbusStateConnected && dev->state == XenbusStateInitialised)
		xenbus_switch_state(dev, XenbusStateConnected);
	if (state == XenbusStateClosed && dev->state == XenbusStateClosing)
		xenbus_frontend_closed(dev);
}

static ssize_t hostile_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct hostile *h = dev_get_drvdata(d);

	return sysfs_emit(buf, "%s\n", h->result);
}

static ssize_t hostile_store(struct device *d, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct hostile *h = dev_get_drvdata(d);
	char act[16];
	long a = -1, b = -1, c = 0, e = 0, i;
	size_t len;
	int n, err = 0;

	n = sscanf(buf, "%15s %li %li %li %li", act, &a, &b, &c, &e);
	if (n < 1)
		return -EINVAL;
	mutex_lock(&h->lock);
	snprintf(h->result, sizeof(h->result), "done");
	if (!strcmp(act, "connect")) {
		long ref = -1, port = -1;

		if (sscanf(buf, "connect ref=%li", &ref) != 1)
			ref = -1;
		if (!strstr(buf, "port=") ||
		    sscanf(strstr(buf, "port="), "port=%li", &port) != 1)
			port = -1;
		err = hostile_connect(h, ref, port);
		goto out;
	}
	if (!h->page) {
		err = -ENOTCONN;
		goto out;
	}
	if (!strcmp(act, "submit") && n >= 3) {
		put_getrandom(h, b);
		WRITE_ONCE(h->page->length, a);
		WRITE_ONCE(h->page->locality, c);
		WRITE_ONCE(h->page->nr_extra_pages, e);
		submit(h);
		wait_answer(h, 15000);
	} else if (!strcmp(act, "keygen")) {
		put_keygen(h);
		WRITE_ONCE(h->page->locality, 0);
		WRITE_ONCE(h->page->nr_extra_pages, 0);
		submit(h);
	} else if (!strcmp(act, "flush")) {
		u8 *p = (u8 *)h->page + HOSTILE_HDR;

		for (i = 0; i < 3; i++) {
			put_unaligned_be16(0x8001, p);	/* TPM_ST_NO_SESSIONS */
			put_unaligned_be32(14, p + 2);
			put_unaligned_be32(0x165, p + 6);	/* TPM_CC_FlushContext */
			put_unaligned_be32(0x80000000 + i, p + 10);
			WRITE_ONCE(h->page->length, 14);
			WRITE_ONCE(h->page->locality, 0);
			WRITE_ONCE(h->page->nr_extra_pages, 0);
			submit(h);
			wait_answer(h, 15000);
		}
	} else if (!strcmp(act, "page") && n >= 2) {
		WRITE_ONCE(h->page->state, a);
		notify_remote_via_evtchn(h->port);
		wait_answer(h, 2000);
	} else if (!strcmp(act, "resubmit") && n >= 2) {
		put_keygen(h);
		WRITE_ONCE(h->page->locality, 0);
		WRITE_ONCE(h->page->nr_extra_pages, 0);
		submit(h);
		/*
		 * SUBMIT again and again while the command is in flight, never
		 * over its answer: a SUBMIT after FINISH is a new command (the
		 * answer's bytes), rightly answered on its own. The state is
		 * rewritten only while it still reads SUBMIT, atomically
		 * against the backend's FINISH.
		 */
		for (i = 1; i < a; i++) {
			if (cmpxchg(&h->page->state, VTPM_STATE_SUBMIT,
				    VTPM_STATE_SUBMIT) != VTPM_STATE_SUBMIT)
				break;
			notify_remote_via_evtchn(h->port);
		}
		wait_answer(h, 15000);
		/* how many SUBMITs the backend saw before its answer, the
		 * first one included: the case is void below 2 */
		len = strlen(h->result);
		snprintf(h->result + len, sizeof(h->result) - len,
			 " submits=%ld", i);
	} else if (!strcmp(act, "rewrite") && n >= 2) {
		unsigned long end;
		bool overlapped;

		put_keygen(h);
		WRITE_ONCE(h->page->locality, 0);
		WRITE_ONCE(h->page->nr_extra_pages, 0);
		submit(h);
		if (b > 0)
			usleep_range(b, b + 100);
		end = jiffies + msecs_to_jiffies(a);
		while (time_before(jiffies, end) && !answered(h)) {
			WRITE_ONCE(h->page->length, get_random_u32());
			get_random_bytes((u8 *)h->page + HOSTILE_HDR, 64);
			cond_resched();
		}
		/*
		 * No lock guards the page: a write of ours may land between
		 * the backend's answer and its FINISH. Only an answer that
		 * came after our last write says what the backend wrote.
		 */
		overlapped = answered(h);
		wait_answer(h, 15000);
		len = strlen(h->result);
		if (overlapped)
			snprintf(h->result + len, sizeof(h->result) - len,
				 " overlapped");
		else
			snprintf(h->result + len, sizeof(h->result) - len,
				 " hdr=%u clean",
				 get_unaligned_be32((u8 *)h->page + HOSTILE_HDR + 2));
	} else if (!strcmp(act, "cancel") && n >= 2) {
		msleep(a);
		WRITE_ONCE(h->page->state, VTPM_STATE_CANCEL);
		virt_wmb();
		notify_remote_via_evtchn(h->port);
		wait_answer(h, 15000);
	} else if (!strcmp(act, "storm") && n >= 2) {
		for (i = 0; i < a; i++) {
			notify_remote_via_evtchn(h->port);
			if (!(i & 1023))
				cond_resched();
		}
	} else if (!strcmp(act, "xs") && n >= 2) {
		err = xenbus_printf(XBT_NIL, h->dev->nodename, "state", "%ld", a);
	} else if (!strcmp(act, "wait") && n >= 2) {
		wait_answer(h, a);
	} else {
		err = -EINVAL;
	}
out:
	if (err)
		snprintf(h->result, sizeof(h->result), "error %d", err);
	mutex_unlock(&h->lock);
	return err ? err : count;
}
static DEVICE_ATTR(hostile, 0600, hostile_show, hostile_store);

static int hostile_probe(struct xenbus_device *dev,
			 const struct xenbus_device_id *id)
{
	struct hostile *h = kzalloc(sizeof(*h), GFP_KERNEL);

	if (!h)
		return -ENOMEM;
	h->dev = dev;
	mutex_init(&h->lock);
	init_waitqueue_head(&h->wq);
	snprintf(h->result, sizeof(h->result), "probed");
	dev_set_drvdata(&dev->dev, h);
	return device_create_file(&dev->dev, &dev_attr_hostile);
}

static void hostile_remove(struct xenbus_device *dev)
{
	struct hostile *h = dev_get_drvdata(&dev->dev);

	device_remove_file(&dev->dev, &dev_attr_hostile);
	hostile_disconnect(h);
	kfree(h);
}

static const struct xenbus_device_id hostile_ids[] = {
	{ "vtpm" },
	{ "" }
};

static struct xenbus_driver hostile_driver = {
	.ids = hostile_ids,
	.probe = hostile_probe,
	.remove = hostile_remove,
	.otherend_changed = hostile_otherend_changed,
};

static int __init hostile_init(void)
{
	if (!xen_domain())
		return -ENODEV;
	return xenbus_register_frontend(&hostile_driver);
}
module_init(hostile_init);

static void __exit hostile_exit(void)
{
	xenbus_unregister_driver(&hostile_driver);
}
module_exit(hostile_exit);

MODULE_DESCRIPTION("Hostile vtpm frontend for the xen-tpmback testbed");
MODULE_LICENSE("GPL");
