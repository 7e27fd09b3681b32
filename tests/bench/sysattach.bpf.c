// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The attach points considered for migscope's VFIO syscall programs, with
 * the filtering that migscope does for a process that is not traced (the
 * case of every syscall on a host but QEMU's): three variants of the same
 * logic, loaded one at a time by sysattach.c.
 *
 *   tp_*   syscalls:sys_enter_ioctl/read/write/close and sys_exit_* (one
 *          program per syscall; the kernel copies the arguments into a
 *          trace record first)
 *   raw_*  raw_tracepoint/sys_enter and sys_exit: one program for every
 *          syscall, dispatching on the id; arguments read from pt_regs with
 *          bpf_probe_read_kernel
 *   btf_*  tp_btf/sys_enter and sys_exit: the same with BTF-typed pt_regs,
 *          read directly
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "migscope_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* syscall numbers, set by the loader from <sys/syscall.h> */
const volatile long nr_ioctl = -1, nr_read = -1, nr_write = -1, nr_close = -1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} data_fds SEC(".maps");

#define IOC_TYPE(cmd) (((cmd) >> 8) & 0xff)

static __always_inline void enter_ioctl(__u32 cmd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u64 ts;

	if (IOC_TYPE(cmd) != MS_VFIO_TYPE || !bpf_map_lookup_elem(&traced, &tgid))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&inflight, &tid, &ts, BPF_ANY);
}

static __always_inline void enter_data_io(long fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 k = (pid_tgid & 0xffffffff00000000ull) | (__u32)fd;
	__u32 tid = (__u32)pid_tgid;
	__u64 ts;

	if (!bpf_map_lookup_elem(&data_fds, &k))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&inflight, &tid, &ts, BPF_ANY);
}

static __always_inline void enter_close(long fd)
{
	__u64 k = (bpf_get_current_pid_tgid() & 0xffffffff00000000ull) | (__u32)fd;

	bpf_map_delete_elem(&data_fds, &k);
}

static __always_inline void exit_any(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (bpf_map_lookup_elem(&inflight, &tid))
		bpf_map_delete_elem(&inflight, &tid);
}

/* ---- syscalls:sys_enter_* / sys_exit_* ---- */

SEC("tracepoint/syscalls/sys_enter_ioctl")
int tp_enter_ioctl(struct trace_event_raw_sys_enter *ctx)
{
	enter_ioctl((__u32)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int tp_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	enter_data_io(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	enter_data_io(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	enter_close(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int tp_exit_ioctl(void *ctx)
{
	exit_any();
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_exit_read(void *ctx)
{
	exit_any();
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int tp_exit_write(void *ctx)
{
	exit_any();
	return 0;
}

/* ---- raw_tracepoint/sys_enter, sys_exit ---- */

SEC("raw_tracepoint/sys_enter")
int raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = ctx->args[1];

	if (id == nr_ioctl)
		enter_ioctl((__u32)PT_REGS_PARM2_CORE_SYSCALL(regs));
	else if (id == nr_read || id == nr_write)
		enter_data_io(PT_REGS_PARM1_CORE_SYSCALL(regs));
	else if (id == nr_close)
		enter_close(PT_REGS_PARM1_CORE_SYSCALL(regs));
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = BPF_CORE_READ(regs, orig_ax);

	if (id == nr_ioctl || id == nr_read || id == nr_write)
		exit_any();
	return 0;
}

/* ---- tp_btf/sys_enter, sys_exit ---- */

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_enter, struct pt_regs *regs, long id)
{
	if (id == nr_ioctl)
		enter_ioctl((__u32)regs->si);
	else if (id == nr_read || id == nr_write)
		enter_data_io(regs->di);
	else if (id == nr_close)
		enter_close(regs->di);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;

	if (id == nr_ioctl || id == nr_read || id == nr_write)
		exit_any();
	return 0;
}

/* ---- the same attach points with programs that only return: the cost of
 * the attach point itself ---- */

SEC("tracepoint/syscalls/sys_enter_ioctl")
int tpnull_enter_ioctl(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int tpnull_enter_read(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tpnull_enter_write(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tpnull_enter_close(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int tpnull_exit_ioctl(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int tpnull_exit_read(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int tpnull_exit_write(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btfnull_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btfnull_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int rawnull_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int rawnull_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}
