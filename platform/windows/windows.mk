# SPDX-License-Identifier: MIT
# thinvisor.sys with Debian's mingw-w64, its image checks, and the NT
# stand-in tests.  Included by the top Makefile (TOP and BUILD exported).
#
#   make windows        build/windows/thinvisor.sys, test-signed
#   make windows-test   image checks + signature + stand-in + unit tests
#
# Nothing generated is committed: the import library and the throwaway
# signing certificate are made under $(BUILD)/windows on every clean build.

WIN_TOP := $(or $(TOP),$(CURDIR))
WIN_OUT := $(or $(BUILD),$(WIN_TOP)/build)/windows
WIN_DIR := $(WIN_TOP)/platform/windows
WIN_TESTS := $(WIN_TOP)/tests/windows

MINGW ?= x86_64-w64-mingw32-
WIN_CC := $(MINGW)gcc
WIN_DLLTOOL := $(MINGW)dlltool
WIN_NM := $(MINGW)nm
WIN_SYSROOT ?= /usr/x86_64-w64-mingw32
PYTHON ?= python3
OSSLSIGNCODE ?= osslsigncode
OPENSSL ?= openssl
HOSTCC ?= gcc

WIN_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Werror \
	-Werror=implicit-function-declaration \
	-I$(WIN_SYSROOT)/include/ddk -I$(WIN_TOP) -I$(WIN_DIR) \
	-D_AMD64_ -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00 \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-stack-check \
	-mno-stack-arg-probe -mno-red-zone -fno-omit-frame-pointer \
	-fno-strict-aliasing -mgeneral-regs-only \
	-ffunction-sections -fdata-sections
# No -shared: an EXE-type native image like MSVC's drivers.  No runtime
# pseudo-relocations or auto-import: there is no CRT to apply them.
WIN_LDFLAGS := -s -nostdlib -nostartfiles -Wl,--subsystem,native:10.0 \
	-Wl,--image-base,0x140000000 -Wl,--entry,DriverEntry \
	-Wl,--dynamicbase -Wl,--nxcompat -Wl,--disable-high-entropy-va \
	-Wl,--enable-reloc-section -Wl,--disable-auto-import \
	-Wl,--disable-runtime-pseudo-reloc -Wl,--file-alignment,0x200 \
	-Wl,--section-alignment,0x1000 -Wl,--gc-sections \
	-Wl,--no-insert-timestamp
WIN_LIBS := -L$(WIN_OUT) -lntoskrnl_tv -lhal

WIN_SRCS := $(wildcard $(WIN_TOP)/core/*.c) $(wildcard $(WIN_DIR)/*.c)
WIN_OBJS := $(patsubst $(WIN_TOP)/%.c,$(WIN_OUT)/obj/%.o,$(WIN_SRCS)) \
	$(WIN_OUT)/obj/arch/x86/vmx_stub.o
WIN_HDRS := $(wildcard $(WIN_TOP)/core/*.h $(WIN_TOP)/arch/x86/*.h \
	$(WIN_DIR)/*.h)

WIN_UNSIGNED := $(WIN_OUT)/unsigned/thinvisor.sys
WIN_SYS := $(WIN_OUT)/thinvisor.sys
WIN_CERT := $(WIN_OUT)/cert/thinvisor-test.crt
WIN_KEY := $(WIN_OUT)/cert/thinvisor-test.key
WIN_IMPLIB := $(WIN_OUT)/libntoskrnl_tv.a

.PHONY: windows windows-test windows-check

windows: $(WIN_SYS)

$(WIN_OUT)/obj/%.o: $(WIN_TOP)/%.c $(WIN_HDRS)
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WIN_CFLAGS) -c $< -o $@

$(WIN_OUT)/obj/arch/x86/vmx_stub.o: $(WIN_TOP)/arch/x86/vmx_stub.S
	@mkdir -p $(dir $@)
	$(WIN_CC) -c $< -o $@

# One import library: every name of mingw's libntoskrnl.a plus ours, so
# the image has one ntoskrnl.exe descriptor.  Data exports stay DATA.
$(WIN_IMPLIB): $(WIN_DIR)/import/extra.def
	@mkdir -p $(dir $@)
	{ echo 'LIBRARY ntoskrnl.exe'; echo 'EXPORTS'; \
	  $(WIN_NM) $(WIN_SYSROOT)/lib/libntoskrnl.a | \
	  awk '$$2 == "T" { t[$$3] = 1 } \
	       $$2 == "I" && $$3 ~ /^__imp_/ { i[substr($$3, 7)] = 1 } \
	       END { for (n in i) print n (n in t ? "" : " DATA") }' | \
	  LC_ALL=C sort; \
	  grep -v '^;' $< | grep -v '^$$'; } > $(WIN_OUT)/ntoskrnl_tv.def
	$(WIN_DLLTOOL) -d $(WIN_OUT)/ntoskrnl_tv.def -l $@ -k

$(WIN_UNSIGNED): $(WIN_OBJS) $(WIN_IMPLIB)
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WIN_LDFLAGS) -o $@ $(WIN_OBJS) $(WIN_LIBS)

# A throwaway code-signing certificate, never committed.
$(WIN_CERT):
	@mkdir -p $(dir $@)
	$(OPENSSL) req -x509 -newkey rsa:2048 -nodes -days 30 \
		-subj "/CN=thinvisor throwaway test signing" \
		-addext extendedKeyUsage=codeSigning \
		-keyout $(WIN_KEY) -out $@ 2>/dev/null

$(WIN_SYS): $(WIN_UNSIGNED) $(WIN_CERT)
	rm -f $@
	$(OSSLSIGNCODE) sign -certs $(WIN_CERT) -key $(WIN_KEY) -h sha256 \
		-n thinvisor -in $< -out $@ >/dev/null

windows-check: $(WIN_SYS)
	$(PYTHON) $(WIN_DIR)/pe_check.py --allow $(WIN_DIR)/imports.allow \
		$(WIN_UNSIGNED) $(WIN_SYS)
	$(PYTHON) $(WIN_DIR)/pe_check.py --self-test $(WIN_DIR)/imports.allow \
		$(WIN_SYS)
	$(OSSLSIGNCODE) verify -CAfile $(WIN_CERT) -in $(WIN_SYS) | \
		tee $(WIN_OUT)/verify.txt | grep -q 'Signature verification: ok' || \
		{ cat $(WIN_OUT)/verify.txt; echo 'windows: signature check failed' >&2; exit 1; }
	@echo "windows-check: signature verification ok"

WIN_HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
	-Wno-unused-parameter -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer

# The stand-in: native gcc, ASan + UBSan; route.c and the core's error
# names are linked natively for the decision unit tests.
WIN_STUB_SRCS := $(wildcard $(WIN_TESTS)/ntstub*.c)
$(WIN_OUT)/ntstub: $(WIN_STUB_SRCS) $(WIN_TESTS)/ntstub.h $(WIN_DIR)/route.c \
		$(WIN_DIR)/route.h $(WIN_TOP)/core/errors.c $(WIN_TOP)/core/types.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(WIN_HOST_CFLAGS) -I$(WIN_TOP)/tests/unit -I$(WIN_TOP) \
		-I$(WIN_DIR) -o $@ $(WIN_STUB_SRCS) $(WIN_DIR)/route.c \
		$(WIN_TOP)/core/errors.c -lpthread

windows-test: windows-check $(WIN_OUT)/ntstub
	$(WIN_OUT)/ntstub $(WIN_SYS) $(WIN_OUT)/standin
