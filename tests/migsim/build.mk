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
MIGSIM_SRCS := migsim.c migsim_src.c migsim_dst.c migsim_vfio.c migsim_log.c migsim_stream.c
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

# migsim-8.2: the same model firing QEMU 8.2's shapes of the probes whose
# argument lists changed since (migsim_trace.h, MIGSIM_SHAPES=82). Its provider
# file is migsim_probes.d with those probes as 8.2's trace-events declare them.
MIGSIM82_OUT := $(BUILD)/tests/migsim-8.2
MIGSIM82_OBJS := $(addprefix $(MIGSIM82_OUT)/,$(MIGSIM_SRCS:.c=.o))
MIGSIM82_D := $(MIGSIM82_OUT)/migsim_probes.provider # not .d: build/ *.d are make dependency files

TEST_HELPERS += $(BUILD)/migsim-8.2

$(MIGSIM82_D): $(MIGSIM_DIR)/migsim_probes.d $(MIGSIM_DIR)/build.mk
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)sed -e 's/^probe migrate_transferred(.*/probe migrate_transferred(uint64_t transferred,uint64_t time_spent,uint64_t bandwidth,uint64_t size);/' \
		-e 's/^probe vfio_migration_set_state(.*/probe vfio_migration_set_state(const char * name,const char * state);/' \
		-e '/^probe vfio_migration_set_device_state(/d' \
		-e 's/^probe vfio_migration_state_notifier(.*/probe vfio_migration_state_notifier(const char * name,const char * state);/' \
		$< > $@.tmp && mv $@.tmp $@

$(MIGSIM82_OUT)/migsim_probes.h: $(MIGSIM82_D)
	$(call msg,DTRACE,$@)
	$(Q)$(DTRACE) -h -s $< -o $@

$(MIGSIM82_OUT)/migsim_probes.o: $(MIGSIM82_D)
	$(call msg,DTRACE,$@)
	$(Q)$(DTRACE) -G -s $< -o $@

$(MIGSIM82_OBJS): $(MIGSIM82_OUT)/%.o: $(MIGSIM_DIR)/%.c $(MIGSIM82_OUT)/migsim_probes.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(MIGSIM82_OUT) -DMIGSIM_SHAPES=82 $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/migsim-8.2: $(MIGSIM82_OBJS) $(MIGSIM82_OUT)/migsim_probes.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread
