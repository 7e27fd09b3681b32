/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Dropping capabilities without libcap: capset(2) and prctl(2).
 *
 * Linux keeps capabilities per thread, so each thread of a process that
 * wants to hold less must drop them itself (a thread created later inherits
 * its creator's). `serve` drops everything in its main thread before the
 * HTTP threads exist, and the collector thread keeps only what attaching to
 * new QEMU processes needs (CAPS_ATTACH), or reading logs (CAPS_READ_LOGS).
 */
#ifndef MIGSCOPE_CAPS_H
#define MIGSCOPE_CAPS_H

#include <stdint.h>

#define CAPS_BIT(c) (1ULL << (c))
/* What the live source needs after its BPF setup, to attach to a QEMU that
 * starts later: CAP_PERFMON (perf_event_open of the uprobes), CAP_BPF (BPF
 * links and map updates) and CAP_SYS_PTRACE (reading /proc/PID/exe of a
 * process of another user, or one with capabilities migscope no longer has). */
#define CAPS_ATTACH (CAPS_BIT(38) | CAPS_BIT(39) | CAPS_BIT(19))
/* What following QEMU logs needs (--follow): CAP_DAC_READ_SEARCH, to read
 * the logs of QEMU processes of other users (libvirt's, a session's). */
#define CAPS_READ_LOGS CAPS_BIT(2)

/* Restrict the calling thread to keep (a mask of CAP_* bits) in its
 * effective, permitted and bounding sets, clear its inheritable and ambient
 * sets and set no_new_privs. 0, or a negative errno. */
int caps_restrict(uint64_t keep);
/* The calling thread's effective set. */
uint64_t caps_effective(void);
/* "cap_bpf,cap_perfmon" for a mask ("none" if empty). */
const char *caps_names(uint64_t mask, char *buf, size_t len);

#endif /* MIGSCOPE_CAPS_H */
