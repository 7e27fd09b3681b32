/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who a QEMU process is: VM name, UUID, role hint, from /proc. */
#ifndef MIGSCOPE_PROCINFO_H
#define MIGSCOPE_PROCINFO_H

#include <stddef.h>
#include "migscope_abi.h"

/* Fill vm, uuid and pflags from a NUL-separated command line. */
void proc_parse_cmdline(const char *buf, size_t len, struct ms_proc *out);
/* Fill a whole MS_EV_PROC record for PID (header, start time, exe, cmdline
 * identity). 0 on success, negative errno if the process is gone. */
int proc_identity(int pid, struct ms_proc *out);

#endif
