// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Anchors: what a vTPM last committed, kept outside its files, in the
 * kernel keyring ("user" keys in root's user keyring, description
 * "libvtpm:<kind>:<state dir>"):
 *
 *  - "gen": the newest permanent-state generation. A permanent state older
 *    than it is refused, so putting back an older copy of the state
 *    directory is caught within one host boot (the keyring does not
 *    survive a reboot; anchoring in the host TPM is the manager's job).
 *  - "vol": "<generation> <resume tag>" of the volatile state the last
 *    answer was given from. A server restarted for the same running guest
 *    must find exactly that state, or newer: a missing or older volatile
 *    state is refused rather than resumed or silently reset.
 *
 * An anchor is written after the state it names is committed, so a crash
 * in between leaves the anchor behind the state, never ahead of it.
 *
 * The keys get possessor and user permissions alike: a server started by
 * systemd has a private session keyring that does not possess root's user
 * keyring, and must still read and update the anchors that an earlier
 * server, or vtpmctl in a shell, wrote. A new key is therefore made in
 * this process's own keyring, which it possesses whatever its session,
 * opened to its owner there, and only then linked into the user keyring:
 * one added there directly from such a session keeps the kernel's default
 * permissions (possessor all, owner view) and no process could read,
 * update or remove it. Without a usable keyring (a seccomp'd container)
 * anchors are skipped with one warning.
 *
 * A pinned anchor (vtpm_anchor_pin(): a server about to give up uid 0)
 * uses the key whose serial it holds and nothing else: no search, and no
 * add_key(), which would create a key in the new uid's own user keyring,
 * one that root's manager never sees. Losing that key is an error, said
 * once, not a silent switch to a keyring nobody checks.
 */
#include <keyutils.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ANCHOR_PERM (KEY_POS_ALL | KEY_USR_ALL)

static void warn_once(const char *what, int err)
{
	static int warned;

	if (!warned++)
		pr_warn("kernel keyring unusable (%s: %s): no rollback anchor\n",
			what, strerror(err));
}

int vtpm_anchor_init(struct vtpm_anchor *a, const char *kind, const char *dir)
{
	char real[PATH_MAX];

	a->key = 0;
	a->pinned = 0;
	a->desc[0] = '\0';
	if (!realpath(dir, real))
		return -errno;
	if ((size_t)snprintf(a->desc, sizeof(a->desc), "libvtpm:%s:%s", kind,
			     real) >= sizeof(a->desc))
		return -ENAMETOOLONG;
	return 0;
}

static int anchor_find(struct vtpm_anchor *a)
{
	key_serial_t key;

	if (a->key > 0)
		return 0;
	if (a->pinned)
		return -ENOKEY;
	if (!a->desc[0])
		return -EINVAL;
	key = keyctl_search(KEY_SPEC_USER_KEYRING, "user", a->desc, 0);
	if (key < 0)
		return -errno;
	a->key = key;
	return 0;
}

int vtpm_anchor_get(struct vtpm_anchor *a, char *buf, size_t size)
{
	long n;
	int err;

	buf[0] = '\0';
	err = anchor_find(a);
	if (err == -ENOKEY)
		return 0;
	if (err) {
		warn_once("search", -err);
		return err;
	}
	n = keyctl_read(a->key, buf, size - 1);
	if (n < 0) {
		err = -errno;
		a->key = 0;
		if (err == -ENOKEY || err == -EKEYREVOKED)
			return 0;	/* invalidated meanwhile */
		warn_once("read", -err);
		return err;
	}
	buf[(size_t)n < size - 1 ? (size_t)n : size - 1] = '\0';
	return 0;
}

/*
 * A new "user" key in the user keyring, possessed while its permissions
 * are set (see the top), for anchors and the host key alike; linked into
 * the user keyring, it displaces a key of the same description there
 * (one an older libvtpm made that nobody can update).
 */
int32_t vtpm_keyring_add(const char *desc, const void *payload, size_t n)
{
	key_serial_t key;
	int err;

	key = add_key("user", desc, payload, n, KEY_SPEC_PROCESS_KEYRING);
	if (key < 0)
		return -errno;
	if (keyctl_setperm(key, ANCHOR_PERM) < 0 ||
	    keyctl_link(key, KEY_SPEC_USER_KEYRING) < 0) {
		err = -errno;
		keyctl_invalidate(key);
		return err;
	}
	keyctl_unlink(key, KEY_SPEC_PROCESS_KEYRING);
	return key;
}

/*
 * The key of this description updated in place, else a new one made as
 * above (the anchors, when not pinned, and the host key): its serial, or
 * a negative errno.
 */
static int32_t keyring_put(const char *desc, const void *payload, size_t n)
{
	key_serial_t k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);

	if (k >= 0 && keyctl_update(k, payload, n) == 0)
		return k;
	return vtpm_keyring_add(desc, payload, n);
}

int vtpm_host_key_put(const char *desc, const uint8_t key[32])
{
	int32_t k = keyring_put(desc ? desc : VTPM_HOST_KEY_DESC, key, VTPM_KEY_LEN);

	return k < 0 ? (int)k : 0;
}

int vtpm_anchor_set(struct vtpm_anchor *a, const char *payload)
{
	size_t n = strlen(payload);
	key_serial_t key;

	if (!a->desc[0])
		return -EINVAL;
	/* the fast path: one keyctl(KEYCTL_UPDATE) */
	if (a->key > 0 && keyctl_update(a->key, payload, n) == 0)
		return 0;
	if (a->pinned) {
		int err = a->key > 0 ? -errno : -ENOKEY;
		static int said;

		if (!said++)
			pr_warn("rollback anchor %s: cannot update key %d (%s); not creating one in this process's own keyring, which root's manager never sees\n",
				a->desc, a->key, strerror(-err));
		return err;
	}
	/* the key another process made (or ours, gone): update or replace */
	key = keyring_put(a->desc, payload, n);
	if (key < 0) {
		a->key = 0;
		warn_once("add_key", -key);
		return key;
	}
	a->key = key;
	return 0;
}

/* Find the key, creating it with payload if there is none; then use only it. */
int vtpm_anchor_pin_key(struct vtpm_anchor *a, const char *payload)
{
	int err;

	if (a->pinned)
		return a->key > 0 ? 0 : -ENOKEY;
	err = anchor_find(a);
	if (err == -ENOKEY && payload)
		err = vtpm_anchor_set(a, payload);
	if (err)
		return err;
	/* whoever made it: the owner (root) may link it into the new session
	 * keyring, which root's user keyring is no longer linked from */
	if (keyctl_setperm(a->key, ANCHOR_PERM) < 0)
		return -errno;
	a->pinned = 1;
	return 0;
}

void vtpm_anchor_remove(struct vtpm_anchor *a)
{
	if (anchor_find(a) == 0)
		keyctl_invalidate(a->key);
	a->key = 0;
}
