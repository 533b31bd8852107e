/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FUZZ_SHIM_LINUX_BITS_H
#define FUZZ_SHIM_LINUX_BITS_H
#define BIT(n) (1UL << (n))
#endif
