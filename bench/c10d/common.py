"""Shared by the c10d benchmarks: process group set-up, timed windows, output files.

Run under torchrun; the rank, world size and rendezvous come from its
environment. ``--backend colossus`` imports ``colossus.torch`` first, which
registers the backend with torch.distributed.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist


def add_common_args(p):
    p.add_argument("--backend", default="gloo", help="gloo, colossus, or any registered backend")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first")
    p.add_argument("--reps", type=int, default=5, help="timed windows (the median is reported)")
    p.add_argument("--csv", help="rank 0 writes the results here")
    p.add_argument("--json", help="rank 0 writes the results here")


def init(args):
    """Initialize the process group; returns (rank, world size, torch device)."""
    if args.reps < 5:
        print(f"warning: --reps {args.reps}: fewer than 5 windows", file=sys.stderr)
    if args.backend == "colossus":
        try:
            import colossus.torch  # noqa: F401  registers the "colossus" backend
        except ImportError as e:
            sys.exit(f"--backend colossus: cannot import colossus.torch ({e}); "
                     "put the built package (<build>/python) on PYTHONPATH")
        if "colossus" not in dist.Backend.backend_list:
            sys.exit("--backend colossus: colossus.torch was imported from "
                     f"{os.path.dirname(colossus.torch.__file__)} but registered no "
                     "'colossus' backend")
    device = torch.device("cpu")
    if args.device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    dist.init_process_group(args.backend)
    return dist.get_rank(), dist.get_world_size(), device


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_windows(fn, iters, reps, device):
    """Seconds per call of each of reps windows of iters calls, the slowest rank's.

    A barrier lines the ranks up before each window; the window's time is
    then reduced with MAX over the ranks (outside the timing), so a window
    counts as long as its slowest rank took.
    """
    out = []
    for _ in range(reps):
        dist.barrier()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        sync(device)
        dt = torch.tensor([(time.perf_counter() - t0) / iters], dtype=torch.float64,
                          device=device)
        dist.all_reduce(dt, op=dist.ReduceOp.MAX)
        out.append(dt.item())
    return out


def median(xs):
    return statistics.median(xs)


def write_results(args, meta, rows):
    """Rank 0: rows (dicts with the same keys) to --csv and --json, with meta beside them."""
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(meta) + list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({**meta, **r})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**meta, "rows": rows}, f, indent=1)
            f.write("\n")
