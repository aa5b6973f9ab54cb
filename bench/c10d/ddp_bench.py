"""DistributedDataParallel step time of a communication-heavy model.

    torchrun --nproc-per-node 2 bench/c10d/ddp_bench.py --backend gloo [--json out.json]

The model is --layers Linear(--hidden, --hidden) layers (default 4 x
2048x2048: 16.8 M fp32 parameters, 64 MiB of gradients to all-reduce per
step) fed a tiny batch (--batch rows), so that a step is mostly DDP's
gradient all-reduce. A step: zero_grad, forward, MSE loss, backward (DDP
all-reduces the gradient buckets, --bucket-mb each, overlapped with the
backward), SGD step. After --warmup steps, --reps windows of --steps steps
each are timed; a window's time per step is the slowest rank's, and the
median over the windows is reported. Rank 0 prints it and writes CSV/JSON.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    common.add_common_args(p)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--bucket-mb", type=float, default=25, help="DDP bucket_cap_mb")
    p.add_argument("--steps", type=int, default=3, help="steps per timed window")
    args = p.parse_args()
    if args.warmup is None:
        args.warmup = 3
    rank, n, device = common.init(args)
    torch.manual_seed(0)
    layers = []
    for _ in range(args.layers):
        layers += [torch.nn.Linear(args.hidden, args.hidden), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(device)
    params = sum(q.numel() for q in model.parameters())
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
              bucket_cap_mb=args.bucket_mb)
    opt = torch.optim.SGD(ddp.parameters(), lr=1e-3)
    x = torch.randn(args.batch, args.hidden, device=device)
    y = torch.randn(args.batch, args.hidden, device=device)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.mse_loss(ddp(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = common.timed_windows(step, args.steps, args.reps, device)
    # The replicas must still agree: DDP averaged the same gradients everywhere.
    w = next(model.parameters()).detach().flatten()[:1024].clone()
    ref = w.clone()
    dist.broadcast(ref, 0)
    diverged = int(not torch.equal(w, ref))
    flag = torch.tensor([diverged], device=device)
    dist.all_reduce(flag)
    t = common.median(times)
    if rank == 0:
        row = {"step_ms": round(t * 1e3, 3), "step_min_ms": round(min(times) * 1e3, 3),
               "step_max_ms": round(max(times) * 1e3, 3), "params": params,
               "grad_bytes": params * 4, "diverged_ranks": int(flag.item())}
        print(f"# DDP, backend {args.backend}, {n} ranks, {device.type}: {args.layers} x "
              f"Linear({args.hidden}, {args.hidden}), batch {args.batch}, bucket {args.bucket_mb} MB, "
              f"{params * 4 / 2**20:.1f} MiB of gradients; median of {args.reps} windows of "
              f"{args.steps} steps (each the slowest rank's)")
        print(f"step_ms {row['step_ms']:.3f} min {row['step_min_ms']:.3f} "
              f"max {row['step_max_ms']:.3f} diverged_ranks {row['diverged_ranks']}", flush=True)
        meta = {"bench": "ddp", "backend": args.backend, "nranks": n, "device": device.type,
                "layers": args.layers, "hidden": args.hidden, "batch": args.batch,
                "bucket_mb": args.bucket_mb, "reps": args.reps, "steps": args.steps}
        common.write_results(args, meta, [row])
    dist.destroy_process_group()
    if flag.item():
        sys.exit(f"rank {rank}: DDP replicas diverged")


if __name__ == "__main__":
    main()
