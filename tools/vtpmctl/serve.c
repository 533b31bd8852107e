// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl serve: one process serves one vTPM (libtpms holds one TPM per
 * process; the process is also the isolation boundary).
 *
 *   attach (kernel: ATTACH ioctl, waiting for the instance; tests: accept
 *   on a unix socket) -> uuid -> open the vTPM -> loop:
 *     CMD     -> run through libvtpm, which saves the state the answer
 *                implies before it returns; the main thread runs it and
 *                answers, except commands that generate keys (the only
 *                ones libtpms can cancel): a worker thread runs those
 *                while the main thread listens for CANCEL
 *     CANCEL  -> vtpm_cancel() if it names the running command
 *     EOF     -> the instance is gone for good (the guest is gone): an
 *                orderly TPM power-off, exit 0
 *     SIGTERM -> finish the running command, save the state, exit 0
 *                (a restart for the same guest resumes where it stopped)
 *
 * A vTPM uuid the kernel names but that was never created is not made up
 * on the spot: serve logs it once and answers every command with a TPM
 * failure response until the instance goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "libvtpm/libvtpm.h"
#include "measure.h"
#include "transport.h"
#include "vtpmctl.h"

#define HDR_LEN sizeof(struct xen_tpmback_msg)

struct server {
	struct transport t;
	struct vtpm *vtpm;		/* NULL: answer with failures */
	char dir[4096], tag[128];	/* what vtpm_new() is given */
	bool reopen;			/* the open failed for a reason that passes */
	double next_open;		/* not before (s, monotonic) */
	char uuid[37];
	/* the command in flight, shared with the worker */
	pthread_t worker;
	int to_worker[2], from_worker[2];
	uint8_t cmd[XEN_TPMBACK_MAX_PACKET];
	size_t cmd_len;
	unsigned int locality;
	uint32_t seq;
	uint8_t out[HDR_LEN + XEN_TPMBACK_MAX_PACKET];	/* RSP message */
	size_t out_len;
	int busy;
	uint64_t commands, failed, stale;
	double busy_since;
	struct lease me;		/* our serving lease (shared storage) */
	bool leased, lease_lost;
	bool lease_pending;		/* this host's old lease, to rewrite */
	double next_beat;
	/* the guest's session (session.c): kernel instances only */
	struct session sess;
	bool sessions;			/* tracked: a Xen domain behind it */
	bool session_live;		/* its vTPM opened: the session file is ours */
	bool decided, refuse;		/* refuse: an old save image */
	bool token_pending;		/* epoch not yet in the libxl config */
	double next_token, token_until;
	char rec[48];			/* suspend record to resume, if any */
	bool end_asked;			/* why the domain stopped, asked at EOF */
	int end_r, end_reason;
};

static struct {
	const char *uuid, *socket, *device, *pidfile, *user;
	long domid, devid;
	unsigned int wait_s;
	bool daemonize, syslog, supervise, fail_unknown, no_sandbox, timing;
	bool set_user;			/* give up uid 0 for uid/gid */
	uid_t uid;
	gid_t gid;
} so = { .domid = -1, .devid = -1, .wait_s = 30 };

#define DEFAULT_USER "vtpm"

static bool pidfile_written;

static void serve_usage(void)
{
	printf("Usage: %s serve --domid D --devid N [OPTIONS]\n"
	       "       %s serve --uuid UUID [OPTIONS]\n"
	       "       %s serve --socket PATH --uuid UUID [--domid D --devid N] [OPTIONS]\n\n"
	       "Serve one vTPM: attach to its xen-tpmback instance (by frontend\n"
	       "domid/devid or by uuid; the uuid comes from the instance) and\n"
	       "answer the guest's TPM commands until the instance is removed.\n\n"
	       "Options:\n"
	       "  --domid D, --devid N  the backend instance vtpm-D-N\n"
	       "  --uuid UUID           the instance serving this vTPM\n"
	       "  --socket PATH         listen on a unix socket speaking the xen-tpmback\n"
	       "                        message format instead (tests; needs --uuid)\n"
	       "  --device PATH         the character device (default %s)\n"
	       "  --wait SECONDS        wait this long for the instance (default 30, 0 = forever)\n"
	       "  --daemonize           detach (setsid, fds closed), log to syslog\n"
	       "  --pidfile FILE        write the server's pid there\n"
	       "  --instance vtpm-D-N   same as --domid D --devid N (udev/systemd name)\n"
	       "  --supervise           restart the server if it is killed by a signal\n"
	       "                        (SIGKILL, a crash); the pidfile names the supervisor\n"
	       "  --fail-unknown        with --uuid: a vTPM that does not exist is served\n"
	       "                        as the kernel path does (TPM failures), not refused\n"
	       "  --syslog              log to syslog instead of stderr\n"
	       "  --timing              time the state path's stages; logged at exit (a\n"
	       "                        clock read is a system call on some hosts)\n"
	       MEASURE_USAGE
	       "  --user NAME           serve as this user once attached (default "DEFAULT_USER";\n"
	       "                        a name or a numeric uid; root or 0: stay uid 0, not\n"
	       "                        recommended)\n"
	       "  --no-sandbox          keep capabilities and uid 0, no seccomp filter\n"
	       "                        (debugging; by default the server confines itself\n"
	       "                        once attached)\n"
	       "  -s, --state-dir DIR   state root (default %s)\n"
	       "  -k, --key-file FILE   state key\n"
	       "      --run-dir DIR     volatile state of running guests (default /run/vtpm)\n",
	       bin_name, bin_name, bin_name, DEFAULT_DEVICE, DEFAULT_STATE_DIR);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_long(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "domid",	required_argument,	NULL, 'D' },
		{ "devid",	required_argument,	NULL, 'N' },
		{ "uuid",	required_argument,	NULL, 'u' },
		{ "socket",	required_argument,	NULL, 'S' },
		{ "device",	required_argument,	NULL, 'E' },
		{ "wait",	required_argument,	NULL, 'w' },
		{ "daemonize",	no_argument,		NULL, 'b' },
		{ "pidfile",	required_argument,	NULL, 'P' },
		{ "syslog",	no_argument,		NULL, 'L' },
		{ "instance",	required_argument,	NULL, 'I' },
		{ "supervise",	no_argument,		NULL, 'R' },
		{ "fail-unknown", no_argument,		NULL, 'F' },
		{ "timing",	no_argument,		NULL, 'T' },
		MEASURE_LONGOPTS,
		{ "no-sandbox",	no_argument,		NULL, 'X' },
		{ "user",	required_argument,	NULL, 'Y' },
		{ 0 },
	};
	long v;
	int c;

	so.device = getenv("VTPM_DEVICE") ? getenv("VTPM_DEVICE") : DEFAULT_DEVICE;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "u:", opts, NULL)) >= 0) {
		if (c == 'h') {
			serve_usage();
			return EXIT_OK;
		}
		if (common_opt(c, optarg) || measure_opt(c, optarg))
			continue;
		switch (c) {
		case 'D':
			if (parse_long(optarg, 0x7fef, &so.domid)) {
				p_usage_err("bad domid \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'N':
			if (parse_long(optarg, 0x7fffffff, &so.devid)) {
				p_usage_err("bad devid \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'u':
			so.uuid = optarg;
			break;
		case 'S':
			so.socket = optarg;
			break;
		case 'E':
			so.device = optarg;
			break;
		case 'w':
			if (parse_long(optarg, 86400, &v)) {
				p_usage_err("bad --wait \"%s\"", optarg);
				return EXIT_USAGE;
			}
			so.wait_s = v;
			break;
		case 'b':
			so.daemonize = true;
			break;
		case 'P':
			so.pidfile = optarg;
			break;
		case 'L':
			so.syslog = true;
			break;
		case 'I': {
			/* vtpm-<domid>-<devid>: the udev KERNEL name / unit instance */
			char tail;

			if (sscanf(optarg, "vtpm-%ld-%ld%c", &so.domid, &so.devid, &tail) != 2 ||
			    so.domid < 0 || so.domid > 0x7fef || so.devid < 0) {
				p_usage_err("bad instance \"%s\" (want vtpm-DOMID-DEVID)", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'R':
			so.supervise = true;
			break;
		case 'F':
			so.fail_unknown = true;
			break;
		case 'T':
			so.timing = true;
			break;
		case 'X':
			so.no_sandbox = true;
			break;
		case 'Y':
			so.user = optarg;
			break;
		default:
			p_usage_err("bad option \"%s\" for \"serve\", try \"%s serve help\"",
				    argv[optind - 1], bin_name);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (!strcmp(argv[optind], "help")) {
			serve_usage();
			return EXIT_OK;
		}
		p_usage_err("unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if ((so.domid < 0) != (so.devid < 0)) {
		p_usage_err("--domid and --devid go together");
		return EXIT_USAGE;
	}
	if (so.socket && !so.uuid) {
		p_usage_err("--socket needs --uuid");
		return EXIT_USAGE;
	}
	if (!so.socket && (so.domid < 0) == !so.uuid) {
		p_usage_err("give --domid D --devid N, or --uuid UUID");
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- daemon bits --------------------------------------------------------- */

static int pid_alive(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || kill(pid, 0) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	return !strncmp(comm, "vtpmctl", 7);
}

static pid_t read_pidfile(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static int write_pidfile(const char *path)
{
	char tmp[4096], dir[4096], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) || rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	pidfile_written = true;
	return 0;
}

static void remove_pidfile(void)
{
	if (pidfile_written && read_pidfile(so.pidfile) == getpid())
		unlink(so.pidfile);
}

/*
 * Detach the way a udev RUN program needs: the caller returns at once
 * (udev kills slow RUN programs and their process group), the server
 * runs on in its own session with no inherited fds. The caller returns
 * only once the pidfile is written, so a "remove" right after finds it.
 */
static int daemonize(void)
{
	int pfd[2], fd;
	char ok = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &ok, 1) != 1)
			ok = 0;
		exit(ok == 'k' ? EXIT_OK : EXIT_FAIL);
	}
	close(pfd[0]);
	if (setsid() < 0)
		_exit(EXIT_FAIL);
	pid = fork();
	if (pid < 0)
		_exit(EXIT_FAIL);
	if (pid > 0)
		_exit(EXIT_OK);
	if (chdir("/") < 0)
		_exit(EXIT_FAIL);
	umask(077);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	for (fd = 3; fd < 1024; fd++)
		if (fd != pfd[1])
			close(fd);
	if (so.pidfile && write_pidfile(so.pidfile) < 0) {
		syslog(LOG_ERR, "cannot write pidfile %s: %m", so.pidfile);
		_exit(EXIT_FAIL);
	}
	ok = 'k';
	(void)!write(pfd[1], &ok, 1);
	close(pfd[1]);
	return 0;
}

static void read_boot_id(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	snprintf(buf, size, "unknown-boot");
	if (f) {
		if (fgets(buf, size, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/*
 * --supervise: this process stays as a small supervisor and runs the
 * server in a child; a child killed by a signal (kill -9, a crash) is
 * restarted (and resumes the same TPM), a child that exits is not. At
 * most 5 restarts in 10 s. SIGTERM/SIGINT are passed on to the child.
 * Returns in the child; the supervisor exits with the child's status.
 */
static volatile sig_atomic_t sup_child, sup_stop;

static void sup_forward(int sig)
{
	sup_stop = 1;
	if (sup_child > 0)
		kill(sup_child, sig);
}

static void supervise(void)
{
	struct sigaction sa = { .sa_handler = sup_forward };
	double starts[5] = { 0 };
	int n = 0;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		int status;
		pid_t pid;

		starts[n++ % 5] = now_s();
		pid = fork();
		if (pid < 0) {
			log_msg(LOG_ERR, "supervisor: fork: %m");
			exit(EXIT_FAIL);
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			return;
		}
		sup_child = pid;
		if (sup_stop)
			kill(pid, SIGTERM);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		sup_child = 0;
		if (WIFEXITED(status) || sup_stop) {
			remove_pidfile();
			exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_OK);
		}
		log_msg(LOG_WARNING, "server pid %d killed by signal %d; restarting",
			(int)pid, WTERMSIG(status));
		if (n >= 5 && now_s() - starts[n % 5] < 10.0) {
			log_msg(LOG_ERR, "server restarted 5 times in 10 s; giving up");
			remove_pidfile();
			exit(EXIT_FAIL);
		}
		usleep(100 * 1000);
	}
}

/* ---- the command path -------------------------------------------------- */

/*
 * Run the command in s->cmd and leave the RSP message in s->out. A command
 * libvtpm could not answer (its state could not be saved, say) gets a TPM
 * failure: the guest must not see an answer the TPM might forget.
 */
static void run_command(struct server *s)
{
	struct xen_tpmback_msg *rsp = (void *)s->out;
	size_t rlen = XEN_TPMBACK_MAX_PACKET;
	int err;

	err = vtpm_process(s->vtpm, s->cmd, s->cmd_len, s->locality,
			   s->out + HDR_LEN, &rlen);
	if (err) {
		log_msg(LOG_ERR, "command seq %u failed: %s; answering TPM failure",
			s->seq, vtpm_strerror(err));
		rlen = vtpm_failure_response(s->cmd, s->cmd_len, s->out + HDR_LEN,
					     XEN_TPMBACK_MAX_PACKET);
		s->failed++;
	}
	memset(rsp, 0, HDR_LEN);
	rsp->type = XEN_TPMBACK_MSG_RSP;
	rsp->seq = s->seq;
	rsp->len = rlen;
	s->out_len = HDR_LEN + rlen;
}

/*
 * Commands during which libtpms looks at TPMLIB_CancelCommand(): those
 * that generate RSA keys. They may run for seconds; everything else takes
 * microseconds and runs in the main thread (no hand-off on the hot path).
 */
static bool cancellable(const uint8_t *c, size_t len)
{
	uint32_t code;

	if (len < 10)
		return false;
	code = (uint32_t)c[6] << 24 | c[7] << 16 | c[8] << 8 | c[9];
	if (c[0] == 0x80)		/* TPM 2.0 */
		return code == 0x131 ||	/* CreatePrimary */
		       code == 0x153 ||	/* Create */
		       code == 0x191;	/* CreateLoaded */
	return code == 0x0d ||		/* TPM_TakeOwnership */
	       code == 0x1f ||		/* TPM_CreateWrapKey */
	       code == 0x78 ||		/* TPM_CreateEndorsementKeyPair */
	       code == 0x79 ||		/* TPM_MakeIdentity */
	       code == 0x7f;		/* TPM_CreateRevocableEK */
}

static void *worker_main(void *arg)
{
	struct server *s = arg;
	char op;

	while (read(s->to_worker[0], &op, 1) == 1 && op == 'c') {
		run_command(s);
		if (write(s->from_worker[1], "d", 1) != 1)
			break;
	}
	return NULL;
}

/* errors of vtpm_new() that go away by themselves: a full or failing disk */
static bool transient(int err)
{
	switch (-err) {
	case ENOSPC: case EDQUOT: case EIO: case EROFS: case ENOMEM:
	case EMFILE: case ENFILE: case EAGAIN: case EINTR:
		return true;
	case ENOKEY:
		/* TPM mode: the host key is not unlocked yet; the same TPM is
		 * served once "manager unlock" put it into the keyring */
		return effective_key_desc() != NULL;
	}
	return false;
}

/*
 * Take the serving lease. A lease this host left (its server was killed)
 * that cannot be rewritten because the disk is full still names this
 * host, so no other host takes the vTPM: serve under it and rewrite it at
 * the next heartbeat.
 */
static int take_lease(struct server *s, struct lease *holder)
{
	int err = lease_acquire(s->uuid, &s->me, holder);

	if (!err) {
		s->leased = true;
		s->lease_pending = false;
	} else if (err != -EBUSY && transient(err) &&
		   lease_read(s->uuid, holder) == 0 && !strcmp(holder->host, s->me.host)) {
		log_msg(LOG_WARNING, "cannot rewrite this host's serving lease (%s); serving under it, retried",
			strerror(-err));
		s->lease_pending = true;
		err = 0;
	}
	s->next_beat = now_s() + lease_beat_s();
	return err;
}

/*
 * Fresh boot or resume? Decided once per server, after the lease (so the
 * source of a migration has written its suspend record), from the new
 * domain's session epoch in xenstore and the vTPM's session file (the
 * table is in session.c). The outcome is s->rec (resume that suspend
 * record), s->refuse (an old save image: never served), or neither (a
 * fresh TPM: Startup(CLEAR) and the platform's measurements).
 */
static void session_decide(struct server *s)
{
	struct session old;
	char tok[33] = "";
	bool have_old;

	if (s->decided)
		return;
	s->decided = true;
	if (so.socket)
		return;
	if (domain_xen_uuid(s->t.domid, s->sess.xen_uuid)) {
		log_msg(LOG_WARNING, "cannot read domain %u's Xen uuid from xenstore: sessions not tracked, a restored domain gets a reset TPM",
			s->t.domid);
		return;
	}
	s->sessions = true;
	/* now, not at EOF: then there is no time to load a library (a
	 * confined server's monitor loads it instead: open_vtpm()) */
	if (so.no_sandbox && domain_xc_open())
		log_msg(LOG_WARNING, "libxenctrl unavailable: a suspend will not be told from a shutdown");
	have_old = session_read(s->uuid, &old) == 0;
	if (have_old && !strcmp(old.state, "running") && !strcmp(old.tag, s->tag)) {
		s->sess = old;		/* this server, restarted */
		s->token_pending = true;
		return;
	}
	snprintf(s->sess.state, sizeof(s->sess.state), "running");
	snprintf(s->sess.tag, sizeof(s->sess.tag), "%s", s->tag);
	s->sess.domid = s->t.domid;
	s->sess.since = time(NULL);
	session_new_epoch(s->sess.epoch);
	if (domain_token(s->t.domid, s->uuid, tok)) {
		if (have_old && !strcmp(old.state, "suspended"))
			log_msg(LOG_WARNING, "vTPM %s was suspended with domain %s (session %.8s); this new domain was created, not restored: fresh TPM, that save image can no longer be restored with its TPM",
				s->uuid, old.xen_uuid, old.epoch);
		else
			log_msg(LOG_INFO, "domain %u created: fresh TPM", s->t.domid);
	} else if (!have_old || strcmp(tok, old.epoch)) {
		log_msg(LOG_ERR, "domain %u carries vTPM session %.8s, but vTPM %s is at session %.8s: a save image older than the vTPM's state (or not its latest suspend); refused, every command fails (vtpmctl(8), SESSIONS)",
			s->t.domid, tok, s->uuid, have_old ? old.epoch : "none");
		s->refuse = true;
	} else if (!strcmp(old.state, "suspended")) {
		snprintf(s->rec, sizeof(s->rec), "epoch:%s", old.epoch);
		log_msg(LOG_INFO, "domain %u restored from session %.8s (suspended by domain %d): resuming its TPM",
			s->t.domid, old.epoch, old.domid);
	} else {
		log_msg(LOG_INFO, "domain %u follows session %.8s, which %s (%s): a reboot, fresh TPM",
			s->t.domid, old.epoch,
			!strcmp(old.state, "ended") ? "ended" : "ended unseen",
			old.reason[0] ? old.reason : "?");
	}
}

/*
 * The session's epoch goes into the domain's libxl configuration, so
 * that a save image of this session carries it. libxl writes that file
 * when the domain's creation completes, after this server started:
 * retried every 0.5 s until it is there.
 */
static void session_token_tick(struct server *s)
{
	int err;

	if (!s->token_pending || now_s() < s->next_token)
		return;
	if (!s->token_until)
		s->token_until = now_s() + 300;
	err = monitor_active() ? monitor_set_token() :
	      domain_config_set_token(s->t.domid, s->sess.xen_uuid, s->uuid, s->sess.epoch);
	if (!err) {
		s->token_pending = false;
		log_msg(LOG_DEBUG, "session %.8s recorded in domain %u's configuration",
			s->sess.epoch, s->t.domid);
		return;
	}
	s->next_token = now_s() + 0.5;
	if (err != -ENOENT || now_s() > s->token_until) {
		log_msg(LOG_WARNING, "cannot record the session in domain %u's libxl configuration: %s; a save image of it will not resume its TPM",
			s->t.domid, strerror(-err));
		s->token_pending = false;
	}
}

/* The instance went away: why? A suspended domain keeps its TPM state. */
/*
 * Asked the moment the instance goes away: the domain being saved is
 * released a fraction of a second later (measured: ~0.2 s under TCG),
 * and a domain no longer there reads as a shutdown.
 */
static void session_query_end(struct server *s)
{
	if (s->end_asked)
		return;
	s->end_asked = true;
	s->end_reason = -1;
	if (!s->sessions)
		s->end_r = -ENOSYS;
	else if (monitor_active())
		s->end_r = monitor_shutdown_reason(&s->end_reason);
	else
		s->end_r = domain_shutdown_reason(s->t.domid, &s->end_reason);
}

static void session_end(struct server *s)
{
	int reason, r;

	session_query_end(s);
	r = s->end_r;
	reason = s->end_reason;
	if (r == 1 && reason == 2 /* SHUTDOWN_suspend */ && s->vtpm) {
		char rec[48];

		snprintf(rec, sizeof(rec), "epoch:%s", s->sess.epoch);
		if (!vtpm_suspend(s->vtpm, rec)) {
			log_msg(LOG_INFO, "domain %u suspended (xl save, migration): TPM state kept as suspend record of session %.8s",
				s->t.domid, s->sess.epoch);
			snprintf(s->sess.state, sizeof(s->sess.state), "suspended");
		} else {
			log_msg(LOG_ERR, "domain %u suspended, but its TPM state could not be kept (%s): a restore gets a reset TPM",
				s->t.domid, strerror(errno));
			snprintf(s->sess.state, sizeof(s->sess.state), "ended");
		}
		snprintf(s->sess.reason, sizeof(s->sess.reason), "suspend");
	} else {
		if (r == -ENOSYS && s->sessions)
			log_msg(LOG_WARNING, "libxenctrl not found: cannot tell a suspend from a shutdown; TPM powered off");
		vtpm_power_off(s->vtpm);
		snprintf(s->sess.state, sizeof(s->sess.state), "ended");
		snprintf(s->sess.reason, sizeof(s->sess.reason), "%s",
			 r == 1 || r == 0 ? shutdown_reason_name(reason) : "unknown");
		log_msg(LOG_INFO, "domain %u gone (%s): TPM powered off", s->t.domid,
			s->sess.reason);
	}
	s->vtpm = NULL;
	s->sess.since = time(NULL);
	/* a server that never opened the vTPM (refused state, wrong key,
	 * old save image) leaves the files as they were */
	if (s->session_live && session_write(s->uuid, &s->sess))
		log_msg(LOG_ERR, "cannot write the session file of vTPM %s", s->uuid);
}

static struct vtpm *open_vtpm(struct server *s)
{
	struct vtpm *v;

	session_decide(s);	/* fresh boot, resume (s->rec) or refuse */
	/*
	 * What a confined server must ask for later (monitor.c), from a
	 * process forked now: its domain and session are known, no key or
	 * seed is in memory yet.
	 */
	if (s->sessions && !so.no_sandbox && !monitor_active()) {
		int err = monitor_start(s->t.domid, s->sess.xen_uuid, s->uuid, s->sess.epoch);

		if (err)
			log_msg(LOG_WARNING, "cannot start the monitor (%s): a suspend will not be told from a shutdown",
				strerror(-err));
	}
	if (s->refuse) {
		errno = ESTALE;
		return NULL;
	}
	{
		VTPM_OPTS(o, .state_dir = s->dir, .key_file = effective_key_file(),
			  .key_desc = effective_key_desc(), .resume_tag = s->tag,
			  .flags = VTPM_F_ROLLBACK_ANCHOR |
				   (so.timing ? VTPM_F_TIMING : 0),
			  .resume_record = s->rec[0] ? s->rec : NULL);

		v = vtpm_new(&o);
	}
	if (!v && s->rec[0]) {
		int err = errno;

		log_msg(LOG_ERR, "the suspend record of session %.8s cannot be resumed (%s): refused, every command fails",
			s->sess.epoch, vtpm_strerror(-err));
		s->refuse = true;
		errno = err;
		return NULL;
	}
	/* measured boot: PCR 4/5 before the guest's first command (measure.c).
	 * A path that brings back a vTPM saved elsewhere (restore, migration)
	 * must not call it: it would take the resumed TPM for a server
	 * restarted mid-measurement and cap PCR 4/5. That is the resume of a
	 * suspend record (s->rec): the TPM the guest had, already measured. */
	if (v && !s->rec[0])
		measure_boot(v, &(struct measure_ctx){ .uuid = s->uuid, .dir = s->dir,
			     .tag = s->tag, .domid = s->t.domid, .devid = s->t.devid,
			     .xen = !so.socket });
	if (v && s->sessions) {
		/* fresh boot or resume: vtpm_new() knew which (a resume sent
		 * no Startup); from here on, this is the vTPM's session */
		if (session_write(s->uuid, &s->sess))
			log_msg(LOG_ERR, "cannot write the session file of vTPM %s", s->uuid);
		s->session_live = true;
		s->token_pending = true;
		s->next_token = 0;
	}
	return v;
}

/*
 * Which uid to serve as (--user, default "vtpm"), resolved before the
 * server detaches: /etc/passwd is out of reach once confined. A default
 * user that does not exist keeps an old install serving, as uid 0, said
 * loudly (user_missing); one named on the command line must exist.
 */
static bool user_missing;

static int resolve_user(void)
{
	const char *name = so.user ? so.user : DEFAULT_USER;
	struct passwd *pw;
	char *end;
	long v;

	so.set_user = false;
	if (so.no_sandbox || !strcmp(name, "root") || !strcmp(name, "0"))
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (pw) {
		so.uid = pw->pw_uid;
		so.gid = pw->pw_gid;
	} else if (so.user && (v = strtol(name, &end, 10)) > 0 && !*end && v < 0x7fffffff) {
		/* a bare uid, no passwd entry: its group is the same number */
		so.uid = v;
		so.gid = v;
	} else if (so.user) {
		p_err("no user \"%s\"%s%s", name, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	} else {
		user_missing = true;
		return 0;
	}
	if (so.uid == 0)
		return 0;
	if (geteuid() != 0) {
		if (geteuid() != so.uid) {
			p_err("--user %s: only root can serve as another user", name);
			return -1;
		}
		return 0;
	}
	so.set_user = true;
	return 0;
}

/* Owned by the serving uid where it is not (not following symlinks). */
static int own_one(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if ((st.st_uid == so.uid && st.st_gid == so.gid) || S_ISLNK(st.st_mode))
		return 0;
	if (lchown(path, so.uid, so.gid))
		return -errno;
	return 0;
}

/*
 * A directory and what it holds (the vTPM's own directories: flat), the
 * directory itself last: under the unit, root has no CAP_DAC_OVERRIDE to
 * list a 0700 directory that is no longer its own
 */
static int own_tree(const char *dir, const char *prefix)
{
	char path[4096];
	struct dirent *e;
	DIR *d;
	int err = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (prefix && strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		if (e->d_type == DT_DIR && !prefix)
			err = own_tree(path, NULL);
		else
			err = own_one(path);
	}
	closedir(d);
	if (!err && !prefix)
		err = own_one(dir);
	return err;
}

/* A shared parent (state root, run root): searchable by the group, root's */
static int group_search(const char *dir)
{
	struct stat st;

	if (stat(dir, &st))
		return -errno;
	if (st.st_uid == so.uid)
		return 0;
	if (st.st_gid != so.gid && chown(dir, (uid_t)-1, so.gid))
		return -errno;
	if (!(st.st_mode & S_IXGRP) && chmod(dir, (st.st_mode & 07777) | S_IXGRP))
		return -errno;
	return 0;
}

/*
 * Before the uid changes: the vTPM's state directory, its volatile state
 * directory and its claim and lease lock (in the shared claims directory,
 * which the serving uid gets to add and remove them) become the serving
 * uid's, and the two roots searchable by its group. Other vTPMs'
 * directories stay as they are: Landlock keeps a server out of them.
 */
static int give_dirs(struct server *s, const char *run, const char *claims)
{
	char canon[40];
	int err;

	snprintf(canon, sizeof(canon), "%s.", s->uuid);
	err = group_search(state_root);
	if (!err)
		err = group_search(run_root());
	if (!err)
		err = own_tree(s->dir, NULL);
	if (!err)
		err = own_tree(run, NULL);
	if (!err)
		err = own_tree(claims, canon);
	if (!err)
		err = own_one(claims);
	return err;
}

/*
 * The directories a confined server may touch: its state (its serving
 * lease included), its volatile state (made now if missing, as libvtpm
 * would, so that a vTPM opened later by retry_open() finds it allowed),
 * this host's claims, its pidfile's directory.
 */
static int enter_sandbox(struct server *s)
{
	char run[4096], claims[4096], pdir[4096], *slash;
	const char *root = run_root();
	const char *base = strrchr(s->dir, '/');
	/* not the key file: the vTPM is open (its own key derived, the host
	 * key wiped); retry_open() opens before it confines */
	struct sandbox_paths p = { .state_dir = s->dir };

	if ((size_t)snprintf(run, sizeof(run), "%s/%s", root, base ? base + 1 : s->dir) >=
	    sizeof(run))
		return -ENAMETOOLONG;
	if ((mkdir(root, 0700) && errno != EEXIST) || (mkdir(run, 0700) && errno != EEXIST))
		log_msg(LOG_WARNING, "sandbox: cannot create %s: %m", run);
	p.run_dir = run;
	/* this host's claims and lease locks (inuse.c, lease.c) */
	snprintf(claims, sizeof(claims), "%s/claims", root);
	p.claims_dir = claims;
	if (so.pidfile) {
		snprintf(pdir, sizeof(pdir), "%s", so.pidfile);
		slash = strrchr(pdir, '/');
		if (slash && slash != pdir) {
			*slash = '\0';
			p.pidfile_dir = pdir;
		}
	}
	xs_close();	/* dom0's xenstore connection stays out of reach */
	if (so.set_user) {
		int32_t keys[2] = { 0, 0 };
		int err;

		if (s->vtpm) {
			err = vtpm_anchor_pin(s->vtpm, keys);
			if (err) {
				log_msg(LOG_ERR, "sandbox: cannot pin the rollback anchors (%s): a server of another uid could not update them",
					vtpm_strerror(err));
				return err;
			}
		}
		mkdir(claims, 0700);
		err = give_dirs(s, run, claims);
		if (err) {
			log_msg(LOG_ERR, "sandbox: cannot give the vTPM's directories to uid %u: %s",
				(unsigned int)so.uid, strerror(-err));
			return err;
		}
		p.set_user = true;
		p.uid = so.uid;
		p.gid = so.gid;
		p.keys = keys;
		p.nkeys = 2;
		err = sandbox_enter(&p);
		if (err)
			return err;
		/* the paths an open vTPM needs, as the new uid (a parent not
		 * searchable?); a vTPM never opened (unknown, refused) needs none */
		if (s->vtpm && (access(s->dir, R_OK | W_OK | X_OK) ||
				access(run, R_OK | W_OK | X_OK) || access(claims, W_OK | X_OK))) {
			err = -errno;
			log_msg(LOG_ERR, "sandbox: as uid %u the vTPM's directories %s, %s, %s are out of reach: %s (a parent directory not searchable by gid %u?)",
				(unsigned int)so.uid, s->dir, run, claims, strerror(-err),
				(unsigned int)so.gid);
			return err;
		}
		return 0;
	}
	return sandbox_enter(&p);
}

/*
 * The vTPM could not be opened for a reason that passes (the disk was
 * full): try again, at most once a second, when a command comes, so the
 * guest is served once the fault is gone, without a restart.
 */
static void retry_open(struct server *s)
{
	int err;

	if (!s->reopen || now_s() < s->next_open)
		return;
	s->next_open = now_s() + 1.0;
	if (!s->leased && !s->lease_pending) {
		struct lease holder;
		char d[256];

		err = take_lease(s, &holder);
		if (err == -EBUSY) {
			lease_describe(&holder, d, sizeof(d));
			log_msg(LOG_ERR, "vTPM %s is served elsewhere: lease held by %s; giving up",
				s->uuid, d);
			s->reopen = false;
			s->lease_lost = true;
			return;
		}
		if (err) {
			s->reopen = transient(err);
			log_msg(LOG_WARNING, "serving lease still cannot be taken: %s%s",
				strerror(-err), s->reopen ? "" : "; giving up");
			return;
		}
	}
	s->vtpm = open_vtpm(s);
	if (!s->vtpm) {
		err = -errno;
		s->reopen = transient(err);
		log_msg(LOG_WARNING, "vTPM %s still cannot be opened: %s%s", s->uuid,
			vtpm_strerror(err), s->reopen ? "" : "; giving up");
		return;
	}
	/* the first guest byte for libtpms comes after this */
	if (!so.no_sandbox && enter_sandbox(s)) {
		log_msg(LOG_ERR, "refusing to serve unconfined (--no-sandbox to override)");
		vtpm_free(s->vtpm);
		s->vtpm = NULL;
		s->reopen = false;
		return;
	}
	if (pthread_create(&s->worker, NULL, worker_main, s)) {
		log_msg(LOG_ERR, "cannot start the worker thread: %m");
		vtpm_free(s->vtpm);
		s->vtpm = NULL;
		return;
	}
	s->reopen = false;
	log_msg(LOG_INFO, "vTPM %s opened after all: serving (state %s)", s->uuid,
		s->dir);
}

static int send_msg(struct server *s, const void *msg, size_t len, uint32_t seq)
{
	int err = s->t.ops->send(&s->t, msg, len);

	if (err == -EPIPE) {
		/* the kernel already answered the guest (watchdog/cancel) */
		log_msg(LOG_INFO, "late response to seq %u dropped by the kernel", seq);
		s->stale++;
		err = 0;
	} else if (err == -EINVAL) {
		log_msg(LOG_WARNING, "kernel refused response to seq %u as malformed", seq);
		err = 0;
	} else if (err == -ECONNRESET || err == -ENODEV) {
		log_msg(LOG_INFO, "response to seq %u not delivered: %s", seq,
			strerror(-err));
		err = 0;	/* gone; the next read says EOF */
	} else if (err) {
		log_msg(LOG_ERR, "cannot send response: %s", strerror(-err));
	}
	return err;
}

static int send_response(struct server *s)
{
	return send_msg(s, s->out, s->out_len, s->seq);
}

/*
 * Answer a command with a TPM failure at once, from a buffer of its own:
 * the command running on the worker (s->seq, s->out) is not touched.
 */
static void failure_now(struct server *s, uint32_t seq, const uint8_t *cmd,
			size_t len)
{
	uint8_t msg[HDR_LEN + 16];
	struct xen_tpmback_msg *rsp = (void *)msg;
	size_t rlen = vtpm_failure_response(cmd, len, msg + HDR_LEN, 16);

	memset(rsp, 0, HDR_LEN);
	rsp->type = XEN_TPMBACK_MSG_RSP;
	rsp->seq = seq;
	rsp->len = rlen;
	s->failed++;
	send_msg(s, msg, HDR_LEN + rlen, seq);
}

static int handle_message(struct server *s, const uint8_t *buf, size_t n)
{
	const struct xen_tpmback_msg *m = (const void *)buf;

	if (n < HDR_LEN) {
		log_msg(LOG_WARNING, "short message (%zu bytes) ignored", n);
		return 0;
	}
	log_msg(LOG_DEBUG, "message type %u seq %u len %u locality %u",
		m->type, m->seq, m->len, m->locality);
	switch (m->type) {
	case XEN_TPMBACK_MSG_CMD:
		if (m->len != n - HDR_LEN || m->len > s->t.max_packet || m->len < 10) {
			log_msg(LOG_WARNING, "malformed command seq %u (len %u, %zu bytes)",
				m->seq, m->len, n - HDR_LEN);
			failure_now(s, m->seq, buf + HDR_LEN, n - HDR_LEN);
			return 0;
		}
		s->commands++;
		if (!s->vtpm && !s->lease_lost && !s->refuse)
			retry_open(s);
		if (!s->vtpm || s->lease_lost) {
			failure_now(s, m->seq, buf + HDR_LEN, m->len);
			return 0;
		}
		if (s->busy) {
			/* the kernel gave up on the running one (timeout) and
			 * passed the next: it gets an answer, not a wait */
			log_msg(LOG_WARNING, "command seq %u while seq %u runs; answered with a TPM failure",
				m->seq, s->seq);
			failure_now(s, m->seq, buf + HDR_LEN, m->len);
			return 0;
		}
		memcpy(s->cmd, buf + HDR_LEN, m->len);
		s->cmd_len = m->len;
		s->locality = m->locality;
		s->seq = m->seq;
		if (!cancellable(s->cmd, s->cmd_len)) {
			run_command(s);
			send_response(s);
			return 0;
		}
		s->busy = 1;
		s->busy_since = now_s();
		if (write(s->to_worker[1], "c", 1) != 1)
			return -EIO;
		return 0;
	case XEN_TPMBACK_MSG_CANCEL:
		if (s->busy && m->seq == s->seq) {
			log_msg(LOG_INFO, "guest cancels command seq %u", m->seq);
			vtpm_cancel(s->vtpm);
		} else {
			log_msg(LOG_DEBUG, "cancel of seq %u: not running", m->seq);
		}
		return 0;
	default:
		log_msg(LOG_WARNING, "unknown message type %u ignored", m->type);
		return 0;
	}
}

/*
 * Touch our lease every lease_beat_s(), and check it is still ours: an admin
 * who broke it ("lease break", believing this host dead) may have let
 * another host serve the vTPM; from then on this server must not run or
 * save a single command more. The guest gets TPM failures.
 */
static void lease_heartbeat(struct server *s)
{
	struct lease now;
	char d[256];
	int err;

	if (s->lease_pending && now_s() >= s->next_beat) {
		struct lease h;

		take_lease(s, &h);
		if (s->leased)
			log_msg(LOG_INFO, "serving lease rewritten");
		return;
	}
	if (!s->leased || s->lease_lost || now_s() < s->next_beat)
		return;
	s->next_beat = now_s() + lease_beat_s();
	err = lease_check(s->uuid, &s->me, &now);
	if (err == -ESTALE || err == -ENOENT) {
		if (err == -ESTALE)
			lease_describe(&now, d, sizeof(d));
		else
			snprintf(d, sizeof(d), "nobody (the lease file was removed)");
		log_msg(LOG_ERR, "serving lease lost: now held by %s; this server stops serving vTPM %s (every command fails)",
			d, s->uuid);
		s->lease_lost = true;
	} else if (err) {
		log_msg(LOG_WARNING, "cannot renew the serving lease: %s", strerror(-err));
	}
}

static int serve_loop(struct server *s, int sigfd)
{
	uint8_t buf[HDR_LEN + XEN_TPMBACK_MAX_PACKET + 64];
	bool eof = false, stop = false;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = eof || stop ? -1 : s->t.fd, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = s->from_worker[0], .events = POLLIN },
		};

		if ((eof || stop) && !s->busy)
			break;
		lease_heartbeat(s);
		session_token_tick(s);
		if (poll(p, 3, s->token_pending ? 500 :
			 s->leased || s->lease_pending ? lease_beat_s() * 1000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "poll: %m");
			return -errno;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGHUP) {
				log_msg(LOG_INFO, "signal %d: saving state and exiting",
					si.ssi_signo);
				stop = true;
			}
		}
		if (p[2].revents & POLLIN) {
			char d;

			if (read(s->from_worker[0], &d, 1) == 1) {
				double dt = now_s() - s->busy_since;

				if (dt > 1.0)
					log_msg(LOG_INFO, "command seq %u took %.1f s", s->seq, dt);
				log_msg(LOG_DEBUG, "response seq %u, %zu bytes", s->seq,
					s->out_len - HDR_LEN);
				send_response(s);
				s->busy = 0;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = s->t.ops->recv(&s->t, buf, sizeof(buf));

			if (n == 0) {
				session_query_end(s);
				log_msg(LOG_INFO, "instance removed");
				eof = true;
			} else if (n == -EAGAIN) {
				continue;
			} else if (n < 0) {
				log_msg(LOG_ERR, "read: %s", strerror(-n));
				if (n == -EMSGSIZE)
					continue;
				return n;
			} else if (handle_message(s, buf, n) < 0) {
				return -EIO;
			}
		}
	}
	return eof ? 1 : 0;
}

/* where the time went: one line an operator (or make bench) can read */
static void log_stats(struct server *s)
{
	struct vtpm_stats st = { .sz = sizeof(st) };
	double n;

	if (!s->vtpm || vtpm_get_stats(s->vtpm, &st) || !st.commands)
		return;
	n = st.commands;
	if (!so.timing) {
		log_msg(LOG_INFO, "state path: %llu commands, %llu volatile saves, %llu logged, %llu permanent saves; per command: %.0f bytes volatile, %.0f bytes permanent (--timing: where the time goes)",
			(unsigned long long)st.commands,
			(unsigned long long)st.volatile_saves,
			(unsigned long long)st.volatile_records,
			(unsigned long long)st.permanent_saves,
			st.bytes_volatile / n, st.bytes_permanent / n);
		return;
	}
	log_msg(LOG_INFO, "state path: %llu commands, %llu volatile saves, %llu logged, %llu permanent saves; per command: libtpms %.1f us, marshal %.1f us, crypto %.1f us, I/O %.1f us, %.0f bytes volatile, %.0f bytes permanent",
		(unsigned long long)st.commands,
		(unsigned long long)st.volatile_saves,
		(unsigned long long)st.volatile_records,
		(unsigned long long)st.permanent_saves,
		st.ns_tpm / n / 1e3, st.ns_marshal / n / 1e3,
		st.ns_crypto / n / 1e3, st.ns_io / n / 1e3,
		st.bytes_volatile / n, st.bytes_permanent / n);
}

/* ---- do_serve ------------------------------------------------------------ */

int do_serve(int argc, char **argv)
{
	struct server *s;
	char dir[4096], ctx[160], boot[64];
	bool uuid_from_kernel;
	uint8_t u[16];
	sigset_t mask;
	int ret, err, sigfd;

	ret = parse_serve(argc, argv);
	if (ret >= 0)
		return ret;
	if (resolve_user())
		return EXIT_USAGE;
	sandbox_no_dumps();	/* before any key or seed is in memory */
	s = calloc(1, sizeof(*s));
	if (!s)
		return EXIT_FAIL;
	s->t.fd = s->t.listen_fd = -1;
	uuid_from_kernel = !so.uuid || so.fail_unknown;

	/* bad input is refused here, before anything detaches or waits */
	if (so.uuid) {
		struct vtpm_info info = { .sz = sizeof(info) };

		if (uuid_parse_str(so.uuid, u)) {
			p_usage_err("malformed uuid \"%s\" (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				    so.uuid);
			return EXIT_USAGE;
		}
		uuid_format(u, s->uuid);
		snprintf(dir, sizeof(dir), "%s/%s", state_root, s->uuid);
		err = vtpm_state_info(dir, &info);
		if (err == -ENOENT && so.fail_unknown) {
			err = 0;
		} else if (err == -ENOENT) {
			p_err("no such vTPM %s (in %s); create it with \"%s create --uuid %s\"",
			      s->uuid, state_root, bin_name, s->uuid);
			return EXIT_FAIL;
		}
		if (err) {
			p_err("cannot read vTPM %s: %s", s->uuid, vtpm_strerror(err));
			return EXIT_FAIL;
		}
		{
			struct lease me, holder;
			char d[256];

			lease_self(&me, getpid());
			if (lease_held_elsewhere(s->uuid, &me, &holder)) {
				lease_describe(&holder, d, sizeof(d));
				if (!strcmp(holder.host, me.host))
					p_err("vTPM %s is already being served by pid %d (lease: %s)",
					      s->uuid, holder.pid, d);
				else
					p_err("vTPM %s is being served by another host: lease held by %s",
					      s->uuid, d);
				return EXIT_FAIL;
			}
		}
		if (info.locked) {
			p_err("vTPM %s is already being served by pid %d", s->uuid,
			      info.lock_pid);
			return EXIT_FAIL;
		}
		memcpy(s->t.uuid, u, 16);
		s->t.by_uuid = so.domid < 0;
	}
	if (so.pidfile) {
		pid_t old = read_pidfile(so.pidfile);

		if (old && old != getpid() && pid_alive(old)) {
			p_err("already served by pid %d (pidfile %s)", (int)old, so.pidfile);
			return EXIT_FAIL;
		}
	}
	if (effective_key_file() && access(effective_key_file(), R_OK) < 0) {
		p_err("cannot read key file %s: %s", effective_key_file(), strerror(errno));
		return EXIT_FAIL;
	}
	if (access(state_root, W_OK) < 0 && errno != ENOENT) {
		p_err("state directory %s is not writable: %s", state_root, strerror(errno));
		return EXIT_FAIL;
	}

	if (so.daemonize) {
		err = daemonize();
		if (err) {
			p_err("cannot daemonize: %s", strerror(-err));
			return EXIT_FAIL;
		}
	} else if (so.pidfile && (err = write_pidfile(so.pidfile))) {
		p_err("cannot write pidfile %s: %s", so.pidfile, strerror(-err));
		return EXIT_FAIL;
	}
	log_setup(so.daemonize || so.syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, "vtpmctl");
	if (user_missing)
		log_msg(LOG_WARNING, "no user %s: serving as uid 0; create it: adduser --system --group --no-create-home %s",
			DEFAULT_USER, DEFAULT_USER);
	else if (!so.no_sandbox && !so.set_user && geteuid() == 0)
		log_msg(LOG_WARNING, "serving as uid 0 (--user %s): not recommended, a compromised server could reach root's keyring",
			so.user ? so.user : "root");
	if (so.supervise)
		supervise();	/* returns in the server process */
	vtpm_set_print((vtpm_print_fn_t)log_libvtpm);
	signal(SIGPIPE, SIG_IGN);

	/* attach; SIGTERM keeps its default meaning while we wait */
	s->t.ops = so.socket ? &socket_transport_ops : &chardev_transport_ops;
	s->t.path = so.socket ? so.socket : so.device;
	if (so.domid >= 0) {
		s->t.domid = so.domid;
		s->t.devid = so.devid;
	}
	if (so.domid >= 0)
		snprintf(ctx, sizeof(ctx), "domid=%ld devid=%ld", so.domid, so.devid);
	else
		snprintf(ctx, sizeof(ctx), "uuid=%s", s->uuid);
	log_set_context(ctx);
	log_msg(LOG_DEBUG, "attaching through %s (%s), waiting up to %u s",
		s->t.ops->name, s->t.path, so.wait_s);
	err = s->t.ops->attach(&s->t, so.wait_s * 1000);
	if (err) {
		if (err == -EBUSY)
			log_msg(LOG_ERR, "instance is already being served by another process");
		else if (err == -ETIMEDOUT)
			log_msg(LOG_ERR, "no such instance appeared within %u s", so.wait_s);
		else if (err == -ENOENT && !so.socket)
			log_msg(LOG_ERR, "%s: no such device (is xen-tpmback loaded?)", s->t.path);
		else
			log_msg(LOG_ERR, "cannot attach through %s: %s", s->t.path,
				strerror(-err));
		ret = EXIT_FAIL;
		goto out;
	}
	if (uuid_from_kernel)
		uuid_format(s->t.uuid, s->uuid);
	snprintf(ctx, sizeof(ctx), "uuid=%s domid=%u devid=%u", s->uuid,
		 s->t.domid, s->t.devid);
	log_set_context(ctx);
	/* destroy/import refuse while this claim's process lives: under
	 * --supervise that is the supervisor, so the ~100 ms between a
	 * killed server and its restart is covered too */
	err = claim_write(s->uuid, so.supervise ? (int)getppid() : (int)getpid());
	if (err)
		log_msg(LOG_WARNING, "cannot write the claim file under %s/claims: %s",
			run_root(), strerror(-err));
	if (effective_key_file())
		log_msg(LOG_WARNING, "key-file mode: the state key is the plain file %s, not sealed to the host's TPM (vtpmctl manager init)",
			effective_key_file());

	read_boot_id(boot, sizeof(boot));
	snprintf(s->tag, sizeof(s->tag), "%s:%s%u:%u", boot, so.socket ? "socket:" : "",
		 s->t.domid, s->t.devid);
	snprintf(s->dir, sizeof(s->dir), "%s/%s", state_root, s->uuid);
	{
		struct vtpm_info info = { .sz = sizeof(info) };
		double give_up = now_s() + so.wait_s;
		bool said = false;

		lease_self(&s->me, so.supervise ? (int)getppid() : (int)getpid());
		for (;;) {
			struct lease holder;
			char d[256];

			errno = 0;
			if (vtpm_state_info(s->dir, &info) == -ENOENT) {
				errno = ENOENT;
				break;
			}
			if (!s->leased && !s->lease_pending) {
				err = take_lease(s, &holder);
				if (err == -EBUSY && now_s() < give_up) {
					/* migration: the source still serves it */
					if (!said) {
						lease_describe(&holder, d, sizeof(d));
						log_msg(LOG_INFO, "serving lease held by %s; waiting up to %u s",
							d, so.wait_s);
					}
					said = true;
					usleep(200 * 1000);
					continue;
				}
				if (err == -EBUSY) {
					lease_describe(&holder, d, sizeof(d));
					log_msg(LOG_ERR, "vTPM %s is served elsewhere: lease held by %s; refusing (\"%s lease break %s\" once that host is known dead)",
						s->uuid, d, bin_name, s->uuid);
					errno = EBUSY;
					s->lease_lost = true;	/* never serve */
					break;
				}
				if (err) {
					log_msg(LOG_ERR, "cannot take the serving lease %s/%s/serving.lease: %s",
						state_root, s->uuid, strerror(-err));
					errno = -err;
					/* a full disk passes: retried with the open */
					s->lease_lost = !transient(err);
					break;
				}
			}
			s->vtpm = open_vtpm(s);
			/*
			 * The server of the guest's previous domain (a reboot)
			 * may still be powering off: wait for it, bounded.
			 */
			if (s->vtpm || errno != EBUSY || now_s() >= give_up)
				break;
			if (!said)
				log_msg(LOG_INFO, "vTPM state in use (pid %d), waiting up to %u s",
					info.lock_pid, so.wait_s);
			said = true;
			usleep(200 * 1000);
		}
	}
	if (!s->vtpm && s->lease_lost) {
		ret = EXIT_FAIL;
		goto out;
	}
	if (!s->vtpm) {
		err = -errno;
		if (err == -EBUSY) {
			log_msg(LOG_ERR, "vTPM state %s is in use by another server (two guests with one uuid?)",
				s->dir);
			ret = EXIT_FAIL;
			goto out;
		}
		if (!uuid_from_kernel) {
			log_msg(LOG_ERR, "cannot open vTPM: %s", vtpm_strerror(err));
			ret = EXIT_FAIL;
			goto out;
		}
		s->reopen = transient(err);
		s->next_open = now_s() + 1.0;
		if (s->refuse)
			;	/* said why already */
		else if (err == -ENOENT)
			log_msg(LOG_ERR, "vTPM %s was never created (no %s); every TPM command fails until the guest is restarted after \"%s create --uuid %s\"",
				s->uuid, s->dir, bin_name, s->uuid);
		else
			log_msg(LOG_ERR, "cannot open vTPM %s: %s; every TPM command fails%s",
				s->uuid, vtpm_strerror(err),
				s->reopen ? " until it can be opened (retried)" : "");
	} else {
		log_msg(LOG_INFO, "serving vTPM (state %s)", s->dir);
	}

	/* from here on signals are events of the loop */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0 || pipe2(s->to_worker, O_CLOEXEC) || pipe2(s->from_worker, O_CLOEXEC)) {
		log_msg(LOG_ERR, "cannot set up: %m");
		ret = EXIT_FAIL;
		goto out_vtpm;
	}
	/*
	 * Attached and opened: keep only what serving needs, in every thread.
	 * A vTPM still to be opened (retry_open(): a full disk) is opened
	 * unconfined and confined right after; until then no guest byte
	 * reaches libtpms (every command gets a failure).
	 */
	if (so.no_sandbox) {
		log_msg(LOG_WARNING, "running without a sandbox (--no-sandbox)");
	} else if ((s->vtpm || !s->reopen) && enter_sandbox(s)) {
		log_msg(LOG_ERR, "refusing to serve unconfined (--no-sandbox to override)");
		ret = EXIT_FAIL;
		goto out_vtpm;
	}
	if (s->vtpm && pthread_create(&s->worker, NULL, worker_main, s)) {
		log_msg(LOG_ERR, "cannot set up: %m");
		ret = EXIT_FAIL;
		goto out_vtpm;
	}
	err = serve_loop(s, sigfd);
	if (s->vtpm) {
		(void)!write(s->to_worker[1], "q", 1);
		pthread_join(s->worker, NULL);
	}
	log_msg(LOG_INFO, "%llu commands, %llu failed, %llu late",
		(unsigned long long)s->commands, (unsigned long long)s->failed,
		(unsigned long long)s->stale);
	log_stats(s);
	ret = err < 0 ? EXIT_FAIL : EXIT_OK;
	if (err == 1)
		session_end(s);		/* EOF: the domain is gone or suspended */
out_vtpm:
	vtpm_free(s->vtpm);	/* saves: a restart resumes */
out:
	monitor_stop();
	s->t.ops->close(&s->t);
	if (s->leased && !s->lease_lost)
		lease_release(s->uuid, &s->me);
	claim_remove();
	remove_pidfile();
	return ret;
}
