/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How serve gets its commands: the xen-tpmback character device
 * (/dev/xen/tpmback), or a
 * unix socket carrying the very same messages (struct xen_tpmback_msg +
 * payload, one message per SOCK_SEQPACKET record) for tests on machines
 * without Xen. Everything above this interface is the same for both.
 */
#ifndef VTPMCTL_TRANSPORT_H
#define VTPMCTL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/tpmback.h>

struct transport;

struct transport_ops {
	const char *name;
	/* bind to the instance; may wait up to timeout_ms (0 = forever) */
	int (*attach)(struct transport *t, unsigned int timeout_ms);
	/* one whole message; 0 = the instance is gone for good */
	ssize_t (*recv)(struct transport *t, void *buf, size_t size);
	int (*send)(struct transport *t, const void *buf, size_t len);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;			/* poll()able once attached */
	int listen_fd;		/* socket transport */
	const char *path;	/* device or socket path */
	/* identity: in (what to attach to), out (what we got) */
	int by_uuid;
	uint32_t domid, devid;
	uint8_t uuid[16];
	int have_uuid;
	uint32_t max_packet;
};

extern const struct transport_ops chardev_transport_ops;
extern const struct transport_ops socket_transport_ops;

#endif /* VTPMCTL_TRANSPORT_H */
