# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make            build build/migscope, the BPF skeletons and the test helpers
# make check      install what is missing, build, run every test (as root)
# make demo       install what is missing, run the default migsim scenario under record, replay it
# make bench      performance figures beside their baselines (after make check's setup)
# make bench-adopt  the last bench run becomes docs/bench.json and docs/performance.md's table
# make soak       serve and record for 20 minutes of QEMU-like process churn (docs/hardening.md)
# make fuzz-long  an hour of fuzzing per libFuzzer target (docs/hardening.md)
# make SAN=1      the same build with ASan + UBSan, into build/san
# make SAN=thread  the same build with ThreadSanitizer, into build/tsan
# V=1             show full commands

BUILD ?= build
ifeq ($(SAN),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SAN),thread)
BUILD := build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE $(SANFLAGS)
CPPFLAGS += -Iinclude -Ibpf -Iuser -Iexporters -I$(BUILD)
LDFLAGS += $(SANFLAGS)
LDLIBS += -lbpf -lelf -lz -lmicrohttpd -lncursesw -lm -lpthread -lcrypt

# libbpf's headers include <linux/errno.h>, which wants the multiarch asm/ dir
MULTIARCH := $(shell $(CC) -dumpmachine 2>/dev/null)
BPF_CFLAGS := -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude \
	-Ibpf -idirafter /usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c exporters/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
MAIN_OBJ := $(BUILD)/user/main.o
LIB := $(BUILD)/libmigscope.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all clean check demo bench bench-adopt soak vmlinux unit deps install format format-check
.DEFAULT_GOAL := all
# nothing built is an intermediate to delete (skeletons, BPF objects, generated headers)
.SECONDARY:

all: $(BUILD)/migscope

# tests/ adds its own helpers (migsim, fuzz targets) through these fragments.
-include $(wildcard tests/*/build.mk)

all: $(TEST_HELPERS)

$(BUILD)/migscope: $(MAIN_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Every userspace object may include a skeleton; generate them first.
$(BUILD)/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

deps:
	@scripts/deps.sh

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^vmlinux/')

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

# .clang-format is the style; CI fails on a file that drifts from it
format-check:
	$(call msg,FORMAT,check)
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

check: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory SAN=1 all unit
	$(Q)$(MAKE) --no-print-directory SAN=thread all
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: all
	$(Q)tests/bench/run.sh

# the last run (build/bench.json) becomes the reference: docs/bench.json and
# docs/performance.md's table, made from it (tests/bench/table.py)
bench-adopt:
	$(Q)test -f $(BUILD)/bench.json || { echo "no $(BUILD)/bench.json: make bench first"; exit 1; }
	$(Q)cp $(BUILD)/bench.json docs/bench.json
	$(Q)/usr/bin/python3 tests/bench/table.py docs/bench.json --update docs/performance.md

soak: all
	$(Q)$(MAKE) --no-print-directory $(BUILD)/migsim $(BUILD)/migsim-vfiofs $(BUILD)/migsim-8.2 $(BUILD)/migsim-9.1
	$(Q)bash tests/soak/soak.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
