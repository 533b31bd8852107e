// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: which run of a guest a vTPM's volatile state belongs to, so a
 * domain restored from `xl save` (or migrated) resumes the TPM it had, a
 * rebooted or newly created one gets Startup(CLEAR), and an older save
 * image is never silently given a newer TPM. Documentation/vtpm-lifecycle.rst
 * has the whole story; in short:
 *
 *  - Every server that starts a session for a domain draws a random
 *    epoch, records it in <state-root>/<uuid>/session and writes it into
 *    the domain's libxl configuration as c_info.xsdata
 *    "vtpm-epoch-<uuid>" (under libxl's userdata lock). `xl save` and
 *    `xl migrate` put that configuration into the save stream; `xl
 *    restore` (and a reboot, which reloads it) has libxl write xsdata
 *    into the new domain's xenstore directory, where the guest can read
 *    but not write it.
 *  - When the instance goes away, the server asks the hypervisor why the
 *    domain stopped: SHUTDOWN_suspend (xl save, migration) keeps the
 *    volatile state as a durable suspend record named after the epoch;
 *    anything else is a power-off.
 *  - A new domain: no epoch in its xenstore -> created from a config
 *    file -> fresh. Its epoch is the session's and the session was
 *    suspended -> restored: resume the record (once). Its epoch is the
 *    session's and the session ended -> rebooted -> fresh. Its epoch is
 *    an older session's -> an old save image: refused.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vtpmctl.h"

/*
 * <state-root>/<uuid>/session: in the vTPM's own directory, the one place
 * its confined server may write (sandbox.c), and gone with the vTPM.
 * Versions before it kept <state-root>/<uuid>.session: read when the new
 * one is missing, removed once the new one is written.
 */
void session_path(const char *canon, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/session", state_root, canon);
}

void session_old_path(const char *canon, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.session", state_root, canon);
}

int session_read(const char *canon, struct session *s)
{
	char path[4096], line[256];
	FILE *f;

	memset(s, 0, sizeof(*s));
	session_path(canon, path, sizeof(path));
	f = fopen(path, "r");
	if (!f && errno == ENOENT) {
		session_old_path(canon, path, sizeof(path));
		f = fopen(path, "r");
	}
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "epoch=", 6))
			snprintf(s->epoch, sizeof(s->epoch), "%.32s", line + 6);
		else if (!strncmp(line, "xen-uuid=", 9))
			snprintf(s->xen_uuid, sizeof(s->xen_uuid), "%.36s", line + 9);
		else if (!strncmp(line, "state=", 6))
			snprintf(s->state, sizeof(s->state), "%.15s", line + 6);
		else if (!strncmp(line, "reason=", 7))
			snprintf(s->reason, sizeof(s->reason), "%.15s", line + 7);
		else if (!strncmp(line, "tag=", 4))
			snprintf(s->tag, sizeof(s->tag), "%.127s", line + 4);
		else if (!strncmp(line, "domid=", 6))
			s->domid = atoi(line + 6);
		else if (!strncmp(line, "since=", 6))
			s->since = strtoll(line + 6, NULL, 10);
	}
	fclose(f);
	return s->epoch[0] ? 0 : -EBADMSG;
}

/* whole or not at all (write_file_atomic: temp file, fsync, rename,
 * directory fsync) */
int session_write(const char *canon, const struct session *s)
{
	char path[4096], buf[640];
	int n, err;

	session_path(canon, path, sizeof(path));
	n = snprintf(buf, sizeof(buf),
		     "epoch=%s\nxen-uuid=%s\nstate=%s\nreason=%s\ntag=%s\ndomid=%d\nsince=%lld\n",
		     s->epoch, s->xen_uuid, s->state, s->reason, s->tag, s->domid,
		     (long long)s->since);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	err = write_file_atomic(path, buf, n, 0600);
	if (err)
		return err;
	/* the old place, if an older version left one (a confined server
	 * cannot: it wrote the new one before it confined itself) */
	session_old_path(canon, path, sizeof(path));
	unlink(path);
	return 0;
}

void session_new_epoch(char out[33])
{
	uint8_t r[16];
	int i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		memset(r, 0, sizeof(r));	/* cannot happen after boot */
	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

/* ---- what xenstore says about a domain ------------------------------------ */

int domain_xen_uuid(int domid, char out[37])
{
	char path[64], vm[128];
	int err;

	snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
	err = xs_read_str(path, vm, sizeof(vm));
	if (err)
		return err;
	if (strncmp(vm, "/vm/", 4) || strlen(vm + 4) < 36)
		return -EBADMSG;
	snprintf(out, 37, "%.36s", vm + 4);
	return 0;
}

int domain_token(int domid, const char *canon, char out[33])
{
	char path[128], v[64];
	int err;

	snprintf(path, sizeof(path), "/local/domain/%d/vtpm-epoch-%s", domid, canon);
	err = xs_read_str(path, v, sizeof(v));
	if (err)
		return err;
	if (strlen(v) != 32 || strspn(v, "0123456789abcdef") != 32)
		return -EBADMSG;
	memcpy(out, v, 33);
	return 0;
}

/* ---- why the domain stopped: the hypervisor's word (libxenctrl) ----------- */

/*
 * struct xen_domctl_getdomaininfo begins with domid_t domain, uint16_t
 * pad, uint32_t flags (xen/include/public/domctl.h, stable across
 * versions); the rest is not needed. libxenctrl is opened at run time: it
 * comes with the toolstack, and vtpmctl builds without Xen's headers.
 */
#define XEN_DOMINF_dying	(1U << 0)
#define XEN_DOMINF_shutdown	(1U << 2)
#define XEN_DOMINF_shutdownshift 16

/*
 * libxenctrl and the hypervisor interface, opened once per server: the
 * question asked at EOF must be one hypercall. The domain being saved is
 * destroyed right after its memory is written, and an answer delayed by
 * loading the library (seconds on a loaded dom0) finds it gone, which
 * reads as a shutdown: the restored guest would get a reset TPM.
 */
static void *xc_lib, *xc_handle;
static int (*xc_getinfolist_fn)(void *, uint32_t, unsigned int, void *);

int domain_xc_open(void)
{
	static const char *libs[] = { "libxenctrl.so", "libxenctrl.so.4.17",
				      "libxenctrl.so.4.18", "libxenctrl.so.4.19",
				      "libxenctrl.so.4.16", "libxenctrl.so.4.20" };
	void *(*xc_open)(void *, void *, unsigned int);
	size_t i;

	if (xc_handle)
		return 0;
	for (i = 0; i < ARRAY_SIZE(libs) && !xc_lib; i++)
		xc_lib = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
	if (!xc_lib)
		return -ENOSYS;
	xc_open = (void *(*)(void *, void *, unsigned int))dlsym(xc_lib, "xc_interface_open");
	xc_getinfolist_fn = (int (*)(void *, uint32_t, unsigned int, void *))
		dlsym(xc_lib, "xc_domain_getinfolist");
	if (!xc_open || !xc_getinfolist_fn) {
		dlclose(xc_lib);
		xc_lib = NULL;
		return -ENOSYS;
	}
	xc_handle = xc_open(NULL, NULL, 0);
	return xc_handle ? 0 : -EACCES;
}

int domain_shutdown_reason(int domid, int *reason)
{
	uint8_t info[1024] __attribute__((aligned(8)));
	uint32_t flags;
	int n, err;

	err = domain_xc_open();
	if (err)
		return err;
	memset(info, 0, sizeof(info));
	n = xc_getinfolist_fn(xc_handle, domid, 1, info);
	if (n != 1 || (info[0] | info[1] << 8) != domid)
		return -ENOENT;
	memcpy(&flags, info + 4, 4);
	if (!(flags & XEN_DOMINF_shutdown)) {
		*reason = -1;
		return 0;
	}
	*reason = (flags >> XEN_DOMINF_shutdownshift) & 255;
	return 1;
}

const char *shutdown_reason_name(int r)
{
	static const char *names[] = { "poweroff", "reboot", "suspend", "crash",
				       "watchdog", "soft_reset" };

	if (r < 0)
		return "destroyed";	/* gone while running */
	return r < (int)ARRAY_SIZE(names) ? names[r] : "unknown";
}

/* ---- the token in the domain's libxl configuration ------------------------ */

static const char *xen_lib_dir(void)
{
	const char *e = getenv("VTPM_XEN_LIB_DIR");

	return e && *e ? e : "/var/lib/xen";
}

/* libxl__lock_domain_userdata(): flock, and the file must still be there */
static int libxl_userdata_lock(int domid, const char *xuuid)
{
	char path[4096];
	struct stat a, b;

	snprintf(path, sizeof(path), "%s/userdata-l.%d.%s.domain-userdata-lock",
		 xen_lib_dir(), domid, xuuid);
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return -errno;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

static void libxl_userdata_unlock(int fd, int domid, const char *xuuid)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/userdata-l.%d.%s.domain-userdata-lock",
		 xen_lib_dir(), domid, xuuid);
	unlink(path);		/* as libxl__unlock_file(): unlink, then close */
	close(fd);
}

/* the JSON with "vtpm-epoch-<uuid>": "<epoch>" in c_info.xsdata */
static char *json_with_token(const char *json, const char *canon, const char *epoch)
{
	char key[80], *out, *p;
	const char *ci, *xs, *k, *brace;
	size_t len = strlen(json);

	snprintf(key, sizeof(key), "\"vtpm-epoch-%s\"", canon);
	out = malloc(len + 256);
	if (!out)
		return NULL;
	ci = strstr(json, "\"c_info\"");
	if (!ci || !(brace = strchr(ci, '{'))) {
		free(out);
		return NULL;
	}
	xs = strstr(brace, "\"xsdata\"");
	if (xs) {
		/* "xsdata": { ... } only; anything else (null) is left alone */
		const char *c = xs + 8;

		while (*c == ' ' || *c == '\n' || *c == '\t' || *c == ':')
			c++;
		if (*c != '{') {
			free(out);
			return NULL;
		}
	}
	if (xs && (k = strstr(xs, key))) {
		/* ours already: replace the 32-character value in place */
		const char *v = strchr(k + strlen(key), '"');

		memcpy(out, json, len + 1);
		if (!v || strlen(v) < 34 || v[33] != '"') {
			free(out);
			return NULL;
		}
		memcpy(out + (v + 1 - json), epoch, 32);
		return out;
	}
	if (xs && (brace = strchr(xs, '{'))) {
		const char *q = brace + 1;

		while (*q == ' ' || *q == '\n' || *q == '\t')
			q++;
		p = out;
		memcpy(p, json, brace + 1 - json);
		p += brace + 1 - json;
		p += sprintf(p, " %s: \"%s\"%s", key, epoch, *q == '}' ? " " : ", ");
		strcpy(p, brace + 1);
		return out;
	}
	p = out;
	memcpy(p, json, brace + 1 - json);
	p += brace + 1 - json;
	p += sprintf(p, " \"xsdata\": { %s: \"%s\" },", key, epoch);
	strcpy(p, brace + 1);
	return out;
}

int domain_config_set_token(int domid, const char *xuuid, const char *canon,
			    const char *epoch)
{
	char path[4096], tmp[4200], *json = NULL, *out = NULL;
	struct stat sb;
	int lock, fd = -1, err = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/userdata-d.%d.%s.libxl-json", xen_lib_dir(),
		 domid, xuuid);
	if (access(path, F_OK) < 0)
		return -errno;	/* libxl writes it when the creation completes */
	lock = libxl_userdata_lock(domid, xuuid);
	if (lock < 0)
		return lock;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size > (1 << 22)) {
		err = fd < 0 ? -errno : -EFBIG;
		goto out;
	}
	json = malloc(sb.st_size + 1);
	if (!json) {
		err = -ENOMEM;
		goto out;
	}
	n = read(fd, json, sb.st_size);
	if (n != sb.st_size) {
		err = -EIO;
		goto out;
	}
	json[n] = '\0';
	close(fd);
	fd = -1;
	out = json_with_token(json, canon, epoch);
	if (!out) {
		err = -EBADMSG;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.vtpm.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, sb.st_mode & 0777);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	n = strlen(out);
	if (write(fd, out, n) != n || fsync(fd) < 0 || rename(tmp, path) < 0) {
		err = errno ? -errno : -EIO;
		unlink(tmp);
	}
out:
	if (fd >= 0)
		close(fd);
	libxl_userdata_unlock(lock, domid, xuuid);
	free(json);
	free(out);
	return err;
}
