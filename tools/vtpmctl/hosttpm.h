/* SPDX-License-Identifier: GPL-2.0 */
/* The host's TPM 2.0 through tpm2-tss ESYS: sealing and the NV counter. */
#ifndef VTPMCTL_HOSTTPM_H
#define VTPMCTL_HOSTTPM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define HTPM_KEY_LEN 32

/* errors (negative), each with a message in host_tpm_error() */
enum {
	HTPM_E_NOTPM = -1000,	/* no TPM 2.0 behind the TCTI */
	HTPM_E_WRONG_TPM,	/* sealed by another TPM (or after TPM2_Clear) */
	HTPM_E_POLICY,		/* PCR policy does not match */
	HTPM_E_DAMAGED,		/* sealed object damaged or tampered */
	HTPM_E_AUTH,		/* owner authorization refused, lockout */
	HTPM_E_NV_MISSING,	/* the NV counter index is not defined */
	HTPM_E_TPM,		/* any other TPM or TSS failure */
};

struct host_tpm;

/* the sealed host key, as stored in the sealed key file */
struct host_tpm_sealed {
	uint32_t pcr_mask;		/* SHA-256 PCRs 0..23 in the policy */
	uint16_t name_len;		/* name of the primary it was sealed under */
	uint8_t name[68];
	uint16_t pub_len;		/* marshalled TPM2B_PUBLIC */
	uint8_t pub[640];
	uint16_t priv_len;		/* marshalled TPM2B_PRIVATE */
	uint8_t priv[640];
};

/* tcti: a TCTI configuration ("device:/dev/tpmrm0", "swtpm:path=..."). */
int host_tpm_open(const char *tcti, struct host_tpm **t, char *err, size_t errlen);
void host_tpm_close(struct host_tpm *t);
const char *host_tpm_error(struct host_tpm *t);

int host_tpm_seal(struct host_tpm *t, const uint8_t key[HTPM_KEY_LEN],
		  uint32_t pcr_mask, struct host_tpm_sealed *out);
/* the storage primary's name (up to 68 bytes): which TPM this is */
int host_tpm_primary_name(struct host_tpm *t, uint8_t *name, uint16_t *len);
/* the storage primary is the one the key was sealed under (same TPM) */
int host_tpm_verify_primary(struct host_tpm *t, const struct host_tpm_sealed *in);
int host_tpm_unseal(struct host_tpm *t, const struct host_tpm_sealed *in,
		    uint8_t key[HTPM_KEY_LEN]);

int host_tpm_counter_define(struct host_tpm *t, uint32_t index, int *existed);
int host_tpm_counter_read(struct host_tpm *t, uint32_t index, uint64_t *value);
int host_tpm_counter_increment(struct host_tpm *t, uint32_t index, uint64_t *value);
int host_tpm_counter_undefine(struct host_tpm *t, uint32_t index);

#endif /* VTPMCTL_HOSTTPM_H */
