# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mssplit, the two-host tests' helper, included by the top-level Makefile: it
# splits a one-host recording into a source's and a destination's file as two
# hosts would have recorded them (docs/figures.md "Two clocks"). It links
# libmigscope.a like the unit tests.

MSSPLIT := $(BUILD)/mssplit

TEST_HELPERS += $(MSSPLIT)

$(MSSPLIT): tests/tools/mssplit.c $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)
