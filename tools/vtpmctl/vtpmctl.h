/* SPDX-License-Identifier: GPL-2.0 */
/* vtpmctl: shared declarations. */
#ifndef VTPMCTL_H
#define VTPMCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

#define VTPMCTL_VERSION		"0.1"
#define DEFAULT_STATE_DIR	"/var/lib/vtpm"
#define DEFAULT_KEY_FILE	"/etc/vtpm/state.key"
#define DEFAULT_DEVICE		"/dev/xen/tpmback"
#define DEFAULT_SEALED_KEY	"/etc/vtpm/host-key.sealed"
#define DEFAULT_TCTI		"device:/dev/tpmrm0"
#define DEFAULT_NV_INDEX	0x01805654	/* owner range; "VT" */

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* exit codes */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *summary;
};

/* main.c: global options */
extern bool json_output;
extern int verbose;
extern const char *bin_name;
extern const char *state_root;	/* --state-dir, $VTPM_STATE_DIR */
extern const char *key_file;	/* --key-file, $VTPM_KEY_FILE, or default if present */

void p_err(const char *fmt, ...) __printf(1, 2);
void p_usage_err(const char *fmt, ...) __printf(1, 2);	/* returns nothing; caller exits 2 */
int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int, char **));
bool is_help(const char *arg);
const char *effective_key_file(void);

/*
 * Where the host key comes from: a key file (--key-file, $VTPM_KEY_FILE,
 * or /etc/vtpm/state.key when no sealed key exists: key-file mode), the
 * kernel keyring (a sealed key file exists: TPM mode, "manager unlock"),
 * or nowhere.
 */
enum key_mode { KEY_MODE_NONE, KEY_MODE_FILE, KEY_MODE_TPM };
enum key_mode key_mode(const char **file);
const char *effective_key_desc(void);	/* TPM mode: the keyring description */
const char *sealed_key_path(void);	/* $VTPM_SEALED_KEY or the default */
const char *host_key_desc(void);	/* $VTPM_HOST_KEY_DESC or libvtpm's */
const char *tcti_conf(void);		/* manager.c: --tcti, $VTPM_TCTI */

/* options every command accepts, so "vtpmctl list -j" works too */
#define COMMON_SHORTOPTS "+jpds:k:h"
#define COMMON_LONGOPTS							\
	{ "json",	no_argument,		NULL, 'j' },		\
	{ "pretty",	no_argument,		NULL, 'p' },		\
	{ "debug",	no_argument,		NULL, 'd' },		\
	{ "state-dir",	required_argument,	NULL, 's' },		\
	{ "key-file",	required_argument,	NULL, 'k' },		\
	{ "run-dir",	required_argument,	NULL, 'r' },		\
	{ "help",	no_argument,		NULL, 'h' }
/* 1 if c was a common option (handled), 0 if not */
int common_opt(int c, const char *arg);

/* log.c: what serve says, to stderr or syslog */
enum { LOG_TO_STDERR, LOG_TO_SYSLOG };
void log_setup(int where, const char *ident);
void log_set_context(const char *ctx);
void log_msg(int prio, const char *fmt, ...) __printf(2, 3);

/* sandbox.c: serve's confinement */
struct sandbox_paths {
	const char *state_dir;		/* this vTPM's state (read/write) */
	const char *run_dir;		/* its volatile state (read/write) */
	const char *claims_dir;		/* claims, lease locks (read/write) */
	const char *key_file;		/* key-file mode: the key (read) */
	const char *pidfile_dir;	/* where the pidfile is (remove) */
	/* the uid to serve as (set_user), and the keys it keeps possessing */
	bool set_user;
	uid_t uid;
	gid_t gid;
	const int32_t *keys;
	int nkeys;
};
void sandbox_no_dumps(void);
int sandbox_enter(const struct sandbox_paths *paths);
void log_vmsg(int prio, const char *fmt, va_list ap);
int log_libvtpm(int level, const char *fmt, va_list ap);

/* uuid.c */
int uuid_parse_str(const char *s, uint8_t out[16]);
void uuid_format(const uint8_t u[16], char out[37]);
int uuid_generate_v4(uint8_t out[16]);
int state_dir_of(const char *uuid_str, char *buf, size_t size);

/* xs.c: read-only xenstore client (negative errno; -ENOENT: no node or no xenstore) */
int xs_read_str(const char *path, char *buf, size_t size);
void xs_close(void);
int xs_list(const char *path, char ***names, int *n);
int xs_write_in_dir(const char *dir, const char *node, const char *value);
void xs_free_list(char **names);

/* inuse.c: is a vTPM in use on this host (1, why says by whom), 0, -errno */
int vtpm_in_use(const char *canon, const char *dir, char *why, size_t size);
int claim_write(const char *canon, int pid);	/* serve: <run-dir>/claims/<uuid>.<pid> */
void claim_remove(void);
const char *run_root(void);
bool pid_is_vtpmctl(int pid);			/* inuse.c */
/* HKDF-SHA256 of 32 bytes (manager.c: sealed file MAC, recovery, CA key) */
int vtpmctl_hkdf(const uint8_t *ikm, size_t ikm_len, const void *salt, size_t salt_len,
		 const char *info, uint8_t out[32]);			/* $VTPM_RUN_DIR or /run/vtpm */

/* state.c */
#include <sys/types.h>
int mkdir_p(const char *path, mode_t mode);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* lease.c: which host serves a vTPM on shared storage */
int lease_beat_s(void);	/* heartbeat period: 10 s, $VTPM_LEASE_BEAT_S */
struct lease {
	char host[128], boot[64];
	int pid;
	long long since, beat;	/* epoch seconds; beat: the file's mtime */
};
void lease_self(struct lease *me, int pid);
int lease_read(const char *canon, struct lease *l);
/* 0 held; -EBUSY held by *holder; negative errno */
int lease_acquire(const char *canon, const struct lease *me, struct lease *holder);
/* heartbeat: 0, -ESTALE if no longer ours (*now says whose), -errno */
int lease_check(const char *canon, const struct lease *me, struct lease *now);
void lease_release(const char *canon, const struct lease *me);
/* 1 if a live holder other than me has it (*holder) */
int lease_held_elsewhere(const char *canon, const struct lease *me, struct lease *holder);
int lease_break(const char *canon);
void lease_describe(const struct lease *l, char *buf, size_t size);
int do_lease(int argc, char **argv);

/* session.c: which run of a guest the vTPM's volatile state belongs to */
struct session {
	char epoch[33];		/* 32 hex digits */
	char xen_uuid[37];	/* the domain's Xen uuid */
	char state[16];		/* running, suspended, ended */
	char reason[16];	/* why it ended (shutdown reason) */
	char tag[128];		/* the server's resume tag */
	int domid;
	long long since;
};
void session_path(const char *canon, char *buf, size_t size);
void session_old_path(const char *canon, char *buf, size_t size);	/* before 0.x */
int session_read(const char *canon, struct session *s);
int session_write(const char *canon, const struct session *s);
void session_new_epoch(char out[33]);
int domain_xen_uuid(int domid, char out[37]);
int domain_token(int domid, const char *canon, char out[33]);
/* 1 shut down (*reason: SHUTDOWN_*), 0 not shut down, -ENOENT gone, -ENOSYS no libxenctrl */
int domain_xc_open(void);	/* libxenctrl, loaded once per server */
int domain_shutdown_reason(int domid, int *reason);
const char *shutdown_reason_name(int r);
/* 0, -ENOENT while libxl has not written the configuration yet */
/* monitor.c: what a confined server asks its unconfined monitor */
int monitor_start(int domid, const char *xuuid, const char *canon, const char *epoch);
bool monitor_active(void);
int monitor_shutdown_reason(int *reason);
int monitor_set_token(void);
void monitor_stop(void);
int domain_config_set_token(int domid, const char *xuuid, const char *canon,
			    const char *epoch);

/* json.c */
void json_string(FILE *f, const char *s);

/* commands */
int do_create(int argc, char **argv);
int do_destroy(int argc, char **argv);
int do_list(int argc, char **argv);
int do_show(int argc, char **argv);
int do_serve(int argc, char **argv);
int do_keygen(int argc, char **argv);
int do_manager(int argc, char **argv);
int do_ca(int argc, char **argv);		/* ca.c */
int do_eventlog(int argc, char **argv);		/* measure.c */
int do_host_key(int argc, char **argv);
int do_export(int argc, char **argv);
int do_import(int argc, char **argv);

#endif /* VTPMCTL_H */
