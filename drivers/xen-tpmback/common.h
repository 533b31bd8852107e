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
 *   /dev/xen-tpmback (chardev.c, include/uapi/linux/xen-tpmback.h): one fd
 *   per device, attached by domid/devid or uuid, whole-message read/write.
 *   The watchdog answers the guest with a TPM failure when no server is
 *   attached in time, the server dies, or it does not answer in time.
 */
#ifndef _XEN_TPMBACK_COMMON_H
#define _XEN_TPMBACK_COMMON_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
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

	/* protects the xenbus state transitions, connect and disconnect */
	struct mutex state_lock;
	/* The xenbus device; NULL once removed. */
	struct xenbus_device *dev;
	/* watch on our "online" node; xenbus.c only */
	struct xenbus_watch online_watch;
	/* ring-ref and event-channel of the current connection */
	grant_ref_t ring_ref;
	evtchn_port_t evtchn;

	/* protects everything below, the page and the irq while connected */
	struct mutex lock;
	void *page;			/* the mapped page, NULL when not */
	int irq;			/* bound irq, valid while connected */
	bool connected;			/* page mapped and irq bound */
	bool broken;			/* protocol violation: channel masked */
	bool gone;			/* the xenbus device was removed */

	enum xen_tpmbk_cmd_state cmd_state;
	bool cancel_pending;		/* CANCEL to hand to userspace */
	bool cancel_forwarded;		/* CANCEL handed to userspace */
	u32 seq;			/* seq of the current/last command */
	u8 locality;			/* of the current command */
	u32 cmd_len;			/* length of @cmd */
	u8 cmd[XEN_TPMBK_MAX_PACKET];	/* the current command (a copy) */
	unsigned long deadline;		/* jiffies when the watchdog fires */
	unsigned long unattached_since;	/* jiffies since no server attached */

	struct xen_tpmbk_file *attached; /* the server's fd, or NULL */
	u64 commands;			/* forwarded to userspace */
	u64 failed;			/* answered with a TPM failure by us */

	wait_queue_head_t waitq;	/* readers and pollers of @attached */
	struct work_struct event_work;	/* handles an event channel event */
	struct delayed_work watchdog;	/* fails a command not answered */
};

/* tpmback.c: the page, the event channel and the command path */
int xen_tpmif_connect(struct xen_tpmif *tpmif, grant_ref_t ring_ref,
		      evtchn_port_t evtchn);
void xen_tpmif_disconnect(struct xen_tpmif *tpmif);
void xen_tpmif_process_pending(struct xen_tpmif *tpmif);
void xen_tpmif_init(struct xen_tpmif *tpmif);
void xen_tpmif_fail_locked(struct xen_tpmif *tpmif, enum xen_tpmbk_error err);
void xen_tpmif_arm_watchdog_locked(struct xen_tpmif *tpmif);
int xen_tpmif_respond_locked(struct xen_tpmif *tpmif, const u8 *rsp, u32 len);
void xen_tpmif_get(struct xen_tpmif *tpmif);
void xen_tpmif_put(struct xen_tpmif *tpmif);
void xen_tpmbk_params_init(void);

/* chardev.c: /dev/xen-tpmback */
int xen_tpmbk_chardev_init(void);
void xen_tpmbk_chardev_exit(void);
void xen_tpmbk_device_add(struct xen_tpmif *tpmif);
void xen_tpmbk_device_del(struct xen_tpmif *tpmif);
bool xen_tpmbk_is_attached(struct xen_tpmif *tpmif);

/* xenbus.c */
int xen_tpmbk_xenbus_init(void);
void xen_tpmbk_xenbus_exit(void);

#endif /* _XEN_TPMBACK_COMMON_H */
