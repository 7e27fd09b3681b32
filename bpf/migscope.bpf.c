// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope's kernel side: one USDT program for every QEMU trace event of the
 * catalog (the attach cookie says which, and the shape of its arguments),
 * VFIO ioctls and migration data fd I/O of traced processes, and the exec and
 * exit of processes for discovery.
 *
 * Every program first checks that the current process is traced, so that
 * nothing is emitted, and almost nothing spent, for other processes.
 *
 * The syscall programs come in two forms. ms_sys_enter and ms_sys_exit, on
 * the raw sys_enter and sys_exit tracepoints, are attached by userspace only
 * while a traced QEMU migrates (or is about to): any syscall tracepoint puts
 * every task of the host on the slow syscall path, and these attach and
 * detach in a fraction of a millisecond. The per-syscall tracepoint programs
 * (ms_ioctl_enter and the rest) are the --syscall-hooks always form.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
/* libbpf's USDT argument specs, one per probe site attached (a QEMU binary
 * has some 90): 256 by default, so that a fourth binary attached at once (an
 * upgrade while VMs still run older ones, each binary until its last process
 * exits) got E2BIG. The IP map is unused with BPF cookies (kernel 5.15+). */
#define BPF_USDT_MAX_SPEC_CNT 4096
#define BPF_USDT_MAX_IP_CNT   4096
#include <bpf/usdt.bpf.h>
#include "migscope_abi.h"
#include "migscope.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load: when true, exec of a binary known to be QEMU starts
 * tracing the process at once (auto-discovery); with -p PID it is false. */
const volatile bool auto_trace = true;

/* Set before load: the reader is woken each time the bytes one CPU has put
 * in the ring buffer cross a multiple of 1 << wake_shift, not for every
 * record (wake_flags). */
const volatile __u32 wake_shift = 21;

/* Set before load from the C library's SYS_* numbers: the raw syscall
 * tracepoints see every syscall and dispatch on these. */
const volatile long nr_ioctl = -1;
const volatile long nr_read = -1;
const volatile long nr_write = -1;
const volatile long nr_close = -1;

/* Set by userspace: 1 while syscall programs are attached. A USDT record
 * made while it is 0 says so (MS_F_NO_SYSCALLS), so that figures made of
 * ioctls and data fd I/O are known to be blind there, and wakes the reader
 * at once: such a record may be the start of a migration, for which
 * userspace attaches the syscall programs. */
__u32 hooks_on = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} events SEC(".maps");

/* tgid -> 1: the processes whose events are wanted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* binary inode -> EXE_QEMU / EXE_NOT_QEMU, filled by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct exe_key);
	__type(value, __u8);
} exe_verdict SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tid */
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Migration data fds that MIG_DEVICE_STATE returned, per process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct data_fd_key);
	__type(value, __u8);
} data_fds SEC(".maps");

/* Records that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * Entries in inflight and data_fds. Every process's read(), write(), close()
 * and ioctl() exit checks one of these maps; while a map is empty (always,
 * but during a VFIO migration of a traced QEMU) a load of its count replaces
 * the hash lookup. A count only goes down when this program removed an entry
 * it added, so it is never below the true number of entries.
 */
__u64 inflight_n = 0;
__u64 data_fds_n = 0;

static __always_inline void inflight_put(__u32 tid, const struct inflight *in)
{
	if (!bpf_map_update_elem(&inflight, &tid, in, BPF_NOEXIST))
		__sync_fetch_and_add(&inflight_n, 1);
	else
		bpf_map_update_elem(&inflight, &tid, in, BPF_EXIST);
}

static __always_inline void inflight_del(__u32 tid)
{
	if (!bpf_map_delete_elem(&inflight, &tid))
		__sync_fetch_and_sub(&inflight_n, 1);
}

static __always_inline bool is_traced(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		(*n)++;
}

/* Bytes this CPU has put in the ring buffer, for the wakeup rule. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} produced SEC(".maps");

/*
 * Submit flags for a record of SIZE bytes. A wakeup is an irq_work and an IPI
 * on the producer's CPU, several microseconds in a VM: paying it per record
 * would cost QEMU more than the rest of the probe. So the reader is woken
 * each time this CPU's output crosses a multiple of 1 << wake_shift bytes.
 * The count is per CPU, a load and a store in this CPU's cache: the ring's
 * own positions (bpf_ringbuf_query, or the default adaptive wakeup) are
 * lines the reader writes on another CPU, a cache miss per record.
 */
static __always_inline __u64 wake_flags(__u64 size)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&produced, &zero), was;

	if (!n)
		return BPF_RB_FORCE_WAKEUP;
	size += 8; /* BPF_RINGBUF_HDR_SZ */
	was = *n;
	*n = was + size;
	if ((was >> wake_shift) != ((was + size) >> wake_shift))
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_hdr(struct ms_hdr *h, __u64 pid_tgid, __u16 kind)
{
	h->ts = bpf_ktime_get_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->kind = kind;
	h->probe = 0;
	h->flags = 0;
	h->input = 0;
}

/* pt_regs as an array of words: libbpf's USDT argument specs name a register
 * by its byte offset in struct pt_regs. */
#define USDT_NREGS (sizeof(struct pt_regs) / sizeof(__u64))

/*
 * One USDT argument, as libbpf's bpf_usdt_arg() reads it from the spec that
 * libbpf stored for this attach point (usdt.bpf.h), but without a spec
 * lookup and a bpf_probe_read_kernel() of the register per argument: REGS is
 * a copy of the registers at the probe (21 loads and stores; a switch on the
 * register's offset, the verifier taking only constant offsets into the
 * context, measured the same). A kind of argument this code does not know
 * (from a newer libbpf) goes through bpf_usdt_arg().
 */
static __always_inline int usdt_arg(struct pt_regs *ctx, const __u64 *regs,
				    const struct __bpf_usdt_arg_spec *a, int i, long *res)
{
	__u32 off = (__u16)a->reg_off;
	__u64 val;

	switch (a->arg_type) {
	case BPF_USDT_ARG_CONST: val = a->val_off; break;
	case BPF_USDT_ARG_REG:
	case BPF_USDT_ARG_REG_DEREF:
		if (off % 8 || off / 8 >= USDT_NREGS)
			return bpf_usdt_arg(ctx, i, res);
		val = regs[off / 8];
		if (a->arg_type == BPF_USDT_ARG_REG)
			break;
		if (bpf_probe_read_user(&val, sizeof(val), (void *)(val + a->val_off)))
			return -EFAULT;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		val >>= a->arg_bitshift;
#endif
		break;
	default: return bpf_usdt_arg(ctx, i, res);
	}
	val <<= a->arg_bitshift;
	if (a->arg_signed)
		val = ((long)val) >> a->arg_bitshift;
	else
		val = val >> a->arg_bitshift;
	*res = val;
	return 0;
}

#define WIRE_WORDS (MS_USDT_WIRE_MAX / 8)

/*
 * The stable strings (MS_COOKIE_STABLE) this CPU sent copied lately, by a
 * hash of their address and process: a copy from user memory costs more than
 * the rest of a record here (some 125 ns on AMD EPYC with its mitigations),
 * and the hot probes carry a device's name. A record refers to a string sent
 * in the last MS_STR_REF_NS by the same process from the same address, and
 * of this generation (str_gen moves on when a traced process exits or
 * execs, so that an address of a process never stands for another's). The
 * entry is written only once the copy is in the ring buffer, so that a
 * reference never comes before its copy, even from a thread that preempted
 * this one on the CPU. Per CPU, so that no record waits for another CPU's
 * cache line; a collision costs a copy, never a wrong name.
 */
#define STR_SEEN_SLOTS 256

struct str_seen {
	__u64 addr;
	__u64 ts;
	__u32 tgid;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STR_SEEN_SLOTS);
	__type(key, __u32);
	__type(value, struct str_seen);
} str_seen SEC(".maps");

__u32 str_gen = 0;

static __always_inline __u32 str_slot(__u64 addr, __u32 tgid)
{
	__u64 h = (addr ^ ((__u64)tgid << 40)) * 0x9e3779b97f4a7c15ull;

	return (__u32)(h >> 56) & (STR_SEEN_SLOTS - 1);
}

/* A USDT record as ms_usdt read it, for the two ways out (global functions:
 * the verifier checks each once, not for every path of the reading). */
struct usdt_rec {
	struct ms_hdr h;
	__u64 av[MS_MAX_ARGS]; /* the arguments, a string's as its slot */
	__u32 nargs, copy, stable, tgid, gen;
	__u32 learned; /* kept in memory, where the verifier does not follow
			* its value: in a register, each mix of strings copied
			* and not would be a path of its own */
};

/*
 * A record with string bytes, the bytes of the strings in u->copy after the
 * arguments: reserved at the most a record can take (the verifier wants the
 * size constant, and the stack has no room for a copy beside ms_usdt's), the
 * bytes after the strings zeroed; the collector reads it to its strings' end.
 * Such records are few: a stable string is copied once per CPU and
 * MS_STR_REF_NS, and is remembered (str_seen) once it is in the ring buffer.
 */
__noinline int ms_usdt_out_strs(struct usdt_rec *u)
{
	__u64 *r, *args, *av, off; /* 64 bits: a bound checked on a 32-bit copy is lost */
	struct ms_hdr *h;
	__u32 nargs, copy;

	if (!u)
		return 0;
	av = u->av;
	nargs = u->nargs;
	copy = u->copy;
	if (nargs > MS_MAX_ARGS)
		return 0;
	r = bpf_ringbuf_reserve(&events, MS_USDT_WIRE_MAX, 0);
	if (!r) {
		count_lost();
		return 0;
	}
	/* no bytes of an older record with it */
	for (int w = 0; w < WIRE_WORDS; w++)
		r[w] = 0;
	h = (struct ms_hdr *)r;
	*h = u->h;
	args = r + sizeof(*h) / 8;
	off = sizeof(*h) + nargs * 8;
	for (int i = 0; i < MS_MAX_ARGS; i++) {
		long n;

		if (i >= nargs)
			break;
		args[i] = av[i];
		if (!(copy & (1u << i)))
			continue;
		/* its bytes after the arguments, its slot its address and its
		 * length with the NUL (0: unreadable); one longer than
		 * MS_STR_LEN - 1 is cut */
		if (off > MS_USDT_WIRE_MAX - MS_STR_LEN)
			break; /* cannot be (3 strings at most): for the verifier */
		args[i] = av[i] & MS_WIRE_STR_ADDR;
		n = bpf_probe_read_user_str((char *)r + off, MS_STR_LEN, (void *)av[i]);
		if (n <= 0) {
			h->flags |= MS_F_ARG_ERR;
			continue;
		}
		if (n == MS_STR_LEN)
			h->flags |= MS_F_STR_TRUNC;
		args[i] |= (__u64)n << 56;
		off += n;
		if (u->stable & (1u << i))
			u->learned |= 1u << i;
	}
	bpf_ringbuf_submit(r, h->flags & MS_F_NO_SYSCALLS ? BPF_RB_FORCE_WAKEUP
							  : wake_flags(MS_USDT_WIRE_MAX));
	for (int i = 0; i < MS_MAX_ARGS; i++) {
		struct str_seen *seen;
		__u32 slot;

		if (!(u->learned & (1u << i)))
			continue;
		slot = str_slot(av[i], u->tgid);
		seen = bpf_map_lookup_elem(&str_seen, &slot);
		if (!seen)
			continue;
		seen->addr = av[i] & MS_WIRE_STR_ADDR;
		seen->ts = u->h.ts;
		seen->tgid = u->tgid;
		seen->gen = u->gen;
	}
	return 0;
}

/* A record without string bytes (none in the probe, or all sent before):
 * reserved in the ring buffer at its size, which the verifier wants
 * constant, and written there, the N arguments words of a constant count. */
static __always_inline void usdt_fill(__u64 *r, const struct usdt_rec *u, __u32 n)
{
	*(struct ms_hdr *)r = u->h;
	for (__u32 i = 0; i < n; i++) {
		__u64 x = u->av[i];

		barrier_var(x); /* word by word: clang would make a memcpy of it */
		r[sizeof(struct ms_hdr) / 8 + i] = x;
	}
}

#define RESERVE_CASE(n)                                                                            \
	case n:                                                                                    \
		size = sizeof(struct ms_hdr) + n * 8;                                              \
		r = bpf_ringbuf_reserve(&events, sizeof(struct ms_hdr) + n * 8, 0);                \
		if (r)                                                                             \
			usdt_fill(r, u, n);                                                        \
		break;
static __always_inline int usdt_out_words(const struct usdt_rec *u, __u32 nargs)
{
	__u64 *r = NULL, size = 0;

	switch (nargs) {
		RESERVE_CASE(0)
		RESERVE_CASE(1)
		RESERVE_CASE(2)
		RESERVE_CASE(3)
		RESERVE_CASE(4)
		RESERVE_CASE(5)
		RESERVE_CASE(6)
	}
	if (!r) {
		count_lost();
		return 0;
	}
	bpf_ringbuf_submit(r,
			   u->h.flags & MS_F_NO_SYSCALLS ? BPF_RB_FORCE_WAKEUP : wake_flags(size));
	return 0;
}

SEC("usdt")
int ms_usdt(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct __bpf_usdt_spec *spec;
	struct usdt_rec u; /* every field read is written first: no zeroing */
	__u64 regs[USDT_NREGS];
	struct ms_hdr *h = &u.h;
	__u64 *av = u.av;
	__u32 nargs, strmask, stable, tgid = pid_tgid >> 32, gen = str_gen, copy = 0;
	int spec_id;

	/* Probes are attached to QEMU binaries only, and with auto_trace every
	 * process that runs one is traced: the lookup only matters with -p. */
	if (!auto_trace && !is_traced(tgid))
		return 0;
	spec_id = __bpf_usdt_spec_id(ctx);
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return 0;
	nargs = MS_COOKIE_NARGS(spec->usdt_cookie);
	strmask = MS_COOKIE_STRMASK(spec->usdt_cookie);
	stable = MS_COOKIE_STABLE(spec->usdt_cookie);
	__builtin_memcpy(regs, ctx, sizeof(regs));
	fill_hdr(h, pid_tgid, MS_EV_USDT);
	h->probe = MS_COOKIE_ID(spec->usdt_cookie);
	h->flags = (__u16)(MS_COOKIE_SHAPE(spec->usdt_cookie) << MS_F_SHAPE_SHIFT);
	if (!hooks_on)
		h->flags |= MS_F_NO_SYSCALLS;
	if (nargs > MS_MAX_ARGS)
		nargs = MS_MAX_ARGS;
	for (int i = 0; i < MS_MAX_ARGS; i++) {
		struct str_seen *seen;
		__u32 slot;
		long v = 0;

		if (i >= nargs)
			break;
		if (i >= spec->arg_cnt || usdt_arg(ctx, regs, &spec->args[i], i, &v)) {
			h->flags |= MS_F_ARG_ERR;
			av[i] = 0;
			continue;
		}
		av[i] = v;
		if (!(strmask & (1u << i)))
			continue;
		if (stable & (1u << i)) {
			slot = str_slot(v, tgid);
			seen = bpf_map_lookup_elem(&str_seen, &slot);
			if (seen && seen->addr == (__u64)v && seen->tgid == tgid &&
			    seen->gen == gen && h->ts - seen->ts < MS_STR_REF_NS) {
				av[i] = MS_WIRE_STR_REF | ((__u64)v & MS_WIRE_STR_ADDR);
				continue;
			}
		}
		copy |= 1u << i;
	}
	u.nargs = nargs;
	u.copy = copy;
	if (!copy)
		return usdt_out_words(&u, nargs);
	u.stable = stable;
	u.tgid = tgid;
	u.gen = gen;
	u.learned = 0;
	return ms_usdt_out_strs(&u);
}

#define IOC_TYPE(cmd) (((cmd) >> 8) & 0xff)

static __always_inline int ioctl_enter(__s32 fd, __u32 cmd, __u64 arg)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct inflight in = {};

	if (IOC_TYPE(cmd) != MS_VFIO_TYPE || !is_traced(pid_tgid >> 32))
		return 0;
	in.ts = bpf_ktime_get_ns();
	in.fd = fd;
	in.cmd = cmd;
	in.op = INF_IOCTL;
	in.arg = arg;
	if (cmd == MS_VFIO_DEVICE_FEATURE) {
		__u32 hdr[3] = {};

		/* struct vfio_device_feature { u32 argsz; u32 flags; u8 data[]; }
		 * data of MIG_DEVICE_STATE: { u32 device_state; s32 data_fd; } */
		bpf_probe_read_user(hdr, sizeof(hdr), (void *)in.arg);
		in.argsz = hdr[0];
		in.feat_flags = hdr[1];
		in.dev_state = hdr[2];
	}
	inflight_put(tid, &in);
	return 0;
}

/* The start every syscall-exit record shares (struct ms_ioctl and struct
 * ms_data_io begin alike). */
struct sys_rec {
	struct ms_hdr h;
	__u64 dur_ns;
	__s64 ret;
};

/*
 * The common part of a syscall exit: take the thread's in-flight entry of kind
 * OP and reserve a record of SIZE bytes stamped with the syscall's start, its
 * duration and its return. Returns the record, or NULL when there is nothing
 * to emit; *inp is the entry (NULL if none), which the caller deletes.
 */
static __always_inline void *sys_exit_rec(long ret, __u64 pid_tgid, __u32 op, __u64 size,
					  __u16 kind, struct inflight **inp)
{
	__u32 tid = (__u32)pid_tgid;
	struct inflight *in;
	struct sys_rec *e;
	__u64 now;

	*inp = NULL;
	if (!inflight_n)
		return NULL;
	in = bpf_map_lookup_elem(&inflight, &tid);
	if (!in)
		return NULL;
	*inp = in;
	if (in->op != op)
		return NULL;
	now = bpf_ktime_get_ns();
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		count_lost();
		return NULL;
	}
	fill_hdr(&e->h, pid_tgid, kind);
	e->h.ts = in->ts; /* a syscall is placed at its start */
	e->dur_ns = now - in->ts;
	e->ret = ret;
	return e;
}

static __always_inline int ioctl_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct inflight *in;
	struct ms_ioctl *e;

	e = sys_exit_rec(ret, pid_tgid, INF_IOCTL, sizeof(*e), MS_EV_IOCTL, &in);
	if (!in)
		return 0;
	if (!e)
		goto out;
	e->fd = in->fd;
	e->cmd = in->cmd;
	e->argsz = in->argsz;
	e->feat_flags = in->feat_flags;
	e->dev_state = in->dev_state;
	e->data_fd = -1;
	e->v1 = 0;
	e->v2 = 0;
	if (ret == 0 && in->cmd == MS_VFIO_DEVICE_FEATURE) {
		__u32 feature = in->feat_flags & MS_VFIO_FEAT_MASK;

		if (feature == MS_VFIO_FEAT_MIG_DEVICE_STATE) {
			__s32 st[2] = {};

			bpf_probe_read_user(st, sizeof(st), (void *)(in->arg + 8));
			if (in->feat_flags & MS_VFIO_FEAT_GET)
				e->dev_state = st[0];
			if (in->feat_flags & MS_VFIO_FEAT_SET) {
				e->data_fd = st[1];
				if (st[1] >= 0) {
					struct data_fd_key k = {pid_tgid >> 32, st[1]};
					__u8 one = 1;

					if (!bpf_map_update_elem(&data_fds, &k, &one, BPF_NOEXIST))
						__sync_fetch_and_add(&data_fds_n, 1);
				}
			}
		} else if (feature == MS_VFIO_FEAT_MIG_DATA_SIZE &&
			   (in->feat_flags & MS_VFIO_FEAT_GET)) {
			bpf_probe_read_user(&e->v1, sizeof(e->v1), (void *)(in->arg + 8));
		}
	} else if (ret == 0 && in->cmd == MS_VFIO_MIG_GET_PRECOPY_INFO) {
		/* struct vfio_precopy_info { u32 argsz; u32 flags; u64 initial_bytes;
		 * u64 dirty_bytes; } */
		__u64 v[2] = {};

		bpf_probe_read_user(v, sizeof(v), (void *)(in->arg + 8));
		e->v1 = v[0];
		e->v2 = v[1];
	}
	bpf_ringbuf_submit(e, wake_flags(sizeof(*e)));
out:
	inflight_del(tid);
	return 0;
}

static __always_inline int data_io_enter(__s32 fd, __u64 count, __u32 op)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct data_fd_key k = {pid_tgid >> 32, fd};
	__u32 tid = (__u32)pid_tgid;
	struct inflight in = {};

	/* data_fds holds entries of traced processes only, so it is the filter */
	if (!data_fds_n || !bpf_map_lookup_elem(&data_fds, &k))
		return 0;
	in.ts = bpf_ktime_get_ns();
	in.fd = k.fd;
	in.op = op;
	in.arg = count;
	inflight_put(tid, &in);
	return 0;
}

static __always_inline int data_io_exit(long ret, __u32 op)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct inflight *in;
	struct ms_data_io *e;

	e = sys_exit_rec(ret, pid_tgid, op, sizeof(*e), MS_EV_DATA_IO, &in);
	if (!in)
		return 0;
	if (!e)
		goto out;
	e->count = in->arg;
	e->fd = in->fd;
	e->op = op == INF_READ ? MS_IO_READ : MS_IO_WRITE;
	bpf_ringbuf_submit(e, wake_flags(sizeof(*e)));
out:
	inflight_del(tid);
	return 0;
}

static __always_inline int close_enter(__s32 fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct data_fd_key k = {pid_tgid >> 32, fd};

	if (data_fds_n && !bpf_map_delete_elem(&data_fds, &k))
		__sync_fetch_and_sub(&data_fds_n, 1);
	return 0;
}

/* The migration-time form: every syscall of the host passes here while it is
 * attached, so the common case is a few compares. */
SEC("tp_btf/sys_enter")
int BPF_PROG(ms_sys_enter, struct pt_regs *regs, long id)
{
	if (id == nr_ioctl)
		return ioctl_enter((__s32)PT_REGS_PARM1_SYSCALL(regs),
				   (__u32)PT_REGS_PARM2_SYSCALL(regs), PT_REGS_PARM3_SYSCALL(regs));
	if (id == nr_read || id == nr_write)
		return data_io_enter((__s32)PT_REGS_PARM1_SYSCALL(regs),
				     PT_REGS_PARM3_SYSCALL(regs),
				     id == nr_read ? INF_READ : INF_WRITE);
	if (id == nr_close)
		return close_enter((__s32)PT_REGS_PARM1_SYSCALL(regs));
	return 0;
}

/* the number of the syscall that returns: the raw sys_exit tracepoint gives
 * only its registers */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ((struct user_pt_regs *)regs, syscallno);
#else
#error "syscall_nr: no syscall number register known for this architecture"
#endif
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ms_sys_exit, struct pt_regs *regs, long ret)
{
	long id;

	/* nothing in flight (no traced thread in a VFIO ioctl or a data fd
	 * read or write): the common case, one load */
	if (!inflight_n)
		return 0;
	id = syscall_nr(regs);
	if (id == nr_ioctl)
		return ioctl_exit(ret);
	if (id == nr_read)
		return data_io_exit(ret, INF_READ);
	if (id == nr_write)
		return data_io_exit(ret, INF_WRITE);
	return 0;
}

/* The --syscall-hooks always form, one tracepoint per syscall. */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int ms_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	return ioctl_enter((__s32)ctx->args[0], (__u32)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int ms_ioctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	return ioctl_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_read")
int ms_read_enter(struct trace_event_raw_sys_enter *ctx)
{
	return data_io_enter((__s32)ctx->args[0], ctx->args[2], INF_READ);
}

SEC("tracepoint/syscalls/sys_exit_read")
int ms_read_exit(struct trace_event_raw_sys_exit *ctx)
{
	return data_io_exit(ctx->ret, INF_READ);
}

SEC("tracepoint/syscalls/sys_enter_write")
int ms_write_enter(struct trace_event_raw_sys_enter *ctx)
{
	return data_io_enter((__s32)ctx->args[0], ctx->args[2], INF_WRITE);
}

SEC("tracepoint/syscalls/sys_exit_write")
int ms_write_exit(struct trace_event_raw_sys_exit *ctx)
{
	return data_io_exit(ctx->ret, INF_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_close")
int ms_close_enter(struct trace_event_raw_sys_enter *ctx)
{
	return close_enter((__s32)ctx->args[0]);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ms_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	struct exe_key k = {
	    .dev = BPF_CORE_READ(inode, i_sb, s_dev),
	    .ino = BPF_CORE_READ(inode, i_ino),
	};
	bool was_traced = is_traced(tgid);
	__u8 *verdict = bpf_map_lookup_elem(&exe_verdict, &k);
	struct ms_exec *e;

	/* Known not to be QEMU, and not a traced process turning into
	 * something else: the common case, nothing to say. */
	if (verdict && *verdict == EXE_NOT_QEMU && !was_traced)
		return 0;
	if (verdict && *verdict == EXE_QEMU && auto_trace) {
		__u8 one = 1;

		/* start at once; userspace catches up with the identity */
		bpf_map_update_elem(&traced, &tgid, &one, BPF_ANY);
	}
	/* the process's addresses stand for nothing of the new image's */
	__sync_fetch_and_add(&str_gen, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	fill_hdr(&e->h, pid_tgid, MS_EV_EXEC);
	e->dev = k.dev;
	e->ino = k.ino;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* userspace must attach before the new process fires its first
	 * probes: wake it now, whatever the ring holds */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* bpf_for_each_map_elem callback: forget a data fd of the exiting process */
static long forget_data_fd(struct bpf_map *map, struct data_fd_key *k, __u8 *v, __u32 *tgid)
{
	if (k->tgid == *tgid && !bpf_map_delete_elem(map, k))
		__sync_fetch_and_sub(&data_fds_n, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ms_exit, struct task_struct *p)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ms_exit *e;

	if (!is_traced(tgid))
		return 0;
	/* Only the last thread ends the process; signal->live is already
	 * decremented when the tracepoint fires. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&traced, &tgid);
	/* its pid may come again, with other strings at the same addresses */
	__sync_fetch_and_add(&str_gen, 1);
	/* the kernel closes a dying process's fds without close(): its data
	 * fds go here, so that data_fds empties again after a migration */
	if (data_fds_n)
		bpf_for_each_map_elem(&data_fds, forget_data_fd, &tgid, 0);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	fill_hdr(&e->h, pid_tgid, MS_EV_EXIT);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
