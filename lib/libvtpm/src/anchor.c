// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rollback anchor: the newest permanent-state generation of a vTPM, kept
 * outside its directory, in the kernel keyring (a "user" key in root's
 * user keyring, description "libvtpm:gen:<state dir>"). A permanent state
 * older than the anchor is refused, so putting back an older copy of the
 * whole directory is caught -- within one host boot: the keyring does not
 * survive a reboot. (Anchoring in the physical TPM's NV is the next step.)
 *
 * The anchor is written after the state file is committed, so a crash in
 * between leaves anchor <= state, never a false alarm. Without a usable
 * keyring (seccomp'd containers) it is skipped with one warning.
 */
#include <keyutils.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int anchor_desc(const char *dir, char *buf, size_t size)
{
	char real[PATH_MAX];

	if (!realpath(dir, real))
		return -errno;
	if ((size_t)snprintf(buf, size, "libvtpm:gen:%s", real) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static void warn_once(const char *what)
{
	static int warned;

	if (!warned++)
		pr_warn("kernel keyring unusable (%s: %s): no rollback anchor\n",
			what, strerror(errno));
}

/* 0 and *gen (0 if none); negative errno when the keyring is unusable */
int vtpm_anchor_get(const char *dir, uint64_t *gen)
{
	char desc[PATH_MAX + 32], buf[32];
	key_serial_t key;
	long n;
	int err;

	*gen = 0;
	err = anchor_desc(dir, desc, sizeof(desc));
	if (err)
		return err;
	key = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (key < 0) {
		if (errno == ENOKEY)
			return 0;
		warn_once("search");
		return -errno;
	}
	n = keyctl_read(key, buf, sizeof(buf) - 1);
	if (n < 0) {
		warn_once("read");
		return -errno;
	}
	buf[n < (long)sizeof(buf) - 1 ? n : (long)sizeof(buf) - 1] = '\0';
	*gen = strtoull(buf, NULL, 10);
	return 0;
}

int vtpm_anchor_set(const char *dir, uint64_t gen)
{
	char desc[PATH_MAX + 32], buf[32];
	int n, err;

	err = anchor_desc(dir, desc, sizeof(desc));
	if (err)
		return err;
	n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)gen);
	/* add_key() updates the payload of an existing key in place */
	if (add_key("user", desc, buf, n, KEY_SPEC_USER_KEYRING) < 0) {
		warn_once("add_key");
		return -errno;
	}
	return 0;
}

void vtpm_anchor_remove(const char *dir)
{
	char desc[PATH_MAX + 32];
	key_serial_t key;

	if (anchor_desc(dir, desc, sizeof(desc)))
		return;
	key = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (key >= 0)
		keyctl_invalidate(key);
}
