/* SPDX-License-Identifier: GPL-2.0 */
/* Measured boot of PV guests into PCR 4/5 (measure.c). */
#ifndef VTPMCTL_MEASURE_H
#define VTPMCTL_MEASURE_H

#include <stdbool.h>

#include "libvtpm/libvtpm.h"

/* serve's options naming what was booted (tests, other toolstacks) */
enum {
	MEASURE_OPT_KERNEL = 0x200,
	MEASURE_OPT_RAMDISK,
	MEASURE_OPT_CMDLINE,
	MEASURE_OPT_OFF,
};
#define MEASURE_LONGOPTS						\
	{ "kernel",	required_argument, NULL, MEASURE_OPT_KERNEL },	\
	{ "ramdisk",	required_argument, NULL, MEASURE_OPT_RAMDISK },	\
	{ "cmdline",	required_argument, NULL, MEASURE_OPT_CMDLINE },	\
	{ "no-measure",	no_argument,	   NULL, MEASURE_OPT_OFF }
#define MEASURE_USAGE							\
	"  --kernel F --ramdisk F --cmdline S  measure these into PCR 4/5 at a\n" \
	"                        fresh boot (default: what xenstore says the\n"	\
	"                        toolstack booted; nothing in --socket mode)\n"	\
	"  --no-measure          no measured boot\n"
/* 1 if c was one of them */
int measure_opt(int c, const char *arg);

struct measure_ctx {
	const char *uuid, *dir, *tag;
	int domid, devid;
	bool xen;		/* a real backend instance: xenstore is there */
};

/*
 * Right after vtpm_new(): at a fresh start (the server's own
 * Startup(CLEAR)) measure the guest's kernel, command line and initrd into
 * PCR 4/5 and write the event log; when resumed, check that the boot's
 * measurement completed (else cap PCR 4/5).
 */
void measure_boot(struct vtpm *v, const struct measure_ctx *m);

#endif /* VTPMCTL_MEASURE_H */
