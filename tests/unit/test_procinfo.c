// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* QEMU command-line identity and SDT argument-spec checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "procinfo.h"
#include "sdt.h"

static void parse(const char *const *argv, size_t n, struct ms_proc *p)
{
	char buf[1024];
	size_t len = 0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(buf + len, argv[i], l);
		len += l;
	}
	proc_parse_cmdline(buf, len, p);
}

static void test_libvirt_style(void **state)
{
	const char *argv[] = {"/usr/libexec/qemu-kvm",
			      "-name",
			      "guest=web01,debug-threads=on",
			      "-uuid",
			      "5a8c2e1f-3b4d-4e6f-9a7b-1c2d3e4f5a6b",
			      "-incoming",
			      "defer"};
	struct ms_proc p;

	parse(argv, 7, &p);
	assert_string_equal(p.vm, "web01");
	assert_string_equal(p.uuid, "5a8c2e1f-3b4d-4e6f-9a7b-1c2d3e4f5a6b");
	assert_true(p.pflags & MS_PROC_INCOMING);
}

static void test_plain_name_and_escapes(void **state)
{
	const char *argv[] = {"qemu-system-x86_64", "--name", "a,,b,process=qemu-ab"};
	struct ms_proc p;

	parse(argv, 3, &p);
	assert_string_equal(p.vm, "a,b");
	assert_string_equal(p.uuid, "");
	assert_false(p.pflags & MS_PROC_INCOMING);
}

static void test_guest_key_not_first(void **state)
{
	const char *argv[] = {"qemu", "-name", "process=p,guest=vm2"};
	struct ms_proc p;

	parse(argv, 3, &p);
	assert_string_equal(p.vm, "vm2");
}

static void test_option_without_value(void **state)
{
	const char *argv[] = {"qemu", "-uuid"};
	struct ms_proc p;

	parse(argv, 2, &p);
	assert_string_equal(p.uuid, "");
}

static void test_long_name_truncated(void **state)
{
	char name[200];
	const char *argv[] = {"qemu", "-name", name};
	struct ms_proc p;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	parse(argv, 3, &p);
	assert_int_equal(strlen(p.vm), sizeof(p.vm) - 1);
}

static void test_identity_of_self(void **state)
{
	struct ms_proc p;

	assert_int_equal(proc_identity(getpid(), &p), 0);
	assert_int_equal(p.h.kind, MS_EV_PROC);
	assert_int_equal(p.h.pid, (uint32_t)getpid());
	assert_true(p.start_ns > 0);
	assert_true(strstr(p.exe, "test_procinfo") != NULL);
	assert_int_equal(proc_identity(999999999, &p) < 0, 1);
}

static struct sdt_probe mk(const char *name, const char *args)
{
	return (struct sdt_probe){.provider = "qemu", .name = (char *)name, .args = (char *)args};
}

static void test_arg_specs(void **state)
{
	struct sdt_probe v[] = {
	    mk("a", "8@%rax -4@-12(%rbp) 8@(%rsp) 4@$5"),
	    mk("b", "-8@quota_dirtyrate.27(%rip)"),
	    mk("c", ""),
	    mk("d", "8@%rdi 8@"),
	};
	struct sdt_list l = {.v = v, .n = 4};
	const char *bad = NULL;

	assert_true(sdt_args_supported(&l, "qemu", "a", &bad));
	assert_false(sdt_args_supported(&l, "qemu", "b", &bad));
	assert_string_equal(bad, "-8@quota_dirtyrate.27(%rip)");
	assert_true(sdt_args_supported(&l, "qemu", "c", &bad));
	assert_false(sdt_args_supported(&l, "qemu", "d", &bad));
	assert_int_equal(sdt_count(&l, "qemu", "a"), 1);
	assert_int_equal(sdt_count(&l, "qemu", "zz"), 0);
	assert_true(sdt_has_provider(&l, "qemu"));
	assert_false(sdt_has_provider(&l, "libc"));
}

static void test_sdt_read_errors(void **state)
{
	struct sdt_list l;
	char err[256];

	assert_true(sdt_read("/nonexistent/x", &l, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot open"));
	assert_true(sdt_read("/etc/hostname", &l, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not an ELF"));
	/* an ELF without SDT notes: readable, no probes */
	assert_int_equal(sdt_read("/bin/true", &l, err, sizeof(err)), 0);
	assert_false(sdt_has_provider(&l, "qemu"));
	sdt_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libvirt_style),
	    cmocka_unit_test(test_plain_name_and_escapes),
	    cmocka_unit_test(test_guest_key_not_first),
	    cmocka_unit_test(test_option_without_value),
	    cmocka_unit_test(test_long_name_truncated),
	    cmocka_unit_test(test_identity_of_self),
	    cmocka_unit_test(test_arg_specs),
	    cmocka_unit_test(test_sdt_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
