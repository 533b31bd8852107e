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

/* Longest value accepted for any timeout: 10 minutes. */
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
 * How long a command is held for an attached server that has not read a
 * message yet, counted from the command's arrival (or from the attach, for
 * a command held before). The server attaches first (the kernel names the
 * vTPM it serves), then opens and starts that vTPM: a fresh TPM 1.2 takes
 * libtpms about a second on an idle host, and 50 s have been seen under a
 * loaded testbed; a migrated guest's server may first wait for the
 * source's lease. The guest's first commands wait for it, not the command
 * timeout. 100 s stays below the 120 s the unmodified frontend waits for
 * a TPM 1.2 command whose duration it does not know yet.
 */
static unsigned int start_timeout_ms = 100000;
module_param(start_timeout_ms, uint, 0644);
MODULE_PARM_DESC(start_timeout_ms,
		 "Hold a command this long for an attached server to read its first one (ms, default 100000, 100..600000)");

/*
 * How long the attached server has for a command other than a key
 * generation. A software TPM answers those in milliseconds; a TPM
 * 2.0-aware frontend cancels them after 0.75 or 2 s, the unmodified one
 * after 120 s. 10 s leaves a guest being saved half of the 20 s its
 * freezer gives a task waiting for the TPM.
 */
static unsigned int cmd_timeout_ms = 10000;
module_param(cmd_timeout_ms, uint, 0644);
MODULE_PARM_DESC(cmd_timeout_ms,
		 "Fail a command the server has not answered in this time (ms, default 10000, 100..600000)");

/*
 * How long the attached server has for a key generation (TPM2_CreatePrimary,
 * TPM2_Create, TPM2_CreateLoaded and their TPM 1.2 kin): RSA prime search
 * in software takes seconds, more under load. The unmodified frontend
 * cancels after 120 s, a TPM 2.0-aware one after 300 s. A guest being
 * suspended or shut down gets an answer within 5 s regardless.
 */
static unsigned int keygen_timeout_ms = 120000;
module_param(keygen_timeout_ms, uint, 0644);
MODULE_PARM_DESC(keygen_timeout_ms,
		 "Fail a key generation the server has not answered in this time (ms, default 120000, 100..600000)");

/* A server that let a command time out has this long to read the next. */
#define XEN_TPMBK_STALLED_MS		1000U
/* After the guest cancelled, the server has this long to answer. */
#define XEN_TPMBK_CANCEL_MS		2000U
/* Longest wait for a command while the guest suspends or shuts down. */
#define XEN_TPMBK_DRAIN_MS		5000U

/**
 * xen_tpmif_timeouts() - the watchdog's periods, from the module parameters
 * @to: filled in, in jiffies
 *
 * The parameters may be changed at run time; they are clamped here.
 */
void xen_tpmif_timeouts(struct xen_tpmbk_timeouts *to)
{
	to->attach_grace = msecs_to_jiffies(min(READ_ONCE(attach_timeout_ms),
						XEN_TPMBK_MAX_TIMEOUT_MS));
	to->start = msecs_to_jiffies(clamp(READ_ONCE(start_timeout_ms), 100U,
					   XEN_TPMBK_MAX_TIMEOUT_MS));
	to->cmd = msecs_to_jiffies(clamp(READ_ONCE(cmd_timeout_ms), 100U,
					 XEN_TPMBK_MAX_TIMEOUT_MS));
	to->keygen = msecs_to_jiffies(clamp(READ_ONCE(keygen_timeout_ms), 100U,
					    XEN_TPMBK_MAX_TIMEOUT_MS));
	to->stalled = msecs_to_jiffies(XEN_TPMBK_STALLED_MS);
	to->cancel = msecs_to_jiffies(XEN_TPMBK_CANCEL_MS);
	to->drain = msecs_to_jiffies(XEN_TPMBK_DRAIN_MS);
}

static void check_timeout_param(const char *name, unsigned int val,
				unsigned int lo)
{
	if (val < lo || val > XEN_TPMBK_MAX_TIMEOUT_MS)
		pr_info("%s %u clamped to %u..%u\n", name, val, lo,
			XEN_TPMBK_MAX_TIMEOUT_MS);
}

/**
 * xen_tpmbk_params_init() - report module parameters out of range
 *
 * The parameters may be changed at run time; they are clamped where used.
 */
void xen_tpmbk_params_init(void)
{
	check_timeout_param("attach_timeout_ms", attach_timeout_ms, 0);
	check_timeout_param("start_timeout_ms", start_timeout_ms, 100);
	check_timeout_param("cmd_timeout_ms", cmd_timeout_ms, 100);
	check_timeout_param("keygen_timeout_ms", keygen_timeout_ms, 100);
}

/**
 * xen_tpmif_printk() - log about a device
 * @tpmif: the device
 * @level: KERN_*
 * @fmt:   format
 *
 * With the xenbus device's name while it exists, else as a warning with
 * the domid and devid (only the watchdog and a detach speak of a device
 * after its removal).
 */
void xen_tpmif_printk(struct xen_tpmif *tpmif, const char *level,
		      const char *fmt, ...)
{
	struct xenbus_device *dev = READ_ONCE(tpmif->dev);
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (dev)
		dev_printk(level, &dev->dev, "%pV", &vaf);
	else
		pr_warn("dom%u vtpm%u: %pV", tpmif->domid, tpmif->devid, &vaf);
	va_end(args);
}

static const char *const xen_tpmbk_error_names[] = {
	[XEN_TPMBK_ERR_FAILURE]	 = "failure",
	[XEN_TPMBK_ERR_SIZE]	 = "bad size",
	[XEN_TPMBK_ERR_TAG]	 = "bad tag",
	[XEN_TPMBK_ERR_LOCALITY] = "locality refused",
};

static const char *const xen_tpmbk_why_names[] = {
	[XEN_TPMBK_WHY_NONE]	   = "none",
	[XEN_TPMBK_WHY_NO_SERVER]  = "no server attached",
	[XEN_TPMBK_WHY_STARTING]   = "server still starting did not read it",
	[XEN_TPMBK_WHY_TIMEOUT]	   = "server did not answer in time",
	[XEN_TPMBK_WHY_STALLED]	   = "stalled server did not read it",
	[XEN_TPMBK_WHY_CANCELLED]  = "cancelled, server did not answer",
	[XEN_TPMBK_WHY_DRAINING]   = "guest suspending or shutting down",
	[XEN_TPMBK_WHY_DETACHED]   = "server went away",
	[XEN_TPMBK_WHY_MALFORMED]  = "malformed response from the server",
	[XEN_TPMBK_WHY_REFUSED]	   = "refused",
	[XEN_TPMBK_WHY_DISCONNECT] = "frontend disconnected",
};

/* ---------------------------------------------------------------------
 * Answers to the guest and the side effects of the command state machine.
 * All with tpmif->lock held.
 */

/**
 * xen_tpmif_put_response_locked() - hand a response to the guest
 * @tpmif: the device, lock held
 * @rsp:   the response, validated
 * @len:   its length
 *
 * Does nothing when the page is not mapped.
 */
void xen_tpmif_put_response_locked(struct xen_tpmif *tpmif, const u8 *rsp,
				   u32 len)
{
	lockdep_assert_held(&tpmif->lock);

	if (!tpmif->connected)
		return;
	xen_tpmbk_shr_put_response(tpmif->page, rsp, len);
	notify_remote_via_irq(tpmif->irq);
}

/**
 * xen_tpmif_apply_locked() - perform the side effects of a transition
 * @tpmif: the device, lock held
 * @fx:	   what xen_tpmbk_cmd_*() asked for
 *
 * XEN_TPMBK_FX_ACCEPT, _RESPOND and _BROKEN are the caller's.
 */
void xen_tpmif_apply_locked(struct xen_tpmif *tpmif, struct xen_tpmbk_fx fx)
{
	struct xen_tpmbk_cmd *c = &tpmif->cmd;

	lockdep_assert_held(&tpmif->lock);

	if (fx.flags & XEN_TPMBK_FX_DISARM)
		cancel_delayed_work(&tpmif->watchdog);
	if (fx.flags & XEN_TPMBK_FX_ERROR) {
		u8 rsp[TPM_HEADER_SIZE];
		u32 len;

		len = xen_tpmbk_error_response(rsp, tpmif->cmd_buf,
					       tpmif->cmd_copied, fx.err);
		xen_tpmif_put_response_locked(tpmif, rsp, len);
		tpmif->failed++;
		if (fx.why == XEN_TPMBK_WHY_REFUSED)
			xen_tpmif_warn_rl(tpmif, "command refused (%s)\n",
					  xen_tpmbk_error_names[fx.err]);
		else
			xen_tpmif_warn_rl(tpmif, "command %u failed: %s\n",
					  c->seq, xen_tpmbk_why_names[fx.why]);
	}
	if ((fx.flags & XEN_TPMBK_FX_IDLE) && tpmif->connected) {
		xen_tpmbk_shr_put_idle(tpmif->page);
		notify_remote_via_irq(tpmif->irq);
	}
	if ((fx.flags & XEN_TPMBK_FX_ARM) && !tpmif->gone) {
		unsigned long now = jiffies;

		mod_delayed_work(xen_tpmbk_wq, &tpmif->watchdog,
				 time_after(c->deadline, now) ?
				 c->deadline - now : 0);
	}
	if (fx.flags & XEN_TPMBK_FX_WAKE)
		wake_up_interruptible(&tpmif->waitq);
}

static void xen_tpmif_watchdog(struct work_struct *work)
{
	struct xen_tpmif *tpmif = container_of(to_delayed_work(work),
					       struct xen_tpmif, watchdog);
	struct xen_tpmbk_timeouts to;

	xen_tpmif_timeouts(&to);
	mutex_lock(&tpmif->lock);
	xen_tpmif_apply_locked(tpmif, xen_tpmbk_cmd_watchdog(&tpmif->cmd,
							     jiffies, &to));
	mutex_unlock(&tpmif->lock);
}

/**
 * xen_tpmif_set_draining() - the guest is (no longer) being suspended
 * @tpmif:    the device
 * @draining: true while the guest's control/shutdown node is set
 */
void xen_tpmif_set_draining(struct xen_tpmif *tpmif, bool draining)
{
	struct xen_tpmbk_timeouts to;

	xen_tpmif_timeouts(&to);
	mutex_lock(&tpmif->lock);
	xen_tpmif_apply_locked(tpmif, xen_tpmbk_cmd_drain(&tpmif->cmd, draining,
							  jiffies, &to));
	mutex_unlock(&tpmif->lock);
}

/* ---------------------------------------------------------------------
 * Events from the guest
 */

static void accept_command_locked(struct xen_tpmif *tpmif,
				  const struct xen_tpmbk_shr *shr,
				  const struct xen_tpmbk_timeouts *to)
{
	enum xen_tpmbk_verdict verdict;
	enum xen_tpmbk_cmd_class cls;

	/* Copy first: the guest may rewrite the page while we validate. */
	tpmif->cmd_copied = xen_tpmbk_shr_copy_command(tpmif->page, shr,
						       tpmif->cmd_buf);
	verdict = xen_tpmbk_check_command(tpmif->cmd_buf, shr->length,
					  shr->locality);
	cls = xen_tpmbk_cmd_class(tpmif->cmd_buf, tpmif->cmd_copied);
	xen_tpmif_apply_locked(tpmif,
			       xen_tpmbk_cmd_accept(&tpmif->cmd, verdict,
						    shr->length, shr->locality,
						    cls, jiffies, to));
}

/*
 * Look at the page and act on it. Returns true when the page held work
 * (the event was not spurious). A broken page sets tpmif->broken: the
 * caller then leaves the event channel masked.
 */
static bool handle_page_locked(struct xen_tpmif *tpmif)
{
	struct xen_tpmbk_timeouts to;
	struct xen_tpmbk_shr shr;
	struct xen_tpmbk_fx fx;

	xen_tpmif_timeouts(&to);
	xen_tpmbk_shr_read(tpmif->page, &shr);
	fx = xen_tpmbk_cmd_event(&tpmif->cmd, xen_tpmbk_shr_event(&shr),
				 jiffies, &to);
	if (fx.flags & XEN_TPMBK_FX_BROKEN) {
		/* Buggy or malicious guest: stop listening to it. */
		tpmif->broken = true;
		xen_tpmif_warn_rl(tpmif, "bad page (state %u, nr_extra_pages %u), channel masked\n",
				  shr.state, shr.nr_extra_pages);
		if (tpmif->dev)
			xenbus_dev_error(tpmif->dev, -EPROTO,
					 "bad shared page state %u, nr_extra_pages %u",
					 shr.state, shr.nr_extra_pages);
		return false;
	}
	if (fx.flags & XEN_TPMBK_FX_ACCEPT) {
		accept_command_locked(tpmif, &shr, &to);
		return true;
	}
	xen_tpmif_apply_locked(tpmif, fx);
	return fx.flags != 0;
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

	queue_work(xen_tpmbk_wq, &tpmif->event_work);
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

	/* set_backend_state() disconnects before every connect. */
	if (WARN_ON_ONCE(READ_ONCE(tpmif->connected)))
		return -EISCONN;

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
							    0, tpmif->irq_name,
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
 * Idempotent: keyed on whether the page is mapped, never on the xenbus
 * state, so that remove() and every connect can call it unconditionally.
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
	xen_tpmif_apply_locked(tpmif, xen_tpmbk_cmd_disconnect(&tpmif->cmd));
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

/*
 * Every device from xen_tpmif_init() to its release: an exact leak count
 * for tests that create and destroy guests by the hundred (dom0's slab
 * totals move by more than a device with the rest of the system).
 */
atomic_t xen_tpmbk_nr_devices = ATOMIC_INIT(0);

/**
 * xen_tpmif_init() - initialise a freshly allocated device
 * @tpmif: zeroed memory, freed by the last xen_tpmif_put()
 */
void xen_tpmif_init(struct xen_tpmif *tpmif)
{
	atomic_inc(&xen_tpmbk_nr_devices);
	kref_init(&tpmif->kref);
	INIT_LIST_HEAD(&tpmif->node);
	mutex_init(&tpmif->lock);
	init_waitqueue_head(&tpmif->waitq);
	INIT_WORK(&tpmif->event_work, xen_tpmif_event_work);
	INIT_DELAYED_WORK(&tpmif->watchdog, xen_tpmif_watchdog);
	/* Ten guest-triggered messages per device, then one per 5 s. */
	ratelimit_state_init(&tpmif->log_rs, 5 * HZ, 10);
	tpmif->irq = -1;
	xen_tpmbk_cmd_init(&tpmif->cmd, jiffies);
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
	atomic_dec(&xen_tpmbk_nr_devices);
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

/* Event handling and watchdogs of every device; not the system's queue. */
struct workqueue_struct *xen_tpmbk_wq;

static int __init xen_tpmbk_init(void)
{
	int err;

	if (!xen_domain())
		return -ENODEV;

	xen_tpmbk_params_init();

	xen_tpmbk_wq = alloc_workqueue("xen-tpmback", 0, 0);
	if (!xen_tpmbk_wq)
		return -ENOMEM;

	err = xen_tpmbk_chardev_init();
	if (err)
		goto err_destroy_wq;

	err = xen_tpmbk_xenbus_init();
	if (err)
		goto err_chardev_exit;

	return 0;

err_chardev_exit:
	xen_tpmbk_chardev_exit();
err_destroy_wq:
	destroy_workqueue(xen_tpmbk_wq);
	return err;
}
module_init(xen_tpmbk_init);

static void __exit xen_tpmbk_exit(void)
{
	xen_tpmbk_xenbus_exit();
	xen_tpmbk_chardev_exit();
	destroy_workqueue(xen_tpmbk_wq);
	/* no device is left once the driver is gone and no fd is open */
	WARN(atomic_read(&xen_tpmbk_nr_devices), "%d devices never freed\n",
	     atomic_read(&xen_tpmbk_nr_devices));
}
module_exit(xen_tpmbk_exit);

MODULE_DESCRIPTION("Xen vTPM backend (tpmif v2) with a userspace TPM server");
MODULE_LICENSE("GPL");
