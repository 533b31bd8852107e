// SPDX-License-Identifier: GPL-2.0
/*
 * The host's own TPM 2.0, through tpm2-tss ESYS over a TCTI ("device:
 * /dev/tpmrm0" by default; "swtpm:path=..." in the tests): seal and unseal
 * the 32-byte host key, and the NV counter the manager anchors rollback
 * protection in.
 *
 * Sealing: a primary ECC P-256 storage key under the owner hierarchy,
 * created again from its template at every use (CreatePrimary is
 * deterministic for a given owner seed and template), never made
 * persistent: no persistent handle to collide with other users of the
 * TPM, no NV spent on it, and a TPM2_Clear or another TPM gives another
 * key, whose name differs from the one recorded at seal time: that is
 * how "a different TPM" is told apart from "damaged". Under it, a sealed
 * keyedhash object holding the key, fixedTPM|fixedParent|noDA, either
 * with an empty auth value (userWithAuth) or bound to a PolicyPCR over
 * SHA-256 PCRs (userWithAuth clear: only the policy opens it). Every
 * command that carries the key (Create, Unseal) runs in a session salted
 * with the primary key and encrypting that parameter, so the key does
 * not cross the bus to a discrete TPM in the clear. The NV counter is
 * read and incremented in sessions salted the same way, so its value is
 * authenticated by the TPM, not taken from the bus on trust.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "hosttpm.h"

struct host_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	char err[512];
};

static const TPMT_SYM_DEF session_sym = {
	.algorithm = TPM2_ALG_AES,
	.keyBits.aes = 128,
	.mode.aes = TPM2_ALG_CFB,
};

const char *host_tpm_error(struct host_tpm *t)
{
	return t->err;
}

static int set_err(struct host_tpm *t, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct host_tpm *t, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return ret;
}

/* the TPM's own response code without the TSS layer, or 0 if another layer */
static TSS2_RC tpm_rc(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	rc &= 0xffff;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);	/* drop the parameter/handle number */
	return rc;
}

static int rc_err(struct host_tpm *t, const char *what, TSS2_RC rc)
{
	TSS2_RC r = tpm_rc(rc);

	if (r == TPM2_RC_BAD_AUTH || r == TPM2_RC_AUTH_FAIL)
		return set_err(t, HTPM_E_AUTH,
			       "%s: the TPM refused the owner hierarchy's authorization (%s); the manager needs an empty owner password",
			       what, Tss2_RC_Decode(rc));
	if (r == TPM2_RC_LOCKOUT)
		return set_err(t, HTPM_E_AUTH, "%s: the TPM is in dictionary-attack lockout (%s)",
			       what, Tss2_RC_Decode(rc));
	return set_err(t, HTPM_E_TPM, "%s: %s", what, Tss2_RC_Decode(rc));
}

int host_tpm_open(const char *tcti_conf, struct host_tpm **out, char *err, size_t errlen)
{
	struct host_tpm *t;
	TSS2_RC rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->primary = ESYS_TR_NONE;
	rc = Tss2_TctiLdr_Initialize(tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "no TPM 2.0 reachable through \"%s\" (%s)",
			 tcti_conf, Tss2_RC_Decode(rc));
		free(t);
		return HTPM_E_NOTPM;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "cannot talk to the TPM through \"%s\" (%s)",
			 tcti_conf, Tss2_RC_Decode(rc));
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return HTPM_E_NOTPM;
	}
	/* a TPM 1.2 or a TPM that answers nothing sensible fails here */
	{
		TPMS_CAPABILITY_DATA *cap = NULL;
		TPMI_YES_NO more;

		rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CAP_TPM_PROPERTIES, TPM2_PT_FAMILY_INDICATOR,
					1, &more, &cap);
		free(cap);
		if (rc != TSS2_RC_SUCCESS) {
			snprintf(err, errlen, "the device behind \"%s\" does not answer as a TPM 2.0 (%s)",
				 tcti_conf, Tss2_RC_Decode(rc));
			host_tpm_close(t);
			return HTPM_E_NOTPM;
		}
	}
	*out = t;
	return 0;
}

void host_tpm_close(struct host_tpm *t)
{
	if (!t)
		return;
	if (t->primary != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, t->primary);
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* The storage primary, created from the template (cached for this context). */
static int primary(struct host_tpm *t, TPM2B_NAME *name_out)
{
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = { .algorithm = TPM2_ALG_AES,
					       .keyBits.aes = 128,
					       .mode.aes = TPM2_ALG_CFB },
				.scheme.scheme = TPM2_ALG_NULL,
				.curveID = TPM2_ECC_NIST_P256,
				.kdf.scheme = TPM2_ALG_NULL,
			},
		},
	};
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;

	/* a label in the unique field: our own primary, not the SRK */
	static const char label[] = "libvtpm host key";
	tmpl.publicArea.unique.ecc.x.size = sizeof(label) - 1;
	memcpy(tmpl.publicArea.unique.ecc.x.buffer, label, sizeof(label) - 1);

	if (t->primary == ESYS_TR_NONE) {
		rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
					&outside, &pcrs, &t->primary, NULL, NULL, NULL,
					NULL);
		if (rc != TSS2_RC_SUCCESS) {
			t->primary = ESYS_TR_NONE;
			return rc_err(t, "cannot create the storage primary key", rc);
		}
	}
	if (name_out) {
		rc = Esys_TR_GetName(t->esys, t->primary, &name);
		if (rc != TSS2_RC_SUCCESS)
			return rc_err(t, "cannot read the primary key's name", rc);
		*name_out = *name;
		Esys_Free(name);
	}
	return 0;
}

int host_tpm_primary_name(struct host_tpm *t, uint8_t *name, uint16_t *len)
{
	TPM2B_NAME n;
	int err = primary(t, &n);

	if (err)
		return err;
	memcpy(name, n.name, n.size);
	*len = n.size;
	return 0;
}

int host_tpm_verify_primary(struct host_tpm *t, const struct host_tpm_sealed *in)
{
	TPM2B_NAME name;
	int err = primary(t, &name);

	if (err)
		return err;
	if (name.size != in->name_len || memcmp(name.name, in->name, name.size))
		return set_err(t, HTPM_E_WRONG_TPM,
			       "this is not the TPM the host key was sealed to (or its owner hierarchy was cleared since)");
	return 0;
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = mask;
	sel->pcrSelections[0].pcrSelect[1] = mask >> 8;
	sel->pcrSelections[0].pcrSelect[2] = mask >> 16;
}

/* a session salted with the primary key, encrypting what it is told */
static int salted_session(struct host_tpm *t, TPM2_SE type, TPMA_SESSION attrs,
			  ESYS_TR *s)
{
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, type,
				   &session_sym, TPM2_ALG_SHA256, s);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot start a session", rc);
	rc = Esys_TRSess_SetAttributes(t->esys, *s, attrs, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(t->esys, *s);
		return rc_err(t, "cannot set session attributes", rc);
	}
	return 0;
}

/* the PolicyPCR digest over the PCRs' current values */
static int pcr_policy_digest(struct host_tpm *t, uint32_t mask, TPM2B_DIGEST *out)
{
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST empty = { 0 }, *d = NULL;
	TPMT_SYM_DEF nosym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s;
	TSS2_RC rc;

	pcr_selection(mask, &sel);
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
				   &nosym, TPM2_ALG_SHA256, &s);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot start a trial policy session", rc);
	rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &empty, &sel);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &d);
	Esys_FlushContext(t->esys, s);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot compute the PCR policy", rc);
	*out = *d;
	Esys_Free(d);
	return 0;
}

int host_tpm_seal(struct host_tpm *t, const uint8_t key[HTPM_KEY_LEN],
		  uint32_t pcr_mask, struct host_tpm_sealed *out)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_NODA,
			.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION nopcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME name;
	size_t off;
	ESYS_TR s;
	TSS2_RC rc;
	int err;

	memset(out, 0, sizeof(*out));
	err = primary(t, &name);
	if (err)
		return err;
	if (pcr_mask) {
		err = pcr_policy_digest(t, pcr_mask, &in.publicArea.authPolicy);
		if (err)
			return err;
	} else {
		in.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	}
	sens.sensitive.data.size = HTPM_KEY_LEN;
	memcpy(sens.sensitive.data.buffer, key, HTPM_KEY_LEN);
	err = salted_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT |
			     TPMA_SESSION_CONTINUESESSION, &s);
	if (err)
		goto out;
	rc = Esys_Create(t->esys, t->primary, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
			 &in, &outside, &nopcrs, &priv, &pub, NULL, NULL, NULL);
	Esys_FlushContext(t->esys, s);
	if (rc != TSS2_RC_SUCCESS) {
		err = rc_err(t, "cannot seal the host key", rc);
		goto out;
	}
	out->name_len = name.size;
	memcpy(out->name, name.name, name.size);
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out->pub, sizeof(out->pub), &off)) {
		err = set_err(t, HTPM_E_TPM, "cannot marshal the sealed object");
		goto out;
	}
	out->pub_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, out->priv, sizeof(out->priv), &off)) {
		err = set_err(t, HTPM_E_TPM, "cannot marshal the sealed object");
		goto out;
	}
	out->priv_len = off;
	out->pcr_mask = pcr_mask;
out:
	explicit_bzero(&sens, sizeof(sens));
	Esys_Free(priv);
	Esys_Free(pub);
	return err;
}

int host_tpm_unseal(struct host_tpm *t, const struct host_tpm_sealed *in,
		    uint8_t key[HTPM_KEY_LEN])
{
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPM2B_PRIVATE priv = { 0 };
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_NAME name;
	ESYS_TR obj = ESYS_TR_NONE, s = ESYS_TR_NONE;
	size_t off;
	TSS2_RC rc, r;
	int err;

	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(in->pub, in->pub_len, &off, &pub) ||
	    off != in->pub_len)
		return set_err(t, HTPM_E_DAMAGED, "the sealed object's public part does not parse");
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(in->priv, in->priv_len, &off, &priv) ||
	    off != in->priv_len)
		return set_err(t, HTPM_E_DAMAGED, "the sealed object's private part does not parse");
	err = primary(t, &name);
	if (err)
		return err;
	if (name.size != in->name_len || memcmp(name.name, in->name, name.size))
		return set_err(t, HTPM_E_WRONG_TPM,
			       "sealed by a different TPM (or this TPM's owner hierarchy was cleared since): its storage key is not the one the host key was sealed under");
	rc = Esys_Load(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		       ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_rc(rc);
		if (r == TPM2_RC_INTEGRITY || r == TPM2_RC_SIZE || r == TPM2_RC_VALUE ||
		    r == TPM2_RC_ATTRIBUTES || r == TPM2_RC_KEY || r == TPM2_RC_BINDING)
			return set_err(t, HTPM_E_DAMAGED,
				       "the sealed object does not load under this TPM's storage key: damaged or tampered with (%s)",
				       Tss2_RC_Decode(rc));
		return rc_err(t, "cannot load the sealed object", rc);
	}
	if (in->pcr_mask) {
		TPML_PCR_SELECTION sel;
		TPM2B_DIGEST empty = { 0 };

		pcr_selection(in->pcr_mask, &sel);
		err = salted_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &s);
		if (err)
			goto out;
		rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    &empty, &sel);
		if (rc != TSS2_RC_SUCCESS) {
			err = rc_err(t, "PolicyPCR failed", rc);
			goto out;
		}
	} else {
		err = salted_session(t, TPM2_SE_HMAC, TPMA_SESSION_ENCRYPT, &s);
		if (err)
			goto out;
	}
	rc = Esys_Unseal(t->esys, obj, s, ESYS_TR_NONE, ESYS_TR_NONE, &data);
	if (rc == TSS2_RC_SUCCESS)
		s = ESYS_TR_NONE;	/* continueSession clear: the TPM flushed it */
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_rc(rc);
		if (r == TPM2_RC_POLICY_FAIL || r == TPM2_RC_PCR_CHANGED)
			err = set_err(t, HTPM_E_POLICY,
				      "the PCR policy does not match: the bound PCRs differ from their values when the host key was sealed (firmware, boot loader or Secure Boot settings changed?)");
		else
			err = rc_err(t, "cannot unseal the host key", rc);
		goto out;
	}
	if (data->size != HTPM_KEY_LEN) {
		err = set_err(t, HTPM_E_DAMAGED, "the sealed object holds %u bytes, not %d",
			      data->size, HTPM_KEY_LEN);
		goto out;
	}
	memcpy(key, data->buffer, HTPM_KEY_LEN);
	err = 0;
out:
	if (data) {
		explicit_bzero(data, sizeof(*data));
		Esys_Free(data);
	}
	if (s != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, s);
	if (obj != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, obj);
	return err;
}

/* ---- the NV counter ------------------------------------------------------ */

#define COUNTER_ATTRS (TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | \
		       TPMA_NV_NO_DA | (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

/* the index's ESYS handle; HTPM_E_NV_MISSING if it is not defined */
static int nv_handle(struct host_tpm *t, uint32_t index, ESYS_TR *tr, int *written)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, tr);
	if (rc != TSS2_RC_SUCCESS) {
		if (tpm_rc(rc) == TPM2_RC_HANDLE)
			return set_err(t, HTPM_E_NV_MISSING,
				       "NV index 0x%08x is not defined in this TPM", index);
		return rc_err(t, "cannot look up the NV counter", rc);
	}
	rc = Esys_NV_ReadPublic(t->esys, *tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				&pub, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot read the NV counter's attributes", rc);
	if ((pub->nvPublic.attributes & ~(TPMA_NV_WRITTEN | TPMA_NV_READLOCKED |
					  TPMA_NV_WRITELOCKED)) != COUNTER_ATTRS) {
		Esys_Free(pub);
		return set_err(t, HTPM_E_TPM,
			       "NV index 0x%08x exists but is not the manager's counter (attributes 0x%08x)",
			       index, (unsigned int)pub->nvPublic.attributes);
	}
	if (written)
		*written = !!(pub->nvPublic.attributes & TPMA_NV_WRITTEN);
	Esys_Free(pub);
	return 0;
}

int host_tpm_counter_define(struct host_tpm *t, uint32_t index, int *existed)
{
	TPM2B_NV_PUBLIC pub = {
		.nvPublic = {
			.nvIndex = index,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = COUNTER_ATTRS,
			.dataSize = 8,
		},
	};
	TPM2B_AUTH auth = { 0 };
	ESYS_TR tr;
	TSS2_RC rc;
	int err;

	*existed = 0;
	err = nv_handle(t, index, &tr, NULL);
	if (!err) {
		*existed = 1;
		return 0;
	}
	if (err != HTPM_E_NV_MISSING)
		return err;
	rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &tr);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot define the NV counter", rc);
	return 0;
}

int host_tpm_counter_read(struct host_tpm *t, uint32_t index, uint64_t *value)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	ESYS_TR tr, s;
	TSS2_RC rc;
	int err, written = 0, i;

	err = nv_handle(t, index, &tr, &written);
	if (err)
		return err;
	if (!written) {
		*value = 0;
		return 0;
	}
	/* an HMAC session salted with the primary: the TPM's answer is
	 * authenticated, a bus interposer cannot forge the value */
	err = primary(t, NULL);
	if (!err)
		err = salted_session(t, TPM2_SE_HMAC, 0, &s);
	if (err)
		return err;
	rc = Esys_NV_Read(t->esys, tr, tr, s, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &data);
	Esys_FlushContext(t->esys, s);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot read the NV counter", rc);
	if (data->size != 8) {
		Esys_Free(data);
		return set_err(t, HTPM_E_TPM, "the NV counter reads %u bytes", data->size);
	}
	*value = 0;
	for (i = 0; i < 8; i++)
		*value = *value << 8 | data->buffer[i];
	Esys_Free(data);
	return 0;
}

int host_tpm_counter_increment(struct host_tpm *t, uint32_t index, uint64_t *value)
{
	ESYS_TR tr, s;
	TSS2_RC rc;
	int err;

	err = nv_handle(t, index, &tr, NULL);
	if (err)
		return err;
	err = primary(t, NULL);
	if (!err)
		err = salted_session(t, TPM2_SE_HMAC, 0, &s);
	if (err)
		return err;
	rc = Esys_NV_Increment(t->esys, ESYS_TR_RH_OWNER, tr, s, ESYS_TR_NONE,
			       ESYS_TR_NONE);
	Esys_FlushContext(t->esys, s);
	if (rc != TSS2_RC_SUCCESS)
		return rc_err(t, "cannot increment the NV counter", rc);
	return value ? host_tpm_counter_read(t, index, value) : 0;
}

int host_tpm_counter_undefine(struct host_tpm *t, uint32_t index)
{
	ESYS_TR tr;
	TSS2_RC rc;
	int err;

	err = nv_handle(t, index, &tr, NULL);
	if (err)
		return err;
	rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE);
	return rc == TSS2_RC_SUCCESS ? 0 : rc_err(t, "cannot undefine the NV counter", rc);
}
