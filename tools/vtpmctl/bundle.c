// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl host-key | export | import: moving a vTPM to another host.
 *
 * The target host makes a transport key pair once (host-key, X25519,
 * <key dir>/transport.key, 0600) and hands its public half to the source's
 * administrator. export encrypts the vTPM's state for that public key:
 *
 *   ephemeral X25519 key; secret = ECDH(ephemeral, target)
 *   key = HKDF-SHA256(secret, salt = ephemeral pub || target pub,
 *                     info = "vtpmctl export v1")
 *   AES-256-GCM(key, random nonce), the whole header as associated data
 *
 * The header names the vTPM's uuid, the target key's SHA-256 fingerprint,
 * the source host and the time; all of it authenticated. The plaintext
 * (libvtpm's export: permanent state, suspend record; vtpmctl's session
 * file; its format in bundle.h) never touches disk or wire unencrypted. import refuses a bundle
 * for another key (before any decryption), a tampered one (GCM), and a
 * uuid that exists here (unless --replace, and then never while it is in
 * use, unless --force); it seals the state with this host's keys (key
 * file or the manager's host key in the keyring).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>

#include "libvtpm/libvtpm.h"
#include "bundle.h"
#include "vtpmctl.h"

#define BUNDLE_MAGIC	"VTPMBUNDLE1\n"
#define DEFAULT_TRANSPORT_KEY "/etc/vtpm/transport.key"

struct bundle_hdr {
	char magic[12];
	uint8_t uuid[16];
	uint8_t target_fpr[32];
	uint8_t eph_pub[32];
	uint8_t nonce[12];
	uint8_t created[8];	/* big endian seconds */
	char source[64];	/* source host id, NUL padded */
	uint8_t ct_len[4];	/* big endian */
} __attribute__((packed));

static const char *transport_key_path(const char *opt)
{
	const char *e = getenv("VTPM_TRANSPORT_KEY");

	if (opt && *opt)
		return opt;
	return e && *e ? e : DEFAULT_TRANSPORT_KEY;
}

static int raw_pub(EVP_PKEY *k, uint8_t out[32])
{
	size_t len = 32;

	return EVP_PKEY_get_raw_public_key(k, out, &len) == 1 && len == 32 ? 0 : -EINVAL;
}

static void fingerprint(const uint8_t pub[32], uint8_t out[32])
{
	unsigned int n = 32;

	EVP_Digest(pub, 32, out, &n, EVP_sha256(), NULL);
}

static void hexstr(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static EVP_PKEY *load_private(const char *path)
{
	EVP_PKEY *k = NULL;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k && EVP_PKEY_get_id(k) != EVP_PKEY_X25519) {
		EVP_PKEY_free(k);
		errno = EINVAL;
		return NULL;
	}
	return k;
}

/* HKDF-SHA256 of the X25519 secret between a and b's public key */
static int derive(EVP_PKEY *a, EVP_PKEY *b, const uint8_t salt[64], uint8_t key[32])
{
	uint8_t secret[32];
	size_t slen = sizeof(secret), klen = 32;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(a, NULL);
	int ok;

	ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, b) == 1 &&
	     EVP_PKEY_derive(c, secret, &slen) == 1 && slen == 32;
	EVP_PKEY_CTX_free(c);
	if (!ok)
		return -EINVAL;
	c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	ok = c && EVP_PKEY_derive_init(c) == 1 &&
	     EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_salt(c, salt, 64) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_key(c, secret, 32) == 1 &&
	     EVP_PKEY_CTX_add1_hkdf_info(c, (const unsigned char *)"vtpmctl export v1", 17) == 1 &&
	     EVP_PKEY_derive(c, key, &klen) == 1 && klen == 32;
	EVP_PKEY_CTX_free(c);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok ? 0 : -EINVAL;
}

static int gcm(bool enc, const uint8_t key[32], const uint8_t nonce[12],
	       const void *aad, size_t aad_len, const uint8_t *in, size_t len,
	       uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, aad, aad_len) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + n, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}

static void host_id(char out[64])
{
	struct lease me;

	lease_self(&me, 0);
	memset(out, 0, 64);
	snprintf(out, 64, "%.63s", me.host);
}

/* ---- host-key ------------------------------------------------------------ */

static int host_key_usage(void)
{
	printf("Usage: %s host-key [--transport-key FILE] [--out FILE]\n\n"
	       "This host's transport key for receiving vTPMs (vtpmctl import):\n"
	       "made once (X25519, FILE, default %s or $VTPM_TRANSPORT_KEY, mode\n"
	       "0600), never overwritten. Prints its public half (PEM; to FILE with\n"
	       "--out) for the source host's \"export --to\", and its fingerprint.\n",
	       bin_name, DEFAULT_TRANSPORT_KEY);
	return EXIT_OK;
}

static int opt_val(int argc, char **argv, int *i, const char *name, const char **val)
{
	if (strcmp(argv[*i], name))
		return 0;
	if (*i + 1 >= argc) {
		p_usage_err("%s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int do_host_key(int argc, char **argv)
{
	const char *kpath = NULL, *out = NULL;
	uint8_t pub[32], fpr[32];
	char fhex[65], dir[4096], *slash;
	EVP_PKEY *k;
	FILE *f;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return host_key_usage();
		if ((r = opt_val(argc, argv, &i, "--transport-key", &kpath)) ||
		    (r = opt_val(argc, argv, &i, "--out", &out))) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		p_usage_err("unexpected argument \"%s\" for \"host-key\"", argv[i]);
		return EXIT_USAGE;
	}
	kpath = transport_key_path(kpath);
	k = load_private(kpath);
	if (!k && errno != ENOENT) {
		p_err("cannot read transport key %s: %s", kpath, strerror(errno ? errno : EINVAL));
		return EXIT_FAIL;
	}
	if (!k) {
		int fd;

		snprintf(dir, sizeof(dir), "%s", kpath);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdir_p(dir, 0700);
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!k || !f || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
		    fflush(f) || fsync(fileno(f))) {
			p_err("cannot create transport key %s: %s", kpath, strerror(errno));
			if (f)
				fclose(f);
			if (fd >= 0)
				unlink(kpath);
			EVP_PKEY_free(k);
			return EXIT_FAIL;
		}
		fclose(f);
	}
	raw_pub(k, pub);
	fingerprint(pub, fpr);
	hexstr(fpr, 32, fhex);
	f = out ? fopen(out, "w") : stdout;
	if (!f || PEM_write_PUBKEY(f, k) != 1) {
		p_err("cannot write %s: %s", out ? out : "stdout", strerror(errno));
		EVP_PKEY_free(k);
		return EXIT_FAIL;
	}
	if (out)
		fclose(f);
	EVP_PKEY_free(k);
	fprintf(out ? stdout : stderr, "fingerprint sha256:%s\n", fhex);
	return EXIT_OK;
}

/* ---- export ---------------------------------------------------------------- */

static int export_usage(void)
{
	printf("Usage: %s export UUID --to TARGET.pub [--out FILE]\n\n"
	       "Encrypt a vTPM for another host (its \"host-key\" public key): its\n"
	       "NV, seeds, persistent objects, and the volatile state of a suspended\n"
	       "guest (xl save). Refused while the vTPM is in use. The vTPM stays\n"
	       "here: destroy it once the target imported it. Default FILE: UUID.vtpm.\n",
	       bin_name);
	return EXIT_OK;
}

static char *read_file(const char *path, size_t *len)
{
	struct stat sb;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || sb.st_size > (64 << 20)) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc(sb.st_size + 1);
	if (buf && read(fd, buf, sb.st_size) != sb.st_size) {
		free(buf);
		buf = NULL;
		errno = EIO;
	}
	close(fd);
	if (buf) {
		buf[sb.st_size] = '\0';
		*len = sb.st_size;
	}
	return buf;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int do_export(int argc, char **argv)
{
	const char *uuid = NULL, *to = NULL, *out = NULL;
	char dir[4096], canon[37], why[512], sess_path[4096], outbuf[4096];
	uint8_t u[16], tpub[32], key[32], salt[64], tag[16], *exp = NULL, *plain = NULL, *ct = NULL;
	size_t exp_len = 0, sess_len = 0, plen = 0;
	struct bundle_parts parts;
	char *sess = NULL;
	struct bundle_hdr h;
	EVP_PKEY *target = NULL, *eph = NULL;
	FILE *f;
	int i, r, err, fd, ret = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return export_usage();
		if ((r = opt_val(argc, argv, &i, "--to", &to)) ||
		    (r = opt_val(argc, argv, &i, "--out", &out))) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		if (!uuid && argv[i][0] != '-') {
			uuid = argv[i];
			continue;
		}
		p_usage_err("unexpected argument \"%s\" for \"export\"", argv[i]);
		return EXIT_USAGE;
	}
	if (!uuid || !to) {
		p_usage_err("export needs UUID and --to TARGET.pub");
		return EXIT_USAGE;
	}
	if (uuid_parse_str(uuid, u)) {
		p_usage_err("malformed uuid \"%s\"", uuid);
		return EXIT_USAGE;
	}
	uuid_format(u, canon);
	snprintf(dir, sizeof(dir), "%s/%s", state_root, canon);
	f = fopen(to, "r");
	target = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!target || EVP_PKEY_get_id(target) != EVP_PKEY_X25519 || raw_pub(target, tpub)) {
		p_err("cannot read the target's X25519 public key %s (vtpmctl host-key on the target)", to);
		goto out;
	}
	if (access(dir, F_OK) < 0) {
		p_err("no such vTPM %s", canon);
		goto out;
	}
	if (vtpm_in_use(canon, dir, why, sizeof(why))) {
		p_err("vTPM %s is in use: %s; export it once its guest is saved or shut down",
		      canon, why);
		goto out;
	}
	{
		VTPM_OPTS(o, .state_dir = dir, .key_file = effective_key_file(),
			  .key_desc = effective_key_desc(), .flags = VTPM_F_ROLLBACK_ANCHOR);

		err = vtpm_state_export(&o, &exp, &exp_len);
	}
	if (err) {
		p_err("cannot read vTPM %s: %s", canon, vtpm_strerror(err));
		goto out;
	}
	session_path(canon, sess_path, sizeof(sess_path));
	sess = read_file(sess_path, &sess_len);
	if (!sess) {
		session_old_path(canon, sess_path, sizeof(sess_path));
		sess = read_file(sess_path, &sess_len);
	}
	parts = (struct bundle_parts){ .state = exp, .state_len = exp_len,
				       .session = (uint8_t *)sess, .session_len = sess_len };
	plen = bundle_join_len(&parts);
	plain = plen ? malloc(plen) : NULL;
	ct = plen ? malloc(plen) : NULL;
	if (!plain || !ct) {
		p_err("cannot export vTPM %s: %s", canon, plen ? strerror(ENOMEM) : "state too large");
		goto out;
	}
	bundle_join(&parts, plain);

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, BUNDLE_MAGIC, 12);
	memcpy(h.uuid, u, 16);
	fingerprint(tpub, h.target_fpr);
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!eph || raw_pub(eph, h.eph_pub) || getrandom(h.nonce, 12, 0) != 12)
		goto out;
	put_be(h.created, time(NULL), 8);
	host_id(h.source);
	put_be(h.ct_len, plen, 4);
	memcpy(salt, h.eph_pub, 32);
	memcpy(salt + 32, tpub, 32);
	if (derive(eph, target, salt, key) ||
	    gcm(true, key, h.nonce, &h, sizeof(h), plain, plen, ct, tag)) {
		p_err("cannot encrypt the bundle");
		goto out;
	}
	if (!out) {
		snprintf(outbuf, sizeof(outbuf), "%s.vtpm", canon);
		out = outbuf;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, &h, sizeof(h)) != sizeof(h) ||
	    write(fd, ct, plen) != (ssize_t)plen || write(fd, tag, 16) != 16 || fsync(fd)) {
		p_err("cannot write %s: %s", out, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(out);
		}
		goto out;
	}
	close(fd);
	if (json_output) {
		printf("{\"uuid\": \"%s\", \"bundle\": ", canon);
		json_string(stdout, out);
		printf("}\n");
	} else {
		printf("%s\n", out);
	}
	ret = EXIT_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (plain)
		OPENSSL_cleanse(plain, plen);
	if (exp)
		OPENSSL_cleanse(exp, exp_len);
	free(plain);
	free(exp);
	free(ct);
	free(sess);
	EVP_PKEY_free(target);
	EVP_PKEY_free(eph);
	return ret;
}

/* ---- import ---------------------------------------------------------------- */

static int import_usage(void)
{
	printf("Usage: %s import BUNDLE [--transport-key FILE] [--replace [--force]]\n\n"
	       "Decrypt a vTPM exported for this host and store it under the state\n"
	       "root, sealed with this host's keys. Refused when the bundle was made\n"
	       "for another host's key, when it was tampered with, and when the\n"
	       "uuid exists here (--replace replaces a vTPM nobody uses; --force\n"
	       "even one in use).\n", bin_name);
	return EXIT_OK;
}

int do_import(int argc, char **argv)
{
	const char *path = NULL, *kpath = NULL;
	bool replace = false, force = false;
	char canon[37], dir[4096], why[512], fhex[65], mine[65], src[65];
	uint8_t mypub[32], myfpr[32], salt[64], key[32], *plain = NULL;
	const struct bundle_hdr *h;
	size_t len = 0, ct_len = 0;
	struct bundle_parts parts;
	EVP_PKEY *me = NULL, *eph = NULL;
	char *buf = NULL;
	int i, r, err, ret = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (is_help(argv[i]))
			return import_usage();
		if ((r = opt_val(argc, argv, &i, "--transport-key", &kpath))) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		if (!strcmp(argv[i], "--replace")) {
			replace = true;
			continue;
		}
		if (!strcmp(argv[i], "--force")) {
			force = true;
			continue;
		}
		if (!path && argv[i][0] != '-') {
			path = argv[i];
			continue;
		}
		p_usage_err("unexpected argument \"%s\" for \"import\"", argv[i]);
		return EXIT_USAGE;
	}
	if (!path) {
		p_usage_err("import needs a BUNDLE");
		return EXIT_USAGE;
	}
	buf = read_file(path, &len);
	if (!buf) {
		p_err("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	h = (const struct bundle_hdr *)buf;
	if (len < sizeof(*h) + 16 || memcmp(h->magic, BUNDLE_MAGIC, 12)) {
		p_err("%s is not a vTPM bundle", path);
		goto out;
	}
	ct_len = get_be(h->ct_len, 4);
	if (ct_len != len - sizeof(*h) - 16) {
		p_err("bundle %s is truncated or tampered with (length)", path);
		goto out;
	}
	uuid_format(h->uuid, canon);
	memcpy(src, h->source, 64);
	src[64] = '\0';
	kpath = transport_key_path(kpath);
	me = load_private(kpath);
	if (!me || raw_pub(me, mypub)) {
		p_err("cannot read this host's transport key %s (vtpmctl host-key): %s", kpath,
		      strerror(errno ? errno : EINVAL));
		goto out;
	}
	fingerprint(mypub, myfpr);
	if (memcmp(myfpr, h->target_fpr, 32)) {
		hexstr(h->target_fpr, 32, fhex);
		hexstr(myfpr, 32, mine);
		p_err("bundle %s (vTPM %s from host %s) is meant for another host: key sha256:%.16s..., this host's is sha256:%.16s...",
		      path, canon, src, fhex, mine);
		goto out;
	}
	eph = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, h->eph_pub, 32);
	memcpy(salt, h->eph_pub, 32);
	memcpy(salt + 32, mypub, 32);
	plain = malloc(ct_len ? ct_len : 1);
	if (!eph || !plain || derive(me, eph, salt, key) ||
	    gcm(false, key, h->nonce, h, sizeof(*h), (const uint8_t *)buf + sizeof(*h), ct_len,
		plain, (uint8_t *)buf + sizeof(*h) + ct_len)) {
		p_err("bundle %s does not authenticate: tampered with or damaged; nothing imported",
		      path);
		goto out;
	}
	if (bundle_split(plain, ct_len, &parts, why, sizeof(why))) {
		p_err("bundle %s is malformed: %s; nothing imported", path, why);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/%s", state_root, canon);
	if (access(dir, F_OK) == 0) {
		if (!replace) {
			p_err("vTPM %s already exists here; not imported (--replace to replace it)", canon);
			goto out;
		}
		if (vtpm_in_use(canon, dir, why, sizeof(why)) && !force) {
			p_err("vTPM %s is in use: %s; not replaced (--force)", canon, why);
			goto out;
		}
		err = vtpm_state_destroy(dir);
		if (err) {
			p_err("cannot replace vTPM %s: %s", canon, vtpm_strerror(err));
			goto out;
		}
	}
	{
		char sp[4200];	/* a replaced vTPM's sessions are not this one's */

		session_old_path(canon, sp, sizeof(sp));
		unlink(sp);
	}
	if (mkdir_p(state_root, 0700) < 0) {
		p_err("cannot create %s: %s", state_root, strerror(errno));
		goto out;
	}
	{
		VTPM_OPTS(o, .state_dir = dir, .key_file = effective_key_file(),
			  .key_desc = effective_key_desc(), .flags = VTPM_F_ROLLBACK_ANCHOR);

		err = vtpm_state_import(&o, parts.state, parts.state_len);
	}
	if (err) {
		p_err("cannot import vTPM %s: %s", canon, vtpm_strerror(err));
		if (err != -EEXIST)
			vtpm_state_destroy(dir);
		goto out;
	}
	if (parts.session_len) {
		char sp[4096], tmp[4200];
		int fd;

		session_path(canon, sp, sizeof(sp));
		snprintf(tmp, sizeof(tmp), "%s.import", sp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, parts.session, parts.session_len) !=
			      (ssize_t)parts.session_len ||
		    fsync(fd) || rename(tmp, sp))
			fprintf(stderr, "Warning: session file of %s not written: a save image will not resume\n",
				canon);
		if (fd >= 0)
			close(fd);
	}
	if (json_output)
		printf("{\"uuid\": \"%s\", \"imported\": true, \"source\": \"%s\"}\n", canon, src);
	else
		printf("%s\n", canon);
	ret = EXIT_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (plain)
		OPENSSL_cleanse(plain, ct_len);
	free(plain);
	free(buf);
	EVP_PKEY_free(me);
	EVP_PKEY_free(eph);
	return ret;
}
