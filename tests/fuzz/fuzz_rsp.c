// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a write() to /dev/xen/tpmback by a buggy or compromised
 * server, through the backend's own validation (protocol.c):
 * xen_tpmbk_check_rsp_msg() on the message header, then
 * xen_tpmbk_check_response() on the TPM packet, as chardev.c does.
 *
 * Invariants: anything accepted fits the shared page and is a TPM response
 * whose header size field equals the message length; published, it reads
 * back from the page unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_rsp: " __VA_ARGS__); abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t page[XEN_TPMBK_SHR_PAGE_SIZE];
	struct xen_tpmback_msg msg;
	const uint8_t *pkt;
	struct xen_tpmbk_shr shr;

	if (size < sizeof(msg)) {
		/* Too short for a header: chardev.c refuses before parsing. */
		return 0;
	}
	memcpy(&msg, data, sizeof(msg));
	if (xen_tpmbk_check_rsp_msg(&msg, size) != 0)
		return 0;
	pkt = data + sizeof(msg);
	if (msg.len > XEN_TPMBK_MAX_PACKET || sizeof(msg) + msg.len != size)
		FAIL("accepted message len %u in a %zu-byte write\n", msg.len, size);
	if (xen_tpmbk_check_response(pkt, msg.len) != 0)
		return 0;
	if (msg.len < TPM_HEADER_SIZE ||
	    ((uint32_t)pkt[2] << 24 | (uint32_t)pkt[3] << 16 | (uint32_t)pkt[4] << 8 | pkt[5]) != msg.len)
		FAIL("accepted a %u-byte response whose header says otherwise\n", msg.len);
	memset(page, 0xAA, sizeof(page));
	xen_tpmbk_shr_put_response(page, pkt, msg.len);
	xen_tpmbk_shr_read(page, &shr);
	if (shr.state != VTPM_STATE_FINISH || shr.length != msg.len ||
	    memcmp(page + XEN_TPMBK_SHR_HDR_SIZE, pkt, msg.len) != 0)
		FAIL("response did not reach the page intact\n");
	return 0;
}
