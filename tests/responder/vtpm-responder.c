// SPDX-License-Identifier: GPL-2.0
/*
 * vtpm-responder: a small test server for xen-tpmback.
 *
 * Opens /dev/xen/tpmback, attaches to one backend device and forwards each
 * command to a swtpm data socket, passing the response back byte for byte:
 *
 *   swtpm socket --tpm2 --tpmstate dir=D \
 *       --server type=unixio,path=DATA --ctrl type=unixio,path=CTRL \
 *       --flags startup-clear,not-need-init
 *   vtpm-responder --domid 1 --devid 0 --swtpm DATA [--ctrl CTRL]
 *
 * It proves the module before libvtpm and vtpmctl exist, and gives the
 * end-to-end tests hooks: a hex log of the traffic, a command code it
 * never answers (to kill it mid-command), a pid file and a ready line.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/userfaultfd.h>
#include <xen/tpmback.h>

#define PROG "vtpm-responder"
#define MAX_MSG (sizeof(struct xen_tpmback_msg) + XEN_TPMBACK_MAX_PACKET)

/* swtpm control channel: CMD_SET_LOCALITY */
#define PTM_SET_LOCALITY 5

static struct {
	const char *dev;
	const char *swtpm;
	const char *ctrl;
	const char *log;
	const char *pidfile;
	const char *uuid;
	long domid, devid;
	long hang_cc;
	long bad_cc;
	int wait;
	unsigned int wait_ms;
	int uffd_read;
	int abuse;
} opt = {
	.dev = "/dev/xen/tpmback",
	.domid = -1,
	.devid = -1,
	.hang_cc = -1,
	.bad_cc = -1,
};

static FILE *log_file;
static int swtpm_fd = -1;
static int ctrl_fd = -1;
static int cur_locality;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void print_usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: " PROG " (--domid D --devid N | --uuid UUID) --swtpm PATH [options]\n"
"  --domid D, --devid N   attach to backend device vtpm-D-N\n"
"  --uuid UUID            attach to the device with this vTPM uuid\n"
"  --wait[=MS]            wait for the device to appear (MS=0: forever)\n"
"  --swtpm PATH           swtpm data socket (--server type=unixio,path=PATH)\n"
"  --ctrl PATH            swtpm control socket: pass the locality through\n"
"  --log FILE             log 'CMD <seq> <loc> <hex>' / 'RSP <seq> <hex>'\n"
"  --hang-on-cc 0xCC      never answer commands with this command code\n"
"  --bad-rsp-on-cc 0xCC   answer such commands with malformed writes: a\n"
"                         response whose TPM size field lies, then one with\n"
"                         a stale seq; logs 'BADRSP <seq> errno=E' and\n"
"                         'STALERSP <seq> errno=E' (the guest gets the\n"
"                         kernel's TPM failure response)\n"
"  --uffd-read            read the first message into a buffer whose pages\n"
"                         fault through a userfaultfd nobody serves: the\n"
"                         read never returns (logs 'UFFD-READ blocked')\n"
"  --abuse                once attached, misuse the chardev as a buggy\n"
"                         server would (see abuse()); logs 'ABUSE <what>\n"
"                         errno=E' for each, then serves normally\n"
"  --pidfile FILE         write the pid here\n"
"  --device PATH          default /dev/xen/tpmback\n"
"Prints 'vtpm-responder: ready domid=D devid=N uuid=U' once attached.\n"
"Exits 0 when the device goes away, 1 on errors.\n");
	exit(status);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		die("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("connect %s: %s", path, strerror(errno));
	return fd;
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writing %s: %s", what, n ? strerror(errno) : "short write");
		p += n;
		len -= n;
	}
}

static void read_all(int fd, void *buf, size_t len, const char *what)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("reading %s: %s", what, strerror(errno));
		if (n == 0)
			die("reading %s: connection closed", what);
		p += n;
		len -= n;
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void log_hex(const char *prefix, const uint8_t *buf, size_t len)
{
	size_t i;

	if (!log_file)
		return;
	fputs(prefix, log_file);
	for (i = 0; i < len; i++)
		fprintf(log_file, "%02x", buf[i]);
	fputc('\n', log_file);
	fflush(log_file);
}

static void log_line(const char *fmt, ...)
{
	va_list ap;

	if (!log_file)
		return;
	va_start(ap, fmt);
	vfprintf(log_file, fmt, ap);
	va_end(ap);
	fflush(log_file);
}

static void set_locality(int loc)
{
	uint8_t req[5] = { 0, 0, 0, PTM_SET_LOCALITY, (uint8_t)loc };
	uint8_t rsp[4];

	if (ctrl_fd < 0 || loc == cur_locality)
		return;
	write_all(ctrl_fd, req, sizeof(req), "swtpm control socket");
	read_all(ctrl_fd, rsp, sizeof(rsp), "swtpm control socket");
	if (be32(rsp))
		fprintf(stderr, PROG ": swtpm refused locality %d (0x%x)\n",
			loc, be32(rsp));
	else
		cur_locality = loc;
}

/* Send one command to swtpm, read its whole response. Returns its length. */
static uint32_t swtpm_transact(const uint8_t *cmd, uint32_t len, uint8_t *rsp)
{
	uint32_t size;

	write_all(swtpm_fd, cmd, len, "swtpm data socket");
	read_all(swtpm_fd, rsp, 10, "swtpm data socket");
	size = be32(rsp + 2);
	if (size < 10 || size > XEN_TPMBACK_MAX_PACKET)
		die("swtpm response size %u out of range", size);
	read_all(swtpm_fd, rsp + 10, size - 10, "swtpm data socket");
	return size;
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	int i = 0;

	while (*s && i < 32) {
		int hi;

		if (*s == '-') {
			s++;
			continue;
		}
		if (sscanf(s, "%1x", &hi) != 1)
			return -1;
		if (i % 2)
			out[i / 2] |= hi;
		else
			out[i / 2] = hi << 4;
		i++;
		s++;
	}
	return i == 32 && !*s ? 0 : -1;
}

static void format_uuid(const uint8_t u[16], char *buf)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5],
		u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int attach_device(void)
{
	struct xen_tpmback_attach a = { 0 };
	char uuid[40];
	int fd;

	fd = open(opt.dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", opt.dev, strerror(errno));

	if (opt.uuid) {
		a.flags |= XEN_TPMBACK_ATTACH_BY_UUID;
		if (parse_uuid(opt.uuid, a.uuid))
			die("bad uuid: %s", opt.uuid);
	} else {
		a.domid = opt.domid;
		a.devid = opt.devid;
	}
	if (opt.wait) {
		a.flags |= XEN_TPMBACK_ATTACH_WAIT;
		a.timeout_ms = opt.wait_ms;
	}
	while (ioctl(fd, XEN_TPMBACK_IOC_ATTACH, &a) < 0) {
		if (errno == EINTR)
			continue;
		die("attach: %s", strerror(errno));
	}
	if (a.api_version != XEN_TPMBACK_API_VERSION)
		fprintf(stderr, PROG ": kernel API version %u, built for %u\n",
			a.api_version, XEN_TPMBACK_API_VERSION);

	format_uuid(a.uuid, uuid);
	printf(PROG ": ready domid=%u devid=%u uuid=%s pid=%d\n",
	       a.domid, a.devid, uuid, (int)getpid());
	fflush(stdout);
	return fd;
}


/*
 * --abuse: what a buggy or compromised server can do to the chardev
 * besides malformed answers, each logged as "ABUSE <what> errno=<n>" for
 * the scenario to check: a response with no command pending (-EPIPE, an
 * oversized one too), a second attacher to the same instance (-EBUSY),
 * another attach on an attached fd (-EISCONN), an attach to an instance
 * that does not exist (-ENOENT), read and write on an fd never attached
 * (-ENOTCONN), an unknown ioctl (-ENOTTY). The instance must serve
 * normally afterwards.
 */
static void abuse(int fd)
{
	struct xen_tpmback_attach a = { 0 };
	uint8_t buf[sizeof(struct xen_tpmback_msg) + 5000];
	struct xen_tpmback_msg *m = (struct xen_tpmback_msg *)buf;
	static const uint8_t ok[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0 };
	int fd2;
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	m->type = XEN_TPMBACK_MSG_RSP;
	m->seq = 12345;
	m->len = sizeof(ok);
	memcpy(buf + sizeof(*m), ok, sizeof(ok));
	n = write(fd, buf, sizeof(*m) + sizeof(ok));
	log_line("ABUSE write-no-command errno=%d\n", n < 0 ? errno : 0);
	m->len = 4900;
	n = write(fd, buf, sizeof(*m) + 4900);
	log_line("ABUSE write-oversize errno=%d\n", n < 0 ? errno : 0);

	if (parse_uuid(opt.uuid ? opt.uuid : "", a.uuid) == 0)
		a.flags = XEN_TPMBACK_ATTACH_BY_UUID;
	else {
		a.domid = opt.domid;
		a.devid = opt.devid;
	}
	n = ioctl(fd, XEN_TPMBACK_IOC_ATTACH, &a);
	log_line("ABUSE attach-again errno=%d\n", n < 0 ? errno : 0);

	fd2 = open(opt.dev, O_RDWR | O_CLOEXEC);
	if (fd2 < 0)
		die("open %s: %s", opt.dev, strerror(errno));
	n = ioctl(fd2, XEN_TPMBACK_IOC_ATTACH, &a);
	log_line("ABUSE second-attacher errno=%d\n", n < 0 ? errno : 0);
	n = read(fd2, buf, sizeof(buf));
	log_line("ABUSE read-unattached errno=%d\n", n < 0 ? errno : 0);
	m->len = sizeof(ok);
	n = write(fd2, buf, sizeof(*m) + sizeof(ok));
	log_line("ABUSE write-unattached errno=%d\n", n < 0 ? errno : 0);
	memset(&a, 0, sizeof(a));
	a.domid = 32000;
	n = ioctl(fd2, XEN_TPMBACK_IOC_ATTACH, &a);
	log_line("ABUSE attach-vanished errno=%d\n", n < 0 ? errno : 0);
	n = ioctl(fd2, _IO(XEN_TPMBACK_IOC_MAGIC, 0x7f), 0);
	log_line("ABUSE unknown-ioctl errno=%d\n", n < 0 ? errno : 0);
	close(fd2);
}

/*
 * Malformed responses, as a buggy server would write them: both must be
 * refused by the kernel (-EINVAL, then -EPIPE once the command has been
 * failed), and neither may reach the guest.
 */
static void bad_writes(int fd, uint32_t seq)
{
	uint8_t buf[sizeof(struct xen_tpmback_msg) + 10];
	struct xen_tpmback_msg *m = (struct xen_tpmback_msg *)buf;
	/* TPM2 success header whose size field says 11, with 10 bytes. */
	static const uint8_t lie[10] = { 0x80, 0x01, 0, 0, 0, 11, 0, 0, 0, 0 };
	ssize_t n;

	memset(m, 0, sizeof(*m));
	m->type = XEN_TPMBACK_MSG_RSP;
	m->seq = seq;
	m->len = sizeof(lie);
	memcpy(buf + sizeof(*m), lie, sizeof(lie));
	n = write(fd, buf, sizeof(buf));
	log_line("BADRSP %u errno=%d\n", seq, n < 0 ? errno : 0);
	/* The command is failed now: the same seq is stale. */
	buf[sizeof(*m) + 5] = 10;
	n = write(fd, buf, sizeof(buf));
	log_line("STALERSP %u errno=%d\n", seq, n < 0 ? errno : 0);
}

/*
 * A server whose buffer faults forever (a userfaultfd nobody serves, as a
 * FUSE mapping or a slow userfaultfd handler would): the kernel's copy to
 * it must not stall anyone else. Only SIGKILL ends this.
 */
static void uffd_read(int fd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	long page = sysconf(_SC_PAGESIZE);
	size_t size = 2 * page;
	void *buf;
	int uffd;
	ssize_t n;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		die("userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		die("UFFDIO_API: %s", strerror(errno));
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	reg.range.start = (unsigned long)buf;
	reg.range.len = size;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER: %s", strerror(errno));
	log_line("UFFD-READ blocked\n");
	n = read(fd, buf, size);
	/* Not reached unless the copy failed. */
	log_line("UFFD-READ returned %zd errno=%d\n", n, n < 0 ? errno : 0);
	exit(1);
}

static void serve(int fd)
{
	static uint8_t in[MAX_MSG], out[MAX_MSG];
	struct xen_tpmback_msg *msg = (struct xen_tpmback_msg *)in;
	struct xen_tpmback_msg *rsp = (struct xen_tpmback_msg *)out;
	char prefix[64];

	for (;;) {
		uint8_t *cmd = in + sizeof(*msg);
		uint32_t len;
		ssize_t n;

		n = read(fd, in, sizeof(in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0) {
			fprintf(stderr, PROG ": device gone, exiting\n");
			return;
		}
		if ((size_t)n < sizeof(*msg) || msg->len != n - sizeof(*msg))
			die("short or inconsistent message (%zd bytes)", n);

		if (msg->type == XEN_TPMBACK_MSG_CANCEL) {
			log_line("CANCEL %u\n", msg->seq);
			continue;
		}
		if (msg->type != XEN_TPMBACK_MSG_CMD) {
			fprintf(stderr, PROG ": unknown message type %u\n", msg->type);
			continue;
		}

		snprintf(prefix, sizeof(prefix), "CMD %u %u ", msg->seq, msg->locality);
		log_hex(prefix, cmd, msg->len);

		if (opt.hang_cc >= 0 && msg->len >= 10 &&
		    be32(cmd + 6) == (uint32_t)opt.hang_cc) {
			log_line("HANG %u\n", msg->seq);
			continue;
		}

		if (opt.bad_cc >= 0 && msg->len >= 10 &&
		    be32(cmd + 6) == (uint32_t)opt.bad_cc) {
			bad_writes(fd, msg->seq);
			continue;
		}

		set_locality(msg->locality);
		len = swtpm_transact(cmd, msg->len, out + sizeof(*rsp));
		memset(rsp, 0, sizeof(*rsp));
		rsp->type = XEN_TPMBACK_MSG_RSP;
		rsp->seq = msg->seq;
		rsp->len = len;
		snprintf(prefix, sizeof(prefix), "RSP %u ", msg->seq);
		log_hex(prefix, out + sizeof(*rsp), len);

		n = write(fd, out, sizeof(*rsp) + len);
		if (n < 0 && errno == EPIPE) {
			log_line("STALE %u\n", msg->seq);
			continue;
		}
		if (n < 0)
			die("write: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domid", required_argument, NULL, 'd' },
		{ "devid", required_argument, NULL, 'n' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "wait", optional_argument, NULL, 'w' },
		{ "swtpm", required_argument, NULL, 's' },
		{ "ctrl", required_argument, NULL, 'c' },
		{ "log", required_argument, NULL, 'l' },
		{ "hang-on-cc", required_argument, NULL, 'H' },
		{ "bad-rsp-on-cc", required_argument, NULL, 'B' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "uffd-read", no_argument, NULL, 'U' },
		{ "device", required_argument, NULL, 'D' },
		{ "abuse", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			opt.domid = strtol(optarg, NULL, 0);
			break;
		case 'n':
			opt.devid = strtol(optarg, NULL, 0);
			break;
		case 'u':
			opt.uuid = optarg;
			break;
		case 'w':
			opt.wait = 1;
			opt.wait_ms = optarg ? strtoul(optarg, NULL, 0) : 0;
			break;
		case 's':
			opt.swtpm = optarg;
			break;
		case 'c':
			opt.ctrl = optarg;
			break;
		case 'l':
			opt.log = optarg;
			break;
		case 'H':
			opt.hang_cc = strtol(optarg, NULL, 0);
			break;
		case 'B':
			opt.bad_cc = strtol(optarg, NULL, 0);
			break;
		case 'p':
			opt.pidfile = optarg;
			break;
		case 'U':
			opt.uffd_read = 1;
			break;
		case 'D':
			opt.dev = optarg;
			break;
		case 'A':
			opt.abuse = 1;
			break;
		case 'h':
			print_usage(0);
			break;
		default:
			print_usage(2);
		}
	}
	if (optind != argc || !opt.swtpm ||
	    (!opt.uuid && (opt.domid < 0 || opt.devid < 0)))
		print_usage(2);

	signal(SIGPIPE, SIG_IGN);

	if (opt.pidfile) {
		FILE *f = fopen(opt.pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
			die("writing %s: %s", opt.pidfile, strerror(errno));
	}
	if (opt.log) {
		log_file = fopen(opt.log, "a");
		if (!log_file)
			die("opening %s: %s", opt.log, strerror(errno));
	}

	swtpm_fd = connect_unix(opt.swtpm);
	if (opt.ctrl)
		ctrl_fd = connect_unix(opt.ctrl);

	fd = attach_device();
	if (opt.abuse)
		abuse(fd);
	if (opt.uffd_read)
		uffd_read(fd);
	serve(fd);
	return 0;
}
