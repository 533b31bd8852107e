// SPDX-License-Identifier: GPL-2.0
/*
 * xen-tpmback: xenbus glue. Probe, remove, the frontend's state changes,
 * the toolstack's "online" node, sysfs attributes and uevent variables.
 *
 * Every change of the backend's xenbus state goes through
 * set_backend_state(); the graph it walks is drawn in protocol.c.
 *
 * Serialisation: the frontend's state watch and our "online" and
 * "control/shutdown" watches run in the xenwatch thread, but probe may run
 * from module load at the same time as the online watch fires, and a
 * deferred connect runs from a work item, so every state change also holds
 * xen_tpmif.state_lock. Teardown never depends on the cached xenbus state:
 * each step disconnects if connected (xen_tpmbk_step_work()).
 */

#define pr_fmt(fmt) "xen-tpmback: " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <xen/xenbus.h>

#include "common.h"

/*
 * Connects (map + bind) a guest may cause: a burst (module reloads,
 * resumes), then one per 5 s. A guest that re-handshakes faster only
 * delays its own connects.
 */
#define XEN_TPMBK_CONNECT_BURST		8
#define XEN_TPMBK_CONNECT_PERIOD	(5 * HZ)

/*
 * /sys/kernel/debug/xen-tpmback/: "devices", the devices allocated and
 * not yet freed (read-only), and with fault injection built in,
 * "fail_switch_connected": writing N makes the next N switches to
 * Connected fail as a xenstore error would (testing only).
 */
static struct dentry *xen_tpmbk_debugfs;

#ifdef CONFIG_XEN_TPMDEV_BACKEND_FAULT_INJECTION
static atomic_t fail_switch_connected = ATOMIC_INIT(0);

static bool inject_switch_failure(enum xenbus_state state)
{
	return state == XenbusStateConnected &&
	       atomic_add_unless(&fail_switch_connected, -1, 0);
}
#else
static bool inject_switch_failure(enum xenbus_state state)
{
	return false;
}
#endif

static void xen_tpmbk_debugfs_init(void)
{
	xen_tpmbk_debugfs = debugfs_create_dir("xen-tpmback", NULL);
	debugfs_create_atomic_t("devices", 0400, xen_tpmbk_debugfs,
				&xen_tpmbk_nr_devices);
#ifdef CONFIG_XEN_TPMDEV_BACKEND_FAULT_INJECTION
	debugfs_create_atomic_t("fail_switch_connected", 0600,
				xen_tpmbk_debugfs, &fail_switch_connected);
#endif
}

static void xen_tpmbk_debugfs_exit(void)
{
	debugfs_remove_recursive(xen_tpmbk_debugfs);
}

/*
 * Returns 0 when xenstore has the new state. xenbus_switch_state() reports
 * its own failure (xenbus_dev_fatal()) and leaves dev->state as it was.
 */
static int backend_switch_state(struct xen_tpmif *tpmif,
				enum xenbus_state state)
{
	struct xenbus_device *dev = tpmif->dev;

	dev_dbg(&dev->dev, "%s -> %s\n", xenbus_strstate(dev->state),
		xenbus_strstate(state));
	if (inject_switch_failure(state)) {
		/* What xenbus_switch_state() does when xenstore fails. */
		xenbus_dev_fatal(dev, -EIO, "writing new state (injected)");
		return -EIO;
	}
	xenbus_switch_state(dev, state);
	return dev->state == state ? 0 : -EIO;
}

/* Map the page, bind the event channel, say ready. */
static int connect(struct xen_tpmif *tpmif)
{
	struct xenbus_device *dev = tpmif->dev;
	unsigned int ring_ref, evtchn;
	int err;

	err = xenbus_gather(XBT_NIL, dev->otherend,
			    "ring-ref", "%u", &ring_ref,
			    "event-channel", "%u", &evtchn, NULL);
	if (err) {
		xenbus_dev_fatal(dev, err, "reading %s/ring-ref and event-channel",
				 dev->otherend);
		return err;
	}
	if (xenbus_read_unsigned(dev->otherend, "feature-protocol-v2", 0) != 1) {
		err = -EINVAL;
		xenbus_dev_fatal(dev, err, "vTPM protocol 2 required");
		return err;
	}

	err = xen_tpmif_connect(tpmif, ring_ref, evtchn);
	if (err)
		return err;

	err = xenbus_printf(XBT_NIL, dev->nodename, "ready", "%u", 1);
	if (err) {
		xenbus_dev_fatal(dev, err, "writing %s/ready", dev->nodename);
		goto err_disconnect;
	}

	tpmif->ring_ref = ring_ref;
	tpmif->evtchn = evtchn;
	xen_tpmif_info_rl(tpmif, "connected (ring-ref %u, event-channel %u)\n",
			  ring_ref, evtchn);
	return 0;

err_disconnect:
	xen_tpmif_disconnect(tpmif);
	return err;
}

/* Unbind and unmap if connected; keyed on the connection, idempotent. */
static void disconnect(struct xen_tpmif *tpmif)
{
	xen_tpmif_disconnect(tpmif);
}

/* May the guest cause another map + bind now? Else retry later. */
static bool connect_allowed(struct xen_tpmif *tpmif)
{
	unsigned long wait;

	if (xen_tpmbk_bucket_take(&tpmif->connect_bucket, jiffies,
				  XEN_TPMBK_CONNECT_BURST,
				  XEN_TPMBK_CONNECT_PERIOD, &wait))
		return true;
	/* Its own rate limit: not drowned by the device's connect messages. */
	dev_warn_ratelimited(&tpmif->dev->dev,
			     "frontend reconnects too often, next connect deferred\n");
	queue_delayed_work(xen_tpmbk_wq, &tpmif->connect_retry, wait);
	return false;
}

/*
 * Walk from the current state to @target, one allowed transition at a
 * time (the graph is in protocol.c):
 *
 *   Initialising --> InitWait <-> Connected
 *   InitWait, Connected --> Closing --> Closed, InitWait
 *   Closed --> InitWait;  Initialising --> Closed
 *
 * Every step first disconnects if connected, whatever the cached xenbus
 * state says (xen_tpmbk_step_work()); entering Connected then connects.
 * A failed connect has already gone Closing through xenbus_dev_fatal();
 * a connection whose switch to Connected failed in xenstore is torn down
 * at once.
 */
static void set_backend_state(struct xen_tpmif *tpmif, enum xenbus_state target)
{
	struct xenbus_device *dev = tpmif->dev;

	lockdep_assert_held(&tpmif->state_lock);

	while (dev->state != target) {
		enum xenbus_state cur = dev->state;
		enum xenbus_state next = xen_tpmbk_next_state(cur, target);
		unsigned int work;

		if (next == cur) {
			dev_warn(&dev->dev, "no transition from %s to %s\n",
				 xenbus_strstate(cur), xenbus_strstate(target));
			return;
		}
		work = xen_tpmbk_step_work(next, READ_ONCE(tpmif->connected));
		if (work & XEN_TPMBK_STEP_CONNECT && !connect_allowed(tpmif))
			return;
		if (work & XEN_TPMBK_STEP_DISCONNECT)
			disconnect(tpmif);
		if (work & XEN_TPMBK_STEP_CONNECT && connect(tpmif))
			return;
		if (backend_switch_state(tpmif, next)) {
			/* Reported already; never stay connected unseen. */
			disconnect(tpmif);
			return;
		}
		if (next == XenbusStateConnected)
			xen_tpmif_process_pending(tpmif);
	}
}

/* Re-read the frontend's state: a deferred connect, or a retry. */
static void sync_with_frontend(struct xen_tpmif *tpmif)
{
	struct xenbus_device *dev = tpmif->dev;
	enum xenbus_state target;

	lockdep_assert_held(&tpmif->state_lock);

	target = xen_tpmbk_frontend_target(xenbus_read_driver_state(dev->otherend),
					   dev->state, xenbus_dev_is_online(dev));
	set_backend_state(tpmif, target);
}

static void connect_retry(struct work_struct *work)
{
	struct xen_tpmif *tpmif = container_of(to_delayed_work(work),
					       struct xen_tpmif, connect_retry);

	mutex_lock(&tpmif->state_lock);
	sync_with_frontend(tpmif);
	mutex_unlock(&tpmif->state_lock);
}

/* The frontend published a handshake different from the one we serve. */
static bool frontend_rehandshake(struct xen_tpmif *tpmif)
{
	struct xenbus_device *dev = tpmif->dev;
	unsigned int ring_ref, evtchn;

	if (xenbus_gather(XBT_NIL, dev->otherend,
			  "ring-ref", "%u", &ring_ref,
			  "event-channel", "%u", &evtchn, NULL))
		return false;
	return ring_ref != tpmif->ring_ref || evtchn != tpmif->evtchn;
}

static void frontend_changed(struct xenbus_device *dev,
			     enum xenbus_state frontend_state)
{
	struct xen_tpmif *tpmif = dev_get_drvdata(&dev->dev);
	enum xenbus_state target;

	mutex_lock(&tpmif->state_lock);
	dev_dbg(&dev->dev, "frontend %s\n", xenbus_strstate(frontend_state));

	target = xen_tpmbk_frontend_target(frontend_state, dev->state,
					   xenbus_dev_is_online(dev));

	/*
	 * Initialised while we are Connected: either the same watch fired
	 * twice (nothing to do), or the frontend set up a new page and event
	 * channel without closing first; then serve the new ones.
	 */
	if (target == XenbusStateConnected && dev->state == XenbusStateConnected &&
	    frontend_state == XenbusStateInitialised &&
	    frontend_rehandshake(tpmif))
		set_backend_state(tpmif, XenbusStateInitWait);

	set_backend_state(tpmif, target);
	mutex_unlock(&tpmif->state_lock);
}

/*
 * The toolstack writes online=0 (and state=Closing on our node) to remove
 * the device, then waits 10 s for Closed. The frontend may be gone
 * already (xl destroy) and never move: reach Closed on our own.
 */
static void online_changed(struct xenbus_watch *watch, const char *path,
			   const char *token)
{
	struct xen_tpmif *tpmif = container_of(watch, struct xen_tpmif,
					       online_watch);

	if (xenbus_dev_is_online(tpmif->dev))
		return;

	mutex_lock(&tpmif->state_lock);
	set_backend_state(tpmif, XenbusStateClosed);
	mutex_unlock(&tpmif->state_lock);
}

/* How long a shutdown request keeps the device draining. */
#define XEN_TPMBK_DRAIN_WINDOW		(30 * HZ)

/*
 * The toolstack writes the guest's control/shutdown node ("suspend",
 * "poweroff", ...) to save, migrate or stop it; the guest acknowledges at
 * once by writing "" and only then freezes its tasks, which gives a task
 * waiting for the TPM 20 s. So any write after the watch's first (initial)
 * event, or a request still there, opens a drain window in which no
 * command waits long. A guest writing the node itself only shortens its
 * own waits.
 */
static void shutdown_changed(struct xenbus_watch *watch, const char *path,
			     const char *token)
{
	struct xen_tpmif *tpmif = container_of(watch, struct xen_tpmif,
					       shutdown_watch);
	bool request;
	char *val;

	val = xenbus_read(XBT_NIL, watch->node, "", NULL);
	request = !IS_ERR(val) && val[0];
	if (!IS_ERR(val))
		kfree(val);
	if (!tpmif->shutdown_events++ && !request)
		return;
	xen_tpmif_set_draining(tpmif, true);
	mod_delayed_work(xen_tpmbk_wq, &tpmif->drain_end,
			 XEN_TPMBK_DRAIN_WINDOW);
}

static void drain_end(struct work_struct *work)
{
	struct xen_tpmif *tpmif = container_of(to_delayed_work(work),
					       struct xen_tpmif, drain_end);

	xen_tpmif_set_draining(tpmif, false);
}

static int watch_shutdown(struct xen_tpmif *tpmif)
{
	struct xenbus_watch *watch = &tpmif->shutdown_watch;
	int err;

	watch->node = kasprintf(GFP_KERNEL, "/local/domain/%u/control/shutdown",
				tpmif->domid);
	if (!watch->node)
		return -ENOMEM;
	watch->callback = shutdown_changed;
	err = register_xenbus_watch(watch);
	if (err) {
		kfree(watch->node);
		watch->node = NULL;
	}
	return err;
}

static void unwatch(struct xenbus_watch *watch)
{
	if (!watch->node)
		return;
	/* Waits for a running callback; none can start afterwards. */
	unregister_xenbus_watch(watch);
	kfree(watch->node);
	watch->node = NULL;
}

static int read_identity(struct xen_tpmif *tpmif)
{
	struct xenbus_device *dev = tpmif->dev;
	char *uuid;
	int err;

	err = xenbus_scanf(XBT_NIL, dev->nodename, "handle", "%u", &tpmif->devid);
	if (err != 1) {
		err = err < 0 ? err : -EINVAL;
		xenbus_dev_fatal(dev, err, "reading %s/handle", dev->nodename);
		return err;
	}

	uuid = xenbus_read(XBT_NIL, dev->nodename, "uuid", NULL);
	if (IS_ERR(uuid)) {
		err = PTR_ERR(uuid);
		xenbus_dev_fatal(dev, err, "reading %s/uuid", dev->nodename);
		return err;
	}
	err = uuid_parse(uuid, &tpmif->uuid);
	if (err)
		xenbus_dev_fatal(dev, err, "parsing %s/uuid \"%s\"",
				 dev->nodename, uuid);
	kfree(uuid);
	return err;
}

static int xen_tpmbk_probe(struct xenbus_device *dev,
			   const struct xenbus_device_id *id)
{
	struct xen_tpmif *tpmif;
	int err;

	tpmif = kzalloc(sizeof(*tpmif), GFP_KERNEL);
	if (!tpmif) {
		xenbus_dev_fatal(dev, -ENOMEM, "allocating backend structure");
		return -ENOMEM;
	}
	xen_tpmif_init(tpmif);
	mutex_init(&tpmif->state_lock);
	INIT_DELAYED_WORK(&tpmif->connect_retry, connect_retry);
	INIT_DELAYED_WORK(&tpmif->drain_end, drain_end);
	xen_tpmbk_bucket_init(&tpmif->connect_bucket, jiffies,
			      XEN_TPMBK_CONNECT_BURST);
	tpmif->dev = dev;
	tpmif->domid = dev->otherend_id;
	dev_set_drvdata(&dev->dev, tpmif);

	err = read_identity(tpmif);
	if (err)
		goto err_put_tpmif;
	snprintf(tpmif->irq_name, sizeof(tpmif->irq_name), "xen-tpmback-%u-%u",
		 tpmif->domid, tpmif->devid);

	/* libxl gives the backend 10 s to reach InitWait: do it now. */
	err = xenbus_printf(XBT_NIL, dev->nodename, "feature-protocol-v2", "%u", 1);
	if (err) {
		xenbus_dev_fatal(dev, err, "writing %s/feature-protocol-v2",
				 dev->nodename);
		goto err_put_tpmif;
	}

	mutex_lock(&tpmif->state_lock);
	set_backend_state(tpmif, XenbusStateInitWait);
	mutex_unlock(&tpmif->state_lock);

	/* Reports its own failure with xenbus_dev_fatal(). */
	err = xenbus_watch_pathfmt(dev, &tpmif->online_watch, NULL,
				   online_changed, "%s/online", dev->nodename);
	if (err)
		goto err_put_tpmif;

	/* Without it only the shorter waits during a save are lost. */
	err = watch_shutdown(tpmif);
	if (err)
		dev_warn(&dev->dev, "cannot watch the guest's control/shutdown: %d\n",
			 err);

	xen_tpmbk_device_add(tpmif);
	dev_info(&dev->dev, "probed, uuid %pUb\n", &tpmif->uuid);
	return 0;

err_put_tpmif:
	dev_set_drvdata(&dev->dev, NULL);
	xen_tpmif_put(tpmif);
	return err;
}

static void xen_tpmbk_remove(struct xenbus_device *dev)
{
	struct xen_tpmif *tpmif = dev_get_drvdata(&dev->dev);

	unwatch(&tpmif->online_watch);
	unwatch(&tpmif->shutdown_watch);
	/* The frontend's watch is gone too (xenbus core): nothing re-queues. */
	cancel_delayed_work_sync(&tpmif->connect_retry);
	cancel_delayed_work_sync(&tpmif->drain_end);

	mutex_lock(&tpmif->state_lock);
	set_backend_state(tpmif, XenbusStateClosed);
	/* Whatever the state machine believes: as blkback, unconditionally. */
	disconnect(tpmif);
	mutex_unlock(&tpmif->state_lock);

	xen_tpmbk_device_del(tpmif);
	cancel_work_sync(&tpmif->event_work);
	cancel_delayed_work_sync(&tpmif->watchdog);

	mutex_lock(&tpmif->lock);
	WRITE_ONCE(tpmif->dev, NULL);
	mutex_unlock(&tpmif->lock);
	dev_set_drvdata(&dev->dev, NULL);
	dev_info(&dev->dev, "removed\n");
	xen_tpmif_put(tpmif);
}

/* ---------------------------------------------------------------------
 * sysfs: /sys/bus/xen-backend/devices/vtpm-<domid>-<devid>/
 * (present from probe to remove, so drvdata is valid in show())
 */

static struct xen_tpmif *to_tpmif(struct device *d)
{
	return dev_get_drvdata(d);
}

static ssize_t domid_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", to_tpmif(d)->domid);
}
static DEVICE_ATTR_RO(domid);

static ssize_t devid_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", to_tpmif(d)->devid);
}
static DEVICE_ATTR_RO(devid);

static ssize_t uuid_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%pUb\n", &to_tpmif(d)->uuid);
}
static DEVICE_ATTR_RO(uuid);

static ssize_t connection_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	enum xenbus_state state = READ_ONCE(to_xenbus_device(d)->state);

	return sysfs_emit(buf, "%s\n", xen_tpmbk_connection_name(state));
}
static DEVICE_ATTR_RO(connection);

static ssize_t attached_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%d\n", xen_tpmbk_is_attached(to_tpmif(d)));
}
static DEVICE_ATTR_RO(attached);

static struct attribute *xen_tpmbk_attrs[] = {
	&dev_attr_domid.attr,
	&dev_attr_devid.attr,
	&dev_attr_uuid.attr,
	&dev_attr_connection.attr,
	&dev_attr_attached.attr,
	NULL,
};
ATTRIBUTE_GROUPS(xen_tpmbk);

/*
 * uevent: VTPM_DOMID, VTPM_DEVID, VTPM_UUID on events of a bound device
 * ("bind" and later). Read from xenbus and xenstore rather than drvdata:
 * a uevent may race with remove().
 */
static int xen_tpmbk_uevent(struct xenbus_device *dev,
			    struct kobj_uevent_env *env)
{
	unsigned int devid;
	uuid_t uuid;
	char *str;
	int err;

	if (add_uevent_var(env, "VTPM_DOMID=%d", dev->otherend_id))
		return -ENOMEM;

	if (xenbus_scanf(XBT_NIL, dev->nodename, "handle", "%u", &devid) == 1 &&
	    add_uevent_var(env, "VTPM_DEVID=%u", devid))
		return -ENOMEM;

	str = xenbus_read(XBT_NIL, dev->nodename, "uuid", NULL);
	if (IS_ERR(str))
		return 0;
	err = uuid_parse(str, &uuid);
	kfree(str);
	if (!err && add_uevent_var(env, "VTPM_UUID=%pUb", &uuid))
		return -ENOMEM;
	return 0;
}

static const struct xenbus_device_id xen_tpmbk_ids[] = {
	{ "vtpm" },
	{ "" }
};

static struct xenbus_driver xen_tpmbk_driver = {
	.ids			= xen_tpmbk_ids,
	.probe			= xen_tpmbk_probe,
	.remove			= xen_tpmbk_remove,
	.otherend_changed	= frontend_changed,
	.uevent			= xen_tpmbk_uevent,
	.driver.dev_groups	= xen_tpmbk_groups,
};

/**
 * xen_tpmbk_xenbus_init() - register the driver, probing existing devices
 *
 * Return: 0 or a negative errno.
 */
int xen_tpmbk_xenbus_init(void)
{
	int err;

	xen_tpmbk_debugfs_init();
	err = xenbus_register_backend(&xen_tpmbk_driver);
	if (err)
		xen_tpmbk_debugfs_exit();
	return err;
}

/**
 * xen_tpmbk_xenbus_exit() - unregister the driver, removing every device
 */
void xen_tpmbk_xenbus_exit(void)
{
	xenbus_unregister_driver(&xen_tpmbk_driver);
	xen_tpmbk_debugfs_exit();
}

/*
 * udev loads modules on the xen-backend "add" event by this
 * modalias. (MODULE_DEVICE_TABLE(xenbus) would give "xen:vtpm", the
 * frontend's alias.)
 */
MODULE_ALIAS("xen-backend:vtpm");
