// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl serve's confinement: what a guest that exploits a libtpms bug
 * gets is this process, so once the server has attached to its instance
 * and started its worker thread it keeps only what serving needs:
 *
 *  - no capabilities at all (the chardev checked CAP_SYS_ADMIN when it was
 *    opened; the fd is the privilege from then on), in every set,
 *    bounding set included, and no_new_privs, so nothing regains them;
 *  - not dumpable and no core files: the process holds the vTPM's seeds
 *    and its state key;
 *  - Landlock: files only beneath its own vTPM's state directory (its
 *    serving lease is there too), its volatile state directory, this
 *    host's claims directory (and its pidfile's directory, to remove it
 *    at exit); /etc, other vTPMs, the host key's sealed file: EACCES;
 *  - a seccomp filter allowing the system calls the serve loop, libvtpm,
 *    libtpms, OpenSSL, glibc's malloc and syslog make, and nothing else:
 *    no execve, no new sockets but AF_UNIX (syslog), no ptrace, no
 *    mount, no module or keyring administration, no PROT_EXEC mappings.
 *    Anything else kills the whole process (SIGSYS). The kernel then fails
 *    the guest's command in hand with a TPM error (the fd closed), and the
 *    supervisor, if any, starts a fresh server.
 *
 * It is entered before the worker thread starts, so that every thread
 * of the server has it (capabilities and Landlock are per thread and
 * inherited; the seccomp filter is synchronised over all threads anyway).
 *
 * And, unless told to stay root (--user root), it gives up uid 0 for
 * good, as privilege-separated daemons do (sshd, chrony): the bounding set
 * is emptied while CAP_SETPCAP is still there, then setgroups(),
 * setresgid() and setresuid() to the "vtpm" user, which clears the
 * permitted and effective sets. Before that it joins a new anonymous
 * session keyring holding only its own two rollback anchors: the new uid
 * possesses those (the possessor has every permission on them) and
 * nothing else of root's, neither the host key nor other vTPMs' anchors,
 * which it does not own either (EACCES). The files it writes belong to
 * that uid (serve.c gives it its directories first).
 *
 * On a kernel without Landlock (before 5.13, or not in its lsm= list)
 * the server says so and goes on with the rest.
 *
 * VTPM_SANDBOX_LOG=1 turns the kill into a log entry (audit/dmesg), to
 * find a call a new libtpms or glibc makes; --no-sandbox disables it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <keyutils.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "transport.h"
#include "vtpmctl.h"

/* Calls allowed with any arguments. */
static const int allowed[] = {
	/* I/O on the fds we have: chardev or socket, state files, pipes */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
	SCMP_SYS(dup), SCMP_SYS(dup3), SCMP_SYS(pipe2),
	/* the state directory: libvtpm's slots, temporary files, renames */
	SCMP_SYS(openat), SCMP_SYS(getdents64), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(unlinkat), SCMP_SYS(mkdirat),
	SCMP_SYS(fchmod), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(umask), SCMP_SYS(getcwd), SCMP_SYS(unlink), SCMP_SYS(rename),
	SCMP_SYS(mkdir), SCMP_SYS(rmdir), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(fstatfs), SCMP_SYS(statfs),
	/* the serving lease (lease.c): link(2) of a temp file, mtime beats */
	SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(utimensat),
	/* memory (PROT_EXEC is refused below) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* threads, time, signals, randomness */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(tgkill),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(wait4),	/* reaping its monitor at exit (monitor.c) */
	SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(prlimit64),
	/* libvtpm's rollback anchors and the host key, in the kernel keyring */
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	/* syslog (/dev/log) and the tests' unix socket transport */
	SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(accept4),
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
};

static int build_filter(scmp_filter_ctx ctx)
{
	unsigned int i;
	int err;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (err)
			return err;
	}
	/* mmap and mprotect, never executable */
	err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/*
	 * Threads only (retry_open() starts the worker once the vTPM opens):
	 * clone with CLONE_THREAD; clone3, whose flags a filter cannot read,
	 * says ENOSYS so that glibc falls back to clone.
	 */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* sockets: AF_UNIX only (syslog's /dev/log) */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* ioctl: the chardev's own (type 0xA1), and stdio's isatty() */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00,
					       XEN_TPMBACK_IOC_MAGIC << 8));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	return err;
}

/* The bounding and ambient sets: emptying the bounding set needs
 * CAP_SETPCAP, so it goes first. */
static int drop_bounding(void)
{
	int cap;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* What is left: effective, permitted, inheritable. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/*
 * A new anonymous session keyring with only the vTPM's own anchors in it:
 * after the uid change they are possessed (KEY_POS_ALL: read, update,
 * invalidate), and root's user keyring, with the host key and the other
 * vTPMs' anchors, is neither possessed nor owned (EACCES).
 */
static int keep_keys(const int32_t *keys, int n)
{
	int i;

	if (keyctl_join_session_keyring(NULL) < 0)
		return -errno;
	for (i = 0; i < n; i++)
		if (keys[i] > 0 && keyctl_link(keys[i], KEY_SPEC_SESSION_KEYRING) < 0)
			return -errno;
	return 0;
}

/* For good: no saved or real uid 0 left to go back to. */
static int set_user(uid_t uid, gid_t gid)
{
	uid_t r, e, sv;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	if (getresuid(&r, &e, &sv) || getresgid(&rg, &eg, &sg) ||
	    r != uid || e != uid || sv != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	/* a uid change resets dumpability to fs.suid_dumpable */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* Landlock (ABI 1): file access only beneath the given directories (and
 * a key file, read only, if the caller names one: serve does not, its
 * vTPM is open before it confines itself). */
#define LL_FILES (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		  LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
		  LANDLOCK_ACCESS_FS_MAKE_REG)
#define LL_ALL (LL_FILES | LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
		LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
		LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | \
		LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

static int ll_allow(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access };
	int err = 0;

	if (!path)
		return 0;
	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return errno == ENOENT ? 0 : -errno;	/* nothing to allow */
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
		err = -errno;
	close(pb.parent_fd);
	return err;
}

static int landlock(const struct sandbox_paths *p)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = LL_ALL };
	int rs, err;

	rs = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP) {
			log_msg(LOG_WARNING, "sandbox: this kernel has no Landlock: file access is not confined to the vTPM's directories");
			return 0;
		}
		return -errno;
	}
	err = ll_allow(rs, p->state_dir, LL_FILES);
	if (!err)
		err = ll_allow(rs, p->run_dir, LL_FILES);
	if (!err)
		err = ll_allow(rs, p->claims_dir, LL_FILES);
	if (!err)
		err = ll_allow(rs, p->key_file, LANDLOCK_ACCESS_FS_READ_FILE);
	if (!err)
		err = ll_allow(rs, p->pidfile_dir, LANDLOCK_ACCESS_FS_READ_FILE |
			       LANDLOCK_ACCESS_FS_REMOVE_FILE);
	if (!err && syscall(SYS_landlock_restrict_self, rs, 0))
		err = -errno;
	close(rs);
	return err;
}

/* Early, before any secret is in memory: no core file, no ptrace by peers. */
void sandbox_no_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int sandbox_enter(const struct sandbox_paths *paths)
{
	const char *logmode = getenv("VTPM_SANDBOX_LOG");
	bool log_only = logmode && !strcmp(logmode, "1");
	scmp_filter_ctx ctx;
	int err;

	if (paths->set_user) {
		err = keep_keys(paths->keys, paths->nkeys);
		if (err) {
			log_msg(LOG_ERR, "sandbox: cannot keep the rollback anchors in a session keyring of their own: %s",
				strerror(-err));
			return err;
		}
	}
	err = drop_bounding();
	if (err) {
		log_msg(LOG_ERR, "sandbox: cannot drop capabilities: %s%s", strerror(-err),
			err == -EPERM ? " (emptying the bounding set needs CAP_SETPCAP: the unit's CapabilityBoundingSet must keep it)" : "");
		return err;
	}
	if (paths->set_user) {
		err = set_user(paths->uid, paths->gid);
		if (err) {
			log_msg(LOG_ERR, "sandbox: cannot become uid %u gid %u: %s%s",
				(unsigned int)paths->uid, (unsigned int)paths->gid, strerror(-err),
				err == -EPERM ? " (needs CAP_SETUID and CAP_SETGID: the unit's CapabilityBoundingSet must keep them)" : "");
			return err;
		}
	}
	err = drop_capabilities();
	if (err) {
		log_msg(LOG_ERR, "sandbox: cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = -errno;
		log_msg(LOG_ERR, "sandbox: cannot set no_new_privs: %m");
		return err;
	}
	err = landlock(paths);
	if (err) {
		log_msg(LOG_ERR, "sandbox: Landlock: %s", strerror(-err));
		return err;
	}
	ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		log_msg(LOG_ERR, "sandbox: seccomp_init failed");
		return -ENOMEM;
	}
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = build_filter(ctx);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err) {
		log_msg(LOG_ERR, "sandbox: cannot load the seccomp filter: %s", strerror(-err));
		return err;
	}
	log_msg(LOG_DEBUG, "sandbox: uid %u gid %u, no capabilities, files beneath %s and %s only, seccomp filter loaded%s",
		(unsigned int)getuid(), (unsigned int)getgid(),
		paths->state_dir ?: "(none)", paths->run_dir ?: "(none)",
		log_only ? " (log only: VTPM_SANDBOX_LOG=1)" : "");
	return 0;
}
