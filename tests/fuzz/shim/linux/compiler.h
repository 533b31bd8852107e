/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: one access each, as the kernel's READ_ONCE/WRITE_ONCE. */
#ifndef FUZZ_SHIM_LINUX_COMPILER_H
#define FUZZ_SHIM_LINUX_COMPILER_H
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define fallthrough __attribute__((__fallthrough__))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
