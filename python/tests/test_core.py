"""colossus._core through the package: loopback ranks on Python threads,
two real processes, and the argument checks. References are NumPy float64."""

import array
import pickle
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import colossus
from conftest import run_ranks

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.float16]
OPS = ["sum", "prod", "max", "min", "avg"]
COUNTS = [0, 1, 7, 1000]
NRANKS = [1, 2, 3, 4]


@pytest.fixture(scope="module")
def groups():
    made = {n: colossus.loopback_group(n, timeout_s=60) for n in NRANKS}
    yield made
    for comms in made.values():
        for c in comms:
            c.destroy()


def inputs(n, count, dtype, op, seed=0):
    """Per-rank inputs whose reduction is exact in every dtype tested."""
    rng = np.random.default_rng(seed)
    lo, hi = (1, 3) if op == "prod" else (-4, 5)
    return [rng.integers(lo, hi, size=count).astype(dtype) for _ in range(n)]


def reference(xs, op):
    a = np.stack([x.astype(np.float64) for x in xs])
    if op == "sum":
        return a.sum(0)
    if op == "prod":
        return a.prod(0)
    if op == "max":
        return a.max(0)
    if op == "min":
        return a.min(0)
    avg = a.sum(0) / len(xs)
    # Integers divide the sum and truncate toward zero (types.hpp).
    return np.trunc(avg) if np.issubdtype(xs[0].dtype, np.integer) else avg


def close(got, want):
    assert got.shape == want.shape
    tol = 1e-3 if got.dtype == np.float16 else 1e-6
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("n", NRANKS)
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_allreduce(groups, n, count, dtype, op):
    xs = inputs(n, count, dtype, op, seed=count)
    in_place = count % 2 == 1

    def rank(c):
        x = xs[c.rank].copy()
        y = c.allreduce(x, out=x if in_place else None, op=op)
        assert (y is x) == in_place and y.dtype == dtype
        return y

    for y in run_ranks(groups[n], rank):
        close(y, reference(xs, op))


@pytest.mark.parametrize("n", NRANKS)
@pytest.mark.parametrize("count", [0, 1, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float16])
def test_gathers_and_scatters(groups, n, count, dtype):
    xs = inputs(n, count * n, dtype, "sum", seed=n)  # each rank: n blocks of count
    blocks = lambda x: x.reshape(n, count)  # noqa: E731

    def rank(c):
        r, x = c.rank, xs[c.rank]
        out = {}
        out["allgather"] = c.allgather(x[r * count:(r + 1) * count])
        buf = x.copy()  # in place: send is this rank's block of out
        c.allgather(buf[r * count:(r + 1) * count], out=buf)
        out["allgather_inplace"] = buf
        out["reduce_scatter"] = c.reduce_scatter(x)
        buf = x.copy()
        out["reduce_scatter_inplace"] = c.reduce_scatter(buf, out=buf[r * count:(r + 1) * count])
        out["alltoall"] = c.alltoall(x)
        out["gather"] = c.gather(x[:count], root=n - 1)
        out["scatter"] = c.scatter(x if r == 0 else None, out=np.empty(count, dtype), root=0)
        buf = x.copy()
        out["broadcast_inplace"] = c.broadcast(buf, out=buf, root=n // 2)
        out["broadcast"] = c.broadcast(x, root=0)
        out["reduce"] = c.reduce(x, op="max", root=n - 1)
        return out

    res = run_ranks(groups[n], rank)
    total = reference([x.astype(np.float64) for x in xs], "sum")
    for r, o in enumerate(res):
        own = [x[q * count:(q + 1) * count] for q, x in enumerate(xs)]
        np.testing.assert_array_equal(o["allgather"], np.concatenate(own))
        np.testing.assert_array_equal(o["allgather_inplace"], np.concatenate(own))
        close(o["reduce_scatter"], blocks(total)[r])
        close(o["reduce_scatter_inplace"], blocks(total)[r])
        np.testing.assert_array_equal(o["alltoall"], np.concatenate([blocks(x)[r] for x in xs]))
        np.testing.assert_array_equal(o["scatter"], blocks(xs[0])[r])
        np.testing.assert_array_equal(o["broadcast_inplace"], xs[n // 2])
        np.testing.assert_array_equal(o["broadcast"], xs[0])
        if r == n - 1:
            np.testing.assert_array_equal(o["gather"], np.concatenate([x[:count] for x in xs]))
            close(o["reduce"], np.max(np.stack(xs).astype(np.float64), 0))
        else:
            assert o["gather"] is None and o["reduce"] is None


def test_output_shapes(groups):
    def rank(c):
        x = np.ones((2, 3), np.float32)
        return (c.allgather(x).shape, c.reduce_scatter(np.ones((4, 3), np.float32)).shape,
                c.reduce_scatter(np.ones(6, np.float64)).shape, c.allreduce(x).shape)

    for shapes in run_ranks(groups[2], rank):
        assert shapes == ((4, 3), (2, 3), (3,), (2, 3))


@pytest.mark.parametrize("n", NRANKS)
def test_send_recv(groups, n):
    def rank(c):
        r = c.rank
        got = np.full(5, -1, np.int64)
        # A ring where everybody sends first completes inside a group.
        with colossus.group():
            c.send(np.arange(5, dtype=np.int64) + 10 * r, peer=(r + 1) % n)
            c.recv(got, peer=(r - 1) % n)
        pair = None
        if n >= 2 and r < 2:  # a plain pair, outside a group
            if r == 0:
                c.send(np.array([1.5, 2.5]), peer=1)
            else:
                pair = c.recv(np.zeros(2), peer=0)
        return got, pair

    res = run_ranks(groups[n], rank)
    for r, (got, pair) in enumerate(res):
        np.testing.assert_array_equal(got, np.arange(5) + 10 * ((r - 1) % n))
    if n >= 2:
        np.testing.assert_array_equal(res[1][1], [1.5, 2.5])


def test_group_of_collectives(groups):
    def rank(c):
        with colossus.group():
            a = c.allreduce(np.full(3, c.rank + 1, np.int32))
            b = c.allgather(np.array([c.rank], np.int64))
        return a, b

    for a, b in run_ranks(groups[3], rank):
        np.testing.assert_array_equal(a, [6, 6, 6])
        np.testing.assert_array_equal(b, [0, 1, 2])


def test_other_buffers_and_explicit_dtypes(groups):
    def rank(c):
        ba = c.allreduce(bytearray([c.rank + 1] * 3))  # uint8
        ar = array.array("d", [0.5 * (c.rank + 1)] * 2)
        c.allreduce(ar, out=ar)
        # bfloat16 over uint16: the top half of a float32's bits.
        f = np.array([1.0, -2.0, 3.0], np.float32) * (c.rank + 1)
        bf = (f.view(np.uint32) >> 16).astype(np.uint16)
        s = c.allreduce(bf, dtype="bfloat16")
        back = (s.astype(np.uint32) << 16).view(np.float32)
        # fp8 e4m3 over uint8: 0x38 is 1.0, 0x40 is 2.0.
        f8 = c.allreduce(np.full(4, 0x38, np.uint8), dtype=colossus.DataType.float8_e4m3)
        return bytes(ba), list(ar), back, f8

    for ba, ar, back, f8 in run_ranks(groups[2], rank):
        assert ba == bytes([3, 3, 3]) and ar == [1.5, 1.5]
        np.testing.assert_array_equal(back, [3.0, -6.0, 9.0])
        assert f8.dtype == np.uint8 and f8.tolist() == [0x40] * 4


def test_bad_arguments_raise_and_leave_the_communicator_usable():
    comms = colossus.loopback_group(2, timeout_s=60)
    c = comms[0]
    x = np.zeros(8, np.float32)
    with pytest.raises(TypeError, match="unsupported element format"):
        c.allreduce(np.zeros(4, np.int16))
    with pytest.raises(TypeError, match="buffer protocol"):
        c.allreduce([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        c.allreduce(x, out=np.zeros(8, np.float64))
    with pytest.raises(TypeError, match="dtype int32, the call's dtype is float"):
        c.allreduce(x, out=np.zeros(8, np.int32))  # same item size, another type
    with pytest.raises(TypeError, match="dtype"):
        c.allreduce(np.zeros(8, np.int32), dtype="float32")
    with pytest.raises(ValueError, match="C-contiguous"):
        c.allreduce(np.zeros(16, np.float32)[::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        c.allreduce(x, out=np.zeros((8, 2), np.float32).T[0])
    with pytest.raises(ValueError, match="must hold"):
        c.allreduce(x, out=np.zeros(7, np.float32))
    with pytest.raises(ValueError, match=r"must hold size\(\) \* 8 = 2 \* 8"):
        c.allgather(x, out=np.zeros(8, np.float32))
    with pytest.raises(ValueError, match="not a multiple"):
        c.reduce_scatter(np.zeros(7, np.float32))
    with pytest.raises(ValueError, match="read-only"):
        c.allreduce(x, out=np.frombuffer(bytes(32), np.float32))
    with pytest.raises(ValueError, match="out of range"):
        c.broadcast(x, root=2)
    with pytest.raises(ValueError, match="out of range"):
        c.send(x, peer=-1)
    with pytest.raises(ValueError, match="unknown reduction op"):
        c.allreduce(x, op="mean")
    with pytest.raises(TypeError, match="unknown option"):
        colossus.loopback_group(2, nchanels=2)
    # The library's own checks arrive as colossus.Error with its code.
    with pytest.raises(colossus.Error, match="overlap") as e:
        c.allreduce(x[:4], out=x[2:6])
    assert e.value.code == "InvalidArgument" and isinstance(e.value, RuntimeError)
    # Nothing above reached the peer: both ranks still run a collective.
    res = run_ranks(comms, lambda k: k.allreduce(np.ones(3, np.float32)))
    np.testing.assert_array_equal(res[1], [2, 2, 2])
    for k in comms:
        k.destroy()
    with pytest.raises(colossus.Error) as e:
        c.allreduce(x)
    assert e.value.code == "InvalidUsage"
    assert "destroyed" in repr(c)


def test_abort_from_another_thread_ends_a_blocked_call():
    comms = colossus.loopback_group(2, timeout_s=120)
    c = comms[0]
    caught = []

    def blocked():
        try:
            c.allreduce(np.ones(1000, np.float32))  # rank 1 never joins
        except colossus.Error as e:
            caught.append(e)

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.3)
    assert t.is_alive()  # waiting for rank 1, without holding the GIL
    c.abort()
    t.join(60)
    assert not t.is_alive() and len(caught) == 1
    assert caught[0].code == "Aborted"  # ended by the abort, not by timeout_s (Timeout)
    assert c.state == colossus.CommState.failed
    for k in comms:
        k.destroy()


@pytest.mark.parametrize("n", [1, 3])
def test_alltoallv(groups, n):
    # Rank r sends q + r + 1 elements (values 100r + q) to rank q.
    def rank(c):
        r = c.rank
        sc = [q + r + 1 for q in range(n)]
        rc = [r + q + 1 for q in range(n)]
        send = np.concatenate([np.full(k, 100 * r + q, np.int32) for q, k in enumerate(sc)])
        return c.alltoallv(send, sc, rc)

    for r, got in enumerate(run_ranks(groups[n], rank)):
        want = np.concatenate([np.full(r + q + 1, 100 * q + r, np.int32) for q in range(n)])
        np.testing.assert_array_equal(got, want)


def test_group_that_raises_is_dropped(groups):
    def rank(c):
        with pytest.raises(KeyError):
            with colossus.group():
                c.allreduce(np.ones(2, np.float32))
                raise KeyError("the body failed")
        # Nothing of the dropped group ran: the next collective pairs up cleanly.
        return c.allreduce(np.full(2, c.rank, np.float32))

    for y in run_ranks(groups[2], rank):
        np.testing.assert_array_equal(y, [1, 1])


def test_split(groups):
    def rank(c):
        sub = c.split(c.rank % 2, key=-c.rank)  # reversed order within each color
        got = (sub.rank, sub.size, sub.allreduce(np.array([c.rank], np.int32)))
        sub.destroy()
        none = c.split(-1 if c.rank == 0 else 0)
        if none is not None:
            none.destroy()
        return got, none is None

    res = run_ranks(groups[4], rank)
    assert [(g[0], g[1], int(g[2][0])) for g, _ in res] == [(1, 2, 2), (1, 2, 4), (0, 2, 2),
                                                            (0, 2, 4)]
    assert [none for _, none in res] == [True, False, False, False]


def test_unique_id_round_trips():
    raw = colossus.UniqueId(bytes(range(128)))
    assert bytes(raw) == bytes(range(128)) and raw != colossus.UniqueId(bytes(128))
    uid = colossus.make_unique_id()
    assert len(bytes(uid)) == 128 and colossus.UniqueId(bytes(uid)) == uid
    assert colossus.UniqueId.parse(uid.to_string()) == uid
    assert colossus.parse_unique_id(str(uid)) == uid
    assert pickle.loads(pickle.dumps(uid)) == uid
    with pytest.raises(ValueError, match="128 bytes"):
        colossus.UniqueId(b"short")
    with pytest.raises(colossus.Error):
        colossus.UniqueId.parse("not hex")


WORKER = textwrap.dedent("""
    import pathlib, sys, time, numpy as np, colossus
    rank, path = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    if rank == 0:
        uid = colossus.make_unique_id()
        path.with_suffix(".tmp").write_text(uid.to_string())
        path.with_suffix(".tmp").rename(path)  # whole or absent
    else:
        deadline = time.monotonic() + 60
        while not path.exists():
            assert time.monotonic() < deadline, "rank 0 wrote no id"
            time.sleep(0.05)
        uid = colossus.UniqueId.parse(path.read_text())
    c = colossus.init(uid, rank, 2, timeout_s=60)
    y = c.allreduce(np.arange(1000, dtype=np.float64) * (rank + 1))
    g = c.allgather(np.array([rank * 10], np.int32))
    print(repr(c), float(y.sum()), g.tolist())
    c.destroy()
""")


def test_two_processes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    idfile = tmp_path / "uid"
    procs = [subprocess.Popen([sys.executable, str(script), str(r), str(idfile)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for r, (p, (out, err)) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, err
        assert out.split()[:5] == ["<colossus.Communicator", "rank", str(r), "of", "2>"]
        assert float(out.split()[5]) == 3 * sum(range(1000))
        assert out.strip().endswith("[0, 10]")


def test_package_surface():
    for name in ["Communicator", "DataType", "ReduceOp", "Error", "UniqueId", "make_unique_id",
                 "init", "init_from_env", "loopback_group", "group", "sim"]:
        assert hasattr(colossus, name), name
    assert issubclass(colossus.Error, RuntimeError)
    assert callable(colossus.sim.simulate)
    # colossus.torch is its own subpackage: importing colossus must not pull torch in.
    code = "import sys, colossus, colossus.sim; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
