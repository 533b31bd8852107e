// SPDX-License-Identifier: GPL-2.0
/*
 * libvtpm unit tests against the real libtpms, in temporary state
 * directories. libtpms holds one TPM per process, so every step that
 * "restarts the server" runs in its own forked child.
 *
 * Usage: test_libvtpm [-v] [TEST...]     (prints "ok N - name" lines, TAP-ish)
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>

#include "libvtpm/libvtpm.h"
#include "tpm2cmd.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int verbose;
static char tmpdir[256];
static char keyfile[300], key2file[300];
static char rundir[300];		/* $VTPM_RUN_DIR: the volatile state */

#define FAIL(fmt, ...) do {						\
	fprintf(stderr, "  %s:%d: " fmt "\n", __func__, __LINE__, ##__VA_ARGS__); \
	exit(1);							\
} while (0)

#define EXPECT_INT(what, expected, received) do {			\
	long long __e = (expected), __r = (received);			\
	if (__e != __r)							\
		FAIL("%s: expected: %lld (0x%llx) received: %lld (0x%llx)", \
		     what, __e, __e, __r, __r);				\
} while (0)

static int print_fn(enum vtpm_print_level level, const char *fmt, va_list ap)
{
	if (level == VTPM_DEBUG && verbose < 2)
		return 0;
	if (!verbose)
		return 0;
	fprintf(stderr, "    ");
	return vfprintf(stderr, fmt, ap);
}

static void hex(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "  %s:", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

static void dir_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* set: each child joins a session keyring of its own first */
static int private_sessions;

/* Run fn in a child process (a fresh libtpms); return its exit status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		if (private_sessions && keyctl_join_session_keyring(NULL) < 0)
			FAIL("keyctl_join_session_keyring: %s", strerror(errno));
		fn(arg);
		exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHILD_OK(fn, arg) EXPECT_INT(#fn " (child)", 0, in_child(fn, arg))

struct ctx {
	char dir[512];
	const char *key;
	const char *tag;
	unsigned int flags;
	enum vtpm_tpm_version version;
	uint8_t digest[32];
	int expect_err;
	const char *rec;	/* resume_record */
};

static struct vtpm *open_vtpm(struct ctx *c)
{
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
		  .resume_tag = c->tag, .flags = c->flags, .resume_record = c->rec);
	struct vtpm *v = vtpm_new(&o);

	if (!v)
		FAIL("vtpm_new(%s): %s", c->dir, vtpm_strerror(errno));
	return v;
}

static void create(struct ctx *c)
{
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
		  .flags = (c->key ? 0 : VTPM_F_PLAINTEXT) | c->flags,
		  .version = c->version);
	int err = vtpm_create(&o);

	if (err)
		FAIL("vtpm_create(%s): %s", c->dir, vtpm_strerror(err));
}

static size_t xfer(struct vtpm *v, const struct tbuf *cmd, uint8_t *resp,
		   unsigned int locality)
{
	size_t rlen;
	int err, tries = 0;

	/* TPM_RC_RETRY: the first use of a DA-protected entity after
	 * Startup records "DA used" in NV first; clients resend */
	do {
		rlen = VTPM_MAX_PACKET;
		err = vtpm_process(v, cmd->b, cmd->n, locality, resp, &rlen);
		if (err)
			FAIL("vtpm_process: %s", vtpm_strerror(err));
		if (verbose > 1)
			hex("xfer", resp, rlen < 16 ? rlen : 16);
	} while (rsp_rc(resp, rlen) == 0x922 && ++tries < 3);
	return rlen;
}

static void expect_rc(struct vtpm *v, const struct tbuf *cmd, uint32_t rc)
{
	uint8_t r[VTPM_MAX_PACKET];
	size_t n = xfer(v, cmd, r, 0);

	if (rsp_rc(r, n) != rc) {
		hex("command", cmd->b, cmd->n);
		hex("response", r, n);
		EXPECT_INT("response code", rc, rsp_rc(r, n));
	}
}

static void extend_digest(uint8_t pcr[32], const uint8_t d[32])
{
	uint8_t buf[64];

	memcpy(buf, pcr, 32);
	memcpy(buf + 32, d, 32);
	SHA256(buf, 64, pcr);
}

static void read_pcr(struct vtpm *v, uint32_t pcr, uint8_t out[32])
{
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;

	cmd_pcr_read(&t, pcr);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("PCR_Read rc", 0, rsp_rc(r, n));
	EXPECT_INT("PCR_Read length", PCR_READ_DIGEST_OFF + 32, n);
	memcpy(out, r + PCR_READ_DIGEST_OFF, 32);
}

/* ---- tests -------------------------------------------------------------- */

static void c_getrandom(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;

	cmd_getrandom(&t, 32);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("GetRandom rc", 0, rsp_rc(r, n));
	EXPECT_INT("GetRandom length", 10 + 2 + 32, n);
	/* the library played the platform: Startup already happened */
	cmd_startup(&t, 0);
	expect_rc(v, &t, TPM2_RC_INITIALIZE);
	vtpm_free(v);
}

static void t_create_open_getrandom(const char *key)
{
	struct ctx c = { .key = key };

	dir_of(c.dir, sizeof(c.dir), key ? "getrandom-enc" : "getrandom");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_getrandom, &c);
}

static void test_getrandom_plaintext(void) { t_create_open_getrandom(NULL); }
static void test_getrandom_encrypted(void) { t_create_open_getrandom(keyfile); }

static void c_expect_create_err(void *arg)
{
	struct ctx *c = arg;
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
		  .flags = c->flags);

	EXPECT_INT("vtpm_create", c->expect_err, vtpm_create(&o));
}

static void c_expect_open_err(void *arg)
{
	struct ctx *c = arg;
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
		  .resume_tag = c->tag, .flags = c->flags, .resume_record = c->rec);
	struct vtpm *v = vtpm_new(&o);

	if (v)
		FAIL("vtpm_new succeeded, expected %s", vtpm_strerror(c->expect_err));
	EXPECT_INT("vtpm_new errno", -c->expect_err, errno);
}

static void test_create_refuses_existing(void)
{
	struct ctx c = { 0 };

	dir_of(c.dir, sizeof(c.dir), "exists");
	CHILD_OK((void (*)(void *))create, &c);
	c.flags = VTPM_F_PLAINTEXT;
	c.expect_err = -EEXIST;
	CHILD_OK(c_expect_create_err, &c);
}

static void test_create_needs_key_or_plaintext(void)
{
	struct ctx c = { .expect_err = -ENOKEY };

	dir_of(c.dir, sizeof(c.dir), "nokey");
	CHILD_OK(c_expect_create_err, &c);
}

static void test_open_unknown(void)
{
	struct ctx c = { .expect_err = -ENOENT };

	dir_of(c.dir, sizeof(c.dir), "never-created");
	CHILD_OK(c_expect_open_err, &c);
	if (access(c.dir, F_OK) == 0)
		FAIL("vtpm_new created %s", c.dir);
}

static void c_second_instance(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	VTPM_OPTS(o, .state_dir = c->dir);

	if (vtpm_new(&o))
		FAIL("second vtpm_new in one process succeeded");
	EXPECT_INT("errno", EALREADY, errno);
	EXPECT_INT("vtpm_create", -EALREADY, vtpm_create(&o));
	vtpm_free(v);
	/* after the first is closed, a new one may open */
	v = open_vtpm(c);
	vtpm_free(v);
}

static void test_one_per_process(void)
{
	struct ctx c = { 0 };

	dir_of(c.dir, sizeof(c.dir), "single");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_second_instance, &c);
}

static void test_lock_excludes_second_server(void)
{
	struct ctx c = { .expect_err = -EBUSY };
	int p[2], status;
	char ch;
	pid_t pid;

	dir_of(c.dir, sizeof(c.dir), "locked");
	CHILD_OK((void (*)(void *))create, &c);
	if (pipe(p))
		FAIL("pipe");
	pid = fork();
	if (pid == 0) {
		struct vtpm *v = open_vtpm(&c);

		(void)!write(p[1], "x", 1);
		pause();
		vtpm_free(v);
		exit(0);
	}
	if (read(p[0], &ch, 1) != 1)
		FAIL("holder did not start");
	CHILD_OK(c_expect_open_err, &c);
	c.expect_err = -EBUSY;
	{
		struct vtpm_info info = { .sz = sizeof(info) };

		EXPECT_INT("vtpm_state_info", 0, vtpm_state_info(c.dir, &info));
		EXPECT_INT("info.locked", 1, info.locked);
		EXPECT_INT("info.lock_pid", pid, info.lock_pid);
		EXPECT_INT("destroy while served", -EBUSY, vtpm_state_destroy(c.dir));
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* the lock dies with the process */
	c.expect_err = 0;
	CHILD_OK(c_getrandom, &c);
}

static void c_extend(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;

	cmd_pcr_extend(&t, 16, c->digest);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

static void c_check_pcr(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	uint8_t got[32];

	read_pcr(v, 16, got);
	if (memcmp(got, c->digest, 32)) {
		hex("expected", c->digest, 32);
		hex("received", got, 32);
		FAIL("PCR 16 differs");
	}
	vtpm_free(v);
}

static void test_resume_same_tag_keeps_pcrs(void)
{
	struct ctx c = { .key = keyfile, .tag = "boot-1:5:0" };
	uint8_t expect[32] = { 0 };

	dir_of(c.dir, sizeof(c.dir), "resume");
	CHILD_OK((void (*)(void *))create, &c);
	memset(c.digest, 0xab, 32);
	CHILD_OK(c_extend, &c);
	extend_digest(expect, c.digest);
	memcpy(c.digest, expect, 32);
	/* same tag: a restarted server of the same running guest */
	CHILD_OK(c_check_pcr, &c);
	CHILD_OK(c_check_pcr, &c);
	/* another tag: a new domain, i.e. a rebooted guest: PCRs reset */
	c.tag = "boot-1:6:0";
	memset(c.digest, 0, 32);
	CHILD_OK(c_check_pcr, &c);
}

static void c_nv_define_write(void *arg);

static void c_extend_suspend(void *arg)
{
	struct ctx *c = arg;
	const char *name = c->rec;
	struct vtpm *v;
	struct tbuf t;

	c->rec = NULL;		/* the running session: no record to resume */
	v = open_vtpm(c);
	cmd_pcr_extend(&t, 16, c->digest);
	expect_rc(v, &t, 0);
	EXPECT_INT("vtpm_suspend", 0, vtpm_suspend(v, name));
}

/*
 * xl save + xl restore: the suspended guest's volatile state (PCR 16
 * here) goes into a durable record; a new domain naming that record
 * resumes it once; a wrong name, a second new domain, and a record the
 * vTPM moved on from are refused; a domain naming no record starts clean.
 */
static void test_suspend_record_resumed_exactly_once(void)
{
	struct ctx c = { .key = keyfile, .tag = "boot-1:5:0", .rec = "xen-a:epoch-1" };
	uint8_t pcr[32] = { 0 };

	dir_of(c.dir, sizeof(c.dir), "suspend");
	CHILD_OK((void (*)(void *))create, &c);
	memset(c.digest, 0x5a, 32);
	CHILD_OK(c_extend_suspend, &c);
	extend_digest(pcr, c.digest);
	c.tag = "boot-1:9:0";
	c.rec = "xen-a:epoch-0";
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
	c.rec = "xen-a:epoch-1";
	memcpy(c.digest, pcr, 32);
	CHILD_OK(c_check_pcr, &c);	/* restored: resumed from the record */
	CHILD_OK(c_check_pcr, &c);	/* its server restarted: run dir */
	c.tag = "boot-1:10:0";		/* the same image restored twice */
	c.expect_err = -ENOENT;
	CHILD_OK(c_expect_open_err, &c);
	/* suspended again, then another domain runs: the record is stale */
	c.tag = "boot-1:9:0";
	c.rec = "xen-a:epoch-2";
	memset(c.digest, 0x11, 32);
	CHILD_OK(c_extend_suspend, &c);
	c.tag = "boot-1:11:0";
	c.rec = NULL;
	CHILD_OK(c_nv_define_write, &c);
	c.tag = "boot-1:12:0";
	c.rec = "xen-a:epoch-2";
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
}

static void c_nv_define_write(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;

	cmd_nv_define(&t, 0x01500001, 32);
	expect_rc(v, &t, 0);
	cmd_nv_write(&t, 0x01500001, "persistent NV data, 32 bytes!!!", 32, 0);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

static void c_open_free(void *arg)
{
	vtpm_free(open_vtpm(arg));
}

static void c_nv_read(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;

	cmd_nv_read(&t, 0x01500001, 32, 0);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("NV_Read rc", 0, rsp_rc(r, n));
	if (memcmp(r + NV_READ_DATA_OFF, "persistent NV data, 32 bytes!!!", 32)) {
		hex("received", r + NV_READ_DATA_OFF, 32);
		FAIL("NV content differs");
	}
	vtpm_free(v);
}

static void test_nv_survives_restart_and_reset(void)
{
	struct ctx c = { .key = keyfile, .tag = "a" };

	dir_of(c.dir, sizeof(c.dir), "nv");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_nv_define_write, &c);
	CHILD_OK(c_nv_read, &c);	/* resumed */
	c.tag = "b";
	CHILD_OK(c_nv_read, &c);	/* TPM reset: NV stays */
	c.tag = NULL;
	CHILD_OK(c_nv_read, &c);
}

static void c_power_off(void *arg)
{
	struct ctx *c = arg;

	vtpm_power_off(open_vtpm(c));
}

static void test_power_off_resets_pcrs(void)
{
	struct ctx c = { .tag = "same" };
	uint8_t expect[32] = { 0 };

	dir_of(c.dir, sizeof(c.dir), "poweroff");
	CHILD_OK((void (*)(void *))create, &c);
	memset(c.digest, 0x11, 32);
	CHILD_OK(c_extend, &c);
	extend_digest(expect, c.digest);
	memcpy(c.digest, expect, 32);
	CHILD_OK(c_check_pcr, &c);
	CHILD_OK(c_power_off, &c);
	memset(c.digest, 0, 32);
	CHILD_OK(c_check_pcr, &c);	/* same tag, but powered off */
}

/* kill -9 a writer in the middle of NV writes, many times */
static void crash_writer(struct ctx *c, int fd, uint64_t base)
{
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	uint64_t i;

	for (i = base + 1;; i++) {
		uint8_t val[8];
		size_t n;

		for (int k = 0; k < 8; k++)
			val[k] = i >> (56 - 8 * k);
		cmd_nv_write(&t, 0x01500002, val, 8, 0);
		n = xfer(v, &t, r, 0);
		if (rsp_rc(r, n))
			FAIL("NV_Write rc 0x%x", rsp_rc(r, n));
		if (vtpm_save(v))
			FAIL("vtpm_save");
		/* acknowledged: committed */
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			exit(3);
	}
}

static void c_crash_define(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;

	cmd_nv_define(&t, 0x01500002, 8);
	expect_rc(v, &t, 0);
	cmd_nv_write(&t, 0x01500002, "\0\0\0\0\0\0\0\0", 8, 0);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

struct crash_check {
	struct ctx *c;
	uint64_t base;		/* this round wrote base+1, base+2, ... */
	uint64_t acked;		/* last write acknowledged, 0 if none */
	uint64_t prev;		/* value found after the previous round */
};

static void c_crash_check(void *arg)
{
	struct crash_check *cc = arg;
	struct vtpm *v = open_vtpm(cc->c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	uint64_t val = 0;
	size_t n;

	cmd_nv_read(&t, 0x01500002, 8, 0);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("NV_Read rc after kill -9", 0, rsp_rc(r, n));
	for (int k = 0; k < 8; k++)
		val = val << 8 | r[NV_READ_DATA_OFF + k];
	/* the last acknowledged write, or the one in flight */
	if (cc->acked ? val != cc->acked && val != cc->acked + 1 :
			val != cc->prev && val != cc->base + 1)
		FAIL("NV holds %llu after kill -9; acknowledged %llu, before %llu",
		     (unsigned long long)val, (unsigned long long)cc->acked,
		     (unsigned long long)cc->prev);
	vtpm_free(v);
	/* report what was found to the parent through the exit status */
	exit(val == (cc->acked ? cc->acked : cc->prev) ? 0 : 10);
}

static void test_kill9_during_nv_writes(void)
{
	struct ctx c = { .key = keyfile, .tag = "crash" };
	int rounds = getenv("CRASH_ROUNDS") ? atoi(getenv("CRASH_ROUNDS")) : 40;
	int inflight = 0, writes = 0;
	uint64_t prev = 0;

	dir_of(c.dir, sizeof(c.dir), "crash");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_crash_define, &c);
	srand(getpid());
	for (int round = 0; round < rounds; round++) {
		struct crash_check cc = { .c = &c, .prev = prev,
					  .base = (round + 1) * 1000000ULL };
		int p[2], status, rc;
		uint64_t i;
		pid_t pid;

		if (pipe(p))
			FAIL("pipe");
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			crash_writer(&c, p[1], cc.base);
		}
		close(p[1]);
		usleep(5000 + rand() % 60000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		while (read(p[0], &i, sizeof(i)) == sizeof(i))
			cc.acked = i;
		close(p[0]);
		writes += cc.acked ? cc.acked - cc.base : 0;
		rc = in_child(c_crash_check, &cc);
		if (rc == 10)
			inflight++;
		else if (rc)
			FAIL("round %d: state check failed (status %d)", round, rc);
		prev = rc == 10 ? (cc.acked ? cc.acked + 1 : cc.base + 1) :
				  (cc.acked ? cc.acked : prev);
	}
	if (verbose)
		fprintf(stderr, "    %d kills, %d acknowledged writes, %d in-flight writes found committed\n",
			rounds, writes, inflight);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		FAIL("open %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		(void)!write(out, buf, n);
	close(in);
	close(out);
}

/* a permanent-state slot file of a vTPM */
static void perm_slot(const struct ctx *c, int slot, char *buf, size_t n)
{
	snprintf(buf, n, "%s/permanent.%d", c->dir, slot);
}

static void flip_byte(const char *path, off_t off_from_end)
{
	int fd = open(path, O_RDWR);
	struct stat sb;
	uint8_t b;

	fstat(fd, &sb);
	(void)!pread(fd, &b, 1, sb.st_size - off_from_end);
	b ^= 0x01;
	(void)!pwrite(fd, &b, 1, sb.st_size - off_from_end);
	close(fd);
}

static void test_tamper_refused(void)
{
	struct ctx c = { .key = keyfile, .tag = "t" };
	char perm[600], saved[700];

	char other[600], saved2[700];

	dir_of(c.dir, sizeof(c.dir), "tamper");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_nv_define_write, &c);
	perm_slot(&c, 0, perm, sizeof(perm));
	perm_slot(&c, 1, other, sizeof(other));
	snprintf(saved, sizeof(saved), "%s/permanent.0.orig", c.dir);
	snprintf(saved2, sizeof(saved2), "%s/permanent.1.orig", c.dir);
	copy_file(perm, saved);
	copy_file(other, saved2);
	/* a flipped ciphertext bit in each slot */
	flip_byte(perm, 100);
	flip_byte(other, 100);
	c.expect_err = -EKEYREJECTED;
	CHILD_OK(c_expect_open_err, &c);
	/* wrong key */
	copy_file(saved, perm);
	copy_file(saved2, other);
	c.key = key2file;
	CHILD_OK(c_expect_open_err, &c);
	/* no key for an encrypted vTPM */
	c.key = NULL;
	c.expect_err = -ENOKEY;
	CHILD_OK(c_expect_open_err, &c);
	/* untouched: fine again, NV intact */
	c.key = keyfile;
	CHILD_OK(c_nv_read, &c);
	unlink(saved);
	unlink(saved2);
}

static void test_blob_moved_between_vtpms_refused(void)
{
	struct ctx a = { .key = keyfile }, b = { .key = keyfile };
	char from[600], to[600];

	dir_of(a.dir, sizeof(a.dir), "move-a");
	dir_of(b.dir, sizeof(b.dir), "move-b");
	CHILD_OK((void (*)(void *))create, &a);
	CHILD_OK((void (*)(void *))create, &b);
	perm_slot(&a, 0, from, sizeof(from));
	perm_slot(&b, 0, to, sizeof(to));
	copy_file(from, to);
	b.expect_err = -EKEYREJECTED;
	CHILD_OK(c_expect_open_err, &b);
}

static void test_plaintext_refused_with_key(void)
{
	struct ctx c = { 0 };

	dir_of(c.dir, sizeof(c.dir), "downgrade");
	CHILD_OK((void (*)(void *))create, &c);	/* plaintext */
	c.key = keyfile;
	c.expect_err = -EBADMSG;
	CHILD_OK(c_expect_open_err, &c);
}

static void test_plaintext_corruption_detected(void)
{
	struct ctx c = { 0 };
	char perm[600];

	dir_of(c.dir, sizeof(c.dir), "corrupt");
	CHILD_OK((void (*)(void *))create, &c);
	perm_slot(&c, 0, perm, sizeof(perm));
	flip_byte(perm, 200);
	c.expect_err = -EBADMSG;
	CHILD_OK(c_expect_open_err, &c);
}

static void test_rollback_of_permanent_state_refused(void)
{
	struct ctx c = { .key = keyfile, .tag = "r" };
	char perm[600], old[600];

	dir_of(c.dir, sizeof(c.dir), "rollback");
	char cmd[2048];

	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_open_free, &c);		/* Startup writes slot 1 */
	snprintf(old, sizeof(old), "%s.old", c.dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", c.dir, old);
	if (system(cmd))
		FAIL("%s", cmd);			/* before the NV index */
	CHILD_OK(c_nv_define_write, &c);
	/* the old permanent state put back, slot by slot: the volatile
	 * state in the run directory followed a newer one */
	for (int i = 0; i < 2; i++) {
		char from[700];

		snprintf(from, sizeof(from), "%s/permanent.%d", old, i);
		perm_slot(&c, i, perm, sizeof(perm));
		copy_file(from, perm);
	}
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
}

static void c_nv_write_more(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;

	cmd_nv_write(&t, 0x01500001, "newer", 5, 0);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

static void test_whole_dir_rollback_refused_with_anchor(void)
{
	struct ctx c = { .key = keyfile, .tag = "w", .flags = VTPM_F_ROLLBACK_ANCHOR };
	char cmd[2048];

	dir_of(c.dir, sizeof(c.dir), "anchor");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_nv_define_write, &c);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s.old'", c.dir, c.dir);
	if (system(cmd))
		FAIL("%s", cmd);
	CHILD_OK(c_nv_write_more, &c);
	/* the whole directory, consistently, put back to the older copy */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mv '%s.old' '%s'", c.dir, c.dir, c.dir);
	if (system(cmd))
		FAIL("%s", cmd);
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
	/* without the anchor, as after a host reboot (a new session, the run
	 * directory empty), it is not detected */
	c.flags = 0;
	c.tag = "w-after-reboot";
	CHILD_OK(c_nv_read, &c);
	/* destroy forgets the anchor: a new vTPM in the same place opens */
	EXPECT_INT("destroy", 0, vtpm_state_destroy(c.dir));
	c.flags = VTPM_F_ROLLBACK_ANCHOR;
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_nv_define_write, &c);
	EXPECT_INT("destroy", 0, vtpm_state_destroy(c.dir));	/* drops its key */
}

static void c_buffer_and_locality(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET], big[VTPM_MAX_PACKET + 1] = { 0x80, 0x01 };
	struct tbuf t;
	size_t n = sizeof(r);

	/* TPM2_GetCapability(TPM_PROPERTIES, MAX_COMMAND_SIZE, 2) */
	tb_start(&t, TPM2_ST_NO_SESSIONS, 0x17a);
	tb_u32(&t, 6);
	tb_u32(&t, 0x11e);
	tb_u32(&t, 2);
	tb_end(&t);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("GetCapability rc", 0, rsp_rc(r, n));
	/* ... moreData(1) cap(4) count(4) {prop(4) value(4)}x2 */
	EXPECT_INT("property", 0x11e, be32(r + 19));
	EXPECT_INT("TPM_PT_MAX_COMMAND_SIZE", VTPM_MAX_PACKET, be32(r + 23));
	EXPECT_INT("TPM_PT_MAX_RESPONSE_SIZE", VTPM_MAX_PACKET, be32(r + 31));
	n = sizeof(r);
	EXPECT_INT("oversized command", -EMSGSIZE,
		   vtpm_process(v, big, sizeof(big), 0, r, &n));
	n = sizeof(r);
	EXPECT_INT("locality 5", -EINVAL, vtpm_process(v, t.b, t.n, 5, r, &n));

	/* PCR 20 may be reset from locality 1..3 only (PC client profile) */
	tb_start(&t, TPM2_ST_SESSIONS, 0x13d);
	tb_u32(&t, 20);
	tb_pw_session(&t);
	tb_end(&t);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("PCR_Reset(20) at locality 0", 0x907, rsp_rc(r, n));
	n = xfer(v, &t, r, 2);
	EXPECT_INT("PCR_Reset(20) at locality 2", 0, rsp_rc(r, n));
	vtpm_free(v);
}

static void test_buffer_size_and_locality(void)
{
	struct ctx c = { 0 };

	dir_of(c.dir, sizeof(c.dir), "bufsize");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_buffer_and_locality, &c);
}

static void c_tpm12(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	/* TPM_GetRandom(16) */
	static const uint8_t cmd[] = { 0x00, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x46,
				       0, 0, 0, 16 };
	uint8_t r[VTPM_MAX_PACKET];
	size_t n = sizeof(r);

	EXPECT_INT("vtpm_process", 0, vtpm_process(v, cmd, sizeof(cmd), 0, r, &n));
	EXPECT_INT("TPM 1.2 GetRandom rc", 0, rsp_rc(r, n));
	EXPECT_INT("TPM 1.2 response tag", 0x00c4, be16(r));
	EXPECT_INT("length", 10 + 4 + 16, n);
	vtpm_free(v);
}

static void test_tpm12(void)
{
	struct ctx c = { .key = keyfile, .version = VTPM_TPM_1_2, .tag = "x" };
	struct vtpm_info info = { .sz = sizeof(info) };

	dir_of(c.dir, sizeof(c.dir), "tpm12");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_tpm12, &c);
	CHILD_OK(c_tpm12, &c);		/* resumed */
	EXPECT_INT("state_info", 0, vtpm_state_info(c.dir, &info));
	EXPECT_INT("info.version", VTPM_TPM_1_2, info.version);
	EXPECT_INT("info.encrypted", 1, info.encrypted);
}

static void test_failure_response(void)
{
	static const uint8_t tpm2cmd[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8 };
	static const uint8_t tpm12cmd[] = { 0x00, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x46, 0, 0, 0, 8 };
	static const uint8_t want2[] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01 };
	static const uint8_t want12[] = { 0x00, 0xc4, 0, 0, 0, 10, 0, 0, 0, 0x09 };
	uint8_t r[16];

	EXPECT_INT("len", 10, vtpm_failure_response(tpm2cmd, sizeof(tpm2cmd), r, sizeof(r)));
	if (memcmp(r, want2, 10)) {
		hex("expected", want2, 10);
		hex("received", r, 10);
		FAIL("TPM2 failure response");
	}
	EXPECT_INT("len", 10, vtpm_failure_response(tpm12cmd, sizeof(tpm12cmd), r, sizeof(r)));
	if (memcmp(r, want12, 10)) {
		hex("expected", want12, 10);
		hex("received", r, 10);
		FAIL("TPM1.2 failure response");
	}
}

static void test_destroy_then_create_is_fresh(void)
{
	struct ctx c = { .key = keyfile, .tag = "d" };
	struct vtpm_info info = { .sz = sizeof(info) };

	dir_of(c.dir, sizeof(c.dir), "destroy");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_nv_define_write, &c);
	EXPECT_INT("vtpm_state_destroy", 0, vtpm_state_destroy(c.dir));
	if (access(c.dir, F_OK) == 0)
		FAIL("%s still exists", c.dir);
	EXPECT_INT("destroy again", -ENOENT, vtpm_state_destroy(c.dir));
	EXPECT_INT("state_info", -ENOENT, vtpm_state_info(c.dir, &info));
	CHILD_OK((void (*)(void *))create, &c);
	/* fresh TPM: the index is gone, defining it again works */
	CHILD_OK(c_nv_define_write, &c);
}

static void test_opts_size_checked(void)
{
	struct {
		struct vtpm_opts o;
		uint64_t future;
	} big = { .o = { .sz = sizeof(big), .state_dir = "/nonexistent" }, .future = 1 };

	errno = 0;
	if (vtpm_new(&big.o) || errno != EINVAL)
		FAIL("unknown non-zero option bytes accepted (errno %d)", errno);
	if (vtpm_new(NULL) || errno != EINVAL)
		FAIL("NULL opts accepted");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void c_bench(void *arg)
{
	struct ctx *c = arg;
	double t0 = now(), t1, t2, t3;
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	int i, n = 5000;

	t1 = now();
	cmd_getrandom(&t, 32);
	for (i = 0; i < n; i++)
		xfer(v, &t, r, 0);
	t2 = now();
	for (i = 0; i < 500; i++) {
		xfer(v, &t, r, 0);
		vtpm_save(v);
	}
	t3 = now();
	printf("    bench: vtpm_new (resume) %.2f ms; GetRandom %.0f cmd/s direct; "
	       "GetRandom + vtpm_save %.0f cmd/s\n", (t1 - t0) * 1e3,
	       n / (t2 - t1), 500 / (t3 - t2));
	vtpm_free(v);
}

static void test_bench(void)
{
	struct ctx c = { .key = keyfile, .tag = "bench" };

	dir_of(c.dir, sizeof(c.dir), "bench");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_extend, &c);
	CHILD_OK(c_bench, &c);
}

/* ---- runner ------------------------------------------------------------- */

struct test {
	const char *name;
	void (*fn)(void);
};

#define T(x) { #x, test_##x }
/* ---- the state contract under faults ------------------------------------ */

/*
 * Fault injection for the errors a real disk gives that a test cannot
 * provoke on demand (EIO, EROFS): libvtpm is linked into this program,
 * so its pwrite() and fdatasync() calls land here first. ENOSPC is also
 * tested for real, on a full tmpfs.
 */
static int fault_pwrite, fault_sync;	/* errno to fail with, 0: none */

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault_pwrite) {
		errno = fault_pwrite;
		return -1;
	}
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

int fdatasync(int fd)
{
	if (fault_sync) {
		errno = fault_sync;
		return -1;
	}
	return syscall(SYS_fdatasync, fd);
}

/* one command; the libvtpm error (no response) or 0 and the TPM's rc */
static int try_cmd(struct vtpm *v, const struct tbuf *cmd, uint32_t *rc,
		   uint8_t *resp)
{
	uint8_t r[VTPM_MAX_PACKET];
	size_t rlen;
	int err, tries = 0;

	do {
		rlen = VTPM_MAX_PACKET;
		err = vtpm_process(v, cmd->b, cmd->n, 0, resp ? resp : r, &rlen);
		if (err)
			return err;
		*rc = rsp_rc(resp ? resp : r, rlen);
	} while (*rc == 0x922 && ++tries < 3);
	return 0;
}

/* the random bytes seen, one hex line each, across processes */
static char randoms_file[600];

static void note_random(struct vtpm *v)
{
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;
	FILE *f;

	cmd_getrandom(&t, 16);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("GetRandom rc", 0, rsp_rc(r, n));
	EXPECT_INT("GetRandom length", 10 + 2 + 16, n);
	f = fopen(randoms_file, "a");
	if (!f)
		FAIL("%s: %s", randoms_file, strerror(errno));
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", r[12 + i]);
	fputc('\n', f);
	fclose(f);
}

static void expect_no_repeated_random(int min_lines)
{
	char cmd[1400], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "echo $(wc -l < '%s') $(sort '%s' | uniq -d | wc -l)",
		 randoms_file, randoms_file);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p))
		FAIL("%s", cmd);
	pclose(p);
	{
		int lines = 0, dups = -1;

		sscanf(out, "%d %d", &lines, &dups);
		if (lines < min_lines)
			FAIL("only %d random outputs recorded, expected %d or more", lines, min_lines);
		EXPECT_INT("random outputs seen twice", 0, dups);
	}
}

static const uint8_t extend_d[32] = { 0xe5, 0x7e, 0x5d };

static void expect_pcr16(struct vtpm *v, int extends)
{
	uint8_t want[32] = { 0 }, got[32];

	for (int i = 0; i < extends; i++)
		extend_digest(want, extend_d);
	read_pcr(v, 16, got);
	if (memcmp(want, got, 32)) {
		hex("expected", want, 32);
		hex("received", got, 32);
		FAIL("PCR 16 is not %d extends", extends);
	}
}

static void fill_fs(const char *mnt, int on)
{
	char path[700];
	static uint8_t block[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/filler", mnt);
	if (!on) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		FAIL("%s: %s", path, strerror(errno));
	while (write(fd, block, sizeof(block)) > 0)
		;
	if (errno != ENOSPC)
		FAIL("filling %s: %s, not ENOSPC", mnt, strerror(errno));
	close(fd);
}

static char full_mnt[400];

/* the running server: the disk fills, saves fail, space returns */
static void c_full_disk(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;
	uint32_t rc;
	int err;

	note_random(v);
	note_random(v);
	fill_fs(full_mnt, 1);
	/* light commands need no save: still served */
	note_random(v);
	/* PCR_Extend needs a volatile save (a new slot file): no space */
	cmd_pcr_extend(&t, 16, extend_d);
	err = try_cmd(v, &t, &rc, NULL);
	EXPECT_INT("PCR_Extend on a full disk", -ENOSPC, err);
	note_random(v);
	expect_pcr16(v, 0);		/* nothing of it kept */
	/* space returns: the same server serves normally */
	fill_fs(full_mnt, 0);
	expect_rc(v, &t, 0);
	expect_pcr16(v, 1);
	note_random(v);
	/* NV indices of 2 KiB grow the permanent state past a page: with
	 * space for the first, not for the second */
	cmd_nv_define(&t, 0x0150001f, 2048);
	expect_rc(v, &t, 0);
	fill_fs(full_mnt, 1);
	cmd_nv_define(&t, 0x01500020, 2048);
	err = try_cmd(v, &t, &rc, NULL);
	EXPECT_INT("NV_DefineSpace on a full disk", -ENOSPC, err);
	note_random(v);
	/* killed while the disk is full, with no orderly anything */
	raise(SIGKILL);
}

static void c_after_full_disk(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);	/* the same guest: resumes */
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;

	note_random(v);
	note_random(v);
	expect_pcr16(v, 1);
	/* the index whose definition failed does not exist */
	cmd_nv_read(&t, 0x01500020, 8, 0);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("NV_Read of the index never defined", 0x18b, rsp_rc(r, n) & 0xfff);
	fill_fs(full_mnt, 0);
	cmd_nv_define(&t, 0x01500020, 2048);
	expect_rc(v, &t, 0);
	cmd_nv_write(&t, 0x01500020, "after the disk was full", 23, 0);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

static void test_full_disk_answers_failure_then_recovers(void)
{
	struct ctx c = { .key = keyfile, .tag = "full", .flags = VTPM_F_ROLLBACK_ANCHOR };
	char cmd[1400], run[700];

	snprintf(full_mnt, sizeof(full_mnt), "%s/small", tmpdir);
	snprintf(randoms_file, sizeof(randoms_file), "%s/randoms-full", tmpdir);
	mkdir(full_mnt, 0700);
	/* a real full filesystem: 512 KiB of tmpfs for state and run dir */
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=512k,mode=0700 tmpfs '%s'",
		 full_mnt);
	if (system(cmd))
		FAIL("cannot mount a tmpfs (this test needs root): %s", cmd);
	snprintf(c.dir, sizeof(c.dir), "%s/state", full_mnt);
	snprintf(run, sizeof(run), "%s/run", full_mnt);
	setenv("VTPM_RUN_DIR", run, 1);
	CHILD_OK((void (*)(void *))create, &c);
	EXPECT_INT("full-disk server killed", 128 + SIGKILL, in_child(c_full_disk, &c));
	CHILD_OK(c_after_full_disk, &c);
	setenv("VTPM_RUN_DIR", rundir, 1);
	expect_no_repeated_random(8);
	snprintf(cmd, sizeof(cmd), "umount '%s'", full_mnt);
	(void)!system(cmd);
}

/* EIO and EROFS, on the permanent (fdatasync) and volatile (pwrite) path */
static void c_io_errors(void *arg)
{
	static const int errs[] = { EIO, EROFS };
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;
	uint32_t rc;
	int err, extends = 0;

	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		uint32_t idx = 0x01500030 + i;

		fault_sync = errs[i];
		cmd_nv_define(&t, idx, 16);
		err = try_cmd(v, &t, &rc, NULL);
		EXPECT_INT("NV_DefineSpace, fdatasync failing", -errs[i], err);
		fault_sync = 0;
		cmd_nv_read(&t, idx, 4, 0);
		EXPECT_INT("index defined by the failed command", 0,
			   try_cmd(v, &t, &rc, NULL));
		EXPECT_INT("NV_Read of it", 0x18b, rc & 0xfff);
		cmd_nv_define(&t, idx, 16);
		expect_rc(v, &t, 0);

		fault_pwrite = errs[i];
		cmd_pcr_extend(&t, 16, extend_d);
		err = try_cmd(v, &t, &rc, NULL);
		EXPECT_INT("PCR_Extend, pwrite failing", -errs[i], err);
		fault_pwrite = 0;
		expect_pcr16(v, extends);
		expect_rc(v, &t, 0);
		expect_pcr16(v, ++extends);
	}
	vtpm_free(v);
}

static void c_io_errors_after(void *arg)
{
	struct vtpm *v = open_vtpm(arg);

	expect_pcr16(v, 2);
	vtpm_free(v);
}

static void test_io_errors_answer_failure_then_recover(void)
{
	struct ctx c = { .key = keyfile, .tag = "eio", .flags = VTPM_F_ROLLBACK_ANCHOR };

	dir_of(c.dir, sizeof(c.dir), "eio");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_io_errors, &c);
	CHILD_OK(c_io_errors_after, &c);	/* a restart of the same guest */
}

static void c_extend_free(void *arg)
{
	struct vtpm *v = open_vtpm(arg);
	struct tbuf t;

	cmd_pcr_extend(&t, 16, extend_d);
	expect_rc(v, &t, 0);
	vtpm_free(v);
}

static void run_cmd(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		FAIL("%s", cmd);
}

static void test_volatile_rollback_and_loss_refused(void)
{
	struct ctx c = { .key = keyfile, .tag = "vol", .flags = VTPM_F_ROLLBACK_ANCHOR };
	char vdir[700];

	dir_of(c.dir, sizeof(c.dir), "vol");
	snprintf(vdir, sizeof(vdir), "%s/vol", rundir);
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_extend_free, &c);			/* PCR 16: one extend */
	run_cmd("cp -a '%s' '%s.old'", vdir, vdir);
	CHILD_OK(c_extend_free, &c);			/* two */
	/* an older copy of the volatile state put back */
	run_cmd("rm -rf '%s' && cp -a '%s.old' '%s'", vdir, vdir, vdir);
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
	/* the volatile state deleted under the running guest */
	run_cmd("rm -rf '%s'", vdir);
	CHILD_OK(c_expect_open_err, &c);
	/* a new session (the guest rebooted) starts clean, by design */
	c.tag = "vol-rebooted";
	CHILD_OK(c_open_free, &c);
	run_cmd("rm -rf '%s.old'", vdir);
}

static void c_expect_open_errno(void *arg)
{
	struct ctx *c = arg;
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key, .resume_tag = c->tag);
	struct vtpm *v = vtpm_new(&o);

	if (v)
		FAIL("vtpm_new succeeded, expected %s", vtpm_strerror(c->expect_err));
	EXPECT_INT("vtpm_new errno", -c->expect_err, errno);
}

static void c_nv_write_expect_err(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct tbuf t;
	uint32_t rc;

	cmd_nv_define(&t, 0x01500040, 8);
	EXPECT_INT("NV_DefineSpace through a planted link", c->expect_err,
		   try_cmd(v, &t, &rc, NULL));
	vtpm_free(v);
}

/*
 * Pinned anchors (vtpm_anchor_pin(), before a server changes uid): the
 * keys it returns are the anchors root's keyring holds; they keep being
 * updated by serial; and once one is gone, the vtpm does not add a new
 * one to the caller's user keyring (as another uid, a keyring nobody
 * checks): the key stays missing, the vtpm goes on.
 */
static void c_pinned_anchors(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	char desc[700], real[600], before[64] = "", after[64] = "";
	int32_t keys[2];
	key_serial_t k;
	struct tbuf t;
	uint32_t rc;

	if (!realpath(c->dir, real))
		FAIL("realpath %s", c->dir);
	EXPECT_INT("vtpm_anchor_pin", 0, vtpm_anchor_pin(v, keys));
	snprintf(desc, sizeof(desc), "libvtpm:gen:%s", real);
	EXPECT_INT("gen key is root's anchor", keys[0],
		   keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0));
	snprintf(desc, sizeof(desc), "libvtpm:vol:%s", real);
	EXPECT_INT("vol key is root's anchor", keys[1],
		   keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0));
	/* a permanent change moves the pinned gen anchor */
	(void)!keyctl_read(keys[0], before, sizeof(before) - 1);
	cmd_nv_define(&t, 0x01500050, 8);
	EXPECT_INT("NV_DefineSpace", 0, try_cmd(v, &t, &rc, NULL));
	EXPECT_INT("NV_DefineSpace rc", 0, rc);
	(void)!keyctl_read(keys[0], after, sizeof(after) - 1);
	if (!strtoull(after, NULL, 10) || strtoull(after, NULL, 10) <= strtoull(before, NULL, 10))
		FAIL("gen anchor not moved by serial: before \"%s\" after \"%s\"", before, after);
	/* the vol key invalidated behind its back: never re-added */
	EXPECT_INT("invalidate vol", 0, (int)keyctl_invalidate(keys[1]));
	usleep(100 * 1000);	/* the key garbage collector */
	cmd_pcr_extend(&t, 16, extend_d);
	expect_rc(v, &t, 0);
	vtpm_free(v);
	k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (k >= 0)
		FAIL("a pinned vtpm added a new vol anchor %d", k);
}

static void test_pinned_anchors_by_serial_only(void)
{
	struct ctx c = { .key = keyfile, .tag = "pin", .flags = VTPM_F_ROLLBACK_ANCHOR };

	dir_of(c.dir, sizeof(c.dir), "pin");
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_pinned_anchors, &c);
	EXPECT_INT("destroy", 0, vtpm_state_destroy(c.dir));
}

/*
 * The same two tests with every process in a session keyring of its own,
 * as systemd starts each unit (KeyringMode=private): none possesses root's
 * user keyring, yet each finds, reads and updates (and pins) the anchors
 * another made, and destroy removes them.
 */
static void test_anchors_across_private_sessions(void)
{
	if (keyctl_join_session_keyring(NULL) < 0)
		FAIL("keyctl_join_session_keyring: %s", strerror(errno));
	private_sessions = 1;
	test_whole_dir_rollback_refused_with_anchor();
	test_pinned_anchors_by_serial_only();
}

static void test_planted_links_and_modes_refused(void)
{
	struct ctx c = { .key = keyfile, .tag = "plant" };
	char victim[600], slot[700], before[64], after[64];
	FILE *f;

	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	f = fopen(victim, "w");
	fputs("precious\n", f);
	fclose(f);
	dir_of(c.dir, sizeof(c.dir), "plant");
	/* a temp file name planted before create: removed, not followed */
	mkdir(c.dir, 0700);
	run_cmd("ln -s '%s' '%s/.meta.tmp'", victim, c.dir);
	CHILD_OK((void (*)(void *))create, &c);
	/* a symlink at the slot the next permanent save writes */
	snprintf(slot, sizeof(slot), "%s/permanent.1", c.dir);
	unlink(slot);
	run_cmd("ln -s '%s' '%s'", victim, slot);
	c.expect_err = -EPERM;
	CHILD_OK(c_expect_open_errno, &c);	/* Startup's save: refused */
	/* a hard link there */
	unlink(slot);
	run_cmd("ln '%s' '%s'", victim, slot);
	CHILD_OK(c_expect_open_errno, &c);
	unlink(slot);
	f = fopen(victim, "r");
	if (!f || !fgets(after, sizeof(after), f))
		FAIL("victim gone");
	fclose(f);
	snprintf(before, sizeof(before), "precious\n");
	if (strcmp(before, after))
		FAIL("the planted link's target was written: \"%s\"", after);
	CHILD_OK(c_open_free, &c);		/* fine again */
	/* a state directory others can write to */
	chmod(c.dir, 0777);
	CHILD_OK(c_expect_open_errno, &c);
	chmod(c.dir, 0700);
	/* a run directory others can write to */
	run_cmd("chmod 0777 '%s/plant'", rundir);
	CHILD_OK(c_expect_open_errno, &c);
	run_cmd("chmod 0700 '%s/plant'", rundir);
	/* the slot written in place after a link was removed: a new file */
	c.expect_err = 0;
	CHILD_OK(c_nv_write_expect_err, &c);
}

/* every byte of a sealed blob is authenticated: flip each, append, cut */
static void c_every_byte(void *arg)
{
	struct ctx *c = arg;
	char path[700];
	uint8_t orig[65536];
	struct stat sb;
	int fd, refused = 0;

	snprintf(path, sizeof(path), "%s/permanent.0", c->dir);
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &sb) || sb.st_size > (off_t)sizeof(orig) ||
	    pread(fd, orig, sb.st_size, 0) != sb.st_size)
		FAIL("%s: %s", path, strerror(errno));
	for (off_t off = 0; off < sb.st_size; off++) {
		VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
			  .resume_tag = c->tag);
		uint8_t b;
		struct vtpm *v;

		(void)!pread(fd, &b, 1, off);
		b ^= 0x80;
		(void)!pwrite(fd, &b, 1, off);
		v = vtpm_new(&o);
		if (v)
			FAIL("byte %lld of %lld flipped: vtpm_new accepted it",
			     (long long)off, (long long)sb.st_size);
		refused++;
		b ^= 0x80;
		(void)!pwrite(fd, &b, 1, off);
	}
	/* one byte appended, one cut off */
	for (int i = 0; i < 2; i++) {
		VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key);

		if (i == 0)
			(void)!pwrite(fd, "x", 1, sb.st_size);
		else
			(void)!ftruncate(fd, sb.st_size - 1);
		if (vtpm_new(&o))
			FAIL("blob %s accepted", i ? "cut short" : "with a byte appended");
		(void)!ftruncate(fd, sb.st_size);
		(void)!pwrite(fd, orig, sb.st_size, 0);
	}
	close(fd);
	if (verbose)
		fprintf(stderr, "    %d byte flips refused\n", refused);
}

static void test_every_byte_of_a_blob_authenticated(void)
{
	struct ctx e = { .key = keyfile, .tag = "bytes" }, p = { .tag = "bytes" };

	dir_of(e.dir, sizeof(e.dir), "bytes-enc");
	dir_of(p.dir, sizeof(p.dir), "bytes-plain");
	CHILD_OK((void (*)(void *))create, &e);
	CHILD_OK((void (*)(void *))create, &p);
	CHILD_OK(c_every_byte, &e);
	CHILD_OK(c_every_byte, &p);
	/* and untouched, both open */
	CHILD_OK(c_open_free, &e);
	CHILD_OK(c_open_free, &p);
}

/*
 * kill -9 at random instants of a guest that alternates GetRandom and
 * PCR_Extend: after every restart PCR 16 holds every acknowledged extend
 * (plus at most the one in flight), and no random output ever repeats.
 */
static void c_kill_loop(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	uint8_t r[VTPM_MAX_PACKET];
	struct tbuf t;
	size_t n;

	cmd_pcr_read(&t, 16);
	n = xfer(v, &t, r, 0);
	EXPECT_INT("PCR_Read rc", 0, rsp_rc(r, n));
	printf("P ");
	for (int i = 0; i < 32; i++)
		printf("%02x", r[PCR_READ_DIGEST_OFF + i]);
	printf("\n");
	fflush(stdout);
	for (;;) {
		note_random(v);
		cmd_pcr_extend(&t, 16, extend_d);
		n = xfer(v, &t, r, 0);
		EXPECT_INT("PCR_Extend rc", 0, rsp_rc(r, n));
		printf("E\n");
		fflush(stdout);
	}
}

static void test_kill9_keeps_acknowledged_values_no_repeat(void)
{
	struct ctx c = { .key = keyfile, .tag = "kv", .flags = VTPM_F_ROLLBACK_ANCHOR };
	int rounds = getenv("CRASH_ROUNDS") ? atoi(getenv("CRASH_ROUNDS")) : 40;
	uint8_t chain[32] = { 0 }, next[32];
	long acked = 0, inflight_kept = 0;

	dir_of(c.dir, sizeof(c.dir), "killvalues");
	snprintf(randoms_file, sizeof(randoms_file), "%s/randoms-kill", tmpdir);
	CHILD_OK((void (*)(void *))create, &c);
	srand(getpid());
	for (int round = 0; round < rounds; round++) {
		int pfd[2];
		char line[128];
		FILE *f;
		pid_t pid;
		long deadline_us = 2000 + rand() % 20000;
		struct timespec t0, t1;

		if (pipe(pfd))
			FAIL("pipe");
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			dup2(pfd[1], 1);
			c_kill_loop(&c);
			exit(0);
		}
		close(pfd[1]);
		f = fdopen(pfd[0], "r");
		if (!fgets(line, sizeof(line), f) || line[0] != 'P')
			FAIL("round %d: the server did not start", round);
		memcpy(next, chain, 32);
		extend_digest(next, extend_d);
		{
			uint8_t got[32];

			for (int i = 0; i < 32; i++)
				sscanf(line + 2 + 2 * i, "%2hhx", &got[i]);
			if (!memcmp(got, next, 32)) {
				/* the extend in flight at the kill was saved */
				memcpy(chain, next, 32);
				acked++;
				inflight_kept++;
			} else if (memcmp(got, chain, 32)) {
				hex("expected", chain, 32);
				hex("received", got, 32);
				FAIL("round %d: PCR 16 after kill -9 is not the %ld acknowledged extends",
				     round, acked);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == 'E') {
				extend_digest(chain, extend_d);
				acked++;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000 > deadline_us)
				break;
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* acknowledgements written before the kill */
		while (fgets(line, sizeof(line), f))
			if (line[0] == 'E') {
				extend_digest(chain, extend_d);
				acked++;
			}
		fclose(f);
	}
	if (verbose)
		fprintf(stderr, "    %d kills, %ld extends acknowledged, %ld in flight found saved\n",
			rounds, acked, inflight_kept);
	if (acked < rounds)
		FAIL("only %ld extends in %d rounds: the test did not exercise the server", acked, rounds);
	expect_no_repeated_random(rounds);
}

/* ---- the volatile log --------------------------------------------------- */

static int n_extends, want_extends;

/* n_extends PCR 16 extends, then killed: no orderly anything */
static void c_extend_n_kill(void *arg)
{
	struct vtpm *v = open_vtpm(arg);
	struct vtpm_stats st = { .sz = sizeof(st) };
	struct tbuf t;

	cmd_pcr_extend(&t, 16, extend_d);
	for (int i = 0; i < n_extends; i++)
		expect_rc(v, &t, 0);
	EXPECT_INT("vtpm_get_stats", 0, vtpm_get_stats(v, &st));
	/* a resume's first state change is a whole save (a fresh start
	 * made one already) */
	EXPECT_INT("extends answered after a record, not a whole save",
		   n_extends - !vtpm_fresh_start(v), st.volatile_records);
	raise(SIGKILL);
}

static void c_expect_extends(void *arg)
{
	struct vtpm *v = open_vtpm(arg);

	expect_pcr16(v, want_extends);
	vtpm_free(v);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) < 0)
		FAIL("%s: %s", path, strerror(errno));
	b = malloc(sb.st_size + 1);
	if (!b || read(fd, b, sb.st_size) != sb.st_size)
		FAIL("read %s", path);
	close(fd);
	*len = sb.st_size;
	return b;
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, b, len) != (ssize_t)len)
		FAIL("write %s: %s", path, strerror(errno));
	close(fd);
}

static uint32_t le(const uint8_t *p, int n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* where the log's records start (blob.c's format: header, tag, payload, GCM tag) */
static int log_records(const uint8_t *b, size_t len, size_t *off, int max)
{
	size_t o = 0;
	int n = 0;

	while (o + 96 <= len && n < max) {
		off[n++] = o;
		o += 96 + le(b + o + 32, 2) + le(b + o + 12, 4) + 16;
	}
	if (o != len)
		FAIL("the log is not whole records: %zu of %zu bytes", o, len);
	off[n] = o;
	return n;
}

/*
 * Commands answered after a record in the log (not a whole save) are all
 * there after kill -9, and the log cannot be used to give a guest another
 * state: an incomplete last record is a command never answered (dropped),
 * a changed record, one cut out of the middle, a log kept under older
 * volatile slots are refused; a log a whole save superseded is ignored;
 * with the rollback anchor, a log cut short by a whole record is refused.
 */
static void test_volatile_log_replayed_and_checked(void)
{
	struct ctx c = { .key = keyfile, .tag = "vlog" };
	char vdir[700], log[800];
	size_t off[16], len;
	uint8_t *b;
	int n;

	dir_of(c.dir, sizeof(c.dir), "vlog");
	snprintf(vdir, sizeof(vdir), "%s/vlog", rundir);
	snprintf(log, sizeof(log), "%s/volatile.log", vdir);
	CHILD_OK((void (*)(void *))create, &c);
	CHILD_OK(c_open_free, &c);
	run_cmd("cp -a '%s' '%s.before'", vdir, vdir);
	n_extends = 5;
	EXPECT_INT("server killed", 128 + SIGKILL, in_child(c_extend_n_kill, &c));
	b = read_file(log, &len);
	n = log_records(b, len, off, 15);
	EXPECT_INT("records in the log", 4, n);
	run_cmd("cp -a '%s' '%s.kept'", vdir, vdir);
#define PUT_BACK() run_cmd("rm -rf '%s' && cp -a '%s.kept' '%s'", vdir, vdir, vdir)

	/* all five, four of them replayed from the log */
	want_extends = 5;
	CHILD_OK(c_expect_extends, &c);
	/* the whole save at that vtpm_free() emptied the log */
	free(read_file(log, &len));
	EXPECT_INT("log after a whole save", 0, len);
	PUT_BACK();

	/* the last record's write cut short: that command was never answered */
	write_file(log, b, len = off[n] - 7);
	want_extends = 4;
	CHILD_OK(c_expect_extends, &c);
	PUT_BACK();

	/* one byte of the second record changed: refused */
	b[off[1] + 120] ^= 1;
	write_file(log, b, off[n]);
	b[off[1] + 120] ^= 1;
	c.expect_err = -EKEYREJECTED;
	CHILD_OK(c_expect_open_err, &c);
	PUT_BACK();

	/* the second record cut out: the others out of sequence, refused */
	{
		uint8_t *cut = malloc(off[n]);

		memcpy(cut, b, off[1]);
		memcpy(cut + off[1], b + off[2], off[n] - off[2]);
		write_file(log, cut, off[n] - (off[2] - off[1]));
		free(cut);
	}
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
	PUT_BACK();

	/* the volatile slots of before put back under the newer log: refused */
	run_cmd("cp -a '%s.before'/volatile.0 '%s.before'/volatile.1 '%s'/", vdir, vdir, vdir);
	CHILD_OK(c_expect_open_err, &c);
	PUT_BACK();

	/* a log a whole save came after: ignored, never replayed twice */
	want_extends = 5;
	CHILD_OK(c_expect_extends, &c);
	run_cmd("cp -a '%s.kept/volatile.log' '%s'/", vdir, vdir);
	CHILD_OK(c_expect_extends, &c);
	run_cmd("rm -rf '%s.kept' '%s.before'", vdir, vdir);
	free(b);

	/* with the rollback anchor: the log cut back by a whole record */
	c.flags = VTPM_F_ROLLBACK_ANCHOR;
	c.tag = "vlog-anchor";
	CHILD_OK(c_open_free, &c);
	EXPECT_INT("server killed", 128 + SIGKILL, in_child(c_extend_n_kill, &c));
	run_cmd("cp -a '%s' '%s.kept'", vdir, vdir);
	b = read_file(log, &len);
	n = log_records(b, len, off, 15);
	write_file(log, b, off[n - 1]);
	c.expect_err = -ESTALE;
	CHILD_OK(c_expect_open_err, &c);
	PUT_BACK();
	want_extends = 5;
	CHILD_OK(c_expect_extends, &c);
	run_cmd("rm -rf '%s.kept'", vdir);
	free(b);
#undef PUT_BACK
}

/*
 * A failed append answers nothing and keeps nothing of its command: the
 * TPM goes back to the volatile slot and the records after it; the next
 * state change is a whole save. With VTPM_F_SYNC_VOLATILE, a record
 * written but not made durable is cut off again: a kill right after
 * must not find it.
 */
static void c_log_append_fails(void *arg)
{
	struct ctx *c = arg;
	struct vtpm *v = open_vtpm(c);
	struct vtpm_stats st = { .sz = sizeof(st) };
	struct tbuf t;
	uint32_t rc;

	cmd_pcr_extend(&t, 16, extend_d);
	for (int i = 0; i < 3; i++)
		expect_rc(v, &t, 0);		/* records (a whole save first on resume) */
	fault_pwrite = EIO;
	EXPECT_INT("PCR_Extend, the log's pwrite failing", -EIO,
		   try_cmd(v, &t, &rc, NULL));
	fault_pwrite = 0;
	expect_pcr16(v, n_extends + 3);	/* n_extends: before this run */
	expect_rc(v, &t, 0);			/* a whole save */
	expect_rc(v, &t, 0);			/* a record */
	EXPECT_INT("vtpm_get_stats", 0, vtpm_get_stats(v, &st));
	EXPECT_INT("records", 3 + !!vtpm_fresh_start(v), st.volatile_records);
	if (c->flags & VTPM_F_SYNC_VOLATILE) {
		fault_sync = EIO;
		EXPECT_INT("PCR_Extend, the log's fdatasync failing", -EIO,
			   try_cmd(v, &t, &rc, NULL));
		fault_sync = 0;
	}
	raise(SIGKILL);
}

static void test_volatile_log_failed_append_keeps_nothing(void)
{
	struct ctx c = { .key = keyfile, .tag = "vlogfail" };

	dir_of(c.dir, sizeof(c.dir), "vlogfail");
	CHILD_OK((void (*)(void *))create, &c);
	n_extends = 0;
	EXPECT_INT("server killed", 128 + SIGKILL, in_child(c_log_append_fails, &c));
	want_extends = 5;
	CHILD_OK(c_expect_extends, &c);
	c.flags = VTPM_F_SYNC_VOLATILE | VTPM_F_ROLLBACK_ANCHOR;
	n_extends = 5;
	EXPECT_INT("server killed", 128 + SIGKILL, in_child(c_log_append_fails, &c));
	want_extends = 10;
	CHILD_OK(c_expect_extends, &c);
}

/* TPM 1.2: TPM_Extend is logged and replayed the same way */
static const uint8_t d20[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
				 15, 16, 17, 18, 19, 20 };

static void tpm12_pcr16(struct vtpm *v, uint8_t out[20])
{
	static const uint8_t cmd[] = { 0x00, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x15, 0, 0, 0, 16 };
	uint8_t r[VTPM_MAX_PACKET];
	size_t n = sizeof(r);

	EXPECT_INT("TPM_PcrRead", 0, vtpm_process(v, cmd, sizeof(cmd), 0, r, &n));
	EXPECT_INT("TPM_PcrRead rc", 0, rsp_rc(r, n));
	EXPECT_INT("TPM_PcrRead length", 30, n);
	memcpy(out, r + 10, 20);
}

static void c_tpm12_extend_kill(void *arg)
{
	uint8_t cmd[34] = { 0x00, 0xc1, 0, 0, 0, 34, 0, 0, 0, 0x14, 0, 0, 0, 16 };
	struct vtpm *v = open_vtpm(arg);
	struct vtpm_stats st = { .sz = sizeof(st) };
	uint8_t r[VTPM_MAX_PACKET];
	size_t n;

	memcpy(cmd + 14, d20, 20);
	for (int i = 0; i < n_extends; i++) {
		n = sizeof(r);
		EXPECT_INT("TPM_Extend", 0, vtpm_process(v, cmd, sizeof(cmd), 0, r, &n));
		EXPECT_INT("TPM_Extend rc", 0, rsp_rc(r, n));
	}
	EXPECT_INT("vtpm_get_stats", 0, vtpm_get_stats(v, &st));
	EXPECT_INT("extends answered after a record", n_extends - !vtpm_fresh_start(v),
		   st.volatile_records);
	raise(SIGKILL);
}

static void c_tpm12_expect_extends(void *arg)
{
	struct vtpm *v = open_vtpm(arg);
	uint8_t want[20] = { 0 }, got[20], buf[40];

	for (int i = 0; i < want_extends; i++) {
		memcpy(buf, want, 20);
		memcpy(buf + 20, d20, 20);
		SHA1(buf, 40, want);
	}
	tpm12_pcr16(v, got);
	if (memcmp(want, got, 20)) {
		hex("expected", want, 20);
		hex("received", got, 20);
		FAIL("TPM 1.2 PCR 16 is not %d extends", want_extends);
	}
	vtpm_free(v);
}

static void test_volatile_log_tpm12(void)
{
	struct ctx c = { .key = keyfile, .version = VTPM_TPM_1_2, .tag = "vlog12" };

	dir_of(c.dir, sizeof(c.dir), "vlog12");
	CHILD_OK((void (*)(void *))create, &c);
	n_extends = 6;
	EXPECT_INT("server killed", 128 + SIGKILL, in_child(c_tpm12_extend_kill, &c));
	want_extends = 6;
	CHILD_OK(c_tpm12_expect_extends, &c);
}

static const struct test tests[] = {
	T(getrandom_plaintext),
	T(suspend_record_resumed_exactly_once),
	T(getrandom_encrypted),
	T(create_refuses_existing),
	T(create_needs_key_or_plaintext),
	T(open_unknown),
	T(one_per_process),
	T(lock_excludes_second_server),
	T(resume_same_tag_keeps_pcrs),
	T(nv_survives_restart_and_reset),
	T(power_off_resets_pcrs),
	T(kill9_during_nv_writes),
	T(tamper_refused),
	T(blob_moved_between_vtpms_refused),
	T(plaintext_refused_with_key),
	T(plaintext_corruption_detected),
	T(rollback_of_permanent_state_refused),
	T(whole_dir_rollback_refused_with_anchor),
	T(pinned_anchors_by_serial_only),
	T(anchors_across_private_sessions),
	T(buffer_size_and_locality),
	T(tpm12),
	T(failure_response),
	T(destroy_then_create_is_fresh),
	T(opts_size_checked),
	T(full_disk_answers_failure_then_recovers),
	T(io_errors_answer_failure_then_recover),
	T(volatile_rollback_and_loss_refused),
	T(planted_links_and_modes_refused),
	T(every_byte_of_a_blob_authenticated),
	T(kill9_keeps_acknowledged_values_no_repeat),
	T(volatile_log_replayed_and_checked),
	T(volatile_log_failed_append_keeps_nothing),
	T(volatile_log_tpm12),
	T(bench),
};

static void write_key(const char *path, uint8_t fill)
{
	uint8_t k[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	for (int i = 0; i < 32; i++)
		k[i] = fill + i;
	if (fd < 0 || write(fd, k, 32) != 32)
		FAIL("cannot write %s", path);
	close(fd);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, argi = 1;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = 1;
		argi++;
	}
	if (getenv("V"))
		verbose = atoi(getenv("V"));
	vtpm_set_print(print_fn);
	snprintf(tmpdir, sizeof(tmpdir), "%s/libvtpm-test.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(keyfile, sizeof(keyfile), "%s/key", tmpdir);
	snprintf(key2file, sizeof(key2file), "%s/key2", tmpdir);
	snprintf(rundir, sizeof(rundir), "%s/run", tmpdir);
	setenv("VTPM_RUN_DIR", rundir, 1);
	write_key(keyfile, 1);
	write_key(key2file, 2);

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int run = argi >= argc, status;
		pid_t pid;

		for (int a = argi; a < argc; a++)
			if (!strcmp(argv[a], tests[i].name))
				run = 1;
		if (!run)
			continue;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			tests[i].fn();
			exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok - libvtpm %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL - libvtpm %s\n", tests[i].name);
			failed++;
		}
	}
	if (!getenv("KEEP_TMP")) {
		char cmd[1024];

		/* rollback anchors left in the keyring by the tests' vTPMs */
		snprintf(cmd, sizeof(cmd),
			 "command -v keyctl >/dev/null && for k in $(keyctl rlist @u 2>/dev/null); do "
			 "case \"$(keyctl rdescribe $k 2>/dev/null)\" in "
			 "*'libvtpm:'*':%s/'*) keyctl invalidate $k;; esac; done; "
			 "umount '%s/small' 2>/dev/null; rm -rf '%s'",
			 tmpdir, tmpdir, tmpdir);
		(void)!system(cmd);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
