"""One rank of test_c10d_ops.py: every c10d operation on the "colossus"
process group, checked against a float64 reference built from every rank's
inputs (each rank can rebuild them: they are seeded by rank) and against the
same operation on a gloo group of the same job where gloo has it.

Prints one "ok <case>" line per case; writes "<passed> <failed>" to
$C10D_OPS_OUT/rank<r> (ranks share stdout, where lines interleave); exits 1
if any case failed."""

import datetime
import os
import sys
import traceback

import torch
import torch.distributed as dist

import colossus.torch  # noqa: F401  (registers the backend)

R = dist.ReduceOp
COUNTS = (0, 1, 7, 1000)


def inputs(rank, count, dtype, salt=0):
    """Small integers, so sums and products are exact in every dtype."""
    g = torch.Generator().manual_seed(1000 * rank + 17 * count + salt)
    if dtype == torch.bool:
        return torch.randint(0, 2, (count,), generator=g).bool()
    lo, hi = (1, 3) if dtype in (torch.uint8,) else (-3, 4)
    return torch.randint(lo, hi, (count,), generator=g).to(dtype)


def reference(op, tensors, factor=None):
    xs = [t.to(torch.float64) if not t.dtype.is_complex else t.to(torch.complex128) for t in tensors]
    out = xs[0].clone()
    for x in xs[1:]:
        if op in (R.SUM, R.AVG, R.PREMUL_SUM):
            out = out + x
        elif op == R.PRODUCT:
            out = out * x
        elif op == R.MIN:
            out = torch.minimum(out, x)
        elif op == R.MAX:
            out = torch.maximum(out, x)
    if op == R.PREMUL_SUM:
        out = sum(x * factor for x in xs)
    if op == R.AVG:
        out = out / len(xs)
    return out


def bitwise_reference(op, tensors):
    out = tensors[0].clone()
    for t in tensors[1:]:
        out = {R.BAND: torch.bitwise_and, R.BOR: torch.bitwise_or, R.BXOR: torch.bitwise_xor}[op](out, t)
    return out


def close(got, want, dtype):
    got = got.to(want.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        return torch.allclose(got, want, rtol=1e-2, atol=1e-2)
    if dtype.is_floating_point or dtype.is_complex:
        return torch.allclose(got, want, rtol=1e-6, atol=1e-6)
    return torch.equal(got, want)


class Checker:
    def __init__(self, rank, size, gloo):
        self.rank, self.size, self.gloo = rank, size, gloo
        self.passed, self.failed = 0, 0

    def case(self, name, fn):
        try:
            fn()
            self.passed += 1
            print(f"ok {name}", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print(f"FAIL {name} on rank {self.rank}:\n{traceback.format_exc()}", flush=True)

    def all_inputs(self, count, dtype, salt=0):
        return [inputs(r, count, dtype, salt) for r in range(self.size)]


def check_allreduce(c, dtype, op, count, in_place=True, strided=False):
    def run():
        mine = inputs(c.rank, count, dtype)
        factor = 2.0 if op == R.PREMUL_SUM else None
        want = reference(op, c.all_inputs(count, dtype), factor).to(torch.float64)
        if strided:  # every other element of a bigger tensor: not contiguous
            big = torch.zeros(2 * count, dtype=dtype)
            big[::2] = mine
            x = big[::2]
        else:
            x = mine.clone()
        if op == R.PREMUL_SUM:
            dist.all_reduce(x, op=dist._make_nccl_premul_sum(factor))
        else:
            dist.all_reduce(x, op=op)
        if dtype == torch.bool:
            want = want.bool().to(torch.float64) if op != R.PRODUCT else want
        assert close(x.to(torch.float64), want, dtype), f"got {x[:8]} want {want[:8]}"
        if strided:
            assert torch.equal(big[1::2], torch.zeros(count, dtype=dtype)), "wrote between the strides"
        if op in (R.SUM, R.PRODUCT, R.MIN, R.MAX) and dtype not in (torch.bool,):
            g = mine.clone()
            dist.all_reduce(g, op=op, group=c.gloo)
            assert close(x.to(torch.float64), g.to(torch.float64), dtype), "differs from gloo"

    c.case(f"all_reduce {dtype} {op} n={count}{' strided' if strided else ''}", run)


def check_bitwise(c, dtype, op, count):
    def run():
        x = inputs(c.rank, count, dtype)
        g = x.clone()
        dist.all_reduce(x, op=op)
        assert torch.equal(x, bitwise_reference(op, c.all_inputs(count, dtype)))
        dist.all_reduce(g, op=op, group=c.gloo)
        assert torch.equal(x, g), "differs from gloo"

    c.case(f"all_reduce {dtype} {op} n={count}", run)


def check_collectives(c, count):
    n, rank = c.size, c.rank
    ins = c.all_inputs(count, torch.float32)
    mine = ins[rank]

    def all_gather():
        out = [torch.empty(count) for _ in range(n)]
        dist.all_gather(out, mine)
        for r in range(n):
            assert torch.equal(out[r], ins[r])
        flat = torch.empty(n * count)
        dist.all_gather_into_tensor(flat, mine)
        assert torch.equal(flat, torch.cat(ins))
        g = torch.empty(n * count)
        dist.all_gather_into_tensor(g, mine, group=c.gloo)
        assert torch.equal(flat, g)

    def reduce_scatter():
        blocks = [inputs(rank, count, torch.float32, salt=q + 1) for q in range(n)]
        want = sum(inputs(r, count, torch.float32, salt=rank + 1).double() for r in range(n))
        out = torch.empty(count)
        dist.reduce_scatter(out, blocks)
        assert torch.allclose(out.double(), want)
        out2 = torch.empty(count)
        dist.reduce_scatter_tensor(out2, torch.cat(blocks))
        assert torch.equal(out, out2)
        avg = torch.empty(count)
        dist.reduce_scatter_tensor(avg, torch.cat(blocks), op=R.AVG)
        assert torch.allclose(avg.double(), want / n, atol=1e-6)

    def broadcast_reduce():
        for root in range(n):
            x = mine.clone()
            dist.broadcast(x, src=root)
            assert torch.equal(x, ins[root])
            y = mine.clone()
            dist.reduce(y, dst=root, op=R.MAX)
            if rank == root:
                assert torch.equal(y.double(), reference(R.MAX, ins))

    def gather_scatter():
        for root in range(n):
            out = [torch.empty(count) for _ in range(n)] if rank == root else None
            dist.gather(mine, out, dst=root)
            if rank == root:
                for r in range(n):
                    assert torch.equal(out[r], ins[r])
            got = torch.empty(count)
            src = [inputs(root, count, torch.float32, salt=q + 7) for q in range(n)] if rank == root else None
            dist.scatter(got, src, src=root)
            assert torch.equal(got, inputs(root, count, torch.float32, salt=rank + 7))

    def all_to_all():
        send = torch.cat([torch.full((count,), float(100 * rank + q)) for q in range(n)])
        recv = torch.empty(n * count)
        dist.all_to_all_single(recv, send)
        assert torch.equal(recv, torch.cat([torch.full((count,), float(100 * q + rank)) for q in range(n)]))
        # Uneven: rank r sends (q + r) % 3 rows of 2 to rank q.
        rows = lambda src, dst: (src + dst) % 3  # noqa: E731
        s = torch.cat([torch.full((rows(rank, q), 2), float(10 * rank + q)) for q in range(n)])
        r_ = torch.empty(sum(rows(q, rank) for q in range(n)), 2)
        dist.all_to_all_single(r_, s, [rows(q, rank) for q in range(n)], [rows(rank, q) for q in range(n)])
        want = torch.cat([torch.full((rows(q, rank), 2), float(10 * q + rank)) for q in range(n)])
        assert torch.equal(r_, want)
        g = torch.empty_like(r_)
        dist.all_to_all_single(g, s, [rows(q, rank) for q in range(n)], [rows(rank, q) for q in range(n)],
                               group=c.gloo)
        assert torch.equal(r_, g)
        outs = [torch.empty(rows(q, rank) + 1) for q in range(n)]
        dist.all_to_all(outs, [torch.full((rows(rank, q) + 1,), float(rank)) for q in range(n)])
        for q in range(n):
            assert torch.equal(outs[q], torch.full((rows(q, rank) + 1,), float(q)))

    for name, fn in (("all_gather", all_gather), ("reduce_scatter", reduce_scatter),
                     ("broadcast/reduce", broadcast_reduce), ("gather/scatter", gather_scatter),
                     ("all_to_all", all_to_all)):
        c.case(f"{name} n={count}", fn)


def check_p2p_and_async(c):
    n, rank = c.size, c.rank

    def ring():
        right, left = (rank + 1) % n, (rank - 1) % n
        send = torch.full((100_000,), float(rank))  # beyond any FIFO: needs the group
        recv = torch.empty(100_000)
        ops = [dist.P2POp(dist.isend, send, right), dist.P2POp(dist.irecv, recv, left)]
        for w in dist.batch_isend_irecv(ops):
            w.wait()
        assert torch.equal(recv, torch.full((100_000,), float(left)))

    def pairs():
        if n < 2:
            return
        t = torch.arange(10, dtype=torch.int64)
        if rank == 0:
            dist.send(t * 3, dst=1)
            back = torch.empty(10, dtype=torch.int64)
            dist.recv(back, src=1)
            assert torch.equal(back, t * 4)
        elif rank == 1:
            got = torch.empty(10, dtype=torch.int64)
            dist.recv(got, src=0)
            assert torch.equal(got, t * 3)
            dist.send(t * 4, dst=0)

    def async_and_futures():
        xs = [torch.full((33,), float(rank + i)) for i in range(4)]
        works = [dist.all_reduce(x, async_op=True) for x in xs]
        futs = [w.get_future() for w in works]
        torch.futures.wait_all(futs)
        for i, x in enumerate(xs):
            assert torch.equal(x, torch.full((33,), float(sum(r + i for r in range(n)))))
            assert works[i].is_completed() and works[i].is_success()
        chained = dist.all_reduce(torch.ones(3), async_op=True).get_future().then(lambda f: f.value()[0] * 2)
        assert torch.equal(chained.wait(), torch.full((3,), 2.0 * n))

    def coalesced():
        xs = [torch.full((5,), float(rank)), torch.full((2,), 1.0)]
        dist.all_reduce_coalesced(xs)
        assert torch.equal(xs[0], torch.full((5,), float(sum(range(n)))))
        assert torch.equal(xs[1], torch.full((2,), float(n)))
        with dist._coalescing_manager(async_ops=True) as cm:
            a = torch.full((4,), float(rank))
            b = torch.full((3,), 2.0)
            dist.all_reduce(a)
            dist.all_reduce(b)  # torch runs a manager's all_reduces with the first one's op
        cm.wait()
        assert torch.equal(a, torch.full((4,), float(sum(range(n)))))
        assert torch.equal(b, torch.full((3,), 2.0 * n))

    def barriers():
        dist.barrier()
        dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))

    def any_dtype_moves():
        for dtype in (torch.int16, torch.complex64, torch.float64, torch.bool):
            x = inputs(rank, 9, torch.int64).to(dtype)
            out = [torch.empty(9, dtype=dtype) for _ in range(n)]
            dist.all_gather(out, x)
            for r in range(n):
                assert torch.equal(out[r], inputs(r, 9, torch.int64).to(dtype))
        z = (inputs(rank, 6, torch.float32) + 1j * inputs(rank, 6, torch.float32, salt=3)).to(torch.complex64)
        dist.all_reduce(z)
        want = sum((inputs(r, 6, torch.float32) + 1j * inputs(r, 6, torch.float32, salt=3)).to(torch.complex128)
                   for r in range(n))
        assert torch.allclose(z.to(torch.complex128), want)

    def errors():
        for bad, words in ((lambda: dist.all_reduce(torch.ones(3, dtype=torch.int16)), "int16"),
                           (lambda: dist.all_reduce(torch.ones(3, dtype=torch.bool), op=R.AVG), "AVG"),
                           (lambda: dist.all_reduce(torch.ones(3), op=R.BAND), "bitwise")):
            try:
                bad()
            except (ValueError, RuntimeError) as e:
                assert "colossus" in str(e) and words in str(e), str(e)
            else:
                raise AssertionError(f"no error for {words}")
        try:
            dist.broadcast(torch.ones(2), src=n)  # not a rank of the group
        except (ValueError, RuntimeError):
            pass
        else:
            raise AssertionError("no error for root out of range")

    for name, fn in (("batch_isend_irecv ring", ring), ("send/recv pairs", pairs),
                     ("async work and futures", async_and_futures), ("coalesced", coalesced),
                     ("barrier and monitored_barrier", barriers), ("every dtype moves", any_dtype_moves),
                     ("bad input", errors)):
        c.case(name, fn)


def main():
    dist.init_process_group("colossus", timeout=datetime.timedelta(seconds=120))
    c = Checker(dist.get_rank(), dist.get_world_size(), dist.new_group(backend="gloo"))
    float_types = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
    int_types = (torch.int32, torch.int64, torch.int8, torch.uint8)
    for count in COUNTS:
        for dtype in float_types + int_types:
            for op in (R.SUM, R.PRODUCT, R.MIN, R.MAX) + ((R.AVG,) if dtype.is_floating_point else ()):
                check_allreduce(c, dtype, op, count)
        check_allreduce(c, torch.float32, R.PREMUL_SUM, count)
        check_allreduce(c, torch.bfloat16, R.PREMUL_SUM, count)
        check_allreduce(c, torch.float32, R.SUM, count, strided=True)
        for op in (R.SUM, R.MAX, R.MIN):
            check_allreduce(c, torch.bool, op, count)
        for op in (R.BAND, R.BOR, R.BXOR):
            check_bitwise(c, torch.int32, op, count)
        check_collectives(c, count)
    check_p2p_and_async(c)
    print(f"summary {c.passed} {c.failed}", flush=True)
    out = os.environ.get("C10D_OPS_OUT")
    if out:
        with open(os.path.join(out, f"rank{c.rank}"), "w") as f:
            f.write(f"{c.passed} {c.failed}\n")
    dist.destroy_process_group()
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
