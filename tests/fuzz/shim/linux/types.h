/* SPDX-License-Identifier: GPL-2.0 */
/* Fuzzing shim: kernel integer types on top of the UAPI <linux/types.h>. */
#ifndef FUZZ_SHIM_LINUX_TYPES_H
#define FUZZ_SHIM_LINUX_TYPES_H
#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
#endif
