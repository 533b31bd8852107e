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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libvtpm/libvtpm.h"
#include "tpm2cmd.h"

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

/* Run fn in a child process (a fresh libtpms); return its exit status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
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
};

static struct vtpm *open_vtpm(struct ctx *c)
{
	VTPM_OPTS(o, .state_dir = c->dir, .key_file = c->key,
		  .resume_tag = c->tag, .flags = c->flags);
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
		  .resume_tag = c->tag, .flags = c->flags);
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

/* the newest permanent slot of a vTPM (the one with the highest mtime
 * is not reliable at 1 s granularity: the generation decides) */
static void perm_slot(const struct ctx *c, int slot, char *buf, size_t n)
{
	snprintf(buf, n, "%s/permanent.%d", c->dir, slot);
}

static uint64_t blob_generation(const char *path)
{
	uint8_t hdr[24];
	uint64_t g = 0;
	int fd = open(path, O_RDONLY), i;

	if (fd < 0)
		return 0;
	if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
		for (i = 7; i >= 0; i--)
			g = g << 8 | hdr[16 + i];
	close(fd);
	return g;
}

static int newest_perm_slot(const struct ctx *c)
{
	char a[600], b[600];

	perm_slot(c, 0, a, sizeof(a));
	perm_slot(c, 1, b, sizeof(b));
	return blob_generation(b) > blob_generation(a);
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
static const struct test tests[] = {
	T(getrandom_plaintext),
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
	T(buffer_size_and_locality),
	T(tpm12),
	T(failure_response),
	T(destroy_then_create_is_fresh),
	T(opts_size_checked),
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
			 "*'libvtpm:'*':%s/'*) keyctl invalidate $k;; esac; done; rm -rf '%s'",
			 tmpdir, tmpdir);
		(void)!system(cmd);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
