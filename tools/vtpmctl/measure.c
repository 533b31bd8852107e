// SPDX-License-Identifier: GPL-2.0
/*
 * Measured boot for PV guests, and "vtpmctl eventlog".
 *
 * A guest with direct kernel boot has no firmware and no boot loader of
 * its own that could measure what it runs: the toolstack in dom0 loaded
 * the kernel and initrd and chose the command line. So the vTPM's server,
 * playing the platform, measures them right after its own Startup(CLEAR)
 * of a fresh guest boot (vtpm_fresh_start()), before the guest's first
 * command, with the layout of Xen's pv-grub (stubdom/grub/kexec.c):
 *
 *   PCR 4  <- H(kernel file)
 *   PCR 5  <- H(command line, without its NUL)
 *   PCR 5  <- H(initrd file)        (H of nothing if there is none)
 *
 * extended in every allocated PCR bank (TPM 2.0; SHA-1 for TPM 1.2).
 * What was booted comes from dom0's xenstore (read with xs.c), where libxl
 * records it:
 * /local/domain/<domid>/vm -> <vm>/image/{kernel,ramdisk,cmdline}; the
 * files are read from dom0's filesystem (serve --kernel/--ramdisk/
 * --cmdline name them directly, for tests and other toolstacks).
 *
 * The event log, in the TCG crypto-agile format of the PC Client Platform
 * Firmware Profile (TCG 1.2 format for TPM 1.2), goes to
 * <run dir>/<uuid>.eventlog (vtpmctl eventlog prints it) and, base64, to
 * the backend's xenstore directory as "measured-boot-log", which the guest
 * can read (xenstore-read $(xenstore-read device/vtpm/0/backend)/...).
 * The log need not be trusted: a verifier replays it and compares with a
 * quote of PCR 4/5.
 *
 * When the files cannot be read, PCR 4 and 5 get the TCG error separator
 * (EV_SEPARATOR, data 1) instead: they then never match a good value.
 * The same happens when a server restarted under a running guest finds
 * that the measurement of that guest's boot did not complete (killed
 * between Startup and the last extend): <uuid>.measured holds the resume
 * tag of the boot whose measurement completed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "libvtpm/libvtpm.h"
#include "measure.h"
#include "tpm2cmd.h"
#include "vtpmctl.h"

#define EV_NO_ACTION	0x00000003
#define EV_SEPARATOR	0x00000004
#define EV_IPL		0x0000000D
#define MAX_BANKS	8
#define LOG_MAX		(64 * 1024)

static struct {
	const char *kernel, *ramdisk, *cmdline;
	bool given, off;
} mo;

int measure_opt(int c, const char *arg)
{
	switch (c) {
	case MEASURE_OPT_KERNEL:
		mo.kernel = arg;
		break;
	case MEASURE_OPT_RAMDISK:
		mo.ramdisk = arg;
		break;
	case MEASURE_OPT_CMDLINE:
		mo.cmdline = arg;
		break;
	case MEASURE_OPT_OFF:
		mo.off = true;
		return 1;
	default:
		return 0;
	}
	mo.given = true;
	return 1;
}

static const char *run_dir(void)
{
	const char *e = getenv("VTPM_RUN_DIR");

	return e && *e ? e : "/run/vtpm";
}

/* ---- hashing -------------------------------------------------------------- */

struct digests {
	int n;
	uint16_t alg[MAX_BANKS];
	uint8_t d[MAX_BANKS][64];
};

static int hash_data(const uint16_t *algs, int n, int fd, const void *data, size_t len,
		     struct digests *out)
{
	EVP_MD_CTX *ctx[MAX_BANKS] = { 0 };
	static uint8_t buf[1 << 20];
	int i, err = 0;
	ssize_t r;

	out->n = n;
	for (i = 0; i < n; i++) {
		out->alg[i] = algs[i];
		ctx[i] = EVP_MD_CTX_new();
		if (!ctx[i] || !EVP_DigestInit_ex2(ctx[i], EVP_get_digestbyname(tpm2_alg_md_name(algs[i])), NULL))
			err = -ENOMEM;
	}
	if (!err && fd < 0) {
		for (i = 0; i < n; i++)
			EVP_DigestUpdate(ctx[i], data, len);
	}
	while (!err && fd >= 0) {
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		if (r <= 0)
			break;
		for (i = 0; i < n; i++)
			EVP_DigestUpdate(ctx[i], buf, r);
	}
	for (i = 0; i < n; i++) {
		if (!err)
			EVP_DigestFinal_ex(ctx[i], out->d[i], NULL);
		EVP_MD_CTX_free(ctx[i]);
	}
	return err;
}

static int hash_file(const uint16_t *algs, int n, const char *path, struct digests *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = hash_data(algs, n, fd, NULL, 0, out);
	close(fd);
	return err;
}

/* ---- the event log ---------------------------------------------------------- */

struct evlog {
	uint8_t *b;
	size_t n;
	bool tpm12;
};

static void lg_bytes(struct evlog *l, const void *p, size_t len)
{
	if (!l->b || l->n + len > LOG_MAX)
		return;
	memcpy(l->b + l->n, p, len);
	l->n += len;
}

static void lg_u16(struct evlog *l, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };

	lg_bytes(l, b, 2);
}

static void lg_u32(struct evlog *l, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	lg_bytes(l, b, 4);
}

/* TCG_PCR_EVENT with the TCG_EfiSpecIDEvent: the crypto-agile log's header */
static void lg_header(struct evlog *l, const uint16_t *algs, int n)
{
	static const uint8_t zeros[20];
	int i;

	lg_u32(l, 0);
	lg_u32(l, EV_NO_ACTION);
	lg_bytes(l, zeros, 20);
	lg_u32(l, 16 + 4 + 4 + 4 + 4 * n + 1);
	lg_bytes(l, "Spec ID Event03", 16);
	lg_u32(l, 0);		/* platformClass: client */
	lg_bytes(l, "\0\2\0\2", 4);	/* minor 0, major 2, errata 0, uintnSize 2 (64-bit) */
	lg_u32(l, n);
	for (i = 0; i < n; i++) {
		lg_u16(l, algs[i]);
		lg_u16(l, tpm2_alg_digest_size(algs[i]));
	}
	lg_bytes(l, "", 1);	/* vendorInfoSize */
}

static void lg_event(struct evlog *l, uint32_t pcr, uint32_t type, const struct digests *d,
		     const void *data, size_t len)
{
	int i;

	lg_u32(l, pcr);
	lg_u32(l, type);
	if (l->tpm12) {
		lg_bytes(l, d->d[0], 20);
	} else {
		lg_u32(l, d->n);
		for (i = 0; i < d->n; i++) {
			lg_u16(l, d->alg[i]);
			lg_bytes(l, d->d[i], tpm2_alg_digest_size(d->alg[i]));
		}
	}
	lg_u32(l, len);
	lg_bytes(l, data, len);
}

/* ---- extending ---------------------------------------------------------------- */

static int extend(struct vtpm *v, bool tpm12, uint32_t pcr, const struct digests *d)
{
	uint8_t resp[VTPM_MAX_PACKET];
	struct tpmbuf t;
	size_t len;
	uint32_t rc;
	int i, err;

	if (tpm12) {
		tb_begin(&t, 0x00C1, 20);	/* TPM_ORD_Extend */
		tb_u32(&t, pcr);
		tb_bytes(&t, d->d[0], 20);
	} else {
		tb_begin(&t, TPM2_ST_SESSIONS, TPM2_CC_PCR_EXTEND);
		tb_u32(&t, pcr);
		tb_pw_session(&t);
		tb_u32(&t, d->n);
		for (i = 0; i < d->n; i++) {
			tb_u16(&t, d->alg[i]);
			tb_bytes(&t, d->d[i], tpm2_alg_digest_size(d->alg[i]));
		}
	}
	err = tpm_run(v, &t, resp, &len, &rc);
	if (!err && rc) {
		log_msg(LOG_ERR, "measured boot: extending PCR %u failed: TPM error 0x%x", pcr, rc);
		err = -EPROTO;
	}
	return err;
}

static void marker_path(char *buf, size_t size, const char *uuid, const char *ext)
{
	snprintf(buf, size, "%s/%s.%s", run_dir(), uuid, ext);
}

/* What was booted: options, else xenstore. 1 found, 0 nothing to measure. */
static int boot_info(const struct measure_ctx *m, char *kernel, char *ramdisk,
		     char *cmdline, size_t size)
{
	char path[512], vm[256];

	kernel[0] = ramdisk[0] = cmdline[0] = 0;
	if (mo.given) {
		snprintf(kernel, size, "%s", mo.kernel ? mo.kernel : "");
		snprintf(ramdisk, size, "%s", mo.ramdisk ? mo.ramdisk : "");
		snprintf(cmdline, size, "%s", mo.cmdline ? mo.cmdline : "");
		return 1;
	}
	if (!m->xen || m->domid < 0)
		return 0;
	snprintf(path, sizeof(path), "/local/domain/%d/vm", m->domid);
	if (xs_read_str(path, vm, sizeof(vm)) || !vm[0]) {
		log_msg(LOG_WARNING, "measured boot: no %s in xenstore: PCR 4/5 not measured", path);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/image/kernel", vm);
	if (xs_read_str(path, kernel, size) || !kernel[0]) {
		log_msg(LOG_INFO, "measured boot: no %s (not a PV guest with direct kernel boot): PCR 4/5 not measured",
			path);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/image/ramdisk", vm);
	if (xs_read_str(path, ramdisk, size))
		ramdisk[0] = 0;
	snprintf(path, sizeof(path), "%s/image/cmdline", vm);
	if (xs_read_str(path, cmdline, size))
		cmdline[0] = 0;
	return 1;
}

static void publish(const struct measure_ctx *m, const struct evlog *l)
{
	char path[4200], xpath[128];
	char *b64;
	int err;

	marker_path(path, sizeof(path), m->uuid, "eventlog");
	err = write_file_atomic(path, l->b, l->n, 0600);
	if (err)
		log_msg(LOG_ERR, "measured boot: cannot write the event log %s: %s", path,
			strerror(-err));
	if (!m->xen || m->domid < 0)
		return;
	b64 = malloc(4 * ((l->n + 2) / 3) + 1);
	if (!b64)
		return;
	EVP_EncodeBlock((unsigned char *)b64, l->b, l->n);
	snprintf(xpath, sizeof(xpath), "/local/domain/0/backend/vtpm/%d/%d",
		 m->domid, m->devid);
	if (strlen(b64) > 4000) {
		log_msg(LOG_WARNING, "measured boot: event log too long for xenstore (%zu bytes)", l->n);
	} else {
		/* only into the backend's directory while the toolstack has it */
		err = xs_write_in_dir(xpath, "measured-boot-log", b64);
		if (err == -ENOENT)
			log_msg(LOG_INFO, "measured boot: %s is gone (the guest was destroyed): event log not published", xpath);
		else if (err)
			log_msg(LOG_WARNING, "measured boot: cannot write %s/measured-boot-log: %s",
				xpath, strerror(-err));
	}
	free(b64);
}

/* PCR 4 and 5 <- the TCG error separator: they match no good value */
static void cap(struct vtpm *v, struct evlog *l, const uint16_t *algs, int n, const char *why)
{
	static const uint8_t one[4] = { 1, 0, 0, 0 };
	struct digests d;
	uint32_t pcr;

	log_msg(LOG_ERR, "measured boot: %s: PCR 4 and 5 capped with the error separator", why);
	hash_data(algs, n, -1, one, 4, &d);
	for (pcr = 4; pcr <= 5; pcr++) {
		extend(v, l->tpm12, pcr, &d);
		lg_event(l, pcr, EV_SEPARATOR, &d, one, 4);
	}
}

void measure_boot(struct vtpm *v, const struct measure_ctx *m)
{
	static char kernel[4096], ramdisk[4096], cmdline[4096], data[8400];
	struct vtpm_info info = { .sz = sizeof(info) };
	struct evlog l = { 0 };
	struct digests dk, dc, dr;
	uint16_t algs[MAX_BANKS];
	char marker[4200], seen[256];
	int n, err, fd;

	if (mo.off)
		return;
	if (vtpm_state_info(m->dir, &info))
		return;
	l.tpm12 = info.version == VTPM_TPM_1_2;
	if (l.tpm12) {
		algs[0] = TPM2_ALG_SHA1;
		n = 1;
	} else {
		n = tpm2_pcr_banks(v, algs, MAX_BANKS);
		if (n <= 0) {
			log_msg(LOG_ERR, "measured boot: cannot read the PCR banks");
			return;
		}
	}
	marker_path(marker, sizeof(marker), m->uuid, "measured");
	l.b = malloc(LOG_MAX);
	if (!l.b)
		return;
	if (!l.tpm12)
		lg_header(&l, algs, n);

	if (!vtpm_fresh_start(v)) {
		/* resumed under the same guest: was its boot measured? */
		fd = open(marker, O_RDONLY | O_CLOEXEC);
		seen[0] = 0;
		if (fd >= 0) {
			ssize_t r = read(fd, seen, sizeof(seen) - 1);

			seen[r > 0 ? r : 0] = 0;
			close(fd);
		}
		if (fd >= 0 && !strcmp(seen, m->tag)) {
			free(l.b);
			return;
		}
		if (!mo.given && !boot_info(m, kernel, ramdisk, cmdline, sizeof(kernel))) {
			free(l.b);
			return;
		}
		cap(v, &l, algs, n, "the measurement of this boot did not complete (server killed during it?)");
		goto done;
	}
	unlink(marker);
	if (!boot_info(m, kernel, ramdisk, cmdline, sizeof(kernel))) {
		free(l.b);
		return;
	}
	err = hash_file(algs, n, kernel, &dk);
	if (!err)
		err = ramdisk[0] ? hash_file(algs, n, ramdisk, &dr) :
				   hash_data(algs, n, -1, "", 0, &dr);
	if (!err)
		err = hash_data(algs, n, -1, cmdline, strlen(cmdline), &dc);
	if (err) {
		snprintf(data, sizeof(data), "cannot read kernel %s or initrd %s: %s", kernel,
			 ramdisk[0] ? ramdisk : "(none)", strerror(-err));
		cap(v, &l, algs, n, data);
		goto done;
	}
	err = extend(v, l.tpm12, 4, &dk);
	snprintf(data, sizeof(data), "kernel %s", kernel);
	lg_event(&l, 4, EV_IPL, &dk, data, strlen(data));
	if (!err)
		err = extend(v, l.tpm12, 5, &dc);
	lg_event(&l, 5, EV_IPL, &dc, cmdline, strlen(cmdline));
	if (!err)
		err = extend(v, l.tpm12, 5, &dr);
	snprintf(data, sizeof(data), "initrd %s", ramdisk[0] ? ramdisk : "(none)");
	lg_event(&l, 5, EV_IPL, &dr, data, strlen(data));
	if (err) {
		log_msg(LOG_ERR, "measured boot: extending PCR 4/5 failed: %s", vtpm_strerror(err));
		goto out;
	}
	log_msg(LOG_INFO, "measured boot: kernel %s, initrd %s, command line \"%s\" into PCR 4/5 (%d bank%s)",
		kernel, ramdisk[0] ? ramdisk : "(none)", cmdline, n, n == 1 ? "" : "s");
done:
	publish(m, &l);
	/* the last step: a restart from here on finds a complete measurement */
	if (write_file_atomic(marker, m->tag, strlen(m->tag), 0600))
		log_msg(LOG_ERR, "measured boot: cannot write %s", marker);
out:
	free(l.b);
}

/* ---- vtpmctl eventlog ------------------------------------------------------ */

static void eventlog_usage(void)
{
	printf("Usage: %s eventlog UUID [--output FILE]\n\n"
	       "Write the measured-boot event log of the vTPM's current guest boot\n"
	       "(TCG crypto-agile binary format; TCG 1.2 format for TPM 1.2) to\n"
	       "stdout or FILE, for tpm2_eventlog or a verifier. It lives in the run\n"
	       "directory ($VTPM_RUN_DIR, /run/vtpm) while the guest's boot lasts.\n",
	       bin_name);
}

int do_eventlog(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	const char *out = NULL, *uuid = NULL;
	char path[4200], canon[37];
	uint8_t u[16], *buf;
	ssize_t n;
	int c, fd, ofd = 1;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jpds:k:ho:", opts, NULL)) >= 0) {
		if (c == 'h') {
			eventlog_usage();
			return EXIT_OK;
		}
		if (common_opt(c, optarg))
			continue;
		if (c == 'o') {
			out = optarg;
			continue;
		}
		p_usage_err("bad option \"%s\" for \"eventlog\"", argv[optind - 1]);
		return EXIT_USAGE;
	}
	if (optind < argc && !strcmp(argv[optind], "help")) {
		eventlog_usage();
		return EXIT_OK;
	}
	if (optind + 1 != argc) {
		p_usage_err("want one UUID");
		return EXIT_USAGE;
	}
	uuid = argv[optind];
	if (uuid_parse_str(uuid, u)) {
		p_usage_err("malformed uuid \"%s\" (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", uuid);
		return EXIT_USAGE;
	}
	uuid_format(u, canon);
	marker_path(path, sizeof(path), canon, "eventlog");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		p_err("no event log for vTPM %s (%s: %s): its guest was not booted with measurement since the host started",
		      canon, path, strerror(errno));
		return EXIT_FAIL;
	}
	buf = malloc(LOG_MAX);
	n = buf ? read(fd, buf, LOG_MAX) : -1;
	close(fd);
	if (n < 0) {
		p_err("cannot read %s", path);
		free(buf);
		return EXIT_FAIL;
	}
	if (out && (ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		p_err("cannot write %s: %s", out, strerror(errno));
		free(buf);
		return EXIT_FAIL;
	}
	if (write(ofd, buf, n) != n) {
		p_err("cannot write the event log: %s", strerror(errno));
		free(buf);
		return EXIT_FAIL;
	}
	if (out)
		close(ofd);
	free(buf);
	return EXIT_OK;
}
