// SPDX-License-Identifier: GPL-2.0
/* RFC 4122 uuids: parse, format, generate (version 4). */
#include <errno.h>
#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include "vtpmctl.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Only the canonical 8-4-4-4-12 form: it names directories. */
int uuid_parse_str(const char *s, uint8_t out[16])
{
	int i, n = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = hi << 4 | lo;
		i++;
	}
	return 0;
}

void uuid_format(const uint8_t u[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

int uuid_generate_v4(uint8_t out[16])
{
	if (getrandom(out, 16, 0) != 16)
		return -errno;
	out[6] = (out[6] & 0x0f) | 0x40;
	out[8] = (out[8] & 0x3f) | 0x80;
	return 0;
}

/* <state root>/<canonical lower-case uuid> */
int state_dir_of(const char *uuid_str, char *buf, size_t size)
{
	uint8_t u[16];
	char canon[37];

	if (uuid_parse_str(uuid_str, u))
		return -EINVAL;
	uuid_format(u, canon);
	if ((size_t)snprintf(buf, size, "%s/%s", state_root, canon) >= size)
		return -ENAMETOOLONG;
	return 0;
}
