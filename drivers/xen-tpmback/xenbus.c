// SPDX-License-Identifier: GPL-2.0
/*
 * xen-tpmback: xenbus glue. Probe, remove, the frontend's state changes,
 * the toolstack's "online" node, sysfs attributes and uevent variables.
 *
 * Every change of the backend's xenbus state goes through
 * set_backend_state(); the graph it walks is drawn in protocol.c.
 *
 * Serialisation: the frontend's state watch and our "online" watch both
 * run in the xenwatch thread, but probe may run from module load at the
 * same time as the online watch fires, so every state change also holds
 * xen_tpmif.state_lock.
 */

#define pr_fmt(fmt) "xen-tpmback: " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <xen/xenbus.h>

#include "common.h"

static void backend_switch_state(struct xen_tpmif *tpmif,
				 enum xenbus_state state)
{
	struct xenbus_device *dev = tpmif->dev;

	pr_debug("%s -> %s\n", dev->nodename, xenbus_strstate(state));
	xenbus_switch_state(dev, state);
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
	pr_info("dom%u vtpm%u: connected (ring-ref %u, event-channel %u)\n",
		tpmif->domid, tpmif->devid, ring_ref, evtchn);
	return 0;

err_disconnect:
	xen_tpmif_disconnect(tpmif);
	return err;
}

static void disconnect(struct xen_tpmif *tpmif)
{
	xen_tpmif_disconnect(tpmif);
}

/*
 * Walk from the current state to @target, one allowed transition at a
 * time (the graph is in protocol.c):
 *
 *   Initialising --> InitWait <-> Connected
 *   InitWait, Connected --> Closing --> Closed, InitWait
 *   Closed --> InitWait;  Initialising --> Closed
 *
 * Entering Connected connects; leaving Connected disconnects (idempotent).
 * A failed connect has already gone Closing through xenbus_dev_fatal().
 */
static void set_backend_state(struct xen_tpmif *tpmif, enum xenbus_state target)
{
	struct xenbus_device *dev = tpmif->dev;

	lockdep_assert_held(&tpmif->state_lock);

	while (dev->state != target) {
		enum xenbus_state cur = dev->state;
		enum xenbus_state next = xen_tpmbk_next_state(cur, target);

		if (next == cur) {
			pr_warn("%s: no transition from %s to %s\n", dev->nodename,
				xenbus_strstate(cur), xenbus_strstate(target));
			return;
		}
		if (cur == XenbusStateConnected)
			disconnect(tpmif);
		if (next == XenbusStateConnected && connect(tpmif))
			return;
		backend_switch_state(tpmif, next);
		if (dev->state != next)
			return;	/* xenstore refused; reported already */
		if (next == XenbusStateConnected)
			xen_tpmif_process_pending(tpmif);
	}
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
	pr_debug("%s: frontend %s\n", dev->nodename,
		 xenbus_strstate(frontend_state));

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
	tpmif->dev = dev;
	tpmif->domid = dev->otherend_id;
	dev_set_drvdata(&dev->dev, tpmif);

	err = read_identity(tpmif);
	if (err)
		goto err_put_tpmif;

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

	xen_tpmbk_device_add(tpmif);
	pr_info("dom%u vtpm%u: probed, uuid %pUb\n", tpmif->domid,
		tpmif->devid, &tpmif->uuid);
	return 0;

err_put_tpmif:
	dev_set_drvdata(&dev->dev, NULL);
	xen_tpmif_put(tpmif);
	return err;
}

static void xen_tpmbk_remove(struct xenbus_device *dev)
{
	struct xen_tpmif *tpmif = dev_get_drvdata(&dev->dev);

	/* Waits for a running callback; none can start afterwards. */
	unregister_xenbus_watch(&tpmif->online_watch);
	kfree(tpmif->online_watch.node);
	tpmif->online_watch.node = NULL;

	mutex_lock(&tpmif->state_lock);
	set_backend_state(tpmif, XenbusStateClosed);
	mutex_unlock(&tpmif->state_lock);

	xen_tpmbk_device_del(tpmif);
	cancel_work_sync(&tpmif->event_work);
	cancel_delayed_work_sync(&tpmif->watchdog);

	mutex_lock(&tpmif->lock);
	tpmif->dev = NULL;
	mutex_unlock(&tpmif->lock);
	dev_set_drvdata(&dev->dev, NULL);
	pr_info("dom%u vtpm%u: removed\n", tpmif->domid, tpmif->devid);
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
	return xenbus_register_backend(&xen_tpmbk_driver);
}

/**
 * xen_tpmbk_xenbus_exit() - unregister the driver, removing every device
 */
void xen_tpmbk_xenbus_exit(void)
{
	xenbus_unregister_driver(&xen_tpmbk_driver);
}

/*
 * Debian's udev loads modules on the xen-backend "add" event by this
 * modalias. (MODULE_DEVICE_TABLE(xenbus) would give "xen:vtpm", the
 * frontend's alias.)
 */
MODULE_ALIAS("xen-backend:vtpm");
