/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the libvtpm fuzz targets (fuzz_vtpm, fuzz_vtpm12, fuzz_import)
 * share: a work directory made once per process under $FUZZ_WORKDIR
 * (default /dev/shm) with a key file and the volatile-state run directory
 * ($VTPM_RUN_DIR) in it, libvtpm's messages on stderr with $FUZZ_VERBOSE,
 * and a vTPM created and opened there. Any failure of the set-up aborts:
 * a fuzzer without its fixture tests nothing.
 */
#ifndef VTPM_FIXTURE_H
#define VTPM_FIXTURE_H

#include <stddef.h>

#include <libvtpm/libvtpm.h>

struct vtpm_fixture {
	const char *name;	/* the target's, in messages and the directory's name */
	char dir[200];		/* $FUZZ_WORKDIR/vtpm-<name>.XXXXXX */
	char key[256];		/* <dir>/key, 32 bytes */
};

#define FIXTURE_FAIL(fx, ...) fixture_fail((fx)->name, __VA_ARGS__)

void fixture_fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* fixture_init() - the work directory, its key file and run directory */
void fixture_init(struct vtpm_fixture *fx, const char *name);

/* fixture_path() - <dir>/<sub> in buf */
void fixture_path(const struct vtpm_fixture *fx, const char *sub, char *buf, size_t n);

/* fixture_vtpm() - vtpm_create() then vtpm_new() with opts, or abort */
struct vtpm *fixture_vtpm(const struct vtpm_fixture *fx, const struct vtpm_opts *opts);

#endif
