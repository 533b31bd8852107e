// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the TPM error responses the backend makes up by itself, with the
 * tag and return code of the request's TPM family.
 */

#include <kunit/test.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "protocol.h"

struct err_case {
	const char *name;
	u8 cmd[2];		/* the request's first bytes (its tag) */
	u32 cmd_len;		/* bytes of the request available */
	enum xen_tpmbk_error err;
	u8 expected[TPM_HEADER_SIZE];
};

#define RSP12(hi, lo)	{ 0x00, 0xC4, 0, 0, 0, 10, 0, 0, hi, lo }
#define RSP20(hi, lo)	{ 0x80, 0x01, 0, 0, 0, 10, 0, 0, hi, lo }

static const struct err_case err_cases[] = {
	/* TPM 1.2 requests get tag 0x00C4 */
	{ "tpm12_rqu_failure", { 0x00, 0xC1 }, 14, XEN_TPMBK_ERR_FAILURE, RSP12(0x00, 0x09) },
	{ "tpm12_auth1_failure", { 0x00, 0xC2 }, 50, XEN_TPMBK_ERR_FAILURE, RSP12(0x00, 0x09) },
	{ "tpm12_auth2_failure", { 0x00, 0xC3 }, 80, XEN_TPMBK_ERR_FAILURE, RSP12(0x00, 0x09) },
	{ "tpm12_size", { 0x00, 0xC1 }, 14, XEN_TPMBK_ERR_SIZE, RSP12(0x00, 0x19) },
	{ "tpm12_tag", { 0x00, 0xC1 }, 14, XEN_TPMBK_ERR_TAG, RSP12(0x00, 0x1E) },
	{ "tpm12_locality", { 0x00, 0xC1 }, 14, XEN_TPMBK_ERR_LOCALITY, RSP12(0x00, 0x3D) },
	/* TPM 2.0 requests get tag 0x8001 (TPM_ST_NO_SESSIONS) */
	{ "tpm2_failure", { 0x80, 0x01 }, 12, XEN_TPMBK_ERR_FAILURE, RSP20(0x01, 0x01) },
	{ "tpm2_sessions_failure", { 0x80, 0x02 }, 40, XEN_TPMBK_ERR_FAILURE, RSP20(0x01, 0x01) },
	{ "tpm2_size", { 0x80, 0x01 }, 12, XEN_TPMBK_ERR_SIZE, RSP20(0x01, 0x42) },
	{ "tpm2_tag", { 0x80, 0x01 }, 12, XEN_TPMBK_ERR_TAG, RSP20(0x00, 0x1E) },
	{ "tpm2_locality", { 0x80, 0x02 }, 12, XEN_TPMBK_ERR_LOCALITY, RSP20(0x01, 0x07) },
	/* unknown or missing tag: answered as a TPM 2.0 would */
	{ "unknown_tag", { 0x12, 0x34 }, 12, XEN_TPMBK_ERR_TAG, RSP20(0x00, 0x1E) },
	{ "response_tag", { 0x00, 0xC4 }, 12, XEN_TPMBK_ERR_TAG, RSP20(0x00, 0x1E) },
	{ "empty_command", { 0x00, 0xC1 }, 0, XEN_TPMBK_ERR_SIZE, RSP20(0x01, 0x42) },
	{ "one_byte_command", { 0x00, 0xC1 }, 1, XEN_TPMBK_ERR_SIZE, RSP20(0x01, 0x42) },
	{ "two_byte_tpm12_command", { 0x00, 0xC1 }, 2, XEN_TPMBK_ERR_SIZE, RSP12(0x00, 0x19) },
};

static void err_case_desc(const struct err_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(err, err_cases, err_case_desc);

static void error_response_table(struct kunit *test)
{
	const struct err_case *c = test->param_value;
	u8 rsp[TPM_HEADER_SIZE + 4];

	memset(rsp, 0xee, sizeof(rsp));
	KUNIT_EXPECT_EQ(test, xen_tpmbk_error_response(rsp, c->cmd, c->cmd_len, c->err),
			TPM_HEADER_SIZE);
	KUNIT_EXPECT_EQ(test, memcmp(rsp, c->expected, TPM_HEADER_SIZE), 0);
	/* Nothing past the 10 bytes. */
	KUNIT_EXPECT_EQ(test, rsp[TPM_HEADER_SIZE], 0xee);
}

static void error_response_is_valid_response(struct kunit *test)
{
	static const u8 cmd[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8 };
	u8 rsp[TPM_HEADER_SIZE];
	u32 len;

	/* What the backend makes up passes its own response check. */
	len = xen_tpmbk_error_response(rsp, cmd, sizeof(cmd), XEN_TPMBK_ERR_FAILURE);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_check_response(rsp, len), 0);
}

static void error_code_failure_per_family(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xen_tpmbk_error_code(XEN_TPMBK_TPM12, XEN_TPMBK_ERR_FAILURE),
			(u32)XEN_TPMBK_TPM12_FAIL);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_error_code(XEN_TPMBK_TPM20, XEN_TPMBK_ERR_FAILURE),
			(u32)TPM2_RC_FAILURE);
	KUNIT_EXPECT_EQ(test, XEN_TPMBK_TPM12_FAIL, 0x9);
	KUNIT_EXPECT_EQ(test, TPM2_RC_FAILURE, 0x101);
}

static void cmd_family_from_tag(struct kunit *test)
{
	static const u8 t12[] = { 0x00, 0xC1 }, t20[] = { 0x80, 0x02 };

	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_family(t12, 2), XEN_TPMBK_TPM12);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_family(t20, 2), XEN_TPMBK_TPM20);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_family(t12, 1), XEN_TPMBK_TPM20);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_cmd_family(t12, 0), XEN_TPMBK_TPM20);
}

static void verdict_error_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xen_tpmbk_verdict_error(XEN_TPMBK_CMD_BAD_SIZE),
			XEN_TPMBK_ERR_SIZE);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_verdict_error(XEN_TPMBK_CMD_BAD_TAG),
			XEN_TPMBK_ERR_TAG);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_verdict_error(XEN_TPMBK_CMD_BAD_LOCALITY),
			XEN_TPMBK_ERR_LOCALITY);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_verdict_error(XEN_TPMBK_CMD_OK),
			XEN_TPMBK_ERR_FAILURE);
}

static struct kunit_case xen_tpmback_error_cases[] = {
	KUNIT_CASE_PARAM(error_response_table, err_gen_params),
	KUNIT_CASE(error_response_is_valid_response),
	KUNIT_CASE(error_code_failure_per_family),
	KUNIT_CASE(cmd_family_from_tag),
	KUNIT_CASE(verdict_error_mapping),
	{}
};

static struct kunit_suite xen_tpmback_error_suite = {
	.name = "xen_tpmback_error",
	.test_cases = xen_tpmback_error_cases,
};

kunit_test_suite(xen_tpmback_error_suite);
