// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sealed blob format: every state file (libtpms permanent/volatile/save
 * state) is stored as
 *
 *   header (64 bytes, little-endian)
 *     magic "VTPMBLB1", format 1, flags (bit 0: AES-256-GCM),
 *     generation, base_generation, payload length, tag length,
 *     name length, 12-byte IV, reserved
 *   resume tag (tag length bytes)
 *   payload (ciphertext when encrypted)
 *   trailer (32 bytes): GCM tag + 16 zero bytes, or SHA-256 when plaintext
 *
 * The header, the tag, the blob's name and the vTPM's binding (its uuid)
 * are the additional authenticated data: a blob cannot be moved to another
 * name or another vTPM, nor its generation changed, without failing
 * authentication. Plaintext blobs carry a SHA-256 over the same bytes,
 * which catches corruption, not an attacker.
 *
 * Each vTPM gets its own key: HKDF-SHA256(master key, salt
 * "libvtpm state v1", info = binding).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "internal.h"

#define BLOB_MAGIC	"VTPMBLB1"
#define BLOB_FORMAT	1
#define BLOB_F_AESGCM	(1U << 0)
#define BLOB_HDR_LEN	64
#define BLOB_TRAILER	32
#define BLOB_IV_LEN	12
#define BLOB_GCM_TAG	16

void vtpm_explicit_bzero(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static uint16_t get_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

int vtpm_load_key_file(const char *path, uint8_t key[VTPM_KEY_LEN])
{
	uint8_t buf[VTPM_KEY_LEN + 1];
	struct stat sb;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot open key file %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
		pr_warn("key file %s is readable by group or others\n", path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != VTPM_KEY_LEN) {
		pr_warn("key file %s must hold exactly %d bytes\n", path,
			VTPM_KEY_LEN);
		err = -EINVAL;
	} else {
		memcpy(key, buf, VTPM_KEY_LEN);
	}
	vtpm_explicit_bzero(buf, sizeof(buf));
	return err;
}

int vtpm_sealer_init(struct vtpm_sealer *s, const uint8_t *master_key,
		     const char *binding)
{
	static const char salt[] = "libvtpm state v1";
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int err = 0;

	memset(s, 0, sizeof(*s));
	s->binding = strdup(binding);
	if (!s->binding)
		return -ENOMEM;
	if (!master_key)
		return 0;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)master_key, VTPM_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)salt, sizeof(salt) - 1);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 s->binding, strlen(s->binding));
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, s->key, VTPM_KEY_LEN, params) != 1)
		err = -EPROTO;
	EVP_KDF_CTX_free(kctx);
	if (!err)
		s->encrypted = 1;
	return err;
}

void vtpm_sealer_fini(struct vtpm_sealer *s)
{
	vtpm_explicit_bzero(s->key, sizeof(s->key));
	free(s->binding);
	s->binding = NULL;
}

/* header || tag || name || binding: what the GCM tag / digest covers
 * besides the payload */
static uint8_t *build_aad(const uint8_t *hdr_and_tag, size_t htlen,
			  const char *name, const char *binding, size_t *len)
{
	size_t nl = strlen(name), bl = strlen(binding);
	uint8_t *aad = malloc(htlen + nl + 1 + bl);

	if (!aad)
		return NULL;
	memcpy(aad, hdr_and_tag, htlen);
	memcpy(aad + htlen, name, nl);
	aad[htlen + nl] = '/';
	memcpy(aad + htlen + nl + 1, binding, bl);
	*len = htlen + nl + 1 + bl;
	return aad;
}

static int gcm(int enc, const uint8_t *key, const uint8_t *iv,
	       const uint8_t *aad, size_t aad_len, const uint8_t *in,
	       size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, BLOB_IV_LEN, NULL) &&
	     EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) &&
	     EVP_CipherUpdate(c, NULL, &n, aad, aad_len) &&
	     (len == 0 || EVP_CipherUpdate(c, out, &n, in, len));
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BLOB_GCM_TAG, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + (len ? n : 0), &n);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BLOB_GCM_TAG, tag);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return enc ? -EPROTO : -EKEYREJECTED;
	return 0;
}

static int sha256(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		  uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, a, alen) && EVP_DigestUpdate(c, b, blen) &&
	     EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EPROTO;
}

int vtpm_blob_seal(const struct vtpm_sealer *s, const char *name,
		   const struct blob_meta *meta, const void *data, size_t len,
		   uint8_t **out, size_t *out_len)
{
	size_t tl = strnlen(meta->tag, sizeof(meta->tag) - 1);
	size_t total = BLOB_HDR_LEN + tl + len + BLOB_TRAILER, aad_len;
	uint8_t *b, *aad, *payload, *trailer;
	int err;

	if (len > UINT32_MAX)
		return -EFBIG;
	b = calloc(1, total);
	if (!b)
		return -ENOMEM;
	memcpy(b, BLOB_MAGIC, 8);
	put_le32(b + 8, BLOB_FORMAT);
	put_le32(b + 12, s->encrypted ? BLOB_F_AESGCM : 0);
	put_le64(b + 16, meta->generation);
	put_le64(b + 24, meta->base_generation);
	put_le32(b + 32, len);
	put_le16(b + 36, tl);
	put_le16(b + 38, strlen(name));
	if (s->encrypted && RAND_bytes(b + 40, BLOB_IV_LEN) != 1) {
		free(b);
		return -EPROTO;
	}
	memcpy(b + BLOB_HDR_LEN, meta->tag, tl);
	payload = b + BLOB_HDR_LEN + tl;
	trailer = payload + len;

	aad = build_aad(b, BLOB_HDR_LEN + tl, name, s->binding, &aad_len);
	if (!aad) {
		free(b);
		return -ENOMEM;
	}
	if (s->encrypted) {
		err = gcm(1, s->key, b + 40, aad, aad_len, data, len, payload,
			  trailer);
	} else {
		memcpy(payload, data, len);
		err = sha256(aad, aad_len, payload, len, trailer);
	}
	free(aad);
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*out_len = total;
	return 0;
}

int vtpm_blob_peek(const uint8_t *b, size_t blen, struct blob_meta *meta)
{
	size_t tl;

	if (blen < BLOB_HDR_LEN + BLOB_TRAILER || memcmp(b, BLOB_MAGIC, 8))
		return -EBADMSG;
	if (get_le32(b + 8) != BLOB_FORMAT)
		return -EPROTONOSUPPORT;
	tl = get_le16(b + 36);
	if (tl >= sizeof(meta->tag) ||
	    (uint64_t)BLOB_HDR_LEN + tl + get_le32(b + 32) + BLOB_TRAILER != blen)
		return -EBADMSG;
	memset(meta, 0, sizeof(*meta));
	meta->encrypted = !!(get_le32(b + 12) & BLOB_F_AESGCM);
	meta->generation = get_le64(b + 16);
	meta->base_generation = get_le64(b + 24);
	memcpy(meta->tag, b + BLOB_HDR_LEN, tl);
	meta->tag[tl] = '\0';
	return 0;
}

int vtpm_blob_open(const struct vtpm_sealer *s, const char *name,
		   const uint8_t *b, size_t blen, struct blob_meta *meta,
		   uint8_t **out, size_t *out_len)
{
	uint8_t digest[32], *aad, *plain;
	const uint8_t *payload, *trailer;
	size_t len, tl, aad_len;
	int err;

	err = vtpm_blob_peek(b, blen, meta);
	if (err)
		return err;
	if (meta->encrypted && !s->encrypted)
		return -ENOKEY;
	if (!meta->encrypted && s->encrypted) {
		/* with a key, plaintext state is refused: no downgrade */
		pr_warn("%s: plaintext state blob refused, a key is configured\n",
			name);
		return -EBADMSG;
	}
	if (get_le16(b + 38) != strlen(name))
		return -EBADMSG;
	tl = get_le16(b + 36);
	len = get_le32(b + 32);
	payload = b + BLOB_HDR_LEN + tl;
	trailer = payload + len;
	aad = build_aad(b, BLOB_HDR_LEN + tl, name, s->binding, &aad_len);
	if (!aad)
		return -ENOMEM;
	plain = malloc(len ? len : 1);
	if (!plain) {
		free(aad);
		return -ENOMEM;
	}
	if (meta->encrypted) {
		err = gcm(0, s->key, b + 40, aad, aad_len, payload, len, plain,
			  (uint8_t *)trailer);
	} else {
		err = sha256(aad, aad_len, payload, len, digest);
		if (!err && memcmp(digest, trailer, 32))
			err = -EBADMSG;
		if (!err)
			memcpy(plain, payload, len);
	}
	free(aad);
	if (err) {
		vtpm_explicit_bzero(plain, len);
		free(plain);
		return err;
	}
	*out = plain;
	*out_len = len;
	return 0;
}
