// SPDX-License-Identifier: GPL-2.0
/*
 * Is a vTPM in use on this host? Asked before anything erases or replaces
 * a vTPM's state (destroy, import over an existing uuid). The state lock
 * alone is not enough: a server killed by SIGKILL drops it, and for the
 * ~100 ms until its supervisor restarts it (or for as long as a guest
 * waits for a server that udev has not started yet) nothing holds it,
 * while the guest still runs and expects its TPM. So every trace of a
 * user counts:
 *
 *  - the state lock (a server has the vTPM open);
 *  - a live server's claim: serve writes <run-dir>/claims/<uuid>.<pid>
 *    (the supervisor's pid under --supervise) once it knows the uuid;
 *  - a backend instance naming the uuid, in xenstore (what libxl wrote:
 *    backend/vtpm/<domid>/<devid>/uuid) and in sysfs (what xen-tpmback
 *    exports);
 *  - a domain whose libxl configuration lists the uuid
 *    (/var/lib/xen/userdata-d.<domid>.<xen-uuid>.libxl-json), such as a
 *    domain being built or a paused one whose backend is not there yet.
 *
 * VTPM_XENBUS=none, VTPM_XEN_LIB_DIR and VTPM_SYSFS_BACKENDS point the
 * checks elsewhere (tests, hosts with another layout).
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvtpm/libvtpm.h"
#include "vtpmctl.h"

const char *run_root(void)
{
	const char *e = getenv("VTPM_RUN_DIR");

	return e && *e ? e : "/run/vtpm";
}

/* a live process whose name is vtpmctl (claims, leases of this host) */
bool pid_is_vtpmctl(int pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "vtpmctl", 7);
}

/* ---- claims -------------------------------------------------------------- */

static char claim_path[4096];

int claim_write(const char *canon, int pid)
{
	char dir[3072];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/claims", run_root());
	mkdir_p(dir, 0700);
	snprintf(claim_path, sizeof(claim_path), "%s/%s.%d", dir, canon, pid);
	f = fopen(claim_path, "w");
	if (!f) {
		claim_path[0] = '\0';
		return -errno;
	}
	fprintf(f, "%d\n", pid);
	if (fclose(f)) {
		unlink(claim_path);
		claim_path[0] = '\0';
		return -EIO;
	}
	return 0;
}

void claim_remove(void)
{
	if (claim_path[0])
		unlink(claim_path);
	claim_path[0] = '\0';
}

static int check_claims(const char *canon, char *why, size_t size)
{
	char pat[4096];
	glob_t g;
	size_t i;
	int found = 0;

	snprintf(pat, sizeof(pat), "%s/claims/%s.*", run_root(), canon);
	if (glob(pat, 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		int pid = atoi(strrchr(g.gl_pathv[i], '.') + 1);

		if (pid_is_vtpmctl(pid)) {
			snprintf(why, size, "server pid %d claims it (%s)", pid,
				 g.gl_pathv[i]);
			found = 1;
		} else {
			unlink(g.gl_pathv[i]);	/* its server is gone */
		}
	}
	globfree(&g);
	return found;
}

/* ---- xenstore: backend/vtpm/<domid>/<devid>/uuid --------------------------- */

static bool xen_host(void)
{
	return access("/dev/xen/xenbus", F_OK) == 0 ||
	       access("/proc/xen/capabilities", F_OK) == 0;
}

static int check_xenstore(const char *canon, char *why, size_t size)
{
	char **doms = NULL, **devs = NULL, path[256], val[64];
	int nd, nv, i, j, err, found = 0;

	err = xs_list("/local/domain/0/backend/vtpm", &doms, &nd);
	if (err == -ENOENT && (xs_read_str("/local/domain/0/name", val, sizeof(val)) == 0 ||
			       !xen_host()))
		return 0;	/* no vtpm backends, or no Xen here */
	if (err)
		return err;
	for (i = 0; i < nd && !found; i++) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/vtpm/%s", doms[i]);
		if (xs_list(path, &devs, &nv))
			continue;
		for (j = 0; j < nv && !found; j++) {
			snprintf(path, sizeof(path), "/local/domain/0/backend/vtpm/%s/%s/uuid",
				 doms[i], devs[j]);
			if (!xs_read_str(path, val, sizeof(val)) && !strcasecmp(val, canon)) {
				snprintf(why, size, "backend vtpm-%s-%s of domain %s names it (xenstore %s)",
					 doms[i], devs[j], doms[i], path);
				found = 1;
			}
		}
		xs_free_list(devs);
		devs = NULL;
	}
	xs_free_list(doms);
	return found;
}

/* ---- sysfs: what xen-tpmback exports --------------------------------------- */

static int check_sysfs(const char *canon, char *why, size_t size)
{
	const char *root = getenv("VTPM_SYSFS_BACKENDS");
	char pat[4096];
	glob_t g;
	size_t i;
	int found = 0;

	snprintf(pat, sizeof(pat), "%s/vtpm-*/uuid",
		 root && *root ? root : "/sys/bus/xen-backend/devices");
	if (glob(pat, 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		char buf[64] = "";
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncasecmp(buf, canon, 36)) {
			snprintf(why, size, "backend device %s names it", g.gl_pathv[i]);
			found = 1;
		}
		fclose(f);
	}
	globfree(&g);
	return found;
}

/* ---- libxl's record of each domain's configuration ------------------------ */

static bool file_contains(const char *path, const char *needle)
{
	char *buf;
	size_t n;
	bool hit = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	buf = malloc(1 << 20);
	if (buf) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		hit = strcasestr(buf, needle) != NULL;
		free(buf);
	}
	fclose(f);
	return hit;
}

static int check_domain_configs(const char *canon, char *why, size_t size)
{
	const char *root = getenv("VTPM_XEN_LIB_DIR");
	char pat[4096];
	glob_t g;
	size_t i;
	int found = 0;

	snprintf(pat, sizeof(pat), "%s/userdata-d.*.libxl-json",
		 root && *root ? root : "/var/lib/xen");
	if (glob(pat, 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		char xuuid[64] = "", vm[128], path[64];
		int domid;

		if (sscanf(base, "userdata-d.%d.%36[0-9a-fA-F-].libxl-json", &domid, xuuid) != 2)
			continue;
		if (!file_contains(g.gl_pathv[i], canon))
			continue;
		/* a leftover of a domain that no longer exists does not count */
		snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
		if (xs_read_str(path, vm, sizeof(vm)) == -ENOENT)
			continue;
		snprintf(why, size, "domain %d (Xen uuid %s) has it in its configuration (%s)",
			 domid, xuuid, g.gl_pathv[i]);
		found = 1;
	}
	globfree(&g);
	return found;
}

int vtpm_in_use(const char *canon, const char *dir, char *why, size_t size)
{
	struct vtpm_info info = { .sz = sizeof(info) };
	int r;

	if (vtpm_state_info(dir, &info) == 0 && info.locked) {
		snprintf(why, size, "served by pid %d (state lock)", info.lock_pid);
		return 1;
	}
	if ((r = check_claims(canon, why, size)))
		return r;
	{
		struct lease me, holder;
		char d[256];

		lease_self(&me, getpid());
		if (lease_held_elsewhere(canon, &me, &holder)) {
			lease_describe(&holder, d, sizeof(d));
			snprintf(why, size, "its serving lease is held by %s", d);
			return 1;
		}
	}
	r = check_xenstore(canon, why, size);
	if (r < 0) {
		snprintf(why, size, "cannot read xenstore to check the backends: %s",
			 strerror(-r));
		return r;
	}
	if (r)
		return r;
	if ((r = check_sysfs(canon, why, size)))
		return r;
	return check_domain_configs(canon, why, size);
}
