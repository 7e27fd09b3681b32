/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lookups over the probe catalog of include/migscope_probes.h. */
#ifndef MIGSCOPE_CATALOG_H
#define MIGSCOPE_CATALOG_H

#include <stddef.h>
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
/* The attach cookie of a catalog probe in one of its shapes (MS_COOKIE). */
uint64_t cat_cookie(unsigned int id, unsigned int shape);
/* Argument types of shape SHAPE of a probe (0: cat_types), NULL if none. */
const char *cat_shape_types(unsigned int id, unsigned int shape);
/* The QEMU versions that give a shape ("8.1-9.0"); "" for shape 0. */
const char *cat_shape_versions(unsigned int id, unsigned int shape);
/* The shape of a probe whose USDT note gives these argument sizes (bytes,
 * negative when signed: "-4@..." is an int), -1 if the catalog knows none. */
int cat_shape_for_sizes(unsigned int id, const int *sizes, unsigned int n);
/* The shape whose types are exactly these, -1 if none. */
int cat_shape_for_types(unsigned int id, const char *types);
/* The strings traced processes sent, for the references of later records
 * (MS_WIRE_STR_REF); one per ring buffer read. */
struct cat_strtab;
struct cat_strtab *cat_strtab_new(void);
void cat_strtab_free(struct cat_strtab *t);
/* Forget the strings of process PID (it exited or exec'd). */
void cat_strtab_forget(struct cat_strtab *t, uint32_t pid);
/* References to strings the table did not have (made unreadable args). */
uint64_t cat_strtab_unresolved(const struct cat_strtab *t);
/* A USDT record as the BPF program puts it in the ring buffer (the sized form
 * of migscope_abi.h, SIZE bytes) into struct ms_usdt, its string references
 * resolved from TAB (which it learns the record's stable strings into; NULL:
 * none, a reference is then an unreadable argument). 0, or -1 when it is not
 * one of the catalog's shapes or does not hold together (*e is then unset). */
int cat_usdt_from_wire(const void *data, size_t size, struct ms_usdt *e, struct cat_strtab *tab);
/* Argument types of a USDT record, by its probe and shape (NULL if unknown). */
const char *cat_rec_types(const struct ms_usdt *e);
/* Name of a VFIO device state (enum ms_vfio_state), "?" if out of range. */
const char *cat_vfio_state_name(unsigned int state);
/* Name of a VFIO_DEVICE_FEATURE feature index, "?" if unknown. */
const char *cat_vfio_feature_name(unsigned int feature);
/* Name of a migration stream command (enum qemu_vm_cmd, MS_MIG_CMD_*), as
 * the destination's loadvm_process_command logs it; NULL if unknown. */
const char *cat_vm_cmd_name(unsigned int cmd);
/* Figures and the probes they need: a figure is unavailable from a binary
 * that has none of its probes. */
struct cat_figure {
	const char *figures; /* the JSON keys (devices.x: of each device), ", "-separated */
	const char *since;   /* the QEMU version that brought the probes */
	unsigned int probes[3];
};
size_t cat_nfigures(void);
const struct cat_figure *cat_figure_at(size_t i);

/* "10.0.2" (or "10.2.50 (v10.2.0-...)") as 100002; 0 if it is not a version. */
uint32_t cat_parse_version(const char *s);

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
