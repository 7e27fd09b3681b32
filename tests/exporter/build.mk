# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# promgen, the exporter tests' helper, included by the top-level Makefile:
#   promgen render FILE...   what `migscope replay FILE --format prom` prints
#   promgen families         the metric table (docs/metrics.md is checked against it)
#   promgen bench FILE       in-process cost of the metrics update, render, gzip
# It links libmigscope.a like the unit tests.

PROMGEN := $(BUILD)/tests/exporter/promgen

TEST_HELPERS += $(PROMGEN)

$(PROMGEN): tests/exporter/promgen.c $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)
