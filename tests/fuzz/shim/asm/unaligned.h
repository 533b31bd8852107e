/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FUZZ_SHIM_ASM_UNALIGNED_H
#define FUZZ_SHIM_ASM_UNALIGNED_H
#include <stdint.h>
static inline uint16_t get_unaligned_be16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t get_unaligned_be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline void put_unaligned_be16(uint16_t v, void *p)
{
	uint8_t *b = p;

	b[0] = v >> 8;
	b[1] = v;
}
static inline void put_unaligned_be32(uint32_t v, void *p)
{
	uint8_t *b = p;

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}
#endif
