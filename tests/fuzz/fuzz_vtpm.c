// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: whatever a guest sends, through libvtpm's
 * vtpm_process() into libtpms and back, with the state saved as in
 * production (encrypted, to a directory; volatile state to a tmpfs run
 * directory). Built twice: TPM 2.0 (fuzz_vtpm) and TPM 1.2 (fuzz_vtpm12).
 *
 * Input: byte 0 is the locality (0..4), the rest the command.
 * Guarantee checked: every command gets a well-formed response (at least
 * a TPM header, whose size field equals the response's length), never a
 * crash, never a missing answer (libvtpm's own errors are only for I/O).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvtpm/libvtpm.h>

#define FAIL(...) do { fprintf(stderr, "fuzz_vtpm: " __VA_ARGS__); abort(); } while (0)

#ifdef FUZZ_TPM12
#define VERSION VTPM_TPM_1_2
#else
#define VERSION VTPM_TPM_2_0
#endif

static struct vtpm *vtpm;

static int print(enum vtpm_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static void setup(void)
{
	const char *base = getenv("FUZZ_WORKDIR") ?: "/dev/shm";
	char dir[200], path[256], key[256];
	FILE *f;

	if (vtpm)
		return;
	snprintf(dir, sizeof(dir), "%s/vtpm-fuzz.XXXXXX", base);
	if (!mkdtemp(dir))
		FAIL("mkdtemp\n");
	snprintf(key, sizeof(key), "%s/key", dir);
	f = fopen(key, "w");
	if (!f || fwrite("0123456789abcdef0123456789abcdef", 1, 32, f) != 32 || fclose(f))
		FAIL("key file\n");
	snprintf(path, sizeof(path), "%s/run", dir);
	setenv("VTPM_RUN_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/state", dir);
	{
		VTPM_OPTS(opts, .state_dir = path, .version = VERSION, .key_file = key);

		if (getenv("FUZZ_VERBOSE"))
			vtpm_set_print(print);
		if (vtpm_create(&opts))
			FAIL("vtpm_create in %s\n", path);
		vtpm = vtpm_new(&opts);
		if (!vtpm)
			FAIL("vtpm_new in %s\n", path);
	}
	fprintf(stderr, "fuzz_vtpm: state in %s\n", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[VTPM_MAX_PACKET];
	size_t rlen = sizeof(rsp);
	uint32_t hdr;
	int err;

	setup();
	if (size < 1 || size - 1 > VTPM_MAX_PACKET)
		return 0;
	err = vtpm_process(vtpm, data + 1, size - 1, data[0] % 5, rsp, &rlen);
	if (err)
		FAIL("no response (%s) to a %zu-byte command\n", vtpm_strerror(err), size - 1);
	if (rlen < 10 || rlen > sizeof(rsp))
		FAIL("%zu-byte response\n", rlen);
	hdr = (uint32_t)rsp[2] << 24 | (uint32_t)rsp[3] << 16 | (uint32_t)rsp[4] << 8 | rsp[5];
	if (hdr != rlen)
		FAIL("response header says %u bytes, response has %zu\n", hdr, rlen);
	return 0;
}
