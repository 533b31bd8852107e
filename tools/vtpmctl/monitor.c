// SPDX-License-Identifier: GPL-2.0
/*
 * The server's monitor: the two things a confined server (sandbox.c) must
 * not be able to do itself but needs after it confined itself, done for
 * it by a small process forked before it opened its vTPM, which stays
 * unconfined (root, its capabilities, no seccomp filter):
 *
 *   'R'  why did the domain stop? One libxenctrl call (getdomaininfo)
 *        for the server's own domain, asked when its instance is gone:
 *        a suspend (xl save, migration) keeps the TPM's volatile state.
 *        A saved domain is released ~0.2 s after its instance goes (under
 *        TCG), so the monitor also asks every 200 ms on its own and, if
 *        the domain is gone when the server asks, answers with the last
 *        shutdown it saw (a suspend is set seconds before the release).
 *   'T'  record the session's epoch in the domain's libxl configuration
 *        (/var/lib/xen/userdata-d.<domid>.<xen-uuid>.libxl-json), so that
 *        a save image of this session resumes its TPM; retried by the
 *        server every 0.5 s until libxl has written the file.
 *
 * A request is one byte and carries nothing else: the domain id, its Xen
 * uuid, the vTPM uuid and the epoch are fixed when the monitor is forked,
 * before any guest byte reached libtpms. So a guest that takes over its
 * server can at most learn its own domain's shutdown reason and rewrite
 * its own domain's epoch to the value it already has; it reaches neither
 * the hypervisor, nor xenstore, nor another domain's configuration, nor a
 * file of its choice. Anything but 'R' or 'T' ends the monitor.
 *
 * The monitor holds nothing of the server's: it is forked before the
 * vTPM is opened (no seed, no key in its memory), keeps only its end of
 * the socket pair and stdio (the chardev is not among them: a killed
 * server's fd is released at once and the guest's command fails), and
 * exits when the server's end closes, however the server ends.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "vtpmctl.h"

struct mon_rsp {
	int ret;
	int reason;
};

static int mon_fd = -1;		/* the server's end; -1: no monitor */
static pid_t mon_pid;

bool monitor_active(void)
{
	return mon_fd >= 0;
}

static void __attribute__((noreturn))
monitor_main(int fd, int domid, const char *xuuid, const char *canon, const char *epoch)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int seen_r = -ENOENT, seen_reason = -1;
	bool xc;
	struct mon_rsp r;
	char op;
	ssize_t n;

	if (fd != 3) {
		dup2(fd, 3);
		fd = 3;
	}
	/* nothing of the server's but this socket and stdio */
	syscall(SYS_close_range, 4, ~0U, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/*
	 * Stopping the unit signals every process of it at once: the server
	 * may still have a question (its instance went away with a suspend).
	 * The monitor goes when the server does.
	 */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	xc = domain_xc_open() == 0;
	if (!xc)
		log_msg(LOG_WARNING, "monitor: libxenctrl unavailable: a suspend will not be told from a shutdown");
	for (;;) {
		pfd.fd = fd;
		if (poll(&pfd, 1, xc ? 200 : -1) == 0) {
			int rr, reason;

			/* only a shutdown is remembered: running clears it */
			rr = domain_shutdown_reason(domid, &reason);
			if (rr >= 0) {
				seen_r = rr;
				seen_reason = reason;
			}
			continue;
		}
		n = read(fd, &op, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			_exit(0);	/* the server is gone */
		memset(&r, 0, sizeof(r));
		if (op == 'R') {
			r.ret = domain_shutdown_reason(domid, &r.reason);
			if (r.ret == -ENOENT && seen_r == 1) {
				r.ret = 1;
				r.reason = seen_reason;
			}
		} else if (op == 'T') {
			r.ret = domain_config_set_token(domid, xuuid, canon, epoch);
		} else {
			_exit(1);
		}
		if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
			_exit(1);
	}
}

int monitor_start(int domid, const char *xuuid, const char *canon, const char *epoch)
{
	int sv[2];
	pid_t pid;

	if (mon_fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		close(sv[0]);
		monitor_main(sv[1], domid, xuuid, canon, epoch);
	}
	close(sv[1]);
	mon_fd = sv[0];
	mon_pid = pid;
	log_msg(LOG_DEBUG, "monitor pid %d for domain %d, vTPM %s", (int)pid, domid, canon);
	return 0;
}

static int call(char op, struct mon_rsp *r)
{
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (mon_fd < 0)
		return -ENOSYS;
	if (send(mon_fd, &op, 1, MSG_NOSIGNAL) != 1)
		return -EPIPE;
	do
		n = recv(mon_fd, r, sizeof(*r), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*r))
		return -EPIPE;
	return r->ret;
}

/* as domain_shutdown_reason(): 1 with *reason, 0 running, negative errno */
int monitor_shutdown_reason(int *reason)
{
	struct mon_rsp r;
	int err = call('R', &r);

	*reason = r.reason;
	return err;
}

/* as domain_config_set_token() for the values given to monitor_start() */
int monitor_set_token(void)
{
	struct mon_rsp r;

	return call('T', &r);
}

/* at the server's exit: close our end, reap the monitor */
void monitor_stop(void)
{
	if (mon_fd < 0)
		return;
	close(mon_fd);
	mon_fd = -1;
	while (waitpid(mon_pid, NULL, 0) < 0 && errno == EINTR)
		;
}
