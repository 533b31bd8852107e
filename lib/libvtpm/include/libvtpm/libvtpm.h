/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtpm - one virtual TPM (TPM 2.0 or 1.2) on top of libtpms, with
 * crash-consistent, optionally encrypted state in its own directory.
 *
 * One vTPM per process: libtpms keeps a single, process-global TPM, so a
 * second vtpm_new()/vtpm_create() while a vTPM is open fails with -EALREADY.
 * Serve several vTPMs with several processes.
 *
 * Conventions (libbpf's):
 *  - functions returning int return 0 (or a count) on success and a
 *    negative errno on failure, and set errno too;
 *  - functions returning a pointer return NULL on failure with errno set;
 *  - option structs carry their own size in .sz; declare them with
 *    VTPM_OPTS() so fields added later stay zero;
 *  - the library never prints: it calls the function set with
 *    vtpm_set_print() (none by default).
 */
#ifndef LIBVTPM_LIBVTPM_H
#define LIBVTPM_LIBVTPM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBVTPM_API __attribute__((visibility("default")))

#define LIBVTPM_MAJOR_VERSION 0
#define LIBVTPM_MINOR_VERSION 1

/* Largest command or response one tpmif v2 shared page carries. */
#define VTPM_MAX_PACKET 4088

enum vtpm_tpm_version {
	VTPM_TPM_2_0 = 0,	/* default */
	VTPM_TPM_1_2 = 1,
};

enum vtpm_print_level {
	VTPM_WARN,
	VTPM_INFO,
	VTPM_DEBUG,
};

typedef int (*vtpm_print_fn_t)(enum vtpm_print_level level,
			       const char *fmt, va_list ap);

/**
 * @brief Set the log function; NULL silences the library (the default).
 * @return the previous function
 */
LIBVTPM_API vtpm_print_fn_t vtpm_set_print(vtpm_print_fn_t fn);

/**
 * @brief Text for a libvtpm error code (negative or positive errno).
 * @return a static string, never NULL
 */
LIBVTPM_API const char *vtpm_strerror(int err);

/* struct vtpm_opts.flags */
#define VTPM_F_PLAINTEXT	(1U << 0) /* create: store state unencrypted */
#define VTPM_F_NO_STARTUP	(1U << 1) /* do not send TPM Startup ourselves */
#define VTPM_F_SYNC_VOLATILE	(1U << 2) /* fsync volatile state too */
/*
 * Keep the newest permanent-state generation in the kernel keyring and
 * refuse older state (-ESTALE): catches a whole state directory put back
 * to an older copy, within one host boot (the keyring does not survive a
 * reboot). Best effort: skipped with a warning where keyctl is unusable.
 */
#define VTPM_F_ROLLBACK_ANCHOR	(1U << 3)
/*
 * Time the state path's stages (struct vtpm_stats ns_*; zero without it).
 * Costs two to a dozen clock reads per command: nothing where the vDSO
 * reads the clock, a system call each where it cannot (a Xen PV dom0
 * whose TSC is not stable: 80-90 us each under the testbed's emulated
 * CPU, more than a logged PCR_Extend's whole save).
 */
#define VTPM_F_TIMING		(1U << 4)

/*
 * Startup story. The guest has no firmware that sends TPM_Startup, so the
 * library plays the platform: a vTPM opened without resumable volatile
 * state gets Startup(CLEAR) (a TPM reset: PCRs zero, NV kept), unless
 * VTPM_F_NO_STARTUP. Volatile state (PCRs, sessions, loaded objects) is
 * resumed only when it was saved under the same resume_tag: a server
 * restarted for the same running guest resumes it; a guest reboot (a new
 * domain, so a new tag) starts clean. NV and permanent state always persist.
 *
 * The state contract (what vtpm_process() guarantees):
 *
 *  1. A response is handed back only after the state it implies is saved:
 *     the permanent state (NV, hierarchy seeds, persistent objects) durably
 *     (written in place into the older of two slots, then fdatasync), the
 *     volatile state (PCRs, sessions, loaded objects) into the run
 *     directory, which survives the server process but not the host; for
 *     a command that replays exactly (PCR_Extend or PCR_Event with a
 *     password session, TPM 1.2's TPM_Extend), a sealed record of it in
 *     the run directory's log, replayed on resume, instead of the whole
 *     volatile state. Whatever kills the server after that, a restart
 *     resumes from a state at least as new as every answer the guest has
 *     seen.
 *  2. When saving fails (disk full, I/O error, read-only filesystem),
 *     vtpm_process() returns the negative errno and produces no response:
 *     the caller answers with a TPM failure (vtpm_failure_response()). The
 *     TPM is put back to its last saved state before the next command, so
 *     nothing the failed command did is half kept; once the fault is gone
 *     the next command is served normally. No restart, no guest reboot.
 *  3. No random output repeats: commands that change nothing but the
 *     random generator (GetRandom, GetCapability, PCR_Read, ReadPublic,
 *     NV_ReadPublic, GetTestResult, TestParms without sessions) are
 *     answered without a save, and every time the TPM is resumed or put
 *     back to a saved state its DRBG is stirred with 48 bytes from the
 *     kernel's getrandom(), so it cannot replay what it produced before.
 *     (TPM 1.2 draws its randomness from OpenSSL, not from its state.)
 *  4. A volatile state that is missing, or older than the one the last
 *     answer was given from, for the same resume tag is refused
 *     (-ESTALE), never resumed and never silently reset under a running
 *     guest. The reference is an anchor in the kernel keyring
 *     (VTPM_F_ROLLBACK_ANCHOR), which lives as long as the host's boot;
 *     so does the run directory.
 */
struct vtpm_opts {
	size_t sz;			/* sizeof(struct vtpm_opts) */
	const char *state_dir;		/* this vTPM's directory (required) */
	enum vtpm_tpm_version version;	/* vtpm_create() only */
	unsigned int flags;		/* VTPM_F_* */
	/*
	 * 32-byte AES-256-GCM key file. With a key every state blob must be
	 * encrypted and authentic; without one, only a vTPM created with
	 * VTPM_F_PLAINTEXT opens.
	 */
	const char *key_file;
	/* identity of the current user of the TPM (e.g. "<boot-id>:<domid>:<devid>") */
	const char *resume_tag;
	/*
	 * Directory for the volatile state, one subdirectory per vTPM; it
	 * should be boot-scoped memory (tmpfs). Default: $VTPM_RUN_DIR, else
	 * /run/vtpm.
	 */
	const char *run_dir;
	/*
	 * The host key in the kernel keyring, used when key_file is not set:
	 * a 32-byte "user" key with this description in root's user keyring
	 * (KEY_SPEC_USER_KEYRING), readable by root's other sessions, such as
	 * the private session keyring systemd gives a service. "vtpmctl
	 * manager unlock" puts it there (VTPM_HOST_KEY_DESC) once per host
	 * boot, unsealed by the host's TPM. Missing: -ENOKEY. Each vTPM's key
	 * is derived from it, as from a key file's.
	 */
	const char *key_desc;
	/*
	 * Resume from the suspend record with this name (vtpm_suspend()),
	 * when there is no volatile state of this resume tag in the run
	 * directory: a guest restored from a save image or migrated here.
	 * The record must exist, carry this name and follow the current
	 * permanent state (-ESTALE otherwise: the vTPM moved on since the
	 * suspend). It is consumed: removed once the resumed state is saved
	 * under the new tag, so it is resumed exactly once.
	 */
	const char *resume_record;
	size_t :0;
};

/* the host key's description in the kernel keyring (vtpmctl's default) */
#define VTPM_HOST_KEY_DESC	"libvtpm:hostkey"

/*
 * Put a 32-byte host key into root's user keyring under desc (NULL:
 * VTPM_HOST_KEY_DESC), where vtpm_opts.key_desc finds it: the key of
 * that description is updated, or a new one made with possessor and
 * owner permissions, so that root's other sessions (systemd's private
 * session keyrings) can read it, whichever session puts it there.
 * Returns 0 or a negative errno.
 */
int vtpm_host_key_put(const char *desc, const uint8_t key[32]);

#define VTPM_OPTS(NAME, ...)						\
	struct vtpm_opts NAME = {					\
		.sz = sizeof(struct vtpm_opts),				\
		__VA_ARGS__						\
	}

struct vtpm;

/**
 * @brief Manufacture a new vTPM in opts->state_dir (created, must not
 * hold a vTPM yet) and leave it closed.
 * @return 0; -EEXIST if the directory already holds a vTPM
 */
LIBVTPM_API int vtpm_create(const struct vtpm_opts *opts);

/**
 * @brief Open the existing vTPM in opts->state_dir and power it on.
 *
 * Takes the directory's lock (-EBUSY if another process serves it), loads
 * the permanent state (never manufactures a new TPM: -ENOENT without one),
 * resumes the volatile state if opts->resume_tag matches, otherwise sends
 * Startup(CLEAR).
 * @return the instance, or NULL with errno set
 */
LIBVTPM_API struct vtpm *vtpm_new(const struct vtpm_opts *opts);

/**
 * @brief Did vtpm_new() power this vTPM on with its own Startup(CLEAR)
 * (a TPM reset: PCRs zero), rather than resume volatile state or leave
 * Startup to the caller (VTPM_F_NO_STARTUP)? The moment for a platform's
 * measurements (vtpmctl serve: measured boot into PCR 4/5).
 * @return 1 or 0
 */
LIBVTPM_API int vtpm_fresh_start(const struct vtpm *vtpm);

/**
 * @brief Save the volatile state (so a restart under the same resume tag
 * resumes) and close the vTPM. NULL is ignored.
 */
LIBVTPM_API void vtpm_free(struct vtpm *vtpm);

/**
 * @brief Like vtpm_free(), but as a power-off: the volatile state is
 * discarded, the next vtpm_new() starts with Startup(CLEAR).
 */
LIBVTPM_API void vtpm_power_off(struct vtpm *vtpm);

/**
 * @brief The guest's domain was suspended (xl save, a migration's last
 * step): write the TPM's volatile state (PCRs, sessions, loaded objects,
 * DRBG) into the state directory as a sealed, durable suspend record
 * named @record (at most 255 bytes), replacing an older one, then close
 * the vTPM as vtpm_power_off() does but without a TPM Shutdown: the run
 * directory's volatile state goes. Only a vtpm_new() naming @record in
 * opts->resume_record resumes it; any other starts with Startup(CLEAR).
 * On failure the vTPM is closed as vtpm_free() does.
 * @return 0, negative errno (nothing written)
 */
LIBVTPM_API int vtpm_suspend(struct vtpm *vtpm, const char *record);

/**
 * @brief Run one TPM command.
 * @param cmd, cmd_len   the command, at most VTPM_MAX_PACKET bytes
 * @param locality       0..4
 * @param resp           buffer of *resp_len bytes (VTPM_MAX_PACKET suffices)
 * @param resp_len       in: size of resp; out: length of the response
 * @return 0 (the TPM's own errors are in the response); negative errno if
 * no response could be produced
 */
LIBVTPM_API int vtpm_process(struct vtpm *vtpm, const void *cmd, size_t cmd_len,
			     unsigned int locality, void *resp, size_t *resp_len);

/**
 * @brief Ask the command running in another thread to stop early
 * (best effort, as libtpms' TPMLIB_CancelCommand()).
 */
LIBVTPM_API int vtpm_cancel(struct vtpm *vtpm);

/**
 * @brief Write the volatile state now (crash-consistent); the permanent
 * state is written by vtpm_process() whenever the TPM changes it.
 */
LIBVTPM_API int vtpm_save(struct vtpm *vtpm);

/**
 * @brief Build a well-formed TPM failure response for a command (tag of
 * the right TPM family, TPM_RC_FAILURE / TPM_FAIL) in resp.
 * @return the response length (10)
 */
LIBVTPM_API size_t vtpm_failure_response(const void *cmd, size_t cmd_len,
					 void *resp, size_t resp_size);

struct vtpm_info {
	size_t sz;
	enum vtpm_tpm_version version;
	int encrypted;			/* 1 if the state is AES-256-GCM sealed */
	int locked;			/* 1 if a process serves it now */
	int lock_pid;			/* that process, if known */
	uint64_t generation;		/* highest state generation stored */
	uint64_t created;		/* seconds since the epoch */
	uint64_t modified;		/* last state write, seconds since the epoch */
	uint32_t permanent_size;	/* bytes on disk */
	uint32_t volatile_size;
	uint64_t permanent_generation;	/* newest permanent-state generation */
	size_t :0;
};

/**
 * @brief Describe the vTPM in state_dir without opening it.
 * @return 0, -ENOENT if state_dir holds no vTPM
 */
LIBVTPM_API int vtpm_state_info(const char *state_dir, struct vtpm_info *info);

/**
 * @brief Erase the vTPM in state_dir: overwrite its files with zeros,
 * fsync, unlink them and remove the directory.
 * @return 0, -ENOENT, -EBUSY if a process serves it
 */
LIBVTPM_API int vtpm_state_destroy(const char *state_dir);

/**
 * @brief Seal the newest permanent state of the (encrypted, not served)
 * vTPM in opts->state_dir again, with the host key new_key_desc names in
 * the kernel keyring (as key_desc), into the slot that does not hold it.
 *
 * opts names the current key. The newest slot under it is kept, so the
 * vTPM opens with either key afterwards: a host key rotation does this for
 * every vTPM, then makes the new key the host's, then calls it again with
 * the new key for both (the second call overwrites the old key's slot).
 * The volatile state is dropped (no guest may run). The keyring anchor is
 * not moved.
 * @return 0; -EBUSY if served, -EINVAL for a plaintext vTPM, -ENOKEY,
 * -ESTALE, -EBADMSG as vtpm_new()
 */
LIBVTPM_API int vtpm_state_rekey(const struct vtpm_opts *opts,
				 const char *new_key_desc);

/**
 * @brief The state of the (not served) vTPM in opts->state_dir in
 * plaintext, for a caller that encrypts it for another host (vtpmctl
 * export): the newest permanent state and the suspend record, if it
 * follows that state. Opened with opts' key, as vtpm_new().
 * @param out  malloc()ed; the caller wipes and frees it
 * @return 0; -EBUSY if served, -ENOENT, -ENOKEY, -ESTALE, -EBADMSG
 */
LIBVTPM_API int vtpm_state_export(const struct vtpm_opts *opts, uint8_t **out,
				  size_t *out_len);

/**
 * @brief Make a vTPM in opts->state_dir (must not hold one) from
 * vtpm_state_export()'s output, sealed with opts' key (this host's).
 * @return 0; -EEXIST, -EBADMSG for a malformed export
 */
LIBVTPM_API int vtpm_state_import(const struct vtpm_opts *opts, const uint8_t *in,
				  size_t len);

/*
 * The rollback anchor of a vTPM ("gen": its newest permanent-state
 * generation, in the kernel keyring; VTPM_F_ROLLBACK_ANCHOR), for a
 * manager that keeps it across host reboots (vtpmctl manager: a file
 * authenticated by the host key and bound to a TPM NV counter). A vTPM
 * whose permanent state is older than its anchor does not open
 * (-ESTALE). VTPM_ANCHOR_REFUSED refuses the vTPM whatever its state (a
 * directory the manager does not know: destroyed, or put there while the
 * host was down).
 */
#define VTPM_ANCHOR_REFUSED	UINT64_MAX

/**
 * @brief Read the anchor of the vTPM in state_dir.
 * @return 0 and *generation (0: no anchor); negative errno if the
 * keyring is unusable
 */
LIBVTPM_API int vtpm_anchor_get_generation(const char *state_dir,
					   uint64_t *generation);

/**
 * @brief Set the anchor of the vTPM in state_dir (it need not exist yet).
 * @return 0, negative errno
 */
LIBVTPM_API int vtpm_anchor_set_generation(const char *state_dir,
					   uint64_t generation);

/**
 * @brief Pin the vTPM's rollback anchors before the process changes uid.
 * Both anchors ("gen", "vol") are made to exist as keys in the caller's
 * user keyring (created with the current values if missing), and from now
 * on this vtpm reads, updates and invalidates only those keys, by serial:
 * it never searches a keyring or adds a key again. The caller links the
 * keys into a keyring it keeps possessing (its session keyring), so that
 * it can still update them under another uid. Without
 * VTPM_F_ROLLBACK_ANCHOR: 0 and no keys.
 * @param keys the serials of the "gen" and "vol" keys (0: none)
 * @return 0, negative errno (-ENOKEY: no usable keyring)
 */
LIBVTPM_API int vtpm_anchor_pin(struct vtpm *vtpm, int32_t keys[2]);

/*
 * Where the time of vtpm_process() goes, summed since vtpm_new(): for
 * benchmarks and for finding out why a server is slow. Nanoseconds.
 */
struct vtpm_stats {
	size_t sz;			/* sizeof(struct vtpm_stats) */
	uint64_t commands;		/* vtpm_process() calls */
	uint64_t failed;		/* of which answered by a TPM failure */
	uint64_t volatile_saves;	/* volatile state written */
	uint64_t permanent_saves;	/* permanent state written (durable) */
	/* the ns_* only with VTPM_F_TIMING */
	uint64_t ns_tpm;		/* inside TPMLIB_Process() */
	uint64_t ns_marshal;		/* libtpms serialising its state */
	uint64_t ns_crypto;		/* sealing: AES-256-GCM or SHA-256 */
	uint64_t ns_io;			/* writes, fdatasync, keyring anchors */
	uint64_t bytes_volatile;	/* sealed volatile bytes written */
	uint64_t bytes_permanent;	/* sealed permanent bytes written */
	uint64_t volatile_records;	/* commands logged instead of a save */
	size_t :0;
};

/**
 * @brief Copy the instance's counters into *stats (up to stats->sz).
 * @return 0, -EINVAL
 */
LIBVTPM_API int vtpm_get_stats(struct vtpm *vtpm, struct vtpm_stats *stats);

/** @brief Version of this library, "0.1". */
LIBVTPM_API const char *vtpm_libversion(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBVTPM_LIBVTPM_H */
