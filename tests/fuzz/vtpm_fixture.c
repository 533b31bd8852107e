// SPDX-License-Identifier: LGPL-2.1-or-later
/* The libvtpm fuzz targets' shared set-up: see vtpm_fixture.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vtpm_fixture.h"

void fixture_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	abort();
}

static int print(enum vtpm_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

void fixture_path(const struct vtpm_fixture *fx, const char *sub, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/%s", fx->dir, sub) >= n)
		FIXTURE_FAIL(fx, "path %s/%s too long\n", fx->dir, sub);
}

void fixture_init(struct vtpm_fixture *fx, const char *name)
{
	const char *base = getenv("FUZZ_WORKDIR") ?: "/dev/shm";
	char run[256];
	FILE *f;

	fx->name = name;
	if (getenv("FUZZ_VERBOSE"))
		vtpm_set_print(print);
	snprintf(fx->dir, sizeof(fx->dir), "%s/vtpm-%s.XXXXXX", base, name);
	if (!mkdtemp(fx->dir))
		FIXTURE_FAIL(fx, "mkdtemp %s\n", fx->dir);
	fixture_path(fx, "key", fx->key, sizeof(fx->key));
	f = fopen(fx->key, "w");
	if (!f || fwrite("0123456789abcdef0123456789abcdef", 1, 32, f) != 32 || fclose(f))
		FIXTURE_FAIL(fx, "key file %s\n", fx->key);
	fixture_path(fx, "run", run, sizeof(run));
	setenv("VTPM_RUN_DIR", run, 1);
	fprintf(stderr, "%s: state in %s\n", name, fx->dir);
}

struct vtpm *fixture_vtpm(const struct vtpm_fixture *fx, const struct vtpm_opts *opts)
{
	struct vtpm *v;

	if (vtpm_create(opts))
		FIXTURE_FAIL(fx, "vtpm_create in %s\n", opts->state_dir);
	v = vtpm_new(opts);
	if (!v)
		FIXTURE_FAIL(fx, "vtpm_new in %s\n", opts->state_dir);
	return v;
}
