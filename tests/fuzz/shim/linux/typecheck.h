/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FUZZ_SHIM_LINUX_TYPECHECK_H
#define FUZZ_SHIM_LINUX_TYPECHECK_H
#define typecheck(type, x) 1
#endif
