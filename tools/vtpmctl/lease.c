// SPDX-License-Identifier: GPL-2.0
/*
 * The serving lease: which host serves a vTPM, for state directories that
 * several Xen hosts mount (NFS, CephFS, any POSIX filesystem).
 *
 * <state-root>/<uuid>/serving.lease is a small text file:
 *
 *   host=<host id>   /etc/machine-id ($VTPM_HOST_ID overrides)
 *   boot=<boot id>   /proc/sys/kernel/random/boot_id of that host
 *   pid=<pid>        the server (its supervisor under --supervise)
 *   since=<epoch s>  when it was taken
 *
 * and its mtime is the holder's heartbeat (touched every 10 s).
 *
 * Taken with link(2) of a complete temp file to the lease name: link is
 * atomic on local filesystems and on NFS (v3 and v4) and CephFS, and it
 * cannot leave a half-written lease. Released by unlink when the server
 * stops serving. A lease of this host is ours to take over when its
 * holder is provably dead: another boot of this host, or a pid that no
 * longer runs vtpmctl (checked under a host-local flock so two local
 * servers do not both take it). A lease of another host is never taken:
 * however old its heartbeat, the host may be alive behind a network
 * partition and still serving its guest. Only "vtpmctl lease break"
 * removes it, on an admin's word that the host is dead.
 *
 * Why not fcntl()/flock() locks on the shared filesystem: NFS hands them
 * to the server's lock manager, which releases them by itself when the
 * client's lease (NFSv4) or status monitor (NFSv3/NLM) lapses, e.g.
 * after 90 s of partition, while the partitioned host still serves its
 * guest: two hosts would then serve one TPM. Breaking must not happen by
 * accident, so the lease is a plain file whose removal is an explicit act.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vtpmctl.h"

int lease_beat_s(void)
{
	const char *e = getenv("VTPM_LEASE_BEAT_S");	/* tests */
	int v = e ? atoi(e) : 0;

	return v > 0 && v <= 3600 ? v : 10;
}

static void read_line_file(const char *path, char *buf, size_t size, const char *dflt)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, size, "%s", dflt);
	if (!f)
		return;
	if (fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	if (!buf[0])
		snprintf(buf, size, "%s", dflt);
}

void lease_self(struct lease *me, int pid)
{
	const char *h = getenv("VTPM_HOST_ID");

	memset(me, 0, sizeof(*me));
	if (h && *h) {
		snprintf(me->host, sizeof(me->host), "%s", h);
	} else {
		read_line_file("/etc/machine-id", me->host, sizeof(me->host), "");
		if (!me->host[0] && gethostname(me->host, sizeof(me->host) - 1) < 0)
			snprintf(me->host, sizeof(me->host), "unknown-host");
	}
	read_line_file("/proc/sys/kernel/random/boot_id", me->boot, sizeof(me->boot),
		       "unknown-boot");
	me->pid = pid;
	me->since = time(NULL);
}

static void lease_path(const char *canon, char *buf, size_t size)
{
	/* in the vTPM's own directory: the one place its confined server
	 * may write (Landlock, sandbox.c), and gone with the vTPM */
	snprintf(buf, size, "%s/%s/serving.lease", state_root, canon);
}

/* before the lease moved into the vTPM's directory: <state-root>/<uuid>.lease,
 * still honoured when a server of an older version holds it */
static void old_lease_path(const char *canon, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.lease", state_root, canon);
}

static int read_lease_file(const char *path, struct lease *l)
{
	char line[256];
	struct stat sb;
	FILE *f;

	memset(l, 0, sizeof(*l));
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "host=", 5))
			snprintf(l->host, sizeof(l->host), "%.127s", line + 5);
		else if (!strncmp(line, "boot=", 5))
			snprintf(l->boot, sizeof(l->boot), "%.63s", line + 5);
		else if (!strncmp(line, "pid=", 4))
			l->pid = atoi(line + 4);
		else if (!strncmp(line, "since=", 6))
			l->since = strtoll(line + 6, NULL, 10);
	}
	if (fstat(fileno(f), &sb) == 0)
		l->beat = sb.st_mtime;
	fclose(f);
	if (!l->host[0])
		return -EBADMSG;
	return 0;
}

int lease_read(const char *canon, struct lease *l)
{
	char path[4096];
	int err;

	lease_path(canon, path, sizeof(path));
	err = read_lease_file(path, l);
	if (err == -ENOENT) {
		/* a confined server cannot read there (EACCES): still none */
		old_lease_path(canon, path, sizeof(path));
		if (read_lease_file(path, l) == 0)
			return 0;
		memset(l, 0, sizeof(*l));
	}
	return err;
}

static bool same_holder(const struct lease *a, const struct lease *b)
{
	return !strcmp(a->host, b->host) && !strcmp(a->boot, b->boot) && a->pid == b->pid;
}

/* a lease of this host whose holder is provably gone */
static bool dead_local(const struct lease *l, const struct lease *me)
{
	if (strcmp(l->host, me->host))
		return false;
	if (strcmp(l->boot, me->boot))
		return true;			/* this host rebooted since */
	return !pid_is_vtpmctl(l->pid);
}

void lease_describe(const struct lease *l, char *buf, size_t size)
{
	char since[32];
	struct tm tm;
	time_t t = l->since;
	long age = (long)(time(NULL) - l->beat);

	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, size, "host %s pid %d since %s (boot %.8s, heartbeat %ld s ago)",
		 l->host, l->pid, since, l->boot, age < 0 ? 0 : age);
}

static int write_temp(const char *canon, const struct lease *me, char *tmp, size_t size)
{
	char buf[512];
	int fd, n;

	snprintf(tmp, size, "%s/%s/.serving.lease.%.32s.%d", state_root, canon, me->host, me->pid);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "host=%s\nboot=%s\npid=%d\nsince=%lld\n",
		     me->host, me->boot, me->pid, (long long)me->since);
	if (write(fd, buf, n) != n || fsync(fd) < 0) {
		int err = errno ? -errno : -EIO;

		close(fd);
		unlink(tmp);
		return err;
	}
	close(fd);
	return 0;
}

/* a host-local lock serialising take-overs of this host's stale leases */
static int local_lock(const char *canon)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/claims", run_root());
	mkdir_p(path, 0700);
	snprintf(path, sizeof(path), "%s/claims/%s.lease-lock", run_root(), canon);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int lease_acquire(const char *canon, const struct lease *me, struct lease *holder)
{
	char path[4096], tmp[4096];
	struct stat sb;
	int err, fd;

	/* a server of an older version holding the old place */
	old_lease_path(canon, path, sizeof(path));
	if (read_lease_file(path, holder) == 0) {
		if (!same_holder(holder, me) && !dead_local(holder, me))
			return -EBUSY;
		unlink(path);
	}
	lease_path(canon, path, sizeof(path));
	err = write_temp(canon, me, tmp, sizeof(tmp));
	if (err)
		return err;
	if (link(tmp, path) == 0 || (stat(tmp, &sb) == 0 && sb.st_nlink == 2)) {
		unlink(tmp);		/* NFS: a retransmitted link says EEXIST */
		return 0;
	}
	if (errno != EEXIST) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	fd = local_lock(canon);
	err = lease_read(canon, holder);
	if (err == -ENOENT) {
		/* released meanwhile: try once more */
		err = link(tmp, path) == 0 ? 0 : -EBUSY;
	} else if (err == 0 && same_holder(holder, me)) {
		err = 0;		/* ours already (a restarted server) */
	} else if (err == -EBADMSG || (err == 0 && dead_local(holder, me))) {
		/* ours to take over: its holder is gone (or it is garbage
		 * this host left, say a crash mid-write on a local disk) */
		err = rename(tmp, path) == 0 ? 0 : -errno;
	} else if (err == 0) {
		err = -EBUSY;
	}
	unlink(tmp);
	if (fd >= 0)
		close(fd);
	return err;
}

int lease_held_elsewhere(const char *canon, const struct lease *me, struct lease *holder)
{
	if (lease_read(canon, holder))
		return 0;
	return !same_holder(holder, me) && !dead_local(holder, me);
}

int lease_check(const char *canon, const struct lease *me, struct lease *now)
{
	char path[4096];
	int err = lease_read(canon, now);

	if (err)
		return err;
	if (!same_holder(now, me))
		return -ESTALE;
	lease_path(canon, path, sizeof(path));
	return utimensat(AT_FDCWD, path, NULL, 0) < 0 ? -errno : 0;
}

void lease_release(const char *canon, const struct lease *me)
{
	struct lease l;
	char path[4096];

	if (lease_read(canon, &l) || !same_holder(&l, me))
		return;
	lease_path(canon, path, sizeof(path));
	unlink(path);
}

int lease_break(const char *canon)
{
	char path[4096];
	int err;

	old_lease_path(canon, path, sizeof(path));
	err = unlink(path) < 0 ? -errno : 0;
	lease_path(canon, path, sizeof(path));
	if (unlink(path) == 0)
		return 0;
	return errno == ENOENT ? err : -errno;
}

/* ---- vtpmctl lease show|break ------------------------------------------- */

static int lease_usage(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: %s lease show UUID\n"
	       "       %s lease break [--force] UUID\n\n"
	       "The serving lease of a vTPM on shared storage (<state-dir>/<uuid>/serving.lease):\n"
	       "which host and server hold it, since when, its last heartbeat.\n"
	       "\"break\" removes a lease whose host is dead (crashed, powered off,\n"
	       "fenced), so another host may serve the vTPM. Never automatic: a host\n"
	       "cut off by the network may still run the guest. Refused while the\n"
	       "holder is a live server on this host, or its heartbeat is younger\n"
	       "than %d s, unless --force.\n", bin_name, bin_name, 3 * lease_beat_s());
	return EXIT_OK;
}

static int lease_arg(int argc, char **argv, bool *force, char canon[37])
{
	const char *u = NULL;
	uint8_t b[16];
	int i;

	for (i = 1; i < argc; i++) {
		if (force && !strcmp(argv[i], "--force"))
			*force = true;
		else if (is_help(argv[i]))
			return lease_usage(0, NULL), EXIT_OK;
		else if (!u && argv[i][0] != '-')
			u = argv[i];
		else {
			p_usage_err("unexpected argument \"%s\" for \"lease %s\"", argv[i], argv[0]);
			return EXIT_USAGE;
		}
	}
	if (!u) {
		p_usage_err("missing UUID");
		return EXIT_USAGE;
	}
	if (uuid_parse_str(u, b)) {
		p_usage_err("malformed uuid \"%s\"", u);
		return EXIT_USAGE;
	}
	uuid_format(b, canon);
	return -1;
}

static int lease_show(int argc, char **argv)
{
	char canon[37], d[256];
	struct lease l;
	int ret, err;

	ret = lease_arg(argc, argv, NULL, canon);
	if (ret >= 0)
		return ret;
	err = lease_read(canon, &l);
	if (err == -ENOENT) {
		if (json_output)
			printf("{\"uuid\": \"%s\", \"held\": false}\n", canon);
		else
			printf("vTPM %s: no serving lease (not served)\n", canon);
		return EXIT_OK;
	}
	if (err) {
		p_err("cannot read the lease of vTPM %s: %s", canon, strerror(-err));
		return EXIT_FAIL;
	}
	if (json_output) {
		printf("{\"uuid\": \"%s\", \"held\": true, \"host\": ", canon);
		json_string(stdout, l.host);
		printf(", \"boot\": ");
		json_string(stdout, l.boot);
		printf(", \"pid\": %d, \"since\": %lld, \"heartbeat\": %lld}\n",
		       l.pid, l.since, l.beat);
	} else {
		lease_describe(&l, d, sizeof(d));
		printf("vTPM %s: lease held by %s\n", canon, d);
	}
	return EXIT_OK;
}

static int lease_break_cmd(int argc, char **argv)
{
	char canon[37], d[256] = "unreadable";
	struct lease me, l;
	bool force = false;
	int ret, err;

	ret = lease_arg(argc, argv, &force, canon);
	if (ret >= 0)
		return ret;
	err = lease_read(canon, &l);
	if (err == -ENOENT) {
		p_err("vTPM %s has no serving lease", canon);
		return EXIT_FAIL;
	}
	lease_self(&me, getpid());
	if (!err) {
		lease_describe(&l, d, sizeof(d));
		if (!strcmp(l.host, me.host) && !strcmp(l.boot, me.boot) &&
		    lease_held_elsewhere(canon, &me, &l)) {
			p_err("lease of vTPM %s is held by %s: a live server on this host; stop it instead",
			      canon, d);
			return EXIT_FAIL;
		}
		if (time(NULL) - l.beat < 3 * lease_beat_s() && !force) {
			p_err("lease of vTPM %s is held by %s: its heartbeat is recent, the holder looks alive (--force if you know that host is dead)",
			      canon, d);
			return EXIT_FAIL;
		}
	}
	err = lease_break(canon);
	if (err && err != -ENOENT) {
		p_err("cannot remove the lease of vTPM %s: %s", canon, strerror(-err));
		return EXIT_FAIL;
	}
	if (json_output)
		printf("{\"uuid\": \"%s\", \"broken\": true}\n", canon);
	else
		printf("lease of vTPM %s broken (was: %s)\n", canon, d);
	return EXIT_OK;
}

int do_lease(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show",	lease_show,		"who holds the serving lease" },
		{ "break",	lease_break_cmd,	"remove the lease of a dead host" },
		{ "help",	lease_usage,		"this text" },
		{ 0 },
	};

	return cmd_select(cmds, argc - 1, argv + 1, lease_usage);
}
