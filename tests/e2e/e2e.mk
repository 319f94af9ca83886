# SPDX-License-Identifier: MIT
# End-to-end tests in Bochs; included by the top Makefile (TOP, BUILD set).
#   make e2e      run tests/e2e/guest/tests/*.sh in a Bochs guest
#   make demo     boot the minimal kernel on 2 CPUs and show thinvisor live
#   make kernel   only build (or find) the guest kernel
#   make e2e-ci   e2e on the minimal and on the Debian kernel, 2 CPUs each,
#                 then the expected-panic run (make e2e-panic)
# Knobs (environment or make variables): E2E_KERNEL=minimal|debian,
# E2E_CPUS, E2E_MEM, E2E_TIMEOUT, E2E_SCRIPT_TIMEOUT, E2E_EXTRA=DIR,
# E2E_TESTS=GLOB, E2E_VERBOSE=1.  See docs/testing.md.

E2E_KERNEL ?= minimal
E2E_CPUS ?= 2
export E2E_KERNEL E2E_CPUS E2E_MEM E2E_TIMEOUT E2E_SCRIPT_TIMEOUT E2E_EXTRA E2E_TESTS \
	E2E_VERBOSE

E2E_DIR := $(TOP)/tests/e2e
# tvctl is packed into the guest when the tree has it.
E2E_TOOLS := $(if $(wildcard $(TOP)/tools/tvctl.c),tvctl)

.PHONY: e2e demo kernel e2e-ci e2e-deps e2e-panic

e2e-deps:
	$(TOP)/scripts/deps.sh e2e

e2e: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/run.sh test

demo: e2e-deps $(E2E_TOOLS)
	E2E_KERNEL=minimal E2E_CPUS=2 $(E2E_DIR)/run.sh demo

kernel: e2e-deps
	$(E2E_DIR)/kernel.sh $(E2E_KERNEL)

e2e-ci: e2e-deps $(E2E_TOOLS)
	E2E_KERNEL=minimal E2E_CPUS=2 $(E2E_DIR)/run.sh test
	E2E_KERNEL=debian E2E_CPUS=2 $(E2E_DIR)/run.sh test
	E2E_KERNEL=minimal $(E2E_DIR)/panic.sh

# An exit nothing handles must dump the guest state and panic, not hang.
e2e-panic: e2e-deps $(E2E_TOOLS)
	$(E2E_DIR)/panic.sh
