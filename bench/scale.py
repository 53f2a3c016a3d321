#!/usr/bin/python3
"""scale.py: the growth of claimbench's figures with the corpus size (bench/README.md, "Scale").

Reads bench/results/claims-N.json for each size N given (claimbench writes one per run), prints a
Markdown growth table (import rate, size on disk, query p99, search rate, get p99, durable-write
rate, each for claimd and its peer, with each one's ratio to its figure at the smallest size) and
writes an SVG plot of the import checkpoints: import rate and size on disk against claims loaded,
claimd next to SQLite's bulk load.

    bench/scale.py [--results DIR] [--svg PATH] 100000 1000000 10000000

Python 3 standard library only; the SVG is written by hand."""

import argparse
import json
import math
import os
import sys

# (figure id, what, unit): the rows of the growth table, in this order.
ROWS = [
    ("import_rate", "bulk import, libclaimd pipelined claim.import", "claims/s"),
    ("disk_size", "size on disk after the import", "MiB"),
    ("query_32c_p99", "claim.query p99, 32 clients", "ms"),
    ("search_rps", "claim.search two words, top 20, 1 client", "q/s"),
    ("get_rtt_p99", "claim.get round trip p99, 1 client", "us"),
    ("put_64c_rps", "durable claim.put, 64 clients", "claims/s"),
    ("put_1c_rps", "durable claim.put, 1 client", "claims/s"),
]


def size_name(n):
    """100000 -> 100k, 1000000 -> 1M, 2500000 -> 2.5M."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div:
            v = n / div
            return ("%d" % v if v == int(v) else "%.3g" % v) + suffix
    return str(n)


def fmt(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def load(results, sizes):
    runs = []
    for n in sizes:
        path = os.path.join(results, "claims-%d.json" % n)
        try:
            with open(path) as f:
                r = json.load(f)
        except OSError as e:
            sys.exit("scale.py: %s: %s (run claimbench --claims=%d first)" % (path, e.strerror, n))
        except ValueError as e:
            sys.exit("scale.py: %s: not JSON: %s" % (path, e))
        r["_path"] = path
        r["_figs"] = {f["id"]: f for f in r.get("figures", [])}
        runs.append(r)
    return runs


def growth_table(runs):
    """The Markdown table as a list of lines."""
    names = [size_name(r["claims"]) for r in runs]
    base = names[0]
    head = ["figure", "unit", "side"] + names + ["%s / %s" % (n, base) for n in names[1:]]
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + " |"]
    for fid, what, unit in ROWS:
        figs = [r["_figs"].get(fid) for r in runs]
        if not any(figs):
            continue
        peer_name = next((f["peer_name"] for f in figs if f and f.get("peer_name")), "")
        sides = [("claimd", "claimd")]
        if peer_name:
            sides += [("peer", peer_name), ("ratio", "claimd / peer")]
        for key, label in sides:
            vals = [f.get(key) if f else None for f in figs]
            cells = [fmt(v) + ("×" if key == "ratio" and v is not None else "") for v in vals]
            grow = []
            for v in vals[1:]:
                b = vals[0]
                grow.append("%.2f×" % (v / b) if key != "ratio" and v and b else "")
            out.append("| " + " | ".join([what if key == "claimd" else "", unit if key != "ratio" else "x",
                                          label] + cells + grow) + " |")
    return out


def provenance(runs):
    lines = []
    for r in runs:
        info = r.get("info", {})
        lines.append("- %s: `%s`, commit %s, %s, %s s per timed run, import %.0f s, claimbench peak RSS %s MiB"
                     % (size_name(r["claims"]), r["_path"], info.get("git.commit", "?"), r.get("date", "?"),
                        fmt(r.get("seconds_per_run")), info.get("import.seconds") or 0,
                        fmt((info.get("claimbench.peak_rss_kb") or 0) / 1024) if info.get("claimbench.peak_rss_kb") else "?"))
    commits = {r.get("info", {}).get("git.commit") for r in runs}
    if len(commits) > 1:
        lines.append("- **the runs are of different commits**: the growth mixes code changes with size")
    return lines


# ---- the SVG plot ----------------------------------------------------------------------------

W = 800
PANEL_H = 400
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 80, 20, 40, 50
LEGEND_ROW = 20
CLAIMD_COLOURS = ["#9ecae1", "#4292c6", "#08519c", "#08306b"]   # lighter = smaller run
SQLITE_COLOURS = ["#fdae6b", "#f16913", "#a63603", "#7f2704"]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def nice_step(span, target=6):
    raw = span / target if span > 0 else 1
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class Axis:
    """Maps data to pixels, linear from 0 or logarithmic, with its ticks."""

    def __init__(self, lo, hi, p0, p1, log):
        self.log = log and lo > 0 and hi / lo > 20
        if self.log:
            self.lo, self.hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
        else:
            step = nice_step(hi)
            self.lo, self.hi = 0.0, max(step, math.ceil(hi / step) * step)
        self.p0, self.p1 = p0, p1

    def __call__(self, v):
        if self.log:
            v = max(v, self.lo)
            t = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            t = (v - self.lo) / (self.hi - self.lo)
        return self.p0 + t * (self.p1 - self.p0)

    def ticks(self):
        if self.log:
            out, e = [], math.log10(self.lo)
            while 10 ** e <= self.hi * 1.0001:
                for m in (1, 2, 5):
                    v = m * 10 ** e
                    if self.lo <= v <= self.hi * 1.0001:
                        out.append((v, m == 1))
                e += 1
            return out
        step = nice_step(self.hi)
        n = int(round(self.hi / step))
        return [(i * step, True) for i in range(n + 1)]


def tick_label(v):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            x = v / div
            return ("%d" % x if x == int(x) else "%.3g" % x) + suffix
    return "%d" % v if v == int(v) else "%.3g" % v


def panel(y0, title, xlabel, ylabel, lines, ylog):
    """One panel at vertical offset y0: lines is [(label, colour, dash, [(x, y)...])]."""
    pts = [p for _, _, _, ps in lines for p in ps if p[1] is not None and p[1] > 0]
    if not pts:
        return ['<text x="%d" y="%d" font-size="14">%s: no data</text>' % (MARGIN_L, y0 + 30, esc(title))], 0
    legend_rows = (len(lines) + 2) // 3
    plot_bottom = y0 + PANEL_H - MARGIN_B - legend_rows * LEGEND_ROW
    xa = Axis(min(p[0] for p in pts), max(p[0] for p in pts), MARGIN_L, W - MARGIN_R, True)
    ya = Axis(min(p[1] for p in pts), max(p[1] for p in pts), plot_bottom, y0 + MARGIN_T, ylog)
    s = ['<text x="%d" y="%d" font-size="16" font-weight="bold">%s</text>' % (MARGIN_L, y0 + 22, esc(title))]
    for v, major in xa.ticks():
        x = xa(v)
        s.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>' % (x, y0 + MARGIN_T, x, plot_bottom))
        if major or not xa.log:
            s.append('<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle">%s</text>'
                     % (x, plot_bottom + 16, tick_label(v)))
    for v, major in ya.ticks():
        y = ya(v)
        s.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (MARGIN_L, y, W - MARGIN_R, y))
        if major or not ya.log:
            s.append('<text x="%d" y="%.1f" font-size="12" text-anchor="end">%s</text>'
                     % (MARGIN_L - 6, y + 4, tick_label(v)))
    s.append('<rect x="%d" y="%d" width="%d" height="%.1f" fill="none" stroke="#333"/>'
             % (MARGIN_L, y0 + MARGIN_T, W - MARGIN_L - MARGIN_R, plot_bottom - y0 - MARGIN_T))
    s.append('<text x="%d" y="%.1f" font-size="13" text-anchor="middle">%s</text>'
             % ((MARGIN_L + W - MARGIN_R) // 2, plot_bottom + 34, esc(xlabel)))
    ymid = (y0 + MARGIN_T + plot_bottom) / 2
    s.append('<text x="18" y="%.1f" font-size="13" text-anchor="middle" transform="rotate(-90 18 %.1f)">%s</text>'
             % (ymid, ymid, esc(ylabel)))
    for label, colour, dash, ps in lines:
        ps = [(x, y) for x, y in ps if y is not None and y > 0]
        if not ps:
            continue
        path = " ".join("%s%.1f,%.1f" % ("M" if i == 0 else "L", xa(x), ya(y)) for i, (x, y) in enumerate(ps))
        s.append('<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>'
                 % (path, colour, ' stroke-dasharray="6,4"' if dash else ""))
        for x, y in ps:
            s.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (xa(x), ya(y), colour))
    col_w = (W - MARGIN_L - MARGIN_R) // 3
    for i, (label, colour, dash, _) in enumerate(lines):
        lx = MARGIN_L + (i % 3) * col_w
        ly = plot_bottom + 50 + (i // 3) * LEGEND_ROW
        s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>'
                 % (lx, ly - 4, lx + 24, ly - 4, colour, ' stroke-dasharray="6,4"' if dash else ""))
        s.append('<text x="%d" y="%d" font-size="12">%s</text>' % (lx + 30, ly, esc(label)))
    return s, PANEL_H


def interval_rates(series):
    """claims/s over each checkpoint interval, at the interval's end."""
    out, pc, pt = [], 0.0, 0.0
    for p in series:
        c, t = p.get("claims"), p.get("seconds")
        if c is None or t is None or t <= pt or c <= pc:
            continue
        out.append((c, (c - pc) / (t - pt)))
        pc, pt = c, t
    return out


def plot(runs, path):
    rate_lines, size_lines = [], []
    for i, r in enumerate(runs):
        name = size_name(r["claims"])
        ser = r.get("series", {})
        cc, sc = CLAIMD_COLOURS[i % len(CLAIMD_COLOURS)], SQLITE_COLOURS[i % len(SQLITE_COLOURS)]
        cl, sq = ser.get("claimd_import", []), ser.get("sqlite_load", [])
        rate_lines.append(("claimd, %s run" % name, cc, False, interval_rates(cl)))
        if sq:
            rate_lines.append(("SQLite, %s run" % name, sc, False, interval_rates(sq)))
        mib = 1048576.0
        size_lines.append(("claimd data dir, %s" % name, cc, False,
                           [(p["claims"], p["disk_bytes"] / mib if p.get("disk_bytes") else None) for p in cl]))
        size_lines.append(("claimd bytes_used, %s" % name, cc, True,
                           [(p["claims"], p["data_bytes"] / mib if p.get("data_bytes") else None) for p in cl]))
        if sq:
            pts = [(p["claims"], p["disk_bytes"] / mib if p.get("disk_bytes") else None) for p in sq]
            # The load is one transaction whose pages sit in the WAL until the checkpoint after it:
            # the line ends at the checkpointed file (the disk_size figure's peer).
            final = r["_figs"].get("disk_size", {}).get("peer")
            if final:
                pts.append((r["claims"], final))
            size_lines.append(("SQLite file + WAL, %s" % name, sc, False, pts))
    sizes = ", ".join(size_name(r["claims"]) for r in runs)
    body, h1 = panel(0, "Import rate against claims loaded (runs: %s)" % sizes, "claims loaded (log scale)",
                     "claims/s, over each 1/20 of the corpus", rate_lines, False)
    b2, h2 = panel(h1, "Size on disk against claims loaded", "claims loaded (log scale)",
                   "MiB on disk", size_lines, True)
    body += b2
    height = h1 + h2
    svg = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="DejaVu Sans, Arial, sans-serif">' % (W, height, W, height),
           '<rect width="100%" height="100%" fill="white"/>'] + body + ["</svg>"]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(svg) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="bench/results", help="where claims-N.json are (default bench/results)")
    ap.add_argument("--svg", help="the plot to write (default RESULTS/scale.svg; '' for none)")
    ap.add_argument("sizes", nargs="+", type=int, help="corpus sizes, smallest first")
    a = ap.parse_args()
    sizes = sorted(set(a.sizes))
    runs = load(a.results, sizes)
    print("Growth from %s claims (each ratio: the figure at that size / the same side's figure at %s)\n"
          % (size_name(sizes[0]), size_name(sizes[0])))
    print("\n".join(growth_table(runs)))
    print()
    print("\n".join(provenance(runs)))
    svg = a.svg if a.svg is not None else os.path.join(a.results, "scale.svg")
    if svg:
        plot(runs, svg)
        print("\nplot: %s" % svg)


if __name__ == "__main__":
    main()
