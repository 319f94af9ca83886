# SPDX-License-Identifier: MIT
# End-to-end tests in Bochs; included by the top Makefile (TOP, BUILD set).
#   make e2e      run tests/e2e/guest/tests/*.sh in a Bochs guest
#   make demo     boot the minimal kernel on 2 CPUs and show thinvisor live
#   make kernel   only build (or find) the guest kernel
#   make e2e-ci   CI's runs: minimal kernel on the default model and on
#                 sandy_bridge (no 1 GB EPT pages), the load, VMM and
#                 extension scripts on icelake_u (an MTF that does not trap,
#                 sub-page permissions), the refusal check on
#                 core2_penryn_t9600 (no EPT), Debian's kernel with page-
#                 table isolation on, the expected-panic run (make
#                 e2e-panic) and the triple-fault runs (make e2e-triple)
#   make e2e-windows  the suite against the Windows build: thinvisor.sys
#                 (production and FailStep test builds) run by the NT shim
#                 (tests/windows/ntshim) on the minimal kernel, 2 CPUs;
#                 E2E_KERNEL=debian works too (docs/windows.md)
#   make e2e-models  the suite on every CPU model that can run thinvisor, the
#                 refusal check on those that cannot (tests/e2e/models.sh)
#   make soak     SOAK_S guest seconds of load/unload, hotplug, stress and
#                 NMIs at once on 2 CPUs (tests/e2e/soak.sh)
# Knobs (environment or make variables): E2E_KERNEL=minimal|debian,
# E2E_CPUS, E2E_CPU_MODEL, E2E_CMDLINE_EXTRA, E2E_PTI=1, E2E_MEM, E2E_TIMEOUT,
# E2E_SCRIPT_TIMEOUT, E2E_EXTRA=DIR, E2E_TESTS=GLOB, E2E_VERBOSE=1, SOAK_S.
# See docs/testing.md.

E2E_KERNEL ?= minimal
E2E_CPUS ?= 2
export E2E_KERNEL E2E_CPUS E2E_MEM E2E_TIMEOUT E2E_SCRIPT_TIMEOUT E2E_EXTRA E2E_TESTS \
	E2E_VERBOSE E2E_CPU_MODEL E2E_CMDLINE_EXTRA E2E_PTI SOAK_S E2E_HOST

E2E_DIR := $(TOP)/tests/e2e
# tvctl is packed into the guest when the tree has it.
E2E_TOOLS := $(if $(wildcard $(TOP)/tools/tvctl.c),tvctl)

.PHONY: e2e-windows e2e-windows-images
.PHONY: e2e demo kernel e2e-ci e2e-deps e2e-panic e2e-triple e2e-models soak

e2e-deps:
	$(TOP)/scripts/deps.sh e2e

e2e: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/run.sh test

demo: e2e-deps $(E2E_TOOLS)
	E2E_KERNEL=minimal E2E_CPUS=2 $(E2E_DIR)/run.sh demo

kernel: e2e-deps
	$(E2E_DIR)/kernel.sh $(E2E_KERNEL)

# CI pins its own settings: E2E_CPU_MODEL or E2E_CMDLINE_EXTRA from the
# caller's environment must not change what CI checks.
E2E_CI := env -u E2E_CPU_MODEL -u E2E_CMDLINE_EXTRA -u E2E_PTI
e2e-ci: e2e-deps $(E2E_TOOLS) e2e-windows-images
	$(E2E_CI) E2E_KERNEL=minimal E2E_CPUS=2 $(E2E_DIR)/run.sh test
	$(E2E_CI) E2E_KERNEL=minimal E2E_CPUS=2 E2E_CPU_MODEL=corei7_sandy_bridge_2600k \
		$(E2E_DIR)/run.sh test
	$(E2E_CI) E2E_KERNEL=minimal E2E_CPUS=2 E2E_CPU_MODEL=corei7_icelake_u \
		E2E_TESTS='[017]*' $(E2E_DIR)/run.sh test
	$(E2E_CI) E2E_KERNEL=minimal E2E_CPUS=1 E2E_CPU_MODEL=core2_penryn_t9600 \
		$(E2E_DIR)/run.sh refuse
	$(E2E_CI) E2E_KERNEL=debian E2E_CPUS=2 E2E_PTI=1 $(E2E_DIR)/run.sh test
	$(E2E_CI) E2E_KERNEL=minimal $(E2E_DIR)/panic.sh
	$(E2E_CI) E2E_KERNEL=minimal $(E2E_DIR)/triple.sh
	$(E2E_CI) E2E_KERNEL=minimal E2E_CPUS=2 E2E_HOST=windows $(E2E_DIR)/run.sh test

# The images of platform/windows/windows.mk the Windows e2e run packs:
# production, test (FailStep) and test with built-in extensions.
e2e-windows-images:
	$(MAKE) windows $(BUILD)/windows/test/thinvisor.sys \
		$(BUILD)/windows/ext/thinvisor.sys

e2e-windows: e2e-deps $(E2E_TOOLS) e2e-windows-images
	E2E_HOST=windows E2E_KERNEL=$(E2E_KERNEL) E2E_CPUS=$(E2E_CPUS) $(E2E_DIR)/run.sh test

e2e-models: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/models.sh

SOAK_S ?= 120
soak: e2e-deps $(E2E_TOOLS)
	E2E_CPUS=2 $(E2E_DIR)/soak.sh

# An exit nothing handles must dump the guest state and panic, not hang.
e2e-panic: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/panic.sh

# A guest triple fault resets the machine (or, as a debug option, panics).
e2e-triple: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/triple.sh
