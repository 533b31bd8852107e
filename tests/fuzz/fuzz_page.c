// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the shared page as a malicious guest writes it, through
 * the backend's own drivers/xen-tpmback/protocol.c, the way
 * accept_command_locked() and xen_tpmif_apply_locked() use it: snapshot the
 * header, classify, copy the packet out, validate, classify its timeout,
 * and answer a refused command with the made-up TPM error.
 *
 * Invariants checked (abort() = a finding):
 *  - the copy never exceeds the page (ASan checks the bytes; we check the
 *    count);
 *  - a command that passes validation has a header whose size field equals
 *    the length the guest claimed, 10 <= length <= 4088, locality <= 3;
 *  - every error response the backend makes up is itself a response the
 *    backend would accept from a server (10 bytes, response tag of the
 *    command's family, size field 10, non-zero return code);
 *  - a response published to the page reads back as FINISH with its length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_page: " __VA_ARGS__); abort(); } while (0)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t page[XEN_TPMBK_SHR_PAGE_SIZE];
	static uint8_t cmd[XEN_TPMBK_MAX_PACKET];
	uint8_t rsp[TPM_HEADER_SIZE];
	struct xen_tpmbk_shr shr;
	enum xen_tpmbk_verdict verdict;
	u32 n, r;

	memset(page, 0, sizeof(page));
	memcpy(page, data, size < sizeof(page) ? size : sizeof(page));

	xen_tpmbk_shr_read(page, &shr);
	switch (xen_tpmbk_shr_event(&shr)) {
	case XEN_TPMBK_EV_SUBMIT:
		break;
	case XEN_TPMBK_EV_BROKEN:
		if (shr.nr_extra_pages == 0 && shr.state <= VTPM_STATE_CANCEL)
			FAIL("page with state %u and no extra pages called broken\n", shr.state);
		return 0;
	case XEN_TPMBK_EV_CANCEL:
		if (shr.nr_extra_pages != 0)
			FAIL("CANCEL with %u extra pages accepted\n", shr.nr_extra_pages);
		return 0;
	default: /* IDLE or FINISH: nothing to do, whatever else the page says */
		return 0;
	}
	if (shr.nr_extra_pages != 0)
		FAIL("SUBMIT with %u extra pages accepted\n", shr.nr_extra_pages);

	n = xen_tpmbk_shr_copy_command(page, &shr, cmd);
	if (n > XEN_TPMBK_MAX_PACKET || n > shr.length)
		FAIL("copied %u bytes for length %u\n", n, shr.length);
	verdict = xen_tpmbk_check_command(cmd, shr.length, shr.locality);
	(void)xen_tpmbk_cmd_class(cmd, n);
	if (verdict == XEN_TPMBK_CMD_OK) {
		if (shr.length < TPM_HEADER_SIZE || shr.length > XEN_TPMBK_MAX_PACKET ||
		    shr.length != n || be32(cmd + 2) != shr.length ||
		    shr.locality > XEN_TPMBK_MAX_LOCALITY)
			FAIL("accepted length %u (copied %u, header %u) locality %u\n",
			     shr.length, n, n >= 6 ? be32(cmd + 2) : 0, shr.locality);
		/* A server's answer goes back through the same page. */
		xen_tpmbk_shr_put_response(page, cmd, n);
		xen_tpmbk_shr_read(page, &shr);
		if (shr.state != VTPM_STATE_FINISH || shr.length != n)
			FAIL("published response reads back as state %u length %u\n",
			     shr.state, shr.length);
		return 0;
	}
	r = xen_tpmbk_error_response(rsp, cmd, n, xen_tpmbk_verdict_error(verdict));
	if (r != TPM_HEADER_SIZE || xen_tpmbk_check_response(rsp, r) != 0)
		FAIL("made-up error response (%u bytes) is not a valid response\n", r);
	if (be32(rsp + 6) == 0)
		FAIL("made-up error response says success\n");
	if ((xen_tpmbk_cmd_family(cmd, n) == XEN_TPMBK_TPM12) != (rsp[0] == 0 && rsp[1] == 0xC4))
		FAIL("error response tag %02x%02x does not match the command family\n",
		     rsp[0], rsp[1]);
	return 0;
}
