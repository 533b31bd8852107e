// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: validation of commands from the guest and of what the server
 * writes back.
 */

#include <kunit/test.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "protocol.h"

#define TPM2_CC_GET_RANDOM	0x017B
#define TPM12_ORD_GET_RANDOM	0x0046

/* A command: tag, size field, code, then zero parameters up to @len. */
static u8 *make_cmd(struct kunit *test, u16 tag, u32 size_field, u32 len)
{
	u8 *cmd = kunit_kzalloc(test, XEN_TPMBK_MAX_PACKET, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, cmd);
	put_unaligned_be16(tag, cmd);
	put_unaligned_be32(size_field, cmd + 2);
	put_unaligned_be32(tag == TPM_TAG_RQU_COMMAND ?
			   TPM12_ORD_GET_RANDOM : TPM2_CC_GET_RANDOM, cmd + 6);
	return cmd;
}

struct cmd_case {
	const char *name;
	u16 tag;
	u32 size_field;
	u32 len;
	u8 locality;
	enum xen_tpmbk_verdict expected;
};

static const struct cmd_case cmd_cases[] = {
	/* well-formed */
	{ "tpm2_getrandom", 0x8001, 12, 12, 0, XEN_TPMBK_CMD_OK },
	{ "tpm2_sessions", 0x8002, 40, 40, 0, XEN_TPMBK_CMD_OK },
	{ "tpm12_rqu", 0x00C1, 14, 14, 0, XEN_TPMBK_CMD_OK },
	{ "tpm12_auth1", 0x00C2, 50, 50, 0, XEN_TPMBK_CMD_OK },
	{ "tpm12_auth2", 0x00C3, 80, 80, 0, XEN_TPMBK_CMD_OK },
	{ "header_only", 0x8001, 10, 10, 0, XEN_TPMBK_CMD_OK },
	{ "max_packet", 0x8001, 4088, 4088, 0, XEN_TPMBK_CMD_OK },
	{ "locality_1", 0x8001, 12, 12, 1, XEN_TPMBK_CMD_OK },
	{ "locality_3", 0x00C1, 14, 14, 3, XEN_TPMBK_CMD_OK },
	/* malformed: size */
	{ "length_0", 0x8001, 0, 0, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "length_9", 0x8001, 9, 9, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "length_4089", 0x8001, 4089, 4089, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "length_4096", 0x8001, 4096, 4096, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "length_u32_max", 0x8001, 12, U32_MAX, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "size_field_bigger", 0x8001, 13, 12, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "size_field_smaller", 0x8001, 11, 12, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "size_field_zero", 0x00C1, 0, 14, 0, XEN_TPMBK_CMD_BAD_SIZE },
	{ "size_field_huge", 0x00C1, 0x80000000, 14, 0, XEN_TPMBK_CMD_BAD_SIZE },
	/* malformed: tag */
	{ "tag_zero", 0x0000, 12, 12, 0, XEN_TPMBK_CMD_BAD_TAG },
	{ "tag_tpm12_response", 0x00C4, 12, 12, 0, XEN_TPMBK_CMD_BAD_TAG },
	{ "tag_tpm2_8003", 0x8003, 12, 12, 0, XEN_TPMBK_CMD_BAD_TAG },
	{ "tag_ffff", 0xFFFF, 12, 12, 0, XEN_TPMBK_CMD_BAD_TAG },
	/* locality policy: 0-3 pass, 4 and above refused */
	{ "locality_4", 0x8001, 12, 12, 4, XEN_TPMBK_CMD_BAD_LOCALITY },
	{ "locality_255", 0x00C1, 14, 14, 255, XEN_TPMBK_CMD_BAD_LOCALITY },
	/* the first problem found is reported */
	{ "bad_size_before_tag", 0x0000, 13, 12, 4, XEN_TPMBK_CMD_BAD_SIZE },
	{ "bad_tag_before_locality", 0x1234, 12, 12, 4, XEN_TPMBK_CMD_BAD_TAG },
};

static void cmd_case_desc(const struct cmd_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(cmd, cmd_cases, cmd_case_desc);

static void check_command_table(struct kunit *test)
{
	const struct cmd_case *c = test->param_value;
	u8 *cmd = make_cmd(test, c->tag, c->size_field, c->len);

	KUNIT_EXPECT_EQ(test, xen_tpmbk_check_command(cmd, c->len, c->locality),
			c->expected);
}

struct rsp_case {
	const char *name;
	u32 size_field;
	u32 len;
	int expected;
};

static const struct rsp_case rsp_cases[] = {
	{ "header_only", 10, 10, 0 },
	{ "getrandom", 44, 44, 0 },
	{ "max_packet", 4088, 4088, 0 },
	{ "length_0", 0, 0, -EINVAL },
	{ "length_9", 9, 9, -EINVAL },
	{ "length_4089", 4089, 4089, -EINVAL },
	{ "size_field_bigger", 45, 44, -EINVAL },
	{ "size_field_smaller", 43, 44, -EINVAL },
};

static void rsp_case_desc(const struct rsp_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(rsp, rsp_cases, rsp_case_desc);

static void check_response_table(struct kunit *test)
{
	const struct rsp_case *c = test->param_value;
	u8 *rsp = make_cmd(test, 0x8001, c->size_field, c->len);

	KUNIT_EXPECT_EQ(test, xen_tpmbk_check_response(rsp, c->len), c->expected);
}

struct msg_case {
	const char *name;
	struct xen_tpmback_msg msg;
	size_t count;
	int expected;
};

#define HDR	sizeof(struct xen_tpmback_msg)

static const struct msg_case msg_cases[] = {
	{ "rsp_ok", { .type = XEN_TPMBACK_MSG_RSP, .seq = 7, .len = 12 },
	  HDR + 12, 0 },
	{ "rsp_max", { .type = XEN_TPMBACK_MSG_RSP, .len = 4088 },
	  HDR + 4088, 0 },
	{ "short_header", { .type = XEN_TPMBACK_MSG_RSP }, HDR - 1, -EINVAL },
	{ "empty_write", { .type = XEN_TPMBACK_MSG_RSP }, 0, -EINVAL },
	{ "type_cmd", { .type = XEN_TPMBACK_MSG_CMD, .len = 12 },
	  HDR + 12, -EINVAL },
	{ "type_cancel", { .type = XEN_TPMBACK_MSG_CANCEL }, HDR, -EINVAL },
	{ "type_zero", { .type = 0, .len = 12 }, HDR + 12, -EINVAL },
	{ "flags_set", { .type = XEN_TPMBACK_MSG_RSP, .len = 12, .flags = 1 },
	  HDR + 12, -EINVAL },
	{ "reserved_set", { .type = XEN_TPMBACK_MSG_RSP, .len = 12, .reserved = 1 },
	  HDR + 12, -EINVAL },
	{ "len_short_of_write", { .type = XEN_TPMBACK_MSG_RSP, .len = 11 },
	  HDR + 12, -EINVAL },
	{ "len_past_write", { .type = XEN_TPMBACK_MSG_RSP, .len = 13 },
	  HDR + 12, -EINVAL },
	{ "len_4089", { .type = XEN_TPMBACK_MSG_RSP, .len = 4089 },
	  HDR + 4089, -EINVAL },
	{ "len_u32_max", { .type = XEN_TPMBACK_MSG_RSP, .len = U32_MAX },
	  HDR + 12, -EINVAL },
};

static void msg_case_desc(const struct msg_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(msg, msg_cases, msg_case_desc);

static void check_rsp_msg_table(struct kunit *test)
{
	const struct msg_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, xen_tpmbk_check_rsp_msg(&c->msg, c->count),
			c->expected);
}

/*
 * The userspace ABI (<xen/tpmback.h>, version 2): sizes, offsets and ioctl
 * numbers, identical for 32- and 64-bit userspace (no padding, u64 fields
 * 8-aligned), so that compat_ptr_ioctl() is all a 32-bit server needs.
 */
static void uapi_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, XEN_TPMBACK_API_VERSION, 2);
	KUNIT_EXPECT_EQ(test, XEN_TPMBACK_MAX_PACKET, XEN_TPMBK_MAX_PACKET);
	KUNIT_EXPECT_EQ(test, sizeof(struct xen_tpmback_msg), 16UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct xen_tpmback_attach), 44UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct xen_tpmback_attach, uuid), 12UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct xen_tpmback_attach, reserved), 40UL);
	KUNIT_EXPECT_EQ(test, sizeof(struct xen_tpmback_info), 48UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct xen_tpmback_info, commands), 32UL);
	KUNIT_EXPECT_EQ(test, offsetof(struct xen_tpmback_info, failed), 40UL);
	KUNIT_EXPECT_EQ(test, XEN_TPMBACK_IOC_ATTACH,
			_IOWR(0xA1, 0x10, struct xen_tpmback_attach));
	KUNIT_EXPECT_EQ(test, XEN_TPMBACK_IOC_INFO,
			_IOR(0xA1, 0x11, struct xen_tpmback_info));
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(XEN_TPMBACK_IOC_ATTACH), 44U);
	KUNIT_EXPECT_EQ(test, _IOC_DIR(XEN_TPMBACK_IOC_INFO), (unsigned int)_IOC_READ);
}

static struct kunit_case xen_tpmback_validation_cases[] = {
	KUNIT_CASE(uapi_layout),
	KUNIT_CASE_PARAM(check_command_table, cmd_gen_params),
	KUNIT_CASE_PARAM(check_response_table, rsp_gen_params),
	KUNIT_CASE_PARAM(check_rsp_msg_table, msg_gen_params),
	{}
};

static struct kunit_suite xen_tpmback_validation_suite = {
	.name = "xen_tpmback_validation",
	.test_cases = xen_tpmback_validation_cases,
};

kunit_test_suite(xen_tpmback_validation_suite);
