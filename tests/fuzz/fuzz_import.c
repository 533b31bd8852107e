// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: libvtpm's import of an exported vTPM
 * (vtpm_state_import()), then the open of what it stored (vtpm_new(), which
 * hands the permanent state to libtpms).
 *
 * Why this is untrusted input: vtpmctl import decrypts a bundle made for
 * this host's public transport key. ECDH-ES authenticates the bytes to that
 * key, not to a sender, so whoever has the public key (it is handed out to
 * every source host) can make a bundle whose plaintext is anything.
 *
 * Input byte 0 picks the mode:
 *  - even: the rest is the plaintext as vtpmctl import passes it;
 *  - odd: a real export (of a TPM 2.0 vTPM made at start-up, with a
 *    suspend record) with the rest written over it at an offset given by
 *    the next two bytes: structure-aware damage.
 * Guarantees checked: never a crash or a sanitizer report; what an import
 * stored either opens or is refused with an error, and destroy removes it
 * (vtpmctl import destroys what a failed import left).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvtpm/libvtpm.h>

#define FAIL(...) do { fprintf(stderr, "fuzz_import: " __VA_ARGS__); abort(); } while (0)

static char key[256], target[256];
static uint8_t *good;
static size_t good_len;

static int print(enum vtpm_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static void setup(void)
{
	const char *base = getenv("FUZZ_WORKDIR") ?: "/dev/shm";
	char dir[200], path[256], src[256];
	uint8_t cmd[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
	uint8_t rsp[4096];
	size_t rlen = sizeof(rsp);
	struct vtpm *v;
	FILE *f;

	if (good)
		return;
	if (getenv("FUZZ_VERBOSE"))
		vtpm_set_print(print);
	snprintf(dir, sizeof(dir), "%s/vtpm-fuzz-import.XXXXXX", base);
	if (!mkdtemp(dir))
		FAIL("mkdtemp\n");
	snprintf(key, sizeof(key), "%s/key", dir);
	f = fopen(key, "w");
	if (!f || fwrite("0123456789abcdef0123456789abcdef", 1, 32, f) != 32 || fclose(f))
		FAIL("key file\n");
	snprintf(path, sizeof(path), "%s/run", dir);
	setenv("VTPM_RUN_DIR", path, 1);
	snprintf(src, sizeof(src), "%s/source", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	{
		VTPM_OPTS(opts, .state_dir = src, .key_file = key);

		if (vtpm_create(&opts))
			FAIL("vtpm_create in %s\n", src);
		v = vtpm_new(&opts);
		if (!v)
			FAIL("vtpm_new in %s\n", src);
		/* TPM2_Startup(CLEAR), then a suspend record in the export */
		if (vtpm_process(v, cmd, sizeof(cmd), 0, rsp, &rlen))
			FAIL("startup\n");
		if (vtpm_suspend(v, "epoch:fuzz"))
			FAIL("vtpm_suspend\n");
		if (vtpm_state_export(&opts, &good, &good_len))
			FAIL("vtpm_state_export\n");
	}
	fprintf(stderr, "fuzz_import: state in %s, a real export has %zu bytes\n", dir,
		good_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + 1;
	uint8_t *buf = NULL;
	size_t len = size - 1;
	struct stat st;
	struct vtpm *v;
	int err;

	setup();
	if (size < 1)
		return 0;
	if ((data[0] & 1) && size >= 3) {
		size_t off = ((size_t)data[1] << 8 | data[2]) % good_len;
		size_t n = size - 3;

		len = off + n > good_len ? off + n : good_len;
		buf = malloc(len);
		if (!buf)
			return 0;
		memcpy(buf, good, good_len);
		memcpy(buf + off, data + 3, n);
		/* a short edit also truncates: the mode's low bits say */
		if ((data[0] & 2) && n < good_len - off)
			len = off + n;
		in = buf;
	}
	{
		VTPM_OPTS(opts, .state_dir = target, .key_file = key,
			  .resume_record = "epoch:fuzz");

		err = vtpm_state_import(&opts, in, len);
		if (err == -EEXIST)
			FAIL("the previous input's vTPM was not destroyed\n");
		if (!err) {
			/* libtpms reads the imported permanent state and, when
			 * the record is there, the volatile state in it */
			v = vtpm_new(&opts);
			if (v)
				vtpm_free(v);
		}
		vtpm_state_destroy(target);
		if (stat(target, &st) == 0)
			FAIL("%s could not be destroyed after an import\n", target);
	}
	free(buf);
	return 0;
}
