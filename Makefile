# SPDX-License-Identifier: MIT
# thinvisor: every build and test entry point.  See README.md.
#
#   make            the Linux module (running kernel's headers, else Debian's)
#                   and the tvctl CLI
#   make test       everything: deps, check, unit tests, Windows build checks, e2e
#   make demo       the main job: boot a guest in Bochs, load, show, unload
#   make unit       host unit tests (cmocka, ASan + UBSan)
#   make tvctl-test tvctl's man page, help and completion against the binary
#   make fuzz       libFuzzer harnesses of the core's decisions, FUZZ_S=N
#                   seconds each (60); make fuzz-ci: 8 s each, in make test
#   make e2e        the Bochs end-to-end suite (E2E_KERNEL, E2E_CPUS, E2E_EXTRA)
#   make windows    thinvisor.sys with mingw-w64
#   make bench      the guest benchmark in Bochs
#   make check      checkpatch, sparse + W=1, cppcheck, shellcheck, kernel-doc
#                   and the compile-time checks: no finding allowed
#   make compdb     compile_commands.json of the module, tvctl and unit tests
#   make deps       install what is missing (Debian, root)
#   make install    module, tvctl, man page, completion, modprobe.d (DESTDIR)
#   make deb        Debian packages: thinvisor-dkms and tvctl
#   make sign       sign the module with your MOK (KEY=, CERT=)
#   make package-test  the install/package checks (root; in make test)

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
export TOP BUILD

HOST_KDIR := $(wildcard /lib/modules/$(shell uname -r)/build/Makefile)
DEBIAN_KDIR := $(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64/Makefile)))
KDIR ?= $(patsubst %/Makefile,%,$(or $(HOST_KDIR),$(DEBIAN_KDIR)))

# One version for the module (Kbuild reads VERSION too), tvctl, the
# Windows driver's version resource and the packages.
TV_VERSION := $(strip $(shell cat $(TOP)/VERSION))
TV_VERSION_CFLAGS := -DTV_VERSION_STRING='"$(TV_VERSION)"'
export TV_VERSION

CC ?= cc
TOOL_CFLAGS := -O2 -g -Wall -Wextra -Werror -I$(TOP)/include $(TV_VERSION_CFLAGS)

.PHONY: all module tvctl tvctl-test unit test demo deps clean check compdb
.DEFAULT_GOAL := all

# Everything CI runs: unit tests, the Windows driver's checks and stand-in,
# and the Bochs suite on the minimal and on Debian's kernel (2 CPUs each).
test: deps
	$(MAKE) check
	$(MAKE) unit
	$(MAKE) tvctl-test
	$(MAKE) fuzz-ci
	$(MAKE) windows-test
	$(MAKE) package-test
	$(MAKE) e2e-ci

all: module tvctl

module:
	@test -n "$(KDIR)" || { echo "no kernel headers found: run 'make deps' or set KDIR" >&2; exit 1; }
	scripts/build-module.sh "$(KDIR)" "$(BUILD)/module/host"

tvctl: $(BUILD)/tools/tvctl

# tvctl check decides with the module's own rules: core/caps.c and
# core/errors.c are compiled in (tools/host/tv_host.h gives them their types).
TVCTL_SRCS := tools/tvctl.c tools/tvctl_stats.c tools/tvctl_check.c tools/tvctl_ext.c \
	core/caps.c core/errors.c
$(BUILD)/tools/tvctl: $(TVCTL_SRCS) $(wildcard tools/*.h tools/host/*.h include/thinvisor/*.h core/*.h arch/x86/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) -I$(TOP) -I$(TOP)/tools/host -o $@ $(TVCTL_SRCS)

# tvctl's man page, help and bash completion against the binary.
tvctl-test: tvctl
	tests/tools/run.sh $(BUILD)/tools/tvctl

deps:
	scripts/deps.sh

# Code health: every analyser clean, or the build fails (scripts/check.sh;
# the justified checkpatch exceptions are in .checkpatch.conf).
check:
	scripts/deps.sh check
	scripts/check.sh

# compile_commands.json at the top for clangd and other editors: the real
# compiler calls of a clean module build (kbuild's own database, with the
# per-kernel source copy mapped back to the tree), tvctl and the unit tests.
compdb:
	scripts/compdb.sh "$(KDIR)"

unit:
	$(MAKE) -f tests/unit/unit.mk

clean:
	rm -rf $(BUILD)

-include tests/e2e/e2e.mk
-include tests/fuzz/fuzz.mk
-include platform/windows/windows.mk
-include bench/bench.mk
-include packaging/packaging.mk
