/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The plaintext of a vTPM bundle (vtpmctl export/import, bundle.c), what
 * AES-256-GCM encrypts:
 *
 *   be32 state_len    | state: libvtpm's export (vtpm_state_export()),
 *                       state_len bytes, never empty
 *   be32 session_len  | session: vtpmctl's session file, session_len
 *                       bytes, empty when the vTPM had none
 *
 * and nothing after it. A bundle authenticates to the target's public
 * transport key only, so whoever holds that key chooses these bytes:
 * bundle_split() is the one place they are parsed, and trusts none of
 * them. Pure (no I/O, no allocation), so tests/userspace/test_bundle.c and
 * tests/fuzz/fuzz_import.c call it directly.
 */
#ifndef VTPMCTL_BUNDLE_H
#define VTPMCTL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

struct bundle_parts {
	const uint8_t *state;	/* points into the plaintext */
	size_t state_len;
	const uint8_t *session;	/* points into the plaintext; NULL when empty */
	size_t session_len;
};

/*
 * bundle_split() - the two parts of a decrypted bundle plaintext
 * @plain: the plaintext; @len: its length
 * @parts: filled on success, zeroed on failure
 * @why, @why_len: on failure, what is wrong, naming the field (no path)
 *
 * Every length is checked against what is left of @plain before it is
 * used; nothing is read outside [plain, plain + len). Refused: a length
 * field cut short, a length larger than what is left, an empty state, and
 * bytes after the session.
 *
 * Return: 0, or -EBADMSG with @why set.
 */
int bundle_split(const uint8_t *plain, size_t len, struct bundle_parts *parts,
		 char *why, size_t why_len);

/* bundle_join_len() - the plaintext's length for these parts; 0 if too large */
size_t bundle_join_len(const struct bundle_parts *parts);

/*
 * bundle_join() - write the plaintext for @parts to @out, which has
 * bundle_join_len(@parts) bytes. What bundle_split() reads back.
 */
void bundle_join(const struct bundle_parts *parts, uint8_t *out);

#endif
