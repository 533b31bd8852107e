# SPDX-License-Identifier: GPL-2.0
#
# xen-tpmback + libvtpm: top-level build and test entry points.
#
#   make deps        install what a fresh Debian 12 machine lacks (idempotent)
#   make             build the module (against the testbed kernel) and userspace
#   make demo        deps + build + boot Xen in QEMU: a guest uses its vTPM
#   make check       deps + build + every test (userspace, KUnit, end to end)
#   make bench       guest-visible latency, libvtpm against a swtpm baseline
#   make soak        long kill -9 crash-consistency run (SOAK_ROUNDS=2000)
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

.PHONY: all deps module userspace clean check check-unit check-kunit check-e2e demo \
	e2e bench soak help

all: module userspace

help:
	@sed -n 's/^#   //p' $(TOP)/Makefile

deps:
	$(TOP)/scripts/install-deps.sh

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

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
