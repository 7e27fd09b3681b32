# libFuzzer targets: build/fuzz/fuzz_<name> from tests/fuzz/fuzz_<name>.c with
# the user/ sources they name in FUZZ_SRCS_<name>. Built by `make fuzz` and by
# the fuzz smoke suite (tests/fuzz/test_fuzz.sh), not by `make all`.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -std=gnu11 -D_GNU_SOURCE
FUZZ_SRCS_tracefile := user/tracefile.c user/catalog.c user/util.c
FUZZ_SRCS_qemulog := user/qemulog.c user/catalog.c user/util.c
FUZZ_SRCS_qlogreader := user/qemulog.c user/catalog.c user/util.c
FUZZ_SRCS_webconfig := exporters/web_config.c user/util.c
FUZZ_LIBS_webconfig := -lcrypt
FUZZ_SRCS_http := exporters/http_server.c exporters/prom.c exporters/web_config.c user/util.c
FUZZ_LIBS_http := -lmicrohttpd -lcrypt -lpthread
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard user/*.c user/*.h include/*.h exporters/*.c exporters/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Iinclude -Iuser -Iexporters -o $@ $< $(FUZZ_SRCS_$*) -lz $(FUZZ_LIBS_$*)

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

# A campaign: every target for FUZZ_LONG_SECONDS (3600) each, the corpus in
# the repository minimised afterwards (tests/fuzz/long.sh, docs/fuzzing.md).
.PHONY: fuzz-long
fuzz-long:
	$(Q)tests/fuzz/long.sh
