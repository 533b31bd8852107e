// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal xenstore client: read, list, and one guarded write. vtpmctl
 * mostly looks at what the toolstack wrote (backend/vtpm/..., a domain's
 * vm path), so it needs neither libxenstore nor xenstore-utils. It speaks
 * xenstored's wire protocol (xen/include/public/io/xs_wire.h: a 16-byte
 * header, then the payload) through the kernel's /dev/xen/xenbus, or
 * xenstored's unix socket where that is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vtpmctl.h"

enum {
	XS_DIRECTORY = 1, XS_READ = 2, XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7, XS_WRITE = 11, XS_ERROR = 16,
};

struct xs_hdr {
	uint32_t type, req_id, tx_id, len;
};

#define XS_PAYLOAD_MAX 4096

static int xs_fd = -1;

static int xs_connect(void)
{
	const char *dev = getenv("VTPM_XENBUS");	/* tests: "none" */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char *socks[] = { "/run/xenstored/socket",
				       "/var/run/xenstored/socket" };
	size_t i;

	if (xs_fd >= 0)
		return 0;
	if (dev && !strcmp(dev, "none"))
		return -ENOENT;
	xs_fd = open(dev && *dev ? dev : "/dev/xen/xenbus", O_RDWR | O_CLOEXEC);
	if (xs_fd >= 0)
		return 0;
	for (i = 0; i < ARRAY_SIZE(socks); i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socks[i]);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			xs_fd = fd;
			return 0;
		}
		close(fd);
	}
	return -ENOENT;
}

/* A confined server keeps no xenstore connection: dom0's is all of it. */
void xs_close(void)
{
	if (xs_fd >= 0)
		close(xs_fd);
	xs_fd = -1;
}

static int full_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * One request (payload of len bytes, in transaction tx or none), one
 * reply; *out is malloc()ed and NUL-terminated.
 */
static int xs_req(uint32_t type, uint32_t tx, const void *payload, size_t len,
		  char **out, size_t *out_len)
{
	static uint32_t req_id;
	uint8_t msg[sizeof(struct xs_hdr) + XS_PAYLOAD_MAX];
	struct xs_hdr h = { .type = type, .req_id = ++req_id, .tx_id = tx,
			    .len = len };
	char *body;
	int err;

	err = xs_connect();
	if (err)
		return err;
	if (len > XS_PAYLOAD_MAX)
		return -ENAMETOOLONG;
	/* /dev/xen/xenbus wants the whole request in one write */
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), payload, len);
	err = full_io(xs_fd, msg, sizeof(h) + h.len, true);
	if (!err)
		err = full_io(xs_fd, &h, sizeof(h), false);
	if (!err && h.len > XS_PAYLOAD_MAX)
		err = -EPROTO;
	if (err) {
		close(xs_fd);
		xs_fd = -1;
		return err;
	}
	body = malloc(h.len + 1);
	if (!body)
		return -ENOMEM;
	err = full_io(xs_fd, body, h.len, false);
	if (err) {
		free(body);
		close(xs_fd);
		xs_fd = -1;
		return err;
	}
	body[h.len] = '\0';
	if (h.type == XS_ERROR) {
		err = !strcmp(body, "ENOENT") ? -ENOENT :
		      !strcmp(body, "EACCES") ? -EACCES :
		      !strcmp(body, "EAGAIN") ? -EAGAIN : -EIO;
		free(body);
		return err;
	}
	*out = body;
	if (out_len)
		*out_len = h.len;
	return 0;
}

static int xs_talk(uint32_t type, const char *path, char **out, size_t *out_len)
{
	return xs_req(type, 0, path, strlen(path) + 1, out, out_len);
}

/*
 * Write DIR/NODE only while DIR exists, in one transaction. xenstored
 * makes the missing parents of a node it writes, so a plain write that
 * races with the toolstack removing a dead guest's backend directory
 * would bring that directory back, and nothing would ever remove it.
 * -ENOENT: DIR is gone, nothing written.
 */
int xs_write_in_dir(const char *dir, const char *node, const char *value)
{
	uint8_t msg[XS_PAYLOAD_MAX];
	size_t plen, vlen = strlen(value);
	int err, end, tries;
	uint32_t tx;
	char *v;

	plen = (size_t)snprintf((char *)msg, sizeof(msg), "%s/%s", dir, node) + 1;
	if (plen + vlen > sizeof(msg))
		return -E2BIG;
	memcpy(msg + plen, value, vlen);	/* the value: no NUL */
	for (tries = 0; tries < 5; tries++) {
		err = xs_req(XS_TRANSACTION_START, 0, "", 1, &v, NULL);
		if (err)
			return err;
		tx = strtoul(v, NULL, 10);
		free(v);
		err = xs_req(XS_READ, tx, dir, strlen(dir) + 1, &v, NULL);
		if (!err) {
			free(v);
			err = xs_req(XS_WRITE, tx, msg, plen + vlen, &v, NULL);
			if (!err)
				free(v);
		}
		end = xs_req(XS_TRANSACTION_END, tx, err ? "F" : "T", 2, &v, NULL);
		if (!end)
			free(v);
		if (err)
			return err;
		if (end != -EAGAIN)
			return end;
	}
	return -EAGAIN;
}

int xs_read_str(const char *path, char *buf, size_t size)
{
	char *v;
	int err = xs_talk(XS_READ, path, &v, NULL);

	if (err)
		return err;
	snprintf(buf, size, "%s", v);
	free(v);
	return 0;
}

int xs_list(const char *path, char ***names, int *n)
{
	size_t len, off;
	char *v, **out;
	int err = xs_talk(XS_DIRECTORY, path, &v, &len), cnt = 0;

	if (err)
		return err;
	for (off = 0; off < len; off += strlen(v + off) + 1)
		cnt++;
	out = calloc(cnt + 1, sizeof(*out));
	if (!out) {
		free(v);
		return -ENOMEM;
	}
	cnt = 0;
	for (off = 0; off < len; off += strlen(v + off) + 1)
		out[cnt++] = strdup(v + off);
	free(v);
	*names = out;
	*n = cnt;
	return 0;
}

void xs_free_list(char **names)
{
	char **p;

	for (p = names; p && *p; p++)
		free(*p);
	free(names);
}
