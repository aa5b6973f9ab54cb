"""colossus-plot: busbw, algbw or time against message size, one line per run.

Reads the tables the ``*_perf`` tools print (nccl-tests' columns: size,
count, type, redop, root, then time, algbw, busbw, #wrong out of place and
in place), the tables ``colossus-sim`` prints (sweeps and ``--loopback``),
and CSV/JSON: ``colossus-sim --csv/--json`` and ``bench/c10d/*.py``.

    python -m colossus.plot -o ar.png --label gloo a.csv --label colossus b.txt
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import statistics
import sys
from dataclasses import dataclass, field

METRICS = {"busbw": "busbw (GB/s)", "algbw": "algbw (GB/s)", "time": "time (us)"}
# CSV/JSON keys, first match wins: bench/c10d, colossus-sim (sweep, loopback).
KEYS = {
    "size": ("size", "bytes", "size_bytes"),
    "time": ("time_us", "measured_us"),
    "algbw": ("algbw", "algbw_gbps"),
    "busbw": ("busbw", "busbw_gbps", "measured_busbw_gbps"),
}
_TAG = re.compile(r"^\[\d+\]\s?")  # colossus-run's "[rank]" prefix


class FormatError(ValueError):
    """A file holds no table colossus-plot can read."""


@dataclass
class Series:
    """One line of the chart: rows of {size, time, algbw, busbw} (None where absent)."""

    label: str
    rows: list = field(default_factory=list)

    def points(self, metric="busbw"):
        """Sorted (size, value) pairs; a size seen more than once gets the median."""
        by_size = {}
        for r in self.rows:
            if r.get(metric) is not None:
                by_size.setdefault(r["size"], []).append(r[metric])
        return [(s, statistics.median(v)) for s, v in sorted(by_size.items())]


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _row(size, time, algbw, busbw, algo=None, pick=True):
    return {"size": int(size), "time": _num(time), "algbw": _num(algbw),
            "busbw": _num(busbw), "algo": algo, "pick": pick}


def _parse_table(text, in_place=False):
    """*_perf and colossus-sim tables: header comment line, then numeric rows."""
    header, rows = None, []
    for raw in text.splitlines():
        line = _TAG.sub("", raw.rstrip())
        if line.startswith("#"):
            words = line[1:].split()
            if words[:2] == ["size", "count"] or words[:1] == ["size(B)"]:
                header = words
            continue
        tok = line.split()
        if header is None or not tok or not tok[0].isdigit() or "refused:" in line:
            continue
        if header[0] == "size":  # *_perf: out-of-place 5..7, in place 9..11
            base = 9 if in_place else 5
            if len(tok) >= base + 3:
                rows.append(_row(tok[0], *tok[base:base + 3]))
            continue
        pick = True
        if "*" in header:  # colossus-sim's pick column is blank off the pick
            i = header.index("*")
            pick = len(tok) > i and tok[i] == "*"
            if not pick:
                tok.insert(i, "")
        t = next((header.index(k) for k in ("here(us)", "time(us)") if k in header), None)
        if t is None or "busbw" not in header[t:]:
            continue
        b = header.index("busbw", t)
        a = header.index("algbw") if "algbw" in header else None
        algo = tok[header.index("algorithm")] if "algorithm" in header else None
        if len(tok) > b:
            rows.append(_row(tok[0], tok[t], tok[a] if a is not None else None, tok[b], algo, pick))
    return rows


def _from_records(records):
    rows = []
    for rec in records:
        if not isinstance(rec, dict) or rec.get("refused"):
            continue
        get = {m: next((rec[k] for k in keys if rec.get(k) not in (None, "")), None)
               for m, keys in KEYS.items()}
        size = _num(get["size"])
        if size is None:  # also a repeated CSV header line
            continue
        rows.append(_row(size, get["time"], get["algbw"], get["busbw"],
                         rec.get("algorithm") or None, str(rec.get("pick", True)).lower() != "false"))
    return rows


def parse_text(text, in_place=False):
    """Rows of one result file's text, whatever its format (empty list: none found)."""
    s = text.lstrip()
    if s[:1] in ("[", "{"):
        try:
            data = json.loads(s)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            data = data.get("rows") or data.get("results") or [data]
        if isinstance(data, list):
            return _from_records(data)
    first = s.splitlines()[0] if s else ""
    if "," in first and not first.startswith("#"):
        keys = [k.strip() for k in first.split(",")]
        if any(k in KEYS["size"] for k in keys):
            return _from_records(csv.DictReader(io.StringIO(s)))
    return _parse_table(text, in_place)


def load(path, label=None, in_place=False, pick_only=False):
    """The Series of one file: one, or one per algorithm for a colossus-sim sweep."""
    with open(path, encoding="utf-8", errors="replace") as f:
        rows = parse_text(f.read(), in_place)
    if pick_only:
        rows = [r for r in rows if r["pick"]]
    if not rows:
        raise FormatError(
            f"{path}: no recognizable result table (expected a *_perf or colossus-sim "
            "table, or CSV/JSON with size and busbw columns)")
    label = label or os.path.basename(path)
    sizes = [r["size"] for r in rows if r["algo"]]
    algos = {r["algo"] for r in rows if r["algo"]}
    if len(algos) > 1 and len(sizes) > len(set(sizes)):  # several algorithms per size
        return [Series(f"{label} {a}", [r for r in rows if r["algo"] == a]) for a in sorted(algos)]
    return [Series(label, rows)]


def human_bytes(n):
    """8 -> '8 B', 65536 -> '64 KiB', 1.5 MiB -> '1.5 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:g} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024


def draw(series, out, metric="busbw", title=None):
    """Write a PNG: metric against size (log2 x axis), one line per Series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    sizes = []
    for s in series:
        pts = s.points(metric)
        if pts:
            sizes += [p[0] for p in pts]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=s.label)
    if not sizes:
        plt.close(fig)
        raise FormatError(f"no {metric} values to plot in any file")
    ax.set_xscale("log", base=2)
    lo, hi = min(sizes).bit_length() - 1, max(max(sizes) - 1, 1).bit_length()
    step = max(1, -(-(hi - lo) // 12))  # at most ~12 ticks
    ticks = [2**e for e in sorted(set(range(lo, hi + 1, step)) | {hi})]  # both ends
    ax.set_xticks(ticks)
    ax.set_xticklabels([human_bytes(t) for t in ticks], rotation=45, ha="right")
    ax.minorticks_off()
    if metric == "time":
        ax.set_yscale("log")
    ax.set_xlabel("message size")
    ax.set_ylabel(METRICS[metric])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    ax.set_title(title or f"{metric} against message size")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def _labels(argv, nfiles):
    """Each --label names the file after it on the command line (None: the file's name)."""
    labels, pending, i = [], None, 0
    while i < len(argv):
        a = argv[i]
        if a in ("--label", "--metric", "--title", "-o", "--output"):
            pending = argv[i + 1] if a == "--label" and i + 1 < len(argv) else pending
            i += 1
        elif a.startswith("--label="):
            pending = a[len("--label="):]
        elif not a.startswith("-") or a == "-":
            labels.append(pending)
            pending = None
        i += 1
    if pending is not None:
        raise ValueError(f"--label {pending!r} follows the last file")
    return (labels + [None] * nfiles)[:nfiles]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(
        prog="colossus-plot", allow_abbrev=False,
        description="Plot busbw (algbw, time) against message size from *_perf or "
        "colossus-sim tables and CSV/JSON results; one line per file (per algorithm "
        "for a colossus-sim sweep).")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--label", action="append", default=[],
                   help="legend label of the FILE that follows it (default: the file's name)")
    p.add_argument("--metric", choices=sorted(METRICS), default="busbw")
    p.add_argument("--title")
    p.add_argument("--in-place", action="store_true", help="*_perf tables: in-place columns")
    p.add_argument("--pick", action="store_true", help="colossus-sim: the tuner's picks only")
    p.add_argument("-o", "--output", default="colossus-plot.png", help="PNG to write")
    args = p.parse_intermixed_args(argv)
    try:
        labels = _labels(argv, len(args.files))
    except ValueError as e:
        p.error(str(e))
    try:
        series = [s for f, lab in zip(args.files, labels)
                  for s in load(f, lab, args.in_place, args.pick)]
        draw(series, args.output, args.metric, args.title)
    except (FormatError, OSError) as e:
        print(f"colossus-plot: error: {e}", file=sys.stderr)
        return 2
    print(f"colossus-plot: {args.output}: {len(series)} line(s) of {args.metric}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
