// SPDX-License-Identifier: GPL-2.0
/* Hand-marshalled TPM commands vtpmctl sends to its own vTPM (tpm2cmd.h). */
#include <errno.h>
#include <string.h>

#include "tpm2cmd.h"

void tb_bytes(struct tpmbuf *t, const void *p, size_t len)
{
	if (t->n + len > sizeof(t->b)) {
		t->overflow = 1;
		return;
	}
	memcpy(t->b + t->n, p, len);
	t->n += len;
}

void tb_u8(struct tpmbuf *t, uint8_t v)
{
	tb_bytes(t, &v, 1);
}

void tb_u16(struct tpmbuf *t, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v };

	tb_bytes(t, b, 2);
}

void tb_u32(struct tpmbuf *t, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	tb_bytes(t, b, 4);
}

void tb_2b(struct tpmbuf *t, const void *p, uint16_t len)
{
	tb_u16(t, len);
	tb_bytes(t, p, len);
}

void tb_begin(struct tpmbuf *t, uint16_t tag, uint32_t cc)
{
	t->n = 0;
	t->overflow = 0;
	tb_u16(t, tag);
	tb_u32(t, 0);
	tb_u32(t, cc);
}

void tb_pw_session(struct tpmbuf *t)
{
	tb_u32(t, 9);			/* authorizationSize */
	tb_u32(t, TPM2_RS_PW);
	tb_u16(t, 0);			/* nonce */
	tb_u8(t, 0);			/* session attributes */
	tb_u16(t, 0);			/* empty password */
}

const uint8_t *rd_bytes(struct tpmrd *r, size_t len)
{
	const uint8_t *p;

	if (r->bad || len > r->n - r->o) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->o;
	r->o += len;
	return p;
}

uint8_t rd_u8(struct tpmrd *r)
{
	const uint8_t *p = rd_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t rd_u16(struct tpmrd *r)
{
	const uint8_t *p = rd_bytes(r, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t rd_u32(struct tpmrd *r)
{
	const uint8_t *p = rd_bytes(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3] : 0;
}

int tpm_run(struct vtpm *v, struct tpmbuf *t, uint8_t *resp, size_t *resp_len,
	    uint32_t *rc)
{
	int err;

	if (t->overflow)
		return -E2BIG;
	t->b[2] = t->n >> 24;
	t->b[3] = t->n >> 16;
	t->b[4] = t->n >> 8;
	t->b[5] = t->n;
	*resp_len = VTPM_MAX_PACKET;
	err = vtpm_process(v, t->b, t->n, 0, resp, resp_len);
	if (err)
		return err;
	if (*resp_len < 10)
		return -EPROTO;
	*rc = (uint32_t)resp[6] << 24 | (uint32_t)resp[7] << 16 | resp[8] << 8 | resp[9];
	return 0;
}

unsigned int tpm2_alg_digest_size(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:	return 20;
	case TPM2_ALG_SHA256:	return 32;
	case TPM2_ALG_SHA384:	return 48;
	case TPM2_ALG_SHA512:	return 64;
	}
	return 0;
}

const char *tpm2_alg_md_name(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:	return "SHA1";
	case TPM2_ALG_SHA256:	return "SHA256";
	case TPM2_ALG_SHA384:	return "SHA384";
	case TPM2_ALG_SHA512:	return "SHA512";
	}
	return NULL;
}

int tpm2_get_cap(struct vtpm *v, uint32_t cap, uint32_t property, uint32_t count,
		 uint8_t *resp, struct tpmrd *r)
{
	struct tpmbuf t;
	size_t len;
	uint32_t rc;
	int err;

	tb_begin(&t, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAP);
	tb_u32(&t, cap);
	tb_u32(&t, property);
	tb_u32(&t, count);
	err = tpm_run(v, &t, resp, &len, &rc);
	if (err)
		return err;
	if (rc)
		return -EPROTO;
	*r = (struct tpmrd){ .p = resp, .n = len, .o = 10 };
	rd_u8(r);		/* moreData */
	rd_u32(r);		/* capability */
	return 0;
}

int tpm2_pcr_banks(struct vtpm *v, uint16_t *algs, int max)
{
	static uint8_t resp[VTPM_MAX_PACKET];
	struct tpmrd r;
	uint32_t count, i;
	int err, n = 0;

	err = tpm2_get_cap(v, 5 /* TPM_CAP_PCRS */, 0, 8, resp, &r);
	if (err)
		return err;
	count = rd_u32(&r);
	for (i = 0; i < count && !r.bad; i++) {
		uint16_t alg = rd_u16(&r);
		uint8_t sz = rd_u8(&r);
		const uint8_t *sel = rd_bytes(&r, sz);
		int any = 0, j;

		for (j = 0; sel && j < sz; j++)
			any |= sel[j];
		/* a bank with no PCR selected is not allocated */
		if (any && n < max && tpm2_alg_digest_size(alg))
			algs[n++] = alg;
	}
	return r.bad ? -EPROTO : n;
}
