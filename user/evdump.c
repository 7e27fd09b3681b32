// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "catalog.h"
#include "evdump.h"
#include "json_writer.h"

static void dump_usdt(json_writer_t *w, const struct ms_usdt *e)
{
	const char *types = cat_rec_types(e);

	jsonw_string_field(w, "probe", cat_name(e->h.probe) ? cat_name(e->h.probe) : "?");
	if (MS_F_SHAPE(e->h.flags))
		jsonw_uint_field(w, "shape", MS_F_SHAPE(e->h.flags));
	jsonw_name(w, "args");
	jsonw_start_array(w);
	for (int i = 0; types && types[i] && i < MS_MAX_ARGS; i++) {
		switch (types[i]) {
		case 's': jsonw_string(w, ms_arg_str(e, i)); break;
		case 'i': jsonw_int(w, (int32_t)e->args[i]); break;
		case 'I': jsonw_int(w, (int64_t)e->args[i]); break;
		default: jsonw_uint(w, e->args[i]);
		}
	}
	jsonw_end_array(w);
}

static void dump_ioctl(json_writer_t *w, const struct ms_ioctl *e)
{
	jsonw_uint_field(w, "dur_ns", e->dur_ns);
	jsonw_int_field(w, "fd", e->fd);
	jsonw_int_field(w, "ret", e->ret);
	if (e->cmd == MS_VFIO_MIG_GET_PRECOPY_INFO) {
		jsonw_string_field(w, "ioctl", "MIG_GET_PRECOPY_INFO");
		jsonw_uint_field(w, "initial_bytes", e->v1);
		jsonw_uint_field(w, "dirty_bytes", e->v2);
		return;
	}
	if (e->cmd != MS_VFIO_DEVICE_FEATURE) {
		jsonw_uint_field(w, "cmd", e->cmd);
		return;
	}
	unsigned int feat = e->feat_flags & MS_VFIO_FEAT_MASK;

	jsonw_string_field(w, "ioctl", "DEVICE_FEATURE");
	jsonw_string_field(w, "feature", cat_vfio_feature_name(feat));
	jsonw_uint_field(w, "flags", e->feat_flags);
	jsonw_uint_field(w, "argsz", e->argsz);
	if (feat == MS_VFIO_FEAT_MIG_DEVICE_STATE) {
		jsonw_string_field(w, "state", cat_vfio_state_name(e->dev_state));
		jsonw_int_field(w, "data_fd", e->data_fd);
	} else if (feat == MS_VFIO_FEAT_MIG_DATA_SIZE) {
		jsonw_uint_field(w, "stop_copy_bytes", e->v1);
	}
}

void evdump_json_line(FILE *f, const union ms_rec *r)
{
	json_writer_t *w = jsonw_new(f);

	if (!w)
		return;
	jsonw_start_object(w);
	jsonw_uint_field(w, "ts", r->h.ts);
	jsonw_uint_field(w, "pid", r->h.pid);
	jsonw_uint_field(w, "tid", r->h.tid);
	if (r->h.input)
		jsonw_uint_field(w, "input", r->h.input);
	jsonw_string_field(w, "kind", cat_kind_name(r->h.kind));
	if (r->h.flags)
		jsonw_uint_field(w, "flags", r->h.flags);
	switch (r->h.kind) {
	case MS_EV_USDT: dump_usdt(w, &r->usdt); break;
	case MS_EV_IOCTL: dump_ioctl(w, &r->ioctl); break;
	case MS_EV_DATA_IO:
		jsonw_string_field(w, "op", r->io.op == MS_IO_READ ? "read" : "write");
		jsonw_int_field(w, "fd", r->io.fd);
		jsonw_uint_field(w, "count", r->io.count);
		jsonw_int_field(w, "ret", r->io.ret);
		jsonw_uint_field(w, "dur_ns", r->io.dur_ns);
		break;
	case MS_EV_EXEC:
		jsonw_uint_field(w, "dev", r->exec.dev);
		jsonw_uint_field(w, "ino", r->exec.ino);
		jsonw_string_field(w, "comm", r->exec.comm);
		break;
	case MS_EV_EXIT: jsonw_int_field(w, "exit_code", r->exit.exit_code); break;
	case MS_EV_PROC:
		jsonw_string_field(w, "vm", r->proc.vm);
		jsonw_string_field(w, "uuid", r->proc.uuid);
		jsonw_string_field(w, "exe", r->proc.exe);
		jsonw_uint_field(w, "start_ns", r->proc.start_ns);
		jsonw_bool_field(w, "incoming", r->proc.pflags & MS_PROC_INCOMING);
		jsonw_uint_field(w, "probes_attached", r->proc.probes_attached);
		jsonw_uint_field(w, "probes_missing", r->proc.probes_missing);
		break;
	case MS_EV_LOST: jsonw_uint_field(w, "count", r->lost.count); break;
	}
	jsonw_end_object(w);
	jsonw_destroy(&w);
}
