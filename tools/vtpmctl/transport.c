// SPDX-License-Identifier: GPL-2.0
/* The two transports of vtpmctl serve: /dev/xen/tpmback and a test socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"
#include "vtpmctl.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* ---- /dev/xen/tpmback ---------------------------------------------------- */

static int chardev_attach(struct transport *t, unsigned int timeout_ms)
{
	struct xen_tpmback_attach a;
	uint64_t deadline = now_ms() + timeout_ms;
	unsigned int left;
	int fd;

	/*
	 * udev may start us before the module is loaded (the add event of
	 * the backend device is what loads it): wait for the node too.
	 */
	for (;;) {
		fd = open(t->path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			break;
		if ((errno != ENOENT && errno != ENODEV && errno != ENXIO) ||
		    (timeout_ms && now_ms() >= deadline))
			return -errno;
		usleep(100 * 1000);
	}
	memset(&a, 0, sizeof(a));
	a.flags = XEN_TPMBACK_ATTACH_WAIT;
	if (t->by_uuid) {
		a.flags |= XEN_TPMBACK_ATTACH_BY_UUID;
		memcpy(a.uuid, t->uuid, 16);
	} else {
		a.domid = t->domid;
		a.devid = t->devid;
	}
	left = timeout_ms ? (now_ms() < deadline ? deadline - now_ms() : 1) : 0;
	a.timeout_ms = left;
	while (ioctl(fd, XEN_TPMBACK_IOC_ATTACH, &a) < 0) {
		int err = -errno;

		if (errno == EINTR)
			continue;
		close(fd);
		return err;
	}
	if (a.api_version != XEN_TPMBACK_API_VERSION)
		log_msg(4 /* LOG_WARNING */, "kernel API version %u, built for %u",
			a.api_version, XEN_TPMBACK_API_VERSION);
	t->fd = fd;
	t->domid = a.domid;
	t->devid = a.devid;
	memcpy(t->uuid, a.uuid, 16);
	t->have_uuid = 1;
	t->max_packet = a.max_packet ? a.max_packet : XEN_TPMBACK_MAX_PACKET;
	return 0;
}

static ssize_t fd_recv(struct transport *t, void *buf, size_t size)
{
	ssize_t n;

	do
		n = read(t->fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int fd_send(struct transport *t, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static void fd_close(struct transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

const struct transport_ops chardev_transport_ops = {
	.name	= "xen-tpmback",
	.attach	= chardev_attach,
	.recv	= fd_recv,
	.send	= fd_send,
	.close	= fd_close,
};

/* ---- unix socket (tests) ------------------------------------------------ */

/*
 * serve listens on the path and takes one connection; that peer plays
 * the kernel: it sends CMD/CANCEL messages and reads RSP messages, and
 * closing the connection means "instance removed" (EOF).
 */
static int socket_attach(struct transport *t, unsigned int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int fd, c;

	if (strlen(t->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, t->path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(t->path);	/* a stale socket of an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	t->listen_fd = fd;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms ? (int)timeout_ms : -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		break;
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -errno;
	t->fd = c;
	t->max_packet = XEN_TPMBACK_MAX_PACKET;
	return 0;
}

static ssize_t sock_recv(struct transport *t, void *buf, size_t size)
{
	ssize_t n;

	do
		n = recv(t->fd, buf, size, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n > size)
		return -EMSGSIZE;	/* as the chardev: a too-small buffer fails */
	return n;
}

/* A peer that closed the socket is a device gone, not a late response. */
static int sock_send(struct transport *t, const void *buf, size_t len)
{
	int err = fd_send(t, buf, len);

	return err == -EPIPE ? -ECONNRESET : err;
}

static void sock_close(struct transport *t)
{
	fd_close(t);
	if (t->listen_fd >= 0) {
		close(t->listen_fd);
		unlink(t->path);
	}
	t->listen_fd = -1;
}

const struct transport_ops socket_transport_ops = {
	.name	= "socket",
	.attach	= socket_attach,
	.recv	= sock_recv,
	.send	= sock_send,
	.close	= sock_close,
};
