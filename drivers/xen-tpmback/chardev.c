// SPDX-License-Identifier: GPL-2.0
/*
 * xen-tpmback: /dev/xen/tpmback, the userspace side.
 *
 * Modelled on tpm_vtpm_proxy: one fd serves one TPM. An fd is bound to one
 * backend device with XEN_TPMBACK_IOC_ATTACH and then reads whole commands
 * and writes whole responses (include/uapi/xen/tpmback.h).
 *
 * Lifetimes: a device (struct xen_tpmif) is listed here from probe to
 * remove; an attached fd holds a reference on it, so a device removed
 * while its server still has the fd open stays allocated, marked gone,
 * and the fd reads EOF until it is closed.
 *
 * Lock order: xen_tpmbk_file.lock, then xen_tpmbk_devices_lock, then
 * xen_tpmif.lock.
 */

#define pr_fmt(fmt) "xen-tpmback: " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "common.h"

/**
 * struct xen_tpmbk_file - one open file description of /dev/xen/tpmback
 * @lock:      protects @tpmif while attaching (ATTACH against ATTACH)
 * @tpmif:     the device this fd is attached to; set once, under @lock,
 *	       published with smp_store_release(), constant until release
 * @read_lock: protects @bounce; serialises the readers of this fd. Held
 *	       across copy_to_user(): it is this fd's alone, never taken by
 *	       the guest's side, the watchdog or the xenwatch thread
 * @bounce:    a message on its way to userspace
 */
struct xen_tpmbk_file {
	struct mutex lock;		/* protects @tpmif while attaching */
	struct xen_tpmif *tpmif;
	struct mutex read_lock;		/* protects @bounce */
	u8 bounce[sizeof(struct xen_tpmback_msg) + XEN_TPMBK_MAX_PACKET];
};

/* protects xen_tpmbk_devices and the membership of every device on it */
static DEFINE_MUTEX(xen_tpmbk_devices_lock);
static LIST_HEAD(xen_tpmbk_devices);

/* ATTACH_WAIT sleepers; woken, with the generation bumped, on every add */
static DECLARE_WAIT_QUEUE_HEAD(xen_tpmbk_attach_wq);
static atomic_t xen_tpmbk_generation = ATOMIC_INIT(0);

/* ---------------------------------------------------------------------
 * The device list (called from xenbus.c)
 */

/**
 * xen_tpmbk_device_add() - make a device attachable
 * @tpmif: the device, just probed
 */
void xen_tpmbk_device_add(struct xen_tpmif *tpmif)
{
	mutex_lock(&xen_tpmbk_devices_lock);
	list_add_tail(&tpmif->node, &xen_tpmbk_devices);
	mutex_unlock(&xen_tpmbk_devices_lock);

	atomic_inc(&xen_tpmbk_generation);
	wake_up_interruptible_all(&xen_tpmbk_attach_wq);
}

/**
 * xen_tpmbk_device_del() - the device is going away: unlist it, hang up
 * @tpmif: the device, being removed
 *
 * Its attached fd (if any) reads EOF and polls EPOLLHUP from now on.
 */
void xen_tpmbk_device_del(struct xen_tpmif *tpmif)
{
	mutex_lock(&xen_tpmbk_devices_lock);
	list_del_init(&tpmif->node);
	mutex_unlock(&xen_tpmbk_devices_lock);

	mutex_lock(&tpmif->lock);
	tpmif->gone = true;
	mutex_unlock(&tpmif->lock);
	wake_up_interruptible_all(&tpmif->waitq);
}

/**
 * xen_tpmbk_is_attached() - whether a server is attached (for sysfs)
 * @tpmif: the device
 *
 * Return: true if an fd is attached.
 */
bool xen_tpmbk_is_attached(struct xen_tpmif *tpmif)
{
	return READ_ONCE(tpmif->attached);
}

static struct xen_tpmif *find_device(const struct xen_tpmback_attach *arg)
{
	struct xen_tpmif *tpmif, *found = NULL;
	uuid_t uuid;

	lockdep_assert_held(&xen_tpmbk_devices_lock);

	import_uuid(&uuid, arg->uuid);
	list_for_each_entry(tpmif, &xen_tpmbk_devices, node) {
		if (arg->flags & XEN_TPMBACK_ATTACH_BY_UUID) {
			if (!uuid_equal(&tpmif->uuid, &uuid))
				continue;
		} else if (tpmif->domid != arg->domid ||
			   tpmif->devid != arg->devid) {
			continue;
		}
		/* The same uuid may be there twice (old and new domain). */
		if (!READ_ONCE(tpmif->attached))
			return tpmif;
		if (!found)
			found = tpmif;
	}
	return found;
}

/* ---------------------------------------------------------------------
 * File operations
 */

static struct xen_tpmif *file_tpmif(struct file *filp)
{
	struct xen_tpmbk_file *file = filp->private_data;

	/* Pairs with the release in xen_tpmbk_ioc_attach(). */
	return smp_load_acquire(&file->tpmif);
}

/**
 * xen_tpmbk_fops_open - open /dev/xen/tpmback
 * @inode: inode
 * @filp:  file
 *
 * The capability is checked here only: the fd is the privilege from then
 * on, so a server may drop CAP_SYS_ADMIN before it attaches.
 *
 * Return: 0, -EPERM without CAP_SYS_ADMIN, -ENOMEM.
 */
static int xen_tpmbk_fops_open(struct inode *inode, struct file *filp)
{
	struct xen_tpmbk_file *file;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	file = kzalloc(sizeof(*file), GFP_KERNEL);
	if (!file)
		return -ENOMEM;
	mutex_init(&file->lock);
	mutex_init(&file->read_lock);
	filp->private_data = file;
	return stream_open(inode, filp);
}

static void detach(struct xen_tpmbk_file *file, struct xen_tpmif *tpmif)
{
	mutex_lock(&tpmif->lock);
	tpmif->attached = NULL;
	xen_tpmif_apply_locked(tpmif, xen_tpmbk_cmd_detach(&tpmif->cmd, jiffies));
	mutex_unlock(&tpmif->lock);
	xen_tpmif_put(tpmif);
}

/**
 * xen_tpmbk_fops_release - close: detach from the device
 * @inode: inode
 * @filp:  file
 *
 * A command the server has in hand (or has not read yet) is answered
 * with a TPM failure at once; the next server to attach gets the next one.
 *
 * Return: 0.
 */
static int xen_tpmbk_fops_release(struct inode *inode, struct file *filp)
{
	struct xen_tpmbk_file *file = filp->private_data;

	if (file->tpmif)
		detach(file, file->tpmif);
	mutex_destroy(&file->read_lock);
	mutex_destroy(&file->lock);
	kfree(file);
	return 0;
}

/* Lockless, for wait_event(): fetch_msg() checks again under the lock. */
static bool msg_ready(struct xen_tpmif *tpmif)
{
	return READ_ONCE(tpmif->gone) ||
	       READ_ONCE(tpmif->cmd.cancel_pending) ||
	       READ_ONCE(tpmif->cmd.state) == XEN_TPMBK_CMD_QUEUED;
}

/*
 * Put the next message into the bounce buffer. Returns its size, 0 when
 * the device is gone, -EAGAIN when there is none, -EINVAL when @count is
 * too small for it. *type and *seq name it for xen_tpmbk_cmd_delivered().
 */
static ssize_t fetch_msg(struct xen_tpmbk_file *file, struct xen_tpmif *tpmif,
			 size_t count, u32 *type, u32 *seq)
{
	struct xen_tpmback_msg msg = { };
	ssize_t ret;

	mutex_lock(&tpmif->lock);
	ret = 0;
	if (tpmif->gone)
		goto out_unlock;
	ret = -EAGAIN;
	*type = xen_tpmbk_cmd_next_msg(&tpmif->cmd, seq);
	if (!*type)
		goto out_unlock;
	msg.type = *type;
	msg.seq = *seq;
	if (*type == XEN_TPMBACK_MSG_CMD) {
		msg.len = tpmif->cmd.len;
		msg.locality = tpmif->cmd.locality;
	}
	ret = -EINVAL;
	if (count < sizeof(msg) + msg.len)
		goto out_unlock;
	memcpy(file->bounce, &msg, sizeof(msg));
	memcpy(file->bounce + sizeof(msg), tpmif->cmd_buf, msg.len);
	ret = sizeof(msg) + msg.len;
out_unlock:
	mutex_unlock(&tpmif->lock);
	return ret;
}

/**
 * xen_tpmbk_fops_read - read one message (a command or a cancel)
 * @filp:  file
 * @buf:   user buffer
 * @count: its size; must hold the whole message
 * @off:   unused
 *
 * The message is copied to a bounce buffer under the device's lock and to
 * userspace without it, so that a reader whose buffer faults slowly
 * stalls nobody but itself; a message overtaken meanwhile (cancelled,
 * failed by the watchdog) does not count and the next one is read.
 *
 * Return: the message's size; 0 once the device is gone; -EINVAL if
 * @count is too small (nothing is lost); -EAGAIN with O_NONBLOCK;
 * -ENOTCONN on an fd not attached.
 */
static ssize_t xen_tpmbk_fops_read(struct file *filp, char __user *buf,
				   size_t count, loff_t *off)
{
	struct xen_tpmbk_file *file = filp->private_data;
	struct xen_tpmif *tpmif = file_tpmif(filp);
	struct xen_tpmbk_timeouts to;
	struct xen_tpmbk_fx fx;
	u32 type, seq;
	bool current_msg;
	ssize_t ret;

	if (!tpmif)
		return -ENOTCONN;

	if (mutex_lock_interruptible(&file->read_lock))
		return -ERESTARTSYS;
	for (;;) {
		ret = fetch_msg(file, tpmif, count, &type, &seq);
		if (ret == -EAGAIN) {
			if (filp->f_flags & O_NONBLOCK)
				break;
			ret = wait_event_interruptible(tpmif->waitq,
						       msg_ready(tpmif));
			if (ret)
				break;
			continue;
		}
		if (ret <= 0)
			break;
		if (copy_to_user(buf, file->bounce, ret)) {
			ret = -EFAULT;
			break;
		}
		xen_tpmif_timeouts(&to);
		mutex_lock(&tpmif->lock);
		current_msg = xen_tpmbk_cmd_delivered(&tpmif->cmd, type, seq,
						      jiffies, &to, &fx);
		if (current_msg && type == XEN_TPMBACK_MSG_CMD)
			tpmif->commands++;
		xen_tpmif_apply_locked(tpmif, fx);
		mutex_unlock(&tpmif->lock);
		if (current_msg)
			break;
	}
	mutex_unlock(&file->read_lock);
	return ret;
}

/**
 * xen_tpmbk_fops_write - write one response
 * @filp:  file
 * @ubuf:  struct xen_tpmback_msg (type RSP) followed by the response
 * @count: the whole message's size
 * @off:   unused
 *
 * Return: @count when the response went to the guest; -EPIPE when it
 * answers no command in hand (a late answer), dropped; -EINVAL when it is
 * malformed, and the guest's command then fails with a TPM error;
 * -ENODEV once the device is gone or disconnected (the command was
 * answered with a failure when the frontend went away).
 */
static ssize_t xen_tpmbk_fops_write(struct file *filp, const char __user *ubuf,
				    size_t count, loff_t *off)
{
	struct xen_tpmif *tpmif = file_tpmif(filp);
	const size_t max = sizeof(struct xen_tpmback_msg) + XEN_TPMBK_MAX_PACKET;
	struct xen_tpmback_msg *msg;
	size_t len = min(count, max);
	struct xen_tpmbk_fx fx;
	bool valid;
	u8 *buf;
	ssize_t ret;

	if (!tpmif)
		return -ENOTCONN;

	/* Copied before taking the lock; an oversized write keeps its header. */
	buf = memdup_user(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	msg = (struct xen_tpmback_msg *)buf;

	valid = count <= max && !xen_tpmbk_check_rsp_msg(msg, len) &&
		!xen_tpmbk_check_response(buf + sizeof(*msg), msg->len);

	mutex_lock(&tpmif->lock);
	ret = -ENODEV;
	if (tpmif->gone)
		goto out_unlock;

	ret = xen_tpmbk_cmd_response(&tpmif->cmd, len >= sizeof(*msg),
				     len >= sizeof(*msg) ? msg->seq : 0,
				     valid, &fx);
	if (!ret && !tpmif->connected)
		ret = -ENODEV;
	if (fx.flags & XEN_TPMBK_FX_RESPOND)
		xen_tpmif_put_response_locked(tpmif, buf + sizeof(*msg),
					      msg->len);
	xen_tpmif_apply_locked(tpmif, fx);
	if (!ret)
		ret = count;

out_unlock:
	mutex_unlock(&tpmif->lock);
	kfree(buf);
	return ret;
}

/**
 * xen_tpmbk_fops_poll - poll for a message or for a response awaited
 * @filp: file
 * @wait: poll table
 *
 * Return: EPOLLIN when a message is ready, EPOLLOUT when a response is
 * awaited, EPOLLHUP (with EPOLLIN: read returns 0) once the device is
 * gone, EPOLLERR on an fd not attached.
 */
static __poll_t xen_tpmbk_fops_poll(struct file *filp, poll_table *wait)
{
	struct xen_tpmif *tpmif = file_tpmif(filp);
	__poll_t mask = 0;

	if (!tpmif)
		return EPOLLERR;

	poll_wait(filp, &tpmif->waitq, wait);

	mutex_lock(&tpmif->lock);
	if (tpmif->gone)
		mask = EPOLLHUP | EPOLLIN | EPOLLRDNORM;
	else if (xen_tpmbk_cmd_msg_ready(&tpmif->cmd))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!tpmif->gone && tpmif->cmd.state == XEN_TPMBK_CMD_SENT)
		mask |= EPOLLOUT | EPOLLWRNORM;
	mutex_unlock(&tpmif->lock);
	return mask;
}

/* ---------------------------------------------------------------------
 * ioctls
 */

static void fill_attach(struct xen_tpmback_attach *arg, struct xen_tpmif *tpmif)
{
	arg->domid = tpmif->domid;
	arg->devid = tpmif->devid;
	export_uuid(arg->uuid, &tpmif->uuid);
	arg->api_version = XEN_TPMBACK_API_VERSION;
	arg->max_packet = XEN_TPMBK_MAX_PACKET;
}

/* Try once; 0 with *out set, or -ENOENT / -EBUSY. */
static int try_attach(struct xen_tpmbk_file *file,
		      struct xen_tpmback_attach *arg, struct xen_tpmif **out)
{
	struct xen_tpmbk_timeouts to;
	struct xen_tpmif *tpmif;
	int ret = -ENOENT;

	mutex_lock(&xen_tpmbk_devices_lock);
	tpmif = find_device(arg);
	if (!tpmif)
		goto out_unlock;

	xen_tpmif_timeouts(&to);
	mutex_lock(&tpmif->lock);
	if (tpmif->attached) {
		ret = -EBUSY;
	} else {
		xen_tpmif_get(tpmif);
		tpmif->attached = file;
		/* A command held for a server now runs on the server's clock. */
		xen_tpmif_apply_locked(tpmif,
				       xen_tpmbk_cmd_attach(&tpmif->cmd,
							    jiffies, &to));
		fill_attach(arg, tpmif);
		*out = tpmif;
		ret = 0;
		/* Under the lock: remove() clears tpmif->dev under it. */
		xen_tpmif_printk(tpmif, KERN_INFO, "server attached (pid %d)\n",
				 task_tgid_nr(current));
	}
	mutex_unlock(&tpmif->lock);
out_unlock:
	mutex_unlock(&xen_tpmbk_devices_lock);
	return ret;
}

static bool devices_changed(int gen)
{
	return atomic_read(&xen_tpmbk_generation) != gen;
}

/**
 * xen_tpmbk_ioc_attach - XEN_TPMBACK_IOC_ATTACH: bind the fd to a device
 * @file: the fd's state
 * @argp: struct xen_tpmback_attach
 *
 * Matches domid/devid, or the uuid with XEN_TPMBACK_ATTACH_BY_UUID. With
 * XEN_TPMBACK_ATTACH_WAIT sleeps until the device appears, at most
 * timeout_ms (0: no limit).
 *
 * Return: 0; -EISCONN if the fd is attached already; -EBUSY if the device
 * has a server; -ENOENT if there is no such device (without WAIT);
 * -ETIMEDOUT; -EOPNOTSUPP for unknown flags; -EINVAL when reserved is
 * not 0.
 */
static long xen_tpmbk_ioc_attach(struct xen_tpmbk_file *file,
				 void __user *argp)
{
	struct xen_tpmback_attach arg;
	struct xen_tpmif *tpmif = NULL;
	long timeout;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(XEN_TPMBACK_ATTACH_BY_UUID | XEN_TPMBACK_ATTACH_WAIT))
		return -EOPNOTSUPP;
	if (arg.reserved)
		return -EINVAL;

	timeout = arg.timeout_ms ? msecs_to_jiffies(arg.timeout_ms) :
				   MAX_SCHEDULE_TIMEOUT;

	mutex_lock(&file->lock);
	if (file->tpmif) {
		ret = -EISCONN;
		goto out_unlock;
	}
	for (;;) {
		int gen = atomic_read(&xen_tpmbk_generation);
		long left;

		ret = try_attach(file, &arg, &tpmif);
		if (ret != -ENOENT || !(arg.flags & XEN_TPMBACK_ATTACH_WAIT))
			break;
		left = wait_event_interruptible_timeout(xen_tpmbk_attach_wq,
							devices_changed(gen),
							timeout);
		if (left < 0) {
			ret = left;
			break;
		}
		if (!left) {
			ret = -ETIMEDOUT;
			break;
		}
		if (timeout != MAX_SCHEDULE_TIMEOUT)
			timeout = left;
	}
	if (ret)
		goto out_unlock;

	if (copy_to_user(argp, &arg, sizeof(arg))) {
		detach(file, tpmif);
		ret = -EFAULT;
		goto out_unlock;
	}
	/* Publish a fully attached device to read/write/poll (acquire there). */
	smp_store_release(&file->tpmif, tpmif);

out_unlock:
	mutex_unlock(&file->lock);
	return ret;
}

/**
 * xen_tpmbk_ioc_info - XEN_TPMBACK_IOC_INFO: describe the attached device
 * @file: the fd's state
 * @argp: struct xen_tpmback_info
 *
 * Return: 0; -ENOTCONN on an fd not attached.
 */
static long xen_tpmbk_ioc_info(struct xen_tpmbk_file *file, void __user *argp)
{
	/* Pairs with the release in xen_tpmbk_ioc_attach(). */
	struct xen_tpmif *tpmif = smp_load_acquire(&file->tpmif);
	struct xen_tpmback_info info = { };

	if (!tpmif)
		return -ENOTCONN;

	mutex_lock(&tpmif->lock);
	info.domid = tpmif->domid;
	info.devid = tpmif->devid;
	export_uuid(info.uuid, &tpmif->uuid);
	info.connected = tpmif->connected;
	info.commands = tpmif->commands;
	info.failed = tpmif->failed;
	mutex_unlock(&tpmif->lock);

	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

/**
 * xen_tpmbk_fops_ioctl - ioctl on /dev/xen/tpmback
 * @filp: file
 * @cmd:  XEN_TPMBACK_IOC_*
 * @arg:  user pointer to the argument
 *
 * Return: as the handlers; -ENOTTY.
 */
static long xen_tpmbk_fops_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long arg)
{
	struct xen_tpmbk_file *file = filp->private_data;

	switch (cmd) {
	case XEN_TPMBACK_IOC_ATTACH:
		return xen_tpmbk_ioc_attach(file, (void __user *)arg);
	case XEN_TPMBACK_IOC_INFO:
		return xen_tpmbk_ioc_info(file, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations xen_tpmbk_fops = {
	.owner		= THIS_MODULE,
	.open		= xen_tpmbk_fops_open,
	.release	= xen_tpmbk_fops_release,
	.read		= xen_tpmbk_fops_read,
	.write		= xen_tpmbk_fops_write,
	.poll		= xen_tpmbk_fops_poll,
	.unlocked_ioctl	= xen_tpmbk_fops_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct miscdevice xen_tpmbk_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "xen/tpmback",
	.fops	= &xen_tpmbk_fops,
	.mode	= 0600,
};

/**
 * xen_tpmbk_chardev_init() - register /dev/xen/tpmback
 *
 * Return: 0 or a negative errno.
 */
int xen_tpmbk_chardev_init(void)
{
	return misc_register(&xen_tpmbk_misc);
}

/**
 * xen_tpmbk_chardev_exit() - unregister /dev/xen/tpmback
 *
 * No fd can be open: each holds a reference on the module.
 */
void xen_tpmbk_chardev_exit(void)
{
	misc_deregister(&xen_tpmbk_misc);
}
