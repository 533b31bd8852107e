// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl manager init | unlock | lock | status | reseal: the host key that
 * protects every vTPM's state, sealed to the host's TPM 2.0, and the
 * rollback anchor kept across host reboots.
 *
 * The host key (32 random bytes; each vTPM's key is HKDF'd from it by
 * libvtpm) lives in the sealed key file (/etc/vtpm/host-key.sealed):
 *
 *   "VTPMHKS1" | nv index (le32) | pcr mask (le32)
 *   | name of the primary key it was sealed under (le16 length + bytes)
 *   | TPM2B_PUBLIC, TPM2B_PRIVATE of the sealed object (le16 length + bytes)
 *   | recovery: salt (16) | GCM nonce (12) | host key wrapped (32) | tag (16)
 *   | SHA-256 of all the above | HMAC-SHA256 of all the above, under a key
 *     derived from the host key
 *
 * The checksum tells damage from everything else before the TPM is asked;
 * the HMAC, checked once the key is out, authenticates what the TPM does
 * not (the NV index, the recovery wrapping). The recovery wrapping is the
 * host key under AES-256-GCM with HKDF(recovery code, salt): the code (128
 * random bits) is printed once by init and never stored.
 *
 * "unlock" unseals it into the kernel keyring ("user" key
 * "libvtpm:hostkey" in root's user keyring, possessor and user
 * permissions: root's services read it from their own session keyrings),
 * where libvtpm finds it (struct vtpm_opts.key_desc).
 *
 * Rollback across reboots: the anchor file (<state root>/manager.anchor)
 * lists each vTPM's newest permanent-state generation, authenticated by
 * the host key and bound to the value of a TPM NV counter. Only the anchor
 * written with the counter's current value is valid; each new anchor is
 * written for the next value and then the counter is incremented, so every
 * older anchor (and a /var/lib/vtpm put back with one) is refused. unlock
 * loads the anchor's generations into libvtpm's keyring anchors (a vTPM
 * older than its anchor does not open) and writes an "open" anchor; lock,
 * at shutdown after the servers stopped, writes the "clean" anchor with
 * the generations of this boot. Two NV writes per host boot, none per
 * guest command, create or destroy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <keyutils.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ek.h"
#include "hosttpm.h"
#include "libvtpm/libvtpm.h"
#include "vtpmctl.h"

#define SEALED_MAGIC	"VTPMHKS1"
#define REC_LEN		16	/* recovery code bytes */
#define REC_WRAP_LEN	(16 + 12 + 32 + 16)
#define ANCHOR_NAME	"manager.anchor"
#define MAX_VTPMS	4096

static const char *opt_tcti;
static const char *opt_pcrs;
static const char *opt_recovery;
static const char *opt_import;
static long opt_nv_index = DEFAULT_NV_INDEX;
static bool opt_reanchor;

/* ---- small helpers -------------------------------------------------------- */

const char *tcti_conf(void)
{
	const char *e = getenv("VTPM_TCTI");

	if (opt_tcti && *opt_tcti)
		return opt_tcti;
	return e && *e ? e : DEFAULT_TCTI;
}

static void put_le16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put_le32(uint8_t *p, uint32_t v) { put_le16(p, v); put_le16(p + 2, v >> 16); }
static uint16_t get_le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t get_le32(const uint8_t *p) { return get_le16(p) | (uint32_t)get_le16(p + 2) << 16; }

int vtpmctl_hkdf(const uint8_t *ikm, size_t ikm_len, const void *salt, size_t salt_len,
		const char *info, uint8_t out[32])
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ok;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, 32, params) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok ? 0 : -EPROTO;
}

static const char mac_salt[] = "libvtpm manager v1";

/* HMAC-SHA256 under a key derived from the host key for one purpose */
static int mac(const uint8_t key[32], const char *purpose, const void *data,
	       size_t len, uint8_t out[32])
{
	uint8_t mk[32];
	size_t olen = 0;
	int err;

	err = vtpmctl_hkdf(key, 32, mac_salt, sizeof(mac_salt) - 1, purpose, mk);
	if (!err && !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mk, sizeof(mk),
			       data, len, out, 32, &olen))
		err = -EPROTO;
	explicit_bzero(mk, sizeof(mk));
	return err;
}

static int aes_gcm(int enc, const uint8_t key[32], const uint8_t nonce[12],
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	static const char aad[] = "vtpm host key recovery";
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) &&
	     EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)aad, sizeof(aad) - 1) &&
	     EVP_CipherUpdate(c, out, &n, in, len) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag)) &&
	     EVP_CipherFinal_ex(c, out + n, &n) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EKEYREJECTED;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int read_file(const char *path, uint8_t **data, size_t *len, size_t max)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc(sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, sb.st_size + 1);
	close(fd);
	if (n != sb.st_size) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static int mkdirs_for(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	p = strrchr(buf, '/');
	if (!p || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "0,2,7" -> bit mask of SHA-256 PCRs; -1 if malformed */
static long parse_pcrs(const char *s)
{
	long mask = 0;
	char *end;

	if (!s || !*s || !strcmp(s, "none"))
		return 0;
	for (;;) {
		long n = strtol(s, &end, 10);

		if (end == s || n < 0 || n > 23)
			return -1;
		mask |= 1L << n;
		if (!*end)
			return mask;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static void format_pcrs(uint32_t mask, char *buf, size_t size)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 24; i++)
		if (mask & (1U << i))
			n += snprintf(buf + n, size - n, "%s%d", n ? "," : "", i);
	if (!n)
		snprintf(buf, size, "none");
}

/* ---- the sealed key file -------------------------------------------------- */

struct sealed_file {
	uint32_t nv_index;
	struct host_tpm_sealed s;
	uint8_t rec[REC_WRAP_LEN];	/* salt, nonce, wrapped key, tag */
	uint8_t *body;			/* the bytes the MAC covers */
	size_t body_len;
	uint8_t mac[32];
};

static int sealed_serialize(struct sealed_file *f, const uint8_t key[32],
			    uint8_t **out, size_t *out_len)
{
	size_t len = 8 + 8 + 2 + f->s.name_len + 2 + f->s.pub_len + 2 + f->s.priv_len +
		     REC_WRAP_LEN + 32 + 32, o = 0;
	uint8_t *b = malloc(len);
	unsigned int dlen;
	int err;

	if (!b)
		return -ENOMEM;
	memcpy(b, SEALED_MAGIC, 8);
	o = 8;
	put_le32(b + o, f->nv_index);
	put_le32(b + o + 4, f->s.pcr_mask);
	o += 8;
	put_le16(b + o, f->s.name_len);
	memcpy(b + o + 2, f->s.name, f->s.name_len);
	o += 2 + f->s.name_len;
	put_le16(b + o, f->s.pub_len);
	memcpy(b + o + 2, f->s.pub, f->s.pub_len);
	o += 2 + f->s.pub_len;
	put_le16(b + o, f->s.priv_len);
	memcpy(b + o + 2, f->s.priv, f->s.priv_len);
	o += 2 + f->s.priv_len;
	memcpy(b + o, f->rec, REC_WRAP_LEN);
	o += REC_WRAP_LEN;
	EVP_Digest(b, o, b + o, &dlen, EVP_sha256(), NULL);
	o += 32;
	err = mac(key, "sealed key file", b, o, b + o);
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*out_len = o + 32;
	return 0;
}

/*
 * One size-prefixed field (le16 length, bytes) of the sealed file at *o:
 * -ENODATA if the file ends first, -EOVERFLOW if it does not fit dst.
 */
static int get_sized(const uint8_t *b, size_t len, size_t *o, uint8_t *dst,
		     size_t dst_size, uint16_t *out_len)
{
	size_t n;

	if (len < *o + 2)
		return -ENODATA;
	n = get_le16(b + *o);
	if (n > dst_size)
		return -EOVERFLOW;
	if (len < *o + 2 + n)
		return -ENODATA;
	memcpy(dst, b + *o + 2, n);
	*out_len = n;
	*o += 2 + n;
	return 0;
}

/* Parse and checksum the file; the MAC is checked by sealed_verify(). */
static int sealed_load(const char *path, struct sealed_file *f, char *why, size_t wlen)
{
	uint8_t *b, digest[32];
	size_t len, o = 16;
	unsigned int dlen;
	int err;

	memset(f, 0, sizeof(*f));
	err = read_file(path, &b, &len, 8192);
	if (err) {
		snprintf(why, wlen, "cannot read the sealed host key %s: %s", path,
			 err == -EFBIG ? "not a regular file of sensible size" : strerror(-err));
		return err;
	}
#define NEED(k) do { if (len < o + (k)) goto truncated; } while (0)
	NEED(0);
	if (memcmp(b, SEALED_MAGIC, 8)) {
		snprintf(why, wlen, "%s is not a sealed host key file (bad magic): damaged or tampered with", path);
		free(b);
		return -EBADMSG;
	}
	f->nv_index = get_le32(b + 8);
	f->s.pcr_mask = get_le32(b + 12);
	if ((err = get_sized(b, len, &o, f->s.name, sizeof(f->s.name), &f->s.name_len)) ||
	    (err = get_sized(b, len, &o, f->s.pub, sizeof(f->s.pub), &f->s.pub_len)) ||
	    (err = get_sized(b, len, &o, f->s.priv, sizeof(f->s.priv), &f->s.priv_len))) {
		if (err == -ENODATA)
			goto truncated;
		goto bad;
	}
	NEED(REC_WRAP_LEN);
	memcpy(f->rec, b + o, REC_WRAP_LEN);
	o += REC_WRAP_LEN;
	NEED(64);
	if (len != o + 64) {
		snprintf(why, wlen, "the sealed host key %s has %zu bytes appended: damaged or tampered with",
			 path, len - o - 64);
		free(b);
		return -EBADMSG;
	}
	EVP_Digest(b, o, digest, &dlen, EVP_sha256(), NULL);
	if (memcmp(digest, b + o, 32)) {
		snprintf(why, wlen, "the sealed host key %s fails its checksum: damaged or tampered with", path);
		free(b);
		return -EBADMSG;
	}
	memcpy(f->mac, b + o + 32, 32);
	f->body = b;
	f->body_len = o + 32;
	return 0;
#undef NEED
truncated:
	snprintf(why, wlen, "the sealed host key %s is truncated (%zu bytes): damaged or tampered with",
		 path, len);
	free(b);
	return -EBADMSG;
bad:
	snprintf(why, wlen, "the sealed host key %s has an impossible length field: damaged or tampered with",
		 path);
	free(b);
	return -EBADMSG;
}

static int sealed_verify(const struct sealed_file *f, const uint8_t key[32])
{
	uint8_t m[32];

	if (mac(key, "sealed key file", f->body, f->body_len, m))
		return -EPROTO;
	return CRYPTO_memcmp(m, f->mac, 32) ? -EKEYREJECTED : 0;
}

static void sealed_free(struct sealed_file *f)
{
	free(f->body);
	f->body = NULL;
}

/* ---- recovery code -------------------------------------------------------- */

static void format_code(const uint8_t code[REC_LEN], char out[48])
{
	char h[2 * REC_LEN + 1];
	int i, o = 0;

	hex(code, REC_LEN, h);
	for (i = 0; i < 2 * REC_LEN; i += 4)
		o += sprintf(out + o, "%s%.4s", i ? "-" : "", h + i);
}

static int parse_code(const char *s, uint8_t code[REC_LEN])
{
	int n = 0, hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == '-' || *s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (*s | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		if (n >= REC_LEN)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
		} else {
			code[n++] = hi << 4 | v;
			hi = -1;
		}
	}
	return n == REC_LEN && hi < 0 ? 0 : -EINVAL;
}

static int recovery_wrap(const uint8_t key[32], const uint8_t code[REC_LEN],
			 uint8_t rec[REC_WRAP_LEN])
{
	uint8_t wk[32];
	int err;

	if (getrandom(rec, 28, 0) != 28)
		return -EIO;
	err = vtpmctl_hkdf(code, REC_LEN, rec, 16, "libvtpm recovery v1", wk);
	if (!err)
		err = aes_gcm(1, wk, rec + 16, key, 32, rec + 28, rec + 60);
	explicit_bzero(wk, sizeof(wk));
	return err;
}

static int recovery_unwrap(const uint8_t rec[REC_WRAP_LEN], const uint8_t code[REC_LEN],
			   uint8_t key[32])
{
	uint8_t wk[32], tag[16];
	int err;

	memcpy(tag, rec + 60, 16);
	err = vtpmctl_hkdf(code, REC_LEN, rec, 16, "libvtpm recovery v1", wk);
	if (!err)
		err = aes_gcm(0, wk, rec + 16, rec + 28, 32, key, tag);
	explicit_bzero(wk, sizeof(wk));
	return err;
}

/* ---- the kernel keyring --------------------------------------------------- */

static key_serial_t keyring_find(void)
{
	return keyctl_search(KEY_SPEC_USER_KEYRING, "user", host_key_desc(), 0);
}

static int keyring_get(uint8_t key[32])
{
	uint8_t buf[33];
	key_serial_t k = keyring_find();
	long n;

	if (k < 0)
		return -errno;
	n = keyctl_read(k, (char *)buf, sizeof(buf));
	if (n != 32) {
		explicit_bzero(buf, sizeof(buf));
		return n < 0 ? -errno : -EINVAL;
	}
	memcpy(key, buf, 32);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* the next host key during a rotation */
static const char *next_key_desc(void)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s:next", host_key_desc());
	return buf;
}

/* ---- the anchor file ------------------------------------------------------ */

struct anchor_entry {
	char uuid[37];
	uint64_t gen;
};

struct anchor_file {
	uint32_t nv_index;
	char tpm[2 * 68 + 1];		/* the TPM's storage primary's name, hex */
	uint64_t counter;
	bool clean;
	int n;
	struct anchor_entry e[MAX_VTPMS];
};

static void anchor_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", state_root, ANCHOR_NAME);
}

static int anchor_store(const struct anchor_file *a, const uint8_t key[32])
{
	char path[PATH_MAX], m[65];
	size_t cap = 256 + (size_t)a->n * 64, o;
	uint8_t d[32];
	char *buf = malloc(cap);
	int i, err;

	if (!buf)
		return -ENOMEM;
	o = snprintf(buf, cap,
		     "# vtpmctl manager: rollback anchor of the vTPMs below; do not edit\n"
		     "format=1\ntpm=%s\nnv=0x%08x\ncounter=%llu\nstate=%s\n",
		     a->tpm, a->nv_index, (unsigned long long)a->counter,
		     a->clean ? "clean" : "open");
	for (i = 0; i < a->n; i++)
		o += snprintf(buf + o, cap - o, "vtpm=%s %llu\n", a->e[i].uuid,
			      (unsigned long long)a->e[i].gen);
	err = mac(key, "anchor file", buf, o, d);
	if (!err) {
		hex(d, 32, m);
		o += snprintf(buf + o, cap - o, "mac=%s\n", m);
		anchor_path(path, sizeof(path));
		err = write_file_atomic(path, buf, o, 0600);
	}
	free(buf);
	return err;
}

/* -ENOENT: no file; -EBADMSG: malformed; -EKEYREJECTED: MAC fails */
static int anchor_load(struct anchor_file *a, const uint8_t key[32])
{
	char path[PATH_MAX], m[65], *line, *save, *macl;
	uint8_t *data, d[32];
	size_t len;
	int err, format = 0;

	memset(a, 0, sizeof(*a));
	anchor_path(path, sizeof(path));
	err = read_file(path, &data, &len, 1 << 20);
	if (err)
		return err;
	macl = strstr((char *)data, "\nmac=");
	if (!macl || strlen(macl) != 5 + 64 + 1 || macl[5 + 64] != '\n') {
		free(data);
		return -EBADMSG;
	}
	macl++;
	err = mac(key, "anchor file", data, macl - (char *)data, d);
	hex(d, 32, m);
	if (!err && CRYPTO_memcmp(m, macl + 4, 64))
		err = -EKEYREJECTED;
	if (err) {
		free(data);
		return err;
	}
	*macl = '\0';
	for (line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "format=", 7))
			format = atoi(line + 7);
		else if (!strncmp(line, "tpm=", 4))
			snprintf(a->tpm, sizeof(a->tpm), "%s", line + 4);
		else if (!strncmp(line, "nv=", 3))
			a->nv_index = strtoul(line + 3, NULL, 0);
		else if (!strncmp(line, "counter=", 8))
			a->counter = strtoull(line + 8, NULL, 10);
		else if (!strncmp(line, "state=", 6))
			a->clean = !strcmp(line + 6, "clean");
		else if (!strncmp(line, "vtpm=", 5) && a->n < MAX_VTPMS &&
			 sscanf(line + 5, "%36s %llu", a->e[a->n].uuid,
				(unsigned long long *)&a->e[a->n].gen) == 2)
			a->n++;
	}
	free(data);
	return format == 1 ? 0 : -EBADMSG;
}

static struct anchor_entry *anchor_find(struct anchor_file *a, const char *uuid)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->e[i].uuid, uuid))
			return &a->e[i];
	return NULL;
}

/* the vTPM directories under the state root (uuid names) */
static int list_vtpms(char (*names)[37], int max)
{
	struct dirent *de;
	DIR *d = opendir(state_root);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max) {
		uint8_t u[16];

		if (!uuid_parse_str(de->d_name, u) && strlen(de->d_name) == 36)
			snprintf(names[n++], 37, "%.36s", de->d_name);
	}
	closedir(d);
	return n;
}

static void vtpm_dir(const char *uuid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%.36s", state_root, uuid);
}

/* which TPM the anchor's counter lives in: its storage primary's name */
static int anchor_tpm(struct host_tpm *t, char out[2 * 68 + 1])
{
	uint8_t name[68];
	uint16_t len;
	int err = host_tpm_primary_name(t, name, &len);

	if (!err)
		hex(name, len, out);
	return err;
}

/*
 * Write the anchor for counter value target, then move the counter there:
 * an anchor is valid only at the counter value it was written for (or one
 * below it: written, counter not yet moved, crash).
 */
static int anchor_commit(struct host_tpm *t, struct anchor_file *a, const uint8_t key[32],
			 uint64_t base, uint64_t counter, char *why, size_t wlen)
{
	uint64_t v = counter;
	int err;

	err = anchor_tpm(t, a->tpm);
	if (err) {
		snprintf(why, wlen, "%s", host_tpm_error(t));
		return err;
	}
	/* base: the newest value an anchor was written for; never reused */
	a->counter = (base > counter ? base : counter) + 1;
	err = anchor_store(a, key);
	if (err) {
		snprintf(why, wlen, "cannot write the anchor file in %s: %s", state_root,
			 strerror(-err));
		return err;
	}
	/* the tests' power loss between the two steps */
	if (getenv("VTPM_TEST_CRASH_BEFORE_INCREMENT"))
		_exit(3);
	while (v < a->counter) {
		err = host_tpm_counter_increment(t, a->nv_index, &v);
		if (err) {
			snprintf(why, wlen, "%s", host_tpm_error(t));
			return err;
		}
	}
	return 0;
}

/* ---- option parsing --------------------------------------------------------- */

static void manager_usage(void)
{
	printf("Usage: %s manager init [--pcrs LIST] [--nv-index INDEX] [--import-key FILE] [--tcti CONF]\n"
	       "       %s manager unlock [--recovery CODE] [--reanchor] [--tcti CONF]\n"
	       "       %s manager lock [--tcti CONF]\n"
	       "       %s manager reseal [--pcrs LIST] [--tcti CONF]\n"
	       "       %s manager rotate [--pcrs LIST] [--tcti CONF]\n"
	       "       %s manager status [--tcti CONF]\n\n"
	       "The host key that encrypts every vTPM's state, sealed to this host's\n"
	       "TPM 2.0, and the rollback anchor kept in the TPM's NV.\n\n"
	       "  init     make a host key, seal it to the TPM (optionally to PCRs),\n"
	       "           define the NV counter; prints a recovery code ONCE\n"
	       "  unlock   once per host boot, before the servers: unseal the key into\n"
	       "           the kernel keyring, check and load the rollback anchor\n"
	       "  lock     at shutdown, after the servers: record every vTPM's newest\n"
	       "           state in the anchor, drop the key from the keyring\n"
	       "  reseal   seal the unlocked key again (new PCR values, new TPM)\n"
	       "  rotate   a new host key: every idle vTPM's state sealed with it;\n"
	       "           prints a new recovery code ONCE\n"
	       "  status   mode, lock state, PCR binding, NV anchor\n\n"
	       "Options:\n"
	       "  --tcti CONF         the TPM (default $VTPM_TCTI or %s)\n"
	       "  --pcrs LIST         SHA-256 PCRs the key is sealed to, e.g. 7 or 0,2,7\n"
	       "  --nv-index INDEX    the NV counter (default 0x%08x)\n"
	       "  --import-key FILE   seal this existing key file's key (from key-file mode)\n"
	       "  --recovery CODE     unlock with the recovery code instead of the TPM seal\n"
	       "  --reanchor          accept the vTPM state on disk as the newest (after\n"
	       "                      a TPM replacement or a refused anchor; logged)\n"
	       "Files: $VTPM_SEALED_KEY or %s; the anchor %s/%s\n",
	       bin_name, bin_name, bin_name, bin_name, bin_name, bin_name, DEFAULT_TCTI,
	       DEFAULT_NV_INDEX, DEFAULT_SEALED_KEY, state_root, ANCHOR_NAME);
}

static int parse_manager(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "tcti",	required_argument,	NULL, 'T' },
		{ "pcrs",	required_argument,	NULL, 'P' },
		{ "nv-index",	required_argument,	NULL, 'N' },
		{ "import-key",	required_argument,	NULL, 'I' },
		{ "recovery",	required_argument,	NULL, 'R' },
		{ "reanchor",	no_argument,		NULL, 'A' },
		{ "sealed-key",	required_argument,	NULL, 'S' },
		{ 0 },
	};
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) >= 0) {
		if (c == 'h') {
			manager_usage();
			return EXIT_OK;
		}
		if (common_opt(c, optarg))
			continue;
		switch (c) {
		case 'T':
			opt_tcti = optarg;
			break;
		case 'P':
			opt_pcrs = optarg;
			if (parse_pcrs(optarg) < 0) {
				p_usage_err("bad PCR list \"%s\" (want e.g. 7 or 0,2,7; PCRs 0-23)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'N':
			opt_nv_index = strtol(optarg, &end, 0);
			if (*end || opt_nv_index < 0x01000000 || opt_nv_index > 0x01ffffff) {
				p_usage_err("bad NV index \"%s\" (want 0x01000000-0x01ffffff)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'I':
			opt_import = optarg;
			break;
		case 'R':
			opt_recovery = optarg;
			break;
		case 'A':
			opt_reanchor = true;
			break;
		case 'S':
			setenv("VTPM_SEALED_KEY", optarg, 1);
			break;
		default:
			p_usage_err("bad option \"%s\" for \"manager %s\"", argv[optind - 1], argv[0]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		p_usage_err("unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

static struct host_tpm *open_tpm(void)
{
	struct host_tpm *t;
	char why[512];

	/* tpm2-tss logs its own errors to stderr: one clear line is ours */
	if (verbose < 2)
		setenv("TSS2_LOG", "all+none", 0);
	if (host_tpm_open(tcti_conf(), &t, why, sizeof(why))) {
		p_err("%s", why);
		return NULL;
	}
	return t;
}

/* ---- init ------------------------------------------------------------------ */

static int do_init(int argc, char **argv)
{
	static char names[MAX_VTPMS][37];
	struct anchor_file *a = NULL;
	struct sealed_file f = { 0 };
	struct host_tpm *t = NULL;
	uint8_t key[32], code[REC_LEN], *blob = NULL;
	char why[512], codestr[48], pcrs[80];
	const char *path = sealed_key_path();
	size_t blen;
	uint64_t counter;
	int ret, err, existed, n, i;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	if (access(path, F_OK) == 0) {
		p_err("%s exists: this host is initialised already (vtpmctl manager status); remove it only if no vTPM needs its key",
		      path);
		return EXIT_FAIL;
	}
	t = open_tpm();
	if (!t) {
		fprintf(stderr, "Without a TPM 2.0 the manager cannot seal the host key. For a host without one,\n"
				"key-file mode keeps the key in a plain file (\"%s keygen\"), readable by\n"
				"anyone who gets the disk or a backup: choose it knowingly.\n", bin_name);
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	if (opt_import) {
		uint8_t *kb;
		size_t kl;

		err = read_file(opt_import, &kb, &kl, 64);
		if (err || kl != 32) {
			p_err("cannot import key file %s: %s", opt_import,
			      err ? strerror(-err) : "not 32 bytes");
			if (!err)
				free(kb);
			goto out;
		}
		memcpy(key, kb, 32);
		explicit_bzero(kb, kl);
		free(kb);
	} else if (getrandom(key, 32, 0) != 32) {
		p_err("cannot get random bytes: %s", strerror(errno));
		goto out;
	}
	if (getrandom(code, REC_LEN, 0) != REC_LEN) {
		p_err("cannot get random bytes: %s", strerror(errno));
		goto out;
	}
	f.nv_index = opt_nv_index;
	err = host_tpm_seal(t, key, parse_pcrs(opt_pcrs), &f.s);
	if (err) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	err = recovery_wrap(key, code, f.rec);
	if (!err)
		err = sealed_serialize(&f, key, &blob, &blen);
	if (err) {
		p_err("cannot wrap the host key: %s", strerror(-err));
		goto out;
	}
	/* the NV counter: defined, incremented once so it reads */
	err = host_tpm_counter_define(t, f.nv_index, &existed);
	if (!err)
		err = host_tpm_counter_read(t, f.nv_index, &counter);
	if (err) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	/* the anchor: the vTPMs already here (an imported key's) as they are */
	a = calloc(1, sizeof(*a));
	if (!a)
		goto out;
	a->nv_index = f.nv_index;
	a->clean = true;
	n = list_vtpms(names, MAX_VTPMS);
	for (i = 0; i < n; i++) {
		struct vtpm_info info = { .sz = sizeof(info) };
		char dir[PATH_MAX];

		vtpm_dir(names[i], dir, sizeof(dir));
		if (vtpm_state_info(dir, &info))
			continue;
		snprintf(a->e[a->n].uuid, 37, "%.36s", names[i]);
		a->e[a->n++].gen = info.permanent_generation;
	}
	err = mkdirs_for(path);
	if (!err)
		err = write_file_atomic(path, blob, blen, 0600);
	if (err) {
		p_err("cannot write %s: %s", path, strerror(-err));
		goto out;
	}
	if (mkdir(state_root, 0700) < 0 && errno != EEXIST) {
		p_err("cannot create %s: %s", state_root, strerror(errno));
		goto out;
	}
	err = anchor_commit(t, a, key, counter, counter, why, sizeof(why));
	if (err) {
		p_err("%s", why);
		unlink(path);
		goto out;
	}
	format_code(code, codestr);
	format_pcrs(f.s.pcr_mask, pcrs, sizeof(pcrs));
	if (json_output) {
		printf("{\"sealed_key\": ");
		json_string(stdout, path);
		printf(", \"pcrs\": \"%s\", \"nv_index\": \"0x%08x\", \"counter\": %llu, \"anchored\": %d, \"recovery_code\": \"%s\"}\n",
		       pcrs, f.nv_index, (unsigned long long)a->counter, a->n, codestr);
	} else {
		printf("host key sealed to the TPM (%s), PCRs: %s, NV counter 0x%08x%s\n",
		       tcti_conf(), pcrs, f.nv_index, existed ? " (existing)" : "");
		printf("\nRECOVERY CODE (shown once; store it offline, it opens the host key\n"
		       "when the TPM no longer unseals it: \"%s manager unlock --recovery CODE\"):\n\n"
		       "    %s\n\n", bin_name, codestr);
		printf("next: \"%s manager unlock\" (every boot: vtpm-unlock.service)\n", bin_name);
	}
	if (opt_import)
		fprintf(stderr, "the key of %s is now sealed; remove that file once \"manager unlock\" works (it still opens every vTPM)\n",
			opt_import);
	ret = EXIT_OK;
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(code, sizeof(code));
	explicit_bzero(codestr, sizeof(codestr));
	free(blob);
	free(a);
	sealed_free(&f);
	host_tpm_close(t);
	return ret;
}

/* ---- unlock ---------------------------------------------------------------- */

/*
 * A rotation stopped after <sealed>.next was written: every vTPM opens
 * with the new key. Move the anchor to the new key if it is not yet, and
 * make <sealed>.next the sealed key.
 */
static int finish_rotation(const char *path, const char *next)
{
	struct sealed_file f = { 0 }, g = { 0 };
	struct anchor_file *a = NULL;
	struct host_tpm *t = NULL;
	uint8_t okey[32], nkey[32];
	char why[512], tpm[2 * 68 + 1];
	uint64_t counter;
	int err = -EINVAL;

	if (sealed_load(next, &g, why, sizeof(why)) || sealed_load(path, &f, why, sizeof(why))) {
		p_err("%s", why);
		goto out;
	}
	t = open_tpm();
	a = calloc(1, sizeof(*a));
	if (!t || !a)
		goto out;
	if (host_tpm_unseal(t, &g.s, nkey) || sealed_verify(&g, nkey)) {
		p_err("an interrupted key rotation left %s, which does not unseal: %s", next,
		      host_tpm_error(t));
		goto out;
	}
	if (anchor_tpm(t, tpm) || host_tpm_counter_read(t, g.nv_index, &counter)) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	err = anchor_load(a, nkey);
	if (err == -EKEYREJECTED) {
		/* the anchor is still under the old key: move it */
		if (host_tpm_unseal(t, &f.s, okey) || sealed_verify(&f, okey) ||
		    anchor_load(a, okey) || strcmp(a->tpm, tpm) ||
		    (a->counter != counter && a->counter != counter + 1)) {
			p_err("an interrupted key rotation: the anchor file is not current under the old key either");
			err = -EKEYREJECTED;
			goto out;
		}
		err = anchor_commit(t, a, nkey, a->counter, counter, why, sizeof(why));
		if (err) {
			p_err("%s", why);
			goto out;
		}
	} else if (err) {
		p_err("an interrupted key rotation: the anchor file is unreadable");
		goto out;
	}
	if (rename(next, path) < 0) {
		err = -errno;
		p_err("cannot rename %s to %s: %s", next, path, strerror(errno));
		goto out;
	}
	fprintf(stderr, "warning: finished an interrupted host key rotation (%s); \"%s manager rotate\" again overwrites what the old key sealed\n",
		path, bin_name);
	err = 0;
out:
	explicit_bzero(okey, sizeof(okey));
	explicit_bzero(nkey, sizeof(nkey));
	free(a);
	sealed_free(&f);
	sealed_free(&g);
	host_tpm_close(t);
	return err;
}


static int do_unlock(int argc, char **argv)
{
	static char names[MAX_VTPMS][37];
	struct anchor_file *a = NULL;
	struct sealed_file f;
	struct host_tpm *t = NULL;
	const char *path = sealed_key_path();
	uint8_t key[32], code[REC_LEN], cur[32];
	uint64_t counter = 0;
	char why[512];
	int ret, err, n, i, refused = 0, stale = 0, adopted = 0, anchor_err;
	bool reanchor = false;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	if (opt_recovery && parse_code(opt_recovery, code)) {
		p_usage_err("malformed recovery code (want 32 hex digits, as init printed them)");
		return EXIT_USAGE;
	}
	{
		char next[PATH_MAX];

		snprintf(next, sizeof(next), "%s.next", path);
		if (access(next, F_OK) == 0 && !opt_recovery && finish_rotation(path, next))
			return EXIT_FAIL;
	}
	if (sealed_load(path, &f, why, sizeof(why))) {
		p_err("%s", why);
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	t = open_tpm();
	if (!t)
		goto out;
	if (opt_recovery) {
		if (recovery_unwrap(f.rec, code, key)) {
			p_err("the recovery code does not open the host key in %s", path);
			goto out;
		}
		fprintf(stderr, "host key opened with the recovery code; seal it again with \"%s manager reseal\"\n",
			bin_name);
		/* the anchor's counter is this TPM's only if it sealed the key */
		if (!opt_reanchor && host_tpm_verify_primary(t, &f.s)) {
			p_err("%s: its NV counter is not the anchor's; \"--reanchor\" accepts the state on disk as the newest",
			      host_tpm_error(t));
			goto out;
		}
	} else {
		err = host_tpm_unseal(t, &f.s, key);
		if (err) {
			p_err("cannot unseal the host key (%s): %s%s", path, host_tpm_error(t),
			      err == HTPM_E_POLICY || err == HTPM_E_WRONG_TPM ?
			      "; the recovery code opens it (manager unlock --recovery CODE)" : "");
			goto out;
		}
	}
	if (sealed_verify(&f, key)) {
		p_err("the sealed host key file %s was altered (its MAC does not verify under the host key): refused",
		      path);
		goto out;
	}
	/* already unlocked in this boot: nothing to do, no NV write */
	if (keyring_get(cur) == 0 && !CRYPTO_memcmp(cur, key, 32)) {
		a = calloc(1, sizeof(*a));
		if (a && anchor_load(a, key) == 0 && !a->clean && t &&
		    host_tpm_counter_read(t, f.nv_index, &counter) == 0 &&
		    counter == a->counter) {
			if (json_output)
				printf("{\"unlocked\": true, \"already\": true}\n");
			else
				printf("already unlocked\n");
			ret = EXIT_OK;
			goto out;
		}
		free(a);
		a = NULL;
	}

	/* the rollback anchor: the file must be the one for the counter's value */
	a = calloc(1, sizeof(*a));
	if (!a)
		goto out;
	err = host_tpm_counter_read(t, f.nv_index, &counter);
	if (err == HTPM_E_NV_MISSING && opt_reanchor) {
		int existed;

		err = host_tpm_counter_define(t, f.nv_index, &existed);
		if (!err)
			err = host_tpm_counter_read(t, f.nv_index, &counter);
	}
	if (err) {
		p_err("no rollback anchor: %s%s", host_tpm_error(t),
		      err == HTPM_E_NV_MISSING ? " (a different or cleared TPM?); \"--reanchor\" accepts the state on disk as the newest" : "");
		goto out;
	}
	anchor_err = anchor_load(a, key);
	if (!anchor_err && a->nv_index != f.nv_index)
		anchor_err = -EBADMSG;
	if (!anchor_err) {
		char tpm[2 * 68 + 1];

		if (anchor_tpm(t, tpm)) {
			p_err("%s", host_tpm_error(t));
			goto out;
		}
		if (strcmp(tpm, a->tpm)) {
			snprintf(why, sizeof(why),
				 "the anchor file %s/%s is bound to another TPM's NV counter (the state moved to another host's TPM and back?)",
				 state_root, ANCHOR_NAME);
			anchor_err = -EXDEV;
		}
	}
	if (anchor_err == -EXDEV) {
		/* why is set */
	} else if (!anchor_err && a->counter != counter && a->counter != counter + 1) {
		snprintf(why, sizeof(why),
			 "the anchor file %s/%s was written at NV counter value %llu, the TPM's counter is at %llu: the vTPM state (or the whole %s) was put back to an older copy while the host was down, or the counter moved",
			 state_root, ANCHOR_NAME, (unsigned long long)a->counter,
			 (unsigned long long)counter, state_root);
		anchor_err = -ESTALE;
	} else if (anchor_err == -ENOENT) {
		snprintf(why, sizeof(why), "the anchor file %s/%s is missing", state_root,
			 ANCHOR_NAME);
	} else if (anchor_err) {
		snprintf(why, sizeof(why), "the anchor file %s/%s is damaged or was altered (%s)",
			 state_root, ANCHOR_NAME,
			 anchor_err == -EKEYREJECTED ? "its MAC does not verify" : "malformed");
	}
	if (anchor_err) {
		if (!opt_reanchor) {
			p_err("rollback anchor refused: %s; every vTPM stays locked (\"manager unlock --reanchor\" accepts the state on disk as the newest)",
			      why);
			goto out;
		}
		fprintf(stderr, "WARNING: %s; --reanchor: the vTPM state on disk is taken as the newest\n",
			why);
		memset(a, 0, sizeof(*a));
		a->nv_index = f.nv_index;
		reanchor = true;
	} else if (!a->clean) {
		fprintf(stderr, "warning: the previous boot ended without \"manager lock\" (power loss or crash): vTPM state written during it is accepted without rollback check\n");
	}

	/* libvtpm's keyring anchors: older state does not open */
	n = list_vtpms(names, MAX_VTPMS);
	for (i = 0; i < n; i++) {
		struct vtpm_info info = { .sz = sizeof(info) };
		struct anchor_entry *e = anchor_find(a, names[i]);
		char dir[PATH_MAX];
		uint64_t g = 0;

		vtpm_dir(names[i], dir, sizeof(dir));
		if (vtpm_state_info(dir, &info))
			continue;
		if (!e && (reanchor || !a->clean)) {
			/* not anchored yet: taken as it is */
			if (a->n >= MAX_VTPMS)
				continue;
			e = &a->e[a->n++];
			snprintf(e->uuid, sizeof(e->uuid), "%.36s", names[i]);
			e->gen = info.permanent_generation;
			adopted++;
			if (!reanchor)
				fprintf(stderr, "warning: vTPM %s is not in the anchor (created during the unfinished boot?): accepted as it is\n",
					names[i]);
		}
		if (!e) {
			fprintf(stderr, "vTPM %s: not in the anchor written at the last shutdown (destroyed, or put back while the host was down): refused\n",
				names[i]);
			vtpm_anchor_set_generation(dir, VTPM_ANCHOR_REFUSED);
			refused++;
			continue;
		}
		/* a keyring anchor is from this boot (a second unlock): it is
		 * the newest word, also after a destroy and create */
		vtpm_anchor_get_generation(dir, &g);
		if (!g || g == VTPM_ANCHOR_REFUSED)
			g = e->gen;
		e->gen = g;
		if (vtpm_anchor_set_generation(dir, g)) {
			p_err("cannot write the rollback anchor of vTPM %s into the kernel keyring: %s",
			      names[i], strerror(errno));
			goto out;
		}
		if (info.permanent_generation < g) {
			fprintf(stderr, "vTPM %s: its state (generation %llu) is older than the anchored generation %llu: put back to an older copy; refused\n",
				names[i], (unsigned long long)info.permanent_generation,
				(unsigned long long)g);
			stale++;
		}
	}
	/* this boot's anchor, then the counter, then the key (an anchor
	 * written for counter + 1 whose increment a crash lost: its value is
	 * not reused, the counter goes to counter + 2) */
	a->clean = false;
	if (anchor_commit(t, a, key, reanchor ? counter : a->counter, counter, why,
			  sizeof(why))) {
		p_err("%s", why);
		goto out;
	}
	err = vtpm_host_key_put(host_key_desc(), key);
	if (err) {
		p_err("cannot put the host key into the kernel keyring: %s", strerror(-err));
		goto out;
	}
	if (json_output)
		printf("{\"unlocked\": true, \"recovery\": %s, \"counter\": %llu, \"vtpms\": %d, \"stale\": %d, \"refused\": %d, \"adopted\": %d}\n",
		       opt_recovery ? "true" : "false", (unsigned long long)a->counter,
		       a->n, stale, refused, adopted);
	else
		printf("unlocked: host key in the kernel keyring (\"%s\"), %d vTPM(s) anchored at NV counter %llu%s\n",
		       host_key_desc(), a->n, (unsigned long long)a->counter,
		       stale || refused ? "; some refused, see above" : "");
	ret = EXIT_OK;
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(cur, sizeof(cur));
	free(a);
	sealed_free(&f);
	host_tpm_close(t);
	return ret;
}

/* ---- lock ------------------------------------------------------------------ */

static int do_lock(int argc, char **argv)
{
	static char names[MAX_VTPMS][37];
	struct anchor_file *a = NULL, *b = NULL;
	struct sealed_file f = { 0 };
	struct host_tpm *t = NULL;
	uint8_t key[32];
	uint64_t counter;
	char why[512];
	int ret, err, n, i;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	if (keyring_get(key)) {
		p_err("the host key is not unlocked (\"%s\" not in the kernel keyring): nothing to lock",
		      host_key_desc());
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	if (!a || !b)
		goto out;
	err = anchor_load(a, key);
	if (err) {
		p_err("cannot read the anchor file %s/%s: %s", state_root, ANCHOR_NAME,
		      err == -EKEYREJECTED ? "its MAC does not verify" : strerror(-err));
		goto out;
	}
	t = open_tpm();
	if (!t)
		goto out;
	/* the counter is read in a session salted with the primary: that
	 * primary must be the sealing TPM's own */
	if (sealed_load(sealed_key_path(), &f, why, sizeof(why))) {
		p_err("%s", why);
		goto out;
	}
	if (host_tpm_verify_primary(t, &f.s) ||
	    host_tpm_counter_read(t, a->nv_index, &counter)) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	anchor_tpm(t, b->tpm);
	if (strcmp(a->tpm, b->tpm)) {
		p_err("the anchor file is bound to another TPM: not overwritten");
		goto out;
	}
	if (a->counter != counter && a->counter != counter + 1) {
		p_err("the anchor file is not the current one (counter %llu, TPM %llu): not overwritten",
		      (unsigned long long)a->counter, (unsigned long long)counter);
		goto out;
	}
	/* every vTPM present: the newest generation this boot committed */
	b->nv_index = a->nv_index;
	b->clean = true;
	n = list_vtpms(names, MAX_VTPMS);
	for (i = 0; i < n; i++) {
		struct anchor_entry *e = anchor_find(a, names[i]);
		char dir[PATH_MAX];
		uint64_t g = 0;

		vtpm_dir(names[i], dir, sizeof(dir));
		/* the keyring anchors hold what this boot committed (a vTPM
		 * destroyed and created again starts over); the anchor file's
		 * generation only for a vTPM that has none */
		vtpm_anchor_get_generation(dir, &g);
		if (g == VTPM_ANCHOR_REFUSED)
			continue;	/* stays refused */
		if (!g && e)
			g = e->gen;
		if (!g)
			continue;	/* never anchored: unknown */
		snprintf(b->e[b->n].uuid, 37, "%.36s", names[i]);
		b->e[b->n++].gen = g;
	}
	if (anchor_commit(t, b, key, a->counter, counter, why, sizeof(why))) {
		p_err("%s", why);
		goto out;
	}
	{
		key_serial_t k = keyring_find();

		if (k >= 0)
			keyctl_invalidate(k);
	}
	if (json_output)
		printf("{\"locked\": true, \"counter\": %llu, \"vtpms\": %d}\n",
		       (unsigned long long)b->counter, b->n);
	else
		printf("locked: %d vTPM(s) anchored at NV counter %llu, host key dropped from the keyring\n",
		       b->n, (unsigned long long)b->counter);
	ret = EXIT_OK;
out:
	explicit_bzero(key, sizeof(key));
	free(a);
	free(b);
	sealed_free(&f);
	host_tpm_close(t);
	return ret;
}

/* ---- reseal ---------------------------------------------------------------- */

static int do_reseal(int argc, char **argv)
{
	struct sealed_file f, g = { 0 };
	struct host_tpm *t = NULL;
	const char *path = sealed_key_path();
	uint8_t key[32], *blob = NULL;
	char why[512], pcrs[80];
	size_t blen;
	int ret, err;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	if (sealed_load(path, &f, why, sizeof(why))) {
		p_err("%s", why);
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	if (keyring_get(key)) {
		p_err("the host key is not unlocked: \"manager unlock\" (or --recovery CODE) first");
		goto out;
	}
	if (sealed_verify(&f, key)) {
		p_err("the unlocked host key is not the one in %s", path);
		goto out;
	}
	t = open_tpm();
	if (!t)
		goto out;
	g.nv_index = f.nv_index;
	memcpy(g.rec, f.rec, REC_WRAP_LEN);	/* the same recovery code */
	err = host_tpm_seal(t, key, opt_pcrs ? (uint32_t)parse_pcrs(opt_pcrs) : f.s.pcr_mask,
			    &g.s);
	if (err) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	err = sealed_serialize(&g, key, &blob, &blen);
	if (!err)
		err = write_file_atomic(path, blob, blen, 0600);
	if (err) {
		p_err("cannot write %s: %s", path, strerror(-err));
		goto out;
	}
	format_pcrs(g.s.pcr_mask, pcrs, sizeof(pcrs));
	if (json_output)
		printf("{\"resealed\": true, \"pcrs\": \"%s\"}\n", pcrs);
	else
		printf("host key sealed again to the TPM, PCRs: %s (the recovery code is unchanged)\n",
		       pcrs);
	ret = EXIT_OK;
out:
	explicit_bzero(key, sizeof(key));
	free(blob);
	sealed_free(&f);
	host_tpm_close(t);
	return ret;
}

/* ---- rotate ---------------------------------------------------------------- */

/* seal every encrypted vTPM in names[] with the key next_desc names */
static int rekey_all(char (*names)[37], int n, const char *cur_desc, const char *next_desc)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct vtpm_info info = { .sz = sizeof(info) };
		char dir[PATH_MAX];

		vtpm_dir(names[i], dir, sizeof(dir));
		if (vtpm_state_info(dir, &info) || !info.encrypted)
			continue;
		{
			VTPM_OPTS(o, .state_dir = dir, .key_desc = cur_desc,
				  .flags = VTPM_F_ROLLBACK_ANCHOR);

			err = vtpm_state_rekey(&o, next_desc);
		}
		if (err) {
			p_err("vTPM %s: cannot seal its state with the new key: %s", names[i],
			      vtpm_strerror(err));
			return err;
		}
	}
	return 0;
}

/*
 * A new host key: every vTPM's newest state sealed with it into its other
 * slot (the old key still opens every vTPM), the new key sealed to the
 * TPM as <sealed>.next, the anchor under the new key (one NV write), the
 * rename that makes it the host key, then the old key's slots
 * overwritten. A crash before the rename leaves the old key working; an
 * unlock that finds <sealed>.next finishes the rename.
 */
static int do_rotate(int argc, char **argv)
{
	static char names[MAX_VTPMS][37];
	struct anchor_file *a = NULL;
	struct sealed_file f, g = { 0 };
	struct host_tpm *t = NULL;
	const char *path = sealed_key_path();
	uint8_t key[32], nkey[32], code[REC_LEN], *blob = NULL;
	char why[512], next[PATH_MAX], codestr[48], tpm[2 * 68 + 1];
	uint64_t counter;
	size_t blen;
	int ret, err, n, i;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	if (sealed_load(path, &f, why, sizeof(why))) {
		p_err("%s", why);
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	if (keyring_get(key) || sealed_verify(&f, key)) {
		p_err("the host key is not unlocked (\"manager unlock\" first)");
		goto out;
	}
	t = open_tpm();
	if (!t)
		goto out;
	a = calloc(1, sizeof(*a));
	if (!a)
		goto out;
	if (host_tpm_verify_primary(t, &f.s) || anchor_tpm(t, tpm) ||
	    host_tpm_counter_read(t, f.nv_index, &counter)) {
		p_err("%s", host_tpm_error(t));
		goto out;
	}
	if (anchor_load(a, key) || strcmp(a->tpm, tpm) ||
	    (a->counter != counter && a->counter != counter + 1)) {
		p_err("the anchor file is not current: \"manager unlock\" first");
		goto out;
	}
	n = list_vtpms(names, MAX_VTPMS);
	for (i = 0; i < n; i++) {
		struct vtpm_info info = { .sz = sizeof(info) };
		char dir[PATH_MAX];

		vtpm_dir(names[i], dir, sizeof(dir));
		if (!vtpm_state_info(dir, &info) && info.locked) {
			p_err("vTPM %s is being served by pid %d: shut its guest down first (rotate needs every vTPM idle)",
			      names[i], info.lock_pid);
			goto out;
		}
	}
	if (getrandom(nkey, 32, 0) != 32 || getrandom(code, REC_LEN, 0) != REC_LEN) {
		p_err("cannot get random bytes: %s", strerror(errno));
		goto out;
	}
	err = vtpm_host_key_put(next_key_desc(), nkey);
	if (err) {
		p_err("cannot put the new key into the kernel keyring: %s", strerror(-err));
		goto out;
	}
	/* 1: every vTPM opens with either key */
	if (rekey_all(names, n, host_key_desc(), next_key_desc()))
		goto out_next;
	/* and the CA key of the EK certificates (ca.c) */
	if (ca_rekey_prepare(key, nkey, why, sizeof(why))) {
		p_err("the CA key: %s", why);
		goto out_next;
	}
	/* 2: the new key sealed, beside the old */
	g.nv_index = f.nv_index;
	err = host_tpm_seal(t, nkey, opt_pcrs ? (uint32_t)parse_pcrs(opt_pcrs) : f.s.pcr_mask,
			    &g.s);
	if (err) {
		p_err("%s", host_tpm_error(t));
		goto out_next;
	}
	err = recovery_wrap(nkey, code, g.rec);
	if (!err)
		err = sealed_serialize(&g, nkey, &blob, &blen);
	snprintf(next, sizeof(next), "%s.next", path);
	if (!err)
		err = write_file_atomic(next, blob, blen, 0600);
	if (err) {
		p_err("cannot write %s: %s", next, strerror(-err));
		goto out_next;
	}
	/* the code before the point of no return: from here on an unlock
	 * finishes the rotation, and the new key's code must be known */
	format_code(code, codestr);
	if (!json_output)
		printf("NEW RECOVERY CODE (shown once; the old one stops working now):\n\n    %s\n\n",
		       codestr);
	fflush(stdout);
	/* 3: the anchor under the new key, 4: the new key is the host's */
	if (anchor_commit(t, a, nkey, a->counter, counter, why, sizeof(why))) {
		p_err("%s", why);
		goto out_next;
	}
	if (rename(next, path) < 0) {
		p_err("cannot rename %s to %s: %s", next, path, strerror(errno));
		goto out_next;
	}
	err = vtpm_host_key_put(host_key_desc(), nkey);
	if (err) {
		p_err("cannot put the new key into the kernel keyring: %s", strerror(-err));
		goto out_next;
	}
	if (ca_rekey_commit())
		fprintf(stderr, "warning: %s/ca.key.next not renamed to ca.key: %s\n", ca_dir(),
			strerror(errno));
	/* 5: the old key's slots overwritten */
	if (rekey_all(names, n, host_key_desc(), host_key_desc()))
		fprintf(stderr, "warning: some vTPMs keep a slot sealed with the old key until their next state change; run \"%s manager rotate\" again\n",
			bin_name);
	if (json_output)
		printf("{\"rotated\": true, \"vtpms\": %d, \"recovery_code\": \"%s\"}\n", n, codestr);
	else
		printf("new host key: every vTPM's state sealed with it, the old key no longer opens them\n");
	ret = EXIT_OK;
out_next:
	{
		key_serial_t k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", next_key_desc(), 0);

		if (k >= 0)
			keyctl_invalidate(k);
	}
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(nkey, sizeof(nkey));
	explicit_bzero(code, sizeof(code));
	free(blob);
	free(a);
	sealed_free(&f);
	host_tpm_close(t);
	return ret;
}

/* ---- status ---------------------------------------------------------------- */

static int do_status(int argc, char **argv)
{
	struct anchor_file *a = NULL;
	struct sealed_file f = { 0 };
	struct host_tpm *t = NULL;
	const char *kf = NULL, *mode, *path = sealed_key_path();
	uint8_t key[32];
	uint64_t counter = 0;
	char why[512] = "", pcrs[80] = "none", terr[512] = "", nvs[64] = "-";
	bool sealed_ok = false, unlocked = false, key_matches = false, tpm_ok = false,
	     counter_ok = false, anchor_ok = false;
	int ret, err;

	ret = parse_manager(argc, argv);
	if (ret >= 0)
		return ret;
	switch (key_mode(&kf)) {
	case KEY_MODE_TPM:
		mode = "tpm";
		break;
	case KEY_MODE_FILE:
		mode = "keyfile";
		break;
	default:
		mode = "none";
	}
	if (access(path, F_OK) == 0) {
		sealed_ok = sealed_load(path, &f, why, sizeof(why)) == 0;
		if (sealed_ok)
			format_pcrs(f.s.pcr_mask, pcrs, sizeof(pcrs));
	}
	unlocked = keyring_get(key) == 0;
	if (unlocked && sealed_ok)
		key_matches = sealed_verify(&f, key) == 0;
	if (sealed_ok) {
		if (verbose < 2)
			setenv("TSS2_LOG", "all+none", 0);
		tpm_ok = host_tpm_open(tcti_conf(), &t, terr, sizeof(terr)) == 0;
		if (tpm_ok) {
			err = host_tpm_verify_primary(t, &f.s);
			if (!err)
				err = host_tpm_counter_read(t, f.nv_index, &counter);
			counter_ok = !err;
			if (err)
				snprintf(terr, sizeof(terr), "%s", host_tpm_error(t));
		}
		snprintf(nvs, sizeof(nvs), "0x%08x", f.nv_index);
	}
	a = calloc(1, sizeof(*a));
	if (a && key_matches)
		anchor_ok = anchor_load(a, key) == 0;
	if (json_output) {
		printf("{\"mode\": \"%s\", \"sealed_key\": ", mode);
		json_string(stdout, path);
		printf(", \"sealed_key_ok\": %s", sealed_ok ? "true" : "false");
		if (why[0]) {
			printf(", \"sealed_key_error\": ");
			json_string(stdout, why);
		}
		if (kf) {
			printf(", \"key_file\": ");
			json_string(stdout, kf);
		}
		printf(", \"unlocked\": %s, \"key_matches\": %s, \"pcrs\": \"%s\", \"tcti\": ",
		       unlocked ? "true" : "false", key_matches ? "true" : "false", pcrs);
		json_string(stdout, tcti_conf());
		printf(", \"tpm\": %s, \"nv_index\": \"%s\"", tpm_ok ? "true" : "false", nvs);
		if (counter_ok)
			printf(", \"nv_counter\": %llu", (unsigned long long)counter);
		if (terr[0]) {
			printf(", \"tpm_error\": ");
			json_string(stdout, terr);
		}
		if (anchor_ok)
			printf(", \"anchor_counter\": %llu, \"anchor_state\": \"%s\", \"anchor_current\": %s, \"anchored\": %d",
			       (unsigned long long)a->counter, a->clean ? "clean" : "open",
			       counter_ok && a->counter == counter ? "true" : "false", a->n);
		printf("}\n");
	} else {
		printf("mode:        %s%s\n", mode,
		       !strcmp(mode, "keyfile") ? " (the state key is a plain file on disk, not sealed to a TPM)" :
		       !strcmp(mode, "none") ? " (no host key: vtpmctl manager init, or keygen for key-file mode)" : "");
		if (kf)
			printf("key file:    %s\n", kf);
		if (sealed_ok)
			printf("sealed key:  %s\n", path);
		else if (access(path, F_OK))
			printf("sealed key:  %s (absent)\n", path);
		else
			printf("sealed key:  %s (unusable: %s)\n", path, why);
		printf("unlocked:    %s\n", !unlocked ? "no" : key_matches ? "yes" :
		       sealed_ok ? "a key is in the keyring, but not this sealed key's" : "yes");
		printf("pcrs:        %s\n", pcrs);
		printf("tpm:         %s%s\n", tcti_conf(),
		       tpm_ok ? "" : sealed_ok ? " (unreachable)" : "");
		if (terr[0])
			printf("tpm error:   %s\n", terr);
		printf("nv counter:  %s", nvs);
		if (counter_ok)
			printf(" = %llu", (unsigned long long)counter);
		printf("\n");
		if (anchor_ok)
			printf("anchor:      %s/%s, counter %llu (%s), %s, %d vTPM(s)\n", state_root,
			       ANCHOR_NAME, (unsigned long long)a->counter,
			       counter_ok && a->counter == counter ? "current" : "NOT current",
			       a->clean ? "written at a clean shutdown" : "open (this boot)", a->n);
		else
			printf("anchor:      %s\n", key_matches ? "missing or unreadable" : "(needs the unlocked key)");
	}
	explicit_bzero(key, sizeof(key));
	free(a);
	sealed_free(&f);
	host_tpm_close(t);
	return EXIT_OK;
}

static int manager_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	manager_usage();
	return EXIT_OK;
}

int do_manager(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "init",	do_init,	"" },
		{ "unlock",	do_unlock,	"" },
		{ "lock",	do_lock,	"" },
		{ "reseal",	do_reseal,	"" },
		{ "rotate",	do_rotate,	"" },
		{ "status",	do_status,	"" },
		{ "help",	manager_help,	"" },
		{ "-h",		manager_help,	"" },
		{ "--help",	manager_help,	"" },
		{ 0 },
	};

	if (argc < 2) {
		manager_usage();
		return EXIT_USAGE;
	}
	return cmd_select(cmds, argc - 1, argv + 1, manager_help);
}
