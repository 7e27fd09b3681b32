# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The benchmark helpers of `make bench` (tests/bench/run.sh), included by the
# top-level Makefile. They are built with `make` like the other test helpers,
# so that a change that breaks them breaks the build, not the benchmark day.
#
# probe_loop uses the probes migsim uses: the header and the semaphore
# object that tests/migsim/build.mk makes from migsim_probes.d with dtrace.

BENCH_DIR := tests/bench
BENCH_OUT := $(BUILD)/bench
BENCH_PROBES_H := $(BUILD)/tests/migsim/migsim_probes.h
BENCH_PROBES_O := $(BUILD)/tests/migsim/migsim_probes.o
BENCH_BINS := $(addprefix $(BENCH_OUT)/,probe_loop usdt_floor bpf_stats sysloop gentrace \
	zinflate sysattach tlscale)

TEST_HELPERS += $(BENCH_BINS)

$(BENCH_OUT)/probe_loop: $(BENCH_DIR)/probe_loop.c $(BENCH_PROBES_H) $(BENCH_PROBES_O)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(dir $(BENCH_PROBES_H)) $(CFLAGS) -MMD -MP -o $@ $< -lpthread \
		$(BENCH_PROBES_O) $(LDFLAGS)

$(BENCH_OUT)/%.bpf.o: $(BENCH_DIR)/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c -o $@ $<

$(BENCH_OUT)/%.skel.h: $(BENCH_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BENCH_OUT)/usdt_floor: $(BENCH_DIR)/usdt_floor.c $(BENCH_OUT)/floor.skel.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(BENCH_OUT) $(CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS) -lbpf -lelf -lz
.SECONDARY: $(BENCH_OUT)/floor.bpf.o $(BENCH_OUT)/sysattach.bpf.o

$(BENCH_OUT)/bpf_stats: $(BENCH_DIR)/bpf_stats.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS) -lbpf -lelf -lz

$(BENCH_OUT)/sysloop: $(BENCH_DIR)/sysloop.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS)

$(BENCH_OUT)/gentrace: $(BENCH_DIR)/gentrace.c $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BENCH_OUT)/tlscale: $(BENCH_DIR)/tlscale.c $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BENCH_OUT)/zinflate: $(BENCH_DIR)/zinflate.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS) -lz

$(BENCH_OUT)/sysattach: $(BENCH_DIR)/sysattach.c $(BENCH_OUT)/sysattach.skel.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -I$(BENCH_OUT) $(CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS) -lbpf -lelf -lz
