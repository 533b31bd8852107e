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
#include <stdint.h>
#include <stdio.h>

#include "vtpm_fixture.h"

#ifdef FUZZ_TPM12
#define NAME "fuzz_vtpm12"
#define VERSION VTPM_TPM_1_2
#else
#define NAME "fuzz_vtpm"
#define VERSION VTPM_TPM_2_0
#endif

static struct vtpm_fixture fx;
static struct vtpm *vtpm;

static void setup(void)
{
	char path[256];

	if (vtpm)
		return;
	fixture_init(&fx, NAME);
	fixture_path(&fx, "state", path, sizeof(path));
	{
		VTPM_OPTS(opts, .state_dir = path, .version = VERSION, .key_file = fx.key);

		vtpm = fixture_vtpm(&fx, &opts);
	}
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
		FIXTURE_FAIL(&fx, "no response (%s) to a %zu-byte command\n", vtpm_strerror(err),
			     size - 1);
	if (rlen < 10 || rlen > sizeof(rsp))
		FIXTURE_FAIL(&fx, "%zu-byte response\n", rlen);
	hdr = (uint32_t)rsp[2] << 24 | (uint32_t)rsp[3] << 16 | (uint32_t)rsp[4] << 8 | rsp[5];
	if (hdr != rlen)
		FIXTURE_FAIL(&fx, "response header says %u bytes, response has %zu\n", hdr, rlen);
	return 0;
}
