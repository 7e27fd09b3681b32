// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A command's option table (struct cmd_usage, cmd.h) made into what
 * getopt_long takes and into the command's usage line.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "util.h"

#define USAGE_WIDTH 80
#define ITEM_MAX    160

static bool opt_end(const struct cmd_opt *o)
{
	return !o->name && !o->key;
}

struct getopt_tables {
	const struct cmd_usage *u;
	struct option lo[CMD_MAX_OPTS + 1];
	char so[3 * CMD_MAX_OPTS + 1];
};

static void tables_build(struct getopt_tables *t, const struct cmd_usage *u)
{
	size_t nl = 0, ns = 0;

	memset(t, 0, sizeof(*t));
	t->u = u;
	for (const struct cmd_opt *o = u->opts; !opt_end(o); o++) {
		if (nl == CMD_MAX_OPTS) {
			/* a table too long for CMD_MAX_OPTS: a build error, not input */
			fprintf(stderr, "migscope: %s: more than %d options\n", u->name,
				CMD_MAX_OPTS);
			abort();
		}
		if (o->name)
			t->lo[nl++] = (struct option){
			    o->name, o->arg ? required_argument : no_argument, NULL, o->key};
		if (o->flags & CMD_O_SHORT) {
			t->so[ns++] = (char)o->key;
			if (o->arg)
				t->so[ns++] = ':';
		}
	}
}

int cmd_getopt(int argc, char **argv, const struct cmd_usage *u)
{
	static struct getopt_tables t;

	if (t.u != u)
		tables_build(&t, u);
	return getopt_long(argc, argv, t.so, t.lo, NULL);
}

/* The items of one form: its operands, then one per option shown, nested
 * and alternative options inside the item before them. */
static size_t form_items(const struct cmd_usage *u, unsigned form, char (*it)[ITEM_MAX], size_t max)
{
	unsigned bit = CMD_FORM(form);
	size_t n = 0;

	if (u->args[form] && n < max)
		snprintf(it[n++], ITEM_MAX, "%s", u->args[form]);
	for (const struct cmd_opt *o = u->opts; !opt_end(o); o++) {
		char text[ITEM_MAX];
		bool req = o->req & bit;

		if ((o->flags & CMD_O_HIDDEN) || (o->forms && !(o->forms & bit)))
			continue;
		if ((o->flags & CMD_O_SHOW_SHORT) || !o->name)
			snprintf(text, sizeof(text), "-%c%s%s%s", o->key, o->arg ? " " : "",
				 o->arg ? o->arg : "", (o->flags & CMD_O_REPEAT) ? " ..." : "");
		else
			snprintf(text, sizeof(text), "--%s%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "", (o->flags & CMD_O_REPEAT) ? " ..." : "");
		if ((o->flags & (CMD_O_NESTED | CMD_O_OR)) && n) {
			char *prev = it[n - 1];
			size_t len = strlen(prev);
			bool closed = len && prev[len - 1] == ']';
			const char *fmt = (o->flags & CMD_O_OR) ? " | %s" : req ? " %s" : " [%s]";

			if (closed)
				prev[--len] = '\0';
			snprintf(prev + len, ITEM_MAX - len, fmt, text);
			len = strlen(prev);
			if (closed && len + 1 < ITEM_MAX)
				strcpy(prev + len, "]");
			continue;
		}
		if (n < max)
			snprintf(it[n++], ITEM_MAX, req ? "%s" : "[%s]", text);
	}
	return n;
}

int cmd_usage_form(char *buf, size_t n, const struct cmd_usage *u, unsigned form)
{
	char it[CMD_MAX_OPTS + 1][ITEM_MAX];
	size_t k = form_items(u, form, it, CMD_MAX_OPTS + 1);
	int len = 0;

	if (n)
		buf[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		size_t at = (size_t)len < n ? (size_t)len : n;

		len += snprintf(buf + at, n - at, "%s%s", i ? " " : "", it[i]);
	}
	return len;
}

void cmd_print_usage(FILE *f, const char *lead, const char *alt_lead, const struct cmd_usage *u)
{
	/* a wrapped line goes under its form's first item */
	int ind = (int)strlen(lead) + (int)strlen("migscope ") + (int)strlen(u->name) + 1;

	for (unsigned form = 0; form < u->nforms; form++) {
		char it[CMD_MAX_OPTS + 1][ITEM_MAX];
		size_t k = form_items(u, form, it, CMD_MAX_OPTS + 1);
		const char *l = form ? alt_lead : lead;
		int col = ind - 1;

		if (l)
			fprintf(f, "%smigscope %s", l, u->name);
		else
			fprintf(f, "%*smigscope %s", (int)strlen(lead), "", u->name);
		for (size_t i = 0; i < k; i++) {
			int w = (int)strlen(it[i]);

			if (i && col + 1 + w > USAGE_WIDTH) {
				fprintf(f, "\n%*s%s", ind, "", it[i]);
				col = ind + w;
			} else {
				fprintf(f, " %s", it[i]);
				col += 1 + w;
			}
		}
		fputc('\n', f);
	}
}

int cmd_add_file(const char *cmd, const char *opt, const char *arg, char **v, size_t *n, size_t max)
{
	if (*n == max) {
		ms_err("%s: at most %zu %s files", cmd, max, opt);
		return MS_EXIT_USAGE;
	}
	v[(*n)++] = (char *)arg;
	return 0;
}

int cmd_common_opt(int opt)
{
	switch (opt) {
	case 'v': ms_verbose++; return 1;
	case 'j': ms_json = true; return 1;
	default: return 0;
	}
}
