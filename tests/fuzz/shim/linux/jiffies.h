/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: wrap-safe jiffies comparisons, HZ as on Debian's kernel. */
#ifndef FUZZ_SHIM_LINUX_JIFFIES_H
#define FUZZ_SHIM_LINUX_JIFFIES_H
#include <linux/compiler.h>
#define HZ 250
#define time_after(a, b) ((long)((b) - (a)) < 0)
#define time_before(a, b) time_after(b, a)
#define time_after_eq(a, b) ((long)((a) - (b)) >= 0)
#define time_before_eq(a, b) time_after_eq(b, a)
#endif
