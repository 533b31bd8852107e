// SPDX-License-Identifier: GPL-2.0
/*
 * statebench: the state path of a vTPM, measured (issue 7).
 *
 *   statebench inproc --dir D --key K [--n N] [--nv M]
 *       in-process, one forked child per variant (libtpms holds one TPM per
 *       process): plain libtpms with its state in memory; libvtpm
 *       vtpm_process() alone; libvtpm vtpm_process() + vtpm_save() (what
 *       the old serve did after every command)
 *   statebench sock --vtpmctl BIN --state-root D --key K --uuid U
 *                   --swtpm-dir D --run DIR [--n N] [--nv M] [--starts S]
 *       over the socket transports, both servers up at once and driven
 *       alternately in chunks: `vtpmctl serve --socket` (xen-tpmback
 *       framing over SOCK_SEQPACKET) and swtpm over its UNIX socket (raw
 *       TPM packets); server CPU and bytes written from /proc; then
 *       start-to-first-answer of each, S starts
 *   statebench nvbase --dir D --size BYTES [--n M]
 *       a bare durable write of BYTES: pwrite + fsync(file) + fsync(dir)
 *       in place, and the same as write-temp + rename
 *
 * Every measurement is one line "R key=value ..." on stdout (report.py
 * makes the table). Any TPM error, short answer or server that does not
 * start is fatal: exit 1 with "statebench: ..." on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>

#include "libvtpm/libvtpm.h"
#include "xen/tpmback.h"
#include "tpm2cmd.h"

#define NV_INDEX	0x01500016
#define NV_SIZE		64
#define TPM2_RC_NV_DEFINED 0x14c
#define TPM2_RC_RETRY	0x922

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "statebench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* TPM_RC_RETRY answers, sent again as a TPM driver does; counted */
static unsigned long retries;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double p50, p99, mean, min, max;
};

static struct summary summarize(double *v, size_t n)
{
	struct summary s = { 0 };
	double sum = 0;
	size_t i, k;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	s.mean = sum / n;
	s.min = v[0];
	s.max = v[n - 1];
	s.p50 = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	k = (size_t)ceil(0.99 * n);
	s.p99 = v[k ? k - 1 : 0];
	return s;
}

static void print_lat(const char *prefix, double *v, size_t n)
{
	struct summary s = summarize(v, n);

	printf("%s n=%zu p50_us=%.2f p99_us=%.2f mean_us=%.2f min_us=%.2f max_us=%.2f",
	       prefix, n, s.p50, s.p99, s.mean, s.min, s.max);
}

/* ---- the commands -------------------------------------------------------- */

enum { C_GETRANDOM, C_PCRREAD, C_GETCAP, C_PCREXTEND, C_NVWRITE, C_COUNT };

static const char *const cmd_names[C_COUNT] = {
	"GetRandom", "PCR_Read", "GetCapability", "PCR_Extend", "NV_Write",
};

static struct tbuf cmds[C_COUNT];

static void cmd_getcap_prop(struct tbuf *t)
{
	tb_start(t, TPM2_ST_NO_SESSIONS, 0x17a);
	tb_u32(t, 6);			/* TPM_CAP_TPM_PROPERTIES */
	tb_u32(t, 0x100);		/* TPM_PT_FAMILY_INDICATOR */
	tb_u32(t, 1);			/* one property */
	tb_end(t);
}

static void build_cmds(void)
{
	uint8_t digest[32], data[NV_SIZE];
	int i;

	for (i = 0; i < 32; i++)
		digest[i] = 0xa0 + i;
	for (i = 0; i < NV_SIZE; i++)
		data[i] = i;
	cmd_getrandom(&cmds[C_GETRANDOM], 16);
	cmd_pcr_read(&cmds[C_PCRREAD], 16);
	cmd_getcap_prop(&cmds[C_GETCAP]);
	cmd_pcr_extend(&cmds[C_PCREXTEND], 16, digest);
	cmd_nv_write(&cmds[C_NVWRITE], NV_INDEX, data, NV_SIZE, 0);
}

/* A successful answer of the right shape, or die. */
static void check_rsp(const char *who, int c, const uint8_t *r, size_t n)
{
	uint32_t rc = rsp_rc(r, n);

	if (n < 10 || be32(r + 2) != n)
		die("%s: %s: malformed response (%zu bytes)", who, cmd_names[c], n);
	if (rc)
		die("%s: %s: TPM error 0x%x", who, cmd_names[c], rc);
	if (c == C_GETRANDOM && (n < 12 || be16(r + 10) != 16))
		die("%s: GetRandom returned %u bytes, not 16", who, n >= 12 ? be16(r + 10) : 0);
	if (c == C_PCRREAD && n < PCR_READ_DIGEST_OFF + 32)
		die("%s: PCR_Read answer too short (%zu)", who, n);
}

/* A new value for every NV write: an identical write changes nothing and
 * libtpms then stores nothing. */
static void next_cmd(int c)
{
	static uint64_t nv_counter;
	struct tbuf *t = &cmds[c];

	if (c == C_NVWRITE) {
		nv_counter++;
		memcpy(t->b + t->n - 2 - NV_SIZE, &nv_counter, sizeof(nv_counter));
	}
}

static size_t count_for(int c, size_t n, size_t nnv)
{
	return c == C_NVWRITE ? nnv : n;
}

/* ---- /proc of a process -------------------------------------------------- */

struct pstat {
	double user_us, sys_us;		/* utime, stime */
	double sched_us;		/* sum of the threads' schedstat run time */
	uint64_t wchar, write_bytes, cancelled;
};

static void read_pstat(pid_t pid, struct pstat *p)
{
	char path[64], buf[2048], *s;
	unsigned long long ut = 0, st = 0, v;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	DIR *d;
	struct dirent *de;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("cannot read %s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	s = strrchr(buf, ')');
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		die("cannot parse %s", path);
	p->user_us = ut * 1e6 / tck;
	p->sys_us = st * 1e6 / tck;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("cannot read %s: %s", path, strerror(errno));
	while (fgets(buf, sizeof(buf), f)) {
		if (sscanf(buf, "wchar: %llu", &v) == 1)
			p->wchar = v;
		else if (sscanf(buf, "write_bytes: %llu", &v) == 1)
			p->write_bytes = v;
		else if (sscanf(buf, "cancelled_write_bytes: %llu", &v) == 1)
			p->cancelled = v;
	}
	fclose(f);

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char tp[320];

		if (de->d_name[0] == '.')
			continue;
		snprintf(tp, sizeof(tp), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(tp, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &v) == 1)
			p->sched_us += v / 1e3;
		fclose(f);
	}
	if (d)
		closedir(d);
}

static void pstat_add_delta(struct pstat *acc, const struct pstat *a, const struct pstat *b)
{
	acc->user_us += b->user_us - a->user_us;
	acc->sys_us += b->sys_us - a->sys_us;
	acc->sched_us += b->sched_us - a->sched_us;
	acc->wchar += b->wchar - a->wchar;
	acc->write_bytes += b->write_bytes - a->write_bytes;
	acc->cancelled += b->cancelled - a->cancelled;
}

static void print_pstat(const struct pstat *p, size_t n)
{
	printf(" cpu_user_us=%.2f cpu_sys_us=%.2f cpu_us=%.2f cpu_sched_us=%.2f"
	       " wchar_b=%.1f write_bytes_b=%.1f cancelled_b=%.1f",
	       p->user_us / n, p->sys_us / n, (p->user_us + p->sys_us) / n,
	       p->sched_us / n, (double)p->wchar / n, (double)p->write_bytes / n,
	       (double)p->cancelled / n);
}

/* ---- in-process: plain libtpms ------------------------------------------- */

/* libtpms' state, kept in memory: what the callbacks store, they load */
static struct { char name[32]; unsigned char *data; uint32_t len; } mem[8];

static TPM_RESULT mem_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT mem_load(unsigned char **data, uint32_t *length,
			   uint32_t tpm_number, const char *name)
{
	(void)tpm_number;
	for (int i = 0; i < 8; i++) {
		if (mem[i].data && !strcmp(mem[i].name, name)) {
			*data = malloc(mem[i].len);
			if (!*data)
				return TPM_FAIL;
			memcpy(*data, mem[i].data, mem[i].len);
			*length = mem[i].len;
			return TPM_SUCCESS;
		}
	}
	return TPM_RETRY;	/* none yet: manufacture */
}

static TPM_RESULT mem_store(const unsigned char *data, uint32_t length,
			    uint32_t tpm_number, const char *name)
{
	int i, free_slot = -1;

	(void)tpm_number;
	for (i = 0; i < 8; i++) {
		if (mem[i].data && !strcmp(mem[i].name, name))
			break;
		if (!mem[i].data && free_slot < 0)
			free_slot = i;
	}
	if (i == 8) {
		if (free_slot < 0)
			return TPM_FAIL;
		i = free_slot;
		snprintf(mem[i].name, sizeof(mem[i].name), "%s", name);
	}
	free(mem[i].data);
	mem[i].data = malloc(length ? length : 1);
	if (!mem[i].data)
		return TPM_FAIL;
	memcpy(mem[i].data, data, length);
	mem[i].len = length;
	return TPM_SUCCESS;
}

static TPM_RESULT mem_delete(uint32_t tpm_number, const char *name, TPM_BOOL must_exist)
{
	(void)tpm_number;
	(void)must_exist;
	for (int i = 0; i < 8; i++) {
		if (mem[i].data && !strcmp(mem[i].name, name)) {
			free(mem[i].data);
			mem[i].data = NULL;
		}
	}
	return TPM_SUCCESS;
}

static TPM_RESULT mem_locality(TPM_MODIFIER_INDICATOR *l, uint32_t tpm_number)
{
	(void)tpm_number;
	*l = 0;
	return TPM_SUCCESS;
}

static TPM_RESULT mem_pp(TPM_BOOL *pp, uint32_t tpm_number)
{
	(void)tpm_number;
	*pp = FALSE;
	return TPM_SUCCESS;
}

static struct libtpms_callbacks mem_callbacks = {
	.sizeOfStruct			= sizeof(struct libtpms_callbacks),
	.tpm_nvram_init			= mem_init,
	.tpm_nvram_loaddata		= mem_load,
	.tpm_nvram_storedata		= mem_store,
	.tpm_nvram_deletename		= mem_delete,
	.tpm_io_init			= mem_init,
	.tpm_io_getlocality		= mem_locality,
	.tpm_io_getphysicalpresence	= mem_pp,
};

static unsigned char *lt_rbuf;
static uint32_t lt_rbufsize;

static size_t libtpms_xfer(const struct tbuf *c, uint8_t *resp)
{
	unsigned char buf[4096];
	uint32_t rlen = 0;

	memcpy(buf, c->b, c->n);
	if (TPMLIB_Process(&lt_rbuf, &rlen, &lt_rbufsize, buf, c->n) != TPM_SUCCESS)
		die("libtpms: TPMLIB_Process failed");
	memcpy(resp, lt_rbuf, rlen);
	return rlen;
}

/* ---- in-process: one variant per child ----------------------------------- */

enum variant { V_LIBTPMS, V_PROCESS, V_PROCESS_SAVE };

static const char *const variant_names[] = {
	"libtpms", "libvtpm_process", "libvtpm_process_save",
};

struct inproc {
	enum variant var;
	const char *dir, *key;
	size_t n, nnv;
};

static struct vtpm *g_vtpm;
static enum variant g_var;

static size_t inproc_xfer_once(const struct tbuf *c, uint8_t *resp)
{
	size_t rlen = VTPM_MAX_PACKET;
	int err;

	if (g_var == V_LIBTPMS)
		return libtpms_xfer(c, resp);
	err = vtpm_process(g_vtpm, c->b, c->n, 0, resp, &rlen);
	if (err)
		die("%s: vtpm_process: %s", variant_names[g_var], vtpm_strerror(err));
	if (g_var == V_PROCESS_SAVE && (err = vtpm_save(g_vtpm)))
		die("%s: vtpm_save: %s", variant_names[g_var], vtpm_strerror(err));
	return rlen;
}

static size_t inproc_xfer(const struct tbuf *c, uint8_t *resp)
{
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		n = inproc_xfer_once(c, resp);
		if (rsp_rc(resp, n) != TPM2_RC_RETRY)
			break;
		retries++;
	}
	return n;
}

static void nv_define_checked(const char *who, size_t (*xfer)(const struct tbuf *, uint8_t *))
{
	struct tbuf t;
	uint8_t r[4096];
	size_t n;
	uint32_t rc;

	cmd_nv_define(&t, NV_INDEX, NV_SIZE);
	n = xfer(&t, r);
	rc = rsp_rc(r, n);
	if (rc && rc != TPM2_RC_NV_DEFINED)
		die("%s: NV_DefineSpace: TPM error 0x%x", who, rc);
}

static void get_stats(struct vtpm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	if (g_vtpm && vtpm_get_stats(g_vtpm, st))
		die("vtpm_get_stats failed");
}

static void read_self_io(struct pstat *p)
{
	struct rusage ru;

	read_pstat(getpid(), p);
	/* finer than clock ticks for ourselves */
	getrusage(RUSAGE_SELF, &ru);
	p->user_us = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
	p->sys_us = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static void inproc_child(const struct inproc *ip)
{
	const char *who = variant_names[ip->var];
	uint8_t resp[4096];
	struct tbuf su;
	double *lat;
	size_t n;

	g_var = ip->var;
	if (ip->var == V_LIBTPMS) {
		if (TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS ||
		    TPMLIB_RegisterCallbacks(&mem_callbacks) != TPM_SUCCESS ||
		    TPMLIB_MainInit() != TPM_SUCCESS)
			die("libtpms: cannot start a TPM");
		cmd_startup(&su, 0);
		n = libtpms_xfer(&su, resp);
		if (rsp_rc(resp, n))
			die("libtpms: Startup: TPM error 0x%x", rsp_rc(resp, n));
	} else {
		struct vtpm_info info = { .sz = sizeof(info) };
		/* the flags vtpmctl serve opens a vTPM with */
		VTPM_OPTS(o, .state_dir = ip->dir, .key_file = ip->key,
			  .resume_tag = "statebench:inproc",
			  .flags = VTPM_F_ROLLBACK_ANCHOR | VTPM_F_TIMING);
		int err;

		if (vtpm_state_info(ip->dir, &info) == -ENOENT &&
		    (err = vtpm_create(&o)))
			die("vtpm_create %s: %s", ip->dir, vtpm_strerror(err));
		g_vtpm = vtpm_new(&o);
		if (!g_vtpm)
			die("vtpm_new %s: %s", ip->dir, vtpm_strerror(errno));
	}
	nv_define_checked(who, inproc_xfer);

	lat = calloc(ip->n > ip->nnv ? ip->n : ip->nnv, sizeof(*lat));
	if (!lat)
		die("out of memory");
	for (int c = 0; c < C_COUNT; c++) {
		size_t cnt = count_for(c, ip->n, ip->nnv);
		struct vtpm_stats s0, s1;
		struct pstat p0, p1, acc = { 0 };
		unsigned long r0;
		char prefix[128];

		for (size_t i = 0; i < 20; i++) {	/* warm up */
			next_cmd(c);
			n = inproc_xfer(&cmds[c], resp);
			check_rsp(who, c, resp, n);
		}
		get_stats(&s0);
		read_self_io(&p0);
		r0 = retries;
		for (size_t i = 0; i < cnt; i++) {
			double t0;

			next_cmd(c);
			t0 = now_us();

			n = inproc_xfer(&cmds[c], resp);
			lat[i] = now_us() - t0;
			check_rsp(who, c, resp, n);
		}
		read_self_io(&p1);
		get_stats(&s1);
		pstat_add_delta(&acc, &p0, &p1);
		snprintf(prefix, sizeof(prefix), "R phase=inproc variant=%s cmd=%s", who,
			 cmd_names[c]);
		print_lat(prefix, lat, cnt);
		print_pstat(&acc, cnt);
		printf(" retries=%lu", retries - r0);
		if (g_vtpm) {
			double k = cnt;

			printf(" st_commands=%.3f st_failed=%.3f st_volatile_saves=%.3f"
			       " st_volatile_records=%.3f st_permanent_saves=%.3f st_tpm_us=%.3f st_marshal_us=%.3f"
			       " st_crypto_us=%.3f st_io_us=%.3f st_bytes_volatile=%.1f"
			       " st_bytes_permanent=%.1f",
			       (s1.commands - s0.commands) / k, (s1.failed - s0.failed) / k,
			       (s1.volatile_saves - s0.volatile_saves) / k,
			       (s1.volatile_records - s0.volatile_records) / k,
			       (s1.permanent_saves - s0.permanent_saves) / k,
			       (s1.ns_tpm - s0.ns_tpm) / k / 1e3,
			       (s1.ns_marshal - s0.ns_marshal) / k / 1e3,
			       (s1.ns_crypto - s0.ns_crypto) / k / 1e3,
			       (s1.ns_io - s0.ns_io) / k / 1e3,
			       (s1.bytes_volatile - s0.bytes_volatile) / k,
			       (s1.bytes_permanent - s0.bytes_permanent) / k);
		}
		printf("\n");
		fflush(stdout);
	}
	if (g_vtpm) {
		struct vtpm_info info = { .sz = sizeof(info) };

		vtpm_free(g_vtpm);
		g_vtpm = NULL;
		if (vtpm_state_info(ip->dir, &info) == 0)
			printf("R phase=info variant=%s permanent_size=%u volatile_size=%u"
			       " encrypted=%d\n", who, info.permanent_size, info.volatile_size,
			       info.encrypted);
	} else {
		TPMLIB_Terminate();
	}
	fflush(stdout);
	exit(0);
}

static int run_inproc(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "n", required_argument, NULL, 'n' },
		{ "nv", required_argument, NULL, 'v' },
		{ 0 },
	};
	struct inproc ip = { .n = 10000, .nnv = 300 };
	int c, fails = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
		switch (c) {
		case 'd': ip.dir = optarg; break;
		case 'k': ip.key = optarg; break;
		case 'n': ip.n = strtoul(optarg, NULL, 10); break;
		case 'v': ip.nnv = strtoul(optarg, NULL, 10); break;
		default: die("inproc: bad option");
		}
	}
	if (!ip.dir || !ip.n || !ip.nnv)
		die("inproc: need --dir (and --key for an encrypted vTPM)");
	for (int v = V_LIBTPMS; v <= V_PROCESS_SAVE; v++) {
		int status;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			ip.var = v;
			inproc_child(&ip);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "statebench: in-process variant %s failed\n",
				variant_names[v]);
			fails++;
		}
	}
	/* its files and its keyring anchor */
	vtpm_state_destroy(ip.dir);
	return fails ? 1 : 0;
}

/* ---- a bare durable write: the yardstick of NV writes --------------------- */

struct bare {
	int dfd;
	char path[4096];
	uint8_t *blob;
	size_t size;
	unsigned long i;
};

static void bare_open(struct bare *b, const char *dir, size_t size)
{
	b->size = size;
	b->blob = malloc(size);
	if (!b->blob)
		die("out of memory");
	for (size_t i = 0; i < size; i++)
		b->blob[i] = rand();
	snprintf(b->path, sizeof(b->path), "%s/baseline.blob", dir);
	b->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dfd < 0)
		die("%s: %s", dir, strerror(errno));
}

/* in place: open, pwrite, fsync(file), close, fsync(dir); microseconds */
static double bare_write(struct bare *b)
{
	double t0 = now_us();
	int fd = open(b->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || pwrite(fd, b->blob, b->size, 0) != (ssize_t)b->size || fsync(fd) ||
	    close(fd) || fsync(b->dfd))
		die("baseline write %s: %s", b->path, strerror(errno));
	t0 = now_us() - t0;
	b->blob[b->i++ % b->size] ^= 1;
	return t0;
}

static void bare_close(struct bare *b)
{
	unlink(b->path);
	close(b->dfd);
	free(b->blob);
}

/* ---- over the sockets ---------------------------------------------------- */

enum kind { K_VTPM, K_SWTPM };

struct target {
	const char *name;
	enum kind kind;
	char sock[108], log[4096];
	char **argv;
	void (*serve)(struct target *t);	/* forked instead of exec'd */
	pid_t pid;
	int fd;
	uint32_t seq;
};

/* --pin: where the client and the servers run. -1: anywhere. */
static int pin_client = -1, pin_server = -1;

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

static void spawn(struct target *t)
{
	int lfd;

	unlink(t->sock);
	lfd = open(t->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lfd < 0)
		die("%s: %s", t->log, strerror(errno));
	t->pid = fork();
	if (t->pid < 0)
		die("fork: %s", strerror(errno));
	if (t->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		pin_to(pin_server);
		if (t->serve) {
			t->serve(t);
			_exit(0);
		}
		execvp(t->argv[0], t->argv);
		fprintf(stderr, "statebench: exec %s: %s\n", t->argv[0], strerror(errno));
		_exit(127);
	}
	close(lfd);
}

/* Connect as soon as the server listens; die if it exits first. */
static void connect_wait(struct target *t, double timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double give_up = now_us() + timeout_s * 1e6;
	int type = t->kind == K_VTPM ? SOCK_SEQPACKET : SOCK_STREAM;

	if (strlen(t->sock) >= sizeof(sa.sun_path))
		die("socket path too long: %s", t->sock);
	strcpy(sa.sun_path, t->sock);
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 };
		int status;

		t->fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (t->fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return;
		close(t->fd);
		t->fd = -1;
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			die("%s exited (status 0x%x) before it listened on %s; see %s",
			    t->name, status, t->sock, t->log);
		}
		if (now_us() > give_up)
			die("%s did not listen on %s within %.0f s; see %s", t->name,
			    t->sock, timeout_s, t->log);
		nanosleep(&ts, NULL);
	}
}

static void wait_readable(struct target *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, 60 * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		die("%s: no answer within 60 s", t->name);
	if (r < 0)
		die("%s: poll: %s", t->name, strerror(errno));
}

static void read_full(struct target *t, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r;

		wait_readable(t);
		r = read(t->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s: connection lost (%s); see %s", t->name,
			    r ? strerror(errno) : "EOF", t->log);
		p += r;
		n -= r;
	}
}

static size_t xfer_once(struct target *t, const struct tbuf *c, uint8_t *resp)
{
	if (t->kind == K_VTPM) {
		uint8_t buf[sizeof(struct xen_tpmback_msg) + XEN_TPMBACK_MAX_PACKET + 64];
		struct xen_tpmback_msg *m = (void *)buf;
		ssize_t r;

		memset(m, 0, sizeof(*m));
		m->type = XEN_TPMBACK_MSG_CMD;
		m->seq = ++t->seq;
		m->len = c->n;
		memcpy(buf + sizeof(*m), c->b, c->n);
		if (send(t->fd, buf, sizeof(*m) + c->n, 0) != (ssize_t)(sizeof(*m) + c->n))
			die("%s: send: %s", t->name, strerror(errno));
		wait_readable(t);
		r = recv(t->fd, buf, sizeof(buf), 0);
		if (r <= 0)
			die("%s: connection lost (%s); see %s", t->name,
			    r ? strerror(errno) : "EOF", t->log);
		if ((size_t)r < sizeof(*m) || m->type != XEN_TPMBACK_MSG_RSP ||
		    m->seq != t->seq || m->len != r - sizeof(*m) || m->len > 4096)
			die("%s: bad response message (type %u seq %u/%u len %u, %zd bytes)",
			    t->name, m->type, m->seq, t->seq, m->len, r);
		memcpy(resp, buf + sizeof(*m), m->len);
		return m->len;
	} else {
		uint32_t len;
		size_t off = 0;

		while (off < c->n) {
			ssize_t w = write(t->fd, c->b + off, c->n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("%s: write: %s", t->name, strerror(errno));
			off += w;
		}
		read_full(t, resp, 10);
		len = be32(resp + 2);
		if (len < 10 || len > 4096)
			die("%s: bad response size %u", t->name, len);
		read_full(t, resp + 10, len - 10);
		return len;
	}
}

static size_t sock_xfer(struct target *t, const struct tbuf *c, uint8_t *resp)
{
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		n = xfer_once(t, c, resp);
		if (rsp_rc(resp, n) != TPM2_RC_RETRY)
			break;
		retries++;
	}
	return n;
}

static struct target *cur_target;

static size_t cur_xfer(const struct tbuf *c, uint8_t *resp)
{
	return sock_xfer(cur_target, c, resp);
}

/* Stop a server and reap it: vtpmctl sees EOF (the instance is gone) and
 * exits by itself; swtpm gets SIGTERM. */
static void stop(struct target *t)
{
	double give_up;
	int status;

	if (t->kind == K_SWTPM && t->fd >= 0 && t->pid > 0) {
		/* an orderly TPM shutdown first, as vtpmctl does on EOF: a
		 * TPM killed without one counts a dictionary-attack failure
		 * at its next start, and repeated runs end in lockout */
		struct tbuf sd;
		uint8_t r[4096];

		tb_start(&sd, TPM2_ST_NO_SESSIONS, 0x145);
		tb_u16(&sd, 0);		/* TPM_SU_CLEAR */
		tb_end(&sd);
		xfer_once(t, &sd, r);
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->pid <= 0)
		return;
	if (t->kind == K_SWTPM)
		kill(t->pid, SIGTERM);
	give_up = now_us() + 20e6;
	for (;;) {
		struct timespec ts = { 0, 1000 * 1000 };
		pid_t r = waitpid(t->pid, &status, WNOHANG);

		if (r == t->pid)
			break;
		if (r < 0)
			die("waitpid %s: %s", t->name, strerror(errno));
		if (now_us() > give_up) {
			fprintf(stderr, "statebench: %s (pid %d) did not exit; killing it\n",
				t->name, (int)t->pid);
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			break;
		}
		nanosleep(&ts, NULL);
	}
	t->pid = 0;
}

static struct target *all_targets[2];

static void cleanup_targets(void)
{
	for (int i = 0; i < 2; i++) {
		struct target *t = all_targets[i];

		if (t && t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, NULL, 0);
			t->pid = 0;
		}
	}
}

/* ---- the transport floor: servers that answer without a TPM ------------- */

/* a GetRandom(16) answer: header, TPM2B of 16 bytes */
static const uint8_t canned_rsp[28] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static int echo_listen(struct target *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, c;

	strcpy(sa.sun_path, t->sock);
	fd = socket(AF_UNIX, (t->kind == K_VTPM ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		_exit(1);
	c = accept(fd, NULL, NULL);
	close(fd);
	unlink(t->sock);
	if (c < 0)
		_exit(1);
	return c;
}

/* one thread: recv a CMD, send the RSP */
static void echo_seqpacket(struct target *t)
{
	uint8_t buf[sizeof(struct xen_tpmback_msg) + XEN_TPMBACK_MAX_PACKET];
	struct xen_tpmback_msg *m = (void *)buf;
	int c = echo_listen(t);
	ssize_t n;

	while ((n = recv(c, buf, sizeof(buf), 0)) > 0) {
		m->type = XEN_TPMBACK_MSG_RSP;
		m->len = sizeof(canned_rsp);
		memcpy(buf + sizeof(*m), canned_rsp, sizeof(canned_rsp));
		if (send(c, buf, sizeof(*m) + sizeof(canned_rsp), 0) < 0)
			break;
	}
}

/* as vtpmctl serve: the main thread polls the socket and hands each
 * command to a worker thread over a pipe; the worker answers over another */
static int ew_to[2], ew_from[2];
static uint8_t ew_buf[sizeof(struct xen_tpmback_msg) + XEN_TPMBACK_MAX_PACKET];

static void *echo_worker(void *arg)
{
	struct xen_tpmback_msg *m = (void *)ew_buf;
	char op;

	(void)arg;
	while (read(ew_to[0], &op, 1) == 1 && op == 'c') {
		m->type = XEN_TPMBACK_MSG_RSP;
		m->len = sizeof(canned_rsp);
		memcpy(ew_buf + sizeof(*m), canned_rsp, sizeof(canned_rsp));
		if (write(ew_from[1], "d", 1) != 1)
			break;
	}
	return NULL;
}

static void echo_seqpacket_thread(struct target *t)
{
	int c = echo_listen(t);
	pthread_t th;

	if (pipe(ew_to) || pipe(ew_from) || pthread_create(&th, NULL, echo_worker, NULL))
		_exit(1);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c, .events = POLLIN },
			{ .fd = ew_from[0], .events = POLLIN },
		};
		char d;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents & POLLIN) {
			if (read(ew_from[0], &d, 1) != 1 ||
			    send(c, ew_buf, sizeof(struct xen_tpmback_msg) + sizeof(canned_rsp), 0) < 0)
				break;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			if (recv(c, ew_buf, sizeof(ew_buf), 0) <= 0)
				break;
			if (write(ew_to[1], "c", 1) != 1)
				break;
		}
	}
	_exit(0);
}

/* as swtpm's data socket: a stream, header then the rest */
static void echo_stream(struct target *t)
{
	uint8_t buf[4096];
	int c = echo_listen(t);

	for (;;) {
		size_t got = 0, want = 10;

		while (got < want) {
			ssize_t n = read(c, buf + got, want - got);

			if (n <= 0)
				return;
			got += n;
			if (got == 10)
				want = be32(buf + 2) <= sizeof(buf) ? be32(buf + 2) : 10;
		}
		if (write(c, canned_rsp, sizeof(canned_rsp)) != sizeof(canned_rsp))
			return;
	}
}

static void run_floor(const char *run, const char *pin, size_t n)
{
	struct target fl[3] = {
		{ .name = "echo_seqpacket", .kind = K_VTPM, .serve = echo_seqpacket },
		{ .name = "echo_seqpacket_thread", .kind = K_VTPM, .serve = echo_seqpacket_thread },
		{ .name = "echo_stream", .kind = K_SWTPM, .serve = echo_stream },
	};
	double *lat = calloc(n, sizeof(double));
	uint8_t resp[4096];

	if (!lat)
		die("out of memory");
	for (int i = 0; i < 3; i++) {
		struct target *t = &fl[i];
		char prefix[160];

		t->fd = -1;
		snprintf(t->sock, sizeof(t->sock), "%s/f%d.sock", run, i);
		snprintf(t->log, sizeof(t->log), "%s/floor.log", run);
		spawn(t);
		connect_wait(t, 10);
		for (size_t k = 0; k < n + 100; k++) {
			double t0 = now_us();
			size_t rl = xfer_once(t, &cmds[C_GETRANDOM], resp);

			if (k >= 100)
				lat[k - 100] = now_us() - t0;
			check_rsp(t->name, C_GETRANDOM, resp, rl);
		}
		stop(t);
		snprintf(prefix, sizeof(prefix), "R phase=floor pin=%s target=%s cmd=GetRandom",
			 pin, t->name);
		print_lat(prefix, lat, n);
		printf("\n");
	}
	free(lat);
}

static int run_sock(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vtpmctl", required_argument, NULL, 'b' },
		{ "state-root", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "swtpm", required_argument, NULL, 'w' },
		{ "swtpm-dir", required_argument, NULL, 'W' },
		{ "run", required_argument, NULL, 'r' },
		{ "n", required_argument, NULL, 'n' },
		{ "nv", required_argument, NULL, 'v' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "starts", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'p' },
		{ "nvbase-dir", required_argument, NULL, 'B' },
		{ 0 },
	};
	const char *vtpmctl = NULL, *root = NULL, *key = NULL, *uuid = NULL;
	const char *swtpm = "swtpm", *swdir = NULL, *run = NULL, *pin = "none";
	const char *nvbase_dir = NULL;
	size_t n = 10000, nnv = 300, chunk = 250, starts = 10, maxn;
	static char sw_state[4200], sw_server[200], sw_ctrl[200];
	struct target v = { .name = "vtpmctl", .kind = K_VTPM, .fd = -1, .seq = 100 };
	struct target w = { .name = "swtpm", .kind = K_SWTPM, .fd = -1 };
	struct target *tg[2] = { &v, &w };
	double *lat[2], *nb_lat = NULL;
	struct bare nb;
	size_t nb_done = 0;
	uint8_t resp[4096];
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
		switch (c) {
		case 'b': vtpmctl = optarg; break;
		case 's': root = optarg; break;
		case 'k': key = optarg; break;
		case 'u': uuid = optarg; break;
		case 'w': swtpm = optarg; break;
		case 'W': swdir = optarg; break;
		case 'r': run = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'v': nnv = strtoul(optarg, NULL, 10); break;
		case 'c': chunk = strtoul(optarg, NULL, 10); break;
		case 'S': starts = strtoul(optarg, NULL, 10); break;
		case 'p': pin = optarg; break;
		case 'B': nvbase_dir = optarg; break;
		default: die("sock: bad option");
		}
	}
	if (!vtpmctl || !root || !uuid || !swdir || !run || !n || !nnv || !chunk)
		die("sock: need --vtpmctl --state-root --uuid --swtpm-dir --run");
	/* none: the scheduler's choice; same: client and server share CPU 0
	 * (a wake-up is a context switch); split: client on CPU 0, server on
	 * CPU 1 (every wake-up crosses CPUs) */
	if (!strcmp(pin, "same"))
		pin_client = pin_server = 0;
	else if (!strcmp(pin, "split"))
		pin_client = 0, pin_server = 1;
	else if (strcmp(pin, "none"))
		die("--pin none|same|split");
	if (pin_server >= sysconf(_SC_NPROCESSORS_ONLN))
		die("--pin %s needs 2 CPUs", pin);
	pin_to(pin_client);
	if (snprintf(v.sock, sizeof(v.sock), "%s/v.sock", run) >= (int)sizeof(v.sock) ||
	    snprintf(w.sock, sizeof(w.sock), "%s/s.sock", run) >= (int)sizeof(w.sock) ||
	    strlen(run) > 90)
		die("--run %s: too long for a unix socket path", run);
	snprintf(v.log, sizeof(v.log), "%s/vtpmctl.log", run);
	snprintf(w.log, sizeof(w.log), "%s/swtpm.log", run);
	setenv("VTPM_STATE_DIR", root, 1);
	setenv("VTPM_KEY_FILE", key ? key : "", 1);
	{
		static char *va[8];

		va[0] = (char *)vtpmctl;
		va[1] = "serve";
		va[2] = "--socket";
		va[3] = v.sock;
		va[4] = "--uuid";
		va[5] = (char *)uuid;
		va[6] = "--timing";
		va[7] = NULL;
		v.argv = va;
	}
	{
		static char *wa[12];

		snprintf(sw_state, sizeof(sw_state), "dir=%s", swdir);
		snprintf(sw_server, sizeof(sw_server), "type=unixio,path=%s", w.sock);
		snprintf(sw_ctrl, sizeof(sw_ctrl), "type=unixio,path=%s/s.ctrl", run);
		wa[0] = (char *)swtpm;
		wa[1] = "socket";
		wa[2] = "--tpm2";
		wa[3] = "--tpmstate";
		wa[4] = sw_state;
		wa[5] = "--server";
		wa[6] = sw_server;
		wa[7] = "--ctrl";
		wa[8] = sw_ctrl;
		wa[9] = "--flags";
		wa[10] = "not-need-init,startup-clear";
		wa[11] = NULL;
		w.argv = wa;
	}
	all_targets[0] = &v;
	all_targets[1] = &w;
	atexit(cleanup_targets);
	signal(SIGPIPE, SIG_IGN);

	maxn = n > nnv ? n : nnv;
	for (int i = 0; i < 2; i++) {
		lat[i] = calloc(maxn, sizeof(double));
		if (!lat[i])
			die("out of memory");
		spawn(tg[i]);
		connect_wait(tg[i], 30);
		cur_target = tg[i];
		nv_define_checked(tg[i]->name, cur_xfer);
		printf("R phase=sock_server target=%s pid=%d\n", tg[i]->name, (int)tg[i]->pid);
	}

	if (nvbase_dir) {
		/* the permanent state's size, as vtpm_state_info() reports it */
		struct vtpm_info info = { .sz = sizeof(info) };
		char dir[4200];

		snprintf(dir, sizeof(dir), "%s/%s", root, uuid);
		if (vtpm_state_info(dir, &info) || !info.permanent_size)
			die("cannot read the permanent state's size of %s", dir);
		bare_open(&nb, nvbase_dir, info.permanent_size);
		nb_lat = calloc(nnv, sizeof(double));
		if (!nb_lat)
			die("out of memory");
		for (int k = 0; k < 5; k++)
			bare_write(&nb);
	}
	for (int cc = 0; cc < C_COUNT; cc++) {
		size_t cnt = count_for(cc, n, nnv), done[2] = { 0, 0 };
		/* NV writes are few and slow: finer chunks, more alternation */
		size_t ch = cc == C_NVWRITE && chunk > 25 ? 25 : chunk;
		struct pstat acc[2] = { { 0 } };
		unsigned long rt[2] = { 0, 0 };
		int first = 0;

		for (int i = 0; i < 2; i++)
			for (int k = 0; k < 10; k++) {	/* warm up */
				size_t rl;

				next_cmd(cc);
				rl = sock_xfer(tg[i], &cmds[cc], resp);

				check_rsp(tg[i]->name, cc, resp, rl);
			}
		/* alternate chunks, so that a neighbour's load hits both alike */
		while (done[0] < cnt || done[1] < cnt) {
			for (int j = 0; j < 2; j++) {
				int i = (first + j) % 2;
				size_t m = cnt - done[i] < ch ? cnt - done[i] : ch;
				struct pstat p0, p1;

				if (!m)
					continue;
				read_pstat(tg[i]->pid, &p0);
				rt[i] -= retries;
				for (size_t k = 0; k < m; k++) {
					double t0;
					size_t rl;

					next_cmd(cc);
					t0 = now_us();
					rl = sock_xfer(tg[i], &cmds[cc], resp);

					lat[i][done[i] + k] = now_us() - t0;
					check_rsp(tg[i]->name, cc, resp, rl);
				}
				rt[i] += retries;
				read_pstat(tg[i]->pid, &p1);
				pstat_add_delta(&acc[i], &p0, &p1);
				done[i] += m;
			}
			/* NV writes: the bare durable write in the same rhythm,
			 * so that the disk's mood hits all three alike */
			if (cc == C_NVWRITE && nvbase_dir) {
				size_t m = cnt - nb_done < ch ? cnt - nb_done : ch;

				for (size_t k = 0; k < m; k++)
					nb_lat[nb_done + k] = bare_write(&nb);
				nb_done += m;
			}
			first ^= 1;
		}
		if (cc == C_NVWRITE && nvbase_dir) {
			printf("R phase=nvbase pin=%s variant=inplace size=%zu", pin, nb.size);
			print_lat("", nb_lat, nb_done);
			printf("\n");
			bare_close(&nb);
		}
		for (int i = 0; i < 2; i++) {
			char prefix[128];

			snprintf(prefix, sizeof(prefix), "R phase=sock pin=%s target=%s cmd=%s",
				 pin, tg[i]->name, cmd_names[cc]);
			print_lat(prefix, lat[i], cnt);
			print_pstat(&acc[i], cnt);
			printf(" retries=%lu\n", rt[i]);
		}
		fflush(stdout);
	}
	for (int i = 0; i < 2; i++)
		stop(tg[i]);

	/* what the transports cost without any TPM behind them */
	run_floor(run, pin, n < 5000 ? n : 5000);

	/* start-to-first-answer: fork/exec until the first GetRandom answer */
	if (starts) {
		double *st[2];

		for (int i = 0; i < 2; i++)
			snprintf(tg[i]->log, sizeof(tg[i]->log), "%s/%s-starts.log", run,
				 tg[i]->name);

		for (int i = 0; i < 2; i++) {
			st[i] = calloc(starts, sizeof(double));
			if (!st[i])
				die("out of memory");
		}
		for (size_t r = 0; r < starts + 1; r++) {
			for (int j = 0; j < 2; j++) {
				int i = (r + j) % 2;
				double t0 = now_us(), dt;
				size_t rl;

				spawn(tg[i]);
				connect_wait(tg[i], 30);
				rl = sock_xfer(tg[i], &cmds[C_GETRANDOM], resp);
				dt = now_us() - t0;
				check_rsp(tg[i]->name, C_GETRANDOM, resp, rl);
				stop(tg[i]);
				if (r)	/* the first round warms the page cache */
					st[i][r - 1] = dt;
			}
		}
		for (int i = 0; i < 2; i++) {
			char prefix[128];

			snprintf(prefix, sizeof(prefix), "R phase=start pin=%s target=%s cmd=start",
				 pin, tg[i]->name);
			print_lat(prefix, st[i], starts);
			printf("\n");
		}
	}
	fflush(stdout);
	return 0;
}

/* ---- a bare durable write ------------------------------------------------ */

static int run_nvbase(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "n", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *dir = NULL;
	size_t size = 0, n = 300;
	char path[4096], tmp[4096];
	double *lat;
	uint8_t *blob;
	int c, dfd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		default: die("nvbase: bad option");
		}
	}
	if (!dir || !size || !n)
		die("nvbase: need --dir and --size");
	blob = malloc(size);
	lat = calloc(n, sizeof(*lat));
	if (!blob || !lat)
		die("out of memory");
	for (size_t i = 0; i < size; i++)
		blob[i] = rand();
	snprintf(path, sizeof(path), "%s/baseline.blob", dir);
	snprintf(tmp, sizeof(tmp), "%s/baseline.blob.tmp", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die("%s: %s", dir, strerror(errno));

	/* in place: open, pwrite, fsync(file), close, fsync(dir) */
	{
		struct bare b;

		bare_open(&b, dir, size);
		for (size_t i = 0; i < n + 5; i++) {
			double dt = bare_write(&b);

			if (i >= 5)
				lat[i - 5] = dt;
		}
		bare_close(&b);
	}
	printf("R phase=nvbase pin=none variant=inplace size=%zu", size);
	print_lat("", lat, n);
	printf("\n");

	/* replace: write a temp file, fsync, rename over, fsync(dir) */
	for (size_t i = 0; i < n + 5; i++) {
		double t0 = now_us();
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, blob, size) != (ssize_t)size || fsync(fd) ||
		    close(fd) || rename(tmp, path) || fsync(dfd))
			die("baseline replace %s: %s", path, strerror(errno));
		if (i >= 5)
			lat[i - 5] = now_us() - t0;
		blob[i % size] ^= 1;
	}
	printf("R phase=nvbase pin=none variant=replace size=%zu", size);
	print_lat("", lat, n);
	printf("\n");
	unlink(path);
	close(dfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: statebench inproc|sock|nvbase OPTIONS (see the source)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	build_cmds();
	if (!strcmp(argv[1], "inproc"))
		return run_inproc(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sock"))
		return run_sock(argc - 1, argv + 1);
	if (!strcmp(argv[1], "nvbase"))
		return run_nvbase(argc - 1, argv + 1);
	fprintf(stderr, "statebench: unknown mode %s\n", argv[1]);
	return 2;
}
