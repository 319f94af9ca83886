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
WIN_WINDRES := $(MINGW)windres
WIN_DLLTOOL := $(MINGW)dlltool
WIN_NM := $(MINGW)nm
WIN_SYSROOT ?= /usr/x86_64-w64-mingw32
PYTHON ?= python3
OSSLSIGNCODE ?= osslsigncode
OPENSSL ?= openssl
HOSTCC ?= gcc

# -mgeneral-regs-only, -fno-tree-loop-distribute-patterns, -fno-jump-tables:
# VMX-root code must not touch SIMD state, our own memset/memcpy
# (string.c) must not be turned back into calls to themselves, and every
# branch out of a function must be one root_check.py can follow.
WIN_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Werror \
	-Werror=implicit-function-declaration \
	-I$(WIN_SYSROOT)/include/ddk -I$(WIN_TOP) -I$(WIN_TOP)/include -I$(WIN_DIR) \
	-D_AMD64_ -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00 \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-stack-check \
	-mno-stack-arg-probe -mno-red-zone -fno-omit-frame-pointer \
	-fno-strict-aliasing -mgeneral-regs-only \
	-fno-tree-loop-distribute-patterns -fno-jump-tables \
	-ffunction-sections -fdata-sections
# No -shared: an EXE-type native image like MSVC's drivers.  No runtime
# pseudo-relocations or auto-import: there is no CRT to apply them.
WIN_LDFLAGS := -nostdlib -nostartfiles -Wl,--subsystem,native:10.0 \
	-Wl,--image-base,0x140000000 -Wl,--entry,DriverEntry \
	-Wl,--dynamicbase -Wl,--nxcompat -Wl,--disable-high-entropy-va \
	-Wl,--enable-reloc-section -Wl,--disable-auto-import \
	-Wl,--disable-runtime-pseudo-reloc -Wl,--file-alignment,0x200 \
	-Wl,--section-alignment,0x1000 -Wl,--gc-sections \
	-Wl,--no-insert-timestamp -Wl,-T,$(WIN_DIR)/tvext.ld
WIN_LIBS := -L$(WIN_OUT) -lntoskrnl_tv -lhal

WIN_SRCS := $(wildcard $(WIN_TOP)/core/*.c) $(wildcard $(WIN_DIR)/*.c)
WIN_HDRS := $(wildcard $(WIN_TOP)/core/*.h $(WIN_TOP)/arch/x86/*.h \
	$(WIN_DIR)/*.h $(WIN_TOP)/include/thinvisor/*.h)

# Extensions linked into the driver (include/thinvisor/extension.h,
# TV_EXT_BUILTIN; docs/extending.md "Windows"): C files, relative to the
# top of the tree or absolute, registered in this order.  None by default.
#   make windows TV_WIN_EXTENSIONS="extensions/portable/portable.c"
TV_WIN_EXTENSIONS ?=
# The image the Windows e2e test of extensions loads (74-windows-ext):
# the test build with the sample extension and a second one after it.
WIN_E2E_EXTENSIONS := extensions/portable/portable.c \
	tests/windows/ext/second.c
win_ext_src = $(if $(filter /%,$(1)),$(1),$(WIN_TOP)/$(1))
# One object per extension, named after its file: obj/ext/NAME.o.
win_ext_objs = $(foreach e,$(2),$(1)/obj/ext/$(basename $(notdir $(e))).o)
$(foreach n,$(sort $(foreach e,$(TV_WIN_EXTENSIONS),$(notdir $(e)))), \
	$(if $(filter-out 1,$(words $(filter %/$(n) $(n),$(TV_WIN_EXTENSIONS)))), \
	$(error TV_WIN_EXTENSIONS: two files named $(n))))
WIN_ASMS := $(wildcard $(WIN_TOP)/arch/x86/*.S)

WIN_CERT := $(WIN_OUT)/cert/thinvisor-test.crt
WIN_KEY := $(WIN_OUT)/cert/thinvisor-test.key
WIN_IMPLIB := $(WIN_OUT)/libntoskrnl_tv.a

# Two images from the same sources:
#   build/windows/thinvisor.sys       production: no test hooks (FailStep
#                                     is not even a string in it)
#   build/windows/test/thinvisor.sys  test build, -DTV_FAULT_INJECTION as
#                                     on Linux: honours FailStep; never ship
WIN_SYS := $(WIN_OUT)/thinvisor.sys
WIN_UNSIGNED := $(WIN_OUT)/unsigned/thinvisor.sys
WIN_TSYS := $(WIN_OUT)/test/thinvisor.sys
WIN_TUNSIGNED := $(WIN_OUT)/test/unsigned/thinvisor.sys

.PHONY: windows windows-test windows-check windows-tools FORCE
FORCE:

windows: $(WIN_SYS) $(WIN_INF)

# A fresh machine has no mingw-w64: install it (scripts/deps.sh, root) or
# say exactly what is missing.
WIN_TOOLS := $(WIN_CC) $(WIN_DLLTOOL) $(WIN_NM) $(MINGW)objdump $(WIN_WINDRES) \
	$(OSSLSIGNCODE) $(OPENSSL) $(PYTHON)
windows-tools:
	@missing() { m=; for t in $(WIN_TOOLS); do \
		command -v $$t >/dev/null 2>&1 || m="$$m $$t"; done; \
		test -d $(WIN_SYSROOT)/include/ddk || m="$$m $(WIN_SYSROOT)/include/ddk"; \
		echo "$$m"; }; \
	m=$$(missing); test -z "$$m" && exit 0; \
	echo "windows: missing:$$m; running scripts/deps.sh windows"; \
	$(WIN_TOP)/scripts/deps.sh windows; m=$$(missing); test -z "$$m" && exit 0; \
	echo "windows: cannot build thinvisor.sys: missing$$m" \
		"(Debian: run scripts/deps.sh windows as root)" >&2; exit 1

win_objs = $(patsubst $(WIN_TOP)/%.c,$(1)/obj/%.o,$(WIN_SRCS)) \
	$(patsubst $(WIN_TOP)/%.S,$(1)/obj/%.o,$(WIN_ASMS)) $(WIN_RES) \
	$(call win_ext_objs,$(1),$(2))

# The version resource and the INF take their version from the top-level
# VERSION file (the module's, tvctl's and the packages' too).
WIN_VERSION := $(strip $(shell cat $(WIN_TOP)/VERSION))
WIN_VERSION_H := $(WIN_OUT)/res/tv_version.h
WIN_RES := $(WIN_OUT)/res/thinvisor.res.o
WIN_INF := $(WIN_OUT)/thinvisor.inf
$(WIN_VERSION_H): $(WIN_TOP)/VERSION
	@mkdir -p $(dir $@)
	@v='$(WIN_VERSION)'; IFS=.; set -- $$v; \
	test $$# -eq 3 || { echo "windows: VERSION '$$v' is not MAJOR.MINOR.PATCH" >&2; exit 1; }; \
	printf '#define TV_VER_MAJOR %s\n#define TV_VER_MINOR %s\n#define TV_VER_PATCH %s\n#define TV_VERSION_STR "%s"\n' \
		$$1 $$2 $$3 '$(WIN_VERSION)' > $@
$(WIN_RES): $(WIN_DIR)/thinvisor.rc $(WIN_VERSION_H) | windows-tools
	$(WIN_WINDRES) -I$(dir $(WIN_VERSION_H)) -O coff -o $@ $<
# DriverVer: the date of the build (mm/dd/yyyy) and VERSION as w.x.y.0.
$(WIN_INF): $(WIN_DIR)/thinvisor.inf $(WIN_TOP)/VERSION
	@mkdir -p $(dir $@)
	sed -e 's|@VERSION@|$(WIN_VERSION).0|' -e "s|@DATE@|$$(date -u +%m/%d/%Y)|" $< > $@

# Symbols for WinDbg: each link writes DIR/thinvisor.pdb (public symbols
# and the section map: names in stacks; gcc emits no CodeView types or
# lines) and a CodeView entry naming thinvisor.pdb (no build path) with a
# GUID that is the MD5 of the objects, so that both links of a variant
# have the same .buildid section (root_check.py compares them) and a
# rebuild from the same objects matches the same PDB.  The shipped PDB
# goes next to the signed image: build/windows/thinvisor.pdb.
win_pdb = -Wl,--pdb=$(1)/thinvisor.pdb \
	-Wl,--build-id=0x$(firstword $(shell cat $(2) | md5sum))

# One extension object: $(1) output dir, $(2) extra CFLAGS, $(3) source.
# The driver's flags (no SIMD, our memset/memcpy), only thinvisor's public
# headers meant: an extension includes "thinvisor/extension.h".
define WIN_EXT_OBJ
$(call win_ext_objs,$(1),$(3)): $(call win_ext_src,$(3)) $(WIN_HDRS) | windows-tools
	@mkdir -p $$(dir $$@)
	$(WIN_CC) $(WIN_CFLAGS) $(2) -c $$< -o $$@
endef

# One variant: $(1) output dir, $(2) extra CFLAGS, $(3) the extensions
# linked in.  The linker writes a map and an image with symbols (syms/)
# for root_check.py; the shipped image is the same link with -s, and
# root_check.py checks that the code of both is byte-identical.
define WIN_VARIANT
$(1)/obj/%.o: $(WIN_TOP)/%.c $(WIN_HDRS) | windows-tools
	@mkdir -p $$(dir $$@)
	$(WIN_CC) $(WIN_CFLAGS) $(2) -c $$< -o $$@

$(1)/obj/%.o: $(WIN_TOP)/%.S $(WIN_HDRS) | windows-tools
	@mkdir -p $$(dir $$@)
	$(WIN_CC) -I$(WIN_TOP) -c $$< -o $$@

$(foreach e,$(3),$(eval $(call WIN_EXT_OBJ,$(1),$(2),$(e))))

# Relink when the list of extensions changes (an object less is no
# newer than the image).
$(1)/extensions.list: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$(3)' | cmp -s - $$@ || echo '$(3)' > $$@

$(1)/syms/thinvisor.sys: $(call win_objs,$(1),$(3)) $(WIN_IMPLIB) $(WIN_DIR)/tvext.ld \
		$(1)/extensions.list
	@mkdir -p $$(dir $$@)
	$(WIN_CC) $(WIN_LDFLAGS) -Wl,-Map,$(1)/syms/thinvisor.map \
		$$(call win_pdb,$(1)/syms,$(call win_objs,$(1),$(3))) -o $$@ \
		$(call win_objs,$(1),$(3)) $(WIN_LIBS)

$(1)/unsigned/thinvisor.sys: $(1)/syms/thinvisor.sys
	@mkdir -p $$(dir $$@)
	$(WIN_CC) -s $(WIN_LDFLAGS) $$(call win_pdb,$(1)/unsigned,$(call win_objs,$(1),$(3))) \
		-o $$@ $(call win_objs,$(1),$(3)) $(WIN_LIBS)
	cp $(1)/unsigned/thinvisor.pdb $(1)/thinvisor.pdb

$(1)/thinvisor.sys: $(1)/unsigned/thinvisor.sys $(WIN_CERT)
	rm -f $$@
	$(OSSLSIGNCODE) sign -certs $(WIN_CERT) -key $(WIN_KEY) -h sha256 \
		-n thinvisor -in $$< -out $$@ >/dev/null
endef

$(eval $(call WIN_VARIANT,$(WIN_OUT),,$(TV_WIN_EXTENSIONS)))
$(eval $(call WIN_VARIANT,$(WIN_OUT)/test,-DTV_FAULT_INJECTION=1,$(TV_WIN_EXTENSIONS)))
# build/windows/ext/thinvisor.sys: the e2e image with built-in extensions.
WIN_ESYS := $(WIN_OUT)/ext/thinvisor.sys
$(eval $(call WIN_VARIANT,$(WIN_OUT)/ext,-DTV_FAULT_INJECTION=1,$(WIN_E2E_EXTENSIONS)))

# One import library: every name of mingw's libntoskrnl.a plus ours, so
# the image has one ntoskrnl.exe descriptor.  Data exports stay DATA.
$(WIN_IMPLIB): $(WIN_DIR)/import/extra.def | windows-tools
	@mkdir -p $(dir $@)
	{ echo 'LIBRARY ntoskrnl.exe'; echo 'EXPORTS'; \
	  $(WIN_NM) $(WIN_SYSROOT)/lib/libntoskrnl.a | \
	  awk '$$2 == "T" { t[$$3] = 1 } \
	       $$2 == "I" && $$3 ~ /^__imp_/ { i[substr($$3, 7)] = 1 } \
	       END { for (n in i) print n (n in t ? "" : " DATA") }' | \
	  LC_ALL=C sort; \
	  grep -v '^;' $< | grep -v '^$$'; } > $(WIN_OUT)/ntoskrnl_tv.def
	$(WIN_DLLTOOL) -d $(WIN_OUT)/ntoskrnl_tv.def -l $@ -k

# A throwaway code-signing certificate, never committed.
$(WIN_CERT): | windows-tools
	@mkdir -p $(dir $@)
	$(OPENSSL) req -x509 -newkey rsa:2048 -nodes -days 30 \
		-subj "/CN=thinvisor throwaway test signing" \
		-addext extendedKeyUsage=codeSigning \
		-keyout $(WIN_KEY) -out $@ 2>/dev/null

# Set to --xfail "why" to mark the unwind check as expected to fail.
WIN_UNWIND_XFAIL :=

windows-check: $(WIN_SYS) $(WIN_TSYS) $(WIN_ESYS) $(WIN_INF)
	$(PYTHON) $(WIN_DIR)/package_check.py inf $(WIN_INF) $(WIN_VERSION)
	$(PYTHON) $(WIN_DIR)/package_check.py res $(WIN_SYS) $(WIN_VERSION) \
		$(WIN_OUT)/thinvisor.pdb
	$(PYTHON) $(WIN_DIR)/package_check.py self-test $(WIN_INF) $(WIN_SYS) \
		$(WIN_VERSION) $(WIN_OUT)/thinvisor.pdb
	$(PYTHON) $(WIN_DIR)/pe_check.py --allow $(WIN_DIR)/imports.allow \
		$(WIN_UNSIGNED) $(WIN_SYS) $(WIN_TUNSIGNED) $(WIN_TSYS) \
		$(WIN_OUT)/ext/unsigned/thinvisor.sys $(WIN_ESYS)
	$(PYTHON) $(WIN_DIR)/pe_check.py --self-test $(WIN_DIR)/imports.allow \
		$(WIN_SYS)
	$(PYTHON) $(WIN_DIR)/pe_check.py --production $(WIN_SYS) \
		--test-build $(WIN_TSYS)
	$(PYTHON) $(WIN_DIR)/pe_check.py --unwind $(WIN_OUT)/syms/thinvisor.sys \
		$(WIN_SYS) $(WIN_UNWIND_XFAIL)
	for v in $(WIN_OUT) $(WIN_OUT)/test $(WIN_OUT)/ext; do \
		$(PYTHON) $(WIN_DIR)/root_check.py --objdump $(MINGW)objdump \
			$$v/syms/thinvisor.sys $$v/unsigned/thinvisor.sys || exit 1; \
	done
	$(PYTHON) $(WIN_DIR)/root_check.py --self-test --objdump $(MINGW)objdump \
		$(WIN_OUT)/syms/thinvisor.sys $(WIN_UNSIGNED)
	for s in $(WIN_SYS) $(WIN_TSYS) $(WIN_ESYS); do \
		$(OSSLSIGNCODE) verify -CAfile $(WIN_CERT) -in $$s | \
		tee $(WIN_OUT)/verify.txt | grep -q 'Signature verification: ok' || \
		{ cat $(WIN_OUT)/verify.txt; echo "windows: signature check of $$s failed" >&2; exit 1; }; \
	done
	@echo "windows-check: signature verification ok"

WIN_HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
	-Wno-unused-parameter -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer

# The stand-in: native gcc, ASan + UBSan; route.c and the core's error
# names are linked natively for the decision unit tests.
WIN_STUB_SRCS := $(wildcard $(WIN_TESTS)/ntstub*.c)
$(WIN_OUT)/ntstub: $(WIN_STUB_SRCS) $(WIN_TESTS)/ntstub.h $(WIN_DIR)/route.c $(WIN_DIR)/string.c \
		$(WIN_DIR)/route.h $(WIN_TOP)/core/errors.c $(WIN_TOP)/core/types.h \
		$(WIN_TOP)/include/thinvisor/extension.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(WIN_HOST_CFLAGS) -I$(WIN_TOP)/tests/unit -I$(WIN_TOP) -I$(WIN_TOP)/include \
		-I$(WIN_DIR) -o $@ $(WIN_STUB_SRCS) $(WIN_DIR)/route.c \
		$(WIN_TOP)/core/errors.c -lpthread

# Every scenario on the test build; on the production build, FailStep in
# the registry must change nothing; the e2e image with built-in extensions
# must hold them in link order (and refuse here like the others).  Without
# TV_WIN_EXTENSIONS the default images must hold none.
WIN_STUB_EXT := $(if $(TV_WIN_EXTENSIONS),,--extensions '')
windows-test: windows-check $(WIN_OUT)/ntstub $(WIN_ESYS)
	$(WIN_OUT)/ntstub $(WIN_STUB_EXT) $(WIN_TSYS) $(WIN_OUT)/standin
	$(WIN_OUT)/ntstub --production $(WIN_STUB_EXT) $(WIN_SYS) \
		$(WIN_OUT)/standin-production
	$(WIN_OUT)/ntstub --extensions portable,second $(WIN_ESYS) \
		$(WIN_OUT)/standin-ext
