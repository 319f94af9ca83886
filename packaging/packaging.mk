# SPDX-License-Identifier: MIT
# Install, sign and package thinvisor.  Included by the top Makefile (TOP,
# BUILD, KDIR and TV_VERSION set there).  See docs/install.md.
#
#   make install        thinvisor.ko into /lib/modules/<kernel>/extra (+ depmod),
#                       tvctl into $(PREFIX)/sbin, its man page and bash
#                       completion (when the tree has them), and
#                       /etc/modprobe.d/thinvisor.conf; DESTDIR= supported
#   make uninstall      removes exactly those files (+ depmod)
#   make sign KEY= CERT=   sign build/module/host/thinvisor.ko (or KO=) with
#                       the kernel's scripts/sign-file (docs/secure-boot.md)
#   make deb            build/deb/thinvisor-dkms_*.deb and tvctl_*.deb
#   make package-test   build the packages, install, dkms build, remove, and
#                       check install/uninstall, sign and modinfo
#                       (scripts/test-package.sh; root, Debian 12)

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MODPROBEDIR ?= /etc/modprobe.d
DEPMOD ?= /sbin/depmod
MODINFO ?= /sbin/modinfo
INSTALL ?= install

TV_KO ?= $(BUILD)/module/host/thinvisor.ko
# The kernel the module was built for, from its own vermagic.
tv_ko_release = $(firstword $(shell $(MODINFO) -F vermagic $(TV_KO) 2>/dev/null))
TV_MAN := $(TOP)/docs/tvctl.8
TV_COMPLETION := $(TOP)/tools/tvctl.bash-completion
TV_MODPROBE_CONF := $(TOP)/packaging/modprobe.d/thinvisor.conf
# What the DKMS source tree holds: exactly what Kbuild builds from.
TV_DKMS_SRC := Kbuild VERSION core arch include platform/linux
TV_DKMS_DIR := /usr/src/thinvisor-$(TV_VERSION)

.PHONY: install uninstall install-module install-tvctl install-modprobe \
	install-dkms-src uninstall-dkms-src sign deb package-test

install: install-module install-tvctl install-modprobe

install-module: module
	@rel='$(tv_ko_release)'; test -n "$$rel" || \
		{ echo "install: cannot read the kernel release of $(TV_KO)" >&2; exit 1; }; \
	echo "install: thinvisor.ko for $$rel"; \
	$(INSTALL) -D -m 0644 $(TV_KO) $(DESTDIR)/lib/modules/$$rel/extra/thinvisor.ko && \
	if [ -z "$(DESTDIR)" ]; then $(DEPMOD) -a $$rel; fi

# The man page and the completion are installed when the tree has them.
install-tvctl: tvctl
	$(INSTALL) -D -m 0755 $(BUILD)/tools/tvctl $(DESTDIR)$(SBINDIR)/tvctl
	@if [ -f $(TV_MAN) ]; then \
		echo "$(INSTALL) -D -m 0644 $(TV_MAN) $(DESTDIR)$(MANDIR)/man8/tvctl.8"; \
		$(INSTALL) -D -m 0644 $(TV_MAN) $(DESTDIR)$(MANDIR)/man8/tvctl.8; \
	else echo "install: no docs/tvctl.8 in this tree, no man page"; fi
	@if [ -f $(TV_COMPLETION) ]; then \
		echo "$(INSTALL) -D -m 0644 $(TV_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/tvctl"; \
		$(INSTALL) -D -m 0644 $(TV_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/tvctl; \
	else echo "install: no tools/tvctl.bash-completion in this tree, no completion"; fi

install-modprobe:
	$(INSTALL) -D -m 0644 $(TV_MODPROBE_CONF) $(DESTDIR)$(MODPROBEDIR)/thinvisor.conf

# The module's sources for DKMS (dkms add/build/install thinvisor/VERSION).
# The Debian package installs dkms.conf itself (dh_dkms): NO_DKMS_CONF=1.
install-dkms-src:
	@d=$(DESTDIR)$(TV_DKMS_DIR); mkdir -p $$d && \
	(cd $(TOP) && find $(TV_DKMS_SRC) -type f \( -name '*.[chS]' -o -name Kbuild \
		-o -name VERSION \) -print) | while read -r f; do \
		$(INSTALL) -D -m 0644 $(TOP)/$$f $$d/$$f || exit 1; done; \
	$(INSTALL) -m 0755 $(TOP)/packaging/dkms-post-build $$d/dkms-post-build && \
	if [ -z "$(NO_DKMS_CONF)" ]; then \
		sed 's/#MODULE_VERSION#/$(TV_VERSION)/' $(TOP)/dkms.conf > $$d/dkms.conf; fi; \
	echo "install: DKMS sources in $$d"

uninstall-dkms-src:
	rm -rf $(DESTDIR)$(TV_DKMS_DIR)

# Every kernel's copy that make install put there (the module is the same
# source for each), then the tools and the modprobe file.
uninstall:
	@for ko in $(DESTDIR)/lib/modules/*/extra/thinvisor.ko; do \
		test -f "$$ko" || continue; rm -f "$$ko"; echo "uninstall: removed $$ko"; \
		rel=$${ko#$(DESTDIR)/lib/modules/}; rel=$${rel%%/*}; \
		rmdir --ignore-fail-on-non-empty $(DESTDIR)/lib/modules/$$rel/extra; \
		if [ -z "$(DESTDIR)" ]; then $(DEPMOD) -a $$rel; fi; \
	done
	rm -f $(DESTDIR)$(SBINDIR)/tvctl $(DESTDIR)$(MANDIR)/man8/tvctl.8 \
		$(DESTDIR)$(BASHCOMPDIR)/tvctl $(DESTDIR)$(MODPROBEDIR)/thinvisor.conf

# The kernel's own signing tool, from the headers the module was built
# against (Debian: linux-kbuild-<ver>); the hash is the kernel's.
SIGN_FILE ?= $(KDIR)/scripts/sign-file
SIGN_HASH ?= $(or $(patsubst "%",%,$(shell sed -n 's/^CONFIG_MODULE_SIG_HASH=//p' \
	$(KDIR)/.config 2>/dev/null)),sha256)
KO ?= $(TV_KO)
sign:
	@test -n "$(KEY)" -a -n "$(CERT)" || { echo "usage: make sign KEY=mok.key" \
		"CERT=mok.der [KO=path/to/thinvisor.ko] (docs/secure-boot.md)" >&2; exit 2; }
	@test -x "$(SIGN_FILE)" || { echo "sign: no $(SIGN_FILE): install the" \
		"kernel's headers (linux-headers-amd64, which brings linux-kbuild) or set SIGN_FILE" >&2; exit 1; }
	@if [ "$(KO)" = "$(TV_KO)" ]; then $(MAKE) module; fi
	$(SIGN_FILE) $(SIGN_HASH) $(KEY) $(CERT) $(KO)
	@tail -c 28 $(KO) | grep -q '~Module signature appended~' || \
		{ echo "sign: $(KO) has no signature after sign-file" >&2; exit 1; }
	@echo "sign: $(KO) signed ($(SIGN_HASH)), signer: $$($(MODINFO) -F signer $(KO))"

# The packages are built from a copy of the tree (never from build/), with
# debian/ from packaging/debian and a changelog made from VERSION.
TV_DEB_OUT := $(BUILD)/deb
TV_DEB_SRC := $(TV_DEB_OUT)/thinvisor-$(TV_VERSION)
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh_dkms >/dev/null || \
		$(TOP)/scripts/deps.sh package
	rm -rf $(TV_DEB_OUT)
	mkdir -p $(TV_DEB_SRC)
	tar -C $(TOP) --exclude=./build --exclude=./.git -cf - . | tar -C $(TV_DEB_SRC) -xf -
	cp -r $(TOP)/packaging/debian $(TV_DEB_SRC)/debian
	printf '%s\n' "thinvisor ($(TV_VERSION)) unstable; urgency=medium" "" \
		"  * Release $(TV_VERSION) (from the VERSION file)." "" \
		" -- thinvisor developers <dev@thinvisor.invalid>  $$(date -R)" \
		> $(TV_DEB_SRC)/debian/changelog
	cd $(TV_DEB_SRC) && env -u TOP -u BUILD -u MAKEFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc
	@ls $(TV_DEB_OUT)/*.deb

package-test:
	$(TOP)/scripts/test-package.sh
