// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "migscope.skel.h"
#include "migscope.bpf.h"
#include "catalog.h"
#include "live.h"
#include "ring.h"
#include "procinfo.h"
#include "sdt.h"
#include "util.h"

_Static_assert(MS_P_COUNT <= 128, "ms_proc.probes_present holds 128 catalog ids");

#define DEFAULT_RING_BYTES (16u << 20)
#define BINS_MAX	   4096

/* A binary seen by exec or at start: QEMU (probes attached) or not. A QEMU
 * binary that no traced process runs any more and that is no longer at its
 * path (replaced by an upgrade, deleted) is detached and forgotten
 * (bin_release); one named by --binary or found in the usual places stays. */
struct bin {
	uint64_t dev; /* kernel encoding */
	uint64_t ino;
	bool qemu;
	bool warned;
	int64_t mtime_ns, size;	 /* with dev and ino: this file, not a new one at a freed inode */
	bool pinned;		 /* attached before any process ran it */
	unsigned int nprocs;	 /* traced processes running it */
	char *path;		 /* where it was found (a process's exe link target) */
	struct bpf_link **links; /* by catalog id, NULL where not attached */
	unsigned int attached, missing;
	uint32_t qemu_version; /* from the binary's version string, 0 unknown */
	uint64_t present[2];   /* catalog ids attached */
};

struct tracked {
	int pid;
	uint64_t dev, ino; /* its binary */
	/* in a migration, as its migrate_set_state probes say, or a destination
	 * (-incoming) that has not finished its own yet, or one whose QMP
	 * migrate command came HOOKS_HOLD_NS ago at most (armed_at) */
	bool migrating;
	uint64_t armed_at; /* its QMP migrate command's time, 0 once a state came */
};

/*
 * --syscall-hooks migration: the syscall programs (ms_sys_enter and
 * ms_sys_exit, raw tracepoints: some 0.3 ms to attach or detach) are attached
 * while a traced QEMU is in a migration or about to start one, and detached
 * HOOKS_GRACE_NS after the last one ended, so that the host's syscalls pay
 * nothing outside migrations. What starts them:
 * - a QMP command that comes before a migration: migrate and migrate-incoming
 *   (until that migration ends), migrate-set-capabilities and
 *   migrate-set-parameters (for HOOKS_HOLD_NS: libvirt sets them first);
 * - a destination, started with -incoming, from when it is traced until its
 *   migration ends;
 * - any migration probe that fires while they are off (migscope started in
 *   the middle of a migration, a QEMU whose QMP probes are missing).
 * A USDT record made while they were off carries MS_F_NO_SYSCALLS, and wakes
 * this reader at once (ms_usdt), so that the attach follows the probe by a
 * fraction of a millisecond.
 */
#define HOOKS_GRACE_NS (6ULL * 1000000000)
#define HOOKS_HOLD_NS  (60ULL * 1000000000)

struct hooks {
	enum live_hooks_mode mode;
	struct bpf_link *enter, *exit;
	unsigned int migrating; /* tracked processes with .migrating */
	uint64_t hold_until;	/* monotonic ns: wanted at least until then */
	uint64_t idle_since;	/* when they stopped being wanted, 0 while wanted */
	uint64_t on_since;
	bool any_armed; /* a tracked process has armed_at (hooks_tick) */
	bool warned;
	struct live_hooks_stats st;
};

struct live {
	struct migscope_bpf *skel;
	struct ms_ring *rb;
	live_cb cb;
	void *arg;
	int *pids;
	size_t npids;
	struct bin *bins;
	size_t nbins;
	int ret; /* callback's stop value */
	uint64_t events, lost;
	uint64_t malformed;	   /* ring records cat_usdt_from_wire refused */
	struct cat_strtab *strtab; /* the strings the ring's references stand for */
	struct tracked *tracked;   /* processes traced now, as userspace knows them */
	size_t ntracked, tracked_cap;
	uint64_t bins_released;
	/* libbpf's USDT links share the object's spec table: created (here)
	 * and destroyed (here or by a reaper thread) under link_mu */
	pthread_mutex_t link_mu;
	pthread_cond_t reap_cv;
	unsigned int reaping; /* reaper threads not done, under link_mu */
	unsigned int probe_attached[MS_P_COUNT];
	struct hooks hooks;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && ms_verbose < 2)
		return 0;
	if (!ms_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t kdev(dev_t d)
{
	return ((uint64_t)major(d) << 20) | minor(d);
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static struct tracked *tracked_find(const struct live *l, int pid)
{
	for (size_t i = 0; i < l->ntracked; i++)
		if (l->tracked[i].pid == pid)
			return &l->tracked[i];
	return NULL;
}

static bool tracked_has(const struct live *l, int pid)
{
	return tracked_find(l, pid) != NULL;
}

static struct bin *bin_find(struct live *l, uint64_t dev, uint64_t ino);
static void bin_release(struct live *l, uint64_t dev, uint64_t ino);

/* PID is traced and runs B (again, after an exec, maybe another binary). */
static void tracked_add(struct live *l, int pid, struct bin *b)
{
	struct tracked *t = tracked_find(l, pid), *v;

	if (t) {
		uint64_t dev = t->dev, ino = t->ino;

		if (dev == b->dev && ino == b->ino)
			return;
		t->dev = b->dev;
		t->ino = b->ino;
		b->nprocs++;
		bin_release(l, dev, ino);
		return;
	}
	if (l->ntracked == l->tracked_cap) {
		size_t cap = l->tracked_cap ? 2 * l->tracked_cap : 64;

		v = realloc(l->tracked, cap * sizeof(*v));
		if (!v)
			return; /* only the count in the header suffers */
		l->tracked = v;
		l->tracked_cap = cap;
	}
	l->tracked[l->ntracked++] = (struct tracked){.pid = pid, .dev = b->dev, .ino = b->ino};
	b->nprocs++;
}

static bool tracked_del(struct live *l, int pid)
{
	for (size_t i = 0; i < l->ntracked; i++) {
		if (l->tracked[i].pid == pid) {
			uint64_t dev = l->tracked[i].dev, ino = l->tracked[i].ino;

			if (l->tracked[i].migrating)
				l->hooks.migrating--;
			l->tracked[i] = l->tracked[--l->ntracked];
			bin_release(l, dev, ino);
			return true;
		}
	}
	return false;
}

static bool pid_wanted(const struct live *l, int pid)
{
	if (!l->npids)
		return true;
	for (size_t i = 0; i < l->npids; i++)
		if (l->pids[i] == pid)
			return true;
	return false;
}

static struct bin *bin_find(struct live *l, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < l->nbins; i++)
		if (l->bins[i].dev == dev && l->bins[i].ino == ino)
			return &l->bins[i];
	return NULL;
}

static int emit(struct live *l, const union ms_rec *r)
{
	l->events++;
	if (!l->ret)
		l->ret = l->cb(r, l->arg);
	return l->ret;
}

/* Attach every catalog probe the binary has; a probe that fails is reported,
 * never fatal. */
/* a binary's links, destroyed; the caller holds link_mu */
static void links_destroy(struct bpf_link **links)
{
	for (unsigned int id = 0; id < MS_P_COUNT; id++)
		if (links[id])
			bpf_link__destroy(links[id]);
}

static void bin_detach(struct live *l, struct bin *b)
{
	if (!b->links)
		return;
	pthread_mutex_lock(&l->link_mu);
	links_destroy(b->links);
	for (unsigned int id = 0; id < MS_P_COUNT; id++)
		if (b->links[id])
			l->probe_attached[id]--;
	pthread_mutex_unlock(&l->link_mu);
	free(b->links);
	b->links = NULL;
}

struct reap_job {
	struct live *l;
	struct bpf_link **links;
};

static void *reap_thread(void *arg)
{
	struct reap_job *j = arg;
	struct live *l = j->l;

	pthread_mutex_lock(&l->link_mu);
	links_destroy(j->links);
	l->reaping--;
	pthread_cond_broadcast(&l->reap_cv);
	pthread_mutex_unlock(&l->link_mu);
	free(j->links);
	free(j);
	return NULL;
}

/*
 * bin_detach by a thread of its own: the kernel takes some 50 ms per uprobe
 * (a QEMU binary's 60-odd probes: 3 s here), and the reader must not stop
 * that long, or a QEMU started meanwhile would exit before its exec record
 * is read (and its identity with it). The reader waits only if it attaches
 * a binary meanwhile. In this thread when no thread can start.
 */
static void bin_detach_async(struct live *l, struct bin *b)
{
	struct reap_job *j;
	pthread_attr_t attr;
	pthread_t t;
	int ret = -1;

	if (!b->links)
		return;
	j = malloc(sizeof(*j));
	if (j && !pthread_attr_init(&attr)) {
		*j = (struct reap_job){.l = l, .links = b->links};
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&l->link_mu);
		ret = pthread_create(&t, &attr, reap_thread, j);
		if (!ret) {
			l->reaping++;
			for (unsigned int id = 0; id < MS_P_COUNT; id++)
				if (b->links[id])
					l->probe_attached[id]--;
		}
		pthread_mutex_unlock(&l->link_mu);
		pthread_attr_destroy(&attr);
	}
	if (ret) {
		free(j);
		bin_detach(l, b);
		return;
	}
	b->links = NULL;
}

/* Forget the binary at index i of l->bins: detached, its verdict dropped
 * (a process that still runs it is classified anew at its next exec). */
static void bin_forget(struct live *l, size_t i)
{
	struct bin *b = &l->bins[i];
	struct exe_key k = {.dev = b->dev, .ino = b->ino};

	bin_detach_async(l, b);
	bpf_map_delete_elem(bpf_map__fd(l->skel->maps.exe_verdict), &k);
	free(b->path);
	l->bins[i] = l->bins[--l->nbins];
}

/* Detach and forget the QEMU binary at index i, said once it is done. */
static void bin_release_at(struct live *l, size_t i)
{
	char *path = l->bins[i].path;

	l->bins[i].path = NULL;
	l->bins_released++;
	bin_forget(l, i);
	ms_dbg("%s: no traced process runs it and it was replaced or deleted: detached",
	       path ? path : "a QEMU binary");
	free(path);
}

static bool same_file(const struct bin *b, const struct stat *st)
{
	return kdev(st->st_dev) == b->dev && st->st_ino == b->ino && mtime_ns(st) == b->mtime_ns &&
	       st->st_size == b->size;
}

/* Whether B's file is still at the path it was found at. */
static bool bin_installed(const struct bin *b)
{
	struct stat st;

	return b->path && !stat(b->path, &st) && same_file(b, &st);
}

/*
 * A traced process of binary (dev, ino) is gone. When no other one runs it,
 * a QEMU binary that is no longer at its path (a package upgrade renamed a
 * new file over it, or it was deleted) is detached: its uprobes would stay in
 * the kernel, and its links here, for every upgrade a long-running serve
 * sees. One still at its path stays attached for the next QEMU it starts
 * (live_tick looks again later).
 */
static void bin_release(struct live *l, uint64_t dev, uint64_t ino)
{
	struct bin *b = bin_find(l, dev, ino);

	if (!b || !b->nprocs || --b->nprocs || b->pinned || !b->qemu || bin_installed(b))
		return;
	bin_release_at(l, (size_t)(b - l->bins));
}

/* 0, or -ESRCH when PATH (a /proc/PID/exe) vanished while attaching. */
static int bin_attach(struct live *l, struct bin *b, const char *path, const char *label,
		      const struct sdt_list *sl)
{
	LIBBPF_OPTS(bpf_usdt_opts, uo);
	char missing[512] = "";
	size_t mlen = 0;

	b->links = calloc(MS_P_COUNT, sizeof(*b->links));
	if (!b->links)
		return -ENOMEM;
	b->qemu_version = cat_parse_version(sl->version);

	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++) {
		const char *name = cat_name(id), *bad = NULL;
		struct bpf_link *link;
		int nargs, shape, sizes[MS_MAX_ARGS + 1];

		if (!sdt_count(sl, MS_PROVIDER, name)) {
			b->missing++;
			if (b->missing <= 6)
				mlen += snprintf(missing + mlen, sizeof(missing) - mlen, "%s%s",
						 mlen ? ", " : "", name);
			continue;
		}
		if (!sdt_args_supported(sl, MS_PROVIDER, name, &bad)) {
			ms_err("%s: probe %s has an argument spec libbpf cannot read (%s); "
			       "it is not traced",
			       path, name, bad);
			b->missing++;
			continue;
		}
		nargs = sdt_arg_sizes(sl, MS_PROVIDER, name, sizes, MS_MAX_ARGS + 1);
		shape = nargs >= 0 && nargs <= MS_MAX_ARGS
			    ? cat_shape_for_sizes(id, sizes, (unsigned int)nargs)
			    : -1;
		if (shape < 0) {
			/* a shape the catalog does not know: never decoded wrong */
			ms_err("%s: probe %s has %d arguments, a shape this migscope does not "
			       "know; it is not traced",
			       path, name, nargs);
			b->missing++;
			continue;
		}
		uo.usdt_cookie = cat_cookie(id, (unsigned int)shape);
		pthread_mutex_lock(&l->link_mu);
		link = bpf_program__attach_usdt(l->skel->progs.ms_usdt, -1, path, MS_PROVIDER, name,
						&uo);
		pthread_mutex_unlock(&l->link_mu);
		if (!link) {
			int e = errno;

			/* the process that named the binary is gone: not the binary's fault */
			if (access(path, F_OK))
				return -ESRCH;
			ms_err("%s: cannot attach to probe %s: %s", path, name, strerror(e));
			b->missing++;
			continue;
		}
		b->links[id] = link;
		b->attached++;
		if (id < 128)
			b->present[id / 64] |= 1ULL << (id % 64);
		l->probe_attached[id]++;
	}
	/* an older QEMU lacks the newer probes: say which, trace the rest */
	if (b->missing > 6)
		snprintf(missing + mlen, sizeof(missing) - mlen, " and %u more", b->missing - 6);
	if (b->missing)
		fprintf(stderr,
			"migscope: note: %s lacks %u of %d catalog probes (%s); the rest are "
			"traced\n",
			label, b->missing, MS_P_COUNT - 1, missing);
	return 0;
}

/* Classify the executable at PATH (LABEL names it in messages) and remember
 * the verdict, in the kernel too. Returns the bin, or NULL if PATH is gone.
 * The pointer is valid until the next classification. */
static struct bin *classify_path(struct live *l, const char *path, const char *label,
				 const char *where)
{
	char err[256];
	int rd;
	struct sdt_list sl;
	struct stat st;
	struct exe_key k;
	struct bin *b;
	__u8 v;

	if (stat(path, &st))
		return NULL;
	b = bin_find(l, kdev(st.st_dev), st.st_ino);
	if (b && same_file(b, &st))
		return b;
	if (b) {
		/* a new file with a freed inode number: the old one was deleted */
		ms_dbg("%s is a new file at a known inode: the old one is forgotten", label);
		if (b->qemu)
			l->bins_released++;
		bin_forget(l, (size_t)(b - l->bins));
	}
	/* every binary ever exec'd has an entry: bounded, the verdicts of
	 * other programs (cheap to learn again) go first */
	if (l->nbins >= BINS_MAX)
		for (size_t i = l->nbins; i-- > 0;)
			if (!l->bins[i].qemu)
				bin_forget(l, i);
	b = realloc(l->bins, (l->nbins + 1) * sizeof(*b));
	if (!b)
		return NULL;
	l->bins = b;
	b = &l->bins[l->nbins++];
	memset(b, 0, sizeof(*b));
	b->dev = kdev(st.st_dev);
	b->ino = st.st_ino;
	b->mtime_ns = mtime_ns(&st);
	b->size = st.st_size;
	b->path = where && where[0] ? strdup(where) : NULL;
	rd = S_ISREG(st.st_mode) ? sdt_read(path, &sl, err, sizeof(err)) : -ENOEXEC;
	if (rd && access(path, F_OK)) {
		/* gone before its notes were read: no verdict to remember */
		free(b->path);
		l->nbins--;
		return NULL;
	}
	if (rd == 0) {
		b->qemu = sdt_has_provider(&sl, MS_PROVIDER);
		if (b->qemu) {
			uint64_t t0 = ms_now_mono();

			if (bin_attach(l, b, path, label, &sl) == -ESRCH) {
				/* forget it: the next process of this binary classifies it anew */
				ms_dbg("%s exited while being attached", label);
				bin_detach(l, b);
				sdt_free(&sl);
				free(b->path);
				l->nbins--;
				return NULL;
			}
			ms_dbg("%s has qemu USDT probes: %u attached, %u missing, in %.1f ms",
			       label, b->attached, b->missing, (ms_now_mono() - t0) / 1e6);
		}
		sdt_free(&sl);
	}
	k.dev = b->dev;
	k.ino = b->ino;
	v = b->qemu ? EXE_QEMU : EXE_NOT_QEMU;
	bpf_map_update_elem(bpf_map__fd(l->skel->maps.exe_verdict), &k, &v, BPF_ANY);
	return b;
}

/* The binary of PID; /proc/PID/exe names it even if it was replaced. */
static struct bin *classify(struct live *l, int pid)
{
	char path[64], exe[256], label[300];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(label, sizeof(label), "PID %d (%s)", pid, exe);
	return classify_path(l, path, label, exe);
}

/* Attach to QEMU binaries before any process runs them, so that the first
 * probes of a process started later are not missed. The given ones must be
 * QEMU with probes; the usual install places are tried quietly. */
static int preattach(struct live *l, const struct live_opts *o, char *err, size_t errlen)
{
	static const char *const usual[] = {
	    "/usr/libexec/qemu-kvm",
	    "/usr/bin/qemu-kvm",
	    "/usr/bin/qemu-system-x86_64",
	    "/usr/bin/qemu-system-aarch64",
	    "/usr/local/bin/qemu-system-x86_64",
	};

	for (size_t i = 0; i < o->nbinaries; i++) {
		struct bin *b = classify_path(l, o->binaries[i], o->binaries[i], o->binaries[i]);

		if (!b) {
			snprintf(err, errlen, "cannot read %s: %s", o->binaries[i],
				 strerror(errno));
			return -ENOENT;
		}
		if (!b->qemu) {
			snprintf(err, errlen,
				 "%s has no qemu USDT probes: QEMU was built without the dtrace "
				 "trace backend; replay its log-backend trace instead",
				 o->binaries[i]);
			return -ENOEXEC;
		}
		b->pinned = true;
	}
	if (!o->nbinaries)
		for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
			struct bin *b;

			if (access(usual[i], X_OK))
				continue;
			b = classify_path(l, usual[i], usual[i], usual[i]);
			if (b)
				b->pinned = true;
		}
	return 0;
}

static bool comm_is_qemu(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "qemu", 4);
}

static void warn_no_probes(struct bin *b, int pid)
{
	char exe[256] = "?";
	ssize_t n;
	char path[64];

	if (b->warned)
		return;
	b->warned = true;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 1] = '\0';
	ms_err("PID %d runs %s, which has no qemu USDT probes: QEMU was built without the "
	       "dtrace trace backend; replay its log-backend trace instead "
	       "(qemu -D FILE -trace enable=..., then migscope replay FILE)",
	       pid, exe);
}

/* ------------------------------------------------------------------ */
/* syscall programs around migrations (struct hooks) */

/* CAUSE_TS: the time stamp of what asked for them (0: nothing recorded) */
static int hooks_attach(struct live *l, uint64_t cause_ts)
{
	struct hooks *h = &l->hooks;
	uint64_t t0 = ms_now_mono();
	int err;

	if (h->enter)
		return 0;
	/* exit first: an ioctl that entered once enter is on is seen to its end */
	h->exit = bpf_program__attach(l->skel->progs.ms_sys_exit);
	err = h->exit ? 0 : -errno;
	if (!err) {
		h->enter = bpf_program__attach(l->skel->progs.ms_sys_enter);
		err = h->enter ? 0 : -errno;
	}
	if (err) {
		bpf_link__destroy(h->exit);
		h->exit = h->enter = NULL;
		h->st.failures++;
		if (!h->warned)
			ms_err("cannot attach the syscall programs: %s; VFIO ioctls and data "
			       "fd I/O are not traced",
			       strerror(-err));
		h->warned = true;
		return err;
	}
	l->skel->bss->hooks_on = 1;
	h->on_since = ms_now_mono();
	h->st.on = true;
	h->st.attaches++;
	h->st.last_attach_ns = h->on_since - t0;
	h->st.last_lag_ns = cause_ts && cause_ts < h->on_since ? h->on_since - cause_ts : 0;
	if (h->st.last_lag_ns)
		ms_dbg("syscall programs attached in %.3f ms, %.3f ms after the probe that asked "
		       "for them",
		       h->st.last_attach_ns / 1e6, h->st.last_lag_ns / 1e6);
	else
		ms_dbg("syscall programs attached in %.3f ms", h->st.last_attach_ns / 1e6);
	return 0;
}

static void hooks_detach(struct live *l)
{
	struct hooks *h = &l->hooks;
	uint64_t t0 = ms_now_mono();

	if (!h->enter)
		return;
	/* records from now on say the syscalls were not seen */
	l->skel->bss->hooks_on = 0;
	bpf_link__destroy(h->enter);
	bpf_link__destroy(h->exit); /* after enter: what entered is seen to its end */
	h->enter = h->exit = NULL;
	h->st.on = false;
	h->st.on_ns += t0 - h->on_since;
	h->st.last_detach_ns = ms_now_mono() - t0;
	ms_dbg("syscall programs detached in %.3f ms", h->st.last_detach_ns / 1e6);
}

static bool hooks_wanted(const struct live *l, uint64_t now)
{
	return l->hooks.migrating || now < l->hooks.hold_until;
}

/* Something says a migration is on or near: attach now (migration mode). */
static void hooks_want(struct live *l, uint64_t hold_ns, uint64_t cause_ts)
{
	struct hooks *h = &l->hooks;
	uint64_t now = ms_now_mono();

	if (h->mode != LIVE_HOOKS_MIGRATION)
		return;
	if (hold_ns && now + hold_ns > h->hold_until)
		h->hold_until = now + hold_ns;
	h->idle_since = 0;
	hooks_attach(l, cause_ts);
}

static void tracked_set_migrating(struct live *l, struct tracked *t, bool on)
{
	if (!t || t->migrating == on)
		return;
	t->migrating = on;
	if (on)
		l->hooks.migrating++;
	else
		l->hooks.migrating--;
}

/* Probes that fire outside migrations too (VM start and stop, device
 * realize): one of them while the hooks are off says nothing. */
static bool probe_outside_migrations(unsigned int id)
{
	switch (id) {
	case MS_P_RUNSTATE_SET:
	case MS_P_VM_STATE_NOTIFY:
	case MS_P_VFIO_MIGRATION_REALIZE:
	case MS_P_VFIO_VMSTATE_CHANGE:
	case MS_P_VFIO_VMSTATE_CHANGE_PREPARE:
	case MS_P_VFIO_MIGRATION_SET_STATE:
	case MS_P_VFIO_MIGRATION_SET_DEVICE_STATE:
	case MS_P_QMP_ENTER_MIGRATE_SET_CAPABILITIES:
	case MS_P_QMP_ENTER_MIGRATE_SET_PARAMETERS: return true;
	default: return false;
	}
}

/* migrate_set_state's new state: in a migration, or done with it */
static bool state_migrating(const char *s)
{
	return strcmp(s, "none") && strcmp(s, "completed") && strcmp(s, "failed") &&
	       strcmp(s, "cancelled");
}

/* What a USDT record says of the hooks. */
static void hooks_note(struct live *l, const struct ms_usdt *e)
{
	struct hooks *h = &l->hooks;
	unsigned int id = e->h.probe;
	struct tracked *t;

	if (h->mode != LIVE_HOOKS_MIGRATION)
		return;
	switch (id) {
	case MS_P_QMP_ENTER_MIGRATE:
	case MS_P_QMP_ENTER_MIGRATE_INCOMING:
		t = tracked_find(l, (int)e->h.pid);
		tracked_set_migrating(l, t, true);
		/* a command that fails before any state change ends nothing:
		 * hooks_tick lets it go after HOOKS_HOLD_NS */
		if (t) {
			t->armed_at = ms_now_mono();
			h->any_armed = true;
		}
		hooks_want(l, 0, e->h.ts);
		return;
	case MS_P_QMP_ENTER_MIGRATE_SET_CAPABILITIES:
	case MS_P_QMP_ENTER_MIGRATE_SET_PARAMETERS: hooks_want(l, HOOKS_HOLD_NS, e->h.ts); return;
	case MS_P_MIGRATE_SET_STATE:
		if (e->args[0] < MS_MAX_STRS) {
			bool on = state_migrating(e->str[e->args[0]]);

			t = tracked_find(l, (int)e->h.pid);
			if (t)
				t->armed_at = 0;
			tracked_set_migrating(l, t, on);
			if (on)
				hooks_want(l, 0, e->h.ts);
			else
				h->hold_until = 0; /* what set-capabilities was for is over */
		}
		return;
	default:
		if (!(e->h.flags & MS_F_NO_SYSCALLS) && !h->any_armed)
			return; /* the common case: one test per record */
		if (probe_outside_migrations(id))
			return;
		/* a migration whose start was not seen (migscope started in
		 * it, a QEMU without the QMP probes): on until its end state,
		 * or until its probes stop for HOOKS_HOLD_NS */
		t = tracked_find(l, (int)e->h.pid);
		if (t && (e->h.flags & MS_F_NO_SYSCALLS) && !t->migrating) {
			tracked_set_migrating(l, t, true);
			t->armed_at = 1; /* stamped below */
			h->any_armed = true;
		}
		if (t && t->armed_at)
			t->armed_at = ms_now_mono();
		if (e->h.flags & MS_F_NO_SYSCALLS)
			hooks_want(l, t ? 0 : HOOKS_GRACE_NS, e->h.ts);
		return;
	}
}

/* From live_tick: detach HOOKS_GRACE_NS after they stopped being wanted. */
static void hooks_tick(struct live *l)
{
	struct hooks *h = &l->hooks;
	uint64_t now = ms_now_mono();

	if (h->mode != LIVE_HOOKS_MIGRATION || !h->enter)
		return;
	h->any_armed = false;
	for (size_t i = 0; i < l->ntracked; i++) {
		struct tracked *t = &l->tracked[i];

		if (t->armed_at && now - t->armed_at >= HOOKS_HOLD_NS) {
			t->armed_at = 0;
			tracked_set_migrating(l, t, false);
		}
		h->any_armed |= t->armed_at != 0;
	}
	if (hooks_wanted(l, now)) {
		h->idle_since = 0;
		return;
	}
	if (!h->idle_since)
		h->idle_since = now;
	else if (now - h->idle_since >= HOOKS_GRACE_NS)
		hooks_detach(l);
}

/* Start tracing PID if it runs QEMU: traced map, identity record. EXECED:
 * it has just started (else it ran before migscope did). */
static int track(struct live *l, int pid, bool explicit, bool execed)
{
	struct ms_proc pr;
	struct bin *b;
	__u32 key = pid;
	__u8 one = 1;

	b = classify(l, pid);
	if (!b) {
		if (explicit)
			return -ESRCH;
		return 0;
	}
	if (!b->qemu) {
		if (explicit)
			return -ENOEXEC;
		if (comm_is_qemu(pid))
			warn_no_probes(b, pid);
		return 0;
	}
	if (proc_identity(pid, &pr))
		return explicit ? -ESRCH : 0;
	pr.probes_attached = b->attached;
	pr.probes_missing = b->missing;
	pr.qemu_version = b->qemu_version;
	pr.probes_present[0] = b->present[0];
	pr.probes_present[1] = b->present[1];
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.traced), &key, &one, BPF_ANY))
		return -errno;
	tracked_add(l, pid, b);
	/* A destination just started: its migration may start at any time, and
	 * its first VFIO ioctls follow the start by little. One that ran before
	 * migscope did is most likely a VM that migrated in long ago (the
	 * command line keeps its -incoming): its next migration's probes, or a
	 * QMP migrate-incoming, attach them. */
	if ((pr.pflags & MS_PROC_INCOMING) && execed) {
		tracked_set_migrating(l, tracked_find(l, pid), true);
		hooks_want(l, 0, 0);
	}
	emit(l, (union ms_rec *)&pr);
	return 1;
}

static int scan_proc(struct live *l, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int self = getpid();

	if (l->npids) {
		for (size_t i = 0; i < l->npids; i++) {
			int pid = l->pids[i], r = track(l, pid, true, false);
			struct bin *b;

			if (r == -ESRCH) {
				snprintf(err, errlen, "no process with PID %d", pid);
				return r;
			}
			if (r == -ENOEXEC) {
				char path[64], exe[256] = "?";
				ssize_t n;

				snprintf(path, sizeof(path), "/proc/%d/exe", pid);
				n = readlink(path, exe, sizeof(exe) - 1);
				exe[n > 0 ? n : 1] = '\0';
				b = classify(l, pid);
				(void)b;
				snprintf(
				    err, errlen,
				    "PID %d (%s) is not a QEMU process with USDT probes: its "
				    "binary has no qemu SDT notes (QEMU built without the dtrace "
				    "trace backend? replay its log-backend trace instead)",
				    pid, exe);
				return r;
			}
			if (r < 0) {
				snprintf(err, errlen, "cannot trace PID %d: %s", pid, strerror(-r));
				return r;
			}
		}
		return 0;
	}
	d = opendir("/proc");
	if (!d) {
		snprintf(err, errlen, "cannot read /proc: %s", strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		int pid;

		if (ms_parse_pid(de->d_name, &pid) || pid == self)
			continue;
		track(l, pid, false, false);
	}
	closedir(d);
	return 0;
}

static int on_exec(struct live *l, const struct ms_exec *e)
{
	__u32 key = e->h.pid;
	/* by its exe link while the process lives (a new file may have a freed
	 * inode number); one gone already is what the record says */
	struct bin *b = classify(l, e->h.pid);
	/* what userspace knows: the kernel may have traced it at exec already */
	bool was = tracked_has(l, e->h.pid);

	if (!b)
		b = bin_find(l, e->dev, e->ino);
	if (!b)
		return 0; /* gone already */
	if (!b->qemu) {
		if (was) {
			/* a traced process became something else */
			bpf_map_delete_elem(bpf_map__fd(l->skel->maps.traced), &key);
			tracked_del(l, e->h.pid);
			union ms_rec x = {.exit = {.h = e->h}};

			x.h.kind = MS_EV_EXIT;
			return emit(l, &x);
		}
		if (comm_is_qemu(e->h.pid))
			warn_no_probes(b, e->h.pid);
		return 0;
	}
	if (!pid_wanted(l, e->h.pid))
		return 0;
	emit(l, (const union ms_rec *)e);
	return track(l, e->h.pid, false, true) < 0 ? 0 : l->ret;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct live *l = ctx;
	const union ms_rec *r = data;

	switch (r->h.kind) {
	case MS_EV_EXEC:
		if (size < sizeof(struct ms_exec))
			return 0;
		cat_strtab_forget(l->strtab, r->h.pid);
		return on_exec(l, &r->exec);
	case MS_EV_EXIT:
		tracked_del(l, r->h.pid);
		cat_strtab_forget(l->strtab, r->h.pid);
		return emit(l, r);
	case MS_EV_USDT: {
		union ms_rec u;

		/* sized to its probe in the ring: whole again from here on */
		if (cat_usdt_from_wire(data, size, &u.usdt, l->strtab)) {
			l->malformed++;
			return 0;
		}
		hooks_note(l, &u.usdt);
		return emit(l, &u);
	}
	default: return emit(l, r);
	}
}

/*
 * The QEMU binaries are looked at again at their paths. One attached before
 * any process ran it (--binary, the usual places) and replaced there gets the
 * new file attached in its place, so that the next QEMU started is traced
 * from its first probe. Then one that was replaced or deleted is detached
 * when no traced process runs it (its last process may have exited before the
 * file went). The new file goes first: detaching takes the kernel a while
 * (bin_forget), and a QEMU started meanwhile must find its probes attached.
 */
static void refresh_bins(struct live *l)
{
	char *again[8];
	size_t nagain = 0;

	for (size_t i = 0; i < l->nbins; i++) {
		struct bin *b = &l->bins[i];

		if (!b->qemu || !b->pinned || !b->path || bin_installed(b))
			continue;
		b->pinned = false;
		if (nagain < sizeof(again) / sizeof(again[0]) && (again[nagain] = strdup(b->path)))
			nagain++;
	}
	for (size_t i = 0; i < nagain; i++) {
		struct bin *nb;

		ms_dbg("%s was replaced: attaching the new file", again[i]);
		nb = classify_path(l, again[i], again[i], again[i]);
		if (nb && nb->qemu)
			nb->pinned = true;
		free(again[i]);
	}
	for (size_t i = 0; i < l->nbins;) {
		struct bin *b = &l->bins[i];

		if (!b->qemu || b->pinned || b->nprocs || !b->path || bin_installed(b)) {
			i++;
			continue;
		}
		bin_release_at(l, i); /* the last entry moved to i */
	}
}

void live_tick(struct live *l)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v, sum = 0;
	__u32 zero = 0;

	refresh_bins(l);
	hooks_tick(l);
	if (ncpu <= 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.lost), &zero, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	/* a record the collector could not read is lost too (none expected) */
	sum += l->malformed;
	if (sum > l->lost) {
		union ms_rec r = {};

		r.lost.h.kind = MS_EV_LOST;
		r.lost.h.ts = ms_now_mono();
		r.lost.count = sum - l->lost;
		l->lost = sum;
		emit(l, &r);
	}
}

/* libbpf finds syscall tracepoints through tracefs; many hosts boot
 * without it mounted. */
static void ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		ms_dbg("cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
}

int live_open(const struct live_opts *o, live_cb cb, void *arg, struct live **out, char *err,
	      size_t errlen)
{
	size_t ring = o->ring_bytes ? o->ring_bytes : DEFAULT_RING_BYTES;
	struct live *l;
	int ret;

	*out = NULL;
	if (geteuid() != 0) {
		/* capabilities may still allow it; libbpf will say */
		ms_dbg("not root: needs CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
	}
	libbpf_set_print(libbpf_print);
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->strtab = cat_strtab_new();
	if (!l->strtab) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->cb = cb;
	pthread_mutex_init(&l->link_mu, NULL);
	pthread_cond_init(&l->reap_cv, NULL);
	l->arg = arg;
	if (o->npids) {
		l->pids = malloc(o->npids * sizeof(int));
		if (!l->pids) {
			free(l);
			return -ENOMEM;
		}
		memcpy(l->pids, o->pids, o->npids * sizeof(int));
		l->npids = o->npids;
	}

	l->skel = migscope_bpf__open();
	if (!l->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	l->hooks.mode = o->hooks;
	l->skel->rodata->auto_trace = o->npids == 0;
	l->skel->rodata->nr_ioctl = SYS_ioctl;
	l->skel->rodata->nr_read = SYS_read;
	l->skel->rodata->nr_write = SYS_write;
	l->skel->rodata->nr_close = SYS_close;
	/* one form of the syscall programs or the other (bpf/migscope.bpf.c) */
	{
		bool always = o->hooks == LIVE_HOOKS_ALWAYS;
		struct bpf_program *per_syscall[] = {
		    l->skel->progs.ms_ioctl_enter, l->skel->progs.ms_ioctl_exit,
		    l->skel->progs.ms_read_enter,  l->skel->progs.ms_read_exit,
		    l->skel->progs.ms_write_enter, l->skel->progs.ms_write_exit,
		    l->skel->progs.ms_close_enter,
		};

		for (size_t i = 0; i < sizeof(per_syscall) / sizeof(per_syscall[0]); i++)
			bpf_program__set_autoload(per_syscall[i], always);
		bpf_program__set_autoload(l->skel->progs.ms_sys_enter, !always);
		bpf_program__set_autoload(l->skel->progs.ms_sys_exit, !always);
		/* attached around migrations by hooks_attach */
		bpf_program__set_autoattach(l->skel->progs.ms_sys_enter, false);
		bpf_program__set_autoattach(l->skel->progs.ms_sys_exit, false);
	}
	/* Wake the reader each time one CPU has put an eighth of the ring over
	 * the CPU count in it (ms_usdt's wake_flags counts per CPU): however
	 * the records spread over the CPUs, the ring cannot fill up without a
	 * wakeup. */
	{
		int ncpu = libbpf_num_possible_cpus(), shift = __builtin_ctzll(ring) - 3;

		for (int c = 1; c < ncpu && shift > 12; c <<= 1)
			shift--;
		l->skel->rodata->wake_shift = (__u32)shift;
	}
	ret = bpf_map__set_max_entries(l->skel->maps.events, ring);
	if (ret) {
		snprintf(err, errlen, "bad ring buffer size %zu (a power of two of pages)", ring);
		goto fail;
	}
	/* the USDT program is attached per binary below */
	bpf_program__set_autoattach(l->skel->progs.ms_usdt, false);
	ret = migscope_bpf__load(l->skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (needs root, or CAP_BPF, CAP_PERFMON "
			 "and CAP_SYS_PTRACE; -v shows the verifier's words)",
			 strerror(-ret));
		goto fail;
	}
	ensure_tracefs();
	ret = migscope_bpf__attach(l->skel);
	if (ret) {
		snprintf(err, errlen, "cannot attach the syscall and exec tracepoints: %s",
			 strerror(-ret));
		goto fail;
	}
	if (o->hooks == LIVE_HOOKS_ALWAYS) {
		l->skel->bss->hooks_on = 1;
		l->hooks.on_since = ms_now_mono();
		l->hooks.st.on = true;
		l->hooks.st.attaches = 1;
	} else {
		/* that they attach is known now, not in the first migration */
		ret = hooks_attach(l, 0);
		if (ret) {
			snprintf(err, errlen, "cannot attach the syscall programs: %s",
				 strerror(-ret));
			goto fail;
		}
		hooks_detach(l);
		l->hooks.st = (struct live_hooks_stats){0};
	}
	l->rb = ms_ring_new(bpf_map__fd(l->skel->maps.events), on_event, l);
	if (!l->rb) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		goto fail;
	}
	ret = preattach(l, o, err, errlen);
	if (ret)
		goto fail;
	/* exec events from now on are queued while we scan; none is missed */
	ret = scan_proc(l, err, errlen);
	if (ret)
		goto fail;
	*out = l;
	return 0;
fail:
	live_close(l);
	return ret < 0 ? ret : -EINVAL;
}

int live_poll(struct live *l, int timeout_ms)
{
	uint64_t before = l->events;
	/* records submitted without a wakeup are read when the wait ends */
	int n = ms_ring_poll(l->rb, timeout_ms);

	if (l->ret)
		return l->ret;
	if (n == -EINTR)
		return 0;
	if (n < 0)
		return n;
	return (int)(l->events - before);
}

void live_stats(const struct live *l, struct live_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->events = l->events;
	s->lost = l->lost;
	s->procs = l->ntracked;
	s->binaries_released = l->bins_released;
	s->hooks = l->hooks.st;
	if (s->hooks.on)
		s->hooks.on_ns += ms_now_mono() - l->hooks.on_since;
	for (size_t i = 0; i < l->nbins; i++) {
		if (!l->bins[i].qemu)
			continue;
		s->binaries++;
		s->probes_attached += l->bins[i].attached;
		s->probes_missing += l->bins[i].missing;
	}
}

const unsigned int *live_probe_attached(const struct live *l)
{
	return l->probe_attached;
}

void live_close(struct live *l)
{
	if (!l)
		return;
	ms_ring_free(l->rb);
	/* the reapers' links go before the programs they run */
	pthread_mutex_lock(&l->link_mu);
	while (l->reaping)
		pthread_cond_wait(&l->reap_cv, &l->link_mu);
	pthread_mutex_unlock(&l->link_mu);
	for (size_t i = 0; i < l->nbins; i++) {
		bin_detach(l, &l->bins[i]);
		free(l->bins[i].path);
	}
	free(l->bins);
	if (l->hooks.mode == LIVE_HOOKS_MIGRATION)
		hooks_detach(l);
	migscope_bpf__destroy(l->skel);
	free(l->pids);
	free(l->tracked);
	cat_strtab_free(l->strtab);
	free(l);
}
