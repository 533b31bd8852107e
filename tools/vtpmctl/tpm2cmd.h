/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TPM 2.0 / 1.2 commands vtpmctl itself sends to a vTPM it has open
 * (create: EK certificates; serve: measured boot), marshalled by hand
 * into one buffer: a handful of fixed commands, big-endian as the TPM
 * wants them.
 */
#ifndef VTPMCTL_TPM2CMD_H
#define VTPMCTL_TPM2CMD_H

#include <stddef.h>
#include <stdint.h>

#include "libvtpm/libvtpm.h"

#define TPM2_ST_NO_SESSIONS	0x8001
#define TPM2_ST_SESSIONS	0x8002
#define TPM2_RS_PW		0x40000009
#define TPM2_RH_ENDORSEMENT	0x4000000B
#define TPM2_RH_PLATFORM	0x4000000C
#define TPM2_RC_INITIALIZE	0x100
#define TPM2_RC_NV_DEFINED	0x14C

#define TPM2_CC_NV_DEFINE	0x12A
#define TPM2_CC_CREATE_PRIMARY	0x131
#define TPM2_CC_NV_WRITE	0x137
#define TPM2_CC_NV_WRITELOCK	0x138
#define TPM2_CC_FLUSH		0x165
#define TPM2_CC_GET_CAP		0x17A
#define TPM2_CC_PCR_EXTEND	0x182

#define TPM2_ALG_RSA		0x0001
#define TPM2_ALG_SHA1		0x0004
#define TPM2_ALG_AES		0x0006
#define TPM2_ALG_SHA256		0x000B
#define TPM2_ALG_SHA384		0x000C
#define TPM2_ALG_SHA512		0x000D
#define TPM2_ALG_NULL		0x0010
#define TPM2_ALG_ECC		0x0023
#define TPM2_ALG_CFB		0x0043

struct tpmbuf {
	uint8_t b[VTPM_MAX_PACKET];
	size_t n;
	int overflow;
};

void tb_u8(struct tpmbuf *t, uint8_t v);
void tb_u16(struct tpmbuf *t, uint16_t v);
void tb_u32(struct tpmbuf *t, uint32_t v);
void tb_bytes(struct tpmbuf *t, const void *p, size_t len);
void tb_2b(struct tpmbuf *t, const void *p, uint16_t len);	/* TPM2B: size + bytes */
/* a command header (size patched by tpm_run) */
void tb_begin(struct tpmbuf *t, uint16_t tag, uint32_t cc);
/* the empty password session of an authorisation area */
void tb_pw_session(struct tpmbuf *t);

/* reading a response */
struct tpmrd {
	const uint8_t *p;
	size_t n, o;
	int bad;
};
uint8_t rd_u8(struct tpmrd *r);
uint16_t rd_u16(struct tpmrd *r);
uint32_t rd_u32(struct tpmrd *r);
const uint8_t *rd_bytes(struct tpmrd *r, size_t len);

/*
 * Run the command in t through the vTPM; the response goes to resp
 * (VTPM_MAX_PACKET bytes), *rc gets its return code. 0, or a negative
 * errno if no response came (a malformed one is -EPROTO).
 */
int tpm_run(struct vtpm *v, struct tpmbuf *t, uint8_t *resp, size_t *resp_len,
	    uint32_t *rc);

/*
 * TPM2_GetCapability(cap, property, count); the response goes to resp
 * (VTPM_MAX_PACKET bytes) and *r is left at its list's count (after
 * moreData and capability). 0, a negative errno, or -EPROTO for a TPM
 * error.
 */
int tpm2_get_cap(struct vtpm *v, uint32_t cap, uint32_t property, uint32_t count,
		 uint8_t *resp, struct tpmrd *r);

/* The PCR banks the TPM 2.0 has allocated (TPM2_ALG_*), at most 8. */
int tpm2_pcr_banks(struct vtpm *v, uint16_t *algs, int max);
/* digest size of a TPM hash algorithm, 0 if unknown */
unsigned int tpm2_alg_digest_size(uint16_t alg);
/* OpenSSL's name of it ("SHA256"), NULL if unknown */
const char *tpm2_alg_md_name(uint16_t alg);

#endif /* VTPMCTL_TPM2CMD_H */
