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
 * Word K of the registers at the probe. The verifier takes only constant
 * offsets into the context: one load per case, and only of the registers an
 * argument names (a copy of them all would cost more than the few a probe
 * reads, and take a third of the stack).
 */
#define REG_CASE(k)                                                                                \
	case k:                                                                                    \
		if (k < USDT_NREGS) {                                                              \
			__u64 v;                                                                   \
                                                                                                   \
			/* in asm: the compiler would fold the cases into one                      \
			 * ctx + k * 8, which the verifier refuses */                              \
			asm volatile("%0 = *(u64 *)(%1 + %2)" : "=r"(v) : "r"(ctx), "i"(k * 8));   \
			return v;                                                                  \
		}                                                                                  \
		break;
static __always_inline __u64 reg_word(struct pt_regs *ctx, __u32 k)
{
	/* clang-format off */
	switch (k) {
	REG_CASE(0) REG_CASE(1) REG_CASE(2) REG_CASE(3) REG_CASE(4) REG_CASE(5)
	REG_CASE(6) REG_CASE(7) REG_CASE(8) REG_CASE(9) REG_CASE(10) REG_CASE(11)
	REG_CASE(12) REG_CASE(13) REG_CASE(14) REG_CASE(15) REG_CASE(16) REG_CASE(17)
	REG_CASE(18) REG_CASE(19) REG_CASE(20) REG_CASE(21) REG_CASE(22) REG_CASE(23)
	REG_CASE(24) REG_CASE(25) REG_CASE(26) REG_CASE(27) REG_CASE(28) REG_CASE(29)
	REG_CASE(30) REG_CASE(31) REG_CASE(32) REG_CASE(33) REG_CASE(34) REG_CASE(35)
	}
	/* clang-format on */
	return 0;
}

/*
 * One USDT argument, as libbpf's bpf_usdt_arg() reads it from the spec that
 * libbpf stored for this attach point (usdt.bpf.h), but without a spec
 * lookup and a bpf_probe_read_kernel() of the register per argument. A kind
 * of argument this code does not know (from a newer libbpf) goes through
 * bpf_usdt_arg().
 */
static __always_inline int usdt_arg(struct pt_regs *ctx, const struct __bpf_usdt_arg_spec *a, int i,
				    long *res)
{
	__u32 off = (__u16)a->reg_off;
	__u64 val;

	switch (a->arg_type) {
	case BPF_USDT_ARG_CONST: val = a->val_off; break;
	case BPF_USDT_ARG_REG:
	case BPF_USDT_ARG_REG_DEREF:
		if (off % 8 || off / 8 >= USDT_NREGS)
			return bpf_usdt_arg(ctx, i, res);
		val = reg_word(ctx, off / 8);
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

/* The record is built on the stack, then copied into the ring buffer at the
 * size it came to. */
#define WIRE_WORDS (MS_USDT_WIRE_MAX / 8)

SEC("usdt")
int ms_usdt(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct __bpf_usdt_spec *spec;
	__u64 buf[WIRE_WORDS];
	struct ms_hdr *h = (struct ms_hdr *)buf;
	__u64 *args = buf + sizeof(*h) / 8, flags;
	__u32 nargs, strmask;
	__u64 off; /* 64 bits: a bound checked on a 32-bit copy is lost */
	int spec_id;

	/* Probes are attached to QEMU binaries only, and with auto_trace every
	 * process that runs one is traced: the lookup only matters with -p. */
	if (!auto_trace && !is_traced(pid_tgid >> 32))
		return 0;
	spec_id = __bpf_usdt_spec_id(ctx);
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return 0;
	nargs = MS_COOKIE_NARGS(spec->usdt_cookie);
	strmask = MS_COOKIE_STRMASK(spec->usdt_cookie);
	fill_hdr(h, pid_tgid, MS_EV_USDT);
	h->probe = MS_COOKIE_ID(spec->usdt_cookie);
	h->flags = (__u16)(MS_COOKIE_SHAPE(spec->usdt_cookie) << MS_F_SHAPE_SHIFT);
	if (nargs > MS_MAX_ARGS)
		nargs = MS_MAX_ARGS;
	off = sizeof(*h) + nargs * 8;
	if (strmask) {
		/* the strings' bytes and the padding after them go out: no
		 * stack garbage with them */
		for (int i = sizeof(*h) / 8; i < WIRE_WORDS; i++)
			buf[i] = 0;
	}
	for (int i = 0; i < MS_MAX_ARGS; i++) {
		long v = 0, n;

		if (i >= nargs)
			break;
		args[i] = 0;
		if (i >= spec->arg_cnt || usdt_arg(ctx, &spec->args[i], i, &v)) {
			h->flags |= MS_F_ARG_ERR;
			continue;
		}
		if (!(strmask & (1u << i))) {
			args[i] = v;
			continue;
		}
		/* a string: its bytes after the arguments, its slot its length
		 * with the NUL (0: unreadable); one longer than the slot is cut */
		if (off > MS_USDT_WIRE_MAX - MS_STR_LEN)
			break; /* cannot be (3 strings at most): for the verifier */
		n = bpf_probe_read_user_str((char *)buf + off, MS_STR_LEN, (void *)v);
		if (n <= 0) {
			h->flags |= MS_F_ARG_ERR;
			continue;
		}
		if (n == MS_STR_LEN)
			h->flags |= MS_F_STR_TRUNC;
		args[i] = n;
		off += n;
	}
	off = (off + 7) & ~7ull;
	barrier_var(off); /* the bound below on the register that is passed */
	if (off > MS_USDT_WIRE_MAX)
		return 0; /* cannot be: the bound is for the verifier */
	if (!hooks_on) {
		h->flags |= MS_F_NO_SYSCALLS;
		flags = BPF_RB_FORCE_WAKEUP;
	} else {
		flags = wake_flags(off);
	}
	if (bpf_ringbuf_output(&events, buf, off, flags))
		count_lost();
	return 0;
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
