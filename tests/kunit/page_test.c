// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the tpmif v2 shared page as the backend reads and writes it.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/string.h>

#include "protocol.h"

/* A page with guard bytes behind it, to catch copies past its end. */
#define GUARD		64
#define GUARD_BYTE	0x5a

static u8 *alloc_page_buf(struct kunit *test)
{
	u8 *p = kunit_kzalloc(test, XEN_TPMBK_SHR_PAGE_SIZE + GUARD, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	memset(p + XEN_TPMBK_SHR_PAGE_SIZE, GUARD_BYTE, GUARD);
	return p;
}

static void set_header(u8 *page, u32 length, u8 state, u8 locality, u8 nr_extra)
{
	memcpy(page + XEN_TPMBK_SHR_LENGTH, &length, sizeof(length));
	page[XEN_TPMBK_SHR_STATE] = state;
	page[XEN_TPMBK_SHR_LOCALITY] = locality;
	page[6] = 0;
	page[XEN_TPMBK_SHR_NR_EXTRA] = nr_extra;
}

static u32 get_length(const u8 *page)
{
	u32 length;

	memcpy(&length, page + XEN_TPMBK_SHR_LENGTH, sizeof(length));
	return length;
}

static void shr_read_all_fields(struct kunit *test)
{
	u8 *page = alloc_page_buf(test);
	struct xen_tpmbk_shr shr;

	set_header(page, 22, VTPM_STATE_SUBMIT, 2, 0);
	xen_tpmbk_shr_read(page, &shr);
	KUNIT_EXPECT_EQ(test, shr.length, 22U);
	KUNIT_EXPECT_EQ(test, shr.state, VTPM_STATE_SUBMIT);
	KUNIT_EXPECT_EQ(test, shr.locality, 2);
	KUNIT_EXPECT_EQ(test, shr.nr_extra_pages, 0);
}

static void shr_read_header_is_8_bytes(struct kunit *test)
{
	u8 *page = alloc_page_buf(test);
	struct xen_tpmbk_shr shr;

	/* Bytes from offset 8 on are packet data, not header. */
	set_header(page, 10, VTPM_STATE_CANCEL, 1, 0);
	memset(page + XEN_TPMBK_SHR_HDR_SIZE, 0xff, 8);
	xen_tpmbk_shr_read(page, &shr);
	KUNIT_EXPECT_EQ(test, shr.length, 10U);
	KUNIT_EXPECT_EQ(test, shr.state, VTPM_STATE_CANCEL);
	KUNIT_EXPECT_EQ(test, shr.nr_extra_pages, 0);
}

struct event_case {
	const char *name;
	u8 state;
	u8 nr_extra;
	enum xen_tpmbk_event expected;
};

static const struct event_case event_cases[] = {
	{ "idle", VTPM_STATE_IDLE, 0, XEN_TPMBK_EV_NONE },
	{ "finish", VTPM_STATE_FINISH, 0, XEN_TPMBK_EV_NONE },
	{ "submit", VTPM_STATE_SUBMIT, 0, XEN_TPMBK_EV_SUBMIT },
	{ "cancel", VTPM_STATE_CANCEL, 0, XEN_TPMBK_EV_CANCEL },
	{ "idle_junk_extra_pages", VTPM_STATE_IDLE, 7, XEN_TPMBK_EV_NONE },
	{ "submit_one_extra_page", VTPM_STATE_SUBMIT, 1, XEN_TPMBK_EV_BROKEN },
	{ "submit_255_extra_pages", VTPM_STATE_SUBMIT, 255, XEN_TPMBK_EV_BROKEN },
	{ "cancel_extra_pages", VTPM_STATE_CANCEL, 2, XEN_TPMBK_EV_BROKEN },
	{ "state_4", 4, 0, XEN_TPMBK_EV_BROKEN },
	{ "state_255", 255, 0, XEN_TPMBK_EV_BROKEN },
};

static void event_case_desc(const struct event_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(event, event_cases, event_case_desc);

static void shr_event_table(struct kunit *test)
{
	const struct event_case *c = test->param_value;
	u8 *page = alloc_page_buf(test);
	struct xen_tpmbk_shr shr;

	set_header(page, 22, c->state, 0, c->nr_extra);
	xen_tpmbk_shr_read(page, &shr);
	KUNIT_EXPECT_EQ(test, xen_tpmbk_shr_event(&shr), c->expected);
}

static void shr_copy_command_copies_length(struct kunit *test)
{
	u8 *page = alloc_page_buf(test);
	u8 *buf = kunit_kzalloc(test, XEN_TPMBK_MAX_PACKET, GFP_KERNEL);
	struct xen_tpmbk_shr shr;
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < 32; i++)
		page[XEN_TPMBK_SHR_HDR_SIZE + i] = i + 1;
	set_header(page, 22, VTPM_STATE_SUBMIT, 0, 0);
	xen_tpmbk_shr_read(page, &shr);

	KUNIT_EXPECT_EQ(test, xen_tpmbk_shr_copy_command(page, &shr, buf), 22U);
	KUNIT_EXPECT_EQ(test, memcmp(buf, page + XEN_TPMBK_SHR_HDR_SIZE, 22), 0);
	KUNIT_EXPECT_EQ(test, buf[22], 0);
}

struct oversize_case {
	const char *name;
	u32 length;
	u32 copied;
};

static const struct oversize_case oversize_cases[] = {
	{ "max_packet", XEN_TPMBK_MAX_PACKET, XEN_TPMBK_MAX_PACKET },
	{ "max_packet_plus_1", XEN_TPMBK_MAX_PACKET + 1, XEN_TPMBK_MAX_PACKET },
	{ "page_size", XEN_TPMBK_SHR_PAGE_SIZE, XEN_TPMBK_MAX_PACKET },
	{ "u32_max", U32_MAX, XEN_TPMBK_MAX_PACKET },
	{ "zero", 0, 0 },
};

static void oversize_case_desc(const struct oversize_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(oversize, oversize_cases, oversize_case_desc);

static void shr_copy_command_bounded(struct kunit *test)
{
	const struct oversize_case *c = test->param_value;
	u8 *page = alloc_page_buf(test);
	u8 *buf = kunit_kzalloc(test, XEN_TPMBK_MAX_PACKET + GUARD, GFP_KERNEL);
	struct xen_tpmbk_shr shr;
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf + XEN_TPMBK_MAX_PACKET, GUARD_BYTE, GUARD);
	set_header(page, c->length, VTPM_STATE_SUBMIT, 0, 0);
	xen_tpmbk_shr_read(page, &shr);

	KUNIT_EXPECT_EQ(test, xen_tpmbk_shr_copy_command(page, &shr, buf), c->copied);
	for (i = 0; i < GUARD; i++)
		KUNIT_EXPECT_EQ(test, buf[XEN_TPMBK_MAX_PACKET + i], GUARD_BYTE);
}

static void shr_put_response_publishes_finish(struct kunit *test)
{
	static const u8 rsp[] = {
		0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0xab, 0xcd,
	};
	u8 *page = alloc_page_buf(test);

	set_header(page, 22, VTPM_STATE_SUBMIT, 3, 0);
	xen_tpmbk_shr_put_response(page, rsp, sizeof(rsp));

	KUNIT_EXPECT_EQ(test, get_length(page), (u32)sizeof(rsp));
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_STATE], VTPM_STATE_FINISH);
	KUNIT_EXPECT_EQ(test, memcmp(page + XEN_TPMBK_SHR_HDR_SIZE, rsp, sizeof(rsp)), 0);
	/* The backend writes neither locality nor nr_extra_pages. */
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_LOCALITY], 3);
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_NR_EXTRA], 0);
}

static void shr_put_response_max_stays_in_page(struct kunit *test)
{
	u8 *page = alloc_page_buf(test);
	u8 *rsp = kunit_kzalloc(test, XEN_TPMBK_MAX_PACKET + GUARD, GFP_KERNEL);
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, rsp);
	memset(rsp, 0x11, XEN_TPMBK_MAX_PACKET + GUARD);
	/* A length past the page is clamped, never written beyond it. */
	xen_tpmbk_shr_put_response(page, rsp, XEN_TPMBK_MAX_PACKET + GUARD);

	KUNIT_EXPECT_EQ(test, get_length(page), XEN_TPMBK_MAX_PACKET);
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_PAGE_SIZE - 1], 0x11);
	for (i = 0; i < GUARD; i++)
		KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_PAGE_SIZE + i], GUARD_BYTE);
}

static void shr_put_idle_only_state(struct kunit *test)
{
	u8 *page = alloc_page_buf(test);

	set_header(page, 22, VTPM_STATE_CANCEL, 1, 0);
	xen_tpmbk_shr_put_idle(page);
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_STATE], VTPM_STATE_IDLE);
	KUNIT_EXPECT_EQ(test, get_length(page), 22U);
	KUNIT_EXPECT_EQ(test, page[XEN_TPMBK_SHR_LOCALITY], 1);
}

static struct kunit_case xen_tpmback_page_cases[] = {
	KUNIT_CASE(shr_read_all_fields),
	KUNIT_CASE(shr_read_header_is_8_bytes),
	KUNIT_CASE_PARAM(shr_event_table, event_gen_params),
	KUNIT_CASE(shr_copy_command_copies_length),
	KUNIT_CASE_PARAM(shr_copy_command_bounded, oversize_gen_params),
	KUNIT_CASE(shr_put_response_publishes_finish),
	KUNIT_CASE(shr_put_response_max_stays_in_page),
	KUNIT_CASE(shr_put_idle_only_state),
	{}
};

static struct kunit_suite xen_tpmback_page_suite = {
	.name = "xen_tpmback_page",
	.test_cases = xen_tpmback_page_cases,
};

kunit_test_suite(xen_tpmback_page_suite);

MODULE_DESCRIPTION("KUnit tests for xen-tpmback");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
