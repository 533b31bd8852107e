// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: libvtpm's state-blob loader (lib/libvtpm/src/blob.c),
 * which reads files an attacker with the disk (a stolen backup, a shared
 * storage peer) can write.
 *
 * Input byte 0 picks the mode:
 *  - even: the rest is a file as found on disk; peek and open it with a
 *    keyed and an unkeyed sealer. Nothing may crash, and no file may open
 *    under the key: a random file that opens is a forgery.
 *  - odd: the rest is a payload; seal it, check that it opens back
 *    unchanged, then flip one bit (chosen by the input) or cut the blob
 *    short, and check that the damaged blob is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_blob: " __VA_ARGS__); abort(); } while (0)

static struct vtpm_sealer keyed, plain;

static void setup(void)
{
	static int done;
	uint8_t key[VTPM_KEY_LEN];

	if (done)
		return;
	memset(key, 0x5a, sizeof(key));
	if (vtpm_sealer_init(&keyed, key, "fuzz:uuid") ||
	    vtpm_sealer_init(&plain, NULL, "fuzz:uuid"))
		FAIL("sealer init\n");
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob_meta meta, back;
	uint8_t *blob = NULL, *out = NULL;
	size_t blen, olen;
	int err;

	setup();
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		(void)vtpm_blob_peek(data + 1, size - 1, &meta);
		err = vtpm_blob_open(&keyed, "permanent", data + 1, size - 1, &meta, &out, &olen);
		if (!err)
			FAIL("a file not sealed by us opens under the key (%zu bytes)\n", size - 1);
		err = vtpm_blob_open(&plain, "permanent", data + 1, size - 1, &meta, &out, &olen);
		if (!err)
			free(out);
		return 0;
	}

	memset(&meta, 0, sizeof(meta));
	meta.generation = size;
	meta.base_generation = data[0];
	snprintf(meta.tag, sizeof(meta.tag), "boot:%u:0", data[0]);
	if (vtpm_blob_seal(&keyed, "volatile", &meta, data + 1, size - 1, &blob, &blen))
		FAIL("seal\n");
	if (vtpm_blob_open(&keyed, "volatile", blob, blen, &back, &out, &olen) ||
	    olen != size - 1 || memcmp(out, data + 1, olen) ||
	    back.generation != meta.generation || strcmp(back.tag, meta.tag))
		FAIL("a sealed blob does not open back unchanged\n");
	free(out);
	out = NULL;
	/* Another name (permanent vs volatile) must not open it either. */
	if (!vtpm_blob_open(&keyed, "permanent", blob, blen, &back, &out, &olen))
		FAIL("a volatile blob opens as the permanent one\n");
	if (size >= 3) {
		size_t bit = ((size_t)data[1] << 8 | data[2]) % (blen * 8);

		blob[bit / 8] ^= 1u << (bit % 8);
		if (!vtpm_blob_open(&keyed, "volatile", blob, blen, &back, &out, &olen))
			FAIL("a blob with bit %zu flipped opens\n", bit);
		blob[bit / 8] ^= 1u << (bit % 8);
		if (!vtpm_blob_open(&keyed, "volatile", blob, blen - 1 - data[1] % blen, &back, &out, &olen))
			FAIL("a truncated blob opens\n");
	}
	free(blob);
	return 0;
}
