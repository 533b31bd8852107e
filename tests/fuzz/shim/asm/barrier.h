/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FUZZ_SHIM_ASM_BARRIER_H
#define FUZZ_SHIM_ASM_BARRIER_H
#define virt_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define virt_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
