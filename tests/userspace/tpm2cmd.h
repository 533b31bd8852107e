/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny TPM 2.0 command builders for the tests: byte-exact commands with a
 * password session (TPM_RS_PW, empty auth) where one is needed.
 */
#ifndef TPM2CMD_H
#define TPM2CMD_H

#include <stdint.h>
#include <string.h>

#define TPM2_ST_NO_SESSIONS	0x8001
#define TPM2_ST_SESSIONS	0x8002
#define TPM2_RH_OWNER		0x40000001
#define TPM2_RS_PW		0x40000009
#define TPM2_ALG_SHA256		0x000b
#define TPM2_RC_INITIALIZE	0x100
#define TPM2_RC_NV_UNINITIALIZED 0x14a

/* OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD */
#define TPM2_NV_ATTRS		0x00060006

struct tbuf {
	uint8_t b[4096];
	size_t n;
};

static inline void tb_u8(struct tbuf *t, uint8_t v) { t->b[t->n++] = v; }
static inline void tb_u16(struct tbuf *t, uint16_t v) { tb_u8(t, v >> 8); tb_u8(t, v); }
static inline void tb_u32(struct tbuf *t, uint32_t v) { tb_u16(t, v >> 16); tb_u16(t, v); }
static inline void tb_mem(struct tbuf *t, const void *p, size_t n)
{
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static inline uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static inline void tb_start(struct tbuf *t, uint16_t tag, uint32_t cc)
{
	t->n = 0;
	tb_u16(t, tag);
	tb_u32(t, 0);		/* size, patched by tb_end */
	tb_u32(t, cc);
}

static inline void tb_end(struct tbuf *t)
{
	t->b[2] = t->n >> 24;
	t->b[3] = t->n >> 16;
	t->b[4] = t->n >> 8;
	t->b[5] = t->n;
}

static inline void tb_pw_session(struct tbuf *t)
{
	tb_u32(t, 9);		/* authorizationSize */
	tb_u32(t, TPM2_RS_PW);
	tb_u16(t, 0);		/* nonce */
	tb_u8(t, 0);		/* attributes */
	tb_u16(t, 0);		/* hmac */
}

static inline void cmd_startup(struct tbuf *t, uint16_t su)
{
	tb_start(t, TPM2_ST_NO_SESSIONS, 0x144);
	tb_u16(t, su);
	tb_end(t);
}

static inline void cmd_getrandom(struct tbuf *t, uint16_t n)
{
	tb_start(t, TPM2_ST_NO_SESSIONS, 0x17b);
	tb_u16(t, n);
	tb_end(t);
}

static inline void cmd_pcr_extend(struct tbuf *t, uint32_t pcr, const uint8_t d[32])
{
	tb_start(t, TPM2_ST_SESSIONS, 0x182);
	tb_u32(t, pcr);
	tb_pw_session(t);
	tb_u32(t, 1);
	tb_u16(t, TPM2_ALG_SHA256);
	tb_mem(t, d, 32);
	tb_end(t);
}

static inline void cmd_pcr_read(struct tbuf *t, uint32_t pcr)
{
	tb_start(t, TPM2_ST_NO_SESSIONS, 0x17e);
	tb_u32(t, 1);
	tb_u16(t, TPM2_ALG_SHA256);
	tb_u8(t, 3);
	tb_u8(t, pcr < 8 ? 1 << pcr : 0);
	tb_u8(t, pcr >= 8 && pcr < 16 ? 1 << (pcr - 8) : 0);
	tb_u8(t, pcr >= 16 ? 1 << (pcr - 16) : 0);
	tb_end(t);
}

/* offset of the 32-byte digest in a PCR_Read response with one PCR */
#define PCR_READ_DIGEST_OFF	(10 + 4 + 10 + 4 + 2)

static inline void cmd_nv_define(struct tbuf *t, uint32_t index, uint16_t size)
{
	tb_start(t, TPM2_ST_SESSIONS, 0x12a);
	tb_u32(t, TPM2_RH_OWNER);
	tb_pw_session(t);
	tb_u16(t, 0);			/* auth */
	tb_u16(t, 4 + 2 + 4 + 2 + 2);	/* TPM2B_NV_PUBLIC size */
	tb_u32(t, index);
	tb_u16(t, TPM2_ALG_SHA256);
	tb_u32(t, TPM2_NV_ATTRS);
	tb_u16(t, 0);			/* authPolicy */
	tb_u16(t, size);
	tb_end(t);
}

static inline void cmd_nv_write(struct tbuf *t, uint32_t index, const void *d,
				uint16_t n, uint16_t off)
{
	tb_start(t, TPM2_ST_SESSIONS, 0x137);
	tb_u32(t, index);		/* authHandle: the index (AUTHWRITE) */
	tb_u32(t, index);
	tb_pw_session(t);
	tb_u16(t, n);
	tb_mem(t, d, n);
	tb_u16(t, off);
	tb_end(t);
}

static inline void cmd_nv_read(struct tbuf *t, uint32_t index, uint16_t n,
			       uint16_t off)
{
	tb_start(t, TPM2_ST_SESSIONS, 0x14e);
	tb_u32(t, index);
	tb_u32(t, index);
	tb_pw_session(t);
	tb_u16(t, n);
	tb_u16(t, off);
	tb_end(t);
}

/* NV_Read response: header(10) parameterSize(4) TPM2B(2 + data) */
#define NV_READ_DATA_OFF	(10 + 4 + 2)

static inline void cmd_nv_undefine(struct tbuf *t, uint32_t index)
{
	tb_start(t, TPM2_ST_SESSIONS, 0x122);
	tb_u32(t, TPM2_RH_OWNER);
	tb_u32(t, index);
	tb_pw_session(t);
	tb_end(t);
}

static inline void cmd_createprimary_ecc(struct tbuf *t)
{
	tb_start(t, TPM2_ST_SESSIONS, 0x131);
	tb_u32(t, TPM2_RH_OWNER);
	tb_pw_session(t);
	tb_u16(t, 4);			/* inSensitive: userAuth 0, data 0 */
	tb_u16(t, 0);
	tb_u16(t, 0);
	/* inPublic: TPMT_PUBLIC ECC P-256 restricted decrypt (SRK-like) */
	{
		struct tbuf p = { .n = 0 };

		tb_u16(&p, 0x0023);		/* TPM_ALG_ECC */
		tb_u16(&p, TPM2_ALG_SHA256);
		tb_u32(&p, 0x00030472);		/* fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt */
		tb_u16(&p, 0);			/* authPolicy */
		tb_u16(&p, 0x0006);		/* symmetric AES */
		tb_u16(&p, 128);
		tb_u16(&p, 0x0043);		/* CFB */
		tb_u16(&p, 0x0010);		/* scheme NULL */
		tb_u16(&p, 0x0003);		/* NIST P-256 */
		tb_u16(&p, 0x0010);		/* kdf NULL */
		tb_u16(&p, 0);			/* unique x */
		tb_u16(&p, 0);			/* unique y */
		tb_u16(t, p.n);
		tb_mem(t, p.b, p.n);
	}
	tb_u16(t, 0);			/* outsideInfo */
	tb_u32(t, 0);			/* creationPCR: count 0 */
	tb_end(t);
}

static inline uint32_t rsp_rc(const uint8_t *r, size_t n)
{
	return n >= 10 ? be32(r + 6) : 0xffffffff;
}

#endif /* TPM2CMD_H */
