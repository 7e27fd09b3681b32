#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""svgcheck.py SVG REPORT [--render DIR [--dark]] [--only]: check `replay --format svg`
against the JSON report of the same inputs (--only: the SVG is the one panel
of the report's first pair, as serve's /migrations/ID.svg draws it).

Without --render, from the SVG alone: it is one self-contained document (no
script, no external reference); a panel per pair (or unpaired side); each
downtime band is as long as the report's downtime_ms on the scale its axis's
ticks draw (within 2 px), and so is the inset's stop span (the report's
downtime_breakdown.stop_ms); each side has a lane per device of the report;
the source's lane has a tick per iteration of the report's series.

With --render DIR (headless Chromium): the picture is rendered to PNG, light
(and dark with --dark); each PNG is not blank and has the background its
scheme asks; the
downtime bands measured in the light PNG's pixels are as wide as the report
says on the drawn scale (within 2 px); no two text boxes of the rendered
document overlap (the browser's own boxes, getBBox), and none leaves the
canvas. Exit 0 when every check passes; each failure is one line.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib

NS = "{http://www.w3.org/2000/svg}"
ONLY = False
DARK = False
fails = []


def fail(msg):
    fails.append(msg)


def png_read(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG"""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"PNG kind not read here (depth {depth}, type {ctype})")
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def near(a, b, tol=24):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def ticks(axis):
    """(ms, x) of an axis group's ticks"""
    return [(float(t.get("data-ms")), float(t.get("data-x")))
            for t in axis.iter(NS + "g") if t.get("data-ms") is not None]


def px_per_ms(axis):
    t = ticks(axis)
    if len(t) < 2:
        return None
    (m0, x0), (m1, x1) = t[0], t[-1]
    return (x1 - x0) / (m1 - m0) if m1 != m0 else None


def static_checks(svg_path, rep):
    text = open(svg_path, encoding="utf-8").read()
    root = ET.fromstring(text)
    if root.tag != NS + "svg":
        fail("the document is not an <svg>")
    if re.search(r"<script|javascript:|@import|xlink:href=\"(?!#)|href=\"(?!#)", text):
        fail("the SVG is not self-contained (a script or an external reference)")
    for m in re.finditer(r"url\(([^)]*)\)", text):
        if not m.group(1).startswith("#"):
            fail(f"the SVG refers to {m.group(1)}")
    migs, pairs = rep["migrations"], rep["pairs"]
    paired = {p["source"]: p for p in pairs}
    in_pair = set(paired) | {p["destination"] for p in pairs}
    want = sorted(set(paired) | {i for i in range(len(migs)) if i not in in_pair})
    panels = [g for g in root.iter(NS + "g") if g.get("data-panel") is not None]
    got = [int(g.get("data-panel")) for g in panels]
    if ONLY:
        if len(panels) != 1 or not want:
            fail(f"{len(panels)} panels, not the one of the report's first pair")
            return root, panels
        want = want[:1]
        for g in panels:
            g.set("data-panel", str(want[0]))  # the report's index from here on
    elif got != want:
        fail(f"panels for migrations {got}, the report's pairs and unpaired sides are {want}")
    for g in panels:
        i = int(g.get("data-panel"))
        m = migs[i]
        axes = {a.get("class").split()[1]: a for a in g.iter(NS + "g")
                if (a.get("class") or "").startswith("axis ")}
        bands = {b.get("data-band"): b for b in g.iter(NS + "rect")
                 if b.get("data-band")}
        dt = m.get("downtime_ms") if m.get("role") != "destination" else None
        if dt is None:
            if bands:
                fail(f"panel {i}: a downtime band where the report has no downtime")
        for which in ("main", "inset"):
            if dt is None:
                break
            b, ax = bands.get(which), axes.get(which)
            if b is None or ax is None:
                fail(f"panel {i}: no {which} downtime band or axis (downtime {dt} ms)")
                continue
            k = px_per_ms(ax)
            want_w = dt * k if k else None
            w = float(b.get("width"))
            if want_w is None or abs(w - want_w) > 2:
                fail(f"panel {i}: the {which} band is {w:.2f} px, downtime {dt} ms is "
                     f"{want_w} px on its axis")
        stop = (m.get("downtime_breakdown") or {}).get("stop_ms")
        if dt is not None and stop is not None and "inset" in axes:
            k = px_per_ms(axes["inset"])
            sp = [r for r in g.iter(NS + "rect")
                  if "ph-stop" in (r.get("class") or "")]
            # the inset's is the last drawn stop span
            if not sp or abs(float(sp[-1].get("width")) - stop * k) > 2 and stop * k >= 0.5:
                fail(f"panel {i}: the inset's stop span is not stop_ms {stop} on its scale")
        # a tick per iteration of the source's loop on its lane (the legend's
        # and the inset's are on other rows)
        series = (m.get("convergence") or {}).get("series") or []
        if m.get("role") == "source" and series:
            rows = {}
            for ln in g.iter(NS + "line"):
                if ln.get("class") == "iter":
                    rows[ln.get("y1")] = rows.get(ln.get("y1"), 0) + 1
            if max(rows.values(), default=0) != len(series):
                fail(f"panel {i}: {max(rows.values(), default=0)} iteration ticks on the "
                     f"source's lane, the report's series has {len(series)}")
        sides = [i] + ([paired[i]["destination"]] if i in paired else [])
        ndev = sum(len(migs[j].get("devices") or []) for j in sides)
        lanes = [t for t in g.iter(NS + "text") if "dev" in (t.get("class") or "").split()]
        # each device has a lane in the main view, and one in the inset
        # when there is a stop phase to zoom into
        per = 2 if dt is not None else 1
        if len(lanes) != per * ndev:
            fail(f"panel {i}: {len(lanes)} device lanes, the report has {ndev} devices "
                 f"(x{per})")
    return root, panels


def chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(c):
            return c
    return None


def run_chromium(args, timeout=60):
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", "--force-device-scale-factor=1",
            "--user-data-dir=" + os.environ.get("SVGCHECK_PROFILE", "/tmp/svgcheck-profile")]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)


BOX_JS = """
<script>
addEventListener('load', () => {
  const out = [];
  for (const t of document.querySelectorAll('svg text')) {
    const b = t.getBBox();
    if (b.width > 0) out.push([b.x, b.y, b.width, b.height, t.textContent]);
  }
  const bands = [];
  for (const r of document.querySelectorAll('svg rect[data-band]')) {
    const b = r.getBoundingClientRect();
    bands.push([r.closest('[data-panel]').dataset.panel, r.dataset.band, b.x, b.y,
                b.width, b.height]);
  }
  const pre = document.createElement('pre');
  pre.id = 'boxes';
  pre.textContent = JSON.stringify({texts: out, bands: bands});
  document.body.appendChild(pre);
});
</script>
"""


def rendered_checks(svg_path, rep, root, outdir):
    text = open(svg_path, encoding="utf-8").read()
    w, h = int(float(root.get("width"))), int(float(root.get("height")))
    base = os.path.join(outdir, os.path.basename(svg_path).rsplit(".", 1)[0])
    pngs = {}
    for scheme, flag in (("light", "1"), ("dark", "0"))[:2 if DARK else 1]:
        png = f"{base}.{scheme}.png"
        r = run_chromium([f"--window-size={w},{h}", f"--screenshot={png}",
                          f"--blink-settings=preferredColorScheme={flag}",
                          "file://" + os.path.abspath(svg_path)])
        if not os.path.exists(png):
            fail(f"chromium did not render the {scheme} PNG: {r.stderr.strip()[-200:]}")
            return
        pngs[scheme] = png_read(png)
    for scheme, (pw, ph, rows) in pngs.items():
        if (pw, ph) != (w, h):
            fail(f"{scheme} PNG is {pw}x{ph}, the SVG {w}x{h}")
        bg = rows[2][w - 3]
        lum = 0.3 * bg[0] + 0.59 * bg[1] + 0.11 * bg[2]
        if (scheme == "light") != (lum > 128):
            fail(f"the {scheme} rendering's background is {bg}")
        inked = sum(1 for y in range(0, ph, 3) for x in range(0, pw, 3)
                    if not near(rows[y][x], bg, 12))
        total = len(range(0, ph, 3)) * len(range(0, pw, 3))
        if inked < total * 0.01:
            fail(f"the {scheme} PNG is blank ({inked} of {total} samples inked)")
    # the browser's own boxes
    html = os.path.join(outdir, "boxes.html")
    body = re.sub(r"^<\?xml[^>]*>\s*", "", text)
    with open(html, "w", encoding="utf-8") as f:
        f.write("<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
                "<body style='margin:0'>" + body + BOX_JS + "</body></html>")
    r = run_chromium(["--virtual-time-budget=5000", "--dump-dom", "file://" + html])
    m = re.search(r"<pre id=\"boxes\">(.*?)</pre>", r.stdout, re.S)
    if not m:
        fail("chromium gave no text boxes: " + r.stderr.strip()[-200:])
        return
    raw = m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    boxes = json.loads(raw)
    texts = boxes["texts"]
    for i, a in enumerate(texts):
        x, y, bw, bh, s = a
        if x < -0.5 or y < -0.5 or x + bw > w + 0.5 or y + bh > h + 0.5:
            fail(f"text {s!r} leaves the canvas ({x:.1f},{y:.1f} {bw:.1f}x{bh:.1f})")
        for b in texts[i + 1:]:
            ox = min(x + bw, b[0] + b[2]) - max(x, b[0])
            oy = min(y + bh, b[1] + b[3]) - max(y, b[1])
            if ox > 0.5 and oy > 0.5:
                fail(f"texts overlap: {s!r} at ({x:.0f},{y:.0f}) and {b[4]!r} at "
                     f"({b[0]:.0f},{b[1]:.0f})")
    # the bands in pixels: on their top rows only the band is over the
    # background; its run of band colour is its width
    pw, ph, rows = pngs["light"]
    migs = rep["migrations"]
    panels = {g.get("data-panel"): g for g in root.iter(NS + "g") if g.get("data-panel")}
    for pid, which, bx, by, bw, bh in boxes["bands"]:
        if ONLY and len(panels) == 1:
            pid = next(iter(panels))  # the report's index static_checks gave it
        g = panels.get(pid)
        ax = next((a for a in g.iter(NS + "g") if a.get("class") == "axis " + which), None)
        k = px_per_ms(ax) if ax is not None else None
        dt = migs[int(pid)].get("downtime_ms")
        if k is None or dt is None:
            fail(f"panel {pid}: the {which} band has no scale or downtime to check")
            continue
        y = int(by) + 2
        xs = [x for x in range(max(0, int(bx) - 3), min(pw, int(bx + bw) + 4))
              if not near(rows[y][x], rows[y][max(0, int(bx) - 6)], 6)]
        got = (max(xs) - min(xs) + 1) if xs else 0
        if abs(got - dt * k) > 2:
            fail(f"panel {pid}: the {which} band is {got} px in the PNG, downtime {dt} ms "
                 f"is {dt * k:.1f} px on the drawn scale")


def main():
    global ONLY, DARK
    args = sys.argv[1:]
    outdir = None
    if "--dark" in args:
        DARK = True
        args.remove("--dark")
    if "--only" in args:
        ONLY = True
        args.remove("--only")
    if "--render" in args:
        i = args.index("--render")
        outdir = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    svg, rep_path = args
    rep = json.load(open(rep_path))
    try:
        root, _ = static_checks(svg, rep)
    except ET.ParseError as e:
        print(f"svgcheck: the SVG does not parse: {e}")
        return 1
    if outdir is not None and not fails:
        if not chromium():
            print("svgcheck: no chromium: the rendering was not checked")
        else:
            os.makedirs(outdir, exist_ok=True)
            rendered_checks(svg, rep, root, outdir)
    for f in fails[:20]:
        print("svgcheck: " + f)
    if len(fails) > 20:
        print(f"svgcheck: ... {len(fails) - 20} more")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
