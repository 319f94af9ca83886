# SPDX-License-Identifier: MIT
# Host unit tests of the core's pure decisions: cmocka, ASan + UBSan.
# Each tests/unit/test_*.c is one binary linked with every core source that
# executes no privileged instruction, plus the fake platform.
BUILD ?= build
UDIR := $(BUILD)/unit

# Core files that run VMX instructions or the arch stub: not host-testable.
PRIV_CORE := core/vcpu.c core/exit.c core/vmm.c core/dump.c core/root.c core/exit_ext.c core/ext_root.c core/guest_vmx.c
UNIT_CORE := $(filter-out $(PRIV_CORE),$(wildcard core/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(UDIR)/%,$(wildcard tests/unit/test_*.c))

UCFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -I. -Itests/unit -Iinclude
ULIBS := -lcmocka

.PHONY: all run
all: run

$(UDIR)/%: tests/unit/%.c $(UNIT_CORE) tests/unit/fake_platform.c $(wildcard core/*.h arch/x86/*.h tests/unit/*.h platform/linux/*.h include/thinvisor/*.h)
	@mkdir -p $(UDIR)
	$(CC) $(UCFLAGS) -o $@ $< $(UNIT_CORE) tests/unit/fake_platform.c $(ULIBS)

run: $(UNIT_TESTS)
	@tests/unit/run.sh $(UNIT_TESTS)
