"""colossus.sim.simulate against the colossus-sim binary of the same build."""

import json
import os
import subprocess

import pytest

import colossus
import colossus.sim

TOPO = "dgx-h100:nodes=2"


@pytest.fixture(scope="module")
def binary(build_dir):
    for p in (build_dir / "bin" / "colossus-sim", build_dir / "tools" / "colossus-sim" / "colossus-sim"):
        if p.is_file():
            return str(p)
    pytest.skip(f"no colossus-sim in {build_dir}")


def tool(binary, *args):
    out = subprocess.run([binary, "--topo", TOPO, "--no-progress", *args], check=True,
                         capture_output=True, text=True).stdout
    return out


def same(rows, want):
    # sim_wall_ms is the host time of the run: the one field that varies.
    strip = lambda rs: [{k: v for k, v in r.items() if k != "sim_wall_ms"} for r in rs]  # noqa: E731
    assert strip(rows) == strip(want)


def test_sizes_with_every_algorithm_equal_the_tools_json(binary):
    rows = colossus.sim.simulate(TOPO, "allreduce", sizes=[1024, 4 << 20], pick=False,
                                 binary=binary)
    want = (json.loads(tool(binary, "-b", "1K", "-e", "1K", "--json"))
            + json.loads(tool(binary, "-b", "4M", "-e", "4M", "--json")))
    same(rows, want)
    assert {r["algorithm"] for r in rows} >= {"ring", "tree"}
    assert sum(r["pick"] for r in rows) == 2  # one pick per size
    for r in rows:
        # nccl-tests' busbw for allreduce: algbw * 2(n-1)/n, n = 16 ranks.
        assert r["busbw_gbps"] == pytest.approx(r["algbw_gbps"] * 2 * 15 / 16, abs=0.011)


def test_records_match_the_printed_table(binary):
    rows = colossus.sim.simulate(TOPO, "allgather", min_bytes=64 << 10, max_bytes=16 << 20,
                                 factor=16, pick=False, binary=binary)
    table = [line.split() for line in tool(binary, "-c", "allgather", "-b", "64K", "-e", "16M",
                                           "-f", "16").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(rows) == len(table) > 0
    for r, t in zip(rows, table):
        pick = t[3] == "*"
        cells = t[:3] + t[4:] if pick else t
        assert pick == r["pick"]
        assert [int(cells[0]), int(cells[1]), cells[2], cells[3]] == \
            [r["bytes"], r["count"], r["type"], r["algorithm"]]
        assert cells[7:10] == [f"{r['time_us']:.2f}", f"{r['algbw_gbps']:.2f}",
                               f"{r['busbw_gbps']:.2f}"]
        assert cells[10] == r["bound"]


def test_pick_only_and_options(binary):
    rows = colossus.sim.simulate(TOPO, "reduce_scatter", sizes=[1 << 20],
                                 dtype=colossus.DataType.bfloat16, algorithm="ring", binary=binary)
    same(rows, json.loads(tool(binary, "-c", "reduce_scatter", "-b", "1M", "-e", "1M", "-d",
                               "bfloat16", "--algo", "ring", "--pick", "--json")))
    assert len(rows) == 1 and rows[0]["pick"] and rows[0]["algorithm"] == "ring"
    assert rows[0]["type"] == "bfloat16" and rows[0]["time_us"] > 0


def test_errors(binary, monkeypatch):
    with pytest.raises(ValueError, match="colossus-sim"):
        colossus.sim.simulate("no-such-preset", sizes=[1024], binary=binary)
    with pytest.raises(FileNotFoundError):
        colossus.sim.simulate(TOPO, sizes=[1024], binary="/nonexistent/colossus-sim")
    monkeypatch.setenv("COLOSSUS_SIM", binary)
    assert colossus.sim.find_binary() == binary
    monkeypatch.setenv("COLOSSUS_SIM", "/nonexistent/colossus-sim")
    with pytest.raises(FileNotFoundError, match="COLOSSUS_SIM"):
        colossus.sim.find_binary()
    monkeypatch.delenv("COLOSSUS_SIM")
    # Without either, the build tree's bin/ beside the package is found.
    monkeypatch.setenv("PATH", os.defpath)
    assert os.path.samefile(colossus.sim.find_binary(), binary)
