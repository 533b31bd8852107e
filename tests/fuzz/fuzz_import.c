// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: what vtpmctl import does with a bundle's decrypted
 * plaintext: bundle_split() (tools/vtpmctl/bundle_split.c) cuts it into
 * libvtpm's export and the session file, vtpm_state_import() stores the
 * export, and vtpm_new() opens what it stored (libtpms reads the permanent
 * state).
 *
 * Why this is untrusted input: vtpmctl import decrypts a bundle made for
 * this host's public transport key. ECDH-ES authenticates the bytes to that
 * key, not to a sender, so whoever has the public key (it is handed out to
 * every source host) can make a bundle whose plaintext is anything.
 *
 * Input byte 0 picks the mode:
 *  - 0 mod 4: the rest is libvtpm's export (the plaintext's state part);
 *  - 2 mod 4: the rest is the whole plaintext, split by bundle_split() as
 *    vtpmctl import does; its state part, if any, is imported;
 *  - odd: a real export (of a TPM 2.0 vTPM made at start-up, with a
 *    suspend record) with the rest written over it at an offset given by
 *    the next two bytes: structure-aware damage.
 * Guarantees checked: never a crash or a sanitizer report; bundle_split()
 * either refuses with a reason or returns parts that lie inside the
 * plaintext and add up to all of it; what an import stored either opens or
 * is refused with an error, and destroy removes it (vtpmctl import destroys
 * what a failed import left).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "vtpm_fixture.h"

static struct vtpm_fixture fx;
static char target[256];
static uint8_t *good;
static size_t good_len;

static void setup(void)
{
	char src[256];
	uint8_t cmd[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
	uint8_t rsp[4096];
	size_t rlen = sizeof(rsp);
	struct vtpm *v;

	if (good)
		return;
	fixture_init(&fx, "fuzz_import");
	fixture_path(&fx, "source", src, sizeof(src));
	fixture_path(&fx, "target", target, sizeof(target));
	{
		VTPM_OPTS(opts, .state_dir = src, .key_file = fx.key);

		v = fixture_vtpm(&fx, &opts);
		/* TPM2_Startup(CLEAR), then a suspend record in the export */
		if (vtpm_process(v, cmd, sizeof(cmd), 0, rsp, &rlen))
			FIXTURE_FAIL(&fx, "startup\n");
		if (vtpm_suspend(v, "epoch:fuzz"))
			FIXTURE_FAIL(&fx, "vtpm_suspend\n");
		if (vtpm_state_export(&opts, &good, &good_len))
			FIXTURE_FAIL(&fx, "vtpm_state_export\n");
	}
	fprintf(stderr, "fuzz_import: a real export has %zu bytes\n", good_len);
}

/* bundle_split()'s contract, checked on what it returned */
static void check_split(const uint8_t *plain, size_t len, int err,
			const struct bundle_parts *p, const char *why)
{
	if (err && (err != -EBADMSG || !why[0]))
		FIXTURE_FAIL(&fx, "bundle_split refused a %zu-byte plaintext with %d, \"%s\"\n",
			     len, err, why);
	if (err && (p->state || p->state_len || p->session || p->session_len))
		FIXTURE_FAIL(&fx, "bundle_split refused but left parts set\n");
	if (err)
		return;
	if (p->state != plain + 4 || !p->state_len || p->state_len > len ||
	    8 + p->state_len + p->session_len != len ||
	    p->session != (p->session_len ? p->state + p->state_len + 4 : NULL))
		FIXTURE_FAIL(&fx, "bundle_split's parts (state +%td, %zu bytes; session %zu bytes) do not cover the %zu-byte plaintext\n",
			     p->state - plain, p->state_len, p->session_len, len);
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
	if ((data[0] & 3) == 2) {
		struct bundle_parts parts;
		char why[128];

		/* alone in its allocation: a read past it is a report */
		buf = malloc(len ? len : 1);
		if (!buf)
			return 0;
		memcpy(buf, data + 1, len);
		err = bundle_split(buf, len, &parts, why, sizeof(why));
		check_split(buf, len, err, &parts, why);
		if (err) {
			free(buf);
			return 0;
		}
		in = parts.state;
		len = parts.state_len;
	} else if ((data[0] & 1) && size >= 3) {
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
		VTPM_OPTS(opts, .state_dir = target, .key_file = fx.key,
			  .resume_record = "epoch:fuzz");

		err = vtpm_state_import(&opts, in, len);
		if (err == -EEXIST)
			FIXTURE_FAIL(&fx, "the previous input's vTPM was not destroyed\n");
		if (!err) {
			/* libtpms reads the imported permanent state and, when
			 * the record is there, the volatile state in it */
			v = vtpm_new(&opts);
			if (v)
				vtpm_free(v);
		}
		vtpm_state_destroy(target);
		if (stat(target, &st) == 0)
			FIXTURE_FAIL(&fx, "%s could not be destroyed after an import\n", target);
	}
	free(buf);
	return 0;
}
