// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sealed blob format 2: every state blob (libtpms permanent, volatile and
 * save state) is stored as
 *
 *   header (96 bytes, little-endian)
 *      0  magic "VTPMBLB2"
 *      8  flags (bit 0: AES-256-GCM), payload length
 *     16  generation, base_generation
 *     32  tag length, name length, 4 reserved bytes (zero)
 *     40  run id (16 bytes)
 *     56  GCM nonce (12 bytes), 28 reserved bytes (zero)
 *   resume tag (tag length bytes)
 *   payload (ciphertext when encrypted)
 *   trailer: the 16-byte GCM tag, or a 32-byte SHA-256 when plaintext
 *
 * Nothing else: a blob whose length is not exactly that is refused, so
 * every byte of it is authenticated. The header, the tag, the blob's name
 * and the vTPM's binding (its uuid) are the additional authenticated data:
 * a blob cannot be moved to another name or another vTPM, nor its
 * generation changed, without failing authentication. Plaintext blobs
 * carry a SHA-256 over the same bytes: corruption is caught, an attacker
 * is not.
 *
 * Keys and nonces. Each vTPM has its own key, HKDF-SHA256(master key,
 * salt "libvtpm state v1", info = binding). Each sealer (one per server
 * start) draws a random 128-bit run id and seals with the run key
 * HKDF-SHA256(vTPM key, salt = run id, info "libvtpm run key v2"), using
 * a 96-bit counter as the GCM nonce. A (key, nonce) pair therefore never
 * repeats within a run; across runs the keys differ unless two random run
 * ids collide, which after 2^32 server starts of one vTPM has probability
 * below 2^-64. Per run key the nonce space is 2^96 blobs, so the NIST
 * SP 800-38D limit of 2^32 random nonces per key no longer applies: at
 * 10^6 blobs a second a run could go on for 10^15 years.
 */
#include <fcntl.h>
#include <keyutils.h>
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

#define BLOB_MAGIC	"VTPMBLB2"
#define BLOB_F_AESGCM	(1U << 0)
#define BLOB_HDR_LEN	96
#define BLOB_GCM_TAG	16
#define BLOB_SHA_LEN	32
#define BLOB_RUN_ID	40
#define BLOB_NONCE	56
#define BLOB_NONCE_LEN	12

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

/*
 * The host key from the kernel keyring: a "user" key in root's user
 * keyring, found by description; its permissions let root's other
 * sessions (systemd's private session keyrings) read it.
 */
int vtpm_load_key_keyring(const char *desc, uint8_t key[VTPM_KEY_LEN])
{
	uint8_t buf[VTPM_KEY_LEN + 1];
	key_serial_t k;
	long n;
	int err = 0;

	k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (k < 0) {
		err = -errno;
		if (err == -ENOKEY || err == -EKEYREVOKED || err == -EKEYEXPIRED) {
			pr_warn("host key \"%s\" is not in the kernel keyring: the host key is locked (vtpmctl manager unlock)\n",
				desc);
			return -ENOKEY;
		}
		pr_warn("cannot search the kernel keyring for \"%s\": %s\n", desc,
			strerror(-err));
		return err;
	}
	n = keyctl_read(k, (char *)buf, sizeof(buf));
	if (n != VTPM_KEY_LEN) {
		err = n < 0 ? -errno : -EINVAL;
		pr_warn("cannot read host key \"%s\" from the kernel keyring: %s\n",
			desc, n < 0 ? strerror(errno) : "not 32 bytes");
	} else {
		memcpy(key, buf, VTPM_KEY_LEN);
	}
	vtpm_explicit_bzero(buf, sizeof(buf));
	return err;
}

static int hkdf(const uint8_t *key, const void *salt, size_t salt_len,
		const void *info, size_t info_len, uint8_t out[VTPM_KEY_LEN])
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int err = 0;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)key, VTPM_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, VTPM_KEY_LEN, params) != 1)
		err = -EPROTO;
	EVP_KDF_CTX_free(kctx);
	return err;
}

static const char run_info[] = "libvtpm run key v2";

/* the key of one run (the sealer's own, or an earlier run's to open) */
static int run_key(struct vtpm_sealer *s, const uint8_t run_id[VTPM_RUN_ID_LEN],
		   uint8_t out[VTPM_KEY_LEN])
{
	return hkdf(s->key, run_id, VTPM_RUN_ID_LEN, run_info,
		    sizeof(run_info) - 1, out);
}

int vtpm_sealer_init(struct vtpm_sealer *s, const uint8_t *master_key,
		     const char *binding)
{
	static const char salt[] = "libvtpm state v1";
	uint8_t rk[VTPM_KEY_LEN];
	int err;

	memset(s, 0, sizeof(*s));
	s->binding = strdup(binding);
	if (!s->binding)
		return -ENOMEM;
	if (RAND_bytes(s->run_id, sizeof(s->run_id)) != 1)
		return -EPROTO;
	if (!master_key)
		return 0;
	err = hkdf(master_key, salt, sizeof(salt) - 1, s->binding,
		   strlen(s->binding), s->key);
	if (err)
		return err;
	err = run_key(s, s->run_id, rk);
	if (err)
		return err;
	s->enc = EVP_CIPHER_CTX_new();
	s->dec = EVP_CIPHER_CTX_new();
	if (!s->enc || !s->dec ||
	    !EVP_EncryptInit_ex(s->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_SET_IVLEN, BLOB_NONCE_LEN, NULL) ||
	    !EVP_EncryptInit_ex(s->enc, NULL, NULL, rk, NULL) ||
	    !EVP_DecryptInit_ex(s->dec, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_IVLEN, BLOB_NONCE_LEN, NULL))
		err = -ENOMEM;
	vtpm_explicit_bzero(rk, sizeof(rk));
	if (!err)
		s->encrypted = 1;
	return err;
}

void vtpm_sealer_fini(struct vtpm_sealer *s)
{
	vtpm_explicit_bzero(s->key, sizeof(s->key));
	EVP_CIPHER_CTX_free(s->enc);
	EVP_CIPHER_CTX_free(s->dec);
	free(s->binding);
	memset(s, 0, sizeof(*s));
}

/* the additional authenticated data besides the header: name '/' binding */
static int aad_update(EVP_CIPHER_CTX *c, const uint8_t *hdr_and_tag, size_t htlen,
		      const char *name, const char *binding)
{
	int n;

	return EVP_CipherUpdate(c, NULL, &n, hdr_and_tag, htlen) &&
	       EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)name, strlen(name)) &&
	       EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)"/", 1) &&
	       EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)binding,
				strlen(binding));
}

static int sha256(const uint8_t *hdr_and_tag, size_t htlen, const char *name,
		  const char *binding, const uint8_t *payload, size_t len,
		  uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, hdr_and_tag, htlen) &&
	     EVP_DigestUpdate(c, name, strlen(name)) &&
	     EVP_DigestUpdate(c, "/", 1) &&
	     EVP_DigestUpdate(c, binding, strlen(binding)) &&
	     EVP_DigestUpdate(c, payload, len) &&
	     EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EPROTO;
}

size_t vtpm_blob_size(const struct vtpm_sealer *s, const struct blob_meta *meta,
		      size_t len)
{
	return BLOB_HDR_LEN + strnlen(meta->tag, sizeof(meta->tag) - 1) + len +
	       (s->encrypted ? BLOB_GCM_TAG : BLOB_SHA_LEN);
}

int vtpm_blob_seal_into(struct vtpm_sealer *s, const char *name,
			const struct blob_meta *meta, const void *data,
			size_t len, uint8_t *b, size_t size)
{
	size_t tl = strnlen(meta->tag, sizeof(meta->tag) - 1);
	size_t total = vtpm_blob_size(s, meta, len);
	uint8_t *payload, *trailer;
	int n, ok;

	if (len > UINT32_MAX)
		return -EFBIG;
	if (size < total)
		return -ENOBUFS;
	memset(b, 0, BLOB_HDR_LEN);
	memcpy(b, BLOB_MAGIC, 8);
	put_le32(b + 8, s->encrypted ? BLOB_F_AESGCM : 0);
	put_le32(b + 12, len);
	put_le64(b + 16, meta->generation);
	put_le64(b + 24, meta->base_generation);
	put_le16(b + 32, tl);
	put_le16(b + 34, strlen(name));
	memcpy(b + BLOB_RUN_ID, s->run_id, VTPM_RUN_ID_LEN);
	memcpy(b + BLOB_HDR_LEN, meta->tag, tl);
	payload = b + BLOB_HDR_LEN + tl;
	trailer = payload + len;
	if (!s->encrypted) {
		memcpy(payload, data, len);
		return sha256(b, BLOB_HDR_LEN + tl, name, s->binding, data, len,
			      trailer) ?: (int)total;
	}

	/* nonce: the run's blob counter, never reused under the run key */
	put_le64(b + BLOB_NONCE, ++s->counter);
	ok = EVP_EncryptInit_ex(s->enc, NULL, NULL, NULL, b + BLOB_NONCE) &&
	     aad_update(s->enc, b, BLOB_HDR_LEN + tl, name, s->binding) &&
	     (len == 0 || EVP_EncryptUpdate(s->enc, payload, &n, data, len)) &&
	     EVP_EncryptFinal_ex(s->enc, payload + len, &n) &&
	     EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_GET_TAG, BLOB_GCM_TAG, trailer);
	return ok ? (int)total : -EPROTO;
}

int vtpm_blob_seal(struct vtpm_sealer *s, const char *name,
		   const struct blob_meta *meta, const void *data, size_t len,
		   uint8_t **out, size_t *out_len)
{
	size_t total = vtpm_blob_size(s, meta, len);
	uint8_t *b = malloc(total);
	int ret;

	if (!b)
		return -ENOMEM;
	ret = vtpm_blob_seal_into(s, name, meta, data, len, b, total);
	if (ret < 0) {
		free(b);
		return ret;
	}
	*out = b;
	*out_len = total;
	return 0;
}

/* the blob's total length from its header, or negative errno */
ssize_t vtpm_blob_peek(const uint8_t *b, size_t blen, struct blob_meta *meta)
{
	static const uint8_t zero[28];
	size_t tl, total;

	if (blen < BLOB_HDR_LEN)
		return -EBADMSG;
	if (memcmp(b, BLOB_MAGIC, 7))
		return -EBADMSG;
	if (b[7] != BLOB_MAGIC[7])
		return -EPROTONOSUPPORT;	/* another format version */
	if ((get_le32(b + 8) & ~BLOB_F_AESGCM) || memcmp(b + 36, zero, 4) ||
	    memcmp(b + BLOB_NONCE + BLOB_NONCE_LEN, zero, 28))
		return -EBADMSG;
	tl = get_le16(b + 32);
	if (tl >= sizeof(meta->tag))
		return -EBADMSG;
	total = (size_t)BLOB_HDR_LEN + tl + get_le32(b + 12) +
		(get_le32(b + 8) & BLOB_F_AESGCM ? BLOB_GCM_TAG : BLOB_SHA_LEN);
	memset(meta, 0, sizeof(*meta));
	meta->encrypted = !!(get_le32(b + 8) & BLOB_F_AESGCM);
	meta->generation = get_le64(b + 16);
	meta->base_generation = get_le64(b + 24);
	if (blen >= BLOB_HDR_LEN + tl) {
		memcpy(meta->tag, b + BLOB_HDR_LEN, tl);
		meta->tag[tl] = '\0';
	}
	return total;
}

int vtpm_blob_open(struct vtpm_sealer *s, const char *name,
		   const uint8_t *b, size_t blen, struct blob_meta *meta,
		   uint8_t **out, size_t *out_len)
{
	uint8_t digest[32], rk[VTPM_KEY_LEN], *plain;
	const uint8_t *payload, *trailer;
	size_t len, tl;
	ssize_t total;
	int err = 0, n;

	total = vtpm_blob_peek(b, blen, meta);
	if (total < 0)
		return total;
	if ((size_t)total != blen)
		return -EBADMSG;	/* truncated, or bytes appended */
	if (meta->encrypted && !s->encrypted)
		return -ENOKEY;
	if (!meta->encrypted && s->encrypted) {
		/* with a key, plaintext state is refused: no downgrade */
		pr_warn("%s: plaintext state blob refused, a key is configured\n",
			name);
		return -EBADMSG;
	}
	if (get_le16(b + 34) != strlen(name))
		return -EBADMSG;
	tl = get_le16(b + 32);
	len = get_le32(b + 12);
	payload = b + BLOB_HDR_LEN + tl;
	trailer = payload + len;
	plain = malloc(len ? len : 1);
	if (!plain)
		return -ENOMEM;
	if (meta->encrypted) {
		err = run_key(s, b + BLOB_RUN_ID, rk);
		if (!err &&
		    !(EVP_DecryptInit_ex(s->dec, NULL, NULL, rk, b + BLOB_NONCE) &&
		      aad_update(s->dec, b, BLOB_HDR_LEN + tl, name, s->binding) &&
		      (len == 0 || EVP_DecryptUpdate(s->dec, plain, &n, payload, len)) &&
		      EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_TAG, BLOB_GCM_TAG,
					  (void *)trailer) &&
		      EVP_DecryptFinal_ex(s->dec, plain + len, &n)))
			err = -EKEYREJECTED;
		vtpm_explicit_bzero(rk, sizeof(rk));
	} else {
		err = sha256(b, BLOB_HDR_LEN + tl, name, s->binding, payload, len,
			     digest);
		if (!err && memcmp(digest, trailer, 32))
			err = -EBADMSG;
		if (!err)
			memcpy(plain, payload, len);
	}
	if (err) {
		vtpm_explicit_bzero(plain, len);
		free(plain);
		return err;
	}
	*out = plain;
	*out_len = len;
	return 0;
}
