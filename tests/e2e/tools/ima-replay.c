// SPDX-License-Identifier: GPL-2.0
/*
 * ima-replay [LOG]: replay IMA's binary measurement list (default
 * /sys/kernel/security/ima/binary_runtime_measurements) into the SHA-256
 * bank of PCR 10 and print, one line:
 *
 *   entries=N pcr10-sha256=<64 hex digits>
 *
 * Each entry is: u32 PCR, the template's SHA-1 digest (20 bytes), u32
 * template name length, the name, u32 template data length, the data (host
 * byte order, ima_canonical_fmt off). For any template but "ima", the SHA-256
 * bank is extended with SHA-256 of the template data exactly as the list
 * holds it (each field's u32 length, then the field); a violation (SHA-1
 * digest all zero) extends 0xff bytes. Only entries for PCR 10 count.
 * Exit 1 on a malformed list. Built static, for the guest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

static int read_exact(FILE *f, void *buf, size_t n)
{
	return n == 0 || fread(buf, 1, n, f) == n;
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen,
		   uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 32;

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, a, alen) || (blen && !EVP_DigestUpdate(c, b, blen)) ||
	    !EVP_DigestFinal_ex(c, out, &len)) {
		fprintf(stderr, "ima-replay: SHA-256 failed\n");
		exit(1);
	}
	EVP_MD_CTX_free(c);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] :
		"/sys/kernel/security/ima/binary_runtime_measurements";
	uint8_t pcr[32] = { 0 }, digest[32], sha1[20], zero[20] = { 0 };
	uint32_t idx, nlen, dlen;
	unsigned long n = 0, entries = 0;
	char name[256];
	uint8_t *data;
	FILE *f = fopen(path, "rb");
	int i;

	if (!f) {
		perror(path);
		return 1;
	}
	while (read_exact(f, &idx, 4)) {
		n++;
		if (!read_exact(f, sha1, sizeof(sha1)) || !read_exact(f, &nlen, 4) ||
		    nlen >= sizeof(name) || !read_exact(f, name, nlen) ||
		    !read_exact(f, &dlen, 4) || dlen > (1u << 24)) {
			fprintf(stderr, "ima-replay: entry %lu is truncated or malformed\n", n);
			return 1;
		}
		name[nlen] = '\0';
		data = malloc(dlen ? dlen : 1);
		if (!data || !read_exact(f, data, dlen)) {
			fprintf(stderr, "ima-replay: entry %lu: short template data\n", n);
			return 1;
		}
		if (!strcmp(name, "ima")) {
			fprintf(stderr, "ima-replay: entry %lu: template \"ima\" is not supported\n", n);
			return 1;
		}
		if (idx == 10) {
			if (!memcmp(sha1, zero, sizeof(zero)))
				memset(digest, 0xff, sizeof(digest));
			else
				sha256(data, dlen, NULL, 0, digest);
			sha256(pcr, sizeof(pcr), digest, sizeof(digest), pcr);
			entries++;
		}
		free(data);
	}
	if (ferror(f)) {
		perror(path);
		return 1;
	}
	printf("entries=%lu pcr10-sha256=", entries);
	for (i = 0; i < 32; i++)
		printf("%02x", pcr[i]);
	printf("\n");
	return 0;
}
