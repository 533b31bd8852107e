// SPDX-License-Identifier: GPL-2.0
/*
 * bundle_split() (tools/vtpmctl/bundle_split.c): the parser of a bundle's
 * decrypted plaintext, which whoever holds a host's public transport key
 * chooses (tests/userspace/forge_bundle.py). Each input sits at the very
 * end of its own allocation, so a read past it is a crash (the build adds
 * AddressSanitizer when gcc has it); each refusal must name the field.
 *
 * Usage: test_bundle            (prints "ok - bundle_split NAME" lines)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int failed;

static void report(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok - bundle_split %s\n", name);
		return;
	}
	printf("FAIL - bundle_split %s\n", name);
	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failed++;
}

/* the bytes of hex, alone in an allocation of exactly their length */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t i, n = strlen(hex) / 2;
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		abort();
	for (i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &b[i]);
	*len = n;
	return b;
}

struct split_case {
	const char *name;
	const char *hex;	/* the plaintext */
	int err;		/* 0 or -EBADMSG */
	size_t state_len, session_len;
	const char *why;	/* what the refusal must say */
};

static const struct split_case cases[] = {
	{ "valid_with_session", "00000002abcd00000003010203", 0, 2, 3, NULL },
	{ "valid_empty_session", "00000001ee00000000", 0, 1, 0, NULL },
	{ "empty_plaintext", "", -EBADMSG, 0, 0,
	  "state length field cut short (4 bytes needed, 0 left)" },
	{ "truncated_state_length", "000000", -EBADMSG, 0, 0,
	  "state length field cut short (4 bytes needed, 3 left)" },
	{ "zero_length_state", "0000000000000000", -EBADMSG, 0, 0, "state part is empty" },
	/* the 7-byte plaintext that crashed import before it was checked */
	{ "oversize_state_length", "10000000000000", -EBADMSG, 0, 0,
	  "state length 268435456 is more than the 3 bytes left" },
	{ "state_length_max", "ffffffff00", -EBADMSG, 0, 0,
	  "state length 4294967295 is more than the 1 byte left" },
	{ "state_one_byte_short", "00000004414141", -EBADMSG, 0, 0,
	  "state length 4 is more than the 3 bytes left" },
	{ "no_session_length", "0000000441414141", -EBADMSG, 0, 0,
	  "session length field cut short (4 bytes needed, 0 left)" },
	{ "truncated_session_length", "0000000441414141000000", -EBADMSG, 0, 0,
	  "session length field cut short (4 bytes needed, 3 left)" },
	{ "oversize_session_length", "00000004414141410000000a", -EBADMSG, 0, 0,
	  "session length 10 is more than the 0 bytes left" },
	{ "session_length_max", "0000000141ffffffff4242", -EBADMSG, 0, 0,
	  "session length 4294967295 is more than the 2 bytes left" },
	{ "session_one_byte_short", "000000014100000003aaaa", -EBADMSG, 0, 0,
	  "session length 3 is more than the 2 bytes left" },
	{ "trailing_byte", "00000001410000000000", -EBADMSG, 0, 0,
	  "1 trailing byte after the session part" },
	{ "trailing_bytes_after_session", "000000014100000001aa000000", -EBADMSG, 0, 0,
	  "3 trailing bytes after the session part" },
};

static void test_case(const struct split_case *c)
{
	struct bundle_parts p;
	char why[128];
	size_t len;
	uint8_t *b = unhex(c->hex, &len);
	int err;

	memset(&p, 0xa5, sizeof(p));
	err = bundle_split(b, len, &p, why, sizeof(why));
	if (err != c->err) {
		report(0, c->name, "expected: %d received: %d (%s)", c->err, err, why);
	} else if (err) {
		report(!strcmp(why, c->why) && !p.state && !p.state_len && !p.session &&
		       !p.session_len, c->name,
		       "expected: \"%s\", parts zeroed received: \"%s\", state %p+%zu session %p+%zu",
		       c->why, why, (void *)p.state, p.state_len, (void *)p.session, p.session_len);
	} else {
		report(p.state == b + 4 && p.state_len == c->state_len &&
		       p.session_len == c->session_len &&
		       p.session == (c->session_len ? b + 8 + c->state_len : NULL) && !why[0],
		       c->name,
		       "expected: state at +4 (%zu bytes), session %zu bytes received: state at +%td (%zu bytes), session %zu bytes, why \"%s\"",
		       c->state_len, c->session_len, p.state - b, p.state_len, p.session_len, why);
	}
	free(b);
}

/*
 * A plaintext as export writes it (bundle_join) splits back into the same
 * parts; every prefix of it, and it with any byte added, is refused.
 */
static void test_join_roundtrip_prefixes_suffixes(void)
{
	static const uint8_t state[] = "VTPMEXP1 stands for libvtpm's export";
	static const uint8_t session[] = "{\"sessions\": []}";
	struct bundle_parts in = { state, sizeof(state), session, sizeof(session) }, out;
	size_t len = bundle_join_len(&in), n;
	uint8_t *plain = malloc(len), *b;
	char why[128];
	int bad = 0;

	bundle_join(&in, plain);
	if (bundle_split(plain, len, &out, why, sizeof(why)) || out.state_len != sizeof(state) ||
	    memcmp(out.state, state, sizeof(state)) || out.session_len != sizeof(session) ||
	    memcmp(out.session, session, sizeof(session)) || len != 8 + sizeof(state) + sizeof(session)) {
		report(0, "join_roundtrip", "the joined plaintext did not split back (%s)", why);
		free(plain);
		return;
	}
	report(1, "join_roundtrip", "-");
	for (n = 0; n < len; n++) {
		b = malloc(n ? n : 1);
		memcpy(b, plain, n);
		if (bundle_split(b, n, &out, why, sizeof(why)) != -EBADMSG || !why[0]) {
			report(0, "every_prefix_refused", "a %zu-byte prefix of %zu was accepted", n, len);
			bad = 1;
		}
		free(b);
		if (bad)
			break;
	}
	if (!bad)
		report(1, "every_prefix_refused", "-");
	b = malloc(len + 1);
	memcpy(b, plain, len);
	b[len] = 0;
	report(bundle_split(b, len + 1, &out, why, sizeof(why)) == -EBADMSG &&
	       !strcmp(why, "1 trailing byte after the session part"), "joined_plus_one_byte_refused",
	       "expected: \"1 trailing byte after the session part\" received: \"%s\"", why);
	free(b);
	free(plain);
	/* an empty session is written as a zero length, and read back as none */
	in.session = NULL;
	in.session_len = 0;
	len = bundle_join_len(&in);
	plain = malloc(len);
	bundle_join(&in, plain);
	report(len == 8 + sizeof(state) && !bundle_split(plain, len, &out, why, sizeof(why)) &&
	       !out.session && !out.session_len, "join_empty_session",
	       "expected: %zu bytes, no session received: %zu bytes, session %zu bytes (%s)",
	       8 + sizeof(state), len, out.session_len, why);
	free(plain);
}

/* A NULL plaintext, and a why too small for the message: refused, no overrun */
static void test_null_and_short_why(void)
{
	struct bundle_parts p;
	char why[8];

	report(bundle_split(NULL, 100, &p, why, sizeof(why)) == -EBADMSG && !p.state,
	       "null_plaintext_refused", "a NULL plaintext was not refused");
	report(bundle_split((const uint8_t *)"\0\0\0", 3, &p, why, sizeof(why)) == -EBADMSG &&
	       strlen(why) == sizeof(why) - 1, "short_why_truncated",
	       "expected: a %zu-character message received: \"%s\"", sizeof(why) - 1, why);
}

int main(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		test_case(&cases[i]);
	test_join_roundtrip_prefixes_suffixes();
	test_null_and_short_why();
	return failed ? 1 : 0;
}
