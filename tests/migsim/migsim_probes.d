/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Provider file for migsim, in the form QEMU's tracetool (format/d.py) gives
 * it: provider qemu, probe name = trace event, arguments as in trace-events.
 * Generated once from QEMU 10.0.2 (migration/, hw/vfio/ and system/
 * trace-events) for the probes of include/migscope_probes.h plus a few that
 * migsim also fires and migscope does not catalogue (marked below), with a
 * throwaway script; regenerate the same way when the catalog grows.
 */
provider qemu {

probe migrate_set_state(const char * new_state);

probe migrate_error(const char * error_desc);

probe migration_cancel();

probe migrate_pending_estimate(uint64_t size,uint64_t pre,uint64_t post);

probe migrate_pending_exact(uint64_t size,uint64_t pre,uint64_t post);

probe migrate_transferred(uint64_t transferred,uint64_t time_spent,uint64_t bandwidth,uint64_t avail_bw,uint64_t size);

probe migration_thread_low_pending(uint64_t pending);

probe migration_bitmap_sync_end(uint64_t dirty_pages);

probe migration_completion_vm_stop(int ret);

probe savevm_send_switchover_start();

probe migration_precopy_complete();

probe postcopy_start();

probe loadvm_postcopy_handle_run();

probe vm_state_notify(int running,int reason,const char * reason_str);

probe runstate_set(int current_state,const char * current_state_str,int new_state,const char * new_state_str);

probe savevm_send_open_return_path();

probe open_return_path_on_source();

probe source_return_path_thread_entry();

probe source_return_path_thread_end();

probe loadvm_state_switchover_ack_needed(unsigned int switchover_ack_pending_num);

probe loadvm_approve_switchover(unsigned int switchover_ack_pending_num);

probe migrate_send_rp_message(int msg_type,uint16_t len);

probe source_return_path_thread_switchover_acked();

probe vmstate_downtime_checkpoint(const char * checkpoint);

probe vmstate_downtime_save(const char * type,const char * idstr,uint32_t instance_id,int64_t downtime);

probe vmstate_downtime_load(const char * type,const char * idstr,uint32_t instance_id,int64_t downtime);

probe vfio_migration_realize(const char * name);

probe vfio_migration_set_state(const char * name,const char * new_state,const char * recover_state);

probe vfio_migration_set_device_state(const char * name,const char * state);

probe vfio_migration_state_notifier(const char * name,int state);

probe vfio_vmstate_change(const char * name,int running,const char * reason,const char * dev_state);

probe vfio_vmstate_change_prepare(const char * name,int running,const char * reason,const char * dev_state);

probe vfio_save_setup(const char * name,uint64_t data_buffer_size);

probe vfio_save_iterate_start(const char * name);

probe vfio_save_iterate(const char * name,uint64_t precopy_init_size,uint64_t precopy_dirty_size);

probe vfio_save_block(const char * name,int data_size);

probe vfio_state_pending_estimate(const char * name,uint64_t precopy,uint64_t postcopy,uint64_t precopy_init_size,uint64_t precopy_dirty_size);

probe vfio_state_pending_exact(const char * name,uint64_t precopy,uint64_t postcopy,uint64_t stopcopy_size,uint64_t precopy_init_size,uint64_t precopy_dirty_size);

probe vfio_save_complete_precopy_start(const char * name);

probe vfio_save_complete_precopy(const char * name,int ret);

probe vfio_save_device_config_state(const char * name);

probe vfio_save_cleanup(const char * name);

probe vfio_load_cleanup(const char * name);

probe vfio_load_state(const char * name,uint64_t data);

probe vfio_load_state_device_data(const char * name,uint64_t data_size,int ret);

probe vfio_load_device_config_state_start(const char * name);

probe vfio_load_device_config_state_end(const char * name);

probe vfio_save_complete_precopy_thread_start(const char * name,const char * idstr,uint32_t instance_id);

probe vfio_save_complete_precopy_thread_end(const char * name,int ret);

probe vfio_load_bufs_thread_start(const char * name);

probe vfio_load_bufs_thread_end(const char * name);

probe vfio_load_state_device_buffer_incoming(const char * name,uint32_t idx);

probe vfio_load_state_device_buffer_start(const char * name);

probe vfio_load_state_device_buffer_starved(const char * name,uint32_t idx);

probe vfio_load_state_device_buffer_load_start(const char * name,uint32_t idx);

probe vfio_load_state_device_buffer_load_end(const char * name,uint32_t idx);

probe vfio_load_state_device_buffer_end(const char * name);

probe qmp_enter_migrate(const char * json);

probe savevm_command_send(uint16_t command,uint16_t len);

probe loadvm_process_command(const char * s,uint16_t len);

probe savevm_send_ping(uint32_t val);

probe loadvm_process_command_ping(uint32_t val);

probe source_return_path_thread_pong(uint32_t val);

probe source_return_path_thread_shut(uint32_t val);

probe savevm_section_start(const char * id,uint32_t section_id);

probe qemu_loadvm_state_section_partend(uint32_t section_id);

/* not in the migscope catalog: QEMU fires these on the same paths */

probe source_return_path_thread_bad_end();

probe migration_thread_setup_complete();

probe vfio_save_block_precopy_empty_hit(const char * name);

};
