# SPDX-License-Identifier: MIT
# libFuzzer harnesses of the core's pure decoders and decisions, each
# checking the core against a reference of its own written from the SDM.
# Included by the top Makefile:
#   make fuzz [FUZZ_S=N]     build, then run every harness N seconds (60)
#   make fuzz-ci             the same for FUZZ_CI_S seconds (8): in make test
#   make fuzz-build          build only; FUZZ_ONLY=mtrr,ept limits both
# Each tests/fuzz/fuzz_NAME.c is one binary build/fuzz/fuzz_NAME, linked
# with every host-testable core source (as in tests/unit/unit.mk) and the
# unit tests' fake platform, both compiled once with the fuzzer's
# instrumentation, and the reference helpers tests/fuzz/ref_*.c.
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_CI_S ?= 8
FUZZ_DIR := $(BUILD)/fuzz
comma := ,

# Core files that run VMX instructions or the arch stub: unit.mk's list.
FUZZ_PRIV_CORE := $(shell sed -n 's/^PRIV_CORE := //p' tests/unit/unit.mk)
FUZZ_CORE := $(filter-out $(FUZZ_PRIV_CORE),$(wildcard core/*.c))
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(if $(FUZZ_ONLY),$(filter $(subst $(comma), ,$(FUZZ_ONLY)),$(FUZZ_ALL)),$(FUZZ_ALL))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_HEADERS := $(wildcard core/*.h arch/x86/*.h tests/unit/*.h tests/fuzz/*.h) \
	tests/fuzz/fuzz.mk

FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -I. -Iinclude -Itests/unit -Itests/fuzz
# The reference helpers are the judge, not the subject: sanitized, but not
# instrumented for coverage, so cov:/ft: count the core and the harness.
FUZZ_REF_CFLAGS := $(filter-out -fsanitize=fuzzer%,$(FUZZ_CFLAGS)) \
	-fsanitize=address,undefined

FUZZ_SUBJECT_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_CORE) tests/unit/fake_platform.c)
FUZZ_HELPER_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard tests/fuzz/ref_*.c))

.PHONY: fuzz fuzz-ci fuzz-build
.SECONDARY: $(FUZZ_SUBJECT_OBJS) $(FUZZ_HELPER_OBJS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_REF_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# -fno-inline: the core's inline decisions (tv_cpuid_shape, tv_reg, core/
# root.h) stay functions of their own, instrumented and counted as core,
# even when called from uninstrumented reference code.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SUBJECT_OBJS) $(FUZZ_HELPER_OBJS) \
		$(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fno-inline -o $@ $< $(FUZZ_SUBJECT_OBJS) \
		$(FUZZ_HELPER_OBJS)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_S) $(FUZZ_DIR) $(FUZZ_NAMES)

fuzz-ci: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_CI_S) $(FUZZ_DIR) $(FUZZ_NAMES)
