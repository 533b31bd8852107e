/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: the TPM 2.0 constants protocol.c uses (TPM 2.0 Part 2). */
#ifndef FUZZ_SHIM_TPM_H
#define FUZZ_SHIM_TPM_H
#define TPM_HEADER_SIZE			10
#define TPM2_ST_NO_SESSIONS		0x8001
#define TPM2_ST_SESSIONS		0x8002
#define TPM2_CC_CREATE_PRIMARY		0x0131
#define TPM2_CC_CREATE			0x0153
#define TPM2_CC_CREATE_LOADED		0x0191
#define TPM2_RC_FAILURE			0x0101
#define TPM2_DURATION_LONG_LONG		300000
#endif
