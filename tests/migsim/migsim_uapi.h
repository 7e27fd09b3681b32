/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The slice of the VFIO migration uAPI (linux/vfio.h, Linux >= 6.2) that
 * migsim issues and migsim-vfiofs serves. Debian 12's headers lack
 * VFIO_MIG_GET_PRECOPY_INFO, so the structs are spelled out here; the ioctl
 * and feature numbers come from include/migscope_abi.h so that the tool and
 * its test double cannot disagree.
 */
#ifndef MIGSIM_UAPI_H
#define MIGSIM_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

#include "migscope_abi.h"

#define MSV_DEVICE_FEATURE	 _IO(MS_VFIO_TYPE, MS_VFIO_BASE + 17)
#define MSV_DEVICE_RESET	 _IO(MS_VFIO_TYPE, MS_VFIO_BASE + 11)
#define MSV_MIG_GET_PRECOPY_INFO _IO(MS_VFIO_TYPE, MS_VFIO_BASE + 21)

_Static_assert(MSV_DEVICE_FEATURE == MS_VFIO_DEVICE_FEATURE, "VFIO_DEVICE_FEATURE");
_Static_assert(MSV_MIG_GET_PRECOPY_INFO == MS_VFIO_MIG_GET_PRECOPY_INFO, "PRECOPY_INFO");

/* VFIO_DEVICE_FEATURE_MIGRATION flags */
#define MSV_MIGRATION_STOP_COPY (1u << 0)
#define MSV_MIGRATION_P2P	(1u << 1)
#define MSV_MIGRATION_PRE_COPY	(1u << 2)

#define MSV_NUM_STATES 8

struct msv_feature {
	uint32_t argsz;
	uint32_t flags;
	uint8_t data[];
};

struct msv_migration {
	uint64_t flags;
};

struct msv_mig_state {
	uint32_t device_state;
	int32_t data_fd;
};

struct msv_mig_data_size {
	uint64_t stop_copy_length;
};

struct msv_dma_logging_control {
	uint64_t page_size;
	uint32_t num_ranges;
	uint32_t reserved;
	uint64_t ranges; /* user pointer to struct msv_dma_logging_range[] */
};

struct msv_dma_logging_range {
	uint64_t iova;
	uint64_t length;
};

struct msv_dma_logging_report {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
	uint64_t bitmap; /* user pointer, one bit per page */
};

struct msv_precopy_info {
	uint32_t argsz;
	uint32_t flags;
	uint64_t initial_bytes;
	uint64_t dirty_bytes;
};

static inline const char *msv_state_name(uint32_t s)
{
	/* clang-format off */
	static const char *const names[MSV_NUM_STATES] = {
		"ERROR", "STOP", "RUNNING", "STOP_COPY",
		"RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};
	/* clang-format on */

	return s < MSV_NUM_STATES ? names[s] : "UNKNOWN STATE";
}

/*
 * Device migration data is a deterministic byte stream per device, so that
 * the destination's server can check that what the source's server produced
 * arrived intact and in order (a driver fails RESUMING on bad data too).
 */
static inline uint8_t msv_pattern(unsigned int dev, uint64_t off)
{
	return (uint8_t)(off * 0x9d + (off >> 10) * 0x3b + dev * 0x51 + 0x17);
}

#endif /* MIGSIM_UAPI_H */
