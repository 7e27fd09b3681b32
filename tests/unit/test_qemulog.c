// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* QEMU log-backend import: line parsing of every catalog probe, bad lines,
 * the reader (pid, role hint, order, counts) and several files at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "catalog.h"
#include "qemulog.h"
#include "timeline.h"

/* The arguments of a record as text, '|' between them, as types say. */
static void render(const struct ms_usdt *e, char *buf, size_t len)
{
	const char *t = cat_rec_types(e);
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; t && t[i]; i++) {
		const char *sep = i ? "|" : "";

		switch (t[i]) {
		case 's': n += snprintf(buf + n, len - n, "%s%s", sep, ms_arg_str(e, i)); break;
		case 'i': n += snprintf(buf + n, len - n, "%s%d", sep, (int32_t)e->args[i]); break;
		case 'I':
			n += snprintf(buf + n, len - n, "%s%lld", sep, (long long)e->args[i]);
			break;
		default:
			n += snprintf(buf + n, len - n, "%s%llu", sep,
				      (unsigned long long)e->args[i]);
		}
	}
}

/* One line per catalog probe, as QEMU 10.0.2 prints it with -msg
 * timestamp=on, and the arguments it must give back. */
static const struct {
	const char *line;
	const char *probe;
	const char *args;
} lines[] = {
    {"4242@1764460800.000001:migrate_set_state new state active", "migrate_set_state", "active"},
    {"4242@1764460800.000002:migrate_error error=Unable to write to socket: Broken pipe",
     "migrate_error", "Unable to write to socket: Broken pipe"},
    {"4242@1764460800.000003:migration_cancel ", "migration_cancel", ""},
    {"4250@1764460800.000004:migrate_pending_estimate estimate pending size 1048576 (pre = "
     "1048576 post=0)",
     "migrate_pending_estimate", "1048576|1048576|0"},
    {"4250@1764460800.000005:migrate_pending_exact exact pending size 4096 (pre = 4096 post=0)",
     "migrate_pending_exact", "4096|4096|0"},
    {"4250@1764460800.000006:migrate_transferred transferred 13421772 time_spent 100 bandwidth "
     "134217 switchover_bw 0 max_size 4026531",
     "migrate_transferred", "13421772|100|134217|0|4026531"},
    {"4250@1764460800.000007:migration_thread_low_pending 8192", "migration_thread_low_pending",
     "8192"},
    {"4250@1764460800.000008:migration_bitmap_sync_end dirty_pages 321",
     "migration_bitmap_sync_end", "321"},
    {"4250@1764460800.000009:migration_completion_vm_stop ret 0", "migration_completion_vm_stop",
     "0"},
    {"4250@1764460800.000010:savevm_send_switchover_start ", "savevm_send_switchover_start", ""},
    {"4250@1764460800.000011:migration_precopy_complete ", "migration_precopy_complete", ""},
    {"4250@1764460800.000012:postcopy_start ", "postcopy_start", ""},
    {"4300@1764460800.000013:loadvm_postcopy_handle_run ", "loadvm_postcopy_handle_run", ""},
    {"4242@1764460800.000014:vm_state_notify running 0 reason 5 (finish-migrate)",
     "vm_state_notify", "0|5|finish-migrate"},
    {"4242@1764460800.000015:runstate_set current_run_state 9 (running) new_state 4 "
     "(finish-migrate)",
     "runstate_set", "9|running|4|finish-migrate"},
    {"4250@1764460800.000016:savevm_send_open_return_path ", "savevm_send_open_return_path", ""},
    {"4242@1764460800.000017:open_return_path_on_source ", "open_return_path_on_source", ""},
    {"4251@1764460800.000018:source_return_path_thread_entry ", "source_return_path_thread_entry",
     ""},
    {"4251@1764460800.000019:source_return_path_thread_end ", "source_return_path_thread_end", ""},
    {"4300@1764460800.000020:loadvm_state_switchover_ack_needed Switchover ack pending num=2",
     "loadvm_state_switchover_ack_needed", "2"},
    {"4300@1764460800.000021:loadvm_approve_switchover Switchover ack pending num=1",
     "loadvm_approve_switchover", "1"},
    {"4300@1764460800.000022:migrate_send_rp_message 7: len 0", "migrate_send_rp_message", "7|0"},
    {"4251@1764460800.000023:source_return_path_thread_switchover_acked ",
     "source_return_path_thread_switchover_acked", ""},
    {"4250@1764460800.000024:vmstate_downtime_checkpoint src-downtime-start",
     "vmstate_downtime_checkpoint", "src-downtime-start"},
    {"4250@1764460800.000025:vmstate_downtime_save type=non-iterable idstr=0000:00:05.0/vfio "
     "instance_id=0 downtime=1234",
     "vmstate_downtime_save", "non-iterable|0000:00:05.0/vfio|0|1234"},
    {"4300@1764460800.000026:vmstate_downtime_load type=iterable idstr=ram instance_id=0 "
     "downtime=56",
     "vmstate_downtime_load", "iterable|ram|0|56"},
    {"4242@1764460800.000027:vfio_migration_realize  (0000:3b:00.1)", "vfio_migration_realize",
     "0000:3b:00.1"},
    {"4242@1764460800.000028:vfio_migration_set_state  (0000:3b:00.1) new state PRE_COPY, "
     "recover state ERROR",
     "vfio_migration_set_state", "0000:3b:00.1|PRE_COPY|ERROR"},
    {"4242@1764460800.000029:vfio_migration_set_device_state  (0000:3b:00.1) state STOP_COPY",
     "vfio_migration_set_device_state", "0000:3b:00.1|STOP_COPY"},
    {"4242@1764460800.000030:vfio_migration_state_notifier  (0000:3b:00.1) state 5",
     "vfio_migration_state_notifier", "0000:3b:00.1|5"},
    {"4242@1764460800.000031:vfio_vmstate_change  (0000:3b:00.1) running 0 reason finish-migrate "
     "device state STOP_COPY",
     "vfio_vmstate_change", "0000:3b:00.1|0|finish-migrate|STOP_COPY"},
    {"4242@1764460800.000032:vfio_vmstate_change_prepare  (0000:3b:00.1) running 0 reason "
     "finish-migrate device state PRE_COPY_P2P",
     "vfio_vmstate_change_prepare", "0000:3b:00.1|0|finish-migrate|PRE_COPY_P2P"},
    {"4250@1764460800.000033:vfio_save_setup  (0000:3b:00.1) data buffer size 1048576",
     "vfio_save_setup", "0000:3b:00.1|1048576"},
    {"4250@1764460800.000034:vfio_save_iterate_start  (0000:3b:00.1)", "vfio_save_iterate_start",
     "0000:3b:00.1"},
    {"4250@1764460800.000035:vfio_save_iterate  (0000:3b:00.1) precopy initial size 0 precopy "
     "dirty size 4096",
     "vfio_save_iterate", "0000:3b:00.1|0|4096"},
    {"4250@1764460800.000036:vfio_save_block  (0000:3b:00.1) data_size 65536", "vfio_save_block",
     "0000:3b:00.1|65536"},
    {"4250@1764460800.000037:vfio_state_pending_estimate  (0000:3b:00.1) precopy 100 postcopy 0 "
     "precopy initial size 60 precopy dirty size 40",
     "vfio_state_pending_estimate", "0000:3b:00.1|100|0|60|40"},
    {"4250@1764460800.000038:vfio_state_pending_exact  (0000:3b:00.1) precopy 100 postcopy 0 "
     "stopcopy size 107374182400 precopy initial size 60 precopy dirty size 40",
     "vfio_state_pending_exact", "0000:3b:00.1|100|0|107374182400|60|40"},
    {"4250@1764460800.000039:vfio_save_complete_precopy_start  (0000:3b:00.1)",
     "vfio_save_complete_precopy_start", "0000:3b:00.1"},
    {"4250@1764460800.000040:vfio_save_complete_precopy  (0000:3b:00.1) ret -5",
     "vfio_save_complete_precopy", "0000:3b:00.1|-5"},
    {"4250@1764460800.000041:vfio_save_device_config_state  (0000:3b:00.1)",
     "vfio_save_device_config_state", "0000:3b:00.1"},
    {"4242@1764460800.000042:vfio_save_cleanup  (0000:3b:00.1)", "vfio_save_cleanup",
     "0000:3b:00.1"},
    {"4300@1764460800.000043:vfio_load_cleanup  (0000:3b:00.1)", "vfio_load_cleanup",
     "0000:3b:00.1"},
    {"4300@1764460800.000044:vfio_load_state  (0000:3b:00.1) data 0xffffffffef100005",
     "vfio_load_state", "0000:3b:00.1|18446744073425387525"},
    {"4300@1764460800.000045:vfio_load_state_device_data  (0000:3b:00.1) size 1048576 ret 0",
     "vfio_load_state_device_data", "0000:3b:00.1|1048576|0"},
    {"4300@1764460800.000046:vfio_load_device_config_state_start  (0000:3b:00.1)",
     "vfio_load_device_config_state_start", "0000:3b:00.1"},
    {"4300@1764460800.000047:vfio_load_device_config_state_end  (0000:3b:00.1)",
     "vfio_load_device_config_state_end", "0000:3b:00.1"},
    /* the protocol's messages, as QEMU 10.0.2 logs them */
    {"4242@1764460800.000048:savevm_command_send com=0xb len=0", "savevm_command_send", "11|0"},
    {"4300@1764460800.000049:loadvm_process_command com=SWITCHOVER_START len=0",
     "loadvm_process_command", "SWITCHOVER_START|0"},
    {"4242@1764460800.000050:savevm_send_ping 0x1", "savevm_send_ping", "1"},
    {"4300@1764460800.000051:loadvm_process_command_ping 0x1", "loadvm_process_command_ping", "1"},
    {"4245@1764460800.000052:source_return_path_thread_pong 0x1", "source_return_path_thread_pong",
     "1"},
    {"4245@1764460800.000053:source_return_path_thread_shut 0x0", "source_return_path_thread_shut",
     "0"},
    /* the names of 8.x-9.x */
    {"4242@1764460800.000054:migrate_fd_error error=Unable to write to socket: Broken pipe",
     "migrate_fd_error", "Unable to write to socket: Broken pipe"},
    {"4242@1764460800.000055:migrate_fd_cancel ", "migrate_fd_cancel", ""},
    {"4300@1764460800.000056:vfio_load_device_config_state  (0000:3b:00.1)",
     "vfio_load_device_config_state", "0000:3b:00.1"},
    /* the stream's section headers */
    {"4242@1764460800.000057:savevm_section_start ram, section_id 2", "savevm_section_start",
     "ram|2"},
    {"4245@1764460800.000058:qemu_loadvm_state_section_partend 2",
     "qemu_loadvm_state_section_partend", "2"},
    /* VFIO device state over multifd (10.0+) */
    {"4242@1764460800.000059:vfio_save_complete_precopy_thread_start  (0000:3b:00.1) idstr "
     "0000:00:05.0/vfio instance 0",
     "vfio_save_complete_precopy_thread_start", "0000:3b:00.1|0000:00:05.0/vfio|0"},
    {"4242@1764460800.000060:vfio_save_complete_precopy_thread_end  (0000:3b:00.1) ret 1",
     "vfio_save_complete_precopy_thread_end", "0000:3b:00.1|1"},
    {"4300@1764460800.000061:vfio_load_bufs_thread_start  (0000:3b:00.1)",
     "vfio_load_bufs_thread_start", "0000:3b:00.1"},
    {"4300@1764460800.000062:vfio_load_bufs_thread_end  (0000:3b:00.1)",
     "vfio_load_bufs_thread_end", "0000:3b:00.1"},
    {"4300@1764460800.000063:vfio_load_state_device_buffer_incoming  (0000:3b:00.1) idx 7",
     "vfio_load_state_device_buffer_incoming", "0000:3b:00.1|7"},
    {"4300@1764460800.000064:vfio_load_state_device_buffer_start  (0000:3b:00.1)",
     "vfio_load_state_device_buffer_start", "0000:3b:00.1"},
    {"4300@1764460800.000065:vfio_load_state_device_buffer_starved  (0000:3b:00.1) idx 3",
     "vfio_load_state_device_buffer_starved", "0000:3b:00.1|3"},
    {"4300@1764460800.000066:vfio_load_state_device_buffer_load_start  (0000:3b:00.1) idx 3",
     "vfio_load_state_device_buffer_load_start", "0000:3b:00.1|3"},
    {"4300@1764460800.000067:vfio_load_state_device_buffer_load_end  (0000:3b:00.1) idx 3",
     "vfio_load_state_device_buffer_load_end", "0000:3b:00.1|3"},
    {"4300@1764460800.000068:vfio_load_state_device_buffer_end  (0000:3b:00.1)",
     "vfio_load_state_device_buffer_end", "0000:3b:00.1"},
    /* QAPI's command events: the arguments as JSON */
    {"4242@1764460800.000069:qmp_enter_migrate {\"uri\": \"tcp:10.0.0.2:4444\"}",
     "qmp_enter_migrate", "{\"uri\": \"tcp:10.0.0.2:4444\"}"},
    {"4300@1764460800.000070:qmp_enter_migrate_incoming {\"uri\": \"tcp:0:4444\"}",
     "qmp_enter_migrate_incoming", "{\"uri\": \"tcp:0:4444\"}"},
    {"4242@1764460800.000071:qmp_enter_migrate_set_capabilities {\"capabilities\": "
     "[{\"capability\": \"events\", \"state\": true}]}",
     "qmp_enter_migrate_set_capabilities",
     "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}"},
    {"4242@1764460800.000072:qmp_enter_migrate_set_parameters {\"downtime-limit\": 300}",
     "qmp_enter_migrate_set_parameters", "{\"downtime-limit\": 300}"},
};

#define NLINES (sizeof(lines) / sizeof(lines[0]))

static enum qlog_line parse(const char *s, union ms_rec *r)
{
	return qlog_parse_line(s, strlen(s), r);
}

static void test_every_catalog_probe(void **state)
{
	bool seen[MS_P_COUNT] = {};

	for (size_t i = 0; i < NLINES; i++) {
		union ms_rec r;
		char buf[512];

		assert_int_equal(parse(lines[i].line, &r), QLOG_EVENT);
		assert_int_equal(r.h.kind, MS_EV_USDT);
		assert_string_equal(cat_name(r.h.probe), lines[i].probe);
		assert_int_equal(r.h.ts, 1764460800000000000ULL + 1000ULL * (i + 1));
		assert_int_equal(r.h.flags, 0);
		render(&r.usdt, buf, sizeof(buf));
		assert_string_equal(buf, lines[i].args);
		seen[r.h.probe] = true;
	}
	/* the table above covers the whole catalog */
	for (unsigned int p = MS_P_NONE + 1; p < MS_P_COUNT; p++) {
		if (!seen[p])
			fail_msg("no test line for catalog probe %s", cat_name(p));
	}
}

static void test_timestamp_and_tid(void **state)
{
	union ms_rec r;

	assert_int_equal(parse("123456@1764460800.654321:migrate_set_state new state setup\n", &r),
			 QLOG_EVENT);
	assert_int_equal(r.h.tid, 123456);
	assert_int_equal(r.h.pid, 0);
	assert_int_equal(r.h.ts, 1764460800654321000ULL);
	/* CRLF and a missing space after an argument-less event name */
	assert_int_equal(parse("7@1.000001:migration_cancel\r\n", &r), QLOG_EVENT);
	assert_int_equal(r.h.probe, MS_P_MIGRATION_CANCEL);
	assert_int_equal(r.h.ts, 1000001000ULL);
}

static void test_iso_stamp(void **state)
{
	union ms_rec r;

	/* QEMU 10.1+: UTC ISO-8601 stamp, no thread id */
	assert_int_equal(parse("2026-12-02T19:44:33.391782Z runstate_set current_run_state 9 "
			       "(running) new_state 7 (finish-migrate)",
			       &r),
			 QLOG_EVENT);
	assert_int_equal(r.h.probe, MS_P_RUNSTATE_SET);
	assert_int_equal(r.h.tid, 0);
	assert_int_equal(r.h.ts, 1796240673391782000ULL);
	/* a leap day, the end of a year */
	assert_int_equal(parse("2024-02-29T23:59:59.000001Z migration_cancel ", &r), QLOG_EVENT);
	assert_int_equal(r.h.ts, 1709251199000001000ULL);
	assert_int_equal(parse("1999-12-31T23:59:60.5Z migration_cancel ", &r), QLOG_EVENT);
	assert_int_equal(r.h.ts, 946684800500000000ULL);
	/* not a stamp: a month 13, no Z, no fraction */
	assert_int_equal(parse("2026-13-02T19:44:33.391782Z migration_cancel ", &r),
			 QLOG_MALFORMED);
	assert_int_equal(parse("2026-12-02T19:44:33.391782 migration_cancel ", &r), QLOG_MALFORMED);
	assert_int_equal(parse("2026-12-02T19:44:33Z migration_cancel ", &r), QLOG_MALFORMED);
	/* 10.1+ without -msg timestamp=on: the event alone, refused as such */
	assert_int_equal(parse("migrate_set_state new state setup", &r), QLOG_NO_TIMESTAMP);
}

static void test_signed_and_sized_args(void **state)
{
	union ms_rec r;

	/* int args are sign-extended like bpf_usdt_arg does; u32/u16 masked */
	assert_int_equal(parse("1@1.000001:migration_completion_vm_stop ret -22", &r), QLOG_EVENT);
	assert_int_equal(r.usdt.args[0], (uint64_t)(int64_t)-22);
	assert_int_equal(parse("1@1.000001:vmstate_downtime_save type=iterable idstr=ram "
			       "instance_id=-1 downtime=-3",
			       &r),
			 QLOG_EVENT);
	assert_int_equal(r.usdt.args[2], 0xffffffffULL);
	assert_int_equal((int64_t)r.usdt.args[3], -3);
	assert_int_equal(parse("1@1.000001:migrate_send_rp_message 7: len 65535", &r), QLOG_EVENT);
	assert_int_equal(r.usdt.args[1], 65535);
	/* max_size is printed with PRId64 */
	assert_int_equal(
	    parse("1@1.000001:migrate_transferred transferred 1 time_spent 2 bandwidth "
		  "3 switchover_bw 4 max_size 5",
		  &r),
	    QLOG_EVENT);
	assert_int_equal(r.usdt.args[4], 5);
}

static void test_strings(void **state)
{
	char longmsg[300], line[400], buf[512];
	union ms_rec r;

	/* a device name holding the closing literal: the suffix rule */
	assert_int_equal(parse("1@1.000001:vfio_save_cleanup  (odd) name)", &r), QLOG_EVENT);
	assert_string_equal(ms_arg_str(&r.usdt, 0), "odd) name");
	/* parentheses inside the last string of vm_state_notify */
	assert_int_equal(parse("1@1.000001:vm_state_notify running 1 reason 9 (a (b) c)", &r),
			 QLOG_EVENT);
	assert_string_equal(ms_arg_str(&r.usdt, 2), "a (b) c");
	/* strings are kept to MS_STR_LEN - 1 bytes, as the live path does */
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	snprintf(line, sizeof(line), "1@1.000001:migrate_error error=%s", longmsg);
	assert_int_equal(parse(line, &r), QLOG_EVENT);
	assert_int_equal(r.h.flags, MS_F_STR_TRUNC);
	assert_int_equal(strlen(ms_arg_str(&r.usdt, 0)), MS_STR_LEN - 1);
	/* an empty string is a string */
	assert_int_equal(parse("1@1.000001:vmstate_downtime_checkpoint ", &r), QLOG_EVENT);
	assert_string_equal(ms_arg_str(&r.usdt, 0), "");
	/* (null) is what QEMU prints for a NULL string */
	assert_int_equal(parse("1@1.000001:migrate_set_state new state (null)", &r), QLOG_EVENT);
	render(&r.usdt, buf, sizeof(buf));
	assert_string_equal(buf, "(null)");
}

static void test_older_format(void **state)
{
	static const struct {
		const char *line, *probe, *args;
		unsigned int shape;
	} old[] = {
	    /* 8.1: no switchover_bw: the 8.1 shape, not a 0 in its place */
	    {"1@1.000001:migrate_transferred transferred 10 time_spent 20 bandwidth 30 max_size 40",
	     "migrate_transferred", "10|20|30|40", 1},
	    /* 8.1-9.0: (name, state) after the ioctl */
	    {"1@1.000001:vfio_migration_set_state  (0000:3b:00.1) state STOP_COPY",
	     "vfio_migration_set_state", "0000:3b:00.1|STOP_COPY", 1},
	    /* 8.1-8.2: the state by name */
	    {"1@1.000001:vfio_migration_state_notifier  (0000:3b:00.1) state FINISH_MIGRATE",
	     "vfio_migration_state_notifier", "0000:3b:00.1|FINISH_MIGRATE", 1},
	    /* up to 9.1 the VFIO byte counts are hex */
	    {"1@1.000001:vfio_save_setup  (0000:3b:00.1) data buffer size 0x100000",
	     "vfio_save_setup", "0000:3b:00.1|1048576", 0},
	    {"1@1.000001:vfio_save_iterate  (0000:3b:00.1) precopy initial size 0x10 precopy "
	     "dirty size 0xff",
	     "vfio_save_iterate", "0000:3b:00.1|16|255", 0},
	    {"1@1.000001:vfio_state_pending_estimate  (0000:3b:00.1) precopy 0x64 postcopy 0x0 "
	     "precopy initial size 0x3c precopy dirty size 0x28",
	     "vfio_state_pending_estimate", "0000:3b:00.1|100|0|60|40", 0},
	    {"1@1.000001:vfio_state_pending_exact  (0000:3b:00.1) precopy 0x64 postcopy 0x0 "
	     "stopcopy size 0x1900000000 precopy initial size 0x3c precopy dirty size 0x28",
	     "vfio_state_pending_exact", "0000:3b:00.1|100|0|107374182400|60|40", 0},
	    {"1@1.000001:vfio_load_state_device_data  (0000:3b:00.1) size 0x100000 ret 0",
	     "vfio_load_state_device_data", "0000:3b:00.1|1048576|0", 0},
	};

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		union ms_rec r;
		char buf[512];

		assert_int_equal(parse(old[i].line, &r), QLOG_EVENT);
		assert_string_equal(cat_name(r.h.probe), old[i].probe);
		assert_int_equal(MS_F_SHAPE(r.h.flags), old[i].shape);
		render(&r.usdt, buf, sizeof(buf));
		assert_string_equal(buf, old[i].args);
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "hello, I am a text file",
	    "qemu-system-x86_64: terminating on signal 15 from pid 1234",
	    "2025-11-30T00:00:00.000000Z qemu-system-x86_64: warning: something",
	    "12@1.000001",
	    "12@1.000001:",
	    "12@:migrate_set_state new state x",
	    "12@1:migrate_set_state new state x",
	    "12@1.x:migrate_set_state new state x",
	    "12@1.0000000001:migrate_set_state new state x",
	    "@1.000001:migrate_set_state new state x",
	    "99999999999@1.000001:migrate_set_state new state x",
	    "12@99999999999999999999.000001:migrate_set_state new state x",
	    "12@1.000001:migrate_set_state",
	    "12@1.000001:migrate_set_state old state x",
	    "12@1.000001:migrate_pending_exact exact pending size x (pre = 1 post=2)",
	    "12@1.000001:migrate_pending_exact exact pending size 1 (pre = 1 post=2",
	    "12@1.000001:migrate_pending_exact exact pending size 1 (pre = 1 post=2) trailing",
	    "12@1.000001:migrate_pending_exact exact pending size 99999999999999999999 (pre = 1 "
	    "post=2)",
	    "12@1.000001:migration_bitmap_sync_end dirty_pages -1",
	    "12@1.000001:migrate_send_rp_message 7: len",
	    "12@1.000001:migration_cancel extra",
	    "12@1.000001:vfio_load_state  (dev) data 0xzz",
	    "12@1.000001:migrate-set-state new state x",
	};
	union ms_rec r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &r) != QLOG_MALFORMED)
			fail_msg("line %zu '%s' not malformed", i, bad[i]);
	}
}

static void test_unknown_and_untimestamped(void **state)
{
	union ms_rec r;

	/* QEMU events that are not in the catalog */
	assert_int_equal(parse("55@1764460800.000100:migration_bitmap_sync_start ", &r),
			 QLOG_UNKNOWN_EVENT);
	assert_int_equal(r.h.tid, 55);
	assert_int_equal(r.h.ts, 1764460800000100000ULL);
	assert_int_equal(parse("55@1.000100:ram_save_page block: offset: 0x1000 host: 0x7f00", &r),
			 QLOG_UNKNOWN_EVENT);
	/* -msg timestamp=on missing: catalog lines are told apart */
	assert_int_equal(parse("migrate_set_state new state active", &r), QLOG_NO_TIMESTAMP);
	assert_int_equal(parse("migration_bitmap_sync_start ", &r), QLOG_MALFORMED);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/migscope-qlog.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A source's log: thread 101 is the main thread, 105 the migration thread
 * and 106 the return path; one line reached the file late. */
static const char src_log[] =
    "101@1000.000100:migrate_set_state new state setup\n"
    "101@1000.000200:open_return_path_on_source \n"
    "qemu-system-x86_64: some message that is not a trace line\n"
    "105@1000.000300:migrate_set_state new state active\n"
    "105@1000.000310:migration_bitmap_sync_start \n"
    "105@1000.000400:migration_bitmap_sync_end dirty_pages 10\n"
    "106@1000.000900:source_return_path_thread_switchover_acked \n"
    "106@1000.000500:source_return_path_thread_entry \n"
    "105@1000.001000:migrate_pending_estimate estimate pending size 100 (pre = 100 post=0)\n"
    "105@1000.001100:migrate_pending_exact exact pending size 100 (pre = 100 post=0)\n"
    "105@1000.001200:migration_thread_low_pending 100\n"
    "105@1000.002000:vmstate_downtime_checkpoint src-downtime-start\n"
    "105@1000.002100:vmstate_downtime_checkpoint src-vm-stopped\n"
    "105@1000.002300:migration_bitmap_sync_end dirty_pages 1\n"
    "105@1000.002500:vmstate_downtime_checkpoint src-iterable-saved\n"
    "105@1000.002600:vmstate_downtime_checkpoint src-non-iterable-saved\n"
    "105@1000.005000:vmstate_downtime_checkpoint src-downtime-end\n"
    "105@1000.005010:migrate_set_state new state completed\n";

static const char dst_log[] = "201@1000.000050:migrate_set_state new state setup\n"
			      "201@1000.000250:migrate_set_state new state active\n"
			      "210@1000.000600:loadvm_state_switchover_ack_needed Switchover ack "
			      "pending num=0\n"
			      "210@1000.000800:migrate_send_rp_message 7: len 0\n"
			      "210@1000.004000:vmstate_downtime_checkpoint "
			      "dst-precopy-loadvm-completed\n"
			      "201@1000.004500:vmstate_downtime_checkpoint dst-precopy-bh-enter\n"
			      "201@1000.004800:vmstate_downtime_checkpoint "
			      "dst-precopy-bh-vm-started\n"
			      "201@1000.004900:migrate_set_state new state completed\n"
			      "garbage\n";

static void test_reader(void **state)
{
	char *path = write_tmp(src_log), err[256];
	struct qlog_opts o = {.vm = "vm1"};
	struct qlog_reader *r = qlog_open(path, &o, err, sizeof(err));
	struct qlog_stats st;
	union ms_rec rec;
	uint64_t last = 0;
	int n = 0;

	assert_non_null(r);
	assert_int_equal(qlog_pid(r), 101);
	qlog_stats(r, &st);
	assert_int_equal(st.lines, 18);
	assert_int_equal(st.events, 16);
	assert_int_equal(st.unknown_events, 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(qlog_skipped(&st), 2);
	assert_int_equal(st.first_ts, 1000000100000ULL);
	assert_int_equal(st.last_ts, 1000005010000ULL);
	/* the identity record first */
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_int_equal(rec.h.kind, MS_EV_PROC);
	assert_int_equal(rec.h.pid, 101);
	assert_int_equal(rec.h.ts, st.first_ts);
	assert_string_equal(rec.proc.vm, "vm1");
	assert_int_equal(rec.proc.pflags & MS_PROC_INCOMING, 0);
	/* then the events, in time order, each with the pid and its own tid */
	while (qlog_read(r, &rec) == 1) {
		assert_int_equal(rec.h.kind, MS_EV_USDT);
		assert_int_equal(rec.h.pid, 101);
		assert_true(rec.h.ts >= last);
		if (rec.h.probe == MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY)
			assert_int_equal(rec.h.tid, 106);
		last = rec.h.ts;
		n++;
	}
	assert_int_equal(n, 16);
	assert_int_equal(qlog_read(r, &rec), 0);
	qlog_close(r);
	unlink(path);
	free(path);
}

/* libvirt's per-VM log: two starts of the VM, the second the one that
 * logged the events (libvirt 9's command line, one argument per line); an
 * older libvirt's one-line command line. */
static const char lv_log[] =
    "2026-12-01 10:00:00.000+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4 "
    "(Debian), qemu version: 10.0.2, kernel: 6.1.0-21-amd64, hostname: hv-old\n"
    "LC_ALL=C \\\n"
    "/usr/bin/qemu-system-x86_64 \\\n"
    "-name guest=before,debug-threads=on \\\n"
    "-uuid 00000000-0000-4000-8000-000000000000 \\\n"
    "-msg timestamp=on\n"
    "2026-12-01 10:05:00.000+0000: shutting down, reason=shutdown\n"
    "2026-12-01 11:00:00.000+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4 "
    "(Debian), qemu version: 10.0.2, kernel: 6.1.0-21-amd64, hostname: hv1.example.com\n"
    "LC_ALL=C \\\n"
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \\\n"
    "HOME=/var/lib/libvirt/qemu/domain-7-web,,01 \\\n"
    "/usr/bin/qemu-system-x86_64 \\\n"
    "-name guest=web,,01,debug-threads=on \\\n"
    "-S \\\n"
    "-uuid 3e2b9c1a-5d4f-4a6b-8c7d-9e0f1a2b3c4d \\\n"
    "-msg timestamp=on\n"
    "char device redirected to /dev/pts/3 (label charserial0)\n"
    "101@1000.000100:migrate_set_state new state setup\n"
    "2026-12-01T11:00:01.000000Z qemu-system-x86_64: -name guest=notthis: a later message\n"
    "105@1000.000300:migrate_set_state new state active\n";

static const char lv_old_log[] =
    "2019-03-10 20:39:36.510+0000: starting up libvirt version: 4.0.0, package: 1ubuntu8.6, "
    "qemu version: 2.11.1, hostname: pre-node1\n"
    "LC_ALL=C PATH=/usr/bin QEMU_AUDIO_DRV=spice /usr/bin/qemu-system-x86_64 -name "
    "guest=instance-00000038,debug-threads=on -S -machine pc -uuid "
    "1b0c9a8e-0000-4000-8000-0000000000aa -no-user-config\n"
    "101@1000.000100:migrate_set_state new state setup\n";

static void test_libvirt_header(void **state)
{
	char *path = write_tmp(lv_log), *old = write_tmp(lv_old_log), err[256];
	struct qlog_opts o = {.vm = "given"};
	struct qlog_reader *r = qlog_open(path, NULL, err, sizeof(err));
	union ms_rec rec;

	(void)state;
	assert_non_null(r);
	assert_string_equal(qlog_host(r), "hv1.example.com");
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_int_equal(rec.h.kind, MS_EV_PROC);
	assert_string_equal(rec.proc.vm, "web,01"); /* ",," is a comma */
	assert_string_equal(rec.proc.uuid, "3e2b9c1a-5d4f-4a6b-8c7d-9e0f1a2b3c4d");
	qlog_close(r);
	/* --vm wins over the header, and then its uuid is not taken either */
	r = qlog_open(path, &o, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_string_equal(rec.proc.vm, "given");
	assert_string_equal(rec.proc.uuid, "");
	assert_string_equal(qlog_host(r), "hv1.example.com");
	qlog_close(r);
	r = qlog_open(old, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(qlog_host(r), "pre-node1");
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_string_equal(rec.proc.vm, "instance-00000038");
	assert_string_equal(rec.proc.uuid, "1b0c9a8e-0000-4000-8000-0000000000aa");
	qlog_close(r);
	/* a plain QEMU log (-D FILE): no header, nothing named */
	unlink(old);
	free(old);
	old = write_tmp(src_log);
	r = qlog_open(old, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(qlog_host(r), "");
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_string_equal(rec.proc.vm, "");
	qlog_close(r);
	unlink(path);
	unlink(old);
	free(path);
	free(old);
}

static void test_open_errors(void **state)
{
	char *empty = write_tmp(""), *nots = write_tmp("migrate_set_state new state setup\n");
	char *text = write_tmp("hello\nworld\n"), err[256];

	assert_null(qlog_open(empty, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no migration event"));
	assert_null(qlog_open(nots, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "timestamp=on"));
	assert_null(qlog_open("/nonexistent/qemu.log", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
	assert_false(qlog_is_log(text));
	assert_false(qlog_is_log(empty));
	assert_true(qlog_is_log(nots));
	unlink(empty);
	unlink(nots);
	unlink(text);
	free(empty);
	free(nots);
	free(text);
}

/* The pid is the main thread's TID (it logs the migrate command's "setup"),
 * even when the other threads' TIDs wrapped around below it; a destination
 * killed early, with nothing but its states, is still a destination. */
static void test_pid_and_role_hints(void **state)
{
	char *wrap = write_tmp("350@5.000001:migration_bitmap_sync_end dirty_pages 1\n"
			       "32700@5.000002:migrate_set_state new state setup\n"
			       "351@5.000003:migrate_set_state new state active\n"),
	     *early = write_tmp("400@5.000001:migrate_set_state new state setup\n"
				"400@5.000002:migrate_set_state new state active\n"),
	     *nosetup = write_tmp("77@5.000001:runstate_set current_run_state 9 (running) "
				  "new_state 7 (finish-migrate)\n"
				  "70@5.000002:migration_bitmap_sync_end dirty_pages 1\n"),
	     err[256];
	struct qlog_reader *r;
	union ms_rec rec;

	r = qlog_open(wrap, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(qlog_pid(r), 32700);
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_int_equal(rec.proc.pflags & MS_PROC_INCOMING, 0);
	assert_string_equal(rec.proc.vm, "");
	qlog_close(r);
	r = qlog_open(early, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_true(rec.proc.pflags & MS_PROC_INCOMING);
	qlog_close(r);
	r = qlog_open(nosetup, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(qlog_pid(r), 77); /* the first line's thread */
	qlog_set_pid(r, 4194305);
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_int_equal(rec.h.pid, 4194305);
	assert_int_equal(qlog_read(r, &rec), 1);
	assert_int_equal(rec.h.pid, 4194305);
	assert_int_equal(rec.h.tid, 77);
	qlog_close(r);
	for (char **p = (char *[]){wrap, early, nosetup, NULL}; *p; p++) {
		unlink(*p);
		free(*p);
	}
}

/* A source's and a destination's log of one migration, merged in time order
 * as replay does: two migrations, roles from the probes, paired by the VM
 * name given, figures from the log's timestamps. */
static void test_two_files(void **state)
{
	char *sp = write_tmp(src_log), *dp = write_tmp(dst_log), err[256];
	struct qlog_opts o = {.vm = "vm1"};
	struct qlog_reader *r[2] = {qlog_open(sp, &o, err, sizeof(err)),
				    qlog_open(dp, &o, err, sizeof(err))};
	union ms_rec rec[2];
	bool have[2];
	struct tl *tl = tl_new();
	const struct tl_mig *src, *dst;
	uint64_t last = 0;

	assert_non_null(r[0]);
	assert_non_null(r[1]);
	assert_int_equal(qlog_pid(r[1]), 201);
	for (int i = 0; i < 2; i++)
		have[i] = qlog_read(r[i], &rec[i]) == 1;
	assert_true(rec[1].proc.pflags & MS_PROC_INCOMING);
	for (;;) {
		int b = -1;

		for (int i = 0; i < 2; i++)
			if (have[i] && (b < 0 || rec[i].h.ts < rec[b].h.ts))
				b = i;
		if (b < 0)
			break;
		last = rec[b].h.ts;
		tl_feed(tl, &rec[b]);
		have[b] = qlog_read(r[b], &rec[b]) == 1;
	}
	tl_finish(tl, last);
	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(tl_npairs(tl), 1);
	src = tl_pair_at(tl, 0)->src;
	dst = tl_pair_at(tl, 0)->dst;
	assert_int_equal(src->pid, 101);
	assert_int_equal(dst->pid, 201);
	assert_int_equal(tl_mig_role(src), TL_ROLE_SOURCE);
	assert_int_equal(tl_mig_role(dst), TL_ROLE_DEST);
	assert_int_equal(src->result, TL_RES_COMPLETED);
	assert_int_equal(tl_mig_downtime(src), 3000000);
	assert_int_equal(tl_mig_total(src), 4910000);
	assert_int_equal(tl_mig_passes(src), 1);
	assert_int_equal(tl_pair_guest_downtime(tl, tl_pair_at(tl, 0)), 4800000 - 2100000);
	assert_int_equal(tl_pair_ack_transit(tl, tl_pair_at(tl, 0)), 100000);
	tl_free(tl);
	qlog_close(r[0]);
	qlog_close(r[1]);
	unlink(sp);
	unlink(dp);
	free(sp);
	free(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_catalog_probe),
	    cmocka_unit_test(test_timestamp_and_tid),
	    cmocka_unit_test(test_iso_stamp),
	    cmocka_unit_test(test_signed_and_sized_args),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_older_format),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_unknown_and_untimestamped),
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_libvirt_header),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_pid_and_role_hints),
	    cmocka_unit_test(test_two_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
