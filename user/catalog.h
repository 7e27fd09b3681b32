/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lookups over the probe catalog of include/migscope_probes.h. */
#ifndef MIGSCOPE_CATALOG_H
#define MIGSCOPE_CATALOG_H

#include <stdint.h>
#include "migscope_abi.h"
#include "migscope_probes.h"

#define MS_PROVIDER "qemu"

/* Name of a catalog probe, or NULL for an id outside the catalog. */
const char *cat_name(unsigned int id);
/* Argument type letters of a catalog probe ("" for none), NULL if unknown. */
const char *cat_types(unsigned int id);
/* Catalog id of a probe name, MS_P_NONE if it is not in the catalog. */
unsigned int cat_lookup(const char *name);
/* The attach cookie of a catalog probe (MS_COOKIE). */
uint64_t cat_cookie(unsigned int id);
/* Name of a VFIO device state (enum ms_vfio_state), "?" if out of range. */
const char *cat_vfio_state_name(unsigned int state);
/* Name of a VFIO_DEVICE_FEATURE feature index, "?" if unknown. */
const char *cat_vfio_feature_name(unsigned int feature);
/* Name of a migration stream command (enum qemu_vm_cmd, MS_MIG_CMD_*), as
 * the destination's loadvm_process_command logs it; NULL if unknown. */
const char *cat_vm_cmd_name(unsigned int cmd);
/* Name of a record kind (enum ms_kind), "?" if unknown. */
const char *cat_kind_name(unsigned int kind);

/* Argument i of a USDT record as an unsigned/signed number or string. A
 * string argument's args[] slot holds its index into str[]. */
static inline const char *ms_arg_str(const struct ms_usdt *e, int i)
{
	uint64_t k = e->args[i];

	return k < MS_MAX_STRS ? e->str[k] : "";
}

#endif
