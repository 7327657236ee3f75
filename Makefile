# sloop: top-level build.  Kernel rules live in Kbuild; this file drives the
# kernel build, the user-space programs, the tests and the demo.
#
#   make                 module and programs
#   make check           unit tests (ASan/UBSan) and the VM suite
#   make check-debug     the VM suite on a KASAN/lockdep/kmemleak kernel
#   make demo            show sloop working in a VM
#   make deps            install the Debian packages everything needs
#
# Variables: KVER, KDIR (kernel tree), KERNEL (bzImage for the VM),
# TESTS (VM tests by name), SAN=1 (sanitized programs), V=1.

VERSION := $(shell cat $(CURDIR)/VERSION)

# The running kernel usually has no build tree here: use the newest
# installed Debian kernel that has one.
KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | sort -V | \
	  while read v; do [ -d /lib/modules/$$v/build ] && echo $$v; done | tail -n1)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?= /boot/vmlinuz-$(KVER)
export KVER KDIR KERNEL

CC ?= cc
PKGS := libsodium libnl-genl-3.0 sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

SAN ?= 0
ifeq ($(SAN),1)
BUILD := build/san
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
       -fno-sanitize-recover=all
else
BUILD := build/rel
OPT := -O2 -g
endif

CFLAGS_ALL := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter -Iinclude -Idaemon/common $(PKG_CFLAGS) $(OPT) \
	-DSLOOP_VERSION='"$(VERSION)"' $(CPPFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(OPT) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lm

# Every program directory holds main.c plus library files; the library
# files of all programs are also linked into the unit test runner.
PROG_DIRS := daemon/sloopd:sloopd tools/sloopctl:sloopctl \
	     daemon/scb:sloop-scb daemon/scm:sloop-scm
COMMON_SRCS := $(wildcard daemon/common/*.c)
lib_srcs = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
prog_dir = $(firstword $(subst :, ,$(1)))
prog_name = $(lastword $(subst :, ,$(1)))
PROGS := $(foreach p,$(PROG_DIRS),$(if $(wildcard $(call prog_dir,$(p))/main.c),$(call prog_name,$(p))))
PROG_LIB_SRCS := $(foreach p,$(PROG_DIRS),$(call lib_srcs,$(call prog_dir,$(p))))
UNIT_SRCS := $(wildcard tests/unit/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

.PHONY: all module progs check check-unit check-vm check-debug demo deps \
	bench install dkms-install style clean distclean unit-bin

all: module progs

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# The stand-alone test tools too: VM scenarios find them in $(BUILD).
progs: $(addprefix $(BUILD)/,$(PROGS)) tests/noise-vectors \
	$(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

-include $(shell find build -name '*.d' 2>/dev/null)

$(BUILD)/libsloop.a: $(call obj,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define prog_rule
$(BUILD)/$(call prog_name,$(1)): $(call obj,$(wildcard $(call prog_dir,$(1))/*.c)) $(BUILD)/libsloop.a
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(PROG_DIRS),$(eval $(call prog_rule,$(p))))

$(BUILD)/unit-tests: $(call obj,$(UNIT_SRCS) $(PROG_LIB_SRCS)) $(BUILD)/libsloop.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# Stand-alone test programs: tests/tools/NAME.c -> $(BUILD)/NAME
$(BUILD)/%: $(BUILD)/tests/tools/%.o $(BUILD)/libsloop.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# `tests/noise-vectors FILE` checks any cacophony-format vector file.
tests/noise-vectors: $(BUILD)/noise-vectors
	cp $< $@

unit-bin:
	$(MAKE) SAN=1 build/san/unit-tests

# ---------------------------------------------------------------- tests

check: deps-if-missing
	$(MAKE) style
	$(MAKE) module
	$(MAKE) SAN=1 progs build/san/unit-tests
	tests/check

check-unit:
	SLOOP_SRCDIR=$(CURDIR) build/san/unit-tests $(UNIT)

# The VM suite uses the sanitized programs so that a daemon bug found by
# a scenario shows up as an ASan report, not as a flaky test.
check-vm:
	SLOOP_BIN=$(CURDIR)/build/san tests/vm/run $(TESTS)

check-debug: deps-if-missing
	tests/vm/debug-kernel build
	$(MAKE) module KDIR=$$(tests/vm/debug-kernel kdir)
	$(MAKE) SAN=1 progs
	SLOOP_BIN=$(CURDIR)/build/san KDIR=$$(tests/vm/debug-kernel kdir) \
		KERNEL=$$(tests/vm/debug-kernel image) \
		MODROOT=$$(tests/vm/debug-kernel modroot) SLOOP_DEBUG_KERNEL=1 \
		tests/vm/run $(TESTS)
	$(MAKE) clean-module

demo: deps-if-missing
	$(MAKE) module
	$(MAKE) progs
	SLOOP_BIN=$(CURDIR)/$(BUILD) tests/vm/run --demo

bench: deps-if-missing
	$(MAKE) module
	$(MAKE) progs
	SLOOP_BIN=$(CURDIR)/$(BUILD) tests/bench/run

deps:
	tools/install-deps

deps-if-missing:
	@tools/install-deps --if-missing

# ---------------------------------------------------------------- style

# checkpatch.pl comes from Debian's linux-source-6.1, unpacked on demand.
CHECKPATCH ?= build/linux-source/scripts/checkpatch.pl

$(CHECKPATCH):
	@test -n "$(wildcard /usr/src/linux-source-6.1.tar.*)" || \
		{ echo "linux-source-6.1 is not installed: make deps"; exit 1; }
	mkdir -p build/linux-source
	tar -C build/linux-source --strip-components=1 -xf \
		$(firstword $(wildcard /usr/src/linux-source-6.1.tar.*)) \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch $@

style: $(CHECKPATCH)
	perl $(CHECKPATCH) --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f kmod/*.c kmod/*.h include/sloop/*.h

# ---------------------------------------------------------------- install

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
MODLOADDIR ?= $(PREFIX)/lib/modules-load.d
DKMS_SRC := $(DESTDIR)/usr/src/sloop-$(VERSION)

# A unit ships only with its program (sloop-scb, sloop-scm are built once
# their main.c exists): a unit for a missing binary would fail at start.
install: progs
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MODLOADDIR) $(DESTDIR)$(SYSCONFDIR)/sloop/peers
	install -m 0755 $(addprefix $(BUILD)/,$(PROGS)) $(DESTDIR)$(SBINDIR)/
	for f in docs/man/*.[1-8]; do [ -e "$$f" ] || continue; \
		s=$${f##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 0644 tools/etc/options $(DESTDIR)$(SYSCONFDIR)/sloop/
	install -m 0644 tools/etc/scb.conf $(DESTDIR)$(SYSCONFDIR)/sloop/
	install -m 0644 tools/etc/peers/example $(DESTDIR)$(SYSCONFDIR)/sloop/peers/
	for f in ip-up ip-down; do [ ! -e tools/etc/$$f ] || \
		install -m 0755 tools/etc/$$f $(DESTDIR)$(SYSCONFDIR)/sloop/; \
		install -d $(DESTDIR)$(SYSCONFDIR)/sloop/$$f.d; done
	install -m 0644 tools/systemd/sloop.conf $(DESTDIR)$(MODLOADDIR)/
	for p in $(PROGS); do case $$p in \
		sloopd) u=sloopd@.service ;; sloop-scb) u=sloop-scb.service ;; \
		sloop-scm) u=sloop-scm.service ;; *) continue ;; esac; \
		[ -e tools/systemd/$$u ] || continue; \
		sed 's|@SBINDIR@|$(SBINDIR)|g' tools/systemd/$$u \
			> $(DESTDIR)$(UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done

# Only what DKMS needs: it runs `make -C KDIR M=<build dir>` itself and
# kbuild reads ./Kbuild, so no Makefile is shipped.
dkms-install:
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/include/sloop
	install -m 0644 Kbuild VERSION $(DKMS_SRC)/
	install -m 0644 $(wildcard kmod/*.c kmod/*.h) $(DKMS_SRC)/kmod/
	install -m 0644 include/sloop/*.h $(DKMS_SRC)/include/sloop/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf

# ---------------------------------------------------------------- clean

clean-module:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1

clean: clean-module
	rm -rf build tests/noise-vectors

distclean: clean
	rm -rf $(HOME)/.cache/sloop
