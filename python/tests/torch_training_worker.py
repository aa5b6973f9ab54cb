"""One rank of a training job on the torch.distributed backend "colossus".

Launched by test_torch_training.py, either by torchrun (env:// from RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or directly with --init-method
file://... / tcp://... plus --rank and --world-size. Not a test itself.

Modes:
  ddp      train a small MLP with DDP on "colossus" and, in the same job, under a
           gloo group; write losses and the final parameters of every rank
           (gathered to rank 0) to --out.
  fsdp     the same with FSDP2 (fully_shard) on CPU.
  fault    train in a loop on "colossus"; rank --victim SIGKILLs itself at step
           --kill-step; the others print CAUGHT ... when a collective raises.
  timeout  rank 1 does not join an all_reduce; rank 0 prints CAUGHT ... when it
           raises.
  shutdown rank 1 shuts down right after a reduce to rank 0 that rank 0 has not
           run yet; rank 0's reduce must still succeed.

Output lines the test reads start with "CAUGHT", "NOERROR", "DONE" or "SKIP".
"""

import argparse
import os
import signal
import sys
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn

import colossus.torch  # noqa: F401  (registers the backend)

IN, HIDDEN, OUT = 32, 64, 8
BATCH = 16
STEPS = 30
LR = 0.05


def say(*args):
    print(*args, flush=True)


def make_model():
    torch.manual_seed(1234)
    return nn.Sequential(
        nn.Linear(IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, OUT)
    )


def shard(rank, step):
    """The batch of `rank` at `step`: deterministic, different on every rank."""
    g = torch.Generator().manual_seed(10_000 * (rank + 1) + step)
    x = torch.randn(BATCH, IN, generator=g)
    y = torch.randn(BATCH, OUT, generator=g)
    return x, y


def train(model, rank, steps=STEPS):
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    losses = []
    for step in range(steps):
        x, y = shard(rank, step)
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def flat_params(module):
    return torch.cat([p.detach().reshape(-1).clone() for p in module.parameters()])


def gather_to_zero(t, group):
    rank = dist.get_rank(group)
    size = dist.get_world_size(group)
    out = [torch.empty_like(t) for _ in range(size)] if rank == 0 else None
    dist.gather(t, gather_list=out, dst=0, group=group)
    return out


def init(args):
    timeout = timedelta(seconds=args.timeout)
    if args.init_method == "env://":
        dist.init_process_group("colossus", init_method="env://", timeout=timeout)
    else:
        dist.init_process_group("colossus", init_method=args.init_method, rank=args.rank,
                                world_size=args.world_size, timeout=timeout)
    return dist.get_rank(), dist.get_world_size()


def run_ddp(args):
    from torch.nn.parallel import DistributedDataParallel as DDP

    rank, size = init(args)
    gloo = dist.new_group(backend="gloo")
    results = {}
    for name, group in (("colossus", None), ("gloo", gloo)):
        kw = {"bucket_cap_mb": args.bucket_cap_mb} if args.bucket_cap_mb > 0 else {}
        model = DDP(make_model(), process_group=group, **kw)
        losses = train(model, rank)
        flat = flat_params(model.module)
        pg = group if group is not None else dist.group.WORLD
        results[name] = {"losses": torch.tensor(losses, dtype=torch.float64),
                         "params": gather_to_zero(flat, pg),
                         "backend": str(dist.get_backend(pg))}
        # the losses of every rank too (over gloo, independent of the backend under test)
        results[name]["all_losses"] = gather_to_zero(results[name]["losses"], gloo)
    if rank == 0:
        torch.save({"world_size": size, **results}, args.out)
    # On colossus: a rank that returns from it and shuts down must not break a
    # peer still finishing it (see also the "shutdown" mode).
    dist.barrier()
    dist.destroy_process_group()
    say(f"DONE rank={rank}")


def run_fsdp(args):
    from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
    from torch.distributed.fsdp import fully_shard

    rank, size = init(args)
    gloo = dist.new_group(backend="gloo")
    results = {}
    for name in ("colossus", "gloo"):
        if name == "colossus":
            mesh = init_device_mesh("cpu", (size,))
        else:
            mesh = DeviceMesh.from_group(gloo, "cpu")
        model = make_model()
        try:
            for layer in model:
                if isinstance(layer, nn.Linear):
                    fully_shard(layer, mesh=mesh)
            fully_shard(model, mesh=mesh)
            losses = train(model, rank)
        except Exception as e:  # report what torch says, the test decides
            say(f"FSDPERROR backend={name} rank={rank} {type(e).__name__}: {e!r}".replace("\n", " | "))
            traceback.print_exc()
            sys.stdout.flush()
            os._exit(3)
        # full parameters: DTensor.full_tensor() all-gathers on the mesh
        full = torch.cat([p.full_tensor().detach().reshape(-1) for p in model.parameters()])
        results[name] = {"losses": torch.tensor(losses, dtype=torch.float64), "full": full,
                         "backend": str(dist.get_backend(mesh.get_group()))}
        results[name]["all_losses"] = gather_to_zero(results[name]["losses"], gloo)
        results[name]["all_full"] = gather_to_zero(full, gloo)
    if rank == 0:
        torch.save({"world_size": size, **results}, args.out)
    dist.barrier(group=gloo)
    dist.destroy_process_group()
    say(f"DONE rank={rank}")


def finish_after_error(rank):
    # The group is broken; tearing it down must not hang.
    try:
        dist.destroy_process_group()
        say(f"DESTROYED rank={rank}")
    except Exception as e:
        say(f"DESTROYERROR rank={rank} {type(e).__name__}: {e}".replace("\n", " | "))


def run_fault(args):
    rank, size = init(args)
    model = nn.parallel.DistributedDataParallel(make_model())
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    try:
        for step in range(args.steps):
            if rank == args.victim and step == args.kill_step:
                say(f"KILLING rank={rank} step={step}")
                os.kill(os.getpid(), signal.SIGKILL)
            x, y = shard(rank, step)
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            # a plain collective too, as a training loop logging its loss would
            t = loss.detach().clone()
            dist.all_reduce(t)
            say(f"STEP rank={rank} step={step}")
    except (dist.DistBackendError, RuntimeError) as e:
        msg = str(e).replace("\n", " | ")
        say(f"CAUGHT rank={rank} step={step} type={type(e).__name__} msg={msg}")
        finish_after_error(rank)
        say(f"EXITING rank={rank}")
        return
    say(f"NOERROR rank={rank}")
    dist.destroy_process_group()


def run_timeout(args):
    rank, size = init(args)
    t = torch.ones(4)
    dist.all_reduce(t)  # both ranks: the group works
    say(f"WARM rank={rank} value={t[0].item()}")
    if rank == 1:
        time.sleep(args.sleep)
        say(f"SLEPT rank={rank}")
        sys.stdout.flush()
        os._exit(0)  # leaves without joining or tearing down
    try:
        dist.all_reduce(t)
    except (dist.DistBackendError, RuntimeError) as e:
        msg = str(e).replace("\n", " | ")
        say(f"CAUGHT rank={rank} type={type(e).__name__} msg={msg}")
        finish_after_error(rank)
        say(f"EXITING rank={rank}")
        return
    say(f"NOERROR rank={rank}")


def run_shutdown(args):
    """Rank 1 finishes a reduce to rank 0 and shuts down while rank 0 is yet to
    run its side of it. With --callback, a callback on the reduce's future (run
    by the backend's thread once the Work is complete) is still running at the
    shutdown."""
    rank, size = init(args)
    store = dist.distributed_c10d._get_default_store()
    if rank == 1:
        first = dist.all_reduce(torch.ones(4), async_op=True)  # pending: rank 0 joins later
        last = dist.reduce(torch.full((4,), 2.0), dst=0, async_op=True)  # queued behind it
        if args.callback:
            last.get_future().then(lambda fut: time.sleep(2))
        store.set("shutdown_test_ready", "1")  # only now may rank 0 join `first`
        first.wait()
        last.wait()
        say(f"REDUCED rank={rank}")
        if args.settle > 0:
            time.sleep(args.settle)  # lets the backend's thread go idle first
        dist.destroy_process_group()
        say(f"DESTROYED rank={rank}")
        time.sleep(args.sleep)  # stay up until rank 0 is done
        return
    store.wait(["shutdown_test_ready"])
    dist.all_reduce(torch.ones(4))
    time.sleep(3 + args.settle)  # rank 1 has shut down by now
    t = torch.full((4,), 1.0)
    try:
        dist.reduce(t, dst=0)
    except (dist.DistBackendError, RuntimeError) as e:
        msg = str(e).replace("\n", " | ")
        say(f"CAUGHT rank={rank} type={type(e).__name__} msg={msg}")
        finish_after_error(rank)
        return
    say(f"REDUCED rank={rank} value={t.tolist()}")
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["ddp", "fsdp", "fault", "timeout", "shutdown"])
    p.add_argument("--init-method", default="env://")
    p.add_argument("--rank", type=int, default=-1)
    p.add_argument("--world-size", type=int, default=-1)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--out", default="")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--victim", type=int, default=2)
    p.add_argument("--kill-step", type=int, default=5)
    p.add_argument("--sleep", type=float, default=20.0)
    p.add_argument("--bucket-cap-mb", type=float, default=0.0)
    p.add_argument("--callback", action="store_true")
    p.add_argument("--settle", type=float, default=0.0)
    args = p.parse_args()
    torch.set_num_threads(1)
    modes = {"ddp": run_ddp, "fsdp": run_fsdp, "fault": run_fault, "timeout": run_timeout,
             "shutdown": run_shutdown}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
