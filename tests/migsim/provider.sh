#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# provider.sh VERSION < migsim_probes.d > PROVIDER
#
# The provider file of a migsim version build (build/migsim-8.2, -9.1): QEMU
# 10.0's probes of migsim_probes.d as that release's trace-events declare them
# (../shared/qemu-trace-events/VERSION.0.txt): the probes it does not have
# removed, the shapes and names it had instead. migsim_trace.h fires the same
# set under MIGSIM_QEMU.
set -eu

# not in either release: 10.0's switchover start, precopy-complete,
# migration_cancel (migrate_fd_cancel before) and config load probes, 9.2's
# VFIO iterate/complete starts, and the multifd device state path
common='
/^probe migration_cancel(/d
/^probe savevm_send_switchover_start(/d
/^probe migration_precopy_complete(/d
/^probe vfio_save_iterate_start(/d
/^probe vfio_save_complete_precopy_start(/d
/^probe vfio_load_device_config_state_start(/d
/^probe vfio_load_device_config_state_end(/s/.*/probe vfio_load_device_config_state(const char * name);/
/^probe vfio_save_complete_precopy_thread_/d
/^probe vfio_load_bufs_thread_/d
/^probe vfio_load_state_device_buffer_/d
/^probe migration_thread_low_pending(/a\
\
probe migrate_fd_cancel();
'

case ${1-} in
9.1)
	sed -e "$common"
	;;
8.2)
	# and 9.1's migrate_error (migrate_fd_error before), the two-argument
	# vfio_migration_set_state without vfio_migration_set_device_state,
	# the notifier's state by name (an int from 9.0)
	sed -e "$common" \
	    -e '/^probe migrate_error(/s/.*/probe migrate_fd_error(const char * error_desc);/' \
	    -e 's/^probe vfio_migration_set_state(.*/probe vfio_migration_set_state(const char * name,const char * state);/' \
	    -e '/^probe vfio_migration_set_device_state(/d' \
	    -e 's/^probe vfio_migration_state_notifier(.*/probe vfio_migration_state_notifier(const char * name,const char * state);/'
	;;
*)
	echo "usage: provider.sh 8.2|9.1 < migsim_probes.d" >&2
	exit 2
	;;
esac
