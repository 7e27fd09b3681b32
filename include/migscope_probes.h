/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The probe catalog: every QEMU trace event migscope understands, with the
 * types of its arguments in trace-events order. One list, expanded wherever
 * the project needs it (attach table, file probe table, log parser, names).
 *
 * Argument type letters:
 *   s  const char *      (copied, at most MS_STR_LEN - 1 bytes)
 *   u  uint64_t          x  unsigned / uint32_t      w  uint16_t
 *   i  int (signed 32)   I  int64_t
 *
 * X(ID, name, types)
 */
#ifndef MIGSCOPE_PROBES_H
#define MIGSCOPE_PROBES_H

/* clang-format off */
#define MS_PROBES(X)                                                          \
	/* migration core */                                                 \
	X(MIGRATE_SET_STATE, migrate_set_state, "s")                         \
	X(MIGRATE_ERROR, migrate_error, "s")                                 \
	X(MIGRATION_CANCEL, migration_cancel, "")                            \
	X(MIGRATE_PENDING_ESTIMATE, migrate_pending_estimate, "uuu")         \
	X(MIGRATE_PENDING_EXACT, migrate_pending_exact, "uuu")               \
	X(MIGRATE_TRANSFERRED, migrate_transferred, "uuuuu")                 \
	X(MIGRATION_THREAD_LOW_PENDING, migration_thread_low_pending, "u")   \
	X(MIGRATION_BITMAP_SYNC_END, migration_bitmap_sync_end, "u")         \
	X(MIGRATION_COMPLETION_VM_STOP, migration_completion_vm_stop, "i")   \
	X(SAVEVM_SEND_SWITCHOVER_START, savevm_send_switchover_start, "")    \
	X(MIGRATION_PRECOPY_COMPLETE, migration_precopy_complete, "")        \
	X(POSTCOPY_START, postcopy_start, "")                                \
	X(LOADVM_POSTCOPY_HANDLE_RUN, loadvm_postcopy_handle_run, "")        \
	X(VM_STATE_NOTIFY, vm_state_notify, "iis")                           \
	X(RUNSTATE_SET, runstate_set, "isis")                                \
	/* the names of migrate_error and migration_cancel before 9.1 / 10.0 */ \
	X(MIGRATE_FD_ERROR, migrate_fd_error, "s")                           \
	X(MIGRATE_FD_CANCEL, migrate_fd_cancel, "")                          \
	/* switchover-ack handshake */                                       \
	X(SAVEVM_SEND_OPEN_RETURN_PATH, savevm_send_open_return_path, "")    \
	X(OPEN_RETURN_PATH_ON_SOURCE, open_return_path_on_source, "")        \
	X(SOURCE_RETURN_PATH_THREAD_ENTRY, source_return_path_thread_entry, "") \
	X(SOURCE_RETURN_PATH_THREAD_END, source_return_path_thread_end, "")  \
	X(LOADVM_STATE_SWITCHOVER_ACK_NEEDED, loadvm_state_switchover_ack_needed, "x") \
	X(LOADVM_APPROVE_SWITCHOVER, loadvm_approve_switchover, "x")         \
	X(MIGRATE_SEND_RP_MESSAGE, migrate_send_rp_message, "iw")            \
	X(SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED,                        \
	  source_return_path_thread_switchover_acked, "")                    \
	/* the protocol's messages in both directions (clock alignment) */   \
	X(SAVEVM_COMMAND_SEND, savevm_command_send, "ww")                    \
	X(LOADVM_PROCESS_COMMAND, loadvm_process_command, "sw")              \
	X(SAVEVM_SEND_PING, savevm_send_ping, "x")                           \
	X(LOADVM_PROCESS_COMMAND_PING, loadvm_process_command_ping, "x")     \
	X(SOURCE_RETURN_PATH_THREAD_PONG, source_return_path_thread_pong, "x") \
	X(SOURCE_RETURN_PATH_THREAD_SHUT, source_return_path_thread_shut, "x") \
	/* precopy section headers, one per section and iteration */         \
	X(SAVEVM_SECTION_START, savevm_section_start, "sx")                  \
	X(QEMU_LOADVM_STATE_SECTION_PARTEND, qemu_loadvm_state_section_partend, "x") \
	/* downtime checkpoints and per-device downtime (8.2+) */            \
	X(VMSTATE_DOWNTIME_CHECKPOINT, vmstate_downtime_checkpoint, "s")     \
	X(VMSTATE_DOWNTIME_SAVE, vmstate_downtime_save, "ssxI")              \
	X(VMSTATE_DOWNTIME_LOAD, vmstate_downtime_load, "ssxI")              \
	/* VFIO devices */                                                   \
	X(VFIO_MIGRATION_REALIZE, vfio_migration_realize, "s")               \
	X(VFIO_MIGRATION_SET_STATE, vfio_migration_set_state, "sss")         \
	X(VFIO_MIGRATION_SET_DEVICE_STATE, vfio_migration_set_device_state, "ss") \
	X(VFIO_MIGRATION_STATE_NOTIFIER, vfio_migration_state_notifier, "si") \
	X(VFIO_VMSTATE_CHANGE, vfio_vmstate_change, "siss")                  \
	X(VFIO_VMSTATE_CHANGE_PREPARE, vfio_vmstate_change_prepare, "siss")  \
	X(VFIO_SAVE_SETUP, vfio_save_setup, "su")                            \
	X(VFIO_SAVE_ITERATE_START, vfio_save_iterate_start, "s")             \
	X(VFIO_SAVE_ITERATE, vfio_save_iterate, "suu")                       \
	X(VFIO_SAVE_BLOCK, vfio_save_block, "si")                            \
	X(VFIO_STATE_PENDING_ESTIMATE, vfio_state_pending_estimate, "suuuu") \
	X(VFIO_STATE_PENDING_EXACT, vfio_state_pending_exact, "suuuuu")      \
	X(VFIO_SAVE_COMPLETE_PRECOPY_START, vfio_save_complete_precopy_start, "s") \
	X(VFIO_SAVE_COMPLETE_PRECOPY, vfio_save_complete_precopy, "si")      \
	X(VFIO_SAVE_DEVICE_CONFIG_STATE, vfio_save_device_config_state, "s") \
	X(VFIO_SAVE_CLEANUP, vfio_save_cleanup, "s")                         \
	X(VFIO_LOAD_CLEANUP, vfio_load_cleanup, "s")                         \
	X(VFIO_LOAD_STATE, vfio_load_state, "su")                            \
	X(VFIO_LOAD_STATE_DEVICE_DATA, vfio_load_state_device_data, "sui")   \
	X(VFIO_LOAD_DEVICE_CONFIG_STATE_START, vfio_load_device_config_state_start, "s") \
	X(VFIO_LOAD_DEVICE_CONFIG_STATE_END, vfio_load_device_config_state_end, "s") \
	X(VFIO_LOAD_DEVICE_CONFIG_STATE, vfio_load_device_config_state, "s") /* to 9.2 */ \
	/* VFIO device state over multifd (10.0+): a save thread per device on \
	 * the source, packets and a load thread per device on the destination */ \
	X(VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START, vfio_save_complete_precopy_thread_start, "ssx") \
	X(VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END, vfio_save_complete_precopy_thread_end, "si") \
	X(VFIO_LOAD_BUFS_THREAD_START, vfio_load_bufs_thread_start, "s")     \
	X(VFIO_LOAD_BUFS_THREAD_END, vfio_load_bufs_thread_end, "s")         \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING, vfio_load_state_device_buffer_incoming, "sx") \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_START, vfio_load_state_device_buffer_start, "s") \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED, vfio_load_state_device_buffer_starved, "sx") \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START, vfio_load_state_device_buffer_load_start, "sx") \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END, vfio_load_state_device_buffer_load_end, "sx") \
	X(VFIO_LOAD_STATE_DEVICE_BUFFER_END, vfio_load_state_device_buffer_end, "s") \
	/* QMP commands that come before a migration (QAPI's generated trace \
	 * events, the command's arguments as JSON): the syscall programs are \
	 * attached when one fires (live.c, struct hooks) */                  \
	X(QMP_ENTER_MIGRATE, qmp_enter_migrate, "s")                         \
	X(QMP_ENTER_MIGRATE_INCOMING, qmp_enter_migrate_incoming, "s")       \
	X(QMP_ENTER_MIGRATE_SET_CAPABILITIES, qmp_enter_migrate_set_capabilities, "s") \
	X(QMP_ENTER_MIGRATE_SET_PARAMETERS, qmp_enter_migrate_set_parameters, "s")

/*
 * Other shapes of catalog probes: the argument lists older (or newer) QEMUs
 * give the same event (../shared/qemu-trace-events, docs/qemu.md). A binary's
 * USDT note says how many arguments each probe has; the attach picks the shape
 * with that count and the record says which one it is (MS_F_SHAPE). Shape 0 is
 * the catalog's own types above.
 *
 * S(ID, shape, types, versions)
 */
#define MS_SHAPES(S)                                                           \
	S(MIGRATE_TRANSFERRED, 1, "uuuu", "8.1")  /* no avail_bw */          \
	/* (name, state) after the ioctl: 9.1's set_device_state */            \
	S(VFIO_MIGRATION_SET_STATE, 1, "ss", "8.1-9.0")                        \
	S(VFIO_MIGRATION_STATE_NOTIFIER, 1, "ss", "8.1-8.2") /* state name */
#define MS_MAX_SHAPES 2 /* per probe, shape 0 included */

/* clang-format on */

enum ms_probe {
	MS_P_NONE = 0,
#define MS_X_ENUM(id, name, types) MS_P_##id,
	MS_PROBES(MS_X_ENUM)
#undef MS_X_ENUM
	    MS_P_COUNT,
};

#endif /* MIGSCOPE_PROBES_H */
