"""colossus.sim: a collective on a modeled fabric, as rows of records.

    import colossus.sim
    rows = colossus.sim.simulate("dgx-h100:nodes=2", "allreduce",
                                 sizes=[1 << 20, 1 << 30], pick=False)
    # [{'bytes': 1048576, 'algorithm': 'ring', 'pick': True, 'time_us': ...,
    #   'algbw_gbps': ..., 'busbw_gbps': ..., 'bound': ..., ...}, ...]

Each record is one row of `colossus-sim --json` for the same arguments,
with its keys and values unchanged (see tools/README.md): bytes, count,
type, pick, algorithm, nchannels, chunk_bytes, tuner_us, time_us,
algbw_gbps, busbw_gbps, bound, folded, sim_wall_ms, tuner_bound, folding,
slots, steps, events, nic_util, intra_util, memory_util, refused. Values
the tool leaves empty are None; a row the engine refused has its reason in
`refused` and None in its result fields. sim_wall_ms is the host time the
simulation took, the one field that differs from run to run.

The sweep, the tuner's choice and the table live in the colossus-sim tool,
not in libcolossus, so this runs the tool: the `binary` argument, else the
COLOSSUS_SIM environment variable, else the one a wheel installs beside
this module (colossus/bin), else colossus-sim on PATH, else the one
of the build tree this package was built in (<build>/bin).
"""

import json as _json
import os as _os
import pathlib as _pathlib
import shutil as _shutil
import subprocess as _subprocess

__all__ = ["simulate", "find_binary", "SimError"]


class SimError(RuntimeError):
    """colossus-sim failed; the message is its own (stderr)."""


def find_binary(binary=None):
    """The colossus-sim to run (see the module's doc); FileNotFoundError if none."""
    if binary is not None:
        path = _pathlib.Path(binary)
        if not path.is_file():
            raise FileNotFoundError(f"colossus-sim: no such file {binary}")
        return str(path)
    env = _os.environ.get("COLOSSUS_SIM")
    if env:
        if not _pathlib.Path(env).is_file():
            raise FileNotFoundError(f"COLOSSUS_SIM={env} names no file")
        return env
    # A wheel (pip install ./python) carries its own: colossus/bin/colossus-sim.
    packaged = _pathlib.Path(__file__).resolve().parent / "bin" / "colossus-sim"
    if packaged.is_file():
        return str(packaged)
    on_path = _shutil.which("colossus-sim")
    if on_path:
        return on_path
    # <build>/python/colossus/sim.py -> <build>/bin/colossus-sim
    beside = _pathlib.Path(__file__).resolve().parents[2] / "bin" / "colossus-sim"
    if beside.is_file():
        return str(beside)
    raise FileNotFoundError(
        "colossus-sim not found: pass binary=, set COLOSSUS_SIM, or put it on PATH "
        "(a build puts it in <build>/bin)"
    )


def _size_arg(value, name):
    if isinstance(value, str):
        return value  # "4K", "1M": the tool parses it
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a byte count or a size string, not {value!r}")
    return str(value)


def simulate(
    topo,
    collective="allreduce",
    sizes=None,
    *,
    min_bytes=8,
    max_bytes=128 << 20,
    factor=2,
    dtype="float",
    nranks=None,
    algorithm=None,
    pick=True,
    nchannels=None,
    chunk_bytes=None,
    fold=True,
    pattern=None,
    skew=None,
    jitter=None,
    seed=None,
    binary=None,
):
    """Simulates `collective` on `topo` and returns the table as a list of dicts.

    topo: a preset ("dgx-h100:nodes=2", "laptop", "colossus", "gb200-nvl72")
    or a topology XML file. sizes: byte counts (or "4K"-style strings) to
    simulate, each its own sweep point; without it, min_bytes, min_bytes *
    factor, ... <= max_bytes, as colossus-sim -b/-e/-f. pick: only the
    tuner's pick per size (--pick); False: a row per algorithm. dtype: a
    name the tool takes ("float", "half", "bfloat16", ...) or a
    colossus.DataType. algorithm: COLOSSUS_ALGO syntax ("ring", "^tree").
    The others are colossus-sim's flags of the same names. Bad arguments
    raise ValueError (the tool's usage message); other failures SimError.
    """
    args = ["--topo", str(topo), "--coll", str(collective), "--json", "--no-progress"]
    if type(dtype).__name__ == "DataType":
        # The tool's names: float8_e4m3 is f8e4m3 there; the others it takes as they are.
        dtype = dtype.name.replace("float8_", "f8")
    args += ["-d", str(dtype)]
    if nranks is not None:
        args += ["-n", str(int(nranks))]
    if algorithm:
        args += ["--algo", str(algorithm)]
    if pick:
        args.append("--pick")
    if nchannels is not None:
        args += ["--nch", str(int(nchannels))]
    if chunk_bytes is not None:
        args += ["--chunk", _size_arg(chunk_bytes, "chunk_bytes")]
    if not fold:
        args.append("--no-fold")
    for flag, value in (("--pattern", pattern), ("--skew", skew), ("--jitter", jitter),
                        ("--seed", seed)):
        if value is not None:
            args += [flag, str(value)]

    exe = find_binary(binary)
    if sizes is None:
        sweeps = [["-b", _size_arg(min_bytes, "min_bytes"), "-e", _size_arg(max_bytes, "max_bytes"),
                   "-f", str(int(factor))]]
    else:
        if isinstance(sizes, (int, str)):
            sizes = [sizes]
        sweeps = [["-b", _size_arg(s, "size"), "-e", _size_arg(s, "size")] for s in sizes]
    rows = []
    for sweep in sweeps:
        rows += _run(exe, args + sweep)
    return rows


def _run(exe, args):
    proc = _subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    message = proc.stderr.strip()
    if proc.returncode == 2:
        raise ValueError(message or f"colossus-sim: bad arguments {args}")
    if proc.returncode != 0:
        raise SimError(message or f"colossus-sim exited with status {proc.returncode}")
    try:
        return _json.loads(proc.stdout)
    except ValueError as e:
        raise SimError(f"colossus-sim printed no JSON table ({e}): {proc.stdout[:200]!r}") from None
