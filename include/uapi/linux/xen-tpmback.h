/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xen-tpmback userspace API, version 1.
 *
 * /dev/xen-tpmback is a misc character device. Each open file description
 * is bound to at most one vTPM backend instance (one guest's vtpm device)
 * with XEN_TPMBACK_IOC_ATTACH; after that the fd carries that instance's
 * TPM commands, in the manner of tpm_vtpm_proxy:
 *
 *   read()  returns exactly one message: struct xen_tpmback_msg followed by
 *           msg.len payload bytes. A buffer too small for the whole message
 *           fails with -EINVAL and loses nothing. O_NONBLOCK gives -EAGAIN.
 *           Returns 0 (EOF) once the instance is gone for good (the backend
 *           device was removed); the server should then exit.
 *   write() takes exactly one response: struct xen_tpmback_msg with
 *           type XEN_TPMBACK_MSG_RSP, the seq of the command it answers and
 *           len payload bytes following. A response whose seq is not the
 *           outstanding command's (a late answer after the watchdog fired)
 *           is dropped and the write fails with -ESTALE. A malformed
 *           response (bad header, len > XEN_TPMBACK_MAX_PACKET, TPM header
 *           size != len) fails with -EINVAL; the guest gets a TPM failure
 *           response instead.
 *   poll()  EPOLLIN when a message is ready, EPOLLOUT when a response is
 *           awaited, EPOLLHUP once the instance is gone.
 *
 * All integers are in host byte order; the TPM payload is passed byte for
 * byte as the guest wrote it (big-endian TPM wire format).
 *
 * Opening the device and every ioctl need CAP_SYS_ADMIN. An instance takes
 * one attacher at a time: a second ATTACH to the same instance fails with
 * -EBUSY until the first fd is closed.
 */
#ifndef _UAPI_LINUX_XEN_TPMBACK_H
#define _UAPI_LINUX_XEN_TPMBACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define XEN_TPMBACK_API_VERSION		1

/* Largest TPM packet one tpmif v2 shared page carries (PAGE_SIZE - 8). */
#define XEN_TPMBACK_MAX_PACKET		4088

/* struct xen_tpmback_attach.flags */
#define XEN_TPMBACK_ATTACH_BY_UUID	(1U << 0) /* match uuid, not domid/devid */
#define XEN_TPMBACK_ATTACH_WAIT		(1U << 1) /* sleep until the instance appears */

/**
 * struct xen_tpmback_attach - argument of XEN_TPMBACK_IOC_ATTACH
 * @size:	sizeof(struct xen_tpmback_attach), set by the caller
 * @flags:	XEN_TPMBACK_ATTACH_*
 * @domid:	frontend domain id (in, unless BY_UUID; out always)
 * @devid:	device id, the xenstore "handle" (in, unless BY_UUID; out always)
 * @uuid:	vTPM uuid, binary RFC 4122 order (in with BY_UUID; out always)
 * @api_version: XEN_TPMBACK_API_VERSION of the kernel (out)
 * @max_packet:	largest command/response the instance carries (out)
 * @timeout_ms:	with ATTACH_WAIT, how long to wait; 0 = forever (in)
 */
struct xen_tpmback_attach {
	__u32 size;
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
 * struct xen_tpmback_info - argument of XEN_TPMBACK_IOC_INFO
 * @size:	sizeof(struct xen_tpmback_info), set by the caller
 * @domid, @devid, @uuid: identity of the attached instance
 * @connected:	1 while the frontend is connected (shared page mapped)
 * @commands:	commands forwarded to userspace since the instance was created
 * @failed:	commands answered with a TPM failure by the kernel itself
 */
struct xen_tpmback_info {
	__u32 size;
	__u32 domid;
	__u32 devid;
	__u8  uuid[16];
	__u32 connected;
	__u64 commands;
	__u64 failed;
};

#define XEN_TPMBACK_IOC_MAGIC	0xA7
#define XEN_TPMBACK_IOC_ATTACH	_IOWR(XEN_TPMBACK_IOC_MAGIC, 0x00, struct xen_tpmback_attach)
#define XEN_TPMBACK_IOC_INFO	_IOR(XEN_TPMBACK_IOC_MAGIC, 0x01, struct xen_tpmback_info)

#endif /* _UAPI_LINUX_XEN_TPMBACK_H */
