#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vtpm-user.sh SYSUSERS_CONF TMPFILES_CONF: the system user and group
# "vtpm" that vtpmctl serve gives up root for (no shell, no home), then
# /run/vtpm and /var/lib/vtpm as root:vtpm 0710 (the servers may pass,
# not list or create). Idempotent; used by the package's postinst and by
# "make install" (installed as /usr/lib/vtpm/vtpm-user.sh). The servers
# fix the two directories themselves too.
set -e
conf=$1 tmpconf=$2
if ! getent passwd vtpm >/dev/null; then
	if command -v systemd-sysusers >/dev/null 2>&1 && [ -f "$conf" ]; then
		systemd-sysusers "$conf"
	elif command -v adduser >/dev/null 2>&1; then
		adduser --system --group --no-create-home --home /nonexistent \
			--shell /usr/sbin/nologin --quiet vtpm
	else
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin vtpm
	fi
fi
if command -v systemd-tmpfiles >/dev/null 2>&1 && [ -f "$tmpconf" ]; then
	systemd-tmpfiles --create "$tmpconf" || true
fi
for d in /var/lib/vtpm /run/vtpm; do
	[ -d "$d" ] || install -d -m 0700 "$d"
	# only what is still root's own (an admin's choice is kept)
	if [ "$(stat -c %U:%G:%a "$d")" = root:root:700 ]; then
		chgrp vtpm "$d" && chmod 0710 "$d"
	fi
done
