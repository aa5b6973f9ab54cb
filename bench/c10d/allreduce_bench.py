"""torch.distributed all_reduce: latency at 8 B, busbw at 64 MiB, optionally a sweep.

    torchrun --nproc-per-node 2 bench/c10d/allreduce_bench.py --backend gloo \
        [--sweep] [--csv out.csv] [--json out.json]

Each size: one checked call (rank r contributes r + 1, every element must
read n(n+1)/2), warmup calls, then --reps timed windows of --iters in-place
fp32 sum calls each (on zeros, so that repeated sums stay finite). A
window's time per call is the slowest rank's; the median over the windows
is reported. algbw = size / time; busbw = algbw * 2(n-1)/n (nccl-tests'
allreduce factor). GB/s = 1e9 B/s. Rank 0 prints the table and writes the
CSV/JSON (colossus-plot reads all three).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text):
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1] if text and text[-1] in UNITS else ""
    return int(float(text[: len(text) - len(unit)]) * UNITS[unit])


def sizes_of(args):
    sizes = {parse_size(s) for s in args.sizes.split(",") if s}
    if args.sweep:
        s, e = parse_size(args.min_bytes), parse_size(args.max_bytes)
        while s <= e:
            sizes.add(s)
            s *= args.factor
        sizes.add(e)
    return sorted(sizes)


def iters_for(args, size):
    """Calls per window: many for small messages, a few for large ones."""
    if args.iters:
        return args.iters
    return max(2, min(200, (256 << 20) // max(size, 1)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    common.add_common_args(p)
    p.add_argument("--sizes", default="8,64M", help="comma-separated sizes in bytes (K, M, G)")
    p.add_argument("--sweep", action="store_true", help="also -b to -e by -f")
    p.add_argument("-b", "--min-bytes", default="8")
    p.add_argument("-e", "--max-bytes", default="64M")
    p.add_argument("-f", "--factor", type=int, default=4)
    p.add_argument("--iters", type=int, default=0, help="calls per window (0: by size)")
    args = p.parse_args()
    rank, n, device = common.init(args)
    esize = 4  # float32
    rows = []
    if rank == 0:
        print(f"# c10d all_reduce, backend {args.backend}, {n} ranks, {device.type}, float32 sum, "
              f"in place; time: median of {args.reps} windows (each the slowest rank's); "
              f"GB/s = 1e9 B/s; busbw = algbw * 2(n-1)/n", flush=True)
        print(f"# {'size(B)':>10} {'count':>10} {'iters':>6} {'time(us)':>10} {'min(us)':>10} "
              f"{'max(us)':>10} {'algbw':>8} {'busbw':>8} {'#wrong':>6}", flush=True)
    for size in sizes_of(args):
        count = max(1, size // esize)
        size = count * esize
        buf = torch.full((count,), float(rank + 1), dtype=torch.float32, device=device)
        dist.all_reduce(buf)
        wrong = torch.tensor([int((buf != n * (n + 1) / 2).sum().item())], device=device)
        dist.all_reduce(wrong)
        buf.zero_()
        iters = iters_for(args, size)
        warmup = args.warmup if args.warmup is not None else max(2, iters // 4)
        for _ in range(warmup):
            dist.all_reduce(buf)
        times = common.timed_windows(lambda: dist.all_reduce(buf), iters, args.reps, device)
        t = common.median(times)
        algbw = size / t / 1e9
        busbw = algbw * 2 * (n - 1) / n
        row = {"size": size, "count": count, "iters": iters, "time_us": round(t * 1e6, 3),
               "time_min_us": round(min(times) * 1e6, 3), "time_max_us": round(max(times) * 1e6, 3),
               "algbw": float(f"{algbw:.4g}"), "busbw": float(f"{busbw:.4g}"), "wrong": int(wrong.item())}
        rows.append(row)
        if rank == 0:
            print(f"  {size:>10} {count:>10} {iters:>6} {row['time_us']:>10.2f} "
                  f"{row['time_min_us']:>10.2f} {row['time_max_us']:>10.2f} {algbw:>8.3f} "
                  f"{busbw:>8.3f} {row['wrong']:>6}", flush=True)
        del buf
    if rank == 0:
        meta = {"bench": "allreduce", "backend": args.backend, "nranks": n,
                "device": device.type, "dtype": "float32", "reps": args.reps}
        common.write_results(args, meta, rows)
    dist.destroy_process_group()
    if any(r["wrong"] for r in rows):
        sys.exit(f"rank {rank}: all_reduce returned wrong elements")


if __name__ == "__main__":
    main()
