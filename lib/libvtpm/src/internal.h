/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvtpm private declarations. */
#ifndef LIBVTPM_INTERNAL_H
#define LIBVTPM_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libvtpm/libvtpm.h"

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* log.c */
void vtpm_pr(enum vtpm_print_level level, const char *fmt, ...) __printf(2, 3);
#define pr_warn(fmt, ...)  vtpm_pr(VTPM_WARN, "libvtpm: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  vtpm_pr(VTPM_INFO, "libvtpm: " fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) vtpm_pr(VTPM_DEBUG, "libvtpm: " fmt, ##__VA_ARGS__)

static inline int libvtpm_err(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

/*
 * State storage backend (swtpm's nvstore ops, reduced). A store holds
 * named blobs of raw bytes; sealing happens above it (blob.c). store()
 * replaces a blob atomically: a crash at any instant leaves the old or
 * the new content, never a mix.
 */
struct vtpm_store;

struct vtpm_store_ops {
	const char *name;
	int (*open)(struct vtpm_store *st, const char *location, int create);
	/* exclusive, non-blocking; -EBUSY (and *pid) if someone holds it */
	int (*lock)(struct vtpm_store *st, int *pid);
	/* -EBUSY if locked by someone else, 0 if free; does not take it */
	int (*probe_lock)(struct vtpm_store *st, int *pid);
	int (*load)(struct vtpm_store *st, const char *name,
		    uint8_t **data, size_t *len);	/* -ENOENT if absent */
	int (*store)(struct vtpm_store *st, const char *name,
		     const void *data, size_t len, int sync);
	/*
	 * Slots: blob <name>.<slot> (slot 0 or 1) overwritten in place, for
	 * A/B state where the caller keeps the other slot intact while one
	 * is written; sync = data on stable storage when it returns. The
	 * files stay open between writes.
	 */
	int (*slot_load)(struct vtpm_store *st, const char *name, int slot,
			 uint8_t **data, size_t *len);
	int (*slot_store)(struct vtpm_store *st, const char *name, int slot,
			  const void *data, size_t len, int sync);
	/*
	 * Log: blob <name> that grows by whole records. log_append() writes
	 * one record after the last one it wrote (sync: on stable storage
	 * when it returns); a record that fails is cut off again. If even
	 * that fails, the file's length is unknown and every append fails
	 * (-EIO) until log_reset(), which empties it. Read it with load().
	 */
	int (*log_append)(struct vtpm_store *st, const char *name,
			  const void *data, size_t len, int sync);
	int (*log_reset)(struct vtpm_store *st, const char *name);
	int (*remove)(struct vtpm_store *st, const char *name);
	int (*stat)(struct vtpm_store *st, const char *name,
		    uint64_t *size, uint64_t *mtime);
	/* erase every blob and the store itself */
	int (*destroy)(struct vtpm_store *st);
	void (*close)(struct vtpm_store *st);
};

struct vtpm_store {
	const struct vtpm_store_ops *ops;
	char *location;
	int dirfd;
	int lockfd;
	int slotfd[2];			/* open slot files of slot_name */
	char *slot_name;
	size_t slot_size[2];		/* their sizes */
	int logfd;			/* the open log, -1 before the first use */
	size_t log_size;		/* its length, (size_t)-1 if unknown */
};

extern const struct vtpm_store_ops vtpm_store_dir_ops;

/* blob.c: sealed blob format */
#define VTPM_KEY_LEN 32
#define VTPM_RUN_ID_LEN 16

struct evp_cipher_ctx_st;

struct vtpm_sealer {
	int encrypted;
	uint8_t key[VTPM_KEY_LEN];	/* per-vTPM key (HKDF of the master) */
	char *binding;			/* vTPM identity bound into the AAD */
	uint8_t run_id[VTPM_RUN_ID_LEN];/* this run's key: HKDF(key, run id) */
	uint64_t counter;		/* GCM nonce under the run key */
	struct evp_cipher_ctx_st *enc, *dec;
};

struct blob_meta {
	uint64_t generation;
	uint64_t base_generation;	/* permall generation this blob follows */
	int encrypted;
	char tag[256];			/* resume tag (volatile state) */
};

int vtpm_load_key_file(const char *path, uint8_t key[VTPM_KEY_LEN]);
int vtpm_load_key_keyring(const char *desc, uint8_t key[VTPM_KEY_LEN]);
int vtpm_sealer_init(struct vtpm_sealer *s, const uint8_t *master_key,
		     const char *binding);
void vtpm_sealer_fini(struct vtpm_sealer *s);
size_t vtpm_blob_size(const struct vtpm_sealer *s, const struct blob_meta *meta,
		      size_t len);
/* seals into buf; returns the blob's length or a negative errno */
int vtpm_blob_seal_into(struct vtpm_sealer *s, const char *name,
			const struct blob_meta *meta, const void *data,
			size_t len, uint8_t *buf, size_t size);
int vtpm_blob_seal(struct vtpm_sealer *s, const char *name,
		   const struct blob_meta *meta, const void *data, size_t len,
		   uint8_t **out, size_t *out_len);
int vtpm_blob_open(struct vtpm_sealer *s, const char *name,
		   const uint8_t *blob, size_t blob_len, struct blob_meta *meta,
		   uint8_t **out, size_t *out_len);
ssize_t vtpm_blob_peek(const uint8_t *blob, size_t blob_len,
		       struct blob_meta *meta);

void vtpm_explicit_bzero(void *p, size_t n);

/*
 * anchor.c: what a vTPM last committed, outside its files, in the kernel
 * keyring: "gen" the newest permanent generation, "vol" the resume tag
 * and generation of the volatile state last answered from.
 */
struct vtpm_anchor {
	char desc[4200];
	int32_t key;			/* key serial once known, else 0 */
	int pinned;			/* vtpm_anchor_pin(): this key only */
};

int vtpm_anchor_init(struct vtpm_anchor *a, const char *kind, const char *dir);
int32_t vtpm_keyring_add(const char *desc, const void *payload, size_t n);
/* 0 and the payload (empty if none); negative errno if unusable */
int vtpm_anchor_get(struct vtpm_anchor *a, char *buf, size_t size);
int vtpm_anchor_set(struct vtpm_anchor *a, const char *payload);
int vtpm_anchor_pin_key(struct vtpm_anchor *a, const char *payload);
void vtpm_anchor_remove(struct vtpm_anchor *a);

/* names of the files in a state directory */
#define VTPM_META_NAME		"meta"
#define VTPM_LOCK_NAME		"lock"
#define VTPM_PERM_SLOTS		"permanent"	/* permanent.0, permanent.1 */
#define VTPM_VOL_SLOTS		"volatile"	/* in the run directory */
#define VTPM_VOL_LOG		"volatile.log"	/* commands since that state */
#define VTPM_SUSPEND_NAME	"suspend"	/* vtpm_suspend()'s record */

#define VTPM_DEFAULT_RUN_DIR	"/run/vtpm"

#endif /* LIBVTPM_INTERNAL_H */
