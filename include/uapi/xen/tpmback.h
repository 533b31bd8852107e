/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Xen vTPM backend userspace API, version 2.
 *
 * /dev/xen/tpmback is a misc character device. Each open file description
 * is bound to at most one vTPM backend device (one guest's vtpm device)
 * with XEN_TPMBACK_IOC_ATTACH; after that the fd carries that device's TPM
 * commands, in the manner of tpm_vtpm_proxy:
 *
 *   read()  returns exactly one message: struct xen_tpmback_msg followed by
 *           msg.len payload bytes. A buffer too small for the whole message
 *           fails with -EINVAL and loses nothing. O_NONBLOCK gives -EAGAIN.
 *           Returns 0 (EOF) once the device is gone for good (the backend
 *           device was removed); the server should then exit.
 *   write() takes exactly one response: struct xen_tpmback_msg with
 *           type XEN_TPMBACK_MSG_RSP, the seq of the command it answers and
 *           len payload bytes following. A response to no command in hand
 *           (late: the backend answered the guest itself, after a timeout or
 *           a cancel) is dropped and the write fails with -EPIPE. A
 *           malformed response (bad header, len > XEN_TPMBACK_MAX_PACKET,
 *           TPM header size != len) fails with -EINVAL; the guest gets a
 *           TPM failure response instead. -ENODEV once the device is gone
 *           or the guest disconnected.
 *   poll()  EPOLLIN when a message is ready, EPOLLOUT when a response is
 *           awaited, EPOLLHUP once the device is gone.
 *
 * All integers are in host byte order; the TPM payload is passed byte for
 * byte as the guest wrote it (big-endian TPM wire format).
 *
 * Opening the device needs CAP_SYS_ADMIN; the fd is the privilege from
 * then on, so a server may drop the capability before attaching. A device
 * takes one attacher at a time: a second ATTACH to the same device fails
 * with -EBUSY until the first fd is closed.
 *
 * A server attaches first (ATTACH names the vTPM to serve), then starts
 * its vTPM, then reads. Until its first read() of a message it is
 * "starting": a command it has not read is held for it, up to the
 * module's start_timeout_ms from the command's arrival (or the attach);
 * the command timeout runs from the read. Every attach starts out
 * starting.
 *
 * Version 2 (against 1): /dev/xen/tpmback, <xen/tpmback.h>, ioctls in the
 * 0xA1 range of tpm_vtpm_proxy, no size fields (the ioctl number encodes
 * the size), -EPIPE instead of -ESTALE for a late response, no capability
 * check after open.
 */
#ifndef _UAPI_XEN_TPMBACK_H
#define _UAPI_XEN_TPMBACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define XEN_TPMBACK_API_VERSION		2

/*
 * Largest TPM packet one tpmif v2 shared page carries: the page is 4096
 * bytes whatever the page size of dom0, less its 8-byte header.
 */
#define XEN_TPMBACK_MAX_PACKET		4088

/* struct xen_tpmback_attach.flags */
#define XEN_TPMBACK_ATTACH_BY_UUID	(1U << 0) /* match uuid, not domid/devid */
#define XEN_TPMBACK_ATTACH_WAIT		(1U << 1) /* sleep until the device appears */

/**
 * struct xen_tpmback_attach - argument of XEN_TPMBACK_IOC_ATTACH
 * @flags:	XEN_TPMBACK_ATTACH_*
 * @domid:	frontend domain id (in, unless BY_UUID; out always)
 * @devid:	device id, the xenstore "handle" (in, unless BY_UUID; out always)
 * @uuid:	vTPM uuid, binary RFC 4122 order (in with BY_UUID; out always)
 * @api_version: XEN_TPMBACK_API_VERSION of the kernel (out)
 * @max_packet:	largest command/response the device carries (out)
 * @timeout_ms:	with ATTACH_WAIT, how long to wait; 0 = forever (in)
 * @reserved:	0
 */
struct xen_tpmback_attach {
	__u32 flags;
	__u32 domid;
	__u32 devid;
	__u8  uuid[16];
	__u32 api_version;
	__u32 max_packet;
	__u32 timeout_ms;
	__u32 reserved;
};

/* struct xen_tpmback_msg.type */
#define XEN_TPMBACK_MSG_CMD	1	/* kernel -> user: a TPM command */
#define XEN_TPMBACK_MSG_CANCEL	2	/* kernel -> user: guest cancels cmd @seq */
#define XEN_TPMBACK_MSG_RSP	3	/* user -> kernel: response to cmd @seq */

/**
 * struct xen_tpmback_msg - header before every message on the fd
 * @type:	XEN_TPMBACK_MSG_*
 * @seq:	command sequence number, chosen by the kernel; a response
 *		carries the seq of the command it answers
 * @len:	payload bytes that follow the header (0 for CANCEL)
 * @locality:	TPM locality the guest asked for (CMD only)
 * @flags:	reserved, 0
 * @reserved:	0
 */
struct xen_tpmback_msg {
	__u32 type;
	__u32 seq;
	__u32 len;
	__u8  locality;
	__u8  flags;
	__u16 reserved;
};

/**
 * struct xen_tpmback_info - argument of XEN_TPMBACK_IOC_INFO (out)
 * @domid:	frontend domain id of the attached device
 * @devid:	its device id
 * @uuid:	its vTPM uuid
 * @connected:	1 while the frontend is connected (shared page mapped)
 * @reserved:	0
 * @commands:	commands forwarded to userspace since the device was created
 * @failed:	commands answered with a TPM failure by the kernel itself
 */
struct xen_tpmback_info {
	__u32 domid;
	__u32 devid;
	__u8  uuid[16];
	__u32 connected;
	__u32 reserved;
	__u64 commands;
	__u64 failed;
};

/* In the range of tpm_vtpm_proxy's magic (linux/vtpm_proxy.h). */
#define XEN_TPMBACK_IOC_MAGIC	0xA1
#define XEN_TPMBACK_IOC_ATTACH	_IOWR(XEN_TPMBACK_IOC_MAGIC, 0x10, struct xen_tpmback_attach)
#define XEN_TPMBACK_IOC_INFO	_IOR(XEN_TPMBACK_IOC_MAGIC, 0x11, struct xen_tpmback_info)

#endif /* _UAPI_XEN_TPMBACK_H */
