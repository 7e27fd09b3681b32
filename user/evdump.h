/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One record as one line of JSON: `migscope replay --format events`. */
#ifndef MIGSCOPE_EVDUMP_H
#define MIGSCOPE_EVDUMP_H

#include <stdio.h>
#include "migscope_abi.h"

void evdump_json_line(FILE *f, const union ms_rec *r);

#endif
