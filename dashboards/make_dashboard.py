#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Write dashboards/migscope.json, the Grafana dashboard of `migscope serve`.

    dashboards/make_dashboard.py > dashboards/migscope.json

Grafana 10 and 11 (classic JSON model, schemaVersion 38; Grafana migrates it
up on import). One datasource variable and instance, vm and role variables;
every query filters on them (role only where the metric has it). The metric
names are those of docs/metrics.md; tests/exporter checks that each one used
here is in a live exposition and that this file is what the script writes.
"""
import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'instance=~"$instance", vm=~"$vm", role=~"$role"'
SEL_VM = 'instance=~"$instance", vm=~"$vm"'  # pair figures have no role
SEL_I = 'instance=~"$instance"'
SEL_DEV = 'instance=~"$instance", role=~"$role"'  # per host device: every VM that used it

panels = []
_next_id = [1]
_y = [0]


def _id():
    i = _next_id[0]
    _next_id[0] += 1
    return i


def row(title):
    panels.append({"type": "row", "id": _id(), "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": _y[0]}, "panels": []})
    _y[0] += 1


def target(expr, legend="__auto", ref="A", fmt=None, instant=False):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref,
         "range": not instant, "instant": instant, "editorMode": "code"}
    if fmt:
        t["format"] = fmt
    return t


def place(panel, w, h, x):
    panel["gridPos"] = {"h": h, "w": w, "x": x, "y": _y[0]}
    panels.append(panel)
    if x + w >= 24:
        _y[0] += h


def timeseries(title, desc, targets, unit, w=12, x=0, h=8, stack=False, bars=False):
    custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 60 if bars else 10,
              "lineWidth": 1, "showPoints": "never", "spanNulls": False,
              "stacking": {"group": "A", "mode": "normal" if stack else "none"}}
    place({"type": "timeseries", "id": _id(), "title": title, "description": desc,
           "datasource": DS, "targets": targets,
           "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
           "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                  "showLegend": True, "calcs": ["lastNotNull", "max"]},
                       "tooltip": {"mode": "multi", "sort": "desc"}}}, w, h, x)


def heatmap(title, desc, metric, sel, w=12, x=0, h=8):
    expr = f"sum by (le) (increase({metric}_bucket{{{sel}}}[$__rate_interval]))"
    place({"type": "heatmap", "id": _id(), "title": title, "description": desc,
           "datasource": DS, "targets": [target(expr, "{{le}}", fmt="heatmap")],
           "options": {"calculate": False, "yAxis": {"unit": "s"},
                       "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges",
                                               "steps": 64},
                       "tooltip": {"show": True, "yHistogram": True},
                       "legend": {"show": True}},
           "fieldConfig": {"defaults": {}, "overrides": []}}, w, h, x)


def stat(title, desc, expr, unit, w=6, x=0, h=4, legend="__auto"):
    place({"type": "stat", "id": _id(), "title": title, "description": desc,
           "datasource": DS, "targets": [target(expr, legend, instant=True)],
           "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
           "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                         "values": False},
                       "colorMode": "value", "graphMode": "none", "textMode": "auto"}},
          w, h, x)


def bargauge(title, desc, targets, unit, w=12, x=0, h=8):
    place({"type": "bargauge", "id": _id(), "title": title, "description": desc,
           "datasource": DS, "targets": targets,
           "fieldConfig": {"defaults": {"unit": unit, "min": 0}, "overrides": []},
           "options": {"orientation": "horizontal", "displayMode": "gradient",
                       "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                         "values": False}}}, w, h, x)


def table(title, desc, expr, w=12, x=0, h=8, hide=("Time", "__name__", "Value"), unit=None,
          links=None):
    defaults = {"unit": unit} if unit else {}
    if links:
        defaults["links"] = links
    place({"type": "table", "id": _id(), "title": title, "description": desc,
           "datasource": DS, "targets": [target(expr, fmt="table", instant=True)],
           "fieldConfig": {"defaults": defaults, "overrides": []},
           "transformations": [{"id": "organize", "options": {
               "excludeByName": {k: True for k in hide}}}],
           "options": {"showHeader": True}}, w, h, x)


def quantiles(metric, sel, by="", qs=(0.5, 0.99)):
    out = []
    grp = f"le{', ' + by if by else ''}"
    for i, q in enumerate(qs):
        legend = f"p{int(q * 100)}" + (" " + " ".join("{{%s}}" % b.strip()
                                                     for b in by.split(",")) if by else "")
        out.append(target(f"histogram_quantile({q}, sum by ({grp}) "
                          f"(rate({metric}_bucket{{{sel}}}[$__rate_interval])))",
                          legend, ref=chr(ord("A") + i)))
    return out


def mean_by(metric, sel, by, rng="$__range"):
    return (f"sum by ({by}) (increase({metric}_sum{{{sel}}}[{rng}])) / "
            f"sum by ({by}) (increase({metric}_count{{{sel}}}[{rng}]))")


# ---------------------------------------------------------------------------
row("Migrations")
stat("Running now", "Migrations running on the selected hosts (migscope_migration_active).",
     f"sum(migscope_migration_active{{{SEL}}})", "none", x=0)
stat("Completed in range", "Migrations that completed in the time range.",
     f'sum(increase(migscope_migrations_total{{{SEL}, result="completed"}}[$__range]))',
     "none", x=6)
stat("Failed, cancelled, aborted in range",
     "Migrations that did not complete in the time range.",
     f'sum(increase(migscope_migrations_total{{{SEL}, result!="completed"}}[$__range]))',
     "none", x=12)
stat("Stalled now", "Running sources whose pending bytes made no progress for the stall "
     "window (migscope_migration_stalled).",
     f'sum(migscope_migration_stalled{{{SEL}, reason!="none"}})', "none", x=18)
timeseries("Migrations over time by result",
           "Ended migrations per interval, by result (counted on each side: a migration "
           "traced on both hosts counts once per role).",
           [target(f"sum by (result) (increase(migscope_migrations_total{{{SEL}}}"
                   f"[$__rate_interval]))", "{{result}}")],
           "none", w=12, x=0, bars=True, stack=True)
# the exporter draws each migration once it has ended (docs/serve.md,
# "Pictures"); a row's link opens the latest picture of its VM on the
# exporter that row came from (the scrape target, the instance label)
PICTURE = [{"title": "Picture of ${__data.fields.vm}'s latest ended migration",
            "url": "${scheme}://${__data.fields.instance}/migrations/latest.svg"
                   "?vm=${__data.fields.vm}",
            "targetBlank": True}]
table("Current phase", "The phase of each VM's latest migration still held by migscope "
      "(running, or ended less than the expiry time ago). A row's link opens the picture "
      "of the VM's latest ended migration, drawn by the exporter (/migrations).",
      f"migscope_migration_phase{{{SEL}}} == 1", w=12, x=12, links=PICTURE)

row("Downtime")
heatmap("QEMU downtime distribution", "src-downtime-end - src-downtime-start: the "
        "downtime QMP query-migrate reports.", "migscope_downtime_seconds", SEL, x=0)
heatmap("Guest-visible downtime distribution", "Destination VM started - source VM "
        "stopped; only when both sides run on one host (one clock).",
        "migscope_guest_downtime_seconds", SEL_VM, x=12)
timeseries("Downtime quantiles", "p50 and p99 of QEMU and guest-visible downtime.",
           quantiles("migscope_downtime_seconds", SEL)
           + [dict(t, refId=chr(ord("C") + i), legendFormat="guest " + t["legendFormat"])
              for i, t in enumerate(quantiles("migscope_guest_downtime_seconds", SEL_VM))],
           "s", x=0)
bargauge("Downtime breakdown (mean per migration in range)",
         "stop, iterable_save, non_iterable_save (source), transfer_load (source and "
         "destination on one host), dst_start (destination).",
         [target(mean_by("migscope_downtime_breakdown_seconds", SEL_VM, "part"),
                 "{{part}}", instant=True)], "s", x=12)
bargauge("Per-device stop-phase save/load (mean in range)",
         "vmstate_downtime_save/load of each host VFIO device, over every VM that used it "
         "(not filtered by VM).",
         [target(mean_by("migscope_device_downtime_seconds", SEL_DEV, "device, direction"),
                 "{{device}} {{direction}}", instant=True)], "s", w=24, x=0)

row("Switchover ACK")
timeseries("ACK latency", "Source: switchover ACK received - active.",
           quantiles("migscope_switchover_ack_latency_seconds", SEL), "s", x=0)
timeseries("ACK wait", "Source: time ready to switch over but waiting for the ACK, the "
           "downtime-neutral cost of switchover-ack.",
           quantiles("migscope_switchover_ack_wait_seconds", SEL), "s", x=12)
timeseries("Approvals pending", "Devices the destination still waits for before it "
           "sends the ACK.",
           [target(f"migscope_switchover_ack_pending{{{SEL}}}", "{{vm}} {{role}}")],
           "none", x=0)
timeseries("Device approval latency", "Destination: a device's initial data loaded to "
           "its approval; per host device, over every VM (not filtered by VM).",
           quantiles("migscope_switchover_ack_approval_seconds", SEL_DEV, by="device"), "s",
           x=12)

row("VFIO devices")
timeseries("Precopy initial bytes", "Initial data each device still has to send before "
           "the destination can approve it.",
           [target(f"migscope_vfio_precopy_initial_bytes{{{SEL}}}",
                   "{{vm}} {{device}}")], "bytes", w=8, x=0)
timeseries("Precopy dirty bytes", "Latest dirty bytes of each device in precopy.",
           [target(f"migscope_vfio_precopy_dirty_bytes{{{SEL}}}", "{{vm}} {{device}}")],
           "bytes", w=8, x=8)
timeseries("Stop-copy bytes", "Source: the device's stop-copy size estimate; "
           "destination: what it loaded in the stop phase.",
           [target(f"migscope_vfio_stopcopy_bytes{{{SEL}}}",
                   "{{vm}} {{role}} {{device}}")], "bytes", w=8, x=16)
timeseries("Initial data drain time", "Source: vfio_save_setup to initial bytes 0; per "
           "host device, over every VM (not filtered by VM).",
           quantiles("migscope_vfio_init_drain_seconds", SEL_DEV, by="device"), "s", x=0)
timeseries("Device state transitions (p99)", "VFIO MIG_DEVICE_STATE SET ioctl duration "
           "by transition, over every host device and VM (not filtered by VM).",
           quantiles("migscope_vfio_state_transition_seconds", SEL_DEV, by="from, to",
                     qs=(0.99,)), "s", x=12)

row("Precopy")
timeseries("Remaining bytes and threshold", "Source: latest pending bytes and the "
           "threshold that fits the downtime limit.",
           [target(f"migscope_precopy_pending_bytes{{{SEL}}}", "pending {{vm}}"),
            target(f"migscope_precopy_threshold_bytes{{{SEL}}}", "threshold {{vm}}",
                   ref="B")], "bytes", x=0)
timeseries("Bandwidth", "Source: migration bandwidth QEMU measured.",
           [target(f"migscope_precopy_bandwidth_bytes_per_second{{{SEL}}}", "{{vm}}")],
           "Bps", x=12)
timeseries("Precopy duration", "Source: active to src-downtime-start.",
           quantiles("migscope_precopy_seconds", SEL), "s", x=0)
table("Stalled sources", "Running sources without progress, and why.",
      f'migscope_migration_stalled{{{SEL}, reason!="none"}} == 1', x=12)

row("Two hosts")
# the recording rules of deploy/prometheus/migscope.rules.yml: series of a VM
# (vm, uuid), joined across the instances, so no instance or role filter
SEL_RULE = 'vm=~"$vm"'
timeseries("Guest-visible downtime across hosts",
           "Destination VM started - source VM stopped of each VM's latest migration, the "
           "two sides on two hosts: on the clock aligned by the migration's own messages "
           "when they bound the offset, else on the hosts' realtime clocks "
           "(migscope:migration_guest_downtime_seconds).",
           [target(f"migscope:migration_guest_downtime_seconds{{{SEL_RULE}}}", "{{vm}}"),
            target(f"migscope:migration_guest_downtime_error_seconds{{{SEL_RULE}}}",
                   "± {{vm}}", ref="B")], "s", x=0)
timeseries("Clock offset between the hosts",
           "Destination clock - source clock as the migration's messages bound it (one NTP "
           "round trip: ping and switchover-start forward, pong, ACK and shut back), and "
           "its error bound.",
           [target(f"migscope:clock_offset_seconds{{{SEL_RULE}}}", "offset {{vm}}"),
            target(f"migscope:clock_error_seconds{{{SEL_RULE}}}", "± {{vm}}", ref="B")],
           "s", x=12)
table("Milestones of the latest migrations", "Each side's milestones on its host's "
      "realtime clock (migscope_migration_timestamp_seconds, exact to the µs in "
      "Prometheus; shown to the ms).",
      f"migscope_migration_timestamp_seconds{{{SEL}}} * 1000", w=24, x=0,
      hide=("Time", "__name__", "job"), unit="time:YYYY-MM-DD HH:mm:ss.SSS")

row("Collector health")
timeseries("Lost events", "Events the kernel ring buffer could not deliver: migrations "
           "overlapping a loss are marked incomplete.",
           [target(f"sum by (instance) (increase(migscope_events_lost_total{{{SEL_I}}}"
                   f"[$__rate_interval]))", "{{instance}}")], "none", w=8, x=0)
timeseries("Probes attached", "Catalog probes attached in at least one QEMU binary.",
           [target(f"count by (instance) (migscope_probe_attached{{{SEL_I}}} > 0)",
                   "{{instance}}")], "none", w=8, x=8)
timeseries("Traced QEMU processes", "",
           [target(f"migscope_traced_processes{{{SEL_I}}}", "{{instance}}")], "none",
           w=8, x=16)
timeseries("Events by probe (top 10)", "",
           [target(f"topk(10, sum by (probe) (rate(migscope_events_total{{{SEL_I}}}"
                   f"[$__rate_interval])))", "{{probe}}")], "ops", x=0)
timeseries("Exporter cost", "Scrape render time (p99) and the engine time each metrics "
           "update takes.",
           [target(f"histogram_quantile(0.99, sum by (le, instance) "
                   f"(rate(migscope_scrape_duration_seconds_bucket{{{SEL_I}}}"
                   f"[$__rate_interval])))", "scrape p99 {{instance}}"),
            target(f"migscope_metrics_update_seconds{{{SEL_I}}}", "update {{instance}}",
                   ref="B")], "s", x=12)


def query_var(name, label, query, multi=True):
    return {"type": "query", "name": name, "label": label, "datasource": DS,
            "definition": query, "query": {"query": query, "refId": "StandardVariableQuery"},
            "refresh": 2, "multi": multi, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1, "hide": 0, "options": [], "regex": ""}


dashboard = {
    "title": "migscope: QEMU live migration",
    "uid": "migscope-migrations",
    "description": "Generated by dashboards/make_dashboard.py from the metrics of "
                   "`migscope serve` (docs/metrics.md).",
    "tags": ["migscope", "qemu", "migration", "vfio"],
    "editable": True,
    "graphTooltip": 1,
    "schemaVersion": 38,
    "version": 1,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "timezone": "browser",
    "links": [],
    "annotations": {"list": [{
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts", "type": "dashboard"}]},
    "templating": {"list": [
        {"type": "datasource", "name": "datasource", "label": "Data source",
         "query": "prometheus", "refresh": 1, "hide": 0, "regex": "",
         "current": {}, "options": []},
        query_var("instance", "Host", "label_values(migscope_build_info, instance)"),
        query_var("vm", "VM",
                  'label_values(migscope_migrations_total{instance=~"$instance"}, vm)'),
        query_var("role", "Role",
                  'label_values(migscope_migrations_total{instance=~"$instance"}, role)'),
        {"type": "custom", "name": "scheme", "label": "Exporter scheme",
         "description": "How Grafana's viewer reaches the exporters for their pictures "
                        "(https with --web-config TLS)",
         "query": "http,https", "multi": False, "includeAll": False, "hide": 0,
         "current": {"selected": True, "text": "http", "value": "http"},
         "options": [{"selected": True, "text": "http", "value": "http"},
                     {"selected": False, "text": "https", "value": "https"}]},
    ]},
    "panels": panels,
}

json.dump(dashboard, sys.stdout, indent=2, sort_keys=False)
sys.stdout.write("\n")
