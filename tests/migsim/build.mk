# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# migsim and migsim-vfiofs, included by the top-level Makefile.
#
# The probes are made the way QEMU's dtrace backend makes them, with
# systemtap-sdt-dev's dtrace: -h for the header (QEMU_<EVENT>() macros and
# QEMU_<EVENT>_ENABLED() semaphore tests), -G for the object that defines
# the semaphores in .probes. Generated files go to $(BUILD)/tests/migsim/,
# since $(BUILD)/migsim is the binary.

MIGSIM_DIR := tests/migsim
MIGSIM_OUT := $(BUILD)/tests/migsim
MIGSIM_SRCS := migsim.c migsim_src.c migsim_dst.c migsim_vfio.c migsim_log.c migsim_stream.c migsim_multifd.c
MIGSIM_OBJS := $(addprefix $(MIGSIM_OUT)/,$(MIGSIM_SRCS:.c=.o))
MIGSIM_PROBES_H := $(MIGSIM_OUT)/migsim_probes.h
MIGSIM_PROBES_O := $(MIGSIM_OUT)/migsim_probes.o
VFIOFS_OBJ := $(MIGSIM_OUT)/vfiofs.o
DTRACE ?= dtrace
FUSE3_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null || echo -I/usr/include/fuse3)
FUSE3_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3 -lpthread)

TEST_HELPERS += $(BUILD)/migsim $(BUILD)/migsim-vfiofs

$(MIGSIM_PROBES_H): $(MIGSIM_DIR)/migsim_probes.d
	@mkdir -p $(@D)
	$(call msg,DTRACE,$@)
	$(Q)$(DTRACE) -h -s $< -o $@

$(MIGSIM_PROBES_O): $(MIGSIM_DIR)/migsim_probes.d
	@mkdir -p $(@D)
	$(call msg,DTRACE,$@)
	$(Q)$(DTRACE) -G -s $< -o $@

# Static pattern rules: they win over the top-level $(BUILD)/%.o rule.
$(MIGSIM_OBJS): $(MIGSIM_OUT)/%.o: $(MIGSIM_DIR)/%.c $(MIGSIM_PROBES_H)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(MIGSIM_OUT) $(CFLAGS) -MMD -MP -c -o $@ $<

$(VFIOFS_OBJ): $(MIGSIM_OUT)/%.o: $(MIGSIM_DIR)/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(FUSE3_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/migsim: $(MIGSIM_OBJS) $(MIGSIM_PROBES_O)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/migsim-vfiofs: $(VFIOFS_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(FUSE3_LIBS)

# migsim-8.2, migsim-9.1: the same model firing what those releases have
# (migsim.h MIGSIM_QEMU, migsim_trace.h): their probe set and argument lists,
# from a provider file made from migsim_probes.d by provider.sh.
MIGSIM_VERSIONS := 8.2 9.1

define MIGSIM_VERSION_RULES
MIGSIM_V_OUT_$(1) := $(BUILD)/tests/migsim-$(1)
MIGSIM_V_OBJS_$(1) := $$(addprefix $$(MIGSIM_V_OUT_$(1))/,$(MIGSIM_SRCS:.c=.o))
TEST_HELPERS += $(BUILD)/migsim-$(1)

# not .d: build/ *.d are make dependency files
$$(MIGSIM_V_OUT_$(1))/migsim_probes.provider: $(MIGSIM_DIR)/migsim_probes.d $(MIGSIM_DIR)/provider.sh
	@mkdir -p $$(@D)
	$$(call msg,GEN,$$@)
	$$(Q)sh $(MIGSIM_DIR)/provider.sh $(1) < $$< > $$@.tmp && mv $$@.tmp $$@

$$(MIGSIM_V_OUT_$(1))/migsim_probes.h: $$(MIGSIM_V_OUT_$(1))/migsim_probes.provider
	$$(call msg,DTRACE,$$@)
	$$(Q)$(DTRACE) -h -s $$< -o $$@

$$(MIGSIM_V_OUT_$(1))/migsim_probes.o: $$(MIGSIM_V_OUT_$(1))/migsim_probes.provider
	$$(call msg,DTRACE,$$@)
	$$(Q)$(DTRACE) -G -s $$< -o $$@

$$(MIGSIM_V_OBJS_$(1)): $$(MIGSIM_V_OUT_$(1))/%.o: $(MIGSIM_DIR)/%.c $$(MIGSIM_V_OUT_$(1))/migsim_probes.h
	@mkdir -p $$(@D)
	$$(call msg,CC,$$@)
	$$(Q)$(CC) $(CPPFLAGS) -I$$(MIGSIM_V_OUT_$(1)) -DMIGSIM_QEMU=$(subst .,,$(1)) $(CFLAGS) -MMD -MP -c -o $$@ $$<

$(BUILD)/migsim-$(1): $$(MIGSIM_V_OBJS_$(1)) $$(MIGSIM_V_OUT_$(1))/migsim_probes.o
	$$(call msg,LINK,$$@)
	$$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ -lpthread
endef
$(foreach v,$(MIGSIM_VERSIONS),$(eval $(call MIGSIM_VERSION_RULES,$(v))))
