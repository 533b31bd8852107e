/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: the tpmif v2 shared page, as ../shared/DESIGN.md states it. */
#ifndef FUZZ_SHIM_TPMIF_H
#define FUZZ_SHIM_TPMIF_H
#include <linux/types.h>
enum vtpm_shared_page_state {
	VTPM_STATE_IDLE,
	VTPM_STATE_SUBMIT,
	VTPM_STATE_FINISH,
	VTPM_STATE_CANCEL,
};
struct vtpm_shared_page {
	u32 length;
	u8 state;
	u8 locality;
	u8 pad;
	u8 nr_extra_pages;
	u32 extra_pages[];
};
#endif
