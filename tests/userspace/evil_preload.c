// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD into "vtpmctl serve" to play a guest that took over the
 * server through a libtpms bug: libtpms' TPMLIB_Process() is wrapped, and
 * when a guest sends TPM2_GetRandom(13) (no real client asks for 13 bytes)
 * the wrapper does $EVIL_ACTION from inside the server, then lets libtpms
 * answer as usual:
 *   execve        execve("/bin/true")
 *   socket        socket(AF_INET, SOCK_STREAM)
 *   ptrace        ptrace(PTRACE_TRACEME)
 *   open:PATH     open(PATH, O_RDONLY)
 *   write:PATH    open(PATH, O_WRONLY | O_CREAT)
 *   keyread:KEY   keyctl(KEYCTL_READ) of the key with serial KEY
 *   keyupdate:KEY keyctl(KEYCTL_UPDATE, "evil") of it
 *   keyinval:KEY  keyctl(KEYCTL_INVALIDATE) of it
 * Several actions: separated by commas.
 * Each outcome that returns goes to stderr as "EVIL <action>: ok|<error>".
 *
 * With EVIL_TRIGGER=PATH (the testbed, where a guest's own commands are
 * scripted elsewhere) the action is done instead on the first command
 * after PATH appears: dom0 decides when, the guest's next command is the
 * one in hand. PATH is removed first (where the server may).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <unistd.h>

typedef int (*process_fn)(unsigned char **, uint32_t *, uint32_t *, unsigned char *, uint32_t);

static void report(const char *what, int rc)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "EVIL %s: %s\n", what, rc < 0 ? strerror(errno) : "ok");

	(void)!write(2, line, n);
}

static void evil_one(const char *a)
{
	char buf[256];
	long key;
	int fd;

	if (!strcmp(a, "execve")) {
		char *argv[] = { "/bin/true", NULL };

		report(a, execve(argv[0], argv, environ));
	} else if (!strcmp(a, "socket")) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		report(a, fd);
	} else if (!strcmp(a, "ptrace")) {
		report(a, (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	} else if (!strncmp(a, "open:", 5)) {
		fd = open(a + 5, O_RDONLY);
		report(a, fd);
	} else if (!strncmp(a, "write:", 6)) {
		fd = open(a + 6, O_WRONLY | O_CREAT, 0600);
		report(a, fd);
	} else if (!strncmp(a, "keyread:", 8)) {
		key = strtol(a + 8, NULL, 10);
		report(a, (int)syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof(buf)));
	} else if (!strncmp(a, "keyupdate:", 10)) {
		key = strtol(a + 10, NULL, 10);
		report(a, (int)syscall(SYS_keyctl, KEYCTL_UPDATE, key, "evil", 4));
	} else if (!strncmp(a, "keyinval:", 9)) {
		key = strtol(a + 9, NULL, 10);
		report(a, (int)syscall(SYS_keyctl, KEYCTL_INVALIDATE, key));
	}
}

static void evil(void)
{
	const char *a = getenv("EVIL_ACTION");
	char one[512];
	size_t n;

	while (a && *a) {
		n = strcspn(a, ",");
		if (n < sizeof(one)) {
			memcpy(one, a, n);
			one[n] = '\0';
			evil_one(one);
		}
		a += n + (a[n] == ',');
	}
}

int TPMLIB_Process(unsigned char **rsp, uint32_t *rsp_size, uint32_t *rsp_bufsize,
		   unsigned char *cmd, uint32_t cmd_size)
{
	static process_fn real;

	const char *trigger = getenv("EVIL_TRIGGER");

	if (!real)
		real = (process_fn)dlsym(RTLD_NEXT, "TPMLIB_Process");
	if (trigger && *trigger) {
		if (access(trigger, F_OK) == 0) {
			unlink(trigger);
			evil();
		}
		return real(rsp, rsp_size, rsp_bufsize, cmd, cmd_size);
	}
	/* TPM2_GetRandom(13): 80 01 00000000c 0000017b 000d */
	if (cmd_size == 12 && cmd[0] == 0x80 && cmd[1] == 0x01 &&
	    cmd[6] == 0 && cmd[7] == 0 && cmd[8] == 0x01 && cmd[9] == 0x7b &&
	    cmd[10] == 0 && cmd[11] == 13)
		evil();
	return real(rsp, rsp_size, rsp_bufsize, cmd, cmd_size);
}
