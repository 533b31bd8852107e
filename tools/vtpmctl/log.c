// SPDX-License-Identifier: GPL-2.0
/* Logging for serve: one line per event, to stderr or syslog, each line
 * carrying the instance ("uuid=... domid=... devid=..."). */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "libvtpm/libvtpm.h"
#include "vtpmctl.h"

static int log_where = LOG_TO_STDERR;
static char log_ctx[160];

void log_setup(int where, const char *ident)
{
	log_where = where;
	if (where == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_context(const char *ctx)
{
	snprintf(log_ctx, sizeof(log_ctx), "%s", ctx ? ctx : "");
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (prio == LOG_DEBUG && verbose < 1)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (log_where == LOG_TO_SYSLOG) {
		syslog(prio, "%s%s%s", log_ctx, *log_ctx ? ": " : "", msg);
		return;
	}
	fprintf(stderr, "%s[%d]: %s%s%s\n", bin_name, (int)getpid(), log_ctx,
		*log_ctx ? ": " : "", msg);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

int log_libvtpm(int level, const char *fmt, va_list ap)
{
	int prio = level == VTPM_WARN ? LOG_WARNING :
		   level == VTPM_INFO ? LOG_INFO : LOG_DEBUG;

	if (level == VTPM_DEBUG && verbose < 2)
		return 0;
	log_vmsg(prio, fmt, ap);
	return 0;
}
