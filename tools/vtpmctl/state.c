// SPDX-License-Identifier: GPL-2.0
/* vtpmctl create | destroy | list | show | keygen: the vTPMs on this host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <keyutils.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ek.h"
#include "libvtpm/libvtpm.h"
#include "vtpmctl.h"

/* Parse the options of a command that takes at most nargs positional
 * arguments; returns -1 on success (args in *pos), else an exit code. */
static int parse_simple(int argc, char **argv, const char **pos, int nargs,
			void (*usage)(void), const struct option *extra,
			const char *extra_short, int (*handle)(int c, const char *arg))
{
	struct option opts[16] = { COMMON_LONGOPTS };
	char shortopts[64];
	int n = sizeof((struct option[]){ COMMON_LONGOPTS }) / sizeof(struct option);
	int c, npos = 0;

	for (; extra && extra->name; extra++)
		opts[n++] = *extra;
	snprintf(shortopts, sizeof(shortopts), "%s%s", COMMON_SHORTOPTS,
		 extra_short ? extra_short : "");
	optind = 0;	/* glibc: re-initialize for a new argv */
	opterr = 0;
	while (optind < argc) {
		c = getopt_long(argc, argv, shortopts, opts, NULL);
		if (c < 0) {
			if (optind >= argc)
				break;
			/* a positional argument; "help" as the first one */
			if (npos == 0 && !strcmp(argv[optind], "help")) {
				usage();
				return EXIT_OK;
			}
			if (npos >= nargs) {
				p_usage_err("unexpected argument \"%s\"", argv[optind]);
				return EXIT_USAGE;
			}
			pos[npos++] = argv[optind++];
			continue;
		}
		if (c == 'h') {
			usage();
			return EXIT_OK;
		}
		if (common_opt(c, optarg))
			continue;
		if (handle && c != '?' && c != ':' && handle(c, optarg) == 0)
			continue;
		if (c == '?' || c == ':')
			p_usage_err("bad option \"%s\" for \"%s\"", argv[optind - 1], argv[0]);
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- create --------------------------------------------------------------- */

static const char *create_uuid;
static enum vtpm_tpm_version create_version = VTPM_TPM_2_0;
static bool create_plaintext;
static bool create_no_ek;

static void create_usage(void)
{
	printf("Usage: %s create [--uuid UUID] [--tpm2 | --tpm1.2] [--plaintext] [--no-ek-cert]\n\n"
	       "Manufacture a new vTPM under the state root and print its uuid.\n"
	       "A uuid that already exists is refused. The state is encrypted\n"
	       "with the key file (%s, --key-file); --plaintext stores it\n"
	       "unencrypted on purpose, allowed only when no key is configured.\n"
	       "A TPM 2.0 vTPM gets RSA and ECC EK certificates and a platform\n"
	       "certificate in the TCG NV indices, issued by the host's CA (made\n"
	       "on first use, \"%s ca\"); not with --plaintext or --no-ek-cert.\n",
	       bin_name, DEFAULT_KEY_FILE, bin_name);
}

static int create_opt(int c, const char *arg)
{
	switch (c) {
	case 'u':
		create_uuid = arg;
		return 0;
	case '2':
		create_version = VTPM_TPM_2_0;
		return 0;
	case '1':
		create_version = VTPM_TPM_1_2;
		return 0;
	case 'P':
		create_plaintext = true;
		return 0;
	case 'E':
		create_no_ek = true;
		return 0;
	}
	return -1;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096], *p;
	struct stat sb;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(buf, &sb) < 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/*
 * Write a file whole or not at all: <path>.new made afresh (O_EXCL,
 * O_NOFOLLOW: not through a link someone left there), fsync, rename over
 * path, then fsync of the directory so the rename survives a crash.
 */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, dfd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Remove a directory this create made (flat: only files inside). */
static void remove_new_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d))) {
			char path[4096 + 256];

			if (de->d_name[0] == '.' && (!de->d_name[1] ||
			    (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* EK certificates for the new vTPM; -ECANCELED (after saying why) on failure */
static int create_ek_certs(const struct vtpm_opts *o, const char *canon)
{
	char why[512] = "";
	struct ca *ca;
	int err;

	err = ca_open(true, &ca, why, sizeof(why));
	if (err) {
		p_err("vTPM %s not created: no CA for its EK certificates: %s", canon, why);
		return -ECANCELED;
	}
	if (ca->created && !json_output)
		fprintf(stderr, "Note: made the host's CA in %s (\"%s ca show\" prints its certificate)\n",
			ca_dir(), bin_name);
	err = ek_provision(o, ca, why, sizeof(why));
	ca_close(ca);
	if (err) {
		p_err("vTPM %s not created: %s", canon, why);
		return -ECANCELED;
	}
	return 0;
}

int do_create(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "uuid",	required_argument,	NULL, 'u' },
		{ "tpm2",	no_argument,		NULL, '2' },
		{ "tpm1.2",	no_argument,		NULL, '1' },
		{ "plaintext",	no_argument,		NULL, 'P' },
		{ "no-ek-cert",	no_argument,		NULL, 'E' },
		{ 0 },
	};
	const char *pos[1] = { 0 }, *key = effective_key_file(), *desc;
	char dir[4096], canon[37];
	uint8_t u[16];
	bool existed, ek = false;
	int ret, err;

	ret = parse_simple(argc, argv, pos, 0, create_usage, extra, "u:", create_opt);
	if (ret >= 0)
		return ret;
	key = effective_key_file();
	desc = effective_key_desc();
	if (create_uuid) {
		if (uuid_parse_str(create_uuid, u)) {
			p_usage_err("malformed uuid \"%s\" (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				    create_uuid);
			return EXIT_USAGE;
		}
	} else if ((err = uuid_generate_v4(u))) {
		p_err("cannot generate a uuid: %s", strerror(-err));
		return EXIT_FAIL;
	}
	uuid_format(u, canon);
	if (create_plaintext && (key || desc)) {
		p_err("--plaintext conflicts with the configured key %s", key ? key : sealed_key_path());
		return EXIT_USAGE;
	}
	if (desc && keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0) < 0) {
		p_err("the host key is locked (\"%s\" not in the kernel keyring): \"%s manager unlock\" first",
		      desc, bin_name);
		return EXIT_FAIL;
	}
	if (!create_plaintext && !key && !desc) {
		p_err("no state key (%s or --key-file); create one with \"%s keygen\" or pass --plaintext to store this vTPM unencrypted",
		      DEFAULT_KEY_FILE, bin_name);
		return EXIT_FAIL;
	}
	if (key && access(key, R_OK) < 0) {
		p_err("cannot read key file %s: %s", key, strerror(errno));
		return EXIT_FAIL;
	}
	err = mkdir_p(state_root, 0700);
	if (err) {
		p_err("cannot create state directory %s: %s", state_root, strerror(-err));
		return EXIT_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s/%s", state_root, canon);
	existed = access(dir, F_OK) == 0;
	{
		VTPM_OPTS(o, .state_dir = dir, .version = create_version,
			  .key_file = key, .key_desc = desc,
			  .flags = VTPM_F_ROLLBACK_ANCHOR |
				   (create_plaintext ? VTPM_F_PLAINTEXT : 0));

		err = vtpm_create(&o);
		ek = !err && create_version == VTPM_TPM_2_0 && !create_no_ek && !create_plaintext;
		if (ek)
			err = create_ek_certs(&o, canon);
	}
	if (err == -ECANCELED) {
		/* create_ek_certs() said why; the vTPM is not kept half-made */
		vtpm_state_destroy(dir);
		return EXIT_FAIL;
	}
	if (err == -EEXIST) {
		p_err("vTPM %s already exists", canon);
		return EXIT_FAIL;
	}
	if (err) {
		p_err("cannot create vTPM %s in %s: %s", canon, dir, vtpm_strerror(err));
		/* leave nothing half-made behind, but never touch an existing vTPM */
		if (!existed)
			remove_new_dir(dir);
		return EXIT_FAIL;
	}
	if (json_output) {
		printf("{\"uuid\": \"%s\", \"tpm\": \"%s\", \"encrypted\": %s, \"ek_certificates\": %s, \"state_dir\": ",
		       canon, create_version == VTPM_TPM_1_2 ? "1.2" : "2.0",
		       key || desc ? "true" : "false", ek ? "true" : "false");
		json_string(stdout, dir);
		printf("}\n");
	} else {
		printf("%s\n", canon);
	}
	return EXIT_OK;
}

/* ---- destroy ------------------------------------------------------------- */

static bool destroy_force;

static void destroy_usage(void)
{
	printf("Usage: %s destroy [--force] UUID\n\n"
	       "Erase a vTPM: its state files are overwritten, unlinked and its\n"
	       "directory removed. Refused while anything on this host uses it:\n"
	       "a server (the state lock, or a live server's claim, such as a\n"
	       "supervisor between two restarts), a backend instance naming the\n"
	       "uuid (xenstore, sysfs) or a domain configured with it.\n\n"
	       "  --force   erase even so (never while a server holds the state lock)\n",
	       bin_name);
}

static int destroy_opt(int c, const char *arg)
{
	(void)arg;
	if (c != 'f')
		return -1;
	destroy_force = true;
	return 0;
}

static int uuid_arg(const char *arg, char *dir, size_t size, char canon[37])
{
	uint8_t u[16];

	if (!arg) {
		p_usage_err("missing UUID");
		return EXIT_USAGE;
	}
	if (uuid_parse_str(arg, u)) {
		p_usage_err("malformed uuid \"%s\" (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", arg);
		return EXIT_USAGE;
	}
	uuid_format(u, canon);
	snprintf(dir, size, "%s/%s", state_root, canon);
	return -1;
}

int do_destroy(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "force",	no_argument,	NULL, 'f' },
		{ 0 },
	};
	const char *pos[1] = { 0 };
	char dir[4096], canon[37], why[512];
	struct vtpm_info info = { .sz = sizeof(info) };
	int ret, err;

	ret = parse_simple(argc, argv, pos, 1, destroy_usage, extra, "f", destroy_opt);
	if (ret >= 0)
		return ret;
	ret = uuid_arg(pos[0], dir, sizeof(dir), canon);
	if (ret >= 0)
		return ret;
	if (vtpm_state_info(dir, &info) == 0 && info.locked) {
		p_err("vTPM %s is being served by pid %d; stop it first", canon, info.lock_pid);
		return EXIT_FAIL;
	}
	if (access(dir, F_OK) < 0) {
		p_err("no such vTPM %s", canon);
		return EXIT_FAIL;
	}
	err = vtpm_in_use(canon, dir, why, sizeof(why));
	if (err && !destroy_force) {
		p_err("vTPM %s is in use: %s; not destroyed (--force erases it anyway)",
		      canon, why);
		return EXIT_FAIL;
	}
	if (err)
		fprintf(stderr, "Warning: vTPM %s is in use (%s); destroying it as --force says\n",
			canon, why);
	err = vtpm_state_destroy(dir);
	if (err == -ENOENT) {
		p_err("no such vTPM %s", canon);
		return EXIT_FAIL;
	}
	if (err == -EBUSY) {
		p_err("vTPM %s is being served; stop it first", canon);
		return EXIT_FAIL;
	}
	if (err) {
		p_err("cannot destroy vTPM %s: %s", canon, vtpm_strerror(err));
		return EXIT_FAIL;
	}
	lease_break(canon);	/* a lease left by a server of this host */
	{
		char sp[4200];	/* its sessions end with it (the new place
				 * went with its directory) */

		session_old_path(canon, sp, sizeof(sp));
		unlink(sp);
	}
	if (json_output)
		printf("{\"uuid\": \"%s\", \"destroyed\": true}\n", canon);
	return EXIT_OK;
}

/* ---- list / show ------------------------------------------------------- */

/* The backend device serving this uuid, from the sysfs attributes the
 * module exports (domid, devid, uuid); 0 if found. */
static int find_backend(const char *canon, int *domid, int *devid)
{
	glob_t g;
	size_t i;
	int found = -1;

	if (glob("/sys/bus/xen-backend/devices/vtpm-*", 0, NULL, &g))
		return -1;
	for (i = 0; i < g.gl_pathc && found; i++) {
		char path[4096], buf[64];
		FILE *f;

		snprintf(path, sizeof(path), "%s/uuid", g.gl_pathv[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncasecmp(buf, canon, 36) &&
		    sscanf(strrchr(g.gl_pathv[i], '/') + 1, "vtpm-%d-%d", domid, devid) == 2)
			found = 0;
		fclose(f);
	}
	globfree(&g);
	return found;
}

static void fmt_time(uint64_t t, char *buf, size_t size)
{
	time_t tt = t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_info(const char *canon, const char *dir,
		       const struct vtpm_info *info, bool detail, bool first)
{
	char created[32], modified[32];
	int domid, devid, have_be = !find_backend(canon, &domid, &devid);

	fmt_time(info->created, created, sizeof(created));
	fmt_time(info->modified, modified, sizeof(modified));
	if (json_output) {
		printf("%s{\"uuid\": \"%s\", \"tpm\": \"%s\", \"encrypted\": %s, "
		       "\"served\": %s, \"pid\": %d, \"created\": \"%s\", \"modified\": \"%s\"",
		       first ? "" : ", ", canon,
		       info->version == VTPM_TPM_1_2 ? "1.2" : "2.0",
		       info->encrypted ? "true" : "false",
		       info->locked ? "true" : "false", info->lock_pid,
		       created, modified);
		if (have_be)
			printf(", \"domid\": %d, \"devid\": %d", domid, devid);
		if (detail) {
			printf(", \"generation\": %llu, \"permanent_bytes\": %u, "
			       "\"volatile_bytes\": %u, \"state_dir\": ",
			       (unsigned long long)info->generation,
			       info->permanent_size, info->volatile_size);
			json_string(stdout, dir);
		}
		printf("}");
		return;
	}
	if (!detail) {
		char served[32] = "-", be[32] = "-";

		if (info->locked)
			snprintf(served, sizeof(served), "pid %d", info->lock_pid);
		if (have_be)
			snprintf(be, sizeof(be), "%d/%d", domid, devid);
		printf("%-36s  %-3s  %-9s  %-10s  %-9s  %s\n", canon,
		       info->version == VTPM_TPM_1_2 ? "1.2" : "2.0",
		       info->encrypted ? "encrypted" : "plaintext",
		       served, be, modified);
		return;
	}
	printf("uuid:        %s\n"
	       "tpm:         %s\n"
	       "encryption:  %s\n"
	       "served:      ",
	       canon, info->version == VTPM_TPM_1_2 ? "1.2" : "2.0",
	       info->encrypted ? "aes-256-gcm" : "none (plaintext)");
	if (info->locked)
		printf("yes, pid %d\n", info->lock_pid);
	else
		printf("no\n");
	if (have_be)
		printf("backend:     vtpm-%d-%d (domid %d, devid %d)\n", domid, devid,
		       domid, devid);
	printf("created:     %s\n"
	       "modified:    %s\n"
	       "generation:  %llu\n"
	       "state:       %s (permanent %u bytes, volatile %u bytes)\n",
	       created, modified, (unsigned long long)info->generation, dir,
	       info->permanent_size, info->volatile_size);
}

static void list_usage(void)
{
	printf("Usage: %s list\n\n"
	       "List the vTPMs under the state root: uuid, TPM version,\n"
	       "encryption, serving process, backend (domid/devid), last change.\n",
	       bin_name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int do_list(int argc, char **argv)
{
	const char *pos[1];
	char *names[4096];
	struct dirent *de;
	int ret, n = 0, i, shown = 0;
	DIR *d;

	ret = parse_simple(argc, argv, pos, 0, list_usage, NULL, NULL, NULL);
	if (ret >= 0)
		return ret;
	d = opendir(state_root);
	if (!d && errno != ENOENT) {
		p_err("cannot read %s: %s", state_root, strerror(errno));
		return EXIT_FAIL;
	}
	while (d && (de = readdir(d)) && n < (int)ARRAY_SIZE(names)) {
		uint8_t u[16];

		if (!uuid_parse_str(de->d_name, u))
			names[n++] = strdup(de->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	if (json_output)
		printf("[");
	else if (n)
		printf("%-36s  %-3s  %-9s  %-10s  %-9s  %s\n", "UUID", "TPM",
		       "STORAGE", "SERVED", "BACKEND", "MODIFIED");
	for (i = 0; i < n; i++) {
		struct vtpm_info info = { .sz = sizeof(info) };
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/%s", state_root, names[i]);
		if (vtpm_state_info(dir, &info) == 0)
			print_info(names[i], dir, &info, false, shown++ == 0);
		free(names[i]);
	}
	if (json_output)
		printf("]\n");
	return EXIT_OK;
}

static void show_usage(void)
{
	printf("Usage: %s show UUID\n\nShow one vTPM in detail.\n", bin_name);
}

int do_show(int argc, char **argv)
{
	struct vtpm_info info = { .sz = sizeof(info) };
	const char *pos[1] = { 0 };
	char dir[4096], canon[37];
	int ret, err;

	ret = parse_simple(argc, argv, pos, 1, show_usage, NULL, NULL, NULL);
	if (ret >= 0)
		return ret;
	ret = uuid_arg(pos[0], dir, sizeof(dir), canon);
	if (ret >= 0)
		return ret;
	err = vtpm_state_info(dir, &info);
	if (err == -ENOENT) {
		p_err("no such vTPM %s", canon);
		return EXIT_FAIL;
	}
	if (err) {
		p_err("cannot read vTPM %s: %s", canon, vtpm_strerror(err));
		return EXIT_FAIL;
	}
	print_info(canon, dir, &info, true, true);
	if (json_output)
		printf("\n");
	return EXIT_OK;
}

/* ---- keygen --------------------------------------------------------------- */

static void keygen_usage(void)
{
	printf("Usage: %s keygen [--key-file FILE]\n\n"
	       "Write 32 random bytes to FILE (default %s), mode 0600.\n"
	       "An existing file is never overwritten. Keep a copy: without it\n"
	       "encrypted vTPM state cannot be read.\n", bin_name, DEFAULT_KEY_FILE);
}

int do_keygen(int argc, char **argv)
{
	const char *pos[1], *path;
	uint8_t key[32];
	char dir[4096], *slash;
	int ret, fd;

	ret = parse_simple(argc, argv, pos, 0, keygen_usage, NULL, NULL, NULL);
	if (ret >= 0)
		return ret;
	path = key_file && *key_file ? key_file : DEFAULT_KEY_FILE;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0700);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		p_err("cannot create key file %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	if (getrandom(key, sizeof(key), 0) != sizeof(key) ||
	    write(fd, key, sizeof(key)) != sizeof(key) || fsync(fd) < 0) {
		p_err("cannot write key file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return EXIT_FAIL;
	}
	explicit_bzero(key, sizeof(key));
	close(fd);
	if (json_output) {
		printf("{\"key_file\": ");
		json_string(stdout, path);
		printf("}\n");
	} else {
		printf("%s\n", path);
	}
	return EXIT_OK;
}
