// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Directory state backend: one file per blob in the vTPM's directory.
 *
 * A blob is replaced by writing ".<name>.tmp", fsync()ing it, rename()ing
 * it over <name> and fsync()ing the directory, so after a crash or power
 * loss at any instant <name> holds the old or the new content, whole.
 * With sync == 0 the two fsync() calls are skipped: still atomic against
 * a crash of the process (the page cache survives it), not against power
 * loss. That costs an open, a rename and two journal commits, so the
 * state written on the command path uses slots instead: <name>.0 and
 * <name>.1, overwritten in place (pwrite, fdatasync when sync) from open
 * file descriptors, the caller keeping the other slot intact meanwhile.
 *
 * Files are root's own business: the directory is created 0700 and
 * refused when it is not ours or others may write to it (root also takes
 * the one it gave to its server's uid, vtpmctl serve --user: root made it
 * in a state root only root writes to, and reads it as it reads any
 * file; the server's uid itself takes only its own); no file is
 * followed through a symlink (O_NOFOLLOW), a slot with more than one link
 * is refused, temp files are created O_EXCL after removing whatever sat
 * at their name, so a planted link makes us overwrite nothing.
 *
 * "lock" is flock()ed by the serving process and holds its pid.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* our own directory, or a file in it: owned by us, not writable by others */
static int check_owned(int fd, const char *what, int dir)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		pr_warn("%s is not a %s\n", what, dir ? "directory" : "regular file");
		return -EPERM;
	}
	if ((sb.st_uid != geteuid() && geteuid() != 0) || (sb.st_mode & 022)) {
		pr_warn("%s is owned by uid %u with mode %04o: refused (must be ours, not writable by group or others)\n",
			what, (unsigned int)sb.st_uid, (unsigned int)(sb.st_mode & 07777));
		return -EPERM;
	}
	if (!dir && sb.st_nlink != 1) {
		pr_warn("%s has %lu links: refused\n", what, (unsigned long)sb.st_nlink);
		return -EPERM;
	}
	return 0;
}

static int dir_open(struct vtpm_store *st, const char *location, int create)
{
	int fd, err;

	if (create && mkdir(location, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		pr_warn("cannot create state directory %s: %s\n", location,
			strerror(errno));
		return err;
	}
	fd = open(location, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = check_owned(fd, location, 1);
	if (err) {
		close(fd);
		return err;
	}
	st->dirfd = fd;
	st->lockfd = -1;
	st->slotfd[0] = st->slotfd[1] = -1;
	st->slot_name = NULL;
	st->logfd = -1;
	st->log_size = (size_t)-1;
	st->location = strdup(location);
	if (!st->location) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

static int read_lock_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return atoi(buf);
}

static int dir_lock(struct vtpm_store *st, int *pid)
{
	char buf[32];
	int fd, n, err;

	fd = openat(st->dirfd, VTPM_LOCK_NAME,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (pid)
			*pid = read_lock_pid(fd);
		close(fd);
		return err;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, buf, n, 0);
	st->lockfd = fd;
	return 0;
}

static int dir_probe_lock(struct vtpm_store *st, int *pid)
{
	int fd, err = 0;

	if (st->lockfd >= 0)
		return 0;
	fd = openat(st->dirfd, VTPM_LOCK_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (pid)
			*pid = read_lock_pid(fd);
	}
	close(fd);
	return err;
}

static int dir_load(struct vtpm_store *st, const char *name, uint8_t **data,
		    size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	size_t off = 0;
	int fd, err;

	fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &sb) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = -EPERM;
		goto out_close;
	}
	if (sb.st_size > 16 << 20) {
		err = -EFBIG;
		goto out_close;
	}
	buf = malloc(sb.st_size ? sb.st_size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + off, sb.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			free(buf);
			goto out_close;
		}
		off += n;
	}
	*data = buf;
	*len = off;
	err = 0;
out_close:
	close(fd);
	return err;
}

static int dir_store(struct vtpm_store *st, const char *name, const void *data,
		     size_t len, int sync)
{
	char tmp[256];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* a leftover, or something planted: removed, never written through */
	if (unlinkat(st->dirfd, tmp, 0) < 0 && errno != ENOENT) {
		err = -errno;
		goto err_log;
	}
	fd = openat(st->dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto err_log;
	}
	err = write_all(fd, data, len);
	if (!err && sync && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		goto err_unlink_tmp;
	if (renameat(st->dirfd, tmp, st->dirfd, name) < 0) {
		err = -errno;
		goto err_unlink_tmp;
	}
	if (sync && fsync(st->dirfd) < 0) {
		err = -errno;
		goto err_log;
	}
	return 0;

err_unlink_tmp:
	unlinkat(st->dirfd, tmp, 0);
err_log:
	pr_warn("cannot write %s/%s: %s\n", st->location, name, strerror(-err));
	return err;
}

static int slot_path(char *buf, size_t size, const char *name, int slot)
{
	if (slot < 0 || slot > 1 ||
	    snprintf(buf, size, "%s.%d", name, slot) >= (int)size)
		return -EINVAL;
	return 0;
}

static int dir_slot_load(struct vtpm_store *st, const char *name, int slot,
			 uint8_t **data, size_t *len)
{
	char path[256];
	int err = slot_path(path, sizeof(path), name, slot);

	return err ? err : dir_load(st, path, data, len);
}

/* the open file of a slot: opened (created 0600) once, checked once */
static int slot_fd(struct vtpm_store *st, const char *name, int slot, int sync)
{
	char path[256];
	struct stat sb;
	int fd, err, created = 0;

	if (st->slot_name && strcmp(st->slot_name, name))
		return -EINVAL;		/* one slot pair per store */
	if (st->slotfd[slot] >= 0)
		return st->slotfd[slot];
	err = slot_path(path, sizeof(path), name, slot);
	if (err)
		return err;
	fd = openat(st->dirfd, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = openat(st->dirfd, path,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		created = 1;
	}
	if (fd < 0) {
		err = errno == ELOOP ? -EPERM : -errno;
		pr_warn("cannot open %s/%s: %s\n", st->location, path, strerror(-err));
		return err;
	}
	err = check_owned(fd, path, 0);
	if (!err && fstat(fd, &sb) < 0)
		err = -errno;
	/* a new name is durable only once the directory is */
	if (!err && created && sync && fsync(st->dirfd) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	if (!st->slot_name && !(st->slot_name = strdup(name))) {
		close(fd);
		return -ENOMEM;
	}
	st->slotfd[slot] = fd;
	st->slot_size[slot] = sb.st_size;
	return fd;
}

static int dir_slot_store(struct vtpm_store *st, const char *name, int slot,
			  const void *data, size_t len, int sync)
{
	const uint8_t *p = data;
	size_t off = 0;
	int fd, err = 0;

	if (slot < 0 || slot > 1)
		return -EINVAL;
	fd = slot_fd(st, name, slot, sync);
	if (fd < 0)
		return fd;
	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	/* the blob is the whole file: nothing of an older, longer one stays */
	if (!err && st->slot_size[slot] > len && ftruncate(fd, len) < 0)
		err = -errno;
	if (!err && sync && fdatasync(fd) < 0)
		err = -errno;
	if (err) {
		/* size unknown now: the next write truncates */
		st->slot_size[slot] = (size_t)-1;
		pr_warn("cannot write %s/%s.%d: %s\n", st->location, name, slot,
			strerror(-err));
		return err;
	}
	st->slot_size[slot] = len;
	return 0;
}

/* the open log file: opened (created 0600) once, checked once */
static int log_fd(struct vtpm_store *st, const char *name)
{
	int fd, err;

	if (st->logfd >= 0)
		return st->logfd;
	fd = openat(st->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno == ELOOP ? -EPERM : -errno;
		pr_warn("cannot open %s/%s: %s\n", st->location, name, strerror(-err));
		return err;
	}
	err = check_owned(fd, name, 0);
	if (err) {
		close(fd);
		return err;
	}
	st->logfd = fd;
	st->log_size = (size_t)-1;	/* what is in it: log_reset() says */
	return fd;
}

static int dir_log_reset(struct vtpm_store *st, const char *name)
{
	int fd = log_fd(st, name);

	if (fd < 0)
		return fd;
	if (ftruncate(fd, 0) < 0) {
		int err = -errno;

		pr_warn("cannot empty %s/%s: %s\n", st->location, name, strerror(-err));
		return err;
	}
	st->log_size = 0;
	return 0;
}

static int dir_log_append(struct vtpm_store *st, const char *name,
			  const void *data, size_t len, int sync)
{
	const uint8_t *p = data;
	size_t off = 0;
	int fd, err = 0;

	fd = log_fd(st, name);
	if (fd < 0)
		return fd;
	if (st->log_size == (size_t)-1)
		return -EIO;		/* log_reset() first */
	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, st->log_size + off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	if (!err && sync && fdatasync(fd) < 0)
		err = -errno;
	if (err) {
		pr_warn("cannot append to %s/%s: %s\n", st->location, name,
			strerror(-err));
		/* no part of the record may stay: the next one goes here */
		if (ftruncate(fd, st->log_size) < 0) {
			pr_warn("cannot cut %s/%s back to %zu bytes: %s\n",
				st->location, name, st->log_size, strerror(errno));
			st->log_size = (size_t)-1;
		}
		return err;
	}
	st->log_size += len;
	return 0;
}

static int dir_remove(struct vtpm_store *st, const char *name)
{
	if (unlinkat(st->dirfd, name, 0) < 0)
		return -errno;
	if (fsync(st->dirfd) < 0)
		return -errno;
	return 0;
}

static int dir_stat(struct vtpm_store *st, const char *name, uint64_t *size,
		    uint64_t *mtime)
{
	struct stat sb;

	if (fstatat(st->dirfd, name, &sb, 0) < 0)
		return -errno;
	if (size)
		*size = sb.st_size;
	if (mtime)
		*mtime = sb.st_mtim.tv_sec;
	return 0;
}

/* Overwrite a file's bytes with zeros before unlinking it (best effort:
 * on copy-on-write or flash storage the old blocks may survive; the
 * state is encrypted for that reason). */
static int wipe_file(int dirfd, const char *name)
{
	static const uint8_t zeros[4096];
	struct stat sb;
	off_t off = 0;
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1) {
			while (off < sb.st_size) {
				size_t n = sb.st_size - off;

				if (n > sizeof(zeros))
					n = sizeof(zeros);
				if (pwrite(fd, zeros, n, off) <= 0)
					break;
				off += n;
			}
			fsync(fd);
		}
		close(fd);
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int dir_destroy(struct vtpm_store *st)
{
	struct dirent *de;
	int err = 0, fd;
	DIR *d;

	fd = dup(st->dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* the lock file goes last: it keeps a racing server out */
		if (!strcmp(de->d_name, VTPM_LOCK_NAME))
			continue;
		e = wipe_file(st->dirfd, de->d_name);
		if (e && !err)
			err = e;
	}
	closedir(d);
	if (err)
		return err;
	if (unlinkat(st->dirfd, VTPM_LOCK_NAME, 0) < 0 && errno != ENOENT)
		return -errno;
	fsync(st->dirfd);
	if (rmdir(st->location) < 0)
		return -errno;
	return 0;
}

static void dir_close(struct vtpm_store *st)
{
	int i;

	for (i = 0; i < 2; i++)
		if (st->slotfd[i] >= 0)
			close(st->slotfd[i]);
	st->slotfd[0] = st->slotfd[1] = -1;
	if (st->logfd >= 0)
		close(st->logfd);
	st->logfd = -1;
	free(st->slot_name);
	st->slot_name = NULL;
	if (st->lockfd >= 0)
		close(st->lockfd);	/* drops the flock */
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->location);
	st->lockfd = st->dirfd = -1;
	st->location = NULL;
}

const struct vtpm_store_ops vtpm_store_dir_ops = {
	.name		= "dir",
	.open		= dir_open,
	.lock		= dir_lock,
	.probe_lock	= dir_probe_lock,
	.load		= dir_load,
	.store		= dir_store,
	.slot_load	= dir_slot_load,
	.slot_store	= dir_slot_store,
	.log_append	= dir_log_append,
	.log_reset	= dir_log_reset,
	.remove		= dir_remove,
	.stat		= dir_stat,
	.destroy	= dir_destroy,
	.close		= dir_close,
};
