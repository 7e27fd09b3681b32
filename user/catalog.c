// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "catalog.h"

static const struct {
	const char *name;
	const char *types;
} probes[MS_P_COUNT] = {
#define MS_X_ENTRY(id, n, t) [MS_P_##id] = {#n, t},
    MS_PROBES(MS_X_ENTRY)
#undef MS_X_ENTRY
};

const char *cat_name(unsigned int id)
{
	return id > MS_P_NONE && id < MS_P_COUNT ? probes[id].name : NULL;
}

const char *cat_types(unsigned int id)
{
	return id > MS_P_NONE && id < MS_P_COUNT ? probes[id].types : NULL;
}

unsigned int cat_lookup(const char *name)
{
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
		if (strcmp(probes[id].name, name) == 0)
			return id;
	return MS_P_NONE;
}

uint64_t cat_cookie(unsigned int id)
{
	const char *t = cat_types(id);
	unsigned int strmask = 0, n;

	if (!t)
		return 0;
	for (n = 0; t[n]; n++)
		if (t[n] == 's')
			strmask |= 1u << n;
	return MS_COOKIE(id, n, strmask);
}

const char *cat_vfio_state_name(unsigned int state)
{
	static const char *const names[] = {
	    "ERROR",	"STOP",	       "RUNNING",  "STOP_COPY",
	    "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

const char *cat_vfio_feature_name(unsigned int feature)
{
	switch (feature) {
	case MS_VFIO_FEAT_MIGRATION: return "MIGRATION";
	case MS_VFIO_FEAT_MIG_DEVICE_STATE: return "MIG_DEVICE_STATE";
	case MS_VFIO_FEAT_DMA_LOGGING_START: return "DMA_LOGGING_START";
	case MS_VFIO_FEAT_DMA_LOGGING_STOP: return "DMA_LOGGING_STOP";
	case MS_VFIO_FEAT_DMA_LOGGING_REPORT: return "DMA_LOGGING_REPORT";
	case MS_VFIO_FEAT_MIG_DATA_SIZE: return "MIG_DATA_SIZE";
	default: return "?";
	}
}

const char *cat_vm_cmd_name(unsigned int cmd)
{
	/* QEMU's mig_cmd_args[] names; the numbers have only been appended to */
	static const char *const names[] = {
	    "INVALID",
	    "OPEN_RETURN_PATH",
	    "PING",
	    "POSTCOPY_ADVISE",
	    "POSTCOPY_LISTEN",
	    "POSTCOPY_RUN",
	    "POSTCOPY_RAM_DISCARD",
	    "PACKAGED",
	    "ENABLE_COLO",
	    "POSTCOPY_RESUME",
	    "RECV_BITMAP",
	    "SWITCHOVER_START",
	};

	return cmd < sizeof(names) / sizeof(names[0]) ? names[cmd] : NULL;
}

const char *cat_kind_name(unsigned int kind)
{
	switch (kind) {
	case MS_EV_USDT: return "usdt";
	case MS_EV_IOCTL: return "ioctl";
	case MS_EV_DATA_IO: return "data_io";
	case MS_EV_EXEC: return "exec";
	case MS_EV_EXIT: return "exit";
	case MS_EV_PROC: return "proc";
	case MS_EV_LOST: return "lost";
	default: return "?";
	}
}
