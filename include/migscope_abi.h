/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI shared by bpf/ and user/: the records that the BPF programs
 * put in the ring buffer, that the trace file stores and that every source
 * (live, trace file, QEMU log) hands to the timeline engine.
 *
 * Fixed-width types only, explicit padding, every struct a multiple of 8
 * bytes, so that the layout is the same for clang -target bpf and for the
 * host compiler. static_asserts at the bottom pin the sizes.
 */
#ifndef MIGSCOPE_ABI_H
#define MIGSCOPE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MS_MAX_ARGS 6  /* the most any catalog probe takes */
#define MS_MAX_STRS 3  /* the most string arguments of one probe */
#define MS_STR_LEN  64 /* bytes kept of each string argument, NUL included */

enum ms_kind {
	MS_EV_NONE = 0,
	MS_EV_USDT = 1,	   /* a QEMU trace event (USDT probe or log line) */
	MS_EV_IOCTL = 2,   /* a VFIO ioctl, at its exit, with its duration */
	MS_EV_DATA_IO = 3, /* read/write on a VFIO migration data fd */
	MS_EV_EXEC = 4,	   /* a process exec'd a binary (discovery) */
	MS_EV_EXIT = 5,	   /* a traced process exited */
	/* records made in userspace, never by BPF */
	MS_EV_PROC = 16, /* identity of a traced QEMU process */
	MS_EV_LOST = 17, /* events the kernel could not deliver */
	MS_EV_KIND_MAX,
};

struct ms_hdr {
	__u64 ts;  /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u32 pid; /* tgid */
	__u32 tid;
	__u16 kind;  /* enum ms_kind */
	__u16 probe; /* catalog id (enum ms_probe) for MS_EV_USDT, else 0 */
	__u16 flags; /* MS_F_* */
	/* Which input the record came from, when several are read together
	 * (replay, merge): set in userspace, 0 from BPF and in a recording. */
	__u16 input;
};

/* ms_hdr.flags */
#define MS_F_STR_TRUNC 0x1 /* a string argument was longer than MS_STR_LEN - 1 */
#define MS_F_ARG_ERR   0x2 /* an argument could not be read */
/* made while no syscall program was attached (outside a migration, with
 * --syscall-hooks migration): VFIO ioctls and data fd I/O were not seen */
#define MS_F_NO_SYSCALLS 0x4
/* bits 8-11: which shape of the probe's arguments (MS_SHAPES), 0 the catalog's */
#define MS_F_SHAPE_SHIFT 8
#define MS_F_SHAPE_MASK	 0x0f00
#define MS_F_SHAPE(f)	 (((f)&MS_F_SHAPE_MASK) >> MS_F_SHAPE_SHIFT)

struct ms_usdt {
	struct ms_hdr h;
	/* Arguments in trace-events order. A string argument's slot holds its
	 * index into str[]; its text is in str[]. */
	__u64 args[MS_MAX_ARGS];
	char str[MS_MAX_STRS][MS_STR_LEN];
};

/*
 * The ring buffer's form of a USDT record, sized to what the probe carries:
 * the header, the probe's nargs arguments (its shape's), then the bytes of
 * the string arguments that were copied, one after the other, each with its
 * NUL. Zero-padded to a multiple of 8 bytes. A string argument's slot holds
 * the string's address in the process (bits 0-55), the length of its bytes
 * here, NUL included (bits 56-62; 0 with no bytes: it could not be read), and
 * MS_WIRE_STR_REF (bit 63): no bytes here, the string is the one this process
 * last sent copied from that address. The BPF program copies a string that
 * QEMU keeps at one address for the life of its object (MS_COOKIE_STABLE: a
 * device's name, a section's idstr, a static state name) once per CPU and
 * MS_STR_REF_NS, and refers to it in between. The collector turns the record
 * into struct ms_usdt (cat_usdt_from_wire, with the strings it was sent);
 * nothing else sees it.
 */
#define MS_USDT_WIRE_MAX   (24 + MS_MAX_ARGS * 8 + MS_MAX_STRS * MS_STR_LEN)
#define MS_WIRE_STR_REF	   (1ull << 63)
#define MS_WIRE_STR_ADDR   ((1ull << 56) - 1)
#define MS_WIRE_STR_LEN(s) ((unsigned int)(((s) >> 56) & 0x7f))
#define MS_STR_REF_NS	   100000000ull /* a string is copied again after 100 ms */

/* VFIO ioctl, emitted at syscall exit; h.ts is the syscall's start. */
struct ms_ioctl {
	struct ms_hdr h;
	__u64 dur_ns;
	__s64 ret;
	__s32 fd;
	__u32 cmd;
	/* VFIO_DEVICE_FEATURE: argsz and flags (feature | GET | SET | PROBE) */
	__u32 argsz;
	__u32 feat_flags;
	/* MIG_DEVICE_STATE: requested (SET) or returned (GET) device_state and
	 * the returned data_fd (-1 when none) */
	__u32 dev_state;
	__s32 data_fd;
	/* MIG_DATA_SIZE: v1 = stop_copy_length
	 * VFIO_MIG_GET_PRECOPY_INFO: v1 = initial_bytes, v2 = dirty_bytes */
	__u64 v1;
	__u64 v2;
};

/* ms_data_io.op */
#define MS_IO_READ  0
#define MS_IO_WRITE 1

/* read()/write() on a fd that an earlier MIG_DEVICE_STATE returned; emitted
 * at exit, h.ts is the syscall's start. */
struct ms_data_io {
	struct ms_hdr h;
	__u64 dur_ns;
	__s64 ret;   /* bytes moved, or -errno */
	__u64 count; /* bytes asked for */
	__s32 fd;
	__u32 op; /* MS_IO_READ | MS_IO_WRITE */
};

#define MS_PATH_LEN 128

/* A process exec'd a file. BPF emits it only for binaries not yet known to
 * userspace as non-QEMU, so that discovery costs nothing for the rest. */
struct ms_exec {
	struct ms_hdr h;
	__u64 dev; /* s_dev of the executable's super block (kernel encoding) */
	__u64 ino;
	char comm[16];
};

struct ms_exit {
	struct ms_hdr h;
	__s32 exit_code; /* raw wait status bits from task->exit_code */
	__u32 pad;
};

#define MS_NAME_LEN 64

/* Userspace record: who a traced QEMU process is. Written once per process
 * when tracing starts (and again on exec). */
struct ms_proc {
	struct ms_hdr h;
	__u64 start_ns;	       /* process start, CLOCK_MONOTONIC ns (from /proc stat) */
	char vm[MS_NAME_LEN];  /* -name guest=..., or "" */
	char uuid[40];	       /* -uuid, or "" */
	char exe[MS_PATH_LEN]; /* /proc/PID/exe */
	__u16 probes_attached; /* catalog probes found in the binary */
	__u16 probes_missing;  /* catalog probes the binary lacks */
	__u32 pflags;	       /* MS_PROC_* */
	/* added in the trace file's PROC table after the first release: */
	__u32 qemu_version; /* major * 10000 + minor * 100 + micro, 0 unknown */
	__u32 pad2;
	__u64 probes_present[2]; /* bit id: catalog probe id attached (0, 0 unknown) */
};

/* ms_proc.pflags */
#define MS_PROC_INCOMING	 0x1 /* started with -incoming: a migration destination */
#define MS_PROC_VERSION_AT_LEAST 0x2 /* qemu_version is a lower bound (a log's format) */

/* Userspace record: 'count' events were lost (ring buffer full) in the
 * interval (h.ts of the previous MS_EV_LOST or start of capture, h.ts]. */
struct ms_lost {
	struct ms_hdr h;
	__u64 count;
};

/* One record of any kind; h.kind tells which. */
union ms_rec {
	struct ms_hdr h;
	struct ms_usdt usdt;
	struct ms_ioctl ioctl;
	struct ms_data_io io;
	struct ms_exec exec;
	struct ms_exit exit;
	struct ms_proc proc;
	struct ms_lost lost;
};

/*
 * USDT attach cookie: the catalog id and the shape of the arguments, so that
 * one BPF program serves every probe without a table lookup.
 */
#define MS_COOKIE(id, nargs, strmask, shape, stable)                                               \
	((__u64)(id) | ((__u64)(nargs) << 16) | ((__u64)(strmask) << 24) |                         \
	 ((__u64)(shape) << 32) | ((__u64)(stable) << 40))
#define MS_COOKIE_ID(c)	     ((__u32)((c)&0xffff))
#define MS_COOKIE_NARGS(c)   ((__u32)(((c) >> 16) & 0xff))
#define MS_COOKIE_STRMASK(c) ((__u32)(((c) >> 24) & 0xff))
#define MS_COOKIE_SHAPE(c)   ((__u32)(((c) >> 32) & 0xf))
/* the string arguments QEMU keeps at one address while they can be seen */
#define MS_COOKIE_STABLE(c) ((__u32)(((c) >> 40) & 0xff))

/* VFIO uapi numbers (linux/vfio.h); Debian 12's headers lack the newest. */
#define MS_VFIO_TYPE		     0x3b /* ';' */
#define MS_VFIO_BASE		     100
#define MS_VFIO_DEVICE_FEATURE	     (((MS_VFIO_TYPE) << 8) | (MS_VFIO_BASE + 17))
#define MS_VFIO_MIG_GET_PRECOPY_INFO (((MS_VFIO_TYPE) << 8) | (MS_VFIO_BASE + 21))

#define MS_VFIO_FEAT_MASK		0xffff
#define MS_VFIO_FEAT_GET		(1u << 16)
#define MS_VFIO_FEAT_SET		(1u << 17)
#define MS_VFIO_FEAT_PROBE		(1u << 18)
#define MS_VFIO_FEAT_MIGRATION		1
#define MS_VFIO_FEAT_MIG_DEVICE_STATE	2
#define MS_VFIO_FEAT_DMA_LOGGING_START	6
#define MS_VFIO_FEAT_DMA_LOGGING_STOP	7
#define MS_VFIO_FEAT_DMA_LOGGING_REPORT 8
#define MS_VFIO_FEAT_MIG_DATA_SIZE	9

enum ms_vfio_state {
	MS_VFIO_ERROR = 0,
	MS_VFIO_STOP = 1,
	MS_VFIO_RUNNING = 2,
	MS_VFIO_STOP_COPY = 3,
	MS_VFIO_RESUMING = 4,
	MS_VFIO_RUNNING_P2P = 5,
	MS_VFIO_PRE_COPY = 6,
	MS_VFIO_PRE_COPY_P2P = 7,
};

/* VFIO migration section flags seen by vfio_load_state */
#define MS_VFIO_MIG_FLAG_END_OF_STATE	    0xffffffffef100001ULL
#define MS_VFIO_MIG_FLAG_DEV_CONFIG_STATE   0xffffffffef100002ULL
#define MS_VFIO_MIG_FLAG_DEV_SETUP_STATE    0xffffffffef100003ULL
#define MS_VFIO_MIG_FLAG_DEV_DATA_STATE	    0xffffffffef100004ULL
#define MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT 0xffffffffef100005ULL

/* migrate_send_rp_message msg_type (enum mig_rp_message_type) */
#define MS_MIG_RP_MSG_SHUT	     1
#define MS_MIG_RP_MSG_PONG	     2
#define MS_MIG_RP_MSG_SWITCHOVER_ACK 7

/* savevm_command_send command (enum qemu_vm_cmd); the destination's
 * loadvm_process_command logs the name instead (cat_vm_cmd_name) */
#define MS_MIG_CMD_OPEN_RETURN_PATH 1
#define MS_MIG_CMD_PING		    2
#define MS_MIG_CMD_SWITCHOVER_START 11

#ifndef __bpf__
_Static_assert(sizeof(struct ms_hdr) == 24, "ms_hdr layout");
_Static_assert(sizeof(struct ms_usdt) == 24 + 48 + 192, "ms_usdt layout");
_Static_assert(sizeof(struct ms_ioctl) == 80, "ms_ioctl layout");
_Static_assert(sizeof(struct ms_data_io) == 56, "ms_data_io layout");
_Static_assert(sizeof(struct ms_exec) == 56, "ms_exec layout");
_Static_assert(sizeof(struct ms_exit) == 32, "ms_exit layout");
#endif

#endif /* MIGSCOPE_ABI_H */
