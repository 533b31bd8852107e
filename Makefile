# SPDX-License-Identifier: GPL-2.0
#
# xen-tpmback + libvtpm: top-level build and test entry points.
#
#   make deps        install what a fresh Debian 12 machine lacks (idempotent)
#   make             build the module (against the testbed kernel) and userspace
#   make demo        deps + build + boot Xen in QEMU: a guest uses its vTPM
#   make check       deps + build + every test (userspace, KUnit, end to end)
#   make check-manager  the manager under systemd in dom0, four testbed boots
#                    (also the last part of make check's testbed run)
#   make bench       guest-visible latency, libvtpm against a swtpm baseline
#   make soak        long kill -9 crash-consistency run (SOAK_ROUNDS=2000)
#   make install     vtpmctl, its man page, udev rule, hotplug helper, systemd
#                    unit (DESTDIR, PREFIX=/usr/local, ...; see below)
#   make install-dkms  the module's source for DKMS in /usr/src
#   make deb         Debian packages (dpkg-buildpackage) in build/deb/
#
# Kernel objects come from ./Kbuild; everything else from the sub-Makefiles.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ifneq ($(words $(TOP)),1)
$(error the checkout's path "$(TOP)" contains spaces: kbuild (M=) and make cannot build there; clone it to a path without spaces)
endif

# The kernel the testbed boots (dom0 and guests) and the module is built for.
TESTBED_KVER ?= $(shell $(TOP)/scripts/testbed-kver.sh 2>/dev/null)
KDIR ?= $(if $(TESTBED_KVER),/usr/src/linux-headers-$(TESTBED_KVER),/lib/modules/$(shell uname -r)/build)

export TESTBED_KVER KDIR

.PHONY: all deps module userspace clean check check-unit check-kunit check-e2e check-manager demo \
	e2e bench soak help install install-tools install-dkms uninstall deb check-deb

all: module userspace

help:
	@sed -n 's/^#   //p' $(TOP)/Makefile

deps:
	$(TOP)/scripts/install-deps.sh

# The tree's test build has the fault injection knob (Kbuild); the packages
# and DKMS build without it.
module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 CONFIG_XEN_TPMDEV_BACKEND_FAULT_INJECTION=y modules

userspace:
	$(MAKE) -C $(TOP)/lib/libvtpm
	$(MAKE) -C $(TOP)/tools/vtpmctl
	$(MAKE) -C $(TOP)/tests/responder

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	-$(MAKE) -C $(TOP)/lib/libvtpm clean
	-$(MAKE) -C $(TOP)/tools/vtpmctl clean
	-$(MAKE) -C $(TOP)/tests/responder clean

# --- tests -----------------------------------------------------------------
# Every target below fails loudly when it cannot run; nothing is skipped
# silently.

# deps may install the kernel headers this very run: the sub-make resolves
# KDIR again rather than inherit a guess made before they existed.
REMAKE = env -u KDIR -u TESTBED_KVER $(MAKE) --no-print-directory

check: deps
	$(REMAKE) all
	$(TOP)/scripts/run-all-tests.sh

check-unit: userspace
	$(TOP)/tests/userspace/run.sh

check-kunit:
	$(TOP)/scripts/kunit.sh

check-e2e e2e: all
	$(TOP)/tests/e2e/run.sh all

# the manager under systemd as dom0's init, four testbed boots (its first
# two alone: tests/e2e/run.sh manager-reboot)
check-manager: all
	$(TOP)/tests/e2e/run.sh manager

demo: deps
	$(REMAKE) all
	$(TOP)/tests/e2e/run.sh demo

bench: all bench-state
	$(TOP)/tests/e2e/run.sh bench

# The state path alone (issue 7): libvtpm vs libtpms vs swtpm, on this host.
.PHONY: bench-state
bench-state: userspace
	$(TOP)/tests/bench/run.sh

# Long run of the crash-consistency test: kill -9 of a server writing NV
# state, SOAK_ROUNDS times (make check runs 40 rounds).
SOAK_ROUNDS ?= 2000
soak: userspace
	CRASH_ROUNDS=$(SOAK_ROUNDS) $(TOP)/tests/userspace/run.sh -v

# The churn scenario at full size (make check runs 6 kills and 2 rounds
# of 2 guests): 100 kills of a server mid-command, 10 rounds of 20 guests.
.PHONY: churn
churn: all
	E2E_CHURN_KILLS=100 E2E_CHURN_GUESTS=20 E2E_CHURN_ROUNDS=10 E2E_QEMU_MEM=6144 \
		E2E_TIMEOUT=$${E2E_TIMEOUT:-7200} $(TOP)/tests/e2e/run.sh churn

# The hostile-frontend scenario with every case (make check runs a quick
# set): flapping states, invalid ring-ref/event-channel, Closed mid-command.
.PHONY: hostile
hostile: all
	E2E_HOSTILE_FULL=1 $(TOP)/tests/e2e/run.sh hostile

# An HVM guest with PV drivers (hvmloader, SeaBIOS, Xen's device model in
# dom0, the unmodified xen-tpmfront) uses its vTPM: its own testbed boot with
# an SVM CPU model (not in make check: ~5 minutes more, and the device model's
# packages come from the Debian mirror).
.PHONY: hvm
hvm: all
	$(TOP)/tests/e2e/run.sh hvm

# libFuzzer targets over every parser that sees untrusted bytes (the
# module's protocol.c, libvtpm's state files, guest commands into libtpms).
# make check runs each for 20 s; fuzz-long for FUZZ_SECONDS (default 600)
# each, keeping what it finds in build/fuzz/corpus/ for the next run.
FUZZ_SECONDS ?= 600
.PHONY: fuzz fuzz-long
fuzz:
	$(TOP)/tests/fuzz/run.sh
fuzz-long:
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(TOP)/tests/fuzz/run.sh

# --- installing by hand ------------------------------------------------------
# make install [DESTDIR=...] [PREFIX=/usr/local]: the userspace side, as the
# Debian package vtpm-tools installs it (debian/rules uses these targets with
# PREFIX=/usr). The udev rule, the systemd unit and the helper name each
# other's paths; they are rewritten for PREFIX. /etc/default/vtpm is
# installed only when absent (an admin's file is kept). The module: make
# install-dkms, then dkms add/build/install as printed.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/vtpm
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UDEVRULESDIR ?= /etc/udev/rules.d
SYSTEMDUNITDIR ?= /etc/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DKMSSRCDIR ?= /usr/src/xen-tpmback-$(VERSION)

subst_paths = sed -e 's|/usr/lib/vtpm/|$(LIBEXECDIR)/|g' -e 's|/usr/sbin/vtpmctl|$(SBINDIR)/vtpmctl|g' \
	-e 's|/etc/default/vtpm|$(SYSCONFDIR)/default/vtpm|g'

install: install-tools

install-tools:
	$(MAKE) -C $(TOP)/tools/vtpmctl vtpmctl vtpmctl.8
	@test -s $(TOP)/tools/vtpmctl/vtpmctl.8 || { echo "install: vtpmctl.8 was not built (rst2man, package python3-docutils)" >&2; exit 1; }
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(TOP)/tools/vtpmctl/vtpmctl $(DESTDIR)$(SBINDIR)/vtpmctl
	install -m 0644 $(TOP)/tools/vtpmctl/vtpmctl.8 $(DESTDIR)$(MANDIR)/man8/vtpmctl.8
	$(subst_paths) $(TOP)/udev/vtpm-hotplug >$(DESTDIR)$(LIBEXECDIR)/vtpm-hotplug
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/vtpm-hotplug
	$(subst_paths) $(TOP)/udev/80-xen-tpmback.rules >$(DESTDIR)$(UDEVRULESDIR)/80-xen-tpmback.rules
	$(subst_paths) '$(TOP)/systemd/vtpm-serve@.service' >'$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-serve@.service'
	$(subst_paths) $(TOP)/systemd/vtpm-unlock.service >$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-unlock.service
	chmod 0644 $(DESTDIR)$(UDEVRULESDIR)/80-xen-tpmback.rules '$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-serve@.service' \
		$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-unlock.service
	@# the vtpm user the servers run as, and /run/vtpm (root:vtpm 0710)
	install -D -m 0644 $(TOP)/systemd/vtpm.sysusers $(DESTDIR)$(SYSUSERSDIR)/vtpm.conf
	install -D -m 0644 $(TOP)/systemd/vtpm.tmpfiles $(DESTDIR)$(TMPFILESDIR)/vtpm.conf
	$(subst_paths) $(TOP)/systemd/vtpm-user.sh >$(DESTDIR)$(LIBEXECDIR)/vtpm-user.sh
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/vtpm-user.sh
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/vtpm ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/default/vtpm exists, kept"; \
	else $(subst_paths) $(TOP)/udev/vtpm.default >$(DESTDIR)$(SYSCONFDIR)/default/vtpm; \
		chmod 0644 $(DESTDIR)$(SYSCONFDIR)/default/vtpm; fi
	@# vtpm-serve@.service needs both to exist (ReadWritePaths=, ReadOnlyPaths=)
	for d in /var/lib/vtpm /etc/vtpm; do \
		[ -d $(DESTDIR)$$d ] || install -d -m 0700 $(DESTDIR)$$d; done
	@if [ -z "$(DESTDIR)" ]; then \
		$(LIBEXECDIR)/vtpm-user.sh $(SYSUSERSDIR)/vtpm.conf $(TMPFILESDIR)/vtpm.conf; \
		echo "install: state goes to /var/lib/vtpm, the key to /etc/vtpm (vtpmctl keygen)"; \
		udevadm control --reload 2>/dev/null || true; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
	fi

# The files DKMS needs to build the module: the top Kbuild, the driver, the
# uapi header it includes, dkms.conf.
DKMS_FILES := Kbuild dkms.conf include/uapi/xen/tpmback.h \
	$(patsubst $(TOP)/%,%,$(filter-out %.mod.c,$(wildcard $(TOP)/drivers/xen-tpmback/*.[ch])) $(TOP)/drivers/xen-tpmback/Kbuild)

install-dkms:
	@test -n "$(VERSION)" || { echo "install-dkms: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
	set -e; for f in $(DKMS_FILES); do \
		install -D -m 0644 $(TOP)/$$f $(DESTDIR)$(DKMSSRCDIR)/$$f; done
	@if [ -z "$(DESTDIR)" ]; then echo "install-dkms: now dkms add -m xen-tpmback -v $(VERSION) && dkms install -m xen-tpmback -v $(VERSION)"; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vtpmctl $(DESTDIR)$(MANDIR)/man8/vtpmctl.8 \
		$(DESTDIR)$(LIBEXECDIR)/vtpm-hotplug $(DESTDIR)$(LIBEXECDIR)/vtpm-user.sh \
		$(DESTDIR)$(UDEVRULESDIR)/80-xen-tpmback.rules \
		'$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-serve@.service' $(DESTDIR)$(SYSTEMDUNITDIR)/vtpm-unlock.service \
		$(DESTDIR)$(SYSUSERSDIR)/vtpm.conf $(DESTDIR)$(TMPFILESDIR)/vtpm.conf
	-rmdir $(DESTDIR)$(LIBEXECDIR)
	@echo "uninstall: $(SYSCONFDIR)/default/vtpm, /etc/vtpm, /var/lib/vtpm (vTPM state) and the user vtpm are kept"

# --- Debian packages -----------------------------------------------------------
# Built from a copy of this tree in build/deb/ (dpkg-buildpackage writes its
# results next to the source directory); lintian runs on the result.
deb:
	$(TOP)/scripts/build-debs.sh

check-deb:
	$(TOP)/tests/packaging/check.sh
