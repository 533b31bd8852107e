// SPDX-License-Identifier: GPL-2.0
/*
 * tpm-rawbench TARGET N [COMMAND...]: send N copies of each TPM 2.0 command,
 * one command after the other on one open target, and print latency
 * statistics, one line per command:
 *
 *   rawbench cmd=NAME n=N min=.. p50=.. p90=.. p99=.. max=.. mean=.. (ms)
 *
 * TARGET is a TPM character device (/dev/tpm0, /dev/tpmrm0) or
 * unix:PATH, the socket of "vtpmctl serve --socket" (the dom0 path without
 * a guest: struct xen_tpmback_msg framing, as on /dev/xen/tpmback).
 * COMMAND: getrandom (TPM2_GetRandom of 16 bytes, the default; also
 * 0x17b), getcap (TPM2_GetCapability, one property; also 0x17a),
 * pcrextend (TPM2_PCR_Extend of PCR 16, SHA-256, password session),
 * pcrread (TPM2_PCR_Read of PCR 16, SHA-256), cp-ecc and cp-rsa
 * (TPM2_CreatePrimary of an ECC P-256 or RSA-2048 storage key in the owner
 * hierarchy; each object is flushed after its measurement, untimed).
 * Every response must carry TPM_RC_SUCCESS, else the run fails. Built
 * static, for the guest and dom0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const uint8_t getrandom16[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x10,
};
static const uint8_t getcap[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x01, 0x7a,
	0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
};
/* PCR 16, password session (empty), one SHA-256 digest of 0x01.. */
static const uint8_t pcrextend[] = {
	0x80, 0x02, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x01, 0x82,
	0x00, 0x00, 0x00, 0x10,				/* PCR 16 */
	0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09,	/* TPM_RS_PW */
	0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x0b,		/* 1 digest, SHA-256 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};
static const uint8_t pcrread[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x01, 0x7e,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0x00, 0x00, 0x01,
};
#define CP_HEAD								\
	0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x31,	\
	0x40, 0x00, 0x00, 0x01,				/* TPM_RH_OWNER */	\
	0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09,			\
	0x00, 0x00, 0x00, 0x00, 0x00,					\
	0x00, 0x04, 0x00, 0x00, 0x00, 0x00		/* inSensitive */
/* restricted decrypt storage key: AES-128-CFB symmetric, SHA-256 name */
static const uint8_t cp_ecc[] = {
	CP_HEAD,
	0x00, 0x1a, 0x00, 0x23, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00,
	0x00, 0x06, 0x00, 0x80, 0x00, 0x43, 0x00, 0x10, 0x00, 0x03, 0x00, 0x10,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,		/* outsideInfo, PCRs */
};
static const uint8_t cp_rsa[] = {
	CP_HEAD,
	0x00, 0x1a, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00,
	0x00, 0x06, 0x00, 0x80, 0x00, 0x43, 0x00, 0x10, 0x08, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const struct bench_cmd {
	const char *name, *alias;
	const uint8_t *cmd;
	size_t len;
	int flush;	/* the response's first handle is flushed afterwards */
} cmds[] = {
	{ "getrandom", "0x17b", getrandom16, sizeof(getrandom16), 0 },
	{ "getcap", "0x17a", getcap, sizeof(getcap), 0 },
	{ "pcrextend", NULL, pcrextend, sizeof(pcrextend), 0 },
	{ "pcrread", NULL, pcrread, sizeof(pcrread), 0 },
	{ "cp-ecc", NULL, cp_ecc, sizeof(cp_ecc), 1 },
	{ "cp-rsa", NULL, cp_rsa, sizeof(cp_rsa), 1 },
};

/* the socket framing of vtpmctl serve --socket (struct xen_tpmback_msg) */
struct msg_hdr {
	uint32_t type, seq, len;
	uint8_t locality, flags;
	uint16_t reserved;
};

static int sock_mode;
static uint32_t seq;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* one round trip; returns the response length or -1 */
static ssize_t transact(int fd, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	uint8_t buf[4096 + sizeof(struct msg_hdr)];
	struct msg_hdr h = { .type = 1, .len = len };
	ssize_t r;

	if (!sock_mode) {
		if (write(fd, cmd, len) != (ssize_t)len)
			return -1;
		return read(fd, rsp, cap);
	}
	h.seq = ++seq;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), cmd, len);
	if (send(fd, buf, sizeof(h) + len, 0) != (ssize_t)(sizeof(h) + len))
		return -1;
	r = recv(fd, buf, sizeof(buf), 0);
	if (r < (ssize_t)sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.type != 3 || h.seq != seq || h.len > cap || h.len != r - sizeof(h)) {
		errno = EPROTO;
		return -1;
	}
	memcpy(rsp, buf + sizeof(h), h.len);
	return h.len;
}

static int bench(int fd, const struct bench_cmd *c, long n, double *lat)
{
	uint8_t rsp[4096], cmd[512];
	double sum = 0;
	long i;

	memcpy(cmd, c->cmd, c->len);
	cmd[4] = c->len >> 8;	/* the size field, computed here for all */
	cmd[5] = c->len & 0xff;
	for (i = 0; i < n; i++) {
		double t0 = now_ms();
		ssize_t r = transact(fd, cmd, c->len, rsp, sizeof(rsp));

		lat[i] = now_ms() - t0;
		if (r < 10 || rsp[6] || rsp[7] || rsp[8] || rsp[9]) {
			fprintf(stderr, "tpm-rawbench: %s %ld: bad response (%zd bytes, rc %02x%02x%02x%02x%s%s)\n",
				c->name, i, r, r >= 10 ? rsp[6] : 0, r >= 10 ? rsp[7] : 0,
				r >= 10 ? rsp[8] : 0, r >= 10 ? rsp[9] : 0,
				r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
			return 1;
		}
		sum += lat[i];
		if (c->flush && r >= 14) {
			uint8_t fl[14] = { 0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x65 };

			memcpy(fl + 10, rsp + 10, 4);
			r = transact(fd, fl, sizeof(fl), rsp, sizeof(rsp));
			if (r < 10 || rsp[6] || rsp[7] || rsp[8] || rsp[9]) {
				fprintf(stderr, "tpm-rawbench: FlushContext after %s %ld failed\n", c->name, i);
				return 1;
			}
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("rawbench cmd=%s n=%ld min=%.2f p50=%.2f p90=%.2f p99=%.2f max=%.2f mean=%.2f\n",
	       c->name, n, lat[0], lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], sum / n);
	fflush(stdout);
	return 0;
}

static const struct bench_cmd *find_cmd(const char *name)
{
	size_t k;

	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(name, cmds[k].name) ||
		    (cmds[k].alias && !strcmp(name, cmds[k].alias)))
			return &cmds[k];
	fprintf(stderr, "tpm-rawbench: unknown command '%s'\n", name);
	return NULL;
}

int main(int argc, char **argv)
{
	double *lat;
	long n;
	int fd, a;

	if (argc < 3 || (n = strtol(argv[2], NULL, 0)) <= 0) {
		fprintf(stderr, "usage: tpm-rawbench DEVICE|unix:PATH N [getrandom|getcap|pcrextend|pcrread|cp-ecc|cp-rsa]...\n");
		return 2;
	}
	for (a = 3; a < argc; a++)
		if (!find_cmd(argv[a]))
			return 2;
	lat = calloc(n, sizeof(*lat));
	if (!strncmp(argv[1], "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		sock_mode = 1;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1] + 5);
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			fd = -1;
		}
	} else {
		fd = open(argv[1], O_RDWR);
	}
	if (!lat || fd < 0) {
		fprintf(stderr, "tpm-rawbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (argc == 3)
		return bench(fd, &cmds[0], n, lat);
	for (a = 3; a < argc; a++)
		if (bench(fd, find_cmd(argv[a]), n, lat))
			return 1;
	return 0;
}
