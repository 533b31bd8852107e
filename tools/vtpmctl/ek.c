// SPDX-License-Identifier: GPL-2.0
/*
 * EK certificates at "vtpmctl create" (TPM 2.0).
 *
 * The new vTPM is powered on once, as a manufacturer's provisioning
 * station would: it creates the two endorsement keys from the TCG EK
 * Credential Profile's default templates (RSA 2048: template L-1, ECC
 * NIST P-256: L-2; the ones tpm2_createek uses, so the guest regenerates
 * the very same keys from the endorsement seed), the host's CA (ca.c)
 * signs a certificate for each and a platform certificate, and they are
 * written to the TCG's NV indices with the profile's attributes:
 *
 *   0x01c00002  RSA EK certificate (DER)
 *   0x01c0000a  ECC EK certificate
 *   0x01c08000  platform certificate
 *   attributes  PPWRITE | WRITEDEFINE | PPREAD | OWNERREAD | AUTHREAD |
 *               NO_DA | PLATFORMCREATE, then NV_WriteLock: written once,
 *               never again (WRITEDEFINE), readable without a password
 *
 * The EK certificate follows the profile's X.509 layout: empty subject, a
 * critical subjectAltName naming the TPM's manufacturer, model and
 * version (2.23.133.2.1-3), subjectDirectoryAttributes with the TPM
 * specification (2.23.133.2.16), keyUsage keyEncipherment (RSA) or
 * keyAgreement (ECC), basicConstraints CA:FALSE, extendedKeyUsage
 * tcg-kp-EKCertificate, the CA's key identifier, notAfter 99991231235959Z.
 * The platform certificate is a public-key certificate over the RSA EK
 * with the platform's manufacturer, model and version (2.23.133.2.4-6) and
 * tcg-kp-PlatformCertificate, as swtpm_localca makes it; it is not the
 * TCG Platform Certificate Profile's attribute certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "ek.h"
#include "libvtpm/libvtpm.h"
#include "tpm2cmd.h"
#include "vtpmctl.h"

#define TPMA_EK		0x000300B2	/* fixedTPM fixedParent sensitiveDataOrigin
					 * adminWithPolicy restricted decrypt */
#define TPMA_NV_EKCERT	(0x00000001 | 0x00002000 | 0x00010000 | 0x00020000 | \
			 0x00040000 | 0x02000000 | 0x40000000)
#define NV_CHUNK	1024		/* MAX_NV_BUFFER_SIZE */

/* PolicySecret(TPM_RH_ENDORSEMENT): the EK templates' authPolicy */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d,
	0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64,
	0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

static uint8_t resp[VTPM_MAX_PACKET];

struct tpm_props {
	uint32_t level, revision, manufacturer, fw1, fw2;
	char vendor[17];
};

static int get_props(struct vtpm *v, struct tpm_props *pr)
{
	struct tpmrd r;
	uint32_t n, i;
	int err;

	memset(pr, 0, sizeof(*pr));
	err = tpm2_get_cap(v, 6 /* TPM_CAP_TPM_PROPERTIES */, 0x100 /* TPM_PT_FIXED */, 16,
			   resp, &r);
	if (err)
		return err;
	n = rd_u32(&r);
	for (i = 0; i < n && !r.bad; i++) {
		uint32_t prop = rd_u32(&r), val = rd_u32(&r);

		switch (prop) {
		case 0x101: pr->level = val; break;
		case 0x102: pr->revision = val; break;
		case 0x105: pr->manufacturer = val; break;
		case 0x106: case 0x107: case 0x108: case 0x109: {
			int o = (prop - 0x106) * 4, j;

			for (j = 0; j < 4; j++) {
				char c = val >> (24 - 8 * j);

				pr->vendor[o + j] = c >= 0x20 && c < 0x7f ? c : 0;
			}
			break;
		}
		case 0x10B: pr->fw1 = val; break;
		case 0x10C: pr->fw2 = val; break;
		}
	}
	/* vendor string: the printable characters up to the first other one */
	pr->vendor[16] = 0;
	return r.bad ? -EPROTO : 0;
}

/* An EVP_PKEY of the EK created from the default template of type alg. */
static int create_ek(struct vtpm *v, uint16_t alg, EVP_PKEY **pkey)
{
	static const uint8_t zeros[256];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const uint8_t *a, *b = NULL;
	uint16_t alen, blen = 0;
	struct tpmbuf t;
	struct tpmrd r;
	size_t len, pub_start;
	uint32_t rc, handle;
	int err;

	tb_begin(&t, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tb_u32(&t, TPM2_RH_ENDORSEMENT);
	tb_pw_session(&t);
	tb_u16(&t, 4);		/* inSensitive: empty userAuth and data */
	tb_u16(&t, 0);
	tb_u16(&t, 0);
	pub_start = t.n;
	tb_u16(&t, 0);		/* inPublic size, patched below */
	tb_u16(&t, alg);
	tb_u16(&t, TPM2_ALG_SHA256);
	tb_u32(&t, TPMA_EK);
	tb_2b(&t, ek_policy, sizeof(ek_policy));
	tb_u16(&t, TPM2_ALG_AES);
	tb_u16(&t, 128);
	tb_u16(&t, TPM2_ALG_CFB);
	tb_u16(&t, TPM2_ALG_NULL);	/* scheme */
	if (alg == TPM2_ALG_RSA) {
		tb_u16(&t, 2048);
		tb_u32(&t, 0);		/* exponent: 65537 */
		tb_2b(&t, zeros, 256);
	} else {
		tb_u16(&t, 0x0003);	/* TPM_ECC_NIST_P256 */
		tb_u16(&t, TPM2_ALG_NULL);	/* kdf */
		tb_2b(&t, zeros, 32);
		tb_2b(&t, zeros, 32);
	}
	t.b[pub_start] = (t.n - pub_start - 2) >> 8;
	t.b[pub_start + 1] = t.n - pub_start - 2;
	tb_u16(&t, 0);		/* outsideInfo */
	tb_u32(&t, 0);		/* creationPCR */
	err = tpm_run(v, &t, resp, &len, &rc);
	if (err)
		return err;
	if (rc) {
		errno = 0;
		return -EPROTO;
	}
	r = (struct tpmrd){ .p = resp, .n = len, .o = 10 };
	handle = rd_u32(&r);
	rd_u32(&r);		/* parameterSize */
	rd_u16(&r);		/* outPublic size */
	if (rd_u16(&r) != alg)
		r.bad = 1;
	rd_u16(&r);		/* nameAlg */
	rd_u32(&r);		/* attributes */
	rd_bytes(&r, rd_u16(&r));	/* authPolicy */
	rd_bytes(&r, 8);	/* symmetric (6) + scheme (2) */
	if (alg == TPM2_ALG_RSA) {
		rd_bytes(&r, 6);	/* keyBits, exponent */
		alen = rd_u16(&r);
		a = rd_bytes(&r, alen);
	} else {
		rd_bytes(&r, 4);	/* curve, kdf */
		alen = rd_u16(&r);
		a = rd_bytes(&r, alen);
		blen = rd_u16(&r);
		b = rd_bytes(&r, blen);
	}
	/* the key need not stay loaded: the guest recreates it */
	{
		struct tpmbuf f;
		uint8_t fr[64];
		size_t flen = sizeof(fr);

		tb_begin(&f, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH);
		tb_u32(&f, handle);
		f.b[5] = f.n;
		vtpm_process(v, f.b, f.n, 0, fr, &flen);
	}
	if (r.bad || !a)
		return -EPROTO;

	err = -ENOMEM;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		goto out;
	if (alg == TPM2_ALG_RSA) {
		BIGNUM *n = BN_bin2bn(a, alen, NULL), *e = BN_new();

		if (!n || !e || !BN_set_word(e, 65537) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
			BN_free(n);
			BN_free(e);
			goto out;
		}
		params = OSSL_PARAM_BLD_to_param(bld);
		BN_free(n);
		BN_free(e);
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		uint8_t pt[1 + 2 * 66];

		if (!b || alen != 32 || blen != 32)
			goto out;
		pt[0] = 0x04;	/* uncompressed point */
		memcpy(pt + 1, a, 32);
		memcpy(pt + 33, b, 32);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						     "prime256v1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65))
			goto out;
		params = OSSL_PARAM_BLD_to_param(bld);
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	if (params && pctx && EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, pkey, EVP_PKEY_PUBLIC_KEY, params) > 0)
		err = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* DER of a small non-negative INTEGER */
static size_t der_uint(uint8_t *p, uint32_t v)
{
	uint8_t tmp[5];
	size_t n = 0, i;

	do {
		tmp[n++] = v & 0xff;
		v >>= 8;
	} while (v);
	if (tmp[n - 1] & 0x80)
		tmp[n++] = 0;
	p[0] = 0x02;
	p[1] = n;
	for (i = 0; i < n; i++)
		p[2 + i] = tmp[n - 1 - i];
	return 2 + n;
}

/*
 * subjectDirectoryAttributes: SEQUENCE { Attribute { tcg-at-tpmSpecification
 * (2.23.133.2.16), SET { TPMSpecification { "2.0", level, revision } } } }
 */
static int add_tpm_spec(X509 *cert, const struct tpm_props *pr)
{
	static const uint8_t oid[] = { 0x06, 0x05, 0x67, 0x81, 0x05, 0x02, 0x10 };
	uint8_t spec[32], der[64], *p;
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *ext;
	size_t sl = 0, n;
	int ok;

	spec[sl++] = 0x0c;	/* UTF8String "2.0" */
	spec[sl++] = 3;
	memcpy(spec + sl, "2.0", 3);
	sl += 3;
	sl += der_uint(spec + sl, pr->level);
	sl += der_uint(spec + sl, pr->revision);
	/* SEQ { SEQ { oid, SET { SEQ { spec } } } } */
	n = sizeof(oid) + 2 + 2 + sl;
	p = der;
	*p++ = 0x30; *p++ = n + 2;
	*p++ = 0x30; *p++ = n;
	memcpy(p, oid, sizeof(oid)); p += sizeof(oid);
	*p++ = 0x31; *p++ = sl + 2;
	*p++ = 0x30; *p++ = sl;
	memcpy(p, spec, sl); p += sl;
	os = ASN1_OCTET_STRING_new();
	if (!os || !ASN1_OCTET_STRING_set(os, der, p - der)) {
		ASN1_OCTET_STRING_free(os);
		return -ENOMEM;
	}
	ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_directory_attributes, 0, os);
	ok = ext && X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	return ok ? 0 : -ENOMEM;
}

/* critical subjectAltName: directoryName of three TCG attributes */
static int add_san(X509 *cert, const char *oids[3], const char *vals[3])
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	X509_NAME *name = X509_NAME_new();
	int i, ok = gens && gen && name;

	for (i = 0; ok && i < 3; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);

		ok = o && X509_NAME_add_entry_by_OBJ(name, o, MBSTRING_UTF8,
						     (const unsigned char *)vals[i], -1, -1, 0);
		ASN1_OBJECT_free(o);
	}
	if (ok) {
		GENERAL_NAME_set0_value(gen, GEN_DIRNAME, name);
		name = NULL;
		ok = sk_GENERAL_NAME_push(gens, gen);
		if (ok)
			gen = NULL;
	}
	ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT) == 1;
	X509_NAME_free(name);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -ENOMEM;
}

enum cert_kind { CERT_EK_RSA, CERT_EK_ECC, CERT_PLATFORM };

static X509 *make_cert(struct ca *ca, EVP_PKEY *pub, enum cert_kind kind,
		       const struct tpm_props *pr)
{
	char manu[16], fw[24];
	const char *tpm_oids[3] = { "2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3" };
	const char *plat_oids[3] = { "2.23.133.2.4", "2.23.133.2.5", "2.23.133.2.6" };
	const char *tpm_vals[3] = { manu, pr->vendor[0] ? pr->vendor : "libtpms", fw };
	const char *plat_vals[3] = { "xen-tpmback", "Xen PV vTPM (vtpmctl)", VTPMCTL_VERSION };
	X509 *c = X509_new();
	int ok;

	snprintf(manu, sizeof(manu), "id:%08X", pr->manufacturer);
	snprintf(fw, sizeof(fw), "id:%08X%08X", pr->fw1, pr->fw2);
	ok = c && X509_set_version(c, 2) && !ca_set_serial(c) &&
	     X509_set_issuer_name(c, X509_get_subject_name(ca->cert)) &&
	     X509_gmtime_adj(X509_getm_notBefore(c), -3600) &&
	     ASN1_TIME_set_string_X509(X509_getm_notAfter(c), "99991231235959Z") &&
	     X509_set_pubkey(c, pub);
	if (ok && kind == CERT_PLATFORM) {
		ok = !add_san(c, plat_oids, plat_vals) &&
		     !ca_add_ext(ca, c, NID_ext_key_usage, "2.23.133.8.2");
	} else if (ok) {
		ok = !add_san(c, tpm_oids, tpm_vals) && !add_tpm_spec(c, pr) &&
		     !ca_add_ext(ca, c, NID_key_usage, kind == CERT_EK_RSA ?
				 "critical,keyEncipherment" : "critical,keyAgreement") &&
		     !ca_add_ext(ca, c, NID_ext_key_usage, "2.23.133.8.1");
	}
	ok = ok && !ca_add_ext(ca, c, NID_basic_constraints, "critical,CA:FALSE") &&
	     !ca_add_ext(ca, c, NID_authority_key_identifier, "keyid:always") &&
	     X509_sign(c, ca->key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(c);
		return NULL;
	}
	return c;
}

static int tpm_ok(struct vtpm *v, struct tpmbuf *t, uint32_t *rcp)
{
	size_t len;
	uint32_t rc;
	int err = tpm_run(v, t, resp, &len, &rc);

	if (rcp)
		*rcp = rc;
	if (err)
		return err;
	return rc ? -EPROTO : 0;
}

/* Define, write and write-lock one certificate index. */
static int nv_store(struct vtpm *v, uint32_t index, const uint8_t *der, size_t len,
		    uint32_t *rc)
{
	struct tpmbuf t;
	size_t off;
	int err;

	tb_begin(&t, TPM2_ST_SESSIONS, TPM2_CC_NV_DEFINE);
	tb_u32(&t, TPM2_RH_PLATFORM);
	tb_pw_session(&t);
	tb_u16(&t, 0);			/* auth */
	tb_u16(&t, 14);			/* TPM2B_NV_PUBLIC */
	tb_u32(&t, index);
	tb_u16(&t, TPM2_ALG_SHA256);
	tb_u32(&t, TPMA_NV_EKCERT);
	tb_u16(&t, 0);			/* authPolicy */
	tb_u16(&t, len);
	err = tpm_ok(v, &t, rc);
	if (err)
		return err;
	for (off = 0; off < len; off += NV_CHUNK) {
		size_t n = len - off < NV_CHUNK ? len - off : NV_CHUNK;

		tb_begin(&t, TPM2_ST_SESSIONS, TPM2_CC_NV_WRITE);
		tb_u32(&t, TPM2_RH_PLATFORM);
		tb_u32(&t, index);
		tb_pw_session(&t);
		tb_2b(&t, der + off, n);
		tb_u16(&t, off);
		err = tpm_ok(v, &t, rc);
		if (err)
			return err;
	}
	tb_begin(&t, TPM2_ST_SESSIONS, TPM2_CC_NV_WRITELOCK);
	tb_u32(&t, TPM2_RH_PLATFORM);
	tb_u32(&t, index);
	tb_pw_session(&t);
	return tpm_ok(v, &t, rc);
}

int ek_provision(const struct vtpm_opts *opts, struct ca *ca, char *why, size_t wlen)
{
	static const struct {
		enum cert_kind kind;
		uint32_t index;
		const char *what;
	} certs[] = {
		{ CERT_EK_RSA, EK_CERT_RSA_NV, "RSA EK certificate" },
		{ CERT_EK_ECC, EK_CERT_ECC_NV, "ECC EK certificate" },
		{ CERT_PLATFORM, PLATFORM_CERT_NV, "platform certificate" },
	};
	EVP_PKEY *rsa = NULL, *ecc = NULL;
	struct tpm_props pr;
	struct vtpm *v;
	uint32_t rc = 0;
	size_t i;
	int err;

	v = vtpm_new(opts);
	if (!v) {
		err = -errno;
		snprintf(why, wlen, "cannot open the new vTPM: %s", vtpm_strerror(err));
		return err;
	}
	err = get_props(v, &pr);
	if (err) {
		snprintf(why, wlen, "TPM2_GetCapability failed");
		goto out;
	}
	err = create_ek(v, TPM2_ALG_RSA, &rsa);
	if (!err)
		err = create_ek(v, TPM2_ALG_ECC, &ecc);
	if (err) {
		snprintf(why, wlen, "TPM2_CreatePrimary of an EK failed");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(certs); i++) {
		X509 *c = make_cert(ca, certs[i].kind == CERT_EK_ECC ? ecc : rsa,
				    certs[i].kind, &pr);
		uint8_t *der = NULL;
		int len = c ? i2d_X509(c, &der) : -1;

		X509_free(c);
		if (len <= 0) {
			snprintf(why, wlen, "cannot make the %s (OpenSSL)", certs[i].what);
			err = -ENOMEM;
			goto out;
		}
		err = nv_store(v, certs[i].index, der, len, &rc);
		OPENSSL_free(der);
		if (err) {
			snprintf(why, wlen, "cannot store the %s in NV index 0x%08x: %s",
				 certs[i].what, certs[i].index,
				 err == -EPROTO ? "TPM error" : vtpm_strerror(err));
			if (err == -EPROTO)
				snprintf(why + strlen(why), wlen - strlen(why), " 0x%x", rc);
			goto out;
		}
	}
out:
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ecc);
	/* a power-off: the state saved, the next start a Startup(CLEAR) */
	vtpm_power_off(v);
	return err;
}
