// SPDX-License-Identifier: GPL-2.0
/*
 * tpm-rawbench DEVICE N [CC]: send N copies of one small TPM 2.0 command
 * through a TPM character device and print latency statistics, one line:
 *
 *   rawbench n=N min=.. p50=.. p90=.. p99=.. max=.. mean=.. (ms)
 *
 * CC selects the command: 0x17b TPM2_GetRandom(16) (default) or 0x17a
 * TPM2_GetCapability(TPM_PROPERTIES, first property). Every response must
 * carry TPM_RC_SUCCESS, else the run fails. Built static, for the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const uint8_t getrandom16[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x10,
};
static const uint8_t getcap[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x01, 0x7a,
	0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
};

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

int main(int argc, char **argv)
{
	const uint8_t *cmd = getrandom16;
	size_t cmd_len = sizeof(getrandom16);
	uint8_t rsp[4096];
	double *lat, sum = 0;
	long n, i;
	int fd;

	if (argc < 3 || (n = strtol(argv[2], NULL, 0)) <= 0) {
		fprintf(stderr, "usage: tpm-rawbench DEVICE N [0x17b|0x17a]\n");
		return 2;
	}
	if (argc > 3 && strtol(argv[3], NULL, 0) == 0x17a) {
		cmd = getcap;
		cmd_len = sizeof(getcap);
	}
	lat = calloc(n, sizeof(*lat));
	fd = open(argv[1], O_RDWR);
	if (!lat || fd < 0) {
		fprintf(stderr, "tpm-rawbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		double t0 = now_ms();
		ssize_t r;

		if (write(fd, cmd, cmd_len) != (ssize_t)cmd_len) {
			fprintf(stderr, "tpm-rawbench: write: %s\n", strerror(errno));
			return 1;
		}
		r = read(fd, rsp, sizeof(rsp));
		lat[i] = now_ms() - t0;
		if (r < 10 || rsp[6] || rsp[7] || rsp[8] || rsp[9]) {
			fprintf(stderr, "tpm-rawbench: command %ld: bad response (%zd bytes, rc %02x%02x%02x%02x)\n",
				i, r, r >= 10 ? rsp[6] : 0, r >= 10 ? rsp[7] : 0,
				r >= 10 ? rsp[8] : 0, r >= 10 ? rsp[9] : 0);
			return 1;
		}
		sum += lat[i];
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("rawbench n=%ld min=%.2f p50=%.2f p90=%.2f p99=%.2f max=%.2f mean=%.2f\n",
	       n, lat[0], lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], sum / n);
	return 0;
}
