// SPDX-License-Identifier: GPL-2.0
/*
 * The bundle plaintext's format, both ways: bundle_split() for import (the
 * bytes are untrusted, see bundle.h), bundle_join() for export.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bundle.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * One length-prefixed part at *off: its length field and its bytes must
 * both fit in what is left.
 */
static int take(const uint8_t *plain, size_t len, size_t *off, const char *name,
		const uint8_t **part, size_t *part_len, char *why, size_t why_len)
{
	size_t left = len - *off;
	uint32_t n;

	if (left < 4) {
		snprintf(why, why_len, "%s length field cut short (4 bytes needed, %zu left)",
			 name, left);
		return -EBADMSG;
	}
	n = get_be32(plain + *off);
	left -= 4;
	if (n > left) {
		snprintf(why, why_len, "%s length %u is more than the %zu byte%s left", name, n,
			 left, plural(left));
		return -EBADMSG;
	}
	*part = n ? plain + *off + 4 : NULL;
	*part_len = n;
	*off += 4 + n;
	return 0;
}

int bundle_split(const uint8_t *plain, size_t len, struct bundle_parts *parts,
		 char *why, size_t why_len)
{
	struct bundle_parts p = { 0 };
	size_t off = 0;
	int err;

	memset(parts, 0, sizeof(*parts));
	if (why_len)
		why[0] = '\0';
	if (!plain)
		len = 0;
	err = take(plain, len, &off, "state", &p.state, &p.state_len, why, why_len);
	if (err)
		return err;
	if (!p.state_len) {
		snprintf(why, why_len, "state part is empty");
		return -EBADMSG;
	}
	err = take(plain, len, &off, "session", &p.session, &p.session_len, why, why_len);
	if (err)
		return err;
	if (off != len) {
		snprintf(why, why_len, "%zu trailing byte%s after the session part", len - off,
			 plural(len - off));
		return -EBADMSG;
	}
	*parts = p;
	return 0;
}

size_t bundle_join_len(const struct bundle_parts *parts)
{
	if (parts->state_len > UINT32_MAX - 8 ||
	    parts->session_len > UINT32_MAX - 8 - parts->state_len)
		return 0;
	return 8 + parts->state_len + parts->session_len;
}

void bundle_join(const struct bundle_parts *parts, uint8_t *out)
{
	put_be32(out, parts->state_len);
	if (parts->state_len)
		memcpy(out + 4, parts->state, parts->state_len);
	out += 4 + parts->state_len;
	put_be32(out, parts->session_len);
	if (parts->session_len)
		memcpy(out + 4, parts->session, parts->session_len);
}
