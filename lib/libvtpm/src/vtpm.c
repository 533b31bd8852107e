// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvtpm core: one libtpms TPM per process, its state in a vTPM store.
 *
 * The state path (the contract is in libvtpm.h):
 *  - libtpms hands its permanent state to cb_nvram_storedata() from inside
 *    TPMLIB_Process() whenever a command changed NV. That callback only
 *    keeps it; vtpm_process() commits it after the command, so libtpms
 *    never sees a failed write (which would put it into failure mode).
 *  - The permanent state goes into the older of two slots in the state
 *    directory (permanent.0/1), in place, fdatasync()ed. The volatile
 *    state goes the same way into the run directory (volatile.0/1), a
 *    tmpfs under /run by default, without fsync: it must survive the
 *    server, not the host.
 *  - A command whose effect replays exactly (PCR_Extend and PCR_Event
 *    with a password session, TPM 1.2's TPM_Extend: no nonce, no random
 *    number, nothing but the command's bytes and the state before it)
 *    is not answered after a save of the whole volatile state (9 KB for
 *    TPM 2.0, marshalled and sealed: most of the cost of an extend) but
 *    after one sealed record of it (locality, command, response) is
 *    appended to volatile.log in the run directory. A resume loads the
 *    volatile slot, replays the log's records that follow it, checks each
 *    replay gives the response the guest had, and is refused otherwise.
 *    A whole save follows at most VTPM_REDO_MAX records, any other
 *    state-changing command and a failed append, and empties the log.
 *  - The committed state (the plaintext permanent state, the slot of the
 *    volatile state, the records after it) is what a failed save returns
 *    libtpms to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>

#include "internal.h"

struct vtpm {
	struct vtpm_store store;	/* the state directory */
	struct vtpm_store run;		/* the run directory: volatile slots */
	struct vtpm_sealer sealer;
	struct vtpm_anchor gen_anchor;	/* newest permanent generation */
	struct vtpm_anchor vol_anchor;	/* volatile state last answered from */
	enum vtpm_tpm_version version;
	unsigned int flags;
	char *tag;			/* resume tag of this session */
	char *uuid;			/* the binding, for messages */
	int creating;			/* vtpm_create(): may manufacture */
	int running;			/* TPMLIB_MainInit() succeeded */
	int cb_err;			/* first error of a callback */
	int restore;			/* libtpms is ahead of the committed state */
	int started;			/* vtpm_new() sent Startup(CLEAR) */
	uint64_t generation;		/* highest generation stored or seen */
	/* the committed state */
	uint8_t *perm;			/* permanent state, plaintext */
	size_t perm_len;
	uint64_t perm_generation;
	int perm_slot;			/* -1: none written by us yet */
	uint64_t vol_generation;
	int vol_slot;			/* -1: no volatile state committed */
	/* the log's records since that volatile state, as replayed */
	uint8_t *redo;
	size_t redo_len, redo_size;
	unsigned int redo_n;
	int log_dirty;			/* the log may not match redo: save whole */
	/* what cb_nvram_loaddata() hands libtpms for "volatilestate" */
	uint8_t *load_vol;
	size_t load_vol_len;
	/* a permanent state produced by the running command, not committed */
	uint8_t *pending;
	size_t pending_len;
	uint8_t *sealbuf;
	size_t sealbuf_size;
	unsigned char *rbuf;		/* libtpms' response buffer */
	uint32_t rbufsize;
	struct vtpm_stats stats;
};

static int g_timing;		/* VTPM_F_TIMING */

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (!g_timing)
		return 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void free_secret(uint8_t **p, size_t *len)
{
	if (*p) {
		vtpm_explicit_bzero(*p, *len);
		free(*p);
	}
	*p = NULL;
	*len = 0;
}

/* libtpms is process-global; so is the vTPM its callbacks serve */
static struct vtpm *g_vtpm;
static volatile unsigned int g_locality;

const char *vtpm_libversion(void)
{
	return "0.1";
}

/* --- sealed blobs ----------------------------------------------------------- */

/* seal into v->sealbuf; timed: its time counts as crypto */
static int seal_timed(struct vtpm *v, const char *name, const struct blob_meta *meta,
		      const void *data, size_t len, size_t *blen, int timed)
{
	size_t need = vtpm_blob_size(&v->sealer, meta, len);
	uint64_t t0 = timed ? now_ns() : 0;
	int ret;

	if (need > v->sealbuf_size) {
		uint8_t *nb = malloc(need);

		if (!nb)
			return -ENOMEM;
		free_secret(&v->sealbuf, &v->sealbuf_size);
		v->sealbuf = nb;
		v->sealbuf_size = need;
	}
	ret = vtpm_blob_seal_into(&v->sealer, name, meta, data, len, v->sealbuf,
				  v->sealbuf_size);
	if (timed)
		v->stats.ns_crypto += now_ns() - t0;
	if (ret < 0)
		return ret;
	*blen = ret;
	return 0;
}

static int seal(struct vtpm *v, const char *name, const struct blob_meta *meta,
		const void *data, size_t len, size_t *blen)
{
	return seal_timed(v, name, meta, data, len, blen, 1);
}

/* a whole-file blob (meta, TPM 1.2 savestate): temp file and rename */
static int store_blob(struct vtpm *v, const char *name, const void *data,
		      size_t len)
{
	struct blob_meta meta = { 0 };
	size_t blen;
	int err;

	meta.generation = v->generation + 1;
	meta.base_generation = v->perm_generation;
	err = seal(v, name, &meta, data, len, &blen);
	if (err)
		return err;
	err = v->store.ops->store(&v->store, name, v->sealbuf, blen, 1);
	if (err)
		return err;
	v->generation = meta.generation;
	return 0;
}

static int load_blob(struct vtpm *v, const char *name, struct blob_meta *meta,
		     uint8_t **data, size_t *len)
{
	uint8_t *blob;
	size_t blen;
	int err;

	err = v->store.ops->load(&v->store, name, &blob, &blen);
	if (err)
		return err;
	err = vtpm_blob_open(&v->sealer, name, blob, blen, meta, data, len);
	free(blob);
	if (err)
		return err;
	if (meta->generation > v->generation)
		v->generation = meta->generation;
	return 0;
}

/*
 * The newest authentic blob of a slot pair. A slot that does not open is
 * one whose write was cut short (its answer was never given) or damage;
 * the other slot then holds the state. -ENOENT if neither slot exists.
 */
static int load_slots(struct vtpm *v, struct vtpm_store *st, const char *name,
		      struct blob_meta *meta, uint8_t **data, size_t *len,
		      int *slot)
{
	int i, err, first_err = -ENOENT, found = -1;

	*data = NULL;
	*len = 0;
	for (i = 0; i < 2; i++) {
		struct blob_meta m;
		uint8_t *blob, *plain;
		size_t blen, plen;

		err = st->ops->slot_load(st, name, i, &blob, &blen);
		if (err == -ENOENT)
			continue;
		if (!err) {
			err = vtpm_blob_open(&v->sealer, name, blob, blen, &m,
					     &plain, &plen);
			free(blob);
		}
		if (err) {
			pr_info("%s: %s.%d unusable (%s)\n", v->uuid, name, i,
				vtpm_strerror(err));
			if (first_err == -ENOENT)
				first_err = err;
			continue;
		}
		if (found >= 0 && m.generation <= meta->generation) {
			free_secret(&plain, &plen);
			continue;
		}
		free_secret(data, len);
		*meta = m;
		*data = plain;
		*len = plen;
		found = i;
	}
	if (found < 0)
		return first_err;
	*slot = found;
	if (meta->generation > v->generation)
		v->generation = meta->generation;
	return 0;
}

static void anchor_gen(struct vtpm *v)
{
	char buf[32];

	if (!(v->flags & VTPM_F_ROLLBACK_ANCHOR))
		return;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->perm_generation);
	vtpm_anchor_set(&v->gen_anchor, buf);
}

/* Make data the committed permanent state: durable before it returns. */
static int commit_permanent(struct vtpm *v, const uint8_t *data, size_t len)
{
	struct blob_meta meta = { 0 };
	int slot = v->perm_slot < 0 ? 0 : !v->perm_slot;
	uint8_t *copy;
	size_t blen;
	uint64_t t0;
	int err;

	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	meta.generation = v->generation + 1;
	meta.base_generation = meta.generation;
	err = seal(v, VTPM_PERM_SLOTS, &meta, data, len, &blen);
	if (!err) {
		t0 = now_ns();
		err = v->store.ops->slot_store(&v->store, VTPM_PERM_SLOTS, slot,
					       v->sealbuf, blen, 1);
		v->stats.ns_io += now_ns() - t0;
	}
	if (err) {
		free_secret(&copy, &len);
		return err;
	}
	free_secret(&v->perm, &v->perm_len);
	v->perm = copy;
	v->perm_len = len;
	v->perm_slot = slot;
	v->perm_generation = v->generation = meta.generation;
	v->stats.permanent_saves++;
	v->stats.bytes_permanent += blen;
	t0 = now_ns();
	anchor_gen(v);
	v->stats.ns_io += now_ns() - t0;
	pr_debug("%s: permanent state generation %llu in slot %d (%zu bytes)\n",
		 v->uuid, (unsigned long long)meta.generation, slot, blen);
	return 0;
}

/* the volatile state this session answered from: generation and tag */
static void anchor_vol(struct vtpm *v, uint64_t generation)
{
	char anchor[320];

	if (!(v->flags & VTPM_F_ROLLBACK_ANCHOR))
		return;
	snprintf(anchor, sizeof(anchor), "%llu %s", (unsigned long long)generation,
		 v->tag ? v->tag : "");
	vtpm_anchor_set(&v->vol_anchor, anchor);
}

static void redo_clear(struct vtpm *v)
{
	if (v->redo)
		vtpm_explicit_bzero(v->redo, v->redo_len);
	v->redo_len = 0;
	v->redo_n = 0;
}

/*
 * Save libtpms' volatile state into the older volatile slot; the log's
 * records, all older now, go. If the log cannot be emptied, its records
 * still name the state they follow, which is no longer the newest: a
 * resume ignores them, and nothing is appended to the log until it is
 * emptied.
 */
static int commit_volatile(struct vtpm *v)
{
	struct blob_meta meta = { 0 };
	int slot = v->vol_slot < 0 ? 0 : !v->vol_slot;
	unsigned char *buf = NULL;
	uint32_t len = 0;
	size_t blen;
	uint64_t t0;
	int err;

	t0 = now_ns();
	if (TPMLIB_VolatileAll_Store(&buf, &len) != TPM_SUCCESS) {
		pr_warn("%s: TPMLIB_VolatileAll_Store failed\n", v->uuid);
		return -EPROTO;
	}
	v->stats.ns_marshal += now_ns() - t0;
	meta.generation = v->generation + 1;
	meta.base_generation = v->perm_generation;
	if (v->tag)
		snprintf(meta.tag, sizeof(meta.tag), "%s", v->tag);
	err = seal(v, VTPM_VOL_SLOTS, &meta, buf, len, &blen);
	vtpm_explicit_bzero(buf, len);
	free(buf);
	if (err)
		return err;
	t0 = now_ns();
	err = v->run.ops->slot_store(&v->run, VTPM_VOL_SLOTS, slot, v->sealbuf,
				     blen, !!(v->flags & VTPM_F_SYNC_VOLATILE));
	if (!err) {
		v->vol_slot = slot;
		v->vol_generation = v->generation = meta.generation;
		v->stats.volatile_saves++;
		v->stats.bytes_volatile += blen;
		anchor_vol(v, meta.generation);
		if (v->redo_n || v->log_dirty)
			v->log_dirty = !!v->run.ops->log_reset(&v->run, VTPM_VOL_LOG);
		redo_clear(v);
	}
	v->stats.ns_io += now_ns() - t0;
	return err;
}

/* --- libtpms callbacks --------------------------------------------------- */

static TPM_RESULT cb_nvram_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT give(const uint8_t *src, size_t len, unsigned char **data,
		       uint32_t *length)
{
	unsigned char *buf = malloc(len ? len : 1);	/* libtpms free()s it */

	if (!buf)
		return TPM_FAIL;
	memcpy(buf, src, len);
	*data = buf;
	*length = len;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_loaddata(unsigned char **data, uint32_t *length,
				    uint32_t tpm_number, const char *name)
{
	struct vtpm *v = g_vtpm;
	struct blob_meta meta;
	uint8_t *buf;
	size_t len;
	int err;

	(void)tpm_number;
	if (!v)
		return TPM_FAIL;
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME)) {
		if (v->perm)
			return give(v->perm, v->perm_len, data, length);
		/* libtpms manufactures a new TPM when permall is missing:
		 * only vtpm_create() may let that happen */
		if (v->creating)
			return TPM_RETRY;
		v->cb_err = -ENOENT;
		return TPM_FAIL;
	}
	if (!strcmp(name, TPM_VOLATILESTATE_NAME)) {
		if (v->load_vol)
			return give(v->load_vol, v->load_vol_len, data, length);
		return TPM_RETRY;	/* "no such state": start clean */
	}
	err = load_blob(v, name, &meta, &buf, &len);
	if (err == -ENOENT)
		return TPM_RETRY;
	if (err) {
		pr_warn("%s: cannot load %s: %s\n", v->uuid, name, vtpm_strerror(err));
		if (!v->cb_err)
			v->cb_err = err;
		return TPM_FAIL;
	}
	*data = buf;
	*length = len;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_storedata(const unsigned char *data, uint32_t length,
				     uint32_t tpm_number, const char *name)
{
	struct vtpm *v = g_vtpm;
	int err;

	(void)tpm_number;
	if (!v)
		return TPM_FAIL;
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME)) {
		/* kept for vtpm_process() to commit once the command is done */
		uint8_t *copy = malloc(length ? length : 1);

		if (!copy) {
			v->cb_err = -ENOMEM;
			return TPM_FAIL;
		}
		memcpy(copy, data, length);
		free_secret(&v->pending, &v->pending_len);
		v->pending = copy;
		v->pending_len = length;
		return TPM_SUCCESS;
	}
	err = store_blob(v, name, data, length);
	if (err) {
		if (!v->cb_err)
			v->cb_err = err;
		return TPM_FAIL;
	}
	return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_deletename(uint32_t tpm_number, const char *name,
				      TPM_BOOL must_exist)
{
	struct vtpm *v = g_vtpm;
	int err;

	(void)tpm_number;
	if (!v)
		return TPM_FAIL;
	err = v->store.ops->remove(&v->store, name);
	if (err == -ENOENT && !must_exist)
		err = 0;
	return err ? TPM_FAIL : TPM_SUCCESS;
}

static TPM_RESULT cb_io_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT cb_io_getlocality(TPM_MODIFIER_INDICATOR *locality,
				    uint32_t tpm_number)
{
	(void)tpm_number;
	*locality = g_locality;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_io_getphysicalpresence(TPM_BOOL *pp, uint32_t tpm_number)
{
	(void)tpm_number;
	*pp = FALSE;
	return TPM_SUCCESS;
}

static struct libtpms_callbacks callbacks = {
	.sizeOfStruct			= sizeof(struct libtpms_callbacks),
	.tpm_nvram_init			= cb_nvram_init,
	.tpm_nvram_loaddata		= cb_nvram_loaddata,
	.tpm_nvram_storedata		= cb_nvram_storedata,
	.tpm_nvram_deletename		= cb_nvram_deletename,
	.tpm_io_init			= cb_io_init,
	.tpm_io_getlocality		= cb_io_getlocality,
	.tpm_io_getphysicalpresence	= cb_io_getphysicalpresence,
};

/* --- options and meta ---------------------------------------------------- */

/* Fields the caller's (possibly older or newer) struct has; a newer
 * caller's extra fields must be zero (libbpf's OPTS_VALID). */
static int opts_valid(const struct vtpm_opts *opts)
{
	const uint8_t *p = (const uint8_t *)opts;
	size_t i;

	if (!opts || opts->sz < offsetof(struct vtpm_opts, version) + sizeof(int))
		return 0;
	for (i = sizeof(struct vtpm_opts); i < opts->sz; i++)
		if (p[i])
			return 0;
	return 1;
}

#define OPT(opts, field, dflt)						\
	((opts)->sz >= offsetof(struct vtpm_opts, field) +		\
		       sizeof((opts)->field) ? (opts)->field : (dflt))

static const char *binding_of(const char *dir, char *buf, size_t size)
{
	size_t len = strlen(dir);
	const char *b;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	snprintf(buf, size, "%.*s", (int)len, dir);
	b = strrchr(buf, '/');
	return b ? b + 1 : buf;
}

struct meta {
	int format;
	enum vtpm_tpm_version version;
	int encrypted;
	uint64_t created;
};

static int meta_load(struct vtpm_store *st, struct meta *m)
{
	uint8_t *data;
	size_t len;
	char *s, *line, *save;
	int err;

	err = st->ops->load(st, VTPM_META_NAME, &data, &len);
	if (err)
		return err;
	s = malloc(len + 1);
	if (!s) {
		free(data);
		return -ENOMEM;
	}
	memcpy(s, data, len);
	s[len] = '\0';
	free(data);
	memset(m, 0, sizeof(*m));
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "format=", 7))
			m->format = atoi(line + 7);
		else if (!strcmp(line, "tpm=1.2"))
			m->version = VTPM_TPM_1_2;
		else if (!strcmp(line, "encryption=aes-256-gcm"))
			m->encrypted = 1;
		else if (!strncmp(line, "created=", 8))
			m->created = strtoull(line + 8, NULL, 10);
	}
	free(s);
	if (m->format != 2) {
		pr_warn("%s: state format %d, this libvtpm reads format 2 only\n",
			st->location, m->format);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static int meta_store(struct vtpm_store *st, const struct meta *m)
{
	char buf[256];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "# libvtpm state directory; do not edit\n"
		     "format=2\ntpm=%s\nencryption=%s\ncreated=%llu\n",
		     m->version == VTPM_TPM_1_2 ? "1.2" : "2.0",
		     m->encrypted ? "aes-256-gcm" : "none",
		     (unsigned long long)m->created);
	return st->ops->store(st, VTPM_META_NAME, buf, n, 1);
}

/* The meta file of a new vTPM, written last: its presence means "this vTPM exists". */
static int meta_store_new(struct vtpm *v, enum vtpm_tpm_version version)
{
	struct meta m = {
		.format = 2,
		.version = version,
		.encrypted = v->sealer.encrypted,
		.created = time(NULL),
	};

	return meta_store(&v->store, &m);
}

/* --- instance life cycle ------------------------------------------------- */

static void vtpm_release(struct vtpm *v)
{
	if (!v)
		return;
	if (v->running)
		TPMLIB_Terminate();
	if (v->store.ops)
		v->store.ops->close(&v->store);
	if (v->run.ops)
		v->run.ops->close(&v->run);
	vtpm_sealer_fini(&v->sealer);
	free_secret(&v->perm, &v->perm_len);
	free_secret(&v->load_vol, &v->load_vol_len);
	free_secret(&v->pending, &v->pending_len);
	free_secret(&v->sealbuf, &v->sealbuf_size);
	free_secret(&v->redo, &v->redo_size);
	free(v->rbuf);
	free(v->tag);
	free(v->uuid);
	if (g_vtpm == v)
		g_vtpm = NULL;
	free(v);
}

static const char *run_dir_of(const struct vtpm_opts *opts)
{
	const char *d = opts ? OPT(opts, run_dir, NULL) : NULL;

	if (!d || !*d)
		d = getenv("VTPM_RUN_DIR");
	return d && *d ? d : VTPM_DEFAULT_RUN_DIR;
}

/* <run dir>/<uuid>: the run directory itself is made 0700 if missing */
static int open_run_store(struct vtpm_store *st, const char *run_dir,
			  const char *uuid, int create)
{
	char path[4096];
	int err;

	if (create && mkdir(run_dir, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		pr_warn("cannot create run directory %s: %s\n", run_dir,
			strerror(errno));
		return err;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", run_dir, uuid) >= sizeof(path))
		return -ENAMETOOLONG;
	st->ops = &vtpm_store_dir_ops;
	err = st->ops->open(st, path, create);
	if (err)
		st->ops = NULL;
	return err;
}

/* Common part of create and open: stores, lock, key, anchors. */
static int vtpm_setup(struct vtpm *v, const struct vtpm_opts *opts, int create,
		      int need_key)
{
	const char *dir = OPT(opts, state_dir, NULL);
	const char *key_file = OPT(opts, key_file, NULL);
	const char *key_desc = OPT(opts, key_desc, NULL);
	uint8_t key[VTPM_KEY_LEN];
	int have_key = 0;
	char bbuf[4096];
	int err, pid = 0;

	if (!dir || !*dir)
		return -EINVAL;
	v->perm_slot = v->vol_slot = -1;
	v->store.ops = &vtpm_store_dir_ops;
	v->store.dirfd = v->store.lockfd = -1;
	err = v->store.ops->open(&v->store, dir, create);
	if (err) {
		v->store.ops = NULL;
		return err;
	}
	err = v->store.ops->lock(&v->store, &pid);
	if (err == -EBUSY) {
		pr_warn("%s is in use by pid %d\n", dir, pid);
		return err;
	}
	if (err)
		return err;
	v->uuid = strdup(binding_of(dir, bbuf, sizeof(bbuf)));
	if (!v->uuid)
		return -ENOMEM;
	err = open_run_store(&v->run, run_dir_of(opts), v->uuid, 1);
	if (err)
		return err;
	if (key_file && *key_file) {
		err = vtpm_load_key_file(key_file, key);
		if (err)
			return err;
		have_key = 1;
	} else if (key_desc && *key_desc) {
		err = vtpm_load_key_keyring(key_desc, key);
		if (err)
			return err;
		have_key = 1;
	} else if (need_key) {
		return -ENOKEY;
	}
	err = vtpm_sealer_init(&v->sealer, have_key ? key : NULL, v->uuid);
	vtpm_explicit_bzero(key, sizeof(key));
	if (err)
		return err;
	vtpm_anchor_init(&v->gen_anchor, "gen", dir);
	vtpm_anchor_init(&v->vol_anchor, "vol", dir);
	return 0;
}

/*
 * The state directory of a vTPM about to be made (vtpm_create()) or
 * imported (vtpm_state_import()): set up as vtpm_setup() does, refused with
 * -EEXIST when a vTPM exists there, and nothing an earlier vTPM of this
 * name left (volatile state in the run directory, rollback anchors) may
 * be taken for the new one's.
 */
static int vtpm_setup_new(struct vtpm *v, const struct vtpm_opts *opts)
{
	struct meta m;
	int err;

	err = vtpm_setup(v, opts, 1, !(v->flags & VTPM_F_PLAINTEXT));
	if (err)
		return err;
	err = meta_load(&v->store, &m);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	v->run.ops->destroy(&v->run);
	v->run.ops->close(&v->run);
	v->run.ops = NULL;
	vtpm_anchor_remove(&v->gen_anchor);
	vtpm_anchor_remove(&v->vol_anchor);
	return 0;
}

static int tpmlib_start(struct vtpm *v)
{
	uint32_t min, max, got;
	TPM_RESULT rc;

	rc = TPMLIB_ChooseTPMVersion(v->version == VTPM_TPM_1_2 ?
				     TPMLIB_TPM_VERSION_1_2 :
				     TPMLIB_TPM_VERSION_2);
	if (rc) {
		pr_warn("TPMLIB_ChooseTPMVersion failed: 0x%x\n", rc);
		return -EPROTO;
	}
	got = TPMLIB_SetBufferSize(VTPM_MAX_PACKET, &min, &max);
	pr_debug("libtpms buffer size %u (min %u, max %u)\n", got, min, max);
	rc = TPMLIB_RegisterCallbacks(&callbacks);
	if (rc) {
		pr_warn("TPMLIB_RegisterCallbacks failed: 0x%x\n", rc);
		return -EPROTO;
	}
	v->cb_err = 0;
	rc = TPMLIB_MainInit();
	free_secret(&v->load_vol, &v->load_vol_len);
	if (rc) {
		pr_warn("%s: TPMLIB_MainInit failed: 0x%x\n", v->uuid, rc);
		return v->cb_err ? v->cb_err : -EPROTO;
	}
	v->running = 1;
	if (v->cb_err)	/* a blob libtpms could do without failed to load */
		return v->cb_err;
	return 0;
}

int vtpm_create(const struct vtpm_opts *opts)
{
	struct vtpm *v;
	int err;

	if (!opts_valid(opts))
		return libvtpm_err(-EINVAL);
	if (g_vtpm)
		return libvtpm_err(-EALREADY);
	v = calloc(1, sizeof(*v));
	if (!v)
		return libvtpm_err(-ENOMEM);
	g_vtpm = v;
	v->flags = OPT(opts, flags, 0);
	g_timing = !!(v->flags & VTPM_F_TIMING);
	v->version = OPT(opts, version, VTPM_TPM_2_0);
	v->creating = 1;
	if (v->version != VTPM_TPM_2_0 && v->version != VTPM_TPM_1_2) {
		err = -EINVAL;
		goto out;
	}
	err = vtpm_setup_new(v, opts);
	if (err)
		goto out;
	err = tpmlib_start(v);		/* manufactures: new seeds, empty NV */
	if (err)
		goto out;
	/* manufacturing ends with libtpms handing over its permanent state;
	 * leftovers of a create that crashed before writing meta are
	 * overwritten: generation 1 goes to slot 0 */
	if (!v->pending) {
		pr_warn("libtpms manufactured no permanent state\n");
		err = -EPROTO;
		goto out;
	}
	err = commit_permanent(v, v->pending, v->pending_len);
	free_secret(&v->pending, &v->pending_len);
	if (err)
		goto out;
	v->store.ops->remove(&v->store, VTPM_PERM_SLOTS ".1");
	err = meta_store_new(v, v->version);
	if (!err)
		pr_info("created %s vTPM in %s (%s)\n",
			v->version == VTPM_TPM_1_2 ? "TPM 1.2" : "TPM 2.0",
			opts->state_dir, v->sealer.encrypted ? "encrypted" : "plaintext");
out:
	vtpm_release(v);
	return libvtpm_err(err);
}

static const uint8_t tpm2_startup_clear[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x44, 0x00, 0x00,
};
static const uint8_t tpm2_shutdown_clear[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x45, 0x00, 0x00,
};
static const uint8_t tpm12_startup_clear[] = {
	0x00, 0xc1, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x99, 0x00, 0x01,
};

#define TPM2_RC_INITIALIZE	0x100

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint32_t resp_code(const uint8_t *r, size_t len)
{
	return len < 10 ? ~0U : be32(r + 6);
}

/* one command straight into libtpms: no save, no statistics */
static int tpm_exec(struct vtpm *v, const uint8_t *cmd, size_t len,
		    uint32_t *rc)
{
	unsigned char buf[VTPM_MAX_PACKET];
	uint32_t rlen = 0;

	memcpy(buf, cmd, len);
	v->cb_err = 0;
	if (TPMLIB_Process(&v->rbuf, &rlen, &v->rbufsize, buf, len) != TPM_SUCCESS)
		return -EPROTO;
	*rc = resp_code(v->rbuf, rlen);
	return v->cb_err;
}

/*
 * The TPM 2.0 DRBG is part of the volatile state: a TPM resumed from, or
 * put back to, a saved state would replay the random numbers it produced
 * after that save. Stir fresh entropy into it (TPM2_StirRandom) so it
 * cannot. TPM 1.2 in libtpms draws from OpenSSL's RAND, not from state.
 */
static int stir_random(struct vtpm *v)
{
	uint8_t cmd[12 + 48] = { 0x80, 0x01, 0, 0, 0, sizeof(cmd), 0, 0, 0x01, 0x46,
				 0, 48 };
	uint32_t rc;
	int err;

	if (v->version != VTPM_TPM_2_0)
		return 0;
	if (getrandom(cmd + 12, 48, 0) != 48)
		return -EIO;
	err = tpm_exec(v, cmd, sizeof(cmd), &rc);
	vtpm_explicit_bzero(cmd + 12, 48);
	if (err)
		return err;
	if (rc && rc != TPM2_RC_INITIALIZE) {	/* not started: Startup seeds */
		pr_warn("%s: TPM2_StirRandom failed: 0x%x\n", v->uuid, rc);
		return -EPROTO;
	}
	return 0;
}

/* --- the volatile log ------------------------------------------------------ */

/*
 * At most this many records follow a volatile state: a resume replays
 * them all (about a microsecond each on a host CPU), the log holds about
 * 250 bytes each, and the whole save they put off costs as much as 15 of
 * them.
 */
#define VTPM_REDO_MAX	64

/* a record: kind, locality, command length, response length (le16), bytes */
#define REDO_HDR	6
#define REDO_KIND	1

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * A command whose effect on the TPM is fixed by its bytes, its locality
 * and the state before it: replayed on that state, it leaves the same
 * state and gives the same response. TPM 2.0: PCR_Extend and PCR_Event
 * with exactly one session, the password session (an HMAC or policy
 * session has nonces from the TPM's random generator, which a resume
 * stirs). TPM 1.2: TPM_Extend (no authorisation).
 */
static int replayable(enum vtpm_tpm_version ver, const uint8_t *c, size_t len)
{
	uint32_t code, asz, nsz, hsz;

	if (len < 10 || be32(c + 2) != len)
		return 0;
	code = be32(c + 6);
	if (ver == VTPM_TPM_1_2)
		return c[0] == 0x00 && c[1] == 0xc1 && code == 0x14 && len == 34;
	if (c[0] != 0x80 || c[1] != 0x02)		/* TPM_ST_SESSIONS */
		return 0;
	if (code != 0x182 && code != 0x13c)		/* PCR_Extend, PCR_Event */
		return 0;
	if (len < 18 + 9)
		return 0;
	asz = be32(c + 14);				/* after the PCR handle */
	if (asz < 9 || asz > len - 18 || be32(c + 18) != 0x40000009) /* TPM_RS_PW */
		return 0;
	nsz = be16(c + 22);
	if (4 + 2 + nsz + 1 + 2 > asz)
		return 0;
	hsz = be16(c + 18 + 4 + 2 + nsz + 1);
	return 4 + 2 + nsz + 1 + 2 + hsz == asz;	/* that session only */
}

static int redo_push(struct vtpm *v, const uint8_t *rec, size_t len)
{
	if (v->redo_len + len > v->redo_size) {
		size_t sz = v->redo_size ? v->redo_size : 4096;
		uint8_t *nb;

		while (sz < v->redo_len + len)
			sz *= 2;
		nb = malloc(sz);
		if (!nb)
			return -ENOMEM;
		if (v->redo_len)
			memcpy(nb, v->redo, v->redo_len);
		free_secret(&v->redo, &v->redo_size);
		v->redo = nb;
		v->redo_size = sz;
	}
	memcpy(v->redo + v->redo_len, rec, len);
	v->redo_len += len;
	v->redo_n++;
	return 0;
}

/* a record's bytes are one replayable command and its response */
static size_t redo_check(const struct vtpm *v, const uint8_t *r, size_t len)
{
	size_t cl, rl;

	if (len < REDO_HDR || r[0] != REDO_KIND || r[1] > 4)
		return 0;
	cl = r[2] | r[3] << 8;
	rl = r[4] | r[5] << 8;
	if (REDO_HDR + cl + rl > len || rl < 10 || rl > VTPM_MAX_PACKET ||
	    !replayable(v->version, r + REDO_HDR, cl))
		return 0;
	return REDO_HDR + cl + rl;
}

/*
 * Replay the records after the volatile state libtpms just loaded. Each
 * must give the response the guest had: anything else means the records
 * do not follow this state, or the TPM does not replay them as it ran
 * them, and the state is refused rather than guessed.
 */
static int replay_redo(struct vtpm *v)
{
	unsigned char buf[VTPM_MAX_PACKET];
	size_t off = 0, n;
	unsigned int i = 0;

	while (off < v->redo_len) {
		const uint8_t *r = v->redo + off;
		size_t cl = r[2] | r[3] << 8, rl = r[4] | r[5] << 8;
		uint32_t rlen = 0;

		n = REDO_HDR + cl + rl;
		memcpy(buf, r + REDO_HDR, cl);
		g_locality = r[1];
		v->cb_err = 0;
		if (TPMLIB_Process(&v->rbuf, &rlen, &v->rbufsize, buf, cl) != TPM_SUCCESS ||
		    v->cb_err || rlen != rl || memcmp(v->rbuf, r + REDO_HDR + cl, rl)) {
			pr_warn("vTPM %s: record %u of the volatile log (generation %llu) does not replay to the response the guest had: refused\n",
				v->uuid, i + 1,
				(unsigned long long)(v->vol_generation + i + 1));
			return -EBADMSG;
		}
		off += n;
		i++;
	}
	vtpm_explicit_bzero(buf, sizeof(buf));
	if (i)
		pr_info("%s: replayed %u command%s of the volatile log\n", v->uuid, i,
			i == 1 ? "" : "s");
	return 0;
}

/*
 * The log's records that follow the volatile state just chosen (meta),
 * into v->redo; *last: the newest generation they reach. A log that
 * follows an older state is stale (a whole save came after it and the
 * log was not emptied yet): ignored. One that follows a newer state than
 * the one found, a record out of sequence, of another session, or that
 * does not authenticate: refused. An incomplete last record is one whose
 * write was cut short, so its command was never answered: dropped.
 */
static int load_log(struct vtpm *v, const struct blob_meta *snap, uint64_t *last)
{
	uint8_t *log, *plain;
	size_t len, off = 0, plen;
	uint64_t next = snap->generation + 1;
	struct blob_meta m;
	ssize_t total;
	int err;

	*last = snap->generation;
	err = v->run.ops->load(&v->run, VTPM_VOL_LOG, &log, &len);
	if (err == -ENOENT)
		return 0;
	if (err) {
		pr_warn("vTPM %s: volatile log unreadable: %s\n", v->uuid, vtpm_strerror(err));
		return err;
	}
	while (off < len) {
		total = vtpm_blob_peek(log + off, len - off, &m);
		if ((total < 0 && len - off < 96) || (total > 0 && (size_t)total > len - off)) {
			pr_info("%s: volatile log: the last record is incomplete (%zu bytes): its command was never answered\n",
				v->uuid, len - off);
			break;
		}
		if (total > 0)
			err = vtpm_blob_open(&v->sealer, VTPM_VOL_LOG, log + off, total,
					     &m, &plain, &plen);
		else
			err = total;
		if (err) {
			pr_warn("vTPM %s: volatile log record %llu does not authenticate (%s): refused\n",
				v->uuid, (unsigned long long)(next - snap->generation),
				vtpm_strerror(err));
			goto fail;
		}
		if (off == 0 && m.base_generation < snap->generation) {
			free_secret(&plain, &plen);
			pr_info("%s: volatile log follows generation %llu, older than the state's %llu: ignored\n",
				v->uuid, (unsigned long long)m.base_generation,
				(unsigned long long)snap->generation);
			break;
		}
		if (m.base_generation != snap->generation || m.generation != next ||
		    strcmp(m.tag, snap->tag) || redo_check(v, plain, plen) != plen) {
			pr_warn("vTPM %s: volatile log record of generation %llu follows %llu (\"%s\"); %llu following %llu (\"%s\") expected: refused\n",
				v->uuid, (unsigned long long)m.generation,
				(unsigned long long)m.base_generation, m.tag,
				(unsigned long long)next,
				(unsigned long long)snap->generation, snap->tag);
			free_secret(&plain, &plen);
			err = -ESTALE;
			goto fail;
		}
		err = redo_push(v, plain, plen);
		free_secret(&plain, &plen);
		if (err)
			goto fail;
		off += total;
		*last = next++;
	}
	vtpm_explicit_bzero(log, len);
	free(log);
	if (*last > v->generation)
		v->generation = *last;
	return 0;

fail:
	vtpm_explicit_bzero(log, len);
	free(log);
	redo_clear(v);
	return err;
}

/*
 * The state a replayable command left, saved as a record of it: answered
 * once the record is in the log (and on stable storage with
 * VTPM_F_SYNC_VOLATILE). With VTPM_F_TIMING its whole cost from t0
 * (sealing, the write, the anchor) counts as I/O: one clock read more,
 * not four.
 */
static int log_command(struct vtpm *v, unsigned int locality, const uint8_t *cmd,
		       size_t clen, const uint8_t *rsp, size_t rlen, uint64_t t0)
{
	uint8_t rec[REDO_HDR + 2 * VTPM_MAX_PACKET];
	struct blob_meta meta = { 0 };
	size_t n = REDO_HDR + clen + rlen, blen;
	int err;

	rec[0] = REDO_KIND;
	rec[1] = locality;
	rec[2] = clen;
	rec[3] = clen >> 8;
	rec[4] = rlen;
	rec[5] = rlen >> 8;
	memcpy(rec + REDO_HDR, cmd, clen);
	memcpy(rec + REDO_HDR + clen, rsp, rlen);
	meta.generation = v->generation + 1;
	meta.base_generation = v->vol_generation;
	if (v->tag)
		snprintf(meta.tag, sizeof(meta.tag), "%s", v->tag);
	err = seal_timed(v, VTPM_VOL_LOG, &meta, rec, n, &blen, 0);
	if (!err)
		err = redo_push(v, rec, n);
	vtpm_explicit_bzero(rec, n);
	if (err)
		return err;
	err = v->run.ops->log_append(&v->run, VTPM_VOL_LOG, v->sealbuf, blen,
				     !!(v->flags & VTPM_F_SYNC_VOLATILE));
	if (err) {
		v->redo_len -= n;
		v->redo_n--;
		v->log_dirty = 1;	/* the next save is a whole one */
		v->stats.ns_io += now_ns() - t0;
		return err;
	}
	v->generation = meta.generation;
	v->stats.volatile_records++;
	v->stats.bytes_volatile += blen;
	anchor_vol(v, meta.generation);
	v->stats.ns_io += now_ns() - t0;
	return 0;
}

/*
 * Put libtpms back to the committed state after a command whose state
 * could not be saved: its effects are dropped, the DRBG stirred.
 */
static int restore_committed(struct vtpm *v)
{
	struct blob_meta meta;
	uint8_t *blob;
	size_t blen;
	int err;

	v->restore = 1;
	if (v->running) {
		TPMLIB_Terminate();
		v->running = 0;
	}
	free_secret(&v->pending, &v->pending_len);
	if (v->vol_slot >= 0) {
		err = v->run.ops->slot_load(&v->run, VTPM_VOL_SLOTS, v->vol_slot,
					    &blob, &blen);
		if (!err) {
			err = vtpm_blob_open(&v->sealer, VTPM_VOL_SLOTS,
					     blob, blen, &meta, &v->load_vol,
					     &v->load_vol_len);
			free(blob);
		}
		if (!err && meta.generation != v->vol_generation)
			err = -ESTALE;
		if (err) {
			pr_warn("%s: cannot read back the saved volatile state: %s\n",
				v->uuid, vtpm_strerror(err));
			return err;
		}
	}
	err = tpmlib_start(v);
	if (!err)
		err = replay_redo(v);
	if (!err)
		err = stir_random(v);
	if (err) {
		pr_warn("%s: cannot return to the saved state: %s\n", v->uuid,
			vtpm_strerror(err));
		return err;
	}
	free_secret(&v->pending, &v->pending_len);
	v->restore = 0;
	pr_info("%s: back at the saved state (generation %llu)\n", v->uuid,
		(unsigned long long)v->generation);
	return 0;
}

/* parse "<generation> <tag>" */
static int parse_vol_anchor(const char *s, uint64_t *gen, const char **tag)
{
	char *end;

	*gen = strtoull(s, &end, 10);
	if (end == s || *end != ' ')
		return -EINVAL;
	*tag = end + 1;
	return 0;
}

/*
 * The volatile state to resume, if any: the newest authentic volatile
 * slot saved under this session's tag. Refused (-ESTALE) when the
 * permanent state is older than the one it followed, or when the anchor
 * says this session answered from a newer volatile state than the one
 * found, or from one that is not there at all.
 */
static int check_volatile(struct vtpm *v)
{
	struct blob_meta meta;
	uint64_t agen = 0, last;
	const char *atag = NULL;
	char anchor[320];
	uint8_t *data;
	size_t len;
	int err, slot, same = 0;

	if ((v->flags & VTPM_F_ROLLBACK_ANCHOR) &&
	    !vtpm_anchor_get(&v->vol_anchor, anchor, sizeof(anchor)) && anchor[0] &&
	    !parse_vol_anchor(anchor, &agen, &atag))
		same = v->tag && !strcmp(atag, v->tag);

	err = load_slots(v, &v->run, VTPM_VOL_SLOTS, &meta, &data, &len, &slot);
	if (err && err != -ENOENT && !same) {
		pr_warn("%s: volatile state unreadable (%s): TPM reset\n", v->uuid,
			vtpm_strerror(err));
		err = -ENOENT;
	}
	if (err == -ENOENT && same) {
		pr_warn("vTPM %s: the volatile state of the running guest (%s, generation %llu) is missing: refused; restart the guest to reset its TPM\n",
			v->uuid, v->tag, (unsigned long long)agen);
		return -ESTALE;
	}
	if (err == -ENOENT)
		return 0;
	if (err) {
		pr_warn("vTPM %s: the volatile state of the running guest is unreadable (%s): refused\n",
			v->uuid, vtpm_strerror(err));
		return err;
	}
	if (!v->tag || strcmp(meta.tag, v->tag)) {
		if (same) {
			pr_warn("vTPM %s: the volatile state of the running guest (%s) was replaced by one of \"%s\": refused\n",
				v->uuid, v->tag, meta.tag);
			free_secret(&data, &len);
			return -ESTALE;
		}
		pr_info("%s: volatile state saved for \"%s\", not \"%s\": TPM reset\n",
			v->uuid, meta.tag, v->tag ? v->tag : "");
		free_secret(&data, &len);
		v->vol_slot = slot;	/* written over next */
		return 0;
	}
	if (meta.base_generation > v->perm_generation) {
		pr_warn("vTPM %s: permanent state generation %llu is older than the volatile state's %llu: rollback refused\n",
			v->uuid, (unsigned long long)v->perm_generation,
			(unsigned long long)meta.base_generation);
		free_secret(&data, &len);
		return -ESTALE;
	}
	err = load_log(v, &meta, &last);
	if (err) {
		free_secret(&data, &len);
		return err;
	}
	if (same && last < agen) {
		pr_warn("vTPM %s: volatile state generation %llu is older than generation %llu last answered from: rollback refused\n",
			v->uuid, (unsigned long long)last, (unsigned long long)agen);
		free_secret(&data, &len);
		redo_clear(v);
		return -ESTALE;
	}
	v->load_vol = data;
	v->load_vol_len = len;
	v->vol_slot = slot;
	v->vol_generation = meta.generation;
	return 0;
}

/*
 * The suspend record named rec, as the volatile state to resume: it must
 * carry that name and follow the permanent state just loaded (the vTPM
 * did not move on since the suspend).
 */
static int load_suspend(struct vtpm *v, const char *rec)
{
	struct blob_meta meta;
	uint8_t *data;
	size_t len;
	int err;

	err = load_blob(v, VTPM_SUSPEND_NAME, &meta, &data, &len);
	if (err == -ENOENT) {
		pr_warn("vTPM %s: no suspend record to resume (\"%s\" wanted)\n", v->uuid, rec);
		return err;
	}
	if (err) {
		pr_warn("vTPM %s: suspend record unreadable: %s\n", v->uuid, vtpm_strerror(err));
		return err;
	}
	if (strcmp(meta.tag, rec)) {
		pr_warn("vTPM %s: the suspend record is \"%s\", not \"%s\": refused\n",
			v->uuid, meta.tag, rec);
		free_secret(&data, &len);
		return -ESTALE;
	}
	if (meta.base_generation != v->perm_generation) {
		pr_warn("vTPM %s: suspend record \"%s\" follows permanent state generation %llu, the vTPM is at %llu: it moved on since the suspend; refused\n",
			v->uuid, rec, (unsigned long long)meta.base_generation,
			(unsigned long long)v->perm_generation);
		free_secret(&data, &len);
		return -ESTALE;
	}
	free_secret(&v->load_vol, &v->load_vol_len);
	v->load_vol = data;
	v->load_vol_len = len;
	return 0;
}

/* a suspend record named rec that was resumed already: it goes */
static void drop_suspend(struct vtpm *v, const char *rec, int checked)
{
	struct blob_meta meta;
	uint8_t *data;
	size_t len;

	if (!checked) {
		if (load_blob(v, VTPM_SUSPEND_NAME, &meta, &data, &len))
			return;
		free_secret(&data, &len);
		if (strcmp(meta.tag, rec))
			return;
	}
	if (v->store.ops->remove(&v->store, VTPM_SUSPEND_NAME))
		pr_warn("vTPM %s: cannot remove the consumed suspend record\n", v->uuid);
	else
		pr_info("%s: suspend record \"%s\" consumed\n", v->uuid, rec);
}

struct vtpm *vtpm_new(const struct vtpm_opts *opts)
{
	struct blob_meta pmeta;
	struct meta m;
	const char *tag;
	struct vtpm *v;
	uint32_t rc;
	int err, resume, from_record = 0;
	const char *rec;

	if (!opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}
	if (g_vtpm) {
		errno = EALREADY;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	g_vtpm = v;
	v->flags = OPT(opts, flags, 0);
	v->log_dirty = 1;	/* whatever a log holds, the first save is whole */
	g_timing = !!(v->flags & VTPM_F_TIMING);
	tag = OPT(opts, resume_tag, NULL);
	if (tag && !(v->tag = strdup(tag))) {
		err = -ENOMEM;
		goto err_release;
	}
	err = vtpm_setup(v, opts, 0, 0);
	if (err)
		goto err_release;
	err = meta_load(&v->store, &m);
	if (err)
		goto err_release;
	v->version = m.version;
	if (m.encrypted && !v->sealer.encrypted) {
		err = -ENOKEY;
		goto err_release;
	}
	/* the permanent state must be there and authentic before libtpms
	 * sees it: never a silently manufactured new TPM */
	err = load_slots(v, &v->store, VTPM_PERM_SLOTS, &pmeta, &v->perm,
			 &v->perm_len, &v->perm_slot);
	if (err == -ENOENT)
		err = -EBADMSG;	/* meta without permanent state: damaged */
	if (err) {
		pr_warn("vTPM %s: no authentic permanent state: %s\n", v->uuid,
			vtpm_strerror(err));
		goto err_release;
	}
	v->perm_generation = pmeta.generation;
	if (v->flags & VTPM_F_ROLLBACK_ANCHOR) {
		char buf[32];
		uint64_t anchor = 0;

		if (!vtpm_anchor_get(&v->gen_anchor, buf, sizeof(buf)) && buf[0] &&
		    (anchor = strtoull(buf, NULL, 10)) == VTPM_ANCHOR_REFUSED) {
			pr_warn("vTPM %s: not among the vTPMs the manager anchored at the last shutdown (destroyed, or put back while the host was down): refused\n",
				v->uuid);
			err = -ESTALE;
			goto err_release;
		} else if (buf[0] && anchor > pmeta.generation) {
			pr_warn("vTPM %s: permanent state generation %llu is older than generation %llu seen before: rollback refused\n",
				v->uuid, (unsigned long long)pmeta.generation,
				(unsigned long long)anchor);
			err = -ESTALE;
			goto err_release;
		}
	}
	err = check_volatile(v);
	if (err)
		goto err_release;
	resume = v->load_vol != NULL;
	rec = OPT(opts, resume_record, NULL);
	if (rec && *rec && !resume) {
		err = load_suspend(v, rec);
		if (err)
			goto err_release;
		resume = from_record = 1;
	}

	err = tpmlib_start(v);
	if (err)
		goto err_release;

	if (resume) {
		err = replay_redo(v);
		if (!err)
			err = stir_random(v);
	} else if (!(v->flags & VTPM_F_NO_STARTUP)) {
		const uint8_t *cmd = v->version == VTPM_TPM_1_2 ?
				     tpm12_startup_clear : tpm2_startup_clear;

		err = tpm_exec(v, cmd, sizeof(tpm2_startup_clear), &rc);
		if (!err && rc) {
			pr_warn("%s: Startup(CLEAR) failed: 0x%x\n", v->uuid, rc);
			err = -EPROTO;
		}
		v->started = !err;
	}
	if (!err && v->pending)
		err = commit_permanent(v, v->pending, v->pending_len);
	free_secret(&v->pending, &v->pending_len);
	/* a new session: what a restart of it must find */
	if (!err && (!resume || from_record))
		err = commit_volatile(v);
	if (err)
		goto err_release;
	/* resumed from the record and saved under the new tag: consumed */
	if (rec && *rec)
		drop_suspend(v, rec, from_record);
	pr_info("%s %s vTPM in %s (generation %llu)\n",
		from_record ? "resumed the suspended" :
		resume ? "resumed" : "started",
		v->version == VTPM_TPM_1_2 ? "TPM 1.2" : "TPM 2.0",
		opts->state_dir, (unsigned long long)v->generation);
	return v;

err_release:
	vtpm_release(v);
	errno = -err;
	return NULL;
}

int vtpm_fresh_start(const struct vtpm *v)
{
	return v && v->started;
}

int vtpm_suspend(struct vtpm *v, const char *record)
{
	struct blob_meta meta = { 0 };
	unsigned char *buf = NULL;
	uint32_t len = 0;
	size_t blen;
	int err;

	if (!v)
		return libvtpm_err(-EINVAL);
	if (!record || strlen(record) >= sizeof(meta.tag) || !v->running || v->restore) {
		vtpm_free(v);
		return libvtpm_err(-EINVAL);
	}
	if (TPMLIB_VolatileAll_Store(&buf, &len) != TPM_SUCCESS) {
		vtpm_free(v);
		return libvtpm_err(-EPROTO);
	}
	meta.generation = v->generation + 1;
	meta.base_generation = v->perm_generation;
	snprintf(meta.tag, sizeof(meta.tag), "%s", record);
	err = seal(v, VTPM_SUSPEND_NAME, &meta, buf, len, &blen);
	vtpm_explicit_bzero(buf, len);
	free(buf);
	if (!err)	/* temp file, fsync, rename, directory fsync */
		err = v->store.ops->store(&v->store, VTPM_SUSPEND_NAME, v->sealbuf, blen, 1);
	if (err) {
		pr_warn("vTPM %s: cannot write the suspend record: %s\n", v->uuid,
			vtpm_strerror(err));
		vtpm_free(v);
		return libvtpm_err(err);
	}
	v->generation = meta.generation;
	pr_info("%s: suspended into record \"%s\" (generation %llu)\n", v->uuid, record,
		(unsigned long long)meta.generation);
	/* the session lives on in the record only */
	if (v->run.ops) {
		v->run.ops->destroy(&v->run);
		v->run.ops->close(&v->run);
		v->run.ops = NULL;
	}
	vtpm_anchor_remove(&v->vol_anchor);
	vtpm_release(v);
	return 0;
}

int vtpm_save(struct vtpm *v)
{
	if (!v || !v->running || v->restore)
		return libvtpm_err(-EINVAL);
	return libvtpm_err(commit_volatile(v));
}

void vtpm_free(struct vtpm *v)
{
	if (!v)
		return;
	if (v->running && !v->restore)
		commit_volatile(v);
	vtpm_release(v);
}

/*
 * Before the caller gives up uid 0: both anchors exist as keys (created
 * now with the current values if missing) and from here on only those
 * keys are read, updated or invalidated, by serial (anchor.c).
 */
int vtpm_anchor_pin(struct vtpm *v, int32_t keys[2])
{
	char buf[32];
	int err;

	keys[0] = keys[1] = 0;
	if (!v)
		return libvtpm_err(-EINVAL);
	if (!(v->flags & VTPM_F_ROLLBACK_ANCHOR))
		return 0;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->perm_generation);
	err = vtpm_anchor_pin_key(&v->gen_anchor, buf);
	if (err)
		return libvtpm_err(err);
	/* the volatile anchor is written with the volatile state it names */
	if (vtpm_anchor_pin_key(&v->vol_anchor, NULL) == -ENOKEY &&
	    v->running && !v->restore) {
		err = commit_volatile(v);
		if (!err)
			err = vtpm_anchor_pin_key(&v->vol_anchor, NULL);
	} else if (!v->vol_anchor.pinned) {
		err = -ENOKEY;
	}
	if (err)
		return libvtpm_err(err);
	keys[0] = v->gen_anchor.key;
	keys[1] = v->vol_anchor.key;
	return 0;
}

void vtpm_power_off(struct vtpm *v)
{
	uint32_t rc;

	if (!v)
		return;
	if (v->running && !v->restore && v->version == VTPM_TPM_2_0) {
		/* an orderly shutdown, so the next Startup(CLEAR) does not
		 * count as a dictionary-attack event; an error (the guest
		 * already shut it down) does not matter */
		if (!tpm_exec(v, tpm2_shutdown_clear, sizeof(tpm2_shutdown_clear),
			      &rc) && v->pending)
			commit_permanent(v, v->pending, v->pending_len);
	}
	/* the session is over: its volatile state and anchor go */
	if (v->run.ops) {
		v->run.ops->destroy(&v->run);
		v->run.ops->close(&v->run);
		v->run.ops = NULL;
	}
	vtpm_anchor_remove(&v->vol_anchor);
	vtpm_release(v);
}

/*
 * Commands whose only effect on the TPM's state, sent without sessions,
 * is on the random generator (and the clock): answered without a save.
 */
static int changes_nothing(enum vtpm_tpm_version ver, const uint8_t *c,
			   size_t len)
{
	uint32_t code;

	if (len < 10)
		return 0;
	code = be32(c + 6);
	if (ver == VTPM_TPM_2_0) {
		if (c[0] != 0x80 || c[1] != 0x01)	/* TPM_ST_NO_SESSIONS */
			return 0;
		switch (code) {
		case 0x17b:	/* GetRandom */
		case 0x17a:	/* GetCapability */
		case 0x17e:	/* PCR_Read */
		case 0x173:	/* ReadPublic */
		case 0x169:	/* NV_ReadPublic */
		case 0x17c:	/* GetTestResult */
		case 0x18a:	/* TestParms */
			return 1;
		}
		return 0;
	}
	if (c[0] != 0x00 || c[1] != 0xc1)		/* TPM_TAG_RQU_COMMAND */
		return 0;
	switch (code) {
	case 0x65:	/* TPM_GetCapability */
	case 0x15:	/* TPM_PcrRead */
	case 0x46:	/* TPM_GetRandom */
	case 0x54:	/* TPM_GetTestResult */
		return 1;
	}
	return 0;
}

int vtpm_process(struct vtpm *v, const void *cmd, size_t cmd_len,
		 unsigned int locality, void *resp, size_t *resp_len)
{
	unsigned char buf[VTPM_MAX_PACKET];
	uint32_t rlen = 0;
	TPM_RESULT rc;
	uint64_t t0, t1;
	int err, perm = 0;

	if (!v || !cmd || !resp || !resp_len || (!v->running && !v->restore))
		return libvtpm_err(-EINVAL);
	if (cmd_len > VTPM_MAX_PACKET)
		return libvtpm_err(-EMSGSIZE);
	if (locality > 4)
		return libvtpm_err(-EINVAL);
	v->stats.commands++;
	/* a save failed earlier: the TPM goes back to the saved state first */
	if (v->restore && (err = restore_committed(v))) {
		v->stats.failed++;
		return libvtpm_err(err);
	}
	memcpy(buf, cmd, cmd_len);
	g_locality = locality;
	v->cb_err = 0;
	t0 = now_ns();
	rc = TPMLIB_Process(&v->rbuf, &rlen, &v->rbufsize, buf, cmd_len);
	t1 = now_ns();
	v->stats.ns_tpm += t1 - t0;
	if (rc != TPM_SUCCESS) {
		pr_warn("%s: TPMLIB_Process failed: 0x%x\n", v->uuid, rc);
		err = -EPROTO;
		goto err_restore;
	}
	err = v->cb_err;
	if (!err && v->pending) {
		err = commit_permanent(v, v->pending, v->pending_len);
		free_secret(&v->pending, &v->pending_len);
		perm = 1;
	}
	/* the response leaves only once the state it implies is saved */
	if (!err && !changes_nothing(v->version, cmd, cmd_len)) {
		if (!perm && !v->log_dirty && v->vol_slot >= 0 && rlen >= 10 &&
		    rlen <= VTPM_MAX_PACKET && v->redo_n < VTPM_REDO_MAX &&
		    replayable(v->version, cmd, cmd_len))
			err = log_command(v, locality, cmd, cmd_len, v->rbuf, rlen, t1);
		else
			err = commit_volatile(v);
	}
	if (err)
		goto err_restore;
	if (rlen > *resp_len)
		return libvtpm_err(-ENOBUFS);
	memcpy(resp, v->rbuf, rlen);
	*resp_len = rlen;
	return 0;

err_restore:
	pr_warn("vTPM %s: state not saved (%s): no answer; back to the saved state\n",
		v->uuid, vtpm_strerror(err));
	v->stats.failed++;
	restore_committed(v);	/* or at the next command */
	return libvtpm_err(err);
}

int vtpm_cancel(struct vtpm *v)
{
	if (!v || !v->running)
		return libvtpm_err(-EINVAL);
	return TPMLIB_CancelCommand() == TPM_SUCCESS ? 0 : libvtpm_err(-EPROTO);
}

size_t vtpm_failure_response(const void *cmd, size_t cmd_len, void *resp,
			     size_t resp_size)
{
	const uint8_t *c = cmd;
	uint8_t *r = resp;
	int tpm2 = cmd_len >= 2 && c[0] == 0x80 && (c[1] == 0x01 || c[1] == 0x02);

	if (resp_size < 10)
		return 0;
	/* TPM 2.0: TPM_ST_NO_SESSIONS, TPM_RC_FAILURE (0x101);
	 * TPM 1.2: TPM_TAG_RSP_COMMAND, TPM_FAIL (0x9) */
	r[0] = tpm2 ? 0x80 : 0x00;
	r[1] = tpm2 ? 0x01 : 0xc4;
	r[2] = r[3] = r[4] = 0;
	r[5] = 10;
	r[6] = r[7] = r[8] = 0;
	r[9] = tpm2 ? 0x01 : 0x09;
	if (tpm2)
		r[8] = 0x01;
	return 10;
}

static void slot_info(struct vtpm_store *st, const char *name,
		      uint32_t *size, uint64_t *modified, uint64_t *generation)
{
	char path[256];
	struct blob_meta bm;
	uint64_t sz, mtime;
	uint8_t *blob;
	size_t blen;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s.%d", name, i);
		if (st->ops->stat(st, path, &sz, &mtime))
			continue;
		if (mtime > *modified)
			*modified = mtime;
		if (st->ops->slot_load(st, name, i, &blob, &blen))
			continue;
		if (vtpm_blob_peek(blob, blen, &bm) == (ssize_t)blen &&
		    bm.generation >= *generation) {
			*generation = bm.generation;
			*size = blen;
		}
		free(blob);
	}
}

int vtpm_state_info(const char *dir, struct vtpm_info *info)
{
	struct vtpm_store st = { .ops = &vtpm_store_dir_ops, .dirfd = -1, .lockfd = -1 };
	struct vtpm_store run = { 0 };
	uint64_t pgen = 0, vgen = 0;
	char bbuf[4096];
	struct meta m;
	int err, pid = 0;

	if (!dir || !info || info->sz < offsetof(struct vtpm_info, volatile_size))
		return libvtpm_err(-EINVAL);
	err = st.ops->open(&st, dir, 0);
	if (err)
		return libvtpm_err(err);
	err = meta_load(&st, &m);
	if (err)
		goto out;
	memset((char *)info + sizeof(info->sz), 0,
	       (info->sz < sizeof(*info) ? info->sz : sizeof(*info)) - sizeof(info->sz));
	info->version = m.version;
	info->encrypted = m.encrypted;
	info->created = m.created;
	info->modified = m.created;
	info->locked = st.ops->probe_lock(&st, &pid) == -EBUSY;
	info->lock_pid = info->locked ? pid : 0;
	slot_info(&st, VTPM_PERM_SLOTS, &info->permanent_size, &info->modified, &pgen);
	if (!open_run_store(&run, run_dir_of(NULL), binding_of(dir, bbuf, sizeof(bbuf)), 0)) {
		uint32_t vsize = 0;

		slot_info(&run, VTPM_VOL_SLOTS, &vsize, &info->modified, &vgen);
		if (info->sz >= offsetof(struct vtpm_info, volatile_size) + sizeof(uint32_t))
			info->volatile_size = vsize;
		run.ops->close(&run);
	}
	info->generation = pgen > vgen ? pgen : vgen;
	if (info->sz >= offsetof(struct vtpm_info, permanent_generation) + sizeof(uint64_t))
		info->permanent_generation = pgen;
out:
	st.ops->close(&st);
	return libvtpm_err(err);
}

int vtpm_state_destroy(const char *dir)
{
	struct vtpm_store st = { .ops = &vtpm_store_dir_ops, .dirfd = -1, .lockfd = -1 };
	struct vtpm_store run = { 0 };
	struct vtpm_anchor a;
	char bbuf[4096];
	uint64_t size;
	int err, pid = 0;

	if (!dir)
		return libvtpm_err(-EINVAL);
	err = st.ops->open(&st, dir, 0);
	if (err)
		return libvtpm_err(err);
	if (st.ops->stat(&st, VTPM_META_NAME, &size, NULL) &&
	    st.ops->stat(&st, VTPM_PERM_SLOTS ".0", &size, NULL) &&
	    st.ops->stat(&st, VTPM_PERM_SLOTS ".1", &size, NULL)) {
		err = -ENOENT;
		goto out;
	}
	/* hold the lock while wiping: no server can start on it meanwhile */
	err = st.ops->lock(&st, &pid);
	if (err) {
		if (err == -EBUSY)
			pr_warn("%s is in use by pid %d\n", dir, pid);
		goto out;
	}
	/* anchors before the directory is gone (they name its real path) */
	if (!vtpm_anchor_init(&a, "gen", dir))
		vtpm_anchor_remove(&a);
	if (!vtpm_anchor_init(&a, "vol", dir))
		vtpm_anchor_remove(&a);
	if (!open_run_store(&run, run_dir_of(NULL), binding_of(dir, bbuf, sizeof(bbuf)), 0)) {
		run.ops->destroy(&run);
		run.ops->close(&run);
	}
	err = st.ops->destroy(&st);
out:
	st.ops->close(&st);
	return libvtpm_err(err);
}

/*
 * open_offline() - a vTPM that no server serves, its newest authentic
 * permanent state loaded (for rekey and export): takes the state lock,
 * refuses a permanent state older than its rollback anchor. On error *vp
 * may be set: vtpm_release() it either way.
 */
static int open_offline(const struct vtpm_opts *opts, int setup_arg,
			struct vtpm **vp, struct meta *m, struct blob_meta *pmeta)
{
	struct blob_meta pm;
	struct vtpm *v;
	char buf[32];
	int err;

	if (g_vtpm)
		return -EALREADY;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*vp = g_vtpm = v;
	v->flags = OPT(opts, flags, 0);
	err = vtpm_setup(v, opts, 0, setup_arg);	/* takes the lock: not served */
	if (err)
		return err;
	err = meta_load(&v->store, m);
	if (err)
		return err;
	if (m->encrypted && !v->sealer.encrypted)
		return -ENOKEY;
	err = load_slots(v, &v->store, VTPM_PERM_SLOTS, &pm, &v->perm,
			 &v->perm_len, &v->perm_slot);
	if (err == -ENOENT)
		err = -EBADMSG;
	if (err) {
		pr_warn("vTPM %s: no authentic permanent state: %s\n", v->uuid,
			vtpm_strerror(err));
		return err;
	}
	v->perm_generation = pm.generation;
	if ((v->flags & VTPM_F_ROLLBACK_ANCHOR) &&
	    !vtpm_anchor_get(&v->gen_anchor, buf, sizeof(buf)) && buf[0] &&
	    strtoull(buf, NULL, 10) > pm.generation) {
		pr_warn("vTPM %s: permanent state generation %llu is older than generation %s seen before: rollback refused\n",
			v->uuid, (unsigned long long)pm.generation, buf);
		return -ESTALE;
	}
	if (pmeta)
		*pmeta = pm;
	return 0;
}

int vtpm_state_rekey(const struct vtpm_opts *opts, const char *new_key_desc)
{
	uint8_t key[VTPM_KEY_LEN];
	struct vtpm *v = NULL;
	struct meta m;
	int err;

	if (!opts_valid(opts) || !new_key_desc || !*new_key_desc)
		return libvtpm_err(-EINVAL);
	err = open_offline(opts, 1, &v, &m, NULL);
	if (err)
		goto out;
	if (!m.encrypted) {
		err = -EINVAL;		/* plaintext: no key to change */
		goto out;
	}
	err = vtpm_load_key_keyring(new_key_desc, key);
	if (err)
		goto out;
	vtpm_sealer_fini(&v->sealer);
	err = vtpm_sealer_init(&v->sealer, key, v->uuid);
	vtpm_explicit_bzero(key, sizeof(key));
	if (err)
		goto out;
	/* the other slot; the newest under the old key stays as it is. The
	 * keyring anchor is not moved: until the new key is the host's, the
	 * old key's slot must still open */
	v->flags &= ~VTPM_F_ROLLBACK_ANCHOR;
	err = commit_permanent(v, v->perm, v->perm_len);
	if (err)
		goto out;
	/* no guest runs: its volatile state (and TPM 1.2 save state, read
	 * only by Startup(ST_STATE)) go, the next start is a power-on */
	v->store.ops->remove(&v->store, TPM_SAVESTATE_NAME);
	v->run.ops->destroy(&v->run);
	v->run.ops->close(&v->run);
	v->run.ops = NULL;
	vtpm_anchor_remove(&v->vol_anchor);
	pr_info("vTPM %s: permanent state generation %llu sealed with the new key\n",
		v->uuid, (unsigned long long)v->perm_generation);
out:
	vtpm_release(v);
	return libvtpm_err(err);
}

int vtpm_anchor_get_generation(const char *dir, uint64_t *generation)
{
	struct vtpm_anchor a;
	char buf[32];
	int err;

	if (!dir || !generation)
		return libvtpm_err(-EINVAL);
	*generation = 0;
	err = vtpm_anchor_init(&a, "gen", dir);
	if (!err)
		err = vtpm_anchor_get(&a, buf, sizeof(buf));
	if (!err && buf[0])
		*generation = strtoull(buf, NULL, 10);
	return libvtpm_err(err);
}

int vtpm_anchor_set_generation(const char *dir, uint64_t generation)
{
	struct vtpm_anchor a;
	char buf[32];
	int err;

	if (!dir)
		return libvtpm_err(-EINVAL);
	err = vtpm_anchor_init(&a, "gen", dir);
	if (err)
		return libvtpm_err(err);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)generation);
	return libvtpm_err(vtpm_anchor_set(&a, buf));
}

int vtpm_get_stats(struct vtpm *v, struct vtpm_stats *st)
{
	size_t n;

	if (!v || !st || st->sz < sizeof(st->sz))
		return libvtpm_err(-EINVAL);
	n = st->sz < sizeof(v->stats) ? st->sz : sizeof(v->stats);
	memcpy((char *)st + sizeof(st->sz), (char *)&v->stats + sizeof(st->sz),
	       n - sizeof(st->sz));
	return 0;
}

/* --- export / import ------------------------------------------------------- */

/*
 * Export format (plaintext, libvtpm's business; the caller encrypts it):
 *   "VTPMEXP1" | u32 version | u32 perm_len | perm |
 *   u32 rec_name_len | rec_name | u32 rec_len | rec       (big endian)
 */
#define EXPORT_MAGIC "VTPMEXP1"

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
	return p + 4;
}

static int get32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	if (end - *p < 4)
		return -EBADMSG;
	*v = (uint32_t)(*p)[0] << 24 | (*p)[1] << 16 | (*p)[2] << 8 | (*p)[3];
	*p += 4;
	return 0;
}

int vtpm_state_export(const struct vtpm_opts *opts, uint8_t **out, size_t *out_len)
{
	struct blob_meta pmeta, rmeta;
	uint8_t *rec = NULL, *buf, *p;
	size_t rec_len = 0, n;
	struct vtpm *v = NULL;
	struct meta m;
	int err;

	if (!opts_valid(opts) || !out || !out_len)
		return libvtpm_err(-EINVAL);
	err = open_offline(opts, 0, &v, &m, &pmeta);
	if (err)
		goto out;
	err = load_blob(v, VTPM_SUSPEND_NAME, &rmeta, &rec, &rec_len);
	if (!err && rmeta.base_generation != pmeta.generation) {
		pr_warn("vTPM %s: suspend record does not follow the permanent state: not exported\n",
			v->uuid);
		free_secret(&rec, &rec_len);
	} else if (err && err != -ENOENT) {
		goto out;
	}
	err = 0;
	n = 8 + 4 + 4 + v->perm_len + 4 + (rec ? strlen(rmeta.tag) : 0) + 4 + rec_len;
	buf = malloc(n);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	p = buf;
	memcpy(p, EXPORT_MAGIC, 8);
	p = put32(p + 8, m.version);
	p = put32(p, v->perm_len);
	memcpy(p, v->perm, v->perm_len);
	p += v->perm_len;
	p = put32(p, rec ? strlen(rmeta.tag) : 0);
	if (rec) {
		memcpy(p, rmeta.tag, strlen(rmeta.tag));
		p += strlen(rmeta.tag);
	}
	p = put32(p, rec_len);
	if (rec)
		memcpy(p, rec, rec_len);
	*out = buf;
	*out_len = n;
out:
	free_secret(&rec, &rec_len);
	vtpm_release(v);
	return libvtpm_err(err);
}

int vtpm_state_import(const struct vtpm_opts *opts, const uint8_t *in, size_t len)
{
	const uint8_t *p = in, *end = in + len, *perm, *rname, *rec;
	uint32_t version, perm_len, rname_len, rec_len;
	struct blob_meta meta = { 0 };
	char name[256];
	struct vtpm *v;
	size_t blen;
	int err;

	if (!opts_valid(opts) || !in)
		return libvtpm_err(-EINVAL);
	if (len < 8 || memcmp(in, EXPORT_MAGIC, 8))
		return libvtpm_err(-EBADMSG);
	p += 8;
	if (get32(&p, end, &version) || get32(&p, end, &perm_len) ||
	    (size_t)(end - p) < perm_len || !perm_len)
		return libvtpm_err(-EBADMSG);
	perm = p;
	p += perm_len;
	if (get32(&p, end, &rname_len) || (size_t)(end - p) < rname_len ||
	    rname_len >= sizeof(name))
		return libvtpm_err(-EBADMSG);
	rname = p;
	p += rname_len;
	if (get32(&p, end, &rec_len) || (size_t)(end - p) != rec_len ||
	    (!rname_len) != (!rec_len) ||
	    (version != VTPM_TPM_2_0 && version != VTPM_TPM_1_2))
		return libvtpm_err(-EBADMSG);
	rec = p;
	memcpy(name, rname, rname_len);
	name[rname_len] = '\0';
	if (g_vtpm)
		return libvtpm_err(-EALREADY);
	v = calloc(1, sizeof(*v));
	if (!v)
		return libvtpm_err(-ENOMEM);
	g_vtpm = v;
	v->flags = OPT(opts, flags, 0);
	v->version = version;
	err = vtpm_setup_new(v, opts);
	if (err)
		goto out;
	err = commit_permanent(v, perm, perm_len);
	if (err)
		goto out;
	v->store.ops->remove(&v->store, VTPM_PERM_SLOTS ".1");
	if (rec_len) {
		meta.generation = v->generation + 1;
		meta.base_generation = v->perm_generation;
		snprintf(meta.tag, sizeof(meta.tag), "%s", name);
		err = seal(v, VTPM_SUSPEND_NAME, &meta, rec, rec_len, &blen);
		if (!err)
			err = v->store.ops->store(&v->store, VTPM_SUSPEND_NAME, v->sealbuf,
						  blen, 1);
		if (err)
			goto out;
		v->generation = meta.generation;
	}
	err = meta_store_new(v, version);	/* last: now the vTPM exists */
	if (!err)
		pr_info("imported %s vTPM into %s (%s%s)\n",
			version == VTPM_TPM_1_2 ? "TPM 1.2" : "TPM 2.0", opts->state_dir,
			v->sealer.encrypted ? "encrypted" : "plaintext",
			rec_len ? ", with a suspend record" : "");
out:
	vtpm_release(v);
	return libvtpm_err(err);
}
