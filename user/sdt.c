// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sdt.h"

#define SDT_NOTE_TYPE 3
#define SDT_NOTE_NAME "stapsdt"

static int add_probe(struct sdt_list *l, const char *desc, size_t len, int cls)
{
	size_t asz = cls == ELFCLASS32 ? 4 : 8, off = 3 * asz;
	const char *prov, *name, *args, *end = desc + len;
	struct sdt_probe *p;
	uint64_t a[3] = {};

	if (len < off + 3)
		return 0; /* malformed note: skip it */
	for (int i = 0; i < 3; i++) {
		if (asz == 8) {
			memcpy(&a[i], desc + i * 8, 8);
		} else {
			uint32_t v;

			memcpy(&v, desc + i * 4, 4);
			a[i] = v;
		}
	}
	prov = desc + off;
	name = memchr(prov, '\0', end - prov);
	if (!name++ || name >= end)
		return 0;
	args = memchr(name, '\0', end - name);
	if (!args++ || args > end)
		return 0;
	if (args == end || !memchr(args, '\0', end - args))
		args = "";
	if (l->n % 64 == 0) {
		p = realloc(l->v, (l->n + 64) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->v = p;
	}
	p = &l->v[l->n];
	p->provider = strdup(prov);
	p->name = strdup(name);
	p->args = strdup(args);
	if (!p->provider || !p->name || !p->args) {
		free(p->provider);
		free(p->name);
		free(p->args);
		return -ENOMEM;
	}
	p->pc = a[0];
	p->sema = a[2];
	l->n++;
	return 0;
}

static void find_version(Elf *elf, struct sdt_list *l)
{
	static const char key[] = "QEMU emulator version ";
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *nm;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		nm = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!nm || strcmp(nm, ".rodata") || sh.sh_type != SHT_PROGBITS)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return;
		const char *hit = memmem(d->d_buf, d->d_size, key, sizeof(key) - 1);

		if (hit) {
			const char *v = hit + sizeof(key) - 1;
			const char *end = (const char *)d->d_buf + d->d_size;
			size_t n = 0;

			while (v + n < end && n < sizeof(l->version) - 1 && v[n] && v[n] != ' ' &&
			       v[n] != '\n')
				n++;
			memcpy(l->version, v, n);
			l->version[n] = '\0';
		}
		return;
	}
}

int sdt_read(const char *path, struct sdt_list *out, char *err, size_t errlen)
{
	Elf_Scn *scn = NULL;
	int fd, ret = 0, cls;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf initialisation failed");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s is not an ELF executable", path);
		ret = -ENOEXEC;
		goto out;
	}
	cls = gelf_getclass(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != SDT_NOTE_TYPE || nh.n_namesz != sizeof(SDT_NOTE_NAME) ||
			    memcmp((char *)d->d_buf + name_off, SDT_NOTE_NAME, nh.n_namesz))
				continue;
			ret = add_probe(out, (char *)d->d_buf + desc_off, nh.n_descsz, cls);
			if (ret) {
				snprintf(err, errlen, "out of memory reading %s", path);
				goto out;
			}
		}
	}
	find_version(elf, out);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (ret)
		sdt_free(out);
	return ret;
}

void sdt_free(struct sdt_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].provider);
		free(l->v[i].name);
		free(l->v[i].args);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

size_t sdt_count(const struct sdt_list *l, const char *provider, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].provider, provider) && !strcmp(l->v[i].name, name))
			n++;
	return n;
}

bool sdt_has_provider(const struct sdt_list *l, const char *provider)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].provider, provider))
			return true;
	return false;
}

/* One argument spec as libbpf reads them on x86: N@%reg, N@$imm, N@(%reg),
 * N@off(%reg). Symbol-relative specs (N@sym+off(%rip)) are not. */
static bool arg_ok(const char *a, size_t len)
{
	const char *at = memchr(a, '@', len), *end = a + len;
	const char *loc;

	if (!at)
		return false;
	loc = at + 1;
	if (loc >= end)
		return false;
	if (*loc == '%' || *loc == '$')
		return true;
	if (*loc == '-' || *loc == '+')
		loc++;
	while (loc < end && *loc >= '0' && *loc <= '9')
		loc++;
	return loc + 1 < end && loc[0] == '(' && loc[1] == '%';
}

bool sdt_args_supported(const struct sdt_list *l, const char *provider, const char *name,
			const char **bad)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct sdt_probe *p = &l->v[i];
		const char *s;

		if (strcmp(p->provider, provider) || strcmp(p->name, name))
			continue;
		for (s = p->args; *s;) {
			size_t n = strcspn(s, " ");

			if (n && !arg_ok(s, n)) {
				*bad = p->args;
				return false;
			}
			s += n;
			while (*s == ' ')
				s++;
		}
	}
	return true;
}

int sdt_arg_sizes(const struct sdt_list *l, const char *provider, const char *name, int *sizes,
		  int max)
{
	int n = -1;

	for (size_t i = 0; i < l->n; i++) {
		const struct sdt_probe *p = &l->v[i];
		const char *a = p->args;
		int k = 0;

		if (strcmp(p->provider, provider) || strcmp(p->name, name))
			continue;
		while (*a) {
			size_t len = strcspn(a, " ");
			/* a constant's size is the literal's, not the parameter's */
			int sz = len && !memchr(a, '$', len) ? atoi(a) : 0;

			if (len) {
				if (k < max) {
					if (n < 0)
						sizes[k] = sz;
					else if (sizes[k] != sz)
						sizes[k] = sizes[k] ? (sz ? 0 : sizes[k]) : sz;
				}
				k++;
			}
			a += len;
			while (*a == ' ')
				a++;
		}
		if (n >= 0 && k != n)
			return -2; /* the sites disagree on the count */
		n = k;
	}
	return n;
}
