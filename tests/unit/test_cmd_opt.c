// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Option tables (user/cmd_opt.c): what getopt_long accepts and the usage
 * line, both made from one table. The commands' own tables are checked
 * through the binary (tests/badinput: each --help against migscope --help
 * and the synopses in docs/usage.md).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd.h"

enum { K_SPEED = 0x200, K_KEEP };

static const struct cmd_usage demo = {
    .name = "demo",
    .args = {"FILE...", "--replay FILE"},
    .nforms = 2,
    .opts = (const struct cmd_opt[]){
	{"pid", 'p', "PID", CMD_O_SHORT | CMD_O_SHOW_SHORT | CMD_O_REPEAT, 0, 0},
	{"binary", 'b', "PATH", CMD_O_SHORT, CMD_FORM(0), 0},
	{"output", 'o', "OUT", CMD_O_SHORT | CMD_O_SHOW_SHORT, 0, CMD_FORM(0)},
	{"keep", K_KEEP, "S", 0, CMD_FORM(1), 0},
	{"speed", K_SPEED, "X", CMD_O_NESTED, CMD_FORM(1), 0},
	{"batch", 'B', NULL, CMD_O_SHORT, 0, 0},
	{NULL, 'n', "N", CMD_O_SHORT | CMD_O_NESTED, 0, 0},
	{"json", 'j', NULL, CMD_O_SHORT | CMD_O_SHOW_SHORT | CMD_O_OR, 0, 0},
	CMD_COMMON_OPTIONS,
	{},
    }};

/* a long option whose key is a letter that is not a short option */
static const struct cmd_usage letters = {
    .name = "letters",
    .nforms = 1,
    .opts = (const struct cmd_opt[]){{"keep", 'k', "S", 0, 0, 0}, {}},
};

static const struct cmd_usage wide = {.name = "wide",
				      .nforms = 1,
				      .opts = (const struct cmd_opt[]){
					  {"listen", 'l', "ADDR:PORT", 0, 0, 0},
					  {"web-config", 'w', "FILE", 0, 0, 0},
					  {"record", 'o', "FILE", 0, 0, 0},
					  {"expire", 'e', "S", 0, 0, 0},
					  CMD_LIVE_OPTIONS(0),
					  {"interval", 'd', "S", 0, 0, 0},
					  {},
				      }};

static void test_forms(void **state)
{
	char buf[512];
	int n;

	(void)state;
	n = cmd_usage_form(buf, sizeof(buf), &demo, 0);
	assert_string_equal(buf,
			    "FILE... [-p PID ...] [--binary PATH] -o OUT [--batch [-n N] | -j]");
	assert_int_equal(n, (int)strlen(buf));
	cmd_usage_form(buf, sizeof(buf), &demo, 1);
	/* -o is required in form 0 only; --binary is not in form 1 */
	assert_string_equal(buf, "--replay FILE [-p PID ...] [-o OUT] [--keep S [--speed X]] "
				 "[--batch [-n N] | -j]");
	/* a short buffer: truncated, the full length returned */
	n = cmd_usage_form(buf, 10, &demo, 0);
	assert_string_equal(buf, "FILE... [");
	assert_true(n > 10);
}

/* getopt_long over the table: -KEY only where CMD_O_SHORT, every long
 * name, arguments where the table names one. */
static void test_getopt(void **state)
{
	char *argv[] = {"demo", "-p",	  "1",	    "--pid=2", "--binary", "/x", "-b",
			"/y",	"--keep", "3",	    "--speed", "4",	   "-n", "5",
			"-Bj",	"-v",	  "--help", "FILE",    NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1, opt, k = 0;
	const int want[] = {'p', 'p', 'b', 'b', K_KEEP, K_SPEED, 'n', 'B', 'j', 'v', 'h'};
	const char *args[] = {"1", "2", "/x", "/y", "3", "4", "5", NULL, NULL, NULL, NULL};

	(void)state;
	optind = 1;
	opterr = 0;
	while ((opt = cmd_getopt(argc, argv, &demo)) != -1) {
		assert_true(k < (int)(sizeof(want) / sizeof(want[0])));
		assert_int_equal(opt, want[k]);
		if (args[k])
			assert_string_equal(optarg, args[k]);
		k++;
	}
	assert_int_equal(k, (int)(sizeof(want) / sizeof(want[0])));
	assert_int_equal(optind, argc - 1);
	assert_string_equal(argv[optind], "FILE");

	/* a long-only option has no short form, even when its key is a letter */
	char *bad[] = {"demo", "-k", NULL};
	optind = 1;
	assert_int_equal(cmd_getopt(2, bad, &letters), '?');
	char *good[] = {"letters", "--keep", "9", NULL};
	optind = 1;
	assert_int_equal(cmd_getopt(3, good, &letters), 'k');
	assert_string_equal(optarg, "9");
	/* an option that takes no argument refuses one */
	char *noarg[] = {"demo", "--batch=1", NULL};
	optind = 1;
	assert_int_equal(cmd_getopt(2, noarg, &demo), '?');
}

/* The printed lines: wrapped at 80 columns between items, under the first
 * item; the second form led by alt_lead; the words are the form's. */
static void test_print(void **state)
{
	char *out = NULL, *line, *save = NULL, form[512], joined[1024] = "";
	size_t len = 0;
	int lines = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	cmd_print_usage(f, "Usage: ", NULL, &wide);
	fclose(f);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) <= 80);
		if (lines++ == 0) {
			assert_memory_equal(line, "Usage: migscope wide [", 22);
			strcat(joined, line + strlen("Usage: migscope wide "));
		} else {
			/* under the first item: "Usage: migscope wide " is 21 columns */
			assert_memory_equal(line, "                     [", 22);
			strcat(joined, " ");
			strcat(joined, line + 21);
		}
	}
	assert_true(lines >= 2);
	cmd_usage_form(form, sizeof(form), &wide, 0);
	assert_string_equal(joined, form);
	free(out);

	out = NULL;
	f = open_memstream(&out, &len);
	assert_non_null(f);
	cmd_print_usage(f, "  ", "or ", &demo);
	fclose(f);
	assert_non_null(strstr(out, "\nor migscope demo --replay FILE "));
	assert_memory_equal(out, "  migscope demo FILE... ", 23);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_getopt),
	    cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
