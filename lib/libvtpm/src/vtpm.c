// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvtpm core: one libtpms TPM per process, its state in a vTPM store.
 *
 * libtpms reaches its state through the nvram callbacks below; they go
 * through the sealer (blob.c) to the store (store_dir.c). libtpms writes
 * the permanent state itself, from inside TPMLIB_Process(), whenever a
 * command changes NV; vtpm_save() writes the volatile state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>

#include "internal.h"

struct vtpm {
	struct vtpm_store store;
	struct vtpm_sealer sealer;
	enum vtpm_tpm_version version;
	unsigned int flags;
	char *tag;			/* resume tag of this session */
	int creating;			/* vtpm_create(): may manufacture */
	int resume;			/* hand the volatile state to libtpms */
	int running;			/* TPMLIB_MainInit() succeeded */
	int cb_err;			/* first error of a callback */
	uint64_t generation;		/* highest generation stored or seen */
	uint64_t perm_generation;	/* generation of the current permall */
	unsigned char *rbuf;		/* libtpms' response buffer */
	uint32_t rbufsize;
	struct vtpm_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* libtpms is process-global; so is the vTPM its callbacks serve */
static struct vtpm *g_vtpm;
static volatile unsigned int g_locality;

const char *vtpm_libversion(void)
{
	return "0.1";
}

static int is_volatile(const char *name)
{
	return !strcmp(name, TPM_VOLATILESTATE_NAME);
}

/* --- sealed blobs on the store ------------------------------------------ */

static int store_blob(struct vtpm *v, const char *name, const void *data,
		      size_t len)
{
	struct blob_meta meta = { 0 };
	int is_perm = !strcmp(name, TPM_PERMANENT_ALL_NAME);
	int sync = !is_volatile(name) || (v->flags & VTPM_F_SYNC_VOLATILE);
	uint8_t *blob;
	size_t blen;
	int err;

	meta.generation = v->generation + 1;
	meta.base_generation = is_perm ? meta.generation : v->perm_generation;
	if (is_volatile(name) && v->tag)
		snprintf(meta.tag, sizeof(meta.tag), "%s", v->tag);
	err = vtpm_blob_seal(&v->sealer, name, &meta, data, len, &blob, &blen);
	if (err)
		return err;
	err = v->store.ops->store(&v->store, name, blob, blen, sync);
	free(blob);
	if (err)
		return err;
	v->generation = meta.generation;
	if (is_perm) {
		v->perm_generation = meta.generation;
		if (v->flags & VTPM_F_ROLLBACK_ANCHOR)
			vtpm_anchor_set(v->store.location, meta.generation);
	}
	pr_debug("stored %s (%zu bytes, generation %llu)\n", name, len,
		 (unsigned long long)meta.generation);
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

/* --- libtpms callbacks --------------------------------------------------- */

static TPM_RESULT cb_nvram_init(void)
{
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
	if (is_volatile(name) && !v->resume)
		return TPM_RETRY;	/* "no such state": start clean */
	err = load_blob(v, name, &meta, &buf, &len);
	if (err == -ENOENT) {
		/* libtpms manufactures a new TPM when permall is missing:
		 * only vtpm_create() may let that happen */
		if (!strcmp(name, TPM_PERMANENT_ALL_NAME) && !v->creating) {
			v->cb_err = -ENOENT;
			return TPM_FAIL;
		}
		return TPM_RETRY;
	}
	if (err) {
		pr_warn("cannot load %s: %s\n", name, vtpm_strerror(err));
		if (!v->cb_err)
			v->cb_err = err;
		return TPM_FAIL;
	}
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME))
		v->perm_generation = meta.generation;
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
	if (m->format != 1)
		return -EPROTONOSUPPORT;
	return 0;
}

static int meta_store(struct vtpm_store *st, const struct meta *m)
{
	char buf[256];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "# libvtpm state directory; do not edit\n"
		     "format=1\ntpm=%s\nencryption=%s\ncreated=%llu\n",
		     m->version == VTPM_TPM_1_2 ? "1.2" : "2.0",
		     m->encrypted ? "aes-256-gcm" : "none",
		     (unsigned long long)m->created);
	return st->ops->store(st, VTPM_META_NAME, buf, n, 1);
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
	vtpm_sealer_fini(&v->sealer);
	free(v->rbuf);
	free(v->tag);
	if (g_vtpm == v)
		g_vtpm = NULL;
	free(v);
}

/* Common part of create and open: store, lock, key. */
static int vtpm_setup(struct vtpm *v, const struct vtpm_opts *opts, int create,
		      int need_key)
{
	const char *dir = OPT(opts, state_dir, NULL);
	const char *key_file = OPT(opts, key_file, NULL);
	uint8_t key[VTPM_KEY_LEN];
	char bbuf[4096];
	int err, pid = 0;

	if (!dir || !*dir)
		return -EINVAL;
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
	if (key_file) {
		err = vtpm_load_key_file(key_file, key);
		if (err)
			return err;
	} else if (need_key) {
		return -ENOKEY;
	}
	err = vtpm_sealer_init(&v->sealer, key_file ? key : NULL,
			       binding_of(dir, bbuf, sizeof(bbuf)));
	vtpm_explicit_bzero(key, sizeof(key));
	return err;
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
	rc = TPMLIB_MainInit();
	if (rc) {
		pr_warn("TPMLIB_MainInit failed: 0x%x\n", rc);
		return v->cb_err ? v->cb_err : -EPROTO;
	}
	if (v->cb_err)	/* a blob libtpms could do without failed to load */
		return v->cb_err;
	v->running = 1;
	return 0;
}

int vtpm_create(const struct vtpm_opts *opts)
{
	unsigned int flags;
	struct meta m = { 0 };
	unsigned char *buf = NULL;
	uint32_t len;
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
	flags = OPT(opts, flags, 0);
	v->flags = flags;
	v->version = OPT(opts, version, VTPM_TPM_2_0);
	v->creating = 1;
	if (v->version != VTPM_TPM_2_0 && v->version != VTPM_TPM_1_2) {
		err = -EINVAL;
		goto out;
	}
	err = vtpm_setup(v, opts, 1, !(flags & VTPM_F_PLAINTEXT));
	if (err)
		goto out;
	if (meta_load(&v->store, &m) != -ENOENT) {
		err = -EEXIST;
		goto out;
	}
	/* leftovers of a create that crashed before writing meta */
	v->store.ops->remove(&v->store, TPM_PERMANENT_ALL_NAME);
	v->store.ops->remove(&v->store, TPM_VOLATILESTATE_NAME);
	v->store.ops->remove(&v->store, TPM_SAVESTATE_NAME);

	err = tpmlib_start(v);		/* manufactures: new seeds, empty NV */
	if (err)
		goto out;
	if (TPMLIB_GetState(TPMLIB_STATE_PERMANENT, &buf, &len)) {
		err = -EPROTO;
		goto out;
	}
	err = store_blob(v, TPM_PERMANENT_ALL_NAME, buf, len);
	free(buf);
	if (err)
		goto out;
	/* meta last: its presence means "this vTPM exists" */
	m.format = 1;
	m.version = v->version;
	m.encrypted = v->sealer.encrypted;
	m.created = time(NULL);
	err = meta_store(&v->store, &m);
	if (!err)
		pr_info("created %s vTPM in %s (%s)\n",
			v->version == VTPM_TPM_1_2 ? "TPM 1.2" : "TPM 2.0",
			opts->state_dir, m.encrypted ? "encrypted" : "plaintext");
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

static uint32_t resp_code(const uint8_t *r, size_t len)
{
	if (len < 10)
		return ~0U;
	return (uint32_t)r[6] << 24 | r[7] << 16 | r[8] << 8 | r[9];
}

/* Decide whether the saved volatile state is this session's to resume. */
static int check_volatile(struct vtpm *v)
{
	struct blob_meta meta;
	uint8_t *data;
	size_t len;
	int err;

	err = load_blob(v, TPM_VOLATILESTATE_NAME, &meta, &data, &len);
	if (err == -ENOENT)
		return 0;
	if (err == -EBADMSG && !v->sealer.encrypted) {
		/* torn by a power loss (written without fsync): the guest it
		 * belonged to is gone too */
		pr_warn("volatile state unreadable, starting clean\n");
		return 0;
	}
	if (err)
		return err;
	vtpm_explicit_bzero(data, len);
	free(data);
	if (meta.base_generation > v->perm_generation) {
		pr_warn("permanent state generation %llu is older than the volatile state's %llu: rollback refused\n",
			(unsigned long long)v->perm_generation,
			(unsigned long long)meta.base_generation);
		return -ESTALE;
	}
	if (!v->tag || strcmp(meta.tag, v->tag)) {
		pr_info("volatile state saved for \"%s\", not \"%s\": TPM reset\n",
			meta.tag, v->tag ? v->tag : "");
		return 0;
	}
	v->resume = 1;
	return 0;
}

struct vtpm *vtpm_new(const struct vtpm_opts *opts)
{
	struct blob_meta pmeta;
	struct meta m;
	uint8_t resp[64], *data;
	size_t rlen, len;
	const char *tag;
	struct vtpm *v;
	int err;

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
	err = load_blob(v, TPM_PERMANENT_ALL_NAME, &pmeta, &data, &len);
	if (err == -ENOENT)
		err = -EBADMSG;	/* meta without permall: damaged */
	if (err)
		goto err_release;
	vtpm_explicit_bzero(data, len);
	free(data);
	v->perm_generation = pmeta.generation;
	if (v->flags & VTPM_F_ROLLBACK_ANCHOR) {
		uint64_t anchor;

		if (!vtpm_anchor_get(v->store.location, &anchor) &&
		    anchor > pmeta.generation) {
			pr_warn("permanent state generation %llu is older than generation %llu seen before: rollback refused\n",
				(unsigned long long)pmeta.generation,
				(unsigned long long)anchor);
			err = -ESTALE;
			goto err_release;
		}
	}
	err = check_volatile(v);
	if (err)
		goto err_release;

	err = tpmlib_start(v);
	if (err)
		goto err_release;

	if (!v->resume && !(v->flags & VTPM_F_NO_STARTUP)) {
		const uint8_t *cmd = v->version == VTPM_TPM_1_2 ?
				     tpm12_startup_clear : tpm2_startup_clear;
		uint32_t rc;

		rlen = sizeof(resp);
		err = vtpm_process(v, cmd, sizeof(tpm2_startup_clear), 0, resp,
				   &rlen);
		if (err)
			goto err_release;
		rc = resp_code(resp, rlen);
		if (rc != 0) {
			pr_warn("Startup(CLEAR) failed: 0x%x\n", rc);
			err = -EPROTO;
			goto err_release;
		}
	}
	pr_info("%s %s vTPM in %s (generation %llu)\n",
		v->resume ? "resumed" : "started",
		v->version == VTPM_TPM_1_2 ? "TPM 1.2" : "TPM 2.0",
		opts->state_dir, (unsigned long long)v->generation);
	/* what a restart of this session must find */
	err = vtpm_save(v);
	if (err)
		goto err_release;
	return v;

err_release:
	vtpm_release(v);
	errno = -err;
	return NULL;
}

int vtpm_save(struct vtpm *v)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	int err;

	if (!v || !v->running)
		return libvtpm_err(-EINVAL);
	if (TPMLIB_VolatileAll_Store(&buf, &len) != TPM_SUCCESS) {
		pr_warn("TPMLIB_VolatileAll_Store failed\n");
		return libvtpm_err(-EPROTO);
	}
	err = store_blob(v, TPM_VOLATILESTATE_NAME, buf, len);
	vtpm_explicit_bzero(buf, len);
	free(buf);
	return libvtpm_err(err);
}

void vtpm_free(struct vtpm *v)
{
	if (!v)
		return;
	if (v->running)
		vtpm_save(v);
	vtpm_release(v);
}

void vtpm_power_off(struct vtpm *v)
{
	uint8_t resp[64];
	size_t rlen = sizeof(resp);

	if (!v)
		return;
	if (v->running && v->version == VTPM_TPM_2_0) {
		/* an orderly shutdown, so the next Startup(CLEAR) does not
		 * count as a dictionary-attack event; an error (the guest
		 * already shut it down) does not matter */
		vtpm_process(v, tpm2_shutdown_clear, sizeof(tpm2_shutdown_clear),
			     0, resp, &rlen);
	}
	if (v->store.ops)
		v->store.ops->remove(&v->store, TPM_VOLATILESTATE_NAME);
	vtpm_release(v);
}

int vtpm_process(struct vtpm *v, const void *cmd, size_t cmd_len,
		 unsigned int locality, void *resp, size_t *resp_len)
{
	unsigned char buf[VTPM_MAX_PACKET];
	uint32_t rlen = 0;
	TPM_RESULT rc;
	uint64_t t0;

	if (!v || !v->running || !cmd || !resp || !resp_len)
		return libvtpm_err(-EINVAL);
	if (cmd_len > VTPM_MAX_PACKET)
		return libvtpm_err(-EMSGSIZE);
	if (locality > 4)
		return libvtpm_err(-EINVAL);
	memcpy(buf, cmd, cmd_len);
	g_locality = locality;
	v->cb_err = 0;
	v->stats.commands++;
	t0 = now_ns();
	rc = TPMLIB_Process(&v->rbuf, &rlen, &v->rbufsize, buf, cmd_len);
	v->stats.ns_tpm += now_ns() - t0;
	if (rc != TPM_SUCCESS) {
		pr_warn("TPMLIB_Process failed: 0x%x\n", rc);
		return libvtpm_err(-EPROTO);
	}
	if (v->cb_err) {
		/* the TPM changed state it could not persist: the caller
		 * must not report success to the guest */
		pr_warn("state could not be stored: %s\n",
			vtpm_strerror(v->cb_err));
		return libvtpm_err(v->cb_err);
	}
	if (rlen > *resp_len)
		return libvtpm_err(-ENOBUFS);
	memcpy(resp, v->rbuf, rlen);
	*resp_len = rlen;
	return 0;
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

int vtpm_state_info(const char *dir, struct vtpm_info *info)
{
	struct vtpm_store st = { .ops = &vtpm_store_dir_ops, .dirfd = -1, .lockfd = -1 };
	struct blob_meta bm;
	struct meta m;
	uint64_t size, mtime;
	uint8_t *blob;
	size_t blen;
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
	if (!st.ops->stat(&st, TPM_PERMANENT_ALL_NAME, &size, &mtime)) {
		info->permanent_size = size;
		if (mtime > info->modified)
			info->modified = mtime;
	}
	if (!st.ops->stat(&st, TPM_VOLATILESTATE_NAME, &size, &mtime)) {
		info->volatile_size = size;
		if (mtime > info->modified)
			info->modified = mtime;
	}
	if (!st.ops->load(&st, TPM_PERMANENT_ALL_NAME, &blob, &blen)) {
		if (!vtpm_blob_peek(blob, blen, &bm) && bm.generation > info->generation)
			info->generation = bm.generation;
		free(blob);
	}
	if (!st.ops->load(&st, TPM_VOLATILESTATE_NAME, &blob, &blen)) {
		if (!vtpm_blob_peek(blob, blen, &bm) && bm.generation > info->generation)
			info->generation = bm.generation;
		free(blob);
	}
out:
	st.ops->close(&st);
	return libvtpm_err(err);
}

int vtpm_state_destroy(const char *dir)
{
	struct vtpm_store st = { .ops = &vtpm_store_dir_ops, .dirfd = -1, .lockfd = -1 };
	uint64_t size;
	int err, pid = 0;

	if (!dir)
		return libvtpm_err(-EINVAL);
	err = st.ops->open(&st, dir, 0);
	if (err)
		return libvtpm_err(err);
	if (st.ops->stat(&st, VTPM_META_NAME, &size, NULL) &&
	    st.ops->stat(&st, TPM_PERMANENT_ALL_NAME, &size, NULL)) {
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
	vtpm_anchor_remove(dir);	/* before the directory is gone */
	err = st.ops->destroy(&st);
out:
	st.ops->close(&st);
	return libvtpm_err(err);
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
