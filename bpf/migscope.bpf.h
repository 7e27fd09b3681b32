/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only declarations of migscope.bpf.c: map value types. */
#ifndef MIGSCOPE_BPF_H
#define MIGSCOPE_BPF_H

/* Key of the executable verdict cache: the binary's inode. */
struct exe_key {
	__u64 dev; /* kernel encoding, MKDEV(major, minor) = major << 20 | minor */
	__u64 ino;
};

#define EXE_NOT_QEMU 0
#define EXE_QEMU     1

/* A syscall of a traced thread between its enter and exit. */
struct inflight {
	__u64 ts;
	__u64 arg; /* ioctl: user pointer; read/write: count */
	__s32 fd;
	__u32 cmd; /* ioctl cmd, 0 for read/write */
	__u32 op;  /* 0 ioctl, 1 read, 2 write */
	__u32 argsz;
	__u32 feat_flags;
	__u32 dev_state;
};

#define INF_IOCTL 0
#define INF_READ  1
#define INF_WRITE 2

struct data_fd_key {
	__u32 tgid;
	__s32 fd;
};

#endif
