"""colossus.plot: each supported format parses to the right (size, busbw) points
and draws a readable PNG; a file with no table is a clear error."""

import json

import pytest

pytest.importorskip("matplotlib")

from colossus import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# all_reduce_perf -t 2 (nccl-tests' table), with a colossus-run rank tag on one line.
PERF = """\
# AllReduce through the C++ API (colossus::Communicator)
# nThread 2 nGpus 1 minBytes 8 maxBytes 1048576 step: 16(factor) warmup iters: 1 iters: 5
#
#                                                              out-of-place                       in-place
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
           8             2     float     sum      -1     1.50    0.01    0.01      0     1.03    0.01    0.02      0
        2048           512     float     sum      -1     2.67    0.77    0.77      0     1.86    1.10    1.10      0
[0]     524288        131072     float     sum      -1    115.4    4.55    4.55      0    57.89    9.06    9.06      0
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 2.53451
"""
PERF_POINTS = [(8, 0.01), (2048, 0.77), (524288, 4.55)]
PERF_IN_PLACE = [(8, 0.02), (2048, 1.10), (524288, 9.06)]

# colossus-sim sweep: every algorithm per size, '*' the tuner's pick, a refused row.
SIM = """\
# colossus-sim: allreduce, float, sum, root 0
# tuner: allreduce 1048576 B float on 8 ranks: recursive_doubling, 2 ch
#      size(B)        count type     * algorithm          nch    chunk    tuner(us)     time(us)    algbw    busbw bound      folded          wall(ms)
       1048576       262144 float      ring                 1   131072        16.23        16.31    64.31   112.54 latency    no                  0.06
       1048576       262144 float    * recursive_doubling   2   524288        10.29        13.11    80.00   140.00 intra-node no                  0.04

# tuner: allreduce 8388608 B float on 8 ranks: ring, 2 ch
       8388608      2097152 float    * ring                 2   524288        44.77        45.40   184.78   323.36 intra-node 8/100000 rot        0.07
       8388608      2097152 float      recursive_doubling   2   524288        90.00  refused: too many steps
"""

# colossus-sim --loopback: predicted and measured busbw; the measured one counts.
SIM_LOOPBACK = """\
# colossus-sim --loopback: allreduce, float, sum, root 0; 4 ranks as threads on this machine (2 cores)
#      size(B)        count type     algorithm          nch    chunk    tuner(us)   target(us)    busbw     here(us)    busbw iters check
          4096         1024 float    recursive_doubling   1   131072         2.22         2.23     2.76        34.33    0.179    20 ok
         16384         4096 float    recursive_doubling   1   131072         2.27         2.30    10.68        39.79    0.618    20 ok
"""

SIM_CSV = """\
bytes,count,type,pick,algorithm,nchannels,chunk_bytes,tuner_us,time_us,algbw_gbps,busbw_gbps,bound,refused
1048576,262144,float,true,ring,1,131072,16.23,16.31,64.31,112.54,latency,
8388608,2097152,float,true,ring,2,524288,44.77,45.40,184.78,323.36,intra-node,
67108864,16777216,float,true,ring,8,524288,,,,,,"too many steps, refused"
"""

SIM_JSON = [
    {"bytes": 1048576, "pick": True, "algorithm": "ring", "time_us": 16.31,
     "algbw_gbps": 64.31, "busbw_gbps": 112.54, "refused": None},
    {"bytes": 8388608, "pick": True, "algorithm": "ring", "time_us": 45.4,
     "algbw_gbps": 184.78, "busbw_gbps": 323.36, "refused": None},
]

# bench/c10d/allreduce_bench.py: CSV (two repeats concatenated: median per size) and JSON.
C10D_CSV = """\
bench,backend,nranks,device,dtype,reps,size,count,iters,time_us,time_min_us,time_max_us,algbw,busbw,wrong
allreduce,gloo,2,cpu,float32,5,8,2,200,142.2,136.3,146.5,5.6e-05,5.6e-05,0
allreduce,gloo,2,cpu,float32,5,67108864,16777216,4,60668.8,48528.5,62174.6,1.106,1.106,0
bench,backend,nranks,device,dtype,reps,size,count,iters,time_us,time_min_us,time_max_us,algbw,busbw,wrong
allreduce,gloo,2,cpu,float32,5,67108864,16777216,4,60000.0,48000.0,62000.0,1.2,1.2,0
allreduce,gloo,2,cpu,float32,5,67108864,16777216,4,70000.0,48000.0,72000.0,0.9,0.9,0
"""
C10D_JSON = {"bench": "allreduce", "backend": "gloo", "nranks": 2, "rows": [
    {"size": 8, "time_us": 142.2, "algbw": 5.6e-05, "busbw": 5.6e-05, "wrong": 0},
    {"size": 67108864, "time_us": 60668.8, "algbw": 1.106, "busbw": 1.106, "wrong": 0}]}

CASES = {
    "perf.txt": (PERF, {"perf.txt": PERF_POINTS}),
    "sim.txt": (SIM, {"sim.txt recursive_doubling": [(1048576, 140.0)],
                      "sim.txt ring": [(1048576, 112.54), (8388608, 323.36)]}),
    "loopback.txt": (SIM_LOOPBACK, {"loopback.txt": [(4096, 0.179), (16384, 0.618)]}),
    "sim.csv": (SIM_CSV, {"sim.csv": [(1048576, 112.54), (8388608, 323.36)]}),
    "sim.json": (json.dumps(SIM_JSON), {"sim.json": [(1048576, 112.54), (8388608, 323.36)]}),
    "c10d.csv": (C10D_CSV, {"c10d.csv": [(8, 5.6e-05), (67108864, 1.106)]}),
    "c10d.json": (json.dumps(C10D_JSON), {"c10d.json": [(8, 5.6e-05), (67108864, 1.106)]}),
}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def same(got, expected):
    """(size, value) lists: the sizes exactly, the values to 1e-6."""
    return [g[0] for g in got] == [e[0] for e in expected] and \
        [g[1] for g in got] == pytest.approx([e[1] for e in expected])


def check_png(path):
    import matplotlib.image

    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 0 and img.shape[1] > 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_and_draw(tmp_path, name):
    text, expected = CASES[name]
    path = write(tmp_path, name, text)
    series = plot.load(path)
    got = {s.label: s.points("busbw") for s in series}
    assert set(got) == set(expected)
    for label, pts in expected.items():
        assert same(got[label], pts), label
    out = str(tmp_path / "out.png")
    assert plot.main([path, "-o", out]) == 0
    check_png(out)


def test_perf_other_columns(tmp_path):
    path = write(tmp_path, "perf.txt", PERF)
    (s,) = plot.load(path, in_place=True)
    assert same(s.points("busbw"), PERF_IN_PLACE)
    (s,) = plot.load(path)
    assert same(s.points("time"), [(8, 1.50), (2048, 2.67), (524288, 115.4)])
    assert same(s.points("algbw"), PERF_POINTS)


def test_sim_pick_only(tmp_path):
    (s,) = plot.load(write(tmp_path, "sim.txt", SIM), pick_only=True)
    assert same(s.points(), [(1048576, 140.0), (8388608, 323.36)])


def test_repeated_sizes_take_the_median(tmp_path):
    (s,) = plot.load(write(tmp_path, "c10d.csv", C10D_CSV))
    assert dict(s.points("time"))[67108864] == pytest.approx(60668.8)


def test_several_runs_on_one_chart(tmp_path):
    files = [write(tmp_path, n, CASES[n][0]) for n in ("perf.txt", "sim.txt", "c10d.json")]
    out = str(tmp_path / "all.png")
    argv = ["--label", "perf", files[0], files[1], "--label", "c10d", files[2],
            "--title", "t", "--metric", "time", "-o", out]
    assert plot.main(argv) == 0
    check_png(out)
    assert plot._labels(argv, 3) == ["perf", None, "c10d"]


def test_label_after_the_last_file_is_an_error(tmp_path, capsys):
    path = write(tmp_path, "perf.txt", PERF)
    with pytest.raises(SystemExit):
        plot.main([path, "--label", "x", "-o", str(tmp_path / "x.png")])
    assert "follows the last file" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "hello\nno table here\n", "# size count\n",
                                  "a,b\n1,2\n", "[1, 2]", "{\"rows\": []}"])
def test_no_table_is_a_clear_error(tmp_path, capsys, text):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(plot.FormatError, match="no recognizable result table"):
        plot.load(path)
    out = tmp_path / "bad.png"
    assert plot.main([path, "-o", str(out)]) == 2
    assert "bad.txt: no recognizable result table" in capsys.readouterr().err
    assert not out.exists()


def test_missing_file_is_an_error(tmp_path, capsys):
    assert plot.main([str(tmp_path / "nope.txt"), "-o", str(tmp_path / "x.png")]) == 2
    assert "nope.txt" in capsys.readouterr().err


def test_human_bytes():
    assert [plot.human_bytes(n) for n in (8, 1024, 65536, 64 << 20, 1 << 30)] == [
        "8 B", "1 KiB", "64 KiB", "64 MiB", "1 GiB"]
