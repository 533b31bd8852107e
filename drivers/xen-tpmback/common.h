/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xen-tpmback: dom0 backend for the Xen vTPM protocol (tpmif v2).
 *
 * The protocol, as the unmodified Linux xen-tpmfront speaks it:
 *
 * xenstore handshake
 *   1. The toolstack creates backend/vtpm/<domid>/<devid> with frontend,
 *      frontend-id, handle, uuid, online=1, state=Initialising.
 *   2. probe: the backend writes feature-protocol-v2=1 and goes InitWait
 *      at once (libxl gives up after 10 s).
 *   3. The frontend writes ring-ref, event-channel, feature-protocol-v2=1
 *      and goes Initialised, and submits its first command at once.
 *   4. The backend maps the one granted page, checks it, binds the event
 *      channel (lateeoi), writes ready=1, goes Connected, and then looks
 *      at the page: the first command's notify reached an unbound port
 *      and was dropped by Xen.
 *   5. Frontend Closing -> backend Closing; frontend Closed -> unmap,
 *      unbind, InitWait (the frontend may handshake again, e.g. after a
 *      resume, with a new grant and event channel on the same device).
 *   6. online=0 (xl vtpm-detach, domain destruction) -> Closed at once;
 *      the directory's removal -> remove().
 *
 * the shared page (struct vtpm_shared_page)
 *   u32 length; u8 state; u8 locality; u8 pad; u8 nr_extra_pages;
 *   then the packet at offset 8 (+ 4 * nr_extra_pages, refused if not 0).
 *   The frontend writes a command and SUBMIT, or CANCEL; the backend
 *   writes a response and FINISH, or IDLE (cancelled). One command at a
 *   time. The page is the guest's: every field is read once, the command
 *   copied out, and only the copy validated.
 *
 * the userspace side
 *   /dev/xen/tpmback (chardev.c, include/uapi/xen/tpmback.h): one fd
 *   per device, attached by domid/devid or uuid, whole-message read/write.
 *   The watchdog answers the guest with a TPM failure when no server is
 *   attached in time, the server dies, or it does not answer in time.
 */
#ifndef _XEN_TPMBACK_COMMON_H
#define _XEN_TPMBACK_COMMON_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/uuid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <xen/xenbus.h>

#include "protocol.h"

struct xen_tpmbk_file;

/*
 * struct xen_tpmif - one vTPM backend device (one guest's vtpm/<devid>)
 *
 * Reference counted: the xenbus device holds one reference from probe to
 * remove, an attached fd holds one until it is released. After remove the
 * structure lives on, marked @gone, until the last fd lets go.
 */
struct xen_tpmif {
	struct kref kref;
	/* on xen_tpmbk_devices; protected by xen_tpmbk_devices_lock */
	struct list_head node;

	/* Set at probe, constant afterwards. */
	domid_t domid;
	unsigned int devid;
	uuid_t uuid;
	char irq_name[32];		/* "xen-tpmback-<domid>-<devid>" */

	/*
	 * protects the xenbus state transitions, connect and disconnect,
	 * and the fields below up to @lock
	 */
	struct mutex state_lock;
	/* The xenbus device; NULL once removed (also under @lock). */
	struct xenbus_device *dev;
	/* watch on our "online" node; xenbus.c only */
	struct xenbus_watch online_watch;
	/* watch on the guest's control/shutdown node; xenbus.c only */
	struct xenbus_watch shutdown_watch;
	unsigned int shutdown_events;	/* its events so far */
	struct delayed_work drain_end;	/* closes the drain window */
	/* ring-ref and event-channel of the current connection */
	grant_ref_t ring_ref;
	evtchn_port_t evtchn;
	/* connects (map + bind) the guest may cause, per device */
	struct xen_tpmbk_bucket connect_bucket;
	/* a connect the bucket deferred */
	struct delayed_work connect_retry;

	/*
	 * protects everything below, the page and the irq while connected.
	 * Never held across a copy to or from userspace.
	 */
	struct mutex lock;
	void *page;			/* the mapped page, NULL when not */
	int irq;			/* bound irq, valid while connected */
	bool connected;			/* page mapped and irq bound */
	bool broken;			/* protocol violation: channel masked */
	bool gone;			/* the xenbus device was removed */

	struct xen_tpmbk_cmd cmd;	/* the command state machine */
	u32 cmd_copied;			/* bytes of @cmd_buf copied from the page */
	u8 cmd_buf[XEN_TPMBK_MAX_PACKET]; /* the current command (a copy) */

	struct xen_tpmbk_file *attached; /* the server's fd, or NULL */
	u64 commands;			/* forwarded to userspace */
	u64 failed;			/* answered with a TPM failure by us */
	/* guest-triggered messages of this device */
	struct ratelimit_state log_rs;

	wait_queue_head_t waitq;	/* readers and pollers of @attached */
	struct work_struct event_work;	/* handles an event channel event */
	struct delayed_work watchdog;	/* ends a command not answered */
};

/* Messages the guest can trigger: rate limited per device. */
__printf(3, 4)
void xen_tpmif_printk(struct xen_tpmif *tpmif, const char *level,
		      const char *fmt, ...);
#define xen_tpmif_printk_rl(tpmif, level, fmt, ...)			\
do {									\
	struct xen_tpmif *__tpmif = (tpmif);				\
									\
	if (__ratelimit(&__tpmif->log_rs))				\
		xen_tpmif_printk(__tpmif, level, fmt, ##__VA_ARGS__);	\
} while (0)
#define xen_tpmif_warn_rl(tpmif, fmt, ...)				\
	xen_tpmif_printk_rl(tpmif, KERN_WARNING, fmt, ##__VA_ARGS__)
#define xen_tpmif_info_rl(tpmif, fmt, ...)				\
	xen_tpmif_printk_rl(tpmif, KERN_INFO, fmt, ##__VA_ARGS__)

extern struct workqueue_struct *xen_tpmbk_wq;
/* devices allocated and not yet freed (debugfs "devices"; 0 at unload) */
extern atomic_t xen_tpmbk_nr_devices;

/* tpmback.c: the page, the event channel and the command path */
int xen_tpmif_connect(struct xen_tpmif *tpmif, grant_ref_t ring_ref,
		      evtchn_port_t evtchn);
void xen_tpmif_disconnect(struct xen_tpmif *tpmif);
void xen_tpmif_process_pending(struct xen_tpmif *tpmif);
void xen_tpmif_init(struct xen_tpmif *tpmif);
void xen_tpmif_apply_locked(struct xen_tpmif *tpmif, struct xen_tpmbk_fx fx);
void xen_tpmif_put_response_locked(struct xen_tpmif *tpmif, const u8 *rsp,
				   u32 len);
void xen_tpmif_timeouts(struct xen_tpmbk_timeouts *to);
void xen_tpmif_set_draining(struct xen_tpmif *tpmif, bool draining);
void xen_tpmif_get(struct xen_tpmif *tpmif);
void xen_tpmif_put(struct xen_tpmif *tpmif);
void xen_tpmbk_params_init(void);

/* chardev.c: /dev/xen/tpmback */
int xen_tpmbk_chardev_init(void);
void xen_tpmbk_chardev_exit(void);
void xen_tpmbk_device_add(struct xen_tpmif *tpmif);
void xen_tpmbk_device_del(struct xen_tpmif *tpmif);
bool xen_tpmbk_is_attached(struct xen_tpmif *tpmif);

/* xenbus.c */
int xen_tpmbk_xenbus_init(void);
void xen_tpmbk_xenbus_exit(void);

#endif /* _XEN_TPMBACK_COMMON_H */
