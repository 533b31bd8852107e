// SPDX-License-Identifier: LGPL-2.1-or-later
/* Logging through a caller-set function, and error strings. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static vtpm_print_fn_t __vtpm_pr;	/* NULL: the library stays silent */

vtpm_print_fn_t vtpm_set_print(vtpm_print_fn_t fn)
{
	vtpm_print_fn_t old = __vtpm_pr;

	__vtpm_pr = fn;
	return old;
}

void vtpm_pr(enum vtpm_print_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!__vtpm_pr)
		return;
	va_start(ap, fmt);
	__vtpm_pr(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *vtpm_strerror(int err)
{
	if (err < 0)
		err = -err;

	/* the codes that mean something particular here */
	switch (err) {
	case 0:
		return "Success";
	case EALREADY:
		return "a vTPM is already open in this process (libtpms holds one TPM per process)";
	case EBUSY:
		return "vTPM state is in use by another process";
	case EEXIST:
		return "vTPM already exists";
	case ENOENT:
		return "no such vTPM";
	case EBADMSG:
		return "vTPM state is corrupt or was tampered with (authentication failed)";
	case ESTALE:
		return "vTPM state is older than state already seen (rollback refused)";
	case ENOKEY:
		return "vTPM state is encrypted and no key was given";
	case EKEYREJECTED:
		return "key does not open this vTPM state (wrong key or tampered state)";
	case EPROTO:
		return "libtpms failed";
	case EPROTONOSUPPORT:
		return "unsupported vTPM state format";
	case EMSGSIZE:
		return "TPM command larger than the shared page carries (4088 bytes)";
	default:
		return strerror(err);
	}
}
