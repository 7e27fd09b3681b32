// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migsim: command line, process plumbing (the destination, migsim-vfiofs),
 * shared helpers. The source lives in migsim_src.c, the destination in
 * migsim_dst.c, the VFIO calls in migsim_vfio.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migsim.h"
#include "migsim_log.h"

#define DEFAULT_VM   "migsim-vm"
#define DEFAULT_UUID "5a8c2e1f-3b4d-4e6f-9a7b-1c2d3e4f5a6b"

struct ms_cfg cfg;

/* clang-format off */
const char *const ms_phase_names[PH_COUNT] = {
	[PH_SETUP] = "setup",
	[PH_SAVE_SETUP] = "save-setup",
	[PH_ACTIVE] = "active",
	[PH_PRECOPY] = "precopy",
	[PH_READY] = "ready",
	[PH_ACKED] = "acked",
	[PH_SWITCHOVER] = "switchover",
	[PH_VM_STOPPED] = "vm-stopped",
	[PH_ITERABLE_SAVED] = "iterable-saved",
	[PH_NON_ITERABLE_SAVED] = "non-iterable-saved",
	[PH_DST_ACTIVE] = "dst-active",
	[PH_DST_LOAD] = "dst-load",
	[PH_DST_APPROVE] = "dst-approve",
};
/* clang-format on */

const char *ms_runstate_name(int rs)
{
	/* clang-format off */
	static const char *const names[] = {
		"debug",	 "inmigrate", "internal-error", "io-error",
		"paused",	 "postmigrate", "prelaunch",	  "finish-migrate",
		"restore-vm",	 "running",   "save-vm",	  "shutdown",
		"suspended",	 "watchdog",  "guest-panicked", "colo",
	};
	/* clang-format on */

	return rs >= 0 && rs < (int)(sizeof(names) / sizeof(names[0])) ? names[rs] : "unknown";
}

void ms_errf(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, MS_ERR_LEN, fmt, ap);
	va_end(ap);
}

void ms_msleep(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * QEMU initialises for a while before it realizes devices, and a migration
 * starts long after that; a tracer that discovers QEMU at exec attaches in
 * that time. migsim would otherwise fire its first probes within a
 * millisecond of exec.
 */
void ms_startup(void)
{
	if (cfg.startup_delay_ms)
		ms_msleep((unsigned int)cfg.startup_delay_ms);
}

/* ---------------------------------------------------------------------- */
/* migsim-vfiofs, the stand-in for the VFIO variant driver */

int ms_vfiofs_start(struct ms_vfiofs *fs, struct ms_dev *devs, int ndev, char *err)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX], self[PATH_MAX], ready = 0;
	char *argv[MS_MAX_DEV + 8] = {0};
	struct pollfd pfd;
	int p[2], argc = 0, ret, status;

	memset(fs, 0, sizeof(*fs));
	if (cfg.vfiofs_path) {
		snprintf(path, sizeof(path), "%s", cfg.vfiofs_path);
	} else {
		snprintf(self, sizeof(self), "%s", cfg.self);
		snprintf(path, sizeof(path), "%s/migsim-vfiofs", dirname(self));
	}
	if (access(path, X_OK)) {
		ms_errf(err, "cannot run %s: %s (build it with make, or give --vfiofs)", path,
			strerror(errno));
		return -1;
	}
	snprintf(fs->mnt, sizeof(fs->mnt), "%s/migsim-vfiofs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fs->mnt)) {
		ms_errf(err, "mkdtemp %s: %s", fs->mnt, strerror(errno));
		fs->mnt[0] = '\0';
		return -1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		ms_errf(err, "pipe: %s", strerror(errno));
		rmdir(fs->mnt);
		return -1;
	}
	argv[argc++] = path;
	argv[argc++] = fs->mnt;
	if (asprintf(&argv[argc], "--ready-fd=%d", p[1]) > 0)
		argc++;
	for (int i = 0; i < ndev; i++) {
		const struct ms_dev_cfg *c = &cfg.dev[i];

		if (asprintf(&argv[argc], "--dev=%s,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64,
			     devs[i].name, devs[i].idx, c->init_bytes, c->dirty_rate,
			     c->stopcopy_bytes) > 0)
			argc++;
	}

	fs->pid = fork();
	if (fs->pid < 0) {
		ms_errf(err, "fork: %s", strerror(errno));
		fs->pid = 0;
		ret = -1;
		goto out;
	}
	if (!fs->pid) {
		/* the server goes (and unmounts) when we go, however we go */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fcntl(p[1], F_SETFD, 0);
		execv(path, argv);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	/* it reads our memory with process_vm_readv(): allow it under Yama too */
	prctl(PR_SET_PTRACER, fs->pid, 0, 0, 0);

	pfd.fd = p[0];
	pfd.events = POLLIN;
	do {
		ret = poll(&pfd, 1, cfg.timeout_s * 1000);
	} while (ret < 0 && errno == EINTR);
	if (ret > 0 && read(p[0], &ready, 1) == 1 && ready == 'R') {
		ret = 0;
		goto out;
	}
	ret = -1;
	if (waitpid(fs->pid, &status, WNOHANG) == fs->pid) {
		fs->pid = 0;
		ms_errf(err, "migsim-vfiofs could not mount %s (exit status %d)", fs->mnt,
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	} else {
		ms_errf(err, "migsim-vfiofs did not mount %s in %d s", fs->mnt, cfg.timeout_s);
	}
	ms_vfiofs_stop(fs);
out:
	for (int i = 2; i < argc; i++)
		free(argv[i]);
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

void ms_vfiofs_stop(struct ms_vfiofs *fs)
{
	if (fs->pid > 0) {
		uint64_t deadline = ms_now() + 5000000000ull;
		int status;

		kill(fs->pid, SIGTERM);
		while (waitpid(fs->pid, &status, WNOHANG) == 0) {
			if (ms_now() > deadline) {
				kill(fs->pid, SIGKILL);
				waitpid(fs->pid, &status, 0);
				break;
			}
			ms_msleep(2);
		}
		fs->pid = 0;
	}
	if (fs->mnt[0]) {
		/* normally the server has unmounted it and removed it already */
		if (rmdir(fs->mnt) && errno != ENOENT) {
			umount2(fs->mnt, MNT_DETACH);
			rmdir(fs->mnt);
		}
		fs->mnt[0] = '\0';
	}
}

/* ---------------------------------------------------------------------- */
/* command line */

static const char *prog = "migsim";

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static void usage(void)
{
	/* clang-format off */
	printf("Usage: %s [OPTION]...\n"
	       "A two-process model of QEMU 10.0 precopy live migration with switchover-ack,\n"
	       "for testing migscope. The source forks a destination (this binary again, with\n"
	       "-incoming), migrates to it over loopback TCP, fires QEMU's USDT probes (provider\n"
	       "qemu, with semaphores), issues QEMU's VFIO ioctls on files that migsim-vfiofs\n"
	       "serves, and exits 0 once both sides completed. Without options: VM migsim-vm,\n"
	       "2 devices, switchover-ack on, about a second.\n"
	       "\n"
	       "VM identity (on both processes' command lines, where QEMU has it):\n"
	       "  -name guest=NAME           VM name (default " DEFAULT_VM ")\n"
	       "  -uuid UUID                 VM UUID (default " DEFAULT_UUID ")\n"
	       "\n"
	       "Model:\n"
	       "  --devices N                VFIO devices, 0 to %d (default 2)\n"
	       "  --dev-init SIZE[,SIZE]...  each device's precopy initial bytes (default 8M)\n"
	       "  --dev-dirty-rate RATE[,RATE]...\n"
	       "                             each device's dirty bytes/s in PRE_COPY (default 4M)\n"
	       "  --dev-stopcopy SIZE[,SIZE]...\n"
	       "                             each device's stop-copy state (default 2M)\n"
	       "  --ram SIZE                 guest RAM (default 128M)\n"
	       "  --ram-dirty-rate RATE      guest RAM dirtied per second (default 32M)\n"
	       "  --bandwidth RATE           max-bandwidth, bytes/s, 0 for none (default 256M)\n"
	       "  --downtime-limit MS        downtime-limit (default 300, as QEMU's)\n"
	       "  --approval-delay MS        destination: time from a device's DEV_INIT_DATA_SENT\n"
	       "                             to its approval (default 0)\n"
	       "  --ack on|off               switchover-ack capability (default on); --no-ack\n"
	       "  --multifd                  multifd on: the devices' stop-copy state and config go\n"
	       "                             over a multifd channel, a thread per device (10.0)\n"
	       "\n"
	       "Faults (PHASE below):\n"
	       "  --fail-at PHASE            inject a failure at PHASE\n"
	       "  --cancel-at PHASE          migrate_cancel at PHASE (source phases)\n"
	       "  --kill-dst-at PHASE        SIGKILL the destination when the source reaches PHASE\n"
	       "  --storm N                  fire N migrate_pending_estimate probes in a tight loop,\n"
	       "                             once, early in precopy (ring buffer overflow)\n"
	       "\n"
	       "Output and plumbing:\n"
	       "  --log FILE                 JSON lines: every probe, every VFIO ioctl and data\n"
	       "                             read/write, one summary per side (docs/migsim.md)\n"
	       "  --port N                   destination port on 127.0.0.1 (default: a free one)\n"
	       "  --timeout S                socket and handshake timeout (default 10)\n"
	       "  --startup-delay MS         each process's start-up time before it realizes its\n"
	       "                             devices, as QEMU's initialisation takes; it gives a\n"
	       "                             tracer time to attach (default 300)\n"
	       "  --converge-timeout S       cancel a precopy still running after S seconds,\n"
	       "                             as a management layer would; 0: never (default 30)\n"
	       "  --vfiofs PATH              migsim-vfiofs binary (default: next to migsim)\n"
	       "  -h, --help                 this text\n"
	       "\n"
	       "SIZE and RATE take K, M, G suffixes (powers of 1024).\n"
	       "Source phases: setup save-setup active precopy (first exact pending) ready\n"
	       "  (first exact pending under the threshold) acked switchover vm-stopped\n"
	       "  iterable-saved non-iterable-saved. Destination phases, --fail-at only:\n"
	       "  dst-active dst-load dst-approve.\n"
	       "Internal, for the destination: --role dst, -incoming tcp:HOST:PORT, --status-fd N.\n"
	       "--role idle: a QEMU-like process (same USDT notes) that does nothing until it is\n"
	       "  killed, for tracer tests; it exits by itself after an hour.\n"
	       "Exit status: 0 completed on both sides, 1 not completed, 2 usage error.\n"
	       "\n"
	       "Examples:\n"
	       "  %s --log /tmp/m.json && jq -c .summary /tmp/m.json | grep -v null\n"
	       "  %s --devices 3 --approval-delay 300     # the source waits for the ACK\n"
	       "  %s --ack off --dev-init 32M             # switch over before initial data\n"
	       "  %s --kill-dst-at precopy                # exits 1\n"
	       "  bpftrace -e 'usdt:%s:qemu:migrate_set_state { printf(\"%%s\\n\", str(arg0)); }' \\\n"
	       "      -c %s\n",
	       prog, MS_MAX_DEV, prog, prog, prog, prog, cfg.self, cfg.self);
	/* clang-format on */
}

static uint64_t parse_num(const char *opt, const char *s, bool suffix)
{
	uint64_t v, mult = 1;
	char *end;

	errno = 0;
	if (!s || !isdigit((unsigned char)*s))
		usage_error("%s: invalid number '%s'", opt, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno)
		usage_error("%s: invalid number '%s'", opt, s);
	if (*end && suffix) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = 1ull << 10; break;
		case 'M': mult = 1ull << 20; break;
		case 'G': mult = 1ull << 30; break;
		case 'T': mult = 1ull << 40; break;
		default: usage_error("%s: invalid size '%s'", opt, s);
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		usage_error("%s: invalid %s '%s'", opt, suffix ? "size" : "number", s);
	if (mult > 1 && v > UINT64_MAX / mult)
		usage_error("%s: '%s' is too large", opt, s);
	return v * mult;
}

/* a comma-separated list, the last value repeating for the other devices */
struct vlist {
	int n;
	uint64_t v[MS_MAX_DEV];
};

static void parse_list(const char *opt, const char *s, struct vlist *l)
{
	char *copy = strdup(s), *save = NULL, *tok;

	if (!copy)
		usage_error("out of memory");
	l->n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (l->n == MS_MAX_DEV)
			usage_error("%s: more than %d values", opt, MS_MAX_DEV);
		l->v[l->n++] = parse_num(opt, tok, true);
	}
	if (!l->n)
		usage_error("%s: empty list", opt);
	free(copy);
}

static int parse_phase(const char *opt, const char *s, bool dst_ok)
{
	char names[512] = "";

	for (int i = 0; i < PH_COUNT; i++) {
		if (!dst_ok && i >= PH_FIRST_DST)
			break;
		if (!strcmp(s, ms_phase_names[i]))
			return i;
		strcat(names, i ? ", " : "");
		strcat(names, ms_phase_names[i]);
	}
	for (int i = PH_FIRST_DST; !dst_ok && i < PH_COUNT; i++)
		if (!strcmp(s, ms_phase_names[i]))
			usage_error("%s: '%s' is a destination phase; only --fail-at takes those",
				    opt, s);
	usage_error("%s: unknown phase '%s' (one of: %s)", opt, s, names);
}

static bool valid_uuid(const char *s)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++) {
		if (form[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* -name takes QEMU's forms: "NAME", "guest=NAME", "guest=NAME,debug-threads=on" */
static void parse_name(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;
	bool found = false;

	if (!copy)
		usage_error("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "guest=", 6)) {
			tok += 6;
		} else if (strchr(tok, '=')) {
			continue; /* debug-threads=on and friends */
		} else if (found) {
			continue;
		}
		if (!*tok || strlen(tok) >= sizeof(cfg.vm))
			usage_error("-name: invalid VM name '%s'", s);
		snprintf(cfg.vm, sizeof(cfg.vm), "%s", tok);
		found = true;
	}
	free(copy);
	if (!found)
		usage_error("-name: no guest name in '%s'", s);
}

static void parse_incoming(const char *s)
{
	const char *hp, *colon;
	size_t hl;

	if (strncmp(s, "tcp:", 4))
		usage_error("-incoming: only tcp:HOST:PORT is modelled, not '%s'", s);
	hp = s + 4;
	colon = strrchr(hp, ':');
	if (!colon || colon == hp)
		usage_error("-incoming: expected tcp:HOST:PORT, got '%s'", s);
	hl = (size_t)(colon - hp);
	if (hl >= sizeof(cfg.in_host))
		usage_error("-incoming: host too long in '%s'", s);
	memcpy(cfg.in_host, hp, hl);
	cfg.in_host[hl] = '\0';
	cfg.in_port = (int)parse_num("-incoming", colon + 1, false);
	if (cfg.in_port < 1 || cfg.in_port > 65535)
		usage_error("-incoming: bad port in '%s'", s);
}

enum {
	OPT_DEVICES = 256,
	OPT_DEV_INIT,
	OPT_DEV_DIRTY_RATE,
	OPT_DEV_STOPCOPY,
	OPT_RAM,
	OPT_RAM_DIRTY_RATE,
	OPT_BANDWIDTH,
	OPT_DOWNTIME_LIMIT,
	OPT_APPROVAL_DELAY,
	OPT_ACK,
	OPT_NO_ACK,
	OPT_MULTIFD,
	OPT_FAIL_AT,
	OPT_CANCEL_AT,
	OPT_KILL_DST_AT,
	OPT_NAME,
	OPT_UUID,
	OPT_STORM,
	OPT_LOG,
	OPT_PORT,
	OPT_TIMEOUT,
	OPT_CONVERGE_TIMEOUT,
	OPT_STARTUP_DELAY,
	OPT_VFIOFS,
	OPT_ROLE,
	OPT_INCOMING,
	OPT_STATUS_FD,
};

/* clang-format off */
static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "devices", required_argument, NULL, OPT_DEVICES },
	{ "dev-init", required_argument, NULL, OPT_DEV_INIT },
	{ "dev-dirty-rate", required_argument, NULL, OPT_DEV_DIRTY_RATE },
	{ "dev-stopcopy", required_argument, NULL, OPT_DEV_STOPCOPY },
	{ "ram", required_argument, NULL, OPT_RAM },
	{ "ram-dirty-rate", required_argument, NULL, OPT_RAM_DIRTY_RATE },
	{ "bandwidth", required_argument, NULL, OPT_BANDWIDTH },
	{ "downtime-limit", required_argument, NULL, OPT_DOWNTIME_LIMIT },
	{ "approval-delay", required_argument, NULL, OPT_APPROVAL_DELAY },
	{ "ack", required_argument, NULL, OPT_ACK },
	{ "no-ack", no_argument, NULL, OPT_NO_ACK },
	{ "multifd", no_argument, NULL, OPT_MULTIFD },
	{ "fail-at", required_argument, NULL, OPT_FAIL_AT },
	{ "cancel-at", required_argument, NULL, OPT_CANCEL_AT },
	{ "kill-dst-at", required_argument, NULL, OPT_KILL_DST_AT },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "uuid", required_argument, NULL, OPT_UUID },
	{ "storm", required_argument, NULL, OPT_STORM },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "converge-timeout", required_argument, NULL, OPT_CONVERGE_TIMEOUT },
	{ "startup-delay", required_argument, NULL, OPT_STARTUP_DELAY },
	{ "vfiofs", required_argument, NULL, OPT_VFIOFS },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
	{ NULL, 0, NULL, 0 },
};
/* clang-format on */

static void apply_list(const struct vlist *l, int field)
{
	for (int i = 0; i < MS_MAX_DEV; i++) {
		uint64_t v = l->v[i < l->n ? i : l->n - 1];

		if (field == 0)
			cfg.dev[i].init_bytes = v;
		else if (field == 1)
			cfg.dev[i].dirty_rate = v;
		else
			cfg.dev[i].stopcopy_bytes = v;
	}
}

/* Parse argv; returns whether -name and -uuid were both given. */
static bool parse_args(int argc, char **argv)
{
	struct vlist init = {1, {8ull << 20}}, rate = {1, {4ull << 20}}, stop = {1, {2ull << 20}};
	bool name_given = false, uuid_given = false, incoming = false;
	uint64_t v;
	int c;

	cfg.role = MS_SOURCE;
	snprintf(cfg.vm, sizeof(cfg.vm), "%s", DEFAULT_VM);
	snprintf(cfg.uuid, sizeof(cfg.uuid), "%s", DEFAULT_UUID);
	cfg.ndev = 2;
	cfg.ram_bytes = 128ull << 20;
	cfg.ram_dirty_rate = 32ull << 20;
	cfg.bandwidth = 256ull << 20;
	cfg.downtime_limit_ms = 300;
	cfg.approval_delay_ms = 0;
	cfg.ack = true;
	cfg.fail_at = cfg.cancel_at = cfg.kill_dst_at = PH_NONE;
	cfg.timeout_s = 10;
	cfg.converge_timeout_s = 30;
	cfg.startup_delay_ms = 300;
	cfg.status_fd = -1;

	opterr = 0;
	/* _only: QEMU-style single-dash long options (-name, -uuid, -incoming) */
	while ((c = getopt_long_only(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'h': usage(); exit(0);
		case OPT_DEVICES:
			v = parse_num("--devices", optarg, false);
			if (v > MS_MAX_DEV)
				usage_error("--devices: at most %d", MS_MAX_DEV);
			cfg.ndev = (int)v;
			break;
		case OPT_DEV_INIT: parse_list("--dev-init", optarg, &init); break;
		case OPT_DEV_DIRTY_RATE: parse_list("--dev-dirty-rate", optarg, &rate); break;
		case OPT_DEV_STOPCOPY: parse_list("--dev-stopcopy", optarg, &stop); break;
		case OPT_RAM:
			cfg.ram_bytes =
			    parse_num("--ram", optarg, true) / MS_PAGE_SIZE * MS_PAGE_SIZE;
			break;
		case OPT_RAM_DIRTY_RATE:
			cfg.ram_dirty_rate = parse_num("--ram-dirty-rate", optarg, true);
			break;
		case OPT_BANDWIDTH: cfg.bandwidth = parse_num("--bandwidth", optarg, true); break;
		case OPT_DOWNTIME_LIMIT:
			cfg.downtime_limit_ms = parse_num("--downtime-limit", optarg, false);
			if (cfg.downtime_limit_ms > 2000000)
				usage_error("--downtime-limit: at most 2000000 ms");
			break;
		case OPT_APPROVAL_DELAY:
			cfg.approval_delay_ms = parse_num("--approval-delay", optarg, false);
			if (cfg.approval_delay_ms > 3600000)
				usage_error("--approval-delay: at most an hour");
			break;
		case OPT_ACK:
			if (!strcmp(optarg, "on"))
				cfg.ack = true;
			else if (!strcmp(optarg, "off"))
				cfg.ack = false;
			else
				usage_error("--ack: expected on or off, got '%s'", optarg);
			break;
		case OPT_NO_ACK: cfg.ack = false; break;
		case OPT_MULTIFD:
			if (!MIGSIM_MULTIFD)
				usage_error("--multifd: QEMU %d.%d has no VFIO device state over "
					    "multifd (10.0)",
					    MIGSIM_QEMU / 10, MIGSIM_QEMU % 10);
			cfg.multifd = true;
			break;
		case OPT_FAIL_AT: cfg.fail_at = parse_phase("--fail-at", optarg, true); break;
		case OPT_CANCEL_AT:
			cfg.cancel_at = parse_phase("--cancel-at", optarg, false);
			break;
		case OPT_KILL_DST_AT:
			cfg.kill_dst_at = parse_phase("--kill-dst-at", optarg, false);
			break;
		case OPT_NAME:
			parse_name(optarg);
			name_given = true;
			break;
		case OPT_UUID:
			if (!valid_uuid(optarg))
				usage_error("-uuid: '%s' is not a UUID", optarg);
			snprintf(cfg.uuid, sizeof(cfg.uuid), "%s", optarg);
			uuid_given = true;
			break;
		case OPT_STORM:
			cfg.storm = parse_num("--storm", optarg, false);
			if (cfg.storm > 1000000000ull)
				usage_error("--storm: at most 1000000000");
			break;
		case OPT_LOG:
			if (!*optarg)
				usage_error("--log: empty file name");
			cfg.log_path = optarg;
			break;
		case OPT_PORT:
			v = parse_num("--port", optarg, false);
			if (v > 65535)
				usage_error("--port: %" PRIu64 " is not a TCP port", v);
			cfg.port = (int)v;
			break;
		case OPT_TIMEOUT:
			v = parse_num("--timeout", optarg, false);
			if (v < 1 || v > 3600)
				usage_error("--timeout: 1 to 3600 seconds");
			cfg.timeout_s = (int)v;
			break;
		case OPT_CONVERGE_TIMEOUT:
			v = parse_num("--converge-timeout", optarg, false);
			if (v > 86400)
				usage_error("--converge-timeout: at most 86400 seconds");
			cfg.converge_timeout_s = (int)v;
			break;
		case OPT_STARTUP_DELAY:
			cfg.startup_delay_ms = parse_num("--startup-delay", optarg, false);
			if (cfg.startup_delay_ms > 60000)
				usage_error("--startup-delay: at most 60000 ms");
			break;
		case OPT_VFIOFS: cfg.vfiofs_path = optarg; break;
		case OPT_ROLE:
			if (!strcmp(optarg, "src") || !strcmp(optarg, "source"))
				cfg.role = MS_SOURCE;
			else if (!strcmp(optarg, "dst") || !strcmp(optarg, "destination"))
				cfg.role = MS_DEST;
			else if (!strcmp(optarg, "idle"))
				cfg.role = MS_IDLE;
			else
				usage_error("--role: expected src, dst or idle, got '%s'", optarg);
			break;
		case OPT_INCOMING:
			parse_incoming(optarg);
			incoming = true;
			break;
		case OPT_STATUS_FD:
			cfg.status_fd = (int)parse_num("--status-fd", optarg, false);
			break;
		case ':': usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	apply_list(&init, 0);
	apply_list(&rate, 1);
	apply_list(&stop, 2);
	if (cfg.role == MS_DEST && !incoming)
		usage_error("--role dst needs -incoming tcp:HOST:PORT");
	if (cfg.role == MS_SOURCE && incoming)
		usage_error("-incoming is for the destination (--role dst)");
	if (!cfg.ack && (cfg.fail_at == PH_ACKED || cfg.cancel_at == PH_ACKED ||
			 cfg.kill_dst_at == PH_ACKED || cfg.fail_at == PH_DST_APPROVE))
		usage_error("phases acked and dst-approve need --ack on");
	if (cfg.ack && !cfg.ndev && cfg.fail_at == PH_DST_APPROVE)
		usage_error("phase dst-approve needs at least one device");
	if (!cfg.ndev && cfg.fail_at == PH_DST_LOAD)
		usage_error("phase dst-load needs at least one device");
	return name_given && uuid_given;
}

int main(int argc, char **argv)
{
	char **orig = calloc((size_t)argc + 5, sizeof(char *));
	ssize_t n;
	bool identity;
	int ret;

	n = readlink("/proc/self/exe", cfg.self, sizeof(cfg.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "migsim: cannot read /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	cfg.self[n] = '\0';
	if (!orig) {
		fprintf(stderr, "migsim: out of memory\n");
		return 1;
	}
	memcpy(orig, argv, (size_t)argc * sizeof(char *)); /* getopt permutes argv */

	identity = parse_args(argc, argv);
	if (cfg.role == MS_SOURCE && !identity) {
		/*
		 * A tracer finds the VM in /proc/PID/cmdline, as with QEMU: run
		 * again with the identity spelled out. Same pid, same binary.
		 */
		int k = argc;

		orig[k++] = "-name";
		if (asprintf(&orig[k], "guest=%s", cfg.vm) > 0)
			k++;
		orig[k++] = "-uuid";
		orig[k++] = cfg.uuid;
		orig[k] = NULL;
		fflush(NULL);
		execv(cfg.self, orig);
		/* not fatal: run without */
	}
	free(orig);

	if (cfg.log_path) {
		ret = mslog_open(cfg.log_path, cfg.role == MS_SOURCE);
		if (ret) {
			fprintf(stderr, "migsim: cannot open log %s: %s\n", cfg.log_path,
				strerror(-ret));
			return 1;
		}
	}
	if (cfg.role == MS_IDLE) {
		/* a QEMU that is not migrating: nothing fires */
		uint64_t end = ms_now() + 3600ull * 1000000000ull;

		while (ms_now() < end)
			ms_msleep(1000);
		return 0;
	}
	ret = cfg.role == MS_SOURCE ? ms_source_main() : ms_dest_main();
	mslog_close();
	return ret;
}
