# SPDX-License-Identifier: MIT
# libFuzzer harnesses of the core's pure decoders and decisions, each
# checking the core against a reference of its own written from the SDM.
# Included by the top Makefile:
#   make fuzz [FUZZ_S=N]     build, then run every harness N seconds (60)
#   make fuzz-ci             the same for FUZZ_CI_S seconds (10): in make test
#   make fuzz-build          build only; FUZZ_ONLY=mtrr,ept limits both
# Each tests/fuzz/fuzz_NAME.c is one binary build/fuzz/fuzz_NAME, linked
# with every host-testable core source (as in tests/unit/unit.mk), the unit
# tests' fake platform and the reference helpers tests/fuzz/ref_*.c.
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_CI_S ?= 10
FUZZ_DIR := $(BUILD)/fuzz

# Core files that run VMX instructions or the arch stub (see unit.mk).
FUZZ_PRIV_CORE := core/vcpu.c core/exit.c core/vmm.c core/dump.c
FUZZ_CORE := $(filter-out $(FUZZ_PRIV_CORE),$(wildcard core/*.c))
FUZZ_HELPERS := $(wildcard tests/fuzz/ref_*.c)
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(if $(FUZZ_ONLY),$(filter $(subst $(comma), ,$(FUZZ_ONLY)),$(FUZZ_ALL)),$(FUZZ_ALL))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
comma := ,

FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -I. -Itests/unit -Itests/fuzz

.PHONY: fuzz fuzz-ci fuzz-build

fuzz-build: $(FUZZ_BINS)

# The reference helpers are the judge, not the subject: sanitized, but not
# instrumented for coverage, so cov:/ft: count the core and the harness.
FUZZ_REF_CFLAGS := $(filter-out -fsanitize=fuzzer%,$(FUZZ_CFLAGS)) \
	-fsanitize=address,undefined
FUZZ_HELPER_OBJS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_HELPERS))
FUZZ_HEADERS := $(wildcard core/*.h arch/x86/*.h tests/unit/*.h tests/fuzz/*.h)

.SECONDARY: $(FUZZ_HELPER_OBJS)

$(FUZZ_DIR)/obj/%.o: tests/fuzz/%.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_REF_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE) $(FUZZ_HELPER_OBJS) \
		tests/unit/fake_platform.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_CORE) $(FUZZ_HELPER_OBJS) \
		tests/unit/fake_platform.c

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_S) $(FUZZ_DIR) $(FUZZ_NAMES)

fuzz-ci: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_CI_S) $(FUZZ_DIR) $(FUZZ_NAMES)
