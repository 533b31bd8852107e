// SPDX-License-Identifier: GPL-2.0
/*
 * vtpmctl - create, inspect and serve Xen vTPMs (libvtpm + xen-tpmback).
 *
 *   vtpmctl [OPTIONS] COMMAND [ARGS]
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error (bad
 * syntax or a malformed value such as a uuid).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvtpm/libvtpm.h"
#include "vtpmctl.h"

bool json_output;
int verbose;
const char *bin_name = "vtpmctl";
const char *state_root = DEFAULT_STATE_DIR;
const char *key_file;

static void vp_err(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (json_output) {
		fputs("{\"error\": ", stderr);
		json_string(stderr, msg);
		fputs("}\n", stderr);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
}

void p_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
}

bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

const char *sealed_key_path(void)
{
	const char *e = getenv("VTPM_SEALED_KEY");

	return e && *e ? e : DEFAULT_SEALED_KEY;
}

const char *host_key_desc(void)
{
	const char *e = getenv("VTPM_HOST_KEY_DESC");

	return e && *e ? e : VTPM_HOST_KEY_DESC;
}

enum key_mode key_mode(const char **file)
{
	*file = NULL;
	if (key_file && *key_file) {		/* asked for by name */
		*file = key_file;
		return KEY_MODE_FILE;
	}
	if (key_file)				/* "" = explicitly none */
		return access(sealed_key_path(), F_OK) == 0 ? KEY_MODE_TPM : KEY_MODE_NONE;
	if (access(sealed_key_path(), F_OK) == 0)
		return KEY_MODE_TPM;
	if (access(DEFAULT_KEY_FILE, F_OK) == 0) {
		*file = DEFAULT_KEY_FILE;
		return KEY_MODE_FILE;
	}
	return KEY_MODE_NONE;
}

/* The key file that protects state in key-file mode; NULL otherwise. */
const char *effective_key_file(void)
{
	const char *f;

	return key_mode(&f) == KEY_MODE_FILE ? f : NULL;
}

/* The host key's keyring description in TPM mode; NULL otherwise. */
const char *effective_key_desc(void)
{
	const char *f;

	return key_mode(&f) == KEY_MODE_TPM ? host_key_desc() : NULL;
}

int common_opt(int c, const char *arg)
{
	switch (c) {
	case 'j':
	case 'p':
		json_output = true;
		return 1;
	case 'd':
		verbose++;
		return 1;
	case 's':
		state_root = arg;
		return 1;
	case 'k':
		key_file = arg;
		return 1;
	case 'r':
		/* libvtpm reads it: volatile state of running guests */
		setenv("VTPM_RUN_DIR", arg, 1);
		return 1;
	}
	return 0;
}

static int do_help(int argc, char **argv);
static int do_version(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "create",	do_create,	"create a vTPM (uuid generated if not given)" },
	{ "destroy",	do_destroy,	"erase a vTPM and its state" },
	{ "list",	do_list,	"list vTPMs" },
	{ "show",	do_show,	"show one vTPM" },
	{ "serve",	do_serve,	"serve one vTPM to its guest (xen-tpmback or a test socket)" },
	{ "keygen",	do_keygen,	"key-file mode: create the 32-byte state key file" },
	{ "host-key",	do_host_key,	"this host's transport key for receiving vTPMs" },
	{ "export",	do_export,	"encrypt a vTPM for another host's transport key" },
	{ "import",	do_import,	"store a vTPM exported for this host" },
	{ "lease",	do_lease,	"the serving lease on shared storage: show, break" },
	{ "ca",		do_ca,		"the host's CA for EK certificates: init, show" },
	{ "eventlog",	do_eventlog,	"print a vTPM's measured-boot event log (TCG, binary)" },
	{ "manager",	do_manager,	"the host key sealed to the host's TPM: init, unlock, lock, status" },
	{ "help",	do_help,	"this text" },
	{ "version",	do_version,	"print the version" },
	{ 0 },
};

static int do_help(int argc, char **argv)
{
	const struct cmd *c;

	(void)argc;
	(void)argv;
	printf("Usage: %s [OPTIONS] COMMAND [ARGS...]\n"
	       "       %s COMMAND help\n\n"
	       "Commands:\n", bin_name, bin_name);
	for (c = cmds; c->name; c++)
		printf("  %-9s %s\n", c->name, c->summary);
	printf("\nOptions (also accepted after COMMAND):\n"
	       "  -j, --json            JSON output; errors as {\"error\": ...} on stderr\n"
	       "  -d, --debug           more log output (twice: libvtpm debug)\n"
	       "  -s, --state-dir DIR   state root (default $VTPM_STATE_DIR or %s)\n"
	       "  -k, --key-file FILE   state key (default $VTPM_KEY_FILE or %s if present)\n"
	       "      --run-dir DIR     volatile state of running guests, a tmpfs\n"
	       "                        (default $VTPM_RUN_DIR or /run/vtpm)\n"
	       "  -h, --help            help\n"
	       "  -V, --version         version\n"
	       "\nExit status: 0 success, 1 failure, 2 usage error.\n",
	       DEFAULT_STATE_DIR, DEFAULT_KEY_FILE);
	return EXIT_OK;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (json_output)
		printf("{\"version\": \"%s\", \"libvtpm\": \"%s\"}\n",
		       VTPMCTL_VERSION, vtpm_libversion());
	else
		printf("%s %s (libvtpm %s)\n", bin_name, VTPMCTL_VERSION,
		       vtpm_libversion());
	return EXIT_OK;
}

int cmd_select(const struct cmd *table, int argc, char **argv,
	       int (*help)(int, char **))
{
	const struct cmd *c;

	if (argc < 1)
		return help(argc, argv);
	for (c = table; c->name; c++)
		if (!strcmp(argv[0], c->name))
			return c->func(argc, argv);
	p_usage_err("unknown command \"%s\", try \"%s help\"", argv[0], bin_name);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "debug",	no_argument,		NULL, 'd' },
		{ "state-dir",	required_argument,	NULL, 's' },
		{ "key-file",	required_argument,	NULL, 'k' },
		{ "run-dir",	required_argument,	NULL, 'r' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ 0 },
	};
	const char *env;
	int c;

	env = getenv("VTPM_STATE_DIR");
	if (env && *env)
		state_root = env;
	env = getenv("VTPM_KEY_FILE");
	if (env)
		key_file = env;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jpds:k:hV", opts, NULL)) >= 0) {
		switch (c) {
		case 'j':
		case 'p':
			json_output = true;
			break;
		case 'd':
			verbose++;
			break;
		case 's':
			state_root = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'r':
			setenv("VTPM_RUN_DIR", optarg, 1);
			break;
		case 'h':
			return do_help(0, NULL);
		case 'V':
			return do_version(0, NULL);
		default:
			p_usage_err("unknown option \"%s\", try \"%s help\"",
				    argv[optind - 1], bin_name);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		do_help(0, NULL);
		return EXIT_USAGE;
	}
	return cmd_select(cmds, argc, argv, do_help);
}
