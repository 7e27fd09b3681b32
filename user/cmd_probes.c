// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* migscope probes: which catalog probes a QEMU binary has. No root needed. */
#include <getopt.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "catalog.h"
#include "cmd.h"
#include "json_writer.h"
#include "sdt.h"
#include "util.h"

/* two forms: a binary's probes (0), the log backend's setup (1) */
const struct cmd_usage cmd_probes_usage = {
    .name = "probes",
    .nforms = 2,
    .opts = (const struct cmd_opt[]){
	{"binary", 'b', "PATH", 0, CMD_FORM(0), 0},
	{"pid", 'p', "PID", CMD_O_SHORT | CMD_O_SHOW_SHORT | CMD_O_OR, CMD_FORM(0), 0},
	{"json", 'j', NULL, CMD_O_SHORT | CMD_O_SHOW_SHORT, CMD_FORM(0), 0},
	{"log-setup", 'L', "VM", 0, CMD_FORM(1), CMD_FORM(1)},
	{"log-events", 'E', NULL, CMD_O_OR, CMD_FORM(1), CMD_FORM(1)},
	CMD_COMMON_OPTIONS,
	{},
    }};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", NULL, &cmd_probes_usage);
	fprintf(f, "List which probes of migscope's catalog a QEMU binary has, which are missing,\n"
		   "and the QEMU version if the binary says it. Without --binary or -p, the\n"
		   "qemu-system binary for this machine found in PATH.\n"
		   "For a QEMU built with the log trace backend only (Debian, Ubuntu):\n"
		   "  --log-setup VM  the virsh commands that enable the catalog's trace events\n"
		   "                  on libvirt domain VM's running QEMU (its lines then go\n"
		   "                  to /var/log/libvirt/qemu/VM.log)\n"
		   "  --log-events    the catalog's events, one a line: a file for QEMU's\n"
		   "                  -trace events=FILE (with -D LOG -msg timestamp=on)\n\n"
		   "Examples:\n"
		   "  migscope probes --binary /usr/libexec/qemu-kvm\n"
		   "  migscope probes -p $(pidof qemu-system-x86_64) -j\n"
		   "  migscope probes --log-setup vm1 | sh\n"
		   "  migscope probes --log-events > /etc/migscope/qemu-trace-events\n");
}

/* S in single quotes for a POSIX shell: ' as '\'' */
static void shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* --log-setup VM: a virsh command per catalog event, for a shell */
static int print_log_setup(const char *vm)
{
	for (const char *c = vm; *c; c++) {
		if ((unsigned char)*c < 0x20) {
			ms_err("probes: --log-setup: a VM name without control characters");
			return MS_EXIT_USAGE;
		}
	}
	printf("# The %d trace events of migscope's catalog on libvirt domain ", MS_P_COUNT - 1);
	shell_quote(stdout, vm);
	printf(",\n# through QMP: QEMU's log backend writes them to its stderr, which libvirt\n"
	       "# keeps in /var/log/libvirt/qemu/VM.log (libvirt passes -msg timestamp=on).\n"
	       "# An event this QEMU lacks answers with an error: harmless. Until its next\n"
	       "# start; for every start, -trace events=FILE (migscope probes --log-events).\n");
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++) {
		printf("virsh qemu-monitor-command ");
		shell_quote(stdout, vm);
		printf(" '{\"execute\":\"trace-event-set-state\",\"arguments\":{\"name\":\"%s\","
		       "\"enable\":true}}'\n",
		       cat_name(id));
	}
	return 0;
}

/* qemu-system-ARCH in PATH, or a distribution's usual places. */
static int default_binary(char *out, size_t size)
{
	struct utsname u;
	char name[96], *path, *dir, *save = NULL;
	const char *fixed[] = {"/usr/libexec/qemu-kvm", "/usr/bin/qemu-kvm"};

	if (uname(&u))
		return -1;
	snprintf(name, sizeof(name), "qemu-system-%s", u.machine);
	path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", dir, name);
		if (!access(out, X_OK)) {
			free(path);
			return 0;
		}
	}
	free(path);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!access(fixed[i], X_OK)) {
			ms_strlcpy(out, fixed[i], size);
			return 0;
		}
	}
	return -1;
}

/* The shape of a probe in the binary: >= 0, -1 a shape the catalog does not
 * know, -2 absent. */
static int probe_shape(const struct sdt_list *sl, unsigned int id, int *nargs)
{
	int sizes[MS_MAX_ARGS + 1];

	*nargs = sdt_arg_sizes(sl, MS_PROVIDER, cat_name(id), sizes, MS_MAX_ARGS + 1);
	if (*nargs == -1)
		return -2;
	if (*nargs < 0 || *nargs > MS_MAX_ARGS)
		return -1;
	return cat_shape_for_sizes(id, sizes, (unsigned int)*nargs);
}

/* Whether the binary has none of a figure's probes. */
static bool figure_missing(const struct sdt_list *sl, const struct cat_figure *f)
{
	for (int i = 0; i < 3 && f->probes[i]; i++)
		if (sdt_count(sl, MS_PROVIDER, cat_name(f->probes[i])))
			return false;
	return true;
}

static void print_text(const char *bin, const struct sdt_list *sl, unsigned int present,
		       size_t sites)
{
	size_t nmiss = 0;

	printf("binary   %s\n", bin);
	printf("qemu     %s\n", sl->version[0] ? sl->version : "version unknown");
	printf("probes   %u of %d catalog probes present (%zu qemu probe sites in the binary)\n",
	       present, MS_P_COUNT - 1, sites);
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++) {
		size_t n = sdt_count(sl, MS_PROVIDER, cat_name(id));
		const char *bad = NULL;

		int nargs, shape = probe_shape(sl, id, &nargs);

		if (!n)
			printf("  missing  %s\n", cat_name(id));
		else if (!sdt_args_supported(sl, MS_PROVIDER, cat_name(id), &bad))
			printf("  unusable %-44s argument spec \"%s\"\n", cat_name(id), bad);
		else if (shape < 0)
			printf("  unknown  %-44s %d arguments: a shape this migscope does not "
			       "decode (not traced)\n",
			       cat_name(id), nargs);
		else if (shape > 0)
			printf("  present  %-44s %zu site%s, the arguments of QEMU %s\n",
			       cat_name(id), n, n > 1 ? "s" : "", cat_shape_versions(id, shape));
		else
			printf("  present  %-44s %zu site%s\n", cat_name(id), n, n > 1 ? "s" : "");
	}
	for (size_t i = 0; i < cat_nfigures(); i++) {
		const struct cat_figure *f = cat_figure_at(i);

		if (!figure_missing(sl, f))
			continue;
		if (!nmiss++)
			printf("figures this binary cannot give (null in reports):\n");
		printf("  %-52s (its probes came with QEMU %s)\n", f->figures, f->since);
	}
}

static void print_json(const char *bin, const struct sdt_list *sl, unsigned int present,
		       size_t sites)
{
	json_writer_t *w = jsonw_new(stdout);

	jsonw_pretty(w, true);
	jsonw_start_object(w);
	jsonw_string_field(w, "binary", bin);
	if (sl->version[0])
		jsonw_string_field(w, "qemu_version", sl->version);
	else
		jsonw_null_field(w, "qemu_version");
	jsonw_uint_field(w, "qemu_probe_sites", sites);
	jsonw_uint_field(w, "catalog_probes", MS_P_COUNT - 1);
	jsonw_uint_field(w, "present", present);
	jsonw_name(w, "probes");
	jsonw_start_array(w);
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++) {
		size_t n = sdt_count(sl, MS_PROVIDER, cat_name(id));
		const char *bad = NULL;

		jsonw_start_object(w);
		jsonw_string_field(w, "name", cat_name(id));
		jsonw_uint_field(w, "sites", n);
		int nargs, shape = probe_shape(sl, id, &nargs);

		jsonw_bool_field(w, "usable",
				 n && shape >= 0 &&
				     sdt_args_supported(sl, MS_PROVIDER, cat_name(id), &bad));
		if (shape >= 0) {
			jsonw_uint_field(w, "shape", (unsigned int)shape);
			jsonw_string_field(w, "types", cat_shape_types(id, (unsigned int)shape));
		} else {
			jsonw_null_field(w, "shape");
			if (n)
				jsonw_int_field(w, "arguments", nargs);
		}
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "unavailable");
	jsonw_start_object(w);
	for (size_t i = 0; i < cat_nfigures(); i++) {
		const struct cat_figure *f = cat_figure_at(i);
		char why[160];

		if (!figure_missing(sl, f))
			continue;
		snprintf(why, sizeof(why), "no %s probe in this binary (QEMU %s has it)",
			 cat_name(f->probes[0]), f->since);
		jsonw_string_field(w, f->figures, why);
	}
	jsonw_end_object(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	putchar('\n');
}

int cmd_probes(int argc, char **argv)
{
	char bin[PATH_MAX] = "", err[512];
	unsigned int present = 0;
	struct sdt_list sl;
	size_t sites = 0;
	int opt, pid = 0;
	const char *log_vm = NULL;
	bool log_events = false;

	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_probes_usage)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		switch (opt) {
		case 'b': ms_strlcpy(bin, optarg, sizeof(bin)); break;
		case 'p':
			if (ms_parse_pid(optarg, &pid)) {
				ms_err("probes: -p takes a PID, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'L': log_vm = optarg; break;
		case 'E': log_events = true; break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (log_vm || log_events) {
		if (optind < argc || bin[0] || pid || ms_json || (log_vm && log_events)) {
			ms_err("probes: --log-setup VM or --log-events, alone");
			return MS_EXIT_USAGE;
		}
		if (log_vm)
			return print_log_setup(log_vm);
		for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
			printf("%s\n", cat_name(id));
		return 0;
	}
	if (optind < argc || (bin[0] && pid)) {
		ms_err("probes: give either --binary PATH or -p PID");
		return MS_EXIT_USAGE;
	}
	if (pid) {
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, bin, sizeof(bin) - 1);
		if (n < 0) {
			ms_err("probes: no process with PID %d (or no access to its executable)",
			       pid);
			return MS_EXIT_FAIL;
		}
		bin[n] = '\0';
		/* read through /proc so that a replaced binary is still the one running */
		if (sdt_read(link, &sl, err, sizeof(err))) {
			ms_err("probes: %s", err);
			return MS_EXIT_FAIL;
		}
	} else {
		if (!bin[0] && default_binary(bin, sizeof(bin))) {
			ms_err(
			    "probes: no qemu-system binary in PATH; give --binary PATH or -p PID");
			return MS_EXIT_USAGE;
		}
		if (sdt_read(bin, &sl, err, sizeof(err))) {
			ms_err("probes: %s", err);
			return MS_EXIT_FAIL;
		}
	}
	for (size_t i = 0; i < sl.n; i++)
		sites += !strcmp(sl.v[i].provider, MS_PROVIDER);
	if (!sites) {
		sdt_free(&sl);
		ms_err(
		    "probes: %s has no qemu USDT probes: QEMU was built without the dtrace trace "
		    "backend (Debian and Ubuntu build 'log' only); run it with -D FILE -trace "
		    "enable=... and use 'migscope replay FILE' on that log",
		    bin);
		return MS_EXIT_FAIL;
	}
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
		present += sdt_count(&sl, MS_PROVIDER, cat_name(id)) > 0;
	if (ms_json)
		print_json(bin, &sl, present, sites);
	else
		print_text(bin, &sl, present, sites);
	sdt_free(&sl);
	return 0;
}
