// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The catalog against QEMU's own trace-events of every release from 8.1 to
 * master (../shared/qemu-trace-events): each catalog probe that a release
 * has must have a shape the catalog decodes (MS_SHAPES), so that a QEMU with
 * a new argument list fails here, loudly, and not in a report. Skipped, with
 * one line, where ../shared is absent (a plain clone).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"

#define DIR_PATH "../shared/qemu-trace-events"

/* One C parameter type as a catalog type letter, 0 if the catalog has none. */
static char letter(const char *t)
{
	static const struct {
		const char *c;
		char l;
	} map[] = {
	    {"const char *", 's'}, {"char *", 's'},	  {"uint64_t", 'u'}, {"int64_t", 'I'},
	    {"uint32_t", 'x'},	   {"unsigned int", 'x'}, {"unsigned", 'x'}, {"uint16_t", 'w'},
	    {"int", 'i'},	   {"size_t", 'u'},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(t, map[i].c))
			return map[i].l;
	return 0;
}

/* "name(type a, type b) fmt" -> the types letters of its parameters. */
static int shape_of(const char *decl, char *out, size_t n)
{
	const char *p = strchr(decl, '('), *e = p ? strchr(p, ')') : NULL;
	size_t k = 0;

	if (!p || !e)
		return -1;
	p++;
	if (!strncmp(p, "void)", 5)) {
		out[0] = 0;
		return 0;
	}
	while (p < e) {
		const char *c = memchr(p, ',', (size_t)(e - p)), *end = c ? c : e, *nm = end;
		char t[64];
		size_t len;

		while (nm > p && nm[-1] != ' ' && nm[-1] != '*')
			nm--; /* the parameter's name */
		while (*p == ' ')
			p++;
		len = (size_t)(nm - p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len >= sizeof(t) || k + 1 >= n)
			return -1;
		memcpy(t, p, len);
		t[len] = 0;
		if (!(out[k++] = letter(t)))
			return -1;
		p = end + 1;
	}
	out[k] = 0;
	return 0;
}

static void test_every_release(void **state)
{
	DIR *d = opendir(DIR_PATH);
	struct dirent *de;
	int files = 0, checked = 0, bad = 0;

	if (!d) {
		print_message("skipped: %s is absent (a plain clone)\n", DIR_PATH);
		skip();
	}
	while ((de = readdir(d))) {
		char path[512], line[2048];
		FILE *f;

		if (!strstr(de->d_name, ".txt") || !strcmp(de->d_name, "README.md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", DIR_PATH, de->d_name);
		f = fopen(path, "r");
		assert_non_null(f);
		files++;
		while (fgets(line, sizeof(line), f)) {
			char *decl = strstr(line, ": "), name[96], types[16];
			unsigned int id;
			size_t nl;

			if (!decl)
				continue;
			decl += 2;
			nl = strcspn(decl, "(");
			if (!decl[nl] || nl >= sizeof(name) || decl[0] == '#')
				continue;
			memcpy(name, decl, nl);
			name[nl] = 0;
			id = cat_lookup(name);
			if (!id)
				continue;
			checked++;
			if (shape_of(decl, types, sizeof(types)) ||
			    cat_shape_for_types(id, types) < 0) {
				print_error(
				    "%s: %s has arguments \"%s\", a shape the catalog does not "
				    "decode\n",
				    de->d_name, name, types);
				bad++;
			}
		}
		fclose(f);
	}
	closedir(d);
	print_message("%d releases, %d catalog probe declarations checked\n", files, checked);
	assert_true(files >= 8);
	assert_true(checked > 100);
	assert_int_equal(bad, 0);
}

static void test_shapes(void **state)
{
	/* the shapes of a probe are told apart by their USDT argument sizes */
	static const int mt4[] = {8, 8, 8, 8}, mt5[] = {8, 8, 8, 8, 8}, mt3[] = {8, 8, 8};
	static const int n_old[] = {8, 8}, n_new[] = {8, -4};

	for (unsigned int id = 1; id < MS_P_COUNT; id++)
		for (unsigned int a = 0; a < MS_MAX_SHAPES; a++) {
			const char *t = cat_shape_types(id, a);
			int sz[MS_MAX_ARGS];

			if (!t)
				continue;
			for (size_t i = 0; t[i]; i++)
				sz[i] = t[i] == 'i'   ? -4
					: t[i] == 'I' ? -8
					: t[i] == 'x' ? 4
					: t[i] == 'w' ? 2
						      : 8;
			assert_int_equal(cat_shape_for_sizes(id, sz, (unsigned int)strlen(t)), a);
		}
	assert_int_equal(cat_shape_for_sizes(MS_P_MIGRATE_TRANSFERRED, mt4, 4), 1);
	assert_int_equal(cat_shape_for_sizes(MS_P_MIGRATE_TRANSFERRED, mt5, 5), 0);
	assert_int_equal(cat_shape_for_sizes(MS_P_MIGRATE_TRANSFERRED, mt3, 3), -1);
	assert_int_equal(cat_shape_for_sizes(MS_P_VFIO_MIGRATION_STATE_NOTIFIER, n_old, 2), 1);
	assert_int_equal(cat_shape_for_sizes(MS_P_VFIO_MIGRATION_STATE_NOTIFIER, n_new, 2), 0);
	assert_int_equal(MS_COOKIE_SHAPE(cat_cookie(MS_P_VFIO_MIGRATION_SET_STATE, 1)), 1);
	assert_int_equal(MS_COOKIE_NARGS(cat_cookie(MS_P_VFIO_MIGRATION_SET_STATE, 1)), 2);
	assert_int_equal(MS_COOKIE_STRMASK(cat_cookie(MS_P_VFIO_MIGRATION_SET_STATE, 1)), 3);
	assert_string_equal(cat_shape_versions(MS_P_MIGRATE_TRANSFERRED, 1), "8.1");
}

/* wire: the ring buffer's sized form of a record, as bpf/ puts it */
struct wire {
	unsigned char b[MS_USDT_WIRE_MAX];
	size_t n;
};

static void wire_hdr(struct wire *w, unsigned int probe, unsigned int shape)
{
	struct ms_hdr h = {.ts = 42, .pid = 7, .tid = 8, .kind = MS_EV_USDT, .probe = probe};

	h.flags = (uint16_t)(shape << MS_F_SHAPE_SHIFT);
	memset(w, 0xa5, sizeof(*w)); /* what is not written must not be read */
	memcpy(w->b, &h, sizeof(h));
	w->n = sizeof(h);
}

static void wire_u64(struct wire *w, uint64_t v)
{
	memcpy(w->b + w->n, &v, 8);
	w->n += 8;
}

static void wire_str(struct wire *w, const char *s)
{
	memcpy(w->b + w->n, s, strlen(s) + 1);
	w->n += strlen(s) + 1;
}

static void wire_pad(struct wire *w)
{
	while (w->n % 8)
		w->b[w->n++] = 0;
}

/* a copied string's slot: its address and its length with the NUL */
static uint64_t str_slot(uint64_t addr, const char *s)
{
	return ((uint64_t)(s ? strlen(s) + 1 : 0) << 56) | addr;
}

static void test_usdt_wire(void **state)
{
	struct cat_strtab *tab = cat_strtab_new();
	struct ms_usdt e;
	struct wire w;

	(void)state;
	assert_non_null(tab);
	/* vfio_state_pending_exact "suuuuu": the name's address and length in
	 * its slot, its bytes after the six arguments */
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, str_slot(0x5555aaaa1000, "0000:af:00.1"));
	for (uint64_t i = 1; i <= 5; i++)
		wire_u64(&w, i * 1000);
	wire_str(&w, "0000:af:00.1");
	wire_pad(&w);
	assert_int_equal(w.n, 24 + 48 + 16);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_int_equal(e.h.ts, 42);
	assert_int_equal(e.h.pid, 7);
	assert_int_equal(e.h.probe, MS_P_VFIO_STATE_PENDING_EXACT);
	assert_string_equal(ms_arg_str(&e, 0), "0000:af:00.1");
	assert_int_equal(e.args[0], 0);
	assert_int_equal(e.args[5], 5000);
	assert_int_equal(e.str[1][0], 0);
	/* a reference to it: the name the copy from that address gave */
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, MS_WIRE_STR_REF | 0x5555aaaa1000);
	for (uint64_t i = 1; i <= 5; i++)
		wire_u64(&w, i);
	assert_int_equal(w.n, 24 + 48);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_string_equal(ms_arg_str(&e, 0), "0000:af:00.1");
	assert_false(e.h.flags & MS_F_ARG_ERR);
	assert_int_equal(e.args[1], 1);
	/* another address, or another process: unreadable, never another's
	 * name */
	memcpy(w.b + 24, &(uint64_t){MS_WIRE_STR_REF | 0x5555aaaa2000}, 8);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_string_equal(ms_arg_str(&e, 0), "");
	assert_true(e.h.flags & MS_F_ARG_ERR);
	memcpy(w.b + 24, &(uint64_t){MS_WIRE_STR_REF | 0x5555aaaa1000}, 8);
	memcpy(w.b + 8, &(uint32_t){8}, 4); /* h.pid */
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_true(e.h.flags & MS_F_ARG_ERR);
	assert_int_equal(cat_strtab_unresolved(tab), 2);
	/* the process exits: its strings go */
	memcpy(w.b + 8, &(uint32_t){7}, 4);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_false(e.h.flags & MS_F_ARG_ERR);
	cat_strtab_forget(tab, 7);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_true(e.h.flags & MS_F_ARG_ERR);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, NULL), 0);
	assert_true(e.h.flags & MS_F_ARG_ERR);
	/* a reference where the catalog says the string is made for each call
	 * (migrate_error's message) cannot be: refused */
	wire_hdr(&w, MS_P_MIGRATE_ERROR, 0);
	wire_u64(&w, MS_WIRE_STR_REF | 0x1000);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), -1);
	assert_int_equal(MS_COOKIE_STABLE(cat_cookie(MS_P_MIGRATE_ERROR, 0)), 0);
	assert_int_equal(MS_COOKIE_STABLE(cat_cookie(MS_P_QMP_ENTER_MIGRATE, 0)), 0);
	assert_int_equal(
	    MS_COOKIE_STABLE(cat_cookie(MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START, 0)), 1);
	assert_int_equal(MS_COOKIE_STABLE(cat_cookie(MS_P_RUNSTATE_SET, 0)), 0xa);
	/* two strings one after the other (vfio_migration_set_state "ss"
	 * in its second shape), the second unreadable (length 0): "" */
	wire_hdr(&w, MS_P_VFIO_MIGRATION_SET_STATE, 1);
	wire_u64(&w, str_slot(0x10, "dev"));
	wire_u64(&w, str_slot(0x20, NULL));
	wire_str(&w, "dev");
	wire_pad(&w);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_string_equal(ms_arg_str(&e, 0), "dev");
	assert_string_equal(ms_arg_str(&e, 1), "");
	assert_int_equal(e.args[1], 1);
	/* a probe without strings: header and arguments only */
	wire_hdr(&w, MS_P_MIGRATE_PENDING_EXACT, 0);
	for (const char *t = cat_types(MS_P_MIGRATE_PENDING_EXACT); *t; t++)
		wire_u64(&w, 9);
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), 0);
	assert_int_equal(e.args[0], 9);
	/* what does not hold together is refused, never read past */
	assert_int_equal(cat_usdt_from_wire(w.b, w.n - 1, &e, tab), -1);
	assert_int_equal(cat_usdt_from_wire(w.b, 8, &e, tab), -1);
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, (uint64_t)30 << 56); /* longer than the record */
	for (int i = 0; i < 5; i++)
		wire_u64(&w, 0);
	wire_str(&w, "short");
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), -1);
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, (uint64_t)3 << 56); /* no NUL where its length ends */
	for (int i = 0; i < 5; i++)
		wire_u64(&w, 0);
	wire_str(&w, "abcdef");
	assert_int_equal(cat_usdt_from_wire(w.b, w.n, &e, tab), -1);
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, (uint64_t)(MS_STR_LEN + 1) << 56);
	assert_int_equal(cat_usdt_from_wire(w.b, sizeof(w.b), &e, tab), -1);
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 0);
	wire_u64(&w, MS_WIRE_STR_REF | (4ull << 56)); /* a reference with bytes */
	assert_int_equal(cat_usdt_from_wire(w.b, sizeof(w.b), &e, tab), -1);
	wire_hdr(&w, MS_P_COUNT, 0); /* not a catalog probe */
	assert_int_equal(cat_usdt_from_wire(w.b, sizeof(w.b), &e, tab), -1);
	wire_hdr(&w, MS_P_VFIO_STATE_PENDING_EXACT, 15); /* nor a shape of it */
	assert_int_equal(cat_usdt_from_wire(w.b, sizeof(w.b), &e, tab), -1);
	cat_strtab_free(tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_release),
	    cmocka_unit_test(test_shapes),
	    cmocka_unit_test(test_usdt_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
