// SPDX-License-Identifier: GPL-2.0
/*
 * xen-tpmback: the shared page, the event channel and the command path.
 *
 * An event from the guest is handled in process context (event_work):
 * the page header is read once, the command copied out and validated,
 * then queued for the attached server (chardev.c) or answered here with
 * a TPM error. The event channel is a lateeoi one: the EOI is sent only
 * when the page has been looked at, flagged spurious when it held nothing
 * new, and never after a protocol violation (the channel stays masked).
 */

#define pr_fmt(fmt) "xen-tpmback: " fmt

#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <xen/events.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include "common.h"

/* Longest value accepted for either timeout: 10 minutes. */
#define XEN_TPMBK_MAX_TIMEOUT_MS	600000U

/*
 * How long a command is held when no server is attached, counted from the
 * moment the device lost its server (or was created without one). udev
 * starts the server on the device's "add" event, in parallel with the
 * guest's boot: the frontend's first command must wait for it, not fail.
 * A device whose server has been gone for longer fails commands at once,
 * so that the guest is never stalled (save and suspend need answers).
 */
static unsigned int attach_timeout_ms = 10000;
module_param(attach_timeout_ms, uint, 0644);
MODULE_PARM_DESC(attach_timeout_ms,
		 "Hold a command this long for a server to attach (ms, default 10000, max 600000)");

/*
 * How long the attached server has to answer a command. Below the 120 s
 * the unmodified frontend waits for TPM 2.0 ordinals before it cancels, so
 * the guest sees a TPM failure rather than a timeout of its own; far above
 * what a software TPM needs for its slowest command (RSA key generation).
 */
static unsigned int cmd_timeout_ms = 60000;
module_param(cmd_timeout_ms, uint, 0644);
MODULE_PARM_DESC(cmd_timeout_ms,
		 "Fail a command the server has not answered in this time (ms, default 60000, 100..600000)");

static unsigned long attach_grace(void)
{
	return msecs_to_jiffies(min(READ_ONCE(attach_timeout_ms),
				    XEN_TPMBK_MAX_TIMEOUT_MS));
}

static unsigned long cmd_timeout(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(cmd_timeout_ms), 100U,
				      XEN_TPMBK_MAX_TIMEOUT_MS));
}

/**
 * xen_tpmbk_params_init() - report module parameters out of range
 *
 * The parameters may be changed at run time; they are clamped where used.
 */
void xen_tpmbk_params_init(void)
{
	if (attach_timeout_ms > XEN_TPMBK_MAX_TIMEOUT_MS)
		pr_info("attach_timeout_ms %u clamped to %u\n",
			attach_timeout_ms, XEN_TPMBK_MAX_TIMEOUT_MS);
	if (cmd_timeout_ms < 100 || cmd_timeout_ms > XEN_TPMBK_MAX_TIMEOUT_MS)
		pr_info("cmd_timeout_ms %u clamped to 100..%u\n",
			cmd_timeout_ms, XEN_TPMBK_MAX_TIMEOUT_MS);
}

static const char *const xen_tpmbk_error_names[] = {
	[XEN_TPMBK_ERR_FAILURE]	 = "failure",
	[XEN_TPMBK_ERR_SIZE]	 = "bad size",
	[XEN_TPMBK_ERR_TAG]	 = "bad tag",
	[XEN_TPMBK_ERR_LOCALITY] = "locality refused",
};

/* ---------------------------------------------------------------------
 * Answers to the guest. All with tpmif->lock held and the page mapped.
 */

static void notify_guest_locked(struct xen_tpmif *tpmif)
{
	notify_remote_via_irq(tpmif->irq);
}

static void answer_error_locked(struct xen_tpmif *tpmif, u32 cmd_len,
				enum xen_tpmbk_error err)
{
	u8 rsp[XEN_TPMBK_TPM_HDR_SIZE];
	u32 len;

	len = xen_tpmbk_error_response(rsp, tpmif->cmd, cmd_len, err);
	xen_tpmbk_shr_put_response(tpmif->page, rsp, len);
	notify_guest_locked(tpmif);
	tpmif->failed++;
}

static void end_command_locked(struct xen_tpmif *tpmif)
{
	tpmif->cmd_state = XEN_TPMBK_CMD_NONE;
	tpmif->cancel_pending = false;
	tpmif->cancel_forwarded = false;
	cancel_delayed_work(&tpmif->watchdog);
}

/**
 * xen_tpmif_fail_locked() - answer the current command with a TPM error
 * @tpmif: the device, lock held
 * @err:   why
 *
 * Does nothing without a current command. A response from the server
 * that arrives later finds no command and is dropped (-ESTALE).
 */
void xen_tpmif_fail_locked(struct xen_tpmif *tpmif, enum xen_tpmbk_error err)
{
	lockdep_assert_held(&tpmif->lock);

	if (tpmif->cmd_state == XEN_TPMBK_CMD_NONE)
		return;
	if (tpmif->connected)
		answer_error_locked(tpmif, tpmif->cmd_len, err);
	end_command_locked(tpmif);
}

/**
 * xen_tpmif_respond_locked() - hand the server's response to the guest
 * @tpmif: the device, lock held, a command sent to the server
 * @rsp:   the response, validated by the caller
 * @len:   its length
 *
 * Return: 0, or -ENODEV when the guest is no longer connected.
 */
int xen_tpmif_respond_locked(struct xen_tpmif *tpmif, const u8 *rsp, u32 len)
{
	lockdep_assert_held(&tpmif->lock);

	if (!tpmif->connected)
		return -ENODEV;
	xen_tpmbk_shr_put_response(tpmif->page, rsp, len);
	notify_guest_locked(tpmif);
	end_command_locked(tpmif);
	return 0;
}

/**
 * xen_tpmif_arm_watchdog_locked() - (re)start the watchdog for the command
 * @tpmif: the device, lock held, a command in hand
 *
 * Called when a command arrives and when a server attaches to a device
 * holding one: the deadline is recomputed from the module parameters.
 */
void xen_tpmif_arm_watchdog_locked(struct xen_tpmif *tpmif)
{
	unsigned long now = jiffies;

	lockdep_assert_held(&tpmif->lock);

	if (tpmif->gone || tpmif->cmd_state == XEN_TPMBK_CMD_NONE)
		return;
	tpmif->deadline = xen_tpmbk_cmd_deadline(tpmif->attached, now,
						 tpmif->unattached_since,
						 attach_grace(), cmd_timeout());
	mod_delayed_work(system_wq, &tpmif->watchdog, tpmif->deadline - now);
}

static void xen_tpmif_watchdog(struct work_struct *work)
{
	struct xen_tpmif *tpmif = container_of(to_delayed_work(work),
					       struct xen_tpmif, watchdog);
	unsigned long now = jiffies;

	mutex_lock(&tpmif->lock);
	if (tpmif->cmd_state == XEN_TPMBK_CMD_NONE)
		goto out_unlock;
	if (time_before(now, tpmif->deadline)) {
		/* Re-armed by an attach meanwhile. */
		mod_delayed_work(system_wq, &tpmif->watchdog,
				 tpmif->deadline - now);
		goto out_unlock;
	}
	pr_warn_ratelimited("dom%u vtpm%u: command %u failed: %s\n",
			    tpmif->domid, tpmif->devid, tpmif->seq,
			    tpmif->attached ? "server did not answer in time" :
					      "no server attached");
	xen_tpmif_fail_locked(tpmif, XEN_TPMBK_ERR_FAILURE);
out_unlock:
	mutex_unlock(&tpmif->lock);
}

/* ---------------------------------------------------------------------
 * Events from the guest
 */

static void accept_command_locked(struct xen_tpmif *tpmif,
				  const struct xen_tpmbk_shr *shr)
{
	enum xen_tpmbk_verdict verdict;
	u32 copied;

	/* Copy first: the guest may rewrite the page while we validate. */
	copied = xen_tpmbk_shr_copy_command(tpmif->page, shr, tpmif->cmd);
	verdict = xen_tpmbk_check_command(tpmif->cmd, shr->length, shr->locality);
	if (verdict != XEN_TPMBK_CMD_OK) {
		enum xen_tpmbk_error err = xen_tpmbk_verdict_error(verdict);

		pr_warn_ratelimited("dom%u vtpm%u: command refused (%s): length %u, locality %u\n",
				    tpmif->domid, tpmif->devid,
				    xen_tpmbk_error_names[err], shr->length,
				    shr->locality);
		answer_error_locked(tpmif, copied, err);
		return;
	}

	tpmif->cmd_len = shr->length;
	tpmif->locality = shr->locality;
	tpmif->seq++;
	tpmif->cmd_state = XEN_TPMBK_CMD_QUEUED;
	tpmif->cancel_pending = false;
	tpmif->cancel_forwarded = false;
	xen_tpmif_arm_watchdog_locked(tpmif);
	wake_up_interruptible(&tpmif->waitq);
}

/*
 * Look at the page and act on it. Returns true when the page held work
 * (the event was not spurious). A broken page sets tpmif->broken: the
 * caller then leaves the event channel masked.
 */
static bool handle_page_locked(struct xen_tpmif *tpmif)
{
	struct xen_tpmbk_shr shr;
	enum xen_tpmbk_action action;

	xen_tpmbk_shr_read(tpmif->page, &shr);
	action = xen_tpmbk_event_action(xen_tpmbk_shr_event(&shr),
					tpmif->cmd_state, tpmif->cancel_forwarded);
	switch (action) {
	case XEN_TPMBK_ACT_ACCEPT:
		accept_command_locked(tpmif, &shr);
		return true;
	case XEN_TPMBK_ACT_DROP:
		end_command_locked(tpmif);
		fallthrough;
	case XEN_TPMBK_ACT_IDLE:
		xen_tpmbk_shr_put_idle(tpmif->page);
		notify_guest_locked(tpmif);
		return true;
	case XEN_TPMBK_ACT_FORWARD_CANCEL:
		tpmif->cancel_pending = true;
		tpmif->cancel_forwarded = true;
		wake_up_interruptible(&tpmif->waitq);
		return true;
	case XEN_TPMBK_ACT_BROKEN:
		/* Buggy or malicious guest: stop listening to it. */
		tpmif->broken = true;
		pr_warn_ratelimited("dom%u vtpm%u: bad shared page (state %u, nr_extra_pages %u), event channel masked\n",
				    tpmif->domid, tpmif->devid, shr.state,
				    shr.nr_extra_pages);
		if (tpmif->dev)
			xenbus_dev_error(tpmif->dev, -EPROTO,
					 "bad shared page state %u, nr_extra_pages %u",
					 shr.state, shr.nr_extra_pages);
		return false;
	case XEN_TPMBK_ACT_IGNORE:
	default:
		return false;
	}
}

static void xen_tpmif_event_work(struct work_struct *work)
{
	struct xen_tpmif *tpmif = container_of(work, struct xen_tpmif,
					       event_work);
	unsigned int eoi_flags = XEN_EOI_FLAG_SPURIOUS;

	mutex_lock(&tpmif->lock);
	/* Disconnected meanwhile (the irq is gone), or masked for good. */
	if (!tpmif->connected || tpmif->broken)
		goto out_unlock;
	/* We've seen work on the page, so clear the spurious eoi flag. */
	if (handle_page_locked(tpmif))
		eoi_flags = 0;
	if (!tpmif->broken)
		xen_irq_lateeoi(tpmif->irq, eoi_flags);
out_unlock:
	mutex_unlock(&tpmif->lock);
}

static irqreturn_t xen_tpmif_interrupt(int irq, void *dev_id)
{
	struct xen_tpmif *tpmif = dev_id;

	queue_work(system_wq, &tpmif->event_work);
	return IRQ_HANDLED;
}

/**
 * xen_tpmif_process_pending() - act on a command posted before we listened
 * @tpmif: the device, just connected
 *
 * The frontend submits its first command right after Initialised; its
 * notify reached an unbound port and Xen dropped it. No EOI: no event
 * was delivered.
 */
void xen_tpmif_process_pending(struct xen_tpmif *tpmif)
{
	mutex_lock(&tpmif->lock);
	if (tpmif->connected && !tpmif->broken)
		handle_page_locked(tpmif);
	mutex_unlock(&tpmif->lock);
}

/* ---------------------------------------------------------------------
 * Connection
 */

/**
 * xen_tpmif_connect() - map the shared page and bind the event channel
 * @tpmif:    the device, not connected
 * @ring_ref: grant reference of the page
 * @evtchn:   the frontend's event channel port
 *
 * Errors are reported with xenbus_dev_fatal() at the failing step.
 *
 * Return: 0 or a negative errno.
 */
int xen_tpmif_connect(struct xen_tpmif *tpmif, grant_ref_t ring_ref,
		      evtchn_port_t evtchn)
{
	struct xenbus_device *dev = tpmif->dev;
	struct xen_tpmbk_shr shr;
	void *page;
	int err;

	/* Reports its own failure with xenbus_dev_fatal(). */
	err = xenbus_map_ring_valloc(dev, &ring_ref, 1, &page);
	if (err)
		return err;

	xen_tpmbk_shr_read(page, &shr);
	if (xen_tpmbk_shr_event(&shr) == XEN_TPMBK_EV_BROKEN) {
		err = -EPROTO;
		xenbus_dev_fatal(dev, err, "shared page: state %u, nr_extra_pages %u",
				 shr.state, shr.nr_extra_pages);
		goto err_unmap_page;
	}

	/* Held across the bind: an early event waits until we are ready. */
	mutex_lock(&tpmif->lock);
	err = bind_interdomain_evtchn_to_irqhandler_lateeoi(dev, evtchn,
							    xen_tpmif_interrupt,
							    0, "xen-tpmback",
							    tpmif);
	if (err < 0) {
		mutex_unlock(&tpmif->lock);
		xenbus_dev_fatal(dev, err, "binding event channel %u", evtchn);
		goto err_unmap_page;
	}
	tpmif->irq = err;
	tpmif->page = page;
	tpmif->connected = true;
	tpmif->broken = false;
	mutex_unlock(&tpmif->lock);
	return 0;

err_unmap_page:
	xenbus_unmap_ring_vfree(dev, page);
	return err;
}

/**
 * xen_tpmif_disconnect() - unbind the event channel and unmap the page
 * @tpmif: the device
 *
 * A command in hand is answered with a TPM failure first, so that the
 * guest (which may be waiting in its own teardown) never hangs on it.
 * Idempotent.
 */
void xen_tpmif_disconnect(struct xen_tpmif *tpmif)
{
	void *page;
	int irq;

	mutex_lock(&tpmif->lock);
	if (!tpmif->connected) {
		mutex_unlock(&tpmif->lock);
		return;
	}
	xen_tpmif_fail_locked(tpmif, XEN_TPMBK_ERR_FAILURE);
	tpmif->connected = false;
	page = tpmif->page;
	tpmif->page = NULL;
	irq = tpmif->irq;
	tpmif->irq = -1;
	mutex_unlock(&tpmif->lock);

	/* From here on no event work touches the page or the irq. */
	unbind_from_irqhandler(irq, tpmif);
	cancel_work_sync(&tpmif->event_work);
	xenbus_unmap_ring_vfree(tpmif->dev, page);
}

/* ---------------------------------------------------------------------
 * Lifetime
 */

/**
 * xen_tpmif_init() - initialise a freshly allocated device
 * @tpmif: zeroed memory
 */
void xen_tpmif_init(struct xen_tpmif *tpmif)
{
	kref_init(&tpmif->kref);
	INIT_LIST_HEAD(&tpmif->node);
	mutex_init(&tpmif->lock);
	init_waitqueue_head(&tpmif->waitq);
	INIT_WORK(&tpmif->event_work, xen_tpmif_event_work);
	INIT_DELAYED_WORK(&tpmif->watchdog, xen_tpmif_watchdog);
	tpmif->irq = -1;
	tpmif->unattached_since = jiffies;
}

/**
 * xen_tpmif_get() - take a reference on a device
 * @tpmif: the device
 */
void xen_tpmif_get(struct xen_tpmif *tpmif)
{
	kref_get(&tpmif->kref);
}

static void xen_tpmif_release(struct kref *kref)
{
	struct xen_tpmif *tpmif = container_of(kref, struct xen_tpmif, kref);

	/* remove() cancelled both works and nothing re-arms a gone device. */
	mutex_destroy(&tpmif->lock);
	kfree(tpmif);
}

/**
 * xen_tpmif_put() - drop a reference; the last one frees the device
 * @tpmif: the device
 */
void xen_tpmif_put(struct xen_tpmif *tpmif)
{
	kref_put(&tpmif->kref, xen_tpmif_release);
}

/* ---------------------------------------------------------------------
 * Module
 */

static int __init xen_tpmbk_init(void)
{
	int err;

	if (!xen_domain())
		return -ENODEV;

	xen_tpmbk_params_init();

	err = xen_tpmbk_chardev_init();
	if (err)
		return err;

	err = xen_tpmbk_xenbus_init();
	if (err)
		goto err_chardev_exit;

	return 0;

err_chardev_exit:
	xen_tpmbk_chardev_exit();
	return err;
}
module_init(xen_tpmbk_init);

static void __exit xen_tpmbk_exit(void)
{
	xen_tpmbk_xenbus_exit();
	xen_tpmbk_chardev_exit();
}
module_exit(xen_tpmbk_exit);

MODULE_DESCRIPTION("Xen vTPM backend (tpmif v2) with a userspace TPM server");
MODULE_LICENSE("GPL");
