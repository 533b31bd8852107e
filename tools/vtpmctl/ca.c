// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl ca init | show: the host's certificate authority, which issues
 * the EK and platform certificates of the vTPMs created here (ek.c).
 *
 * In the CA directory (/etc/vtpm/ca, $VTPM_CA_DIR):
 *   ca.pem  the CA certificate (self-signed, ECDSA P-256): what a
 *           verifier trusts ("vtpmctl ca show" prints it)
 *   ca.key  its private key, never on disk in the clear:
 *             "VTPMCAK1" | GCM nonce (12) | GCM tag (16) | PKCS#8 DER
 *             encrypted under AES-256-GCM
 *           with a key HKDF-SHA256'd from the host key (salt "libvtpm ca
 *           v1", info "ca key"), and the magic and the certificate's DER
 *           as additional data: the key opens only with this host's key,
 *           and only beside its own certificate.
 * The host key is the one that protects vTPM state: in TPM mode the
 * 32-byte key "vtpmctl manager unlock" unsealed into the kernel keyring
 * (so the CA key is as well protected as the vTPMs, and sealed to the
 * host's TPM through it), in key-file mode the key file. "manager rotate"
 * encrypts it under the new host key as ca.key.next before the new key
 * becomes the host's and renames it over ca.key after; a CA key that does
 * not open while ca.key.next does finishes an interrupted rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <keyutils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ek.h"
#include "vtpmctl.h"

#define CA_MAGIC	"VTPMCAK1"
#define CA_DEFAULT_DIR	"/etc/vtpm/ca"

const char *ca_dir(void)
{
	const char *e = getenv("VTPM_CA_DIR");

	return e && *e ? e : CA_DEFAULT_DIR;
}

static void ca_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", ca_dir(), name);
}

/* The host key: key file (key-file mode) or kernel keyring (TPM mode). */
static int host_key(uint8_t key[32], char *why, size_t wlen)
{
	const char *file;
	uint8_t buf[33];
	long n;

	switch (key_mode(&file)) {
	case KEY_MODE_FILE: {
		int fd = open(file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(why, wlen, "cannot read key file %s: %s", file, strerror(errno));
			return -errno;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		break;
	}
	case KEY_MODE_TPM: {
		key_serial_t k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", host_key_desc(), 0);

		if (k < 0) {
			snprintf(why, wlen, "the host key is locked (\"%s\" not in the kernel keyring): \"%s manager unlock\" first",
				 host_key_desc(), bin_name);
			return -ENOKEY;
		}
		n = keyctl_read(k, (char *)buf, sizeof(buf));
		break;
	}
	default:
		snprintf(why, wlen, "no host key (no key file, no sealed key): the CA key would be unprotected");
		return -ENOKEY;
	}
	if (n != 32) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(why, wlen, "the host key is not 32 bytes");
		return -EINVAL;
	}
	memcpy(key, buf, 32);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int ca_wrap_key(const uint8_t hk[32], uint8_t out[32])
{
	static const char salt[] = "libvtpm ca v1";

	return vtpmctl_hkdf(hk, 32, salt, sizeof(salt) - 1, "ca key", out);
}

/* AES-256-GCM of the CA key; aad = magic | certificate DER */
static int ca_gcm(int enc, const uint8_t hk[32], const uint8_t nonce[12],
		  const uint8_t *cert, size_t cert_len, const uint8_t *in, size_t len,
		  uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t k[32];
	int n, ok;

	if (!c)
		return -ENOMEM;
	ok = !ca_wrap_key(hk, k) &&
	     EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, k, nonce, enc) &&
	     EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)CA_MAGIC, 8) &&
	     EVP_CipherUpdate(c, NULL, &n, cert, cert_len) &&
	     EVP_CipherUpdate(c, out, &n, in, len) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag)) &&
	     EVP_CipherFinal_ex(c, out + n, &n) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
	explicit_bzero(k, sizeof(k));
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EKEYREJECTED;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || sb.st_size > 1 << 20) {
		close(fd);
		return -EFBIG;
	}
	*data = malloc(sb.st_size + 1);
	if (!*data || read(fd, *data, sb.st_size) != sb.st_size) {
		free(*data);
		close(fd);
		return -EIO;
	}
	(*data)[sb.st_size] = 0;
	*len = sb.st_size;
	close(fd);
	return 0;
}

static int add_ext(X509 *issuer, X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

int ca_set_serial(X509 *cert)
{
	uint8_t sn[16];
	BIGNUM *bn;
	int ok;

	if (getrandom(sn, sizeof(sn), 0) != sizeof(sn))
		return -EIO;
	sn[0] &= 0x7f;		/* positive */
	sn[0] |= 0x01;		/* and 16 bytes long */
	bn = BN_bin2bn(sn, sizeof(sn), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

int ca_add_ext(struct ca *ca, X509 *cert, int nid, const char *value)
{
	return add_ext(ca->cert, cert, nid, value);
}

static X509 *ca_selfsign(EVP_PKEY *key)
{
	char host[256] = "", cn[320];
	X509_NAME *name;
	X509 *c = X509_new();

	if (!c)
		return NULL;
	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "vTPM host CA %s", host);
	name = X509_get_subject_name(c);
	if (!X509_set_version(c, 2) || ca_set_serial(c) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"xen-tpmback vTPM manager", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(c, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c), 30L * 365 * 86400) ||
	    !X509_set_pubkey(c, key) ||
	    add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(c, c, NID_subject_key_identifier, "hash") ||
	    !X509_sign(c, key, EVP_sha256())) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/* mkdir -p of the CA directory: its parents 0755, itself 0700 */
static int ca_mkdir(void)
{
	char buf[4096], *p;

	snprintf(buf, sizeof(buf), "%s", ca_dir());
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

void ca_close(struct ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

static int ca_load_cert(X509 **cert, char *why, size_t wlen);
static int ca_key_store(const char *path, const uint8_t hk[32], X509 *cert, EVP_PKEY *key);

/* Make a new CA in ca_dir(); -EEXIST if there is one. */
static int ca_init(char *why, size_t wlen)
{
	char path[4200], kpath[4200];
	uint8_t hk[32];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	BUF_MEM *pem;
	int err;

	err = host_key(hk, why, wlen);
	if (err)
		return err;
	ca_path(path, sizeof(path), "ca.pem");
	ca_path(kpath, sizeof(kpath), "ca.key");
	if (access(path, F_OK) == 0 || access(kpath, F_OK) == 0) {
		snprintf(why, wlen, "a CA exists already in %s", ca_dir());
		err = -EEXIST;
		goto out;
	}
	err = -ENOMEM;
	key = EVP_EC_gen("P-256");
	cert = key ? ca_selfsign(key) : NULL;
	if (!cert) {
		snprintf(why, wlen, "cannot make the CA key and certificate (OpenSSL)");
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, cert))
		goto out;
	BIO_get_mem_ptr(bio, &pem);
	/* the key first: a certificate without its key is no CA */
	err = ca_key_store(kpath, hk, cert, key);
	if (!err)
		err = write_file_atomic(path, pem->data, pem->length, 0644);
	if (err) {
		unlink(kpath);
		snprintf(why, wlen, "cannot write the CA to %s: %s", ca_dir(), strerror(-err));
	}
out:
	explicit_bzero(hk, sizeof(hk));
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (err == -ENOMEM && !why[0])
		snprintf(why, wlen, "out of memory");
	return err;
}

static int ca_load_cert(X509 **cert, char *why, size_t wlen)
{
	char path[4200];
	FILE *f;

	ca_path(path, sizeof(path), "ca.pem");
	f = fopen(path, "re");
	if (!f) {
		int err = -errno;

		snprintf(why, wlen, "no CA certificate %s: %s%s", path, strerror(errno),
			 err == -ENOENT ? " (\"vtpmctl ca init\")" : "");
		return err;
	}
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert) {
		snprintf(why, wlen, "%s is not a PEM certificate", path);
		return -EBADMSG;
	}
	return 0;
}

/* Decrypt the CA key file path with the host key hk; -EKEYREJECTED if it
 * does not open with it (or is not the key of cert). */
static int ca_key_open(const char *kpath, const uint8_t hk[32], X509 *cert,
		       EVP_PKEY **key, char *why, size_t wlen)
{
	uint8_t *blob = NULL, *cder = NULL, *der = NULL;
	const uint8_t *p;
	size_t blen = 0;
	int err, clen;

	err = read_all(kpath, &blob, &blen);
	if (err) {
		snprintf(why, wlen, "cannot read the CA key %s: %s", kpath, strerror(-err));
		return err;
	}
	err = -EBADMSG;
	clen = i2d_X509(cert, &cder);
	if (blen <= 36 || memcmp(blob, CA_MAGIC, 8) || clen <= 0 ||
	    !(der = malloc(blen - 36))) {
		snprintf(why, wlen, "%s is not a CA key file", kpath);
		goto out;
	}
	err = ca_gcm(0, hk, blob + 8, cder, clen, blob + 36, blen - 36, der, blob + 20);
	if (err) {
		snprintf(why, wlen, "the CA key %s does not open with this host's key, or does not belong to %s/ca.pem",
			 kpath, ca_dir());
		goto out;
	}
	p = der;
	*key = d2i_AutoPrivateKey(NULL, &p, blen - 36);
	if (!*key || X509_check_private_key(cert, *key) != 1) {
		snprintf(why, wlen, "the CA key in %s does not match its certificate", kpath);
		EVP_PKEY_free(*key);
		*key = NULL;
		err = -EBADMSG;
	}
out:
	if (der) {
		explicit_bzero(der, blen - 36);
		free(der);
	}
	free(blob);
	OPENSSL_free(cder);
	return err;
}

/* Write the CA key encrypted under hk to path. */
static int ca_key_store(const char *path, const uint8_t hk[32], X509 *cert, EVP_PKEY *key)
{
	uint8_t nonce[12], tag[16], *der = NULL, *cder = NULL, *blob = NULL;
	int err = -ENOMEM, dlen, clen;

	dlen = i2d_PrivateKey(key, &der);
	clen = i2d_X509(cert, &cder);
	if (dlen <= 0 || clen <= 0 || !(blob = malloc(36 + dlen)))
		goto out;
	if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		err = -EIO;
		goto out;
	}
	err = ca_gcm(1, hk, nonce, cder, clen, der, dlen, blob + 36, tag);
	if (err)
		goto out;
	memcpy(blob, CA_MAGIC, 8);
	memcpy(blob + 8, nonce, 12);
	memcpy(blob + 20, tag, 16);
	err = write_file_atomic(path, blob, 36 + dlen, 0600);
out:
	if (der)
		OPENSSL_clear_free(der, dlen);
	OPENSSL_free(cder);
	free(blob);
	return err;
}

int ca_rekey_prepare(const uint8_t old_key[32], const uint8_t new_key[32], char *why, size_t wlen)
{
	char kpath[4200], next[4200];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int err;

	ca_path(kpath, sizeof(kpath), "ca.key");
	ca_path(next, sizeof(next), "ca.key.next");
	if (access(kpath, F_OK) < 0 && errno == ENOENT)
		return 0;	/* no CA yet */
	err = ca_load_cert(&cert, why, wlen);
	if (!err)
		err = ca_key_open(kpath, old_key, cert, &key, why, wlen);
	if (!err) {
		err = ca_key_store(next, new_key, cert, key);
		if (err)
			snprintf(why, wlen, "cannot write %s: %s", next, strerror(-err));
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	return err;
}

int ca_rekey_commit(void)
{
	char kpath[4200], next[4200];

	ca_path(kpath, sizeof(kpath), "ca.key");
	ca_path(next, sizeof(next), "ca.key.next");
	if (rename(next, kpath) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int ca_open(bool create, struct ca **out, char *why, size_t wlen)
{
	char kpath[4200], lpath[4200];
	uint8_t hk[32];
	struct ca *ca;
	int err, lock = -1;

	why[0] = 0;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return -ENOMEM;
	if (create) {
		/* two creates at once make one CA */
		err = ca_mkdir();
		if (err) {
			snprintf(why, wlen, "cannot create %s: %s", ca_dir(), strerror(-err));
			goto out;
		}
		ca_path(lpath, sizeof(lpath), ".lock");
		lock = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) < 0) {
			snprintf(why, wlen, "cannot lock %s: %s", lpath, strerror(errno));
			err = -errno;
			goto out;
		}
		ca_path(kpath, sizeof(kpath), "ca.key");
		if (access(kpath, F_OK) < 0 && errno == ENOENT) {
			err = ca_init(why, wlen);
			if (err)
				goto out;
			ca->created = true;
		}
	}
	err = ca_load_cert(&ca->cert, why, wlen);
	if (err)
		goto out;
	err = host_key(hk, why, wlen);
	if (err)
		goto out;
	ca_path(kpath, sizeof(kpath), "ca.key");
	err = ca_key_open(kpath, hk, ca->cert, &ca->key, why, wlen);
	if (err == -EKEYREJECTED) {
		/* a host key rotation that stopped between the new host key
		 * and the CA key's rename: the new copy opens, finish it */
		char next[4200], why2[512];

		ca_path(next, sizeof(next), "ca.key.next");
		if (!ca_key_open(next, hk, ca->cert, &ca->key, why2, sizeof(why2)) &&
		    rename(next, kpath) == 0)
			err = 0;
	}
	if (err)
		goto out;
out:
	explicit_bzero(hk, sizeof(hk));
	if (lock >= 0)
		close(lock);
	if (err) {
		ca_close(ca);
		ca = NULL;
	}
	*out = ca;
	return err;
}

/* ---- vtpmctl ca ------------------------------------------------------------ */

static void ca_usage(void)
{
	printf("Usage: %s ca init\n"
	       "       %s ca show [--check]\n\n"
	       "The host's CA, which issues the EK and platform certificates of the\n"
	       "vTPMs created here (its directory: $VTPM_CA_DIR or %s).\n\n"
	       "  init     make the CA (ECDSA P-256); its key is stored encrypted under\n"
	       "           the host key (sealed to the host's TPM in TPM mode).\n"
	       "           \"create\" makes it when it is missing.\n"
	       "  show     print the CA certificate (PEM) for verifiers; -j adds its\n"
	       "           subject and SHA-256 fingerprint. --check also opens the\n"
	       "           CA key with the host key and fails if it does not match.\n",
	       bin_name, bin_name, CA_DEFAULT_DIR);
}

static int ca_show(bool check)
{
	char why[512] = "", subject[512], fp_hex[65];
	unsigned char fp[32];
	unsigned int fplen = 0, i;
	struct ca *ca = NULL;
	X509 *cert = NULL;
	BIO *bio;
	BUF_MEM *pem;
	int err;

	if (check) {
		err = ca_open(false, &ca, why, sizeof(why));
		cert = ca ? ca->cert : NULL;
	} else {
		err = ca_load_cert(&cert, why, sizeof(why));
	}
	if (err) {
		p_err("%s", why);
		return EXIT_FAIL;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, cert)) {
		p_err("out of memory");
		return EXIT_FAIL;
	}
	BIO_get_mem_ptr(bio, &pem);
	if (json_output) {
		char *s = strndup(pem->data, pem->length);

		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
		X509_digest(cert, EVP_sha256(), fp, &fplen);
		for (i = 0; i < fplen; i++)
			sprintf(fp_hex + 2 * i, "%02x", fp[i]);
		printf("{\"dir\": ");
		json_string(stdout, ca_dir());
		printf(", \"subject\": ");
		json_string(stdout, subject);
		printf(", \"sha256\": \"%s\", \"key_checked\": %s, \"certificate\": ", fp_hex,
		       check ? "true" : "false");
		json_string(stdout, s ? s : "");
		printf("}\n");
		free(s);
	} else {
		fwrite(pem->data, 1, pem->length, stdout);
	}
	BIO_free(bio);
	if (ca)
		ca_close(ca);
	else
		X509_free(cert);
	return EXIT_OK;
}

int do_ca(int argc, char **argv)
{
	const char *sub;
	bool check = false;
	int i;

	if (argc < 2 || is_help(argv[1])) {
		ca_usage();
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--check") && !strcmp(sub, "show")) {
			check = true;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json_output = true;
		} else if (is_help(argv[i])) {
			ca_usage();
			return EXIT_OK;
		} else {
			p_usage_err("unexpected argument \"%s\" for \"ca %s\"", argv[i], sub);
			return EXIT_USAGE;
		}
	}
	if (!strcmp(sub, "init")) {
		char why[512] = "";
		struct ca *ca;
		bool created;

		if (ca_open(true, &ca, why, sizeof(why))) {
			p_err("%s", why);
			return EXIT_FAIL;
		}
		created = ca->created;
		ca_close(ca);
		if (!created) {
			p_err("a CA exists already in %s (\"%s ca show\" prints it)", ca_dir(), bin_name);
			return EXIT_FAIL;
		}
		return ca_show(false);
	}
	if (!strcmp(sub, "show"))
		return ca_show(check);
	p_usage_err("unknown ca command \"%s\" (init, show)", sub);
	return EXIT_USAGE;
}
